//! What plugs into the engine: an operation's span name and pure mapping ([`Operation`],
//! [`StreamOperation`], [`Aggregate`]) and what the engine needs from a client ([`CallSite`]).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_openai::error::OpenAIError;
use futures::Stream;
use opentelemetry::KeyValue;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Value;

use crate::call::sink::BodySink;
use crate::record::error::ErrorRecord;
use crate::setup::pipeline::Settings;

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
///
/// The mapping runs off the caller's path (see [`crate::setup::pipeline::Recording`]): the
/// engine keeps a copy of the request and the captured response, and the span processor maps
/// them when the span ends.
pub(crate) trait Operation: 'static {
    /// The span name, as MLflow autolog names it.
    const NAME: &'static str;
    /// async-openai's request type.
    type Request: Serialize + Clone + Send + 'static;
    /// async-openai's response type.
    type Response: Serialize;

    /// The model the request names (what provider detection reads on the caller's path).
    fn model(request: &Self::Request) -> Option<&str>;

    /// Attributes known when the call starts, from the request as JSON.
    fn request_attributes(request: &Value, info: &CallInfo<'_>) -> Vec<KeyValue>;

    /// Attributes of a successful call, from the response as JSON (the raw body when captured).
    fn response_attributes(response: &Value, settings: &Settings) -> Vec<KeyValue>;

    /// The request's content in the GenAI conventions (`gen_ai.input.messages`, ...). The
    /// engine records it only when the pipeline captures GenAI content. Default: none.
    fn input_messages(_request: &Value, _max_bytes: usize) -> Vec<KeyValue> {
        Vec::new()
    }

    /// The response's content in the GenAI conventions (`gen_ai.output.messages`), recorded
    /// like [`Operation::input_messages`]. Default: none.
    fn output_messages(_response: &Value, _max_bytes: usize) -> Vec<KeyValue> {
        Vec::new()
    }
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

/// Rebuilds one operation's response from its stream: the only stream code an operation
/// writes.
pub(crate) trait Aggregate: Send + 'static {
    /// What the caller's stream yields.
    type Event: Serialize;

    /// A fresh aggregate keeping at most `limit` bytes of each text it accumulates (content,
    /// reasoning, tool arguments): what can be exported, never more, however long the stream.
    fn with_limit(limit: usize) -> Self;

    /// One raw SSE event's data (its JSON text), `elapsed` after the call started: what only
    /// the raw text has (fields async-openai's typed events drop).
    fn on_raw(&mut self, data: &str, elapsed: Duration);

    /// One typed event as the caller receives it.
    fn on_event(&mut self, event: &Self::Event, elapsed: Duration);

    /// Whether the caller must not see `event`: it exists only because the tracer asked for
    /// it ([`StreamOperation::inject`]).
    fn hidden(event: &Self::Event) -> bool;

    /// Whether the stream ended as the protocol says it should (`saw_done`: a `data: [DONE]`
    /// arrived).
    fn complete(&self, saw_done: bool) -> bool;

    /// The response rebuilt from the stream, if any event arrived.
    fn output(&self) -> Option<Value>;

    /// Facts only the stream has (time to first content, usage source, ...).
    fn attributes(&self) -> Vec<KeyValue>;

    /// A failure the server reported inside an event (the Responses API's `response.failed`
    /// and `error` events) rather than as an error item: the stream ends normally, the call
    /// failed. Default: none.
    fn failure(&self) -> Option<ErrorRecord> {
        None
    }
}
