//! The key grammar shared by the browser caches, the hub and the server-side Redis cache.
//!
//! A cache is addressed by a [`Namespace`] and a version; inside it, user keys are data: any
//! non-empty string up to [`MAX_KEY_BYTES`]. Where keys are persisted next to other data (Web
//! Storage, Redis) they are prefixed as `<prefix>:<namespace>:v<version>:<key>`. The namespace
//! grammar excludes `:` and the version is digits, so the first three separators are
//! unambiguous and the key is kept verbatim: no user key can reach another namespace, another
//! version, or the namespace's metadata record (`<prefix>:<namespace>:meta`).
//!
//! Keys built from several parts use [`key_from_parts`], which escapes `%`, `:`, `*`, `?` and
//! `\` inside each part so that `["a:b", "c"]` and `["a", "b:c"]` stay distinct and a part can
//! never act as a glob wildcard.
//!
//! ```
//! use cache_core::key::{KeySpace, Namespace};
//! let space = KeySpace::new(Namespace::parse("shop").unwrap(), 1);
//! assert_eq!(space.storage_key("cw", "product:42"), "cw:shop:v1:product:42");
//! assert_eq!(
//!     KeySpace::parse_storage_key("cw", "cw:shop:v1:product:42"),
//!     Some(("shop", 1, "product:42"))
//! );
//! ```

use crate::CoreError;
use std::fmt;

/// Longest accepted key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest accepted namespace, in bytes.
pub const MAX_NAMESPACE_BYTES: usize = 64;

/// A validated namespace: 1 to 64 of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace(String);

impl Namespace {
    /// Validates `raw` against the namespace grammar.
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let valid = !raw.is_empty()
            && raw.len() <= MAX_NAMESPACE_BYTES
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(CoreError::InvalidNamespace(truncate(raw, 64)))
        }
    }

    /// The namespace as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Mercure topic on which the hub publishes this namespace's invalidations.
    #[must_use]
    pub fn topic(&self) -> String {
        let mut out = String::from(crate::message::TOPIC_PREFIX);
        out.push_str(&self.0);
        out
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a user key: non-empty and at most [`MAX_KEY_BYTES`].
pub fn validate_key(key: &str) -> Result<(), CoreError> {
    if key.is_empty() {
        Err(CoreError::InvalidKey("a key must not be empty"))
    } else if key.len() > MAX_KEY_BYTES {
        Err(CoreError::InvalidKey("a key must be at most 1024 bytes"))
    } else {
        Ok(())
    }
}

/// Joins key parts with `:`, escaping each part so that parts cannot merge or act as wildcards.
#[must_use]
pub fn key_from_parts<S: AsRef<str>>(parts: &[S]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        for c in part.as_ref().chars() {
            match c {
                '%' => out.push_str("%25"),
                ':' => out.push_str("%3A"),
                '*' => out.push_str("%2A"),
                '?' => out.push_str("%3F"),
                '\\' => out.push_str("%5C"),
                other => out.push(other),
            }
        }
    }
    out
}

/// A namespace at one version: where one cache's keys live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpace {
    namespace: Namespace,
    version: u32,
}

impl KeySpace {
    /// The key space of `namespace` at `version`.
    #[must_use]
    pub fn new(namespace: Namespace, version: u32) -> Self {
        Self { namespace, version }
    }

    /// The namespace.
    #[must_use]
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The version.
    #[must_use]
    pub fn version(&self) -> u32 {
        self.version
    }

    /// `<prefix>:<namespace>:v<version>:<key>`: where a record lives next to other data
    /// (Web Storage).
    #[must_use]
    pub fn storage_key(&self, prefix: &str, key: &str) -> String {
        let mut out = String::with_capacity(prefix.len() + 1 + key.len() + 24);
        out.push_str(prefix);
        out.push(':');
        out.push_str(&self.server_key(key));
        out
    }

    /// `<namespace>:v<version>:`, the start of every server key of this version.
    #[must_use]
    pub fn server_prefix(&self) -> String {
        let mut out = String::with_capacity(self.namespace.0.len() + 16);
        out.push_str(&self.namespace.0);
        out.push_str(":v");
        crate::json::write_u64(&mut out, u64::from(self.version));
        out.push(':');
        out
    }

    /// `<namespace>:v<version>:<key>`: the key on the server side (Redis), so server and
    /// browser name an entry alike.
    #[must_use]
    pub fn server_key(&self, key: &str) -> String {
        let mut out = self.server_prefix();
        out.push_str(key);
        out
    }

