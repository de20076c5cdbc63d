//! [`TracedEmbeddings`]: async-openai's `Embeddings` API group with one span per call.

use std::marker::PhantomData;

use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::traits::RequestOptionsBuilder;
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingRequest, CreateEmbeddingResponse,
};
use opentelemetry::KeyValue;
use serde::Serialize;
use serde_json::Value;

use crate::call::engine;
use crate::call::operation::{CallInfo, Operation};
use crate::openai::client::TracedClient;
use crate::record::embeddings as record;
use crate::setup::pipeline::Settings;

/// An embeddings call (`Embeddings` span, type `EMBEDDING`) answered with `R`: float vectors
/// ([`CreateEmbeddingResponse`]) or base64 ones ([`CreateBase64EmbeddingResponse`]).
#[derive(Debug)]
pub(crate) struct Embeddings<R = CreateEmbeddingResponse>(PhantomData<R>);

impl<R: Serialize + 'static> Operation for Embeddings<R> {
    const NAME: &'static str = "Embeddings";
    type Request = CreateEmbeddingRequest;
    type Response = R;

    fn model(request: &Self::Request) -> Option<&str> {
        Some(&request.model)
    }

    fn request_attributes(request: &Value, info: &CallInfo<'_>) -> Vec<KeyValue> {
        record::request_attributes(request, info.provider, info.settings.max_attribute_bytes)
    }

    fn response_attributes(response: &Value, settings: &Settings) -> Vec<KeyValue> {
        record::response_attributes(response, settings.max_attribute_bytes)
    }
}

/// Traced embeddings, borrowed from a [`TracedClient`] like async-openai's `Embeddings`.
///
/// It is `Copy` and its methods take it by value, so the returned futures do not borrow a
/// temporary: `tokio::join!(client.embeddings().create(a), client.embeddings().create(b))`
/// compiles.
#[derive(Debug)]
pub struct TracedEmbeddings<'c, C: Config> {
    client: &'c TracedClient<C>,
}

impl<C: Config> Clone for TracedEmbeddings<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: Config> Copy for TracedEmbeddings<'_, C> {}

impl<C: Config> TracedClient<C> {
    /// Traced embeddings (async-openai's `client.embeddings()`): one `Embeddings` span
    /// (type `EMBEDDING`) per call.
    pub fn embeddings(&self) -> TracedEmbeddings<'_, C> {
        TracedEmbeddings::new(self)
    }
}

impl<'c, C: Config> TracedEmbeddings<'c, C> {
    pub(crate) fn new(client: &'c TracedClient<C>) -> Self {
        Self { client }
    }

    /// Creates embeddings, exactly like async-openai's `Embeddings::create`, inside an
    /// `Embeddings` span (type `EMBEDDING`) holding the request, the response without its
    /// vectors (each replaced by its `dimensions`), token usage and any error.
    ///
    /// The span is a child of the current `tracing` span, or a trace root. If the returned
    /// future is dropped before it completes, the span is closed and marked cancelled.
    pub async fn create(
        self,
        request: CreateEmbeddingRequest,
    ) -> Result<CreateEmbeddingResponse, OpenAIError> {
        let embeddings = self.client.inner().embeddings();
        engine::unary::<Embeddings, _, _>(self.client, request, |request, headers| async move {
            embeddings.headers(headers).create(request).await
        })
        .await
    }

    /// Creates base64-encoded embeddings (`encoding_format: base64`), exactly like
    /// async-openai's `Embeddings::create_base64`, traced like [`TracedEmbeddings::create`]:
    /// the span records each vector's `dimensions` (decoded bytes / 4), not the base64 text.
    pub async fn create_base64(
        self,
        request: CreateEmbeddingRequest,
    ) -> Result<CreateBase64EmbeddingResponse, OpenAIError> {
        let embeddings = self.client.inner().embeddings();
        engine::unary::<Embeddings<CreateBase64EmbeddingResponse>, _, _>(
            self.client,
            request,
            |request, headers| async move {
                embeddings.headers(headers).create_base64(request).await
            },
        )
        .await
    }
}
