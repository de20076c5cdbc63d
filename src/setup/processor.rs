//! [`MlflowSpanProcessor`]: the span processor that finishes traces the way MLflow wants them.
//!
//! It wraps the processor that exports (batch or simple) and, when a *root* span ends:
//! - names the trace (`mlflow.traceTag.mlflow.traceName` = root span name, unless set),
//! - adds the trace-level data set from anywhere inside the trace (session, user, tags),
//! - remembers the trace as the last finished one ([`crate::last_trace_id`]).

use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::vocab::semconv::mlflow;
use crate::call::trace_info;

static LAST_TRACE: Mutex<Option<TraceId>> = Mutex::new(None);

/// The id of the last trace whose root span ended in this process.
pub(crate) fn last_trace() -> Option<TraceId> {
    *LAST_TRACE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The span processor that finishes traces the way MLflow wants them. It wraps the processor
/// that exports (`P`) and, when a *root* span ends, names the trace
/// (`mlflow.traceTag.mlflow.traceName` = the root span's name unless set), adds the
/// trace-level data set inside the trace ([`crate::set_session_id`], ...), and remembers the
/// trace for [`crate::last_trace_id`].
///
/// [`crate::setup::init`] installs it. Use it directly when you build your own `SdkTracerProvider`:
///
/// ```
/// use mlflow_tracing::MlflowSpanProcessor;
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
///
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(MlflowSpanProcessor::new(SimpleSpanProcessor::new(exporter)))
///     .build();
/// ```
#[derive(Debug)]
pub struct MlflowSpanProcessor<P> {
    inner: P,
}

impl<P: SpanProcessor> MlflowSpanProcessor<P> {
    /// Wraps `inner`, which receives every span after trace-level attributes were added.
    pub fn new(inner: P) -> Self {
        Self { inner }
    }
}

impl<P: SpanProcessor> SpanProcessor for MlflowSpanProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if span.parent_span_id == SpanId::INVALID {
            finish_root(&mut span);
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Adds the trace-level attributes to a root span and records it as the last trace.
fn finish_root(span: &mut SpanData) {
    let trace_id = span.span_context.trace_id();
    let mut extra: Vec<KeyValue> = trace_info::take(trace_id);
    let has_name =
        |attrs: &[KeyValue]| attrs.iter().any(|kv| kv.key.as_str() == mlflow::TRACE_NAME);
    if !has_name(&span.attributes) && !has_name(&extra) {
        extra.push(KeyValue::new(mlflow::TRACE_NAME, span.name.to_string()));
    }
    // Later values win: drop span attributes that the trace-level data overrides.
    span.attributes
        .retain(|kv| !extra.iter().any(|e| e.key == kv.key));
    span.attributes.extend(extra);
    *LAST_TRACE.lock().unwrap_or_else(|e| e.into_inner()) = Some(trace_id);
}
