//! The wire lab's link measured on its own (`socklab-wire`'s `link` bench): TCP throughput
//! from host A to host B through an unimpaired link, and a small UDP round trip across the
//! link at zero delay next to the same round trip over loopback inside one host. Criterion
//! keeps each median in `target/criterion/GROUP/FUNCTION/new/estimates.json`; this module
//! reads them, as [`super::unix`] does. Where no lab can be made, the link is reported as not
//! measured with the reason, and the goal says so.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::data::WireLink;
use super::unix::{criterion_dir, median_ns};

/// The benchmark's criterion group and functions.
const GROUP: &str = "link";
const THROUGHPUT: &str = "tcp_throughput_a_to_b_mtu1500";
const ACROSS: &str = "udp_round_trip_zero_delay";
const LOOPBACK: &str = "udp_round_trip_loopback_same_host";

/// Runs the benchmark (briefly with `quick`, through `cargo test` like chapter 8's) and
/// reads its three medians.
pub fn measure(root: &Path, cargo: fn() -> Command, quick: bool) -> Result<WireLink> {
    if let Err(why) = socklab_wire::Lab::available_to_programs() {
        return Ok(WireLink::NotMeasured(format!("no wire lab here: {why}")));
    }
    let dir = criterion_dir(root).join(GROUP);
    // An old run's estimates must not stand in for a run that failed to write its own.
    let _ = std::fs::remove_dir_all(&dir);
    let mut bench = cargo();
    if quick {
        bench.args([
            "test",
            "--workspace",
            "--bench",
            "link",
            "--",
            "--bench",
            "--warm-up-time",
            "0.1",
            "--measurement-time",
            "0.5",
            "--nresamples",
            "1000",
        ]);
    } else {
        bench.args(["bench", "-p", "socklab-wire", "--bench", "link"]);
    }
    crate::run(bench)?;
    let median = |function: &str| -> Result<f64> {
        let file = dir.join(function).join("new/estimates.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        median_ns(&text).with_context(|| format!("no median in {}", file.display()))
    };
    Ok(WireLink::Measured {
        throughput_ns: median(THROUGHPUT)?,
        round_trip_ns: (median(ACROSS)?, median(LOOPBACK)?),
    })
}
