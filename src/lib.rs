//! MLflow tracing for Rust LLM apps: what `mlflow.openai.autolog()` does for Python, for
//! [async-openai] calls to DeepSeek or any OpenAI-compatible API.
//!
//! Every chat completion made through a [`TracedClient`] becomes a `tracing` span carrying
//! MLflow's attributes (span type `CHAT_MODEL`, inputs, outputs, token usage, tools) *and* the
//! OpenTelemetry GenAI ones (`gen_ai.*`). tracing-opentelemetry bridges it to OpenTelemetry,
//! and OTLP/HTTP exports it to MLflow's `/v1/traces` endpoint, to a collector, or to any OTel
//! backend. With no destination configured, a span tree is printed when the guard drops.
//!
//! # Quickstart
//!
//! ```no_run
//! use async_openai::{config::OpenAIConfig, types::chat::*, Client};
//! use mlflow_tracing::{Config, OpenAIClientExt};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // MLFLOW_TRACKING_URI / MLFLOW_EXPERIMENT_NAME select MLflow; nothing set → console.
//! let _guard = mlflow_tracing::init(Config::from_env())?;
//!
//! let client = Client::with_config(
//!     OpenAIConfig::new()
//!         .with_api_base("https://api.deepseek.com")
//!         .with_api_key(std::env::var("DEEPSEEK_API_KEY")?),
//! )
//! .traced();
//!
//! let request = CreateChatCompletionRequestArgs::default()
//!     .model("deepseek-chat")
//!     .messages([ChatCompletionRequestUserMessage::from("What is the capital of France?").into()])
//!     .temperature(0.1)
//!     .max_tokens(100u32)
//!     .build()?;
//! let response = client.chat().create(request).await?; // async-openai's own types
//! # Ok(()) }
//! ```
//!
//! # Recorded attributes
//!
//! | key | value |
//! |---|---|
//! | `mlflow.spanType` | `CHAT_MODEL` (plain string) |
//! | `mlflow.spanInputs` / `mlflow.spanOutputs` | request / response JSON (capped, valid JSON) |
//! | `mlflow.chat.tokenUsage` | `{"input_tokens","output_tokens","total_tokens"[,"cache_read_input_tokens"]}` |
//! | `mlflow.chat.tools` | tool definitions, when tools are passed |
//! | `mlflow.message.format`, `mlflow.llm.model`, `mlflow.llm.provider`, `mlflow.spanLogLevel` | |
//! | `model`, `temperature`, `max_tokens`, `tools`, ... | every request parameter, as autolog records them |
//! | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.*`, `gen_ai.response.*`, `gen_ai.usage.*` | OpenTelemetry GenAI conventions |
//! | `deepseek.usage.prompt_cache_{hit,miss}_tokens`, `deepseek.reasoning_content` | read from the raw response |
//! | `error.type`, `http.response.status_code`, `exception` event | on failure (status ERROR) |
//! | `mlflow.traceTag.mlflow.traceName` | on root spans: the trace name |
//!
//! The keys are constants in [`semconv`]. The API key, `Authorization` header and URL
//! credentials are never recorded.
//!
//! # Delivery
//!
//! Nothing on the app's threads waits on the network, `init` included: spans go through a
//! bounded queue to an export thread per destination, which batches them, retries passing
//! failures with backoff (honouring `Retry-After`) and splits a batch the server finds too
//! large. Spans leave in the order they ended, so a trace's root never arrives before its
//! children. On the MLflow route, the trace metadata MLflow Python sends (source, user,
//! previews, sizes) goes in the export thread's spare time and never holds up a span; what
//! MLflow cannot take beside the spans is skipped and counted. Every span is counted
//! ([`TelemetryGuard::stats`], [`DeliveryStats`]); each kind of loss is said once on stderr
//! and as a `tracing` warning (target `mlflow_tracing::delivery`), naming the endpoint and the
//! cause; [`TelemetryGuard::shutdown`] says what was not delivered. An app that builds its own
//! `SdkTracerProvider` gets the same delivery with [`DeliveryProcessor`].
//!
//! # Architecture
//!
//! The modules are in layers, each importing only from those below it (no import cycle
//! between top-level modules; `lib.rs` only declares and re-exports), from the bottom:
//! `vocab`/`error` → `record` → `config` → `transport` → `mlflow` → `delivery` → `metrics` →
//! `setup` → `call` → `openai`. async-openai types appear only in `openai/`, `call/` and
//! `record/error.rs`. Nothing is process-wide: each [`init`] / [`layer`] builds one pipeline
//! that traced calls and `#[trace]` spans find through the current `tracing` subscriber, so
//! two pipelines (two subscribers, two tests) live side by side. `ARCHITECTURE.md` in the
//! repository has the threads, the data flow and where each concern lives.
//!
//! # Testing your code
//!
//! With the `testing` feature, `mlflow_tracing::testing::TestPipeline` traces your code into memory, in its
//! own subscriber, and returns [`Trace`]s to assert on (see the module's example).
//!
//! # Versions
//!
//! Built and tested with opentelemetry 0.33, tracing-opentelemetry 0.34 and async-openai 0.43,
//! against MLflow 3.17. MSRV 1.88.
//!
//! [async-openai]: https://docs.rs/async-openai

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

