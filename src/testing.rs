//! A test kit: trace your code in a test and assert on what it recorded (cargo feature
//! `testing`).
//!
//! [`TestPipeline`] is a pipeline like [`crate::init`]'s, with the same settings, switch and
//! trace-level data, whose spans stay in memory. It lives in its own subscriber, so tests run
//! in parallel and never touch the global one. Read the result as [`Trace`]s, the type
//! [`crate::get_trace`] returns, and assert on it by the [`crate::semconv`] constants; or
//! compare a [`snapshot`] in which ids, timestamps and latencies are normalised.
//!
//! ```
//! use mlflow_tracing::semconv::mlflow;
//! use mlflow_tracing::testing::{snapshot, TestPipeline};
//! use mlflow_tracing::{trace, SpanType};
//!
//! #[trace(span_type = SpanType::Tool)]
//! fn get_weather(city: &str) -> String {
//!     format!("rainy in {city}")
//! }
//!
//! #[trace(span_type = SpanType::Agent)]
//! fn agent(question: &str) -> String {
//!     get_weather(question)
//! }
//!
//! let pipeline = TestPipeline::new();
//! pipeline.in_scope(|| agent("Paris"));
//!
//! let trace = pipeline.trace();
//! let root = trace.root().unwrap();
//! assert_eq!(root.span_type(), Some("AGENT"));
//! assert_eq!(root.outputs(), Some(&serde_json::json!("rainy in Paris")));
//! let tool = &trace.spans_named("get_weather").next().unwrap();
//! assert_eq!(tool.parent_id.as_ref(), Some(&root.span_id));
//! assert_eq!(tool.attribute(mlflow::SPAN_INPUTS), Some(&serde_json::json!({"city": "Paris"})));
//!
//! let snap = snapshot(&trace);
//! assert_eq!(snap["spans"][1]["parent"], "span-0");
//! ```
//!
//! With async code, run the future under the pipeline with [`TestPipeline::run`] (or install
//! it for the thread with [`TestPipeline::set_default`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use opentelemetry::trace::{TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor, SpanData,
};
use serde_json::{json, Map, Value};
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer as _;

use crate::config::Config;
use crate::mlflow::trace::{from_span_data, Trace};
use crate::setup::init::default_filter;
use crate::setup::pipeline::{Pipeline, PipelineLayer, Settings, TraceBook};
use crate::setup::processor::MlflowSpanProcessor;
use crate::vocab::semconv::{gen_ai, tracer};

/// A pipeline whose finished spans stay in memory, in its own subscriber.
#[derive(Debug, Clone)]
pub struct TestPipeline {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    dispatch: tracing::Dispatch,
}

impl Default for TestPipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl TestPipeline {
    /// A pipeline with the default settings (tracing on unless `MLFLOW_TRACING_ENABLED` says
    /// off).
    pub fn new() -> Self {
        Self::with_config(&Config::new())
    }

    /// A pipeline with `config`'s settings (attribute cap, provider, stream usage, GenAI
    /// content, chunk events, enabled). Its destination settings are ignored.
    pub fn with_config(config: &Config) -> Self {
        let exporter = InMemorySpanExporter::default();
        let traces = Arc::new(TraceBook::default());
        let provider = SdkTracerProvider::builder()
            .with_span_processor(MlflowSpanProcessor::with_book(
                SimpleSpanProcessor::new(exporter.clone()),
                traces.clone(),
            ))
            .build();
        let pipeline = Pipeline::new(
            Settings::enabled_in(config),
            Settings::from_config(config),
            traces,
            None,
        );
        let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let layer = PipelineLayer(Arc::new(pipeline))
            .and_then(otel)
            .with_filter(default_filter());
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        Self {
            exporter,
            provider,
            dispatch,
        }
    }

    /// The pipeline's subscriber, for `tracing::dispatcher::with_default` or
    /// `WithSubscriber::with_subscriber`.
    pub fn dispatch(&self) -> tracing::Dispatch {
        self.dispatch.clone()
    }

    /// Makes the pipeline the current thread's subscriber until the guard drops.
    pub fn set_default(&self) -> tracing::dispatcher::DefaultGuard {
        tracing::dispatcher::set_default(&self.dispatch)
    }

    /// Runs `f` under the pipeline.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        tracing::dispatcher::with_default(&self.dispatch, f)
    }

    /// Runs `future` under the pipeline (on whatever thread polls it).
    pub async fn run<F: Future>(&self, future: F) -> F::Output {
        future.with_subscriber(self.dispatch.clone()).await
    }

    /// Every finished span, as the exporter received it.
    pub fn spans(&self) -> Vec<SpanData> {
        let _ = self.provider.force_flush();
        self.exporter.get_finished_spans().unwrap_or_default()
    }

    /// Every trace with a finished span, in the order their first span finished.
    pub fn traces(&self) -> Vec<Trace> {
        let mut order: Vec<TraceId> = Vec::new();
        let mut by_trace: HashMap<TraceId, Vec<SpanData>> = HashMap::new();
        for span in self.spans() {
            let id = span.span_context.trace_id();
            if !by_trace.contains_key(&id) {
                order.push(id);
            }
            by_trace.entry(id).or_default().push(span);
        }
        order
            .into_iter()
            .map(|id| from_span_data(&format!("tr-{id}"), &by_trace[&id]))
            .collect()
    }

    /// The only trace. Panics when there is not exactly one.
    pub fn trace(&self) -> Trace {
        let mut traces = self.traces();
        assert_eq!(
            traces.len(),
            1,
            "expected one trace, got {}: {:#?}",
            traces.len(),
            traces
        );
        traces.remove(0)
    }

    /// Forgets the spans finished so far.
    pub fn reset(&self) {
        self.exporter.reset();
    }
}

/// Attributes whose values change from run to run.
const LATENCIES: &[&str] = &[
    gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK,
    tracer::TIME_TO_FIRST_CONTENT,
    tracer::TIME_TO_FIRST_REASONING,
    tracer::TIME_TO_FIRST_TOOL_CALL,
];

/// `trace` as JSON that stays the same from run to run: spans in start order named by
/// position (`span-0`, ...) with their parent's position, no timestamps, latencies replaced
/// by `"<duration>"`; names, status, attributes (decoded JSON) and events kept.
pub fn snapshot(trace: &Trace) -> Value {
    let position: HashMap<&str, String> = trace
        .spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), format!("span-{i}")))
        .collect();
    let spans: Vec<Value> = trace
        .spans
        .iter()
        .map(|s| {
            let mut attributes = Map::new();
            for (key, value) in &s.attributes {
                let value = if LATENCIES.contains(&key.as_str()) {
                    json!("<duration>")
                } else {
                    value.clone()
                };
                attributes.insert(key.clone(), value);
            }
            let events: Vec<Value> = s
                .events
                .iter()
                .map(|e| json!({"name": e.name, "attributes": e.attributes}))
                .collect();
            json!({
                "id": position[s.span_id.as_str()],
                "parent": s.parent_id.as_deref().and_then(|p| position.get(p)),
                "name": s.name,
                "status": s.status,
                "attributes": attributes,
                "events": events,
            })
        })
        .collect();
    json!({"spans": spans})
}
