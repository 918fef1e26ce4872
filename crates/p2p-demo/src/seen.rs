//! Delivering each broadcast once: a bounded memory of the messages already delivered.
//!
//! Broadcasts are flooded (see [`crate::node`]): every node passes a new message on to its
//! other peers, so in a full mesh of n nodes each one receives n - 1 copies. A message is
//! named by `(origin, incarnation, seq)`; the first copy is delivered, the rest are dropped.
//! The memory is bounded: it holds the last [`Seen::capacity`] names and forgets the oldest
//! first. Copies of one message arrive within a few milliseconds of each other, so a window of
//! thousands of messages is far more than the copies need; a node that forgot a name would
//! deliver a copy that arrived after thousands of newer messages, which a flood never does.

use std::collections::{HashSet, VecDeque};

use crate::wire::NodeId;

/// A message's name: its origin, the origin's incarnation, and the origin's sequence number.
pub type MessageId = (NodeId, u64, u64);

// ANCHOR: seen
/// The names of the last `capacity` messages delivered.
#[derive(Debug)]
pub struct Seen {
    names: HashSet<MessageId>,
    order: VecDeque<MessageId>,
    capacity: usize,
}

impl Seen {
    /// Remembers at most `capacity` names (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            names: HashSet::with_capacity(capacity),
            order: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Whether `id` is new: true the first time (deliver it), false for every copy.
    pub fn first_time(&mut self, id: MessageId) -> bool {
        if !self.names.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.names.remove(&oldest);
        }
        true
    }
}
// ANCHOR_END: seen

impl Seen {
    /// How many names it holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many names it holds now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first copy is new, later copies are not; the memory never exceeds its bound and
    /// forgets the oldest name first.
    #[test]
    fn copies_are_dropped_within_the_bound() {
        let mut seen = Seen::new(3);
        assert!(seen.first_time((1, 1, 1)));
        assert!(!seen.first_time((1, 1, 1)));
        assert!(seen.first_time((2, 1, 1)), "another origin");
        assert!(seen.first_time((1, 2, 1)), "another incarnation");
        assert!(seen.first_time((1, 1, 2)));
        assert_eq!(seen.len(), 3);
        assert!(seen.first_time((1, 1, 1)), "the oldest was forgotten");
        assert!(!seen.first_time((1, 1, 2)), "the newest was not");
    }
}
