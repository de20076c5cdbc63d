//! What tracing adds to an LLM call, measured (no assertions: goals are read off the table).
//!
//! `cargo bench` prints one row per measurement. Under `cargo test` (no `--bench` flag) each
//! measurement runs a few iterations only, as a smoke test.
//!
//! Rows:
//! - mapping: request + response → attributes for the seed's basic call;
//! - create, traced vs plain: a whole `create()` against a local mock server, with the
//!   in-memory OTel pipeline; the difference is the tracing overhead per call;
//! - create, tracing disabled: `set_enabled(false)` vs a plain client;
//! - stream, per chunk: the SSE rebuild fed one typical chunk; and a 2,000-chunk stream
//!   drained traced vs plain, difference divided by the chunk count.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::time::{Duration, Instant};

use async_openai::Client;
use common::*;
use futures::StreamExt;
use serde_json::json;
use support::{canned_clients, cpu_time, median};

struct Bench {
    full: bool,
    rows: Vec<(String, Duration, &'static str)>,
}

impl Bench {
    fn iterations(&self, full: usize) -> usize {
        if self.full {
            full
        } else {
            3
        }
    }

    fn row(&mut self, name: &str, per_op: Duration, note: &'static str) {
        self.rows.push((name.to_owned(), per_op, note));
    }

