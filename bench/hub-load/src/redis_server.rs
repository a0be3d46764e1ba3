//! The run's own `redis-server`: no persistence, loopback only, enough clients for the
//! floor's subscribers; killed when dropped.

use crate::error::BenchError;
use crate::process::{free_port, ChildGuard};
use std::path::Path;
use std::process::Command;

/// A running redis-server.
#[derive(Debug)]
pub struct RedisServer {
    child: ChildGuard,
    port: u16,
}

impl RedisServer {
    /// Starts `binary` accepting at least `clients` connections and waits until it listens.
    pub async fn start(binary: &Path, clients: usize) -> Result<Self, BenchError> {
        let port = free_port()?;
        let mut command = Command::new(binary);
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--maxclients", &(clients + 64).to_string()]);
        let child = ChildGuard::spawn_listening("redis-server", &mut command, port).await?;
        Ok(Self { child, port })
    }

    /// The port it listens on (127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL for the hub's `--redis`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Its process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }
}
