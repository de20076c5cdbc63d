//! Bad settings fail `init` with an error naming the setting.

use mlflow_tracing::{Config, Error};

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
fn unreachable_server_when_resolving_a_name() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = mlflow_tracing::layer::<tracing_subscriber::Registry>(
        Config::new()
            .with_tracking_uri(format!("http://127.0.0.1:{port}"))
            .with_experiment_name("DeepSeek"),
    )
    .err()
    .expect("an error");
    assert!(matches!(err, Error::Experiment { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("DeepSeek") && msg.contains("cannot reach"),
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
