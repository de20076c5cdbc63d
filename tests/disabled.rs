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

/// `OTEL_SDK_DISABLED=true`: the app runs unchanged, nothing is recorded or sent, even with
/// destinations configured, and the guard reports no destination.
#[tokio::test]
async fn otel_sdk_disabled_records_and_sends_nothing() {
    let receiver = wiremock::MockServer::start().await;
    let endpoint = receiver.uri();
    let config = mlflow_tracing::Config::from_vars(|name| match name {
        "OTEL_SDK_DISABLED" => Some("true".into()),
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
        _ => None,
    });
    assert!(config.destinations().is_empty());
    let pipeline = Pipeline::start(config);
    let mock = MockDeepSeek::start().await;
    {
        let _scope = tracing::dispatcher::set_default(&pipeline.dispatch);
        assert!(!mlflow_tracing::is_enabled());
        client(&mock)
            .chat()
            .create(seed_request("deepseek-chat"))
            .await
            .expect("the call works while telemetry is off");
        assert_eq!(mlflow_tracing::last_trace_id(), None);
    }
    let reports = tokio::task::spawn_blocking(move || pipeline.guard.shutdown())
        .await
        .unwrap()
        .expect("nothing to lose");
    assert!(reports.is_empty());
    assert!(receiver.received_requests().await.unwrap().is_empty());
}
