//! Chapter 11's own table (`uring-demo`'s `models` benchmark, `--table`): io_uring with and
//! without `IORING_SETUP_DEFER_TASKRUN`, chapter 7's epoll loop and tokio current-thread
//! (plain and bounded) at 100 and 1,000 connections, with each server's own CPU time per
//! request: what the results page shows of the profile when io_uring's goal is missed. With
//! `--quick`, one short round through `cargo test`, whose build test-all already has.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::data::{Spread3, UringCell};

/// Runs the table into `out/uring.tsv` and reads it back.
pub fn measure(out: &Path, cargo: fn() -> Command, quick: bool) -> Result<Vec<UringCell>> {
    let tsv = out.join("uring.tsv");
    let _ = std::fs::remove_file(&tsv);
    let mut bench = cargo();
    let (verb, rounds, time) = if quick {
        ("test", "1", "200ms")
    } else {
        ("bench", "5", "2s")
    };
    bench
        .args([
            verb,
            "-p",
            "uring-demo",
            "--bench",
            "models",
            "--",
            "--table",
            "--rounds",
            rounds,
            "--time",
            time,
            "--tsv",
        ])
        .arg(&tsv);
    crate::run(bench)?;
    let text = std::fs::read_to_string(&tsv)
        .with_context(|| format!("reading {} (io_uring unavailable here?)", tsv.display()))?;
    let _ = std::fs::remove_file(&tsv);
    parse(&text)
}

/// `model, connections, requests/s median, min, max, server CPU µs per request`, tab-separated.
fn parse(text: &str) -> Result<Vec<UringCell>> {
    let mut cells = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let num = |i: usize| -> Result<f64> {
            match f.get(i).and_then(|v| v.parse().ok()) {
                Some(v) => Ok(v),
                None => bail!(
                    "chapter 11's table: no number in field {} of `{line}`",
                    i + 1
                ),
            }
        };
        cells.push(UringCell {
            model: f[0].to_string(),
            connections: num(1)? as usize,
            rps: Spread3 {
                median: num(2)?,
                min: num(3)?,
                max: num(4)?,
            },
            cpu_us: num(5)?,
        });
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row of the benchmark's tsv becomes a cell; a row without its figures is an error.
    #[test]
    fn the_uring_table_is_read() {
        let cells = parse(
            "model\tconnections\trequests_per_sec\tmin\tmax\tserver_cpu_us_per_request\n\
             io_uring, no DEFER_TASKRUN\t100\t89016\t80000\t90000\t5.210\n",
        )
        .unwrap();
        assert_eq!(cells[0].model, "io_uring, no DEFER_TASKRUN");
        assert_eq!(cells[0].cpu_us, 5.21);
        assert!(parse("header\nio_uring\t100\n").is_err());
    }
}
