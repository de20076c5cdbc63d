//! `#[mlflow_tracing::trace]` on sync, async, fallible, generic functions and methods.

mod common;

use common::*;
use mlflow_tracing::semconv::{mlflow, otel};
use mlflow_tracing::{trace, SpanType};
use opentelemetry::trace::Status;
use serde::Serialize;
use serde_json::json;

#[trace(span_type = SpanType::Tool)]
fn get_weather(city: &str) -> String {
    match city {
        "Tokyo" => "sunny",
        "Paris" => "rainy",
        _ => "unknown",
    }
    .to_owned()
}

#[test]
fn sync_tool_records_inputs_outputs_type_and_function_name() {
    let rec = Recorder::install();
    assert_eq!(get_weather("Paris"), "rainy");
    let span = rec.one("get_weather");
    assert_eq!(attr_str(&span, mlflow::SPAN_TYPE), "TOOL");
    assert_eq!(attr_str(&span, mlflow::SPAN_FUNCTION_NAME), "get_weather");
    assert_eq!(
        attr_json(&span, mlflow::SPAN_INPUTS),
        json!({"city": "Paris"})
    );
    // A string output is JSON-encoded text, as autolog sends it.
    assert_eq!(attr_str(&span, mlflow::SPAN_OUTPUTS), r#""rainy""#);
    assert_eq!(attr_i64(&span, mlflow::SPAN_LOG_LEVEL), 20);
    assert_eq!(span.status, Status::Ok);
    assert_eq!(attr_str(&span, mlflow::TRACE_NAME), "get_weather");
}

#[derive(Serialize)]
struct Plan {
    steps: Vec<String>,
}

#[trace(name = "plan_trip", span_type = "CHAIN", skip(api_key))]
async fn plan(destination: String, days: u32, api_key: &str) -> Plan {
    let _ = api_key;
    tokio::task::yield_now().await;
    Plan {
        steps: (1..=days)
            .map(|d| format!("day {d} in {destination}"))
            .collect(),
    }
}

#[tokio::test]
async fn async_fn_with_name_custom_type_and_skipped_argument() {
    let rec = Recorder::install();
    plan("Paris".into(), 2, "sk-secret").await;
    let span = rec.one("plan_trip");
    assert_eq!(attr_str(&span, mlflow::SPAN_TYPE), "CHAIN");
    assert_eq!(attr_str(&span, mlflow::SPAN_FUNCTION_NAME), "plan");
    assert_eq!(
        attr_json(&span, mlflow::SPAN_INPUTS),
        json!({"destination": "Paris", "days": 2})
    );
    assert_eq!(
        attr_json(&span, mlflow::SPAN_OUTPUTS),
        json!({"steps": ["day 1 in Paris", "day 2 in Paris"]})
    );
    assert!(!format!("{span:?}").contains("sk-secret"));
}

#[derive(Debug, thiserror::Error)]
#[error("no such city: {0}")]
struct CityError(String);

#[trace(span_type = SpanType::Retriever)]
fn lookup(city: &str) -> Result<u32, CityError> {
    if city.is_empty() {
        return Err(CityError("<empty>".into()));
    }
    let population = city.len() as u32 * 1_000_000;
    Ok(population)
}

#[trace]
async fn fallible_async(fail: bool) -> Result<Vec<u8>, CityError> {
    if fail {
        Err(CityError("x".into()))?;
    }
    Ok(vec![1, 2])
}

#[tokio::test]
async fn results_record_ok_value_or_error() {
    let rec = Recorder::install();
    assert_eq!(lookup("Paris").unwrap(), 5_000_000);
    assert!(lookup("").is_err());
    assert!(fallible_async(true).await.is_err());
    assert_eq!(fallible_async(false).await.unwrap(), vec![1, 2]);

    let spans = rec.named("lookup");
    let ok = spans.iter().find(|s| s.status == Status::Ok).unwrap();
    assert_eq!(attr_str(ok, mlflow::SPAN_OUTPUTS), "5000000");
    assert_eq!(attr_str(ok, mlflow::SPAN_TYPE), "RETRIEVER");
    let err = spans.iter().find(|s| s.status != Status::Ok).unwrap();
    assert_eq!(
        err.status,
        Status::error("no such city: <empty>".to_owned())
    );
    assert_eq!(attr_str(err, otel::ERROR_TYPE), "CityError");
    assert_eq!(attr_i64(err, mlflow::SPAN_LOG_LEVEL), 40);
    assert_eq!(attr(err, mlflow::SPAN_OUTPUTS), None);
    let event = err.events.iter().find(|e| e.name == "exception").unwrap();
    assert!(event
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == otel::EXCEPTION_MESSAGE
            && kv.value.as_str() == "no such city: <empty>"));

    let asyncs = rec.named("fallible_async");
    assert_eq!(asyncs.len(), 2);
    assert_eq!(attr_str(&asyncs[0], mlflow::SPAN_TYPE), "UNKNOWN");
    assert_eq!(
        attr_json(&asyncs[0], mlflow::SPAN_INPUTS),
        json!({"fail": true})
    );
    assert!(matches!(asyncs[0].status, Status::Error { .. }));
    assert_eq!(attr_json(&asyncs[1], mlflow::SPAN_OUTPUTS), json!([1, 2]));
}

#[trace]
fn echo<T: Serialize + Clone>(value: T) -> T {
    value
}

struct NotSerializable;

#[trace]
fn opaque(_handle: &NotSerializable, n: i64) -> NotSerializable {
    let _ = n;
    NotSerializable
}

#[test]
fn generic_and_non_serializable_values() {
    let rec = Recorder::install();
    echo(vec!["a", "b"]);
    opaque(&NotSerializable, 3);
    let span = rec.one("echo");
    assert_eq!(
        attr_json(&span, mlflow::SPAN_INPUTS),
        json!({"value": ["a", "b"]})
    );
    assert_eq!(attr_json(&span, mlflow::SPAN_OUTPUTS), json!(["a", "b"]));
    let span = rec.one("opaque");
    let inputs = attr_json(&span, mlflow::SPAN_INPUTS);
    assert_eq!(inputs["n"], 3);
    assert!(inputs["_handle"]
        .as_str()
        .unwrap()
        .contains("NotSerializable"));
    assert_eq!(attr(&span, mlflow::SPAN_OUTPUTS), None);
    assert_eq!(span.status, Status::Ok);
}

struct Agent {
    name: String,
}

impl Agent {
    #[trace(span_type = SpanType::Agent)]
    async fn run(&self, question: &str) -> String {
        let city = if question.contains("Tokyo") {
            "Tokyo"
        } else {
            "Paris"
        };
        format!("{}: {}", self.name, get_weather(city))
    }
}

#[tokio::test]
async fn methods_nest_their_children() {
    let rec = Recorder::install();
    let agent = Agent { name: "bot".into() };
    assert_eq!(agent.run("Weather in Tokyo?").await, "bot: sunny");
    let run = rec.one("run");
    let tool = rec.one("get_weather");
    assert_eq!(tool.parent_span_id, run.span_context.span_id());
    assert_eq!(
        attr_json(&run, mlflow::SPAN_INPUTS),
        json!({"question": "Weather in Tokyo?"})
    );
    assert_eq!(attr_str(&run, mlflow::SPAN_TYPE), "AGENT");
    assert_eq!(attr_str(&run, mlflow::TRACE_NAME), "run");
    assert_eq!(attr(&tool, mlflow::TRACE_NAME), None);
}
