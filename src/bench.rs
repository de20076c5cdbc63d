//! Internals for the benchmarks in `benches/` (feature `__bench`). Not public API.

use serde_json::Value;

use crate::call::operation::{CallInfo, Operation};
use crate::call::stream::StreamState;
use crate::openai::chat::ChatCompletion;
use crate::openai::stream::chat::ChatAggregate;
use crate::setup::pipeline::Settings;

/// Request + response mapping of one chat call (what a traced `create` adds besides the
/// span itself).
pub fn map_call(request: &Value, response: &Value) -> usize {
    let settings = Settings::default();
    let info = CallInfo {
        settings: &settings,
        provider: "deepseek",
        stream: false,
    };
    ChatCompletion::request_attributes(request, &info).len()
        + ChatCompletion::response_attributes(response, &settings).len()
}

/// A client that is not there: no server, no capture.
struct NoSite;

impl crate::call::operation::CallSite for NoSite {
    fn provider(&self, _model: &str, _settings: &Settings) -> String {
        "deepseek".to_owned()
    }

    fn server(&self) -> Option<&(String, Option<u16>)> {
        None
    }

    fn capture(
        &self,
        _sink: std::sync::Arc<dyn crate::call::sink::BodySink>,
    ) -> Option<crate::call::operation::CaptureTicket> {
        None
    }
}

/// Opens and finishes one chat span through the engine (no HTTP): what a traced call adds
/// in-process.
pub fn span_call(
    request: &async_openai::types::chat::CreateChatCompletionRequest,
    response: &async_openai::types::chat::CreateChatCompletionResponse,
) {
    let call = crate::call::engine::unary::<ChatCompletion, _, _>(
        &NoSite,
        request.clone(),
        |_, _| async { Ok(response.clone()) },
    );
    // Nothing in it waits: one poll finishes it (and works inside a runtime).
    let _ = futures::FutureExt::now_or_never(call);
}

/// A stream aggregator, fed chunk by chunk as SSE bytes.
#[derive(Debug)]
pub struct Stream(StreamState<ChatAggregate>);

impl Stream {
    /// A fresh aggregator with the default chunk-event caps.
    pub fn new() -> Self {
        Self(StreamState::new(
            std::time::Instant::now(),
            crate::config::defaults::CHUNK_EVENTS,
            crate::config::defaults::MAX_ATTRIBUTE_BYTES,
        ))
    }

    /// Feeds SSE bytes (what the HTTP layer sees).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.0.feed(bytes);
    }

    /// Feeds a typed chunk (what the caller receives).
    pub fn feed_typed(
        &mut self,
        chunk: &async_openai::types::chat::CreateChatCompletionStreamResponse,
    ) {
        self.0.on_typed(chunk, true);
    }

    /// The rebuilt completion.
    pub fn completion(&self) -> Value {
        self.0.agg.completion()
    }
}

impl Default for Stream {
    fn default() -> Self {
        Self::new()
    }
}
