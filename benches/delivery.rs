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
//! (default `200,400,500,1000,2000,max`), `DELIVERY_BENCH_OUTAGE_SECS` (default 60).
//!
//! Calls go through a traced async-openai client over a canned in-process response (no LLM
//! network), so the app side is as fast as it gets and the export path is what is measured.
//! Under `cargo test` each part runs a few calls only, as a smoke test.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::time::{Duration, Instant};

use common::otlp_receiver::{OtlpReceiver, Reply};
use common::{closed_port, search_traces, seed_request, Pipeline};
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
    let down_lat = drive(&traced, &down, outage_calls, Some(rate)).await;
    let rss_after = rss_bytes();
    let during = down.guard.stats();
    let (stats, drain) = settle(down.guard);
    // The same calls with a healthy endpoint, for the latency comparison.
    let healthy_receiver = OtlpReceiver::always(Reply::ok());
    let healthy = pipeline(Config::new().with_otlp_endpoint(healthy_receiver.url()));
    let healthy_lat = drive(&traced, &healthy, outage_calls.min(10_000), Some(rate)).await;
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
        for rate in env_list("DELIVERY_BENCH_MLFLOW_RATES", "200,400,500,1000,2000,max") {
            let name = format!("delivery-bench-{}-{}", rate_name(rate), std::process::id());
            let p = pipeline(
                Config::new()
                    .with_tracking_uri(&uri)
                    .with_experiment_name(&name)
                    .with_shutdown_timeout(DRAIN)
                    .require_backend_at_init(true),
            );
            let experiment = p.guard.experiment_id().expect("resolved");
            let t = Instant::now();
            drive(&traced, &p, calls, rate).await;
            let achieved = calls as f64 / t.elapsed().as_secs_f64();
            let (stats, drain) = settle(p.guard);
            let arrived = search_traces(&uri, &experiment, "").await.len();
            println!(
                "| MLflow 3.17.2 (SQLite) | {} | {achieved:.0} | {} | {} | {} | {} | {arrived} | {:.1} s |",
                rate_name(rate),
                stats.finished,
                stats.exported,
                stats.dropped,
                stats.failed,
                drain.as_secs_f64()
            );
        }
    }
}
