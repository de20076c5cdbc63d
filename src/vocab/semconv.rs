//! Every attribute key, event name and environment variable this crate reads or writes.
//!
//! Nothing else in the crate spells a key as a string literal: spans, mapping functions and
//! tests all go through these constants, so following a convention change is a one-file edit.
//!
//! Three vocabularies are written side by side on every span so that no backend is favoured:
//! [`mlflow`] (what MLflow's UI, search and token accounting read), [`gen_ai`] (the OpenTelemetry
//! GenAI semantic conventions, read by Phoenix, Jaeger, Grafana and friends) and a few general
//! OpenTelemetry keys in [`otel`]. The `opentelemetry-semantic-conventions` crate's `gen_ai`
//! constants are experimental and deprecated, so we own ours.

/// MLflow's span and trace attributes (see MLflow's `SpanAttributeKey`).
pub mod mlflow {
    /// Span type, a *plain* string such as `CHAT_MODEL` (never JSON-quoted: a quoted value breaks
    /// MLflow's `span.type` search). Example: `CHAT_MODEL`.
    pub const SPAN_TYPE: &str = "mlflow.spanType";
    /// Span inputs as JSON text. Example: `{"model":"deepseek-chat","messages":[...]}`.
    pub const SPAN_INPUTS: &str = "mlflow.spanInputs";
    /// Span outputs as JSON text. Example: the whole `chat.completion` object.
    pub const SPAN_OUTPUTS: &str = "mlflow.spanOutputs";
    /// Name of the traced function (plain string). Example: `get_weather`.
    pub const SPAN_FUNCTION_NAME: &str = "mlflow.spanFunctionName";
    /// Log level of the span as an integer: 20 (INFO) on success, 40 (ERROR) on failure.
    pub const SPAN_LOG_LEVEL: &str = "mlflow.spanLogLevel";
    /// Per-call token usage as JSON text with [`usage`] keys; MLflow sums it into the trace's
    /// `token_usage`. Example: `{"input_tokens":12,"output_tokens":8,"total_tokens":20}`.
    pub const CHAT_TOKEN_USAGE: &str = "mlflow.chat.tokenUsage";
    /// Tool definitions passed to the model, as a JSON array in OpenAI's nested format.
    pub const CHAT_TOOLS: &str = "mlflow.chat.tools";
    /// Message format of inputs/outputs, which selects the UI's chat rendering. Example: `openai`.
    pub const MESSAGE_FORMAT: &str = "mlflow.message.format";
    /// Model that answered (plain string). Example: `deepseek-chat`.
    pub const LLM_MODEL: &str = "mlflow.llm.model";
    /// Provider of the model (plain string). Example: `deepseek`.
    pub const LLM_PROVIDER: &str = "mlflow.llm.provider";
    /// Prefix of root-span attributes that MLflow turns into trace tags.
    /// Example: `mlflow.traceTag.team` → tag `team`.
    pub const TRACE_TAG_PREFIX: &str = "mlflow.traceTag.";
    /// Root-span attribute that sets the trace name shown in MLflow's trace list.
    pub const TRACE_NAME: &str = "mlflow.traceTag.mlflow.traceName";
    /// Prefix of the per-chunk span events of a streamed call: `mlflow.chunk.item.0`, `.1`, ...
    pub const CHUNK_EVENT_PREFIX: &str = "mlflow.chunk.item.";
    /// Attribute of a chunk event holding the chunk's JSON.
    pub const CHUNK_VALUE: &str = "mlflow.chunk.value";
    /// Value of [`MESSAGE_FORMAT`] for OpenAI-compatible chat payloads.
    pub const MESSAGE_FORMAT_OPENAI: &str = "openai";
    /// [`SPAN_LOG_LEVEL`] value of a successful span (Python's `logging.INFO`).
    pub const LOG_LEVEL_INFO: i64 = 20;
    /// [`SPAN_LOG_LEVEL`] value of a failed span (Python's `logging.ERROR`).
    pub const LOG_LEVEL_ERROR: i64 = 40;

    /// Keys inside the [`CHAT_TOKEN_USAGE`] JSON object (and MLflow's trace `token_usage`).
    pub mod usage {
        /// Prompt tokens.
        pub const INPUT_TOKENS: &str = "input_tokens";
        /// Completion tokens.
        pub const OUTPUT_TOKENS: &str = "output_tokens";
        /// Prompt + completion tokens; MLflow counts a trace total of 0 without it.
        pub const TOTAL_TOKENS: &str = "total_tokens";
        /// Prompt tokens served from the provider's cache.
        pub const CACHE_READ_INPUT_TOKENS: &str = "cache_read_input_tokens";
    }

