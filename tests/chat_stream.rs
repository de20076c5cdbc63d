//! Streamed calls: one span per stream, closed exactly once on every path, with the answer
//! rebuilt, usage recorded, and the caller's chunks unchanged.

mod common;

use std::time::Duration;

use async_openai::types::chat::{
    ChatCompletionResponseStream, ChatCompletionStreamOptions, ChatCompletionTool,
    ChatCompletionTools, CreateChatCompletionRequest, FunctionObjectArgs,
};
use async_openai::Client;
use common::*;
use futures::StreamExt;
use mlflow_tracing::semconv::{deepseek, gen_ai, mlflow, otel, tracer};
use opentelemetry::trace::Status;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use serde_json::json;

/// Reads a whole stream, as JSON values (errors as their text).
async fn drain(mut stream: ChatCompletionResponseStream) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(match item {
            Ok(chunk) => serde_json::to_value(chunk).unwrap(),
            Err(e) => json!({ "error": e.to_string() }),
        });
    }
    items
}

/// The items of the same streamed request, untraced and traced.
async fn plain_and_traced(
    mock: &MockDeepSeek,
    request: CreateChatCompletionRequest,
) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let plain = Client::with_config(config(mock))
        .chat()
        .create_stream(request.clone())
        .await
        .unwrap();
    let plain = drain(plain).await;
    let traced = client(mock).chat().create_stream(request).await.unwrap();
    (plain, drain(traced).await)
}

/// Opens a traced stream of the seed request.
async fn open(mock: &MockDeepSeek, model: &str) -> ChatCompletionResponseStream {
    client(mock)
        .chat()
        .create_stream(seed_request(model))
        .await
        .unwrap()
}

fn with_usage(mut request: CreateChatCompletionRequest) -> CreateChatCompletionRequest {
    request.stream_options = Some(ChatCompletionStreamOptions {
        include_usage: Some(true),
        ..Default::default()
    });
    request
}