    /// Splits a server key into namespace, version and key, or `None` when it is not one.
    #[must_use]
    pub fn parse_server_key(raw: &str) -> Option<(&str, u32, &str)> {
        let (ns, rest) = raw.split_once(':')?;
        Namespace::parse(ns).ok()?;
        let (version, key) = rest.split_once(':')?;
        let digits = version.strip_prefix('v')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let version = digits.parse().ok()?;
        validate_key(key).ok()?;
        Some((ns, version, key))
    }

    /// The prefix every storage key of this namespace starts with, whatever its version:
    /// `<prefix>:<namespace>:`.
    #[must_use]
    pub fn namespace_prefix(&self, prefix: &str) -> String {
        let mut out = String::with_capacity(prefix.len() + self.namespace.0.len() + 24);
        out.push_str(prefix);
        out.push(':');
        out.push_str(&self.namespace.0);
        out.push(':');
        out
    }

    /// The namespace's metadata record: `<prefix>:<namespace>:meta`.
    #[must_use]
    pub fn meta_key(&self, prefix: &str) -> String {
        let mut out = self.namespace_prefix(prefix);
        out.push_str("meta");
        out
    }

    /// Splits a storage key into namespace, version and key, or `None` when it is not one.
    #[must_use]
    pub fn parse_storage_key<'a>(prefix: &str, raw: &'a str) -> Option<(&'a str, u32, &'a str)> {
        Self::parse_server_key(raw.strip_prefix(prefix)?.strip_prefix(':')?)
    }
}

pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(ns: &str, v: u32) -> KeySpace {
        KeySpace::new(Namespace::parse(ns).unwrap(), v)
    }

    #[test]
    fn namespace_grammar() {
        assert!(Namespace::parse("shop_2-a").is_ok());
        for bad in ["", "a:b", "a b", "ü", &"x".repeat(65), "a|b", "a\nb"] {
            assert_eq!(
                Namespace::parse(bad).unwrap_err().code(),
                "InvalidNamespace",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("x").is_ok());
        assert!(validate_key("").is_err());
        assert!(validate_key(&"k".repeat(MAX_KEY_BYTES)).is_ok());
        assert!(validate_key(&"k".repeat(MAX_KEY_BYTES + 1)).is_err());
    }

    #[test]
    fn bucket_and_key_do_not_collide_like_lscache() {
        // lscache: bucket "a" + key "bfoo" and bucket "ab" + key "foo" share one storage key.
        assert_ne!(
            space("a", 1).storage_key("cw", "bfoo"),
            space("ab", 1).storage_key("cw", "foo")
        );
    }

    #[test]
    fn metadata_suffix_keys_stay_entries() {
        // lscache stores expiry under key + "-cacheexpiration"; our keys have no suffixes, and
        // the namespace's metadata record can never be produced by a user key.
        let s = space("shop", 1);
        let meta = s.meta_key("cw");
        for key in ["meta", ":meta", "x-cacheexpiration", "v1:meta"] {
            let sk = s.storage_key("cw", key);
            assert_ne!(sk, meta);
            assert_eq!(
                KeySpace::parse_storage_key("cw", &sk),
                Some(("shop", 1, key))
            );
        }
        assert_eq!(KeySpace::parse_storage_key("cw", &meta), None);
    }

    #[test]
    fn parse_rejects_foreign_keys() {
        for raw in [
            "lscache-foo",
            "cw:",
            "cw:shop",
            "cw:shop:1:x",
            "cw:shop:v:x",
            "cw:shop:vx:x",
            "cw:sh op:v1:x",
            "cw:shop:v1:",
            "cwx:shop:v1:k",
        ] {
            assert_eq!(KeySpace::parse_storage_key("cw", raw), None, "{raw:?}");
        }
    }

    #[test]
    fn server_keys_have_no_prefix() {
        let s = space("shop", 3);
        assert_eq!(s.server_key("product:42"), "shop:v3:product:42");
        assert_eq!(
            KeySpace::parse_server_key("shop:v3:product:42"),
            Some(("shop", 3, "product:42"))
        );
        for raw in [
            "shop:version",
            "shop:tag:x",
            "shop:lock:v3:k",
            "a b:v1:k",
            "shop:v1:",
        ] {
            assert_eq!(KeySpace::parse_server_key(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn parts_are_escaped() {
        assert_ne!(key_from_parts(&["a:b", "c"]), key_from_parts(&["a", "b:c"]));
        assert_eq!(key_from_parts(&["user", "42"]), "user:42");
        assert_eq!(key_from_parts(&["*", "?%\\"]), "%2A:%3F%25%5C");
    }
}
