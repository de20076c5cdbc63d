//! [`MlflowSpanProcessor`]: the span processor that finishes traces the way MLflow wants them.
//!
//! It wraps the processor that exports (batch or simple) and, when a span ends:
//! - runs the [`Recording`] its traced call left (request and response → attributes): on the
//!   processor's recording thread when it has one ([`crate::init`] / [`crate::layer`]), so
//!   JSON parsing, serialisation and mapping stay off the caller's path; inline otherwise;
//! - for a *root* span: names the trace (`mlflow.traceTag.mlflow.traceName` = root span name,
//!   unless set), adds the trace-level data set from anywhere inside the trace (session, user,
//!   tags), and remembers the trace as the last finished one ([`crate::last_trace_id`]);
//! - records the span's metric points, once its attributes are complete.
//!
//! The trace-level data and the recordings wait in the pipeline's [`TraceBook`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::record;
use crate::setup::pipeline::{Pipeline, PipelineLayer, Recording, Settings, TraceBook};
use crate::vocab::semconv::mlflow;

/// The span processor that finishes traces the way MLflow wants them. It wraps the processor
/// that exports (`P`) and, when a *root* span ends, names the trace
/// (`mlflow.traceTag.mlflow.traceName` = the root span's name unless set), adds the
/// trace-level data set inside the trace ([`crate::set_session_id`], ...), and remembers the
/// trace for [`crate::last_trace_id`].
///
/// [`crate::init`] installs it. Use it directly when you build your own `SdkTracerProvider`,
/// and add its [`MlflowSpanProcessor::pipeline_layer`] to your subscriber so the trace-level
/// setters and [`crate::last_trace_id`] reach it:
///
/// ```
/// use mlflow_tracing::MlflowSpanProcessor;
/// use opentelemetry::trace::TracerProvider as _;
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
/// use tracing_subscriber::prelude::*;
///
/// let exporter = InMemorySpanExporter::default();
/// let processor = MlflowSpanProcessor::new(SimpleSpanProcessor::new(exporter));
/// let pipeline = processor.pipeline_layer(&mlflow_tracing::Config::new());
/// let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
/// let subscriber = tracing_subscriber::registry()
///     .with(pipeline)
///     .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("app")));
/// ```
#[derive(Debug)]
pub struct MlflowSpanProcessor<P> {
    shared: Arc<Finish<P>>,
    /// The recording thread, started with the first span.
    offload: Option<RecordingThread>,
    /// Longest a flush waits for the recording thread.
    flush_timeout: Duration,
}

/// What finishing a span needs, shared with the recording thread.
#[derive(Debug)]
struct Finish<P> {
    inner: P,
    traces: Arc<TraceBook>,
    metrics: Option<Arc<Metrics>>,
}

/// Recordings waiting in the recording thread's inbox; beyond this many, the caller runs its
/// recording itself and queues the finished span behind the others (nothing is dropped, the
/// order is kept). Small, because a waiting recording holds the call's uncapped request and
/// response.
const MAX_WAITING_RECORDINGS: usize = 512;

/// Spans of any kind in the recording thread's inbox; beyond this many (a recording that never
/// returns has stopped the thread) a span skips the thread: recorded by the caller and passed
/// on at once, out of order, rather than held without bound.
const MAX_INBOX: usize = 16_384;

/// How long a flush waits for the recording thread to catch up, unless the pipeline says.
const RECORDING_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a busy recording thread looks at its inbox. Callers do not wake a busy thread
/// (a wake-up per span costs both threads more than the recording itself).
const RECORDING_BEAT: Duration = Duration::from_millis(2);

/// Longest an idle recording thread sleeps before it looks on its own (the first span after
/// it went idle wakes it).
const IDLE_SLEEP: Duration = Duration::from_secs(10);

/// The recording thread's inbox.
enum Job {
    /// Run the recording (when the caller has not), then pass the span on.
    Span(Box<SpanData>, Option<Recording>),
    /// Answer once every earlier job is done.
    Flush(SyncSender<()>),
    /// Answer and stop, once every earlier job is done.
    Stop(SyncSender<()>),
}

