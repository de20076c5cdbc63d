//! [`Pipeline`]: everything one tracing pipeline holds, shared as an `Arc` and reachable from
//! any code running under its subscriber.
//!
//! [`crate::init`] / [`crate::layer`] build one and put it in the subscriber as a
//! [`PipelineLayer`] (inside [`crate::OtelLayer`]); traced calls, `#[trace]` spans and the
//! trace-level setters find it with [`Pipeline::current`], which asks the current `tracing`
//! dispatcher. Two pipelines (two subscribers, or two tests) live side by side in one process:
//! nothing here is process-wide.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;

use crate::config::{enabled_by_env, Config};
use crate::delivery::Target;
use crate::record::content::{Capture, Redactor};

/// What every traced call of a pipeline reads: fixed when the pipeline is built.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Cap of one attribute value, in bytes.
    pub(crate) max_attribute_bytes: usize,
    /// Provider override ([`crate::Config::with_provider`]).
    pub(crate) provider: Option<String>,
    /// Whether streamed calls get `stream_options.include_usage` added.
    pub(crate) stream_usage: bool,
    /// Whether spans also carry `gen_ai.input.messages` / `gen_ai.output.messages`.
    pub(crate) genai_content: bool,
    /// How many chunk events to keep per stream: (first, last).
    pub(crate) chunk_events: (usize, usize),
    /// How much content spans carry.
    pub(crate) capture: Capture,
    /// The user's redaction hook.
    pub(crate) redactor: Option<Redactor>,
}

impl Settings {
    /// The settings `config` asks for (its defaults are [`Config::new`]'s).
    pub(crate) fn from_config(config: &Config) -> Self {
        Self {
            max_attribute_bytes: config.max_attribute_bytes,
            provider: config.provider.clone(),
            stream_usage: config.stream_usage,
            genai_content: config.genai_content,
            chunk_events: config.chunk_events,
            capture: config.capture.effective(),
            redactor: config.redactor.clone(),
        }
    }

    /// Whether a pipeline built from `config` starts traced: [`Config::with_enabled`] or
    /// `MLFLOW_TRACING_ENABLED` as [`Config::from_env`] read it, else the variable as the
    /// process started with it (read once).
    pub(crate) fn enabled_in(config: &Config) -> bool {
        !config.sdk_disabled && config.enabled.unwrap_or_else(enabled_by_env)
    }
}

impl Default for Settings {
    /// The settings of [`Config::new`].
    fn default() -> Self {
        Self::from_config(&Config::new())
    }
}

/// Traces with pending trace-level data; bounded so traces whose root never ends cannot grow
/// it forever. Entries are released when the trace's local root ends (a span with no parent,
/// or with a remote one).
pub(crate) const MAX_PENDING_TRACES: usize = 10_000;

/// The attribute work a traced call leaves for later: the pure mapping of what the call owns
/// (its request, its captured response) to attributes. The span processor runs it when the
/// span ends, on its recording thread when the pipeline has one, so JSON parsing,
/// serialisation and mapping stay off the caller's path.
pub(crate) type Recording = Box<dyn FnOnce() -> Vec<KeyValue> + Send>;

/// Recordings waiting for their span to end; beyond this many, a call records on its own
/// thread (spans that never reach the processor, such as unsampled ones, cannot grow it
/// forever: calls only leave recordings for spans that record).
pub(crate) const MAX_PENDING_RECORDINGS: usize = 10_000;

/// Recordings left by traced calls, by span, until the span ends.
#[derive(Default)]
pub(crate) struct Recordings {
    pending: Mutex<HashMap<SpanId, Recording>>,
}

impl std::fmt::Debug for Recordings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner()).len();
        f.debug_struct("Recordings")
            .field("pending", &pending)
            .finish()
    }
}

