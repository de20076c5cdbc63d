//! The "Basic Example" of MLflow's *Tracing DeepSeek* page, in Rust.
//!
//! ```sh
//! cargo run --example basic                                   # offline mock, span tree printed
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo run --example basic   # trace in MLflow
//! DEEPSEEK_API_KEY=sk-... cargo run --example basic           # the real DeepSeek API
//! ```
//! `DEEPSEEK_BASE_URL` and `DEEPSEEK_MODEL` override the endpoint and the model.

mod support;

use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Enable tracing (the Rust side of `mlflow.openai.autolog()` + `set_experiment`).
    let guard = mlflow_tracing::init(support::telemetry())?;
    let deepseek = support::deepseek().await;

    let request = CreateChatCompletionRequestArgs::default()
        .model(deepseek.model.as_str())
        .messages([
            ChatCompletionRequestSystemMessage::from("You are a helpful assistant.").into(),
            ChatCompletionRequestUserMessage::from("What is the capital of France?").into(),
        ])
        .temperature(0.1)
        .max_tokens(100u32)
        .build()?;
    let response = deepseek.client.chat().create(request).await?;

    let answer = response.choices[0].message.content.as_deref().unwrap_or("");
    println!("{answer}");
    if let Some(usage) = &response.usage {
        println!(
            "tokens: {} in / {} out / {} total",
            usage.prompt_tokens, usage.completion_tokens, usage.total_tokens
        );
    }
    support::report(guard);
    Ok(())
}