/// The recording thread and its inbox: every span ends up here once the thread runs, so the
/// export queue receives spans in the order they ended.
#[derive(Debug)]
struct Offload {
    tx: Sender<Job>,
    /// Spans in the inbox (flushes and stops always wake the thread), and how many of them
    /// carry a recording.
    inbox: AtomicUsize,
    recordings: AtomicUsize,
    /// Set while the thread sleeps with nothing to do: the next span wakes it.
    idle: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Offload {
    fn send(&self, job: Job) -> Result<(), Job> {
        let span = matches!(job, Job::Span(..));
        if span {
            // SeqCst, with `idle`: the thread going idle and a span arriving see each other.
            self.inbox.fetch_add(1, Ordering::SeqCst);
        }
        let sent = self.tx.send(job).map_err(|e| e.0);
        if span && sent.is_err() {
            self.inbox.fetch_sub(1, Ordering::AcqRel);
        }
        sent
    }

    fn wake(&self) {
        if let Some(thread) = self
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            thread.thread().unpark();
        }
    }
}

/// A pipeline's recording thread (once started), shared by its span processor and its
/// guard, which waits for it before counting spans.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordingThread(Arc<OnceLock<Offload>>);

impl RecordingThread {
    /// Sends `job` to the thread, if started, wakes it, and waits for its answer until
    /// `deadline`; whether it answered. Never waits past `deadline`, whatever the thread does.
    fn ask(&self, job: impl FnOnce(SyncSender<()>) -> Job, deadline: Instant) -> bool {
        let Some(offload) = self.0.get() else {
            return true;
        };
        let (reply, answer) = mpsc::sync_channel(1);
        if offload.send(job(reply)).is_err() {
            return false;
        }
        offload.wake();
        answer
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }

    /// Waits, at most `timeout`, until every span ended so far has been recorded and passed
    /// on (so that counts read next include it); whether it has.
    pub(crate) fn catch_up(&self, timeout: Duration) -> bool {
        self.ask(Job::Flush, Instant::now() + timeout)
    }

    /// Spans in the thread's inbox, not yet passed on.
    fn waiting(&self) -> usize {
        self.0.get().map_or(0, |o| o.inbox.load(Ordering::Acquire))
    }

    /// Stops the thread once it has run everything sent before; whether it did by
    /// `deadline` (a thread stuck in a recording is left behind, not waited for).
    fn stop(&self, deadline: Instant) -> bool {
        if !self.ask(Job::Stop, deadline) {
            return false;
        }
        if let Some(offload) = self.0.get() {
            let thread = offload
                .thread
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
        true
    }
}

impl<P: SpanProcessor> MlflowSpanProcessor<P> {
    /// Wraps `inner`, which receives every span after trace-level attributes were added.
    /// Calls' recordings run inline, on the thread that ends the span.
    pub fn new(inner: P) -> Self {
        Self::with_book(inner, Arc::default())
    }

    /// Wraps `inner`, keeping trace-level data in `traces`.
    pub(crate) fn with_book(inner: P, traces: Arc<TraceBook>) -> Self {
        Self {
            shared: Arc::new(Finish {
                inner,
                traces,
                metrics: None,
            }),
            offload: None,
            flush_timeout: RECORDING_FLUSH_TIMEOUT,
        }
    }

    /// Also records each span's metric points in `metrics`.
    pub(crate) fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.metrics = metrics;
        }
        self
    }

    /// Runs calls' recordings on `thread` (`mlflow-tracing-record`, started on first use),
    /// not on the threads that end the spans; a flush waits for it at most `flush_timeout`.
    pub(crate) fn with_recording_thread(
        mut self,
        thread: RecordingThread,
        flush_timeout: Duration,
    ) -> Self {
        self.offload = Some(thread);
        self.flush_timeout = flush_timeout;
        self
    }

    /// A layer that gives the subscriber a pipeline over this processor's trace-level data,
    /// with what `config` says traced calls record (content capture, caps, redaction,
    /// provider, on or off), for a subscriber you compose yourself.
    pub fn pipeline_layer(&self, config: &Config) -> PipelineLayer {
        let pipeline = Pipeline::new(
            Settings::enabled_in(config),
            Settings::from_config(config),
            self.shared.traces.clone(),
            None,
        );
        PipelineLayer(Arc::new(pipeline))
    }
}

impl<P: SpanProcessor> Finish<P> {
    /// Completes a span's attributes with what its recording produced, records its metrics,
    /// passes it on.
    fn complete(&self, mut span: SpanData, recorded: Vec<KeyValue>) {
        merge(&mut span, recorded);
        if let Some(metrics) = &self.metrics {
            metrics.on_end(&span);
        }
        self.inner.on_end(span);
    }
}

