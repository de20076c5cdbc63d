//! Delivery under load and under outage, through the production pipeline (queue, worker,
//! OTLP/HTTP). Prints figures; asserts nothing. Goals are read off the tables.
//!
//! ```sh
//! cargo bench --bench delivery                                   # in-process OTLP receiver
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo bench --bench delivery   # + a real MLflow
//! ```
//! (`scripts/bench.sh` starts an MLflow and runs it.) Env: `DELIVERY_BENCH_CALLS` (calls per
//! load row, default 10000), `DELIVERY_BENCH_RATES` (comma-separated calls/s to the receiver,
//! `max` = as fast as possible; default `500,1000,2000,max`), `DELIVERY_BENCH_MLFLOW_RATES`
//! (one-span chat calls/s into MLflow, default `200,300,400`),
//! `DELIVERY_BENCH_MLFLOW_AGENT_RATES` (agent traces/s, 4 spans each, default `20,50,100`),
//! `DELIVERY_BENCH_MLFLOW_SECS` (seconds per MLflow row, default 20),
//! `DELIVERY_BENCH_OUTAGE_SECS` (default 60). Set `DELIVERY_BENCH_OUTAGE_SECS=0` and
//! `DELIVERY_BENCH_RATES=` to run the MLflow rows alone.
//!
//! Calls go through a traced async-openai client over a canned in-process response (no LLM
//! network), so the app side is as fast as it gets and the export path is what is measured.
//! Under `cargo test` each part runs a few calls only, as a smoke test.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::time::{Duration, Instant};

use common::otlp_receiver::{OtlpReceiver, Reply};
use common::{closed_port, num_spans, seed_request, trace_infos, Pipeline};
use mlflow_tracing::{Config, DeliveryStats, Error, TelemetryGuard, TracedClient};
use serde_json::json;
use support::{canned_clients, rss_bytes};

type Traced = TracedClient<async_openai::config::OpenAIConfig>;

/// Shutdown timeout of the load rows: long enough to drain any backlog, so every span ends
/// exported or counted as lost.
const DRAIN: Duration = Duration::from_secs(300);

fn seed_response() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "0c3f1e7a-8d2b-4a55-9c1e-5f6a7b8c9d0e",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "deepseek-chat",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "The capital of France is Paris."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20,
                  "prompt_cache_hit_tokens": 4, "prompt_cache_miss_tokens": 8},
        "system_fingerprint": "fp_8802369eaa_prod0425fp8"
    }))
    .unwrap()
}

fn pipeline(config: Config) -> Pipeline {
    Pipeline::start(config.with_service_name("delivery-bench"))
}

/// Makes `calls` traced calls at `rate` per second (`None`: as fast as possible); returns the
/// latency of each call.
async fn drive(client: &Traced, p: &Pipeline, calls: usize, rate: Option<f64>) -> Vec<Duration> {
    let _default = tracing::dispatcher::set_default(&p.dispatch);
    let request = seed_request("deepseek-chat");
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(calls);
    for i in 0..calls {
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let t = Instant::now();
        client
            .chat()
            .create(request.clone())
            .await
            .expect("canned call");
        latencies.push(t.elapsed());
    }
    latencies
}

fn settle(guard: TelemetryGuard) -> (DeliveryStats, Duration) {
    let t = Instant::now();
    let stats = match guard.shutdown() {
        Ok(reports) => reports[0].stats,
        Err(Error::Undelivered(report)) => {
            eprintln!("  report: {report}");
            report.stats
        }
        Err(e) => panic!("{e}"),
    };
    (stats, t.elapsed())
}

fn percentile(mut d: Vec<Duration>, p: f64) -> Duration {
    d.sort();
    d[((d.len() - 1) as f64 * p) as usize]
}

/// `name` as a number when set (full run), else `full`; `smoke` under `cargo test`.
fn env_number<T: std::str::FromStr>(name: &str, full_run: bool, full: T, smoke: T) -> T {
    if !full_run {
        return smoke;
    }
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(full)
}

