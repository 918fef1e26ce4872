//! Bulk throughput: chapter 3's bulk pair against `iperf3`, one stream of 128 KiB writes, at
//! default buffers and at two fixed sizes. `buffers-demo compare-iperf3` runs both tools in
//! alternating rounds and prints their medians and spreads; this section tabulates them.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::page::verdict;
use super::{Findings, number_after, output, peers};

/// Measures and writes the throughput section; needs iperf3, and says so without it.
pub fn measure(
    buffers_demo: &Path,
    rounds: usize,
    seconds: u32,
    found: &mut Findings,
) -> Result<()> {
    let md = &mut found.md;
    writeln!(md, "## Bulk throughput: chapter 3 against iperf3\n")?;
    writeln!(
        md,
        "One stream, 128 KiB writes, {seconds} s per run, {rounds} alternating round(s); Gbit/s, median (min to max).\n"
    )?;
    if !peers::installed("iperf3") {
        found.missing.push("iperf3 (apt-get install iperf3)");
        writeln!(
            md,
            "Skipped: iperf3 is not installed (`apt-get install iperf3`)."
        )?;
        return Ok(());
    }
    writeln!(
        md,
        "| buffers | iperf3 | buffers-demo | ratio |\n|---|---:|---:|---:|"
    )?;
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
        let (t, o) = (
            (f("iperf3_median")?, f("iperf3_min")?, f("iperf3_max")?),
            (f("ours_median")?, f("ours_min")?, f("ours_max")?),
        );
        let label = buffer.map_or("default (autotuned)".to_string(), |b| {
            format!("{} KiB", b / 1024)
        });
        writeln!(
            md,
            "| {label} | {:.2} ({:.2} to {:.2}) | {:.2} ({:.2} to {:.2}) | {:.0}% |",
            t.0,
            t.1,
            t.2,
            o.0,
            o.1,
            o.2,
            100.0 * o.0 / t.0
        )?;
        if buffer.is_none() {
            found.goals.push(format!(
                "Bulk throughput at default buffers at least 90% of iperf3's: **{}** ({:.0}%).",
                verdict(o.0 >= 0.9 * t.0),
                100.0 * o.0 / t.0
            ));
        }
    }
    Ok(())
}
