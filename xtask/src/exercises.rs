//! `cargo xtask exercises`: the exercise runner. It lists every exercise and lab with its
//! state (solved or not yet), shows the next one to do with its hint and the book section it
//! practises, and ends with a progress line, `progress: 9/23 solved`. `--check NAME` grades
//! one, `--watch` grades again each time a file of `crates/exercises` changes. It works the
//! same in the course (where every reference solution is in place, so all are solved) and in
//! a student kit (where none is, until the student writes it).
//!
//! Nothing is listed by hand: each piece comes from the file that already holds it.
//!
//! - **What is graded**: the `#[test]`s of `crates/exercises/tests/grading.rs` (one per
//!   exercise, named after it: `ch7_drain`) and of each `tests/labN.rs` (a lab's checks, named
//!   `labN_*`).
//! - **The hint**: the exercise's code in `crates/exercises/src/chN.rs`, between the
//!   `// ANCHOR: NAME` markers that share the test's name: each `// SOLUTION BEGIN: <hint>`
//!   in the course, each `todo!("<hint>")` in a kit (`cargo xtask student-kit` turns the one
//!   into the other). A lab's hints are those of `src/labN.rs`.
//! - **The title and the section it practises**: the chapter's `## Exercises` list, whose item
//!   says "Graded by `NAME`"; a lab's page, `book/src/labN-*.md` (its title, and its
//!   `## Draws on` section, which places the lab after the last chapter it links to).
//! - **Solved or not**: one `cargo test -p exercises --test grading --test labN --no-fail-fast`
//!   run, its `test NAME ... ok` lines read by [`crate::book::testrun`]. A test compiled out on
//!   this system (a Linux-only exercise on macOS) is "not graded here", outside the count.
//!
//! `test-all` runs no tests for it: its step reads the output its `test` step captured
//! ([`report_captured`]), so it costs no build and no run.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

use crate::book::testrun::{Outcome, TestRun};

/// The crate that holds the exercises, the labs and their grading tests.
const CRATE: &str = "crates/exercises";
/// The exercises' grading tests.
const GRADING: &str = "crates/exercises/tests/grading.rs";

const USAGE: &str = "\
usage: cargo xtask exercises [--check NAME|all] [--watch] [--markdown FILE] [--tsv FILE]
                             [--from FILE]

  (no option)     grade everything, list each exercise and lab with its state, show the
                  next one to do and its hint, and print `progress: N/M solved`
  --check NAME    grade one exercise (ch7_drain) or lab (lab1), showing its test output;
                  exits non-zero unless it is solved (`all`: unless everything is)
  --watch         grade again each time a file under crates/exercises changes (Ctrl-C ends)
  --markdown FILE also write the results as a Markdown table (CI: $GITHUB_STEP_SUMMARY)
  --tsv FILE      also write them as tab-separated values, one line per exercise or lab
  --from FILE     run nothing: read the output of a `cargo test` run captured in FILE
                  (`cargo xtask test-all` keeps its own in target/socklab-test-output.txt)
";

/// Whether an item is a chapter's exercise or a lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// An exercise at the end of chapter `chapter`.
    Exercise {
        /// The chapter's number.
        chapter: u32,
    },
    /// Lab `number`.
    Lab {
        /// The lab's number.
        number: u32,
    },
}

/// One exercise or lab, as found in the sources, the grading tests and the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its name: the grading test's for an exercise (`ch7_drain`), `labN` for a lab.
    pub name: String,
    /// Exercise or lab.
    pub kind: Kind,
    /// What to do, from the book (empty if the book does not say).
    pub title: String,
    /// The hints its code holds (none once the student has replaced the `todo!()`s).
    pub hints: Vec<String>,
    /// The file to edit, relative to the workspace root.
    pub source: String,
    /// The book section it practises (`book/src/ch07-multiplex.md#exercises`), if found.
    pub section: Option<String>,
    /// The test file that grades it.
    pub test_file: String,
    /// Its grading tests: one for an exercise, a lab's checks for a lab.
    pub tests: Vec<String>,
    /// The chapter after which it comes in the course's order.
    pub after_chapter: u32,
}

/// How an item fared in a grading run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Every one of its grading tests passed.
    Solved,
    /// Some test failed: `passed` of `of` passed.
    NotYet {
        /// Tests that passed.
        passed: usize,
        /// Its tests that ran.
        of: usize,
    },
    /// None of its tests ran: compiled out on this system.
    NotGraded,
}

