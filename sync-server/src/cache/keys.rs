//! Server key names, from cache-core's grammar.
//!
//! | Key | What |
//! |---|---|
//! | `<ns>:v<version>:<key>` | an entry (cache-core's storage key without a prefix) |
//! | `<ns>:version` | the namespace's current version (absent means 1) |
//! | `<ns>:tag:<tag>` | a set of the entry keys carrying `<tag>` |
//! | `<ns>:lock:v<version>:<key>` | the stampede lock of an entry |
//! | `<ns>:entry-tags:<entry key>` | the tag sets an entry is in (so it leaves them when it is deleted or stored again) |
//! | `<ns>:seq` | the namespace's invalidation sequence ([`super::guard`]) |
//! | `<ns>:inv:key:<key>`, `<ns>:inv:tag:<tag>`, `<ns>:inv:all` | when a key, a tag, or the whole namespace was last invalidated, as a number of that sequence |
//! | `:every-namespace:seq`, `:every-namespace:inv` | the same for invalidations of every namespace at once (`clear_all`, `invalidate_pattern_everywhere`); no namespace is empty, so these belong to none |
//!
//! A namespace cannot contain `:` and an entry's second part is `v` followed by digits, so no
//! user key can produce a metadata key and the keyspace bridge's `<ns>:v<n>:*` patterns only
//! ever see entries.
//!
//! ```
//! use cache_core::key::{KeySpace, Namespace};
//! use sync_server::cache::keys;
//! let space = KeySpace::new(Namespace::parse("shop").unwrap(), 3);
//! assert_eq!(keys::entry_key(&space, "product:42"), "shop:v3:product:42");
//! assert_eq!(keys::parse_entry_key("shop:v3:product:42"), Some(("shop", 3, "product:42")));
//! assert_eq!(keys::parse_entry_key("shop:version"), None);
//! ```

use cache_core::key::{KeySpace, Namespace};
use cache_core::pattern::Pattern;

/// `<ns>:v<version>:<key>` ([`KeySpace::server_key`]).
#[must_use]
pub fn entry_key(space: &KeySpace, key: &str) -> String {
    space.server_key(key)
}

/// `<ns>:v<version>:`, the prefix of every entry of one version.
#[must_use]
pub fn entry_prefix(space: &KeySpace) -> String {
    space.server_prefix()
}

/// Splits an entry key into namespace, version and key; `None` for anything else.
#[must_use]
pub fn parse_entry_key(raw: &str) -> Option<(&str, u32, &str)> {
    KeySpace::parse_server_key(raw)
}

/// `<ns>:version`.
#[must_use]
pub fn version_key(ns: &Namespace) -> String {
    format!("{ns}:version")
}

/// `<ns>:tag:<tag>`.
#[must_use]
pub fn tag_key(ns: &Namespace, tag: &str) -> String {
    format!("{ns}:tag:{tag}")
}

/// `<ns>:lock:v<version>:<key>`.
#[must_use]
pub fn lock_key(space: &KeySpace, key: &str) -> String {
    format!("{}:lock:v{}:{key}", space.namespace(), space.version())
}

/// `<ns>:entry-tags:`, the prefix of every entry's tag index.
#[must_use]
pub fn entry_tags_prefix(ns: &Namespace) -> String {
    format!("{ns}:entry-tags:")
}

/// `<ns>:entry-tags:<entry key>`: the tag sets the entry `entry` is in.
#[must_use]
pub fn entry_tags_key(ns: &Namespace, entry: &str) -> String {
    format!("{ns}:entry-tags:{entry}")
}

/// `<ns>:seq`.
#[must_use]
pub fn seq_key(ns: &Namespace) -> String {
    format!("{ns}:seq")
}

/// `<ns>:inv:key:<key>`.
#[must_use]
pub fn key_stamp(ns: &Namespace, key: &str) -> String {
    format!("{ns}:inv:key:{key}")
}

/// `<ns>:inv:tag:<tag>`.
#[must_use]
pub fn tag_stamp(ns: &Namespace, tag: &str) -> String {
    format!("{ns}:inv:tag:{tag}")
}

/// `<ns>:inv:all`.
#[must_use]
pub fn all_stamp(ns: &Namespace) -> String {
    format!("{ns}:inv:all")
}

/// The sequence of invalidations of every namespace at once.
pub const EVERYWHERE_SEQ: &str = ":every-namespace:seq";

/// When every namespace was last invalidated at once, as a number of [`EVERYWHERE_SEQ`].
pub const EVERYWHERE_STAMP: &str = ":every-namespace:inv";

/// Whether `raw` is one of the guard's keys of `ns` (its sequence or a stamp), which clearing
/// a namespace keeps.
#[must_use]
pub fn is_guard_key(ns: &Namespace, raw: &str) -> bool {
    raw.strip_prefix(ns.as_str())
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|rest| rest == "seq" || rest.starts_with("inv:"))
}

/// Escapes `s` so that Redis glob matching (`SCAN MATCH`) treats it literally.
#[must_use]
pub fn glob_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Translates a cache-core glob (`*`, `?`, `\` escapes) to a Redis glob over the same keys.
#[must_use]
pub fn redis_glob(pattern: &Pattern) -> String {
    let mut out = String::new();
    let mut chars = pattern.as_str().chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => out.push(c),
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push_str(&glob_literal(&next.to_string()));
                }
            }
            other => out.push_str(&glob_literal(&other.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(v: u32) -> KeySpace {
        KeySpace::new(Namespace::parse("shop").unwrap(), v)
    }

    #[test]
    fn entry_keys_round_trip_and_metadata_keys_are_not_entries() {
        for key in ["a", "user:1", "v1:x", "tag:t", "lock:v1:k", "a:b:c"] {
            let raw = entry_key(&space(7), key);
            assert_eq!(parse_entry_key(&raw), Some(("shop", 7, key)));
        }
        let ns = Namespace::parse("shop").unwrap();
        for meta in [
            version_key(&ns),
            tag_key(&ns, "v1"),
            lock_key(&space(1), "k"),
            seq_key(&ns),
            entry_tags_key(&ns, "shop:v1:k"),
            key_stamp(&ns, "v1:k"),
            tag_stamp(&ns, "t"),
            all_stamp(&ns),
        ] {
            assert_eq!(parse_entry_key(&meta), None, "{meta}");
        }
    }

    #[test]
    fn globs_translate_literals() {
        let p = Pattern::parse(r"user:[1]\*?*").unwrap();
        assert_eq!(redis_glob(&p), r"user:\[1\]\*?*");
    }
}
