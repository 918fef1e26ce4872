//! The results page, `results.md`: the goals met or missed, the machine and the date, the
//! measurement sections, and chapter 7's table and chart. The page is regenerated on every
//! run; the analysis of what the figures mean lives in the hand-written chapters it links to.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Result;

use super::Findings;

/// The verdict on a goal, as the page prints it.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

/// Writes `results.md` into `out`.
pub fn write(out: &Path, quick: bool, found: &Findings) -> Result<()> {
    let machine = machine();
    let mut page = format!(
        "# Benchmark results\n\nWritten by `cargo xtask bench{}` on {} ({machine}). Absolute figures vary \
         between machines and runs; the ratios, taken in one run, are what to compare.\n\n## Goals\n\n",
        if quick { " --quick" } else { "" },
        today()
    );
    for g in &found.goals {
        writeln!(page, "- {g}")?;
    }
    if !found.missing.is_empty() {
        writeln!(
            page,
            "- Not measured, peer missing: {}.",
            found.missing.join(", ")
        )?;
    }
    // The page is regenerated on every run, so the analysis of missed goals lives in the
    // hand-written chapters; point at it.
    page += "\nWhat the figures mean, and what was tried where a goal is missed: \
             [chapter 3](../ch03-buffers.md) for throughput, \
             [chapter 7](../ch07-multiplex.md#measurements-every-model-side-by-side) for the \
             I/O models.\n\n";
    page += &found.md;
    page += "\n## Echo requests/s per model (chapter 7)\n\n{{#include models.md}}\n\n![requests/s against connections](models.svg)\n";
    std::fs::write(out.join("results.md"), page)?;
    eprintln!("xtask: wrote {}", out.join("results.md").display());
    Ok(())
}

/// The CPU, core count and kernel, as best this system says.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = Command::new("uname")
        .arg("-sr")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {kernel}")
}

/// Today's date (UTC), from the system clock.
fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
