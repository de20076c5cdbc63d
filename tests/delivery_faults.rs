//! Delivery under faults, against a local OTLP receiver each test scripts (refused connection,
//! 500, 503 + Retry-After, 429, 413, 400, hang, slow answer, connection closed mid-response,
//! full queue). In every case: the app's calls return what an untraced client returns, the
//! pipeline's counters match what the receiver accepted (exported + lost = finished), the
//! warning names the endpoint and the cause, and shutdown ends within its timeout.

mod common;

use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use async_openai::Client;
use common::otlp_receiver::{span_text, OtlpReceiver, Reply};
use common::*;
use mlflow_tracing::{semconv, Config, DeliveryStats, Error};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Every warning the pipelines of this binary emitted (target `mlflow_tracing::delivery`).
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, _: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0 = format!("{value:?}");
            }
        }
        if event.metadata().target() == "mlflow_tracing::delivery" {
            let mut message = Message(String::new());
            event.record(&mut message);
            WARNINGS.lock().unwrap().push(message.0);
        }
    }
}

/// The export worker's warnings go to the global subscriber: capture them there.
fn capture_warnings() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
            .expect("global subscriber");
    });
}

fn warnings_about(needle: &str) -> Vec<String> {
    WARNINGS
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains(needle))
        .cloned()
        .collect()
}

struct Run {
    stats: DeliveryStats,
    result: Result<mlflow_tracing::DeliveryReport, Error>,
    shutdown_took: Duration,
}

const SHUTDOWN: Duration = Duration::from_secs(3);

/// Makes `calls` traced chat calls (each checked against the same call untraced) through a
/// pipeline exporting to `endpoint`, then shuts it down.
async fn run(
    endpoint: &str,
    calls: usize,
    prompt: &str,
    tune: impl FnOnce(Config) -> Config,
) -> Run {
    capture_warnings();
    let settings = tune(
        Config::new()
            .with_otlp_endpoint(endpoint)
            .with_service_name("faults")
            .with_schedule_delay(Duration::from_millis(20))
            .with_export_timeout(Duration::from_secs(2))
            .with_shutdown_timeout(SHUTDOWN)
            .with_stderr_warnings(false),
    );
    let Pipeline { guard, dispatch } = Pipeline::start(settings);
    let mock = MockDeepSeek::start().await;
    let traced = client(&mock);
    let plain = Client::with_config(config(&mock));
    {
        let _default = tracing::dispatcher::set_default(&dispatch);
        for _ in 0..calls {
            let request = ask("deepseek-chat", prompt);
            let got = traced.chat().create(request.clone()).await.expect("traced");
            let want = plain.chat().create(request).await.expect("plain");
            assert_eq!(
                serde_json::to_value(&got).unwrap(),
                serde_json::to_value(&want).unwrap(),
                "tracing changed the caller's result"
            );
        }
    }
    let stats = guard.stats();
    assert_eq!(stats.finished, calls as u64, "{stats:?}");
    let started = Instant::now();
    // One destination: one report.
    let result = guard.shutdown().map(|mut reports| reports.remove(0));
    let shutdown_took = started.elapsed();
    assert!(
        shutdown_took < SHUTDOWN + Duration::from_millis(900),
        "shutdown took {shutdown_took:?}"
    );
    let stats = match &result {
        Ok(report) => report.stats,
        Err(Error::Undelivered(report)) => report.stats,
        Err(e) => panic!("unexpected shutdown error: {e}"),
    };
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert_eq!(stats.exported + stats.lost(), stats.finished, "{stats:?}");
    Run {
        stats,
        result,
        shutdown_took,
    }
}

/// The counters agree with what the receiver answered 2xx for.
fn assert_matches_receiver(run: &Run, receiver: &OtlpReceiver) {
    assert_eq!(
        run.stats.exported,
        receiver.accepted_span_ids().len() as u64,
        "{:?}",
        run.stats
    );
}

