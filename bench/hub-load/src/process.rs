//! Child processes (the hub, redis-server) and what the generator reads about them: a free
//! loopback port, readiness of a listening port, resident memory, the open-files limit.

use crate::error::BenchError;
use rustix::process::{getrlimit, setrlimit, Resource};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A child process that is killed (SIGKILL) and reaped when dropped, so that the tool never
/// leaves a hub or a redis-server behind, whatever happens to the run.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
}

impl ChildGuard {
    /// Spawns `command`; `name` appears in error messages.
    pub fn spawn(name: &str, command: &mut Command) -> Result<Self, BenchError> {
        let child = command
            .spawn()
            .map_err(BenchError::io(format!("cannot start {name}")))?;
        Ok(Self {
            name: name.to_owned(),
            child,
        })
    }

    /// Spawns `command` with no stdin and no stdout, and waits (10 s at most) until it
    /// listens on 127.0.0.1:`port`.
    pub async fn spawn_listening(
        name: &str,
        command: &mut Command,
        port: u16,
    ) -> Result<Self, BenchError> {
        command.stdin(Stdio::null()).stdout(Stdio::null());
        let mut child = Self::spawn(name, command)?;
        child.wait_for_port(port, Duration::from_secs(10)).await?;
        Ok(child)
    }

    /// The child's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An error if the child has already exited.
    pub fn check_running(&mut self) -> Result<(), BenchError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(BenchError::Setup(format!(
                "{} exited early ({status})",
                self.name
            ))),
            Err(e) => Err(BenchError::io(format!("cannot wait for {}", self.name))(e)),
        }
    }

    /// Waits until the child accepts TCP connections on 127.0.0.1:`port`.
    pub async fn wait_for_port(&mut self, port: u16, limit: Duration) -> Result<(), BenchError> {
        let deadline = Instant::now() + limit;
        loop {
            self.check_running()?;
            if TcpStream::connect(loopback(port)).await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(BenchError::Timeout(format!(
                    "{} did not listen on port {port} within {limit:?}",
                    self.name
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 127.0.0.1:`port`.
#[must_use]
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A loopback port that was free a moment ago (the kernel's choice for port 0).
pub fn free_port() -> Result<u16, BenchError> {
    let listener =
        TcpListener::bind(loopback(0)).map_err(BenchError::io("cannot bind a loopback port"))?;
    let port = listener
        .local_addr()
        .map_err(BenchError::io("cannot read a bound address"))?
        .port();
    Ok(port)
}

/// The `VmRSS` line of a `/proc/<pid>/status` text, in KiB.
#[must_use]
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next()? == "kB").then_some(value)
}

/// The resident memory of process `pid`, in KiB.
pub fn vm_rss_kib(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(BenchError::io(format!("read {path}")))?;
    parse_vm_rss(&status).ok_or_else(|| BenchError::Setup(format!("no VmRSS line in {path}")))
}

/// Raises this process's soft open-files limit to the hard limit (children inherit it) and
/// returns the new soft limit.
pub fn raise_open_files_limit() -> Result<u64, BenchError> {
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit)
        .map_err(|e| BenchError::io("cannot raise RLIMIT_NOFILE")(e.into()))?;
    Ok(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
}

/// The 1-, 5- and 15-minute load averages, for the report.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tsync-server\nVmPeak:\t  9000 kB\nVmRSS:\t    5120 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(5120));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        assert!(vm_rss_kib(std::process::id()).unwrap() > 0);
    }
}
