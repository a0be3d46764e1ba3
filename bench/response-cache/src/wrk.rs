//! Runs wrk (the Debian package) as a child process and reads its `--latency` report.

use crate::error::BenchError;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// wrk's settings for one run.
#[derive(Debug, Clone)]
pub struct WrkSettings {
    /// `-t`: threads. Default 2.
    pub threads: u32,
    /// `-c`: open connections. Default 64.
    pub connections: u32,
    /// `-d`: how long, in seconds. Default 10.
    pub seconds: u64,
}

/// What wrk reported for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkReport {
    /// `Requests/sec:`.
    pub requests_per_sec: f64,
    /// The `50%` line of the latency distribution.
    pub p50: Duration,
    /// The `99%` line of the latency distribution.
    pub p99: Duration,
    /// `<n> requests in <t>`.
    pub requests: u64,
    /// `Non-2xx or 3xx responses:` (0 when the line is absent).
    pub non_2xx: u64,
    /// The sum of `Socket errors:` (0 when the line is absent).
    pub socket_errors: u64,
}

/// Runs `wrk --latency` against `url` and parses its report. The child is killed if this
/// future is dropped.
pub async fn run(wrk: &Path, settings: &WrkSettings, url: &str) -> Result<WrkReport, BenchError> {
    let output = Command::new(wrk)
        .arg(format!("-t{}", settings.threads))
        .arg(format!("-c{}", settings.connections))
        .arg(format!("-d{}s", settings.seconds))
        .arg("--latency")
        .arg(url)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(BenchError::io(format!(
            "cannot run {} (apt-get install wrk)",
            wrk.display()
        )))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(BenchError::WrkOutput(format!(
            "wrk exited with {}: {}{}",
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    parse(&stdout)
}

/// Parses wrk's `--latency` output.
pub fn parse(text: &str) -> Result<WrkReport, BenchError> {
    let missing = |what: &str| BenchError::WrkOutput(format!("no {what} in:\n{text}"));
    let mut report = WrkReport {
        requests_per_sec: 0.0,
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        requests: 0,
        non_2xx: 0,
        socket_errors: 0,
    };
    let (mut rps, mut p50, mut p99, mut requests) = (None, None, None, None);
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            rps = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("50%") {
            p50 = parse_time(rest.trim());
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99 = parse_time(rest.trim());
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            report.non_2xx = rest.trim().parse().map_err(|_| missing("non-2xx count"))?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            report.socket_errors = rest
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum();
        } else if let Some((count, _)) = line.split_once(" requests in ") {
            requests = count.trim().parse().ok();
        }
    }
    report.requests_per_sec = rps.ok_or_else(|| missing("Requests/sec line"))?;
    report.p50 = p50.ok_or_else(|| missing("50% latency line"))?;
    report.p99 = p99.ok_or_else(|| missing("99% latency line"))?;
    report.requests = requests.ok_or_else(|| missing("request count"))?;
    Ok(report)
}

/// One of wrk's times: a number and a unit among `us`, `ms`, `s`, `m`, `h`.
fn parse_time(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().ok()?;
    let nanos_per_unit = match unit.trim() {
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3_600e9,
        _ => return None,
    };
    let nanos = (value * nanos_per_unit).round();
    if !(0.0..=u64::MAX as f64).contains(&nanos) {
        return None;
    }
    Some(Duration::from_nanos(nanos as u64))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const OUTPUT: &str = "\
Running 10s test @ http://127.0.0.1:40000/cached/items
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.91ms    1.52ms  41.27ms   87.71%
    Req/Sec    11.20k     1.02k   13.41k    71.50%
  Latency Distribution
     50%    2.63ms
     75%    3.41ms
     90%    4.42ms
     99%  812.00us
  222901 requests in 10.00s, 520.93MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:  22288.35
Transfer/sec:     52.09MB
";

    #[test]
    fn reads_throughput_percentiles_and_errors() {
        let report = parse(OUTPUT).unwrap();
        assert!((report.requests_per_sec - 22_288.35).abs() < 1e-6);
        assert_eq!(report.p50, Duration::from_micros(2_630));
        assert_eq!(report.p99, Duration::from_micros(812));
        assert_eq!(report.requests, 222_901);
        assert_eq!(report.socket_errors, 5);
        assert_eq!(report.non_2xx, 4);
    }

    #[test]
    fn absent_error_lines_mean_none() {
        let clean: String = OUTPUT
            .lines()
            .filter(|l| !l.contains("errors") && !l.contains("Non-2xx"))
            .map(|l| format!("{l}\n"))
            .collect();
        let report = parse(&clean).unwrap();
        assert_eq!((report.socket_errors, report.non_2xx), (0, 0));
    }

    #[test]
    fn a_report_without_percentiles_is_an_error() {
        let without: String = OUTPUT
            .lines()
            .filter(|l| !l.trim_start().starts_with("99%"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(matches!(parse(&without), Err(BenchError::WrkOutput(_))));
        assert!(parse("").is_err());
    }

    #[test]
    fn reads_every_time_unit() {
        assert_eq!(parse_time("1.50s"), Some(Duration::from_millis(1_500)));
        assert_eq!(parse_time("2.00m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_time("10.00us"), Some(Duration::from_micros(10)));
        assert_eq!(parse_time("3.00ms"), Some(Duration::from_millis(3)));
        assert_eq!(parse_time("3.00"), None);
        assert_eq!(parse_time("3.00xs"), None);
    }
}
