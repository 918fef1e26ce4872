//! Chapter 8's benchmark, a Unix stream against TCP on loopback (`unix-demo`'s
//! `unix_vs_tcp`): criterion runs it and keeps each median in
//! `target/criterion/GROUP/FUNCTION/new/estimates.json`; this module reads them. With
//! `--quick` it runs briefly through `cargo test`, whose build test-all already has: a smoke
//! test of the harness, whose figures mean nothing; building criterion in the release profile
//! as well would cost about a minute of test-all's budget.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::data::UnixVsTcp;

const ROUND_TRIP: &str = "unix vs tcp round trip 64 B";
const BULK: &str = "unix vs tcp bulk 64 MiB";
const UNIX: &str = "unix stream";
const TCP: &str = "tcp loopback";

/// Where criterion keeps its estimates.
pub(super) fn criterion_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("criterion")
}

/// Runs the benchmark and reads its four medians.
pub fn measure(root: &Path, cargo: fn() -> Command, quick: bool) -> Result<UnixVsTcp> {
    let dir = criterion_dir(root);
    // An old run's estimates must not stand in for a run that failed to write its own.
    for group in [ROUND_TRIP, BULK] {
        let _ = std::fs::remove_dir_all(dir.join(group));
    }
    let mut bench = cargo();
    if quick {
        bench.args([
            "test",
            "--workspace",
            "--bench",
            "unix_vs_tcp",
            "--",
            "--bench",
            "--warm-up-time",
            "0.1",
            "--measurement-time",
            "0.3",
            "--nresamples",
            "1000",
        ]);
    } else {
        bench.args(["bench", "-p", "unix-demo", "--bench", "unix_vs_tcp"]);
    }
    crate::run(bench)?;
    let median = |group: &str, function: &str| -> Result<f64> {
        let file = dir.join(group).join(function).join("new/estimates.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        median_ns(&text).with_context(|| format!("no median in {}", file.display()))
    };
    Ok(UnixVsTcp {
        round_trip_ns: (median(ROUND_TRIP, UNIX)?, median(ROUND_TRIP, TCP)?),
        bulk_ns: (median(BULK, UNIX)?, median(BULK, TCP)?),
    })
}

/// `median.point_estimate` of criterion's `estimates.json`, in ns.
pub(super) fn median_ns(json: &str) -> Option<f64> {
    let median = &json[json.find("\"median\":")?..];
    let rest = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    rest.split([',', '}']).next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The median's point estimate is read, not the mean's that comes before it.
    #[test]
    fn the_median_is_read_from_criterion_estimates() {
        let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.5,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":15806.25,"standard_error":217.5}}"#;
        assert_eq!(median_ns(json), Some(15806.25));
        assert_eq!(median_ns("{}"), None);
    }
}
