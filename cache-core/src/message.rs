//! The invalidation messages the hub publishes and every client applies.
//!
//! An invalidation travels as the `data` of a Mercure update of type `invalidate`; a reset as
//! one of type `reset`. Both are JSON:
//!
//! ```
//! use cache_core::message::Invalidation;
//! let msg = Invalidation::from_json(
//!     r#"{"v":1,"ns":"shop","keys":["product:42"],"patterns":["product:*"],"tags":["catalog"]}"#,
//! ).unwrap();
//! assert_eq!(msg.namespace.as_str(), "shop");
//! assert_eq!(msg.selector.keys, ["product:42"]);
//! ```

use crate::json::{write_string, write_strings, write_u64, JsonError, Reader};
use crate::key::{validate_key, Namespace};
use crate::pattern::Pattern;
use crate::CoreError;

/// The format version of messages this crate writes and reads.
pub const MESSAGE_VERSION: u8 = 1;
/// Topics of cache namespaces are `<TOPIC_PREFIX><namespace>`.
pub const TOPIC_PREFIX: &str = "/cache/";
/// The Mercure update type of an invalidation.
pub const TYPE_INVALIDATE: &str = "invalidate";
/// The Mercure update type of a reset.
pub const TYPE_RESET: &str = "reset";
/// Most keys, patterns and tags one message may carry, together.
pub const MAX_SELECTOR_ITEMS: usize = 1000;
/// Most tags one entry may carry.
pub const MAX_TAGS_PER_ENTRY: usize = 32;
/// Longest accepted tag, in bytes.
pub const MAX_TAG_BYTES: usize = 256;

/// Checks a tag: non-empty and at most [`MAX_TAG_BYTES`].
pub fn validate_tag(tag: &str) -> Result<(), CoreError> {
    if tag.is_empty() {
        Err(CoreError::InvalidTag("a tag must not be empty"))
    } else if tag.len() > MAX_TAG_BYTES {
        Err(CoreError::InvalidTag("a tag must be at most 256 bytes"))
    } else {
        Ok(())
    }
}

/// What an invalidation removes: exact keys, keys matching glob patterns, entries with a tag.
/// An entry is removed when it matches any of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// Exact keys.
    pub keys: Vec<String>,
    /// Glob patterns over keys.
    pub patterns: Vec<Pattern>,
    /// Tags.
    pub tags: Vec<String>,
    /// Glob patterns over tags: only in [`Selector::by_key_or_tag`], never on the wire.
    pub tag_patterns: Vec<Pattern>,
}

impl Selector {
    /// Validates raw keys, patterns and tags into a selector.
    pub fn parse<K, P, T>(keys: &[K], patterns: &[P], tags: &[T]) -> Result<Self, CoreError>
    where
        K: AsRef<str>,
        P: AsRef<str>,
        T: AsRef<str>,
    {
        if keys.len() + patterns.len() + tags.len() > MAX_SELECTOR_ITEMS {
            return Err(CoreError::InvalidMessage(
                "at most 1000 keys, patterns and tags in one invalidation".into(),
            ));
        }
        let keys = keys
            .iter()
            .map(|k| validate_key(k.as_ref()).map(|()| k.as_ref().to_owned()))
            .collect::<Result<_, _>>()?;
        let patterns = patterns
            .iter()
            .map(|p| Pattern::parse(p.as_ref()))
            .collect::<Result<_, _>>()?;
        let tags = tags
            .iter()
            .map(|t| validate_tag(t.as_ref()).map(|()| t.as_ref().to_owned()))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            keys,
            patterns,
            tags,
            tag_patterns: Vec::new(),
        })
    }

    /// This selector as a hub invalidation means it in every layer: its keys and patterns name
    /// entries by key or by tag. The service worker holds responses by URL and knows them only
    /// by their tags, and an API response (key `GET <url>`) is tagged with the keys of what it
    /// shows (`Cache-Tag: product:42`): `keys: ["product:42"]` must reach it too.
    #[must_use]
    pub fn by_key_or_tag(&self) -> Self {
        let mut tags = self.tags.clone();
        tags.extend(self.keys.iter().filter(|k| !self.tags.contains(k)).cloned());
        Self {
            keys: self.keys.clone(),
            patterns: self.patterns.clone(),
            tags,
            tag_patterns: self.patterns.clone(),
        }
    }

    /// Whether the selector names nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
            && self.patterns.is_empty()
            && self.tags.is_empty()
            && self.tag_patterns.is_empty()
    }

    /// Whether an entry with this key and these tags is selected.
    #[must_use]
    pub fn selects(&self, key: &str, tags: &[String]) -> bool {
        self.keys.iter().any(|k| k == key)
            || self.patterns.iter().any(|p| p.matches(key))
            || self.tags.iter().any(|t| tags.contains(t))
            || self
                .tag_patterns
                .iter()
                .any(|p| tags.iter().any(|t| p.matches(t)))
    }
}

