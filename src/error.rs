//! The crate's one error type: setup, shutdown and MLflow REST failures only. A traced LLM call
//! never returns this; its `Result` is always async-openai's.

/// What went wrong while setting up, flushing or reading back telemetry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is unusable; `name` is the builder method or environment variable.
    #[error("invalid configuration `{name}`: {reason}")]
    InvalidConfig {
        /// Setting (environment variable or builder method) that was wrong.
        name: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// The destination did not answer in time, or cannot be used (see
    /// [`crate::TelemetryGuard::wait_until_ready`], [`crate::Config::require_backend_at_init`]).
    #[error("telemetry destination {destination} is not ready: {reason}")]
    NotReady {
        /// The destination (credentials removed), e.g. `MLflow experiment "DeepSeek" at
        /// http://127.0.0.1:5000/v1/traces`.
        destination: String,
        /// Why: the last error, e.g. `connection refused`.
        reason: String,
    },
    /// Some spans never reached the destination ([`crate::TelemetryGuard::shutdown`]).
    #[error("{0}")]
    Undelivered(crate::DeliveryReport),
    /// A call to MLflow's REST API failed.
    #[error("MLflow REST call `{call}` failed: {reason}")]
    Rest {
        /// The API path.
        call: String,
        /// HTTP status and body, or the transport error.
        reason: String,
    },
    /// The export worker thread could not be started.
    #[error("cannot start the export thread: {0}")]
    Worker(#[from] std::io::Error),
    /// A global `tracing` subscriber is already installed; use [`crate::layer`] to add ours to it.
    #[error(
        "a global tracing subscriber is already set; use mlflow_tracing::layer() to compose: {0}"
    )]
    SubscriberInit(#[from] tracing_subscriber::util::TryInitError),
    /// Flushing or shutting down the exporter failed (spans may be lost).
    #[error("telemetry flush/shutdown failed: {0}")]
    Shutdown(#[from] opentelemetry_sdk::error::OTelSdkError),
    /// No trace is known (no root span finished yet, or tracing was never initialised).
    #[error("no trace: {0}")]
    NoTrace(String),
}
