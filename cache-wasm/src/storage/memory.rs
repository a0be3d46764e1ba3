//! The memory backend: nothing persists; the JS side holds the values as they are.

use super::{Backend, WriteFailure};

/// Persists nothing.
#[derive(Debug, Default)]
pub struct MemoryBackend;

impl Backend for MemoryBackend {
    fn persistent(&self) -> bool {
        false
    }
    fn write(&self, _key: &str, _record: &str) -> Result<(), WriteFailure> {
        Ok(())
    }
    fn read(&self, _key: &str) -> Option<String> {
        None
    }
    fn remove(&self, _key: &str) {}
    fn keys_with_prefix(&self, _prefix: &str) -> Vec<String> {
        Vec::new()
    }
}
