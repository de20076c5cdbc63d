//! End to end against a real MLflow server: the seed's function-calling agent and its token
//! usage report, and trace-level data (name, session, user, tags) set from inside a trace
//! whose LLM calls run in spawned and joined tasks.

mod common;

use std::time::Duration;

use common::weather_agent::{run_tool_agent, usage_report};
use common::*;
use mlflow_tracing::{get_trace, last_trace_id, trace, Config, SpanType, TracedClient};
use serde_json::json;

const SEED_REPORT: &str = "\
== Total token usage: ==
  Input tokens: 84
  Output tokens: 22
  Total tokens: 106

== Detailed usage for each LLM call: ==
Completions_1:
  Input tokens: 45
  Output tokens: 14
  Total tokens: 59
Completions_2:
  Input tokens: 39
  Output tokens: 8
  Total tokens: 47
";

#[trace(span_type = SpanType::Chain, skip(client))]
async fn conversation(client: &TracedClient<async_openai::config::OpenAIConfig>) -> usize {
    assert!(mlflow_tracing::set_trace_name("support conversation"));
    assert!(mlflow_tracing::set_session_id("session-42"));
    assert!(mlflow_tracing::set_user_id("user-7"));
    assert!(mlflow_tracing::set_trace_tag("team", "rust"));
    assert!(mlflow_tracing::set_trace_metadata("app.version", "1.2.3"));
    let spawned = {
        let client = client.clone();
        mlflow_tracing::spawn(async move {
            client
                .chat()
                .create(ask("deepseek-chat", "spawned"))
                .await
                .is_ok()
        })
    };
    let (a, b) = tokio::join!(
        client.chat().create(ask("deepseek-chat", "joined a")),
        client.chat().create(ask("deepseek-chat", "joined b")),
    );
    let spawned_ok = spawned.await.unwrap();
    [a.is_ok(), b.is_ok(), spawned_ok]
        .iter()
        .filter(|ok| **ok)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_trace_and_trace_level_data_in_mlflow() {
    let Some(uri) = mlflow_test_uri() else { return };
    let guard = mlflow_tracing::init(
        Config::new()
            .with_tracking_uri(&uri)
            .with_experiment_name(format!("e2e-agent-{}", std::process::id()))
            .with_shutdown_timeout(Duration::from_secs(30)),
    )
    .expect("init");
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);

    // The seed's agent.
    let answer = run_tool_agent(
        &client,
        "deepseek-chat",
        "What's the weather like in Paris today?",
    )
    .await
    .expect("agent answers");
    assert_eq!(answer, "The weather in Paris today is rainy.");
    let agent_id = last_trace_id().unwrap();
    let trace = get_trace(&agent_id).await.expect("agent trace");

    assert_eq!(trace.info.state, "OK");
    assert_eq!(trace.info.tags["mlflow.traceName"], "run_tool_agent");
    let root = trace.root().expect("root span");
    assert_eq!(root.name, "run_tool_agent");
    assert_eq!(root.span_type(), Some("AGENT"));
    assert_eq!(
        root.inputs(),
        Some(&json!({"question": "What's the weather like in Paris today?"}))
    );
    assert_eq!(
        root.outputs(),
        Some(&json!("The weather in Paris today is rainy."))
    );
    let children: Vec<(&str, Option<&str>)> = trace
        .spans
        .iter()
        .filter(|s| s.parent_id.as_deref() == Some(root.span_id.as_str()))
        .map(|s| (s.name.as_str(), s.span_type()))
        .collect();
    assert_eq!(
        children,
        [
            ("Completions", Some("CHAT_MODEL")),
            ("get_weather", Some("TOOL")),
            ("Completions", Some("CHAT_MODEL")),
        ]
    );
    let tool = trace.spans_named("get_weather").next().unwrap();
    assert_eq!(tool.inputs(), Some(&json!({"city": "Paris"})));
    assert_eq!(tool.outputs(), Some(&json!("rainy")));
    assert_eq!(
        tool.attribute("mlflow.spanFunctionName"),
        Some(&json!("get_weather"))
    );
    // Trace usage (computed by MLflow) is the sum of the two LLM calls.
    let per_call: Vec<_> = trace.spans.iter().filter_map(|s| s.token_usage()).collect();
    assert_eq!(per_call.len(), 2);
    let total = trace.info.token_usage.unwrap();
    assert_eq!(
        total.total_tokens,
        per_call.iter().map(|u| u.total_tokens).sum::<u64>()
    );
    assert_eq!(usage_report(&trace), SEED_REPORT);
    assert!(
        trace
            .info
            .response_preview
            .as_deref()
            .unwrap()
            .contains("rainy"),
        "{:?}",
        trace.info.response_preview
    );

    // Trace-level data, spawned and joined calls.
    assert_eq!(conversation(&client).await, 3);
    let id = last_trace_id().unwrap();
    assert_ne!(id, agent_id);
    let trace = get_trace(&id).await.expect("conversation trace");
    assert_eq!(trace.info.tags["mlflow.traceName"], "support conversation");
    assert_eq!(trace.info.tags["team"], "rust");
    assert_eq!(trace.info.metadata["mlflow.trace.session"], "session-42");
    assert_eq!(trace.info.metadata["mlflow.trace.user"], "user-7");
    // Sent over REST after the spans: merged, MLflow's own computed fields kept.
    assert_eq!(trace.info.metadata["app.version"], "1.2.3");
    assert!(trace.info.metadata.contains_key("mlflow.trace.tokenUsage"));
    assert!(!trace
        .root()
        .unwrap()
        .attributes
        .keys()
        .any(|k| k.contains("traceMetadata")));
    let root = trace.root().unwrap();
    assert_eq!(root.name, "conversation");
    let chats: Vec<_> = trace.spans_named("Completions").collect();
    assert_eq!(chats.len(), 3, "spawned and joined calls are in the trace");
    for chat in chats {
        assert_eq!(chat.parent_id.as_deref(), Some(root.span_id.as_str()));
    }
    assert_eq!(trace.info.token_usage.unwrap().total_tokens, 60);

    guard.shutdown().unwrap();
}
