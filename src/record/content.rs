//! What of a call's content a span may carry: the capture mode ([`Capture`]) and the user's
//! redaction hook ([`Redactor`]), applied to the structured request and response *before* any
//! mapping or serialisation, so every operation (chat, streams, embeddings, Responses,
//! `#[trace]` spans) gets them, and ids and keys are never mangled.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use opentelemetry::KeyValue;
use serde_json::Value;

use crate::vocab::semconv::{gen_ai, mlflow};

/// How much message content spans carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Capture {
    /// Everything, as MLflow Python's autolog records it: prompts, answers, tool arguments and
    /// results, `#[trace]` inputs and outputs. The default (without the `content` cargo
    /// feature, [`Capture::Metadata`] is the most there is).
    #[default]
    Full,
    /// The structure without the text: models, parameters, usage, finish reasons, roles,
    /// ids, tool names, and the size of each text (`"[content not captured: 27 chars]"`).
    /// Streamed chunks are counted, not kept.
    Metadata,
    /// No inputs, outputs or messages at all; models, parameters and usage stay.
    None,
}

impl Capture {
    /// Every mode, as `MLFLOW_TRACING_CAPTURE` spells it.
    pub(crate) const NAMES: [(&'static str, Capture); 3] = [
        ("full", Capture::Full),
        ("metadata", Capture::Metadata),
        ("none", Capture::None),
    ];

    /// The mode in force: the one asked for, at most [`Capture::Metadata`] when the crate was
    /// built without its `content` feature.
    pub fn effective(self) -> Self {
        if cfg!(feature = "content") {
            self
        } else {
            match self {
                Capture::Full => Capture::Metadata,
                other => other,
            }
        }
    }
}

impl FromStr for Capture {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Capture::Full),
            "metadata" => Ok(Capture::Metadata),
            "none" => Ok(Capture::None),
            other => Err(format!("expected full, metadata or none, got {other:?}")),
        }
    }
}

/// A redaction hook: runs on every structured request, response, streamed answer and
/// `#[trace]` input and output before it is recorded (see [`crate::Config::with_redactor`]).
/// It may change string values in place; keys and structure are left to it.
#[derive(Clone)]
pub struct Redactor(Arc<dyn Fn(&mut Value) + Send + Sync>);

impl Redactor {
    /// Wraps a function that redacts a JSON value in place.
    pub fn new(f: impl Fn(&mut Value) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Runs the hook on `value`.
    pub fn apply(&self, value: &mut Value) {
        (self.0)(value);
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor(..)")
    }
}

/// Keys whose string values are structure, not content: kept in [`Capture::Metadata`].
const STRUCTURE_KEYS: &[&str] = &[
    "model",
    "role",
    "type",
    "name",
    "id",
    "tool_call_id",
    "call_id",
    "object",
    "finish_reason",
    "status",
    "system_fingerprint",
    "service_tier",
    "encoding_format",
    "effort",
    "detail",
    "format",
];

/// The placeholder of a text left out in [`Capture::Metadata`].
pub(crate) fn placeholder(text: &str) -> String {
    format!("[content not captured: {} chars]", text.chars().count())
}

/// Replaces every string value that is not structure ([`STRUCTURE_KEYS`]) with its
/// [`placeholder`]; numbers, booleans, keys and structure stay.
fn keep_structure(value: &mut Value) {
    match value {
        Value::String(text) => *text = placeholder(text),
        Value::Array(items) => items.iter_mut().for_each(keep_structure),
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if item.is_string() && STRUCTURE_KEYS.contains(&key.as_str()) {
                    continue;
                }
                keep_structure(item);
            }
        }
        _ => {}
    }
}

/// Prepares a request, response or `#[trace]` value for recording: the redaction hook, then
/// the capture mode. In [`Capture::None`] the value is still made structure-only, so nothing
/// derived from it can carry text; [`strip`] then drops the content attributes.
pub(crate) fn prepare(value: &mut Value, capture: Capture, redactor: Option<&Redactor>) {
    if let Some(redactor) = redactor {
        redactor.apply(value);
    }
    if capture.effective() != Capture::Full {
        keep_structure(value);
    }
}

