//! The traced-call engine: what every traced operation does, written once.
//!
//! An operation (chat, chat stream, embeddings, Responses, Responses stream) is a type
//! implementing [`Operation`] (and [`StreamOperation`] for streams): its span name and its pure
//! mapping, request JSON → attributes and response JSON → attributes. The engine does the rest,
//! in [`unary`] and [`streamed`]:
//!
//! 1. the enable check (the current pipeline's switch; no span, no serialization when off);
//! 2. opening the span as a child of the current span, with the request attributes, the
//!    provider and the server;
//! 3. the `traceparent` header and, when the client's HTTP stack has the capture layer, a sink
//!    registered for the raw response body (named by a request header, so nothing travels
//!    implicitly);
//! 4. instrumenting the request future with the span;
//! 5. finishing the span exactly once: with the response, with the error, or, when the future
//!    or stream is dropped first, as cancelled; streams through [`TracedStream`].
//!
//! The caller's `Result` is always exactly what async-openai returned.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use async_openai::error::OpenAIError;
use futures::Stream;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::KeyValue;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::call::sink::{BodyBuffer, BodySink};
use crate::call::span::{record_error, set_attributes};
use crate::call::stream::{Aggregate, StreamSink, TracedStream};
use crate::record::error::ErrorRecord;
use crate::setup::pipeline::{Scope, Settings};
use crate::vocab::semconv::{mlflow, otel, tracer};

/// A stream of events as async-openai returns it.
pub(crate) type EventStream<E> = Pin<Box<dyn Stream<Item = Result<E, OpenAIError>> + Send>>;

/// What the engine needs from the client a call goes through.
pub(crate) trait CallSite: Sync {
    /// The provider recorded for a call to `model`.
    fn provider(&self, model: &str, settings: &Settings) -> String;
    /// `server.address` / `server.port` of the client's API base.
    fn server(&self) -> Option<&(String, Option<u16>)>;
    /// Registers `sink` for the raw response body of the request carrying the returned header;
    /// `None` when the client's HTTP stack has no capture layer.
    fn capture(&self, sink: Arc<dyn BodySink>) -> Option<CaptureTicket>;
}

/// A registered capture sink: the request header naming it, and what unregisters it on drop.
pub(crate) struct CaptureTicket {
    /// Header to add to the request.
    pub(crate) header: (HeaderName, HeaderValue),
    /// Unregisters the sink when dropped.
    pub(crate) _registration: Box<dyn std::any::Any + Send + Sync>,
}

/// What request mapping may depend on besides the request.
#[derive(Debug)]
pub(crate) struct CallInfo<'a> {
    /// The pipeline's settings.
    pub(crate) settings: &'a Settings,
    /// Provider name (`gen_ai.provider.name`, `mlflow.llm.provider`).
    pub(crate) provider: &'a str,
    /// Whether the call streams.
    pub(crate) stream: bool,
}

/// One kind of traced call: its span and its pure mapping.
pub(crate) trait Operation {
    /// The span name, as MLflow autolog names it.
    const NAME: &'static str;
    /// async-openai's request type.
    type Request: Serialize;
    /// async-openai's response type.
    type Response: Serialize;

    /// Attributes known when the call starts, from the request as JSON.
    fn request_attributes(request: &Value, info: &CallInfo<'_>) -> Vec<KeyValue>;

    /// Attributes of a successful call, from the response as JSON (the raw body when captured).
    fn response_attributes(response: &Value, settings: &Settings) -> Vec<KeyValue>;
}

/// A streamed kind of traced call.
pub(crate) trait StreamOperation: Operation + Send + 'static {
    /// What the stream yields.
    type Event: Serialize + Send + 'static;
    /// Rebuilds the response from the stream.
    type Aggregator: Aggregate<Event = Self::Event>;

    /// Makes the request a streamed one (as async-openai will send it), before it is recorded.
    fn prepare(request: &mut Self::Request);

    /// Adds what the tracer needs but the caller did not ask for (e.g. usage in the last
    /// chunk); returns whether it did, so the aggregator hides what it brings back.
    fn inject(request: &mut Self::Request, settings: &Settings) -> bool;
}

/// The request or response as JSON. Via text, so `f32` parameters keep their short form
/// (`0.1`, not `0.10000000149011612`).
fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .unwrap_or(Value::Null)
}

/// One traced call's span, finished exactly once.
#[derive(Debug)]
pub(crate) struct Call {
    span: tracing::Span,
    scope: Scope,
    finished: bool,
}

