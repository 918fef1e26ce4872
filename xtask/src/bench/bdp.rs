//! Chapter 3's chart of the bandwidth-delay product, drawn from a run on the wire lab.
//!
//! The measurement is a test, `crates/buffers-demo/tests/bdp.rs`: it runs the chapter's bulk
//! pair over a link with a real delay and a rate limit, asserts the chapter's claims on what
//! it measured, and draws `bdp.svg` from those very figures into its temporary folder under
//! `target/`, printing where. [`refresh`] runs that test and copies the chart into the book,
//! so the chart the book shows comes from a run, never from a hand. Where no lab can be made,
//! the test skips itself, nothing is drawn, and the committed chart stays (reported as a
//! skip).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use socklab_support::skip;

/// The chart in the book, relative to the workspace.
pub const CHART: &str = "book/src/img/bdp.svg";

/// The line the test prints after drawing the chart, before the chart's path.
const WRITTEN: &str = "bdp chart written to ";

/// Runs the `bdp` test and copies the chart it drew to [`CHART`]; if it drew none (no lab
/// here), says so and records the skip in `skips`.
pub fn refresh(root: &Path, cargo: fn() -> Command, skips: Option<&Path>) -> Result<()> {
    let mut test = cargo();
    test.current_dir(root).args([
        "test",
        "-p",
        "buffers-demo",
        "--test",
        "bdp",
        "--",
        "--nocapture",
    ]);
    let out = test.output().context("running buffers-demo's bdp test")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "buffers-demo's bdp test failed; the chart was not replaced:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    match stdout.lines().find_map(|l| l.trim().strip_prefix(WRITTEN)) {
        Some(drawn) => {
            // The figures the chart was drawn from: the test's table, one line per transfer.
            for line in stdout.lines().filter(|l| l.contains('\t')) {
                println!("{line}");
            }
            std::fs::copy(drawn, root.join(CHART))
                .with_context(|| format!("copying {drawn} to {CHART}"))?;
            println!("bench: {CHART} drawn from this run");
        }
        None => {
            let why = format!(
                "no wire lab here, so the bandwidth-delay chart was not measured again \
                 ({CHART} stays as committed)"
            );
            println!("bench: {why}");
            if let Some(file) = skips {
                skip::skip_into(file, "bench", &why);
            }
        }
    }
    Ok(())
}
