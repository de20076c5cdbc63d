//! Traces read back ([`Trace`]): decoded from MLflow's `traces/get` JSON or built from spans
//! kept in memory, with MLflow's aggregation rules.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine as _;
use opentelemetry::trace::{SpanId, Status};
use opentelemetry::Value as OtelValue;
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value;

use crate::vocab::semconv::{mlflow, otel, tracer};

/// Token counts, per span or summed over a trace (MLflow's `token_usage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Prompt + completion tokens.
    pub total_tokens: u64,
    /// Prompt tokens read from the provider's cache, when reported.
    pub cache_read_input_tokens: Option<u64>,
}

impl TokenUsage {
    /// Reads an `mlflow.chat.tokenUsage` object.
    pub(crate) fn from_json(v: &Value) -> Option<Self> {
        let n = |k: &str| v.get(k).and_then(as_u64);
        Some(Self {
            input_tokens: n(mlflow::usage::INPUT_TOKENS)?,
            output_tokens: n(mlflow::usage::OUTPUT_TOKENS)?,
            total_tokens: n(mlflow::usage::TOTAL_TOKENS)?,
            cache_read_input_tokens: n(mlflow::usage::CACHE_READ_INPUT_TOKENS),
        })
    }

    fn add(&mut self, other: &TokenUsage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.total_tokens += other.total_tokens;
        if let Some(c) = other.cache_read_input_tokens {
            *self.cache_read_input_tokens.get_or_insert(0) += c;
        }
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

/// Trace-level information (MLflow's `TraceInfo`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceInfo {
    /// `tr-` + 32 hex digits.
    pub trace_id: String,
    /// `OK`, `ERROR` or `IN_PROGRESS`.
    pub state: String,
    /// Preview of the root span's inputs.
    pub request_preview: Option<String>,
    /// Preview of the root span's outputs.
    pub response_preview: Option<String>,
    /// Token usage summed over the trace (a span counts only if no ancestor has usage).
    pub token_usage: Option<TokenUsage>,
    /// Trace tags (`mlflow.traceName`, `service.name`, your own).
    pub tags: BTreeMap<String, String>,
    /// Trace metadata (`mlflow.trace.session`, `mlflow.trace.user`, ...).
    pub metadata: BTreeMap<String, String>,
}

/// An event of a span (`exception`, `mlflow.chunk.item.N`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    /// Event name.
    pub name: String,
    /// Event attributes, decoded.
    pub attributes: BTreeMap<String, Value>,
}

/// One span of a [`Trace`].
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSpan {
    /// Span name (MLflow shows duplicates as `Completions_1`, `Completions_2`).
    pub name: String,
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// Parent span id, `None` for the root.
    pub parent_id: Option<String>,
    /// `OK`, `ERROR` or `UNSET`.
    pub status: String,
    /// Status message of a failed span.
    pub status_message: Option<String>,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_time_ns: u64,
    /// End, in nanoseconds since the Unix epoch.
    pub end_time_ns: u64,
    /// Attributes, decoded as MLflow does (JSON text becomes JSON).
    pub attributes: BTreeMap<String, Value>,
    /// Events.
    pub events: Vec<SpanEvent>,
}

impl TraceSpan {
    /// An attribute by key.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.get(key)
    }

    /// `mlflow.spanType`, e.g. `CHAT_MODEL`.
    pub fn span_type(&self) -> Option<&str> {
        self.attribute(mlflow::SPAN_TYPE)?.as_str()
    }

    /// `mlflow.spanInputs`.
    pub fn inputs(&self) -> Option<&Value> {
        self.attribute(mlflow::SPAN_INPUTS)
    }

    /// `mlflow.spanOutputs`.
    pub fn outputs(&self) -> Option<&Value> {
        self.attribute(mlflow::SPAN_OUTPUTS)
    }

    /// `mlflow.chat.tokenUsage` of this span.
    pub fn token_usage(&self) -> Option<TokenUsage> {
        TokenUsage::from_json(self.attribute(mlflow::CHAT_TOKEN_USAGE)?)
    }
}

/// A finished trace: info and spans (in start order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trace {
    /// Trace-level information.
    pub info: TraceInfo,
    /// Spans, in start order.
    pub spans: Vec<TraceSpan>,
}

impl Trace {
    /// The root span.
    pub fn root(&self) -> Option<&TraceSpan> {
        self.spans.iter().find(|s| s.parent_id.is_none())
    }

