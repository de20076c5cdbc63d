//! The disable switch (like `mlflow.openai.autolog(disable=True)`): no spans, calls unchanged.
//! The switch belongs to the pipeline of the current subscriber.

mod common;

use common::*;

#[tokio::test]
async fn switch_turns_tracing_off_and_on() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);

    mlflow_tracing::set_enabled(false);
    assert!(!mlflow_tracing::is_enabled());
    let response = client
        .chat()
        .create(seed_request("deepseek-chat"))
        .await
        .expect("the call works while tracing is off");
    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some("The capital of France is Paris.")
    );
    assert!(rec.spans().is_empty(), "no span while disabled");
    // No traceparent either: the HTTP layer is bypassed for untraced calls.
    assert!(mock.requests().await[0]
        .headers
        .get("traceparent")
        .is_none());

    mlflow_tracing::set_enabled(true);
    client
        .chat()
        .create(seed_request("deepseek-chat"))
        .await
        .unwrap();
    assert_eq!(rec.named("Completions").len(), 1);
}
