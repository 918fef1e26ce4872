//! Every `crates/*-demo` crate has a chapter listed in `SUMMARY.md` that includes its code.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{links, resolve};

/// Reports the demo crates that no chapter in `SUMMARY.md` includes code from.
pub fn check(root: &Path, src: &Path, problems: &mut Vec<String>) -> Result<()> {
    let summary = fs::read_to_string(src.join("SUMMARY.md")).context("reading SUMMARY.md")?;
    let listed: BTreeSet<PathBuf> = summary
        .lines()
        .flat_map(links::targets)
        .map(|t| resolve(src, t))
        .collect();
    let mut crates: Vec<String> = fs::read_dir(root.join("crates"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-demo"))
        .collect();
    crates.sort();
    for name in crates {
        let needle = format!("crates/{name}/");
        let found = listed.iter().any(|page| {
            fs::read_to_string(page).is_ok_and(|text| {
                text.lines()
                    .any(|l| l.contains("{{#include") && l.contains(&needle))
            })
        });
        if !found {
            problems.push(format!(
                "crates/{name} has no chapter in SUMMARY.md that includes its code"
            ));
        }
    }
    Ok(())
}