    /// Trace-level keys MLflow derives from span attributes.
    pub mod trace {
        /// Trace tag carrying the trace name.
        pub const NAME_TAG: &str = "mlflow.traceName";
        /// Trace metadata key holding the JSON token usage of the whole trace.
        pub const TOKEN_USAGE: &str = "mlflow.trace.tokenUsage";
        /// Trace metadata key holding the session id.
        pub const SESSION: &str = "mlflow.trace.session";
        /// Trace metadata key holding the user id.
        pub const USER: &str = "mlflow.trace.user";
    }

    /// Trace metadata keys the client computes and sends with StartTraceV3
    /// (`POST /api/3.0/mlflow/traces`) after the root span, as MLflow's Python client does;
    /// the server derives none of them from spans.
    pub mod trace_info {
        /// Version of MLflow's trace schema; always [`TRACE_SCHEMA_VERSION_VALUE`].
        pub const TRACE_SCHEMA_VERSION: &str = "mlflow.trace_schema.version";
        /// Value of [`TRACE_SCHEMA_VERSION`] (MLflow's `TRACE_SCHEMA_VERSION`).
        pub const TRACE_SCHEMA_VERSION_VALUE: &str = "3";
        /// The program that made the trace, as invoked (`argv[0]`, like Python's `sys.argv[0]`);
        /// the UI's Source column shows its basename. Example: `target/debug/examples/basic`.
        pub const SOURCE_NAME: &str = "mlflow.source.name";
        /// [`SOURCE_NAME`] when the program path is unknown (Python's value for an empty argv).
        pub const SOURCE_NAME_UNKNOWN: &str = "<console>";
        /// Kind of source; the UI shows nothing in the Source column without it.
        /// Always [`SOURCE_TYPE_LOCAL`] for this crate.
        pub const SOURCE_TYPE: &str = "mlflow.source.type";
        /// Value of [`SOURCE_TYPE`] for a program run locally (MLflow's `SourceType.LOCAL`).
        pub const SOURCE_TYPE_LOCAL: &str = "LOCAL";
        /// Git commit (40 hex digits) of the repository containing the working directory;
        /// empty when there is none.
        pub const SOURCE_GIT_COMMIT: &str = "mlflow.source.git.commit";
        /// Current branch of that repository; empty when HEAD is detached or there is no repo.
        pub const SOURCE_GIT_BRANCH: &str = "mlflow.source.git.branch";
        /// URL of the repository's first remote, credentials removed; empty when there is none.
        /// Example: `https://github.com/org/app.git`.
        pub const SOURCE_GIT_REPO_URL: &str = "mlflow.source.git.repoURL";
        /// Who ran the program: `MLFLOW_TRACKING_USERNAME`, else the login name
        /// (`LOGNAME`, `USER`, `LNAME`, `USERNAME`), else [`USER_UNKNOWN`]. Example: `alice`.
        pub const USER: &str = "mlflow.user";
        /// [`USER`] when no user name is found.
        pub const USER_UNKNOWN: &str = "unknown";
        /// The root span's [`super::SPAN_INPUTS`], cut to [`MAX_CHARS`] characters
        /// (empty when absent). Example: `{"model":"deepseek-chat","messages":[...]}`.
        pub const TRACE_INPUTS: &str = "mlflow.traceInputs";
        /// The root span's [`super::SPAN_OUTPUTS`], cut like [`TRACE_INPUTS`].
        pub const TRACE_OUTPUTS: &str = "mlflow.traceOutputs";
        /// Estimated size of the whole trace in bytes, as a decimal string (MLflow's deprecated
        /// duplicate of `total_size_bytes` in [`TRACE_SIZE_STATS`]). Example: `3190`.
        pub const TRACE_SIZE_BYTES: &str = "mlflow.trace.sizeBytes";
        /// JSON size statistics of the trace; `num_spans` is the exact span count, which the
        /// UI's trace view polls for. Example: `{"total_size_bytes": 3190, "num_spans": 1,
        /// "max": 1838, "p25": 1838, "p50": 1838, "p75": 1838}`.
        pub const TRACE_SIZE_STATS: &str = "mlflow.trace.sizeStats";
        /// Longest [`TRACE_INPUTS`] / [`TRACE_OUTPUTS`] value in characters (MLflow's
        /// `MAX_CHARS_IN_TRACE_INFO_METADATA`); longer ones end with [`TRUNCATION_SUFFIX`].
        pub const MAX_CHARS: usize = 250;
        /// End of a value cut to [`MAX_CHARS`] (MLflow's `TRUNCATION_SUFFIX`).
        pub const TRUNCATION_SUFFIX: &str = "...";

