//! The OpenAI Responses API (`client.responses()`), offline against the mock: one `Responses`
//! span (type `CHAT_MODEL`) per call, recorded as MLflow 3.17.2 autolog records it, streamed
//! or not, with the caller's results unchanged.

mod common;

use async_openai::types::responses::{CreateResponse, ResponseStream};
use async_openai::Client;
use common::*;
use futures::StreamExt;
use mlflow_tracing::semconv::{gen_ai, mlflow, openai, otel, tracer};
use mlflow_tracing::OpenAIClientExt;
use opentelemetry::trace::Status;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use serde_json::json;

/// The mock's non-streamed answer (the research fixture) and its stream.
const CREATE_FIXTURE: &str = include_str!("fixtures/responses_create.json");
const STREAM_FIXTURE: &str = include_str!("fixtures/responses_stream.sse");

fn request(body: serde_json::Value) -> CreateResponse {
    serde_json::from_value(body).expect("a valid CreateResponse")
}

/// The research fixture's plain request (req3).
fn plain(model: &str) -> CreateResponse {
    request(json!({"model": model, "input": "What is the capital of France?"}))
}

/// The research fixture's request with instructions, temperature and a tool (req4).
fn with_tools() -> CreateResponse {
    request(
        json!({"model": "gpt-4o-mini", "input": "What is the weather in Paris?",
        "instructions": "You are a helpful assistant.", "temperature": 0.2,
        "tools": [{"type": "function", "name": "get_weather", "description": "Get weather",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                "required": ["location"]}}]}),
    )
}

/// Reads a whole stream, as JSON values (errors as their text).
async fn drain(mut stream: ResponseStream) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(match item {
            Ok(event) => serde_json::to_value(event).unwrap(),
            Err(e) => json!({ "error": e.to_string() }),
        });
    }
    items
}

fn chunk_values(span: &SpanData) -> Vec<serde_json::Value> {
    span.events
        .iter()
        .filter(|e| e.name.starts_with(mlflow::CHUNK_EVENT_PREFIX))
        .map(|e| {
            let value = e
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == mlflow::CHUNK_VALUE)
                .expect("chunk value")
                .value
                .as_str();
            serde_json::from_str(&value).unwrap()
        })
        .collect()
}

fn bool_attr(span: &SpanData, key: &str) -> bool {
    match attr(span, key) {
        Some(Value::Bool(b)) => *b,
        other => panic!("{key} is not a bool: {other:?}"),
    }
}

fn exception_type(span: &SpanData) -> String {
    let event = span
        .events
        .iter()
        .find(|e| e.name == otel::EXCEPTION_EVENT)
        .expect("an exception event");
    event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == otel::EXCEPTION_TYPE)
        .unwrap()
        .value
        .to_string()
}

#[tokio::test]
async fn create_is_recorded_as_mlflow_autolog_records_it() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let untraced = Client::with_config(config(&mock))
        .responses()
        .create(plain("gpt-4o-mini"))
        .await
        .unwrap();
    let response = client(&mock)
        .responses()
        .create(plain("gpt-4o-mini"))
        .await
        .unwrap();
    assert_eq!(
        response, untraced,
        "the caller gets async-openai's response"
    );

    let span = rec.one("Responses");
    assert_eq!(span.status, Status::Ok);
    assert_eq!(attr_str(&span, mlflow::SPAN_TYPE), "CHAT_MODEL");
    assert_eq!(attr_str(&span, mlflow::MESSAGE_FORMAT), "openai");
    assert_eq!(
        attr_json(&span, mlflow::SPAN_INPUTS),
        json!({"model": "gpt-4o-mini", "input": "What is the capital of France?"})
    );
    assert_eq!(attr_str(&span, "model"), "gpt-4o-mini");
    assert!(
        attr(&span, "input").is_none(),
        "input is not a bare attribute"
    );
    assert_eq!(attr_str(&span, mlflow::LLM_MODEL), "gpt-4o-mini");
    // Byte for byte what MLflow 3.17.2 stores for this call.
    assert_eq!(
        attr_str(&span, mlflow::CHAT_TOKEN_USAGE),
        r#"{"input_tokens":14,"output_tokens":8,"total_tokens":22,"cache_read_input_tokens":0}"#
    );
    // Outputs: the raw response body, as the server sent it.
    let fixture: serde_json::Value = serde_json::from_str(CREATE_FIXTURE).unwrap();
    assert_eq!(attr_json(&span, mlflow::SPAN_OUTPUTS), fixture);
    assert_eq!(attr_i64(&span, mlflow::SPAN_LOG_LEVEL), 20);
    assert_eq!(attr_str(&span, gen_ai::OPERATION_NAME), "chat");
    assert_eq!(attr_str(&span, openai::API_TYPE), "responses");
    assert_eq!(
        attr_str(&span, gen_ai::RESPONSE_ID),
        "resp_59b12b78f1e046b6"
    );
    assert_eq!(attr_i64(&span, gen_ai::USAGE_INPUT_TOKENS), 14);
    assert_eq!(attr_i64(&span, gen_ai::USAGE_OUTPUT_TOKENS), 8);
    assert_eq!(attr_i64(&span, gen_ai::USAGE_REASONING_OUTPUT_TOKENS), 0);
    assert!(
        attr(&span, gen_ai::REQUEST_STREAM).is_none(),
        "set only when streaming"
    );
    // The request named this span in its traceparent, as autolog sends it.
    let sent = &mock.requests().await[1];
    let traceparent = sent.headers["traceparent"].to_str().unwrap();
    assert!(
        traceparent.contains(&span.span_context.span_id().to_string()),
        "{traceparent}"
    );
}

