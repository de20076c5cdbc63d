//! Builds the span pipeline for a [`Config`]: destination → exporter → batch processor.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor};

use crate::config::{Config, Destination, Experiment};
use crate::console::ConsoleExporter;
use crate::error::Error;
use crate::mlflow_api::{self, DEFAULT_EXPERIMENT_ID, EXPERIMENT_ID_HEADER};

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
    Ok((batch(exporter), target))
}

fn batch<E: opentelemetry_sdk::trace::SpanExporter + 'static>(exporter: E) -> BatchSpanProcessor {
    BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(SCHEDULED_DELAY)
                .build(),
        )
        .build()
}
