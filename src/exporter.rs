//! Builds the span pipeline for a [`Config`]: destination → exporter → batch processor.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::{SpanId, Status};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor};

use crate::config::{Config, Destination, Experiment};
use crate::console::ConsoleExporter;
use crate::error::Error;
use crate::mlflow_api::{self, TraceInfoUpdate, DEFAULT_EXPERIMENT_ID, EXPERIMENT_ID_HEADER};
use crate::semconv::tracer;

/// How often the batch processor exports while the app runs.
const SCHEDULED_DELAY: Duration = Duration::from_millis(1000);

/// Where finished spans go, resolved (experiment looked up, credentials in headers).
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// MLflow server and experiment id, with the REST headers for read-back.
    Mlflow {
        tracking_uri: String,
        experiment_id: String,
        headers: Vec<(String, String)>,
    },
    /// An OTLP/HTTP receiver.
    Otlp { endpoint: String },
    /// In-memory spans printed at shutdown.
    Console(ConsoleExporter),
}

/// Resolves the destination and builds its batch processor.
pub(crate) fn build(config: &Config) -> Result<(BatchSpanProcessor, Target), Error> {
    let mut headers: Vec<(String, String)> = config.headers().to_vec();
    let (endpoint, target) = match config.destination() {
        Destination::Console => {
            let console = ConsoleExporter::default();
            let processor = batch(console.clone());
            return Ok((processor, Target::Console(console)));
        }
        Destination::Otlp { endpoint } => (endpoint.clone(), Target::Otlp { endpoint }),
        Destination::Mlflow {
            tracking_uri,
            experiment,
        } => {
            mlflow_api::validate_tracking_uri(&tracking_uri)?;
            let experiment_id = match experiment {
                None => DEFAULT_EXPERIMENT_ID.to_owned(),
                Some(Experiment::Id(id)) => {
                    mlflow_api::validate_experiment_id(&id)?;
                    id
                }
                Some(Experiment::Name(name)) => {
                    mlflow_api::resolve_experiment_name(&tracking_uri, &name, config.auth())?
                }
            };
            if let Some(auth) = config.auth() {
                headers.push((
                    reqwest::header::AUTHORIZATION.to_string(),
                    mlflow_api::authorization(auth),
                ));
            }
            let mut rest_headers = headers.clone();
            headers.push((EXPERIMENT_ID_HEADER.to_owned(), experiment_id.clone()));
            rest_headers.retain(|(k, _)| !k.eq_ignore_ascii_case(EXPERIMENT_ID_HEADER));
            (
                format!("{tracking_uri}/v1/traces"),
                Target::Mlflow {
                    tracking_uri,
                    experiment_id,
                    headers: rest_headers,
                },
            )
        }
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(config.export_timeout)
        .with_headers(headers.into_iter().collect::<HashMap<_, _>>())
        .build()?;
    let processor = match &target {
        Target::Mlflow {
            tracking_uri,
            experiment_id,
            headers,
        } => batch(MlflowExporter {
            otlp: exporter,
            tracking_uri: tracking_uri.clone(),
            experiment_id: experiment_id.clone(),
            headers: headers.clone(),
            timeout: config.export_timeout,
            rest: OnceLock::new(),
        }),
        _ => batch(exporter),
    };
    Ok((processor, target))
}

/// The MLflow destination: OTLP for the spans, then MLflow's REST API for the trace metadata
/// OTLP cannot carry ([`crate::set_trace_metadata`]).
#[derive(Debug)]
struct MlflowExporter {
    otlp: opentelemetry_otlp::SpanExporter,
    tracking_uri: String,
    experiment_id: String,
    headers: Vec<(String, String)>,
    timeout: Duration,
    /// Built on first use, on the exporter's own thread (never inside an async runtime).
    rest: OnceLock<reqwest::blocking::Client>,
}

/// Removes the metadata carried on a root span and describes the trace for StartTraceV3.
fn take_metadata(span: &mut SpanData) -> Option<TraceInfoUpdate> {
    if span.parent_span_id != SpanId::INVALID
        || !span
            .attributes
            .iter()
            .any(|kv| kv.key.as_str().starts_with(tracer::TRACE_METADATA_PREFIX))
    {
        return None;
    }
    let mut metadata = BTreeMap::new();
    span.attributes.retain(|kv| {
        match kv.key.as_str().strip_prefix(tracer::TRACE_METADATA_PREFIX) {
            Some(key) => {
                metadata.insert(key.to_owned(), kv.value.as_str().into_owned());
                false
            }
            None => true,
        }
    });
    Some(TraceInfoUpdate {
        trace_id: span.span_context.trace_id().to_string(),
        start: span.start_time,
        end: span.end_time,
        failed: matches!(span.status, Status::Error { .. }),
        metadata,
    })
}

impl SpanExporter for MlflowExporter {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        let updates: Vec<TraceInfoUpdate> = batch.iter_mut().filter_map(take_metadata).collect();
        self.otlp.export(batch).await?;
        if updates.is_empty() {
            return Ok(());
        }
        let client = self.rest.get_or_init(|| {
            reqwest::blocking::Client::builder()
                .timeout(self.timeout)
                .build()
                .unwrap_or_default()
        });
        let failures: Vec<String> = updates
            .iter()
            .filter_map(|update| {
                mlflow_api::post_trace_info(
                    client,
                    &self.tracking_uri,
                    &self.headers,
                    &self.experiment_id,
                    update,
                )
                .err()
            })
            .collect();
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(OTelSdkError::InternalFailure(format!(
                "trace metadata not stored in MLflow for {} trace(s): {first}",
                failures.len()
            ))),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.otlp.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.otlp.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.otlp.set_resource(resource);
    }
}

fn batch<E: SpanExporter + 'static>(exporter: E) -> BatchSpanProcessor {
    BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(SCHEDULED_DELAY)
                .build(),
        )
        .build()
}