/// Entry point: `args` are those after `exercises`.
pub fn main(root: &Path, cargo: fn() -> Command, args: &[String]) -> Result<()> {
    let mut opts = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .cloned()
                .with_context(|| format!("{arg} needs {what}\n{USAGE}"))
        };
        match arg.as_str() {
            "--check" => opts.check = Some(value("a name (ch7_drain, lab1 or all)")?),
            "--watch" => opts.watch = true,
            "--markdown" => opts.markdown = Some(PathBuf::from(value("a file")?)),
            "--tsv" => opts.tsv = Some(PathBuf::from(value("a file")?)),
            "--from" => opts.from = Some(PathBuf::from(value("a file")?)),
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown option `{other}`\n{USAGE}"),
        }
    }
    if !opts.watch {
        return once(root, cargo, &opts);
    }
    // Watching: grade now, then each time a file changes. Polling the modification times of
    // a few dozen files twice a second costs nothing and needs no file-watching crate.
    let mut seen = stamps(root);
    loop {
        if let Err(e) = once(root, cargo, &opts) {
            println!("{e:#}");
        }
        println!("\nwatching crates/exercises for changes (Ctrl-C to stop)...");
        loop {
            std::thread::sleep(Duration::from_millis(500)); // The polling period.
            let now = stamps(root);
            if now != seen {
                seen = now;
                break;
            }
        }
        println!("\n---- a file changed: grading again ----\n");
    }
}

/// The command line's choices.
#[derive(Debug, Default)]
struct Options {
    check: Option<String>,
    watch: bool,
    markdown: Option<PathBuf>,
    tsv: Option<PathBuf>,
    from: Option<PathBuf>,
}

