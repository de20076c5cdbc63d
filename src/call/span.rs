//! The `tracing` span of one chat call: created with its request attributes, finished exactly
//! once with the response, the error, or (when dropped unfinished) as cancelled.

use async_openai::error::OpenAIError;
use async_openai::types::chat::CreateChatCompletionRequest;
use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use serde_json::Value;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::openai::client::ClientMeta;
use crate::record::{self, ErrorRecord};
use crate::vocab::semconv::{mlflow, otel, tracer};
use crate::setup::settings;

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

/// The response attributes, with the GenAI output messages when content capture is on.
fn response_attributes(response: &Value) -> Vec<KeyValue> {
    let max = settings::max_attribute_bytes();
    let mut attrs = record::response_attributes(response, max);
    if settings::genai_content() {
        attrs.extend(record::genai_output_messages(response, max));
    }
    attrs
}

/// One traced chat call.
#[derive(Debug)]
pub(crate) struct ChatCall {
    span: tracing::Span,
    finished: bool,
}

impl ChatCall {
    /// Opens the `Completions` span as a child of the current span (or as a trace root).
    pub(crate) fn start(
        request: &CreateChatCompletionRequest,
        meta: &ClientMeta,
        stream: bool,
    ) -> Self {
        let span = tracing::info_span!(target: crate::TARGET, "Completions", otel.kind = "client");
        if span.is_disabled() {
            return Self {
                span,
                finished: true,
            };
        }
        // Via text, so f32 parameters keep their short form (0.1, not 0.10000000149011612).
        let json = serde_json::to_string(request)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .unwrap_or(Value::Null);
        let provider = meta.provider_for(&request.model);
        let max = settings::max_attribute_bytes();
        let mut attrs = record::request_attributes(&json, &provider, stream, max);
        if settings::genai_content() {
            attrs.extend(record::genai_input_messages(&json, max));
        }
        if let Some((address, port)) = &meta.server {
            attrs.push(KeyValue::new(otel::SERVER_ADDRESS, address.clone()));
            if let Some(port) = port {
                attrs.push(KeyValue::new(otel::SERVER_PORT, i64::from(*port)));
            }
        }
        set_attributes(&span, attrs);
        Self {
            span,
            finished: false,
        }
    }

    /// The span, for `.instrument(..)`.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The span's OpenTelemetry context (for `traceparent`).
    pub(crate) fn trace_context(&self) -> opentelemetry::Context {
        self.span.context()
    }

    /// Whether no subscriber records this span (tracing is then skipped entirely).
    pub(crate) fn is_disabled(&self) -> bool {
        self.span.is_disabled()
    }

    /// Records a successful response given as `chat.completion` JSON.
    pub(crate) fn succeed(mut self, response: &Value) {
        self.finished = true;
        if self.span.is_disabled() {
            return;
        }
        set_attributes(&self.span, response_attributes(response));
        self.span.set_status(Status::Ok);
    }

    /// Records the end of a streamed call: the rebuilt completion (if any chunk arrived), the
    /// streaming attributes, and the failure, if any.
    pub(crate) fn finish_stream(
        mut self,
        completion: Option<&Value>,
        extra: Vec<KeyValue>,
        failure: Option<&ErrorRecord>,
    ) {
        self.finished = true;
        if self.span.is_disabled() {
            return;
        }
        let mut attrs = completion.map(response_attributes).unwrap_or_default();
        if failure.is_some() {
            attrs.retain(|kv| kv.key.as_str() != mlflow::SPAN_LOG_LEVEL);
        }
        attrs.extend(extra);
        set_attributes(&self.span, attrs);
        match failure {
            Some(failure) => record_error(&self.span, failure),
            None => self.span.set_status(Status::Ok),
        }
    }

    /// Records a failed call.
    pub(crate) fn fail(mut self, error: &OpenAIError) {
        self.finished = true;
        if self.span.is_disabled() {
            return;
        }
        record_error(&self.span, &ErrorRecord::from_openai(error));
    }
}

impl Drop for ChatCall {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // The caller dropped the call's future (select!, timeout) before it finished.
        let cancelled = ErrorRecord {
            error_type: otel::ERROR_TYPE_CANCELLED.into(),
            message: "the call was dropped before it completed".to_owned(),
            http_status: None,
        };
        record_error(&self.span, &cancelled);
        self.span.set_attribute(tracer::COMPLETED, false);
    }
}
