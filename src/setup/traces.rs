//! Reading finished traces back: [`last_trace_id`] and [`get_trace`], the Rust side of
//! `mlflow.get_last_active_trace_id()` and `mlflow.get_trace()`, for the current pipeline.

use crate::delivery::Target;
use crate::error::Error;
use crate::mlflow::trace::{from_span_data, Trace};
use crate::setup::pipeline::Pipeline;

/// The id (`tr-<32 hex>`) of the last trace whose root span ended in this process, like
/// `mlflow.get_last_active_trace_id()`.
pub fn last_trace_id() -> Option<String> {
    let pipeline = Pipeline::current()?;
    pipeline.traces().last().map(|id| format!("tr-{id}"))
}

/// Reads a trace back, like `mlflow.get_trace(trace_id)`.
///
/// Pending spans are flushed first. With the MLflow destination the trace comes from MLflow's
/// REST API (so `info.token_usage`, previews and tags are what MLflow computed); with the
/// console destination it is built from the spans kept in memory, with the same aggregation
/// rules. An OTLP collector cannot be read back ([`Error::NoTrace`]).
pub async fn get_trace(trace_id: &str) -> Result<Trace, Error> {
    let export = Pipeline::current()
        .and_then(|pipeline| pipeline.export().cloned())
        .ok_or_else(|| {
            Error::NoTrace(
                "no pipeline in the current subscriber: call mlflow_tracing::init".into(),
            )
        })?;
    let provider = export.provider.clone();
    let flushed = tokio::task::spawn_blocking(move || provider.force_flush()).await;
    if let Ok(Err(e)) = flushed {
        return Err(Error::Shutdown(e));
    }
    match &export.target {
        Target::Mlflow(rest) => rest.get_trace(trace_id).await,
        Target::Console(exporter) => {
            let hex = trace_id.trim_start_matches("tr-");
            let id = opentelemetry::trace::TraceId::from_hex(hex)
                .map_err(|_| Error::NoTrace(format!("{trace_id:?} is not a trace id")))?;
            let spans = exporter.spans_of(id);
            if spans.is_empty() {
                return Err(Error::NoTrace(format!("{trace_id} has no finished span")));
            }
            Ok(from_span_data(trace_id, &spans))
        }
        Target::Disabled => Err(Error::NoTrace(
            "telemetry is disabled (OTEL_SDK_DISABLED / Config::with_sdk_disabled)".into(),
        )),
        Target::Otlp => Err(Error::NoTrace(
            "traces sent to an OTLP endpoint cannot be read back; use MLflow".into(),
        )),
    }
}
