//! Failed calls: span status ERROR with an `exception` event, and the caller gets
//! async-openai's error unchanged.

mod common;

use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::Client;
use common::*;
use mlflow_tracing::semconv::{mlflow, otel};
use mlflow_tracing::TracedClient;
use opentelemetry::trace::Status;
use opentelemetry_sdk::trace::SpanData;

fn exception(span: &SpanData) -> (String, String) {
    let event = span
        .events
        .iter()
        .find(|e| e.name == otel::EXCEPTION_EVENT)
        .expect("an exception event");
    let get = |key: &str| {
        event
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
            .unwrap_or_default()
    };
    (get(otel::EXCEPTION_TYPE), get(otel::EXCEPTION_MESSAGE))
}

fn assert_failed(span: &SpanData, error_type: &str) {
    assert!(
        matches!(span.status, Status::Error { .. }),
        "status {:?}",
        span.status
    );
    assert_eq!(attr_str(span, otel::ERROR_TYPE), error_type);
    assert_eq!(attr_i64(span, mlflow::SPAN_LOG_LEVEL), 40);
    assert_eq!(attr(span, mlflow::SPAN_OUTPUTS), None);
    assert_eq!(exception(span).0, error_type);
    // Inputs are still there, like autolog's error spans.
    assert_eq!(
        attr_json(span, mlflow::SPAN_INPUTS)["model"],
        attr_str(span, "model")
    );
}

async fn api_error_case(model: &str, status: u16, error_type: &str) {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let traced = client(&mock).chat().create(seed_request(model)).await;
    let plain = Client::with_config(config(&mock))
        .chat()
        .create(seed_request(model))
        .await;
    let (Err(OpenAIError::ApiError(traced)), Err(OpenAIError::ApiError(plain))) = (traced, plain)
    else {
        panic!("both calls must fail with ApiError");
    };
    assert_eq!(traced.status_code, plain.status_code);
    assert_eq!(traced.api_error.message, plain.api_error.message);
    assert_eq!(traced.api_error.code, plain.api_error.code);

    let span = rec.one("Completions");
    assert_failed(&span, error_type);
    assert_eq!(
        attr_i64(&span, otel::HTTP_RESPONSE_STATUS_CODE),
        i64::from(status)
    );
    let (_, message) = exception(&span);
    assert!(
        message.starts_with(&format!("Error code: {status} - ")),
        "{message}"
    );
    assert!(message.contains(&plain.api_error.message), "{message}");
}

#[tokio::test]
async fn unauthorized() {
    api_error_case("deepseek-chat-error-401", 401, "AuthenticationError").await;
}

#[tokio::test]
async fn rate_limited() {
    api_error_case("deepseek-chat-error-429", 429, "RateLimitError").await;
}

#[tokio::test]
async fn server_error() {
    api_error_case("deepseek-chat-error-500", 500, "InternalServerError").await;
}

#[tokio::test]
async fn connection_refused() {
    let rec = Recorder::install();
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = async_openai::config::OpenAIConfig::new()
        .with_api_base(format!("http://127.0.0.1:{port}"))
        .with_api_key(SECRET_KEY);
    let result = TracedClient::new(Client::with_config(config))
        .chat()
        .create(seed_request("deepseek-chat"))
        .await;
    assert!(
        matches!(result, Err(OpenAIError::Reqwest(ref e)) if e.is_connect()),
        "{result:?}"
    );
    let span = rec.one("Completions");
    assert_failed(&span, "APIConnectionError");
    let (_, message) = exception(&span);
    assert!(message.to_lowercase().contains("connect"), "{message}");
}

#[tokio::test]
async fn http_timeout() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let result = TracedClient::with_http_client(Client::with_config(config(&mock)), http)
        .chat()
        .create(seed_request("deepseek-chat-slow"))
        .await;
    assert!(
        matches!(result, Err(OpenAIError::Reqwest(ref e)) if e.is_timeout()),
        "{result:?}"
    );
    assert_failed(&rec.one("Completions"), "APITimeoutError");
}

#[tokio::test]
async fn dropped_future_closes_the_span_as_cancelled() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    let outcome = tokio::time::timeout(
        Duration::from_millis(200),
        client.chat().create(seed_request("deepseek-chat-slow")),
    )
    .await;
    assert!(outcome.is_err(), "the timeout must fire first");
    let span = rec.one("Completions");
    assert_failed(&span, "cancelled");
}

#[tokio::test]
async fn invalid_argument_from_async_openai_is_recorded() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let mut request = seed_request("deepseek-chat");
    request.stream = Some(true); // create() refuses streaming requests
    let result = client(&mock).chat().create(request).await;
    assert!(
        matches!(result, Err(OpenAIError::InvalidArgument(_))),
        "{result:?}"
    );
    assert_failed(&rec.one("Completions"), "InvalidArgument");
    assert!(mock.requests().await.is_empty(), "nothing was sent");
}
