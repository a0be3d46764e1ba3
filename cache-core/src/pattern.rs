//! Glob patterns over user keys: `*` matches any run of characters (including none), `?`
//! exactly one character, and `\` makes the next character literal.
//!
//! ```
//! use cache_core::pattern::Pattern;
//! let p = Pattern::parse("product:*").unwrap();
//! assert!(p.matches("product:42"));
//! assert!(!p.matches("products:42"));
//! ```

use crate::key::truncate;
use crate::CoreError;

/// Longest accepted pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyOne,
    AnyRun,
}

/// A parsed glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
}

impl Pattern {
    /// Parses a glob. Errors on an empty or over-long pattern or a trailing lone `\`.
    pub fn parse(source: &str) -> Result<Self, CoreError> {
        let invalid = |reason| CoreError::InvalidPattern {
            pattern: truncate(source, 64),
            reason,
        };
        if source.is_empty() {
            return Err(invalid("a pattern must not be empty"));
        }
        if source.len() > MAX_PATTERN_BYTES {
            return Err(invalid("a pattern must be at most 1024 bytes"));
        }
        let mut tokens = Vec::new();
        let mut chars = source.chars();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' => {
                    if tokens.last() == Some(&Token::AnyRun) {
                        continue; // `**` means the same as `*`
                    }
                    Token::AnyRun
                }
                '?' => Token::AnyOne,
                '\\' => Token::Literal(chars.next().ok_or_else(|| invalid("ends in a lone \\"))?),
                other => Token::Literal(other),
            };
            tokens.push(token);
        }
        Ok(Self {
            source: source.to_owned(),
            tokens,
        })
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern has no wildcard, so it can only match one key.
    #[must_use]
    pub fn literal(&self) -> Option<String> {
        self.tokens
            .iter()
            .map(|t| match t {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// Whether `key` matches. Linear-time greedy matching with backtracking to the last `*`
    /// only, so a hostile pattern cannot make it exponential.
    #[must_use]
    pub fn matches(&self, key: &str) -> bool {
        let key: Vec<char> = key.chars().collect();
        let (mut p, mut k) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while k < key.len() {
            match self.tokens.get(p) {
                Some(Token::AnyRun) => {
                    star = Some((p, k));
                    p += 1;
                }
                Some(Token::AnyOne) => {
                    p += 1;
                    k += 1;
                }
                Some(Token::Literal(c)) if *c == key[k] => {
                    p += 1;
                    k += 1;
                }
                _ => match star {
                    Some((sp, sk)) => {
                        p = sp + 1;
                        k = sk + 1;
                        star = Some((sp, sk + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..].iter().all(|t| *t == Token::AnyRun)
    }

    /// The same pattern as the source of an anchored JavaScript `RegExp` for the `u` flag, so
    /// JS code can test keys without a call into wasm per key.
    #[must_use]
    pub fn to_js_regex(&self) -> String {
        let mut out = String::from("^");
        for token in &self.tokens {
            match token {
                Token::AnyRun => out.push_str("[\\s\\S]*"),
                Token::AnyOne => out.push_str("[\\s\\S]"),
                Token::Literal(c) => {
                    if "^$\\.*+?()[]{}|/".contains(*c) {
                        out.push('\\');
                    }
                    out.push(*c);
                }
            }
        }
        out.push('$');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, k: &str) -> bool {
        Pattern::parse(p).unwrap().matches(k)
    }

    #[test]
    fn wildcards() {
        assert!(m("*", "anything"));
        assert!(m("product:*", "product:"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*:42", "product:42"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(m("ü?", "üé"));
    }

    #[test]
    fn escapes_make_literals() {
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert_eq!(Pattern::parse("x\\").unwrap_err().code(), "InvalidPattern");
        assert_eq!(Pattern::parse("").unwrap_err().code(), "InvalidPattern");
    }

    #[test]
    fn literal_detection() {
        assert_eq!(
            Pattern::parse("a\\*b").unwrap().literal().as_deref(),
            Some("a*b")
        );
        assert_eq!(Pattern::parse("a*").unwrap().literal(), None);
    }

    #[test]
    fn hostile_pattern_is_fast() {
        let p = Pattern::parse(&"*a".repeat(500)).unwrap();
        assert!(!p.matches(&"a".repeat(499)));
    }

    #[test]
    fn regex_source_escapes_syntax() {
        assert_eq!(
            Pattern::parse("a.b*?").unwrap().to_js_regex(),
            "^a\\.b[\\s\\S]*[\\s\\S]$"
        );
    }

    /// A reference matcher written the obvious (exponential) way.
    fn naive(p: &[char], k: &[char]) -> bool {
        match p.first() {
            None => k.is_empty(),
            Some('*') => naive(&p[1..], k) || (!k.is_empty() && naive(p, &k[1..])),
            Some('?') => !k.is_empty() && naive(&p[1..], &k[1..]),
            Some(c) => k.first() == Some(c) && naive(&p[1..], &k[1..]),
        }
    }

    proptest! {
        #[test]
        fn agrees_with_naive_matcher(p in "[ab*?]{1,8}", k in "[ab]{0,8}") {
            let pc: Vec<char> = p.chars().collect();
            let kc: Vec<char> = k.chars().collect();
            prop_assert_eq!(Pattern::parse(&p).unwrap().matches(&k), naive(&pc, &kc));
        }
    }
}
