//! The one error type of the bindings, and its single conversion to a JS `Error`.

use cache_core::CoreError;
use wasm_bindgen::JsValue;

/// Everything the JS API can refuse. JS sees an `Error` whose `name` is `"CacheError"` and
/// whose `code` is [`CacheError::code`].
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A key, tag, pattern, TTL or namespace that cache-core refused.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The storage stayed full after this namespace evicted what it could.
    #[error("storage quota exceeded: {needed} bytes could not be made available")]
    QuotaExceeded {
        /// Size of the record that did not fit.
        needed: u64,
    },
    /// The storage failed for another reason (its message is kept).
    #[error("storage failed: {0}")]
    Storage(String),
    /// An option outside its domain.
    #[error("invalid option {name}: {reason}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
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
}

impl From<CacheError> for JsValue {
    fn from(err: CacheError) -> Self {
        let js = js_sys::Error::new(&err.to_string());
        js.set_name("CacheError");
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&js, &"code".into(), &err.code().into());
        js.into()
    }
}

/// A readable message for a `JsValue` thrown by a web API, whatever it is.
pub(crate) fn describe(value: &JsValue) -> String {
    if let Some(err) = value.dyn_ref_error() {
        return format!(
            "{}: {}",
            String::from(err.name()),
            String::from(err.message())
        );
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

trait DynRefError {
    fn dyn_ref_error(&self) -> Option<&js_sys::Error>;
}

impl DynRefError for JsValue {
    fn dyn_ref_error(&self) -> Option<&js_sys::Error> {
        wasm_bindgen::JsCast::dyn_ref::<js_sys::Error>(self)
    }
}

/// The `name` of a thrown `DOMException` or `Error`, if it has one.
pub(crate) fn error_name(value: &JsValue) -> Option<String> {
    js_sys::Reflect::get(value, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
}
