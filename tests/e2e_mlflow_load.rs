//! The MLflow route under load, against the real MLflow of the test command: every span
//! delivered, every trace whole, and trace metadata (StartTraceV3) that never costs a span.
//! Also the order of spans on the wire (a root after its children, whatever the batch size),
//! against an in-process receiver.
//!
//! These guard the regression of trace metadata holding up span delivery: at 200 one-span
//! calls a second, most spans were still queued at exit.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::otlp_receiver::{OtlpReceiver, Reply};
use common::*;
use mlflow_tracing::{trace, Config, DeliveryStats, Error, SpanType, TelemetryGuard};
use serde_json::{json, Value};

type Traced = mlflow_tracing::TracedClient<async_openai::config::OpenAIConfig>;

fn answer() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "0c3f1e7a-8d2b-4a55-9c1e-5f6a7b8c9d0e",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "deepseek-chat",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Sunny, 21 °C."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}
    }))
    .unwrap()
}

fn client() -> Traced {
    support::canned_clients(answer(), "application/json").1
}

#[trace(span_type = SpanType::Tool)]
async fn get_weather(city: String) -> String {
    format!("{city}: sunny")
}

/// An agent trace: the AGENT root, a chat call, a TOOL span, a second chat call (4 spans).
#[trace(span_type = SpanType::Agent, skip(client))]
async fn agent(client: &Traced, i: usize) -> bool {
    let first = client.chat().create(seed_request("deepseek-chat")).await;
    let weather = get_weather(format!("city {i}")).await;
    let second = client.chat().create(seed_request("deepseek-chat")).await;
    first.is_ok() && second.is_ok() && !weather.is_empty()
}

/// Runs `n` units of work at `rate` a second (`one(i)` each), on a schedule that does not
/// drift.
async fn paced<F: std::future::Future<Output = bool>>(
    n: usize,
    rate: f64,
    mut one: impl FnMut(usize) -> F,
) {
    let started = Instant::now();
    for i in 0..n {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        assert!(one(i).await, "call {i} failed");
    }
}

fn settle(guard: TelemetryGuard) -> DeliveryStats {
    match guard.shutdown() {
        Ok(reports) => reports[0].stats,
        Err(Error::Undelivered(report)) => panic!("not every span was delivered: {report}"),
        Err(e) => panic!("{e}"),
    }
}

/// How many spans MLflow holds for a trace.
async fn spans_in_mlflow(http: &reqwest::Client, uri: &str, trace_id: &str) -> usize {
    let trace: Value = http
        .get(format!("{uri}/api/3.0/mlflow/traces/get"))
        .query(&[("trace_id", trace_id)])
        .send()
        .await
        .expect("get trace")
        .json()
        .await
        .expect("trace JSON");
    trace["trace"]["spans"].as_array().map_or(0, Vec::len)
}

/// Checks that MLflow holds `traces` traces of `spans` spans each, and that every trace that
/// got its metadata says `num_spans` = `spans`; returns how many got metadata.
async fn check_mlflow(uri: &str, experiment: &str, traces: usize, spans: usize) -> usize {
    let infos = trace_infos(uri, experiment, "").await;
    assert_eq!(infos.len(), traces, "traces in MLflow");
    let http = reqwest::Client::new();
    let mut with_metadata = 0;
    for info in &infos {
        let id = info["trace_id"].as_str().expect("trace id");
        if spans > 1 {
            assert_eq!(
                spans_in_mlflow(&http, uri, id).await,
                spans,
                "spans of {id}"
            );
        }
        if let Some(n) = num_spans(info) {
            assert_eq!(n, spans as u64, "num_spans of {id}");
            with_metadata += 1;
        }
    }
    with_metadata
}

/// 2 000 one-span chat calls at 200 a second into the test MLflow: every span delivered
/// (before trace metadata was taken off the span path, 18 % were), every trace there, and
/// every trace's metadata either stored or counted as skipped.
#[tokio::test(flavor = "current_thread")]
async fn one_span_calls_at_200_per_second_are_all_delivered() {
    let Some(uri) = mlflow_test_uri() else { return };
    let name = format!("load-one-span-{}", std::process::id());
    let p = Pipeline::start(e2e_config(&uri, &name).with_shutdown_timeout(Duration::from_secs(60)));
    let experiment = p.guard.experiment_id().expect("resolved at init");
    let traced = client();
    let calls = 2_000;
    let t = Instant::now();
    {
        let _default = tracing::dispatcher::set_default(&p.dispatch);
        paced(calls, 200.0, |_| async {
            traced
                .chat()
                .create(seed_request("deepseek-chat"))
                .await
                .is_ok()
        })
        .await;
    }
    let app = t.elapsed();
    let stats = settle(p.guard);
    let drained = t.elapsed() - app;
    assert_eq!(stats.finished, calls as u64);
    assert_eq!(stats.exported, calls as u64, "{stats:?}");
    assert_eq!(
        stats.trace_metadata_stored + stats.trace_metadata_skipped,
        calls as u64,
        "every trace's metadata is accounted for: {stats:?}"
    );
    let with_metadata = check_mlflow(&uri, &experiment, calls, 1).await;
    assert_eq!(with_metadata as u64, stats.trace_metadata_stored);
    eprintln!(
        "200 calls/s for {:.1} s: {} of {calls} spans delivered, shutdown took {:.1} s; trace \
         metadata stored for {} and skipped for {} traces",
        app.as_secs_f64(),
        stats.exported,
        drained.as_secs_f64(),
        stats.trace_metadata_stored,
        stats.trace_metadata_skipped
    );
}

