//! The response-cache layer against a real redis-server, through `oneshot`.
#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::redis_server::RedisServer;
use support::{config, field, state, subscribe, text};
use sync_server::cache::{Publisher, RedisCache};
use sync_server::response_cache::{CacheUser, ResponseCacheLayer};
use tower::ServiceExt;

/// Counts handler calls.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn tick(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The app's auth middleware: `x-user` stands in for a verified session.
async fn auth(mut request: Request, next: Next) -> Response {
    if let Some(user) = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
    {
        let user = CacheUser(user.to_owned());
        request.extensions_mut().insert(user);
    }
    next.run(request).await
}

fn app(cache: RedisCache, calls: &Calls) -> Router {
    let (c1, c2, c3, c4, c5, c6, c7) = (
        calls.clone(),
        calls.clone(),
        calls.clone(),
        calls.clone(),
        calls.clone(),
        calls.clone(),
        calls.clone(),
    );
    Router::new()
        .route(
            "/products",
            get(move || async move { format!("products #{}", c1.tick()) }),
        )
        .route(
            "/products/{id}",
            get(move || async move {
                (
                    [
                        ("cache-tag", "product, catalog"),
                        ("surrogate-key", "p1 p2"),
                    ],
                    format!("product #{}", c2.tick()),
                )
            }),
        )
        .route(
            "/me",
            get(move |headers: HeaderMap| async move {
                let user = headers
                    .get("x-user")
                    .map(|v| v.to_str().unwrap().to_owned());
                format!("{user:?} #{}", c3.tick())
            }),
        )
        .route(
            "/login",
            get(move || async move { ([("set-cookie", "sid=1")], format!("#{}", c4.tick())) }),
        )
        .route(
            "/live",
            get(
                move || async move { ([("cache-control", "no-store")], format!("#{}", c5.tick())) },
            ),
        )
        .route(
            "/missing",
            get(move || async move {
                (StatusCode::NOT_FOUND, format!("#{}", c6.tick())).into_response()
            }),
        )
        .route(
            // 32 tags of its own plus the layer's `api`: more than an entry holds.
            "/many-tags",
            get(move || async move {
                let tags: Vec<String> = (0..32).map(|i| format!("t{i}")).collect();
                ([("cache-tag", tags.join(" "))], format!("#{}", c7.tick()))
            }),
        )
        .route("/products", post(|| async { "posted" }))
        .layer(
            ResponseCacheLayer::new(cache)
                .ttl(Duration::from_secs(60))
                .route_ttl("/products/{id}", Duration::from_secs(300))
                .vary_header(header::ACCEPT_LANGUAGE)
                .tags(&["api"]),
        )
        .layer(axum::middleware::from_fn(auth))
}

fn http_cache(redis: &RedisServer) -> RedisCache {
    RedisCache::builder(&redis.url())
        .namespace("http")
        .unwrap()
        .build()
        .unwrap()
}

async fn send(
    app: &Router,
    request: axum::http::request::Builder,
) -> (StatusCode, HeaderMap, String) {
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, text(response).await)
}

fn get_req(uri: &str) -> axum::http::request::Builder {
    axum::http::Request::get(uri)
}

fn x_cache(headers: &HeaderMap) -> &str {
    headers["x-cache"].to_str().unwrap()
}