/// Attributes that are content (inputs, outputs, messages, tool definitions).
const CONTENT_KEYS: &[&str] = &[
    mlflow::SPAN_INPUTS,
    mlflow::SPAN_OUTPUTS,
    mlflow::CHAT_TOOLS,
    gen_ai::INPUT_MESSAGES,
    gen_ai::OUTPUT_MESSAGES,
    gen_ai::SYSTEM_INSTRUCTIONS,
];

/// Whether an attribute `key` may be recorded: content attributes not in [`Capture::None`].
pub(crate) fn records(key: &str, capture: Capture) -> bool {
    capture.effective() != Capture::None || !CONTENT_KEYS.contains(&key)
}

/// Drops the content attributes in [`Capture::None`].
pub(crate) fn strip(attrs: &mut Vec<KeyValue>, capture: Capture) {
    attrs.retain(|kv| records(kv.key.as_str(), capture));
}

/// Whether [`prepare`] changes anything: a hook to run, or text to hide.
pub(crate) fn changes(capture: Capture, redactor: Option<&Redactor>) -> bool {
    redactor.is_some() || capture.effective() != Capture::Full
}

/// Whether streamed chunks (which are content) may be kept as span events.
pub(crate) fn keeps_chunks(capture: Capture) -> bool {
    capture.effective() == Capture::Full
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> Value {
        json!({
            "model": "deepseek-chat",
            "temperature": 0.1,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "My card is 4111 1111 1111 1111"},
                {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 22C"}
            ]
        })
    }

    #[test]
    fn metadata_keeps_structure_and_sizes_only() {
        let mut value = request();
        prepare(&mut value, Capture::Metadata, None);
        let text = value.to_string();
        for secret in ["helpful", "4111", "Paris", "sunny"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(value["model"], "deepseek-chat");
        assert_eq!(value["temperature"], 0.1);
        assert_eq!(value["messages"][1]["role"], "user");
        assert_eq!(
            value["messages"][1]["content"],
            "[content not captured: 30 chars]"
        );
        let call = &value["messages"][2]["tool_calls"][0];
        assert_eq!(
            (call["id"].as_str(), call["function"]["name"].as_str()),
            (Some("call_1"), Some("get_weather"))
        );
        assert_eq!(value["messages"][3]["tool_call_id"], "call_1");
    }

    #[cfg(feature = "content")]
    #[test]
    fn full_is_untouched_unless_redacted() {
        let mut value = request();
        prepare(&mut value, Capture::Full, None);
        assert_eq!(value, request());
        let redactor = Redactor::new(|v| {
            if let Some(text) = v.pointer_mut("/messages/1/content") {
                *text = json!("My card is [CARD]");
            }
        });
        prepare(&mut value, Capture::Full, Some(&redactor));
        assert_eq!(value["messages"][1]["content"], "My card is [CARD]");
    }

    #[test]
    fn none_drops_the_content_attributes() {
        let mut attrs = vec![
            KeyValue::new(mlflow::SPAN_INPUTS, "{}"),
            KeyValue::new(gen_ai::REQUEST_MODEL, "m"),
            KeyValue::new(mlflow::SPAN_OUTPUTS, "{}"),
        ];
        strip(&mut attrs, Capture::Metadata);
        assert_eq!(attrs.len(), 3);
        strip(&mut attrs, Capture::None);
        let keys: Vec<&str> = attrs.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, [gen_ai::REQUEST_MODEL]);
    }

    #[test]
    fn modes_parse_and_name_bad_values() {
        assert_eq!("Metadata".parse::<Capture>(), Ok(Capture::Metadata));
        assert!("some".parse::<Capture>().unwrap_err().contains("\"some\""));
    }

    /// Built without the `content` feature, full capture is compiled out: asking for it
    /// gives metadata only (`cargo test --lib --no-default-features` runs this).
    #[cfg(not(feature = "content"))]
    #[test]
    fn full_capture_is_compiled_out() {
        assert_eq!(Capture::Full.effective(), Capture::Metadata);
        let mut value = request();
        prepare(&mut value, Capture::Full, None);
        assert!(!value.to_string().contains("4111"));
    }

    #[cfg(feature = "content")]
    #[test]
    fn full_capture_is_built_in() {
        assert_eq!(Capture::Full.effective(), Capture::Full);
    }
}
