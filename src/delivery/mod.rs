//! Delivery: from a finished span to each of its destinations, with every span accounted for.
//! The whole picture, recording thread included, is in `ARCHITECTURE.md`.
//!
//! ```text
//! recording thread (or the app's)       one export worker thread per destination (lane)
//! ───────────────────────────────       ───────────────────────────────────────────────
//! DeliveryProcessor → Fanout::on_end
//!   → QueueProcessor::on_end, per lane ──channel──▶ Worker: batch (size / delay / flush)
//!   bounded by spans and bytes;                      → Sink::prepare (MLflow experiment)
//!   full → dropped (counted)                         → Sink::load (OTLP; MLflow: metadata
//!                                                       of each root, children's sizes
//!                                                       kept across batches)
//!                                                    → Sink::send (OtlpSink over an HTTP or
//!                                                       gRPC Transport | ConsoleExporter)
//!                                                       too large → split, one span → cut
//!                                                       refused (4xx, gRPC refusals) →
//!                                                       counted, said once
//!                                                       failed (refused connection, timeout,
//!                                                       429, 5xx, UNAVAILABLE) → retried
//!                                                       with backoff within the retry timeout
//!                                                    → Sink::extra, only while no batch is
//!                                                       due: one StartTraceV3 (MLflow trace
//!                                                       metadata); skipped → counted
//!                                                    → Counters (exported / dropped /
//!                                                       failed / refused / truncated /
//!                                                       metadata stored / skipped)
//!                                                    → Reporter (stderr + tracing warnings)
//! ```
//!
//! Nothing here touches the network on the app's threads: the experiment is resolved, the
//! destination probed and every request sent by the worker. Shutdown gives the worker a
//! deadline; what is not delivered by then is counted as failed and reported.

pub(crate) mod console;
mod fanout;
mod otlp;
mod queue;
pub(crate) mod report;
mod sink;
mod stats;
pub(crate) mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::config::otlp::OtlpSettings;
use crate::config::{Compression, Config, Destination, Experiment, Protocol, Shape};
use crate::error::Error;
use crate::mlflow::rest::{self, DEFAULT_EXPERIMENT_ID};
use crate::transport::retry;
use crate::transport::{Transport, TransportSettings};
use crate::vocab::redact::redact_url_str;
use crate::vocab::semconv::env;
use console::ConsoleExporter;
use fanout::Fanout;
pub(crate) use queue::QueueProcessor;
use sink::{MlflowRoute, OtlpSink};
pub use stats::{DeliveryReport, DeliveryStats};
use worker::{Readiness, Settings, Shared};

/// Where finished spans go, as far as reading them back is concerned.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// An MLflow server, read back with the app side's REST client.
    Mlflow(rest::Client),
    /// An OTLP receiver.
    Otlp,
    /// Spans kept in memory and printed at shutdown.
    Console(ConsoleExporter),
    /// Telemetry is off (`OTEL_SDK_DISABLED`): no destination.
    Disabled,
}

/// What became of a pipeline's spans, per destination: counts, readiness, the resolved MLflow
/// experiment. [`crate::TelemetryGuard`] answers with it; with a tracer provider you build
/// yourself, [`DeliveryProcessor::handle`] gives it.
#[derive(Debug, Clone)]
pub struct DeliveryHandle {
    lanes: Vec<Arc<Shared>>,
    stderr: bool,
}

impl DeliveryHandle {
    /// Counts summed over the destinations (a span sent to two destinations counts twice).
    pub fn stats(&self) -> DeliveryStats {
        self.lanes
            .iter()
            .map(|lane| lane.counters.snapshot())
            .fold(DeliveryStats::default(), |sum, lane| sum.plus(&lane))
    }

    /// One report per destination, in the order of [`Config::destinations`].
    pub fn reports(&self) -> Vec<DeliveryReport> {
        self.lanes
            .iter()
            .map(|lane| DeliveryReport {
                stats: lane.counters.snapshot(),
                destination: lane.destination(),
                last_error: lane.last_error(),
            })
            .collect()
    }

    /// The MLflow experiment spans go to, once known (looked up by name or checked by the
    /// export thread).
    pub fn experiment_id(&self) -> Option<String> {
        self.lanes.iter().find_map(|lane| lane.experiment_id())
    }

    /// Says `line` the way every delivery warning is said: stderr (unless turned off) and a
    /// `tracing` warning on target `mlflow_tracing::delivery`.
    pub(crate) fn warn(&self, line: &str) {
        report::emit(self.stderr, line);
    }

    /// Waits until every destination answered (MLflow experiment resolved or checked, OTLP
    /// receiver accepting connections), at most `timeout` in all.
    pub fn wait_until_ready(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        for lane in &self.lanes {
            let not_ready = |reason: String| Error::NotReady {
                destination: lane.destination(),
                reason,
            };
            match lane.wait_ready(deadline.saturating_duration_since(Instant::now())) {
                Readiness::Ready => {}
                Readiness::Failed(reason) => return Err(not_ready(reason)),
                Readiness::Pending => {
                    return Err(not_ready(match lane.last_error() {
                        Some(error) => {
                            format!("{error} (still failing after {})", retry::human(timeout))
                        }
                        None => format!("no answer within {}", retry::human(timeout)),
                    }))
                }
            }
        }
        Ok(())
    }
}

