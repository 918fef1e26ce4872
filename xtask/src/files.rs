//! Which files make up the course: the list the student kit copies and the tidy checks read.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::Result;

/// The course's files as they are in the work tree, relative to `root`, sorted: in a git
/// checkout whose top level is `root`, the files git tracks plus the new ones it does not
/// ignore (so a module written but not yet committed is part of it), minus tracked files
/// deleted from the work tree; elsewhere (a student kit, or a kit built inside `target/`),
/// every file but build output and version-control data.
pub fn course_files(root: &Path) -> Result<Vec<String>> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let top = git(&["rev-parse", "--show-toplevel"]);
    let at_top =
        top.is_some_and(|t| fs::canonicalize(t.trim()).ok() == fs::canonicalize(root).ok());
    if at_top
        && let Some(listed) = git(&[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
    {
        let mut files: Vec<String> = listed
            .split('\0')
            .filter(|s| !s.is_empty() && root.join(s).is_file())
            .map(String::from)
            .collect();
        files.sort();
        files.dedup();
        return Ok(files);
    }
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name == "target"
                || name == ".git"
                || name == "build" && path.parent().is_some_and(|p| p.ends_with("book"))
            {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                files.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    Ok(files)
}
