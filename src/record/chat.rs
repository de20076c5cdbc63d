//! Pure mapping of a chat completion (request JSON, response JSON) to span attributes.
//!
//! Both vocabularies are written: MLflow's (`mlflow.*` plus the bare request parameters autolog
//! records) and the OpenTelemetry GenAI conventions (`gen_ai.*`). Responses are read as JSON
//! rather than as async-openai's typed structs because the raw body carries fields the typed
//! structs drop (DeepSeek's `reasoning_content`, `prompt_cache_hit_tokens`, ...).

use opentelemetry::{Array, KeyValue, StringValue, Value as OtelValue};
use serde_json::Value;

use crate::record::bare_params;
use crate::record::usage::Usage;
use crate::vocab::json::{capped_json, capped_str};
use crate::vocab::semconv::{deepseek, gen_ai, mlflow, openai};
use crate::vocab::span_type::SpanType;

/// Request parameter names MLflow autolog does not copy as bare attributes.
const NOT_BARE: &[&str] = &["messages"];

/// Attributes known when a chat call starts.
///
/// `request` is the request as JSON (what goes on the wire, minus `stream` which the caller of
/// this function states with `stream`).
pub(crate) fn request_attributes(
    request: &Value,
    provider: &str,
    stream: bool,
    max_bytes: usize,
) -> Vec<KeyValue> {
    let mut attrs = vec![
        KeyValue::new(mlflow::SPAN_TYPE, SpanType::ChatModel.as_str()),
        KeyValue::new(mlflow::MESSAGE_FORMAT, mlflow::MESSAGE_FORMAT_OPENAI),
        KeyValue::new(mlflow::LLM_PROVIDER, provider.to_owned()),
        KeyValue::new(mlflow::SPAN_INPUTS, capped_json(request, max_bytes)),
        KeyValue::new(gen_ai::OPERATION_NAME, gen_ai::OPERATION_CHAT),
        KeyValue::new(gen_ai::PROVIDER_NAME, provider.to_owned()),
    ];
    // Set if and only if the request streams (the conventions' rule).
    if stream {
        attrs.push(KeyValue::new(gen_ai::REQUEST_STREAM, true));
    }
    let Some(params) = request.as_object() else {
        return attrs;
    };
    attrs.extend(bare_params(params, NOT_BARE, max_bytes));
    if let Some(tools) = params.get("tools").filter(|t| !t.is_null()) {
        attrs.push(KeyValue::new(
            mlflow::CHAT_TOOLS,
            capped_json(tools, max_bytes),
        ));
    }
    if let Some(model) = params.get("model").and_then(Value::as_str) {
        attrs.push(KeyValue::new(gen_ai::REQUEST_MODEL, model.to_owned()));
    }
    for (param, key) in [
        ("temperature", gen_ai::REQUEST_TEMPERATURE),
        ("top_p", gen_ai::REQUEST_TOP_P),
        ("frequency_penalty", gen_ai::REQUEST_FREQUENCY_PENALTY),
        ("presence_penalty", gen_ai::REQUEST_PRESENCE_PENALTY),
    ] {
        if let Some(v) = params.get(param).and_then(Value::as_f64) {
            attrs.push(KeyValue::new(key, v));
        }
    }
    let max_tokens = params
        .get("max_completion_tokens")
        .or_else(|| params.get("max_tokens"))
        .and_then(Value::as_i64);
    if let Some(v) = max_tokens {
        attrs.push(KeyValue::new(gen_ai::REQUEST_MAX_TOKENS, v));
    }
    if let Some(v) = params.get("seed").and_then(Value::as_i64) {
        attrs.push(KeyValue::new(gen_ai::REQUEST_SEED, v));
    }
    if let Some(n) = params.get("n").and_then(Value::as_i64).filter(|&n| n != 1) {
        attrs.push(KeyValue::new(gen_ai::REQUEST_CHOICE_COUNT, n));
    }
    if let Some(stop) = params.get("stop").and_then(string_list) {
        attrs.push(KeyValue::new(gen_ai::REQUEST_STOP_SEQUENCES, stop));
    }
    let format = params
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str);
    if let Some(format) = format {
        let output_type = if format == "text" { "text" } else { "json" };
        attrs.push(KeyValue::new(gen_ai::OUTPUT_TYPE, output_type));
    }
    if let Some(tier) = params.get("service_tier").and_then(Value::as_str) {
        attrs.push(KeyValue::new(openai::REQUEST_SERVICE_TIER, tier.to_owned()));
    }
    attrs
}