/// One grading run, as the options ask.
fn once(root: &Path, cargo: fn() -> Command, opts: &Options) -> Result<()> {
    let items = discover(root)?;
    let chosen: Vec<&Item> = match opts.check.as_deref() {
        None | Some("all") => items.iter().collect(),
        Some(name) => match items.iter().find(|i| i.name == name) {
            Some(item) => vec![item],
            None => bail!(
                "no exercise or lab named `{name}`; there are: {}",
                items
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    let live = opts.check.is_some();
    let (built, text) = match &opts.from {
        Some(file) => {
            let text =
                fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            if live {
                print!("{text}");
            }
            (true, text)
        }
        None => {
            let (status, text) = grade(root, cargo, &chosen, live)?;
            (status.success(), text)
        }
    };
    let run = TestRun::parse(&text, root);
    let states: Vec<(&Item, State)> = chosen.iter().map(|i| (*i, state(&run, i))).collect();
    if states.iter().all(|(_, s)| *s == State::NotGraded) && !built {
        // Nothing ran at all: the crate does not build. Cargo's errors say why.
        if !live {
            print!("{text}");
        }
        bail!("the exercises do not build: fix the errors above, then grade again");
    }
    if let Some(file) = &opts.markdown {
        fs::write(file, markdown(&states))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    if let Some(file) = &opts.tsv {
        fs::write(file, tsv(&states)).with_context(|| format!("writing {}", file.display()))?;
    }
    match opts.check.as_deref() {
        None => {
            print!("{}", listing(&states, &text));
            Ok(())
        }
        Some(_) => {
            println!();
            for (item, state) in &states {
                println!("{}: {}", item.name, describe(*state));
            }
            let unsolved = unsolved(&states);
            if unsolved.is_empty() {
                Ok(())
            } else {
                bail!("not yet solved: {}", unsolved.join(", "))
            }
        }
    }
}

/// `test-all`'s step: the listing, from the output its `test` step captured in `capture`
/// (no build, no run). Fails unless every exercise and lab is solved, and unless every
/// grading test belongs to an exercise the runner found whole.
pub fn report_captured(root: &Path, capture: &Path) -> Result<()> {
    let items = discover(root)?;
    let problems = incomplete(root, &items)?;
    let text = fs::read_to_string(capture)
        .with_context(|| format!("reading {} (the test step's output)", capture.display()))?;
    let run = TestRun::parse(&text, root);
    let states: Vec<(&Item, State)> = items.iter().map(|i| (i, state(&run, i))).collect();
    eprint!("{}", listing(&states, &text));
    if !problems.is_empty() {
        bail!(
            "the runner cannot describe every exercise:\n{}",
            problems.join("\n")
        );
    }
    let unsolved = unsolved(&states);
    if !unsolved.is_empty() {
        bail!("not yet solved: {}", unsolved.join(", "));
    }
    Ok(())
}

/// The names of the items not solved (those not graded here do not count).
fn unsolved(states: &[(&Item, State)]) -> Vec<String> {
    states
        .iter()
        .filter(|(_, s)| matches!(s, State::NotYet { .. }))
        .map(|(i, _)| i.name.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Discovery.

/// Every exercise and lab of the course at `root`, in the course's order: by chapter, each
/// chapter's exercises in the book's order, each lab after the last chapter it draws on.
pub fn discover(root: &Path) -> Result<Vec<Item>> {
    let read =
        |rel: &str| fs::read_to_string(root.join(rel)).with_context(|| format!("reading {rel}"));
    let pages = book_pages(root)?;
    // "Graded by `NAME`" items of every chapter's Exercises section: title and page.
    let mut listed = Vec::new();
    for (rel, text) in &pages {
        for (name, title) in exercise_items(text) {
            listed.push((name, title, format!("{rel}#exercises")));
        }
    }
    let mut items = Vec::new();
    let mut sources = Vec::new();
    for entry in fs::read_dir(root.join(CRATE).join("src"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") {
            let rel = format!("{CRATE}/src/{name}");
            let text = read(&rel)?;
            sources.push((rel, text));
        }
    }
    for (position, test) in test_names(&read(GRADING)?).into_iter().enumerate() {
        let chapter = chapter_of(&test).unwrap_or(0);
        let region = sources
            .iter()
            .find_map(|(rel, text)| anchor_region(text, &test).map(|r| (rel.clone(), r)));
        let (source, hints) = match region {
            Some((rel, region)) => (rel, hints(&region)),
            None => (format!("{CRATE}/src/ch{chapter}.rs"), Vec::new()),
        };
        let book = listed.iter().position(|(n, _, _)| *n == test);
        let (title, section) = match book {
            Some(i) => (listed[i].1.clone(), Some(listed[i].2.clone())),
            None => (String::new(), None),
        };
        items.push((
            (chapter, 0, book.unwrap_or(usize::MAX), position),
            Item {
                name: test.clone(),
                kind: Kind::Exercise { chapter },
                title,
                hints,
                source,
                section,
                test_file: GRADING.into(),
                tests: vec![test],
                after_chapter: chapter,
            },
        ));
    }
    for number in lab_numbers(root)? {
        let name = format!("lab{number}");
        let test_file = format!("{CRATE}/tests/{name}.rs");
        let tests = test_names(&read(&test_file)?);
        let source = format!("{CRATE}/src/{name}.rs");
        let hints = sources
            .iter()
            .find(|(rel, _)| *rel == source)
            .map(|(_, text)| hints(text))
            .unwrap_or_default();
        let page = pages
            .iter()
            .find(|(rel, _)| lab_page_number(rel) == Some(number));
        let (title, section, after) = match page {
            Some((rel, text)) => {
                // "Lab 1: a robust echo server": the listing's heading already says "Lab 1".
                let title = page_title(text);
                let title = match title.split_once(": ") {
                    Some((lab, rest)) if lab == format!("Lab {number}") => rest.to_string(),
                    _ => title,
                };
                (title, Some(rel.clone()), draws_on(text))
            }
            None => (String::new(), None, None),
        };
        let after_chapter = after.unwrap_or(u32::MAX);
        items.push((
            (after_chapter, 1, number as usize, 0),
            Item {
                name,
                kind: Kind::Lab { number },
                title,
                hints,
                source,
                section,
                test_file,
                tests,
                after_chapter,
            },
        ));
    }
    items.sort_by_key(|a| a.0);
    Ok(items.into_iter().map(|(_, item)| item).collect())
}

/// What the runner could not find for each item: its code's anchor, its book entry, its
/// tests. In the course every piece must be there (a kit may have lost hints: solved).
fn incomplete(root: &Path, items: &[Item]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for item in items {
        let mut missing = Vec::new();
        if item.title.is_empty() || item.section.is_none() {
            missing.push(match item.kind {
                Kind::Exercise { .. } => format!(
                    "a \"Graded by `{}`\" item in its chapter's `## Exercises` list",
                    item.name
                ),
                Kind::Lab { .. } => format!("a page book/src/{}-*.md with a title", item.name),
            });
        }
        if item.tests.is_empty() {
            missing.push(format!("grading tests in {}", item.test_file));
        }
        if !root.join(&item.source).is_file() {
            missing.push(format!("its source, {}", item.source));
        }
        if let Kind::Lab { .. } = item.kind
            && item.after_chapter == u32::MAX
        {
            missing.push("a `## Draws on` section linking its chapters".into());
        }
        if !missing.is_empty() {
            problems.push(format!("{}: no {}", item.name, missing.join(", no ")));
        }
    }
    Ok(problems)
}

/// The book's pages, `(path relative to the root, text)`.
fn book_pages(root: &Path) -> Result<Vec<(String, String)>> {
    crate::book::markdown_files(&root.join("book/src"))?
        .into_iter()
        .map(|path| {
            let text =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok((crate::book::shown(root, &path), text))
        })
        .collect()
}

/// The labs' numbers: one per `crates/exercises/tests/labN.rs`, sorted.
fn lab_numbers(root: &Path) -> Result<Vec<u32>> {
    let mut numbers: Vec<u32> = fs::read_dir(root.join(CRATE).join("tests"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("lab")?.strip_suffix(".rs")?.parse().ok()
        })
        .collect();
    numbers.sort_unstable();
    Ok(numbers)
}

/// The lab a page is for: `book/src/lab1-echo.md` is lab 1's.
fn lab_page_number(rel: &str) -> Option<u32> {
    let file = rel.strip_prefix("book/src/lab")?;
    let digits: String = file.chars().take_while(char::is_ascii_digit).collect();
    file[digits.len()..].starts_with('-').then_some(())?;
    digits.parse().ok()
}

/// The chapter an exercise's name gives: `ch7_drain` is chapter 7's.
fn chapter_of(name: &str) -> Option<u32> {
    name.strip_prefix("ch")?.split('_').next()?.parse().ok()
}

/// The `#[test]` functions of a test file, in order (attributes such as `#[cfg(...)]` may
/// stand between `#[test]` and the `fn`).
pub fn test_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut armed = false;
    for line in text.lines().map(str::trim) {
        if line == "#[test]" {
            armed = true;
        } else if armed && let Some(rest) = line.strip_prefix("fn ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.push(name);
            armed = false;
        } else if armed && !line.starts_with("#[") && !line.starts_with("//") {
            armed = false;
        }
    }
    names
}

/// The text between `// ANCHOR: name` and `// ANCHOR_END: name`, if the file has them.
pub fn anchor_region(text: &str, name: &str) -> Option<String> {
    let (open, close) = (
        format!("// ANCHOR: {name}"),
        format!("// ANCHOR_END: {name}"),
    );
    let mut lines = text.lines().skip_while(|l| l.trim() != open).skip(1);
    let mut region = Vec::new();
    for line in lines.by_ref() {
        if line.trim() == close {
            return Some(region.join("\n"));
        }
        region.push(line);
    }
    None
}

/// The hints in a piece of code: each `// SOLUTION BEGIN: <hint>` (the course; a long one
/// goes on over the `//` lines after it, [`crate::kit::hint_continues`]), each
/// `todo!("<hint>")`, written on one line or on three as rustfmt lays out a long one (a kit).
pub fn hints(code: &str) -> Vec<String> {
    let lines: Vec<&str> = code.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(hint) = line.strip_prefix("// SOLUTION BEGIN:") {
            let more = lines[i + 1..]
                .iter()
                .map_while(|l| crate::kit::hint_continues(l));
            out.push(
                std::iter::once(hint.trim())
                    .chain(more)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        } else if let Some(rest) = line.strip_prefix("todo!(") {
            let literal = match rest.strip_suffix(")").or_else(|| rest.strip_suffix(");")) {
                Some(inline) => inline,
                None => lines.get(i + 1).copied().unwrap_or(""), // `todo!(` / `"..."` / `)`
            };
            if let Some(hint) = string_literal(literal.trim().trim_end_matches(',')) {
                out.push(hint);
            }
        }
    }
    out
}

/// The value of a plain Rust string literal (`"a \"b\""` is `a "b"`), if `text` is one.
fn string_literal(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    Some(out)
}

/// The items of a chapter's `## Exercises` section: each numbered item (continuation lines
/// joined) that says "Graded by `NAME`", as `(NAME, what comes before it)`.
pub fn exercise_items(page: &str) -> Vec<(String, String)> {
    let mut items: Vec<String> = Vec::new();
    let mut inside = false;
    for line in page.lines() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Exercises";
            continue;
        }
        if !inside {
            continue;
        }
        let trimmed = line.trim();
        let numbered = trimmed
            .split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if numbered && !line.starts_with(' ') {
            items.push(trimmed.split_once(". ").map_or("", |(_, t)| t).to_string());
        } else if trimmed.is_empty() {
            continue;
        } else if line.starts_with(' ')
            && let Some(last) = items.last_mut()
        {
            last.push(' ');
            last.push_str(trimmed);
        }
    }
    items
        .into_iter()
        .filter_map(|item| {
            let (title, rest) = item.split_once("Graded by `")?;
            let name = rest.split('`').next()?.to_string();
            let title = title.trim().trim_end_matches('.').trim().to_string();
            Some((name, title))
        })
        .collect()
}

/// A page's title: its first `# ` heading.
pub fn page_title(page: &str) -> String {
    page.lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The last chapter a lab page's `## Draws on` section links to (`ch07-multiplex.md` is
/// chapter 7), if it has that section and the section links a chapter.
pub fn draws_on(page: &str) -> Option<u32> {
    let mut inside = false;
    let mut last = None;
    for line in page.lines() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Draws on";
            continue;
        }
        if !inside {
            continue;
        }
        for (i, _) in line.match_indices("(ch") {
            let digits: String = line[i + 3..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<u32>() {
                last = last.max(Some(n));
            }
        }
    }
    last
}

/// What libtest printed for a failed test (`---- NAME stdout ----` up to the next section),
/// without blank lines and the backtrace note, at most `max` lines.
pub fn failure_excerpt(run: &str, name: &str, max: usize) -> Vec<String> {
    let header = format!("---- {name} stdout ----");
    run.lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| {
            !l.starts_with("---- ") && l.trim() != "failures:" && l.trim() != "stack backtrace:"
        })
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .take(max)
        .map(String::from)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Grading.

/// How `item` fared in `run`.
fn state(run: &TestRun, item: &Item) -> State {
    let outcomes: Vec<Outcome> = item
        .tests
        .iter()
        .filter_map(|t| run.outcome("exercises", &item.test_file, t))
        .filter(|o| *o != Outcome::Ignored)
        .collect();
    let passed = outcomes.iter().filter(|o| **o == Outcome::Ok).count();
    match outcomes.len() {
        0 => State::NotGraded,
        n if n == passed && n == item.tests.len() => State::Solved,
        of => State::NotYet { passed, of },
    }
}

/// Runs the grading tests of `items` in one `cargo test` (each test file once, every test
/// even after one fails) and returns its exit status and its output, both streams in order;
/// with `live`, the output is shown as it comes.
fn grade(
    root: &Path,
    cargo: fn() -> Command,
    items: &[&Item],
    live: bool,
) -> Result<(ExitStatus, String)> {
    let mut files: Vec<&str> = items.iter().map(|i| i.test_file.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    let mut cmd = cargo();
    cmd.current_dir(root).args(["test", "-p", "exercises"]);
    for file in &files {
        let stem = Path::new(file).file_stem().unwrap_or_default();
        cmd.arg("--test").arg(stem);
    }
    cmd.arg("--no-fail-fast");
    if let [one] = items {
        // One item: only its tests. A lab's checks share its name as their prefix.
        cmd.arg("--");
        match one.kind {
            Kind::Exercise { .. } => cmd.args(["--exact", &one.name]),
            Kind::Lab { .. } => cmd.arg(format!("{}_", one.name)),
        };
    }
    if !live {
        eprintln!("grading: {}", shown(&cmd));
    }
    capture(cmd, live)
}

/// The command as a user would type it.
fn shown(cmd: &Command) -> String {
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    format!("cargo {}", args.join(" "))
}

/// Runs `cmd` with both output streams in one pipe, so that cargo's `Running` lines
/// (standard error) stay in order with the tests' results (standard output); returns its
/// status and everything it wrote, printed as it comes with `live`.
fn capture(mut cmd: Command, live: bool) -> Result<(ExitStatus, String)> {
    let (mut reader, writer) = io::pipe().context("creating a pipe")?;
    cmd.stdout(writer.try_clone()?).stderr(writer);
    let mut child = cmd.spawn().context("starting cargo")?;
    drop(cmd); // Our copies of the writing end: the reader sees the end when the children's close.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if live {
                        let mut out = io::stdout().lock();
                        let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
                    }
                    all.extend_from_slice(&buf[..n]);
                }
            }
        }
        let _ = tx.send(all);
    });
    let status = child.wait().context("waiting for cargo")?;
    // A server a test left running may still hold the pipe: give the copy a bounded time.
    let text = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    Ok((status, String::from_utf8_lossy(&text).into_owned()))
}

