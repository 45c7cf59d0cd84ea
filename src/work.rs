//! Batches worked on by whichever thread has time: a batch is cut into
//! small chunks that any thread claims, and the outputs keep the input
//! order. `helpgate ingest` prepares (parses, guards, classifies) this way
//! on its prepare workers and on the store thread while it would otherwise
//! wait for its next batch; the daemon on the threads of
//! [`crate::pipeline::Pipeline::prepare_all`].
//!
//! With a fixed split (one core preparing, one storing) an import waited on
//! the prepare stage while the store thread sat idle for a fifth of the run
//! (perf: 1.6 of 2 cores busy); with equal halves per thread, a batch waits
//! for whichever half was preempted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Messages a thread claims at once: small, so the store thread never waits
/// long for a chunk another thread holds; large enough to make the claim's
/// cost vanish (one message takes ~35 us).
const CHUNK: usize = 8;

/// A lock whose holder panicked is still usable here: every update is a
/// single assignment, and a panic in preparing is a bug reported by the
/// thread's join anyway.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

enum Chunk<I, O> {
    Todo(Vec<I>),
    Busy,
    Done(Vec<O>),
}

/// One batch: inputs in chunks, outputs in the same order.
pub struct Job<I, O> {
    chunks: Vec<Mutex<Chunk<I, O>>>,
    /// The next chunk nobody has claimed.
    next: AtomicUsize,
    /// Chunks not yet done.
    left: Mutex<usize>,
    finished: Condvar,
}

impl<I, O> Job<I, O> {
    pub fn new(inputs: Vec<I>) -> Job<I, O> {
        let mut chunks = Vec::with_capacity(inputs.len().div_ceil(CHUNK));
        let mut inputs = inputs.into_iter().peekable();
        while inputs.peek().is_some() {
            chunks.push(Mutex::new(Chunk::Todo(
                inputs.by_ref().take(CHUNK).collect(),
            )));
        }
        Job {
            left: Mutex::new(chunks.len()),
            chunks,
            next: AtomicUsize::new(0),
            finished: Condvar::new(),
        }
    }

    fn has_unclaimed(&self) -> bool {
        self.next.load(Ordering::Relaxed) < self.chunks.len()
    }

    /// Claim and process chunks until none is left unclaimed.
    pub fn help(&self, work: impl Fn(I) -> O) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = self.chunks.get(i) else {
                return;
            };
            let Chunk::Todo(inputs) = std::mem::replace(&mut *lock(slot), Chunk::Busy) else {
                unreachable!("a chunk index is claimed once");
            };
            let outputs = inputs.into_iter().map(&work).collect();
            *lock(slot) = Chunk::Done(outputs);
            let mut left = lock(&self.left);
            *left -= 1;
            if *left == 0 {
                self.finished.notify_all();
            }
        }
    }

    /// Help until nothing is unclaimed, wait for the chunks others hold,
    /// and return every output in input order.
    pub fn finish(&self, work: impl Fn(I) -> O) -> Vec<O> {
        self.help(work);
        let mut left = lock(&self.left);
        while *left > 0 {
            left = self.finished.wait(left).unwrap_or_else(|e| e.into_inner());
        }
        drop(left);
        let mut out = Vec::new();
        for slot in &self.chunks {
            if let Chunk::Done(o) = std::mem::replace(&mut *lock(slot), Chunk::Busy) {
                out.extend(o);
            }
        }
        out
    }
}

/// Jobs that may still have unclaimed chunks, oldest first, for the
/// prepare workers.
pub struct Queue<I, O> {
    state: Mutex<QueueState<I, O>>,
    wake: Condvar,
}

struct QueueState<I, O> {
    jobs: VecDeque<Arc<Job<I, O>>>,
    closed: bool,
}

impl<I, O> Default for Queue<I, O> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I, O> Queue<I, O> {
    pub fn new() -> Queue<I, O> {
        Queue {
            state: Mutex::new(QueueState {
                jobs: VecDeque::new(),
                closed: false,
            }),
            wake: Condvar::new(),
        }
    }

    pub fn push(&self, job: Arc<Job<I, O>>) {
        lock(&self.state).jobs.push_back(job);
        self.wake.notify_all();
    }

    /// No more jobs: workers return once the queue is drained.
    pub fn close(&self) {
        lock(&self.state).closed = true;
        self.wake.notify_all();
    }

    /// A worker's loop: help the oldest job with unclaimed chunks until the
    /// queue is closed and drained.
    pub fn work(&self, work: impl Fn(I) -> O) {
        loop {
            let job = {
                let mut s = lock(&self.state);
                loop {
                    while s.jobs.front().is_some_and(|j| !j.has_unclaimed()) {
                        s.jobs.pop_front();
                    }
                    if let Some(j) = s.jobs.front() {
                        break j.clone();
                    }
                    if s.closed {
                        return;
                    }
                    s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
                }
            };
            job.help(&work);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_keep_input_order_whoever_does_the_work() {
        let queue = Queue::new();
        let jobs: Vec<Arc<Job<u32, u32>>> = (0..20)
            .map(|b| Arc::new(Job::new((b * 100..b * 100 + 37).collect())))
            .collect();
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| queue.work(|x| x * 2));
            }
            for j in &jobs {
                queue.push(j.clone());
            }
            for (b, j) in jobs.iter().enumerate() {
                let b = b as u32;
                let want: Vec<u32> = (b * 100..b * 100 + 37).map(|x| x * 2).collect();
                assert_eq!(j.finish(|x| x * 2), want);
            }
            queue.close();
        });
    }

    #[test]
    fn the_finishing_thread_alone_does_all_the_work_when_no_worker_runs() {
        let job: Job<u8, u8> = Job::new((0..=250).collect());
        let out = job.finish(|x| x.wrapping_add(1));
        assert_eq!(out.len(), 251);
        assert_eq!(out[0], 1);
        assert_eq!(out[250], 251);
    }

    #[test]
    fn an_empty_batch_finishes_at_once() {
        let job: Job<u8, u8> = Job::new(Vec::new());
        assert!(job.finish(|x| x).is_empty());
    }
}