fn invalid(err: JsonError) -> CoreError {
    CoreError::InvalidMessage(err.message())
}

/// Reads a JSON object whose members `member` consumes, answering `false` for a name it does
/// not take (or takes only once): such members make the message invalid.
fn read_members(
    json: &str,
    mut member: impl FnMut(&mut Reader<'_>, &str) -> Result<bool, JsonError>,
) -> Result<(), CoreError> {
    let mut unknown = false;
    let mut reader = Reader::new(json);
    reader
        .object(|r, name| {
            if !member(r, &name)? {
                unknown = true;
                r.raw_value()?;
            }
            Ok(())
        })
        .and_then(|()| reader.end())
        .map_err(invalid)?;
    if unknown {
        return Err(message_error("unknown or repeated member"));
    }
    Ok(())
}

fn message_error(what: &str) -> CoreError {
    CoreError::InvalidMessage(what.to_owned())
}

/// Reads the `v` member: absent means [`MESSAGE_VERSION`]; any other value is refused.
fn check_version(v: Option<u64>) -> Result<(), CoreError> {
    match v {
        None | Some(1) => Ok(()),
        Some(_) => Err(message_error("unsupported message version")),
    }
}

/// A validated invalidation of some entries of one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    /// The namespace it applies to.
    pub namespace: Namespace,
    /// What it removes.
    pub selector: Selector,
}

#[derive(Default)]
struct InvalidationFields {
    v: Option<u64>,
    ns: Option<String>,
    keys: Option<Vec<String>>,
    patterns: Option<Vec<String>>,
    tags: Option<Vec<String>>,
}

impl Invalidation {
    /// Parses and validates the JSON form. Unknown or repeated members are refused.
    pub fn from_json(json: &str) -> Result<Self, CoreError> {
        let mut f = InvalidationFields::default();
        read_members(json, |r, name| {
            match name {
                "v" if f.v.is_none() => f.v = Some(r.u64()?),
                "ns" if f.ns.is_none() => f.ns = Some(r.string()?),
                "keys" if f.keys.is_none() => f.keys = Some(r.strings()?),
                "patterns" if f.patterns.is_none() => f.patterns = Some(r.strings()?),
                "tags" if f.tags.is_none() => f.tags = Some(r.strings()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        check_version(f.v)?;
        let namespace = Namespace::parse(&f.ns.ok_or_else(|| message_error("missing ns"))?)?;
        let selector = Selector::parse(
            &f.keys.unwrap_or_default(),
            &f.patterns.unwrap_or_default(),
            &f.tags.unwrap_or_default(),
        )?;
        if selector.is_empty() {
            return Err(message_error(
                "an invalidation names at least one key, pattern or tag",
            ));
        }
        Ok(Self {
            namespace,
            selector,
        })
    }

    /// The JSON form, with `"v":1`; empty lists are left out.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"v\":1,\"ns\":");
        write_string(&mut out, self.namespace.as_str());
        if !self.selector.keys.is_empty() {
            out.push_str(",\"keys\":");
            write_strings(&mut out, &self.selector.keys);
        }
        if !self.selector.patterns.is_empty() {
            let patterns: Vec<&str> = self.selector.patterns.iter().map(Pattern::as_str).collect();
            out.push_str(",\"patterns\":");
            write_strings(&mut out, &patterns);
        }
        if !self.selector.tags.is_empty() {
            out.push_str(",\"tags\":");
            write_strings(&mut out, &self.selector.tags);
        }
        out.push('}');
        out
    }
}

/// Why a reset was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetReason {
    /// The event log lost continuity (restart, trimmed history, unknown cursor).
    Continuity,
    /// The keyspace bridge lost its Redis subscription.
    BridgeLost,
    /// An explicit request, for example a logout.
    Requested,
}

impl ResetReason {
    /// The wire name: `continuity`, `bridge-lost` or `requested`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Continuity => "continuity",
            Self::BridgeLost => "bridge-lost",
            Self::Requested => "requested",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Continuity, Self::BridgeLost, Self::Requested]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

/// A reset: drop a namespace (or, with no namespace, everything) because its copies can no
/// longer be vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reset {
    /// Format version, [`MESSAGE_VERSION`].
    pub v: u8,
    /// The namespace to drop, or `None` for every namespace.
    pub ns: Option<String>,
    /// Why.
    pub reason: ResetReason,
}

impl Reset {
    /// A reset of `ns` (or of everything) for `reason`.
    #[must_use]
    pub fn new(ns: Option<&Namespace>, reason: ResetReason) -> Self {
        Self {
            v: MESSAGE_VERSION,
            ns: ns.map(|n| n.as_str().to_owned()),
            reason,
        }
    }