/// Agent traces (4 spans) at 20 a second, within what MLflow takes for spans and metadata:
/// every span delivered, every trace whole, and `num_spans` = 4 wherever metadata was stored.
#[tokio::test(flavor = "current_thread")]
async fn agent_traces_arrive_whole_with_the_right_span_count() {
    let Some(uri) = mlflow_test_uri() else { return };
    let name = format!("load-agent-{}", std::process::id());
    let p = Pipeline::start(e2e_config(&uri, &name).with_shutdown_timeout(Duration::from_secs(60)));
    let experiment = p.guard.experiment_id().expect("resolved at init");
    let traced = client();
    let traces = 200;
    {
        let _default = tracing::dispatcher::set_default(&p.dispatch);
        paced(traces, 20.0, |i| agent(&traced, i)).await;
    }
    let stats = settle(p.guard);
    assert_eq!(stats.exported, 4 * traces as u64, "{stats:?}");
    assert_eq!(
        stats.trace_metadata_stored + stats.trace_metadata_skipped,
        traces as u64,
        "{stats:?}"
    );
    let with_metadata = check_mlflow(&uri, &experiment, traces, 4).await;
    assert_eq!(with_metadata as u64, stats.trace_metadata_stored);
    eprintln!(
        "agent traces at 20/s: {} spans delivered; metadata stored for {with_metadata} of \
         {traces} traces ({} skipped)",
        stats.exported, stats.trace_metadata_skipped
    );
}

/// One span per request: every trace straddles batch boundaries, and still arrives whole in
/// MLflow, its metadata counting all 4 spans.
#[tokio::test(flavor = "current_thread")]
async fn traces_split_across_requests_are_whole_in_mlflow() {
    let Some(uri) = mlflow_test_uri() else { return };
    let name = format!("load-tiny-batches-{}", std::process::id());
    let p = Pipeline::start(e2e_config(&uri, &name).with_max_batch_spans(1));
    let experiment = p.guard.experiment_id().expect("resolved at init");
    let traced = client();
    let traces = 20;
    {
        let _default = tracing::dispatcher::set_default(&p.dispatch);
        paced(traces, 50.0, |i| agent(&traced, i)).await;
    }
    let stats = settle(p.guard);
    assert_eq!(stats.exported, 4 * traces as u64, "{stats:?}");
    // Few traces, a long shutdown timeout: nothing needs skipping.
    assert_eq!(stats.trace_metadata_stored, traces as u64, "{stats:?}");
    let with_metadata = check_mlflow(&uri, &experiment, traces, 4).await;
    assert_eq!(with_metadata, traces);
}

/// On the wire, a root span never comes before one of its children, whatever the batch size
/// and however fast the app goes: every span passes through one queue in the order it ended.
#[tokio::test(flavor = "current_thread")]
async fn a_root_never_precedes_its_children_on_the_wire() {
    for batch in [1, 3, 512] {
        let receiver = OtlpReceiver::always(Reply::ok());
        let p = Pipeline::start(
            Config::new()
                .with_otlp_endpoint(receiver.url())
                .with_otlp_shape(mlflow_tracing::Shape::Mlflow)
                .with_max_batch_spans(batch)
                .with_schedule_delay(Duration::from_millis(5))
                .with_shutdown_timeout(Duration::from_secs(60)),
        );
        let traced = client();
        let traces = 300;
        {
            let _default = tracing::dispatcher::set_default(&p.dispatch);
            for i in 0..traces {
                assert!(agent(&traced, i).await);
            }
        }
        let stats = settle(p.guard);
        assert_eq!(
            stats.exported,
            4 * traces as u64,
            "batch {batch}: {stats:?}"
        );
        // Position of each span on the wire; every child must come before its root.
        let wire: Vec<_> = receiver
            .seen()
            .into_iter()
            .filter(|s| s.accepted)
            .flat_map(|s| s.spans)
            .collect();
        assert_eq!(wire.len(), 4 * traces, "batch {batch}: each span once");
        let position: HashMap<Vec<u8>, usize> = wire
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id.clone(), i))
            .collect();
        let mut roots = 0;
        for (i, span) in wire.iter().enumerate() {
            if span.parent_span_id.is_empty() {
                roots += 1;
                continue;
            }
            let parent = position[&span.parent_span_id];
            assert!(
                parent > i,
                "batch {batch}: span {:?} went at {i}, after its parent at {parent}",
                span.name
            );
        }
        assert_eq!(roots, traces, "batch {batch}");
    }
}
