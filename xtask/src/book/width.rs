//! Code fits the page: no listing in the built book scrolls sideways at the default width.
//!
//! Two checks on the built book, run after every build (`cargo xtask book`, test-all's
//! `book-build` step):
//!
//! - [`static_check`], always, with no browser: no line of a listing is longer than
//!   [`COLUMNS`]. Program output (`console` and `text` blocks) is exempt: the book's
//!   stylesheet (`book/code-width.css`) wraps it as a terminal would, since a tcpdump line is
//!   as long as tcpdump prints it.
//! - [`browser_check`], where Chromium is installed: every page is loaded in headless
//!   Chromium in a window of [`WINDOW`], and every block whose content is wider than its box
//!   (`scrollWidth > clientWidth`, what a reader sees as a sideways scroll bar) is reported
//!   with its page and longest line. The same script measures how many columns fit: a
//!   top-level block's inner width over the width of one character of its font. Fewer than
//!   [`COLUMNS`] fails too, so the static limit stays what a browser shows. Without Chromium
//!   the step says it was skipped (`socklab_support::skip`); test-all does not install it.
//!
//! [`COLUMNS`] is 100, the width `cargo fmt` gives Rust: Chromium measured 102.6 columns in
//! a top-level block at 1280 by 800 (an 820-pixel column, code at 13 pixels), and 86.9 with
//! mdBook's own defaults (750 pixels, 14), where every formatted listing scrolled. A block
//! nested in a list is 40 pixels narrower (97 columns): only the browser sees nesting.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use socklab_support::skip;

use super::shown;

/// The longest line a listing may have, in characters.
pub const COLUMNS: usize = 100;
/// The window the browser check loads each page in: a common desktop size (mdBook shows its
/// sidebar from 1080 pixels). Chromium's own headless default is smaller, 800 by 600 (a
/// 780-pixel viewport), where mdBook hides the sidebar: not what a reader at a desk sees.
pub const WINDOW: (u32, u32) = (1280, 800);
/// The classes of blocks that wrap instead of scrolling (see `book/code-width.css`).
const WRAPPED: [&str; 2] = ["language-console", "language-text"];
/// Chromium's names on the systems we know.
const CHROMIUM: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];
/// How long one page may take to load and report.
const PAGE_LIMIT: Duration = Duration::from_secs(60);
/// The name of the skip when no browser is found.
const SKIP_NAME: &str = "book width in a browser";

/// Both checks on the book built in `build`; the browser's skipped (and recorded in `skips`,
/// or in the file `SOCKLAB_SKIPS` names) when no Chromium is installed.
pub fn check(root: &Path, build: &Path, skips: Option<&Path>) -> Result<()> {
    let pages = pages(build)?;
    let mut problems = Vec::new();
    for page in &pages {
        let html =
            fs::read_to_string(page).with_context(|| format!("reading {}", page.display()))?;
        problems.extend(static_check(&shown(root, page), &html));
    }
    let measured = match chromium() {
        Some(browser) => Some(browser_check(root, build, &pages, &browser, &mut problems)?),
        None => {
            let reason = format!(
                "no Chromium on PATH ({}): only the static check of {COLUMNS} columns ran \
                 (apt-get install chromium to measure the pages)",
                CHROMIUM.join(", ")
            );
            match skips {
                Some(file) => skip::skip_into(file, SKIP_NAME, &reason),
                None => skip::skip(SKIP_NAME, &reason),
            }
            None
        }
    };
    for p in &problems {
        eprintln!("book width: {p}");
    }
    if !problems.is_empty() {
        bail!(
            "{} listing(s) in the book wider than the page (see book/code-width.css)",
            problems.len()
        );
    }
    match measured {
        Some(columns) => println!(
            "book width: {} pages at {}x{} in Chromium, {columns:.1} columns fit, no listing \
             scrolls; no line over {COLUMNS} columns",
            pages.len(),
            WINDOW.0,
            WINDOW.1
        ),
        None => println!("book width: no line over {COLUMNS} columns"),
    }
    Ok(())
}

