//! The API key, `Authorization` header and URL credentials never reach a span.

mod common;

use async_openai::config::OpenAIConfig;
use async_openai::Client;
use common::*;
use mlflow_tracing::OpenAIClientExt;

#[tokio::test]
async fn no_secret_in_any_exported_span() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    for model in [
        "deepseek-chat",
        "deepseek-reasoner",
        "deepseek-chat-error-401",
        "deepseek-chat-error-500",
    ] {
        let _ = client.chat().create(seed_request(model)).await;
    }
    // Credentials in the base URL.
    let with_userinfo = mock
        .base_url()
        .replace("http://", "http://alice:hunter2-PASSWORD@");
    let _ = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(with_userinfo)
            .with_api_key(SECRET_KEY),
    )
    .traced()
    .chat()
    .create(seed_request("deepseek-chat"))
    .await;

    let spans = rec.spans();
    assert_eq!(spans.len(), 5);
    let dump = format!("{spans:?}");
    for secret in [
        SECRET_KEY,
        "hunter2-PASSWORD",
        "Bearer",
        "authorization",
        "Authorization",
    ] {
        assert!(!dump.contains(secret), "`{secret}` leaked into a span");
    }
    // The key did reach the server, so the check above is meaningful.
    let requests = mock.requests().await;
    assert!(requests.iter().all(|r| r.headers["authorization"]
        .to_str()
        .unwrap()
        .contains(SECRET_KEY)));
}

/// Credentials planted everywhere a user may put one.
const TOKEN: &str = "tok-PLANTED-1";
const PASSWORD: &str = "pw-PLANTED-2";
const HEADER_VALUE: &str = "hdr-PLANTED-3";
const OTLP_HEADER_VALUE: &str = "otlp-PLANTED-4";
const QUERY_KEY: &str = "q-PLANTED-5";

fn planted() -> [&'static str; 6] {
    [
        TOKEN,
        PASSWORD,
        HEADER_VALUE,
        OTLP_HEADER_VALUE,
        QUERY_KEY,
        SECRET_KEY,
    ]
}

fn assert_clean(what: &str, text: &str) {
    for secret in planted() {
        assert!(
            !text.contains(secret),
            "`{secret}` leaked through {what}: {text}"
        );
    }
}