        /// Keys inside the [`TRACE_SIZE_STATS`] JSON object, in MLflow's order.
        pub mod size_stats {
            /// Estimated size of the whole trace in bytes.
            pub const TOTAL_SIZE_BYTES: &str = "total_size_bytes";
            /// Number of spans of the trace.
            pub const NUM_SPANS: &str = "num_spans";
            /// Size of the largest span in bytes.
            pub const MAX: &str = "max";
            /// 25th percentile of the span sizes in bytes.
            pub const P25: &str = "p25";
            /// Median span size in bytes.
            pub const P50: &str = "p50";
            /// 75th percentile of the span sizes in bytes.
            pub const P75: &str = "p75";
        }
    }
}

/// The semantic-conventions release whose GenAI attribute and metric names this crate
/// follows: core `open-telemetry/semantic-conventions` v1.41.1, the last release in which
/// `gen_ai.*` is not deprecated. v1.42 marks it "moved" to
/// `open-telemetry/semantic-conventions-genai`, which has published no release yet (its
/// `main` keeps these names; its `gen_ai.client.inference.*` token counters are proposals).
pub const GENAI_SEMCONV_VERSION: &str = "1.41.1";
/// Schema URL of [`GENAI_SEMCONV_VERSION`].
pub const GENAI_SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.41.1";