#[tokio::test]
async fn refused_connection_fails_with_a_clear_word() {
    let endpoint = format!("http://127.0.0.1:{}/v1/traces", closed_port());
    let run = run(&endpoint, 3, "hi", |c| c).await;
    assert_eq!(run.stats.failed, 3, "{:?}", run.stats);
    let Err(Error::Undelivered(report)) = &run.result else {
        panic!("no false success: {:?}", run.result)
    };
    let text = report.to_string();
    assert!(
        text.contains(&endpoint) && text.contains("connection refused"),
        "{text}"
    );
    let warned = warnings_about(&endpoint);
    assert!(
        warned
            .iter()
            .any(|w| w.contains("cannot deliver spans") && w.contains("connection refused")),
        "{warned:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_recovery() {
    let receiver = OtlpReceiver::failing_first(
        2,
        Reply::status(500, r#"{"message": "database is locked"}"#),
    );
    let run = run(&receiver.url(), 3, "hi", |c| c).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.stats.exported, 3);
    assert_matches_receiver(&run, &receiver);
    let warned = warnings_about(&receiver.url());
    assert!(
        warned
            .iter()
            .any(|w| w.contains("HTTP 500") && w.contains("database is locked")),
        "{warned:?}"
    );
    assert!(warned.iter().any(|w| w.contains("recovered")), "{warned:?}");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let receiver = OtlpReceiver::failing_first(
        1,
        Reply::Status(503, vec![("retry-after".into(), "1".into())], "busy".into()),
    );
    let run = run(&receiver.url(), 1, "hi", |c| c).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let seen = receiver.seen();
    assert!(seen.len() >= 2, "{seen:?}");
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    assert_matches_receiver(&run, &receiver);
}

#[tokio::test]
async fn rate_limiting_is_retried() {
    let receiver = OtlpReceiver::failing_first(1, Reply::status(429, "slow down"));
    let run = run(&receiver.url(), 2, "hi", |c| c).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.stats.exported, 2);
    assert_matches_receiver(&run, &receiver);
}

