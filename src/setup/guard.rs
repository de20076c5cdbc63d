//! [`TelemetryGuard`]: keeps the pipeline alive, tells what became of its spans, and flushes
//! it on drop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::delivery::{DeliveryHandle, DeliveryReport, DeliveryStats, Target};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::setup::pipeline::Pipeline;
use crate::setup::processor::RecordingThread;

/// Least time the last metric export gets at shutdown, even when the spans used up the
/// shutdown timeout.
const METRICS_SHUTDOWN_FLOOR: Duration = Duration::from_millis(500);

/// Longest [`TelemetryGuard::stats`] waits for spans still being recorded (it usually takes
/// microseconds: the recording thread is woken).
const RECORDING_CATCH_UP: Duration = Duration::from_secs(1);

/// Returned by [`crate::init`]: dropping it exports the spans still queued (waiting at most
/// the shutdown timeout, 10 s by default; [`crate::Config::with_shutdown_timeout`]), and says
/// in one line (stderr and a `tracing` warning, like every delivery warning) if any span was
/// not delivered. With the console destination it then prints the span tree.
///
/// Bind it for the life of `main`: `let _guard = mlflow_tracing::init(..)?;`. Writing
/// `let _ = ...` drops it at once and loses every span.
///
/// ```no_run
/// # fn main() -> Result<(), mlflow_tracing::Error> {
/// let guard = mlflow_tracing::init(mlflow_tracing::Config::from_env())?;
/// // ... traced calls ...
/// match guard.shutdown() {
///     // One report per destination: "3 spans delivered to MLflow experiment 1 at ..."
///     Ok(reports) => reports.iter().for_each(|report| eprintln!("{report}")),
///     Err(e) => eprintln!("{e}"), // "1 of 3 spans not delivered to ...: ..."
/// }
/// # Ok(()) }
/// ```
#[must_use = "dropping the guard flushes and shuts telemetry down; bind it: `let _guard = mlflow_tracing::init(..)?;`"]
#[derive(Debug)]
pub struct TelemetryGuard {
    pipeline: Arc<Pipeline>,
    provider: Option<SdkTracerProvider>,
    metrics: Option<Arc<Metrics>>,
    delivery: DeliveryHandle,
    /// Spans still being recorded are not yet counted: [`TelemetryGuard::stats`] waits for it.
    recording: RecordingThread,
    target: Target,
    shutdown_timeout: Duration,
}

impl TelemetryGuard {
    pub(crate) fn new(
        pipeline: Arc<Pipeline>,
        provider: SdkTracerProvider,
        metrics: Option<Arc<Metrics>>,
        delivery: DeliveryHandle,
        recording: RecordingThread,
        target: Target,
        shutdown_timeout: Duration,
    ) -> Self {
        Self {
            pipeline,
            provider: Some(provider),
            metrics,
            delivery,
            recording,
            target,
            shutdown_timeout,
        }
    }

    /// The pipeline's OpenTelemetry tracer provider, for spans your code makes with the
    /// OpenTelemetry API (`provider.tracer("my-app")`): they join the same traces as the
    /// `tracing` spans and LLM calls and are exported by this pipeline. [`crate::init`] also
    /// installs it as the global provider; [`crate::layer`] does not. `None` after shutdown.
    pub fn tracer_provider(&self) -> Option<SdkTracerProvider> {
        self.provider.clone()
    }

    /// The pipeline this guard owns.
    pub(crate) fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// Exports every finished span now and waits for the answer (at most the shutdown
    /// timeout). Blocking: from async code, call it through `spawn_blocking`.
    pub fn flush(&self) -> Result<(), Error> {
        if let Some(provider) = &self.provider {
            provider.force_flush().map_err(Error::Shutdown)?;
            if let Some(metrics) = &self.metrics {
                metrics.flush()?;
            }
        }
        Ok(())
    }

    /// What became of the spans so far: exported, dropped, failed, refused, pending. With
    /// several destinations (dual export) the counts are summed: a span sent to two
    /// destinations counts twice; see [`TelemetryGuard::reports`] for each one.
    pub fn stats(&self) -> DeliveryStats {
        self.recording.catch_up(RECORDING_CATCH_UP);
        self.delivery.stats()
    }

    /// What became of the spans so far, per destination, in the order of
    /// [`crate::Config::destinations`]. Empty when telemetry is disabled.
    pub fn reports(&self) -> Vec<DeliveryReport> {
        self.recording.catch_up(RECORDING_CATCH_UP);
        self.delivery.reports()
    }

    /// Blocks until every destination answers, at most `timeout` in all: the MLflow experiment looked
    /// up (and created) when given by name or checked when given by id, or the OTLP receiver
    /// accepting connections. Setup itself never waits on the network; spans made before the
    /// destination answers wait in the queue and go out once it does. Use this (or
    /// [`crate::Config::require_backend_at_init`]) to fail fast instead.
    pub fn wait_until_ready(&self, timeout: Duration) -> Result<(), Error> {
        self.delivery.wait_until_ready(timeout)
    }

    /// The numeric MLflow experiment id traces go to: known at once when given by id, after
    /// the lookup when given by name (see [`TelemetryGuard::wait_until_ready`]); `None` for
    /// other destinations.
    pub fn experiment_id(&self) -> Option<String> {
        match self.target {
            Target::Mlflow(_) => self.delivery.experiment_id(),
            _ => None,
        }
    }

    /// Shuts down now, exporting what is queued within the shutdown timeout, and says what
    /// became of the spans: `Ok` with one report per destination when every span was
    /// delivered, else [`Error::Undelivered`] with the counts and the last error of a
    /// destination that lost spans (any other such destination is said as a delivery
    /// warning). Dropping the guard does the same and says the error as a delivery warning.
    pub fn shutdown(mut self) -> Result<Vec<DeliveryReport>, Error> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<Vec<DeliveryReport>, Error> {
        let Some(provider) = self.provider.take() else {
            return Ok(self.delivery.reports());
        };
        let deadline = Instant::now() + self.shutdown_timeout;
        let result = provider.shutdown_with_timeout(self.shutdown_timeout);
        // Metrics last, so that they include every span, within what is left of the shutdown
        // timeout (their failure was said by the exporter).
        if let Some(metrics) = self.metrics.take() {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = metrics.shutdown(left.max(METRICS_SHUTDOWN_FLOOR));
        }
        let mut reports = self.delivery.reports();
        if let Err(e) = &result {
            // A worker did not answer in time: say so rather than count in silence.
            for report in reports.iter_mut().filter(|r| !r.stats.all_delivered()) {
                report.last_error.get_or_insert_with(|| e.to_string());
            }
        }
        let mut undelivered = reports.iter().filter(|r| !r.stats.all_delivered());
        let Some(first) = undelivered.next().cloned() else {
            // Every counted span was delivered, but the pipeline did not stop cleanly: spans
            // that never reached a destination's counts (held by a recording that did not
            // return) are said here, since no report counts them.
            return match result {
                Ok(()) => Ok(reports),
                Err(e) => Err(Error::Shutdown(e)),
            };
        };
        for other in undelivered {
            self.delivery.warn(&other.to_string());
        }
        Err(Error::Undelivered(first))
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown_inner() {
            self.delivery.warn(&e.to_string());
        }
    }
}
