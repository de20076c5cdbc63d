//! Bad settings fail `init` with an error naming the setting.

use std::time::Duration;

use mlflow_tracing::{Config, Error};

mod common;
use common::closed_port;

fn init_error(config: Config) -> String {
    match mlflow_tracing::layer::<tracing_subscriber::Registry>(config) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn non_http_tracking_uri() {
    let msg = init_error(Config::new().with_tracking_uri("databricks"));
    assert!(msg.contains("MLFLOW_TRACKING_URI"), "{msg}");
}

#[test]
fn non_numeric_experiment_id() {
    let msg = init_error(
        Config::new()
            .with_tracking_uri("http://127.0.0.1:9")
            .with_experiment_id("DeepSeek"),
    );
    assert!(msg.contains("MLFLOW_EXPERIMENT_ID"), "{msg}");
    assert!(msg.contains("DeepSeek"), "{msg}");
}

#[test]
fn an_unreachable_server_does_not_fail_init_but_readiness_says_why() {
    let started = std::time::Instant::now();
    let (_layer, guard) = mlflow_tracing::layer::<tracing_subscriber::Registry>(
        Config::new()
            .with_tracking_uri(format!("http://127.0.0.1:{}", closed_port()))
            .with_experiment_name("DeepSeek")
            .with_stderr_warnings(false),
    )
    .expect("init never fails on the network");
    assert!(started.elapsed() < Duration::from_secs(1), "init waited");
    assert_eq!(guard.experiment_id(), None);
    let err = guard
        .wait_until_ready(Duration::from_millis(800))
        .expect_err("nothing listens");
    assert!(matches!(err, Error::NotReady { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("DeepSeek") && msg.contains("connection refused"),
        "{msg}"
    );
    let report = guard
        .shutdown()
        .expect("no span was made, none lost")
        .remove(0);
    assert_eq!(report.stats.finished, 0);
}

#[test]
fn require_backend_at_init_fails_fast() {
    let err = init_error(
        Config::new()
            .with_tracking_uri(format!("http://127.0.0.1:{}", closed_port()))
            .with_experiment_name("DeepSeek")
            .with_export_timeout(Duration::from_millis(700))
            .with_stderr_warnings(false)
            .require_backend_at_init(true),
    );
    assert!(
        err.contains("DeepSeek") && err.contains("connection refused"),
        "{err}"
    );
    let err = init_error(
        Config::new()
            .with_otlp_endpoint(format!("http://127.0.0.1:{}/v1/traces", closed_port()))
            .with_export_timeout(Duration::from_millis(700))
            .with_stderr_warnings(false)
            .require_backend_at_init(true),
    );
    assert!(err.contains("connection refused"), "{err}");
}

#[test]
fn bad_otlp_endpoint_and_batch_variables_are_named() {
    let msg = init_error(Config::new().with_otlp_endpoint("127.0.0.1:4318"));
    assert!(msg.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "{msg}");
    let config = Config::from_vars(|k| (k == "OTEL_BSP_MAX_QUEUE_SIZE").then(|| "many".to_owned()));
    let msg = init_error(config);
    assert!(
        msg.contains("OTEL_BSP_MAX_QUEUE_SIZE") && msg.contains("many"),
        "{msg}"
    );
}

#[test]
fn bad_env_value_is_named() {
    let config = Config::from_vars(|k| {
        (k == "MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES").then(|| "huge".to_owned())
    });
    let msg = init_error(config);
    assert!(
        msg.contains("MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES") && msg.contains("huge"),
        "{msg}"
    );
}

#[test]
fn a_misspelt_boolean_is_refused_by_name() {
    for name in [
        "MLFLOW_TRACING_ENABLED",
        "MLFLOW_TRACING_STREAM_USAGE",
        "OTEL_SDK_DISABLED",
    ] {
        let config = Config::from_vars(|k| (k == name).then(|| "flase".to_owned()));
        let msg = init_error(config);
        assert!(msg.contains(name) && msg.contains("\"flase\""), "{msg}");
    }
}
