//! Pure mapping of an OpenAI Responses API call (request JSON, `response` JSON) to span
//! attributes, as MLflow 3.17 autolog records `client.responses.create` (span `Responses`,
//! type `CHAT_MODEL`), plus the OpenTelemetry GenAI conventions (`gen_ai.operation.name` =
//! `chat`, `openai.api.type` = `responses`).
//!
//! Responses are read as JSON (the raw body when captured): async-openai's typed `Response`
//! requires usage detail objects that OpenAI-compatible servers often omit.

use opentelemetry::{Array, KeyValue, StringValue, Value as OtelValue};
use serde_json::{json, Map, Value};

use crate::record::bare_params;
use crate::record::usage::Usage;
use crate::vocab::json::capped_json;
use crate::vocab::semconv::{gen_ai, mlflow, openai};
use crate::vocab::span_type::SpanType;

/// Request parameters MLflow autolog does not copy as bare attributes.
const NOT_BARE: &[&str] = &["input", "messages"];

/// Built-in Responses tools MLflow shows as a function named after the tool type
/// (`mlflow/openai/utils/chat_schema.py::_parse_tools`).
const BUILT_IN_TOOLS: &[&str] = &[
    "file_search",
    "computer_use_preview",
    "web_search_preview",
    "local_shell",
    "mcp",
    "code_interpreter",
    "image_generation",
];

/// Attributes known when a Responses call starts, from the request as JSON.
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
        KeyValue::new(openai::API_TYPE, openai::API_TYPE_RESPONSES),
    ];
    // Set if and only if the request streams (the conventions' rule).
    if stream {
        attrs.push(KeyValue::new(gen_ai::REQUEST_STREAM, true));
    }
    let Some(params) = request.as_object() else {
        return attrs;
    };
    attrs.extend(bare_params(params, NOT_BARE, max_bytes));
    if let Some(tools) = params.get("tools").and_then(chat_tools) {
        attrs.push(KeyValue::new(
            mlflow::CHAT_TOOLS,
            capped_json(&tools, max_bytes),
        ));
    }
    if let Some(model) = params.get("model").and_then(Value::as_str) {
        attrs.push(KeyValue::new(gen_ai::REQUEST_MODEL, model.to_owned()));
    }
    for (param, key) in [
        ("temperature", gen_ai::REQUEST_TEMPERATURE),
        ("top_p", gen_ai::REQUEST_TOP_P),
    ] {
        if let Some(v) = params.get(param).and_then(Value::as_f64) {
            attrs.push(KeyValue::new(key, v));
        }
    }
    if let Some(v) = params.get("max_output_tokens").and_then(Value::as_i64) {
        attrs.push(KeyValue::new(gen_ai::REQUEST_MAX_TOKENS, v));
    }
    let format = params
        .get("text")
        .and_then(|t| t.pointer("/format/type"))
        .and_then(Value::as_str);
    if let Some(format) = format {
        let output_type = if format == "text" { "text" } else { "json" };
        attrs.push(KeyValue::new(gen_ai::OUTPUT_TYPE, output_type));
    }
    if let Some(tier) = params.get("service_tier").and_then(Value::as_str) {
        attrs.push(KeyValue::new(openai::REQUEST_SERVICE_TIER, tier.to_owned()));
    }
    let conversation = params.get("conversation").and_then(|c| {
        c.as_str()
            .or_else(|| c.get("id").and_then(Value::as_str))
            .map(str::to_owned)
    });
    if let Some(id) = conversation {
        attrs.push(KeyValue::new(gen_ai::CONVERSATION_ID, id));
    }
    attrs
}

/// Responses tools in the Chat Completions shape MLflow's `mlflow.chat.tools` holds:
/// `{"type":"function","name":...}` → `{"type":"function","function":{"name":...}}`, built-in
/// tools → a function named after their type. Like MLflow, `None` when any tool is of
/// another type (custom tools, ...).
fn chat_tools(tools: &Value) -> Option<Value> {
    let tools = tools.as_array()?;
    let converted = tools
        .iter()
        .map(|tool| {
            let kind = tool.get("type").and_then(Value::as_str)?;
            if kind == "function" {
                let mut function: Map<String, Value> = tool.as_object()?.clone();
                function.remove("type");
                function.retain(|_, v| !v.is_null());
                Some(json!({"type": "function", "function": function}))
            } else if BUILT_IN_TOOLS.contains(&kind) {
                Some(json!({"type": "function", "function": {"name": kind}}))
            } else {
                None
            }
        })
        .collect::<Option<Vec<Value>>>()?;
    Some(Value::Array(converted))
}

