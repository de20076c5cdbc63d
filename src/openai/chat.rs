//! [`TracedChat`]: async-openai's `Chat` API group with one span per call.

use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::traits::RequestOptionsBuilder;
use async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionRequest, CreateChatCompletionResponse,
    CreateChatCompletionStreamResponse,
};
use opentelemetry::KeyValue;
use serde_json::Value;

use crate::call::engine;
use crate::call::operation::{CallInfo, Operation, StreamOperation};
use crate::openai::client::TracedClient;
use crate::openai::stream::chat::ChatAggregate;
use crate::record::chat as record;
use crate::setup::pipeline::Settings;

/// A chat completion (`Completions` span, type `CHAT_MODEL`), streamed or not.
#[derive(Debug)]
pub(crate) struct ChatCompletion;

impl Operation for ChatCompletion {
    const NAME: &'static str = "Completions";
    type Request = CreateChatCompletionRequest;
    type Response = CreateChatCompletionResponse;

    fn model(request: &Self::Request) -> Option<&str> {
        Some(&request.model)
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

impl StreamOperation for ChatCompletion {
    type Event = CreateChatCompletionStreamResponse;
    type Aggregator = ChatAggregate;

    fn prepare(request: &mut Self::Request) {
        // What async-openai sends (set here too, so the span shows it and `byot` builds,
        // which skip that step, still stream).
        if request.stream.is_none() {
            request.stream = Some(true);
        }
    }

    fn inject(request: &mut Self::Request, settings: &Settings) -> bool {
        let wants_usage = request.stream_options.and_then(|o| o.include_usage);
        let inject = wants_usage.is_none() && settings.stream_usage;
        if inject {
            let mut options = request.stream_options.unwrap_or_default();
            options.include_usage = Some(true);
            request.stream_options = Some(options);
        }
        inject
    }
}

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

impl<C: Config> TracedClient<C> {
    /// Traced chat completions.
    pub fn chat(&self) -> TracedChat<'_, C> {
        TracedChat::new(self)
    }
}

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
        engine::unary::<ChatCompletion, _, _>(self.client, request, |request, headers| async move {
            chat.headers(headers).create(request).await
        })
        .await
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
        request: CreateChatCompletionRequest,
    ) -> Result<ChatCompletionResponseStream, OpenAIError> {
        let chat = self.client.inner().chat();
        engine::streamed::<ChatCompletion, _, _>(
            self.client,
            request,
            |request, headers| async move { chat.headers(headers).create_stream(request).await },
        )
        .await
    }
}
