//! [`TracedChat`]: async-openai's `Chat` API group with one span per call.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionRequest, CreateChatCompletionResponse,
};
use serde_json::Value;

use crate::openai::capture::{self, BodySink};
use crate::openai::client::TracedClient;
use crate::setup::settings;
use crate::call::span::ChatCall;
use crate::openai::stream::{StreamSink, TracedStream};

/// Largest response body kept to read provider extras from; larger ones fall back to the
/// typed response.
const MAX_CAPTURED_BODY: usize = 32 * 1024 * 1024;

/// Traced chat completions, borrowed from a [`TracedClient`] like async-openai's `Chat`.
///
/// It is `Copy` and its methods take it by value, so the returned futures do not borrow a
/// temporary: `tokio::join!(client.chat().create(a), client.chat().create(b))` compiles.
#[derive(Debug)]
pub struct TracedChat<'c, C: Config> {
    client: &'c TracedClient<C>,
}

impl<C: Config> Clone for TracedChat<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: Config> Copy for TracedChat<'_, C> {}

impl<'c, C: Config> TracedChat<'c, C> {
    pub(crate) fn new(client: &'c TracedClient<C>) -> Self {
        Self { client }
    }

    /// Creates a chat completion, exactly like async-openai's `Chat::create`, inside a
    /// `Completions` span (type `CHAT_MODEL`) holding the request, the response, token usage
    /// and any error.
    ///
    /// The span is a child of the current `tracing` span, or a trace root. If the returned
    /// future is dropped before it completes, the span is closed and marked cancelled.
    pub async fn create(
        self,
        request: CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, OpenAIError> {
        let chat = self.client.inner().chat();
        if !settings::is_enabled() {
            return chat.create(request).await;
        }
        let call = ChatCall::start(&request, self.client.meta(), false);
        if call.is_disabled() {
            return chat.create(request).await;
        }
        let body = Arc::new(BodyBuffer::new(call.trace_context()));
        let result = capture::with_sink(body.clone(), chat.create(request)).await;
        match &result {
            Ok(response) => call.succeed(&body.json().unwrap_or_else(|| typed_json(response))),
            Err(error) => call.fail(error),
        }
        result
    }

    /// Creates a streamed chat completion, exactly like async-openai's `Chat::create_stream`,
    /// with one `Completions` span owning the whole stream.
    ///
    /// The span closes once: when the stream ends, or (marked cancelled, partial output kept)
    /// when it or this future is dropped early. Content, DeepSeek `reasoning_content` and
    /// tool-call fragments are rebuilt into a `chat.completion` for `mlflow.spanOutputs`; each
    /// chunk becomes an `mlflow.chunk.item.N` event (first 100 and last 20 by default).
    ///
    /// When the request does not set `stream_options.include_usage`, the tracer sets it so the
    /// span gets token usage, and swallows the extra usage-only chunk: the caller sees the same
    /// chunks as without tracing. Turn that off with [`crate::Config::with_stream_usage`].
    pub async fn create_stream(
        self,
        mut request: CreateChatCompletionRequest,
    ) -> Result<ChatCompletionResponseStream, OpenAIError> {
        let chat = self.client.inner().chat();
        if !settings::is_enabled() {
            return chat.create_stream(request).await;
        }
        let start = std::time::Instant::now();
        // What async-openai sends (set here too, so the span shows it and `byot` builds,
        // which skip that step, still stream).
        if request.stream.is_none() {
            request.stream = Some(true);
        }
        let call = ChatCall::start(&request, self.client.meta(), true);
        if call.is_disabled() {
            return chat.create_stream(request).await;
        }
        let wants_usage = request.stream_options.and_then(|o| o.include_usage);
        let injected = wants_usage.is_none() && settings::stream_usage();
        if injected {
            let mut options = request.stream_options.unwrap_or_default();
            options.include_usage = Some(true);
            request.stream_options = Some(options);
        }
        let sink = StreamSink::new(start, call.trace_context());
        let result = capture::with_sink(sink.clone(), chat.create_stream(request)).await;
        match result {
            Ok(stream) => Ok(Box::pin(TracedStream::new(stream, call, sink, injected))),
            Err(error) => {
                call.fail(&error);
                Err(error)
            }
        }
    }
}

/// The typed response as JSON, when the raw body was not captured.
fn typed_json(response: &CreateChatCompletionResponse) -> Value {
    serde_json::to_value(response).unwrap_or(Value::Null)
}

/// Collects a (non-streamed) response body.
struct BodyBuffer {
    cx: opentelemetry::Context,
    status: AtomicU16,
    bytes: Mutex<Vec<u8>>,
}

impl BodyBuffer {
    fn new(cx: opentelemetry::Context) -> Self {
        Self {
            cx,
            status: AtomicU16::new(0),
            bytes: Mutex::new(Vec::new()),
        }
    }

    /// The body as JSON, if it was a complete, successful JSON object.
    fn json(&self) -> Option<Value> {
        let status = self.status.load(Ordering::Relaxed);
        if !(200..300).contains(&status) {
            return None;
        }
        let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
    }
}

impl BodySink for BodyBuffer {
    fn trace_context(&self) -> opentelemetry::Context {
        self.cx.clone()
    }

    fn status(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
        // A retried attempt starts over.
        self.bytes.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn data(&self, bytes: &[u8]) {
        let mut buf = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        if buf.len() + bytes.len() <= MAX_CAPTURED_BODY {
            buf.extend_from_slice(bytes);
        } else {
            // Too big to keep: drop what we have so `json()` falls back to the typed response.
            self.status.store(0, Ordering::Relaxed);
            buf.clear();
        }
    }
}
