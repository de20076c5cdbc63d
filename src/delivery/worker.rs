//! The export worker: one OS thread per pipeline that batches queued spans, sends them through
//! a [`Sink`], retries with backoff, and settles every span's fate in the [`Counters`].
//!
//! It never blocks the app: spans reach it over an unbounded channel whose length the
//! processor bounds with counters. It sleeps until its next deadline (a batch's delay, a
//! retry) or inside one HTTP request bounded by the export timeout (cut to the shutdown
//! deadline once shutdown has begun). Spans do not wake it, except the first after it went
//! idle and one that fills a batch: a wake-up per span would cost the app's thread a system
//! call and the worker a context switch each. Flush and shutdown requests wake it at once.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use super::report::Reporter;
use super::stats::Counters;
use crate::transport::retry::{self, human, Failure};

/// What the processor sends the worker.
// Spans are the hot path and the common message: no extra allocation (Box) per span.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Msg {
    /// A finished span and its estimated size in bytes.
    Span(SpanData, usize),
    /// The provider's resource (sent before any span).
    Resource(Resource),
    /// Export everything received so far, then answer.
    Flush(SyncSender<()>),
    /// Export what can be exported before the deadline, then answer and stop.
    Shutdown(Instant, SyncSender<()>),
}

/// Batching, queueing and retry settings of one pipeline.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Most spans in one export request.
    pub(crate) max_batch: usize,
    /// Longest time a span waits for its batch to fill.
    pub(crate) delay: Duration,
    /// Timeout of one export request.
    pub(crate) export_timeout: Duration,
    /// How long one batch is retried before its spans count as failed.
    pub(crate) retry_timeout: Duration,
    /// Most spans queued or in flight; more are dropped.
    pub(crate) max_spans: usize,
    /// Most estimated bytes queued or in flight; more are dropped.
    pub(crate) max_bytes: usize,
    /// Whether warnings go to stderr too.
    pub(crate) stderr: bool,
}

impl Settings {
    /// `4096 spans / 32 MiB`.
    pub(crate) fn limits(&self) -> String {
        format!(
            "{} spans / {} MiB",
            self.max_spans,
            self.max_bytes / (1024 * 1024)
        )
    }
}

/// A destination as the worker drives it.
pub(crate) trait Sink: Send + 'static {
    /// Spans converted for sending, kept across retries.
    type Batch: Send;

    /// Where spans go, for messages (no credentials).
    fn describe(&self) -> String;
    /// Gets ready to send: resolves or checks what must be (the MLflow experiment), or checks
    /// that the destination answers. Called until it succeeds or fails for good.
    fn prepare(&mut self, timeout: Duration) -> Result<(), Failure>;
    /// Whether batches may be sent before [`Sink::prepare`] succeeded.
    fn sends_unprepared(&self) -> bool;
    /// The MLflow experiment id, once known.
    fn experiment_id(&self) -> Option<String> {
        None
    }
    /// Takes the provider's resource.
    fn set_resource(&mut self, _resource: &Resource) {}
    /// Converts spans into a batch.
    fn load(&mut self, spans: Vec<SpanData>) -> Self::Batch;
    /// Sends a batch once (splitting it if the destination asks for smaller requests).
    fn send(&mut self, batch: Self::Batch, timeout: Duration) -> Sent<Self::Batch>;
    /// Whether work that concerns no span waits (MLflow trace metadata). The worker does it
    /// one piece at a time, only while no batch is due and delivery is not failing, so it
    /// never holds up a span.
    fn extra_waiting(&self) -> bool {
        false
    }
    /// Does one piece of that work within `timeout`.
    fn extra(&mut self, _timeout: Duration) -> Extra {
        Extra::default()
    }
    /// Pieces of extra work queued so far, and settled (done or given up) so far.
    fn extra_progress(&self) -> (u64, u64) {
        (0, 0)
    }
    /// Gives up the extra work left (the shutdown deadline passed); how many pieces.
    fn drop_extra(&mut self) -> usize {
        0
    }
}

/// What became of extra work (MLflow trace metadata): stored, or skipped and why.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    pub(crate) stored: usize,
    pub(crate) skipped: usize,
    pub(crate) cause: Option<String>,
}