/// The GenAI finish reason of a `response`: from its `status` (and, when incomplete, the
/// reason), `tool_calls` when it completed with function calls. `None` while in progress.
pub(crate) fn finish_reason(response: &Value) -> Option<&'static str> {
    let status = response.get("status").and_then(Value::as_str)?;
    Some(match status {
        "completed" => {
            let calls = response
                .get("output")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|item| item.get("type").and_then(Value::as_str) == Some("function_call"));
            if calls {
                "tool_calls"
            } else {
                "stop"
            }
        }
        "incomplete" => match response
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str)
        {
            Some("content_filter") => "content_filter",
            _ => "length",
        },
        "failed" => "error",
        "cancelled" => "cancelled",
        _ => return None,
    })
}

/// Attributes of a finished Responses call, from the `response` JSON.
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
    if let Some(tier) = text("service_tier") {
        attrs.push(KeyValue::new(
            openai::RESPONSE_SERVICE_TIER,
            tier.to_owned(),
        ));
    }
    if let Some(reason) = finish_reason(response) {
        attrs.push(KeyValue::new(
            gen_ai::RESPONSE_FINISH_REASONS,
            OtelValue::Array(Array::String(vec![StringValue::from(reason)])),
        ));
    }
    if let Some(usage) = response.get("usage").and_then(Usage::from_responses_json) {
        usage.attributes(&mut attrs);
    }
    attrs
}

/// Text of a Responses `content`: a string, or the text of its parts.
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

/// A `function_call` item as a GenAI `tool_call` part (arguments parsed when JSON).
fn tool_call_part(item: &Value) -> Value {
    let arguments = item.get("arguments").cloned().unwrap_or(Value::Null);
    let arguments = arguments
        .as_str()
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .unwrap_or(arguments);
    json!({
        "type": "tool_call",
        "id": item.get("call_id"),
        "name": item.get("name"),
        "arguments": arguments,
    })
}

/// `gen_ai.input.messages` (and `gen_ai.system_instructions` from `instructions`): the
/// request's `input` in the GenAI `parts` shape.
pub(crate) fn genai_input_messages(request: &Value, max_bytes: usize) -> Vec<KeyValue> {
    let mut attrs = Vec::new();
    if let Some(instructions) = request.get("instructions").and_then(Value::as_str) {
        attrs.push(KeyValue::new(
            gen_ai::SYSTEM_INSTRUCTIONS,
            capped_json(
                &json!([{"type": "text", "content": instructions}]),
                max_bytes,
            ),
        ));
    }
    let messages: Vec<Value> = match request.get("input") {
        Some(Value::String(text)) => {
            vec![json!({"role": "user", "parts": [{"type": "text", "content": text}]})]
        }
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| {
                let kind = item
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("message");
                match kind {
                    "message" => {
                        let role = item.get("role").and_then(Value::as_str).unwrap_or("user");
                        let text = item.get("content").and_then(content_text)?;
                        Some(json!({"role": role,
                            "parts": [{"type": "text", "content": text}]}))
                    }
                    "function_call" => {
                        Some(json!({"role": "assistant", "parts": [tool_call_part(item)]}))
                    }
                    "function_call_output" => Some(json!({"role": "tool", "parts": [{
                        "type": "tool_call_response",
                        "id": item.get("call_id"),
                        "response": item.get("output"),
                    }]})),
                    _ => None,
                }
            })
            .collect(),
        _ => return attrs,
    };
    attrs.push(KeyValue::new(
        gen_ai::INPUT_MESSAGES,
        capped_json(&Value::Array(messages), max_bytes),
    ));
    attrs
}

