//! The module tour: each crate's `lib.rs` opens with a `//!` list of its modules, one bullet
//! each, `- [`name`]: what it holds` (several names may share a bullet:
//! `- [`select`], [`poll`], [`epoll`]: ...`). The tour must name every module `lib.rs`
//! declares, and only those, so that it is a map a reader can trust.

/// The problems of one `lib.rs`, `rel` being its path for messages.
pub fn check(rel: &str, text: &str) -> Vec<String> {
    let toured = toured(text);
    let declared = declared(text);
    let mut problems = Vec::new();
    for (line, name) in &toured {
        if !declared.iter().any(|(_, d)| d == name) {
            problems.push(format!(
                "{rel}:{line}: the module tour names `{name}`, which lib.rs does not declare"
            ));
        }
    }
    for (line, name) in &declared {
        if !toured.iter().any(|(_, t)| t == name) {
            problems.push(format!(
                "{rel}:{line}: `mod {name}` is missing from the module tour at the top of lib.rs \
                 (add `//! - [`{name}`]: what it holds`)"
            ));
        }
    }
    problems
}

/// The modules the tour names: the names at the head of each bullet of the opening `//!`
/// block, before its colon, with the line each is on.
fn toured(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(doc) = line.strip_prefix("//!") else {
            break; // The opening block ended.
        };
        let Some(mut rest) = doc.trim_start().strip_prefix("- ") else {
            continue;
        };
        // `[`a`], [`b`](mod@b) and [`c`]: ...`
        while let Some(after) = rest.strip_prefix("[`") {
            let Some((name, tail)) = after.split_once("`]") else {
                break;
            };
            out.push((i + 1, name.to_string()));
            rest = tail;
            if let Some(link) = rest.strip_prefix('(') {
                rest = link.split_once(')').map_or("", |(_, t)| t);
            }
            rest = rest
                .trim_start_matches([',', ' '])
                .trim_start_matches("and ")
                .trim_start();
        }
    }
    out
}

/// The modules `lib.rs` declares at its top level (`mod x;`, `pub mod x;`, `pub(crate) mod
/// x;`), with their lines. A `cfg` attribute above one does not matter: the tour names
/// modules that exist on some platform.
fn declared(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let rest = line
                .strip_prefix("pub ")
                .or_else(|| line.strip_prefix("pub(crate) "))
                .unwrap_or(line);
            let name = rest.strip_prefix("mod ")?.strip_suffix(';')?;
            Some((i + 1, name.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "//! A crate.\n//!\n//! - [`a`]: the first, with [`a::Thing`].\n//! - [`b`], [`c`](mod@c) and [`d`]: three more.\n\npub mod a;\npub mod b;\n#[cfg(target_os = \"linux\")]\npub mod c;\nmod d;\n\n#[cfg(test)]\nmod tests {}\n";

    /// A tour that names exactly the declared modules passes; names after the colon and
    /// inline test modules do not count.
    #[test]
    fn a_matching_tour_passes() {
        assert_eq!(
            toured(GOOD).into_iter().map(|(_, n)| n).collect::<Vec<_>>(),
            vec!["a", "b", "c", "d"]
        );
        assert!(
            check("lib.rs", GOOD).is_empty(),
            "{:?}",
            check("lib.rs", GOOD)
        );
    }

    /// A module missing from the tour fails, with the line of its declaration.
    #[test]
    fn an_undocumented_module_fails() {
        let text = GOOD.replace("mod d;\n", "mod d;\npub mod e;\n");
        let problems = check("lib.rs", &text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("lib.rs:11: `mod e` is missing from the module tour"),
            "{problems:?}"
        );
    }

    /// A tour that names a module that is not declared (renamed, or removed) fails.
    #[test]
    fn a_tour_of_a_missing_module_fails() {
        let text = GOOD.replace("pub mod b;\n", "");
        let problems = check("lib.rs", &text);
        assert_eq!(
            problems,
            vec!["lib.rs:4: the module tour names `b`, which lib.rs does not declare"]
        );
    }

    /// A `lib.rs` with modules and no tour at all fails once per module.
    #[test]
    fn no_tour_fails_for_every_module() {
        let problems = check("lib.rs", "//! A crate.\n\npub mod x;\npub mod y;\n");
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