/// `"x"` or `["x", "y"]` as a string array.
fn string_list(value: &Value) -> Option<OtelValue> {
    let items: Vec<StringValue> = match value {
        Value::String(s) => vec![s.clone().into()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.to_owned().into())
            .collect(),
        _ => return None,
    };
    Some(OtelValue::Array(Array::String(items)))
}

/// The text of an OpenAI message `content`: a string, or the text parts of an array.
fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let text: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            (!text.is_empty()).then(|| text.concat())
        }
        _ => None,
    }
}

/// OpenAI `tool_calls` as GenAI `tool_call` parts (arguments parsed when they are JSON).
fn tool_call_parts(message: &Value, parts: &mut Vec<Value>) {
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let arguments = call
            .pointer("/function/arguments")
            .cloned()
            .unwrap_or(Value::Null);
        let arguments = arguments
            .as_str()
            .and_then(|a| serde_json::from_str::<Value>(a).ok())
            .unwrap_or(arguments);
        parts.push(serde_json::json!({
            "type": "tool_call",
            "id": call.get("id"),
            "name": call.pointer("/function/name"),
            "arguments": arguments,
        }));
    }
}

/// `gen_ai.input.messages`: the request's messages in the GenAI conventions' `parts` shape.
pub(crate) fn genai_input_messages(request: &Value, max_bytes: usize) -> Option<KeyValue> {
    let messages = request.get("messages")?.as_array()?;
    let converted: Vec<Value> = messages
        .iter()
        .map(|m| {
            let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
            let mut parts = Vec::new();
            let text = m.get("content").and_then(content_text);
            if role == "tool" {
                parts.push(serde_json::json!({
                    "type": "tool_call_response",
                    "id": m.get("tool_call_id"),
                    "response": text,
                }));
            } else if let Some(text) = text {
                parts.push(serde_json::json!({"type": "text", "content": text}));
            }
            tool_call_parts(m, &mut parts);
            serde_json::json!({"role": role, "parts": parts})
        })
        .collect();
    Some(KeyValue::new(
        gen_ai::INPUT_MESSAGES,
        capped_json(&Value::Array(converted), max_bytes),
    ))
}

/// `gen_ai.output.messages`: the response's choices in the GenAI `parts` shape.
pub(crate) fn genai_output_messages(response: &Value, max_bytes: usize) -> Option<KeyValue> {
    let choices = response.get("choices")?.as_array()?;
    let converted: Vec<Value> = choices
        .iter()
        .map(|c| {
            let message = c.get("message").unwrap_or(&Value::Null);
            let mut parts = Vec::new();
            if let Some(r) = message.get("reasoning_content").and_then(Value::as_str) {
                parts.push(serde_json::json!({"type": "reasoning", "content": r}));
            }
            if let Some(text) = message.get("content").and_then(content_text) {
                parts.push(serde_json::json!({"type": "text", "content": text}));
            }
            tool_call_parts(message, &mut parts);
            serde_json::json!({
                "role": message.get("role").and_then(Value::as_str).unwrap_or("assistant"),
                "parts": parts,
                "finish_reason": c.get("finish_reason"),
            })
        })
        .collect();
    Some(KeyValue::new(
        gen_ai::OUTPUT_MESSAGES,
        capped_json(&Value::Array(converted), max_bytes),
    ))
}

