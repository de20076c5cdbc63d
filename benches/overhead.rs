//! What tracing adds to an LLM call, measured (no assertions: goals are read off the table).
//!
//! `cargo bench --bench overhead` prints one row per measurement, the MLflow Python autolog
//! comparison (same request and response, same run, when `.venvs/mlflow` exists), and as its
//! last line one JSON object with the headline figures. Under `cargo test` (no `--bench`
//! flag) each measurement runs a few iterations only, as a smoke test.
//!
//! Sections:
//! - in-process (in-memory exporter, inline recording): mapping, a chat span alone, whole
//!   `create()` calls against a canned HTTP service, streams per chunk;
//! - production: the crate's real pipeline (recording thread, queue, export worker, MLflow
//!   shape, OTLP/HTTP) sending to an in-process receiver that decodes every span; traced vs
//!   plain calls to a local keep-alive server; caller-thread and export-thread CPU;
//!   disabled; export throughput of 2 KB spans; 5 000 calls/s sustained for 30 s;
//! - `OVERHEAD_SWEEP=1`: export cost and losses at 5 000 calls/s for several batch sizes
//!   and schedule delays; `OVERHEAD_SKIP_PYTHON=1` skips the Python comparison.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use std::time::{Duration, Instant};

use async_openai::Client;
use common::otlp_receiver::{OtlpReceiver, Reply};
use common::*;
use futures::StreamExt;
use serde_json::json;
use support::{canned_clients, export_thread_cpu, median, thread_cpu, FastMock};

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

    // Streams against a local mock (wiremock, which serves the 303-chunk stream).
    let rec = Recorder::install();
    let mock = MockDeepSeek::start_unrecorded().await;
    let traced = client(&mock);
    let plain = Client::with_config(config(&mock));
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
    let production = production_pipeline(&mut bench, &response).await;
    bench.print();

    // Batch settings at 5 000 calls/s (`OVERHEAD_SWEEP=1`; the README's table comes from it).
    if std::env::var_os("OVERHEAD_SWEEP").is_some() {
        batch_sweep(&response).await;
    }

    // MLflow Python autolog, same workload, same run (when its venv is there).
    let python = python_autolog(full);
    let added_wall_us = production.added_wall.as_secs_f64() * 1e6;
    let mut summary = json!({
        "added_wall_us_per_call": round1(added_wall_us),
        "added_cpu_us_per_call": round1(
            (production.caller_cpu + production.export_cpu).as_secs_f64() * 1e6
        ),
        "caller_cpu_us_per_call": round1(production.caller_cpu.as_secs_f64() * 1e6),
        "export_cpu_us_per_span": round1(production.export_cpu.as_secs_f64() * 1e6),
        "added_us_per_chunk": round1(per_chunk.as_secs_f64() * 1e6),
        "export_spans_per_s": production.spans_per_s.round(),
        "export_cpu_us_per_2kb_span": round1(production.export_cpu_2kb.as_secs_f64() * 1e6),
        "sustained_calls_per_s": production.sustained.rate,
        "sustained_seconds": production.sustained.seconds.round(),
        "sustained_calls": production.sustained.calls,
        "sustained_arrived": production.sustained.arrived,
        "dropped": production.sustained.dropped,
        "disabled_us_per_call": round1(production.disabled.as_secs_f64() * 1e6),
    });
    if let Some(python_us) = python {
        summary["python_autolog_added_wall_us_per_call"] = json!(python_us);
        summary["ratio_vs_python"] = json!(round1(python_us / added_wall_us.max(0.001)));
    }
    // Last line: one JSON object (read by scripts and the README).
    println!("{summary}");
}

