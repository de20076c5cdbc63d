//! Shared test fixtures: the offline DeepSeek mock, an in-memory span pipeline installed as a
//! thread-local subscriber, and attribute accessors keyed by `semconv` constants.
#![allow(dead_code)]

#[path = "../../examples/support/mock_deepseek.rs"]
pub mod mock_deepseek;
pub mod otlp_receiver;
#[path = "../../examples/support/weather_agent.rs"]
pub mod weather_agent;

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use async_openai::Client;
use mlflow_tracing::testing::TestPipeline;
use mlflow_tracing::TracedClient;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use tracing::dispatcher::DefaultGuard;
use tracing_subscriber::prelude::*;

pub use mock_deepseek::MockDeepSeek;

/// The API key tests use; it must never appear in exported spans.
pub const SECRET_KEY: &str = "sk-TEST-SECRET-3f9a1c7e5b";

/// Spans recorded in memory by the crate's test kit ([`TestPipeline`]), installed as a
/// subscriber local to the current thread.
pub struct Recorder {
    kit: TestPipeline,
    _guard: Option<DefaultGuard>,
}

impl Recorder {
    /// Installs a test pipeline as this thread's default subscriber.
    pub fn install() -> Self {
        let mut rec = Self::detached();
        rec._guard = Some(rec.kit.set_default());
        rec
    }

    /// The pipeline without installing it (use [`Recorder::dispatch`] with `WithSubscriber`).
    pub fn detached() -> Self {
        Self {
            kit: TestPipeline::new(),
            _guard: None,
        }
    }

    /// The test kit itself (traces, snapshots).
    pub fn kit(&self) -> &TestPipeline {
        &self.kit
    }

    pub fn dispatch(&self) -> tracing::Dispatch {
        self.kit.dispatch()
    }

    /// Every finished span.
    pub fn spans(&self) -> Vec<SpanData> {
        self.kit.spans()
    }

    /// The finished spans called `name`.
    pub fn named(&self, name: &str) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    /// The only finished span called `name`.
    pub fn one(&self, name: &str) -> SpanData {
        let mut spans = self.named(name);
        assert_eq!(spans.len(), 1, "expected one `{name}` span, got {spans:#?}");
        spans.remove(0)
    }
}

pub fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

pub fn attr_str(span: &SpanData, key: &str) -> String {
    match attr(span, key) {
        Some(Value::String(s)) => s.to_string(),
        other => panic!("attribute {key} is not a string: {other:?}"),
    }
}

pub fn attr_i64(span: &SpanData, key: &str) -> i64 {
    match attr(span, key) {
        Some(Value::I64(i)) => *i,
        other => panic!("attribute {key} is not an int: {other:?}"),
    }
}

pub fn attr_json(span: &SpanData, key: &str) -> serde_json::Value {
    serde_json::from_str(&attr_str(span, key)).unwrap_or_else(|e| panic!("{key} is not JSON: {e}"))
}

/// A traced client talking to the mock with [`SECRET_KEY`], capturing raw bodies.
pub fn client(mock: &MockDeepSeek) -> TracedClient<OpenAIConfig> {
    TracedClient::with_http_client(Client::with_config(config(mock)), reqwest::Client::new())
}

pub fn config(mock: &MockDeepSeek) -> OpenAIConfig {
    OpenAIConfig::new()
        .with_api_base(mock.base_url())
        .with_api_key(SECRET_KEY)
}

/// The seed's basic request, for `model`.
pub fn seed_request(model: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([
            ChatCompletionRequestSystemMessage::from("You are a helpful assistant.").into(),
            ChatCompletionRequestUserMessage::from("What is the capital of France?").into(),
        ])
        .temperature(0.1)
        .max_tokens(100u32)
        .build()
        .expect("valid request")
}

/// A request with one user message.
pub fn ask(model: &str, question: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([ChatCompletionRequestUserMessage::from(question).into()])
        .build()
        .expect("valid request")
}

/// A variable the test script sets for the end-to-end tests. Without it the test is skipped
/// with a message, except under `CI=true`, where that is a failure.
pub fn test_env(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but {name} is not set: run scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED: {name} is not set (scripts/test.sh sets it)");
            None
        }
    }
}

/// The MLflow server the test script started (`MLFLOW_TRACING_TEST_URI`).
pub fn mlflow_test_uri() -> Option<String> {
    test_env("MLFLOW_TRACING_TEST_URI")
}

/// The end-to-end tests' configuration: the test MLflow at `uri`, experiment `experiment`
/// (created when missing, and waited for at init), 30 s to deliver at shutdown.
pub fn e2e_config(uri: &str, experiment: &str) -> mlflow_tracing::Config {
    mlflow_tracing::Config::new()
        .with_tracking_uri(uri)
        .with_experiment_name(experiment)
        .with_shutdown_timeout(std::time::Duration::from_secs(30))
        .require_backend_at_init(true)
}

/// A pipeline of its own (`mlflow_tracing::layer`) with a dispatcher to install where a test
/// makes its calls (`tracing::dispatcher::set_default(&p.dispatch)`), so several pipelines
/// can live in one test binary.
pub struct Pipeline {
    pub guard: mlflow_tracing::TelemetryGuard,
    pub dispatch: tracing::Dispatch,
}

impl Pipeline {
    pub fn start(config: mlflow_tracing::Config) -> Self {
        let (layer, guard) = mlflow_tracing::layer::<tracing_subscriber::Registry>(config)
            .expect("valid telemetry config");
        Self {
            guard,
            dispatch: tracing::Dispatch::new(tracing_subscriber::registry().with(layer)),
        }
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Trace ids (`tr-…`) of `experiment_id` matching an MLflow search filter, every page.
pub async fn search_traces(uri: &str, experiment_id: &str, filter: &str) -> Vec<String> {
    trace_infos(uri, experiment_id, filter)
        .await
        .iter()
        .filter_map(|t| t["trace_id"].as_str().map(str::to_owned))
        .collect()
}

/// The trace infos (id, state, trace metadata, ...) of `experiment_id` matching an MLflow
/// search filter, every page.
pub async fn trace_infos(uri: &str, experiment_id: &str, filter: &str) -> Vec<serde_json::Value> {
    let http = reqwest::Client::new();
    let (mut infos, mut token) = (Vec::new(), None::<String>);
    loop {
        let mut body = serde_json::json!({
            "locations": [{"type": "MLFLOW_EXPERIMENT",
                           "mlflow_experiment": {"experiment_id": experiment_id}}],
            "filter": filter,
            "max_results": 500,
        });
        if let Some(t) = &token {
            body["page_token"] = serde_json::json!(t);
        }
        let page: serde_json::Value = http
            .post(format!("{uri}/api/3.0/mlflow/traces/search"))
            .json(&body)
            .send()
            .await
            .expect("search request")
            .json()
            .await
            .expect("search JSON");
        infos.extend(page["traces"].as_array().into_iter().flatten().cloned());
        match page["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return infos,
        }
    }
}

/// `num_spans` of a trace's `mlflow.trace.sizeStats` metadata (from StartTraceV3), when the
/// trace has it.
pub fn num_spans(info: &serde_json::Value) -> Option<u64> {
    let stats = info["trace_metadata"]["mlflow.trace.sizeStats"].as_str()?;
    serde_json::from_str::<serde_json::Value>(stats).ok()?["num_spans"].as_u64()
}