fn env_list(name: &str, default: &str) -> Vec<Option<f64>> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter(|r| !r.trim().is_empty())
        .map(|r| r.trim().parse::<f64>().ok())
        .collect()
}

fn rate_name(rate: Option<f64>) -> String {
    rate.map_or_else(|| "max".to_owned(), |r| format!("{r}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let calls: usize = env_number("DELIVERY_BENCH_CALLS", full, 10_000, 50);
    let (_, traced) = canned_clients(seed_response(), "application/json");

    // Outage first, in a process that has not grown yet: nothing listens at the endpoint for
    // the whole run, 1000 calls/s.
    let secs: f64 = env_number("DELIVERY_BENCH_OUTAGE_SECS", full, 60.0, 0.2);
    if secs > 0.0 {
        outage(&traced, secs, full).await;
    }

    println!("\n## Load: {calls} calls per row, default queue (4096 spans / 32 MiB), batch 512\n");
    println!("| destination | rate (calls/s) | achieved | finished | exported | dropped | failed | arrived | drain after last call |");
    println!("|---|---|---|---|---|---|---|---|---|");

    let receiver_rates = if full {
        env_list("DELIVERY_BENCH_RATES", "500,1000,2000,max")
    } else {
        vec![None]
    };
    for rate in receiver_rates {
        let receiver = OtlpReceiver::always(Reply::ok());
        let p = pipeline(
            Config::new()
                .with_otlp_endpoint(receiver.url())
                .with_shutdown_timeout(DRAIN),
        );
        let t = Instant::now();
        drive(&traced, &p, calls, rate).await;
        let achieved = calls as f64 / t.elapsed().as_secs_f64();
        let (stats, drain) = settle(p.guard);
        println!(
            "| OTLP receiver (in-process) | {} | {achieved:.0} | {} | {} | {} | {} | {} | {:.1} s |",
            rate_name(rate),
            stats.finished,
            stats.exported,
            stats.dropped,
            stats.failed,
            receiver.accepted_span_ids().len(),
            drain.as_secs_f64()
        );
    }

    if let Some(uri) = std::env::var("MLFLOW_TRACKING_URI").ok().filter(|_| full) {
        mlflow_rows(&uri, &traced).await;
    }
}

/// Nothing listens at the endpoint for `secs` seconds, 1000 calls/s.
async fn outage(traced: &Traced, secs: f64, full: bool) {
    let rate = 1000.0;
    let outage_calls = (secs * rate) as usize;
    let endpoint = format!("http://127.0.0.1:{}/v1/traces", closed_port());
    let down = pipeline(
        Config::new()
            .with_otlp_endpoint(endpoint)
            .with_shutdown_timeout(Duration::from_secs(if full { 10 } else { 1 }))
            .with_stderr_warnings(false),
    );
    let rss_before = rss_bytes();
    let down_lat = drive(traced, &down, outage_calls, Some(rate)).await;
    let rss_after = rss_bytes();
    let during = down.guard.stats();
    let (stats, drain) = settle(down.guard);
    // The same calls with a healthy endpoint, for the latency comparison.
    let healthy_receiver = OtlpReceiver::always(Reply::ok());
    let healthy = pipeline(Config::new().with_otlp_endpoint(healthy_receiver.url()));
    let healthy_lat = drive(traced, &healthy, outage_calls.min(10_000), Some(rate)).await;
    let _ = settle(healthy.guard);
    println!("\n## Outage: endpoint down for {secs} s at {rate} calls/s\n");
    println!("| figure | value |\n|---|---|");
    println!("| calls made | {} |", stats.finished);
    println!(
        "| at the end of the outage: exported / dropped / failed / pending | {} / {} / {} / {} |",
        during.exported, during.dropped, during.failed, during.pending
    );
    println!(
        "| after shutdown: exported / dropped / failed | {} / {} / {} |",
        stats.exported, stats.dropped, stats.failed
    );
    println!(
        "| RSS growth during the outage | {:.1} MiB ({:.1} → {:.1} MiB) |",
        (rss_after as f64 - rss_before as f64) / 1048576.0,
        rss_before as f64 / 1048576.0,
        rss_after as f64 / 1048576.0
    );
    println!(
        "| call latency p50 / p99, healthy | {:.1} / {:.1} µs |",
        percentile(healthy_lat.clone(), 0.5).as_secs_f64() * 1e6,
        percentile(healthy_lat, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "| call latency p50 / p99, during the outage | {:.1} / {:.1} µs |",
        percentile(down_lat.clone(), 0.5).as_secs_f64() * 1e6,
        percentile(down_lat, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "| shutdown with the endpoint down | {:.1} s |",
        drain.as_secs_f64()
    );
}

/// The MLflow route: MLflow's own capacity first (OTLP ingest and StartTraceV3, measured
/// directly), then one-span calls and agent traces through the pipeline at fixed rates, with
/// trace metadata on (as it always is on that route).
async fn mlflow_rows(uri: &str, traced: &Traced) {
    let secs: f64 = env_number("DELIVERY_BENCH_MLFLOW_SECS", true, 20.0, 20.0);
    let (ingest, start_trace) = mlflow_capacity(uri, traced).await;
    println!("\n## MLflow at {uri}: its own capacity, measured directly\n");
    println!("| figure | value |\n|---|---|");
    println!(
        "| OTLP ingest (10 requests of 200 chat spans, one after another) | {ingest:.0} spans/s |"
    );
    println!("| StartTraceV3 (40 calls, one after another) | {start_trace:.0} calls/s |");

    println!("\n## MLflow through the pipeline: {secs} s per row, trace metadata on\n");
    println!("| load | rate (traces/s) | achieved | spans finished | exported | dropped | failed | traces in MLflow | metadata stored / skipped | wrong num_spans | drain after last call |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let rows = env_list("DELIVERY_BENCH_MLFLOW_RATES", "200,300,400")
        .into_iter()
        .map(|rate| (false, rate))
        .chain(
            env_list("DELIVERY_BENCH_MLFLOW_AGENT_RATES", "20,50,100")
                .into_iter()
                .map(|rate| (true, rate)),
        );
    for (agent_shaped, rate) in rows {
        let Some(rate) = rate else { continue };
        let kind = if agent_shaped {
            "agent (4 spans)"
        } else {
            "chat (1 span)"
        };
        let name = format!(
            "delivery-bench-{}-{rate}-{}",
            if agent_shaped { "agent" } else { "chat" },
            std::process::id()
        );
        let p = pipeline(
            Config::new()
                .with_tracking_uri(uri)
                .with_experiment_name(&name)
                .with_shutdown_timeout(DRAIN)
                .require_backend_at_init(true),
        );
        let experiment = p.guard.experiment_id().expect("resolved");
        let traces = (rate * secs) as usize;
        let t = Instant::now();
        if agent_shaped {
            let _default = tracing::dispatcher::set_default(&p.dispatch);
            let started = Instant::now();
            for i in 0..traces {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                agent(traced, i).await;
            }
        } else {
            drive(traced, &p, traces, Some(rate)).await;
        }
        let achieved = traces as f64 / t.elapsed().as_secs_f64();
        let (stats, drain) = settle(p.guard);
        let infos = trace_infos(uri, &experiment, "").await;
        let arrived = infos.len();
        let spans_per_trace = if agent_shaped { 4 } else { 1 };
        let wrong = infos
            .iter()
            .filter(|info| num_spans(info).is_some_and(|n| n != spans_per_trace))
            .count();
        println!(
            "| {kind} | {rate} | {achieved:.0} | {} | {} | {} | {} | {arrived} of {traces} | {} / {} | {wrong} | {:.1} s |",
            stats.finished,
            stats.exported,
            stats.dropped,
            stats.failed,
            stats.trace_metadata_stored,
            stats.trace_metadata_skipped,
            drain.as_secs_f64()
        );
    }
}

#[mlflow_tracing::trace(span_type = mlflow_tracing::SpanType::Tool)]
async fn get_weather(city: String) -> String {
    format!("{city}: sunny")
}

/// An agent trace: the AGENT root, a chat call, a TOOL span, a second chat call (4 spans).
#[mlflow_tracing::trace(span_type = mlflow_tracing::SpanType::Agent, skip(client))]
async fn agent(client: &Traced, i: usize) {
    let request = seed_request("deepseek-chat");
    client
        .chat()
        .create(request.clone())
        .await
        .expect("canned call");
    get_weather(format!("city {i}")).await;
    client.chat().create(request).await.expect("canned call");
}

/// MLflow's own rates, without this crate in the way: OTLP ingest of real chat spans (200
/// captured from the pipeline, re-keyed for each request), and StartTraceV3 calls.
async fn mlflow_capacity(uri: &str, traced: &Traced) -> (f64, f64) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
    use prost::Message as _;

    let receiver = OtlpReceiver::always(Reply::ok());
    let p = pipeline(
        Config::new()
            .with_otlp_endpoint(receiver.url())
            .with_otlp_shape(mlflow_tracing::Shape::Mlflow),
    );
    drive(traced, &p, 200, None).await;
    let _ = settle(p.guard);
    let spans: Vec<_> = receiver.seen().into_iter().flat_map(|s| s.spans).collect();
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{uri}/api/2.0/mlflow/experiments/create"))
        .json(&json!({"name": format!("delivery-bench-capacity-{}", std::process::id())}))
        .send()
        .await
        .expect("create experiment")
        .json()
        .await
        .expect("JSON");
    let experiment = created["experiment_id"]
        .as_str()
        .expect("experiment id")
        .to_owned();
    let mut key = u128::from(std::process::id()) << 64;
    let mut fresh = |span: &opentelemetry_proto::tonic::trace::v1::Span| {
        key += 1;
        let mut span = span.clone();
        span.trace_id = key.to_be_bytes().to_vec();
        span.span_id = (key as u64).to_be_bytes().to_vec();
        span
    };
    let requests: Vec<Vec<u8>> = (0..10)
        .map(|_| {
            ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans: spans.iter().map(&mut fresh).collect(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            }
            .encode_to_vec()
        })
        .collect();
    let t = Instant::now();
    for body in requests {
        let status = http
            .post(format!("{uri}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .header("x-mlflow-experiment-id", &experiment)
            .body(body)
            .send()
            .await
            .expect("OTLP request")
            .status();
        assert!(status.is_success(), "MLflow answered {status}");
    }
    let ingest = (10 * spans.len()) as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..40u64 {
        let body = json!({"trace": {"trace_info": {
            "trace_id": format!("tr-{:032x}", (u128::from(std::process::id()) << 96) + u128::from(i)),
            "trace_location": {"type": "MLFLOW_EXPERIMENT",
                               "mlflow_experiment": {"experiment_id": experiment}},
            "request_time": "2026-12-04T12:00:00.000Z",
            "execution_duration": "0.5s",
            "state": "OK",
            "trace_metadata": {"mlflow.trace_schema.version": "3", "mlflow.traceInputs": "hi"},
        }}});
        let status = http
            .post(format!("{uri}/api/3.0/mlflow/traces"))
            .json(&body)
            .send()
            .await
            .expect("StartTraceV3")
            .status();
        assert!(status.is_success(), "MLflow answered {status}");
    }
    let start_trace = 40.0 / t.elapsed().as_secs_f64();
    (ingest, start_trace)
}