#[tokio::test]
async fn tools_are_converted_and_tool_calls_are_in_the_outputs() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let response = client(&mock)
        .responses()
        .create(with_tools())
        .await
        .unwrap();
    assert_eq!(response.output.len(), 1);

    let span = rec.one("Responses");
    assert_eq!(
        attr_str(&span, "instructions"),
        "You are a helpful assistant."
    );
    assert_eq!(
        attr_json(&span, "tools"),
        attr_json(&span, mlflow::SPAN_INPUTS)["tools"]
    );
    // What MLflow 3.17.2 stored for this request.
    assert_eq!(
        attr_json(&span, mlflow::CHAT_TOOLS),
        json!([{"type": "function", "function": {"name": "get_weather",
            "description": "Get weather", "parameters": {"properties": {"location":
            {"type": "string"}}, "type": "object", "required": ["location"]}}}])
    );
    let outputs = attr_json(&span, mlflow::SPAN_OUTPUTS);
    assert_eq!(outputs["output"][0]["type"], "function_call");
    assert_eq!(outputs["output"][0]["name"], "get_weather");
    assert_eq!(outputs["output"][0]["arguments"], r#"{"location":"Paris"}"#);
    assert_eq!(
        attr(&span, gen_ai::RESPONSE_FINISH_REASONS),
        Some(&Value::Array(opentelemetry::Array::String(vec![
            "tool_calls".into()
        ])))
    );
}

#[tokio::test]
async fn api_errors_fail_the_span() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let result = client(&mock)
        .responses()
        .create(plain("gpt-4o-mini-error-401"))
        .await;
    assert!(result.is_err());
    let span = rec.one("Responses");
    assert!(matches!(span.status, Status::Error { .. }));
    assert_eq!(exception_type(&span), "AuthenticationError");
    assert!(attr(&span, mlflow::SPAN_OUTPUTS).is_none());
}

#[tokio::test]
async fn full_stream_one_span_outputs_the_completed_response() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let untraced = Client::with_config(config(&mock))
        .responses()
        .create_stream(plain("gpt-4o-mini"))
        .await
        .unwrap();
    let untraced = drain(untraced).await;
    let stream = client(&mock)
        .responses()
        .create_stream(plain("gpt-4o-mini"))
        .await
        .unwrap();
    assert!(rec.named("Responses").is_empty(), "open while streaming");
    let traced = drain(stream).await;
    assert_eq!(traced, untraced, "the caller sees every event unchanged");
    assert_eq!(traced.len(), 11);

    let span = rec.one("Responses");
    assert_eq!(span.status, Status::Ok);
    assert_eq!(attr_str(&span, mlflow::SPAN_TYPE), "CHAT_MODEL");
    assert_eq!(attr_str(&span, mlflow::MESSAGE_FORMAT), "openai");
    assert!(bool_attr(&span, "stream"), "the bare `stream` parameter");
    assert_eq!(attr_json(&span, mlflow::SPAN_INPUTS)["stream"], true);
    assert!(bool_attr(&span, gen_ai::REQUEST_STREAM));
    // Outputs: the raw `response` of `response.completed`.
    let completed: serde_json::Value = STREAM_FIXTURE
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap()["response"].clone())
        .unwrap();
    assert_eq!(attr_json(&span, mlflow::SPAN_OUTPUTS), completed);
    assert_eq!(
        attr_str(&span, mlflow::CHAT_TOKEN_USAGE),
        r#"{"input_tokens":14,"output_tokens":8,"total_tokens":22,"cache_read_input_tokens":0}"#
    );
    assert_eq!(attr_str(&span, mlflow::LLM_MODEL), "gpt-4o-mini");
    assert_eq!(attr_str(&span, tracer::USAGE_SOURCE), "provider");
    assert!(bool_attr(&span, tracer::COMPLETED));
    assert!(!bool_attr(&span, tracer::STREAM_USAGE_INJECTED));
    assert_eq!(attr_i64(&span, tracer::STREAM_CHUNKS_CONSUMED), 11);
    assert!(attr(&span, tracer::TIME_TO_FIRST_CONTENT).is_some());
    // One `mlflow.chunk.item.N` event per SSE event, in order, with the event's JSON.
    let chunks = chunk_values(&span);
    assert_eq!(chunks.len(), 11);
    assert_eq!(chunks[0]["type"], "response.created");
    assert_eq!(chunks[4]["delta"], "Hello");
    assert_eq!(chunks[10]["type"], "response.completed");
    assert_eq!(
        span.events
            .iter()
            .filter(|e| e.name.starts_with(mlflow::CHUNK_EVENT_PREFIX))
            .map(|e| e.name.to_string())
            .next()
            .as_deref(),
        Some("mlflow.chunk.item.0")
    );
}

