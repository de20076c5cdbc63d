//! The API key, `Authorization` header and URL credentials never reach a span.

mod common;

use async_openai::config::OpenAIConfig;
use async_openai::Client;
use common::*;
use mlflow_tracing::OpenAIClientExt;

#[tokio::test]
async fn no_secret_in_any_exported_span() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    for model in [
        "deepseek-chat",
        "deepseek-reasoner",
        "deepseek-chat-error-401",
        "deepseek-chat-error-500",
    ] {
        let _ = client.chat().create(seed_request(model)).await;
    }
    // Credentials in the base URL.
    let with_userinfo = mock
        .base_url()
        .replace("http://", "http://alice:hunter2-PASSWORD@");
    let _ = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(with_userinfo)
            .with_api_key(SECRET_KEY),
    )
    .traced()
    .chat()
    .create(seed_request("deepseek-chat"))
    .await;

    let spans = rec.spans();
    assert_eq!(spans.len(), 5);
    let dump = format!("{spans:?}");
    for secret in [
        SECRET_KEY,
        "hunter2-PASSWORD",
        "Bearer",
        "authorization",
        "Authorization",
    ] {
        assert!(!dump.contains(secret), "`{secret}` leaked into a span");
    }
    // The key did reach the server, so the check above is meaningful.
    let requests = mock.requests().await;
    assert!(requests.iter().all(|r| r.headers["authorization"]
        .to_str()
        .unwrap()
        .contains(SECRET_KEY)));
}
