//! The Responses API stream rebuilt the way MLflow Python does: the `response` of the final
//! `response.completed` event (also `response.incomplete` / `response.failed`, which carry
//! the same full `Response`); without one, a `response` whose `output` is rebuilt from the
//! `response.output_item.done` items, plus, for a stream dropped early, the items still in
//! progress with their text and arguments so far.
//!
//! Events are read from the raw SSE text when the body is captured (it keeps what the typed
//! events drop), else from async-openai's typed events.

use std::collections::BTreeMap;
use std::time::Duration;

use async_openai::types::responses::ResponseStreamEvent;
use opentelemetry::KeyValue;
use serde_json::{json, Value};

use crate::call::operation::Aggregate;
use crate::call::stream::{push_capped, stream_facts};
use crate::record::error::ErrorRecord;

/// One output item: as added, then as done.
#[derive(Debug, Default)]
struct Item {
    item: Value,
    done: bool,
    /// Text deltas so far, by content index (for items not done yet).
    text: BTreeMap<u64, String>,
    /// Function-call argument deltas so far.
    arguments: String,
}

/// The stream's events, as JSON, rebuilt into a `response`.
#[derive(Debug, Default)]
struct Rebuild {
    events: usize,
    /// The latest in-progress `response` (`response.created`, `.in_progress`, `.queued`).
    snapshot: Option<Value>,
    /// The `response` of `response.completed` / `.incomplete` / `.failed`.
    last: Option<Value>,
    /// A terminal event (one of those three, or `error`) arrived.
    ended: bool,
    items: BTreeMap<u64, Item>,
    failure: Option<ErrorRecord>,
    first_text: Option<Duration>,
    first_reasoning: Option<Duration>,
    first_tool_call: Option<Duration>,
    /// Most bytes kept of each accumulated text.
    limit: usize,
    /// Bytes left out by that cap.
    dropped: usize,
}

fn index(event: &Value, key: &str) -> u64 {
    event.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn text<'a>(event: &'a Value, key: &str) -> &'a str {
    event.get(key).and_then(Value::as_str).unwrap_or("")
}

impl Rebuild {
    fn feed(&mut self, mut event: Value, elapsed: Duration) {
        self.events += 1;
        let kind = text(&event, "type").to_owned();
        match kind.as_str() {
            "response.created" | "response.in_progress" | "response.queued" => {
                self.snapshot = event.get_mut("response").map(Value::take);
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.ended = true;
                let response = event.get_mut("response").map(Value::take);
                if kind == "response.failed" {
                    let error = response.as_ref().and_then(|r| r.get("error"));
                    self.failure = Some(failed(error));
                }
                self.last = response;
            }
            "error" => {
                self.ended = true;
                let code = event.get("code").and_then(Value::as_str);
                let message = text(&event, "message");
                self.failure = Some(ErrorRecord {
                    // What the OpenAI Python SDK raises for an `error` event.
                    error_type: "APIError".into(),
                    message: match code {
                        Some(code) => format!("{code}: {message}"),
                        None => message.to_owned(),
                    },
                    http_status: None,
                });
            }
            "response.output_item.added" | "response.output_item.done" => {
                let done = kind.ends_with("done");
                let slot = self.items.entry(index(&event, "output_index")).or_default();
                if let Some(item) = event.get_mut("item").map(Value::take) {
                    if item.get("type").and_then(Value::as_str) == Some("function_call") {
                        self.first_tool_call.get_or_insert(elapsed);
                    }
                    if !slot.done {
                        slot.item = item;
                        slot.done = done;
                    }
                }
            }
            "response.output_text.delta" => {
                let delta = text(&event, "delta");
                if !delta.is_empty() {
                    self.first_text.get_or_insert(elapsed);
                }
                let text = self
                    .items
                    .entry(index(&event, "output_index"))
                    .or_default()
                    .text
                    .entry(index(&event, "content_index"))
                    .or_default();
                self.dropped += push_capped(text, delta, self.limit);
            }
            "response.function_call_arguments.delta" => {
                self.first_tool_call.get_or_insert(elapsed);
                let arguments = &mut self
                    .items
                    .entry(index(&event, "output_index"))
                    .or_default()
                    .arguments;
                self.dropped += push_capped(arguments, text(&event, "delta"), self.limit);
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.first_reasoning.get_or_insert(elapsed);
            }
            _ => {}
        }
    }

    /// The final `response`, else one rebuilt from the output items.
    fn output(&self) -> Option<Value> {
        if let Some(last) = &self.last {
            return Some(last.clone());
        }
        if self.events == 0 {
            return None;
        }
        let output: Vec<Value> = self.items.values().filter_map(Item::rebuilt).collect();
        let mut response = self
            .snapshot
            .clone()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({"object": "response"}));
        response["output"] = Value::Array(output);
        Some(response)
    }
}

