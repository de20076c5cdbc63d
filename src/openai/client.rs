//! [`TracedClient`]: an async-openai [`Client`] whose chat calls become spans.

use std::sync::Arc;

use async_openai::config::Config;
use async_openai::middleware::{retry::OpenAIRetryLayer, ReqwestService};
use async_openai::Client;

use crate::openai::capture::CaptureLayer;
use crate::openai::chat::TracedChat;
use crate::openai::provider;
use crate::setup::settings;

/// What every call of one client shares: provider and server, resolved once.
#[derive(Debug, Default, Clone)]
pub(crate) struct ClientMeta {
    /// Provider from [`TracedClient::with_provider`].
    provider_override: Option<String>,
    /// Provider recognised from the API base URL.
    host_provider: Option<&'static str>,
    /// `server.address` / `server.port` (no credentials).
    pub(crate) server: Option<(String, Option<u16>)>,
}

impl ClientMeta {
    fn new(api_base: &str) -> Self {
        Self {
            provider_override: None,
            host_provider: provider::provider_from_base_url(api_base),
            server: provider::server_of(api_base),
        }
    }

    /// Provider of a call: this client's override, then [`crate::Config::with_provider`], then
    /// the API host, then the model name, then `openai` (the wire protocol).
    pub(crate) fn provider_for(&self, model: &str) -> String {
        if let Some(p) = &self.provider_override {
            return p.clone();
        }
        if let Some(p) = settings::provider() {
            return p;
        }
        self.host_provider
            .or_else(|| provider::provider_from_model(model))
            .unwrap_or(provider::FALLBACK_PROVIDER)
            .to_owned()
    }
}

/// An async-openai client whose chat completions are traced.
///
/// `client.chat().create(request)` takes and returns exactly async-openai's types, and the
/// `Result` is always what async-openai produced: tracing never changes or fails a call.
///
/// ```no_run
/// use async_openai::{config::OpenAIConfig, Client};
/// use mlflow_tracing::OpenAIClientExt;
///
/// let config = OpenAIConfig::new()
///     .with_api_base("https://api.deepseek.com")
///     .with_api_key(std::env::var("DEEPSEEK_API_KEY").unwrap_or_default());
/// let client = Client::with_config(config).traced();
/// ```
///
/// # The HTTP layer
///
/// To record fields async-openai's typed structs drop (DeepSeek's `reasoning_content` and
/// `prompt_cache_*_tokens`) and to send a `traceparent` header, [`TracedClient::new`] installs
/// its own HTTP service on the client: async-openai's default retry policy over a
/// [`CaptureLayer`] over a fresh `reqwest::Client`. Use [`TracedClient::with_http_client`] to
/// keep your own `reqwest::Client` (proxies, timeouts, TLS), or
/// [`TracedClient::with_installed_capture`] if you install [`CaptureLayer`] in your own tower
/// stack. [`TracedClient::without_capture`] leaves the client untouched (the extras are then
/// not recorded; everything else is).
#[derive(Clone, Debug)]
pub struct TracedClient<C: Config> {
    client: Client<C>,
    meta: Arc<ClientMeta>,
}

impl<C: Config> TracedClient<C> {
    /// Traces `client`, executing requests with a fresh `reqwest::Client` and async-openai's
    /// default retry policy (3 retries on 429/5xx/connect errors).
    pub fn new(client: Client<C>) -> Self {
        Self::with_http_client(client, reqwest::Client::new())
    }

    /// Traces `client`, executing requests with `http` and async-openai's default retry policy.
    pub fn with_http_client(client: Client<C>, http: reqwest::Client) -> Self {
        let service = tower::ServiceBuilder::new()
            .layer(CaptureLayer)
            .layer(OpenAIRetryLayer::default())
            .service(ReqwestService::new(http));
        Self::with_installed_capture(client.with_http_service(service))
    }

    /// Traces a client on which you installed [`CaptureLayer`] yourself
    /// (`Client::with_http_service`). The client is used as it is.
    pub fn with_installed_capture(client: Client<C>) -> Self {
        let meta = ClientMeta::new(client.config().api_base());
        Self {
            client,
            meta: Arc::new(meta),
        }
    }

    /// Traces `client` without touching its HTTP stack. Provider-specific fields that
    /// async-openai's typed structs drop are then not recorded.
    pub fn without_capture(client: Client<C>) -> Self {
        Self::with_installed_capture(client)
    }

    /// Overrides the provider recorded for this client's calls (`gen_ai.provider.name`,
    /// `mlflow.llm.provider`). Default: detected from the API host, then the model name.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.meta).provider_override = Some(provider.into());
        self
    }

    /// Traced chat completions.
    pub fn chat(&self) -> TracedChat<'_, C> {
        TracedChat::new(self)
    }

    /// The wrapped client, for calls you do not want traced.
    pub fn inner(&self) -> &Client<C> {
        &self.client
    }

    /// Unwraps the client.
    pub fn into_inner(self) -> Client<C> {
        self.client
    }

    pub(crate) fn meta(&self) -> &ClientMeta {
        &self.meta
    }
}

/// `Client::new().traced()`: the extension-trait way to build a [`TracedClient`].
pub trait OpenAIClientExt<C: Config> {
    /// Wraps this client in a [`TracedClient`] (see [`TracedClient::new`]).
    fn traced(self) -> TracedClient<C>;
}

impl<C: Config> OpenAIClientExt<C> for Client<C> {
    fn traced(self) -> TracedClient<C> {
        TracedClient::new(self)
    }
}
