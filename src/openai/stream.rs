//! Streamed chat completions: one span owns the whole stream.
//!
//! - [`StreamSink`] receives the raw SSE bytes from the HTTP layer (in async-openai's reader
//!   task) and rebuilds the answer the way MLflow Python does: content and DeepSeek
//!   `reasoning_content` concatenated, tool-call fragments merged by index, finish reasons,
//!   the last usage seen, per-chunk timestamps and a capped set of chunk events.
//! - [`TracedStream`] hands async-openai's items to the caller unchanged (minus the usage-only
//!   chunk when the tracer asked for it), and closes the span exactly once: at the end of the
//!   stream, or as cancelled when dropped early.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionStreamResponse, FinishReason, Role,
};
use futures::Stream;
use opentelemetry::KeyValue;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::openai::capture::BodySink;
use crate::vocab::json::capped_str;
use crate::record::ErrorRecord;
use crate::vocab::semconv::{gen_ai, mlflow, otel, tracer};
use crate::setup::settings;
use crate::call::span::ChatCall;

// ---------------------------------------------------------------------------------------
// What only the raw chunk text has: DeepSeek's `reasoning_content` deltas and usage extras.
// Everything else comes from async-openai's typed chunks, so most chunks are never parsed
// twice.

#[derive(Deserialize)]
struct RawReasoning<'a> {
    #[serde(borrow, default)]
    choices: Vec<RawReasoningChoice<'a>>,
}

#[derive(Deserialize)]
struct RawReasoningChoice<'a> {
    #[serde(default)]
    index: u32,
    #[serde(borrow, default)]
    delta: Option<RawReasoningDelta<'a>>,
}

#[derive(Deserialize)]
struct RawReasoningDelta<'a> {
    #[serde(borrow, default)]
    reasoning_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawUsage {
    #[serde(default)]
    usage: Option<Value>,
}

/// Whether `json` has `"key": {` (an object value, not `null`) somewhere.
fn has_object_field(json: &str, key: &str) -> bool {
    let mut rest = json;
    while let Some(pos) = rest.find(key) {
        rest = &rest[pos + key.len()..];
        let value = rest.trim_start().strip_prefix(':').map(str::trim_start);
        if value.is_some_and(|v| v.starts_with('{')) {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------
// The rebuild.

#[derive(Default)]
struct ToolAcc {
    id: String,
    kind: String,
    name: String,
    arguments: String,
}

#[derive(Default)]
struct ChoiceAcc {
    role: Option<&'static str>,
    content: String,
    has_content: bool,
    reasoning: String,
    refusal: Option<String>,
    finish_reason: Option<&'static str>,
    tools: BTreeMap<u32, ToolAcc>,
}

fn finish_reason_str(reason: &FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::FunctionCall => "function_call",
    }
}

fn role_str(role: &Role) -> &'static str {
    match role {
        Role::Developer => "developer",
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
        Role::Function => "function",
    }
}

/// Everything learnt from a stream: typed chunks (content, tool calls, finish reasons, usage)
/// plus the raw SSE text (reasoning, provider usage extras, chunk events, `[DONE]`).
pub(crate) struct Aggregator {
    start: Instant,
    line: Vec<u8>,
    event_data: String,
    event_name: String,
    id: Option<String>,
    model: Option<String>,
    created: Option<u64>,
    system_fingerprint: Option<String>,
    service_tier: Option<Value>,
    choices: BTreeMap<u32, ChoiceAcc>,
    typed_usage: Option<Value>,
    raw_usage: Option<Value>,
    typed_chunks: usize,
    raw_chunks: usize,
    saw_done: bool,
    first_chunk: Option<Duration>,
    first_content: Option<Duration>,
    first_reasoning: Option<Duration>,
    first_tool_call: Option<Duration>,
    head_cap: usize,
    tail_cap: usize,
    events: usize,
    head: Vec<(SystemTime, usize, String)>,
    tail: VecDeque<(SystemTime, usize, String)>,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator")
            .field("events", &self.events)
            .field("typed_chunks", &self.typed_chunks)
            .finish_non_exhaustive()
    }
}