/// OpenTelemetry GenAI semantic conventions (client inference spans), as of
/// [`GENAI_SEMCONV_VERSION`].
pub mod gen_ai {
    /// Operation, `chat` for chat completions.
    pub const OPERATION_NAME: &str = "gen_ai.operation.name";
    /// Provider, e.g. `deepseek`, `openai`.
    pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
    /// Requested model. Example: `deepseek-chat`.
    pub const REQUEST_MODEL: &str = "gen_ai.request.model";
    /// Sampling temperature (double). Example: `0.1`.
    pub const REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
    /// Maximum output tokens (int). Example: `100`.
    pub const REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
    /// Nucleus sampling (double).
    pub const REQUEST_TOP_P: &str = "gen_ai.request.top_p";
    /// Frequency penalty (double).
    pub const REQUEST_FREQUENCY_PENALTY: &str = "gen_ai.request.frequency_penalty";
    /// Presence penalty (double).
    pub const REQUEST_PRESENCE_PENALTY: &str = "gen_ai.request.presence_penalty";
    /// Stop sequences (string array).
    pub const REQUEST_STOP_SEQUENCES: &str = "gen_ai.request.stop_sequences";
    /// Seed (int).
    pub const REQUEST_SEED: &str = "gen_ai.request.seed";
    /// Number of choices requested (int), when not 1.
    pub const REQUEST_CHOICE_COUNT: &str = "gen_ai.request.choice.count";
    /// Whether the call streams (bool).
    pub const REQUEST_STREAM: &str = "gen_ai.request.stream";
    /// Encoding formats requested of an embeddings call (string array). Example: `["base64"]`.
    pub const REQUEST_ENCODING_FORMATS: &str = "gen_ai.request.encoding_formats";
    /// Dimensions requested of each embedding (int). Example: `1536`.
    pub const EMBEDDINGS_DIMENSION_COUNT: &str = "gen_ai.embeddings.dimension.count";
    /// Requested output type: `text` or `json`.
    pub const OUTPUT_TYPE: &str = "gen_ai.output.type";
    /// Response id. Example: `chatcmpl-123`.
    pub const RESPONSE_ID: &str = "gen_ai.response.id";
    /// Model that answered. Example: `deepseek-chat`.
    pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// Finish reason of every choice (string array). Example: `["stop"]`.
    pub const RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
    /// Prompt tokens (int).
    pub const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// Completion tokens (int).
    pub const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    /// Prompt tokens read from the provider's cache (int).
    pub const USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
    /// Reasoning tokens within the completion (int).
    pub const USAGE_REASONING_OUTPUT_TOKENS: &str = "gen_ai.usage.reasoning.output_tokens";
    /// Input tokens written to the provider's cache, when it reports them (Anthropic-style
    /// `cache_creation_input_tokens`).
    pub const USAGE_CACHE_CREATION_INPUT_TOKENS: &str = "gen_ai.usage.cache_creation.input_tokens";
    /// Which tokens a `gen_ai.client.token.usage` point counts: [`TOKEN_TYPE_INPUT`] or
    /// [`TOKEN_TYPE_OUTPUT`].
    pub const TOKEN_TYPE: &str = "gen_ai.token.type";
    /// Value of [`TOKEN_TYPE`] for prompt tokens.
    pub const TOKEN_TYPE_INPUT: &str = "input";
    /// Value of [`TOKEN_TYPE`] for completion tokens.
    pub const TOKEN_TYPE_OUTPUT: &str = "output";
    /// Seconds from the request to the first streamed chunk (double).
    pub const RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
    /// Input messages in the GenAI `parts` JSON shape (opt-in content, see
    /// [`crate::Config::with_genai_content`]).
    pub const INPUT_MESSAGES: &str = "gen_ai.input.messages";
    /// Output messages in the GenAI `parts` JSON shape, with `finish_reason` (opt-in content).
    pub const OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
    /// System instructions given apart from the messages (Responses `instructions`), as a
    /// JSON array of `{"type":"text","content":...}` parts (opt-in content).
    pub const SYSTEM_INSTRUCTIONS: &str = "gen_ai.system_instructions";
    /// Tool name on a tool-execution span. Example: `get_weather`.
    pub const TOOL_NAME: &str = "gen_ai.tool.name";
    /// Agent name on an agent span. Example: `run_tool_agent`.
    pub const AGENT_NAME: &str = "gen_ai.agent.name";
    /// Conversation (session) id.
    pub const CONVERSATION_ID: &str = "gen_ai.conversation.id";
    /// Value of [`PROVIDER_NAME`] for OpenAI itself (the only provider whose spans carry
    /// `openai.*` attributes in the conventions' shape).
    pub const PROVIDER_OPENAI: &str = "openai";
    /// Value of [`OPERATION_NAME`] for chat completions.
    pub const OPERATION_CHAT: &str = "chat";
    /// Value of [`OPERATION_NAME`] for completion-style LLM calls.
    pub const OPERATION_TEXT_COMPLETION: &str = "text_completion";
    /// Value of [`OPERATION_NAME`] for tool executions.
    pub const OPERATION_EXECUTE_TOOL: &str = "execute_tool";
    /// Value of [`OPERATION_NAME`] for agent runs.
    pub const OPERATION_INVOKE_AGENT: &str = "invoke_agent";
    /// Value of [`OPERATION_NAME`] for embedding calls.
    pub const OPERATION_EMBEDDINGS: &str = "embeddings";
    /// Value of [`OPERATION_NAME`] for retrieval steps.
    pub const OPERATION_RETRIEVAL: &str = "retrieval";
}

/// OpenAI-specific attributes of the GenAI conventions.
pub mod openai {
    /// The namespace of every key below (the conventions' shape keeps them only when the
    /// provider is OpenAI).
    pub const NAMESPACE: &str = "openai.";
    /// Service tier the caller asked for.
    pub const REQUEST_SERVICE_TIER: &str = "openai.request.service_tier";
    /// Service tier that served the call.
    pub const RESPONSE_SERVICE_TIER: &str = "openai.response.service_tier";
    /// System fingerprint of the response.
    pub const RESPONSE_SYSTEM_FINGERPRINT: &str = "openai.response.system_fingerprint";
    /// Which OpenAI API the call used: [`API_TYPE_RESPONSES`] for the Responses API.
    pub const API_TYPE: &str = "openai.api.type";
    /// Value of [`API_TYPE`] for the Responses API (`/responses`).
    pub const API_TYPE_RESPONSES: &str = "responses";
}

/// DeepSeek fields that async-openai's typed structs drop; read from the raw JSON.
pub mod deepseek {
    /// `usage.prompt_cache_hit_tokens` (int).
    pub const USAGE_PROMPT_CACHE_HIT_TOKENS: &str = "deepseek.usage.prompt_cache_hit_tokens";
    /// `usage.prompt_cache_miss_tokens` (int).
    pub const USAGE_PROMPT_CACHE_MISS_TOKENS: &str = "deepseek.usage.prompt_cache_miss_tokens";
    /// `choices[0].message.reasoning_content` of `deepseek-reasoner` (string, capped).
    pub const REASONING_CONTENT: &str = "deepseek.reasoning_content";
}

