//! `look ss`: ss's own columns for a connection whose buffers are full (chapter 3's "look with
//! your OS" step), read the way the book tells the reader to read them.

use buffers_demo::look;
use socklab_support::{Narrator, os_tool, skip};

/// The `Recv-Q` and `Send-Q` of the one connection in ss's output.
fn queues(ss: &str) -> (u64, u64) {
    let line = ss
        .lines()
        .find(|l| l.starts_with("ESTAB"))
        .unwrap_or_else(|| panic!("no ESTAB line in:\n{ss}"));
    let number = |i: usize| line.split_whitespace().nth(i).unwrap().parse().unwrap();
    (number(1), number(2))
}

/// With a writer writing to a reader that reads nothing, `ss -tni` shows the bytes where the
/// chapter says they are: on the writer's line in `Send-Q` (written, not acknowledged), on the
/// reader's in `Recv-Q` (arrived, not read), and nothing in the other column of each. Evidence:
/// the kernel's own state, as ss reads it over sock_diag.
#[test]
fn ss_shows_the_writers_send_queue_and_the_readers_receive_queue() {
    if os_tool::find("ss").is_none() {
        skip::skip(
            "ss_shows_the_writers_send_queue_and_the_readers_receive_queue",
            "`ss` is not installed (it comes in the package iproute2)",
        );
        return;
    }
    let (writer, reader) = look::queues(&Narrator::capture()).unwrap();
    let (recv, send) = queues(&writer);
    assert_eq!(recv, 0, "the writer has nothing to read:\n{writer}");
    assert!(send > 0, "the writer's bytes wait in its Send-Q:\n{writer}");
    let (recv, send) = queues(&reader);
    assert!(recv > 0, "the reader's bytes wait in its Recv-Q:\n{reader}");
    assert_eq!(send, 0, "the reader has sent nothing:\n{reader}");
}
