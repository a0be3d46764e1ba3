//! The one error type of the bindings, and its single conversion to a JS `Error`.

use cache_core::json::write_u64;
use cache_core::CoreError;
use wasm_bindgen::{JsCast, JsValue};

/// Everything the JS API can refuse. JS sees an `Error` whose `name` is `"CacheError"` and
/// whose `code` is [`CacheError::code`].
#[derive(Debug)]
pub enum CacheError {
    /// A key, tag, pattern, TTL or namespace that cache-core refused.
    Core(CoreError),
    /// The storage stayed full after this namespace evicted what it could.
    QuotaExceeded {
        /// Size of the record that did not fit.
        needed: u64,
    },
    /// The storage failed for another reason (its message is kept).
    Storage(String),
    /// An option outside its domain.
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

impl From<CoreError> for CacheError {
    fn from(err: CoreError) -> Self {
        Self::Core(err)
    }
}

impl CacheError {
    /// A stable, machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Core(e) => e.code(),
            Self::QuotaExceeded { .. } => "QuotaExceeded",
            Self::Storage(_) => "StorageError",
            Self::InvalidOption { .. } => "InvalidOption",
        }
    }

    /// The human-readable message (built without `core::fmt`, to keep the wasm small).
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::Core(e) => e.message(),
            Self::QuotaExceeded { needed } => {
                let mut out = String::from("storage quota exceeded: ");
                write_u64(&mut out, *needed);
                out.push_str(" bytes could not be made available");
                out
            }
            Self::Storage(msg) => {
                let mut out = String::from("storage failed: ");
                out.push_str(msg);
                out
            }
            Self::InvalidOption { name, reason } => {
                let mut out = String::from("invalid option ");
                out.push_str(name);
                out.push_str(": ");
                out.push_str(reason);
                out
            }
        }
    }
}

impl From<CacheError> for JsValue {
    fn from(err: CacheError) -> Self {
        let js = js_sys::Error::new(&err.message());
        js.set_name("CacheError");
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&js, &"code".into(), &err.code().into());
        js.into()
    }
}

/// A readable message for a `JsValue` thrown by a web API, whatever it is.
pub(crate) fn describe(value: &JsValue) -> String {
    match value.dyn_ref::<js_sys::Error>() {
        Some(err) => {
            let mut out = String::from(err.name());
            out.push_str(": ");
            out.push_str(&String::from(err.message()));
            out
        }
        None => value
            .as_string()
            .unwrap_or_else(|| "an unknown error".to_owned()),
    }
}

/// The `name` of a thrown `DOMException` or `Error`, if it has one.
pub(crate) fn error_name(value: &JsValue) -> Option<String> {
    js_sys::Reflect::get(value, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
}
