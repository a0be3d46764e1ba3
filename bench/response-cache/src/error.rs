//! The one error type of the benchmark.

use std::io;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A system call or child process failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A child process or the app did not come up as expected.
    #[error("setup: {0}")]
    Setup(String),
    /// wrk's output did not have the expected lines.
    #[error("cannot read wrk's output: {0}")]
    WrkOutput(String),
    /// What was measured is not what was meant to be measured (e.g. the cached route missed).
    #[error("invalid measurement: {0}")]
    Invalid(String),
    /// The cache failed.
    #[error("cache: {0}")]
    Cache(#[from] sync_server::cache::CacheError),
    /// An HTTP check request failed.
    #[error("HTTP check: {0}")]
    Http(#[from] reqwest::Error),
}

impl BenchError {
    /// A converter from `io::Error` that adds `context`, for `map_err`.
    pub fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}
