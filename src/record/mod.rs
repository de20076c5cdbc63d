//! Pure mapping from calls to span attributes, one file per operation.
//!
//! No I/O and no tracing here: every function takes values (request JSON, response JSON,
//! errors) and returns [`KeyValue`]s, so the exact encodings MLflow depends on are unit-tested
//! next to them.

use opentelemetry::KeyValue;
use serde_json::Value;

use crate::vocab::json::{capped_json, capped_str};
use crate::vocab::semconv::gen_ai;
use crate::vocab::span_type::SpanType;

pub(crate) mod chat;
pub(crate) mod content;
pub(crate) mod embeddings;
pub(crate) mod error;
pub(crate) mod patterns;
pub(crate) mod responses;
pub(crate) mod shape;
pub(crate) mod usage;

/// Whether `span` is the root of its trace *in this process*: no parent, or a parent in
/// another process (an incoming `traceparent`). Trace-level data and MLflow's trace metadata
/// are settled when this span ends, so a service continuing remote traces releases them.
pub(crate) fn is_local_root(span: &opentelemetry_sdk::trace::SpanData) -> bool {
    span.parent_span_id == opentelemetry::trace::SpanId::INVALID || span.parent_span_is_remote
}

/// GenAI attributes of a user span of type `span_type` named `name`, so backends reading only
/// the GenAI conventions (Phoenix, ...) see agents and tools for what they are.
pub(crate) fn genai_span_kind(span_type: &SpanType, name: &str) -> Vec<KeyValue> {
    let (operation, name_key) = match span_type {
        SpanType::Tool => (gen_ai::OPERATION_EXECUTE_TOOL, Some(gen_ai::TOOL_NAME)),
        SpanType::Agent => (gen_ai::OPERATION_INVOKE_AGENT, Some(gen_ai::AGENT_NAME)),
        SpanType::Retriever => (gen_ai::OPERATION_RETRIEVAL, None),
        SpanType::Embedding => (gen_ai::OPERATION_EMBEDDINGS, None),
        SpanType::ChatModel => (gen_ai::OPERATION_CHAT, None),
        SpanType::Llm => (gen_ai::OPERATION_TEXT_COMPLETION, None),
        _ => return Vec::new(),
    };
    let mut attrs = vec![KeyValue::new(gen_ai::OPERATION_NAME, operation)];
    if let Some(key) = name_key {
        attrs.push(KeyValue::new(key, name.to_owned()));
    }
    attrs
}

/// Every request parameter except `skip`, as autolog records them: each its own attribute,
/// typed (see [`bare_value`]).
pub(crate) fn bare_params<'a>(
    params: &'a serde_json::Map<String, Value>,
    skip: &'a [&str],
    max_bytes: usize,
) -> impl Iterator<Item = KeyValue> + 'a {
    params
        .iter()
        .filter(|(key, _)| !skip.contains(&key.as_str()))
        .filter_map(move |(key, value)| {
            bare_value(value, max_bytes).map(|v| KeyValue::new(key.clone(), v))
        })
}

/// A request parameter as autolog records it: strings and numbers typed, structures as JSON.
fn bare_value(value: &Value, max_bytes: usize) -> Option<opentelemetry::Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => opentelemetry::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => opentelemetry::Value::I64(i),
            None => opentelemetry::Value::F64(n.as_f64()?),
        },
        Value::String(s) => opentelemetry::Value::String(capped_str(s, max_bytes).into()),
        Value::Array(_) | Value::Object(_) => {
            opentelemetry::Value::String(capped_json(value, max_bytes).into())
        }
    })
}

/// The value of `key` in `attrs` (a span's attributes, a mapping's output).
pub(crate) fn attribute<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a opentelemetry::Value> {
    attrs
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use attribute as get;
    use opentelemetry::Value as OtelValue;

    #[test]
    fn user_span_types_map_to_genai_operations() {
        let attrs = genai_span_kind(&SpanType::Tool, "get_weather");
        assert_eq!(
            get(&attrs, gen_ai::OPERATION_NAME),
            Some(&OtelValue::from("execute_tool"))
        );
        assert_eq!(
            get(&attrs, gen_ai::TOOL_NAME),
            Some(&OtelValue::from("get_weather"))
        );
        let attrs = genai_span_kind(&SpanType::Agent, "run");
        assert_eq!(
            get(&attrs, gen_ai::OPERATION_NAME),
            Some(&OtelValue::from("invoke_agent"))
        );
        assert!(genai_span_kind(&SpanType::Chain, "x").is_empty());
    }
}