    fn print(&self) {
        println!("\n| measurement | per operation | note |\n|---|---|---|");
        for (name, d, note) in &self.rows {
            println!("| {name} | {} | {note} |", human(*d));
        }
    }
}

fn human(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 10_000 {
        format!("{ns} ns")
    } else if ns < 10_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else {
        format!("{:.1} ms", ns as f64 / 1e6)
    }
}

/// Median of `reps` timings of `iters` runs of `f`, per run.
fn time(reps: usize, iters: usize, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed() / iters as u32
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// Median times of draining the same stream with a plain and a traced client, interleaved.
async fn interleaved_streams(
    plain: &Client<async_openai::config::OpenAIConfig>,
    traced: &mlflow_tracing::TracedClient<async_openai::config::OpenAIConfig>,
    request: &async_openai::types::chat::CreateChatCompletionRequest,
    n: usize,
) -> (Duration, Duration) {
    let (mut tp, mut tt) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let start = Instant::now();
        let mut s = plain.chat().create_stream(request.clone()).await.unwrap();
        while s.next().await.is_some() {}
        tp.push(start.elapsed());
        let start = Instant::now();
        let mut s = traced.chat().create_stream(request.clone()).await.unwrap();
        while s.next().await.is_some() {}
        drop(s);
        tt.push(start.elapsed());
    }
    (median(tp), median(tt))
}

fn diff(a: Duration, b: Duration) -> Duration {
    a.saturating_sub(b)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let mut bench = Bench {
        full,
        rows: Vec::new(),
    };

    // Pure mapping.
    let request = json!({"model": "deepseek-chat", "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"}],
        "temperature": 0.1, "max_tokens": 100});
    let response = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
        "model": "deepseek-chat", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "The capital of France is Paris."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20,
                  "prompt_cache_hit_tokens": 4, "prompt_cache_miss_tokens": 8}});
    let n = bench.iterations(20_000);
    let d = time(7, n, || {
        std::hint::black_box(mlflow_tracing::__bench::map_call(&request, &response));
    });
    bench.row(
        "mapping (request + response → attributes)",
        d,
        "pure, per call",
    );

    // One chat span opened and finished, no HTTP, with the in-memory pipeline.
    {
        let _rec = Recorder::install();
        let req = seed_request("deepseek-chat");
        let typed = serde_json::from_value(response.clone()).expect("a typed chat response");
        let d = time(5, bench.iterations(5_000), || {
            mlflow_tracing::__bench::span_call(&req, &typed);
        });
        bench.row(
            "chat span, no HTTP (in-memory exporter)",
            d,
            "span + all attributes + export",
        );
    }
    {
        let d = time(5, bench.iterations(5_000), || {
            let span = tracing::info_span!("x");
            drop(span);
        });
        bench.row("bare tracing span, no subscriber", d, "reference");
    }

    // Whole calls with an in-process HTTP service (no network, canned response): the
    // difference between a traced and a plain client is everything tracing adds.
    {
        let rec = Recorder::install();
        let body = serde_json::to_vec(&response).unwrap();
        let (plain, traced) = canned_clients(body, "application/json");
        let req = seed_request("deepseek-chat");
        let n = bench.iterations(20_000);
        let (mut tp, mut tt) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let start = Instant::now();
            plain.chat().create(req.clone()).await.unwrap();
            tp.push(start.elapsed());
            let start = Instant::now();
            traced.chat().create(req.clone()).await.unwrap();
            tt.push(start.elapsed());
        }
        let (p, t) = (median(tp), median(tt));
        bench.row("create, plain, no network", p, "canned in-process response");
        bench.row(
            "create, traced, no network",
            t,
            "same, traced, in-memory exporter",
        );
        bench.row(
            "create, tracing overhead per call",
            diff(t, p),
            "traced − plain (medians)",
        );

        let mut sse = String::new();
        for i in 0..300 {
            sse.push_str(&format!(
                "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"deepseek-chat\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"w{i} \"}},\"finish_reason\":null}}]}}\n\n"
            ));
        }
        sse.push_str("data: [DONE]\n\n");
        let (plain, traced) = canned_clients(sse.into_bytes(), "text/event-stream");
        let mut req = seed_request("deepseek-chat");
        req.stream_options = Some(async_openai::types::chat::ChatCompletionStreamOptions {
            include_usage: Some(true),
            ..Default::default()
        });
        let (tp, tt) = interleaved_streams(&plain, &traced, &req, bench.iterations(500)).await;
        bench.row(
            "stream, tracing overhead per chunk, no network",
            diff(tt, tp) / 300,
            "(traced − plain) / 300 chunks",
        );
        drop(rec);
    }

    // Whole calls against a local mock: plain and traced interleaved call by call, so drift
    // (allocator, sockets, the mock) hits both sides alike.
    let rec = Recorder::install();
    let mock = MockDeepSeek::start_unrecorded().await;
    let traced = client(&mock);
    let plain = Client::with_config(config(&mock));
    let req = seed_request("deepseek-chat");
    let n = bench.iterations(2_000);
    let (mut t_plain, mut t_traced, mut t_off) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let start = Instant::now();
        plain.chat().create(req.clone()).await.unwrap();
        t_plain.push(start.elapsed());
        let start = Instant::now();
        traced.chat().create(req.clone()).await.unwrap();
        t_traced.push(start.elapsed());
        if i % 2 == 0 {
            mlflow_tracing::set_enabled(false);
            let start = Instant::now();
            traced.chat().create(req.clone()).await.unwrap();
            t_off.push(start.elapsed());
            mlflow_tracing::set_enabled(true);
        }
    }
    let (p, t, o) = (median(t_plain), median(t_traced), median(t_off));
    bench.row(
        "create, plain async-openai (local mock)",
        p,
        "baseline, median",
    );
    bench.row(
        "create, traced (local mock)",
        t,
        "in-memory exporter, median",
    );
    bench.row("create, tracing overhead", diff(t, p), "traced − plain");
    bench.row(
        "create, tracing disabled overhead",
        diff(o, p),
        "disabled − plain (noise-level)",
    );
    // CPU time is steadier than wall time for the same comparison (client and mock server
    // share the process; the server's share is the same on both sides).
    let n = bench.iterations(3_000);
    let before = cpu_time();
    for _ in 0..n {
        plain.chat().create(req.clone()).await.unwrap();
    }
    let cpu_plain = cpu_time() - before;
    let before = cpu_time();
    for _ in 0..n {
        traced.chat().create(req.clone()).await.unwrap();
    }
    let cpu_traced = cpu_time() - before;
    bench.row(
        "create, tracing overhead in CPU time",
        diff(cpu_traced, cpu_plain) / n as u32,
        "process CPU, traced − plain, per call",
    );
    let d = time(7, bench.iterations(1_000_000), || {
        std::hint::black_box(mlflow_tracing::is_enabled());
    });
    bench.row(
        "disabled check (is_enabled)",
        d,
        "what a disabled call adds",
    );

    // Streams.
    let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
        "model": "deepseek-chat", "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "delta": {"content": "Paris "}, "logprobs": null,
                     "finish_reason": null}]});
    let line = format!("data: {chunk}\n\n");
    let n = bench.iterations(200_000);
    let typed: async_openai::types::chat::CreateChatCompletionStreamResponse =
        serde_json::from_value(chunk.clone()).unwrap();
    let mut agg = mlflow_tracing::__bench::Stream::new();
    let d = time(7, n, || {
        agg.feed(line.as_bytes());
        agg.feed_typed(&typed);
    });
    std::hint::black_box(agg.completion());
    bench.row(
        "stream rebuild, per chunk",
        d,
        "raw SSE scan + event keep + typed merge",
    );

    let long = ask("deepseek-chat-long", "talk");
    let (t_plain, t_traced) =
        interleaved_streams(&plain, &traced, &long, bench.iterations(100)).await;
    let chunks = 303u32; // role + 300 content + finish chunks (+ the hidden usage chunk)
    bench.row(
        "stream, tracing overhead per chunk (303-chunk stream)",
        diff(t_traced, t_plain) / chunks,
        "(traced − plain) / chunks, medians",
    );
    drop(rec);
    let per_chunk = diff(t_traced, t_plain) / chunks;

    // The production pipeline: the real queue, worker and OTLP/HTTP export to an in-process
    // receiver that decodes and counts what it gets.
    let production = production_pipeline(&mut bench, &mock, &req).await;
    bench.print();

    // MLflow Python autolog, same workload, same run (when its venv is there).
    let python = python_autolog(full);
    let added_wall_us = production.added_wall.as_secs_f64() * 1e6;
    let mut summary = json!({
        "added_wall_us_per_call": round1(added_wall_us),
        "added_cpu_us_per_call": round1(production.added_cpu.as_secs_f64() * 1e6),
        "added_us_per_chunk": round1(per_chunk.as_secs_f64() * 1e6),
        "export_spans_per_s": production.spans_per_s.round(),
        "dropped": production.dropped,
        "disabled_us_per_call": round1(production.disabled.as_secs_f64() * 1e6),
    });
    if let Some(python_us) = python {
        summary["python_autolog_added_wall_us_per_call"] = json!(python_us);
        summary["ratio_vs_python"] = json!(round1(python_us / added_wall_us.max(0.001)));
    }
    // Last line: one JSON object (read by scripts and the README).
    println!("{summary}");
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What the production-pipeline section measured.
struct Production {
    added_wall: Duration,
    added_cpu: Duration,
    disabled: Duration,
    spans_per_s: f64,
    dropped: u64,
}