    /// Span names as MLflow displays them, in span order: a name used by several spans gets
    /// `_1`, `_2`, ... in start order (`Completions_1`, `Completions_2`).
    pub fn display_names(&self) -> Vec<String> {
        let mut count: HashMap<&str, usize> = HashMap::new();
        for span in &self.spans {
            *count.entry(span.name.as_str()).or_default() += 1;
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        self.spans
            .iter()
            .map(|span| {
                if count[span.name.as_str()] == 1 {
                    return span.name.clone();
                }
                let n = seen.entry(span.name.as_str()).or_default();
                *n += 1;
                format!("{}_{n}", span.name)
            })
            .collect()
    }

    /// Spans with this name (as recorded, before MLflow's `_1`, `_2` display suffixes).
    pub fn spans_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a TraceSpan> {
        self.spans.iter().filter(move |s| s.name == name)
    }
}

/// Decodes MLflow's `traces/get` JSON.
pub(crate) fn from_rest(trace: &Value) -> Trace {
    let info = &trace["trace_info"];
    let string_map = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let metadata = string_map(&info["trace_metadata"]);
    let token_usage = metadata
        .get(mlflow::trace::TOKEN_USAGE)
        .and_then(|u| serde_json::from_str::<Value>(u).ok())
        .and_then(|u| TokenUsage::from_json(&u));
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let mut spans: Vec<TraceSpan> = trace["spans"]
        .as_array()
        .map(|spans| spans.iter().map(span_from_rest).collect())
        .unwrap_or_default();
    spans.sort_by_key(|s| s.start_time_ns);
    Trace {
        info: TraceInfo {
            trace_id: text(&info["trace_id"]).unwrap_or_default(),
            state: text(&info["state"]).unwrap_or_default(),
            request_preview: text(&info["request_preview"]),
            response_preview: text(&info["response_preview"]),
            token_usage,
            tags: string_map(&info["tags"]),
            metadata,
        },
        spans,
    }
}

fn b64_hex(v: &Value) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v.as_str()?)
        .ok()?;
    (!bytes.is_empty()).then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn span_from_rest(span: &Value) -> TraceSpan {
    let status_code = span["status"]["code"]
        .as_str()
        .unwrap_or("STATUS_CODE_UNSET");
    TraceSpan {
        name: span["name"].as_str().unwrap_or_default().to_owned(),
        span_id: b64_hex(&span["span_id"]).unwrap_or_default(),
        parent_id: b64_hex(&span["parent_span_id"]),
        status: status_code.trim_start_matches("STATUS_CODE_").to_owned(),
        status_message: span["status"]["message"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        start_time_ns: as_u64(&span["start_time_unix_nano"]).unwrap_or(0),
        end_time_ns: as_u64(&span["end_time_unix_nano"]).unwrap_or(0),
        attributes: key_values(&span["attributes"]),
        events: span["events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .map(|e| SpanEvent {
                        name: e["name"].as_str().unwrap_or_default().to_owned(),
                        attributes: key_values(&e["attributes"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn key_values(list: &Value) -> BTreeMap<String, Value> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|kv| Some((kv["key"].as_str()?.to_owned(), any_value(&kv["value"]))))
                .collect()
        })
        .unwrap_or_default()
}

/// OTLP `AnyValue` in proto-JSON (snake_case) → JSON.
fn any_value(v: &Value) -> Value {
    if let Some(s) = v.get("string_value") {
        return s.clone();
    }
    if let Some(i) = v.get("int_value") {
        return as_u64(i)
            .map(Value::from)
            .or_else(|| i.as_i64().map(Value::from))
            .or_else(|| {
                i.as_str()
                    .and_then(|s| s.parse::<i64>().ok())
                    .map(Value::from)
            })
            .unwrap_or_else(|| i.clone());
    }
    if let Some(d) = v.get("double_value") {
        return d.clone();
    }
    if let Some(b) = v.get("bool_value") {
        return b.clone();
    }
    if let Some(a) = v.get("array_value") {
        return Value::Array(
            a["values"]
                .as_array()
                .map(|vals| vals.iter().map(any_value).collect())
                .unwrap_or_default(),
        );
    }
    if let Some(kv) = v.get("kvlist_value") {
        return Value::Object(key_values(&kv["values"]).into_iter().collect());
    }
    Value::Null
}

/// Decodes an attribute the way MLflow's server does: JSON text that is an object, array or
/// string becomes that JSON; other text stays text.
fn decode_attribute(value: &OtelValue) -> Value {
    match value {
        OtelValue::Bool(b) => Value::Bool(*b),
        OtelValue::I64(i) => Value::from(*i),
        OtelValue::F64(f) => Value::from(*f),
        OtelValue::String(s) => match serde_json::from_str::<Value>(s.as_str()) {
            Ok(v @ (Value::Object(_) | Value::Array(_) | Value::String(_))) => v,
            _ => Value::String(s.to_string()),
        },
        OtelValue::Array(a) => {
            serde_json::from_str(&format!("[{}]", quoted_items(a))).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

fn quoted_items(array: &opentelemetry::Array) -> String {
    use opentelemetry::Array;
    match array {
        Array::String(items) => items
            .iter()
            .map(|s| Value::String(s.to_string()).to_string())
            .collect::<Vec<_>>()
            .join(","),
        Array::I64(items) => items
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        Array::F64(items) => items
            .iter()
            .map(f64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        Array::Bool(items) => items
            .iter()
            .map(bool::to_string)
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

fn nanos(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Builds a [`Trace`] from in-process spans, computing what MLflow's server would.
pub(crate) fn from_span_data(trace_id: &str, data: &[SpanData]) -> Trace {
    let ids: HashSet<SpanId> = data.iter().map(|s| s.span_context.span_id()).collect();
    let mut spans: Vec<TraceSpan> = data
        .iter()
        .map(|s| TraceSpan {
            name: s.name.to_string(),
            span_id: s.span_context.span_id().to_string(),
            parent_id: ids
                .contains(&s.parent_span_id)
                .then(|| s.parent_span_id.to_string()),
            status: match &s.status {
                Status::Ok => "OK",
                Status::Error { .. } => "ERROR",
                Status::Unset => "UNSET",
            }
            .to_owned(),
            status_message: match &s.status {
                Status::Error { description } if !description.is_empty() => {
                    Some(description.to_string())
                }
                _ => None,
            },
            start_time_ns: nanos(s.start_time),
            end_time_ns: nanos(s.end_time),
            attributes: s
                .attributes
                .iter()
                .map(|kv| (kv.key.to_string(), decode_attribute(&kv.value)))
                .collect(),
            events: s
                .events
                .iter()
                .map(|e| SpanEvent {
                    name: e.name.to_string(),
                    attributes: e
                        .attributes
                        .iter()
                        .map(|kv| (kv.key.to_string(), decode_attribute(&kv.value)))
                        .collect(),
                })
                .collect(),
        })
        .collect();
    spans.sort_by_key(|s| s.start_time_ns);

    let root = spans.iter().find(|s| s.parent_id.is_none());
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let mut tags = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    if let Some(root) = root {
        for (k, v) in &root.attributes {
            if let Some(tag) = k.strip_prefix(mlflow::TRACE_TAG_PREFIX) {
                tags.insert(tag.to_owned(), text(v));
            } else if let Some(key) = k.strip_prefix(tracer::TRACE_METADATA_PREFIX) {
                metadata.insert(key.to_owned(), text(v));
            }
        }
    }
    // Like the server: session and user from any span.
    for span in &spans {
        for (attr, key) in [
            (otel::SESSION_ID, mlflow::trace::SESSION),
            (otel::USER_ID, mlflow::trace::USER),
        ] {
            if let Some(v) = span.attributes.get(attr) {
                metadata.insert(key.to_owned(), text(v));
            }
        }
    }
    let state = match root.map(|r| r.status.as_str()) {
        None => "IN_PROGRESS",
        Some("ERROR") => "ERROR",
        Some(_) => "OK",
    };
    let preview =
        |v: Option<&Value>| v.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
    Trace {
        info: TraceInfo {
            trace_id: trace_id.to_owned(),
            state: state.to_owned(),
            request_preview: preview(root.and_then(TraceSpan::inputs)),
            response_preview: preview(root.and_then(TraceSpan::outputs)),
            token_usage: tree_usage(&spans),
            tags,
            metadata,
        },
        spans,
    }
}

/// MLflow's tree-aware sum: a span's usage counts only if no ancestor has usage.
fn tree_usage(spans: &[TraceSpan]) -> Option<TokenUsage> {
    let by_id: HashMap<&str, &TraceSpan> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut total: Option<TokenUsage> = None;
    for span in spans {
        let Some(usage) = span.token_usage() else {
            continue;
        };
        let mut parent = span.parent_id.as_deref();
        let mut shadowed = false;
        while let Some(id) = parent {
            let Some(p) = by_id.get(id) else { break };
            if p.token_usage().is_some() {
                shadowed = true;
                break;
            }
            parent = p.parent_id.as_deref();
        }
        if !shadowed {
            total.get_or_insert_with(TokenUsage::default).add(&usage);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_mlflow_rest_json() {
        let body = json!({"trace": {
            "trace_info": {
                "trace_id": "tr-0123", "state": "OK",
                "request_preview": "What is the capital of France?",
                "trace_metadata": {(mlflow::trace::TOKEN_USAGE):
                    "{\"input_tokens\": 12, \"output_tokens\": 8, \"total_tokens\": 20}"},
                "tags": {(mlflow::trace::NAME_TAG): "Completions"}
            },
            "spans": [{
                "name": "Completions", "span_id": "AAECAwQFBgc=", "parent_span_id": "",
                "start_time_unix_nano": 5, "end_time_unix_nano": "9",
                "status": {"code": "STATUS_CODE_OK"},
                "attributes": [
                    {"key": mlflow::SPAN_TYPE, "value": {"string_value": "CHAT_MODEL"}},
                    {"key": "max_tokens", "value": {"int_value": "100"}},
                    {"key": mlflow::CHAT_TOKEN_USAGE, "value": {"kvlist_value": {"values": [
                        {"key": "input_tokens", "value": {"int_value": 12}},
                        {"key": "output_tokens", "value": {"int_value": 8}},
                        {"key": "total_tokens", "value": {"int_value": 20}}]}}}
                ],
                "events": [{"name": "exception", "attributes": [
                    {"key": otel::EXCEPTION_TYPE, "value": {"string_value": "X"}}]}]
            }]
        }});
        let trace = from_rest(&body["trace"]);
        assert_eq!(trace.info.state, "OK");
        assert_eq!(
            trace.info.token_usage,
            Some(TokenUsage {
                input_tokens: 12,
                output_tokens: 8,
                total_tokens: 20,
                cache_read_input_tokens: None
            })
        );
        assert_eq!(trace.info.tags[mlflow::trace::NAME_TAG], "Completions");
        let span = &trace.spans[0];
        assert_eq!(span.span_id, "0001020304050607");
        assert_eq!(span.parent_id, None);
        assert_eq!(span.status, "OK");
        assert_eq!(span.span_type(), Some("CHAT_MODEL"));
        assert_eq!(span.attribute("max_tokens"), Some(&json!(100)));
        assert_eq!(span.token_usage().unwrap().total_tokens, 20);
        assert_eq!(span.events[0].attributes[otel::EXCEPTION_TYPE], "X");
        assert_eq!(span.end_time_ns, 9);
    }

    fn span(id: &str, parent: Option<&str>, usage: Option<(u64, u64)>) -> TraceSpan {
        let mut attributes = BTreeMap::new();
        if let Some((i, o)) = usage {
            attributes.insert(
                mlflow::CHAT_TOKEN_USAGE.to_owned(),
                json!({"input_tokens": i, "output_tokens": o, "total_tokens": i + o}),
            );
        }
        TraceSpan {
            name: id.into(),
            span_id: id.into(),
            parent_id: parent.map(str::to_owned),
            status: "OK".into(),
            status_message: None,
            start_time_ns: 0,
            end_time_ns: 0,
            attributes,
            events: vec![],
        }
    }

    #[test]
    fn usage_sum_is_tree_aware_like_mlflow() {
        let children_only = [
            span("root", None, None),
            span("a", Some("root"), Some((45, 14))),
            span("b", Some("root"), Some((39, 8))),
        ];
        let total = tree_usage(&children_only).unwrap();
        assert_eq!(
            (total.input_tokens, total.output_tokens, total.total_tokens),
            (84, 22, 106)
        );
        let parent_wins = [
            span("root", None, Some((100, 50))),
            span("a", Some("root"), Some((45, 14))),
        ];
        assert_eq!(tree_usage(&parent_wins).unwrap().total_tokens, 150);
        assert_eq!(tree_usage(&[span("x", None, None)]), None);
    }

    #[test]
    fn attributes_decode_like_the_server() {
        assert_eq!(
            decode_attribute(&OtelValue::from("CHAT_MODEL")),
            json!("CHAT_MODEL")
        );
        assert_eq!(
            decode_attribute(&OtelValue::from("{\"a\":1}")),
            json!({"a": 1})
        );
        assert_eq!(
            decode_attribute(&OtelValue::from("\"rainy\"")),
            json!("rainy")
        );
        assert_eq!(decode_attribute(&OtelValue::from("42")), json!("42"));
        assert_eq!(decode_attribute(&OtelValue::I64(42)), json!(42));
    }
}