/// This crate's own keys, for facts no convention names yet (streaming detail).
pub mod tracer {
    /// Whether the call ran to its end (bool): `false` for a stream dropped early, cut off
    /// before `[DONE]`, or a call whose future was dropped.
    pub const COMPLETED: &str = "mlflow_tracing.completed";
    /// Where the token usage came from: [`USAGE_SOURCE_PROVIDER`] or [`USAGE_SOURCE_ABSENT`].
    pub const USAGE_SOURCE: &str = "mlflow_tracing.usage.source";
    /// Usage reported by the provider.
    pub const USAGE_SOURCE_PROVIDER: &str = "provider";
    /// No usage was reported.
    pub const USAGE_SOURCE_ABSENT: &str = "absent";
    /// Whether the tracer added `stream_options.include_usage` to the request (bool).
    pub const STREAM_USAGE_INJECTED: &str = "mlflow_tracing.stream.usage_injected";
    /// Chunks received from the server (int), the usage-only chunk included.
    pub const STREAM_CHUNKS: &str = "mlflow_tracing.stream.chunks";
    /// SSE events of a streamed call that the tracer skipped because one event (or line)
    /// passed its 4 MiB bound (the caller still received them).
    pub const STREAM_OVERSIZED_EVENTS: &str = "mlflow_tracing.stream.oversized_events";
    /// Bytes of a streamed answer (content, reasoning, tool arguments) not kept for the span
    /// because they passed the attribute cap (the caller still received them).
    pub const STREAM_DROPPED_BYTES: &str = "mlflow_tracing.stream.dropped_bytes";
    /// Chunks handed to the caller (int).
    pub const STREAM_CHUNKS_CONSUMED: &str = "mlflow_tracing.stream.chunks_consumed";
    /// Seconds from the request to the first content token (double).
    pub const TIME_TO_FIRST_CONTENT: &str = "mlflow_tracing.stream.time_to_first_content";
    /// Seconds from the request to the first reasoning token (double, DeepSeek reasoner).
    pub const TIME_TO_FIRST_REASONING: &str = "mlflow_tracing.stream.time_to_first_reasoning";
    /// Prefix of root-span attributes carrying trace metadata set with
    /// [`crate::set_trace_metadata`]; for MLflow they are sent as trace info after the
    /// spans, not as attributes. Example: `mlflow_tracing.traceMetadata.app.version`.
    pub const TRACE_METADATA_PREFIX: &str = "mlflow_tracing.traceMetadata.";
    /// Seconds from the request to the first tool-call delta (double).
    pub const TIME_TO_FIRST_TOOL_CALL: &str = "mlflow_tracing.stream.time_to_first_tool_call";
    /// Set (bool `true`) on a span whose largest attributes were cut at export because the
    /// destination refused it as too large (HTTP 413).
    pub const TRUNCATED: &str = "mlflow_tracing.truncated";
}

/// General OpenTelemetry keys (stable semantic conventions) and the `otel.*` fields that
/// tracing-opentelemetry interprets.
pub mod otel {
    /// Error class of a failed call. Example: `RateLimitError`, `cancelled`.
    pub const ERROR_TYPE: &str = "error.type";
    /// Host of the API server (credentials never included). Example: `api.deepseek.com`.
    pub const SERVER_ADDRESS: &str = "server.address";
    /// Port of the API server (int).
    pub const SERVER_PORT: &str = "server.port";
    /// HTTP status of a failed API call (int).
    pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
    /// Name of the event recording an error.
    pub const EXCEPTION_EVENT: &str = "exception";
    /// Event attribute: error class.
    pub const EXCEPTION_TYPE: &str = "exception.type";
    /// Event attribute: error message.
    pub const EXCEPTION_MESSAGE: &str = "exception.message";
    /// Session id; MLflow maps it to trace metadata `mlflow.trace.session`.
    pub const SESSION_ID: &str = "session.id";
    /// User id; MLflow maps it to trace metadata `mlflow.trace.user`.
    pub const USER_ID: &str = "user.id";
    /// Resource attribute naming the service; MLflow turns it into a trace tag.
    pub const SERVICE_NAME: &str = "service.name";
    /// `error.type` of a call whose future or stream was dropped before it finished.
    pub const ERROR_TYPE_CANCELLED: &str = "cancelled";
}

