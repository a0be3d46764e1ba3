//! Stampede protection across two processes: 200 concurrent `get_or_set` calls on a cold key,
//! 100 in this test process and 100 in a second process (this same test binary, re-run with
//! `CACHE_STAMPEDE_HELPER_REDIS` set, which switches `stampede_helper_process` into the helper
//! role), run the loader exactly once.
#![allow(clippy::unwrap_used)]

mod support;

use redis::AsyncCommands;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::redis_server::RedisServer;
use sync_server::cache::{CacheError, RedisCache};

const HELPER_ENV: &str = "CACHE_STAMPEDE_HELPER_REDIS";
const CALLERS_PER_PROCESS: usize = 100;

/// Both processes start together: each counts itself in, then waits for the other.
async fn barrier(conn: &mut redis::aio::MultiplexedConnection) {
    let _: u64 = conn.incr("barrier", 1).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: u64 = conn.get("barrier").await.unwrap();
        if n >= 2 {
            return;
        }
        assert!(Instant::now() < deadline, "the other process never arrived");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One process's side: 100 concurrent callers; answers what they got.
fn run_side(url: &str) -> Vec<Vec<u8>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let cache = RedisCache::builder(url)
            .namespace("shop")
            .unwrap()
            .lock_poll(Duration::from_millis(10))
            .build()
            .unwrap();
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        barrier(&mut conn).await;
        let tasks: Vec<_> = (0..CALLERS_PER_PROCESS)
            .map(|_| {
                let (cache, mut conn) = (cache.clone(), conn.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_set("cold", Some(Duration::from_secs(60)), || async move {
                            // The loader's calls are counted in Redis, across processes.
                            let _: u64 = conn.incr("loader_calls", 1).await.unwrap();
                            tokio::time::sleep(Duration::from_millis(300)).await;
                            Ok::<_, CacheError>(b"expensive".to_vec())
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut values = Vec::new();
        for task in tasks {
            values.push(task.await.unwrap());
        }
        values
    })
}

#[test]
fn stampede_helper_process() {
    // Only does something in the helper role (see the module documentation).
    if let Ok(url) = std::env::var(HELPER_ENV) {
        let values = run_side(&url);
        assert!(values.iter().all(|v| v == b"expensive"));
        println!("helper: {} callers served", values.len());
    }
}

#[test]
fn two_hundred_callers_in_two_processes_run_one_loader() {
    let redis = RedisServer::start();
    let helper = Command::new(std::env::current_exe().unwrap())
        .args(["stampede_helper_process", "--exact", "--nocapture"])
        .env(HELPER_ENV, redis.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let values = run_side(&redis.url());
    let output = helper.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("helper: 100 callers served"),
        "helper failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(values.iter().all(|v| v == b"expensive"));
    assert_eq!(redis.cli(&["GET", "loader_calls"]), "1");
    assert_eq!(redis.cli(&["EXISTS", "shop:lock:v1:cold"]), "0");
}
