//! The capture layer: tees a traced call's raw response body to the engine.
//!
//! async-openai's typed structs drop fields providers add (DeepSeek's `reasoning_content`,
//! `prompt_cache_hit_tokens`, ...). [`CaptureLayer`] is a tower layer for async-openai's
//! `Client::with_http_service` (the `middleware` feature; no `byot`, which would change every
//! crate's typed calls). For each traced call the engine registers a sink with the layer and
//! names it in a request header; the service removes that header before the request leaves,
//! and copies the response body bytes, *as they stream past*, to the sink: the caller's
//! response is the same `reqwest::Response` with the same status, headers and body.
//!
//! Requests without the header (calls made outside the tracer) pass through untouched.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Response;

use crate::call::operation::CaptureTicket;
use crate::call::sink::BodySink;

/// Request header naming the sink of a traced call; removed before the request is sent.
const CAPTURE_HEADER: HeaderName = HeaderName::from_static("x-mlflow-tracing-capture");

/// Sinks of the traced calls in flight, by the id their request header carries.
#[derive(Default)]
struct Registry {
    next: AtomicU64,
    /// How many sinks are registered: when none is, a request cannot name one, and passes
    /// through without a look.
    live: AtomicUsize,
    sinks: Mutex<HashMap<u64, Arc<dyn BodySink>>>,
}

impl Registry {
    fn get(&self, id: u64) -> Option<Arc<dyn BodySink>> {
        self.sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }
}

/// Removes a sink from its registry when the call no longer needs it.
struct Registration {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry
            .sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        self.registry.live.fetch_sub(1, Ordering::Release);
    }
}

/// Tower layer producing [`CaptureService`]. Clones share one registry: give the same layer
/// to your tower stack and to [`crate::TracedClient::with_installed_capture`].
#[derive(Clone, Default)]
pub struct CaptureLayer {
    registry: Arc<Registry>,
}

impl std::fmt::Debug for CaptureLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureLayer").finish_non_exhaustive()
    }
}

impl CaptureLayer {
    /// A layer with its own registry of traced calls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `sink` for the request that will carry the returned ticket's header.
    pub(crate) fn register(&self, sink: Arc<dyn BodySink>) -> CaptureTicket {
        let id = self.registry.next.fetch_add(1, Ordering::Relaxed);
        self.registry
            .sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, sink);
        // Before the request carrying the header exists, so its `call` sees it.
        self.registry.live.fetch_add(1, Ordering::Release);
        CaptureTicket {
            header: (CAPTURE_HEADER, HeaderValue::from(id)),
            _registration: Box::new(Registration {
                registry: self.registry.clone(),
                id,
            }),
        }
    }
}

impl<S> tower::Layer<S> for CaptureLayer {
    type Service = CaptureService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CaptureService {
            inner,
            registry: self.registry.clone(),
        }
    }
}

/// The HTTP service under a traced client: copies the response body bytes of traced calls,
/// as they stream past, to the tracer, so provider fields that async-openai's typed structs
/// drop can be recorded. The caller's response is the same status, headers and body. Other
/// calls pass through untouched.
///
/// Built by [`CaptureLayer`]; [`crate::TracedClient::with_http_client`] and
/// [`crate::TracedClient::with_http_service`] install it for you.
#[derive(Clone)]
pub struct CaptureService<S> {
    inner: S,
    registry: Arc<Registry>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for CaptureService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The sink the request named, once the request was built.
type Found = Arc<Mutex<Option<Arc<dyn BodySink>>>>;

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

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        if self.registry.live.load(Ordering::Acquire) == 0 {
            // No traced call is in flight (tracing off, or plain calls): nothing to look for.
            return Box::pin(self.inner.call(factory));
        }
        let found: Found = Arc::default();
        let factory = take_sink(factory, self.registry.clone(), found.clone());
        let fut = self.inner.call(factory);
        Box::pin(async move {
            let response = fut.await?;
            let sink = found.lock().unwrap_or_else(|e| e.into_inner()).take();
            let Some(sink) = sink else {
                return Ok(response);
            };
            sink.status(response.status().as_u16());
            let http: http::Response<reqwest::Body> = response.into();
            let (parts, body) = http.into_parts();
            let body = reqwest::Body::wrap(TeeBody { inner: body, sink });
            Ok(Response::from(http::Response::from_parts(parts, body)))
        })
    }
}

/// Wraps the factory so every attempt (retries included) loses the capture header, and the
/// sink it names lands in `found`.
fn take_sink(
    factory: HttpRequestFactory,
    registry: Arc<Registry>,
    found: Found,
) -> HttpRequestFactory {
    HttpRequestFactory::new(move || {
        let factory = factory.clone();
        let registry = registry.clone();
        let found = found.clone();
        async move {
            let mut request = factory.build().await?;
            if let Some(value) = request.headers_mut().remove(CAPTURE_HEADER) {
                let sink = value
                    .to_str()
                    .ok()
                    .and_then(|id| id.parse().ok())
                    .and_then(|id| registry.get(id));
                *found.lock().unwrap_or_else(|e| e.into_inner()) = sink;
            }
            Ok(request)
        }
    })
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