/// The crate's delivery as a span processor, for an `SdkTracerProvider` you build yourself:
/// one export lane per destination of a [`Config`] (bounded queue, export thread, batching,
/// retries, counts and warnings), and on the MLflow route the trace metadata MLflow Python
/// sends (source, user, previews, sizes), sent only while no span waits. [`crate::init`] and
/// [`crate::layer`] use the same processor.
///
/// Put it inside an [`crate::MlflowSpanProcessor`], which finishes spans the way MLflow
/// wants them, and keep its [`DeliveryProcessor::handle`] to read the counts:
///
/// ```
/// use mlflow_tracing::{Config, DeliveryProcessor, MlflowSpanProcessor};
/// use opentelemetry::trace::TracerProvider as _;
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use tracing_subscriber::prelude::*;
///
/// # fn main() -> Result<(), mlflow_tracing::Error> {
/// let config = Config::new().with_console(); // or Config::from_env(), an MLflow URI, ...
/// let delivery = DeliveryProcessor::new(&config)?;
/// let handle = delivery.handle();
/// let processor = MlflowSpanProcessor::new(delivery);
/// let pipeline = processor.pipeline_layer(&config);
/// let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
/// let subscriber = tracing_subscriber::registry()
///     .with(pipeline)
///     .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("app")));
/// // ... traced calls under `subscriber` ...
/// provider.shutdown().ok();
/// println!("{:?}", handle.stats());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DeliveryProcessor {
    fanout: Fanout,
    handle: DeliveryHandle,
    target: Target,
}

impl DeliveryProcessor {
    /// Starts one export lane per destination of `config` (see [`Config::destinations`]).
    /// Fails on invalid settings, naming the variable or builder method and the value; never
    /// waits on the network.
    pub fn new(config: &Config) -> Result<Self, Error> {
        config.check()?;
        let (fanout, handle, target) = start(config)?;
        Ok(Self {
            fanout,
            handle,
            target,
        })
    }

    /// The counts and reports of this delivery, readable at any time.
    pub fn handle(&self) -> DeliveryHandle {
        self.handle.clone()
    }

    /// Where spans go, for reading traces back.
    pub(crate) fn target(&self) -> Target {
        self.target.clone()
    }
}

impl SpanProcessor for DeliveryProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.fanout.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.fanout.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.fanout.force_flush()
    }

    /// Delivers what it can within `timeout`; the console destination prints its span tree.
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let result = self.fanout.shutdown_with_timeout(timeout);
        if let Target::Console(exporter) = &self.target {
            let (spans, evicted) = exporter.take();
            let tree = console::render_tree(&spans, evicted);
            if !tree.is_empty() {
                eprint!("{tree}");
            }
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.fanout.set_resource(resource);
    }
}

/// Builds one export lane (queue, worker thread, counters) per destination of `config` and
/// starts them. Fails only on bad settings, never on the network.
fn start(config: &Config) -> Result<(Fanout, DeliveryHandle, Target), Error> {
    let mut processors = Vec::new();
    let mut lanes = Vec::new();
    let mut target = Target::Disabled;
    for destination in config.destinations() {
        let (processor, shared, lane_target) = start_lane(destination, config)?;
        processors.push(processor);
        lanes.push(shared);
        // Read back from MLflow when it is one of the destinations.
        if matches!(target, Target::Disabled | Target::Otlp) {
            target = lane_target;
        }
    }
    let delivery = DeliveryHandle {
        lanes,
        stderr: config.stderr_warnings,
    };
    Ok((Fanout::new(processors), delivery, target))
}