/// Metric names, units and advisory bucket boundaries: MLflow's span duration, and the GenAI
/// client metrics of [`GENAI_SEMCONV_VERSION`].
pub mod metrics {
    /// Meter (instrumentation scope) of MLflow's metric, as MLflow Python names it.
    pub const MLFLOW_METER: &str = "mlflow.tracing";
    /// MLflow Python's span duration histogram (`otel_metrics_mixin.py`).
    pub const SPAN_DURATION: &str = "mlflow.trace.span.duration";
    /// Unit of [`SPAN_DURATION`].
    pub const SPAN_DURATION_UNIT: &str = "ms";
    /// Description of [`SPAN_DURATION`], as MLflow Python words it.
    pub const SPAN_DURATION_DESCRIPTION: &str = "Duration of spans in milliseconds";
    /// [`SPAN_DURATION`] attribute: whether the span is a trace root (bool).
    pub const ROOT: &str = "root";
    /// [`SPAN_DURATION`] attribute: the MLflow span type (`CHAT_MODEL`, `UNKNOWN`, ...).
    pub const SPAN_TYPE: &str = "span_type";
    /// [`SPAN_DURATION`] attribute: `UNSET`, `OK` or `ERROR`.
    pub const SPAN_STATUS: &str = "span_status";
    /// [`SPAN_DURATION`] attribute: the MLflow experiment id.
    pub const EXPERIMENT_ID: &str = "experiment_id";
    /// [`SPAN_DURATION`] attribute prefix of each trace tag.
    pub const TAG_PREFIX: &str = "tags.";
    /// [`SPAN_DURATION`] attribute prefix of each trace metadata entry.
    pub const METADATA_PREFIX: &str = "metadata.";
    /// The OpenTelemetry SDK's default histogram buckets, which MLflow Python's histogram uses.
    pub const SPAN_DURATION_BUCKETS: [f64; 15] = [
        0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0,
        7500.0, 10000.0,
    ];

    /// Meter of the GenAI client metrics.
    pub const GENAI_METER: &str = "mlflow-tracing";
    /// Duration of one GenAI call, in seconds (histogram).
    pub const OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
    /// Tokens of one GenAI call, one point per [`super::gen_ai::TOKEN_TYPE`] (histogram).
    pub const TOKEN_USAGE: &str = "gen_ai.client.token.usage";
    /// Seconds from the request to the first chunk of a streamed call (histogram).
    pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai.client.operation.time_to_first_chunk";
    /// Unit of the duration metrics.
    pub const SECONDS: &str = "s";
    /// Unit of [`TOKEN_USAGE`].
    pub const TOKENS: &str = "{token}";
    /// Advisory buckets of the duration metrics.
    pub const DURATION_BUCKETS: [f64; 14] = [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ];
    /// Advisory buckets of [`TOKEN_USAGE`].
    pub const TOKEN_BUCKETS: [f64; 14] = [
        1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0,
        4194304.0, 16777216.0, 67108864.0,
    ];
}

