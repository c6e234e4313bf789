//! Asking a partner to send a Q&A room again, and answering such asks: a room key that
//! never reached this node's device (its writer's device did not know the device, or
//! could not reach its homeserver, when it sent) does not come by itself. The protocol
//! message is `qa_resend` (`docs/protocol.md`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use raremesh_bridge::protocol::Payload;

use super::Federation;

/// How long an event stays undecrypted before the node asks its writer to send it again.
pub(super) const ASK_AFTER: Duration = Duration::from_secs(20);
/// The wait before asking a peer again for the same room, doubled at each ask...
const ASK_AGAIN: Duration = Duration::from_secs(30);
/// ...up to this.
const ASK_AGAIN_MAX: Duration = Duration::from_secs(3600);
/// The least time between two re-sends of one room that peers asked for.
const RESEND_ASKED_EVERY: Duration = Duration::from_secs(60);

/// Re-sends asked and answered: a room key that never reached a device (the sender's
/// device did not know the receiving device, or could not reach its homeserver, when it
/// sent) does not come by itself; the reader asks the writer to send the room again.
#[derive(Debug, Default)]
pub(super) struct Resends {
    /// (room, peer) → when this node last asked, and how many times in a row.
    asked: HashMap<(String, String), (Instant, u32)>,
    /// Room → when this node last sent it again because a peer asked.
    answered: HashMap<String, Instant>,
}

impl Resends {
    /// The pairs to ask now. A pair keeps its count of asks while it comes back within
    /// [`ASK_AGAIN_MAX`] (the copies sent again are young, and wait [`ASK_AFTER`] before
    /// they count): the intervals grow as long as something stays unreadable.
    fn due_asks(
        &mut self,
        waiting: &BTreeSet<(String, String)>,
        now: Instant,
    ) -> Vec<(String, String)> {
        self.asked.retain(|k, (last, _)| {
            waiting.contains(k) || now.duration_since(*last) < ASK_AGAIN_MAX
        });
        let mut out = Vec::new();
        for k in waiting {
            let due = match self.asked.get(k) {
                None => true,
                Some((last, n)) => {
                    let wait = ASK_AGAIN
                        .saturating_mul(1u32 << (*n).min(16))
                        .min(ASK_AGAIN_MAX);
                    now.duration_since(*last) >= wait
                }
            };
            if due {
                let n = self.asked.get(k).map_or(0, |(_, n)| n + 1);
                self.asked.insert(k.clone(), (now, n));
                out.push(k.clone());
            }
        }
        out
    }

    /// Whether to send `room` again for a peer that asked now.
    fn answer_now(&mut self, room: &str, now: Instant) -> bool {
        if self
            .answered
            .get(room)
            .is_some_and(|last| now.duration_since(*last) < RESEND_ASKED_EVERY)
        {
            return false;
        }
        self.answered.insert(room.to_owned(), now);
        true
    }
}

impl Federation {
    /// Asks the peers whose events stay unreadable to send those rooms again (each pair
    /// at growing intervals while it waits).
    pub(super) async fn ask_resends(&self, waiting: &BTreeSet<(String, String)>) {
        let asks = self
            .resends
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .due_asks(waiting, Instant::now());
        for (room, peer) in asks {
            let payload = Payload::QaResend { room: room.clone() };
            match self.send_to(&peer, &payload).await {
                Ok(()) => {
                    tracing::info!(%room, %peer, "the node's device cannot read a partner's Q&A events: asked it to send them again")
                }
                Err(e) => {
                    tracing::info!(%room, %peer, error = %e, "asking a partner to send Q&A events again failed; later")
                }
            }
        }
    }

    /// A peer's device cannot read what this node wrote in a Q&A room: sent again (at
    /// most once per [`RESEND_ASKED_EVERY`] per room), if it is a room this node writes in.
    pub(super) async fn on_qa_resend(self: &Arc<Self>, peer: &str, room: &str) {
        match self.qa_rooms() {
            Ok(rooms) if rooms.iter().any(|r| r == room) => {}
            Ok(_) => {
                tracing::info!(%room, %peer, "a partner asked for a room this node does not write in: ignored");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the Q&A rooms failed");
                return;
            }
        }
        // In a plain room, what was sent is readable by anyone in it.
        if !self.qa_room_encrypted(room).await.unwrap_or(false)
            || !self
                .resends
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .answer_now(room, Instant::now())
        {
            return;
        }
        match self.resend_in(room) {
            Ok(n) => {
                tracing::info!(%room, %peer, events = n, "a partner cannot read what this node wrote in a Q&A room: sent again")
            }
            Err(e) => tracing::warn!(%room, error = %e, "queueing Q&A events again failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(room: &str, peer: &str) -> (String, String) {
        (room.to_owned(), peer.to_owned())
    }

    #[test]
    fn a_reader_asks_again_at_growing_intervals_while_it_waits() {
        let mut r = Resends::default();
        let t0 = Instant::now();
        let waiting: BTreeSet<_> = [pair("!a", "@a"), pair("!b", "@b")].into();
        assert_eq!(r.due_asks(&waiting, t0).len(), 2, "asked at once");
        assert!(
            r.due_asks(&waiting, t0 + Duration::from_secs(29))
                .is_empty()
        );
        assert_eq!(r.due_asks(&waiting, t0 + Duration::from_secs(30)).len(), 2);
        let t1 = t0 + Duration::from_secs(30);
        assert!(
            r.due_asks(&waiting, t1 + Duration::from_secs(59))
                .is_empty()
        );
        assert_eq!(r.due_asks(&waiting, t1 + Duration::from_secs(60)).len(), 2);
        // Never more than an hour apart, however long it waits.
        let mut t = t1 + Duration::from_secs(60);
        for _ in 0..20 {
            t += ASK_AGAIN_MAX;
            assert_eq!(r.due_asks(&waiting, t).len(), 2);
        }
        // A pair missing from one round (its copies sent again are young) keeps its
        // count: when it waits again, the interval is still an hour.
        let one: BTreeSet<_> = [pair("!a", "@a")].into();
        assert_eq!(r.due_asks(&one, t).len(), 0);
        assert!(r.due_asks(&waiting, t + Duration::from_secs(60)).is_empty());
        // Gone for longer than that: forgotten, and asked at once when it waits again.
        let later = t + ASK_AGAIN_MAX + Duration::from_secs(1);
        assert_eq!(r.due_asks(&one, later), vec![pair("!a", "@a")]);
        assert_eq!(
            r.due_asks(&waiting, later + ASK_AGAIN_MAX + Duration::from_secs(1))
                .len(),
            2
        );
        let fresh: BTreeSet<_> = [pair("!c", "@c")].into();
        let mut r2 = Resends::default();
        assert_eq!(r2.due_asks(&fresh, t).len(), 1);
        assert!(
            r2.due_asks(&BTreeSet::new(), t + Duration::from_secs(20))
                .is_empty()
        );
        assert!(
            r2.due_asks(&fresh, t + Duration::from_secs(25)).is_empty(),
            "back within the hour: not asked again before its interval"
        );
    }

    #[test]
    fn a_writer_sends_a_room_again_at_most_once_a_minute() {
        let mut r = Resends::default();
        let t0 = Instant::now();
        assert!(r.answer_now("!a", t0));
        assert!(!r.answer_now("!a", t0 + Duration::from_secs(59)));
        assert!(r.answer_now("!b", t0 + Duration::from_secs(1)), "per room");
        assert!(r.answer_now("!a", t0 + RESEND_ASKED_EVERY));
    }
}
