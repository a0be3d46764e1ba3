//! The one error type of the load generator.

use std::io;

/// Everything that can stop a benchmark case.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A system call failed; `what` says what was being done.
    #[error("{what}: {source}")]
    Io {
        /// What the generator was doing.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A peer sent something the minimal HTTP, SSE or RESP readers do not accept.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The hub or redis-server could not be started or answered with an error.
    #[error("{0}")]
    Setup(String),
    /// Something did not happen in time.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl BenchError {
    /// A closure turning an [`io::Error`] into [`BenchError::Io`] about `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}
