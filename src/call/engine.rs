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
use std::sync::Arc;
use std::time::Instant;

use async_openai::error::OpenAIError;
use reqwest::header::HeaderMap;
use tracing::Instrument;

use crate::call::operation::{CallSite, EventStream, Operation, StreamOperation};
use crate::call::sink::BodyBuffer;
use crate::call::span::{to_json, Call, Response};
use crate::call::stream::{StreamSink, TracedStream};
use crate::setup::pipeline::Scope;

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
    let result = send(request, headers).instrument(call.span().clone()).await;
    drop(ticket);
    match &result {
        Ok(response) => {
            let response = if body.complete() {
                Response::Captured(body)
            } else {
                Response::Json(to_json(response))
            };
            call.succeed::<Op>(response);
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
    let Some(scope) = Scope::current() else {
        return send(request, HeaderMap::new()).await;
    };
    Op::prepare(&mut request);
    let Some(call) = Call::open::<Op>(site, scope, &request, true) else {
        return send(request, HeaderMap::new()).await;
    };
    // Chunk times count from the span's start, so time to first chunk never exceeds the
    // span's duration.
    let start = Instant::now();
    let injected = Op::inject(&mut request, call.settings());
    let sink = Arc::new(StreamSink::<Op::Aggregator>::new(start, call.settings()));
    let ticket = site.capture(sink.clone());
    let headers = call.headers(ticket.as_ref());
    let result = send(request, headers).instrument(call.span().clone()).await;
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
