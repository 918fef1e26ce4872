//! The robustness suite for chapter 7's select loop, in a test binary of its own.
//!
//! Why apart: `select` can only watch descriptors numbered below `FD_SETSIZE` (1024) *in the
//! whole process*. When the suite ran every server inside one test process, the other servers'
//! tests ran in parallel threads of it, and their floods opened hundreds of descriptors each; a
//! client the select loop accepted meanwhile could get descriptor 1100 and be refused, however
//! few connections the select server itself held. CI saw exactly that once: a well-behaved
//! client was reset during the flood. That is the chapter's lesson about `select` turning up
//! in our own tests, so this binary gives the select loop a process of its own (cargo runs
//! test binaries one after another). Every server now runs in a process of its own anyway
//! (`survive::in_own_process`, for the descriptor and thread counts).

mod survive;

use survive::servers::Target;
use survive::{in_own_process, survive};

/// Chapter 7's select loop survives every attack.
#[test]
fn select_server_survives() {
    in_own_process("select_server_survives", || {
        survive(Target::Event(multiplex_demo::Api::Select))
    });
}