/// `gen_ai.output.messages`: the response's `output` items as one assistant message in the
/// GenAI `parts` shape (reasoning summaries, text, tool calls).
pub(crate) fn genai_output_messages(response: &Value, max_bytes: usize) -> Option<KeyValue> {
    let output = response.get("output")?.as_array()?;
    let mut parts = Vec::new();
    for item in output {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => {
                if let Some(text) = item.get("content").and_then(content_text) {
                    parts.push(json!({"type": "text", "content": text}));
                }
            }
            Some("function_call") => parts.push(tool_call_part(item)),
            Some("reasoning") => {
                if let Some(text) = item.get("summary").and_then(content_text) {
                    parts.push(json!({"type": "reasoning", "content": text}));
                }
            }
            _ => {}
        }
    }
    let message = json!([{
        "role": "assistant",
        "parts": parts,
        "finish_reason": finish_reason(response),
    }]);
    Some(KeyValue::new(
        gen_ai::OUTPUT_MESSAGES,
        capped_json(&message, max_bytes),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::attribute as get;

    /// The research fixtures: request bodies the OpenAI Python SDK sent, and the bodies the
    /// (deterministic) server answered, as MLflow 3.17.2 autolog traced them.
    fn req3() -> Value {
        json!({"model": "gpt-4o-mini", "input": "What is the capital of France?"})
    }

    fn req4() -> Value {
        json!({"model": "gpt-4o-mini", "input": "What is the weather in Paris?",
            "instructions": "You are a helpful assistant.", "temperature": 0.2,
            "tools": [{"type": "function", "name": "get_weather", "description": "Get weather",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                    "required": ["location"]}}]})
    }

    fn resp3() -> Value {
        serde_json::from_str(r#"{"id": "resp_59b12b78f1e046b6", "object": "response", "created_at": 1700000000, "status": "completed", "error": null, "incomplete_details": null, "instructions": null, "max_output_tokens": null, "model": "gpt-4o-mini", "output": [{"type": "message", "id": "msg_59b12b78f1e046b6", "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": "Paris is the capital of France.", "annotations": []}]}], "parallel_tool_calls": true, "previous_response_id": null, "reasoning": {"effort": null, "summary": null}, "store": true, "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled", "usage": {"input_tokens": 14, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 8, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 22}, "user": null, "metadata": {}}"#).unwrap()
    }

    #[test]
    fn plain_request_as_mlflow_records_it() {
        let attrs = request_attributes(&req3(), "openai", false, 1 << 20);
        assert_eq!(
            get(&attrs, mlflow::SPAN_TYPE),
            Some(&OtelValue::from("CHAT_MODEL"))
        );
        assert_eq!(
            get(&attrs, mlflow::MESSAGE_FORMAT),
            Some(&OtelValue::from("openai"))
        );
        let inputs = get(&attrs, mlflow::SPAN_INPUTS).unwrap().as_str();
        assert_eq!(serde_json::from_str::<Value>(&inputs).unwrap(), req3());
        assert_eq!(get(&attrs, "model"), Some(&OtelValue::from("gpt-4o-mini")));
        assert_eq!(get(&attrs, "input"), None, "input is not a bare attribute");
        assert_eq!(get(&attrs, mlflow::CHAT_TOOLS), None);
        assert_eq!(
            get(&attrs, gen_ai::OPERATION_NAME),
            Some(&OtelValue::from("chat"))
        );
        assert_eq!(
            get(&attrs, openai::API_TYPE),
            Some(&OtelValue::from("responses"))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_MODEL),
            Some(&OtelValue::from("gpt-4o-mini"))
        );
    }

    #[test]
    fn tools_are_converted_to_the_chat_shape() {
        let mut request = req4();
        request["max_output_tokens"] = json!(64);
        let attrs = request_attributes(&request, "openai", true, 1 << 20);
        assert_eq!(
            get(&attrs, "instructions"),
            Some(&OtelValue::from("You are a helpful assistant."))
        );
        assert_eq!(get(&attrs, "temperature"), Some(&OtelValue::F64(0.2)));
        let bare = get(&attrs, "tools").unwrap().as_str();
        assert_eq!(
            serde_json::from_str::<Value>(&bare).unwrap(),
            request["tools"]
        );
        // What MLflow 3.17.2 stored for this request.
        let stored = get(&attrs, mlflow::CHAT_TOOLS).unwrap().as_str();
        assert_eq!(
            serde_json::from_str::<Value>(&stored).unwrap(),
            json!([{"type": "function", "function": {"name": "get_weather",
                "description": "Get weather", "parameters": {"properties": {"location":
                {"type": "string"}}, "type": "object", "required": ["location"]}}}])
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_TEMPERATURE),
            Some(&OtelValue::F64(0.2))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_MAX_TOKENS),
            Some(&OtelValue::I64(64))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_STREAM),
            Some(&OtelValue::Bool(true))
        );
        // Built-in tools become named functions; an unknown type drops the attribute.
        let built_in = chat_tools(&json!([{"type": "web_search_preview"}])).unwrap();
        assert_eq!(
            built_in,
            json!([{"type": "function", "function": {"name": "web_search_preview"}}])
        );
        assert_eq!(
            chat_tools(&json!([{"type": "function", "name": "f"}, {"type": "custom"}])),
            None
        );
    }

    #[test]
    fn response_as_mlflow_records_it() {
        let attrs = response_attributes(&resp3(), 1 << 20);
        let outputs = get(&attrs, mlflow::SPAN_OUTPUTS).unwrap().as_str();
        assert_eq!(serde_json::from_str::<Value>(&outputs).unwrap(), resp3());
        assert_eq!(
            get(&attrs, mlflow::LLM_MODEL),
            Some(&OtelValue::from("gpt-4o-mini"))
        );
        // Byte for byte what MLflow 3.17.2 stores, cached 0 included.
        assert_eq!(
            get(&attrs, mlflow::CHAT_TOKEN_USAGE)
                .unwrap()
                .as_str()
                .as_ref(),
            r#"{"input_tokens":14,"output_tokens":8,"total_tokens":22,"cache_read_input_tokens":0}"#
        );
        assert_eq!(
            get(&attrs, gen_ai::USAGE_INPUT_TOKENS),
            Some(&OtelValue::I64(14))
        );
        assert_eq!(
            get(&attrs, gen_ai::USAGE_OUTPUT_TOKENS),
            Some(&OtelValue::I64(8))
        );
        assert_eq!(
            get(&attrs, gen_ai::USAGE_REASONING_OUTPUT_TOKENS),
            Some(&OtelValue::I64(0))
        );
        assert_eq!(
            get(&attrs, gen_ai::USAGE_CACHE_READ_INPUT_TOKENS),
            Some(&OtelValue::I64(0))
        );
        assert_eq!(
            get(&attrs, gen_ai::RESPONSE_ID),
            Some(&OtelValue::from("resp_59b12b78f1e046b6"))
        );
        assert_eq!(
            get(&attrs, gen_ai::RESPONSE_FINISH_REASONS),
            Some(&OtelValue::Array(Array::String(vec!["stop".into()])))
        );
    }

    #[test]
    fn usage_without_details_and_finish_reasons() {
        let usage =
            Usage::from_responses_json(&json!({"input_tokens": 3, "output_tokens": 2})).unwrap();
        assert_eq!(
            (usage.total, usage.cache_read, usage.reasoning),
            (5, None, None)
        );
        assert_eq!(
            usage.mlflow_json(),
            r#"{"input_tokens":3,"output_tokens":2,"total_tokens":5}"#
        );
        assert_eq!(
            Usage::from_responses_json(&json!({"prompt_tokens": 3})),
            None
        );

        let calls = json!({"status": "completed", "output": [{"type": "function_call",
            "call_id": "call_1", "name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}]});
        assert_eq!(finish_reason(&calls), Some("tool_calls"));
        let cut = json!({"status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"}});
        assert_eq!(finish_reason(&cut), Some("length"));
        assert_eq!(finish_reason(&json!({"status": "failed"})), Some("error"));
        assert_eq!(finish_reason(&json!({"status": "in_progress"})), None);
    }

    #[test]
    fn genai_messages_use_the_parts_shape() {
        let request = json!({"instructions": "Be brief.", "input": [
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather",
                "arguments": "{\"location\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "rainy"}]});
        let attrs = genai_input_messages(&request, 1 << 20);
        let input = get(&attrs, gen_ai::INPUT_MESSAGES).unwrap().as_str();
        assert_eq!(
            serde_json::from_str::<Value>(&input).unwrap(),
            json!([
                {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
                {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1",
                    "name": "get_weather", "arguments": {"location": "Paris"}}]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1",
                    "response": "rainy"}]}
            ])
        );
        assert!(get(&attrs, gen_ai::SYSTEM_INSTRUCTIONS).is_some());
        let output = genai_output_messages(&resp3(), 1 << 20).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&output.value.as_str()).unwrap(),
            json!([{"role": "assistant", "finish_reason": "stop", "parts": [
                {"type": "text", "content": "Paris is the capital of France."}]}])
        );
    }
}
