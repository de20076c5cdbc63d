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
    /// The MLflow experiment could not be found or created.
    #[error("MLflow experiment `{experiment}` at {tracking_uri}: {reason}")]
    Experiment {
        /// Experiment name or id.
        experiment: String,
        /// Tracking server asked.
        tracking_uri: String,
        /// What the server said, or why it could not be reached.
        reason: String,
    },
    /// A call to MLflow's REST API failed.
    #[error("MLflow REST call `{call}` failed: {reason}")]
    Rest {
        /// The API path.
        call: String,
        /// HTTP status and body, or the transport error.
        reason: String,
    },
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
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
