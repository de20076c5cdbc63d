//! One traced embeddings call: an `Embeddings` span (type `EMBEDDING`) with the request, the
//! response *without its vectors* (each replaced by its `dimensions`) and token usage.
//!
//! ```sh
//! cargo run --example embeddings                                   # offline mock, span tree printed
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo run --example embeddings   # trace in MLflow
//! DEEPSEEK_BASE_URL=https://api.openai.com/v1 DEEPSEEK_API_KEY=sk-... cargo run --example embeddings
//! ```
//!
//! DeepSeek has no embeddings API, so unlike the other examples `DEEPSEEK_API_KEY` alone does
//! not leave the mock: set `DEEPSEEK_BASE_URL` to an OpenAI-compatible server that serves
//! `/embeddings` (OpenAI, a local vLLM or Ollama, ...), with `DEEPSEEK_API_KEY` if it needs a
//! key. `EMBEDDING_MODEL` overrides the model (default `text-embedding-3-small`).

mod support;

use async_openai::config::OpenAIConfig;
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use async_openai::Client;
use mlflow_tracing::TracedClient;
use support::mock_deepseek::MockDeepSeek;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = mlflow_tracing::init(support::telemetry())?;

    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let model = env("EMBEDDING_MODEL").unwrap_or_else(|| "text-embedding-3-small".into());
    // Keeps the offline mock alive until the end.
    let mut _mock = None;
    let config = match env("DEEPSEEK_BASE_URL") {
        Some(base) => OpenAIConfig::new()
            .with_api_base(base)
            .with_api_key(env("DEEPSEEK_API_KEY").unwrap_or_default()),
        None => {
            let mock = MockDeepSeek::start().await;
            eprintln!(
                "DEEPSEEK_BASE_URL is not set: using the offline mock embeddings API at {}",
                mock.base_url()
            );
            let config = OpenAIConfig::new()
                .with_api_base(mock.base_url())
                .with_api_key("sk-offline-mock-key");
            _mock = Some(mock);
            config
        }
    };
    // Capture on top of a reqwest client, so the span is built from the raw response body.
    let client =
        TracedClient::with_http_client(Client::with_config(config), reqwest::Client::new());

    let request = CreateEmbeddingRequestArgs::default()
        .model(model.as_str())
        .input(["The capital of France is Paris.", "Tokyo is rainy today."])
        .build()?;
    let response = client.embeddings().create(request).await?;

    for item in &response.data {
        let head: Vec<String> = item
            .embedding
            .iter()
            .take(3)
            .map(|v| format!("{v:.4}"))
            .collect();
        println!(
            "input {}: {} dimensions [{}, ...]",
            item.index,
            item.embedding.len(),
            head.join(", ")
        );
    }
    println!(
        "tokens: {} prompt / {} total",
        response.usage.prompt_tokens, response.usage.total_tokens
    );
    support::report(guard);
    Ok(())
}
