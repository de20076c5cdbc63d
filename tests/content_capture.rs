//! Content capture modes, checked on every exported byte: with `metadata` and `none`, no
//! prompt, answer, tool argument or tool result (nor `#[trace]` input or output) leaves the
//! process, while models, usage and span types still do. And the redaction hook.

mod common;

use std::time::Duration;

use async_openai::types::chat::CreateChatCompletionRequestArgs;
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use common::weather_agent::run_tool_agent;
use common::*;
use futures::StreamExt as _;
use mlflow_tracing::{Capture, Config, Redactor, Shape};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use prost::Message as _;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every string an exported request holds (names, attribute and event values), and the
/// attribute keys of each span.
struct Exported {
    strings: Vec<String>,
    keys: Vec<String>,
}

fn strings_of(value: &Option<AnyValue>, out: &mut Vec<String>) {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => out.push(s.clone()),
        Some(any_value::Value::ArrayValue(a)) => {
            for v in &a.values {
                strings_of(&Some(v.clone()), out);
            }
        }
        _ => {}
    }
}

fn collect(attributes: &[KeyValue], out: &mut Exported) {
    for kv in attributes {
        out.keys.push(kv.key.clone());
        strings_of(&kv.value, &mut out.strings);
    }
}

/// Runs the seed's agent (chat, tool call, `#[trace]` agent and tool spans), a stream and an
/// embeddings call under `config`, and decodes what the receiver got.
async fn run(config: Config) -> (Exported, String) {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let pipeline = Pipeline::start(
        config
            .with_otlp_endpoint(format!("{}/v1/traces", receiver.uri()))
            .with_otlp_shape(Shape::Mlflow)
            .with_stderr_warnings(false)
            .with_schedule_delay(Duration::from_millis(20)),
    );
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    let answer = {
        let _scope = tracing::dispatcher::set_default(&pipeline.dispatch);
        let answer = run_tool_agent(
            &client,
            "deepseek-chat",
            "What's the weather like in Paris today?",
        )
        .await
        .unwrap();
        let request = CreateChatCompletionRequestArgs::default()
            .model("deepseek-chat")
            .messages([
                async_openai::types::chat::ChatCompletionRequestUserMessage::from(
                    "What is the capital of France?",
                )
                .into(),
            ])
            .build()
            .unwrap();
        let mut stream = client.chat().create_stream(request).await.unwrap();
        while stream.next().await.is_some() {}
        let embeddings = CreateEmbeddingRequestArgs::default()
            .model("text-embedding-3-small")
            .input(["confidential embedding input"])
            .build()
            .unwrap();
        client.embeddings().create(embeddings).await.unwrap();
        answer
    };
    tokio::task::spawn_blocking(move || pipeline.guard.shutdown())
        .await
        .unwrap()
        .expect("delivered");
    let mut out = Exported {
        strings: Vec::new(),
        keys: Vec::new(),
    };
    for request in receiver.received_requests().await.unwrap() {
        let decoded = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
        for span in decoded
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            out.strings.push(span.name.clone());
            collect(&span.attributes, &mut out);
            for event in &span.events {
                out.strings.push(event.name.clone());
                collect(&event.attributes, &mut out);
            }
        }
    }
    (out, answer)
}

/// What must never leave the process with capture below `full`.
fn content(answer: &str) -> Vec<String> {
    vec![
        "weather like".into(),           // the agent's prompt
        "Paris".into(),                  // prompt, tool arguments, answer
        "rainy".into(),                  // the tool's result (a `#[trace]` output)
        "capital of France".into(),      // the streamed call's prompt
        "confidential embedding".into(), // the embeddings input
        answer.to_owned(),
    ]
}

fn assert_no_content(exported: &Exported, answer: &str) {
    for needle in content(answer) {
        let hit = exported.strings.iter().find(|s| s.contains(&needle));
        assert!(hit.is_none(), "{needle:?} was exported: {hit:?}");
    }
}

fn assert_metadata_kept(exported: &Exported) {
    let has = |value: &str| exported.strings.iter().any(|s| s == value);
    assert!(has("deepseek-chat"), "model");
    for span_type in ["AGENT", "TOOL", "CHAT_MODEL", "EMBEDDING"] {
        assert!(has(span_type), "span type {span_type}");
    }
    assert!(
        exported
            .keys
            .iter()
            .any(|k| k == "gen_ai.usage.input_tokens"),
        "usage"
    );
    assert!(
        exported.keys.iter().any(|k| k == "mlflow.chat.tokenUsage"),
        "MLflow usage"
    );
}

#[tokio::test]
async fn metadata_capture_exports_structure_not_text() {
    let (exported, answer) = run(Config::new().with_content_capture(Capture::Metadata)).await;
    assert_no_content(&exported, &answer);
    assert_metadata_kept(&exported);
    // The structure is there, each text replaced by its size.
    assert!(exported
        .strings
        .iter()
        .any(|s| s.contains("[content not captured: ") && s.contains("\"role\":\"user\"")));
    assert!(
        exported.strings.iter().any(|s| s.contains("get_weather")),
        "tool name"
    );
    assert!(
        !exported
            .strings
            .iter()
            .any(|s| s.starts_with("mlflow.chunk.item")),
        "streamed chunks are not kept"
    );
}

#[tokio::test]
async fn no_capture_exports_no_inputs_or_outputs() {
    let (exported, answer) = run(Config::new().with_content_capture(Capture::None)).await;
    assert_no_content(&exported, &answer);
    assert_metadata_kept(&exported);
    for key in ["mlflow.spanInputs", "mlflow.spanOutputs"] {
        assert!(!exported.keys.iter().any(|k| k == key), "{key} exported");
    }
}

/// The OpenTelemetry variable turns content off too (metadata only).
#[tokio::test]
async fn the_otel_variable_turns_content_off() {
    let config = Config::from_vars(|name| {
        (name == "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT").then(|| "false".into())
    });
    let (exported, answer) = run(config).await;
    assert_no_content(&exported, &answer);
    assert_metadata_kept(&exported);
}

/// Full capture (the default) exports the content, which the checks above rely on.
#[tokio::test]
async fn full_capture_exports_the_content() {
    let (exported, answer) = run(Config::new()).await;
    for needle in content(&answer) {
        assert!(
            exported.strings.iter().any(|s| s.contains(&needle)),
            "{needle:?} missing with full capture"
        );
    }
}

/// The redaction hook runs on requests, responses and `#[trace]` values before anything is
/// recorded; ids and keys stay intact.
#[tokio::test]
async fn the_redaction_hook_sees_structured_values() {
    let redactor = Redactor::new(|value| {
        mlflow_tracing::redact::patterns(value);
        // A user rule of its own: the city.
        fn walk(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::String(s) if s.contains("Paris") => {
                    *s = s.replace("Paris", "[CITY]")
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
                serde_json::Value::Object(m) => m.values_mut().for_each(walk),
                _ => {}
            }
        }
        walk(value);
    });
    let (exported, _) = run(Config::new().with_redactor(redactor)).await;
    let leak = exported.strings.iter().find(|s| s.contains("Paris"));
    assert!(leak.is_none(), "{leak:?}");
    assert!(exported.strings.iter().any(|s| s.contains("[CITY]")));
    // Tool-call ids survive, so the chat view still links calls and results.
    assert!(exported
        .strings
        .iter()
        .any(|s| s.contains("\"tool_call_id\":\"call_")));
}
