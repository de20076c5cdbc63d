//! End to end against a real MLflow server (started by scripts/test.sh): a Responses API
//! `create` and `create_stream`, each its own trace, read back over MLflow's REST API as
//! MLflow 3.17.2 autolog records them (span `Responses`, type `CHAT_MODEL`, token usage,
//! outputs, previews).

mod common;

use async_openai::types::responses::CreateResponse;
use common::*;
use futures::StreamExt;
use mlflow_tracing::{get_trace, last_trace_id};
use serde_json::json;

fn plain() -> CreateResponse {
    serde_json::from_value(
        json!({"model": "gpt-4o-mini", "input": "What is the capital of France?"}),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_create_and_stream_land_in_mlflow() {
    let Some(uri) = mlflow_test_uri() else { return };
    let experiment = format!("e2e-responses-{}", std::process::id());
    let guard =
        mlflow_tracing::init(e2e_config(&uri, &experiment)).expect("init against the real MLflow");
    let experiment_id = guard.experiment_id().expect("experiment created");
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);

    client.responses().create(plain()).await.unwrap();
    let create_id = last_trace_id().expect("a finished root trace");
    let mut stream = client.responses().create_stream(plain()).await.unwrap();
    let mut events = 0;
    while let Some(event) = stream.next().await {
        event.unwrap();
        events += 1;
    }
    assert_eq!(events, 11);
    let stream_id = last_trace_id().unwrap();
    assert_ne!(create_id, stream_id);

    for (id, text, streamed) in [
        (&create_id, "Paris is the capital of France.", false),
        (&stream_id, "Hello from the fake stream.", true),
    ] {
        let trace = get_trace(id).await.expect("trace read back");
        assert_eq!(trace.info.state, "OK");
        assert_eq!(trace.info.tags["mlflow.traceName"], "Responses");
        // As MLflow computes them for a Python-traced call: the answer text.
        assert_eq!(trace.info.response_preview.as_deref(), Some(text));
        let usage = trace.info.token_usage.expect("trace token usage");
        assert_eq!(
            (usage.input_tokens, usage.output_tokens, usage.total_tokens),
            (14, 8, 22)
        );
        assert_eq!(usage.cache_read_input_tokens, Some(0));
        assert_eq!(trace.spans.len(), 1);
        let span = &trace.spans[0];
        assert_eq!(span.name, "Responses");
        assert_eq!(span.status, "OK");
        assert_eq!(span.span_type(), Some("CHAT_MODEL"));
        assert_eq!(
            span.attribute("mlflow.message.format"),
            Some(&json!("openai"))
        );
        assert_eq!(
            span.attribute("mlflow.llm.model"),
            Some(&json!("gpt-4o-mini"))
        );
        assert_eq!(span.attribute("model"), Some(&json!("gpt-4o-mini")));
        assert_eq!(span.attribute("input"), None);
        assert_eq!(
            span.inputs().unwrap()["input"],
            "What is the capital of France?"
        );
        let outputs = span.outputs().unwrap();
        assert_eq!(outputs["object"], "response");
        assert_eq!(outputs["status"], "completed");
        assert_eq!(outputs["output"][0]["content"][0]["text"], text);
        assert_eq!(span.token_usage().unwrap().total_tokens, 22);
        let chunks = span
            .events
            .iter()
            .filter(|e| e.name.starts_with("mlflow.chunk.item."))
            .count();
        assert_eq!(chunks, if streamed { 11 } else { 0 });
        if streamed {
            assert_eq!(span.attribute("stream"), Some(&json!(true)));
        }
    }

    let found = search_traces(&uri, &experiment_id, "span.type = 'CHAT_MODEL'").await;
    assert!(
        found.contains(&create_id) && found.contains(&stream_id),
        "{found:?}"
    );

    guard.shutdown().expect("clean shutdown");
}
