//! A small, strict JSON reader and writer for the few shapes cache-core exchanges (the
//! storage envelope, invalidation and reset messages). It exists so the wasm package carries
//! no general-purpose JSON library and no formatting machinery: every byte counts in a
//! browser download. Values it does not need to understand are skipped (validated) or kept as
//! raw text.

/// Where and why input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What was wrong.
    pub what: &'static str,
}

impl JsonError {
    /// `"<what> at byte <at>"`, built without `core::fmt`.
    #[must_use]
    pub fn message(&self) -> String {
        let mut out = String::from(self.what);
        out.push_str(" at byte ");
        write_u64(&mut out, self.at as u64);
        out
    }
}

type Result<T> = std::result::Result<T, JsonError>;

/// A cursor over JSON text.
pub struct Reader<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `src`.
    #[must_use]
    pub fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn fail<T>(&self, what: &'static str) -> Result<T> {
        Err(JsonError { at: self.pos, what })
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-space byte, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<()> {
        if self.eat(byte) {
            Ok(())
        } else {
            self.fail(what)
        }
    }

    fn literal(&mut self, word: &str) -> bool {
        self.ws();
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// Only white space remains.
    pub fn end(&mut self) -> Result<()> {
        if self.peek().is_none() {
            Ok(())
        } else {
            self.fail("trailing characters")
        }
    }

    /// A string, unescaped.
    pub fn string(&mut self) -> Result<String> {
        self.expect(b'"', "expected a string")?;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&b) = self.bytes().get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.src[start..self.pos]);
            match self.bytes().get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return self.fail("control character in string"),
                None => return self.fail("unterminated string"),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<()> {
        let Some(&b) = self.bytes().get(self.pos) else {
            return self.fail("unterminated escape");
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(out),
            _ => return self.fail("invalid escape"),
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32> {
        let digits = self.src.get(self.pos..self.pos + 4);
        let value = digits.and_then(|d| {
            d.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| u32::from_str_radix(d, 16).ok())
                .flatten()
        });
        match value {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.fail("invalid \\u escape"),
        }
    }

    fn unicode_escape(&mut self, out: &mut String) -> Result<()> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !self.src[self.pos..].starts_with("\\u") {
                return self.fail("lone surrogate");
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return self.fail("lone surrogate");
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        match char::from_u32(code) {
            Some(c) => {
                out.push(c);
                Ok(())
            }
            None => self.fail("lone surrogate"),
        }
    }

    /// A non-negative integer that fits in `u64`.
    pub fn u64(&mut self) -> Result<u64> {
        self.ws();
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(&b) = self.bytes().get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            value = match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
            {
                Some(v) => v,
                None => return self.fail("integer too large"),
            };
            self.pos += 1;
        }
        let digits = self.pos - start;
        if digits == 0 || (digits > 1 && self.bytes()[start] == b'0') {
            self.pos = start;
            return self.fail("expected a non-negative integer");
        }
        if let Some(b'.' | b'e' | b'E') = self.bytes().get(self.pos) {
            return self.fail("expected an integer");
        }
        Ok(value)
    }

    /// `null` or a non-negative integer.
    pub fn u64_or_null(&mut self) -> Result<Option<u64>> {
        if self.literal("null") {
            Ok(None)
        } else {
            self.u64().map(Some)
        }
    }

    /// An array of strings.
    pub fn strings(&mut self) -> Result<Vec<String>> {
        self.expect(b'[', "expected an array")?;
        let mut out = Vec::new();
        if self.eat(b']') {
            return Ok(out);
        }
        loop {
            out.push(self.string()?);
            if self.eat(b']') {
                return Ok(out);
            }
            self.expect(b',', "expected , or ]")?;
        }
    }

    /// Visits each member of an object: `member(reader, name)` must consume the value.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, String) -> Result<()>,
    ) -> Result<()> {
        self.expect(b'{', "expected an object")?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            let name = self.string()?;
            self.expect(b':', "expected :")?;
            member(self, name)?;
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',', "expected , or }")?;
        }
    }

    /// Any JSON value, validated and returned as its raw text.
    pub fn raw_value(&mut self) -> Result<&'a str> {
        self.ws();
        let start = self.pos;
        self.skip_value()?;
        Ok(&self.src[start..self.pos])
    }

    /// Skips one value, validating it without decoding it. It keeps its own stack of open
    /// containers instead of recursing, so any nesting `JSON.stringify` produces is accepted
    /// and hostile nesting cannot exhaust the call stack.
    fn skip_value(&mut self) -> Result<()> {
        // Open containers, innermost last: `true` for an array, `false` for an object.
        let mut open: Vec<bool> = Vec::new();
        loop {
            // A value starts here.
            match self.peek() {
                Some(b'"') => self.skip_string()?,
                Some(b'{') => {
                    self.pos += 1;
                    if !self.eat(b'}') {
                        open.push(false);
                        self.skip_member_name()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    if !self.eat(b']') {
                        open.push(true);
                        continue;
                    }
                }
                Some(b'-' | b'0'..=b'9') => self.skip_number()?,
                _ if self.literal("true") || self.literal("false") || self.literal("null") => {}
                _ => return self.fail("expected a value"),
            }
            // A value ended: close containers until one has a next member.
            loop {
                let Some(&in_array) = open.last() else {
                    return Ok(());
                };
                if self.eat(if in_array { b']' } else { b'}' }) {
                    open.pop();
                    continue;
                }
                if in_array {
                    self.expect(b',', "expected , or ]")?;
                } else {
                    self.expect(b',', "expected , or }")?;
                    self.skip_member_name()?;
                }
                break;
            }
        }
    }

    fn skip_member_name(&mut self) -> Result<()> {
        if self.peek() != Some(b'"') {
            return self.fail("expected a string");
        }
        self.skip_string()?;
        self.expect(b':', "expected :")
    }

    /// Skips a string, validating its escapes without decoding them: a `\u` escape of a
    /// lone surrogate is valid JSON (`JSON.stringify` writes one for a lone surrogate) even
    /// though it cannot become a Rust `String`.
    fn skip_string(&mut self) -> Result<()> {
        self.expect(b'"', "expected a string")?;
        loop {
            match self.bytes().get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.bytes().get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            self.hex4()?;
                        }
                        Some(_) => return self.fail("invalid escape"),
                        None => return self.fail("unterminated escape"),
                    }
                }
                Some(&b) if b < 0x20 => return self.fail("control character in string"),
                Some(_) => self.pos += 1,
                None => return self.fail("unterminated string"),
            }
        }
    }

    fn skip_number(&mut self) -> Result<()> {
        let b = self.bytes();
        let digits = |pos: &mut usize| {
            let start = *pos;
            while b.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos - start
        };
        let mut pos = self.pos;
        if b.get(pos) == Some(&b'-') {
            pos += 1;
        }
        let start = pos;
        let int = digits(&mut pos);
        if int == 0 || (int > 1 && b[start] == b'0') {
            return self.fail("invalid number");
        }
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            if digits(&mut pos) == 0 {
                return self.fail("invalid number");
            }
        }
        if let Some(b'e' | b'E') = b.get(pos) {
            pos += 1;
            if let Some(b'+' | b'-') = b.get(pos) {
                pos += 1;
            }
            if digits(&mut pos) == 0 {
                return self.fail("invalid number");
            }
        }
        self.pos = pos;
        Ok(())
    }
}

