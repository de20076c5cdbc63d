//! The chat completion stream rebuilt the way MLflow Python does: content and DeepSeek
//! `reasoning_content` concatenated, tool-call fragments merged by index, finish reasons, and
//! the last usage seen (from the raw text, which keeps provider extras).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use async_openai::types::chat::{CreateChatCompletionStreamResponse, FinishReason, Role};
use opentelemetry::KeyValue;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::call::operation::Aggregate;
use crate::call::stream::{push_capped, stream_facts};

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

/// A chat stream rebuilt into a `chat.completion`: typed chunks give content, tool calls,
/// finish reasons and usage; the raw text gives reasoning and provider usage extras.
#[derive(Default)]
pub(crate) struct ChatAggregate {
    id: Option<String>,
    model: Option<String>,
    created: Option<u64>,
    system_fingerprint: Option<String>,
    service_tier: Option<Value>,
    choices: BTreeMap<u32, ChoiceAcc>,
    typed_usage: Option<Value>,
    raw_usage: Option<Value>,
    first_content: Option<Duration>,
    first_reasoning: Option<Duration>,
    first_tool_call: Option<Duration>,
    /// Most bytes kept of each accumulated text.
    limit: usize,
    /// Bytes left out by that cap.
    dropped: usize,
}

impl std::fmt::Debug for ChatAggregate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatAggregate")
            .field("choices", &self.choices.len())
            .finish_non_exhaustive()
    }
}

impl Aggregate for ChatAggregate {
    type Event = CreateChatCompletionStreamResponse;

    fn with_limit(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    fn on_raw(&mut self, data: &str, elapsed: Duration) {
        if data.contains("\"reasoning_content\"") {
            if let Ok(raw) = serde_json::from_str::<RawReasoning<'_>>(data) {
                for choice in raw.choices {
                    let reasoning = choice.delta.and_then(|d| d.reasoning_content);
                    if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
                        self.first_reasoning.get_or_insert(elapsed);
                        let acc = self.choices.entry(choice.index).or_default();
                        self.dropped += push_capped(&mut acc.reasoning, &r, self.limit);
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

    fn on_event(&mut self, chunk: &CreateChatCompletionStreamResponse, elapsed: Duration) {
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
                    self.dropped += push_capped(&mut acc.content, content, self.limit);
                }
            }
            if let Some(refusal) = &delta.refusal {
                let text = acc.refusal.get_or_insert_with(String::new);
                self.dropped += push_capped(text, refusal, self.limit);
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
                        self.dropped += push_capped(&mut tool.name, name, self.limit);
                    }
                    if let Some(arguments) = &function.arguments {
                        self.dropped += push_capped(&mut tool.arguments, arguments, self.limit);
                    }
                }
            }
        }
    }

    /// The usage-only last chunk `include_usage` adds.
    fn hidden(chunk: &CreateChatCompletionStreamResponse) -> bool {
        chunk.choices.is_empty() && chunk.usage.is_some()
    }

    fn complete(&self, saw_done: bool) -> bool {
        saw_done
    }

    fn output(&self) -> Option<Value> {
        Some(self.completion())
    }

    /// Latencies to the first content, reasoning and tool call; where usage came from.
    fn attributes(&self) -> Vec<KeyValue> {
        let has_usage = self.raw_usage.is_some() || self.typed_usage.is_some();
        stream_facts(
            has_usage,
            self.first_content,
            self.first_reasoning,
            self.first_tool_call,
            self.dropped,
        )
    }
}

impl ChatAggregate {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::stream::StreamState;
    use crate::vocab::semconv::tracer;
    use std::time::Instant;

    type State = StreamState<ChatAggregate>;

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

    fn agg() -> State {
        State::new(
            Instant::now(),
            (100, 20),
            crate::config::defaults::MAX_ATTRIBUTE_BYTES,
        )
    }

