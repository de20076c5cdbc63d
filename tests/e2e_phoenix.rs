//! End to end against a second real backend, Arize Phoenix (started by scripts/test.sh), which
//! reads only the OpenTelemetry GenAI conventions: the seed's agent must show up as an AGENT
//! span, a TOOL span and two LLM spans with model, provider, token counts and messages.

mod common;

use std::time::Duration;

use common::weather_agent::run_tool_agent;
use common::*;
use mlflow_tracing::{last_trace_id, Config};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_is_understood_by_phoenix() {
    let base = match std::env::var("MLFLOW_TRACING_TEST_PHOENIX") {
        Ok(base) if !base.is_empty() => base,
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but MLFLOW_TRACING_TEST_PHOENIX is not set: run scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED: MLFLOW_TRACING_TEST_PHOENIX is not set (scripts/test.sh sets it)");
            return;
        }
    };
    let project = format!("mlflow-tracing-{}", std::process::id());
    let guard = mlflow_tracing::init(
        Config::new()
            .with_otlp_endpoint(format!("{base}/v1/traces"))
            .with_header("x-project-name", &project)
            .with_genai_content(true)
            .with_shutdown_timeout(Duration::from_secs(30)),
    )
    .expect("init");
    let mock = MockDeepSeek::start().await;
    let answer = run_tool_agent(
        &client(&mock),
        "deepseek-chat",
        "What's the weather like in Paris today?",
    )
    .await
    .unwrap();
    let trace_id = last_trace_id()
        .unwrap()
        .trim_start_matches("tr-")
        .to_owned();
    guard.shutdown().expect("exported to Phoenix");

    // Phoenix ingests asynchronously: poll its REST API for the four spans.
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/projects/{project}/spans");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let spans: Vec<Value> = loop {
        let resp = http
            .get(&url)
            .query(&[("trace_id", trace_id.as_str()), ("limit", "100")])
            .send()
            .await
            .unwrap();
        if resp.status().is_success() {
            let body: Value = resp.json().await.unwrap();
            let spans = body["data"].as_array().cloned().unwrap_or_default();
            if spans.len() >= 4 {
                break spans;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "trace {trace_id} did not reach Phoenix"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let named =
        |name: &str| -> Vec<&Value> { spans.iter().filter(|s| s["name"] == name).collect() };
    let agent = named("run_tool_agent")[0];
    assert_eq!(agent["span_kind"], "AGENT");
    let tool = named("get_weather")[0];
    assert_eq!(tool["span_kind"], "TOOL");
    assert_eq!(tool["attributes"]["tool.name"], "get_weather");
    assert_eq!(tool["parent_id"], agent["context"]["span_id"]);

    let llm = named("Completions");
    assert_eq!(llm.len(), 2);
    let mut totals: Vec<i64> = Vec::new();
    for span in &llm {
        let attrs = &span["attributes"];
        assert_eq!(span["span_kind"], "LLM");
        assert_eq!(span["parent_id"], agent["context"]["span_id"]);
        assert_eq!(attrs["llm.model_name"], "deepseek-chat");
        assert_eq!(attrs["llm.provider"], "deepseek");
        assert_eq!(attrs["llm.input_messages.0.message.role"], "user");
        totals.push(attrs["llm.token_count.total"].as_i64().unwrap());
    }
    totals.sort();
    assert_eq!(totals, [47, 59]);
    let said = |span: &Value, key: &str| span["attributes"][key].as_str().map(str::to_owned);
    assert!(llm.iter().any(
        |s| said(s, "llm.output_messages.0.message.content").as_deref() == Some(answer.as_str())
    ));
    assert!(llm.iter().any(|s| said(
        s,
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name"
    )
    .as_deref()
        == Some("get_weather")));
}
