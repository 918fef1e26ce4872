//! Echo requests/s per I/O model: chapter 7's `models` benchmark (it writes `models.md`,
//! `models.svg` and `models.tsv`), and the chapter's goals checked against its table.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::page::verdict;

/// Runs the models benchmark into `out` and returns the chapter 7 goals with their verdicts.
pub fn measure(cargo: fn() -> Command, out: &Path, quick: bool) -> Result<Vec<String>> {
    let mut models = cargo();
    models
        .args([
            "bench",
            "-p",
            "multiplex-demo",
            "--bench",
            "models",
            "--",
            "--out",
        ])
        .arg(out);
    if quick {
        models.arg("--quick");
    }
    crate::run(models)?;
    let tsv = std::fs::read_to_string(out.join("models.tsv")).context("models.tsv")?;
    Ok(goals(&tsv, quick))
}

/// The chapter 7 goals, checked against the models table: epoll at least tokio
/// current-thread's requests/s at every count with p99 no worse; epoll at 10,000 within 20% of
/// its figure at 100.
fn goals(tsv: &str, quick: bool) -> Vec<String> {
    let rows: Vec<Vec<&str>> = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let get = |model: &str, c: &str| {
        rows.iter()
            .find(|r| r.first() == Some(&model) && r.get(1) == Some(&c))
    };
    let num = |r: &Vec<&str>, i: usize| r.get(i).and_then(|v| v.parse::<f64>().ok());
    let mut goals = Vec::new();
    let counts: Vec<&str> = if quick {
        vec!["1", "100"]
    } else {
        vec!["1", "100", "1000", "10000"]
    };
    let mut parts = Vec::new();
    let mut met = true;
    for c in &counts {
        match (get("epoll", c), get("tokio current-thread", c)) {
            (Some(e), Some(t)) => {
                let (er, tr) = (num(e, 2).unwrap_or(0.0), num(t, 2).unwrap_or(f64::MAX));
                let (ep, tp) = (num(e, 4).unwrap_or(f64::MAX), num(t, 4).unwrap_or(0.0));
                met &= er >= tr && ep <= tp;
                parts.push(format!(
                    "C={c}: {:.2}x requests/s, p99 {:.2}x",
                    er / tr,
                    ep / tp
                ));
            }
            _ => {
                met = false;
                parts.push(format!("C={c}: no figure"));
            }
        }
    }
    goals.push(format!(
        "epoll at least matches tokio current-thread, p99 no worse: **{}** ({}).",
        verdict(met),
        parts.join("; ")
    ));
    if let (false, Some(a), Some(b)) = (quick, get("epoll", "100"), get("epoll", "10000")) {
        let ratio = num(b, 2).unwrap_or(0.0) / num(a, 2).unwrap_or(f64::MAX);
        goals.push(format!(
            "epoll at 10,000 connections within 20% of its figure at 100: **{}** ({:.0}%).",
            verdict(ratio >= 0.8),
            100.0 * ratio
        ));
    }
    goals
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quick table where epoll beats tokio meets the goal; a missing row is "no figure",
    /// which fails `--quick`.
    #[test]
    fn goals_follow_the_table() {
        let header = "model\tconnections\trps\tp50\tp99\n";
        let tsv = format!(
            "{header}epoll\t1\t100\t1\t2\ntokio current-thread\t1\t90\t1\t3\nepoll\t100\t100\t1\t2\ntokio current-thread\t100\t90\t1\t3\n"
        );
        let goals = goals(&tsv, true);
        assert_eq!(goals.len(), 1);
        assert!(goals[0].contains("**met**"), "{goals:?}");
        let goals_missing = super::goals(header, true);
        assert!(goals_missing[0].contains("no figure"), "{goals_missing:?}");
        assert!(goals_missing[0].contains("**not met**"));
    }
}
