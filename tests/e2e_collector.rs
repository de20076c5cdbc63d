//! End to end through a real OTLP collector (rotel, started by scripts/test.sh): the app
//! exports plain OTLP/HTTP to the collector, which forwards to MLflow with the experiment
//! header. The trace must arrive intact.

mod common;

use std::time::Duration;

use common::*;
use mlflow_tracing::{last_trace_id, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_reaches_mlflow_through_the_collector() {
    let Some(uri) = mlflow_test_uri() else { return };
    let collector = match std::env::var("MLFLOW_TRACING_TEST_COLLECTOR") {
        Ok(c) => c,
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but MLFLOW_TRACING_TEST_COLLECTOR is not set: run scripts/test.sh")
        }
        Err(_) => {
            eprintln!("SKIPPED: MLFLOW_TRACING_TEST_COLLECTOR is not set");
            return;
        }
    };
    let guard = mlflow_tracing::init(
        Config::new()
            .with_otlp_endpoint(collector)
            .with_service_name("via-collector")
            .with_shutdown_timeout(Duration::from_secs(30)),
    )
    .expect("init");
    assert_eq!(guard.experiment_id(), None);
    let mock = MockDeepSeek::start().await;
    client(&mock)
        .chat()
        .create(seed_request("deepseek-chat"))
        .await
        .unwrap();
    let trace_id = last_trace_id().unwrap();
    // OTLP destinations cannot be read back through the library.
    assert!(mlflow_tracing::get_trace(&trace_id).await.is_err());
    guard.shutdown().expect("exported to the collector");

    // The collector batches (100 ms) and forwards; poll MLflow for the trace.
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let resp = http
            .get(format!("{uri}/api/3.0/mlflow/traces/get"))
            .query(&[("trace_id", trace_id.as_str())])
            .send()
            .await
            .unwrap();
        if resp.status().is_success() {
            break resp.json::<serde_json::Value>().await.unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "trace {trace_id} did not reach MLflow through the collector"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let info = &trace["trace"]["trace_info"];
    assert_eq!(info["state"], "OK");
    assert_eq!(info["tags"]["mlflow.traceName"], "Completions");
    assert_eq!(info["tags"]["service.name"], "via-collector");
    if let Ok(experiment) = std::env::var("MLFLOW_TRACING_TEST_COLLECTOR_EXPERIMENT") {
        assert_eq!(
            info["trace_location"]["mlflow_experiment"]["experiment_id"],
            experiment.as_str()
        );
    }
    let usage: serde_json::Value = serde_json::from_str(
        info["trace_metadata"]["mlflow.trace.tokenUsage"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(usage["total_tokens"], 20);
    let span = &trace["trace"]["spans"][0];
    let span_type = span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kv| kv["key"] == "mlflow.spanType")
        .unwrap();
    assert_eq!(span_type["value"]["string_value"], "CHAT_MODEL");
}