fn start_lane(
    destination: Destination,
    config: &Config,
) -> Result<(QueueProcessor, Arc<Shared>, Target), Error> {
    let mut settings = Settings {
        max_batch: config.max_batch_spans.max(1),
        delay: config.schedule_delay,
        export_timeout: config.export_timeout,
        retry_timeout: config.retry_timeout,
        max_spans: config.max_queue_spans.max(1),
        max_bytes: config.max_queue_bytes,
        stderr: config.stderr_warnings,
    };
    let mut headers: Vec<(String, String)> = config.headers().to_vec();
    let (sink, target) = match destination {
        Destination::Console => {
            let console = ConsoleExporter::default();
            return launch(console.clone(), settings, config, Target::Console(console));
        }
        Destination::Otlp { endpoint, protocol } => {
            let transport = otlp_transport(
                config,
                &config.otlp,
                &endpoint,
                protocol,
                env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            )?;
            if let Some(timeout) = config.otlp.timeout {
                settings.export_timeout = timeout;
            }
            let semconv = config.otlp_shape == Shape::SemanticConventions;
            (
                OtlpSink::new(endpoint, transport, None, semconv),
                Target::Otlp,
            )
        }
        Destination::Mlflow {
            tracking_uri,
            experiment,
        } => {
            validate_http_url(&tracking_uri, env::MLFLOW_TRACKING_URI)?;
            let experiment =
                experiment.unwrap_or_else(|| Experiment::Id(DEFAULT_EXPERIMENT_ID.to_owned()));
            let experiment_id = match &experiment {
                Experiment::Id(id) => {
                    rest::validate_experiment_id(id)?;
                    Some(id.clone())
                }
                Experiment::Name(_) => None,
            };
            if let Some(auth) = config.auth() {
                headers.push((
                    reqwest::header::AUTHORIZATION.to_string(),
                    rest::authorization(auth),
                ));
            }
            // One REST client per runtime: the worker's shares the sink's HTTP client; the
            // app's serves `get_trace`.
            let worker = rest::Client::new(http_client(None)?, &tracking_uri, headers.clone());
            let app = rest::Client::new(http_client(None)?, &tracking_uri, headers.clone());
            let endpoint = format!("{}/v1/traces", app.uri());
            // MLflow ingests OTLP/HTTP protobuf only.
            let transport = Transport::new(
                TransportSettings {
                    endpoint: endpoint.clone(),
                    protocol: Protocol::HttpProtobuf,
                    headers,
                    compression: Compression::None,
                },
                worker.http().clone(),
            )?;
            let route = MlflowRoute {
                rest: worker,
                experiment,
                experiment_id,
                unusable: None,
                user_name: config.user_name.clone(),
            };
            (
                OtlpSink::new(endpoint, transport, Some(route), false),
                Target::Mlflow(app),
            )
        }
    };
    launch(sink, settings, config, target)
}

fn launch<S: worker::Sink>(
    sink: S,
    settings: Settings,
    config: &Config,
    target: Target,
) -> Result<(QueueProcessor, Arc<Shared>, Target), Error> {
    let shared = Arc::new(Shared::new(settings, sink.describe()));
    let processor = QueueProcessor::start(sink, shared.clone(), config.shutdown_timeout)?;
    Ok((processor, shared, target))
}

/// The transport of one OTLP signal (`signal`: the trace or metric settings) to `endpoint`,
/// set by `name`: the pipeline's headers plus the signal's, its compression, its CA.
pub(crate) fn otlp_transport(
    config: &Config,
    signal: &OtlpSettings,
    endpoint: &str,
    protocol: Protocol,
    name: &'static str,
) -> Result<Transport, Error> {
    validate_http_url(endpoint, name)?;
    let mut headers = config.headers().to_vec();
    headers.extend(signal.headers.iter().cloned());
    Transport::new(
        TransportSettings {
            endpoint: endpoint.to_owned(),
            protocol,
            headers,
            compression: signal.compression.unwrap_or_default(),
        },
        http_client(signal.certificate.as_deref())?,
    )
}

/// A fresh async HTTP client (its pool belongs to the runtime that first uses it), trusting
/// the CA in `certificate` when given.
fn http_client(certificate: Option<&std::path::Path>) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder();
    if let Some(path) = certificate {
        let invalid = |reason: String| Error::InvalidConfig {
            name: env::OTEL_EXPORTER_OTLP_CERTIFICATE,
            reason,
        };
        let pem = std::fs::read(path)
            .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        let certificate = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| invalid(format!("{} is not a PEM certificate: {e}", path.display())))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build().map_err(|e| {
        Error::Worker(std::io::Error::other(format!(
            "cannot build an HTTP client: {e}"
        )))
    })
}

/// Checks that a destination (MLflow tracking URI or OTLP endpoint, set by `name`) is an
/// http(s) URL; the error names the setting and the value, credentials removed.
fn validate_http_url(url: &str, name: &'static str) -> Result<(), Error> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        Ok(parsed) => Err(Error::InvalidConfig {
            name,
            reason: format!(
                "{:?} uses scheme `{}`; only http(s) URLs can receive OTLP/HTTP traces",
                redact_url_str(url),
                parsed.scheme()
            ),
        }),
        Err(e) => Err(Error::InvalidConfig {
            name,
            reason: format!("{:?} is not a URL: {e}", redact_url_str(url)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_must_be_http_urls_and_errors_name_the_setting() {
        assert!(validate_http_url("http://127.0.0.1:5000", env::MLFLOW_TRACKING_URI).is_ok());
        assert!(validate_http_url(
            "https://collector/v1/traces",
            env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
        )
        .is_ok());
        let err = validate_http_url("databricks", env::MLFLOW_TRACKING_URI)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("MLFLOW_TRACKING_URI") && err.contains("databricks"),
            "{err}"
        );
        let err = validate_http_url("file:///tmp/mlruns", env::MLFLOW_TRACKING_URI)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only http(s)"), "{err}");
        let err = validate_http_url(
            "ftp://user:secret@host/x",
            env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