impl Call {
    /// Opens the span of an `Op` call as a child of the current span (or as a trace root);
    /// `None` when no subscriber records it.
    fn open<Op: Operation>(
        site: &dyn CallSite,
        scope: Scope,
        request: &Op::Request,
        stream: bool,
    ) -> Option<Self> {
        let span = tracing::info_span!(target: crate::TARGET, "llm", otel.name = Op::NAME, otel.kind = "client");
        if span.is_disabled() {
            return None;
        }
        let json = to_json(request);
        let settings = scope.settings();
        let model = json.get("model").and_then(Value::as_str).unwrap_or("");
        let provider = site.provider(model, settings);
        let info = CallInfo {
            settings,
            provider: &provider,
            stream,
        };
        let mut attrs = Op::request_attributes(&json, &info);
        if let Some((address, port)) = site.server() {
            attrs.push(KeyValue::new(otel::SERVER_ADDRESS, address.clone()));
            if let Some(port) = port {
                attrs.push(KeyValue::new(otel::SERVER_PORT, i64::from(*port)));
            }
        }
        set_attributes(&span, attrs);
        Some(Self {
            span,
            scope,
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

    /// The headers the request carries: `traceparent` (naming this span, as MLflow autolog
    /// sends it) and the capture ticket's.
    fn headers(&self, ticket: Option<&CaptureTicket>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let cx = self.span.context();
        if cx.span().span_context().is_valid() {
            TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut headers));
        }
        if let Some(ticket) = ticket {
            headers.insert(ticket.header.0.clone(), ticket.header.1.clone());
        }
        headers
    }

    /// Records a success with these response attributes.
    fn succeed(mut self, attrs: Vec<KeyValue>) {
        self.finished = true;
        set_attributes(&self.span, attrs);
        self.span.set_status(Status::Ok);
    }

    /// Records a failed call.
    fn fail(mut self, error: &OpenAIError) {
        self.finished = true;
        record_error(&self.span, &ErrorRecord::from_openai(error));
    }

    /// Records the end of a streamed call: its attributes and the failure, if any.
    pub(crate) fn finish(mut self, mut attrs: Vec<KeyValue>, failure: Option<&ErrorRecord>) {
        self.finished = true;
        if failure.is_some() {
            attrs.retain(|kv| kv.key.as_str() != mlflow::SPAN_LOG_LEVEL);
        }
        set_attributes(&self.span, attrs);
        match failure {
            Some(failure) => record_error(&self.span, failure),
            None => self.span.set_status(Status::Ok),
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // The caller dropped the call's future (select!, timeout) before it finished.
        record_error(
            &self.span,
            &ErrorRecord::cancelled("the call was dropped before it completed"),
        );
        self.span.set_attribute(tracer::COMPLETED, false);
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

/// Runs one non-streamed `Op` call through `send` (which adds the headers to the request and
/// sends it), traced.
pub(crate) async fn unary<Op, F, Fut>(
    site: &dyn CallSite,
    request: Op::Request,
    send: F,
) -> Result<Op::Response, OpenAIError>
where
    Op: Operation,
    F: FnOnce(Op::Request, HeaderMap) -> Fut,
    Fut: Future<Output = Result<Op::Response, OpenAIError>>,
{
    let Some(call) =
        Scope::current().and_then(|scope| Call::open::<Op>(site, scope, &request, false))
    else {
        return send(request, HeaderMap::new()).await;
    };
    let body = Arc::new(BodyBuffer::default());
    let ticket = site.capture(body.clone());
    let headers = call.headers(ticket.as_ref());
    let result = send(request, headers).instrument(call.span.clone()).await;
    drop(ticket);
    match &result {
        Ok(response) => {
            let json = body.json().unwrap_or_else(|| to_json(response));
            let attrs = Op::response_attributes(&json, call.settings());
            call.succeed(attrs);
        }
        Err(error) => call.fail(error),
    }
    result
}

/// Runs one streamed `Op` call through `send`, traced: the span owns the whole stream.
pub(crate) async fn streamed<Op, F, Fut>(
    site: &dyn CallSite,
    mut request: Op::Request,
    send: F,
) -> Result<EventStream<Op::Event>, OpenAIError>
where
    Op: StreamOperation,
    F: FnOnce(Op::Request, HeaderMap) -> Fut,
    Fut: Future<Output = Result<EventStream<Op::Event>, OpenAIError>>,
{
    let start = Instant::now();
    let Some(scope) = Scope::current() else {
        return send(request, HeaderMap::new()).await;
    };
    Op::prepare(&mut request);
    let Some(call) = Call::open::<Op>(site, scope, &request, true) else {
        return send(request, HeaderMap::new()).await;
    };
    let injected = Op::inject(&mut request, call.settings());
    let sink = Arc::new(StreamSink::<Op::Aggregator>::new(start, call.settings()));
    let ticket = site.capture(sink.clone());
    let headers = call.headers(ticket.as_ref());
    let result = send(request, headers).instrument(call.span.clone()).await;
    drop(ticket);
    match result {
        Ok(stream) => Ok(Box::pin(TracedStream::<Op>::new(
            stream, call, sink, injected,
        ))),
        Err(error) => {
            call.fail(&error);
            Err(error)
        }
    }
}