mod call;
mod config;
mod delivery;
mod error;
mod metrics;
mod mlflow;
mod openai;
#[cfg(test)]
mod properties;
mod record;
mod setup;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;
mod vocab;

pub use vocab::semconv;

pub use call::trace_info::{
    set_session_id, set_trace_metadata, set_trace_name, set_trace_tag, set_user_id,
};
#[doc(hidden)]
pub use call::user_span::__private;
pub use call::user_span::{spawn, with_span, UserSpan};
pub use config::defaults;
pub use config::{Auth, Compression, Config, Destination, Experiment, Protocol, Shape};
pub use delivery::{DeliveryHandle, DeliveryProcessor, DeliveryReport, DeliveryStats};
pub use error::Error;
pub use mlflow::trace::{SpanEvent, TokenUsage, Trace, TraceInfo, TraceSpan};
/// Traces a function as an MLflow span, like Python's `@mlflow.trace` decorator.
///
/// The span records the arguments as `mlflow.spanInputs` (a JSON object keyed by parameter
/// name; arguments that are not `Serialize` show their type name), the return value as
/// `mlflow.spanOutputs`, `mlflow.spanType` and `mlflow.spanFunctionName`. A function returning
/// `Result` records `Ok(v)` as the output and an `Err(e)` as status ERROR with an `exception`
/// event (`e`'s type and `Display`). LLM calls and other spans inside nest under it. Works on
/// sync and `async` functions and methods; `self` is never recorded.
///
/// Options: `span_type = SpanType::Tool` (or any expression converting into [`SpanType`],
/// such as `"MY_TYPE"`; default `UNKNOWN`), `name = "..."` (default: the function name),
/// `skip(arg, ..)`, `skip_all`.
///
/// ```
/// use mlflow_tracing::{trace, SpanType};
///
/// #[trace(span_type = SpanType::Tool)]
/// fn get_weather(city: &str) -> String {
///     if city == "Paris" { "rainy".into() } else { "unknown".into() }
/// }
///
/// #[trace(span_type = SpanType::Agent, name = "agent", skip(api_key))]
/// async fn run(question: String, api_key: &str) -> Result<String, std::io::Error> {
///     let _ = api_key;
///     Ok(get_weather(&question))
/// }
/// # assert_eq!(get_weather("Paris"), "rainy");
/// ```
///
/// When tracing is disabled ([`set_enabled`]) the function runs with no span and no
/// serialization.
pub use mlflow_tracing_macros::trace;
pub use openai::capture::{CaptureLayer, CaptureService};
pub use openai::chat::TracedChat;
pub use openai::client::{OpenAIClientExt, TracedClient};
pub use openai::embeddings::TracedEmbeddings;
pub use openai::responses::TracedResponses;
pub use record::content::{Capture, Redactor};
pub use setup::guard::TelemetryGuard;
pub use setup::init::{default_filter, init, layer, OtelLayer};
pub use setup::pipeline::{is_enabled, set_enabled, PipelineLayer};
pub use setup::processor::MlflowSpanProcessor;
pub use setup::traces::{get_trace, last_trace_id};
pub use vocab::span_type::SpanType;

/// Ready-made redaction for [`Config::with_redactor`]: e-mail addresses, payment card numbers
/// (Luhn-checked) and API keys in string values become `[EMAIL]`, `[CARD]` and `[API_KEY]`.
///
/// ```
/// let mut request = serde_json::json!({"messages": [
///     {"role": "user", "content": "I am jane@example.com, card 4111 1111 1111 1111"}
/// ]});
/// mlflow_tracing::redact::patterns(&mut request);
/// assert_eq!(request["messages"][0]["content"], "I am [EMAIL], card [CARD]");
/// ```
pub mod redact {
    pub use crate::record::patterns::{patterns, redact_text};
}

/// `tracing` target of every span and event this crate emits.
pub const TARGET: &str = "mlflow_tracing";

/// Internals for the benchmarks in `benches/`, behind the `__bench` feature (on only in this
/// crate's own dev builds). Not public API.
#[cfg(feature = "__bench")]
#[doc(hidden)]
#[path = "bench.rs"]
pub mod __bench;
