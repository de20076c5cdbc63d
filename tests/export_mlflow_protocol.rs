//! `init()` against a scripted MLflow server: the experiment is looked up by name and created,
//! then spans are POSTed to `/v1/traces` as OTLP protobuf with the experiment header and the
//! credentials, and no byte of the export holds the LLM API key. (Calls the global `init`, so
//! it is alone in its test binary.)

mod common;

use common::*;
use mlflow_tracing::semconv::mlflow;
use serde_json::json;
use tracing::Instrument;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn init_resolves_the_experiment_and_exports_protobuf_with_headers() {
    let mlflow = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2.0/mlflow/experiments/get-by-name"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error_code": "RESOURCE_DOES_NOT_EXIST",
            "message": "Could not find experiment with name 'DeepSeek'"
        })))
        .mount(&mlflow)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2.0/mlflow/experiments/create"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"experiment_id": "42"})))
        .mount(&mlflow)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/3.0/mlflow/traces"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&mlflow)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/traces"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&mlflow)
        .await;

    let guard = mlflow_tracing::init(
        mlflow_tracing::Config::new()
            .with_tracking_uri(format!("{}/", mlflow.uri()))
            .with_experiment_name("DeepSeek")
            .with_tracking_token("mlflow-token"),
    )
    .expect("init");
    // init does not wait on the network: the experiment is resolved by the export thread.
    guard
        .wait_until_ready(std::time::Duration::from_secs(10))
        .expect("experiment resolved");
    assert_eq!(guard.experiment_id().as_deref(), Some("42"));

    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    async {
        assert!(mlflow_tracing::set_trace_metadata("app.version", "1.2.3"));
        client
            .chat()
            .create(seed_request("deepseek-chat"))
            .await
            .unwrap();
    }
    .instrument(tracing::info_span!("session"))
    .await;
    let session_trace = mlflow_tracing::last_trace_id().unwrap();
    let _ = client
        .chat()
        .create(seed_request("deepseek-chat-error-401"))
        .await;
    let report = guard.shutdown().expect("export succeeded").remove(0);
    assert_eq!(report.stats.exported, report.stats.finished);
    assert!(report.stats.finished >= 3, "{report:?}");

    let requests = mlflow.received_requests().await.unwrap();
    let create = requests
        .iter()
        .find(|r| r.url.path() == "/api/2.0/mlflow/experiments/create")
        .expect("experiment created");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&create.body).unwrap(),
        json!({"name": "DeepSeek"})
    );
    let exports: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/v1/traces")
        .collect();
    assert!(!exports.is_empty(), "spans were exported");
    let mut all = Vec::new();
    for export in &exports {
        assert_eq!(export.headers["content-type"], "application/x-protobuf");
        assert_eq!(export.headers["x-mlflow-experiment-id"], "42");
        assert_eq!(export.headers["authorization"], "Bearer mlflow-token");
        all.extend_from_slice(&export.body);
    }
    let contains = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains("Completions"));
    assert!(contains("CHAT_MODEL"));
    assert!(contains("The capital of France is Paris."));
    assert!(contains("AuthenticationError"));
    assert!(!contains(SECRET_KEY), "the LLM API key was exported");
    assert!(
        !contains("traceMetadata"),
        "metadata travels over REST, not as attributes"
    );

    // The metadata followed the spans, as MLflow trace info: one per trace, as MLflow
    // Python sends it, with the user's entries next to the source and size metadata.
    let infos: Vec<serde_json::Value> = requests
        .iter()
        .filter(|r| r.url.path() == "/api/3.0/mlflow/traces")
        .inspect(|r| assert_eq!(r.headers["authorization"], "Bearer mlflow-token"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(infos.len(), 2, "one trace info per trace");
    let trace_info = infos
        .iter()
        .map(|body| &body["trace"]["trace_info"])
        .find(|info| info["trace_id"] == session_trace.as_str())
        .expect("the session trace's info");
    let metadata = &trace_info["trace_metadata"];
    assert_eq!(metadata["app.version"], "1.2.3");
    assert_eq!(metadata[mlflow::trace_info::SOURCE_TYPE], "LOCAL");
    assert_eq!(metadata[mlflow::trace_info::TRACE_SCHEMA_VERSION], "3");
    assert_eq!(trace_info["state"], "OK");
    assert_eq!(
        trace_info["trace_location"]["mlflow_experiment"]["experiment_id"],
        "42"
    );
}
