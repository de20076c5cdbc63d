//! End to end against a real MLflow server (started by scripts/test.sh): a 10 MB prompt and a
//! 1 MB base64 image reach MLflow as valid, renderable JSON within the attribute cap, the
//! image replaced by a placeholder with its media type and size, and `get_trace` returns the
//! inputs as JSON with the model, the roles and the image's caption intact.

mod common;

use std::time::Duration;

use async_openai::types::chat::CreateChatCompletionRequest;
use common::*;
use mlflow_tracing::defaults::MAX_ATTRIBUTE_BYTES;
use mlflow_tracing::semconv::mlflow;
use mlflow_tracing::{get_trace, last_trace_id};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_prompt_and_a_1_mb_image_reach_mlflow_as_valid_json() {
    let Some(uri) = mlflow_test_uri() else { return };
    let experiment = format!("e2e-large-inputs-{}", std::process::id());
    let guard = mlflow_tracing::init(
        e2e_config(&uri, &experiment).with_shutdown_timeout(Duration::from_secs(60)),
    )
    .expect("init against the real MLflow");

    let mock = MockDeepSeek::start().await;
    let prompt = format!("Summarize this: {}", "lorem ipsum dolor ".repeat(600_000));
    assert!(prompt.len() > 10_000_000);
    let image = format!("data:image/png;base64,{}", "iVBORw0KGgo".repeat(100_000));
    let request: CreateChatCompletionRequest = serde_json::from_value(serde_json::json!({
        "model": "deepseek-chat",
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "user", "content": [
                {"type": "text", "text": "And what is in this image?"},
                {"type": "image_url", "image_url": {"url": image}}
            ]}
        ]
    }))
    .unwrap();
    client(&mock).chat().create(request).await.unwrap();
    let id = last_trace_id().expect("a finished root trace");

    let trace = get_trace(&id).await.expect("trace read back");
    assert_eq!(trace.info.state, "OK");
    let span = &trace.spans[0];
    let inputs = span
        .attribute(mlflow::SPAN_INPUTS)
        .expect("inputs recorded")
        .clone();
    // MLflow returns the attribute decoded: valid JSON, within the cap.
    assert!(inputs.to_string().len() <= MAX_ATTRIBUTE_BYTES + 1024);
    assert_eq!(inputs["model"], "deepseek-chat");
    assert_eq!(inputs["messages"][0]["role"], "user");
    let cut = inputs["messages"][0]["content"].as_str().unwrap();
    assert!(cut.starts_with("Summarize this: lorem ipsum"));
    assert!(
        cut.ends_with(&format!("...[truncated from {} bytes]", prompt.len())),
        "{}",
        &cut[cut.len() - 60..]
    );
    let parts = &inputs["messages"][1]["content"];
    assert_eq!(parts[0]["text"], "And what is in this image?");
    assert_eq!(
        parts[1]["image_url"]["url"],
        format!(
            "[image/png base64 data not recorded: {} bytes]",
            image.len()
        )
    );
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .expect("delivered");
}
