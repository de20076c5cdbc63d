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
use async_openai::types::chat::{ChatCompletionResponseStream, CreateChatCompletionStreamResponse};
use futures::Stream;
use opentelemetry::KeyValue;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::capture::BodySink;
use crate::json::capped_str;
use crate::record::ErrorRecord;
use crate::semconv::{gen_ai, mlflow, otel, tracer};
use crate::settings;
use crate::span::ChatCall;

// ---------------------------------------------------------------------------------------
// Raw chunk shape: only what the rebuild needs, borrowed from the SSE text where possible.

/// A string borrowed from the chunk text unless it had escapes. (`Option<Cow<str>>` always
/// allocates: serde borrows only for a bare `Cow` field.)
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[derive(Deserialize)]
struct RawChunk<'a> {
    #[serde(borrow, default)]
    id: Option<Text<'a>>,
    #[serde(borrow, default)]
    model: Option<Text<'a>>,
    #[serde(default)]
    created: Option<u64>,
    #[serde(borrow, default)]
    system_fingerprint: Option<Text<'a>>,
    #[serde(borrow, default)]
    service_tier: Option<Text<'a>>,
    #[serde(borrow, default)]
    choices: Vec<RawChoice<'a>>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct RawChoice<'a> {
    #[serde(default)]
    index: u32,
    #[serde(borrow, default)]
    delta: Option<RawDelta<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct RawDelta<'a> {
    #[serde(borrow, default)]
    role: Option<Text<'a>>,
    #[serde(borrow, default)]
    content: Option<Text<'a>>,
    #[serde(borrow, default)]
    reasoning_content: Option<Text<'a>>,
    #[serde(borrow, default)]
    refusal: Option<Text<'a>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<RawToolCall<'a>>>,
}

#[derive(Deserialize)]
struct RawToolCall<'a> {
    #[serde(default)]
    index: u32,
    #[serde(borrow, default)]
    id: Option<Text<'a>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    function: Option<RawFunction<'a>>,
}

#[derive(Deserialize)]
struct RawFunction<'a> {
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    arguments: Option<Text<'a>>,
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
    role: Option<String>,
    content: String,
    has_content: bool,
    reasoning: String,
    refusal: Option<String>,
    finish_reason: Option<String>,
    tools: BTreeMap<u32, ToolAcc>,
}