/// The modification time of every file under `crates/exercises` (build output aside), to
/// notice a save.
fn stamps(root: &Path) -> Vec<(PathBuf, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(CRATE)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                out.push((path, modified));
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------
// Reports.

/// The state as words.
fn describe(state: State) -> String {
    match state {
        State::Solved => "solved".into(),
        State::NotYet { passed: 0, of: 1 } => "not yet".into(),
        State::NotYet { passed, of } => format!("not yet ({passed} of {of} checks pass)"),
        State::NotGraded => "not graded on this system".into(),
    }
}

/// A title for one line of the listing: without the trailing "(`exercises::...`)" that
/// names the functions (the "next" block shows it whole), and at most `max` characters.
fn short(title: &str, max: usize) -> String {
    let title = match title.rfind(" (`exercises::") {
        Some(i) if title.ends_with(')') => &title[..i],
        _ => title,
    };
    match title.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", title[..cut].trim_end()),
        None => title.to_string(),
    }
}

/// `9/23 solved`, counting only what was graded here.
fn progress(states: &[(&Item, State)]) -> String {
    let graded = states.iter().filter(|(_, s)| *s != State::NotGraded);
    let (mut solved, mut total) = (0, 0);
    for (_, s) in graded {
        total += 1;
        solved += usize::from(*s == State::Solved);
    }
    let mut line = format!("{solved}/{total} solved");
    let skipped = states.len() - total;
    if skipped > 0 {
        line += &format!(" ({skipped} not graded on this system)");
    }
    line
}

