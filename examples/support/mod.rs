//! What every example shares: the env contract for DeepSeek and MLflow.
//!
//! - `DEEPSEEK_API_KEY` set → the real DeepSeek API (`DEEPSEEK_BASE_URL`, default
//!   `https://api.deepseek.com`); unset → an embedded offline mock server.
//! - `DEEPSEEK_MODEL` overrides the model (default `deepseek-chat`).
//! - `MLFLOW_TRACKING_URI` set → traces go to that MLflow server, experiment
//!   `MLFLOW_EXPERIMENT_NAME` (default `DeepSeek`) or `MLFLOW_EXPERIMENT_ID`; unset → the span
//!   tree is printed when the program ends.
#![allow(dead_code)]

pub mod mock_deepseek;
pub mod weather_agent;

use async_openai::{config::OpenAIConfig, Client};
use mlflow_tracing::{Config, TelemetryGuard, TracedClient};

use mock_deepseek::MockDeepSeek;

/// A traced DeepSeek client, real or mocked.
pub struct DeepSeek {
    /// The traced client.
    pub client: TracedClient<OpenAIConfig>,
    /// Model to ask.
    pub model: String,
    /// Keeps the offline mock alive.
    _mock: Option<MockDeepSeek>,
}

/// Builds the client from the environment (see the module docs).
pub async fn deepseek() -> DeepSeek {
    let model = std::env::var("DEEPSEEK_MODEL").unwrap_or_else(|_| "deepseek-chat".into());
    let (config, mock) = match std::env::var("DEEPSEEK_API_KEY") {
        Ok(key) if !key.is_empty() => {
            let base = std::env::var("DEEPSEEK_BASE_URL")
                .unwrap_or_else(|_| "https://api.deepseek.com".into());
            (
                OpenAIConfig::new().with_api_base(base).with_api_key(key),
                None,
            )
        }
        _ => {
            let mock = MockDeepSeek::start().await;
            eprintln!(
                "DEEPSEEK_API_KEY is not set: using the offline mock DeepSeek at {}",
                mock.base_url()
            );
            let config = OpenAIConfig::new()
                .with_api_base(mock.base_url())
                .with_api_key("sk-offline-mock-key");
            (config, Some(mock))
        }
    };
    DeepSeek {
        // Capture on top of a reqwest client, so DeepSeek's extras are recorded.
        client: TracedClient::with_http_client(Client::with_config(config), reqwest::Client::new()),
        model,
        _mock: mock,
    }
}

/// Telemetry settings from the environment, with the seed's experiment name as default.
pub fn telemetry() -> Config {
    let config = Config::from_env();
    let has_experiment = ["MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()));
    if has_experiment {
        config
    } else {
        config.with_experiment_name("DeepSeek")
    }
}

/// Shuts telemetry down (flushing within the shutdown timeout) and says what became of the
/// trace: delivered where, or not delivered and why. Never a success it cannot vouch for.
pub fn report(guard: TelemetryGuard) {
    if !mlflow_tracing::is_enabled() {
        eprintln!("tracing is disabled (MLFLOW_TRACING_ENABLED): no trace was recorded");
    }
    match guard.shutdown() {
        Ok(reports) if reports.is_empty() => {
            eprintln!("telemetry is disabled (OTEL_SDK_DISABLED): nothing was exported")
        }
        // One line per destination (two with dual export).
        Ok(reports) => reports.iter().for_each(|r| eprintln!("trace: {r}")),
        Err(e) => eprintln!("trace NOT delivered: {e}"),
    }
}
