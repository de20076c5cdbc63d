//! One traced call's span ([`Call`]): opened with its request attributes, finished exactly once
//! with the response, the error, or (dropped unfinished) as cancelled; and the helpers that
//! write attributes and failures through the OpenTelemetry layer.

use std::sync::Arc;

use async_openai::error::OpenAIError;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Value;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::call::operation::{CallInfo, CallSite, CaptureTicket, Operation};
use crate::call::sink::BodyBuffer;
use crate::record::content;
use crate::record::error::ErrorRecord;
use crate::setup::pipeline::{Recording, Scope, Settings};
use crate::vocab::semconv::{mlflow, otel, tracer};

/// Sets every attribute on a `tracing` span through the OpenTelemetry layer, in one step:
/// one look-up of the span's OpenTelemetry context and one lock of the span, not one per
/// attribute (`OpenTelemetrySpanExt::set_attribute` does both per call).
pub(crate) fn set_attributes(span: &tracing::Span, attrs: Vec<KeyValue>) {
    if !attrs.is_empty() {
        span.context().span().set_attributes(attrs);
    }
}

/// Marks a span failed: status ERROR with the message, attributes, and an `exception` event.
pub(crate) fn record_error(span: &tracing::Span, error: &ErrorRecord) {
    fail_span(&span.context(), error);
}

/// [`record_error`] on a span's OpenTelemetry context.
fn fail_span(cx: &Context, error: &ErrorRecord) {
    let span = cx.span();
    span.set_attributes(error.attributes());
    span.add_event(otel::EXCEPTION_EVENT, error.event());
    span.set_status(Status::error(error.recorded_message()));
}

/// What a successful `Op` call records: the response attributes, plus its GenAI content when
/// the pipeline captures it; the redaction hook and the capture mode applied first.
pub(crate) fn response_attributes<Op: Operation>(
    mut response: Value,
    settings: &Settings,
) -> Vec<KeyValue> {
    content::prepare(&mut response, settings.capture, settings.redactor.as_ref());
    let mut attrs = Op::response_attributes(&response, settings);
    if settings.genai_content {
        attrs.extend(Op::output_messages(&response, settings.max_attribute_bytes));
    }
    content::strip(&mut attrs, settings.capture);
    attrs
}

/// The request or response as JSON. Via text, so `f32` parameters keep their short form
/// (`0.1`, not `0.10000000149011612`).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .unwrap_or(Value::Null)
}

/// A request as JSON in the order a caller writes it and MLflow Python records it: `model`
/// first, then the fields in async-openai's order (which puts `messages` / `input` next).
/// Responses keep the provider's order (`serde_json`'s `preserve_order`).
fn request_json<T: Serialize>(request: &T) -> Value {
    let mut json = to_json(request);
    if let Value::Object(map) = &mut json {
        if let Some(model) = map.shift_remove("model") {
            map.shift_insert(0, "model".to_owned(), model);
        }
    }
    json
}

/// The request's attributes (what [`Call::open`] leaves for later).
fn request_record<Op: Operation>(
    request: &Op::Request,
    settings: &Settings,
    provider: &str,
    server: Option<(String, Option<u16>)>,
    stream: bool,
) -> Vec<KeyValue> {
    let mut json = request_json(request);
    content::prepare(&mut json, settings.capture, settings.redactor.as_ref());
    let info = CallInfo {
        settings,
        provider,
        stream,
    };
    let mut attrs = Op::request_attributes(&json, &info);
    if settings.genai_content {
        attrs.extend(Op::input_messages(&json, settings.max_attribute_bytes));
    }
    if let Some((address, port)) = server {
        attrs.push(KeyValue::new(otel::SERVER_ADDRESS, address));
        if let Some(port) = port {
            attrs.push(KeyValue::new(otel::SERVER_PORT, i64::from(port)));
        }
    }
    content::strip(&mut attrs, settings.capture);
    attrs
}

/// A successful call's response, as the recording reads it.
pub(crate) enum Response {
    /// The raw body the capture layer kept (provider fields included).
    Captured(Arc<BodyBuffer>),
    /// The typed response as JSON (no capture layer, or the body was not kept).
    Json(Value),
}

/// One traced call's span, finished exactly once.
///
/// It keeps the span's OpenTelemetry context: attributes, status and events go straight to
/// the OpenTelemetry span, one lock per batch, instead of a subscriber look-up each.
pub(crate) struct Call {
    span: tracing::Span,
    cx: Context,
    scope: Scope,
    /// The request's attributes, until the call ends.
    opened: Option<Recording>,
    finished: bool,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("span", &self.span)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// Opens the span of an `Op` call as a child of the current span (or as a trace root);
    /// `None` when no subscriber records it.
    ///
    /// The caller pays for the span and a copy of the request; the request's attributes are
    /// a [`Recording`] left for the span processor.
    pub(crate) fn open<Op: Operation>(
        site: &dyn CallSite,
        scope: Scope,
        request: &Op::Request,
        stream: bool,
    ) -> Option<Self> {
        let span = tracing::info_span!(target: crate::TARGET, "llm", otel.name = Op::NAME, otel.kind = "client");
        if span.is_disabled() {
            return None;
        }
        let provider = site.provider(Op::model(request).unwrap_or(""), scope.settings());
        let server = site.server().cloned();
        let request = request.clone();
        let later = scope.clone();
        let opened: Recording = Box::new(move || {
            request_record::<Op>(&request, later.settings(), &provider, server, stream)
        });
        let cx = span.context();
        Some(Self {
            span,
            cx,
            scope,
            opened: Some(opened),
            finished: false,
        })
    }

