//! The HTTP layer under a traced client: sees the raw response bytes and propagates the trace.
//!
//! async-openai's typed structs drop fields providers add (DeepSeek's `reasoning_content`,
//! `prompt_cache_hit_tokens`, ...). [`CaptureService`] is a tower service installed with
//! async-openai's `Client::with_http_service` (the `middleware` feature; no `byot`, which would
//! change every crate's typed calls). For calls made through [`crate::TracedClient`] it
//!
//! - adds a W3C `traceparent` header naming the chat span, as MLflow autolog does, and
//! - copies the response body bytes, *as they stream past*, to the call's [`BodySink`]: the
//!   caller's response is the same `reqwest::Response` with the same status, headers and body.
//!
//! Calls made outside a traced call (no task-local slot) pass through untouched.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Response;

tokio::task_local! {
    /// Where the HTTP layer sends the raw body of the traced call being polled.
    static SLOT: Arc<dyn BodySink>;
}

/// Receives the raw response body of a traced call, chunk by chunk.
pub(crate) trait BodySink: Send + Sync {
    /// The span context the request belongs to (for `traceparent`).
    fn trace_context(&self) -> opentelemetry::Context;
    /// Called with the HTTP status before any body bytes.
    fn status(&self, _status: u16) {}
    /// Called for each body chunk, in order.
    fn data(&self, bytes: &[u8]);
}

/// Runs `fut` with `sink` receiving the raw body of the HTTP response it triggers.
pub(crate) async fn with_sink<F: Future>(sink: Arc<dyn BodySink>, fut: F) -> F::Output {
    SLOT.scope(sink, fut).await
}

/// Tower layer producing [`CaptureService`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CaptureLayer;

impl<S> tower::Layer<S> for CaptureLayer {
    type Service = CaptureService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CaptureService { inner }
    }
}

/// The HTTP service under a traced client. For calls made through [`crate::TracedClient`] it
/// adds a W3C `traceparent` header naming the chat span (as MLflow autolog does) and copies the
/// response body bytes, as they stream past, to the tracer, so provider fields that
/// async-openai's typed structs drop can be recorded. The caller's response is the same
/// status, headers and body. Other calls pass through untouched.
///
/// [`crate::TracedClient::new`] installs it. Build it with [`CaptureLayer`] on top of your own
/// tower stack when you use `Client::with_http_service` yourself, then wrap the client with
/// [`crate::TracedClient::with_installed_capture`].
#[derive(Debug, Clone)]
pub struct CaptureService<S> {
    inner: S,
}

impl<S> tower::Service<HttpRequestFactory> for CaptureService<S>
where
    S: tower::Service<HttpRequestFactory, Response = Response, Error = OpenAIError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<Response, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let Ok(sink) = SLOT.try_with(Arc::clone) else {
            return Box::pin(self.inner.call(request));
        };
        let request = with_traceparent(request, sink.trace_context());
        let fut = self.inner.call(request);
        Box::pin(async move {
            let response = fut.await?;
            sink.status(response.status().as_u16());
            let http: http::Response<reqwest::Body> = response.into();
            let (parts, body) = http.into_parts();
            let body = reqwest::Body::wrap(TeeBody { inner: body, sink });
            Ok(Response::from(http::Response::from_parts(parts, body)))
        })
    }
}

/// Wraps the factory so every attempt (retries included) carries the span's `traceparent`.
fn with_traceparent(factory: HttpRequestFactory, cx: opentelemetry::Context) -> HttpRequestFactory {
    use opentelemetry::trace::TraceContextExt;
    if !cx.span().span_context().is_valid() {
        return factory;
    }
    let mut headers = HeaderMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut headers));
    HttpRequestFactory::new(move || {
        let factory = factory.clone();
        let headers = headers.clone();
        async move {
            let mut request = factory.build().await?;
            request.headers_mut().extend(headers);
            Ok(request)
        }
    })
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

pin_project_lite::pin_project! {
    /// A body that hands each data frame to a sink on its way to the reader.
    struct TeeBody<B> {
        #[pin]
        inner: B,
        sink: Arc<dyn BodySink>,
    }
}

impl<B> HttpBody for TeeBody<B>
where
    B: HttpBody<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                this.sink.data(data);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
