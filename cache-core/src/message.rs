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

use crate::key::{validate_key, Namespace};
use crate::pattern::Pattern;
use crate::CoreError;
use serde::{Deserialize, Serialize};

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
/// An entry is removed when it matches any of the three.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// Exact keys.
    pub keys: Vec<String>,
    /// Glob patterns over keys.
    pub patterns: Vec<Pattern>,
    /// Tags.
    pub tags: Vec<String>,
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
            return Err(CoreError::InvalidMessage(format!(
                "at most {MAX_SELECTOR_ITEMS} keys, patterns and tags in one invalidation"
            )));
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
        })
    }

    /// Whether the selector names nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.patterns.is_empty() && self.tags.is_empty()
    }

    /// Whether an entry with this key and these tags is selected.
    #[must_use]
    pub fn selects(&self, key: &str, tags: &[String]) -> bool {
        self.keys.iter().any(|k| k == key)
            || self.patterns.iter().any(|p| p.matches(key))
            || self.tags.iter().any(|t| tags.contains(t))
    }
}

/// The JSON form of an invalidation, as it travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvalidationWire {
    #[serde(default = "default_version")]
    v: u8,
    ns: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    patterns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

fn default_version() -> u8 {
    MESSAGE_VERSION
}

/// A validated invalidation of some entries of one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    /// The namespace it applies to.
    pub namespace: Namespace,
    /// What it removes.
    pub selector: Selector,
}

impl Invalidation {
    /// Parses and validates the JSON form.
    pub fn from_json(json: &str) -> Result<Self, CoreError> {
        let wire: InvalidationWire =
            serde_json::from_str(json).map_err(|e| CoreError::InvalidMessage(e.to_string()))?;
        if wire.v != MESSAGE_VERSION {
            return Err(CoreError::InvalidMessage(format!(
                "unsupported message version {}",
                wire.v
            )));
        }
        let namespace = Namespace::parse(&wire.ns)?;
        let selector = Selector::parse(&wire.keys, &wire.patterns, &wire.tags)?;
        if selector.is_empty() {
            return Err(CoreError::InvalidMessage(
                "an invalidation names at least one key, pattern or tag".into(),
            ));
        }
        Ok(Self {
            namespace,
            selector,
        })
    }

    /// The JSON form, with `"v":1`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let wire = InvalidationWire {
            v: MESSAGE_VERSION,
            ns: self.namespace.to_string(),
            keys: self.selector.keys.clone(),
            patterns: self
                .selector
                .patterns
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            tags: self.selector.tags.clone(),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }
}

/// Why a reset was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResetReason {
    /// The event log lost continuity (restart, trimmed history, unknown cursor).
    Continuity,
    /// The keyspace bridge lost its Redis subscription.
    BridgeLost,
    /// An explicit request, for example a logout.
    Requested,
}

/// A reset: drop a namespace (or, with no namespace, everything) because its copies can no
/// longer be vouched for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    /// Format version, [`MESSAGE_VERSION`].
    pub v: u8,
    /// The namespace to drop, or `None` for every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
            ns: ns.map(ToString::to_string),
            reason,
        }
    }

    /// Parses and validates the JSON form.
    pub fn from_json(json: &str) -> Result<Self, CoreError> {
        let reset: Self =
            serde_json::from_str(json).map_err(|e| CoreError::InvalidMessage(e.to_string()))?;
        if let Some(ns) = &reset.ns {
            Namespace::parse(ns)?;
        }
        Ok(reset)
    }

    /// The JSON form.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
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
        ] {
            assert!(Invalidation::from_json(bad).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_SELECTOR_ITEMS).map(|i| format!("k{i}")).collect();
        let json = serde_json::json!({"ns": "shop", "keys": many}).to_string();
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
