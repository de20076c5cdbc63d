//! The console destination: keeps finished spans and prints them as a readable tree when the
//! guard drops, so a user sees every traced call without running any server.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{SpanId, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value as Json;

use super::queue::approx_size;
use super::worker::{Sent, Sink};
use crate::mlflow::trace::TokenUsage;
use crate::record;
use crate::transport::retry::Failure;
use crate::vocab::semconv::{mlflow, otel};

/// Most spans kept for the printout (the most recent ones).
pub(crate) const MAX_KEPT_SPANS: usize = 2_000;
/// Most (estimated) bytes of spans kept for the printout: a long-running service on the
/// console destination holds at most this much, whatever it traces.
pub(crate) const MAX_KEPT_BYTES: usize = 16 * 1024 * 1024;

/// The spans kept: a ring of the most recent ones, bounded by count and bytes.
#[derive(Debug, Default)]
struct Ring {
    spans: VecDeque<(SpanData, usize)>,
    bytes: usize,
    /// Older spans let go to stay within the bounds.
    evicted: usize,
}

/// The console destination's sink: keeps the most recent spans in memory for
/// [`render_tree`], at most [`MAX_KEPT_SPANS`] spans and [`MAX_KEPT_BYTES`] bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsoleExporter {
    ring: Arc<Mutex<Ring>>,
}

impl ConsoleExporter {
    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes every span kept so far, and how many older ones were let go.
    pub(crate) fn take(&self) -> (Vec<SpanData>, usize) {
        let ring = std::mem::take(&mut *self.ring());
        (
            ring.spans.into_iter().map(|(s, _)| s).collect(),
            ring.evicted,
        )
    }

    /// Copies of the spans kept so far that belong to `trace_id`.
    pub(crate) fn spans_of(&self, trace_id: opentelemetry::trace::TraceId) -> Vec<SpanData> {
        self.ring()
            .spans
            .iter()
            .filter(|(s, _)| s.span_context.trace_id() == trace_id)
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// Keeps `span`, letting the oldest go while a bound is passed.
    fn keep(&self, span: SpanData) {
        let size = approx_size(&span);
        let mut ring = self.ring();
        ring.bytes += size;
        ring.spans.push_back((span, size));
        while ring.spans.len() > MAX_KEPT_SPANS
            || (ring.bytes > MAX_KEPT_BYTES && ring.spans.len() > 1)
        {
            if let Some((_, size)) = ring.spans.pop_front() {
                ring.bytes -= size;
                ring.evicted += 1;
            }
        }
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

    /// Keeps the spans for the printout; every span counts as delivered (the printout shows
    /// the most recent ones and says how many older ones it let go).
    fn send(&mut self, batch: Vec<SpanData>, _timeout: Duration) -> Sent<Vec<SpanData>> {
        let exported = batch.len();
        for span in batch {
            self.keep(span);
        }
        Sent {
            exported,
            ..Sent::default()
        }
    }
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    record::attribute(&span.attributes, key)
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

/// Renders spans as one indented tree per trace, children in start order, after a line on
/// the `evicted` older spans the ring let go.
pub(crate) fn render_tree(spans: &[SpanData], evicted: usize) -> String {
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
    if evicted > 0 {
        let _ = writeln!(
            out,
            "({evicted} older span(s) not shown: the console keeps the last {MAX_KEPT_SPANS} \
             spans / {} MiB)",
            MAX_KEPT_BYTES / (1024 * 1024)
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlflow::metadata::test_span;

    #[test]
    fn the_console_keeps_a_bounded_ring_of_the_latest_spans() {
        let console = ConsoleExporter::default();
        for id in 1..=(MAX_KEPT_SPANS as u64 + 5) {
            console.keep(test_span(u128::from(id), id, 0, vec![]));
        }
        let (kept, evicted) = console.take();
        assert_eq!((kept.len(), evicted), (MAX_KEPT_SPANS, 5));
        assert_eq!(
            kept[0].span_context.span_id(),
            SpanId::from(6),
            "the oldest went first"
        );
        let tree = render_tree(&kept[..1], evicted);
        assert!(tree.starts_with("(5 older span(s) not shown"), "{tree}");

        // Large spans: the byte bound holds.
        let big = "x".repeat(MAX_KEPT_BYTES / 4);
        for id in 1..=8 {
            console.keep(test_span(
                1,
                id,
                0,
                vec![opentelemetry::KeyValue::new("big", big.clone())],
            ));
        }
        assert!(
            console.ring().bytes <= MAX_KEPT_BYTES,
            "{}",
            console.ring().bytes
        );
    }
}
