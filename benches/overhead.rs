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

use std::time::{Duration, Instant};

use async_openai::Client;
use common::*;
use futures::StreamExt;
use serde_json::json;

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

async fn time_async<F, Fut>(reps: usize, iters: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::new();
    for _ in 0..reps {
        let start = Instant::now();
        for _ in 0..iters {
            f().await;
        }
        samples.push(start.elapsed() / iters as u32);
    }
    samples.sort();
    samples[samples.len() / 2]
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
    bench.row("mapping (request + response → attributes)", d, "pure, per call");

    // Whole calls against a local mock.
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let traced = client(&mock);
    let plain = Client::with_config(config(&mock));
    let n = bench.iterations(300);
    let reps = if full { 5 } else { 1 };
    let req = seed_request("deepseek-chat");
    let t_plain = time_async(reps, n, || {
        let r = req.clone();
        let c = &plain;
        async move {
            c.chat().create(r).await.unwrap();
        }
    })
    .await;
    let t_traced = time_async(reps, n, || {
        let r = req.clone();
        let c = &traced;
        async move {
            c.chat().create(r).await.unwrap();
        }
    })
    .await;
    bench.row("create, plain async-openai (local mock)", t_plain, "baseline");
    bench.row("create, traced (local mock)", t_traced, "in-memory exporter");
    bench.row(
        "create, tracing overhead",
        diff(t_traced, t_plain),
        "traced − plain",
    );
    mlflow_tracing::set_enabled(false);
    let t_off = time_async(reps, n, || {
        let r = req.clone();
        let c = &traced;
        async move {
            c.chat().create(r).await.unwrap();
        }
    })
    .await;
    mlflow_tracing::set_enabled(true);
    bench.row(
        "create, tracing disabled overhead",
        diff(t_off, t_plain),
        "disabled − plain (noise-level)",
    );
    let d = time(7, bench.iterations(1_000_000), || {
        std::hint::black_box(mlflow_tracing::is_enabled());
    });
    bench.row("disabled check (is_enabled)", d, "what a disabled call adds");

    // Streams.
    let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
        "model": "deepseek-chat", "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "delta": {"content": "Paris "}, "logprobs": null,
                     "finish_reason": null}]});
    let line = format!("data: {chunk}\n\n");
    let n = bench.iterations(200_000);
    let mut agg = mlflow_tracing::__bench::Stream::new();
    let d = time(7, n, || agg.feed(line.as_bytes()));
    std::hint::black_box(agg.completion());
    bench.row("stream rebuild, per chunk", d, "SSE parse + merge + event keep");

    let long = ask("deepseek-chat-long", "talk");
    let n = bench.iterations(20);
    let drain = |c: &mlflow_tracing::TracedClient<_>| {
        let r = long.clone();
        let c = c.clone();
        async move {
            let mut s = c.chat().create_stream(r).await.unwrap();
            while s.next().await.is_some() {}
        }
    };
    let t_traced = time_async(reps, n, || drain(&traced)).await;
    let t_plain = time_async(reps, n, || {
        let r = long.clone();
        let c = plain.clone();
        async move {
            let mut s = c.chat().create_stream(r).await.unwrap();
            while s.next().await.is_some() {}
        }
    })
    .await;
    let chunks = 303u32; // role + 300 content + finish chunks (+ hidden usage chunk)
    bench.row(
        "stream, tracing overhead per chunk (303-chunk stream)",
        diff(t_traced, t_plain) / chunks,
        "(traced − plain) / chunks",
    );
    drop(rec);
    bench.print();
}
