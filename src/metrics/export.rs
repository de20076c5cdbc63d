//! [`OtlpMetricExporter`]: the SDK's periodic reader hands it the collected metrics on the
//! reader's own thread; it sends them over the destination's [`Transport`] (HTTP or gRPC) on
//! a current-thread runtime of its own, so no app runtime is ever involved. A failing
//! destination is said once (endpoint and cause), and its recovery once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use crate::delivery::report;
use crate::transport::retry::{self, Verdict};
use crate::transport::{LocalRuntime, Transport};
use crate::vocab::redact::redact_url_str;

/// Tries of one export (passing failures only), within the request timeout each.
const TRIES: u32 = 3;

/// Metrics over OTLP to one endpoint.
#[derive(Debug)]
pub(crate) struct OtlpMetricExporter {
    endpoint: String,
    timeout: Duration,
    stderr: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    transport: Transport,
    /// Built on the reader thread on first use.
    runtime: LocalRuntime,
    /// Since when exports fail (said once), if they do.
    failing: Option<Instant>,
}

impl OtlpMetricExporter {
    pub(crate) fn new(
        endpoint: String,
        transport: Transport,
        timeout: Duration,
        stderr: bool,
    ) -> Self {
        Self {
            endpoint,
            timeout,
            stderr,
            state: Mutex::new(State {
                transport,
                runtime: LocalRuntime::default(),
                failing: None,
            }),
        }
    }

    /// Sends one request, retrying passing failures; the error is the cause, in words.
    fn send(&self, request: &ExportMetricsServiceRequest) -> Result<(), String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *state;
        let runtime = state.runtime.get()?;
        let mut cause = String::new();
        for attempt in 0..TRIES {
            match runtime.block_on(state.transport.send(request, &[], self.timeout)) {
                Ok(accepted) if accepted.rejected == 0 => return Ok(()),
                Ok(accepted) => {
                    return Err(format!(
                        "the receiver rejected {} data point(s): {}",
                        accepted.rejected, accepted.message
                    ))
                }
                Err((Verdict::Retry, failure)) => {
                    cause = failure.cause;
                    if attempt + 1 < TRIES {
                        std::thread::sleep(retry::backoff(
                            attempt,
                            failure.retry_after,
                            retry::jitter(),
                        ));
                    }
                }
                Err((_, failure)) => return Err(failure.cause),
            }
        }
        Err(cause)
    }

    /// Says a failure when it starts, and the recovery when it ends.
    fn tell(&self, result: &Result<(), String>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let endpoint = redact_url_str(&self.endpoint);
        match (result, state.failing) {
            (Err(cause), None) => {
                state.failing = Some(Instant::now());
                report::emit(
                    self.stderr,
                    &format!("metrics not delivered to {endpoint}: {cause}"),
                );
            }
            (Ok(()), Some(since)) => {
                state.failing = None;
                report::emit(
                    self.stderr,
                    &format!(
                        "metrics delivered to {endpoint} again (failing for {})",
                        retry::human(since.elapsed())
                    ),
                );
            }
            _ => {}
        }
    }
}

impl PushMetricExporter for OtlpMetricExporter {
    fn export(
        &self,
        metrics: &ResourceMetrics,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // The periodic reader runs this on its own thread: sending here, blocking, is the
        // simplest correct thing (no runtime of the app's is touched).
        let request = ExportMetricsServiceRequest::from(metrics);
        let result = self.send(&request);
        self.tell(&result);
        std::future::ready(result.map_err(OTelSdkError::InternalFailure))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    /// Cumulative, as MLflow Python's exporter sends by default.
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}
