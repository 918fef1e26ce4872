//! The robustness suite for chapter 7's select loop, in a test binary of its own.
//!
//! Why apart: the suite runs each server inside the test process, and `select` can only watch
//! descriptors numbered below `FD_SETSIZE` (1024) *in the whole process*. In `suite.rs` the
//! other servers' tests run in parallel threads of the same process, and their floods open
//! hundreds of descriptors each; a client the select loop accepted meanwhile could get
//! descriptor 1100 and be refused, however few connections the select server itself held. CI
//! saw exactly that once: a well-behaved client was reset during the flood. That is the
//! chapter's lesson about `select` turning up in our own tests, so this binary gives the select
//! loop a process of its own (cargo runs test binaries one after another).

mod survive;

use socklab_abuse::suite::Target;
use survive::survive;

/// Chapter 7's select loop survives every attack.
#[test]
fn select_server_survives() {
    survive(Target::Event(multiplex_demo::Api::Select));
}
