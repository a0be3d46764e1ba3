//! Where records persist: one trait, one small file per backend.
//!
//! The memory backend persists nothing (values live on the JS side); the Web Storage backend
//! writes one record per entry to `localStorage` or `sessionStorage`.

mod memory;
mod web;

pub use memory::MemoryBackend;
pub use web::{WebStorage, WebStorageKind};

/// Why a write failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteFailure {
    /// The storage is full (`QuotaExceededError`).
    Quota,
    /// Anything else, with its message.
    Other(String),
}

/// A place records persist to.
pub trait Backend {
    /// Whether records survive the page (false for memory).
    fn persistent(&self) -> bool;
    /// Writes one record.
    fn write(&self, key: &str, record: &str) -> Result<(), WriteFailure>;
    /// Reads one record; `None` when absent or unreadable.
    fn read(&self, key: &str) -> Option<String>;
    /// Removes one record; failures are ignored (the entry is already gone from the index).
    fn remove(&self, key: &str);
    /// Every stored key starting with `prefix`.
    fn keys_with_prefix(&self, prefix: &str) -> Vec<String>;
}