impl Aggregator {
    pub(crate) fn new(start: Instant, (head_cap, tail_cap): (usize, usize)) -> Self {
        Self {
            start,
            line: Vec::new(),
            event_data: String::new(),
            event_name: String::new(),
            id: None,
            model: None,
            created: None,
            system_fingerprint: None,
            service_tier: None,
            choices: BTreeMap::new(),
            typed_usage: None,
            raw_usage: None,
            typed_chunks: 0,
            raw_chunks: 0,
            saw_done: false,
            first_chunk: None,
            first_content: None,
            first_reasoning: None,
            first_tool_call: None,
            head_cap,
            tail_cap,
            events: 0,
            head: Vec::new(),
            tail: VecDeque::new(),
        }
    }

    /// Feeds raw SSE bytes (any split).
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(pos);
            rest = &after[1..];
            if self.line.is_empty() {
                self.on_line(line);
            } else {
                let mut full = std::mem::take(&mut self.line);
                full.extend_from_slice(line);
                self.on_line(&full);
                full.clear();
                self.line = full;
            }
        }
        self.line.extend_from_slice(rest);
    }

    fn on_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch();
            return;
        }
        let text = match std::str::from_utf8(line) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if !self.event_data.is_empty() {
                    self.event_data.push('\n');
                }
                self.event_data.push_str(value);
            }
            "event" => self.event_name = value.to_owned(),
            _ => {} // comments (`:`), ids, retry
        }
    }

    fn dispatch(&mut self) {
        if self.event_data.is_empty() || self.event_name == "keepalive" {
            self.event_data.clear();
            self.event_name.clear();
            return;
        }
        let data = std::mem::take(&mut self.event_data);
        self.event_name.clear();
        if data == "[DONE]" {
            self.saw_done = true;
        } else {
            self.on_raw_chunk(&data);
        }
        // Keep the buffer: no allocation per event.
        self.event_data = data;
        self.event_data.clear();
    }

    /// One raw chunk's JSON text: timing, event, and what typed chunks lack.
    pub(crate) fn on_raw_chunk(&mut self, data: &str) {
        let elapsed = self.start.elapsed();
        self.raw_chunks += 1;
        self.first_chunk.get_or_insert(elapsed);
        self.keep_event(data);
        if data.contains("\"reasoning_content\"") {
            if let Ok(raw) = serde_json::from_str::<RawReasoning<'_>>(data) {
                for choice in raw.choices {
                    let reasoning = choice.delta.and_then(|d| d.reasoning_content);
                    if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
                        self.first_reasoning.get_or_insert(elapsed);
                        self.choices
                            .entry(choice.index)
                            .or_default()
                            .reasoning
                            .push_str(&r);
                    }
                }
            }
        }
        if has_object_field(data, "\"usage\"") {
            if let Ok(RawUsage { usage: Some(usage) }) = serde_json::from_str(data) {
                // Servers sending cumulative usage on every chunk: the last one wins.
                self.raw_usage = Some(usage);
            }
        }
    }

    fn keep_event(&mut self, data: &str) {
        let index = self.events;
        self.events += 1;
        let now = SystemTime::now();
        if self.head.len() < self.head_cap {
            self.head.push((now, index, data.to_owned()));
        } else if self.tail_cap > 0 {
            // Reuse the evicted chunk's buffer: no allocation per chunk in long streams.
            let mut buf = if self.tail.len() == self.tail_cap {
                self.tail.pop_front().map(|(_, _, b)| b).unwrap_or_default()
            } else {
                String::new()
            };
            buf.clear();
            buf.push_str(data);
            self.tail.push_back((now, index, buf));
        }
    }

    /// One typed chunk, as the caller receives it. `raw` is false when the raw body is not
    /// captured: the chunk then also provides the timing and the event.
    pub(crate) fn on_typed_chunk(&mut self, chunk: &CreateChatCompletionStreamResponse, raw: bool) {
        let elapsed = self.start.elapsed();
        self.typed_chunks += 1;
        if !raw {
            self.first_chunk.get_or_insert(elapsed);
            if let Ok(text) = serde_json::to_string(chunk) {
                self.keep_event(&text);
            }
        }
        if self.id.is_none() {
            self.id = Some(chunk.id.clone());
            self.model = Some(chunk.model.clone());
            self.created = Some(u64::from(chunk.created));
            // Deprecated by OpenAI, still sent by DeepSeek and others.
            #[allow(deprecated)]
            self.system_fingerprint
                .clone_from(&chunk.system_fingerprint);
            self.service_tier = chunk
                .service_tier
                .as_ref()
                .and_then(|t| serde_json::to_value(t).ok());
        }
        if let Some(usage) = &chunk.usage {
            self.typed_usage = serde_json::to_value(usage).ok();
        }
        for choice in &chunk.choices {
            let acc = self.choices.entry(choice.index).or_default();
            if let Some(reason) = &choice.finish_reason {
                acc.finish_reason = Some(finish_reason_str(reason));
            }
            let delta = &choice.delta;
            if let Some(role) = &delta.role {
                acc.role.get_or_insert(role_str(role));
            }
            if let Some(content) = &delta.content {
                acc.has_content = true;
                if !content.is_empty() {
                    self.first_content.get_or_insert(elapsed);
                    acc.content.push_str(content);
                }
            }
            if let Some(refusal) = &delta.refusal {
                acc.refusal
                    .get_or_insert_with(String::new)
                    .push_str(refusal);
            }
            for call in delta.tool_calls.iter().flatten() {
                self.first_tool_call.get_or_insert(elapsed);
                let tool = acc.tools.entry(call.index).or_default();
                if let Some(id) = call.id.as_deref().filter(|id| !id.is_empty()) {
                    tool.id = id.to_owned();
                }
                if call.r#type.is_some() {
                    tool.kind = "function".to_owned();
                }
                if let Some(function) = &call.function {
                    if let Some(name) = &function.name {
                        tool.name.push_str(name);
                    }
                    if let Some(arguments) = &function.arguments {
                        tool.arguments.push_str(arguments);
                    }
                }
            }
        }
    }

    /// Whether any chunk arrived.
    pub(crate) fn has_chunks(&self) -> bool {
        self.events > 0 || self.typed_chunks > 0
    }

    /// Raw chunks arrived but never a `data: [DONE]`: the body was cut off.
    pub(crate) fn cut_off(&self) -> bool {
        self.raw_chunks > 0 && !self.saw_done
    }

    /// The stream rebuilt as a non-streamed `chat.completion`.
    pub(crate) fn completion(&self) -> Value {
        let choices: Vec<Value> = self
            .choices
            .iter()
            .map(|(index, c)| {
                let mut message = Map::new();
                message.insert("role".into(), json!(c.role.unwrap_or("assistant")));
                let content = (c.has_content || c.tools.is_empty()).then(|| c.content.clone());
                message.insert("content".into(), json!(content));
                if !c.reasoning.is_empty() {
                    message.insert("reasoning_content".into(), json!(c.reasoning));
                }
                if let Some(refusal) = &c.refusal {
                    message.insert("refusal".into(), json!(refusal));
                }
                if !c.tools.is_empty() {
                    let calls: Vec<Value> = c
                        .tools
                        .values()
                        .map(|t| {
                            json!({
                                "id": t.id,
                                "type": if t.kind.is_empty() { "function" } else { &t.kind },
                                "function": {"name": t.name, "arguments": t.arguments},
                            })
                        })
                        .collect();
                    message.insert("tool_calls".into(), Value::Array(calls));
                }
                json!({
                    "index": index,
                    "message": message,
                    "finish_reason": c.finish_reason,
                })
            })
            .collect();
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("object".into(), json!("chat.completion"));
        out.insert("created".into(), json!(self.created));
        out.insert("model".into(), json!(self.model));
        if let Some(fp) = &self.system_fingerprint {
            out.insert("system_fingerprint".into(), json!(fp));
        }
        if let Some(tier) = &self.service_tier {
            out.insert("service_tier".into(), tier.clone());
        }
        out.insert("choices".into(), Value::Array(choices));
        if let Some(usage) = self.raw_usage.as_ref().or(self.typed_usage.as_ref()) {
            out.insert("usage".into(), usage.clone());
        }
        Value::Object(out)
    }

    /// Streaming facts: latencies, counts, usage source.
    pub(crate) fn attributes(&self) -> Vec<KeyValue> {
        let has_usage = self.raw_usage.is_some() || self.typed_usage.is_some();
        let mut attrs = vec![
            KeyValue::new(
                tracer::STREAM_CHUNKS,
                i64::try_from(self.events.max(self.typed_chunks)).unwrap_or(i64::MAX),
            ),
            KeyValue::new(
                tracer::USAGE_SOURCE,
                if has_usage {
                    tracer::USAGE_SOURCE_PROVIDER
                } else {
                    tracer::USAGE_SOURCE_ABSENT
                },
            ),
        ];
        for (key, value) in [
            (gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK, self.first_chunk),
            (tracer::TIME_TO_FIRST_CONTENT, self.first_content),
            (tracer::TIME_TO_FIRST_REASONING, self.first_reasoning),
            (tracer::TIME_TO_FIRST_TOOL_CALL, self.first_tool_call),
        ] {
            if let Some(d) = value {
                attrs.push(KeyValue::new(key, d.as_secs_f64()));
            }
        }
        attrs
    }

    /// The kept chunk events: (time, chunk index, chunk JSON).
    fn events(&self) -> impl Iterator<Item = &(SystemTime, usize, String)> {
        self.head.iter().chain(self.tail.iter())
    }
}