/// Every public type that can hold a credential, formatted with `{:?}` and `{}` (where it has
/// one) at every stage: config, running guard, failing destinations, errors, shutdown.
#[tokio::test]
async fn no_credential_in_debug_or_display_of_any_public_type() {
    let mlflow_port = closed_port();
    let otlp_port = closed_port();
    let vars = [
        (
            "MLFLOW_TRACKING_URI",
            format!("http://alice:{PASSWORD}@127.0.0.1:{mlflow_port}"),
        ),
        ("MLFLOW_TRACKING_TOKEN", TOKEN.to_owned()),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("http://bob:{PASSWORD}@127.0.0.1:{otlp_port}/v1/traces?key={QUERY_KEY}"),
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("api-key={OTLP_HEADER_VALUE}"),
        ),
        ("MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT", "true".to_owned()),
    ];
    let config = mlflow_tracing::Config::from_vars(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .with_header("x-api-key", HEADER_VALUE)
    .with_stderr_warnings(false)
    .with_retry_timeout(std::time::Duration::from_millis(200))
    .with_shutdown_timeout(std::time::Duration::from_millis(500));
    assert_clean("Config", &format!("{config:?}"));
    let destinations = config.destinations();
    assert_eq!(destinations.len(), 2, "dual export");
    assert_clean("Destination", &format!("{destinations:?}"));
    let with_basic = config.clone().with_basic_auth("carol", PASSWORD);
    assert_clean("Config with basic auth", &format!("{with_basic:?}"));

    let pipeline = Pipeline::start(config);
    let guard = &pipeline.guard;
    assert_clean("TelemetryGuard", &format!("{guard:?}"));
    let not_ready = guard
        .wait_until_ready(std::time::Duration::from_millis(300))
        .unwrap_err();
    assert_clean("Error::NotReady", &format!("{not_ready:?} {not_ready}"));

    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    assert_clean("TracedClient", &format!("{client:?}"));
    assert_clean("TracedChat", &format!("{:?}", client.chat()));
    {
        let _scope = tracing::dispatcher::set_default(&pipeline.dispatch);
        client
            .chat()
            .create(seed_request("deepseek-chat"))
            .await
            .unwrap();
        let failed = client
            .chat()
            .create(seed_request("deepseek-chat-error-401"))
            .await
            .unwrap_err();
        assert_clean("the caller's own error", &format!("{failed:?} {failed}"));
    }
    for report in guard.reports() {
        assert_clean("DeliveryReport", &format!("{report:?} {report}"));
    }
    assert_clean("DeliveryStats", &format!("{:?}", guard.stats()));
    let Pipeline { guard, .. } = pipeline;
    let shutdown = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap();
    let Err(undelivered) = shutdown else {
        panic!("nothing listens, so nothing was delivered")
    };
    assert_clean(
        "Error::Undelivered",
        &format!("{undelivered:?} {undelivered}"),
    );

    // Invalid settings name the variable, never the credential.
    let bad = mlflow_tracing::Config::from_vars(|name| match name {
        "OTEL_EXPORTER_OTLP_HEADERS" => Some(format!("api-key {OTLP_HEADER_VALUE}")),
        _ => None,
    });
    let error = mlflow_tracing::layer::<tracing_subscriber::Registry>(bad)
        .err()
        .expect("a malformed header list is refused");
    assert_clean("Error::InvalidConfig", &format!("{error:?} {error}"));
    let bad_url = mlflow_tracing::Config::new()
        .with_tracking_uri(format!("ftp://alice:{PASSWORD}@host/?token={QUERY_KEY}"));
    let error = mlflow_tracing::layer::<tracing_subscriber::Registry>(bad_url)
        .err()
        .expect("not an http URL");
    assert_clean("Error::InvalidConfig (URL)", &format!("{error:?} {error}"));
}

/// The bytes MLflow receives (OTLP and REST bodies) of a run with a token-authenticated
/// tracking URL, a header secret and an LLM API key hold none of them.
#[tokio::test]
async fn no_credential_in_any_exported_byte() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let mlflow = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "experiment": {"experiment_id": "7", "lifecycle_stage": "active"}
        })))
        .mount(&mlflow)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&mlflow)
        .await;
    let uri = mlflow
        .uri()
        .replace("http://", &format!("http://alice:{PASSWORD}@"));
    let pipeline = Pipeline::start(
        mlflow_tracing::Config::new()
            .with_tracking_uri(uri)
            .with_experiment_name("secrets")
            .with_tracking_token(TOKEN)
            .with_header("x-api-key", HEADER_VALUE)
            .with_stderr_warnings(false),
    );
    let mock = MockDeepSeek::start().await;
    {
        let _scope = tracing::dispatcher::set_default(&pipeline.dispatch);
        let client = client(&mock);
        for model in ["deepseek-chat", "deepseek-chat-error-401"] {
            let _ = client.chat().create(seed_request(model)).await;
        }
    }
    let Pipeline { guard, .. } = pipeline;
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .expect("delivered");
    let requests = mlflow.received_requests().await.unwrap();
    assert!(requests.iter().any(|r| r.url.path() == "/v1/traces"));
    for request in &requests {
        assert_clean(
            &format!("the body of {} {}", request.method, request.url.path()),
            &String::from_utf8_lossy(&request.body),
        );
        // The credentials went where they belong (headers), so the scan above means
        // something.
        assert!(request.headers.contains_key("authorization"));
        assert_eq!(request.headers["x-api-key"].to_str().unwrap(), HEADER_VALUE);
    }
}
