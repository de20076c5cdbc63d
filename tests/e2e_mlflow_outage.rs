//! A real MLflow that is down when the app starts, comes up later, goes down mid-run and comes
//! back: the app's calls are never affected, no span is lost, every span made meanwhile lands
//! in MLflow once it answers (experiment by name and by id), and the counters match what
//! MLflow holds. The test starts and stops its own MLflow 3.17.2 (the test script passes the
//! venv's python in `MLFLOW_TRACING_TEST_MLFLOW_PYTHON`).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_openai::Client;
use common::*;
use mlflow_tracing::{Config, TelemetryGuard};

/// An MLflow server of this test's own, in its own process group.
struct Mlflow {
    child: Child,
}

impl Mlflow {
    fn start(python: &str, port: u16, dir: &std::path::Path) -> Self {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(dir.join("mlflow.log")).unwrap();
        let child = Command::new(python)
            .args([
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--workers",
                "1",
            ])
            .args(["--port", &port.to_string()])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--default-artifact-root")
            .arg(dir.join("artifacts"))
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start MLflow");
        Self { child }
    }

    fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Mlflow {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn wait_healthy(uri: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = reqwest::get(format!("{uri}/health")).await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "MLflow at {uri} did not start");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits until `guard` counts `n` exported spans.
async fn wait_exported(guard: &TelemetryGuard, n: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while guard.stats().exported < n {
        assert!(
            Instant::now() < deadline,
            "{what}: only {:?} after 120 s",
            guard.stats()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn pipeline(uri: &str, experiment: impl FnOnce(Config) -> Config) -> Pipeline {
    let config = experiment(
        Config::new()
            .with_tracking_uri(uri)
            .with_service_name("e2e-outage")
            .with_schedule_delay(Duration::from_millis(100))
            .with_retry_timeout(Duration::from_secs(180))
            .with_shutdown_timeout(Duration::from_secs(60)),
    );
    Pipeline::start(config)
}

/// Three traced calls through each pipeline, each checked against the same call untraced.
async fn calls(pipelines: &[&Pipeline], mock: &MockDeepSeek) {
    let traced = client(mock);
    let plain = Client::with_config(config(mock));
    for p in pipelines {
        let _default = tracing::dispatcher::set_default(&p.dispatch);
        for _ in 0..3 {
            let request = seed_request("deepseek-chat");
            let started = Instant::now();
            let got = traced.chat().create(request.clone()).await.expect("traced");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "the outage slowed the app"
            );
            let want = plain.chat().create(request).await.expect("plain");
            assert_eq!(
                serde_json::to_value(&got).unwrap(),
                serde_json::to_value(&want).unwrap()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_made_while_mlflow_is_down_arrive_when_it_is_back() {
    let Some(python) = test_env("MLFLOW_TRACING_TEST_MLFLOW_PYTHON") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("mlflow-outage-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("artifacts")).unwrap();
    let port = closed_port();
    let uri = format!("http://127.0.0.1:{port}");
    let mock = MockDeepSeek::start().await;

    // MLflow is down: setup does not fail or wait, calls are not slowed, spans wait.
    let started = Instant::now();
    let by_name = pipeline(&uri, |c| c.with_experiment_name("late-start"));
    let by_id = pipeline(&uri, |c| c.with_experiment_id("0"));
    assert!(started.elapsed() < Duration::from_secs(1));
    calls(&[&by_name, &by_id], &mock).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for p in [&by_name, &by_id] {
        let stats = p.guard.stats();
        assert_eq!(
            (stats.finished, stats.exported, stats.lost()),
            (3, 0, 0),
            "{stats:?}"
        );
    }

    // MLflow comes up about 10 s later: everything made meanwhile is delivered.
    let mut mlflow = Mlflow::start(&python, port, &dir);
    wait_healthy(&uri).await;
    calls(&[&by_name, &by_id], &mock).await;
    wait_exported(&by_name.guard, 6, "by name, after start").await;
    wait_exported(&by_id.guard, 6, "by id, after start").await;

    // MLflow goes down mid-run and comes back on the same store.
    mlflow.stop();
    calls(&[&by_name, &by_id], &mock).await;
    let mut mlflow = Mlflow::start(&python, port, &dir);
    wait_healthy(&uri).await;
    wait_exported(&by_name.guard, 9, "by name, after restart").await;
    wait_exported(&by_id.guard, 9, "by id, after restart").await;

    let name_id = by_name.guard.experiment_id().expect("resolved");
    for (p, experiment) in [(by_name, name_id.as_str()), (by_id, "0")] {
        let report = p.guard.shutdown().expect("every span delivered").remove(0);
        assert_eq!(
            (report.stats.finished, report.stats.exported),
            (9, 9),
            "{report}"
        );
        let traces = search_traces(&uri, experiment, "").await;
        assert_eq!(traces.len(), 9, "MLflow holds what was counted: {traces:?}");
    }
    mlflow.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
