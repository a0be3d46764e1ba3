//! `sync-server cache clear | warm | stats`: the binary against a real redis-server, a hub
//! and an app with the response cache, both on real sockets.
#![allow(clippy::unwrap_used)]

mod support;

use axum::routing::get;
use axum::Router;
use std::process::Command;
use std::time::Duration;
use support::hub::Hub;
use support::redis_server::RedisServer;
use support::{config, field, publisher_token, state};
use sync_server::cache::RedisCache;
use sync_server::response_cache::ResponseCacheLayer;

const BIN: &str = env!("CARGO_BIN_EXE_sync-server");
const MINUTE: Option<Duration> = Some(Duration::from_secs(60));

/// Runs the binary off the runtime's threads; answers (success, stdout, stderr).
async fn run(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(BIN).args(&args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

async fn filled(redis: &RedisServer) -> RedisCache {
    let shop = RedisCache::builder(&redis.url())
        .namespace("shop")
        .unwrap()
        .build()
        .unwrap();
    let blog = shop.with_namespace("blog").unwrap();
    for key in ["user:1", "user:2", "product:1"] {
        shop.set(key, b"x", MINUTE).await.unwrap();
        blog.set(key, b"x", MINUTE).await.unwrap();
    }
    shop.set_with_tags("tagged", b"x", MINUTE, &["t"])
        .await
        .unwrap();
    shop
}

#[tokio::test]
async fn clear_by_pattern_namespace_and_all_tells_browsers() {
    let redis = RedisServer::start();
    filled(&redis).await;
    redis.cli(&["SET", "{hub}:epoch", "keep me"]);
    let hub = Hub::serve(state(config())).await;
    let mut shop_browser = hub.subscribe("match=/cache/shop", &[]).await;
    let mut blog_browser = hub.subscribe("match=/cache/blog", &[]).await;
    let token = publisher_token();
    let base = [
        "cache",
        "clear",
        "--redis",
        &redis.url(),
        "--hub",
        &hub.url,
        "--token",
        &token,
    ];
    let mut pattern = args(&base);
    pattern.extend(args(&["--pattern", "user:*"]));
    let (ok, out, err) = run(pattern).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "removed 4 keys");
    let event = shop_browser.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","patterns":["user:*"]}"#)
    );
    let event = blog_browser.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"blog","patterns":["user:*"]}"#)
    );
    assert_eq!(
        redis.cli(&["EXISTS", "shop:v1:product:1", "blog:v1:product:1"]),
        "2"
    );

    let mut namespace = args(&base);
    namespace.extend(args(&["--namespace", "shop"]));
    let (ok, out, _) = run(namespace).await;
    assert!(ok);
    assert_eq!(out.trim(), "removed 4 keys"); // product:1, tagged, its tag index, the tag set
    let event = shop_browser.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","patterns":["*"]}"#)
    );

    let mut all = args(&base);
    all.push("--all".to_owned());
    let (ok, out, _) = run(all).await;
    assert!(ok);
    assert_eq!(out.trim(), "removed 1 keys");
    let event = blog_browser.next_event().await.unwrap();
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"blog","patterns":["*"]}"#)
    );
    assert_eq!(redis.cli(&["GET", "{hub}:epoch"]), "keep me");

    let (ok, _, err) = run(args(&["cache", "clear", "--redis", &redis.url()])).await;
    assert!(!ok && err.contains("--all"), "{err}");
}

async fn serve_app(cache: RedisCache) -> (String, tokio::task::JoinHandle<()>) {
    let app = Router::new()
        .route("/products", get(|| async { "[1,2]" }))
        .route("/products/{id}", get(|| async { "{}" }))
        .layer(ResponseCacheLayer::new(cache));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

#[tokio::test]
async fn warm_fills_the_response_cache_with_a_summary() {
    let redis = RedisServer::start();
    let cache = RedisCache::builder(&redis.url())
        .namespace("http")
        .unwrap()
        .build()
        .unwrap();
    let (url, server) = serve_app(cache.clone()).await;
    let dir = std::env::temp_dir().join(format!("warm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("urls.txt");
    std::fs::write(
        &file,
        format!("# catalogue\n{url}/products\n\n{url}/products/1\n{url}/products/2\n"),
    )
    .unwrap();
    let warm = args(&["cache", "warm", "--urls", file.to_str().unwrap()]);
    let (ok, out, err) = run(warm.clone()).await;
    assert!(ok, "{err}");
    assert!(out.starts_with("warmed 3 URLs in "), "{out}");
    assert!(
        out.contains("3 cached now (MISS), 0 already cached (HIT)"),
        "{out}"
    );
    assert!(err.contains("3/3"), "no progress bar: {err}");
    assert_eq!(cache.stats()["http"].sets, 3);
    let (ok, out, _) = run(warm).await;
    assert!(ok);
    assert!(
        out.contains("0 cached now (MISS), 3 already cached (HIT)"),
        "{out}"
    );
    std::fs::write(&file, format!("{url}/nothing-here\n")).unwrap();
    let (ok, out, err) = run(args(&["cache", "warm", "--urls", file.to_str().unwrap()])).await;
    assert!(
        !ok && out.contains("1 failed") && err.contains("404"),
        "{out}{err}"
    );
    server.abort();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn stats_prints_redis_figures_and_namespaces() {
    let redis = RedisServer::start();
    let shop = filled(&redis).await;
    shop.bump_version().await.unwrap();
    shop.set("fresh", b"x", MINUTE).await.unwrap();
    let (ok, out, err) = run(args(&["cache", "stats", "--redis", &redis.url(), "--json"])).await;
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(report["redis"]["used_memory"].as_u64().unwrap() > 0);
    assert_eq!(
        report["namespaces"]["shop"],
        serde_json::json!({"version": 2, "entries": 1, "stale_entries": 4, "tags": 1})
    );
    assert_eq!(report["namespaces"]["blog"]["entries"], 3);
    let (ok, out, _) = run(args(&["cache", "stats", "--redis", &redis.url()])).await;
    assert!(ok);
    assert!(
        out.contains("evicted_keys 0") && out.contains("shop  v2  1  4  1"),
        "{out}"
    );
}