/// The listing for a terminal: each chapter's exercises and each lab with its state, then
/// the next one to do (its hint, its section, what its test said) and the progress line.
/// `run` is the grading output, for the failure's excerpt.
pub fn listing(states: &[(&Item, State)], run: &str) -> String {
    let mut out = String::new();
    let mut heading = None;
    for (item, state) in states {
        let this = match item.kind {
            Kind::Exercise { chapter } => format!("Chapter {chapter}"),
            Kind::Lab { number } => format!("Lab {number}"),
        };
        if heading.as_ref() != Some(&this) {
            let section = item.section.as_deref().unwrap_or("(no book section found)");
            let _ = writeln!(out, "\n{this}  {section}");
            heading = Some(this);
        }
        let mark = match state {
            State::Solved => "[x]",
            State::NotYet { .. } => "[ ]",
            State::NotGraded => "[-]",
        };
        let mut line = format!("  {mark} {:<28} {}", item.name, short(&item.title, 64));
        match state {
            State::NotYet { passed, of } if *of > 1 => {
                let _ = write!(line, " ({passed} of {of} checks pass)");
            }
            State::NotGraded => {
                let _ = write!(line, " (not graded on this system)");
            }
            _ => {}
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    match states
        .iter()
        .find(|(_, s)| matches!(s, State::NotYet { .. }))
    {
        Some((item, _)) => {
            let _ = writeln!(out, "\nnext: {}: {}", item.name, item.title);
            let _ = writeln!(out, "  edit:      {}", item.source);
            if let Some(section) = &item.section {
                let _ = writeln!(out, "  practises: {section}");
            }
            for hint in &item.hints {
                let _ = writeln!(out, "  hint:      {hint}");
            }
            let failed: Vec<String> = item
                .tests
                .iter()
                .flat_map(|t| failure_excerpt(run, t, 6))
                .take(8)
                .collect();
            if !failed.is_empty() {
                let _ = writeln!(out, "  its test said:");
                for line in failed {
                    let _ = writeln!(out, "    {line}");
                }
            }
            let _ = writeln!(
                out,
                "  grade it:  cargo xtask exercises --check {}",
                item.name
            );
        }
        None => {
            let _ = writeln!(
                out,
                "\nnothing left to do: every exercise and lab is solved"
            );
        }
    }
    let _ = writeln!(out, "\nprogress: {}", progress(states));
    out
}

/// The results as a Markdown table, for a CI job's summary.
pub fn markdown(states: &[(&Item, State)]) -> String {
    let mut out = String::from(
        "## Exercises\n\n| Exercise | State | What | Practises |\n|---|---|---|---|\n",
    );
    for (item, state) in states {
        let mark = match state {
            State::Solved => "✅ solved".to_string(),
            other => describe(*other),
        };
        let _ = writeln!(
            out,
            "| `{}` | {mark} | {} | {} |",
            item.name,
            item.title.replace('|', "\\|"),
            item.section.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(out, "\n**progress: {}**", progress(states));
    out
}

/// The results as tab-separated values: `name`, `kind`, `state`, `passed`, `of`, `section`.
pub fn tsv(states: &[(&Item, State)]) -> String {
    let mut out = String::from("name\tkind\tstate\tpassed\tof\tsection\n");
    for (item, state) in states {
        let kind = match item.kind {
            Kind::Exercise { .. } => "exercise",
            Kind::Lab { .. } => "lab",
        };
        let (word, passed, of) = match *state {
            State::Solved => ("solved", item.tests.len(), item.tests.len()),
            State::NotYet { passed, of } => ("not-yet", passed, of),
            State::NotGraded => ("not-graded", 0, 0),
        };
        let _ = writeln!(
            out,
            "{}\t{kind}\t{word}\t{passed}\t{of}\t{}",
            item.name,
            item.section.as_deref().unwrap_or("")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `#[test]` functions are found, through other attributes; helpers are not tests.
    #[test]
    fn grading_tests_are_found_by_their_attribute() {
        let text = "fn pair() {}\n\n/// 1.1\n#[test]\nfn ch1_typed_frame() {\n}\n#[test]\n#[cfg(target_os = \"linux\")] // why\nfn ch3_effective() {}\n#[test]\n// a note\nfn lab1_echoes() {}\nfn shutdown_server() {}\n";
        assert_eq!(
            test_names(text),
            vec!["ch1_typed_frame", "ch3_effective", "lab1_echoes"]
        );
    }

    /// A hint is read from the course's marker and from each form the kit writes, its
    /// escapes undone; the kit's form round-trips through `kit::stub`.
    #[test]
    fn hints_are_read_in_the_course_and_in_the_kit() {
        let course = "pub fn f() -> u8 {\n    // SOLUTION BEGIN: add \"one\", then \\ two\n    1 + 1\n    // SOLUTION END\n}\n";
        assert_eq!(hints(course), vec!["add \"one\", then \\ two"]);
        let wrapped = course.replace(", then", "\n    // then");
        assert_eq!(hints(&wrapped), vec!["add \"one\" then \\ two"]);
        let (kit, _) = crate::kit::stub(course);
        assert_eq!(hints(&kit), vec!["add \"one\", then \\ two"]);
        let long = format!(
            "fn g() {{\n    // SOLUTION BEGIN: {}\n    ()\n    // SOLUTION END\n}}\n",
            "word ".repeat(30).trim()
        );
        let (kit, _) = crate::kit::stub(&long);
        assert!(kit.contains("todo!(\n"), "laid out on three lines:\n{kit}");
        assert_eq!(hints(&kit), vec!["word ".repeat(30).trim().to_string()]);
        assert!(hints("fn solved() -> u8 { 2 }\n").is_empty());
    }

    /// An anchor's region is the text between its markers, and only its own.
    #[test]
    fn an_exercise_is_the_region_its_anchor_marks() {
        let text = "// ANCHOR: a\nfn a() {}\n// ANCHOR_END: a\n\n    // ANCHOR: b\n    fn b() {}\n    // ANCHOR_END: b\n";
        assert_eq!(anchor_region(text, "a").unwrap(), "fn a() {}");
        assert_eq!(anchor_region(text, "b").unwrap(), "    fn b() {}");
        assert_eq!(anchor_region(text, "c"), None);
        assert_eq!(anchor_region("// ANCHOR: open\nfn x() {}\n", "open"), None);
    }

    /// The Exercises section's numbered items give each test's title, continuation lines
    /// joined; items elsewhere on the page do not count.
    #[test]
    fn the_book_lists_each_exercise_with_its_title() {
        let page = "# Chapter\n\n1. Not an exercise. Graded by `nope`.\n\n## Exercises\n\nSolve them in `x`.\n\n1. Add a frame type (`exercises::ch1::f`). Graded by `ch1_typed_frame`.\n2. Deliver each message once, with a bounded memory (`exercises::ch9::Dedup`).\n   Graded by `ch9_first_time`.\n\n## Summary\n\n3. Graded by `after`.\n";
        assert_eq!(
            exercise_items(page),
            vec![
                (
                    "ch1_typed_frame".to_string(),
                    "Add a frame type (`exercises::ch1::f`)".to_string()
                ),
                (
                    "ch9_first_time".to_string(),
                    "Deliver each message once, with a bounded memory (`exercises::ch9::Dedup`)"
                        .to_string()
                ),
            ]
        );
    }

    /// A lab's page gives its title and the last chapter it draws on; its file name gives
    /// its number.
    #[test]
    fn a_lab_page_gives_title_and_place() {
        let page = "# Lab 1: a robust echo server\n\nSee [chapter 9](ch09-p2p.md).\n\n## Draws on\n\n- [Chapter 1](ch01-tcp.md), [chapter 6](ch06-timeouts.md#deadlines)\n- [Chapter 7](ch07-multiplex.md)\n\n## Hints\n\n[Chapter 10](ch10-names.md)\n";
        assert_eq!(page_title(page), "Lab 1: a robust echo server");
        assert_eq!(draws_on(page), Some(7));
        assert_eq!(draws_on("# Lab\n\nno section\n"), None);
        assert_eq!(lab_page_number("book/src/lab1-echo.md"), Some(1));
        assert_eq!(lab_page_number("book/src/lab12-chat.md"), Some(12));
        assert_eq!(lab_page_number("book/src/labels.md"), None);
        assert_eq!(chapter_of("ch10_connect_first"), Some(10));
    }

    /// The listing's titles drop the functions' names and stay on one line.
    #[test]
    fn titles_are_shortened_for_the_listing() {
        assert_eq!(
            short("Add a write deadline (`exercises::ch6::write_all_by`)", 64),
            "Add a write deadline"
        );
        assert_eq!(
            short("Tags (`exercises::ch11::tag` and `untag`)", 64),
            "Tags"
        );
        assert_eq!(short("one two three", 7), "one two...");
        assert_eq!(short("Lab 1 (see below)", 64), "Lab 1 (see below)");
    }

    /// A failed test's message is picked out of libtest's failures section.
    #[test]
    fn a_failure_is_excerpted() {
        let run = "test ch7_drain ... FAILED\n\nfailures:\n\n---- ch7_drain stdout ----\n\nthread 'ch7_drain' panicked at crates/exercises/src/ch7.rs:40:5:\nnot yet implemented: loop reading\nstack backtrace:\n   0: x\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n---- ch7_readable stdout ----\nother\n\nfailures:\n    ch7_drain\n";
        assert_eq!(
            failure_excerpt(run, "ch7_drain", 10),
            vec![
                "thread 'ch7_drain' panicked at crates/exercises/src/ch7.rs:40:5:",
                "not yet implemented: loop reading"
            ]
        );
        assert_eq!(failure_excerpt(run, "ch7_readable", 10), vec!["other"]);
        assert!(failure_excerpt(run, "ch1_delimited", 10).is_empty());
    }

    /// One run's lines decide each state: all tests passed is solved, a failure is not yet
    /// (with the count of a lab's checks), none ran is not graded; the progress line counts
    /// only what was graded.
    #[test]
    fn states_and_progress_come_from_the_run() {
        let root = Path::new("/nowhere");
        let run = TestRun::parse(
            "     Running tests/grading.rs (target/debug/deps/grading-0)\n\nrunning 2 tests\ntest ch1_a ... ok\ntest ch1_b ... FAILED\n     Running tests/lab1.rs (target/debug/deps/lab1-0)\ntest lab1_echoes ... ok\ntest lab1_survives ... FAILED\ntest lab1_stops ... ok\n",
            root,
        );
        let item = |name: &str, tests: &[&str], file: &str| Item {
            name: name.into(),
            kind: Kind::Exercise { chapter: 1 },
            title: "t".into(),
            hints: vec![],
            source: String::new(),
            section: None,
            test_file: file.into(),
            tests: tests.iter().map(|t| t.to_string()).collect(),
            after_chapter: 1,
        };
        let a = item("ch1_a", &["ch1_a"], GRADING);
        let b = item("ch1_b", &["ch1_b"], GRADING);
        let c = item("ch3_c", &["ch3_c"], GRADING);
        let lab = item(
            "lab1",
            &["lab1_echoes", "lab1_survives", "lab1_stops"],
            "crates/exercises/tests/lab1.rs",
        );
        assert_eq!(state(&run, &a), State::Solved);
        assert_eq!(state(&run, &b), State::NotYet { passed: 0, of: 1 });
        assert_eq!(state(&run, &c), State::NotGraded);
        assert_eq!(state(&run, &lab), State::NotYet { passed: 2, of: 3 });
        let states = [
            (&a, State::Solved),
            (&b, State::NotYet { passed: 0, of: 1 }),
            (&c, State::NotGraded),
        ];
        assert_eq!(
            progress(&states),
            "1/2 solved (1 not graded on this system)"
        );
        let text = listing(&states, "");
        assert!(text.contains("  [x] ch1_a"), "{text}");
        assert!(text.contains("next: ch1_b: t"), "{text}");
        assert!(text.ends_with("progress: 1/2 solved (1 not graded on this system)\n"));
        assert!(tsv(&states).contains("ch1_b\texercise\tnot-yet\t0\t1\t\n"));
        assert!(markdown(&states).contains("| `ch1_a` | ✅ solved | t |  |"));
    }

    /// test-all's step passes on a run where every grading test passed, and fails, naming
    /// it, on one where a single test failed; a run without the grading tests is "not graded"
    /// and passes no judgement.
    #[test]
    fn the_test_all_step_judges_the_captured_run() {
        let root = crate::root();
        let items = discover(&root).unwrap();
        let run = |failing: Option<&str>| {
            let mut text = String::new();
            let mut files: Vec<&str> = items.iter().map(|i| i.test_file.as_str()).collect();
            files.sort_unstable();
            files.dedup();
            for file in files {
                let rel = file.strip_prefix("crates/exercises/").unwrap();
                text += &format!("     Running {rel} (target/debug/deps/nowhere-0)\n");
                for test in items
                    .iter()
                    .filter(|i| i.test_file == file)
                    .flat_map(|i| &i.tests)
                {
                    let outcome = if Some(test.as_str()) == failing {
                        "FAILED"
                    } else {
                        "ok"
                    };
                    text += &format!("test {test} ... {outcome}\n");
                }
            }
            let file = std::env::temp_dir().join(format!(
                "xtask-exercises-{}-{}",
                std::process::id(),
                failing.unwrap_or("none")
            ));
            fs::write(&file, text).unwrap();
            let result = report_captured(&root, &file);
            let _ = fs::remove_file(&file);
            result
        };
        run(None).unwrap();
        let err = run(Some("ch7_drain")).unwrap_err().to_string();
        assert_eq!(err, "not yet solved: ch7_drain");
        let lab_check = items
            .iter()
            .find(|i| matches!(i.kind, Kind::Lab { .. }))
            .map(|lab| lab.tests[0].clone());
        if let Some(check) = lab_check {
            let err = run(Some(&check)).unwrap_err().to_string();
            assert!(err.starts_with("not yet solved: lab"), "{err}");
        }
    }

    /// In the course itself every exercise is found whole: its test, its hint, its title and
    /// its section, in the course's order.
    #[test]
    fn every_exercise_of_the_course_is_found_whole() {
        let root = crate::root();
        let items = discover(&root).unwrap();
        assert_eq!(incomplete(&root, &items).unwrap(), Vec::<String>::new());
        let exercises: Vec<&Item> = items
            .iter()
            .filter(|i| matches!(i.kind, Kind::Exercise { .. }))
            .collect();
        assert_eq!(
            exercises.len(),
            test_names(&fs::read_to_string(root.join(GRADING)).unwrap()).len()
        );
        for item in &exercises {
            assert!(!item.hints.is_empty(), "{} has no hint", item.name);
        }
        let chapters: Vec<u32> = items.iter().map(|i| i.after_chapter).collect();
        assert!(chapters.is_sorted(), "{chapters:?}");
        assert_eq!(items[0].name, "ch1_typed_frame");
    }
}
