//! A misconfigured MLflow destination against the real server: an experiment id that does not
//! exist. Readiness says so, the spans are refused (not retried) with MLflow's own words, and
//! the shutdown report makes no claim of success.

mod common;

use std::time::Duration;

use common::*;
use mlflow_tracing::{Config, Error};

#[tokio::test]
async fn an_unknown_experiment_id_is_named_and_its_spans_refused() {
    let Some(uri) = mlflow_test_uri() else {
        return;
    };
    // A well-formed id is valid config: setup succeeds.
    let Pipeline { guard, dispatch } = Pipeline::start(
        Config::new()
            .with_tracking_uri(&uri)
            .with_experiment_id("987654321")
            .with_schedule_delay(Duration::from_millis(50))
            .with_stderr_warnings(false),
    );
    let err = guard
        .wait_until_ready(Duration::from_secs(20))
        .expect_err("no such experiment");
    assert!(
        err.to_string().contains("no experiment with id 987654321"),
        "{err}"
    );

    let mock = MockDeepSeek::start().await;
    {
        let _default = tracing::dispatcher::set_default(&dispatch);
        let response = client(&mock)
            .chat()
            .create(seed_request("deepseek-chat"))
            .await;
        assert!(response.is_ok(), "the app is not affected");
    }
    let Err(Error::Undelivered(report)) = guard.shutdown() else {
        panic!("no false success")
    };
    assert_eq!(
        (report.stats.refused, report.stats.exported),
        (1, 0),
        "{report}"
    );
    let text = report.to_string();
    assert!(
        text.contains("HTTP 404") && text.contains("No Experiment with id=987654321 exists"),
        "{text}"
    );
}
