//! [`ResponseCache`]: the service [`super::ResponseCacheLayer`] wraps around a handler.

use super::conditional::{etag_of, not_modified};
use super::key::request_key;
use super::stored::{self, StoredResponse};
use super::{Config, CACHE_TAG, X_CACHE};
use crate::cache::guard::Ticket;
use crate::cache::stampede::Coalesced;
use axum::body::{Body, HttpBody};
use axum::extract::MatchedPath;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use bytes::Bytes;
use cache_core::http::CacheControl;
use cache_core::http::{response_tags, TAG_HEADERS};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

/// Caches the inner service's `GET` 200 responses; built by [`super::ResponseCacheLayer`].
#[derive(Clone)]
pub struct ResponseCache<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> std::fmt::Debug for ResponseCache<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").finish_non_exhaustive()
    }
}

impl<S> ResponseCache<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }
}

impl<S> tower_service::Service<Request<Body>> for ResponseCache<S>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone is not ready; the ready one serves this request (tower's usual dance).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        Box::pin(handle(config, inner, request))
    }
}

/// What a request is cached under.
struct Lookup {
    key: String,
    user: bool,
    ttl: Duration,
}

fn lookup(config: &Config, parts: &Parts) -> Option<Lookup> {
    if parts.method != Method::GET {
        return None;
    }
    let asks_no_store = parts
        .headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| CacheControl::parse(v).no_store);
    let user = (config.user)(parts);
    if asks_no_store || (user.is_none() && parts.headers.contains_key(header::AUTHORIZATION)) {
        return None;
    }
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or_else(|| parts.uri.path(), MatchedPath::as_str);
    let ttl = config.route_ttls.get(route).copied().unwrap_or(config.ttl);
    // No key (an ambiguous varied cookie, or too long to match invalidation patterns):
    // passed through, neither served from the cache nor stored.
    let key = request_key(
        parts,
        user.as_deref(),
        &config.vary_headers,
        &config.vary_cookies,
    )?;
    Some(Lookup {
        key,
        user: user.is_some(),
        ttl,
    })
}

async fn handle<S>(
    config: Arc<Config>,
    mut inner: S,
    request: Request<Body>,
) -> Result<Response<Body>, S::Error>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>>,
{
    let (parts, body) = request.into_parts();
    let Some(lookup) = lookup(&config, &parts) else {
        let response = inner.call(Request::from_parts(parts, body)).await?;
        return Ok(mark(response, "BYPASS"));
    };
    let request_headers = parts.headers.clone();
    if let Ok(Some(bytes)) = config.cache.get(&lookup.key).await {
        if let Some(hit) = stored::decode(&bytes) {
            return Ok(answer(&request_headers, hit, "HIT"));
        }
    }
    // Taken before the handler runs: an invalidation after this keeps its answer out.
    let ticket = config.cache.ticket().await;
    let fill = |response| fill(&config, &lookup, &request_headers, response, ticket);
    if !config.coalesce {
        let response = inner.call(Request::from_parts(parts, body)).await?;
        return Ok(fill(response).await);
    }
    match config.cache.coalesce(&lookup.key).await {
        Coalesced::Value(bytes) => {
            if let Some(hit) = stored::decode(&bytes) {
                return Ok(answer(&request_headers, hit, "HIT"));
            }
            let response = inner.call(Request::from_parts(parts, body)).await?;
            Ok(fill(response).await)
        }
        Coalesced::Lead(held) => {
            let response = inner.call(Request::from_parts(parts, body)).await;
            let answer = match response {
                Ok(response) => Ok(fill(response).await),
                Err(e) => Err(e),
            };
            config.cache.release(held).await;
            answer
        }
        Coalesced::Alone => {
            let response = inner.call(Request::from_parts(parts, body)).await?;
            Ok(fill(response).await)
        }
    }
}

/// Whether a response's own `Vary` names only request headers its key holds: the configured
/// vary headers, and `Cookie` and `Authorization` when the key is per user. Never `*`.
fn vary_covered(config: &Config, headers: &HeaderMap, user: bool) -> bool {
    let covered = |name: &str| {
        name != "*"
            && (config
                .vary_headers
                .iter()
                .any(|h| h.as_str().eq_ignore_ascii_case(name))
                || (user
                    && (name.eq_ignore_ascii_case("cookie")
                        || name.eq_ignore_ascii_case("authorization"))))
    };
    headers.get_all(header::VARY).iter().all(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .all(covered)
        })
    })
}

/// Whether a response may be stored.
fn storable(config: &Config, response: &Response<Body>, user: bool) -> bool {
    let max = config.max_body_bytes;
    let headers = response.headers();
    let cc = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(CacheControl::parse)
        .fold(CacheControl::default(), |a, b| CacheControl {
            no_store: a.no_store || b.no_store,
            private: a.private || b.private,
            ..a
        });
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= max as u64);
    response.status() == StatusCode::OK
        && !headers.contains_key(header::SET_COOKIE)
        && !cc.no_store
        && (user || !cc.private)
        && small
        && vary_covered(config, headers, user)
}

