//! One connection per pair: which of two connections between the same two nodes survives.
//!
//! In a mesh where every node dials its peers, two nodes that dial each other at the same
//! moment end up with *two* TCP connections between them: one each node dialed. Both must
//! agree, without another round trip, on which one to keep; each node decides alone, from what
//! both ends know once the `Hello`s are exchanged. The classic rule: **keep the connection
//! dialed by the lower id.** Both nodes know who dialed each connection (the dialer is the
//! one whose `connect(2)` made it), both compare the same two ids, so both keep the same one,
//! and close the other with a `Superseded` frame.
//!
//! Two cases are not a simultaneous dial, and the rule is refined for them:
//!
//! - The peer restarted: the older connection belongs to its previous life (an older
//!   incarnation) and is dead, or soon will be. Keep the new incarnation's.
//! - The same node dialed both: it only dials when it has no connection, so it has given up
//!   the older one. Keep the newer.

use crate::wire::NodeId;

/// What a node knows about one connection to a peer, once the peer's `Hello` arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The node that dialed it (`connect(2)`): us or the peer.
    pub dialer: NodeId,
    /// The peer's incarnation, from its `Hello` on this connection.
    pub incarnation: u64,
    /// The order in which this node opened its connections (larger is newer).
    pub opened: u64,
}

/// Which of the two to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The first argument of [`keep`].
    First,
    /// The second argument of [`keep`].
    Second,
}

// ANCHOR: keep
/// Decides between two connections to the same peer.
pub fn keep(a: &Candidate, b: &Candidate) -> Keep {
    let newer = |a: u64, b: u64| if a > b { Keep::First } else { Keep::Second };
    if a.incarnation != b.incarnation {
        // The peer restarted: its old life's connection is dead.
        newer(a.incarnation, b.incarnation)
    } else if a.dialer != b.dialer {
        // A simultaneous dial: both ends apply this same rule to the same two ids.
        if a.dialer < b.dialer {
            Keep::First
        } else {
            Keep::Second
        }
    } else {
        // The same node dialed twice: it had given up on the older connection.
        newer(a.opened, b.opened)
    }
}
// ANCHOR_END: keep

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ends of a simultaneous dial keep the same connection, the one dialed by the lower
    /// id, whatever order they saw the two in and whatever their local counters say.
    #[test]
    fn both_ends_agree() {
        // Node 1's view: its own dial (opened first), then node 2's.
        let on_1 = (
            Candidate {
                dialer: 1,
                incarnation: 20,
                opened: 1,
            },
            Candidate {
                dialer: 2,
                incarnation: 20,
                opened: 2,
            },
        );
        // Node 2's view of the same two connections, in the other order.
        let on_2 = (
            Candidate {
                dialer: 2,
                incarnation: 10,
                opened: 5,
            },
            Candidate {
                dialer: 1,
                incarnation: 10,
                opened: 9,
            },
        );
        assert_eq!(keep(&on_1.0, &on_1.1), Keep::First);
        assert_eq!(keep(&on_1.1, &on_1.0), Keep::Second);
        assert_eq!(keep(&on_2.0, &on_2.1), Keep::Second);
        assert_eq!(keep(&on_2.1, &on_2.0), Keep::First);
    }

    /// A restarted peer's connection wins over its old life's; a re-dial wins over the
    /// connection it replaced.
    #[test]
    fn newer_lives_and_redials_win() {
        let old = Candidate {
            dialer: 1,
            incarnation: 5,
            opened: 1,
        };
        let reborn = Candidate {
            dialer: 9,
            incarnation: 6,
            opened: 2,
        };
        assert_eq!(keep(&old, &reborn), Keep::Second);
        let redial = Candidate { opened: 3, ..old };
        assert_eq!(keep(&old, &redial), Keep::Second);
        assert_eq!(keep(&redial, &old), Keep::First);
    }
}