fn content(span: &SpanData) -> String {
    attr_json(span, mlflow::SPAN_OUTPUTS)["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn chunk_events(span: &SpanData) -> Vec<String> {
    span.events
        .iter()
        .filter(|e| e.name.starts_with(mlflow::CHUNK_EVENT_PREFIX))
        .map(|e| e.name.to_string())
        .collect()
}

fn bool_attr(span: &SpanData, key: &str) -> bool {
    match attr(span, key) {
        Some(Value::Bool(b)) => *b,
        other => panic!("{key} is not a bool: {other:?}"),
    }
}

fn f64_attr(span: &SpanData, key: &str) -> f64 {
    match attr(span, key) {
        Some(Value::F64(f)) => *f,
        other => panic!("{key} is not a double: {other:?}"),
    }
}

#[tokio::test]
async fn full_read_without_asking_for_usage_still_records_it_and_hides_the_extra_chunk() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let request = seed_request("deepseek-chat");
    let (plain, traced) = plain_and_traced(&mock, request).await;
    assert_eq!(
        traced, plain,
        "the caller sees exactly async-openai's chunks"
    );
    assert!(
        traced.iter().all(|c| c["usage"].is_null()),
        "no usage chunk handed over"
    );

    let span = rec.one("Completions");
    assert_eq!(span.status, Status::Ok);
    assert_eq!(content(&span), "The capital of France is Paris.");
    assert_eq!(
        attr_json(&span, mlflow::CHAT_TOKEN_USAGE),
        json!({"input_tokens": 9, "output_tokens": 6, "total_tokens": 15,
               "cache_read_input_tokens": 4})
    );
    assert_eq!(attr_str(&span, tracer::USAGE_SOURCE), "provider");
    assert!(bool_attr(&span, tracer::STREAM_USAGE_INJECTED));
    assert!(bool_attr(&span, tracer::COMPLETED));
    assert!(bool_attr(&span, gen_ai::REQUEST_STREAM));
    assert_eq!(
        attr_i64(&span, tracer::STREAM_CHUNKS_CONSUMED),
        plain.len() as i64
    );
    // Every chunk received (the usage one too) is an event, as MLflow records them.
    assert_eq!(
        attr_i64(&span, tracer::STREAM_CHUNKS),
        plain.len() as i64 + 1
    );
    assert_eq!(chunk_events(&span).len(), plain.len() + 1);
    assert_eq!(chunk_events(&span)[0], "mlflow.chunk.item.0");
    assert!(f64_attr(&span, gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK) > 0.0);
    assert!(
        f64_attr(&span, tracer::TIME_TO_FIRST_CONTENT)
            >= f64_attr(&span, gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK)
    );
    // Inputs are what the caller sent (plus `stream`), not the injected option.
    let inputs = attr_json(&span, mlflow::SPAN_INPUTS);
    assert_eq!(inputs["stream"], true);
    assert!(inputs.get("stream_options").is_none(), "{inputs}");
    // ...while the server did get the option.
    let sent: serde_json::Value = serde_json::from_slice(&mock.requests().await[1].body).unwrap();
    assert_eq!(sent["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn caller_requested_usage_is_untouched() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let request = with_usage(seed_request("deepseek-chat"));
    let (plain, traced) = plain_and_traced(&mock, request).await;
    assert_eq!(traced, plain);
    assert_eq!(traced.last().unwrap()["usage"]["total_tokens"], 15);
    let span = rec.one("Completions");
    assert!(!bool_attr(&span, tracer::STREAM_USAGE_INJECTED));
    assert_eq!(
        attr_json(&span, mlflow::CHAT_TOKEN_USAGE)["total_tokens"],
        15
    );
    assert_eq!(
        attr_json(&span, mlflow::SPAN_INPUTS)["stream_options"],
        json!({"include_usage": true})
    );
}

#[tokio::test]
async fn span_closes_at_the_end_of_the_stream_not_at_drop() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let mut stream = open(&mock, "deepseek-chat").await;
    while stream.next().await.is_some() {}
    assert_eq!(
        rec.named("Completions").len(),
        1,
        "closed before the stream is dropped"
    );
    drop(stream);
    assert_eq!(rec.named("Completions").len(), 1, "and exactly once");
}

#[tokio::test]
async fn reasoner_stream_accumulates_reasoning_separately() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    drain(open(&mock, "deepseek-reasoner").await).await;
    let span = rec.one("Completions");
    let message = &attr_json(&span, mlflow::SPAN_OUTPUTS)["choices"][0]["message"];
    assert_eq!(message["content"], "The capital of France is Paris.");
    assert_eq!(
        message["reasoning_content"],
        "The user asks about France. Its capital is Paris."
    );
    assert_eq!(
        attr_str(&span, deepseek::REASONING_CONTENT),
        "The user asks about France. Its capital is Paris."
    );
    assert_eq!(attr_i64(&span, gen_ai::USAGE_REASONING_OUTPUT_TOKENS), 5);
    assert!(
        f64_attr(&span, tracer::TIME_TO_FIRST_REASONING)
            <= f64_attr(&span, tracer::TIME_TO_FIRST_CONTENT)
    );
}

#[tokio::test]
async fn tool_call_fragments_are_merged() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let mut request = ask("deepseek-chat", "What's the weather like in Paris today?");
    request.tools = Some(vec![ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObjectArgs::default()
            .name("get_weather")
            .parameters(json!({"type": "object", "properties": {"city": {"type": "string"}}}))
            .build()
            .unwrap(),
    })]);
    drain(client(&mock).chat().create_stream(request).await.unwrap()).await;
    let span = rec.one("Completions");
    let outputs = attr_json(&span, mlflow::SPAN_OUTPUTS);
    assert_eq!(
        outputs["choices"][0]["message"]["tool_calls"],
        json!([{"id": "call_0_weather", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}])
    );
    assert_eq!(outputs["choices"][0]["finish_reason"], "tool_calls");
    assert!(attr(&span, tracer::TIME_TO_FIRST_TOOL_CALL).is_some());
    assert!(attr(&span, mlflow::CHAT_TOOLS).is_some());
}

#[tokio::test]
async fn mid_stream_error_marks_the_span_failed_and_keeps_partial_output() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let request = seed_request("deepseek-chat-midstream-error");
    let (plain, traced) = plain_and_traced(&mock, request).await;
    assert_eq!(traced, plain, "the error reaches the caller unchanged");
    assert!(traced.iter().any(|c| c.get("error").is_some()));

    let span = rec.one("Completions");
    assert!(matches!(span.status, Status::Error { .. }));
    assert_eq!(attr_str(&span, otel::ERROR_TYPE), "JSONDeserializeError");
    assert!(!bool_attr(&span, tracer::COMPLETED));
    assert_eq!(attr_i64(&span, mlflow::SPAN_LOG_LEVEL), 40);
    assert_eq!(content(&span), "The capital of France is Paris.");
}

