//! Streams a DeepSeek answer to stdout as it arrives, without asking for usage, and the
//! trace still has token usage (the tracer asks for it and hides the extra chunk).
//!
//! ```sh
//! cargo run --example streaming                                   # offline mock
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo run --example streaming
//! DEEPSEEK_API_KEY=sk-... DEEPSEEK_MODEL=deepseek-reasoner cargo run --example streaming
//! ```

mod support;

use std::io::Write;

use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
};
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = mlflow_tracing::init(support::telemetry())?;
    let deepseek = support::deepseek().await;

    let request = CreateChatCompletionRequestArgs::default()
        .model(deepseek.model.as_str())
        .messages([ChatCompletionRequestUserMessage::from(
            "What is the capital of France? Answer in one sentence.",
        )
        .into()])
        .build()?;
    let mut stream = deepseek.client.chat().create_stream(request).await?;
    let mut stdout = std::io::stdout();
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        chunks += 1;
        for choice in &chunk.choices {
            if let Some(text) = &choice.delta.content {
                write!(stdout, "{text}")?;
                stdout.flush()?;
            }
        }
        // The caller never asked for usage, and never sees a usage chunk.
        assert!(chunk.usage.is_none());
    }
    println!("\n({chunks} chunks)");
    drop(stream);

    let trace_id = mlflow_tracing::last_trace_id().ok_or("no trace was recorded")?;
    let trace = match mlflow_tracing::get_trace(&trace_id).await {
        Ok(trace) => trace,
        Err(e) => {
            eprintln!("no token report: {e}");
            support::report(guard);
            return Ok(());
        }
    };
    if let Some(usage) = trace.info.token_usage {
        println!(
            "trace {trace_id}: {} in / {} out / {} total tokens",
            usage.input_tokens, usage.output_tokens, usage.total_tokens
        );
    }
    support::report(guard);
    Ok(())
}
