//! Pure mapping of an embeddings call (request JSON, response JSON) to span attributes.
//!
//! What `mlflow.openai.autolog()` records for `client.embeddings.create(...)` (MLflow 3.17): an
//! `Embeddings` span of type `EMBEDDING`, the request as `mlflow.spanInputs`, every request
//! parameter but `input` as a bare attribute, `mlflow.llm.model`, and no
//! `mlflow.message.format`. Two deliberate differences, both documented on the functions
//! below: the vectors are left out of `mlflow.spanOutputs`, and token usage is recorded.
//! The OpenTelemetry GenAI attributes of an `embeddings` operation are written alongside.

use opentelemetry::{Array, KeyValue, StringValue, Value as OtelValue};
use serde_json::Value;

use base64::Engine as _;

use crate::record::bare_params;
use crate::record::usage::{to_i64, Usage};
use crate::vocab::json::capped_json;
use crate::vocab::semconv::{gen_ai, mlflow};
use crate::vocab::span_type::SpanType;

/// Request parameter names MLflow autolog does not copy as bare attributes.
const NOT_BARE: &[&str] = &["input"];

/// Bytes per value of a base64-encoded embedding (little-endian `f32`).
const BASE64_VALUE_BYTES: usize = 4;

/// Attributes known when an embeddings call starts, from the request as JSON.
pub(crate) fn request_attributes(
    request: &Value,
    provider: &str,
    max_bytes: usize,
) -> Vec<KeyValue> {
    let mut attrs = vec![
        KeyValue::new(mlflow::SPAN_TYPE, SpanType::Embedding.as_str()),
        KeyValue::new(mlflow::LLM_PROVIDER, provider.to_owned()),
        KeyValue::new(mlflow::SPAN_INPUTS, capped_json(request, max_bytes)),
        KeyValue::new(gen_ai::OPERATION_NAME, gen_ai::OPERATION_EMBEDDINGS),
        KeyValue::new(gen_ai::PROVIDER_NAME, provider.to_owned()),
    ];
    let Some(params) = request.as_object() else {
        return attrs;
    };
    attrs.extend(bare_params(params, NOT_BARE, max_bytes));
    if let Some(model) = params.get("model").and_then(Value::as_str) {
        attrs.push(KeyValue::new(gen_ai::REQUEST_MODEL, model.to_owned()));
    }
    if let Some(format) = params.get("encoding_format").and_then(Value::as_str) {
        let formats = vec![StringValue::from(format.to_owned())];
        attrs.push(KeyValue::new(
            gen_ai::REQUEST_ENCODING_FORMATS,
            OtelValue::Array(Array::String(formats)),
        ));
    }
    if let Some(dimensions) = params.get("dimensions").and_then(Value::as_i64) {
        attrs.push(KeyValue::new(
            gen_ai::EMBEDDINGS_DIMENSION_COUNT,
            dimensions,
        ));
    }
    attrs
}

/// Attributes of a successful embeddings call, from the response JSON (`"object": "list"`).
///
/// `mlflow.spanOutputs` is the response without its vectors (see [`summarize`]).
///
/// Token usage is recorded as `mlflow.chat.tokenUsage` (`output_tokens` 0) and
/// `gen_ai.usage.input_tokens`. MLflow's Python autolog records no usage for embeddings (it is
/// only visible inside the outputs); we record it deliberately, so that a trace's token totals,
/// which MLflow sums from `mlflow.chat.tokenUsage`, include the tokens spent on embeddings.
pub(crate) fn response_attributes(response: &Value, max_bytes: usize) -> Vec<KeyValue> {
    let mut attrs = vec![
        KeyValue::new(
            mlflow::SPAN_OUTPUTS,
            capped_json(&summarize(response), max_bytes),
        ),
        KeyValue::new(mlflow::SPAN_LOG_LEVEL, mlflow::LOG_LEVEL_INFO),
    ];
    if let Some(model) = response.get("model").and_then(Value::as_str) {
        attrs.push(KeyValue::new(mlflow::LLM_MODEL, model.to_owned()));
        attrs.push(KeyValue::new(gen_ai::RESPONSE_MODEL, model.to_owned()));
    }
    if let Some(usage) = response.get("usage").and_then(Usage::from_json) {
        attrs.push(KeyValue::new(mlflow::CHAT_TOKEN_USAGE, usage.mlflow_json()));
        attrs.push(KeyValue::new(
            gen_ai::USAGE_INPUT_TOKENS,
            to_i64(usage.input),
        ));
    }
    attrs
}

