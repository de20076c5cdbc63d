//! Pure mapping from a finished span to its metric points: MLflow's span duration for every
//! span, and the GenAI client metrics for each LLM call span (read back from the attributes
//! the engine recorded, so a metric can never disagree with its span).

use opentelemetry::trace::{SpanId, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::vocab::semconv::{gen_ai, metrics, mlflow, otel, tracer};

/// One `mlflow.trace.span.duration` point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpanDuration {
    pub(crate) millis: f64,
    pub(crate) attributes: Vec<KeyValue>,
}

/// The GenAI client metric points of one LLM call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GenAiCall {
    /// The attributes every point shares (operation, provider, models, server).
    pub(crate) attributes: Vec<KeyValue>,
    /// `gen_ai.client.operation.duration`, in seconds.
    pub(crate) seconds: f64,
    /// `error.type` of a failed call (added to the duration point only).
    pub(crate) error_type: Option<String>,
    /// `gen_ai.client.token.usage` points: input, output.
    pub(crate) input_tokens: Option<u64>,
    pub(crate) output_tokens: Option<u64>,
    /// `gen_ai.client.operation.time_to_first_chunk` of a streamed call, in seconds.
    pub(crate) time_to_first_chunk: Option<f64>,
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    crate::record::attribute(&span.attributes, key)
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attribute(span, key).map(|v| v.as_str().into_owned())
}

fn int(span: &SpanData, key: &str) -> Option<u64> {
    match attribute(span, key)? {
        Value::I64(n) => u64::try_from(*n).ok(),
        Value::F64(f) if *f >= 0.0 => Some(*f as u64),
        Value::String(s) => s.as_str().parse().ok(),
        _ => None,
    }
}

fn float(span: &SpanData, key: &str) -> Option<f64> {
    match attribute(span, key)? {
        Value::F64(f) => Some(*f),
        Value::I64(n) => Some(*n as f64),
        _ => None,
    }
}

/// The span's duration point, with MLflow Python's attributes: `root`, `span_type`,
/// `span_status`, `experiment_id`, and each trace tag and metadata entry the span carries
/// (`tags.<key>`, `metadata.<key>`; the root span carries them).
pub(crate) fn span_duration(span: &SpanData, experiment_id: &str) -> SpanDuration {
    let millis = span
        .end_time
        .duration_since(span.start_time)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    let status = match span.status {
        Status::Unset => "UNSET",
        Status::Ok => "OK",
        Status::Error { .. } => "ERROR",
    };
    let mut attributes = vec![
        KeyValue::new(metrics::ROOT, span.parent_span_id == SpanId::INVALID),
        KeyValue::new(
            metrics::SPAN_TYPE,
            text(span, mlflow::SPAN_TYPE).unwrap_or_else(|| "UNKNOWN".to_owned()),
        ),
        KeyValue::new(metrics::SPAN_STATUS, status),
        KeyValue::new(metrics::EXPERIMENT_ID, experiment_id.to_owned()),
    ];
    for kv in &span.attributes {
        let key = kv.key.as_str();
        let (prefix, rest) = if let Some(tag) = key.strip_prefix(mlflow::TRACE_TAG_PREFIX) {
            (metrics::TAG_PREFIX, tag)
        } else if let Some(entry) = key.strip_prefix(tracer::TRACE_METADATA_PREFIX) {
            (metrics::METADATA_PREFIX, entry)
        } else {
            continue;
        };
        attributes.push(KeyValue::new(
            format!("{prefix}{rest}"),
            kv.value.as_str().into_owned(),
        ));
    }
    SpanDuration { millis, attributes }
}