impl Item {
    /// The item as done, else as added with the text and arguments streamed so far.
    fn rebuilt(&self) -> Option<Value> {
        if self.done {
            return Some(self.item.clone());
        }
        let mut item = match &self.item {
            Value::Object(_) => self.item.clone(),
            _ if !self.text.is_empty() => json!({"type": "message", "role": "assistant"}),
            _ => return None,
        };
        if !self.text.is_empty() {
            let parts: Vec<Value> = self
                .text
                .values()
                .map(|t| json!({"type": "output_text", "text": t, "annotations": []}))
                .collect();
            item["content"] = Value::Array(parts);
        }
        if !self.arguments.is_empty() {
            item["arguments"] = json!(self.arguments);
        }
        Some(item)
    }
}

/// The failure of a `response.failed` event, from the response's `error`.
fn failed(error: Option<&Value>) -> ErrorRecord {
    let field = |key: &str| error.and_then(|e| e.get(key)).and_then(Value::as_str);
    let message = match (field("code"), field("message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (None, Some(message)) => message.to_owned(),
        (Some(code), None) => code.to_owned(),
        (None, None) => "the response failed".to_owned(),
    };
    ErrorRecord {
        error_type: "ResponseFailed".into(),
        message,
        http_status: None,
    }
}

/// A Responses stream rebuilt into a `response`: from the raw SSE text when captured, else
/// from the typed events.
#[derive(Debug, Default)]
pub(crate) struct ResponsesAggregate {
    raw: Rebuild,
    typed: Rebuild,
}

impl ResponsesAggregate {
    /// The rebuild in use: the raw text's when any raw event arrived.
    fn active(&self) -> &Rebuild {
        if self.raw.events > 0 {
            &self.raw
        } else {
            &self.typed
        }
    }
}

impl Aggregate for ResponsesAggregate {
    type Event = ResponseStreamEvent;

    fn with_limit(limit: usize) -> Self {
        let rebuild = || Rebuild {
            limit,
            ..Rebuild::default()
        };
        Self {
            raw: rebuild(),
            typed: rebuild(),
        }
    }

    fn on_raw(&mut self, data: &str, elapsed: Duration) {
        if let Ok(event) = serde_json::from_str::<Value>(data) {
            self.raw.feed(event, elapsed);
        }
    }

    fn on_event(&mut self, event: &ResponseStreamEvent, elapsed: Duration) {
        // With the raw text (which always arrives first), typed events add nothing.
        if self.raw.events == 0 {
            if let Ok(event) = serde_json::to_value(event) {
                self.typed.feed(event, elapsed);
            }
        }
    }

    /// Nothing is injected into Responses requests.
    fn hidden(_event: &ResponseStreamEvent) -> bool {
        false
    }

    /// The Responses API ends with `response.completed` / `.incomplete` / `.failed` or an
    /// `error` event, and sends no `[DONE]`.
    fn complete(&self, saw_done: bool) -> bool {
        saw_done || self.active().ended
    }

    fn output(&self) -> Option<Value> {
        self.active().output()
    }

    /// Latencies to the first text, reasoning and tool call; where usage came from.
    fn attributes(&self) -> Vec<KeyValue> {
        let active = self.active();
        let has_usage = active
            .last
            .as_ref()
            .and_then(|r| r.get("usage"))
            .is_some_and(Value::is_object);
        stream_facts(
            has_usage,
            active.first_text,
            active.first_reasoning,
            active.first_tool_call,
            active.dropped,
        )
    }

    fn failure(&self) -> Option<ErrorRecord> {
        self.active().failure.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::stream::StreamState;
    use crate::vocab::semconv::tracer;
    use std::time::Instant;

    type State = StreamState<ResponsesAggregate>;

    /// The research fixture's stream (req5): what the OpenAI-compatible server sent to the
    /// Python SDK when MLflow 3.17.2 traced it.
    pub(crate) const FIXTURE_SSE: &str =
        include_str!("../../../tests/fixtures/responses_stream.sse");

    fn events(sse: &str) -> Vec<Value> {
        sse.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }

    /// Feeds as the traced stream does: raw bytes (split every `split` bytes), then the typed
    /// events the caller receives.
    fn feed(state: &mut State, sse: &str, split: usize, raw: bool) {
        if raw {
            for piece in sse.as_bytes().chunks(split) {
                state.feed(piece);
            }
        }
        for event in events(sse) {
            let typed: ResponseStreamEvent =
                serde_json::from_value(event).expect("async-openai reads the fixture's events");
            state.on_typed(&typed, raw);
        }
    }

    fn state() -> State {
        State::new(
            Instant::now(),
            (100, 20),
            crate::config::defaults::MAX_ATTRIBUTE_BYTES,
        )
    }

    #[test]
    fn completed_response_is_the_output_raw_or_typed() {
        let completed = events(FIXTURE_SSE).last().unwrap()["response"].clone();
        for (split, raw) in [(1, true), (7, true), (100_000, true), (0, false)] {
            let mut s = state();
            feed(&mut s, FIXTURE_SSE, split.max(1), raw);
            assert!(!s.cut_off());
            assert_eq!(s.events().count(), 11);
            let output = s.agg.output().unwrap();
            if raw {
                assert_eq!(output, completed, "the raw response, byte-faithful");
            } else {
                assert_eq!(output["id"], completed["id"]);
                // Typed events add async-openai's defaults (`"logprobs": null`).
                assert_eq!(
                    output["output"][0]["content"][0]["text"],
                    "Hello from the fake stream."
                );
                assert_eq!(output["usage"]["total_tokens"], 22);
            }
            assert_eq!(s.agg.failure(), None);
            let attrs = s.attributes();
            let get = |k: &str| crate::record::attribute(&attrs, k).cloned();
            assert_eq!(
                get(tracer::USAGE_SOURCE),
                Some(tracer::USAGE_SOURCE_PROVIDER.into())
            );
            assert!(get(tracer::TIME_TO_FIRST_CONTENT).is_some());
        }
    }

    #[test]
    fn without_completed_event_output_items_are_rebuilt() {
        // Up to `response.output_item.done`: no final event.
        let cut: String = FIXTURE_SSE
            .split("\n\n")
            .filter(|e| !e.contains("response.completed") && !e.trim().is_empty())
            .map(|e| format!("{e}\n\n"))
            .collect();
        let mut s = state();
        feed(&mut s, &cut, 64, true);
        assert!(s.cut_off(), "no terminal event: cut off");
        let output = s.agg.output().unwrap();
        assert_eq!(output["id"], "resp_231c69f0327b3e97");
        assert_eq!(output["status"], "in_progress");
        assert_eq!(
            output["output"][0]["content"][0]["text"],
            "Hello from the fake stream."
        );
        assert_eq!(output["output"][0]["status"], "completed");
        assert_eq!(output["usage"], Value::Null);

        // Dropped after two text deltas: the partial text is kept.
        let partial: String = FIXTURE_SSE
            .split("\n\n")
            .take(6)
            .map(|e| format!("{e}\n\n"))
            .collect();
        let mut s = state();
        feed(&mut s, &partial, 1000, true);
        let output = s.agg.output().unwrap();
        assert_eq!(output["output"][0]["content"][0]["text"], "Hello from the");
        assert_eq!(output["output"][0]["status"], "in_progress");
    }

    #[test]
    fn failed_and_error_events_are_failures() {
        let failed = r#"{"type": "response.failed", "sequence_number": 3, "response": {"id": "resp_1", "object": "response", "status": "failed", "model": "m", "output": [], "error": {"code": "server_error", "message": "The model crashed."}, "usage": null}}"#;
        let mut s = state();
        s.feed(format!("event: response.failed\ndata: {failed}\n\n").as_bytes());
        assert!(!s.cut_off());
        let failure = s.agg.failure().unwrap();
        assert_eq!(failure.error_type, "ResponseFailed");
        assert_eq!(failure.message, "server_error: The model crashed.");
        assert_eq!(s.agg.output().unwrap()["status"], "failed");

        let mut s = state();
        s.feed(b"event: error\ndata: {\"type\": \"error\", \"sequence_number\": 0, \"code\": \"rate_limit_exceeded\", \"message\": \"Slow down.\", \"param\": null}\n\n");
        let failure = s.agg.failure().unwrap();
        assert_eq!(failure.error_type, "APIError");
        assert_eq!(failure.message, "rate_limit_exceeded: Slow down.");
        assert!(!s.cut_off());
    }

    #[test]
    fn function_call_arguments_are_rebuilt_while_in_progress() {
        let sse = concat!(
            "data: {\"type\": \"response.output_item.added\", \"sequence_number\": 0, \"output_index\": 0, \"item\": {\"type\": \"function_call\", \"id\": \"fc_1\", \"call_id\": \"call_1\", \"name\": \"get_weather\", \"arguments\": \"\", \"status\": \"in_progress\"}}\n\n",
            "data: {\"type\": \"response.function_call_arguments.delta\", \"sequence_number\": 1, \"item_id\": \"fc_1\", \"output_index\": 0, \"delta\": \"{\\\"location\\\":\"}\n\n",
            "data: {\"type\": \"response.function_call_arguments.delta\", \"sequence_number\": 2, \"item_id\": \"fc_1\", \"output_index\": 0, \"delta\": \"\\\"Paris\\\"}\"}\n\n",
        );
        let mut s = state();
        s.feed(sse.as_bytes());
        let output = s.agg.output().unwrap();
        assert_eq!(output["output"][0]["name"], "get_weather");
        assert_eq!(output["output"][0]["arguments"], "{\"location\":\"Paris\"}");
        assert!(s.agg.active().first_tool_call.is_some());
    }
}
