//! Metrics, off unless a metrics endpoint is configured: MLflow Python's
//! `mlflow.trace.span.duration` for every span, and the OpenTelemetry GenAI client metrics
//! (`gen_ai.client.operation.duration`, `gen_ai.client.token.usage`,
//! `gen_ai.client.operation.time_to_first_chunk`, as of
//! [`crate::semconv::GENAI_SEMCONV_VERSION`]) for every LLM call. They are derived from the
//! finished span ([`record`]), so they always agree with it, and exported over OTLP to a
//! collector by the SDK's periodic reader ([`export`]). MLflow ingests no metrics.

mod export;
mod record;

use std::time::Duration;

use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use crate::config::{Config, Experiment};
use crate::delivery::DeliveryHandle;
use crate::error::Error;
use crate::mlflow::rest::DEFAULT_EXPERIMENT_ID;
use crate::vocab::semconv::{self, gen_ai, metrics, otel};
use export::OtlpMetricExporter;

/// The running metrics of one pipeline.
#[derive(Debug)]
pub(crate) struct Metrics {
    provider: SdkMeterProvider,
    span_duration: Histogram<f64>,
    operation_duration: Histogram<f64>,
    token_usage: Histogram<u64>,
    time_to_first_chunk: Histogram<f64>,
    /// Where the MLflow experiment id comes from, once resolved.
    delivery: DeliveryHandle,
    /// The experiment id before (or without) an MLflow destination.
    experiment_id: String,
}

impl Metrics {
    /// Starts metrics for `config`, or `None` when no metrics endpoint is set.
    pub(crate) fn start(
        config: &Config,
        resource: Resource,
        delivery: DeliveryHandle,
    ) -> Result<Option<Self>, Error> {
        let Some((endpoint, protocol)) = config.metrics_destination() else {
            return Ok(None);
        };
        let transport = crate::delivery::otlp_transport(
            config,
            &config.metrics,
            &endpoint,
            protocol,
            semconv::env::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
        )?;
        let timeout = config.metrics.timeout.unwrap_or(config.export_timeout);
        let exporter =
            OtlpMetricExporter::new(endpoint, transport, timeout, config.stderr_warnings);
        let reader = PeriodicReader::builder(exporter)
            .with_interval(config.metric_interval.max(Duration::from_millis(1)))
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .build();
        let mlflow = provider.meter(metrics::MLFLOW_METER);
        let genai = provider.meter_with_scope(
            InstrumentationScope::builder(metrics::GENAI_METER)
                .with_version(env!("CARGO_PKG_VERSION"))
                .with_schema_url(semconv::GENAI_SCHEMA_URL)
                .build(),
        );
        let seconds = |name: &'static str, description: &'static str| {
            genai
                .f64_histogram(name)
                .with_unit(metrics::SECONDS)
                .with_description(description)
                .with_boundaries(metrics::DURATION_BUCKETS.to_vec())
                .build()
        };
        Ok(Some(Self {
            span_duration: mlflow
                .f64_histogram(metrics::SPAN_DURATION)
                .with_unit(metrics::SPAN_DURATION_UNIT)
                .with_description(metrics::SPAN_DURATION_DESCRIPTION)
                .with_boundaries(metrics::SPAN_DURATION_BUCKETS.to_vec())
                .build(),
            operation_duration: seconds(metrics::OPERATION_DURATION, "GenAI operation duration."),
            token_usage: genai
                .u64_histogram(metrics::TOKEN_USAGE)
                .with_unit(metrics::TOKENS)
                .with_description("Number of input and output tokens used.")
                .with_boundaries(metrics::TOKEN_BUCKETS.to_vec())
                .build(),
            time_to_first_chunk: seconds(
                metrics::TIME_TO_FIRST_CHUNK,
                "Time to receive the first chunk from a streaming response.",
            ),
            provider,
            delivery,
            experiment_id: match &config.experiment {
                Some(Experiment::Id(id)) => id.clone(),
                _ => DEFAULT_EXPERIMENT_ID.to_owned(),
            },
        }))
    }

    /// Records the points of a finished span (cheap: a few histogram updates).
    pub(crate) fn on_end(&self, span: &SpanData) {
        let experiment = self
            .delivery
            .experiment_id()
            .unwrap_or_else(|| self.experiment_id.clone());
        let duration = record::span_duration(span, &experiment);
        self.span_duration
            .record(duration.millis, &duration.attributes);
        let Some(call) = record::genai_call(span) else {
            return;
        };
        let mut attributes = call.attributes;
        if let Some(ttfc) = call.time_to_first_chunk {
            self.time_to_first_chunk.record(ttfc, &attributes);
        }
        for (kind, tokens) in [
            (gen_ai::TOKEN_TYPE_INPUT, call.input_tokens),
            (gen_ai::TOKEN_TYPE_OUTPUT, call.output_tokens),
        ] {
            if let Some(tokens) = tokens {
                attributes.push(KeyValue::new(gen_ai::TOKEN_TYPE, kind));
                self.token_usage.record(tokens, &attributes);
                attributes.pop();
            }
        }
        if let Some(error) = call.error_type {
            attributes.push(KeyValue::new(otel::ERROR_TYPE, error));
        }
        self.operation_duration.record(call.seconds, &attributes);
    }

    /// Exports what is left and stops (blocking, at most `timeout`).
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        self.provider
            .shutdown_with_timeout(timeout)
            .map_err(Error::Shutdown)
    }

    /// Exports now (blocking).
    pub(crate) fn flush(&self) -> Result<(), Error> {
        self.provider.force_flush().map_err(Error::Shutdown)
    }
}