impl<P: SpanProcessor + 'static> MlflowSpanProcessor<P> {
    /// The recording thread, started on first use.
    fn offload(&self) -> Option<&Offload> {
        let cell = &self.offload.as_ref()?.0;
        Some(cell.get_or_init(|| {
            let (tx, rx) = mpsc::channel();
            let shared = self.shared.clone();
            let cell = self.offload.clone().expect("checked above");
            let thread = std::thread::Builder::new()
                .name("mlflow-tracing-record".into())
                .spawn(move || record_thread(&shared, &cell, &rx))
                .ok();
            Offload {
                tx,
                inbox: AtomicUsize::new(0),
                recordings: AtomicUsize::new(0),
                idle: AtomicBool::new(false),
                thread: Mutex::new(thread),
            }
        }))
    }
}

/// The recording thread: runs the recordings that arrived, in order (a panicking one costs its
/// span those attributes, not the thread), and passes every span on. Busy, it looks every
/// [`RECORDING_BEAT`]; idle, it sleeps until the next span wakes it.
fn record_thread<P: SpanProcessor>(shared: &Finish<P>, cell: &RecordingThread, rx: &Receiver<Job>) {
    // The thread starts inside `get_or_init`: wait until the cell holds its inbox counters.
    let offload = loop {
        match cell.0.get() {
            Some(offload) => break offload,
            None => std::thread::park_timeout(Duration::from_millis(1)),
        }
    };
    loop {
        let mut did = false;
        loop {
            let job = match rx.try_recv() {
                Ok(job) => job,
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            };
            did = true;
            match job {
                Job::Span(span, recording) => {
                    let recorded = match recording {
                        Some(recording) => {
                            offload.recordings.fetch_sub(1, Ordering::AcqRel);
                            run(recording)
                        }
                        None => Vec::new(),
                    };
                    shared.complete(*span, recorded);
                    // Counted until passed on, so that a stuck recording's span is too.
                    offload.inbox.fetch_sub(1, Ordering::AcqRel);
                }
                Job::Flush(reply) => {
                    let _ = reply.send(());
                }
                Job::Stop(reply) => {
                    let _ = reply.send(());
                    return;
                }
            }
        }
        if did {
            std::thread::park_timeout(RECORDING_BEAT);
            continue;
        }
        // Nothing came during a whole beat: sleep until a span wakes us. Look once more after
        // saying so, so that a span sent just before is not left waiting.
        offload.idle.store(true, Ordering::SeqCst);
        if offload.inbox.load(Ordering::SeqCst) == 0 {
            std::thread::park_timeout(IDLE_SLEEP);
        }
        offload.idle.store(false, Ordering::SeqCst);
    }
}

/// Runs a recording; a panic (a user's redaction hook, say) costs the span its attributes.
fn run(recording: Recording) -> Vec<KeyValue> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(recording)).unwrap_or_default()
}

/// Adds `attrs` to a span, except keys the span already has (trace-level data and what the
/// call set when it ended win over what it left for later).
fn merge(span: &mut SpanData, attrs: Vec<KeyValue>) {
    let set = span.attributes.len();
    span.attributes.reserve(attrs.len());
    for kv in attrs {
        if !span.attributes[..set].iter().any(|e| e.key == kv.key) {
            span.attributes.push(kv);
        }
    }
}

impl<P: SpanProcessor + 'static> SpanProcessor for MlflowSpanProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.shared.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if record::is_local_root(&span) {
            finish_root(&self.shared.traces, &mut span);
        }
        let recording = self
            .shared
            .traces
            .recordings
            .take(span.span_context.span_id());
        let Some(offload) = self.offload() else {
            let recorded = recording.map(run).unwrap_or_default();
            return self.shared.complete(span, recorded);
        };
        if offload.inbox.load(Ordering::Acquire) >= MAX_INBOX {
            // The thread has not moved (a recording that never returns): do not hold spans
            // without bound behind it.
            let recorded = recording.map(run).unwrap_or_default();
            return self.shared.complete(span, recorded);
        }
        // Every span goes through the thread's inbox, so spans leave in the order they ended
        // (a root after its children). The caller records when too many recordings wait.
        let mut span = Box::new(span);
        let recording = match recording {
            Some(recording)
                if offload.recordings.load(Ordering::Acquire) < MAX_WAITING_RECORDINGS =>
            {
                offload.recordings.fetch_add(1, Ordering::AcqRel);
                Some(recording)
            }
            Some(recording) => {
                merge(&mut span, run(recording));
                None
            }
            None => None,
        };
        let counted = recording.is_some();
        if let Err(job) = offload.send(Job::Span(span, recording)) {
            if counted {
                offload.recordings.fetch_sub(1, Ordering::AcqRel);
            }
            if let Job::Span(span, recording) = job {
                let recorded = recording.map(run).unwrap_or_default();
                self.shared.complete(*span, recorded);
            }
            return;
        }
        // A load first: the swap (a locked instruction) only when the thread sleeps.
        if offload.idle.load(Ordering::SeqCst) && offload.idle.swap(false, Ordering::SeqCst) {
            offload.wake();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let caught_up = self
            .offload
            .as_ref()
            .is_none_or(|thread| thread.catch_up(self.flush_timeout));
        if !caught_up {
            return Err(opentelemetry_sdk::error::OTelSdkError::Timeout(
                self.flush_timeout,
            ));
        }
        self.shared.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        let stuck = match &self.offload {
            Some(thread) if !thread.stop(deadline) => thread.waiting(),
            _ => 0,
        };
        let result = self
            .shared
            .inner
            .shutdown_with_timeout(deadline.saturating_duration_since(Instant::now()));
        if stuck > 0 {
            return Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
                format!(
                    "{stuck} span(s) not exported: still waiting for their recording after {} \
                 (a redaction hook that does not return?)",
                    crate::transport::retry::human(timeout)
                ),
            ));
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        // The provider sets the resource when it is built, before any span (and so before
        // the recording thread, which shares `shared`, starts).
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.inner.set_resource(resource);
        }
    }
}

