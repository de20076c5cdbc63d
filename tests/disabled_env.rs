//! `MLFLOW_TRACING_ENABLED=false` starts with tracing off: no span is exported, calls work.

mod common;

use common::*;

#[tokio::test]
async fn env_var_disables_tracing() {
    // Set before anything reads the switch (this binary has only this test).
    std::env::set_var("MLFLOW_TRACING_ENABLED", "false");
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let response = client(&mock)
        .chat()
        .create(seed_request("deepseek-chat"))
        .await
        .expect("call works");
    assert!(response.usage.is_some());
    #[mlflow_tracing::trace]
    fn tool(x: u32) -> u32 {
        x + 1
    }
    assert_eq!(tool(1), 2);
    assert!(!mlflow_tracing::is_enabled());
    assert!(rec.spans().is_empty(), "{:#?}", rec.spans());
}