#[tokio::test]
async fn a_too_large_batch_is_split() {
    // One span per request is all this receiver takes.
    let receiver = OtlpReceiver::start(|_, request, _| {
        let spans: usize = request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum();
        if spans > 1 {
            Reply::status(413, "request entity too large")
        } else {
            Reply::ok()
        }
    });
    // A long schedule delay: all four spans go in one batch at shutdown.
    let run = run(&receiver.url(), 4, "hi", |c| {
        c.with_schedule_delay(Duration::from_secs(60))
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!((run.stats.exported, run.stats.truncated), (4, 0));
    assert_matches_receiver(&run, &receiver);
    assert!(receiver
        .seen()
        .iter()
        .filter(|s| s.accepted)
        .all(|s| s.spans.len() == 1));
}

#[tokio::test]
async fn a_span_too_large_alone_is_cut_to_fit() {
    let receiver = OtlpReceiver::start(|_, _, body_len| {
        if body_len > 20_000 {
            Reply::status(413, "too large")
        } else {
            Reply::ok()
        }
    });
    let prompt = "x".repeat(60_000);
    let run = run(&receiver.url(), 1, &prompt, |c| c).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!((run.stats.exported, run.stats.truncated), (1, 1));
    assert_matches_receiver(&run, &receiver);
    let seen = receiver.seen();
    let span = &seen.iter().find(|s| s.accepted).expect("accepted").spans[0];
    assert_eq!(
        span_text(span, semconv::tracer::TRUNCATED).as_deref(),
        Some("true")
    );
    assert_eq!(
        span_text(span, semconv::mlflow::SPAN_TYPE).as_deref(),
        Some("CHAT_MODEL")
    );
    let inputs: serde_json::Value =
        serde_json::from_str(&span_text(span, semconv::mlflow::SPAN_INPUTS).unwrap())
            .expect("inputs stay valid JSON");
    assert_eq!(inputs["model"], "deepseek-chat");
    assert!(span_text(span, semconv::mlflow::CHAT_TOKEN_USAGE).is_some());
}

#[tokio::test]
async fn client_errors_are_refused_once_and_not_retried() {
    let receiver = OtlpReceiver::always(Reply::status(400, r#"{"message": "bad span"}"#));
    let run = run(&receiver.url(), 2, "hi", |c| {
        c.with_schedule_delay(Duration::from_secs(60))
    })
    .await;
    assert_eq!((run.stats.refused, run.stats.exported), (2, 0));
    assert_eq!(receiver.seen().len(), 1, "a 400 is not retried");
    let warned = warnings_about(&receiver.url());
    assert!(
        warned.iter().any(|w| w.contains("refused 2 spans")
            && w.contains("HTTP 400")
            && w.contains("bad span")),
        "{warned:?}"
    );
}

#[tokio::test]
async fn a_hanging_receiver_cannot_stall_shutdown() {
    let receiver = OtlpReceiver::always(Reply::Hang);
    let run = run(&receiver.url(), 2, "hi", |c| {
        c.with_export_timeout(Duration::from_secs(1))
    })
    .await;
    assert_eq!(run.stats.failed, 2, "{:?}", run.stats);
    assert!(run.shutdown_took <= SHUTDOWN + Duration::from_millis(900));
    let warned = warnings_about(&receiver.url());
    assert!(
        warned.iter().any(|w| w.contains("no answer within 1 s")),
        "{warned:?}"
    );
}

#[tokio::test]
async fn a_slow_receiver_is_cut_at_the_export_timeout() {
    let receiver = OtlpReceiver::always(Reply::Slow(Duration::from_secs(10)));
    let run = run(&receiver.url(), 1, "hi", |c| c).await;
    assert_eq!(run.stats.failed, 1, "{:?}", run.stats);
    assert_eq!(run.stats.exported, 0);
}

#[tokio::test]
async fn a_connection_closed_mid_response_is_retried() {
    let receiver = OtlpReceiver::failing_first(1, Reply::CloseMidResponse);
    let run = run(&receiver.url(), 2, "hi", |c| c).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.stats.exported, 2);
    assert_matches_receiver(&run, &receiver);
    assert!(
        !warnings_about(&receiver.url()).is_empty(),
        "the failed try was reported"
    );
}

#[tokio::test]
async fn a_full_queue_drops_and_counts() {
    let receiver = OtlpReceiver::always(Reply::Hang);
    let run = run(&receiver.url(), 20, "hi", |c| {
        c.with_max_queue_spans(5)
            .with_export_timeout(Duration::from_millis(500))
    })
    .await;
    assert_eq!(run.stats.dropped, 15, "{:?}", run.stats);
    assert_eq!(run.stats.failed, 5, "{:?}", run.stats);
    let warned = warnings_about(&receiver.url());
    assert!(
        warned
            .iter()
            .any(|w| w.contains("export queue full (5 spans")),
        "{warned:?}"
    );
    let Err(Error::Undelivered(report)) = &run.result else {
        panic!("{:?}", run.result)
    };
    assert!(
        report.to_string().contains("15 dropped (queue full)"),
        "{report}"
    );
}

#[tokio::test]
async fn dropping_the_guard_says_what_was_lost() {
    capture_warnings();
    let endpoint = format!("http://127.0.0.1:{}/v1/traces", closed_port());
    let Pipeline { guard, dispatch } = Pipeline::start(
        Config::new()
            .with_otlp_endpoint(&endpoint)
            .with_shutdown_timeout(Duration::from_millis(500))
            .with_stderr_warnings(false),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        mlflow_tracing::with_span("job", mlflow_tracing::SpanType::Chain, |_| ());
    });
    drop(guard);
    let summary = format!("1 of 1 span not delivered to {endpoint}: 1 failed after retries");
    let warned = warnings_about(&summary);
    assert_eq!(warned.len(), 1, "{:?}", warnings_about(&endpoint));
    assert!(warned[0].contains("connection refused"), "{warned:?}");
}

/// A redaction hook that never returns stops the recording thread, not the app: `stats`,
/// `flush`, `shutdown` and the guard's drop each return within their timeouts, and shutdown
/// says how many spans it could not export and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redactor_stalls_nothing_but_its_spans() {
    let receiver = OtlpReceiver::always(Reply::ok());
    let hang = mlflow_tracing::Redactor::new(|_| loop {
        std::thread::sleep(Duration::from_secs(3600));
    });
    let start = |redactor: mlflow_tracing::Redactor| {
        Pipeline::start(
            Config::new()
                .with_otlp_endpoint(receiver.url())
                .with_redactor(redactor)
                .with_shutdown_timeout(Duration::from_secs(1))
                .with_stderr_warnings(false),
        )
    };
    let mock = MockDeepSeek::start().await;
    let traced = client(&mock);
    for drop_guard in [false, true] {
        let p = start(hang.clone());
        {
            let _default = tracing::dispatcher::set_default(&p.dispatch);
            for _ in 0..3 {
                traced
                    .chat()
                    .create(ask("deepseek-chat", "hello"))
                    .await
                    .expect("the app's call is untouched");
            }
        }
        // Generous bounds: what they guard against is waiting forever.
        let t = Instant::now();
        let stats = p.guard.stats();
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "stats took {:?}",
            t.elapsed()
        );
        assert_eq!(stats.exported, 0, "{stats:?}");
        let t = Instant::now();
        assert!(
            p.guard.flush().is_err(),
            "a flush that cannot finish says so"
        );
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "flush took {:?}",
            t.elapsed()
        );
        let t = Instant::now();
        if drop_guard {
            drop(p.guard);
        } else {
            let err = p.guard.shutdown().expect_err("spans were not exported");
            let text = err.to_string();
            assert!(
                text.contains("3 span(s) not exported") && text.contains("redaction hook"),
                "{text}"
            );
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "shutdown took {:?}",
            t.elapsed()
        );
    }
    assert!(receiver.accepted_span_ids().is_empty());
}
