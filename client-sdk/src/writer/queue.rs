//! The bounded queue between the logging calls and the writer thread: what a call queues, backpressure when it is full, flush tickets, and what the writer thread reports back.
//!
//! One mutex guards everything here ([`State`]); two condvars wake the two sides. A logging
//! call holds the lock for one `Vec::push`; the writer thread holds it for one swap of the whole
//! queue with its (empty) batch buffer, so neither side waits on the other's work.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use runboard_proto::tensorboard::summary::Value as SummaryValue;

use crate::event::HParamValue;
use crate::remote::RemoteReport;

/// One queued logging call. Scalars are inline (32 bytes); everything else is boxed.
pub(super) enum Item {
    /// The first use of a tag: later items name it by `id`.
    Tag {
        id: u32,
        name: Box<str>,
    },
    Scalar {
        tag: u32,
        step: i64,
        wall_time: f64,
        value: f64,
    },
    Other(Box<Pending>),
}

/// A queued call other than a scalar, with the step and time it was logged at.
pub(super) struct Pending {
    pub(super) step: i64,
    pub(super) wall_time: f64,
    pub(super) kind: PendingKind,
}

/// What a [`Pending`] call logged, still unencoded (encoding is the writer thread's work).
pub(super) enum PendingKind {
    Histogram {
        tag: u32,
        values: Vec<f64>,
    },
    Text {
        tag: u32,
        markdown: String,
    },
    Image {
        tag: u32,
        pixels: Vec<u8>,
        width: u32,
        height: u32,
        channels: u8,
    },
    /// A mono clip, WAV-encoded on the writer thread.
    Audio {
        tag: u32,
        samples: Vec<f32>,
        sample_rate: u32,
    },
    /// A ready summary value (hparams end), with its own tag.
    Value(SummaryValue),
    /// Hyperparameters (written as the HParams plugin's session start).
    HParams(Vec<(String, HParamValue)>),
    /// A run event's JSON text (runboard's plugin in the file, `Point.run_event` when
    /// streaming).
    RunEvent(String),
    /// A model graph (`Event.graph_def` in the file, `Point.graph_def` when streaming),
    /// serialized on the writer thread.
    Graph(Box<runboard_proto::tensorboard::GraphDef>),
    /// An embedding's files for the projector (written beside the event file, not in it).
    Embedding(Box<crate::projector::EmbeddingFiles>),
}

/// Everything the logging side and the writer thread share, under [`Queue`]'s one lock.
#[derive(Default)]
pub(super) struct State {
    items: Vec<Item>,
    closing: bool,
    flush_requested: u64,
    flush_done: u64,
    worker_alive: bool,
    /// The first error the writer thread met (or "panicked"), returned by every later
    /// `flush()` and `close()`.
    pub(super) first_error: Option<String>,
    /// Items that never reached the file: failed writes, and calls made after the writer
    /// thread was gone.
    pub(super) lost: u64,
    /// What the remote sink left unsent when it closed.
    pub(super) remote_report: Option<RemoteReport>,
}

/// What the writer thread took in one round: the flush ticket it answers and whether the
/// writer is closing.
pub(super) struct Round {
    pub(super) ticket: u64,
    pub(super) closing: bool,
}

/// The queue with its lock and the condvars that wake each side.
pub(super) struct Queue {
    state: Mutex<State>,
    /// Wakes the writer thread early: a flush, a close, or a half-full queue.
    worker_wake: Condvar,
    /// Wakes callers: space in the queue, or a flush done.
    caller_wake: Condvar,
    /// Items the queue holds before a push waits; at least 2, so "half full" is at least 1.
    capacity: usize,
}

impl Queue {
    /// An empty queue holding up to `capacity` items (at least 2), its writer thread alive.
    pub(super) fn new(capacity: usize) -> Queue {
        Queue {
            state: Mutex::new(State {
                worker_alive: true,
                ..State::default()
            }),
            worker_wake: Condvar::new(),
            caller_wake: Condvar::new(),
            capacity: capacity.max(2),
        }
    }

    /// Locks the shared state.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queue half-updated in a way that
        // matters (pushes and swaps are single operations), so poisoning is ignored.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the writer thread to make room or finish a flush.
    fn wait_for_worker<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.caller_wake
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item`, waiting while the queue is full (backpressure); wakes the writer thread
    /// early when the queue reaches half full. When the writer thread is gone the item is
    /// counted as lost instead, so a logging call never hangs.
    pub(super) fn push(&self, item: Item) {
        let mut q = self.lock();
        while q.items.len() >= self.capacity && q.worker_alive {
            self.worker_wake.notify_one();
            q = self.wait_for_worker(q);
        }
        if !q.worker_alive {
            q.lost += 1;
            return;
        }
        q.items.push(item);
        if q.items.len() == self.capacity / 2 {
            self.worker_wake.notify_one();
        }
    }

    /// Asks the writer thread to write everything queued so far and waits until it has (or is
    /// gone); returns the state so the caller can read what went wrong.
    pub(super) fn flush(&self) -> MutexGuard<'_, State> {
        let mut q = self.lock();
        q.flush_requested += 1;
        let ticket = q.flush_requested;
        self.worker_wake.notify_one();
        while q.flush_done < ticket && q.worker_alive {
            q = self.wait_for_worker(q);
        }
        q
    }

    /// Tells the writer thread to write everything and stop (without waiting for it).
    pub(super) fn close(&self) {
        let mut q = self.lock();
        q.closing = true;
        self.worker_wake.notify_one();
    }

    /// The writer thread's side: sleeps until `interval` has passed or there is a reason to
    /// write now (a flush, a close, a half-full queue), then swaps the whole queue into
    /// `batch` (which must be empty, and whose buffer becomes the queue's).
    pub(super) fn take(&self, batch: &mut Vec<Item>, interval: Duration) -> Round {
        let mut q = self.lock();
        let deadline = Instant::now() + interval;
        while !(q.closing
            || q.flush_requested != q.flush_done
            || q.items.len() >= self.capacity / 2)
        {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            q = self
                .worker_wake
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        std::mem::swap(&mut q.items, batch);
        if batch.len() >= self.capacity / 2 {
            self.caller_wake.notify_all();
        }
        Round {
            ticket: q.flush_requested,
            closing: q.closing,
        }
    }

    /// The writer thread's side: records that `round` is written, with the writer's first
    /// error and the items it lost since the last round, and wakes the callers waiting on a
    /// flush. True when the writer was closing and nothing more was queued: the thread may stop.
    pub(super) fn done(&self, round: &Round, first_error: Option<&str>, lost: u64) -> bool {
        let mut q = self.lock();
        q.flush_done = round.ticket;
        if let Some(e) = first_error {
            q.first_error.get_or_insert_with(|| e.to_owned());
        }
        q.lost += lost;
        self.caller_wake.notify_all();
        round.closing && q.items.is_empty()
    }

    /// Marks the writer thread gone (however it ended): what is still queued is counted as
    /// lost, and every waiting caller is woken so none waits on it.
    pub(super) fn worker_gone(&self) {
        let mut q = self.lock();
        q.worker_alive = false;
        q.lost += q.items.len() as u64;
        q.items.clear();
        self.caller_wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_queued_scalar_stays_32_bytes() {
        // The cost model (module docs of `writer`) counts on a scalar being one small push.
        assert_eq!(std::mem::size_of::<Item>(), 32);
    }
}
