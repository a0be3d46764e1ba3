//! The one error type of cache-core.

use thiserror::Error;

/// Everything cache-core can refuse. Each variant has a stable [`CoreError::code`], which the
/// JS bindings expose as `error.code` and the hub as the `error` field of a JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    /// A namespace outside the grammar `[A-Za-z0-9_-]{1,64}`.
    #[error("invalid namespace {0:?}: use 1 to 64 of A-Z a-z 0-9 _ -")]
    InvalidNamespace(String),
    /// A key that is empty or longer than [`crate::key::MAX_KEY_BYTES`].
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A glob pattern that is empty, too long, or ends in a lone escape.
    #[error("invalid pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given (truncated to 64 characters).
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tag that is empty, too long, or one too many.
    #[error("invalid tag: {0}")]
    InvalidTag(&'static str),
    /// A TTL that is negative or not a number.
    #[error("invalid ttl: must be a non-negative number of milliseconds or Infinity")]
    InvalidTtl,
    /// A single entry larger than the cache's `maxBytes`.
    #[error("entry of {bytes} bytes exceeds the cache bound of {max} bytes")]
    EntryTooLarge {
        /// Size of the rejected entry.
        bytes: u64,
        /// The configured bound.
        max: u64,
    },
    /// An invalidation message that does not parse or breaks a limit.
    #[error("invalid message: {0}")]
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
}
