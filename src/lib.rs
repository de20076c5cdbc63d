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
//! A traced call costs its caller the span, a copy of the request and the captured response
//! body: the JSON work (serialising the request, parsing the response, capping, mapping to
//! attributes) is a recording the call leaves for the span processor, which runs it on its own
//! thread (`mlflow-tracing-record`) before the span is queued. Finished spans go through a
//! bounded queue (4096 spans / 32 MiB) to one export thread per
//! pipeline, which batches them (512 per request), retries refused connections, timeouts,
//! 429 and 5xx with backoff (honouring `Retry-After`), splits a batch on 413 and cuts a span
//! too large alone. Nothing on the app's threads waits on the network, `init` included: the
//! MLflow experiment is looked up by the export thread. Every span is counted
//! ([`TelemetryGuard::stats`], [`DeliveryStats`]), the first failure is reported once on stderr
//! and as a `tracing` warning (target `mlflow_tracing::delivery`), naming the endpoint and the
//! cause, and [`TelemetryGuard::shutdown`] says what was not delivered.
//!
//! # Architecture
//!
//! The source tree is in layers, and a module imports only from the layers below it (no
//! import cycle between top-level modules; `lib.rs` only declares and re-exports):
//!
//! ```text
//! openai      async-openai on the engine
//! call        the traced-call engine
//! setup       the wiring: init, guard, span processor, per-pipeline state
//! metrics     metrics derived from finished spans
//! delivery    export lanes: queue, worker, sinks, counters, warnings
//! mlflow      the MLflow REST client, trace read-back
//! transport   one OTLP request over HTTP or gRPC; how its failure is classified
//! config      the settings every layer reads
//! record      pure mapping: values in, attributes out
//! vocab error the vocabulary; the crate's error type
//! ```
//!
//! async-openai types appear only in `openai/`, `call/` and `record/error.rs` (which maps an
//! `OpenAIError`); everything from `setup/` down works on spans and settings.
//!
//! | folder | what |
//! |---|---|
//! | `vocab/` | the vocabulary: attribute keys ([`semconv`]), span types, JSON capping, URL redaction |
//! | `record/` | pure mapping per operation (chat, embeddings, Responses, errors, usage): values in, attributes out, unit-tested |
//! | `config/` | [`Config`]: builder, environment variables, defaults; the OTLP exporter settings (`OTEL_EXPORTER_OTLP_*`) |
//! | `transport/` | how one OTLP request travels (HTTP or gRPC) and what its answer means: failure classes, backoff, `Retry-After` |
//! | `mlflow/` | one MLflow REST client (async; the export worker drives it through its own runtime): experiments, trace metadata, traces read back |
//! | `delivery/` | one export lane per destination (queue, thread, counters): batching, splitting, retries, warnings |
//! | `metrics/` | MLflow's span duration and the GenAI client metrics, derived from finished spans, exported over OTLP |
//! | `setup/` | the wiring: the per-pipeline state ([`PipelineLayer`]), [`init`] / [`layer`], [`TelemetryGuard`], the span processor and its recording thread, read-back |
//! | `call/` | the traced-call engine (enable check, span, capture sink, finish exactly once, streams), user spans, trace-level setters |
//! | `openai/` | async-openai on the engine: [`TracedClient`], its API groups, the [`CaptureLayer`], provider detection, stream aggregates |
//!
//! Nothing is process-wide: each [`init`] / [`layer`] builds one pipeline (settings, switch,
//! trace-level data, export handles) that traced calls and `#[trace]` spans find through the
//! current `tracing` subscriber, so two pipelines (two subscribers, two tests) live side by
//! side. A new operation is one type implementing the engine's `Operation` trait: its span
//! name, request → attributes and response → attributes (plus, for streams, an aggregate that
//! rebuilds the response); the engine does everything else.
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
