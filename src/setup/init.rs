//! Setup: [`init`] installs everything; [`layer`] returns the pieces for your own subscriber.

use std::sync::Arc;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::level_filters::LevelFilter;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::filter::{Filtered, Targets};
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer as _;

use crate::config::Config;
use crate::delivery::DeliveryProcessor;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::setup::guard::TelemetryGuard;
use crate::setup::pipeline::{Export, Pipeline, PipelineLayer, Settings, TraceBook};
use crate::setup::processor::{MlflowSpanProcessor, RecordingThread};

/// The layer [`layer`] returns: the OpenTelemetry layer with its pipeline's
/// [`PipelineLayer`], filtered to keep HTTP/exporter plumbing out.
pub type OtelLayer<S> =
    Filtered<Layered<OpenTelemetryLayer<S, SdkTracer>, PipelineLayer, S>, Targets, S>;

/// Targets whose spans and events never reach the OpenTelemetry layer: the HTTP stack and the
/// exporter itself (exporting them would loop: telemetry-induced telemetry), and
/// async-openai's own log events (its `error!` carries whole response bodies).
const PLUMBING: &[&str] = &[
    "hyper",
    "h2",
    "tonic",
    "tower",
    "reqwest",
    "rustls",
    "opentelemetry",
    "async_openai",
];

/// The filter on the OpenTelemetry layer: INFO and above from every target, everything from
/// this crate, and nothing from the HTTP stack and exporter (`hyper`, `h2`, `tonic`, `tower`,
/// `reqwest`, `rustls`, `opentelemetry*`, whose spans would loop back into the exporter) nor
/// from async-openai's own log events (its `error!` carries whole response bodies).
pub fn default_filter() -> Targets {
    let mut targets = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target(crate::TARGET, LevelFilter::TRACE);
    for target in PLUMBING {
        targets = targets.with_target(*target, LevelFilter::OFF);
    }
    targets
}

/// Installs a global `tracing` subscriber that exports spans as configured, and returns the
/// guard that flushes them.
///
/// ```no_run
/// # fn main() -> Result<(), mlflow_tracing::Error> {
/// let _guard = mlflow_tracing::init(mlflow_tracing::Config::from_env())?;
/// # Ok(()) }
/// ```
///
/// Fails with a clear [`Error`] when a setting is invalid (naming the variable or builder
/// method and the value) or a global subscriber is already set (use [`layer`] then). It never
/// waits on the network: the MLflow experiment is looked up by the export thread, and spans
/// wait in the queue until the destination answers (see [`TelemetryGuard::wait_until_ready`]
/// and [`Config::require_backend_at_init`] to fail fast instead).
pub fn init(config: Config) -> Result<TelemetryGuard, Error> {
    let (layer, guard) = layer(config)?;
    tracing_subscriber::registry().with(layer).try_init()?;
    // The process-wide defaults belong to the process-wide subscriber only.
    if let Some(export) = guard.pipeline().export() {
        opentelemetry::global::set_tracer_provider(export.provider.clone());
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(guard)
}

/// Builds the filtered OpenTelemetry layer and its guard without installing anything, for
/// an app that composes its own subscriber:
///
/// ```no_run
/// use tracing_subscriber::prelude::*;
/// # fn main() -> Result<(), mlflow_tracing::Error> {
/// let (otel, _guard) = mlflow_tracing::layer(mlflow_tracing::Config::from_env())?;
/// tracing_subscriber::registry()
///     .with(otel)
///     .with(tracing_subscriber::fmt::layer())
///     .init();
/// # Ok(()) }
/// ```
pub fn layer<S>(config: Config) -> Result<(OtelLayer<S>, TelemetryGuard), Error>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let processor = DeliveryProcessor::new(&config)?;
    let (delivery, target) = (processor.handle(), processor.target());
    let settings = Settings::from_config(&config);
    let (head, tail) = settings.chunk_events;
    // Room for every kept chunk event plus the exception event.
    let max_events = u32::try_from(head + tail + 8).unwrap_or(u32::MAX).max(128);
    let resource = resource(&config);
    let traces = Arc::new(TraceBook::default());
    let metrics = Metrics::start(&config, resource.clone(), delivery.clone())?.map(Arc::new);
    let recording = RecordingThread::default();
    let processor = MlflowSpanProcessor::with_book(processor, traces.clone())
        .with_metrics(metrics.clone())
        .with_recording_thread(recording.clone(), config.shutdown_timeout);
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_max_events_per_span(max_events)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
    let enabled = Settings::enabled_in(&config);
    let export = Export {
        provider: provider.clone(),
        target: target.clone(),
    };
    let pipeline = Arc::new(Pipeline::new(enabled, settings, traces, Some(export)));
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false);
    let layer = PipelineLayer(pipeline.clone())
        .and_then(otel)
        .with_filter(default_filter());
    let guard = TelemetryGuard::new(
        pipeline,
        provider,
        metrics,
        delivery,
        recording,
        target,
        config.shutdown_timeout,
    );
    if config.require_backend {
        guard.wait_until_ready(config.export_timeout)?;
    }
    Ok((layer, guard))
}

/// The resource: `OTEL_RESOURCE_ATTRIBUTES` (or the builder's), with `service.name` from
/// `OTEL_SERVICE_NAME`, else from those attributes, else the executable's name.
fn resource(config: &Config) -> Resource {
    let from_attributes = config
        .resource_attributes
        .iter()
        .find(|(k, _)| k == crate::vocab::semconv::otel::SERVICE_NAME)
        .map(|(_, v)| v.clone());
    let service_name = config
        .service_name
        .clone()
        .or(from_attributes)
        .unwrap_or_else(default_service_name);
    Resource::builder()
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .with_service_name(service_name)
        .build()
}

fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| env!("CARGO_PKG_NAME").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service_name(resource: &Resource) -> Option<String> {
        resource
            .get(&opentelemetry::Key::from_static_str(
                crate::vocab::semconv::otel::SERVICE_NAME,
            ))
            .map(|v| v.as_str().into_owned())
    }

    #[test]
    fn service_name_precedence_and_resource_attributes() {
        let vars = |pairs: &'static [(&str, &str)]| {
            Config::from_vars(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES ...
        let both = resource(&vars(&[
            ("OTEL_SERVICE_NAME", "agent"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=other,team=ml"),
        ]));
        assert_eq!(service_name(&both).as_deref(), Some("agent"));
        assert_eq!(
            both.get(&opentelemetry::Key::from_static_str("team"))
                .map(|v| v.as_str().into_owned())
                .as_deref(),
            Some("ml")
        );
        // ... which wins over the executable's name.
        let attributes = resource(&vars(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=other")]));
        assert_eq!(service_name(&attributes).as_deref(), Some("other"));
        let neither = resource(&vars(&[]));
        assert_eq!(service_name(&neither), Some(default_service_name()));
    }
}
