//! The "Function Calling Agent" and "Token usage" sections of MLflow's *Tracing DeepSeek*
//! page, in Rust: an AGENT span around two traced chat calls and a TOOL span, then the token
//! usage report read back from the finished trace (from MLflow when `MLFLOW_TRACKING_URI` is
//! set, else from the spans kept in memory).
//!
//! ```sh
//! cargo run --example agent                                    # offline mock
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo run --example agent   # report read from MLflow
//! DEEPSEEK_API_KEY=sk-... cargo run --example agent            # the real DeepSeek API
//! ```
//! The agent itself is in `support/weather_agent.rs`.

mod support;

use support::weather_agent::{run_tool_agent, usage_report};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = mlflow_tracing::init(support::telemetry())?;
    let deepseek = support::deepseek().await;

    let question = "What's the weather like in Paris today?";
    let answer = run_tool_agent(&deepseek.client, &deepseek.model, question).await?;
    println!("{answer}\n");

    // Get the trace object just created, and print its token usage.
    let last_trace_id = mlflow_tracing::last_trace_id().ok_or("no trace was recorded")?;
    match mlflow_tracing::get_trace(&last_trace_id).await {
        Ok(trace) => print!("{}", usage_report(&trace)),
        // An OTLP collector cannot be read back through this crate, and a trace that did not
        // reach MLflow cannot be read from it: telemetry trouble never fails the app.
        Err(e) => eprintln!("no token report: {e}"),
    }
    support::report(guard);
    Ok(())
}
