//! The markdown table of a run: figures, targets, met or missed.

use crate::stampede::{percentile, StampedeReport, StampedeSettings};
use crate::wrk::{WrkReport, WrkSettings};
use std::fmt::Write as _;
use std::time::Duration;

/// Cached requests per second to reach.
pub const TARGET_RPS: f64 = 20_000.0;
/// The cached route's p99 not to exceed.
pub const TARGET_P99: Duration = Duration::from_millis(5);

/// Everything a run measured.
#[derive(Debug)]
pub struct RunReport {
    /// wrk against the cached route.
    pub cached: WrkReport,
    /// wrk against the same handler uncached.
    pub plain: WrkReport,
    /// wrk's settings.
    pub wrk: WrkSettings,
    /// The stampedes.
    pub stampede: StampedeReport,
    /// Their settings.
    pub stampede_settings: StampedeSettings,
    /// The response body's size in bytes.
    pub body_bytes: usize,
    /// Load averages before and after the run.
    pub load_before: Option<String>,
    /// See `load_before`.
    pub load_after: Option<String>,
}

impl RunReport {
    /// Whether every target was met.
    #[must_use]
    pub fn all_met(&self) -> bool {
        self.rps_met() && self.p99_met() && self.loads_met()
    }

    fn rps_met(&self) -> bool {
        self.cached.requests_per_sec >= TARGET_RPS
    }

    fn p99_met(&self) -> bool {
        self.cached.p99 <= TARGET_P99
    }

    fn loads_met(&self) -> bool {
        self.stampede.loads.iter().all(|&n| n == 1)
    }

    /// The report as markdown: a table and the conditions of the run.
    #[must_use]
    pub fn markdown(&self) -> String {
        let w = &self.wrk;
        let s = &self.stampede_settings;
        let lat = &self.stampede.latencies;
        let loads: Vec<String> = self
            .stampede
            .loads
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut out = String::new();
        let _ = writeln!(out, "| measure | result | target | |");
        let _ = writeln!(out, "| --- | ---: | --- | --- |");
        let rows = [
            (
                "cached GET (`ResponseCacheLayer`, X-Cache: HIT), req/s".to_owned(),
                rate(self.cached.requests_per_sec),
                "≥ 20,000",
                met(self.rps_met()),
            ),
            (
                "cached GET p99 (p50)".to_owned(),
                format!("{} ({})", ms(self.cached.p99), ms(self.cached.p50)),
                "≤ 5 ms",
                met(self.p99_met()),
            ),
            (
                "uncached GET (same handler), req/s".to_owned(),
                rate(self.plain.requests_per_sec),
                "reference",
                "",
            ),
            (
                "uncached GET p99 (p50)".to_owned(),
                format!("{} ({})", ms(self.plain.p99), ms(self.plain.p50)),
                "reference",
                "",
            ),
            (
                format!(
                    "`get_or_set` stampede: loads per stampede ({} callers × {})",
                    s.callers, s.rounds
                ),
                loads.join(", "),
                "exactly 1 each",
                met(self.loads_met()),
            ),
            (
                format!(
                    "stampede callers' latency p50 / p99 (loader {} ms)",
                    s.loader_time.as_millis()
                ),
                format!(
                    "{} / {}",
                    ms(percentile(lat, 50.0)),
                    ms(percentile(lat, 99.0))
                ),
                "reference",
                "",
            ),
        ];
        for (measure, result, target, verdict) in rows {
            let _ = writeln!(out, "| {measure} | {result} | {target} | {verdict} |");
        }
        let _ = writeln!(
            out,
            "\nwrk -t{} -c{} -d{}s --latency, one run per route (cached first); body {} bytes; \
             requests cached / uncached: {} / {}; non-2xx: {} / {}; socket errors: {} / {}.",
            w.threads,
            w.connections,
            w.seconds,
            self.body_bytes,
            self.cached.requests,
            self.plain.requests,
            self.cached.non_2xx,
            self.plain.non_2xx,
            self.cached.socket_errors,
            self.plain.socket_errors,
        );
        let _ = writeln!(
            out,
            "Load average (1/5/15 min) before: {}; after: {}.",
            self.load_before.as_deref().unwrap_or("unknown"),
            self.load_after.as_deref().unwrap_or("unknown"),
        );
        out
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// Requests per second with thousands separators, no decimals.
fn rate(rps: f64) -> String {
    let digits = format!("{:.0}", rps.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rates_and_times() {
        assert_eq!(rate(22_288.35), "22,288");
        assert_eq!(rate(999.6), "1,000");
        assert_eq!(rate(1_234_567.0), "1,234,567");
        assert_eq!(ms(Duration::from_micros(812)), "0.81 ms");
    }
}