/// The book's pages in `build`: every HTML file but mdBook's own extras (the print page
/// repeats every chapter, `index.html` the first one; the table of contents and the 404
/// page have no listings).
fn pages(build: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![build.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".html")
                && !(dir == build
                    && ["print.html", "index.html", "toc.html", "404.html"].contains(&&*name))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One listing of a built page: its classes and its text as shown.
#[derive(Debug, PartialEq, Eq)]
struct Block {
    class: String,
    text: String,
}

/// The listings of a page built by mdBook: each `<pre><code class="...">`, its markup taken
/// out and its entities decoded (lines mdBook hides, `class="boring"`, left out).
fn blocks(html: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<pre><code") {
        let after = &rest[start + "<pre><code".len()..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let attrs = &after[..open_end];
        let body_and_rest = &after[open_end + 1..];
        let Some(end) = body_and_rest.find("</code></pre>") else {
            break;
        };
        let class = attrs
            .split_once("class=\"")
            .and_then(|(_, c)| c.split_once('"'))
            .map_or("", |(c, _)| c)
            .to_string();
        out.push(Block {
            class,
            text: text_of(&body_and_rest[..end]),
        });
        rest = &body_and_rest[end..];
    }
    out
}

/// The text of a piece of HTML: tags dropped (and the hidden lines' spans with their
/// contents), the five entities mdBook writes decoded.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tag = &rest[lt..];
        let close = tag.find('>').map_or(tag.len(), |i| i + 1);
        if tag.starts_with("<span class=\"boring\"") {
            // A hidden line is not shown until the reader asks; it holds no nested spans.
            rest = tag
                .find("</span>")
                .map_or("", |i| &tag[i + "</span>".len()..]);
        } else {
            rest = &tag[close..];
        }
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The lines of `html`'s listings longer than [`COLUMNS`], in blocks that do not wrap.
fn static_check(page: &str, html: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for block in blocks(html) {
        if block.class.split(' ').any(|c| WRAPPED.contains(&c)) {
            continue;
        }
        let kind = block
            .class
            .split(' ')
            .find_map(|c| c.strip_prefix("language-"))
            .unwrap_or("plain");
        for line in block.text.lines() {
            let width = line.chars().count();
            if width > COLUMNS {
                problems.push(format!(
                    "{page}: a line of {width} columns in a `{kind}` block (at most {COLUMNS}): {}",
                    shorten(line)
                ));
            }
        }
    }
    problems
}

/// The start of a line, enough to find it with grep.
fn shorten(line: &str) -> String {
    let t = line.trim();
    match t.char_indices().nth(70) {
        Some((i, _)) => format!("{}...", &t[..i]),
        None => t.to_string(),
    }
}

/// The first Chromium found on PATH.
fn chromium() -> Option<PathBuf> {
    CHROMIUM
        .iter()
        .find_map(|name| socklab_support::os_tool::find(name))
}

/// What each page runs once it is laid out with its fonts: for every listing, whether its
/// content is wider than its box, and how many columns of its font fit in it; written into
/// the page, where `--dump-dom` shows it. Lines are URI-encoded, so the report survives
/// HTML serialisation whatever they hold.
const PROBE: &str = r#"<script>
window.addEventListener('load', () => document.fonts.ready.then(() => {
  const report = [];
  let columns = Infinity;
  for (const pre of document.querySelectorAll('main pre')) {
    const code = pre.querySelector('code') || pre;
    const wide = code.scrollWidth > code.clientWidth || pre.scrollWidth > pre.clientWidth;
    if (wide) {
      const longest = code.textContent.split('\n')
        .reduce((a, b) => (b.length > a.length ? b : a), '');
      report.push(`over ${code.scrollWidth} ${code.clientWidth} ${encodeURIComponent(longest)}`);
    }
    if (pre.parentElement.tagName === 'MAIN') {
      const probe = document.createElement('span');
      probe.textContent = '0'.repeat(100);
      code.appendChild(probe);
      const column = probe.getBoundingClientRect().width / 100;
      probe.remove();
      const style = getComputedStyle(code);
      const inner = code.clientWidth - parseFloat(style.paddingLeft)
        - parseFloat(style.paddingRight);
      columns = Math.min(columns, inner / column);
    }
  }
  if (columns !== Infinity) report.push(`columns ${columns}`);
  report.push(`window ${innerWidth} ${innerHeight}`);
  report.push('done');
  const out = document.createElement('pre');
  out.id = 'socklab-width';
  out.textContent = report.join('\n');
  document.body.appendChild(out);
}));
</script>
"#;

/// What one page reported.
#[derive(Debug, Default, PartialEq)]
struct Report {
    /// Each listing wider than its box: content width, box width, longest line.
    over: Vec<(u32, u32, String)>,
    /// The columns that fit in its narrowest top-level listing (none without listings).
    columns: Option<f64>,
    /// Whether the report was complete.
    done: bool,
}

/// The report a page wrote into its DOM, read from `--dump-dom`'s output.
fn parse_report(dom: &str) -> Option<Report> {
    let start = dom.find("id=\"socklab-width\">")? + "id=\"socklab-width\">".len();
    let body = &dom[start..];
    let body = &body[..body.find("</pre>")?];
    let mut report = Report::default();
    for line in body.lines() {
        let mut words = line.splitn(4, ' ');
        match words.next() {
            Some("over") => {
                let scroll = words.next()?.parse().ok()?;
                let client = words.next()?.parse().ok()?;
                report
                    .over
                    .push((scroll, client, percent_decode(words.next().unwrap_or(""))));
            }
            Some("columns") => report.columns = words.next()?.parse().ok(),
            Some("done") => report.done = true,
            _ => {}
        }
    }
    Some(report)
}

/// Undoes `encodeURIComponent`.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Loads a copy of each page, with [`PROBE`] added, in headless Chromium; pushes a problem
/// for each listing wider than its box and returns the fewest columns any page fits.
fn browser_check(
    root: &Path,
    build: &Path,
    pages: &[PathBuf],
    browser: &Path,
    problems: &mut Vec<String>,
) -> Result<f64> {
    // A copy, so the book a reader opens has no probe in it (and another build running at the
    // same time cannot change the pages under us).
    let work = root.join("target/book-width");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    }
    let copy = work.join("book");
    copy_dir(build, &copy)?;
    let mut fewest = f64::INFINITY;
    for page in pages {
        let rel = page.strip_prefix(build).expect("pages are in the build");
        let probed = copy.join(rel);
        let html = fs::read_to_string(&probed)?;
        let Some(body_end) = html.rfind("</body>") else {
            bail!("{}: no </body> to add the probe before", shown(root, page));
        };
        fs::write(
            &probed,
            format!("{}{PROBE}{}", &html[..body_end], &html[body_end..]),
        )?;
        let dom = dump_dom(browser, &probed, &work.join("profile"))
            .with_context(|| format!("loading {} in {}", shown(root, page), browser.display()))?;
        let report = parse_report(&dom).filter(|r| r.done).with_context(|| {
            format!(
                "{}: the page did not report its listings' widths (did its script run?)",
                shown(root, page)
            )
        })?;
        for (scroll, client, line) in &report.over {
            problems.push(format!(
                "{}: a listing {scroll} pixels wide in a box of {client} (Chromium, {}x{}); its \
                 longest line, {} columns: {}",
                shown(root, page),
                WINDOW.0,
                WINDOW.1,
                line.chars().count(),
                shorten(line)
            ));
        }
        if let Some(columns) = report.columns {
            fewest = fewest.min(columns);
        }
    }
    let _ = fs::remove_dir_all(&work);
    if fewest < COLUMNS as f64 {
        problems.push(format!(
            "only {fewest:.1} columns fit in a listing at {}x{}, fewer than the {COLUMNS} the \
             static check allows: widen the column in book/code-width.css",
            WINDOW.0, WINDOW.1
        ));
    }
    Ok(fewest)
}

