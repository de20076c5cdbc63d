//! End to end against a real MLflow server: a streamed call is a complete trace with usage and
//! the rebuilt answer; a stream dropped early is a closed ERROR trace, not IN_PROGRESS.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use mlflow_tracing::{get_trace, last_trace_id, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_traces_are_complete_in_mlflow() {
    let Some(uri) = mlflow_test_uri() else { return };
    let guard = mlflow_tracing::init(
        Config::new()
            .with_tracking_uri(&uri)
            .with_experiment_name(format!("e2e-stream-{}", std::process::id()))
            .with_shutdown_timeout(Duration::from_secs(30)),
    )
    .expect("init");
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);

    let mut stream = client
        .chat()
        .create_stream(seed_request("deepseek-reasoner"))
        .await
        .unwrap();
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        if let Some(c) = &chunk
            .unwrap()
            .choices
            .first()
            .and_then(|c| c.delta.content.clone())
        {
            text.push_str(c);
        }
    }
    assert_eq!(text, "The capital of France is Paris.");
    let id = last_trace_id().unwrap();
    let trace = get_trace(&id).await.unwrap();
    assert_eq!(trace.info.state, "OK");
    let usage = trace
        .info
        .token_usage
        .expect("usage although the caller never asked");
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (9, 6, 15)
    );
    assert_eq!(
        trace.info.response_preview.as_deref(),
        Some("The capital of France is Paris.")
    );
    let span = &trace.spans[0];
    assert_eq!(span.span_type(), Some("CHAT_MODEL"));
    let message = &span.outputs().unwrap()["choices"][0]["message"];
    assert_eq!(message["content"], "The capital of France is Paris.");
    assert_eq!(
        message["reasoning_content"],
        "The user asks about France. Its capital is Paris."
    );
    let chunk_events = span
        .events
        .iter()
        .filter(|e| e.name.starts_with("mlflow.chunk.item."))
        .count();
    assert!(chunk_events > 5, "{chunk_events}");
    assert_eq!(
        span.attribute("mlflow_tracing.completed"),
        Some(&serde_json::json!(true))
    );

    // Dropped after one chunk: closed, ERROR, partial output kept.
    let mut stream = client
        .chat()
        .create_stream(seed_request("deepseek-chat"))
        .await
        .unwrap();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    let id = last_trace_id().unwrap();
    let trace = get_trace(&id).await.unwrap();
    assert_eq!(trace.info.state, "ERROR");
    let span = &trace.spans[0];
    assert_eq!(
        span.attribute("error.type"),
        Some(&serde_json::json!("cancelled"))
    );
    assert!(span.outputs().is_some());

    guard.shutdown().unwrap();
}
