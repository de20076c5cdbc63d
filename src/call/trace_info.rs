//! Trace-level data (name, session, user, tags, metadata) set from anywhere inside a trace.
//!
//! The values are held per trace id until the trace's root span ends, then written onto the
//! root span by [`crate::MlflowSpanProcessor`]: MLflow reads the trace name and tags from
//! root attributes (`mlflow.traceTag.*`) and maps `session.id` / `user.id` to its trace
//! metadata.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry::KeyValue;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::vocab::json::capped_str;
use crate::vocab::semconv::{mlflow, otel, tracer};
use crate::setup::settings;

/// Traces with pending data; bounded so traces whose root never ends cannot grow it forever.
static PENDING: Mutex<Option<HashMap<TraceId, Vec<KeyValue>>>> = Mutex::new(None);
const MAX_PENDING_TRACES: usize = 10_000;

/// Takes the pending attributes of a trace (called when its root span ends).
pub(crate) fn take(trace_id: TraceId) -> Vec<KeyValue> {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    pending
        .as_mut()
        .and_then(|map| map.remove(&trace_id))
        .unwrap_or_default()
}

fn current_trace_id() -> Option<TraceId> {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| span_context.trace_id())
}

/// Records `kv` for the current trace; `false` when there is no current trace.
fn set(kv: KeyValue) -> bool {
    let Some(trace_id) = current_trace_id() else {
        return false;
    };
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    let map = pending.get_or_insert_with(HashMap::new);
    if map.len() >= MAX_PENDING_TRACES && !map.contains_key(&trace_id) {
        return false;
    }
    let attrs = map.entry(trace_id).or_default();
    attrs.retain(|existing| existing.key != kv.key);
    attrs.push(kv);
    true
}

fn text(value: impl Into<String>) -> String {
    capped_str(&value.into(), settings::max_attribute_bytes())
}

/// Names the current trace (MLflow's trace list shows it). Default: the root span's name.
///
/// Returns `false` when called outside any traced span.
pub fn set_trace_name(name: impl Into<String>) -> bool {
    set(KeyValue::new(mlflow::TRACE_NAME, text(name)))
}

/// Sets the session of the current trace (MLflow metadata `mlflow.trace.session`, filterable
/// in the UI). Returns `false` outside any traced span.
pub fn set_session_id(session_id: impl Into<String>) -> bool {
    set(KeyValue::new(otel::SESSION_ID, text(session_id)))
}

/// Sets the user of the current trace (MLflow metadata `mlflow.trace.user`).
/// Returns `false` outside any traced span.
pub fn set_user_id(user_id: impl Into<String>) -> bool {
    set(KeyValue::new(otel::USER_ID, text(user_id)))
}

/// Adds a tag to the current trace (`mlflow.traceTag.<key>` on the root span).
/// Returns `false` outside any traced span.
pub fn set_trace_tag(key: impl AsRef<str>, value: impl Into<String>) -> bool {
    let key = format!("{}{}", mlflow::TRACE_TAG_PREFIX, key.as_ref());
    set(KeyValue::new(key, text(value)))
}

/// Adds a metadata entry to the current trace (MLflow's `trace_metadata`, shown in the trace
/// info). MLflow's OTLP endpoint has no attribute for arbitrary metadata, so with the MLflow
/// destination the exporter sends it over the REST API right after the trace's spans.
/// Returns `false` outside any traced span.
pub fn set_trace_metadata(key: impl AsRef<str>, value: impl Into<String>) -> bool {
    let key = format!("{}{}", tracer::TRACE_METADATA_PREFIX, key.as_ref());
    set(KeyValue::new(key, text(value)))
}
