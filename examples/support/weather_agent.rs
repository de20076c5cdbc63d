//! The seed's function-calling agent: `run_tool_agent` (AGENT) asks the model with the
//! `get_weather` tool, runs the tool (TOOL) for each call, and asks again with the results.
//! Shared by `examples/agent.rs` and the end-to-end tests.
#![allow(dead_code)]

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestMessage, ChatCompletionRequestToolMessage,
    ChatCompletionRequestUserMessage, ChatCompletionTool, ChatCompletionTools,
    CreateChatCompletionRequestArgs, FunctionObjectArgs,
};
use mlflow_tracing::{trace, SpanType, TracedClient};
use serde_json::json;

/// The tool. `#[trace]` makes a TOOL span with inputs `{"city": ..}` and the result as output.
#[trace(span_type = SpanType::Tool)]
pub fn get_weather(city: &str) -> String {
    match city {
        "Tokyo" => "sunny",
        "Paris" => "rainy",
        _ => "unknown",
    }
    .to_owned()
}

pub fn tools() -> Vec<ChatCompletionTools> {
    vec![ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObjectArgs::default()
            .name("get_weather")
            .parameters(json!({
                "type": "object",
                "properties": {"city": {"type": "string"}},
            }))
            .build()
            .expect("valid tool"),
    })]
}

/// A simple tool-calling agent, traced as an AGENT span.
#[trace(span_type = SpanType::Agent, skip(client, model))]
pub async fn run_tool_agent(
    client: &TracedClient<OpenAIConfig>,
    model: &str,
    question: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut messages: Vec<ChatCompletionRequestMessage> =
        vec![ChatCompletionRequestUserMessage::from(question).into()];
    let request = CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages(messages.clone())
        .tools(tools())
        .build()?;
    let response = client.chat().create(request).await?;
    let ai_msg = response.choices[0].message.clone();

    let Some(tool_calls) = ai_msg.tool_calls.clone() else {
        return Ok(ai_msg.content.unwrap_or_default());
    };
    messages.push(
        ChatCompletionRequestAssistantMessage {
            content: ai_msg.content.clone().map(Into::into),
            tool_calls: Some(tool_calls.clone()),
            ..Default::default()
        }
        .into(),
    );
    for call in tool_calls {
        let ChatCompletionMessageToolCalls::Function(call) = call else {
            return Err("an invalid tool is returned from the assistant".into());
        };
        if call.function.name != "get_weather" {
            return Err("an invalid tool is returned from the assistant".into());
        }
        let args: serde_json::Value = serde_json::from_str(&call.function.arguments)?;
        let city = args["city"].as_str().unwrap_or_default();
        let result = get_weather(city);
        messages.push(
            ChatCompletionRequestToolMessage {
                content: result.into(),
                tool_call_id: call.id.clone(),
            }
            .into(),
        );
    }
    // Send the tool results to the model and get a new response.
    let request = CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages(messages)
        .build()?;
    let response = client.chat().create(request).await?;
    Ok(response.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default())
}

/// The seed's token-usage report for a finished trace.
pub fn usage_report(trace: &mlflow_tracing::Trace) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let total = trace.info.token_usage.unwrap_or_default();
    let _ = writeln!(out, "== Total token usage: ==");
    let _ = writeln!(out, "  Input tokens: {}", total.input_tokens);
    let _ = writeln!(out, "  Output tokens: {}", total.output_tokens);
    let _ = writeln!(out, "  Total tokens: {}", total.total_tokens);
    let _ = writeln!(out, "\n== Detailed usage for each LLM call: ==");
    for (name, span) in trace.display_names().into_iter().zip(&trace.spans) {
        if let Some(usage) = span.token_usage() {
            let _ = writeln!(out, "{name}:");
            let _ = writeln!(out, "  Input tokens: {}", usage.input_tokens);
            let _ = writeln!(out, "  Output tokens: {}", usage.output_tokens);
            let _ = writeln!(out, "  Total tokens: {}", usage.total_tokens);
        }
    }
    out
}