    /// Feeds chunks as the traced stream does: raw SSE (split every `split` bytes) from the
    /// HTTP layer, and the typed chunks the caller receives.
    fn feed(a: &mut State, chunks: &[Value], split: usize) {
        let body = sse(chunks);
        for piece in body.as_bytes().chunks(split) {
            a.feed(piece);
        }
        for c in chunks {
            let typed: CreateChatCompletionStreamResponse =
                serde_json::from_value(c.clone()).expect("a valid typed chunk");
            a.on_typed(&typed, true);
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
            assert!(!a.cut_off());
            assert_eq!(a.events().count(), 4);
            assert_eq!(
                a.agg.completion(),
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
        let out = a.agg.completion();
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
        assert!(a.agg.first_tool_call.is_some() && a.agg.first_content.is_none());
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
        let out = a.agg.completion();
        assert_eq!(
            out["choices"][0]["message"]["reasoning_content"],
            "Thinking."
        );
        assert_eq!(out["choices"][0]["message"]["content"], "Paris.");
        assert!(a.agg.first_reasoning.unwrap() <= a.agg.first_content.unwrap());
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
        assert_eq!(a.agg.completion()["usage"]["total_tokens"], 7);
        let attrs = a.attributes();
        assert!(attrs
            .iter()
            .any(|kv| kv.key.as_str() == tracer::USAGE_SOURCE
                && kv.value.as_str() == tracer::USAGE_SOURCE_PROVIDER));
    }

    #[test]
    fn chunk_events_keep_first_and_last() {
        let mut a = State::new(
            Instant::now(),
            (3, 2),
            crate::config::defaults::MAX_ATTRIBUTE_BYTES,
        );
        let chunks: Vec<Value> = (0..10)
            .map(|i| delta(json!({"content": i.to_string()}), Value::Null))
            .collect();
        feed(&mut a, &chunks, 10_000);
        let kept: Vec<usize> = a.events().map(|(_, i, _)| *i).collect();
        assert_eq!(kept, [0, 1, 2, 8, 9]);
        assert_eq!(
            a.agg.completion()["choices"][0]["message"]["content"],
            "0123456789"
        );
    }

    #[test]
    fn without_raw_text_typed_chunks_give_timing_and_events() {
        let mut a = agg();
        let typed: CreateChatCompletionStreamResponse =
            serde_json::from_value(delta(json!({"content": "x"}), json!("stop"))).unwrap();
        a.on_typed(&typed, false);
        assert!(a.attributes().iter().any(
            |kv| kv.key.as_str() == crate::vocab::semconv::gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK
        ));
        assert_eq!(a.events().count(), 1);
        assert!(!a.cut_off(), "no raw text, so nothing can look cut off");
    }

    #[test]
    fn keepalive_comments_crlf_and_cut_off_bodies() {
        let mut a = agg();
        a.feed(b": ping\r\n\r\nevent: keepalive\r\ndata: {}\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"x\"}}]}\r\n\r\n");
        assert_eq!(a.events().count(), 1);
        assert_eq!(a.agg.choices[&0].reasoning, "x");
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

    /// A server that never sends a newline costs at most the SSE bound, the oversized event
    /// is counted, and the stream's next events are read again.
    #[test]
    fn sse_buffers_are_bounded() {
        use crate::call::stream::MAX_SSE_EVENT_BYTES;
        let mut a = agg();
        let piece = vec![b'x'; 64 * 1024];
        a.feed(b"data: ");
        for _ in 0..(3 * MAX_SSE_EVENT_BYTES / piece.len()) {
            a.feed(&piece);
            // Vector growth may double the bound, never more.
            assert!(a.buffered() <= 2 * MAX_SSE_EVENT_BYTES, "{}", a.buffered());
        }
        // The line ends; the stream goes on normally.
        a.feed(b"\n\n");
        feed(
            &mut a,
            &[
                json!({"id": "c", "object": "chat.completion.chunk", "created": 1,
            "model": "deepseek-chat", "choices": [{"index": 0,
            "delta": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}]}),
            ],
            7,
        );
        let attrs = a.attributes();
        let oversized = attrs
            .iter()
            .find(|kv| kv.key.as_str() == crate::vocab::semconv::tracer::STREAM_OVERSIZED_EVENTS)
            .map(|kv| kv.value.clone());
        assert_eq!(oversized, Some(opentelemetry::Value::I64(1)));
        assert_eq!(
            a.agg.output().unwrap()["choices"][0]["message"]["content"],
            "Paris."
        );
    }

    /// A long answer is kept only up to the cap (memory bounded), and the span says how much
    /// was left out.
    #[test]
    fn accumulated_text_is_capped() {
        let mut a = State::new(Instant::now(), (100, 20), 10);
        let chunks: Vec<Value> = (0..5)
            .map(|_| {
                json!({"id": "c", "object": "chat.completion.chunk", "created": 1,
                    "model": "deepseek-chat", "choices": [{"index": 0,
                    "delta": {"content": "Hello "}, "finish_reason": null}]})
            })
            .collect();
        feed(&mut a, &chunks, 16);
        let content = a.agg.output().unwrap()["choices"][0]["message"]["content"].clone();
        assert_eq!(content, "Hello Hell");
        let dropped = a
            .attributes()
            .into_iter()
            .find(|kv| kv.key.as_str() == crate::vocab::semconv::tracer::STREAM_DROPPED_BYTES)
            .map(|kv| kv.value);
        assert_eq!(dropped, Some(opentelemetry::Value::I64(20)));
    }
}