#[tokio::test]
async fn body_cut_before_done_is_an_incomplete_stream() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let items = drain(open(&mock, "deepseek-chat-truncated").await).await;
    assert_eq!(items.len(), 3);
    let span = rec.one("Completions");
    assert_eq!(attr_str(&span, otel::ERROR_TYPE), "IncompleteStream");
    assert!(!bool_attr(&span, tracer::COMPLETED));
    assert_eq!(content(&span), "The capital ");
    assert_eq!(attr_str(&span, tracer::USAGE_SOURCE), "absent");
}

#[tokio::test]
async fn dropping_the_stream_after_one_chunk_closes_the_span_as_cancelled() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let mut stream = open(&mock, "deepseek-chat").await;
    stream.next().await.unwrap().unwrap();
    assert!(
        rec.named("Completions").is_empty(),
        "still open while streaming"
    );
    drop(stream);
    let span = rec.one("Completions");
    assert!(matches!(span.status, Status::Error { .. }));
    assert_eq!(attr_str(&span, otel::ERROR_TYPE), "cancelled");
    assert!(!bool_attr(&span, tracer::COMPLETED));
    assert_eq!(attr_i64(&span, tracer::STREAM_CHUNKS_CONSUMED), 1);
    assert!(
        attr(&span, mlflow::SPAN_OUTPUTS).is_some(),
        "partial output kept"
    );
}

#[tokio::test]
async fn timeout_dropping_the_request_future_closes_the_span_as_cancelled() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    let outcome = tokio::time::timeout(
        Duration::from_millis(200),
        client
            .chat()
            .create_stream(seed_request("deepseek-chat-slow")),
    )
    .await;
    assert!(outcome.is_err());
    let span = rec.one("Completions");
    assert_eq!(attr_str(&span, otel::ERROR_TYPE), "cancelled");
    assert!(!bool_attr(&span, tracer::COMPLETED));
    assert!(bool_attr(&span, gen_ai::REQUEST_STREAM));
}

#[tokio::test]
async fn cumulative_usage_last_one_wins() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let request = with_usage(seed_request("deepseek-chat-cumulative"));
    drain(client(&mock).chat().create_stream(request).await.unwrap()).await;
    let span = rec.one("Completions");
    assert_eq!(
        attr_json(&span, mlflow::CHAT_TOKEN_USAGE)["output_tokens"],
        6
    );
}

#[tokio::test]
async fn chunk_events_are_capped_but_output_is_complete() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let items = drain(
        client(&mock)
            .chat()
            .create_stream(ask("deepseek-chat-long", "talk"))
            .await
            .unwrap(),
    )
    .await;
    assert!(items.len() > 300);
    let span = rec.one("Completions");
    let events = chunk_events(&span);
    let (head, tail) = mlflow_tracing::defaults::CHUNK_EVENTS;
    assert_eq!(events.len(), head + tail);
    assert_eq!(events[head - 1], format!("mlflow.chunk.item.{}", head - 1));
    assert_eq!(
        events.last().unwrap(),
        &format!("mlflow.chunk.item.{}", items.len()) // + the hidden usage chunk
    );
    assert_eq!(content(&span), "word ".repeat(300));
}

#[tokio::test]
async fn api_error_before_the_stream_is_recorded() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let result = client(&mock)
        .chat()
        .create_stream(seed_request("deepseek-chat-error-401"))
        .await;
    assert!(result.is_err());
    let span = rec.one("Completions");
    assert_eq!(attr_str(&span, otel::ERROR_TYPE), "AuthenticationError");
}

#[tokio::test]
async fn without_capture_typed_chunks_feed_the_span() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let traced = mlflow_tracing::TracedClient::new(Client::with_config(config(&mock)));
    drain(
        traced
            .chat()
            .create_stream(seed_request("deepseek-chat"))
            .await
            .unwrap(),
    )
    .await;
    let span = rec.one("Completions");
    assert_eq!(content(&span), "The capital of France is Paris.");
    assert_eq!(
        attr_json(&span, mlflow::CHAT_TOKEN_USAGE)["total_tokens"],
        15
    );
    assert!(bool_attr(&span, tracer::COMPLETED));
}
