//! The `sync-server` binary end to end: serve, token, publish, invalidate, graceful shutdown.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::field;
use support::hub::SseClient;

const BIN: &str = env!("CARGO_BIN_EXE_sync-server");
const SECRET: &str = "cli-test-secret-cli-test-secret";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn start() -> (Server, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let child = Command::new(BIN)
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--anonymous",
        ])
        .env("HUB_JWT_SECRET", SECRET)
        .env("HUB_RETRY_MS", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while reqwest::get(format!("{url}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "the hub did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (server, url)
}

#[tokio::test]
async fn scripts_publish_and_invalidate() {
    let (_server, url) = start().await;
    let mut client =
        SseClient::connect(&format!("{url}/.well-known/mercure?match=/cache/shop"), &[]).await;
    assert_eq!(client.status, 200);
    let token = run(&[
        "token",
        "--secret",
        SECRET,
        "--publish",
        "/cache/shop",
        "--ttl-secs",
        "60",
    ]);
    let answer = run(&[
        "invalidate",
        "--hub",
        &url,
        "--token",
        &token,
        "--ns",
        "shop",
        "--key",
        "product:42",
    ]);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let id = run(&[
        "publish",
        "--hub",
        &url,
        "--token",
        &token,
        "--topic",
        "/cache/shop",
        "--data",
        "hello",
    ]);
    let event = client.next_event().await.unwrap();
    assert_eq!(field(&event, "id"), answer["id"].as_str());
    assert_eq!(
        field(&event, "data"),
        Some(r#"{"v":1,"ns":"shop","keys":["product:42"]}"#)
    );
    let event = client.next_event().await.unwrap();
    assert_eq!(
        (field(&event, "id"), field(&event, "data")),
        (Some(id.as_str()), Some("hello"))
    );

    let refused = Command::new(BIN)
        .args([
            "publish", "--hub", &url, "--token", &token, "--topic", "/other", "--data", "x",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("403"));
}

#[tokio::test]
async fn sigterm_tells_streams_to_reconnect_and_exits() {
    let (mut server, url) = start().await;
    let mut client = SseClient::connect(&format!("{url}/.well-known/mercure?match=/a"), &[]).await;
    assert_eq!(client.status, 200);
    let pid = server.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    while let Some(block) = client.next_within(Duration::from_secs(5)).await {
        rest.push_str(&block);
    }
    assert!(rest.contains("retry: "), "{rest}");
    assert!(rest.contains("reconnect"), "{rest}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the hub did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success());
}
