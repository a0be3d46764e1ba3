//! The run's redis-server: a child process on a free loopback port, killed when dropped;
//! and what the report says about the machine (its load average).

use crate::error::BenchError;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// 127.0.0.1:`port`.
#[must_use]
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A loopback port that was free a moment ago (the kernel's choice for port 0).
pub fn free_port() -> Result<u16, BenchError> {
    let listener =
        TcpListener::bind(loopback(0)).map_err(BenchError::io("cannot bind a loopback port"))?;
    Ok(listener
        .local_addr()
        .map_err(BenchError::io("cannot read a bound address"))?
        .port())
}

/// A redis-server without persistence on 127.0.0.1, killed (SIGKILL) and reaped when
/// dropped, so that no run leaves one behind, whatever happens to it.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts `binary` on a free loopback port and waits (up to 10 s) until it listens.
    pub async fn start(binary: &Path) -> Result<Self, BenchError> {
        let port = free_port()?;
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(BenchError::io(format!(
                "cannot start {} (apt-get install redis-server)",
                binary.display()
            )))?;
        let mut server = Self { child, port };
        server.wait_listening(Duration::from_secs(10)).await?;
        Ok(server)
    }

    async fn wait_listening(&mut self, limit: Duration) -> Result<(), BenchError> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .map_err(BenchError::io("cannot wait for redis-server"))?
            {
                return Err(BenchError::Setup(format!(
                    "redis-server exited early ({status})"
                )));
            }
            if TcpStream::connect(loopback(self.port)).await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(BenchError::Setup(format!(
                    "redis-server did not listen on port {} within {limit:?}",
                    self.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Its URL, database 0.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The 1-, 5- and 15-minute load averages (`/proc/loadavg`), for the report.
#[must_use]
pub fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}
