//! The console destination: keeps finished spans and prints them as a readable tree when the
//! guard drops, so a user sees every traced call without running any server.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{SpanId, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value as Json;

use super::retry::Failure;
use super::worker::{Sent, Sink};
use crate::mlflow::trace::TokenUsage;
use crate::vocab::semconv::{mlflow, otel};

/// Most spans kept for the printout.
const MAX_KEPT_SPANS: usize = 10_000;

/// The console destination's sink: keeps spans in memory for [`render_tree`].
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsoleExporter {
    spans: Arc<Mutex<Vec<SpanData>>>,
}

impl ConsoleExporter {
    /// Takes every span received so far.
    pub(crate) fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut *self.spans.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Copies of the spans received so far that belong to `trace_id`.
    pub(crate) fn spans_of(&self, trace_id: opentelemetry::trace::TraceId) -> Vec<SpanData> {
        self.spans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|s| s.span_context.trace_id() == trace_id)
            .cloned()
            .collect()
    }
}

impl Sink for ConsoleExporter {
    type Batch = Vec<SpanData>;

    fn describe(&self) -> String {
        "the console".into()
    }

    fn prepare(&mut self, _timeout: Duration) -> Result<(), Failure> {
        Ok(())
    }

    fn sends_unprepared(&self) -> bool {
        true
    }

    fn load(&mut self, spans: Vec<SpanData>) -> Vec<SpanData> {
        spans
    }

    /// Keeps the spans for the printout, up to [`MAX_KEPT_SPANS`]; the rest are refused.
    fn send(&mut self, batch: Vec<SpanData>, _timeout: Duration) -> Sent<Vec<SpanData>> {
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        let room = MAX_KEPT_SPANS.saturating_sub(spans.len());
        let total = batch.len();
        spans.extend(batch.into_iter().take(room));
        let kept = total.min(room);
        Sent {
            exported: kept,
            refused: total - kept,
            refusal: (kept < total)
                .then(|| format!("the console keeps at most {MAX_KEPT_SPANS} spans")),
            ..Sent::default()
        }
    }
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// One line describing a span: name, type, duration, model, usage, status.
fn describe(span: &SpanData) -> String {
    let mut line = span.name.to_string();
    if let Some(t) = attr(span, mlflow::SPAN_TYPE) {
        let _ = write!(line, " [{}]", t.as_str());
    }
    let ms = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let _ = write!(line, " {ms:.1} ms");
    if let Some(model) = attr(span, mlflow::LLM_MODEL) {
        let _ = write!(line, " model={}", model.as_str());
    }
    let usage = attr(span, mlflow::CHAT_TOKEN_USAGE)
        .and_then(|u| serde_json::from_str::<Json>(&u.as_str()).ok())
        .and_then(|u| TokenUsage::from_json(&u));
    if let Some(usage) = usage {
        let _ = write!(
            line,
            " tokens: {} in / {} out / {} total",
            usage.input_tokens, usage.output_tokens, usage.total_tokens
        );
    }
    if let Status::Error { description } = &span.status {
        let kind = attr(span, otel::ERROR_TYPE)
            .map(|v| v.as_str().into_owned())
            .unwrap_or_else(|| "error".into());
        let _ = write!(line, " ERROR {kind}: {description}");
    }
    line
}

/// Renders spans as one indented tree per trace, children in start order.
pub(crate) fn render_tree(spans: &[SpanData]) -> String {
    let ids: std::collections::HashSet<SpanId> =
        spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    let mut roots = Vec::new();
    for span in spans {
        if ids.contains(&span.parent_span_id) {
            children.entry(span.parent_span_id).or_default().push(span);
        } else {
            roots.push(span);
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_time);
    }
    roots.sort_by_key(|s| s.start_time);
    let mut out = String::new();
    for root in roots {
        let _ = writeln!(
            out,
            "trace tr-{} (set MLFLOW_TRACKING_URI to send it to MLflow)",
            root.span_context.trace_id()
        );
        walk(root, &children, "", true, &mut out);
    }
    out
}

fn walk(
    span: &SpanData,
    children: &HashMap<SpanId, Vec<&SpanData>>,
    prefix: &str,
    last: bool,
    out: &mut String,
) {
    let _ = writeln!(
        out,
        "{prefix}{}{}",
        if last { "└─ " } else { "├─ " },
        describe(span)
    );
    let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
    if let Some(kids) = children.get(&span.span_context.span_id()) {
        for (i, kid) in kids.iter().enumerate() {
            walk(kid, children, &child_prefix, i + 1 == kids.len(), out);
        }
    }
}
