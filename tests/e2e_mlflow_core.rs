//! End to end against a real MLflow server (started by scripts/test.sh): the seed's basic call
//! and a failing call, exported over OTLP and read back over MLflow's REST API.

mod common;

use common::*;
use mlflow_tracing::{get_trace, last_trace_id};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_basic_call_and_error_land_in_mlflow() {
    let Some(uri) = mlflow_test_uri() else { return };
    let experiment = format!("e2e-core-{}", std::process::id());
    let guard = mlflow_tracing::init(e2e_config(&uri, &experiment).with_service_name("e2e-core"))
        .expect("init against the real MLflow");
    let experiment_id = guard.experiment_id().expect("experiment created");

    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    client
        .chat()
        .create(seed_request("deepseek-chat"))
        .await
        .unwrap();
    let ok_id = last_trace_id().expect("a finished root trace");
    assert!(ok_id.starts_with("tr-") && ok_id.len() == 35, "{ok_id}");
    let _ = client
        .chat()
        .create(seed_request("deepseek-chat-error-401"))
        .await;
    let err_id = last_trace_id().unwrap();
    assert_ne!(ok_id, err_id);

    // The successful trace, as MLflow computed it.
    let trace = get_trace(&ok_id).await.expect("trace read back");
    assert_eq!(trace.info.trace_id, ok_id);
    assert_eq!(trace.info.state, "OK");
    assert_eq!(trace.info.tags["mlflow.traceName"], "Completions");
    assert_eq!(trace.info.tags["service.name"], "e2e-core");
    assert_eq!(
        trace.info.request_preview.as_deref(),
        Some("What is the capital of France?")
    );
    assert_eq!(
        trace.info.response_preview.as_deref(),
        Some("The capital of France is Paris.")
    );
    let usage = trace.info.token_usage.expect("trace token usage");
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (12, 8, 20)
    );
    assert_eq!(usage.cache_read_input_tokens, Some(4));
    assert_eq!(trace.spans.len(), 1);
    let span = &trace.spans[0];
    assert_eq!(span.name, "Completions");
    assert_eq!(span.status, "OK");
    assert_eq!(span.span_type(), Some("CHAT_MODEL"));
    assert_eq!(
        span.attribute("mlflow.message.format"),
        Some(&json!("openai"))
    );
    assert_eq!(
        span.attribute("mlflow.llm.model"),
        Some(&json!("deepseek-chat"))
    );
    assert_eq!(span.attribute("max_tokens"), Some(&json!(100)));
    assert_eq!(span.attribute("temperature"), Some(&json!(0.1)));
    assert_eq!(
        span.inputs().unwrap()["messages"][1]["content"],
        "What is the capital of France?"
    );
    assert_eq!(
        span.outputs().unwrap()["choices"][0]["message"]["content"],
        "The capital of France is Paris."
    );
    assert_eq!(span.token_usage().unwrap().total_tokens, 20);

    // The trace metadata MLflow's Python client sends after the spans (StartTraceV3).
    let meta = &trace.info.metadata;
    assert_eq!(meta["mlflow.source.type"], "LOCAL", "{meta:?}");
    assert!(!meta["mlflow.source.name"].is_empty(), "{meta:?}");
    assert!(!meta["mlflow.user"].is_empty(), "{meta:?}");
    assert_eq!(meta["mlflow.trace_schema.version"], "3");
    for key in [
        "mlflow.source.git.commit",
        "mlflow.source.git.branch",
        "mlflow.source.git.repoURL",
    ] {
        assert!(meta.contains_key(key), "{key} missing: {meta:?}");
    }
    // The root's inputs, as the request JSON: whole, or cut to 247 chars + "...".
    let inputs = &meta["mlflow.traceInputs"];
    assert!(inputs.starts_with("{\""), "{inputs}");
    assert!(inputs.chars().count() <= 250, "{inputs}");
    match inputs.strip_suffix("...") {
        Some(cut) if inputs.chars().count() == 250 => {
            assert!(cut.contains("\"messages\""), "{inputs}")
        }
        _ => assert_eq!(
            serde_json::from_str::<serde_json::Value>(inputs).unwrap(),
            *span.inputs().unwrap()
        ),
    }
    let outputs = &meta["mlflow.traceOutputs"];
    assert!(
        outputs.contains("chat.completion") || outputs.ends_with("..."),
        "{outputs}"
    );
    let stats: serde_json::Value =
        serde_json::from_str(&meta["mlflow.trace.sizeStats"]).expect("sizeStats is JSON");
    assert_eq!(stats["num_spans"], trace.spans.len(), "{stats}");
    assert_eq!(
        stats["total_size_bytes"].to_string(),
        meta["mlflow.trace.sizeBytes"]
    );
    assert!(stats["max"].as_u64().unwrap() > 0, "{stats}");

    // The span-type column holds the plain string: MLflow's span.type search finds the trace.
    let found = search_traces(&uri, &experiment_id, "span.type = 'CHAT_MODEL'").await;
    assert!(found.contains(&ok_id), "{found:?} lacks {ok_id}");

    // The failed call is an ERROR trace with the exception recorded.
    let trace = get_trace(&err_id).await.expect("error trace read back");
    assert_eq!(trace.info.state, "ERROR");
    assert_eq!(trace.info.metadata["mlflow.source.type"], "LOCAL");
    assert_eq!(trace.info.metadata["mlflow.traceOutputs"], "");
    assert_eq!(trace.info.token_usage, None);
    let span = &trace.spans[0];
    assert_eq!(span.status, "ERROR");
    let exception = span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("exception event");
    assert_eq!(
        exception.attributes["exception.type"],
        "AuthenticationError"
    );
    assert!(exception.attributes["exception.message"]
        .as_str()
        .unwrap()
        .starts_with("Error code: 401"));
    assert_eq!(span.outputs(), None);

    guard.shutdown().expect("clean shutdown");
}