/// Appends `s` as a JSON string.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a JSON array of strings.
pub fn write_strings<S: AsRef<str>>(out: &mut String, items: &[S]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, item.as_ref());
    }
    out.push(']');
}

/// Appends `n` in decimal, without `core::fmt`.
pub fn write_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strings_and_escapes() {
        let mut r = Reader::new(r#" "a\"b\\c\/\n\u00e9\ud83d\ude00" "#);
        assert_eq!(r.string().unwrap(), "a\"b\\c/\né😀");
        r.end().unwrap();
        for bad in [r#""\ud83d""#, r#""\x""#, "\"a\nb\"", r#""abc"#, r#""\u12"#] {
            assert!(Reader::new(bad).string().is_err(), "{bad}");
        }
    }

    #[test]
    fn integers() {
        assert_eq!(Reader::new("0").u64(), Ok(0));
        assert_eq!(Reader::new("18446744073709551615").u64(), Ok(u64::MAX));
        for bad in ["18446744073709551616", "01", "-1", "1.5", "1e3", "x", ""] {
            assert!(Reader::new(bad).u64().is_err(), "{bad}");
        }
        assert_eq!(Reader::new("null").u64_or_null(), Ok(None));
    }

    #[test]
    fn raw_values_are_validated() {
        let mut r = Reader::new(r#"{"a":[1,-2.5e+3,true,null,{"b":"c"}]} x"#);
        assert_eq!(
            r.raw_value().unwrap(),
            r#"{"a":[1,-2.5e+3,true,null,{"b":"c"}]}"#
        );
        assert!(r.end().is_err());
        for bad in ["{", "[1,]", "01", "1.", "-", "tru", "{\"a\" 1}", "[1 2]"] {
            let mut r = Reader::new(bad);
            assert!(r.raw_value().is_err() || r.end().is_err(), "{bad}");
        }
        // Any depth is accepted (no recursion), and unclosed nesting is still refused.
        let deep = format!(
            "{}{}{}",
            "[{\"a\":".repeat(50_000),
            "1",
            "}]".repeat(50_000)
        );
        assert_eq!(Reader::new(&deep).raw_value().unwrap(), deep);
        assert_eq!(
            Reader::new(&"[".repeat(100_000))
                .raw_value()
                .unwrap_err()
                .what,
            "expected a value"
        );
        // What JSON.stringify writes for a lone surrogate, in a value or a member name, is
        // valid JSON; a broken escape is not.
        for lone in [r#""ab\ud83d""#, r#"{"\udc00":1}"#, r#"["\ud800\u0041"]"#] {
            assert_eq!(Reader::new(lone).raw_value().unwrap(), lone);
        }
        for bad in [r#""\u12""#, r#""\x""#, "\"a\u{1}\""] {
            assert!(Reader::new(bad).raw_value().is_err(), "{bad}");
        }
    }

    #[test]
    fn writing() {
        let mut out = String::new();
        write_strings(&mut out, &["a\"\u{1}", "é"]);
        assert_eq!(out, r#"["a\"\u0001","é"]"#);
        let mut n = String::new();
        write_u64(&mut n, 1_234_567_890);
        assert_eq!(n, "1234567890");
    }

    proptest! {
        #[test]
        fn strings_round_trip_with_serde_json(s in "\\PC*|[\\x00-\\x1f\"\\\\]{0,8}") {
            let mut out = String::new();
            write_string(&mut out, &s);
            prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s.clone());
            let theirs = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(Reader::new(&theirs).string().unwrap(), s);
        }

        #[test]
        fn accepts_what_serde_json_accepts(v in arb_json()) {
            let text = serde_json::to_string(&v).unwrap();
            let mut r = Reader::new(&text);
            prop_assert_eq!(r.raw_value().unwrap(), text.as_str());
            prop_assert!(r.end().is_ok());
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            (-1e9f64..1e9).prop_map(|n| serde_json::json!(n)),
            ".{0,6}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(".{0,4}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
