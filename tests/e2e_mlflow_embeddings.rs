//! End to end against a real MLflow server (started by scripts/test.sh): one embeddings call,
//! exported over OTLP and read back over MLflow's REST API, usage included.

mod common;

use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use common::mock_deepseek::EMBEDDING_DIMENSIONS;
use common::*;
use mlflow_tracing::semconv::{gen_ai, mlflow};
use mlflow_tracing::{get_trace, last_trace_id};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_call_lands_in_mlflow_with_usage() {
    let Some(uri) = mlflow_test_uri() else { return };
    let experiment = format!("e2e-embeddings-{}", std::process::id());
    let guard =
        mlflow_tracing::init(e2e_config(&uri, &experiment).with_service_name("e2e-embeddings"))
            .expect("init against the real MLflow");
    let experiment_id = guard.experiment_id().expect("experiment created");

    let mock = MockDeepSeek::start().await;
    let request = CreateEmbeddingRequestArgs::default()
        .model("text-embedding-3-small")
        .input(["hello world", "second text"])
        .build()
        .unwrap();
    let response = client(&mock).embeddings().create(request).await.unwrap();
    assert_eq!(response.data[0].embedding.len(), EMBEDDING_DIMENSIONS);
    let id = last_trace_id().expect("a finished root trace");

    let trace = get_trace(&id).await.expect("trace read back");
    assert_eq!(trace.info.state, "OK");
    assert_eq!(trace.info.tags["mlflow.traceName"], "Embeddings");
    // MLflow sums the span's `mlflow.chat.tokenUsage` into the trace's usage.
    let usage = trace.info.token_usage.expect("trace token usage");
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (4, 0, 4)
    );
    assert_eq!(trace.spans.len(), 1);
    let span = &trace.spans[0];
    assert_eq!(span.name, "Embeddings");
    assert_eq!(span.status, "OK");
    assert_eq!(span.span_type(), Some("EMBEDDING"));
    assert_eq!(span.token_usage().unwrap().input_tokens, 4);
    assert_eq!(
        span.attribute(mlflow::LLM_MODEL),
        Some(&json!("text-embedding-3-small"))
    );
    assert_eq!(
        span.attribute(gen_ai::OPERATION_NAME),
        Some(&json!("embeddings"))
    );
    assert_eq!(span.attribute(mlflow::MESSAGE_FORMAT), None);
    assert_eq!(
        span.inputs().unwrap()["input"],
        json!(["hello world", "second text"])
    );
    // Stored outputs carry the sizes, not the vectors.
    assert_eq!(
        span.outputs().unwrap()["data"],
        json!([
            {"object": "embedding", "index": 0, "dimensions": EMBEDDING_DIMENSIONS},
            {"object": "embedding", "index": 1, "dimensions": EMBEDDING_DIMENSIONS}
        ])
    );

    // The span-type column holds the plain string: MLflow's span.type search finds the trace.
    let found = search_traces(&uri, &experiment_id, "span.type = 'EMBEDDING'").await;
    assert!(found.contains(&id), "{found:?} lacks {id}");

    guard.shutdown().expect("clean shutdown");
}