    /// The settings of the pipeline the call belongs to.
    pub(crate) fn settings(&self) -> &Settings {
        self.scope.settings()
    }

    /// The span.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The call's OpenTelemetry span (for events, one lock each, no subscriber look-up).
    pub(crate) fn otel_span(&self) -> opentelemetry::trace::SpanRef<'_> {
        self.cx.span()
    }

    /// The headers the request carries: `traceparent` (naming this span, as MLflow autolog
    /// sends it) and the capture ticket's.
    pub(crate) fn headers(&self, ticket: Option<&CaptureTicket>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if self.cx.span().span_context().is_valid() {
            TraceContextPropagator::new()
                .inject_context(&self.cx, &mut HeaderInjector(&mut headers));
        }
        if let Some(ticket) = ticket {
            headers.insert(ticket.header.0.clone(), ticket.header.1.clone());
        }
        headers
    }

    /// Records a success: the response's attributes are left, with the request's, for the
    /// span processor.
    pub(crate) fn succeed<Op: Operation>(mut self, response: Response) {
        self.finished = true;
        let scope = self.scope.clone();
        self.record(Some(Box::new(move || {
            let json = match response {
                // async-openai parsed these bytes: they are a JSON object.
                Response::Captured(body) => body.json().unwrap_or(Value::Null),
                Response::Json(json) => json,
            };
            response_attributes::<Op>(json, scope.settings())
        })));
        self.cx.span().set_status(Status::Ok);
    }

    /// Records a failed call.
    pub(crate) fn fail(mut self, error: &OpenAIError) {
        self.finished = true;
        self.record(None);
        fail_span(&self.cx, &ErrorRecord::from_openai(error));
    }

    /// Leaves the request's attributes, and `then` (the response's), for the span
    /// processor; under a subscriber without a pipeline, or when too many wait, sets them now.
    fn record(&mut self, then: Option<Recording>) {
        let recording: Recording = match (self.opened.take(), then) {
            (Some(opened), Some(then)) => Box::new(move || {
                let mut attrs = opened();
                attrs.extend(then());
                attrs
            }),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => return,
        };
        let span = self.cx.span();
        if !span.is_recording() {
            return;
        }
        let left = match self.scope.recordings() {
            Some(recordings) => recordings.leave(span.span_context().span_id(), recording),
            None => Err(recording),
        };
        if let Err(recording) = left {
            span.set_attributes(recording());
        }
    }

    /// Records the end of a streamed call: its attributes and the failure, if any.
    pub(crate) fn finish(mut self, mut attrs: Vec<KeyValue>, failure: Option<&ErrorRecord>) {
        self.finished = true;
        self.record(None);
        if failure.is_some() {
            attrs.retain(|kv| kv.key.as_str() != mlflow::SPAN_LOG_LEVEL);
        }
        self.cx.span().set_attributes(attrs);
        match failure {
            Some(failure) => fail_span(&self.cx, failure),
            None => self.cx.span().set_status(Status::Ok),
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // The caller dropped the call's future (select!, timeout) before it finished.
        self.record(None);
        fail_span(
            &self.cx,
            &ErrorRecord::cancelled("the call was dropped before it completed"),
        );
        self.cx
            .span()
            .set_attribute(KeyValue::new(tracer::COMPLETED, false));
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_openai::types::chat::{
        ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
    };

    /// Recorded inputs read like the caller's code and MLflow Python's trace: `model` first,
    /// then `messages`, then the parameters; never alphabetical.
    #[test]
    fn request_keys_keep_the_callers_order() {
        let request = CreateChatCompletionRequestArgs::default()
            .model("deepseek-chat")
            .messages([ChatCompletionRequestUserMessage::from("Hi").into()])
            .temperature(0.1)
            .max_tokens(100u32)
            .build()
            .unwrap();
        let json = request_json(&request);
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(&keys[..2], ["model", "messages"], "{keys:?}");
        let text = json.to_string();
        assert!(
            text.starts_with(r#"{"model":"deepseek-chat","messages":[{"#),
            "{text}"
        );
    }

    /// A response keeps the provider's order.
    #[test]
    fn response_keys_keep_the_providers_order() {
        let raw = r#"{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[]}"#;
        let json: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(json.to_string(), raw);
    }
}