/// Environment variables, in the precedence documented on [`crate::Config::from_env`].
pub mod env {
    /// MLflow tracking server, e.g. `http://127.0.0.1:5000`. Selects the MLflow destination.
    pub const MLFLOW_TRACKING_URI: &str = "MLFLOW_TRACKING_URI";
    /// Experiment id (numeric); wins over the name.
    pub const MLFLOW_EXPERIMENT_ID: &str = "MLFLOW_EXPERIMENT_ID";
    /// Experiment name; looked up and created when missing, like `mlflow.set_experiment`.
    pub const MLFLOW_EXPERIMENT_NAME: &str = "MLFLOW_EXPERIMENT_NAME";
    /// Bearer token for MLflow.
    pub const MLFLOW_TRACKING_TOKEN: &str = "MLFLOW_TRACKING_TOKEN";
    /// Basic-auth user for MLflow.
    pub const MLFLOW_TRACKING_USERNAME: &str = "MLFLOW_TRACKING_USERNAME";
    /// Basic-auth password for MLflow.
    pub const MLFLOW_TRACKING_PASSWORD: &str = "MLFLOW_TRACKING_PASSWORD";
    /// OTLP traces endpoint, used verbatim (HTTP: `.../v1/traces`; gRPC: `http://host:4317`).
    pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    /// OTLP metrics endpoint, used verbatim (HTTP: `.../v1/metrics`).
    pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
    /// OTLP base endpoint for every signal; HTTP appends `/v1/traces` or `/v1/metrics`.
    pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// OTLP transport for every signal: `grpc`, `http/protobuf` (default) or `http/json`.
    pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
    /// OTLP transport of traces (wins over the generic one).
    pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
    /// OTLP transport of metrics (wins over the generic one).
    pub const OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
    /// Headers of every OTLP request, `k1=v1,k2=v2`, URL-decoded.
    pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
    /// Headers of OTLP trace requests (wins over the generic ones).
    pub const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
    /// Headers of OTLP metric requests (wins over the generic ones).
    pub const OTEL_EXPORTER_OTLP_METRICS_HEADERS: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
    /// Timeout of one OTLP request, in milliseconds.
    pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
    /// Timeout of one OTLP trace request, in milliseconds.
    pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
    /// Timeout of one OTLP metric request, in milliseconds.
    pub const OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
    /// Request compression: `gzip` or `none` (default).
    pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
    /// Compression of OTLP trace requests.
    pub const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
    /// Compression of OTLP metric requests.
    pub const OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: &str =
        "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
    /// PEM file of the CA that signed the OTLP server's certificate (`https://` endpoints).
    pub const OTEL_EXPORTER_OTLP_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
    /// CA file for OTLP trace requests.
    pub const OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
    /// CA file for OTLP metric requests.
    pub const OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: &str =
        "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE";
    /// Service name resource attribute (wins over `service.name` in the resource attributes).
    pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
    /// Extra resource attributes, `k1=v1,k2=v2`, URL-decoded.
    pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
    /// `true` turns telemetry off: nothing is recorded or exported.
    pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
    /// Interval between two metric exports, in milliseconds (default 60000).
    pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
    /// How much content spans carry: `full` (default), `metadata` or `none`.
    pub const MLFLOW_TRACING_CAPTURE: &str = "MLFLOW_TRACING_CAPTURE";
    /// The OpenTelemetry switch of GenAI content: `false` records metadata only
    /// (`MLFLOW_TRACING_CAPTURE` wins when both are set).
    pub const OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: &str =
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
    /// Shape of spans on OTLP destinations other than MLflow: `semconv` (default: the GenAI
    /// conventions' shape) or `mlflow` (MLflow Python's exact shape, e.g. for a collector that
    /// forwards to MLflow).
    pub const MLFLOW_TRACING_OTLP_SHAPE: &str = "MLFLOW_TRACING_OTLP_SHAPE";
    /// MLflow's switch of the OTLP route: `false` ignores the OTLP endpoint variables.
    pub const MLFLOW_ENABLE_OTLP_EXPORTER: &str = "MLFLOW_ENABLE_OTLP_EXPORTER";
    /// MLflow's dual export: `true` sends to the MLflow server as well as to the OTLP
    /// endpoint (by default the OTLP endpoint replaces MLflow).
    pub const MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT: &str = "MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT";
    /// `false`/`0` turns tracing of LLM calls off (like `mlflow.openai.autolog(disable=True)`).
    pub const MLFLOW_TRACING_ENABLED: &str = "MLFLOW_TRACING_ENABLED";
    /// Largest attribute value in bytes before it is truncated (JSON stays valid).
    pub const MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES: &str = "MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES";
    /// `false` stops the tracer from adding `stream_options.include_usage` to streamed calls.
    pub const MLFLOW_TRACING_STREAM_USAGE: &str = "MLFLOW_TRACING_STREAM_USAGE";
    /// `true` adds `gen_ai.input.messages` / `gen_ai.output.messages` (content) to chat spans.
    pub const MLFLOW_TRACING_GENAI_CONTENT: &str = "MLFLOW_TRACING_GENAI_CONTENT";
    /// Overrides the detected `gen_ai.provider.name` / `mlflow.llm.provider`.
    pub const MLFLOW_TRACING_PROVIDER: &str = "MLFLOW_TRACING_PROVIDER";
    /// Export queue bound in spans (OpenTelemetry's batch-processor variable).
    pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
    /// Spans per export request (OpenTelemetry's batch-processor variable).
    pub const OTEL_BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
    /// Longest wait for a batch to fill, in milliseconds.
    pub const OTEL_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
    /// Timeout of one export request, in milliseconds.
    pub const OTEL_BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
}
