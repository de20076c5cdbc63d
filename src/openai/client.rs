//! [`TracedClient`]: an async-openai [`Client`] whose calls become spans.

use std::sync::Arc;

use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::middleware::{retry::OpenAIRetryLayer, HttpRequestFactory, ReqwestService};
use async_openai::Client;

use crate::call::operation::{CallSite, CaptureTicket};
use crate::call::sink::BodySink;
use crate::openai::capture::CaptureLayer;
use crate::openai::provider;
use crate::setup::pipeline::Settings;

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
    pub(crate) fn provider_for(&self, model: &str, settings: &Settings) -> String {
        if let Some(p) = self
            .provider_override
            .as_ref()
            .or(settings.provider.as_ref())
        {
            return p.clone();
        }
        self.host_provider
            .or_else(|| provider::provider_from_model(model))
            .unwrap_or(provider::FALLBACK_PROVIDER)
            .to_owned()
    }
}

/// An async-openai client whose calls are traced.
///
/// `client.chat().create(request)` takes and returns exactly async-openai's types, and the
/// `Result` is always what async-openai produced: tracing never changes or fails a call.
///
/// ```no_run
/// use async_openai::{config::OpenAIConfig, Client};
/// use mlflow_tracing::{OpenAIClientExt, TracedClient};
///
/// let config = OpenAIConfig::new()
///     .with_api_base("https://api.deepseek.com")
///     .with_api_key(std::env::var("DEEPSEEK_API_KEY").unwrap_or_default());
/// // Your HTTP stack as it is: typed fields recorded.
/// let client = Client::with_config(config.clone()).traced();
/// // Plus provider extras read from the raw body, over the reqwest client you give.
/// let client = TracedClient::with_http_client(Client::with_config(config), reqwest::Client::new());
/// ```
///
/// # Your HTTP stack stays yours
///
/// [`TracedClient::new`] (`.traced()`) never touches the client's HTTP stack: your
/// `reqwest::Client`, proxy, timeouts and retry policy stay in force. Every request carries
/// a W3C `traceparent` header naming its span (as MLflow autolog sends it), added per request.
///
/// To also record what async-openai's typed structs drop (DeepSeek's `reasoning_content` and
/// `prompt_cache_*_tokens`), the tracer must see the raw response body, which takes a
/// [`CaptureLayer`] in the HTTP stack. async-openai 0.43 offers no way to read or wrap the
/// stack a `Client` already has, so hand the stack over when you build the traced client:
/// [`TracedClient::with_http_client`] (your `reqwest::Client` under async-openai's default
/// retry, capture on top), [`TracedClient::with_http_service`] (capture on top of your own
/// tower stack), or [`TracedClient::with_installed_capture`] when you placed the layer yourself.
#[derive(Clone)]
pub struct TracedClient<C: Config> {
    client: Client<C>,
    meta: Arc<ClientMeta>,
    capture: Option<CaptureLayer>,
}

/// Provider, server (no credentials) and capture: never the wrapped client's configuration,
/// whose custom headers may hold keys.
impl<C: Config> std::fmt::Debug for TracedClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedClient")
            .field("meta", &self.meta)
            .field("capture", &self.capture.is_some())
            .finish_non_exhaustive()
    }
}

impl<C: Config> TracedClient<C> {
    /// Traces `client` as it is, its HTTP stack untouched. Provider fields that
    /// async-openai's typed structs drop are not recorded; see
    /// [`TracedClient::with_http_client`].
    pub fn new(client: Client<C>) -> Self {
        let meta = ClientMeta::new(client.config().api_base());
        Self {
            client,
            meta: Arc::new(meta),
            capture: None,
        }
    }

    /// Traces `client`, executing its requests with `http` under async-openai's default retry
    /// policy (3 retries on 429/5xx/connect errors), exactly what `client.with_http_client(http)`
    /// does, with the [`CaptureLayer`] on top so provider extras are recorded.
    pub fn with_http_client(client: Client<C>, http: reqwest::Client) -> Self {
        let service = tower::ServiceBuilder::new()
            .layer(OpenAIRetryLayer::default())
            .service(ReqwestService::new(http));
        Self::with_http_service(client, service)
    }

    /// Traces `client`, executing its requests with your tower `service` (your retry, timeout,
    /// concurrency layers and transport) with the [`CaptureLayer`] on top.
    pub fn with_http_service<S>(client: Client<C>, service: S) -> Self
    where
        S: tower::Service<HttpRequestFactory, Response = reqwest::Response, Error = OpenAIError>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let capture = CaptureLayer::new();
        let client = client.with_http_service(tower::Layer::layer(&capture, service));
        Self::with_installed_capture(client, &capture)
    }

    /// Traces a client on which you installed `capture` yourself (`Client::with_http_service`
    /// with a stack containing this layer or a clone of it). The client is used as it is.
    pub fn with_installed_capture(client: Client<C>, capture: &CaptureLayer) -> Self {
        let mut traced = Self::new(client);
        traced.capture = Some(capture.clone());
        traced
    }

    /// Overrides the provider recorded for this client's calls (`gen_ai.provider.name`,
    /// `mlflow.llm.provider`). Default: detected from the API host, then the model name.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.meta).provider_override = Some(provider.into());
        self
    }

    /// The wrapped client, for calls you do not want traced.
    pub fn inner(&self) -> &Client<C> {
        &self.client
    }

    /// Unwraps the client.
    pub fn into_inner(self) -> Client<C> {
        self.client
    }
}

impl<C: Config> CallSite for TracedClient<C> {
    fn provider(&self, model: &str, settings: &Settings) -> String {
        self.meta.provider_for(model, settings)
    }

    fn server(&self) -> Option<&(String, Option<u16>)> {
        self.meta.server.as_ref()
    }

    fn capture(&self, sink: Arc<dyn BodySink>) -> Option<CaptureTicket> {
        self.capture.as_ref().map(|layer| layer.register(sink))
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
