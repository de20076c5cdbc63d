//! `.traced()` keeps the user's HTTP stack; the capturing constructors add capture on top of
//! the stack they are given, and the capture header never reaches the server.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_openai::error::OpenAIError;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_openai::Client;
use common::*;
use mlflow_tracing::semconv::deepseek;
use mlflow_tracing::{OpenAIClientExt, TracedClient};
use reqwest::header::{HeaderMap, HeaderValue};

/// A reqwest client with a setting of the user's own: a default header.
fn user_http() -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("x-user-setting", HeaderValue::from_static("kept"));
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test]
async fn traced_keeps_the_users_client_and_adds_traceparent() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let client = Client::with_config(config(&mock))
        .with_http_client(user_http())
        .traced();
    client
        .chat()
        .create(seed_request("deepseek-reasoner"))
        .await
        .unwrap();
    let request = &mock.requests().await[0];
    assert_eq!(request.headers.get("x-user-setting").unwrap(), "kept");
    let span = rec.one("Completions");
    let traceparent = request
        .headers
        .get("traceparent")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(traceparent.contains(&span.span_context.span_id().to_string()));
    // No capture layer in the user's stack: typed fields only.
    assert_eq!(attr(&span, deepseek::REASONING_CONTENT), None);
}

#[tokio::test]
async fn with_http_client_captures_over_the_users_client() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    TracedClient::with_http_client(Client::with_config(config(&mock)), user_http())
        .chat()
        .create(seed_request("deepseek-reasoner"))
        .await
        .unwrap();
    let request = &mock.requests().await[0];
    assert_eq!(request.headers.get("x-user-setting").unwrap(), "kept");
    assert!(
        request
            .headers
            .keys()
            .all(|k| !k.as_str().contains("mlflow")),
        "the capture header must not leave the process: {:?}",
        request.headers
    );
    let span = rec.one("Completions");
    assert!(attr_str(&span, deepseek::REASONING_CONTENT).contains("Paris"));
}

#[tokio::test]
async fn with_http_service_keeps_the_users_tower_stack() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    let inner = ReqwestService::new(user_http());
    // The user's own layer: counts the requests it sees.
    let service = tower::ServiceBuilder::new()
        .map_request(move |factory: HttpRequestFactory| {
            counted.fetch_add(1, Ordering::Relaxed);
            factory
        })
        .service(inner);
    let client = TracedClient::with_http_service(Client::with_config(config(&mock)), service);
    let plain: Result<_, OpenAIError> = client
        .chat()
        .create(seed_request("deepseek-reasoner"))
        .await;
    plain.unwrap();
    assert_eq!(seen.load(Ordering::Relaxed), 1);
    assert_eq!(
        mock.requests().await[0]
            .headers
            .get("x-user-setting")
            .unwrap(),
        "kept"
    );
    let span = rec.one("Completions");
    assert!(attr_str(&span, deepseek::REASONING_CONTENT).contains("Paris"));
}
