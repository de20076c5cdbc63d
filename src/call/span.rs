//! Writing attributes and failures onto a `tracing` span through the OpenTelemetry layer.

use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::record::error::ErrorRecord;
use crate::vocab::semconv::otel;

/// Sets every attribute on a `tracing` span through the OpenTelemetry layer.
pub(crate) fn set_attributes(span: &tracing::Span, attrs: Vec<KeyValue>) {
    for kv in attrs {
        span.set_attribute(kv.key, kv.value);
    }
}

/// Marks a span failed: status ERROR with the message, attributes, and an `exception` event.
pub(crate) fn record_error(span: &tracing::Span, error: &ErrorRecord) {
    set_attributes(span, error.attributes());
    span.add_event(otel::EXCEPTION_EVENT, error.event());
    span.set_status(Status::error(error.message.clone()));
}
