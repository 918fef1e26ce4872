//! Bulk throughput: chapter 3's bulk pair against `iperf3`, one stream of 128 KiB writes, at
//! default buffers and at two fixed sizes. `buffers-demo compare-iperf3` runs both tools in
//! alternating rounds and prints their medians and spreads; this module reads them.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::data::{Spread3, Throughput};
use super::{number_after, output, peers};

/// Measures the throughput rows; without iperf3, none, and the peer is added to `missing`.
pub fn measure(
    buffers_demo: &Path,
    rounds: usize,
    seconds: u32,
    missing: &mut Vec<String>,
) -> Result<Vec<Throughput>> {
    if !peers::installed("iperf3") {
        missing.push("iperf3 (apt-get install iperf3)".into());
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    for buffer in [None, Some(64 * 1024), Some(1024 * 1024)] {
        let mut cmd = Command::new(buffers_demo);
        cmd.args([
            "compare-iperf3",
            "--time",
            &format!("{seconds}s"),
            "--rounds",
            &rounds.to_string(),
        ]);
        if let Some(b) = buffer {
            cmd.args(["--buffer", &b.to_string()]);
        }
        let text = output(&mut cmd)?;
        let f = |k: &str| {
            number_after(&text, k).with_context(|| format!("no {k} in compare-iperf3's output"))
        };
        rows.push(Throughput {
            buffer_kib: buffer.map(|b| b / 1024),
            iperf3: Spread3 {
                median: f("iperf3_median")?,
                min: f("iperf3_min")?,
                max: f("iperf3_max")?,
            },
            ours: Spread3 {
                median: f("ours_median")?,
                min: f("ours_min")?,
                max: f("ours_max")?,
            },
        });
    }
    Ok(rows)
}