impl Recordings {
    /// Leaves `recording` for span `id` (appended to one already left); gives it back when
    /// [`MAX_PENDING_RECORDINGS`] are waiting.
    pub(crate) fn leave(&self, id: SpanId, recording: Recording) -> Result<(), Recording> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(earlier) = pending.remove(&id) {
            let both: Recording = Box::new(move || {
                let mut attrs = earlier();
                attrs.extend(recording());
                attrs
            });
            pending.insert(id, both);
            return Ok(());
        }
        if pending.len() >= MAX_PENDING_RECORDINGS {
            return Err(recording);
        }
        pending.insert(id, recording);
        Ok(())
    }

    /// Takes what was left for span `id`.
    pub(crate) fn take(&self, id: SpanId) -> Option<Recording> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.is_empty() {
            return None;
        }
        pending.remove(&id)
    }

    /// How many recordings wait.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Trace-level data (name, session, user, tags, metadata) waiting for each trace's root span
/// to end, the last trace whose root ended, and the calls' [`Recordings`].
#[derive(Debug, Default)]
pub(crate) struct TraceBook {
    pending: Mutex<HashMap<TraceId, Vec<KeyValue>>>,
    last: Mutex<Option<TraceId>>,
    /// Values refused because [`MAX_PENDING_TRACES`] traces were pending.
    refused: AtomicU64,
    /// What traced calls left for the span processor.
    pub(crate) recordings: Recordings,
}

impl TraceBook {
    /// Records `kv` for `trace_id` (a later value of the same key wins); `false` when the
    /// book is full.
    pub(crate) fn set(&self, trace_id: TraceId, kv: KeyValue) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() >= MAX_PENDING_TRACES && !pending.contains_key(&trace_id) {
            if self.refused.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!(
                    target: crate::delivery::report::TARGET,
                    "trace-level data refused: {MAX_PENDING_TRACES} traces hold data and none \
                     of their root spans has ended"
                );
            }
            return false;
        }
        let attrs = pending.entry(trace_id).or_default();
        attrs.retain(|existing| existing.key != kv.key);
        attrs.push(kv);
        true
    }

    /// Takes the pending data of a trace whose root span ended, and remembers it as the last.
    pub(crate) fn finish(&self, trace_id: TraceId) -> Vec<KeyValue> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(trace_id);
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&trace_id)
            .unwrap_or_default()
    }

    /// Traces with pending data, and values refused because the book was full.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> (usize, u64) {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner()).len();
        (pending, self.refused.load(Ordering::Relaxed))
    }

    /// The last trace whose root span ended.
    pub(crate) fn last(&self) -> Option<TraceId> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where a pipeline's spans go, for flushing and reading traces back.
#[derive(Debug, Clone)]
pub(crate) struct Export {
    pub(crate) provider: SdkTracerProvider,
    pub(crate) target: Target,
}

/// One tracing pipeline's state.
#[derive(Debug)]
pub(crate) struct Pipeline {
    enabled: AtomicBool,
    settings: Settings,
    traces: Arc<TraceBook>,
    export: Option<Export>,
}

impl Pipeline {
    /// A pipeline with these settings, trace book and export handles.
    pub(crate) fn new(
        enabled: bool,
        settings: Settings,
        traces: Arc<TraceBook>,
        export: Option<Export>,
    ) -> Self {
        Self {
            enabled: AtomicBool::new(enabled),
            settings,
            traces,
            export,
        }
    }

    /// The pipeline of the current `tracing` dispatcher, if it has one.
    pub(crate) fn current() -> Option<Arc<Pipeline>> {
        tracing::dispatcher::get_default(|dispatch| {
            dispatch
                .downcast_ref::<PipelineLayer>()
                .map(|layer| Arc::clone(&layer.0))
        })
    }

    /// Whether calls are traced right now.
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Turns tracing on or off.
    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    /// The settings every traced call reads.
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Trace-level data and the last trace.
    pub(crate) fn traces(&self) -> &TraceBook {
        &self.traces
    }

    /// The export handles (none for a pipeline without its own exporter).
    pub(crate) fn export(&self) -> Option<&Export> {
        self.export.as_ref()
    }
}

/// What a traced call uses: the current pipeline's switch and settings, or, under a
/// subscriber without a [`PipelineLayer`], the defaults and `MLFLOW_TRACING_ENABLED` as the
/// process started with it (read once, never per call).
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// Under a pipeline.
    Pipeline(Arc<Pipeline>),
    /// Under some other subscriber.
    Bare(Arc<Settings>),
}

