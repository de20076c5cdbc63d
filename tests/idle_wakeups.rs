//! An idle pipeline sleeps: once the last span is exported, the crate's threads (recording
//! and export) wake at most once a second. Counted from the kernel's voluntary context
//! switches of each thread (`/proc/self/task/*/status`), so this binary has one test and one
//! pipeline: no other test's threads are counted.

#[path = "../benches/support/mod.rs"]
mod support;

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::otlp_receiver::{OtlpReceiver, Reply};
use common::{seed_request, Pipeline};
use mlflow_tracing::Config;

/// Voluntary context switches of each of the crate's threads (named `mlflow-tracing-*`; the
/// kernel keeps 15 bytes of a name), by thread id.
fn crate_thread_switches() -> HashMap<String, u64> {
    let mut switches = HashMap::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let path = task.expect("task").path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !name.starts_with("mlflow-tracing") {
            continue;
        }
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        let count = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("voluntary_ctxt_switches");
        let id = path.file_name().unwrap().to_string_lossy().into_owned();
        switches.insert(format!("{} ({id})", name.trim()), count);
    }
    switches
}

fn deltas(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut d: Vec<_> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .collect();
    d.sort();
    d
}

#[tokio::test(flavor = "current_thread")]
async fn an_idle_pipeline_sleeps() {
    let receiver = OtlpReceiver::always(Reply::ok());
    let p = Pipeline::start(
        Config::new()
            .with_otlp_endpoint(receiver.url())
            .with_schedule_delay(Duration::from_millis(50)),
    );
    let answer = serde_json::json!({
        "id": "1", "object": "chat.completion", "created": 1_764_000_000, "model": "deepseek-chat",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Paris."}}],
    });
    let traced = support::canned_clients(answer.to_string().into_bytes(), "application/json").1;
    let _default = tracing::dispatcher::set_default(&p.dispatch);

    // Busy: 100 calls over a second. The measurement sees the threads work (positive control).
    let before = crate_thread_switches();
    for _ in 0..100 {
        traced
            .chat()
            .create(seed_request("deepseek-chat"))
            .await
            .expect("canned answer");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    p.guard.flush().expect("flushed");
    let busy = deltas(&before, &crate_thread_switches());
    assert!(busy.len() >= 2, "recording and export threads: {busy:?}");
    let busy_total: u64 = busy.iter().map(|(_, n)| n).sum();
    assert!(busy_total >= 10, "the threads worked while busy: {busy:?}");

    // Idle: 5 s after the last export.
    std::thread::sleep(Duration::from_secs(1));
    let before = crate_thread_switches();
    std::thread::sleep(Duration::from_secs(5));
    let idle = deltas(&before, &crate_thread_switches());
    eprintln!("wake-ups while busy (1 s): {busy:?}; while idle (5 s): {idle:?}");
    for (thread, n) in &idle {
        assert!(*n <= 5, "{thread} woke {n} times in 5 idle seconds");
    }
    assert_eq!(p.guard.stats().exported, 100);
}
