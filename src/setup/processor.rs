//! [`MlflowSpanProcessor`]: the span processor that finishes traces the way MLflow wants them.
//!
//! It wraps the processor that exports (batch or simple) and, when a *root* span ends:
//! - names the trace (`mlflow.traceTag.mlflow.traceName` = root span name, unless set),
//! - adds the trace-level data set from anywhere inside the trace (session, user, tags),
//! - remembers the trace as the last finished one ([`crate::last_trace_id`]).
//!
//! The trace-level data waits in its pipeline's [`TraceBook`].

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::metrics::Metrics;
use crate::record;
use crate::setup::pipeline::{Pipeline, PipelineLayer, Settings, TraceBook};
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
/// let pipeline = processor.pipeline_layer();
/// let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
/// let subscriber = tracing_subscriber::registry()
///     .with(pipeline)
///     .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("app")));
/// ```
#[derive(Debug)]
pub struct MlflowSpanProcessor<P> {
    inner: P,
    traces: Arc<TraceBook>,
    metrics: Option<Arc<Metrics>>,
}

impl<P: SpanProcessor> MlflowSpanProcessor<P> {
    /// Wraps `inner`, which receives every span after trace-level attributes were added.
    pub fn new(inner: P) -> Self {
        Self::with_book(inner, Arc::default())
    }

    /// Wraps `inner`, keeping trace-level data in `traces`.
    pub(crate) fn with_book(inner: P, traces: Arc<TraceBook>) -> Self {
        Self {
            inner,
            traces,
            metrics: None,
        }
    }

    /// Also records each span's metric points in `metrics`.
    pub(crate) fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    /// A layer that gives the subscriber a pipeline (default settings, tracing on) over this
    /// processor's trace-level data, for a subscriber you compose yourself.
    pub fn pipeline_layer(&self) -> PipelineLayer {
        let pipeline = Pipeline::new(true, Settings::default(), self.traces.clone(), None);
        PipelineLayer(Arc::new(pipeline))
    }
}

impl<P: SpanProcessor> SpanProcessor for MlflowSpanProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        if record::is_local_root(&span) {
            finish_root(&self.traces, &mut span);
        }
        if let Some(metrics) = &self.metrics {
            metrics.on_end(&span);
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
    use crate::setup::pipeline::MAX_PENDING_TRACES;
    use opentelemetry::trace::TraceId;
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
}