#[tokio::test]
async fn typed_events_suffice_without_capture() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let client = Client::with_config(config(&mock)).traced();
    client
        .responses()
        .create(plain("gpt-4o-mini"))
        .await
        .unwrap();
    let stream = client
        .responses()
        .create_stream(plain("gpt-4o-mini"))
        .await
        .unwrap();
    assert_eq!(drain(stream).await.len(), 11);
    let spans = rec.named("Responses");
    assert_eq!(spans.len(), 2);
    for span in &spans {
        assert_eq!(span.status, Status::Ok);
        assert_eq!(
            attr_json(span, mlflow::CHAT_TOKEN_USAGE)["total_tokens"],
            22
        );
        assert_eq!(
            attr_json(span, mlflow::SPAN_OUTPUTS)["output"][0]["content"][0]["type"],
            "output_text"
        );
    }
    assert_eq!(chunk_values(&spans[1]).len(), 11);
}

#[tokio::test]
async fn dropped_stream_is_cancelled_and_keeps_what_arrived() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let mut stream = client(&mock)
        .responses()
        .create_stream(plain("gpt-4o-mini"))
        .await
        .unwrap();
    for _ in 0..5 {
        stream.next().await.unwrap().unwrap();
    }
    assert!(rec.named("Responses").is_empty());
    drop(stream);

    let span = rec.one("Responses");
    assert!(matches!(span.status, Status::Error { .. }));
    assert_eq!(attr_str(&span, otel::ERROR_TYPE), "cancelled");
    assert!(!bool_attr(&span, tracer::COMPLETED));
    assert_eq!(attr_i64(&span, tracer::STREAM_CHUNKS_CONSUMED), 5);
    // The raw body read so far (at least the first text delta) is rebuilt into the outputs.
    let outputs = attr_json(&span, mlflow::SPAN_OUTPUTS);
    let text = outputs["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.starts_with("Hello"), "{outputs}");
}

#[tokio::test]
async fn response_failed_event_fails_the_span() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let stream = client(&mock)
        .responses()
        .create_stream(plain("gpt-4o-mini-failed"))
        .await
        .unwrap();
    let events = drain(stream).await;
    assert_eq!(events.last().unwrap()["type"], "response.failed");

    let span = rec.one("Responses");
    match &span.status {
        Status::Error { description } => {
            assert_eq!(description, "server_error: The model failed mid-answer.")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(exception_type(&span), "ResponseFailed");
    assert_eq!(attr_str(&span, otel::ERROR_TYPE), "ResponseFailed");
    assert_eq!(attr_i64(&span, mlflow::SPAN_LOG_LEVEL), 40);
    assert_eq!(attr_json(&span, mlflow::SPAN_OUTPUTS)["status"], "failed");
    assert!(!bool_attr(&span, tracer::COMPLETED));
}

#[tokio::test]
async fn truncated_stream_is_incomplete_with_partial_output() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let stream = client(&mock)
        .responses()
        .create_stream(plain("gpt-4o-mini-truncated"))
        .await
        .unwrap();
    assert_eq!(drain(stream).await.len(), 6);

    let span = rec.one("Responses");
    assert_eq!(attr_str(&span, otel::ERROR_TYPE), "IncompleteStream");
    let outputs = attr_json(&span, mlflow::SPAN_OUTPUTS);
    assert_eq!(outputs["id"], "resp_231c69f0327b3e97");
    assert_eq!(outputs["output"][0]["content"][0]["text"], "Hello from the");
    assert!(attr(&span, mlflow::CHAT_TOKEN_USAGE).is_none());
    assert_eq!(attr_str(&span, tracer::USAGE_SOURCE), "absent");
}
