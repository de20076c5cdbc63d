//! [`QueueProcessor`]: the span processor on the app's side of the pipeline. Its `on_end`
//! costs a few atomic operations and a channel send: it never blocks, never takes a lock held
//! by export, and drops (and counts) a span when the queue is at its span or byte bound.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use opentelemetry::{Array, Context, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::worker::{Msg, Shared, Sink, Worker};

/// Extra time the caller waits for the worker's answer beyond the shutdown timeout (the
/// worker cuts its last request to the deadline, then answers).
const ANSWER_GRACE: Duration = Duration::from_millis(500);

/// The app-side half of a pipeline; the other half is a [`Worker`] thread.
#[derive(Debug)]
pub(crate) struct QueueProcessor {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    flush_timeout: Duration,
    /// The worker thread, to wake it.
    thread: Thread,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl QueueProcessor {
    /// Starts the worker thread for `sink`.
    pub(crate) fn start<S: Sink>(
        sink: S,
        shared: Arc<Shared>,
        flush_timeout: Duration,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let worker = Worker::new(rx, shared.clone(), sink);
        let handle = std::thread::Builder::new()
            .name("mlflow-tracing-export".into())
            .spawn(move || worker.run())?;
        Ok(Self {
            tx,
            shared,
            flush_timeout,
            thread: handle.thread().clone(),
            worker: Mutex::new(Some(handle)),
        })
    }

    /// Asks the worker something and waits for its answer at most `timeout`.
    fn ask(
        &self,
        msg: impl FnOnce(mpsc::SyncSender<()>) -> Msg,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .send(msg(reply))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        self.thread.unpark();
        answer
            .recv_timeout(timeout)
            .map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

/// Rough heap size of a span: what the queue's byte bound counts.
pub(crate) fn approx_size(span: &SpanData) -> usize {
    fn value(v: &Value) -> usize {
        match v {
            Value::String(s) => s.as_str().len(),
            Value::Array(Array::String(items)) => items.iter().map(|s| s.as_str().len() + 24).sum(),
            Value::Array(Array::Bool(items)) => items.len(),
            Value::Array(Array::I64(items)) => items.len() * 8,
            Value::Array(Array::F64(items)) => items.len() * 8,
            _ => 8,
        }
    }
    const PER_KEY_VALUE: usize = 64;
    const PER_SPAN: usize = 512;
    let attributes: usize = span
        .attributes
        .iter()
        .map(|kv| kv.key.as_str().len() + value(&kv.value) + PER_KEY_VALUE)
        .sum();
    let events: usize = span
        .events
        .iter()
        .map(|e| {
            e.name.len()
                + PER_KEY_VALUE
                + e.attributes
                    .iter()
                    .map(|kv| kv.key.as_str().len() + value(&kv.value) + PER_KEY_VALUE)
                    .sum::<usize>()
        })
        .sum();
    PER_SPAN + span.name.len() + attributes + events
}

impl Drop for QueueProcessor {
    /// Dropped without a shutdown (a provider leaked or dropped): the worker is told at once,
    /// and exports what is left within one export timeout.
    fn drop(&mut self) {
        self.tx = mpsc::channel().0;
        self.thread.unpark();
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let counters = &self.shared.counters;
        let settings = &self.shared.settings;
        counters.finished.fetch_add(1, Ordering::AcqRel);
        let size = approx_size(&span);
        let drop = |spans: usize, bytes: usize| {
            counters.release(spans, bytes);
            counters.dropped.fetch_add(1, Ordering::AcqRel);
        };
        let queued = counters.queued.fetch_add(1, Ordering::AcqRel);
        if queued >= settings.max_spans {
            return drop(1, 0);
        }
        let before = counters.queued_bytes.fetch_add(size, Ordering::AcqRel);
        // One span larger than the whole bound still goes when the queue is empty.
        if before > 0 && before + size > settings.max_bytes {
            return drop(1, size);
        }
        if self.tx.send(Msg::Span(span, size)).is_err() {
            return drop(1, size);
        }
        // Wake the worker only when it is idle (this span starts a batch's clock) or when
        // this span fills a batch; otherwise it wakes at its own deadline.
        if self.shared.idle.swap(false, Ordering::SeqCst)
            || (queued + 1).is_multiple_of(settings.max_batch.max(1))
        {
            self.thread.unpark();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let lost_before = self.shared.counters.snapshot().lost();
        self.ask(Msg::Flush, self.flush_timeout)?;
        let lost = self.shared.counters.snapshot().lost() - lost_before;
        if lost == 0 {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!(
                "{lost} span(s) not delivered to {}: {}",
                self.shared.destination(),
                self.shared.last_error().unwrap_or_default()
            )))
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        self.ask(
            |reply| Msg::Shutdown(deadline, reply),
            timeout + ANSWER_GRACE,
        )?;
        if let Some(handle) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = handle.join();
        }
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        let _ = self.tx.send(Msg::Resource(resource.clone()));
        self.thread.unpark();
    }
}