    /// Parses and validates the JSON form.
    pub fn from_json(json: &str) -> Result<Self, CoreError> {
        let (mut v, mut ns, mut reason) = (None, None, None);
        read_members(json, |r, name| {
            match name {
                "v" if v.is_none() => v = Some(r.u64()?),
                "ns" if ns.is_none() => ns = Some(r.string()?),
                "reason" if reason.is_none() => reason = Some(r.string()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        check_version(v)?;
        if let Some(ns) = &ns {
            Namespace::parse(ns)?;
        }
        let reason = reason
            .as_deref()
            .and_then(ResetReason::parse)
            .ok_or_else(|| message_error("missing or unknown reason"))?;
        Ok(Self {
            v: MESSAGE_VERSION,
            ns,
            reason,
        })
    }

    /// The JSON form.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"v\":");
        write_u64(&mut out, u64::from(self.v));
        if let Some(ns) = &self.ns {
            out.push_str(",\"ns\":");
            write_string(&mut out, ns);
        }
        out.push_str(",\"reason\":");
        write_string(&mut out, self.reason.as_str());
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let json = r#"{"v":1,"ns":"shop","keys":["product:42"],"patterns":["product:*"],"tags":["catalog"]}"#;
        let msg = Invalidation::from_json(json).unwrap();
        assert_eq!(msg.to_json(), json);
    }

    #[test]
    fn rejects_bad_messages() {
        for bad in [
            "",
            "[]",
            r#"{"ns":"shop"}"#,
            r#"{"v":2,"ns":"shop","keys":["a"]}"#,
            r#"{"ns":"a:b","keys":["a"]}"#,
            r#"{"ns":"shop","keys":[""]}"#,
            r#"{"ns":"shop","patterns":["x\\"]}"#,
            r#"{"ns":"shop","tags":[""]}"#,
            r#"{"ns":"shop","keys":["a"],"extra":1}"#,
            r#"{"ns":"shop","keys":["a"],"ns":"shop"}"#,
            r#"{"ns":"shop","keys":["a"]} trailing"#,
        ] {
            assert!(Invalidation::from_json(bad).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_SELECTOR_ITEMS).map(|i| format!("k{i}")).collect();
        let json = format!(
            r#"{{"ns":"shop","keys":{}}}"#,
            serde_json::to_string(&many).unwrap()
        );
        assert_eq!(
            Invalidation::from_json(&json).unwrap_err().code(),
            "InvalidMessage"
        );
    }

    #[test]
    fn selector_matches_any_clause() {
        let s = Selector::parse(&["a"], &["p:*"], &["t"]).unwrap();
        assert!(s.selects("a", &[]));
        assert!(s.selects("p:1", &[]));
        assert!(s.selects("z", &["t".into()]));
        assert!(!s.selects("z", &["u".into()]));
    }

    #[test]
    fn reset_round_trip() {
        let ns = Namespace::parse("shop").unwrap();
        let r = Reset::new(Some(&ns), ResetReason::Continuity);
        assert_eq!(r.to_json(), r#"{"v":1,"ns":"shop","reason":"continuity"}"#);
        assert_eq!(Reset::from_json(&r.to_json()).unwrap(), r);
        assert!(Reset::from_json(r#"{"v":1,"ns":"a b","reason":"requested"}"#).is_err());
    }
}