/// Everything learnt from a stream's chunks. Pure: fed with SSE text, read at the end.
pub(crate) struct Aggregator {
    start: Instant,
    line: Vec<u8>,
    event_data: String,
    event_name: String,
    /// The current event was already handled on its `data:` line.
    skip_event: bool,
    id: Option<String>,
    model: Option<String>,
    created: Option<u64>,
    system_fingerprint: Option<String>,
    service_tier: Option<String>,
    choices: BTreeMap<u32, ChoiceAcc>,
    usage: Option<Value>,
    chunks: usize,
    parse_errors: usize,
    saw_done: bool,
    first_chunk: Option<Duration>,
    first_content: Option<Duration>,
    first_reasoning: Option<Duration>,
    first_tool_call: Option<Duration>,
    head_cap: usize,
    tail_cap: usize,
    head: Vec<(SystemTime, usize, String)>,
    tail: VecDeque<(SystemTime, usize, String)>,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator")
            .field("chunks", &self.chunks)
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
            skip_event: false,
            id: None,
            model: None,
            created: None,
            system_fingerprint: None,
            service_tier: None,
            choices: BTreeMap::new(),
            usage: None,
            chunks: 0,
            parse_errors: 0,
            saw_done: false,
            first_chunk: None,
            first_content: None,
            first_reasoning: None,
            first_tool_call: None,
            head_cap,
            tail_cap,
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
            // Fast path: a whole chunk on one `data:` line (what OpenAI-compatible servers
            // send) is handled without copying it into the event buffer.
            "data" if self.event_data.is_empty() && self.event_name != "keepalive" => {
                if value == "[DONE]" {
                    self.saw_done = true;
                    self.event_data.clear();
                    self.event_name.clear();
                    self.skip_event = true;
                } else if let Ok(chunk) = serde_json::from_str::<RawChunk<'_>>(value) {
                    self.on_chunk_parsed(value, Some(chunk));
                    self.skip_event = true;
                } else {
                    self.event_data.push_str(value);
                }
            }
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
        let data = std::mem::take(&mut self.event_data);
        let name = std::mem::take(&mut self.event_name);
        if std::mem::take(&mut self.skip_event) || data.is_empty() || name == "keepalive" {
            return;
        }
        if data == "[DONE]" {
            self.saw_done = true;
            return;
        }
        self.on_chunk(&data);
    }

    /// One chunk's JSON text.
    pub(crate) fn on_chunk(&mut self, data: &str) {
        let parsed = serde_json::from_str::<RawChunk<'_>>(data).ok();
        self.on_chunk_parsed(data, parsed);
    }

    fn on_chunk_parsed(&mut self, data: &str, chunk: Option<RawChunk<'_>>) {
        let elapsed = self.start.elapsed();
        let index = self.chunks;
        self.chunks += 1;
        self.first_chunk.get_or_insert(elapsed);
        match chunk {
            Some(chunk) => self.merge(chunk, elapsed),
            None => self.parse_errors += 1,
        }
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

    fn merge(&mut self, chunk: RawChunk<'_>, elapsed: Duration) {
        fn keep(slot: &mut Option<String>, value: Option<Text<'_>>) {
            if let Some(v) = value {
                if slot.is_none() {
                    *slot = Some(v.0.into_owned());
                }
            }
        }
        keep(&mut self.id, chunk.id);
        keep(&mut self.model, chunk.model);
        keep(&mut self.system_fingerprint, chunk.system_fingerprint);
        keep(&mut self.service_tier, chunk.service_tier);
        if self.created.is_none() {
            self.created = chunk.created;
        }
        if let Some(usage) = chunk.usage.filter(|u| !u.is_null()) {
            // Servers sending cumulative usage on every chunk: the last one wins.
            self.usage = Some(usage);
        }
        for choice in chunk.choices {
            let acc = self.choices.entry(choice.index).or_default();
            if let Some(reason) = choice.finish_reason {
                acc.finish_reason = Some(reason.0.into_owned());
            }
            let Some(delta) = choice.delta else { continue };
            if let Some(role) = delta.role {
                acc.role.get_or_insert_with(|| role.0.into_owned());
            }
            if let Some(content) = delta.content {
                acc.has_content = true;
                if !content.is_empty() {
                    self.first_content.get_or_insert(elapsed);
                    acc.content.push_str(&content);
                }
            }
            if let Some(reasoning) = delta.reasoning_content.filter(|r| !r.is_empty()) {
                self.first_reasoning.get_or_insert(elapsed);
                acc.reasoning.push_str(&reasoning);
            }
            if let Some(refusal) = delta.refusal {
                acc.refusal
                    .get_or_insert_with(String::new)
                    .push_str(&refusal);
            }
            for call in delta.tool_calls.unwrap_or_default() {
                self.first_tool_call.get_or_insert(elapsed);
                let tool = acc.tools.entry(call.index).or_default();
                if let Some(id) = call.id.filter(|id| !id.is_empty()) {
                    tool.id = id.0.into_owned();
                }
                if let Some(kind) = call.kind {
                    tool.kind = kind.0.into_owned();
                }
                if let Some(function) = call.function {
                    if let Some(name) = function.name {
                        tool.name.push_str(&name);
                    }
                    if let Some(arguments) = function.arguments {
                        tool.arguments.push_str(&arguments);
                    }
                }
            }
        }
    }

    /// Whether any chunk arrived.
    pub(crate) fn has_chunks(&self) -> bool {
        self.chunks > 0
    }

    /// The stream rebuilt as a non-streamed `chat.completion`.
    pub(crate) fn completion(&self) -> Value {
        let choices: Vec<Value> = self
            .choices
            .iter()
            .map(|(index, c)| {
                let mut message = Map::new();
                message.insert(
                    "role".into(),
                    json!(c.role.as_deref().unwrap_or("assistant")),
                );
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
            out.insert("service_tier".into(), json!(tier));
        }
        out.insert("choices".into(), Value::Array(choices));
        if let Some(usage) = &self.usage {
            out.insert("usage".into(), usage.clone());
        }
        Value::Object(out)
    }

    /// Streaming facts: latencies, counts, usage source.
    pub(crate) fn attributes(&self) -> Vec<KeyValue> {
        let mut attrs = vec![
            KeyValue::new(tracer::STREAM_CHUNKS, self.chunks as i64),
            KeyValue::new(
                tracer::USAGE_SOURCE,
                if self.usage.is_some() {
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
    state: Mutex<Aggregator>,
    /// The HTTP layer saw the response (so the raw body will arrive here).
    captured: std::sync::atomic::AtomicBool,
}

impl StreamSink {
    pub(crate) fn new(start: Instant) -> Arc<Self> {
        Arc::new(Self {
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
        Self {
            inner,
            call: Some(call),
            sink,
            injected,
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
        let cut_off = agg.has_chunks() && !agg.saw_done;
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

/// Feeds typed chunks to the aggregator when the raw body is not captured
/// ([`crate::TracedClient::without_capture`]).
pub(crate) struct TypedFallback {
    inner: ChatCompletionResponseStream,
    sink: Arc<StreamSink>,
}

impl TypedFallback {
    pub(crate) fn wrap(
        inner: ChatCompletionResponseStream,
        sink: Arc<StreamSink>,
    ) -> ChatCompletionResponseStream {
        Box::pin(Self { inner, sink })
    }
}

impl Stream for TypedFallback {
    type Item = Result<CreateChatCompletionStreamResponse, OpenAIError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Ok(text) = serde_json::to_string(chunk) {
                    self.sink.lock().on_chunk(&text);
                }
            }
            Poll::Ready(None) => self.sink.lock().saw_done = true,
            _ => {}
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn content_is_concatenated_from_any_byte_split() {
        let body = sse(&[
            json!({"id": "c1", "model": "m", "created": 7, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
            json!({"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}),
            json!({"id": "c1", "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}),
            json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}}),
        ]);
        for split in [1, 3, 7, body.len()] {
            let mut a = agg();
            for piece in body.as_bytes().chunks(split) {
                a.feed(piece);
            }
            assert!(a.saw_done);
            assert_eq!(a.chunks, 4);
            let out = a.completion();
            assert_eq!(
                out,
                json!({"id": "c1", "object": "chat.completion", "created": 7, "model": "m",
                    "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "Hello"}}],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}})
            );
        }
    }

    #[test]
    fn tool_call_fragments_merge_by_index() {
        let mut a = agg();
        a.feed(sse(&[
            json!({"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}, "finish_reason": "tool_calls"}]}),
        ]).as_bytes());
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
    fn reasoning_is_accumulated_separately_and_timed() {
        let mut a = agg();
        a.feed(sse(&[
            json!({"choices": [{"index": 0, "delta": {"reasoning_content": "Think"}}]}),
            json!({"choices": [{"index": 0, "delta": {"reasoning_content": "ing."}}]}),
            json!({"choices": [{"index": 0, "delta": {"content": "Paris."}, "finish_reason": "stop"}]}),
        ]).as_bytes());
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
        let mut a = agg();
        a.feed(sse(&[
            json!({"choices": [{"index": 0, "delta": {"content": "a"}}], "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}),
            json!({"choices": [{"index": 0, "delta": {"content": "b"}}], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": null}),
        ]).as_bytes());
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
        for i in 0..10 {
            a.on_chunk(
                &json!({"choices": [{"index": 0, "delta": {"content": i.to_string()}}]})
                    .to_string(),
            );
        }
        let kept: Vec<usize> = a.events().map(|(_, i, _)| *i).collect();
        assert_eq!(kept, [0, 1, 2, 8, 9]);
        assert_eq!(
            a.completion()["choices"][0]["message"]["content"],
            "0123456789"
        );
    }

    #[test]
    fn keepalive_comments_and_crlf_are_ignored() {
        let mut a = agg();
        a.feed(b": ping\r\n\r\nevent: keepalive\r\ndata: {}\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\r\n\r\n");
        assert_eq!(a.chunks, 1);
        assert_eq!(a.completion()["choices"][0]["message"]["content"], "x");
        assert!(!a.saw_done);
    }
}
