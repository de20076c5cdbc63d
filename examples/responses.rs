//! The OpenAI Responses API, traced: one `create` and one `create_stream` call, each its own
//! trace with one `Responses` span (type `CHAT_MODEL`), as MLflow's `mlflow.openai.autolog()`
//! records `client.responses.create`.
//!
//! ```sh
//! cargo run --example responses                                  # offline mock, spans printed
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo run --example responses   # traces in MLflow
//! DEEPSEEK_BASE_URL=https://api.openai.com/v1 DEEPSEEK_API_KEY=sk-... \
//!     DEEPSEEK_MODEL=gpt-4o-mini cargo run --example responses   # a server with /responses
//! ```
//! DeepSeek itself has no Responses API: `DEEPSEEK_BASE_URL` must point at a server that has
//! one (OpenAI, or an OpenAI-compatible gateway). The key is `DEEPSEEK_API_KEY`, else
//! `OPENAI_API_KEY`; the model `DEEPSEEK_MODEL`, else `gpt-4o-mini`.

mod support;

use async_openai::config::OpenAIConfig;
use async_openai::types::responses::{CreateResponseArgs, ResponseStreamEvent};
use async_openai::Client;
use futures::StreamExt;
use mlflow_tracing::TracedClient;
use support::mock_deepseek::MockDeepSeek;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = mlflow_tracing::init(support::telemetry())?;

    let model = std::env::var("DEEPSEEK_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    let (config, _mock) = match std::env::var("DEEPSEEK_BASE_URL") {
        Ok(base) if !base.is_empty() => {
            let key = std::env::var("DEEPSEEK_API_KEY")
                .or_else(|_| std::env::var("OPENAI_API_KEY"))
                .unwrap_or_default();
            (
                OpenAIConfig::new().with_api_base(base).with_api_key(key),
                None,
            )
        }
        _ => {
            let mock = MockDeepSeek::start().await;
            eprintln!(
                "DEEPSEEK_BASE_URL is not set: using the offline mock at {}",
                mock.base_url()
            );
            let config = OpenAIConfig::new()
                .with_api_base(mock.base_url())
                .with_api_key("sk-offline-mock-key");
            (config, Some(mock))
        }
    };
    // Capture on top of a reqwest client, so the raw response body is recorded.
    let client =
        TracedClient::with_http_client(Client::with_config(config), reqwest::Client::new());

    // 1. `create`: the `Responses` span holds the request, the response and token usage.
    let request = CreateResponseArgs::default()
        .model(model.as_str())
        .input("What is the capital of France?")
        .build()?;
    let response = client.responses().create(request).await?;
    println!("{}", response.output_text().unwrap_or_default());
    if let Some(usage) = &response.usage {
        println!(
            "tokens: {} in / {} out / {} total",
            usage.input_tokens, usage.output_tokens, usage.total_tokens
        );
    }

    // 2. `create_stream`: one span owns the whole stream; its outputs are the final response.
    let request = CreateResponseArgs::default()
        .model(model.as_str())
        .input("What is the capital of France?")
        .build()?;
    let mut stream = client.responses().create_stream(request).await?;
    while let Some(event) = stream.next().await {
        match event? {
            ResponseStreamEvent::ResponseOutputTextDelta(delta) => print!("{}", delta.delta),
            ResponseStreamEvent::ResponseCompleted(_) => println!(),
            _ => {}
        }
    }

    support::report(guard);
    Ok(())
}
