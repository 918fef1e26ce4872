//! Narration: the running commentary that demos print, and the log that servers keep.
//!
//! Every demo in socklab explains itself as it runs: which side is doing what, which system
//! call it just made, and what the kernel answered. A [`Narrator`] prints those lines with the
//! time since the demo started, so the reader can see which steps block and for how long.
//!
//! The same narrator can *capture* instead of print. Tests run the demos and servers with a
//! capturing narrator and then assert on what was said, for example that a server logged the
//! reason it closed a misbehaving peer.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Where narration goes: standard output, a buffer that tests read back, or nowhere.
#[derive(Debug)]
enum Sink {
    Stdout,
    Capture(Mutex<Vec<String>>),
    Silent,
}

/// Prints (or captures) the numbered, timestamped story of a demo. Cheap to share across
/// threads: wrap it in an `Arc` and hand it to the server thread and the client thread alike.
#[derive(Debug)]
pub struct Narrator {
    start: Instant,
    sink: Sink,
}

impl Narrator {
    /// A narrator that prints to standard output, for the binaries.
    pub fn stdout() -> Self {
        Self {
            start: Instant::now(),
            sink: Sink::Stdout,
        }
    }

    /// A narrator that keeps every line in memory, for tests; read them with [`Self::lines`].
    pub fn capture() -> Self {
        Self {
            start: Instant::now(),
            sink: Sink::Capture(Mutex::new(Vec::new())),
        }
    }

    /// A narrator that discards everything, for benchmarks.
    pub fn silent() -> Self {
        Self {
            start: Instant::now(),
            sink: Sink::Silent,
        }
    }

    /// A section heading: one experiment of the demo begins.
    pub fn heading(&self, title: &str) {
        self.emit(String::new());
        self.emit(format!("== {title}"));
    }

    /// A sentence of explanation, printed without a timestamp: the "why" between the steps.
    pub fn explain(&self, text: &str) {
        for line in text.lines() {
            self.emit(format!("   {line}"));
        }
    }

    /// One step taken by one actor (`server`, `client`, `kernel`...), stamped with the time
    /// since the narrator was made.
    pub fn step(&self, actor: &str, what: &str) {
        let t = self.start.elapsed().as_secs_f64();
        self.emit(format!("[{t:8.3}s] {actor:>8}: {what}"));
    }

    /// Every captured line so far (empty unless made with [`Self::capture`]).
    pub fn lines(&self) -> Vec<String> {
        match &self.sink {
            Sink::Capture(lines) => lock(lines).clone(),
            Sink::Stdout | Sink::Silent => Vec::new(),
        }
    }

    /// Whether any captured line contains `needle`: a short way for tests to ask "was this
    /// said?".
    pub fn said(&self, needle: &str) -> bool {
        self.lines().iter().any(|line| line.contains(needle))
    }

    fn emit(&self, line: String) {
        match &self.sink {
            Sink::Stdout => {
                // A closed stdout (`demo | head`) must not turn into a panic, so the error
                // is ignored: the narration is a courtesy, not the work.
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
            }
            Sink::Capture(lines) => lock(lines).push(line),
            Sink::Silent => {}
        }
    }
}

/// Locks the capture buffer even if a thread panicked while holding it: the lines already
/// there are still worth reading in the failing test's output.
fn lock(lines: &Mutex<Vec<String>>) -> std::sync::MutexGuard<'_, Vec<String>> {
    lines
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capturing narrator keeps steps and explanations, in order, with the actor's name.
    #[test]
    fn capture_keeps_lines_in_order() {
        let n = Narrator::capture();
        n.heading("part one");
        n.step("server", "listening");
        n.explain("because\nreasons");
        let lines = n.lines();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines[1], "== part one");
        assert!(lines[2].ends_with("  server: listening"), "{}", lines[2]);
        assert_eq!(lines[3], "   because");
        assert!(n.said("reasons"));
        assert!(!n.said("absent"));
    }

    /// Silent and stdout narrators capture nothing.
    #[test]
    fn only_capture_mode_keeps_lines() {
        let n = Narrator::silent();
        n.step("client", "hello");
        assert!(n.lines().is_empty());
    }
}