/// The outcome of [`Sink::send`].
#[derive(Debug)]
pub(crate) struct Sent<B> {
    pub(crate) exported: usize,
    pub(crate) refused: usize,
    pub(crate) truncated: usize,
    /// Why spans were refused.
    pub(crate) refusal: Option<String>,
    /// What is left to send after a passing failure: the batch, its span count, and why.
    pub(crate) retry: Option<(B, usize, Failure)>,
    /// Trace metadata skipped while sending (MLflow slower than the traces come).
    pub(crate) extra: Extra,
}

impl<B> Default for Sent<B> {
    fn default() -> Self {
        Self {
            exported: 0,
            refused: 0,
            truncated: 0,
            refusal: None,
            retry: None,
            extra: Extra::default(),
        }
    }
}

/// Whether the destination is ready ([`crate::TelemetryGuard::wait_until_ready`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readiness {
    Pending,
    Ready,
    Failed(String),
}

/// What the worker shares with the processor and the guard.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) counters: Counters,
    pub(crate) settings: Settings,
    /// Set while the worker sleeps with nothing to wait for: the next span must wake it (to
    /// start its batch's clock). Otherwise spans do not wake it; it wakes at its own deadline,
    /// or when a span fills a batch.
    pub(crate) idle: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug)]
struct State {
    readiness: Readiness,
    destination: String,
    experiment_id: Option<String>,
    last_error: Option<String>,
}