/// The DOM of `page` once loaded and laid out in headless Chromium, bounded by [`PAGE_LIMIT`].
fn dump_dom(browser: &Path, page: &Path, profile: &Path) -> Result<String> {
    let out_file = profile.with_extension("dom");
    let err_file = profile.with_extension("log");
    let mut child = Command::new(browser)
        .arg("--headless")
        // Sandboxing needs privileges a container or CI runner often lacks; the pages are our
        // own build.
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--disable-dev-shm-usage")
        .arg("--no-first-run")
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .arg(format!("--user-data-dir={}", profile.display()))
        // Lets the fonts load and the load handlers run before the DOM is written out.
        .arg("--virtual-time-budget=10000")
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        // Files, not pipes: a page's DOM is larger than a pipe holds, and nothing reads it
        // until the browser has finished.
        .stdout(fs::File::create(&out_file)?)
        .stderr(fs::File::create(&err_file)?)
        .spawn()
        .context("cannot start the browser")?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > PAGE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("no answer in {PAGE_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !status.success() {
        let log = fs::read_to_string(&err_file).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        bail!(
            "the browser failed with {status}: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    fs::read_to_string(&out_file).context("reading the browser's output")
}

/// Copies the directory `from` to `to`, recursively.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Rust line over the limit is a problem, counted in characters as shown (an entity is
    /// one); program output, which wraps, is not; hidden lines are not shown.
    #[test]
    fn long_lines_are_found_in_listings_that_do_not_wrap() {
        let long = "x".repeat(COLUMNS - 1);
        let html = format!(
            "<p>{long}{long}</p>\
             <pre><code class=\"language-rust ignore\">fn a() {{}}\n&lt;{long}\n</code></pre>\
             <pre><code class=\"language-rust\"><span class=\"boring\">#{long}{long}\n</span>ok\n</code></pre>\
             <pre><code class=\"language-console hljs\">{long}{long}\n</code></pre>\
             <pre><code>{long}&amp;&amp;\n</code></pre>"
        );
        let problems = static_check("p.html", &html);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].starts_with("p.html: a line of 101 columns in a `plain` block"),
            "{}",
            problems[0]
        );
        assert_eq!(blocks(&html)[0].text, format!("fn a() {{}}\n<{long}\n"));
    }

    /// The report a page writes survives serialisation, its lines decoded.
    #[test]
    fn a_report_is_read_back() {
        let dom = "<body><pre id=\"socklab-width\">over 933 820 %20%20fn%20a()%20%7B%20%22%C2%B5%22\n\
                   columns 102.5\nwindow 1280 713\ndone</pre></body>";
        let report = parse_report(dom).unwrap();
        assert_eq!(
            report,
            Report {
                over: vec![(933, 820, "  fn a() { \"µ\"".to_string())],
                columns: Some(102.5),
                done: true,
            }
        );
        assert_eq!(parse_report("<body></body>"), None);
    }
}