fn median_f64(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(0.0)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What the production-pipeline section measured.
struct Production {
    added_wall: Duration,
    caller_cpu: Duration,
    export_cpu: Duration,
    disabled: Duration,
    spans_per_s: f64,
    export_cpu_2kb: Duration,
    sustained: Sustained,
}

/// A sustained call rate held for a while: what was made, delivered and lost.
struct Sustained {
    rate: u32,
    seconds: f64,
    calls: usize,
    arrived: usize,
    dropped: u64,
}

/// The production pipeline: the crate's own queue, export worker and OTLP/HTTP exporter (MLflow
/// shape) sending to an in-process receiver that decodes and counts every span.
///
/// - wall: plain and traced calls against the same local keep-alive server over real sockets,
///   in alternating blocks (each block on its own warm connection, the order swapped every
///   round), per-call means per block, medians, traced − plain;
/// - CPU: the caller's thread (traced − plain, per call) and the export thread (per span,
///   encoding and sending included, flushed before reading); the mock's and the receiver's
///   threads are not counted;
/// - disabled: `set_enabled(false)` vs plain, in-process (socket noise would hide nanoseconds);
/// - export throughput of spans with 2 KB of content, and drops at a sustained call rate.
async fn production_pipeline(bench: &mut Bench, response: &serde_json::Value) -> Production {
    let receiver = OtlpReceiver::always(Reply::ok());
    let pipeline = otlp_pipeline(&receiver, |config| config);
    let _scope = tracing::dispatcher::set_default(&pipeline.dispatch);
    let mock = FastMock::start(serde_json::to_vec(response).unwrap(), "application/json");
    let config = || {
        async_openai::config::OpenAIConfig::new()
            .with_api_base(&mock.url)
            .with_api_key("sk-bench")
    };
    // One HTTP client under both: the same keep-alive connection, so the same server thread,
    // serves plain and traced calls (two connections can land in different scheduling
    // regimes on a small machine, which shows as tens of µs either way).
    let http = reqwest::Client::new();
    let plain = Client::with_config(config()).with_http_client(http.clone());
    let traced =
        mlflow_tracing::TracedClient::with_http_client(Client::with_config(config()), http);
    let req = seed_request("deepseek-chat");
    for _ in 0..50 {
        plain.chat().create(req.clone()).await.unwrap();
        traced.chat().create(req.clone()).await.unwrap();
    }
    let _ = pipeline.guard.flush();

    let (rounds, block) = (bench.iterations(60), bench.iterations(100));
    let (mut wall_plain, mut wall_traced) = (Vec::new(), Vec::new());
    let (mut cpu_plain, mut cpu_traced) = (Duration::ZERO, Duration::ZERO);
    let export_before = export_thread_cpu();
    for round in 0..rounds {
        for side in [round % 2, 1 - round % 2] {
            let (cpu, start) = (thread_cpu(), Instant::now());
            for _ in 0..block {
                if side == 0 {
                    plain.chat().create(req.clone()).await.unwrap();
                } else {
                    traced.chat().create(req.clone()).await.unwrap();
                }
            }
            let (wall, cpu) = (start.elapsed() / block as u32, thread_cpu() - cpu);
            if side == 0 {
                wall_plain.push(wall);
                cpu_plain += cpu;
            } else {
                wall_traced.push(wall);
                cpu_traced += cpu;
            }
        }
    }
    // Blocking is fine here: the worker and the receiver run on their own threads.
    let _ = pipeline.guard.flush();
    let calls = (rounds * block) as u32;
    let export_cpu = (export_thread_cpu() - export_before) / calls;
    // Paired: each round's traced block minus its plain block (adjacent in time, so slow
    // drifts of the machine cancel), then the median over rounds.
    let paired: Vec<f64> = wall_traced
        .iter()
        .zip(&wall_plain)
        .map(|(t, p)| t.as_secs_f64() - p.as_secs_f64())
        .collect();
    let added_wall = Duration::from_secs_f64(median_f64(paired).max(0.0));
    let (p, t) = (median(wall_plain), median(wall_traced));
    let caller_cpu = diff(cpu_traced, cpu_plain) / calls;
    bench.row(
        "production: create, plain (local keep-alive server)",
        p,
        "per call, median of block means",
    );
    bench.row(
        "production: create, traced, OTLP/HTTP export on",
        t,
        "same server, real export to an in-process receiver",
    );
    bench.row(
        "production: added wall time per call",
        added_wall,
        "traced − plain, per round, median",
    );
    bench.row(
        "production: added CPU on the caller's thread",
        caller_cpu,
        "thread CPU, traced − plain, per call",
    );
    bench.row(
        "production: export thread CPU per span",
        export_cpu,
        "batching, MLflow shape, OTLP encoding, HTTP send",
    );

    // Disabled: in-process, so nanoseconds are not lost in socket noise.
    let (canned_plain, canned_traced) =
        canned_clients(serde_json::to_vec(response).unwrap(), "application/json");
    let n = bench.iterations(20_000);
    let (mut off, mut on) = (Vec::new(), Vec::new());
    mlflow_tracing::set_enabled(false);
    for _ in 0..bench.iterations(15) {
        let start = Instant::now();
        for _ in 0..n {
            canned_plain.chat().create(req.clone()).await.unwrap();
        }
        on.push(start.elapsed() / n as u32);
        let start = Instant::now();
        for _ in 0..n {
            canned_traced.chat().create(req.clone()).await.unwrap();
        }
        off.push(start.elapsed() / n as u32);
    }
    mlflow_tracing::set_enabled(true);
    let disabled = median(off).as_nanos() as i128 - median(on).as_nanos() as i128;
    bench.row(
        "production: disabled, what a call adds",
        Duration::from_nanos(disabled.max(0) as u64),
        "set_enabled(false) − plain, in-process, medians (can read 0: below noise)",
    );

    // Export throughput: spans with 2 KB of content, made as fast as the app can.
    let (_, canned) = canned_clients(two_kb_answer(response), "application/json");
    let spans = bench.iterations(20_000);
    let before = receiver.accepted_span_ids().len();
    let (dropped_before, export_before) = (pipeline.guard.stats().dropped, export_thread_cpu());
    let start = Instant::now();
    for _ in 0..spans {
        canned.chat().create(req.clone()).await.unwrap();
    }
    // Blocking is fine here: the worker and the receiver run on their own threads.
    let _ = pipeline.guard.flush();
    let took = start.elapsed();
    let arrived = receiver.accepted_span_ids().len() - before;
    let dropped = pipeline.guard.stats().dropped - dropped_before;
    let export_cpu_2kb = (export_thread_cpu() - export_before) / arrived.max(1) as u32;
    let spans_per_s = arrived as f64 / took.as_secs_f64();
    bench.row(
        "production: export throughput, 2 KB spans",
        took / arrived.max(1) as u32,
        "per span, app making calls as fast as it can, to decoded at the receiver",
    );
    bench.row(
        "production: export thread CPU per 2 KB span",
        export_cpu_2kb,
        "recording + OTLP export: one core carries 1 s / this",
    );
    eprintln!(
        "export: {arrived} of {spans} spans of 2 KB arrived in {took:?} ({spans_per_s:.0} \
         spans/s), {dropped} dropped at the queue bound"
    );

    // A sustained rate: 5 000 calls/s of 2 KB spans for 30 s (1 s under `cargo test`).
    let seconds = if bench.full { 30.0 } else { 1.0 };
    let sustained = sustained_rate(&canned, &req, &pipeline, &receiver, 5_000, seconds).await;
    eprintln!(
        "sustained: {} calls at {} calls/s for {:.0} s: {} arrived, {} dropped",
        sustained.calls, sustained.rate, sustained.seconds, sustained.arrived, sustained.dropped
    );
    drop(_scope);
    let _ = pipeline.guard.shutdown();
    Production {
        added_wall,
        caller_cpu,
        export_cpu,
        disabled: Duration::from_nanos(disabled.max(0) as u64),
        spans_per_s,
        export_cpu_2kb,
        sustained,
    }
}

/// The production pipeline (queue, worker, MLflow shape, OTLP/HTTP) sending to `receiver`,
/// with `tune`'s settings on top.
fn otlp_pipeline(
    receiver: &OtlpReceiver,
    tune: impl FnOnce(mlflow_tracing::Config) -> mlflow_tracing::Config,
) -> Pipeline {
    Pipeline::start(tune(
        mlflow_tracing::Config::new()
            .with_otlp_endpoint(receiver.url())
            .with_otlp_shape(mlflow_tracing::Shape::Mlflow)
            .with_stderr_warnings(false),
    ))
}

/// `response` with 2 KB of answer text, as bytes.
fn two_kb_answer(response: &serde_json::Value) -> Vec<u8> {
    let mut body = response.clone();
    body["choices"][0]["message"]["content"] = json!("x".repeat(2048));
    serde_json::to_vec(&body).unwrap()
}

/// The export's cost and losses at 5 000 calls/s of 2 KB spans, for several batch sizes and
/// schedule delays (10 s each): what the defaults were chosen from.
async fn batch_sweep(response: &serde_json::Value) {
    let (_, canned) = canned_clients(two_kb_answer(response), "application/json");
    let req = seed_request("deepseek-chat");
    println!(
        "\n| max batch spans | schedule delay | CPU per span, recording + export threads | \
         requests | arrived | dropped |\n|---|---|---|---|---|---|"
    );
    for (batch, delay_ms) in [
        (128, 1000),
        (512, 1000),
        (2048, 1000),
        (512, 200),
        (512, 5000),
    ] {
        let receiver = OtlpReceiver::always(Reply::ok());
        let pipeline = otlp_pipeline(&receiver, |config| {
            config
                .with_max_batch_spans(batch)
                .with_schedule_delay(Duration::from_millis(delay_ms))
        });
        let scope = tracing::dispatcher::set_default(&pipeline.dispatch);
        let before = export_thread_cpu();
        let run = sustained_rate(&canned, &req, &pipeline, &receiver, 5_000, 10.0).await;
        let per_span = (export_thread_cpu() - before) / run.calls.max(1) as u32;
        println!(
            "| {batch} | {delay_ms} ms | {} | {} | {} | {} |",
            human(per_span),
            receiver.seen().len(),
            run.arrived,
            run.dropped
        );
        drop(scope);
        let _ = pipeline.guard.shutdown();
    }
}

/// Makes `rate` calls per second for `seconds` (paced per millisecond), then flushes, and
/// counts what arrived and what the pipeline dropped.
async fn sustained_rate(
    client: &mlflow_tracing::TracedClient<async_openai::config::OpenAIConfig>,
    req: &async_openai::types::chat::CreateChatCompletionRequest,
    pipeline: &Pipeline,
    receiver: &OtlpReceiver,
    rate: u32,
    seconds: f64,
) -> Sustained {
    let dropped_before = pipeline.guard.stats().dropped;
    let arrived_before = receiver.accepted_span_ids().len();
    let start = Instant::now();
    let mut calls = 0usize;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while start.elapsed().as_secs_f64() < seconds {
        tick.tick().await;
        let due = (start.elapsed().as_secs_f64() * f64::from(rate)) as usize;
        while calls < due {
            client.chat().create(req.clone()).await.unwrap();
            calls += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Blocking is fine here: the worker and the receiver run on their own threads.
    let _ = pipeline.guard.flush();
    Sustained {
        rate: (calls as f64 / elapsed).round() as u32,
        seconds: elapsed,
        calls,
        arrived: receiver.accepted_span_ids().len() - arrived_before,
        dropped: pipeline.guard.stats().dropped - dropped_before,
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