/// Traced vs plain calls against the local mock with the real OTLP/HTTP export on, CPU per
/// call (exporter thread included: process CPU), export throughput of 2 KB-content spans, and
/// drops at a sustained call rate.
async fn production_pipeline(
    bench: &mut Bench,
    mock: &MockDeepSeek,
    req: &async_openai::types::chat::CreateChatCompletionRequest,
) -> Production {
    use common::otlp_receiver::{OtlpReceiver, Reply};
    let receiver = OtlpReceiver::always(Reply::ok());
    let pipeline = Pipeline::start(
        mlflow_tracing::Config::new()
            .with_otlp_endpoint(receiver.url())
            .with_otlp_shape(mlflow_tracing::Shape::Mlflow)
            .with_stderr_warnings(false),
    );
    let _scope = tracing::dispatcher::set_default(&pipeline.dispatch);
    let traced = client(mock);
    let plain = Client::with_config(config(mock));
    let n = bench.iterations(2_000);
    let (mut t_plain, mut t_traced, mut t_off) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let start = Instant::now();
        plain.chat().create(req.clone()).await.unwrap();
        t_plain.push(start.elapsed());
        let start = Instant::now();
        traced.chat().create(req.clone()).await.unwrap();
        t_traced.push(start.elapsed());
        if i % 2 == 0 {
            mlflow_tracing::set_enabled(false);
            let start = Instant::now();
            traced.chat().create(req.clone()).await.unwrap();
            t_off.push(start.elapsed());
            mlflow_tracing::set_enabled(true);
        }
    }
    let (p, t, o) = (median(t_plain), median(t_traced), median(t_off));
    bench.row(
        "production: create, traced, OTLP/HTTP export on",
        t,
        "local mock + real export to an in-process receiver, median",
    );
    bench.row(
        "production: tracing overhead per call (wall)",
        diff(t, p),
        "traced − plain, interleaved, medians",
    );
    bench.row(
        "production: disabled overhead per call",
        diff(o, p),
        "set_enabled(false) − plain",
    );
    let n = bench.iterations(3_000);
    let before = cpu_time();
    for _ in 0..n {
        plain.chat().create(req.clone()).await.unwrap();
    }
    let cpu_plain = cpu_time() - before;
    let before = cpu_time();
    for _ in 0..n {
        traced.chat().create(req.clone()).await.unwrap();
    }
    // Let the exporter finish what these calls made, so its CPU is counted.
    // Blocking is fine here: the worker and the receiver run on their own threads.
    let _ = pipeline.guard.flush();
    let cpu_traced = cpu_time() - before;
    let added_cpu = diff(cpu_traced, cpu_plain) / n as u32;
    bench.row(
        "production: tracing overhead in CPU time",
        added_cpu,
        "process CPU incl. encoding and export, traced − plain, per call",
    );

    // Export throughput: spans with 2 KB of content, made as fast as the app can.
    let content = "x".repeat(2048);
    let body = serde_json::to_vec(&json!({"id": "chatcmpl-1", "object": "chat.completion",
        "created": 1, "model": "deepseek-chat", "choices": [{"index": 0,
        "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}}))
    .unwrap();
    let (_, canned) = canned_clients(body, "application/json");
    let spans = bench.iterations(20_000);
    let before = receiver.accepted_span_ids().len();
    let start = Instant::now();
    for _ in 0..spans {
        canned.chat().create(req.clone()).await.unwrap();
    }
    // Blocking is fine here: the worker and the receiver run on their own threads.
    let _ = pipeline.guard.flush();
    let took = start.elapsed();
    let arrived = receiver.accepted_span_ids().len() - before;
    let spans_per_s = arrived as f64 / took.as_secs_f64();
    bench.row(
        "production: export throughput, 2 KB spans",
        took / arrived.max(1) as u32,
        "per span, queue to decoded at the receiver",
    );
    let dropped = pipeline.guard.stats().dropped;
    eprintln!(
        "export: {arrived} of {spans} spans of 2 KB arrived in {took:?} ({spans_per_s:.0} \
         spans/s), {dropped} dropped"
    );
    drop(_scope);
    let _ = pipeline.guard.shutdown();
    Production {
        added_wall: diff(t, p),
        added_cpu,
        disabled: diff(o, p),
        spans_per_s,
        dropped,
    }
}

/// Runs `benches/python_autolog.py` with the project's MLflow venv, when there is one, and
/// returns its added wall time per call in µs.
fn python_autolog(full: bool) -> Option<f64> {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venvs/mlflow/bin/python");
    if !full || !python.exists() || std::env::var_os("OVERHEAD_SKIP_PYTHON").is_some() {
        eprintln!("MLflow Python comparison skipped (needs `--bench` and .venvs/mlflow)");
        return None;
    }
    let output = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/python_autolog.py"
        ))
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!(
        "{}",
        stdout
            .lines()
            .filter(|l| !l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
    );
    println!();
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last()?).ok()?;
    last["python_autolog_added_wall_us_per_call"].as_f64()
}