impl Shared {
    pub(crate) fn new(settings: Settings, destination: String) -> Self {
        Self {
            counters: Counters::default(),
            settings,
            idle: AtomicBool::new(false),
            state: Mutex::new(State {
                readiness: Readiness::Pending,
                destination,
                experiment_id: None,
                last_error: None,
            }),
            changed: Condvar::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn destination(&self) -> String {
        self.state().destination.clone()
    }

    pub(crate) fn experiment_id(&self) -> Option<String> {
        self.state().experiment_id.clone()
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.state().last_error.clone()
    }

    /// Waits until the destination is ready, failed for good, or `timeout` passed.
    pub(crate) fn wait_ready(&self, timeout: Duration) -> Readiness {
        let deadline = Instant::now() + timeout;
        let mut state = self.state();
        while state.readiness == Readiness::Pending {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.readiness.clone()
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state());
        self.changed.notify_all();
    }
}

/// A batch handed to the sink and not yet settled.
struct InFlight<B> {
    batch: B,
    spans: usize,
    bytes: usize,
    first_failure: Option<Instant>,
}

/// Longest an idle worker sleeps before looking at its inbox on its own (it notices that the
/// app side is gone within this).
const IDLE_LOOK: Duration = Duration::from_secs(10);

pub(crate) struct Worker<S: Sink> {
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    sink: S,
    reporter: Reporter,
    buf: VecDeque<(SpanData, usize)>,
    /// When the oldest span in `buf` arrived.
    oldest: Option<Instant>,
    inflight: Option<InFlight<S::Batch>>,
    prepared: bool,
    /// Set when `prepare` failed for good.
    unusable: bool,
    failures_in_row: u32,
    next_try: Instant,
    received: u64,
    settled: u64,
    /// Flushes waiting: spans to settle first, then (once those are) extra work to settle.
    flushes: Vec<(u64, Option<u64>, SyncSender<()>)>,
    shutdown: Option<(Instant, SyncSender<()>)>,
    disconnected: bool,
    dropped_seen: u64,
}

impl<S: Sink> Worker<S> {
    pub(crate) fn new(rx: Receiver<Msg>, shared: Arc<Shared>, sink: S) -> Self {
        let reporter = Reporter::new(shared.settings.stderr);
        Self {
            rx,
            shared,
            sink,
            reporter,
            buf: VecDeque::new(),
            oldest: None,
            inflight: None,
            prepared: false,
            unusable: false,
            failures_in_row: 0,
            next_try: Instant::now(),
            received: 0,
            settled: 0,
            flushes: Vec::new(),
            shutdown: None,
            disconnected: false,
            dropped_seen: 0,
        }
    }

    /// Runs until shutdown (or until every sender is gone and the queue is empty).
    pub(crate) fn run(mut self) {
        loop {
            let wait = self.wait_time();
            if self.disconnected {
                std::thread::sleep(wait.unwrap_or(Duration::from_millis(50)));
            } else {
                // Idle: the next span wakes us. Then look once more before sleeping, so a
                // span sent just before `idle` was set is not left waiting.
                self.shared.idle.store(wait.is_none(), Ordering::SeqCst);
                if !self.drain() {
                    std::thread::park_timeout(wait.unwrap_or(IDLE_LOOK));
                    self.drain();
                }
                self.shared.idle.store(false, Ordering::SeqCst);
            }
            self.work();
            self.extra_work();
            self.check_drops();
            self.answer_flushes();
            if self.finished() {
                self.abandon_extra("delivery to it is failing");
                self.answer_flushes();
                if let Some((_, reply)) = self.shutdown.take() {
                    let _ = reply.send(());
                }
                return;
            }
        }
    }

    /// Takes every message waiting; whether there was one.
    fn drain(&mut self) -> bool {
        let mut any = false;
        loop {
            match self.rx.try_recv() {
                Ok(msg) => {
                    any = true;
                    self.take(msg);
                }
                Err(TryRecvError::Empty) => return any,
                Err(TryRecvError::Disconnected) => {
                    self.disconnect();
                    return true;
                }
            }
        }
    }

    fn take(&mut self, msg: Msg) {
        match msg {
            Msg::Span(span, bytes) => {
                if self.buf.is_empty() {
                    self.oldest = Some(Instant::now());
                }
                self.buf.push_back((span, bytes));
                self.received += 1;
            }
            Msg::Resource(resource) => self.sink.set_resource(&resource),
            Msg::Flush(reply) => self.flushes.push((self.received, None, reply)),
            Msg::Shutdown(deadline, reply) => self.shutdown = Some((deadline, reply)),
        }
    }

    /// Every sender is gone without a shutdown (the provider was leaked or dropped without
    /// one): export what is left within one export timeout.
    fn disconnect(&mut self) {
        self.disconnected = true;
        if self.shutdown.is_none() {
            let (reply, _) = std::sync::mpsc::sync_channel(1);
            self.shutdown = Some((Instant::now() + self.shared.settings.export_timeout, reply));
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.shutdown.as_ref().map(|(deadline, _)| *deadline)
    }

    /// Shutdown asked, every span settled, and no extra work that could still be done.
    fn finished(&self) -> bool {
        self.shutdown.is_some()
            && self.buf.is_empty()
            && self.inflight.is_none()
            && !(self.sink.extra_waiting() && self.answering())
    }

    /// A batch should go now: shutdown or flush asked for it, a batch is full, or the oldest
    /// span waited long enough.
    fn due(&self, now: Instant) -> bool {
        !self.buf.is_empty()
            && (self.shutdown.is_some()
                || !self.flushes.is_empty()
                || self.buf.len() >= self.shared.settings.max_batch
                || self
                    .oldest
                    .is_some_and(|t| now >= t + self.shared.settings.delay))
    }

    /// How long to wait for the next message before there is work to do.
    fn wait_time(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        let mut at = |t: Instant| wake = Some(wake.map_or(t, |w| w.min(t)));
        if self.inflight.is_some() || self.due(now) {
            at(self.next_try.max(now));
        } else if let Some(oldest) = self.oldest.filter(|_| !self.buf.is_empty()) {
            at((oldest + self.shared.settings.delay).max(self.next_try));
        }
        if !self.prepared && !self.unusable {
            at(self.next_try.max(now));
        }
        if self.extra_allowed(now) {
            at(now);
        }
        if let Some(deadline) = self.deadline() {
            at(deadline);
        }
        wake.map(|t| t.saturating_duration_since(now))
    }

    /// Timeout of the next request: the export timeout, cut to the shutdown deadline.
    fn timeout(&self, now: Instant) -> Duration {
        let timeout = self.shared.settings.export_timeout;
        match self.deadline() {
            Some(deadline) => timeout
                .min(deadline.saturating_duration_since(now))
                .max(Duration::from_millis(1)),
            None => timeout,
        }
    }

    fn work(&mut self) {
        loop {
            let now = Instant::now();
            if self.deadline().is_some_and(|d| now >= d) {
                self.give_up_all();
                return;
            }
            if now < self.next_try {
                return;
            }
            if !self.prepared && !self.unusable {
                match self.sink.prepare(self.timeout(now)) {
                    Ok(()) => self.on_ready(),
                    Err(failure) => {
                        if failure.transient {
                            self.on_failure(&failure);
                            return;
                        }
                        self.unusable = true;
                        self.set_last_error(&failure.cause);
                        self.shared.update(|s| {
                            s.readiness = Readiness::Failed(failure.cause.clone());
                            s.destination = self.sink.describe();
                        });
                        self.reporter.warn(&format!(
                            "cannot use {}: {}",
                            self.sink.describe(),
                            failure.cause
                        ));
                    }
                }
                if !self.prepared && !self.sink.sends_unprepared() {
                    return;
                }
            }
            if self.inflight.is_none() {
                if !self.due(now) {
                    return;
                }
                self.load_batch();
            }
            if !self.send_inflight(now) {
                return;
            }
        }
    }

    fn load_batch(&mut self) {
        let n = self.buf.len().min(self.shared.settings.max_batch);
        let mut spans = Vec::with_capacity(n);
        let mut bytes = 0;
        for (span, size) in self.buf.drain(..n) {
            spans.push(span);
            bytes += size;
        }
        self.oldest = (!self.buf.is_empty()).then(Instant::now);
        self.inflight = Some(InFlight {
            batch: self.sink.load(spans),
            spans: n,
            bytes,
            first_failure: None,
        });
    }

    /// Sends the batch in flight once; `false` when it must wait (backoff).
    fn send_inflight(&mut self, now: Instant) -> bool {
        let Some(inflight) = self.inflight.take() else {
            return true;
        };
        let sent = self.sink.send(inflight.batch, self.timeout(now));
        let shared = self.shared.clone();
        let counters = &shared.counters;
        counters
            .exported
            .fetch_add(sent.exported as u64, std::sync::atomic::Ordering::AcqRel);
        counters
            .refused
            .fetch_add(sent.refused as u64, std::sync::atomic::Ordering::AcqRel);
        counters
            .truncated
            .fetch_add(sent.truncated as u64, std::sync::atomic::Ordering::AcqRel);
        self.settled += (sent.exported + sent.refused) as u64;
        self.settle_extra(sent.extra);
        if let Some(refusal) = &sent.refusal {
            self.set_last_error(refusal);
            self.reporter
                .refused(&self.sink.describe(), refusal, sent.refused);
        }
        if sent.exported > 0 {
            self.on_ready();
        }
        match sent.retry {
            None => {
                counters.release(inflight.spans, inflight.bytes);
                // The destination answered: whatever it said, it is reachable again.
                self.on_success();
                true
            }
            Some((batch, left, failure)) => {
                let first = inflight.first_failure.unwrap_or(now);
                let window = self.shared.settings.retry_timeout;
                self.on_failure(&failure);
                let past_window = Instant::now().duration_since(first) >= window;
                let past_deadline = self.deadline().is_some_and(|d| self.next_try >= d);
                if past_window || past_deadline {
                    self.fail(left, &failure.cause);
                    counters.release(inflight.spans, inflight.bytes);
                    true
                } else {
                    self.inflight = Some(InFlight {
                        batch,
                        spans: inflight.spans,
                        bytes: inflight.bytes,
                        first_failure: Some(first),
                    });
                    false
                }
            }
        }
    }

    /// Counts `spans` as failed.
    fn fail(&mut self, spans: usize, cause: &str) {
        self.shared
            .counters
            .failed
            .fetch_add(spans as u64, std::sync::atomic::Ordering::AcqRel);
        self.settled += spans as u64;
        self.set_last_error(cause);
    }

    /// The shutdown deadline passed: whatever is left fails.
    fn give_up_all(&mut self) {
        // While failing, the last error is why; otherwise the destination was just too slow.
        let cause = self
            .shared
            .last_error()
            .filter(|_| self.failures_in_row > 0)
            .unwrap_or_else(|| "the shutdown timeout passed before they were sent".into());
        if let Some(inflight) = self.inflight.take() {
            self.fail(inflight.spans, &cause);
            self.shared.counters.release(inflight.spans, inflight.bytes);
        }
        let left = self.buf.len();
        let bytes: usize = self.buf.drain(..).map(|(_, b)| b).sum();
        if left > 0 {
            self.fail(left, &cause);
            self.shared.counters.release(left, bytes);
        }
        self.abandon_extra("the shutdown timeout passed first");
    }

    /// Gives up the extra work left, counted and said once.
    fn abandon_extra(&mut self, why: &str) {
        let skipped = self.sink.drop_extra();
        if skipped > 0 {
            let cause = format!(
                "trace metadata not stored for {skipped} trace(s) in {}: {why}",
                self.sink.describe()
            );
            self.settle_extra(Extra {
                skipped,
                cause: Some(cause),
                ..Extra::default()
            });
        }
    }

    fn on_ready(&mut self) {
        if self.prepared {
            return;
        }
        self.prepared = true;
        let destination = self.sink.describe();
        let experiment_id = self.sink.experiment_id();
        self.shared.update(|s| {
            s.readiness = Readiness::Ready;
            s.destination = destination;
            s.experiment_id = experiment_id;
        });
    }

    fn on_success(&mut self) {
        self.failures_in_row = 0;
        self.next_try = Instant::now();
        let lost = self.shared.counters.snapshot().lost();
        self.reporter.recovered(&self.sink.describe(), lost);
    }

    fn on_failure(&mut self, failure: &Failure) {
        self.failures_in_row = self.failures_in_row.saturating_add(1);
        let wait = retry::backoff(self.failures_in_row, failure.retry_after, retry::jitter());
        self.next_try = Instant::now() + wait;
        self.set_last_error(&failure.cause);
        let settings = &self.shared.settings;
        let next = if self.shutdown.is_some() {
            "retrying until the shutdown timeout".to_owned()
        } else if !self.prepared {
            format!(
                "retrying in the background; spans wait in the queue ({})",
                settings.limits()
            )
        } else {
            format!(
                "retrying each batch for up to {}; new spans wait in the queue ({})",
                human(settings.retry_timeout),
                settings.limits()
            )
        };
        let lost = self.shared.counters.snapshot().lost();
        self.reporter
            .failing(&self.sink.describe(), &failure.cause, &next, lost);
    }

    fn set_last_error(&self, cause: &str) {
        self.shared
            .update(|s| s.last_error = Some(cause.to_owned()));
    }

    fn check_drops(&mut self) {
        let dropped = self
            .shared
            .counters
            .dropped
            .load(std::sync::atomic::Ordering::Acquire);
        if dropped > self.dropped_seen {
            self.dropped_seen = dropped;
            self.reporter
                .queue_full(&self.sink.describe(), &self.shared.settings.limits());
        }
    }

    /// Answers the flushes whose spans are settled, and the trace metadata of those spans.
    fn answer_flushes(&mut self) {
        let settled = self.settled;
        let (queued, extra_settled) = self.sink.extra_progress();
        // Extra work waits while delivery fails: a flush then waits for the spans only.
        let answering = self.answering();
        self.flushes.retain_mut(|(target, extra, reply)| {
            if settled < *target {
                return true;
            }
            let extra_target = *extra.get_or_insert(queued);
            if extra_settled >= extra_target || !answering {
                let _ = reply.send(());
                false
            } else {
                true
            }
        });
    }

    /// Counts what became of extra work, and says once when some was skipped.
    fn settle_extra(&mut self, extra: Extra) {
        let counters = &self.shared.counters;
        counters
            .metadata_stored
            .fetch_add(extra.stored as u64, std::sync::atomic::Ordering::AcqRel);
        counters
            .metadata_skipped
            .fetch_add(extra.skipped as u64, std::sync::atomic::Ordering::AcqRel);
        if let Some(cause) = extra.cause.filter(|_| extra.skipped > 0) {
            self.reporter.metadata_skipped(&cause);
        }
    }

    /// Does one piece of extra work (MLflow trace metadata) if nothing else is to do: the
    /// destination is ready and answering, no batch is due or in flight.
    fn extra_work(&mut self) {
        if !self.extra_allowed(Instant::now()) {
            return;
        }
        let extra = self.sink.extra(self.timeout(Instant::now()));
        self.settle_extra(extra);
    }

    /// The destination is ready and its last answer was not a failure.
    fn answering(&self) -> bool {
        self.prepared && self.failures_in_row == 0
    }

    fn extra_allowed(&self, now: Instant) -> bool {
        self.answering()
            && self.inflight.is_none()
            && !self.due(now)
            && self.deadline().is_none_or(|d| now < d)
            && self.sink.extra_waiting()
    }
}