/// Adds the trace-level attributes to a root span and records it as the last trace.
fn finish_root(traces: &TraceBook, span: &mut SpanData) {
    let trace_id = span.span_context.trace_id();
    let mut extra: Vec<KeyValue> = traces.finish(trace_id);
    let has_name =
        |attrs: &[KeyValue]| attrs.iter().any(|kv| kv.key.as_str() == mlflow::TRACE_NAME);
    if !has_name(&span.attributes) && !has_name(&extra) {
        extra.push(KeyValue::new(mlflow::TRACE_NAME, span.name.to_string()));
    }
    // Later values win: drop span attributes that the trace-level data overrides.
    span.attributes
        .retain(|kv| !extra.iter().any(|e| e.key == kv.key));
    span.attributes.extend(extra);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlflow::metadata::test_span;
    use crate::setup::pipeline::{MAX_PENDING_RECORDINGS, MAX_PENDING_TRACES};
    use opentelemetry::trace::{SpanId, TraceId};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};

    fn processor() -> (
        MlflowSpanProcessor<SimpleSpanProcessor<InMemorySpanExporter>>,
        Arc<TraceBook>,
    ) {
        let book = Arc::new(TraceBook::default());
        let exporter = InMemorySpanExporter::default();
        let processor =
            MlflowSpanProcessor::with_book(SimpleSpanProcessor::new(exporter), book.clone());
        (processor, book)
    }

    /// A service continuing incoming traces (remote parents) releases each trace's data when
    /// its local root ends, so the book never fills up.
    #[test]
    fn remote_parents_release_pending_data() {
        let (processor, book) = processor();
        for trace in 1..=(MAX_PENDING_TRACES as u128 + 10) {
            let id = TraceId::from(trace);
            assert!(
                book.set(
                    id,
                    KeyValue::new(format!("{}k", mlflow::TRACE_TAG_PREFIX), "v")
                ),
                "trace {trace}"
            );
            let mut local_root = test_span(trace, 2, 1, vec![]);
            local_root.parent_span_is_remote = true;
            processor.on_end(local_root);
        }
        assert_eq!(book.pending(), (0, 0));
        assert_eq!(
            book.last(),
            Some(TraceId::from(MAX_PENDING_TRACES as u128 + 10))
        );
    }

    /// Traces whose root never ends fill the book up to its bound, and the refusals are
    /// counted.
    #[test]
    fn the_book_is_bounded_and_counts_refusals() {
        let book = TraceBook::default();
        for trace in 1..=(MAX_PENDING_TRACES as u128 + 3) {
            book.set(TraceId::from(trace), KeyValue::new("k", "v"));
        }
        assert_eq!(book.pending(), (MAX_PENDING_TRACES, 3));
    }

    fn recording(attrs: Vec<KeyValue>) -> Recording {
        Box::new(move || attrs)
    }

    fn attr(span: &SpanData, key: &str) -> Option<String> {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    }

    /// A processor with its recording thread, exporting to memory.
    fn offloaded() -> (
        MlflowSpanProcessor<SimpleSpanProcessor<InMemorySpanExporter>>,
        Arc<TraceBook>,
        InMemorySpanExporter,
    ) {
        let book = Arc::new(TraceBook::default());
        let exporter = InMemorySpanExporter::default();
        let processor = MlflowSpanProcessor::with_book(
            SimpleSpanProcessor::new(exporter.clone()),
            book.clone(),
        )
        .with_recording_thread(RecordingThread::default(), RECORDING_FLUSH_TIMEOUT);
        (processor, book, exporter)
    }

    /// What a call left is added when its span ends; what the span already carries (here the
    /// trace name, set from trace-level data) wins over it.
    #[test]
    fn recordings_complete_the_span_and_trace_level_data_wins() {
        for offload in [false, true] {
            let (processor, book, exporter) = offloaded();
            let processor = if offload {
                processor
            } else {
                MlflowSpanProcessor::with_book(
                    SimpleSpanProcessor::new(exporter.clone()),
                    book.clone(),
                )
            };
            book.set(TraceId::from(7), KeyValue::new(mlflow::TRACE_NAME, "mine"));
            let left = book.recordings.leave(
                SpanId::from(1),
                recording(vec![
                    KeyValue::new(mlflow::SPAN_INPUTS, "{}"),
                    KeyValue::new(mlflow::TRACE_NAME, "from the call"),
                ]),
            );
            assert!(left.is_ok());
            processor.on_end(test_span(7, 1, 0, vec![]));
            processor.force_flush().unwrap();
            let spans = exporter.get_finished_spans().unwrap();
            assert_eq!(spans.len(), 1, "offload {offload}");
            assert_eq!(attr(&spans[0], mlflow::SPAN_INPUTS).as_deref(), Some("{}"));
            assert_eq!(attr(&spans[0], mlflow::TRACE_NAME).as_deref(), Some("mine"));
            assert_eq!(book.recordings.pending(), 0);
        }
    }

    /// A recording that panics (a user's redaction hook, say) costs its span those
    /// attributes; the recording thread goes on with the next span.
    #[test]
    fn a_panicking_recording_spares_the_thread() {
        let (processor, book, exporter) = offloaded();
        let boom: Recording = Box::new(|| panic!("redactor failed"));
        assert!(book.recordings.leave(SpanId::from(1), boom).is_ok());
        processor.on_end(test_span(1, 1, 0, vec![]));
        assert!(book
            .recordings
            .leave(SpanId::from(2), recording(vec![KeyValue::new("k", "v")]))
            .is_ok());
        processor.on_end(test_span(2, 2, 0, vec![]));
        processor.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(attr(&spans[1], "k").as_deref(), Some("v"));
        processor
            .shutdown_with_timeout(Duration::from_secs(5))
            .unwrap();
    }

    /// Counts the spans it gets, and how many had attribute `n`.
    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl SpanProcessor for Counting {
        fn on_start(&self, _span: &mut Span, _cx: &Context) {}
        fn on_end(&self, span: SpanData) {
            if attr(&span, "n").is_some() {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    /// Shutdown runs what is waiting before it stops.
    #[test]
    fn shutdown_drains_the_recording_thread() {
        let book = Arc::new(TraceBook::default());
        let processor = MlflowSpanProcessor::with_book(Counting::default(), book.clone())
            .with_recording_thread(RecordingThread::default(), RECORDING_FLUSH_TIMEOUT);
        for id in 1..=100u64 {
            let kv = vec![KeyValue::new("n", id.to_string())];
            assert!(book
                .recordings
                .leave(SpanId::from(id), recording(kv))
                .is_ok());
            processor.on_end(test_span(u128::from(id), id, 0, vec![]));
        }
        processor
            .shutdown_with_timeout(Duration::from_secs(5))
            .unwrap();
        assert_eq!(
            processor
                .shared
                .inner
                .0
                .load(std::sync::atomic::Ordering::SeqCst),
            100
        );
    }

    /// The recordings are bounded: past the bound, a call gets its recording back (and sets
    /// the attributes itself); a second recording for a span joins the first.
    #[test]
    fn recordings_are_bounded_and_join() {
        let book = TraceBook::default();
        for id in 1..=MAX_PENDING_RECORDINGS as u64 {
            assert!(book
                .recordings
                .leave(SpanId::from(id), recording(vec![]))
                .is_ok());
        }
        let extra = book
            .recordings
            .leave(SpanId::from(u64::MAX), recording(vec![]));
        assert!(extra.is_err());
        let joined = book
            .recordings
            .leave(SpanId::from(1), recording(vec![KeyValue::new("b", "2")]));
        assert!(joined.is_ok());
        assert_eq!(book.recordings.pending(), MAX_PENDING_RECORDINGS);
        let attrs = (book.recordings.take(SpanId::from(1)).unwrap())();
        assert_eq!(attrs.len(), 1);
    }
}
