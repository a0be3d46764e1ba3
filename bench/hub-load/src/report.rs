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

/// The floor measured in the same run as `case`.
fn floor_of<'a>(results: &'a [CaseResult], case: &CaseResult) -> Option<&'a CaseResult> {
    results
        .iter()
        .find(|r| r.path == Path::Floor && r.clients == case.clients && r.run == case.run)
}

/// The median of `values` (the mean of the middle two for an even count); `None` if empty.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// `median (runs: a, b, c)`, or just the value for a single run.
fn with_runs(values: &[f64], format: impl Fn(f64) -> String) -> String {
    let Some(mid) = median(values) else {
        return "–".to_owned();
    };
    if values.len() == 1 {
        return format(mid);
    }
    let runs: Vec<String> = values.iter().map(|&v| format(v)).collect();
    format!("{} (runs: {})", format(mid), runs.join(", "))
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
        "| Clients | Run | Path | Per client p50 / p99 / max (ms) | Last client p50 / p99 / max (ms) \
         | p50 / p99 vs floor | Publish p50 (ms) | Published/s | Delivered/s | Lost \
         | Hub memory per idle connection |\n\
         |---:|---:|---|---|---|---|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let vs_floor = match (floor_of(results, r), r.path) {
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
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} |",
            thousands(r.clients),
            r.run,
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

/// The hub cases of one client count and path, one per run, each with its run's floor.
fn runs_of(
    results: &[CaseResult],
    clients: usize,
    path: Path,
) -> Vec<(&CaseResult, Option<&CaseResult>)> {
    results
        .iter()
        .filter(|r| r.clients == clients && r.path == path)
        .map(|r| (r, floor_of(results, r)))
        .collect()
}

fn latency_targets(out: &mut String, clients: usize, path: Path, results: &[CaseResult]) {
    let pairs: Vec<(Summary, Summary)> = runs_of(results, clients, path)
        .into_iter()
        .filter_map(|(r, floor)| r.deliveries.per_client.zip(floor?.deliveries.per_client))
        .collect();
    if pairs.is_empty() {
        return;
    }
    let name = format!("{}, {path}", self::clients(clients));
    if clients == 1 {
        let overheads: Vec<f64> = pairs
            .iter()
            .map(|(h, f)| (h.p50 as f64 - f.p50 as f64) / 1000.0)
            .collect();
        let met = median(&overheads).is_some_and(|o| o <= SINGLE_CLIENT_OVERHEAD_US);
        let _ = writeln!(
            out,
            "| {name}: p50 overhead ≤ +{SINGLE_CLIENT_OVERHEAD_US:.0} µs | {} | {} |",
            with_runs(&overheads, |o| format!("{o:+.0} µs")),
            verdict(met)
        );
        return;
    }
    let p99_limit = if clients >= 10_000 { 1.0 } else { 1.1 };
    let p50s: Vec<f64> = pairs.iter().map(|(h, f)| ratio(h.p50, f.p50)).collect();
    let p99s: Vec<f64> = pairs.iter().map(|(h, f)| ratio(h.p99, f.p99)).collect();
    let times = |r: f64| format!("{r:.2}x");
    let _ = writeln!(
        out,
        "| {name}: p50 ≤ 1.0x floor | {} | {} |",
        with_runs(&p50s, times),
        verdict(median(&p50s).is_some_and(|r| r <= 1.0))
    );
    let _ = writeln!(
        out,
        "| {name}: p99 ≤ {p99_limit:.1}x floor | {} | {} |",
        with_runs(&p99s, times),
        verdict(median(&p99s).is_some_and(|r| r <= p99_limit))
    );
}

fn memory_target(out: &mut String, clients: usize, path: Path, results: &[CaseResult]) {
    if clients < 100 {
        return;
    }
    let per_connection: Vec<f64> = runs_of(results, clients, path)
        .into_iter()
        .filter_map(|(r, _)| r.bytes_per_connection())
        .collect();
    // A bound, so the worst run decides.
    let Some(worst) = per_connection.iter().copied().reduce(f64::max) else {
        return;
    };
    let kib = |b: f64| format!("{:.1} KiB", b / 1024.0);
    let runs: Vec<String> = per_connection.iter().map(|&b| kib(b)).collect();
    let _ = writeln!(
        out,
        "| {}, {path}: ≤ 8 KiB per idle connection | worst {} (runs: {}) | {} |",
        self::clients(clients),
        kib(worst),
        runs.join(", "),
        verdict(worst <= BYTES_PER_CONNECTION)
    );
}

/// The targets table: latency targets on the median of the runs' ratios, the memory bound
/// on the worst run, losses over every run.
#[must_use]
pub fn targets_table(results: &[CaseResult]) -> String {
    let mut out = String::from("| Target | Measured | |\n|---|---:|---|\n");
    let mut cases: Vec<(usize, Path)> = Vec::new();
    for r in results.iter().filter(|r| r.path != Path::Floor) {
        if !cases.contains(&(r.clients, r.path)) {
            cases.push((r.clients, r.path));
        }
    }
    for (clients, path) in cases {
        latency_targets(&mut out, clients, path, results);
        memory_target(&mut out, clients, path, results);
    }
    let lost: u64 = results.iter().map(|r| r.deliveries.lost()).sum();
    let unexpected: u64 = results.iter().map(|r| r.deliveries.unexpected).sum();
    let _ = writeln!(
        out,
        "| No event lost (every case and run, floor included) | {lost} lost, {unexpected} unexpected | {} |",
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

    #[test]
    fn medians_and_runs() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.2, 0.8, 1.0]), Some(1.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        let times = |r: f64| format!("{r:.2}x");
        assert_eq!(with_runs(&[0.9], times), "0.90x");
        assert_eq!(
            with_runs(&[1.1, 0.9, 1.0], times),
            "1.00x (runs: 1.10x, 0.90x, 1.00x)"
        );
    }
}
