//! The one error type of cache-core.

use crate::json::write_u64;
use std::fmt;

/// Everything cache-core can refuse. Each variant has a stable [`CoreError::code`], which the
/// JS bindings expose as `error.code` and the hub as the `error` field of a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// A namespace outside the grammar `[A-Za-z0-9_-]{1,64}`.
    InvalidNamespace(String),
    /// A key that is empty or longer than [`crate::key::MAX_KEY_BYTES`].
    InvalidKey(&'static str),
    /// A glob pattern that is empty, too long, or ends in a lone escape.
    InvalidPattern {
        /// The pattern as given (truncated to 64 characters).
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tag that is empty, too long, or one too many.
    InvalidTag(&'static str),
    /// A TTL that is not a positive number of milliseconds or `Infinity`.
    InvalidTtl,
    /// A single entry larger than the cache's `maxBytes`.
    EntryTooLarge {
        /// Size of the rejected entry.
        bytes: u64,
        /// The configured bound.
        max: u64,
    },
    /// An invalidation message that does not parse or breaks a limit.
    InvalidMessage(String),
}

impl CoreError {
    /// A stable, machine-readable code for this error (`"InvalidKey"`, …).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidNamespace(_) => "InvalidNamespace",
            Self::InvalidKey(_) => "InvalidKey",
            Self::InvalidPattern { .. } => "InvalidPattern",
            Self::InvalidTag(_) => "InvalidTag",
            Self::InvalidTtl => "InvalidTtl",
            Self::EntryTooLarge { .. } => "EntryTooLarge",
            Self::InvalidMessage(_) => "InvalidMessage",
        }
    }

    /// The human-readable message. Built without `core::fmt`, which would add kilobytes to
    /// the wasm package.
    #[must_use]
    pub fn message(&self) -> String {
        let mut out = String::new();
        match self {
            Self::InvalidNamespace(ns) => {
                out.push_str("invalid namespace \"");
                out.push_str(ns);
                out.push_str("\": use 1 to 64 of A-Z a-z 0-9 _ -");
            }
            Self::InvalidKey(why) => {
                out.push_str("invalid key: ");
                out.push_str(why);
            }
            Self::InvalidPattern { pattern, reason } => {
                out.push_str("invalid pattern \"");
                out.push_str(pattern);
                out.push_str("\": ");
                out.push_str(reason);
            }
            Self::InvalidTag(why) => {
                out.push_str("invalid tag: ");
                out.push_str(why);
            }
            Self::InvalidTtl => {
                out.push_str("invalid ttl: must be a positive number of milliseconds or Infinity");
            }
            Self::EntryTooLarge { bytes, max } => {
                out.push_str("entry of ");
                write_u64(&mut out, *bytes);
                out.push_str(" bytes exceeds the cache bound of ");
                write_u64(&mut out, *max);
                out.push_str(" bytes");
            }
            Self::InvalidMessage(why) => {
                out.push_str("invalid message: ");
                out.push_str(why);
            }
        }
        out
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for CoreError {}