/// The GenAI client points of an LLM call span (one with `gen_ai.operation.name` of an
/// inference or embeddings call and a `gen_ai.provider.name`); `None` for any other span.
pub(crate) fn genai_call(span: &SpanData) -> Option<GenAiCall> {
    let operation = text(span, gen_ai::OPERATION_NAME)?;
    if !matches!(
        operation.as_str(),
        gen_ai::OPERATION_CHAT | gen_ai::OPERATION_TEXT_COMPLETION | gen_ai::OPERATION_EMBEDDINGS
    ) {
        return None;
    }
    let provider = text(span, gen_ai::PROVIDER_NAME)?;
    let mut attributes = vec![
        KeyValue::new(gen_ai::OPERATION_NAME, operation),
        KeyValue::new(gen_ai::PROVIDER_NAME, provider),
    ];
    for key in [gen_ai::REQUEST_MODEL, gen_ai::RESPONSE_MODEL] {
        if let Some(model) = text(span, key) {
            attributes.push(KeyValue::new(key, model));
        }
    }
    if let Some(address) = text(span, otel::SERVER_ADDRESS) {
        attributes.push(KeyValue::new(otel::SERVER_ADDRESS, address));
        if let Some(port) = int(span, otel::SERVER_PORT) {
            attributes.push(KeyValue::new(otel::SERVER_PORT, port as i64));
        }
    }
    Some(GenAiCall {
        attributes,
        seconds: span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default()
            .as_secs_f64(),
        error_type: text(span, otel::ERROR_TYPE),
        input_tokens: int(span, gen_ai::USAGE_INPUT_TOKENS),
        output_tokens: int(span, gen_ai::USAGE_OUTPUT_TOKENS),
        time_to_first_chunk: float(span, gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlflow::metadata::test_span;
    use std::time::Duration;

    fn get<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    fn chat_span(extra: Vec<KeyValue>) -> SpanData {
        let mut attributes = vec![
            KeyValue::new(mlflow::SPAN_TYPE, "CHAT_MODEL"),
            KeyValue::new(gen_ai::OPERATION_NAME, "chat"),
            KeyValue::new(gen_ai::PROVIDER_NAME, "deepseek"),
            KeyValue::new(gen_ai::REQUEST_MODEL, "deepseek-chat"),
            KeyValue::new(gen_ai::RESPONSE_MODEL, "deepseek-chat"),
            KeyValue::new(otel::SERVER_ADDRESS, "api.deepseek.com"),
            KeyValue::new(otel::SERVER_PORT, 443_i64),
            KeyValue::new(gen_ai::USAGE_INPUT_TOKENS, 12_i64),
            KeyValue::new(gen_ai::USAGE_OUTPUT_TOKENS, 8_i64),
        ];
        attributes.extend(extra);
        let mut span = test_span(1, 2, 1, attributes);
        span.end_time = span.start_time + Duration::from_millis(1500);
        span
    }

    #[test]
    fn span_duration_has_mlflow_pythons_attributes() {
        let mut root = test_span(
            1,
            1,
            0,
            vec![
                KeyValue::new(
                    format!("{}mlflow.traceName", mlflow::TRACE_TAG_PREFIX),
                    "agent",
                ),
                KeyValue::new(
                    format!("{}app.version", tracer::TRACE_METADATA_PREFIX),
                    "1.2",
                ),
            ],
        );
        root.end_time = root.start_time + Duration::from_millis(250);
        let point = span_duration(&root, "7");
        assert_eq!(point.millis, 250.0);
        let a = &point.attributes;
        assert_eq!(get(a, metrics::ROOT), Some(&Value::Bool(true)));
        assert_eq!(get(a, metrics::SPAN_TYPE), Some(&Value::from("UNKNOWN")));
        assert_eq!(get(a, metrics::SPAN_STATUS), Some(&Value::from("OK")));
        assert_eq!(get(a, metrics::EXPERIMENT_ID), Some(&Value::from("7")));
        let name_tag = mlflow::TRACE_NAME
            .strip_prefix(mlflow::TRACE_TAG_PREFIX)
            .unwrap();
        let tag = format!("{}{name_tag}", metrics::TAG_PREFIX);
        assert_eq!(get(a, &tag), Some(&Value::from("agent")));
        let entry = format!("{}app.version", metrics::METADATA_PREFIX);
        assert_eq!(get(a, &entry), Some(&Value::from("1.2")));

        let mut child = chat_span(vec![]);
        child.status = Status::error("boom");
        let point = span_duration(&child, "7");
        assert_eq!(
            get(&point.attributes, metrics::ROOT),
            Some(&Value::Bool(false))
        );
        assert_eq!(
            get(&point.attributes, metrics::SPAN_TYPE),
            Some(&Value::from("CHAT_MODEL"))
        );
        assert_eq!(
            get(&point.attributes, metrics::SPAN_STATUS),
            Some(&Value::from("ERROR"))
        );
    }

    #[test]
    fn genai_points_come_from_the_call_span() {
        let call = genai_call(&chat_span(vec![KeyValue::new(
            gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK,
            0.25,
        )]))
        .unwrap();
        assert_eq!(call.seconds, 1.5);
        assert_eq!((call.input_tokens, call.output_tokens), (Some(12), Some(8)));
        assert_eq!(call.time_to_first_chunk, Some(0.25));
        assert_eq!(call.error_type, None);
        let keys: Vec<&str> = call.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                gen_ai::OPERATION_NAME,
                gen_ai::PROVIDER_NAME,
                gen_ai::REQUEST_MODEL,
                gen_ai::RESPONSE_MODEL,
                otel::SERVER_ADDRESS,
                otel::SERVER_PORT
            ]
        );
        assert_eq!(
            get(&call.attributes, otel::SERVER_PORT),
            Some(&Value::I64(443))
        );
        let failed = genai_call(&chat_span(vec![KeyValue::new(otel::ERROR_TYPE, "429")])).unwrap();
        assert_eq!(failed.error_type.as_deref(), Some("429"));
    }

    #[test]
    fn other_spans_have_no_genai_points() {
        assert_eq!(genai_call(&test_span(1, 1, 0, vec![])), None);
        let tool = test_span(
            1,
            3,
            1,
            vec![
                KeyValue::new(gen_ai::OPERATION_NAME, gen_ai::OPERATION_EXECUTE_TOOL),
                KeyValue::new(gen_ai::PROVIDER_NAME, "deepseek"),
            ],
        );
        assert_eq!(genai_call(&tool), None);
    }
}
