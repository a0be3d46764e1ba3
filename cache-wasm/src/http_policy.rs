//! HTTP caching rules for the JS side (`ApiCache`, the service-worker strategies): one call
//! per response decides whether it may be stored, where, and until when it is fresh; another
//! reads the tags it carries.

use cache_core::http::{
    response_tags, storability, CacheControl, Freshness, FreshnessHeaders, ResponseTimes,
    Storability, CACHEABLE_BY_DEFAULT,
};
use cache_core::ttl::clock_ms;
use wasm_bindgen::prelude::*;

/// The policy for one response, read by JS as plain properties.
#[wasm_bindgen]
pub struct HttpPolicy {
    storable: &'static str,
    reason: &'static str,
    freshness: Freshness,
    no_cache: bool,
    explicit: bool,
}

#[wasm_bindgen]
impl HttpPolicy {
    /// `"yes"`, `"user"` (memory or the user's namespace only) or `"no"`.
    #[wasm_bindgen(getter)]
    pub fn storable(&self) -> String {
        self.storable.to_owned()
    }

    /// Why it is not (fully) storable, or `""`.
    #[wasm_bindgen(getter)]
    pub fn reason(&self) -> String {
        self.reason.to_owned()
    }

    /// Fresh strictly before this instant (ms, client clock).
    #[wasm_bindgen(getter, js_name = freshUntil)]
    pub fn fresh_until(&self) -> f64 {
        ms(self.freshness.fresh_until)
    }

    /// Servable while revalidating in the background strictly before this instant.
    #[wasm_bindgen(getter, js_name = revalidateUntil)]
    pub fn revalidate_until(&self) -> f64 {
        ms(self.freshness.revalidate_until)
    }

    /// Servable when the origin fails strictly before this instant.
    #[wasm_bindgen(getter, js_name = onErrorUntil)]
    pub fn on_error_until(&self) -> f64 {
        ms(self.freshness.on_error_until)
    }

    /// `immutable`.
    #[wasm_bindgen(getter)]
    pub fn immutable(&self) -> bool {
        self.freshness.immutable
    }

    /// Whether the response states its own lifetime (`max-age` or `Expires`).
    #[wasm_bindgen(getter)]
    pub fn explicit(&self) -> bool {
        self.explicit
    }

    /// `no-cache`: revalidate before every use.
    #[wasm_bindgen(getter, js_name = noCache)]
    pub fn no_cache(&self) -> bool {
        self.no_cache
    }
}

#[allow(clippy::cast_precision_loss)] // instants in ms stay below 2^53
fn ms(v: u64) -> f64 {
    v as f64
}

/// Decides storability and freshness of a response. `headers` is
/// `[cache-control, date, expires, age, last-modified, vary]` (each may be `undefined`);
/// `statuses` the cacheable statuses (default 200, 203, 204, 300, 301, 404, 410).
#[wasm_bindgen(js_name = httpPolicy)]
#[allow(clippy::too_many_arguments)] // one flat call keeps the JS side free of objects
pub fn http_policy(
    method: &str,
    status: u16,
    cache_control: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    age: Option<String>,
    last_modified: Option<String>,
    vary: Option<String>,
    set_cookie: bool,
    authorization: bool,
    request_time: f64,
    response_time: f64,
    statuses: Option<Vec<u16>>,
) -> HttpPolicy {
    let cc = CacheControl::parse(cache_control.as_deref().unwrap_or(""));
    let statuses = statuses.unwrap_or_else(|| CACHEABLE_BY_DEFAULT.to_vec());
    let (storable, reason) = match storability(
        method,
        status,
        &statuses,
        &cc,
        set_cookie,
        vary.as_deref(),
        authorization,
    ) {
        Storability::Yes => ("yes", ""),
        Storability::UserOnly(why) => ("user", why),
        Storability::No(why) => ("no", why),
    };
    let headers = FreshnessHeaders {
        cache_control: cc,
        date: date.as_deref(),
        expires: expires.as_deref(),
        age: age.as_deref(),
        last_modified: last_modified.as_deref(),
    };
    let times = ResponseTimes {
        request_time: clock_ms(request_time),
        response_time: clock_ms(response_time),
    };
    let heuristic = CACHEABLE_BY_DEFAULT.contains(&status);
    let explicit = cc.max_age.is_some() || expires.is_some();
    HttpPolicy {
        explicit,
        storable,
        reason,
        freshness: Freshness::at_receipt(&headers, times, heuristic),
        no_cache: cc.no_cache,
    }
}

/// The tags of a response from its `Cache-Tag` and `Surrogate-Key` values, split exactly as
/// the hub's response cache splits them; `undefined` when an entry could not carry them all
/// (then the response must not be stored).
#[wasm_bindgen(js_name = responseTags)]
#[must_use]
pub fn response_tags_of(
    cache_tag: Option<String>,
    surrogate_key: Option<String>,
) -> Option<Vec<String>> {
    response_tags(
        cache_tag
            .iter()
            .chain(surrogate_key.iter())
            .map(String::as_str),
    )
}
