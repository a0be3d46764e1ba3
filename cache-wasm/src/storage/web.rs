//! `localStorage` and `sessionStorage`.
//!
//! gloo-storage is not used here: its accessors `expect_throw` when storage is disabled, and
//! its `set` serializes with serde, while our records are already strings. Its raw accessor
//! would add nothing over web-sys.

use super::{Backend, WriteFailure};
use crate::error::{describe, error_name};
use wasm_bindgen::JsCast;

/// Which Web Storage area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebStorageKind {
    /// `localStorage`: shared by the origin's tabs, survives restarts.
    Local,
    /// `sessionStorage`: one tab's session.
    Session,
}

/// A usable Web Storage area.
#[derive(Debug)]
pub struct WebStorage {
    storage: web_sys::Storage,
}

/// Written and removed once to prove the storage accepts writes. No namespace can be empty,
/// so this key can never be a cache record.
const PROBE_KEY: &str = "cw::probe";

impl WebStorage {
    /// Opens the area and proves it can be written; `Err` says why it cannot be used.
    pub fn open(kind: WebStorageKind) -> Result<Self, String> {
        let global = js_sys::global();
        let window: web_sys::Window = global
            .dyn_into()
            .map_err(|_| "Web Storage is only available in a window".to_owned())?;
        let area = match kind {
            WebStorageKind::Local => window.local_storage(),
            WebStorageKind::Session => window.session_storage(),
        };
        let storage = area
            .map_err(|e| describe(&e))?
            .ok_or_else(|| "the storage area is not available".to_owned())?;
        let this = Self { storage };
        match this.write(PROBE_KEY, "1") {
            Ok(()) => {
                this.remove(PROBE_KEY);
                Ok(this)
            }
            // Full, but holding data: the cache can still make room by evicting its own
            // entries. Full while empty means a zero quota: unusable.
            Err(WriteFailure::Quota) if this.storage.length().unwrap_or(0) > 0 => Ok(this),
            Err(WriteFailure::Quota) => Err("the storage quota is zero".to_owned()),
            Err(WriteFailure::Other(msg)) => Err(msg),
        }
    }
}

impl Backend for WebStorage {
    fn persistent(&self) -> bool {
        true
    }

    fn write(&self, key: &str, record: &str) -> Result<(), WriteFailure> {
        self.storage
            .set_item(key, record)
            .map_err(|e| match error_name(&e).as_deref() {
                Some("QuotaExceededError" | "NS_ERROR_DOM_QUOTA_REACHED") => WriteFailure::Quota,
                _ => WriteFailure::Other(describe(&e)),
            })
    }

    fn read(&self, key: &str) -> Option<String> {
        self.storage.get_item(key).ok().flatten()
    }

    fn remove(&self, key: &str) {
        let _ = self.storage.remove_item(key);
    }

    fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let len = self.storage.length().unwrap_or(0);
        (0..len)
            .filter_map(|i| self.storage.key(i).ok().flatten())
            .filter(|k| k.starts_with(prefix))
            .collect()
    }
}