/// Attributes of a successful call, from the `chat.completion` JSON.
pub(crate) fn response_attributes(response: &Value, max_bytes: usize) -> Vec<KeyValue> {
    let mut attrs = vec![
        KeyValue::new(mlflow::SPAN_OUTPUTS, capped_json(response, max_bytes)),
        KeyValue::new(mlflow::SPAN_LOG_LEVEL, mlflow::LOG_LEVEL_INFO),
    ];
    let text = |key: &str| response.get(key).and_then(Value::as_str);
    if let Some(model) = text("model") {
        attrs.push(KeyValue::new(mlflow::LLM_MODEL, model.to_owned()));
        attrs.push(KeyValue::new(gen_ai::RESPONSE_MODEL, model.to_owned()));
    }
    if let Some(id) = text("id") {
        attrs.push(KeyValue::new(gen_ai::RESPONSE_ID, id.to_owned()));
    }
    if let Some(fp) = text("system_fingerprint") {
        attrs.push(KeyValue::new(
            openai::RESPONSE_SYSTEM_FINGERPRINT,
            fp.to_owned(),
        ));
    }
    if let Some(tier) = text("service_tier") {
        attrs.push(KeyValue::new(
            openai::RESPONSE_SERVICE_TIER,
            tier.to_owned(),
        ));
    }
    let choices = response
        .get("choices")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let reasons: Vec<StringValue> = choices
        .iter()
        .filter_map(|c| c.get("finish_reason").and_then(Value::as_str))
        .map(|r| r.to_owned().into())
        .collect();
    if !reasons.is_empty() {
        attrs.push(KeyValue::new(
            gen_ai::RESPONSE_FINISH_REASONS,
            OtelValue::Array(Array::String(reasons)),
        ));
    }
    let reasoning = choices
        .first()
        .and_then(|c| c.pointer("/message/reasoning_content"))
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    if let Some(reasoning) = reasoning {
        attrs.push(KeyValue::new(
            deepseek::REASONING_CONTENT,
            capped_str(reasoning, max_bytes),
        ));
    }
    if let Some(usage) = response.get("usage").and_then(Usage::from_json) {
        usage.attributes(&mut attrs);
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::attribute as get;
    use serde_json::json;

    fn seed_request() -> Value {
        json!({
            "model": "deepseek-chat",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is the capital of France?"}
            ],
            "temperature": 0.1,
            "max_tokens": 100
        })
    }

    #[test]
    fn request_attributes_use_mlflow_encodings() {
        let attrs = request_attributes(&seed_request(), "deepseek", false, 1 << 20);
        // Scalar enum-like keys are plain strings, never JSON-quoted.
        assert_eq!(
            get(&attrs, mlflow::SPAN_TYPE),
            Some(&OtelValue::from("CHAT_MODEL"))
        );
        assert_eq!(
            get(&attrs, mlflow::MESSAGE_FORMAT),
            Some(&OtelValue::from("openai"))
        );
        assert_eq!(
            get(&attrs, mlflow::LLM_PROVIDER),
            Some(&OtelValue::from("deepseek"))
        );
        // Inputs are the whole request as JSON text.
        let inputs = get(&attrs, mlflow::SPAN_INPUTS).unwrap().as_str();
        assert_eq!(
            serde_json::from_str::<Value>(&inputs).unwrap(),
            seed_request()
        );
        // Bare parameters are typed like autolog's; messages are not copied.
        assert_eq!(
            get(&attrs, "model"),
            Some(&OtelValue::from("deepseek-chat"))
        );
        assert_eq!(get(&attrs, "temperature"), Some(&OtelValue::F64(0.1)));
        assert_eq!(get(&attrs, "max_tokens"), Some(&OtelValue::I64(100)));
        assert_eq!(get(&attrs, "messages"), None);
        // GenAI vocabulary on the same span.
        assert_eq!(
            get(&attrs, gen_ai::OPERATION_NAME),
            Some(&OtelValue::from("chat"))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_MODEL),
            Some(&OtelValue::from("deepseek-chat"))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_TEMPERATURE),
            Some(&OtelValue::F64(0.1))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_MAX_TOKENS),
            Some(&OtelValue::I64(100))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_STREAM),
            None,
            "only when streaming"
        );
        assert_eq!(get(&attrs, mlflow::CHAT_TOOLS), None);
    }

    #[test]
    fn tools_and_structured_params_are_json_text() {
        let tools = json!([{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
        let request = json!({"model": "m", "messages": [], "tools": tools,
            "stop": ["\n", "END"], "n": 2, "seed": 7, "response_format": {"type": "json_object"}});
        let attrs = request_attributes(&request, "openai", false, 1 << 20);
        let chat_tools = get(&attrs, mlflow::CHAT_TOOLS).unwrap().as_str();
        assert_eq!(serde_json::from_str::<Value>(&chat_tools).unwrap(), tools);
        let bare_tools = get(&attrs, "tools").unwrap().as_str();
        assert_eq!(serde_json::from_str::<Value>(&bare_tools).unwrap(), tools);
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_STOP_SEQUENCES),
            Some(&OtelValue::Array(Array::String(vec![
                "\n".into(),
                "END".into()
            ])))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_CHOICE_COUNT),
            Some(&OtelValue::I64(2))
        );
        assert_eq!(get(&attrs, gen_ai::REQUEST_SEED), Some(&OtelValue::I64(7)));
        assert_eq!(
            get(&attrs, gen_ai::OUTPUT_TYPE),
            Some(&OtelValue::from("json"))
        );
    }

    #[test]
    fn response_attributes_for_plain_chat() {
        let response = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "deepseek-chat",
            "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Paris."}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}
        });
        let attrs = response_attributes(&response, 1 << 20);
        let outputs = get(&attrs, mlflow::SPAN_OUTPUTS).unwrap().as_str();
        assert_eq!(serde_json::from_str::<Value>(&outputs).unwrap(), response);
        assert_eq!(
            get(&attrs, mlflow::LLM_MODEL),
            Some(&OtelValue::from("deepseek-chat"))
        );
        assert_eq!(
            get(&attrs, mlflow::CHAT_TOKEN_USAGE)
                .unwrap()
                .as_str()
                .as_ref(),
            r#"{"input_tokens":12,"output_tokens":8,"total_tokens":20}"#
        );
        assert_eq!(
            get(&attrs, gen_ai::USAGE_INPUT_TOKENS),
            Some(&OtelValue::I64(12))
        );
        assert_eq!(
            get(&attrs, gen_ai::USAGE_OUTPUT_TOKENS),
            Some(&OtelValue::I64(8))
        );
        assert_eq!(
            get(&attrs, gen_ai::RESPONSE_ID),
            Some(&OtelValue::from("chatcmpl-1"))
        );
        assert_eq!(
            get(&attrs, gen_ai::RESPONSE_FINISH_REASONS),
            Some(&OtelValue::Array(Array::String(vec!["stop".into()])))
        );
        assert_eq!(
            get(&attrs, mlflow::SPAN_LOG_LEVEL),
            Some(&OtelValue::I64(20))
        );
        assert_eq!(get(&attrs, deepseek::REASONING_CONTENT), None);
    }

    #[test]
    fn deepseek_extras_are_read_from_raw_json() {
        let response = json!({
            "id": "x", "model": "deepseek-reasoner",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": "Paris.", "reasoning_content": "France's capital..."}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 4},
                "completion_tokens_details": {"reasoning_tokens": 5},
                "prompt_cache_hit_tokens": 4, "prompt_cache_miss_tokens": 8}
        });
        let attrs = response_attributes(&response, 1 << 20);
        assert_eq!(
            get(&attrs, mlflow::CHAT_TOKEN_USAGE)
                .unwrap()
                .as_str()
                .as_ref(),
            r#"{"input_tokens":12,"output_tokens":8,"total_tokens":20,"cache_read_input_tokens":4}"#
        );
        assert_eq!(
            get(&attrs, deepseek::REASONING_CONTENT),
            Some(&OtelValue::from("France's capital..."))
        );
        assert_eq!(
            get(&attrs, gen_ai::USAGE_CACHE_READ_INPUT_TOKENS),
            Some(&OtelValue::I64(4))
        );
        assert_eq!(
            get(&attrs, gen_ai::USAGE_REASONING_OUTPUT_TOKENS),
            Some(&OtelValue::I64(5))
        );
        assert_eq!(
            get(&attrs, deepseek::USAGE_PROMPT_CACHE_HIT_TOKENS),
            Some(&OtelValue::I64(4))
        );
        assert_eq!(
            get(&attrs, deepseek::USAGE_PROMPT_CACHE_MISS_TOKENS),
            Some(&OtelValue::I64(8))
        );
    }

    #[test]
    fn usage_without_details_falls_back_to_deepseek_hit_count_and_computes_total() {
        let usage = Usage::from_json(&json!({"prompt_tokens": 3, "completion_tokens": 2,
            "prompt_cache_hit_tokens": 1}))
        .unwrap();
        assert_eq!(usage.total, 5);
        assert_eq!(usage.cache_read, Some(1));
        assert_eq!(Usage::from_json(&json!({})), None);
    }

    #[test]
    fn genai_messages_use_the_parts_shape() {
        let request = json!({"model": "m", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "rainy"}
        ]});
        let input = genai_input_messages(&request, 1 << 20).unwrap();
        assert_eq!(input.key.as_str(), gen_ai::INPUT_MESSAGES);
        assert_eq!(
            serde_json::from_str::<Value>(&input.value.as_str()).unwrap(),
            json!([
                {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
                {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1",
                    "name": "get_weather", "arguments": {"city": "Paris"}}]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1",
                    "response": "rainy"}]}
            ])
        );
        let response = json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "Rainy.", "reasoning_content": "Look it up."}}]});
        let output = genai_output_messages(&response, 1 << 20).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&output.value.as_str()).unwrap(),
            json!([{"role": "assistant", "finish_reason": "stop", "parts": [
                {"type": "reasoning", "content": "Look it up."},
                {"type": "text", "content": "Rainy."}]}])
        );
    }
}
