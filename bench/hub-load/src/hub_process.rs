//! A fresh `sync-server serve` process on a free loopback port, anonymous subscribe and
//! publish, embedded or Redis transport.

use crate::error::BenchError;
use crate::process::{free_port, ChildGuard};
use std::path::Path;
use std::process::Command;

/// A running hub, killed when dropped.
#[derive(Debug)]
pub struct HubProcess {
    child: ChildGuard,
    port: u16,
}

impl HubProcess {
    /// Starts `binary serve` for `clients` subscribers from one address, on the Redis at
    /// `redis` (with keys under `prefix`) or the embedded transport, and waits until it listens.
    pub async fn start(
        binary: &Path,
        clients: usize,
        redis: Option<(&str, &str)>,
    ) -> Result<Self, BenchError> {
        if !binary.is_file() {
            return Err(BenchError::Setup(format!(
                "no hub binary at {}: build it with \
                 `cargo build --profile release-native -p sync-server` or pass --hub",
                binary.display()
            )));
        }
        let port = free_port()?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(["--anonymous", "--anonymous-publish"])
            // Every subscriber comes from 127.0.0.1.
            .args(["--max-connections-per-address", &(clients + 16).to_string()])
            .env("RUST_LOG", "warn");
        if let Some((url, prefix)) = redis {
            command.args(["--redis", url, "--redis-prefix", prefix]);
        }
        let child = ChildGuard::spawn_listening("sync-server", &mut command, port).await?;
        Ok(Self { child, port })
    }

    /// The port it listens on (127.0.0.1).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }
}