// ---------------------------------------------------------------------------------------
// The sink shared with the HTTP layer.

/// Receives the raw SSE body of one streamed call.
pub(crate) struct StreamSink {
    cx: opentelemetry::Context,
    state: Mutex<Aggregator>,
    /// The HTTP layer saw the response (so the raw body will arrive here).
    captured: std::sync::atomic::AtomicBool,
}

impl StreamSink {
    pub(crate) fn new(start: Instant, cx: opentelemetry::Context) -> Arc<Self> {
        Arc::new(Self {
            cx,
            state: Mutex::new(Aggregator::new(start, settings::chunk_events())),
            captured: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether the capture layer delivers the raw body (else feed typed chunks).
    pub(crate) fn is_captured(&self) -> bool {
        self.captured.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Aggregator> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl BodySink for StreamSink {
    fn trace_context(&self) -> opentelemetry::Context {
        self.cx.clone()
    }

    fn status(&self, _status: u16) {
        self.captured
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn data(&self, bytes: &[u8]) {
        self.lock().feed(bytes);
    }
}

// ---------------------------------------------------------------------------------------
// The stream handed to the caller.

/// How a stream ended.
enum End {
    /// The server finished (`[DONE]` seen, or the body ended).
    Finished,
    /// Dropped by the consumer before the end.
    Cancelled,
}

/// The caller's stream: async-openai's items, one span.
pub(crate) struct TracedStream {
    inner: ChatCompletionResponseStream,
    call: Option<ChatCall>,
    sink: Arc<StreamSink>,
    /// The tracer added `include_usage`: hide the usage-only chunk.
    injected: bool,
    /// The raw body reaches the sink (else typed chunks provide timing and events).
    raw: bool,
    consumed: usize,
    error: Option<ErrorRecord>,
}

impl TracedStream {
    pub(crate) fn new(
        inner: ChatCompletionResponseStream,
        call: ChatCall,
        sink: Arc<StreamSink>,
        injected: bool,
    ) -> Self {
        let raw = sink.is_captured();
        Self {
            inner,
            call: Some(call),
            sink,
            injected,
            raw,
            consumed: 0,
            error: None,
        }
    }

    fn finish(&mut self, end: End) {
        let Some(call) = self.call.take() else { return };
        let span = call.span().clone();
        let agg = self.sink.lock();
        let mut attrs = agg.attributes();
        attrs.push(KeyValue::new(
            tracer::STREAM_CHUNKS_CONSUMED,
            self.consumed as i64,
        ));
        attrs.push(KeyValue::new(tracer::STREAM_USAGE_INJECTED, self.injected));
        let max = settings::max_attribute_bytes();
        for (time, index, data) in agg.events() {
            span.add_event_with_timestamp(
                format!("{}{index}", mlflow::CHUNK_EVENT_PREFIX),
                *time,
                vec![KeyValue::new(mlflow::CHUNK_VALUE, capped_str(data, max))],
            );
        }
        let completion = agg.has_chunks().then(|| agg.completion());
        // Raw bytes that never produced a `[DONE]` mean the body was cut off.
        let cut_off = agg.cut_off();
        drop(agg);

        let failure = match end {
            End::Cancelled => Some(ErrorRecord {
                error_type: otel::ERROR_TYPE_CANCELLED.into(),
                message: format!(
                    "the stream was dropped after {} chunks, before it ended",
                    self.consumed
                ),
                http_status: None,
            }),
            End::Finished => self.error.take().or_else(|| {
                cut_off.then(|| ErrorRecord {
                    error_type: "IncompleteStream".into(),
                    message: "the response stream ended before `data: [DONE]`".into(),
                    http_status: None,
                })
            }),
        };
        attrs.push(KeyValue::new(tracer::COMPLETED, failure.is_none()));
        call.finish_stream(completion.as_ref(), attrs, failure.as_ref());
    }
}

impl Stream for TracedStream {
    type Item = Result<CreateChatCompletionStreamResponse, OpenAIError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match self.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.sink.lock().on_typed_chunk(&chunk, self.raw);
                    if self.injected && chunk.choices.is_empty() && chunk.usage.is_some() {
                        continue; // the usage chunk the caller did not ask for
                    }
                    self.consumed += 1;
                    return Poll::Ready(Some(Ok(chunk)));
                }
                Poll::Ready(Some(Err(error))) => {
                    if self.error.is_none() {
                        self.error = Some(ErrorRecord::from_openai(&error));
                    }
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    self.finish(End::Finished);
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for TracedStream {
    fn drop(&mut self) {
        self.finish(End::Cancelled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(choices: Value) -> Value {
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "m",
               "choices": choices})
    }

    fn delta(delta: Value, finish: Value) -> Value {
        chunk(json!([{"index": 0, "delta": delta, "finish_reason": finish}]))
    }

    fn sse(chunks: &[Value]) -> String {
        let mut out = String::new();
        for c in chunks {
            out.push_str(&format!("data: {c}\n\n"));
        }
        out + "data: [DONE]\n\n"
    }

    fn agg() -> Aggregator {
        Aggregator::new(Instant::now(), (100, 20))
    }

    /// Feeds chunks as the traced stream does: raw SSE (split every `split` bytes) from the
    /// HTTP layer, and the typed chunks the caller receives.
    fn feed(a: &mut Aggregator, chunks: &[Value], split: usize) {
        let body = sse(chunks);
        for piece in body.as_bytes().chunks(split) {
            a.feed(piece);
        }
        for c in chunks {
            let typed: CreateChatCompletionStreamResponse =
                serde_json::from_value(c.clone()).expect("a valid typed chunk");
            a.on_typed_chunk(&typed, true);
        }
    }

    #[test]
    fn content_is_concatenated_from_any_byte_split() {
        let chunks = [
            delta(json!({"role": "assistant", "content": ""}), Value::Null),
            delta(json!({"content": "Hel"}), Value::Null),
            delta(json!({"content": "lo"}), json!("stop")),
            chunk(json!([]))
                .as_object()
                .cloned()
                .map(|mut c| {
                    c.insert(
                        "usage".into(),
                        json!({"prompt_tokens": 9, "completion_tokens": 6,
                    "total_tokens": 15, "prompt_cache_hit_tokens": 4}),
                    );
                    Value::Object(c)
                })
                .unwrap(),
        ];
        for split in [1, 3, 7, 10_000] {
            let mut a = agg();
            feed(&mut a, &chunks, split);
            assert!(a.saw_done && !a.cut_off());
            assert_eq!(a.events, 4);
            assert_eq!(
                a.completion(),
                json!({"id": "c1", "object": "chat.completion", "created": 7, "model": "m",
                    "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "Hello"}}],
                    // The raw usage, with the provider's extra field the typed one drops.
                    "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15,
                              "prompt_cache_hit_tokens": 4}})
            );
        }
    }

    #[test]
    fn tool_call_fragments_merge_by_index() {
        let mut a = agg();
        feed(
            &mut a,
            &[
                delta(
                    json!({"role": "assistant", "tool_calls": [
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
                    Value::Null,
                ),
                delta(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
                    Value::Null,
                ),
                delta(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
                    json!("tool_calls"),
                ),
            ],
            10_000,
        );
        let out = a.completion();
        let message = &out["choices"][0]["message"];
        assert_eq!(message["content"], Value::Null);
        assert_eq!(
            message["tool_calls"],
            json!([
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
            ])
        );
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        assert!(a.first_tool_call.is_some() && a.first_content.is_none());
    }

    #[test]
    fn reasoning_comes_from_the_raw_text() {
        let mut a = agg();
        feed(
            &mut a,
            &[
                delta(json!({"reasoning_content": "Think"}), Value::Null),
                delta(json!({"reasoning_content": "ing."}), Value::Null),
                delta(json!({"content": "Paris."}), json!("stop")),
            ],
            5,
        );
        let out = a.completion();
        assert_eq!(
            out["choices"][0]["message"]["reasoning_content"],
            "Thinking."
        );
        assert_eq!(out["choices"][0]["message"]["content"], "Paris.");
        assert!(a.first_reasoning.unwrap() <= a.first_content.unwrap());
    }

    #[test]
    fn cumulative_usage_last_one_wins() {
        let with_usage = |d: Value, f: Value, out: u64| {
            let mut c = delta(d, f);
            c["usage"] =
                json!({"prompt_tokens": 5, "completion_tokens": out, "total_tokens": 5 + out});
            c
        };
        let mut a = agg();
        feed(
            &mut a,
            &[
                with_usage(json!({"content": "a"}), Value::Null, 1),
                with_usage(json!({"content": "b"}), Value::Null, 2),
                {
                    let mut c = delta(json!({}), json!("stop"));
                    c["usage"] = Value::Null;
                    c
                },
            ],
            10_000,
        );
        assert_eq!(a.completion()["usage"]["total_tokens"], 7);
        let attrs = a.attributes();
        assert!(attrs
            .iter()
            .any(|kv| kv.key.as_str() == tracer::USAGE_SOURCE
                && kv.value.as_str() == tracer::USAGE_SOURCE_PROVIDER));
    }

    #[test]
    fn chunk_events_keep_first_and_last() {
        let mut a = Aggregator::new(Instant::now(), (3, 2));
        let chunks: Vec<Value> = (0..10)
            .map(|i| delta(json!({"content": i.to_string()}), Value::Null))
            .collect();
        feed(&mut a, &chunks, 10_000);
        let kept: Vec<usize> = a.events().map(|(_, i, _)| *i).collect();
        assert_eq!(kept, [0, 1, 2, 8, 9]);
        assert_eq!(
            a.completion()["choices"][0]["message"]["content"],
            "0123456789"
        );
    }

    #[test]
    fn without_raw_text_typed_chunks_give_timing_and_events() {
        let mut a = agg();
        let typed: CreateChatCompletionStreamResponse =
            serde_json::from_value(delta(json!({"content": "x"}), json!("stop"))).unwrap();
        a.on_typed_chunk(&typed, false);
        assert!(a.first_chunk.is_some());
        assert_eq!(a.events, 1);
        assert!(!a.cut_off(), "no raw text, so nothing can look cut off");
    }

    #[test]
    fn keepalive_comments_crlf_and_cut_off_bodies() {
        let mut a = agg();
        a.feed(b": ping\r\n\r\nevent: keepalive\r\ndata: {}\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"x\"}}]}\r\n\r\n");
        assert_eq!(a.events, 1);
        assert_eq!(a.choices[&0].reasoning, "x");
        assert!(a.cut_off());
    }

    #[test]
    fn object_field_detection() {
        assert!(has_object_field(r#"{"usage": {"a":1}}"#, "\"usage\""));
        assert!(!has_object_field(r#"{"usage":null}"#, "\"usage\""));
        assert!(!has_object_field(
            r#"{"content":"\"usage\" is a word"}"#,
            "\"usage\""
        ));
    }
}