#[tokio::test]
async fn hits_carry_an_etag_and_conditional_requests_get_304() {
    let redis = RedisServer::start();
    let calls = Calls::default();
    let app = app(http_cache(&redis), &calls);
    let (status, first, body) = send(&app, get_req("/products")).await;
    assert_eq!(
        (status, x_cache(&first), body.as_str()),
        (StatusCode::OK, "MISS", "products #1")
    );
    let etag = first["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 34);
    assert_eq!(first["cache-control"], "no-cache");
    assert_eq!(first["cache-tag"], "api");
    let (_, second, body) = send(&app, get_req("/products")).await;
    assert_eq!((x_cache(&second), body.as_str()), ("HIT", "products #1"));
    assert_eq!(second["etag"], first["etag"]);
    assert_eq!(calls.get(), 1);
    let (status, headers, body) =
        send(&app, get_req("/products").header("if-none-match", &etag)).await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    assert_eq!(headers["etag"].to_str().unwrap(), etag);
    let (status, ..) = send(
        &app,
        get_req("/products").header("if-none-match", "\"other\""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let last_modified = first["last-modified"].to_str().unwrap();
    let (status, ..) = send(
        &app,
        get_req("/products").header("if-modified-since", last_modified),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let (status, ..) = send(
        &app,
        get_req("/products").header("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Vary: another language is another entry.
    let (_, headers, body) = send(&app, get_req("/products").header("accept-language", "fr")).await;
    assert_eq!((x_cache(&headers), body.as_str()), ("MISS", "products #2"));
    assert_eq!(headers["vary"], "accept-language");
}

#[tokio::test]
async fn users_get_their_own_entries_and_unknown_credentials_are_not_cached() {
    let redis = RedisServer::start();
    let calls = Calls::default();
    let app = app(http_cache(&redis), &calls);
    let (_, h, ada) = send(&app, get_req("/me").header("x-user", "ada")).await;
    assert_eq!((x_cache(&h), ada.as_str()), ("MISS", "Some(\"ada\") #1"));
    assert_eq!(h["cache-control"], "private, no-cache");
    let (_, h, bob) = send(&app, get_req("/me").header("x-user", "bob")).await;
    assert_eq!((x_cache(&h), bob.as_str()), ("MISS", "Some(\"bob\") #2"));
    let (_, h, again) = send(&app, get_req("/me").header("x-user", "ada")).await;
    assert_eq!((x_cache(&h), again.as_str()), ("HIT", "Some(\"ada\") #1"));
    let (_, h, anon) = send(&app, get_req("/me")).await;
    assert_eq!((x_cache(&h), anon.as_str()), ("MISS", "None #3"));
    for _ in 0..2 {
        let (_, h, _) = send(&app, get_req("/me").header("authorization", "Bearer x")).await;
        assert_eq!(x_cache(&h), "BYPASS");
    }
    assert_eq!(calls.get(), 5);
    assert_eq!(
        redis.cli(&["EXISTS", "http:v1:GET:/me:u=ada:accept-language="]),
        "1"
    );
}

#[tokio::test]
async fn set_cookie_no_store_errors_too_many_tags_and_posts_are_never_cached() {
    let redis = RedisServer::start();
    let calls = Calls::default();
    let app = app(http_cache(&redis), &calls);
    for uri in ["/login", "/live", "/missing", "/many-tags"] {
        send(&app, get_req(uri)).await;
        let (_, h, _) = send(&app, get_req(uri)).await;
        assert_eq!(x_cache(&h), "MISS", "{uri}");
    }
    assert_eq!(calls.get(), 8);
    let (_, h, _) = send(
        &app,
        get_req("/products").header("cache-control", "no-store"),
    )
    .await;
    assert_eq!(x_cache(&h), "BYPASS");
    let (_, h, body) = send(&app, axum::http::Request::post("/products")).await;
    assert_eq!((x_cache(&h), body.as_str()), ("BYPASS", "posted"));
    assert_eq!(redis.cli(&["DBSIZE"]), "0");
}

#[tokio::test]
async fn route_ttls_and_cache_tags_invalidate_responses_and_browsers() {
    let redis = RedisServer::start();
    let hub = state(config());
    let cache = RedisCache::builder(&redis.url())
        .namespace("http")
        .unwrap()
        .publisher(Publisher::in_process(&hub))
        .build()
        .unwrap();
    let calls = Calls::default();
    let app = app(cache.clone(), &calls);
    let (_, h, _) = send(&app, get_req("/products/42")).await;
    assert_eq!(h["cache-tag"], "api,catalog,p1,p2,product");
    let pttl: i64 = redis
        .cli(&["PTTL", "http:v1:GET:/products/42:-:accept-language="])
        .parse()
        .unwrap();
    assert!(pttl > 290_000, "route TTL: {pttl}");
    let pttl: i64 = {
        send(&app, get_req("/products")).await;
        redis
            .cli(&["PTTL", "http:v1:GET:/products:-:accept-language="])
            .parse()
            .unwrap()
    };
    assert!((1..=60_000).contains(&pttl), "layer TTL: {pttl}");
    let mut browser = subscribe(&hub, "match=/cache/http").await;
    assert_eq!(cache.invalidate_tags(&["catalog"]).await.unwrap(), 1);
    let event = browser.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"http","tags":["catalog"]}"#)
    );
    let (_, h, body) = send(&app, get_req("/products/42")).await;
    assert_eq!((x_cache(&h), body.as_str()), ("MISS", "product #3"));
    let (_, h, _) = send(&app, get_req("/products")).await;
    assert_eq!(x_cache(&h), "HIT");
    assert_eq!(cache.invalidate_pattern("GET:/products*").await.unwrap(), 2);
}

#[tokio::test]
async fn redis_down_still_serves_every_request_and_counts() {
    let mut redis = RedisServer::start();
    let cache = http_cache(&redis);
    let calls = Calls::default();
    let app = app(cache.clone(), &calls);
    redis.kill();
    for n in 1..=3 {
        let (status, h, body) = send(&app, get_req("/products")).await;
        assert_eq!((status, x_cache(&h)), (StatusCode::OK, "MISS"));
        assert_eq!(body, format!("products #{n}"));
    }
    let stats = &cache.stats()["http"];
    assert!(stats.redis_errors >= 6, "{stats:?}");
    assert_eq!(stats.misses, 3);
}

#[tokio::test]
async fn coalesced_misses_call_the_handler_once() {
    let redis = RedisServer::start();
    let calls = Calls::default();
    let counted = calls.clone();
    let app = Router::new()
        .route(
            "/slow",
            get(move || async move {
                let n = counted.tick();
                tokio::time::sleep(Duration::from_millis(200)).await;
                format!("slow #{n}")
            }),
        )
        .layer(ResponseCacheLayer::new(http_cache(&redis)).coalesce_misses(true));
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { send(&app, get_req("/slow")).await })
        })
        .collect();
    let mut hits = 0;
    for request in requests {
        let (status, headers, body) = request.await.unwrap();
        assert_eq!((status, body.as_str()), (StatusCode::OK, "slow #1"));
        hits += usize::from(x_cache(&headers) == "HIT");
    }
    assert_eq!(calls.get(), 1);
    assert_eq!(hits, 19);
    assert_eq!(redis.cli(&["EXISTS", "http:v1:GET:/slow:-"]), "1");
    assert_eq!(redis.cli(&["EXISTS", "http:lock:v1:GET:/slow:-"]), "0");
}

#[tokio::test]
async fn a_response_whose_tag_was_invalidated_while_it_was_computed_is_not_stored() {
    let redis = RedisServer::start();
    let cache = http_cache(&redis);
    let calls = Calls::default();
    let (counted, invalidator) = (calls.clone(), cache.clone());
    let app = Router::new()
        .route(
            "/report",
            get(move || async move {
                let n = counted.tick();
                if n == 1 {
                    // The data changes and the app invalidates while this answer is built.
                    invalidator.invalidate_tags(&["catalog"]).await.unwrap();
                }
                ([("cache-tag", "catalog")], format!("report #{n}"))
            }),
        )
        .layer(ResponseCacheLayer::new(cache));
    let (_, h, body) = send(&app, get_req("/report")).await;
    assert_eq!((x_cache(&h), body.as_str()), ("MISS", "report #1"));
    let (_, h, body) = send(&app, get_req("/report")).await;
    assert_eq!(
        (x_cache(&h), body.as_str()),
        ("MISS", "report #2"),
        "the answer computed before the invalidation was served as fresh"
    );
    let (_, h, body) = send(&app, get_req("/report")).await;
    assert_eq!((x_cache(&h), body.as_str()), ("HIT", "report #2"));
}

#[tokio::test]
async fn a_response_varying_on_a_header_the_key_lacks_is_not_stored() {
    let redis = RedisServer::start();
    let calls = Calls::default();
    let counted = calls.clone();
    let app = Router::new()
        .route(
            "/vary/{names}",
            get(
                move |axum::extract::Path(names): axum::extract::Path<String>| async move {
                    ([("vary", names)], format!("#{}", counted.tick()))
                },
            ),
        )
        .layer(ResponseCacheLayer::new(http_cache(&redis)).vary_header(header::ACCEPT_LANGUAGE))
        .layer(axum::middleware::from_fn(auth));
    for names in [
        "Cookie",
        "Authorization",
        "Origin",
        "Accept-Encoding",
        "*",
        "Accept-Language,%20Origin",
    ] {
        let uri = format!("/vary/{names}");
        send(&app, get_req(&uri)).await;
        let (_, h, _) = send(&app, get_req(&uri)).await;
        assert_eq!(x_cache(&h), "MISS", "Vary: {names} was shared");
    }
    // Headers the key holds: the configured ones, and cookie and authorization per user.
    for (names, user) in [
        ("accept-language", None),
        ("Cookie,%20Authorization", Some("ada")),
    ] {
        let uri = format!("/vary/{names}");
        let request = || match user {
            Some(u) => get_req(&uri).header("x-user", u),
            None => get_req(&uri),
        };
        send(&app, request()).await;
        let (_, h, _) = send(&app, request()).await;
        assert_eq!(x_cache(&h), "HIT", "Vary: {names}");
    }
}

#[tokio::test]
async fn a_coalescing_leader_that_goes_away_frees_the_others_at_once() {
    let redis = RedisServer::start();
    let calls = Calls::default();
    let counted = calls.clone();
    let app = Router::new()
        .route(
            "/slow",
            get(move || async move {
                let n = counted.tick();
                if n == 1 {
                    // The leader's client disconnects long before this ends.
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                format!("slow #{n}")
            }),
        )
        .layer(ResponseCacheLayer::new(http_cache(&redis)).coalesce_misses(true));
    let leader = {
        let app = app.clone();
        tokio::spawn(async move { send(&app, get_req("/slow")).await })
    };
    while calls.get() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(redis.cli(&["EXISTS", "http:lock:v1:GET:/slow:-"]), "1");
    leader.abort();
    let _ = leader.await;
    let follower = tokio::time::timeout(Duration::from_secs(3), send(&app, get_req("/slow")))
        .await
        .expect("a follower waited for the lock of a leader that was gone");
    assert_eq!(
        (follower.0, follower.2.as_str()),
        (StatusCode::OK, "slow #2")
    );
    assert_eq!(redis.cli(&["EXISTS", "http:lock:v1:GET:/slow:-"]), "0");
}

#[tokio::test]
async fn hosts_served_by_one_router_get_their_own_entries() {
    let redis = RedisServer::start();
    let calls = Calls::default();
    let app = app(http_cache(&redis), &calls);
    let (_, h, a) = send(&app, get_req("/products").header("host", "a.example")).await;
    assert_eq!((x_cache(&h), a.as_str()), ("MISS", "products #1"));
    let (_, h, b) = send(&app, get_req("/products").header("host", "b.example")).await;
    assert_eq!(
        (x_cache(&h), b.as_str()),
        ("MISS", "products #2"),
        "another host got a's page"
    );
    let (_, h, again) = send(&app, get_req("/products").header("host", "A.example")).await;
    assert_eq!((x_cache(&h), again.as_str()), ("HIT", "products #1"));
}

/// The `currency` cookie as apps read it (the `cookie` crate, axum-extra's `CookieJar`):
/// names trimmed, the last duplicate wins.
fn app_currency(headers: &HeaderMap) -> String {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| name.trim() == "currency")
        .map(|(_, value)| value.trim().to_owned())
        .next_back()
        .unwrap_or_else(|| "USD".to_owned())
}

#[tokio::test]
async fn a_varied_cookie_the_app_could_read_otherwise_is_not_cached() {
    let redis = RedisServer::start();
    let calls = Calls::default();
    let counted = calls.clone();
    let app = Router::new()
        .route(
            "/prices",
            get(move |headers: HeaderMap| async move {
                format!("{} #{}", app_currency(&headers), counted.tick())
            }),
        )
        .layer(ResponseCacheLayer::new(http_cache(&redis)).vary_cookie("currency"));
    // Each poisoning request, then the request whose key it would have been stored under.
    for (poison, victim) in [
        ("currency =EUR", None),
        ("currency=USD; currency=EUR", Some("currency=USD")),
    ] {
        let (_, poisoned, body) = send(&app, get_req("/prices").header("cookie", poison)).await;
        assert!(body.starts_with("EUR #"), "{poison}: {body}");
        let request = match victim {
            Some(cookie) => get_req("/prices").header("cookie", cookie),
            None => get_req("/prices"),
        };
        let (_, h, body) = send(&app, request).await;
        assert!(
            !body.starts_with("EUR"),
            "{poison}: {victim:?} got {body} ({})",
            x_cache(&h)
        );
        assert_eq!(x_cache(&poisoned), "BYPASS", "{poison}");
    }
    // The `cookie` crate also %-decodes names (axum-extra's `CookieJar` does).
    let (_, h, _) = send(&app, get_req("/prices").header("cookie", "curr%65ncy=EUR")).await;
    assert_eq!(x_cache(&h), "BYPASS");
    // An unambiguous cookie is still cached under its value.
    send(
        &app,
        get_req("/prices").header("cookie", "a=1; currency=EUR"),
    )
    .await;
    let (_, h, body) = send(&app, get_req("/prices").header("cookie", "currency=EUR")).await;
    assert_eq!((x_cache(&h), body.as_str()), ("HIT", "EUR #6"));
}

#[tokio::test]
async fn a_request_whose_key_is_over_the_limit_is_not_cached() {
    let redis = RedisServer::start();
    let calls = Calls::default();
    let app = app(http_cache(&redis), &calls);
    let uri = format!("/products?q={}", "x".repeat(1_100));
    let (_, first, _) = send(&app, get_req(&uri)).await;
    let (_, second, body) = send(&app, get_req(&uri)).await;
    assert_eq!(
        (body.as_str(), calls.get()),
        ("products #2", 2),
        "stored under a key invalidate_pattern cannot match ({})",
        x_cache(&second)
    );
    assert_eq!((x_cache(&first), x_cache(&second)), ("BYPASS", "BYPASS"));
    assert_eq!(redis.cli(&["DBSIZE"]), "0");
    let uri = format!("/products?q={}", "x".repeat(900));
    send(&app, get_req(&uri)).await;
    let (_, h, body) = send(&app, get_req(&uri)).await;
    assert_eq!((x_cache(&h), body.as_str()), ("HIT", "products #3"));
}
