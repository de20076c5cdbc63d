//! Trace-level data (name, session, user, tags, metadata) set from anywhere inside a trace.
//!
//! The values are held per trace id until the trace's root span ends, then written onto the
//! root span by [`crate::MlflowSpanProcessor`]: MLflow reads the trace name and tags from
//! root attributes (`mlflow.traceTag.*`) and maps `session.id` / `user.id` to its trace
//! metadata.

use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry::KeyValue;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::setup::pipeline::Pipeline;
use crate::vocab::json::capped_str;
use crate::vocab::semconv::{mlflow, otel, tracer};

fn current_trace_id() -> Option<TraceId> {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| span_context.trace_id())
}

/// Records `value` under `key` for the current trace in the current pipeline; `false` when
/// there is no current trace or no pipeline.
fn set(key: impl Into<opentelemetry::Key>, value: impl Into<String>) -> bool {
    let (Some(trace_id), Some(pipeline)) = (current_trace_id(), Pipeline::current()) else {
        return false;
    };
    let text = capped_str(&value.into(), pipeline.settings().max_attribute_bytes);
    pipeline.traces().set(trace_id, KeyValue::new(key, text))
}

/// Names the current trace (MLflow's trace list shows it). Default: the root span's name.
///
/// Returns `false` when called outside any traced span (or under a subscriber without a
/// pipeline).
pub fn set_trace_name(name: impl Into<String>) -> bool {
    set(mlflow::TRACE_NAME, name)
}

/// Sets the session of the current trace (MLflow metadata `mlflow.trace.session`, filterable
/// in the UI). Returns `false` outside any traced span.
pub fn set_session_id(session_id: impl Into<String>) -> bool {
    set(otel::SESSION_ID, session_id)
}

/// Sets the user of the current trace (MLflow metadata `mlflow.trace.user`).
/// Returns `false` outside any traced span.
pub fn set_user_id(user_id: impl Into<String>) -> bool {
    set(otel::USER_ID, user_id)
}

/// Adds a tag to the current trace (`mlflow.traceTag.<key>` on the root span).
/// Returns `false` outside any traced span.
pub fn set_trace_tag(key: impl AsRef<str>, value: impl Into<String>) -> bool {
    let key = format!("{}{}", mlflow::TRACE_TAG_PREFIX, key.as_ref());
    set(key, value)
}

/// Adds a metadata entry to the current trace (MLflow's `trace_metadata`, shown in the trace
/// info). MLflow's OTLP endpoint has no attribute for arbitrary metadata, so with the MLflow
/// destination the exporter sends it over the REST API right after the trace's spans.
/// Returns `false` outside any traced span.
pub fn set_trace_metadata(key: impl AsRef<str>, value: impl Into<String>) -> bool {
    let key = format!("{}{}", tracer::TRACE_METADATA_PREFIX, key.as_ref());
    set(key, value)
}
