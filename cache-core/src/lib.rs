//! Platform-free core of the coherent browser cache.
//!
//! Everything the browser package and the hub must agree on lives here, once: the
//! [key grammar](key), [glob patterns](pattern), the [invalidation messages](message), the
//! [storage envelope](envelope), and the [index](index) that does TTL arithmetic, LRU and size
//! bounds, tags and in-flight load bookkeeping over a clock the caller passes in.
//! No web-sys, no tokio: it builds and is tested natively and for `wasm32`.

mod error;
pub mod key;
pub mod message;
pub mod pattern;

pub use error::CoreError;
pub mod envelope;
pub mod http;
pub mod index;
pub mod json;
pub mod stats;
pub mod ttl;