/// Stores a storable response, unless its key or one of its tags was invalidated since
/// `ticket` was taken (or there is no ticket: Redis failed), and answers it.
async fn fill(
    config: &Config,
    lookup: &Lookup,
    request_headers: &HeaderMap,
    response: Response<Body>,
    ticket: Option<Ticket>,
) -> Response<Body> {
    if !storable(config, &response, lookup.user) {
        return mark(response, "MISS");
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, config.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, "response body failed");
            let mut failed = Response::new(Body::empty());
            *failed.status_mut() = StatusCode::BAD_GATEWAY;
            return mark(failed, "MISS");
        }
    };
    let mut headers = parts.headers;
    let tags = decorate(config, lookup, &mut headers, &body);
    match (tags, stored::encode(&headers, &body), ticket) {
        (Some(tags), Some(encoded), Some(ticket)) => {
            let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
            let ttl = Some(lookup.ttl);
            let stored = config
                .cache
                .store_tagged(&lookup.key, &encoded, ttl, &tag_refs, Some(&ticket))
                .await;
            if matches!(stored, Ok(false)) {
                tracing::debug!(key = %lookup.key, "response not cached: invalidated meanwhile or Redis failed");
            }
        }
        // Stored under only some of its tags, an invalidation of another would miss it.
        (None, _, _) => tracing::debug!("response with more tags than an entry holds not cached"),
        (_, None, _) => tracing::debug!("response with a non-UTF-8 header not cached"),
        (_, _, None) => tracing::debug!("response not cached: Redis failed"),
    }
    answer(request_headers, StoredResponse { headers, body }, "MISS")
}

/// Adds `ETag`, `Last-Modified`, `Cache-Control`, `Cache-Tag` and `Vary`; answers the tags,
/// or `None` when an entry could not carry them all.
fn decorate(
    config: &Config,
    lookup: &Lookup,
    headers: &mut HeaderMap,
    body: &Bytes,
) -> Option<Vec<String>> {
    if !headers.contains_key(header::ETAG) {
        if let Ok(v) = HeaderValue::from_str(&etag_of(body)) {
            headers.insert(header::ETAG, v);
        }
    }
    if !headers.contains_key(header::LAST_MODIFIED) {
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
            headers.insert(header::LAST_MODIFIED, v);
        }
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        let value = if lookup.user {
            "private, no-cache"
        } else {
            "no-cache"
        };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    // Split as browsers do (cache-wasm's ApiCache and service worker use the same function),
    // then sorted so the header does not depend on the order the handler gave.
    let mut tags = response_tags(
        TAG_HEADERS
            .iter()
            .flat_map(|name| headers.get_all(*name).iter())
            .filter_map(|v| v.to_str().ok())
            .chain(config.tags.iter().map(String::as_str)),
    );
    if let Some(tags) = &mut tags {
        tags.sort_unstable();
        headers.remove(CACHE_TAG);
        if let Ok(v) = HeaderValue::from_str(&tags.join(",")) {
            if !tags.is_empty() {
                headers.insert(CACHE_TAG, v);
            }
        }
    }
    let mut vary: Vec<&str> = config.vary_headers.iter().map(|h| h.as_str()).collect();
    if !config.vary_cookies.is_empty() || lookup.user {
        vary.push("cookie");
    }
    if lookup.user {
        vary.push("authorization");
    }
    if let Ok(v) = HeaderValue::from_str(&vary.join(", ")) {
        if !vary.is_empty() {
            headers.append(header::VARY, v);
        }
    }
    tags
}

/// The answer from a stored (or just stored) response: 304 when the request's conditions
/// say the client's copy is current, else 200 with the body.
fn answer(
    request_headers: &HeaderMap,
    stored: StoredResponse,
    x_cache: &'static str,
) -> Response<Body> {
    let etag = stored
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let modified = stored
        .headers
        .get(header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let mut response = if not_modified(request_headers, etag, modified) {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        for name in [
            header::ETAG,
            header::LAST_MODIFIED,
            header::CACHE_CONTROL,
            header::VARY,
            header::HeaderName::from_static(CACHE_TAG),
        ] {
            for value in stored.headers.get_all(&name) {
                response.headers_mut().append(name.clone(), value.clone());
            }
        }
        response
    } else {
        let mut response = Response::new(Body::from(stored.body));
        *response.headers_mut() = stored.headers;
        response
    };
    response
        .headers_mut()
        .insert(X_CACHE, HeaderValue::from_static(x_cache));
    response
}

fn mark(mut response: Response<Body>, x_cache: &'static str) -> Response<Body> {
    response
        .headers_mut()
        .insert(X_CACHE, HeaderValue::from_static(x_cache));
    response
}