impl Scope {
    /// The current scope, or `None` when tracing is switched off.
    pub(crate) fn current() -> Option<Scope> {
        match Pipeline::current() {
            Some(pipeline) => pipeline.is_enabled().then_some(Scope::Pipeline(pipeline)),
            None => enabled_by_env().then(|| {
                static DEFAULTS: OnceLock<Arc<Settings>> = OnceLock::new();
                Scope::Bare(Arc::clone(DEFAULTS.get_or_init(Arc::default)))
            }),
        }
    }

    /// The settings in force.
    pub(crate) fn settings(&self) -> &Settings {
        match self {
            Scope::Pipeline(pipeline) => pipeline.settings(),
            Scope::Bare(settings) => settings,
        }
    }

    /// Where calls leave their recordings for the span processor (none under some other
    /// subscriber: there, calls record on their own thread).
    pub(crate) fn recordings(&self) -> Option<&Recordings> {
        match self {
            Scope::Pipeline(pipeline) => Some(&pipeline.traces().recordings),
            Scope::Bare(_) => None,
        }
    }
}

/// The layer that makes a pipeline (settings, switch, trace-level data) reachable from code running under its subscriber. It
/// records nothing itself; [`crate::layer`] returns it inside [`crate::OtelLayer`].
#[derive(Debug, Clone)]
pub struct PipelineLayer(pub(crate) Arc<Pipeline>);

impl<S: Subscriber> tracing_subscriber::Layer<S> for PipelineLayer {
    #[doc(hidden)]
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        (id == TypeId::of::<Self>()).then_some(self as *const Self as *const ())
    }
}

/// Turns tracing of LLM calls (and [`macro@crate::trace`] spans) on or off at runtime for the
/// pipeline of the current subscriber, like `mlflow.openai.autolog(disable=True)`. While off,
/// traced calls go straight to async-openai and create no span. Without a pipeline (no
/// [`crate::init`] / [`crate::layer`] in the current subscriber) it does nothing.
///
/// The initial state comes from [`crate::Config::with_enabled`], else `MLFLOW_TRACING_ENABLED`
/// (`false` or `0` disables; read once per process when the config was not read by
/// [`crate::Config::from_env`]).
pub fn set_enabled(enabled: bool) {
    if let Some(pipeline) = Pipeline::current() {
        pipeline.set_enabled(enabled);
    }
}

/// Whether LLM calls are traced right now under the current subscriber. See [`set_enabled`].
pub fn is_enabled() -> bool {
    Scope::current().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    fn pipeline(enabled: bool) -> Arc<Pipeline> {
        Arc::new(Pipeline::new(
            enabled,
            Settings::default(),
            Arc::default(),
            None,
        ))
    }

    #[test]
    fn each_subscriber_sees_its_own_pipeline() {
        let (a, b) = (pipeline(true), pipeline(false));
        let sub_a = tracing_subscriber::registry().with(PipelineLayer(a.clone()));
        let sub_b = tracing_subscriber::registry().with(PipelineLayer(b.clone()));
        tracing::subscriber::with_default(sub_a, || {
            assert!(Arc::ptr_eq(&Pipeline::current().unwrap(), &a));
            assert!(is_enabled());
        });
        tracing::subscriber::with_default(sub_b, || {
            assert!(Arc::ptr_eq(&Pipeline::current().unwrap(), &b));
            assert!(!is_enabled());
            set_enabled(true);
            assert!(is_enabled());
        });
        assert!(a.is_enabled() && b.is_enabled());
    }

    #[test]
    fn trace_book_keeps_the_last_value_and_the_last_trace() {
        let book = TraceBook::default();
        let id = TraceId::from(7u128);
        assert!(book.set(id, KeyValue::new("k", "a")));
        assert!(book.set(id, KeyValue::new("k", "b")));
        let data = book.finish(id);
        assert_eq!(data, vec![KeyValue::new("k", "b")]);
        assert_eq!(book.last(), Some(id));
        assert!(book.finish(id).is_empty());
    }
}
