//! [`TracedResponses`]: async-openai's `Responses` API group with one span per call.

use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::traits::RequestOptionsBuilder;
use async_openai::types::responses::{
    CreateResponse, Response, ResponseStream, ResponseStreamEvent,
};
use opentelemetry::KeyValue;
use serde_json::Value;

use crate::call::engine;
use crate::call::operation::{CallInfo, Operation, StreamOperation};
use crate::openai::client::TracedClient;
use crate::openai::stream::responses::ResponsesAggregate;
use crate::record::responses as record;
use crate::setup::pipeline::Settings;

/// A Responses API call (`Responses` span, type `CHAT_MODEL`), streamed or not.
#[derive(Debug)]
pub(crate) struct ResponsesCall;

impl Operation for ResponsesCall {
    const NAME: &'static str = "Responses";
    type Request = CreateResponse;
    type Response = Response;

    fn model(request: &Self::Request) -> Option<&str> {
        request.model.as_deref()
    }

    fn request_attributes(request: &Value, info: &CallInfo<'_>) -> Vec<KeyValue> {
        let max = info.settings.max_attribute_bytes;
        record::request_attributes(request, info.provider, info.stream, max)
    }

    fn response_attributes(response: &Value, settings: &Settings) -> Vec<KeyValue> {
        record::response_attributes(response, settings.max_attribute_bytes)
    }

    fn input_messages(request: &Value, max_bytes: usize) -> Vec<KeyValue> {
        record::genai_input_messages(request, max_bytes)
            .into_iter()
            .collect()
    }

    fn output_messages(response: &Value, max_bytes: usize) -> Vec<KeyValue> {
        record::genai_output_messages(response, max_bytes)
            .into_iter()
            .collect()
    }
}

impl StreamOperation for ResponsesCall {
    type Event = ResponseStreamEvent;
    type Aggregator = ResponsesAggregate;

    fn prepare(request: &mut Self::Request) {
        // What async-openai sends (set here too, so the span shows it).
        if request.stream.is_none() {
            request.stream = Some(true);
        }
    }

    /// Nothing to add: the Responses stream always ends with the full response and usage.
    fn inject(_request: &mut Self::Request, _settings: &Settings) -> bool {
        false
    }
}

/// Traced Responses API calls, borrowed from a [`TracedClient`] like async-openai's
/// `Responses`.
///
/// It is `Copy` and its methods take it by value, so the returned futures do not borrow a
/// temporary: `tokio::join!(client.responses().create(a), client.responses().create(b))`
/// compiles.
#[derive(Debug)]
pub struct TracedResponses<'c, C: Config> {
    client: &'c TracedClient<C>,
}

impl<C: Config> Clone for TracedResponses<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: Config> Copy for TracedResponses<'_, C> {}

impl<C: Config> TracedClient<C> {
    /// Traced Responses API calls (`create`, `create_stream`).
    pub fn responses(&self) -> TracedResponses<'_, C> {
        TracedResponses::new(self)
    }
}

impl<'c, C: Config> TracedResponses<'c, C> {
    pub(crate) fn new(client: &'c TracedClient<C>) -> Self {
        Self { client }
    }

    /// Creates a model response, exactly like async-openai's `Responses::create`, inside a
    /// `Responses` span (type `CHAT_MODEL`, as MLflow autolog records it) holding the request,
    /// the `response` (tool calls included, as `function_call` output items), token usage and
    /// any error.
    ///
    /// The span is a child of the current `tracing` span, or a trace root. If the returned
    /// future is dropped before it completes, the span is closed and marked cancelled.
    pub async fn create(self, request: CreateResponse) -> Result<Response, OpenAIError> {
        let responses = self.client.inner().responses();
        engine::unary::<ResponsesCall, _, _>(self.client, request, |request, headers| async move {
            responses.headers(headers).create(request).await
        })
        .await
    }

    /// Creates a streamed model response, exactly like async-openai's
    /// `Responses::create_stream`, with one `Responses` span owning the whole stream.
    ///
    /// The span closes once: when the stream ends, or (marked cancelled, partial output kept)
    /// when it or this future is dropped early. Its outputs are the `response` of the final
    /// `response.completed` event (else one rebuilt from the output items); a
    /// `response.failed` or `error` event makes it an error. Each event becomes an
    /// `mlflow.chunk.item.N` span event (first 100 and last 20 by default). The caller sees
    /// every event unchanged.
    pub async fn create_stream(
        self,
        request: CreateResponse,
    ) -> Result<ResponseStream, OpenAIError> {
        let responses = self.client.inner().responses();
        engine::streamed::<ResponsesCall, _, _>(
            self.client,
            request,
            |request, headers| async move { responses.headers(headers).create_stream(request).await },
        )
        .await
    }
}
