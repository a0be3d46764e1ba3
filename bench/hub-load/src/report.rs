//! The markdown report: one row per case with ratios to the floor of the same client count,
//! then the targets and whether each is met.

use crate::scenario::{CaseResult, Path};
use crate::stats::Summary;
use std::fmt::Write;

/// Single-client overhead allowed over the floor, in µs.
pub const SINGLE_CLIENT_OVERHEAD_US: f64 = 150.0;
/// Hub memory allowed per idle connection, in bytes.
pub const BYTES_PER_CONNECTION: f64 = 8.0 * 1024.0;

fn ms(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn triple(summary: Option<Summary>) -> String {
    summary.map_or_else(
        || "–".to_owned(),
        |s| format!("{} / {} / {}", ms(s.p50), ms(s.p99), ms(s.max)),
    )
}

fn ratio(value: u64, floor: u64) -> f64 {
    value as f64 / floor.max(1) as f64
}

fn floor_of(results: &[CaseResult], clients: usize) -> Option<&CaseResult> {
    results
        .iter()
        .find(|r| r.path == Path::Floor && r.clients == clients)
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn clients(n: usize) -> String {
    if n == 1 {
        "1 client".to_owned()
    } else {
        format!("{} clients", thousands(n))
    }
}

/// The results table.
#[must_use]
pub fn results_table(results: &[CaseResult]) -> String {
    let mut out = String::from(
        "| Clients | Path | Per client p50 / p99 / max (ms) | Last client p50 / p99 / max (ms) \
         | p50 / p99 vs floor | Publish p50 (ms) | Published/s | Delivered/s | Lost \
         | Hub memory per idle connection |\n\
         |---:|---|---|---|---|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let vs_floor = match (floor_of(results, r.clients), r.path) {
            (_, Path::Floor) => "1.00x / 1.00x".to_owned(),
            (Some(f), _) => match (r.deliveries.per_client, f.deliveries.per_client) {
                (Some(h), Some(f)) => {
                    format!("{:.2}x / {:.2}x", ratio(h.p50, f.p50), ratio(h.p99, f.p99))
                }
                _ => "–".to_owned(),
            },
            (None, _) => "–".to_owned(),
        };
        let memory = match r.bytes_per_connection() {
            Some(b) if r.clients >= 100 => format!("{:.1} KiB", b / 1024.0),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} |",
            thousands(r.clients),
            r.path,
            triple(r.deliveries.per_client),
            triple(r.deliveries.last_client),
            vs_floor,
            r.publish.map_or_else(|| "–".to_owned(), |s| ms(s.p50)),
            r.rate,
            r.events_per_sec,
            r.deliveries.lost(),
            memory,
        );
    }
    out
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

fn latency_targets(out: &mut String, r: &CaseResult, floor: &CaseResult) {
    let (Some(h), Some(f)) = (r.deliveries.per_client, floor.deliveries.per_client) else {
        return;
    };
    let name = format!("{}, {}", clients(r.clients), r.path);
    if r.clients == 1 {
        let overhead = (h.p50 as f64 - f.p50 as f64) / 1000.0;
        let _ = writeln!(
            out,
            "| {name}: p50 overhead ≤ +{SINGLE_CLIENT_OVERHEAD_US:.0} µs | {overhead:+.0} µs | {} |",
            verdict(overhead <= SINGLE_CLIENT_OVERHEAD_US)
        );
        return;
    }
    let p99_limit = if r.clients >= 10_000 { 1.0 } else { 1.1 };
    let p50 = ratio(h.p50, f.p50);
    let p99 = ratio(h.p99, f.p99);
    let _ = writeln!(
        out,
        "| {name}: p50 ≤ 1.0x floor | {p50:.2}x | {} |",
        verdict(p50 <= 1.0)
    );
    let _ = writeln!(
        out,
        "| {name}: p99 ≤ {p99_limit:.1}x floor | {p99:.2}x | {} |",
        verdict(p99 <= p99_limit)
    );
}

/// The targets table.
#[must_use]
pub fn targets_table(results: &[CaseResult]) -> String {
    let mut out = String::from("| Target | Measured | |\n|---|---:|---|\n");
    for r in results.iter().filter(|r| r.path != Path::Floor) {
        if let Some(floor) = floor_of(results, r.clients) {
            latency_targets(&mut out, r, floor);
        }
        if let Some(bytes) = r.bytes_per_connection().filter(|_| r.clients >= 100) {
            let _ = writeln!(
                out,
                "| {}, {}: ≤ 8 KiB per idle connection | {:.1} KiB | {} |",
                clients(r.clients),
                r.path,
                bytes / 1024.0,
                verdict(bytes <= BYTES_PER_CONNECTION)
            );
        }
    }
    let lost: u64 = results.iter().map(|r| r.deliveries.lost()).sum();
    let unexpected: u64 = results.iter().map(|r| r.deliveries.unexpected).sum();
    let _ = writeln!(
        out,
        "| No event lost (every case, floor included) | {lost} lost, {unexpected} unexpected | {} |",
        verdict(lost == 0 && unexpected == 0)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1), "1");
        assert_eq!(thousands(100), "100");
        assert_eq!(ms(1_234_567), "1.23");
        assert_eq!(ms(12_345_678), "12.3");
        assert_eq!(ms(123_456_789), "123");
        assert_eq!(clients(1), "1 client");
        assert_eq!(clients(1000), "1,000 clients");
    }
}