/// The response with every `data[i].embedding` replaced by its size: each item keeps its other
/// fields (`object`, `index`) and gains `dimensions`, the number of values of the vector
/// (`null` when it is neither an array nor decodable base64). Every other field (`object`,
/// `model`, `usage`, ...) is kept as it is.
///
/// MLflow's Python autolog stores the full vectors; they are kilobytes of numbers per input
/// that nobody reads in a trace, and they would push the span toward the attribute cap.
///
/// ```text
/// {"object":"list","model":"text-embedding-3-small","usage":{...},
///  "data":[{"object":"embedding","index":0,"dimensions":1536}]}
/// ```
pub(crate) fn summarize(response: &Value) -> Value {
    let mut summary = response.clone();
    let items = summary
        .get_mut("data")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten();
    for item in items {
        if let Some(fields) = item.as_object_mut() {
            let dimensions = fields.remove("embedding").as_ref().and_then(dimensions);
            fields.insert("dimensions".to_owned(), Value::from(dimensions));
        }
    }
    summary
}

/// The number of values of one embedding: a JSON array of numbers, or (`encoding_format:
/// "base64"`) a base64 string of little-endian `f32`s.
fn dimensions(embedding: &Value) -> Option<usize> {
    match embedding {
        Value::Array(values) => Some(values.len()),
        Value::String(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .map(|bytes| bytes.len() / BASE64_VALUE_BYTES),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::attribute as get;
    use serde_json::{json, Map};

    // Captured from the OpenAI Python SDK 3.57.0 against a fake OpenAI server, with MLflow
    // 3.17.2 autolog on (req0: two inputs, base64; req1: one input, float, 8 dimensions).
    const REQ0: &str = r#"{"model": "text-embedding-3-small", "input": ["hello world", "second text"], "encoding_format": "base64"}"#;
    const RESP0: &str = r#"{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": "owEsv0cDuD7l8h++i/0Vvy7/ET9d/sO+0gAeP3L5zz4="}, {"object": "embedding", "index": 1, "embedding": "AADAvnL5jz11Aho/AABAPtIALr91Aiq/0gAOP9IATr8="}], "model": "text-embedding-3-small", "usage": {"prompt_tokens": 4, "total_tokens": 4}}"#;
    const REQ1: &str = r#"{"model": "text-embedding-3-small", "input": "hello world", "dimensions": 8, "encoding_format": "float"}"#;
    const RESP1: &str = r#"{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [-0.6719, 0.3594, -0.1562, -0.5859, 0.5703, -0.3828, 0.6172, 0.4062]}], "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2}}"#;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn json_attr(attrs: &[KeyValue], key: &str) -> Value {
        serde_json::from_str(&get(attrs, key).unwrap().as_str()).unwrap()
    }

    #[test]
    fn request_attributes_follow_autolog_for_embeddings() {
        let request = parse(REQ0);
        let attrs = request_attributes(&request, "openai", 1 << 20);
        assert_eq!(
            get(&attrs, mlflow::SPAN_TYPE),
            Some(&OtelValue::from("EMBEDDING"))
        );
        assert_eq!(json_attr(&attrs, mlflow::SPAN_INPUTS), request);
        // MLflow sets no message format on embeddings spans.
        assert_eq!(get(&attrs, mlflow::MESSAGE_FORMAT), None);
        assert_eq!(
            get(&attrs, mlflow::LLM_PROVIDER),
            Some(&OtelValue::from("openai"))
        );
        // Every parameter but `input` is a bare attribute.
        assert_eq!(
            get(&attrs, "model"),
            Some(&OtelValue::from("text-embedding-3-small"))
        );
        assert_eq!(
            get(&attrs, "encoding_format"),
            Some(&OtelValue::from("base64"))
        );
        assert_eq!(get(&attrs, "input"), None);
        assert_eq!(
            get(&attrs, gen_ai::OPERATION_NAME),
            Some(&OtelValue::from("embeddings"))
        );
        assert_eq!(
            get(&attrs, gen_ai::PROVIDER_NAME),
            Some(&OtelValue::from("openai"))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_MODEL),
            Some(&OtelValue::from("text-embedding-3-small"))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_ENCODING_FORMATS),
            Some(&OtelValue::Array(Array::String(vec!["base64".into()])))
        );
        assert_eq!(get(&attrs, gen_ai::EMBEDDINGS_DIMENSION_COUNT), None);
        assert_eq!(get(&attrs, gen_ai::REQUEST_STREAM), None);
    }

    #[test]
    fn requested_dimensions_are_recorded() {
        let attrs = request_attributes(&parse(REQ1), "openai", 1 << 20);
        assert_eq!(get(&attrs, "dimensions"), Some(&OtelValue::I64(8)));
        assert_eq!(
            get(&attrs, gen_ai::EMBEDDINGS_DIMENSION_COUNT),
            Some(&OtelValue::I64(8))
        );
        assert_eq!(
            get(&attrs, gen_ai::REQUEST_ENCODING_FORMATS),
            Some(&OtelValue::Array(Array::String(vec!["float".into()])))
        );
        // Without optional parameters only `model` is bare.
        let attrs = request_attributes(&json!({"model": "m", "input": "x"}), "openai", 1 << 20);
        assert_eq!(get(&attrs, gen_ai::REQUEST_ENCODING_FORMATS), None);
        assert_eq!(get(&attrs, "dimensions"), None);
    }

    #[test]
    fn float_response_outputs_have_sizes_not_vectors() {
        let attrs = response_attributes(&parse(RESP1), 1 << 20);
        assert_eq!(
            json_attr(&attrs, mlflow::SPAN_OUTPUTS),
            json!({
                "object": "list",
                "data": [{"object": "embedding", "index": 0, "dimensions": 8}],
                "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": 2, "total_tokens": 2}
            })
        );
        assert_eq!(
            get(&attrs, mlflow::LLM_MODEL),
            Some(&OtelValue::from("text-embedding-3-small"))
        );
        assert_eq!(
            get(&attrs, gen_ai::RESPONSE_MODEL),
            Some(&OtelValue::from("text-embedding-3-small"))
        );
        assert_eq!(
            get(&attrs, mlflow::CHAT_TOKEN_USAGE)
                .unwrap()
                .as_str()
                .as_ref(),
            r#"{"input_tokens":2,"output_tokens":0,"total_tokens":2}"#
        );
        assert_eq!(
            get(&attrs, gen_ai::USAGE_INPUT_TOKENS),
            Some(&OtelValue::I64(2))
        );
        // Embeddings produce no output tokens: the GenAI attribute is left out.
        assert_eq!(get(&attrs, gen_ai::USAGE_OUTPUT_TOKENS), None);
        assert_eq!(
            get(&attrs, mlflow::SPAN_LOG_LEVEL),
            Some(&OtelValue::I64(20))
        );
    }

    #[test]
    fn base64_response_dimensions_are_decoded_bytes_over_four() {
        let attrs = response_attributes(&parse(RESP0), 1 << 20);
        let outputs = json_attr(&attrs, mlflow::SPAN_OUTPUTS);
        assert_eq!(
            outputs["data"],
            json!([
                {"object": "embedding", "index": 0, "dimensions": 8},
                {"object": "embedding", "index": 1, "dimensions": 8}
            ])
        );
        assert!(!outputs.to_string().contains("owEsv0"), "{outputs}");
        assert_eq!(
            get(&attrs, mlflow::CHAT_TOKEN_USAGE)
                .unwrap()
                .as_str()
                .as_ref(),
            r#"{"input_tokens":4,"output_tokens":0,"total_tokens":4}"#
        );
    }

    #[test]
    fn summary_is_small_and_keeps_unknown_fields() {
        let vector: Vec<f32> = (0..1536).map(|i| i as f32 / 1536.0).collect();
        let response = json!({"object": "list", "model": "m", "extra": {"k": 1},
            "data": [{"object": "embedding", "index": 0, "embedding": vector, "note": "x"},
                     {"object": "embedding", "index": 1, "embedding": "not base64!"},
                     {"object": "embedding", "index": 2}],
            "usage": {"prompt_tokens": 3, "total_tokens": 3}});
        let summary = summarize(&response);
        let mut expected = object(response.clone());
        expected.insert(
            "data".into(),
            json!([
                {"object": "embedding", "index": 0, "dimensions": 1536, "note": "x"},
                {"object": "embedding", "index": 1, "dimensions": null},
                {"object": "embedding", "index": 2, "dimensions": null}
            ]),
        );
        assert_eq!(summary, Value::Object(expected));
        assert!(summary.to_string().len() < 400);
        // A response that is not a list is kept as it is.
        assert_eq!(summarize(&json!({"x": 1})), json!({"x": 1}));
        assert!(response_attributes(&json!({}), 1 << 20)
            .iter()
            .all(|kv| kv.key.as_str() != mlflow::CHAT_TOKEN_USAGE));
    }
}
