//! The coherent browser cache, as WebAssembly for JS and Vue apps.
//!
//! This crate is thin: cache-core does the work, this crate converts types and talks to web
//! APIs. The public JS API (`createCache`, …) is the hand-written `js/` layer shipped in the
//! npm package, which drives [`RawCache`].

mod error;
mod http_policy;
mod persist;
mod raw_cache;
pub mod storage;

pub use error::CacheError;
pub use http_policy::{http_policy, HttpPolicy};
pub use raw_cache::RawCache;

use cache_core::pattern::Pattern;
use wasm_bindgen::prelude::*;

/// Joins key parts with `:`, escaping each so parts cannot merge or act as wildcards.
#[wasm_bindgen(js_name = keyFromParts)]
pub fn key_from_parts(parts: Vec<String>) -> String {
    cache_core::key::key_from_parts(&parts)
}

/// The source of an anchored `RegExp` (for the `u` flag) equivalent to a glob pattern.
#[wasm_bindgen(js_name = patternToRegExpSource)]
pub fn pattern_to_regexp_source(pattern: &str) -> Result<String, JsValue> {
    Ok(Pattern::parse(pattern)
        .map_err(CacheError::from)?
        .to_js_regex())
}
