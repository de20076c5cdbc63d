//! [`TelemetryGuard`]: keeps the pipeline alive and flushes it on drop.

use std::time::Duration;

use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::console;
use crate::error::Error;
use crate::exporter::Target;
use crate::init;

/// Returned by [`crate::init`]: dropping it exports the spans still buffered (waiting at most
/// the configured shutdown timeout, 10 s by default) and shuts the exporter down. With the
/// console destination, it then prints the span tree to stderr.
///
/// Bind it for the life of `main`: `let _guard = mlflow_tracing::init(..)?;`. Writing
/// `let _ = ...` drops it at once and loses every span.
#[must_use = "dropping the guard flushes and shuts telemetry down; bind it: `let _guard = mlflow_tracing::init(..)?;`"]
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    target: Target,
    shutdown_timeout: Duration,
}

impl TelemetryGuard {
    pub(crate) fn new(
        provider: SdkTracerProvider,
        target: Target,
        shutdown_timeout: Duration,
    ) -> Self {
        Self {
            provider: Some(provider),
            target,
            shutdown_timeout,
        }
    }

    /// Exports every finished span now (blocking; call it from a blocking context or
    /// `spawn_blocking` in async code).
    pub fn flush(&self) -> Result<(), Error> {
        match &self.provider {
            Some(provider) => provider.force_flush().map_err(Error::Shutdown),
            None => Ok(()),
        }
    }

    /// The numeric MLflow experiment id traces go to, when exporting to MLflow.
    pub fn experiment_id(&self) -> Option<&str> {
        match &self.target {
            Target::Mlflow { experiment_id, .. } => Some(experiment_id),
            _ => None,
        }
    }

    /// Shuts down now and reports whether the last export succeeded (dropping does the same
    /// but can only print the error).
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), Error> {
        let Some(provider) = self.provider.take() else {
            return Ok(());
        };
        init::deactivate();
        let result = provider
            .shutdown_with_timeout(self.shutdown_timeout)
            .map_err(Error::Shutdown);
        if let Target::Console(exporter) = &self.target {
            let tree = console::render_tree(&exporter.take());
            if !tree.is_empty() {
                eprint!("{tree}");
            }
        }
        result
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown_inner() {
            eprintln!("mlflow-tracing: {e}");
        }
    }
}
