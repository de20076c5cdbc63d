//! [`Config`]: where spans go and how they are recorded. A leaf every layer reads: it imports
//! only the vocabulary and the recording types (`record::content`).
//!
//! Precedence, as in opentelemetry-rust: builder methods, then environment variables (read by
//! [`Config::from_env`]), then defaults.

use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

pub(crate) mod otlp;
mod parse;

use crate::record::content::{Capture, Redactor};
use crate::vocab::redact::{HeadersDebug, UrlDebug};
use crate::vocab::semconv::env;
pub use otlp::{Compression, Protocol};
use otlp::{Endpoint, OtlpSettings, Signal};
use parse::Vars;

pub mod defaults;

/// Which MLflow experiment receives the traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Experiment {
    /// A numeric experiment id, used as is.
    Id(String),
    /// An experiment name: looked up, and created when missing (like `mlflow.set_experiment`).
    Name(String),
}

/// Credentials for the MLflow server (never printed by `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>` (`MLFLOW_TRACKING_TOKEN`).
    Bearer(String),
    /// HTTP basic auth (`MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::Basic { username, .. } => write!(f, "Basic({username}:<redacted>)"),
        }
    }
}

/// How spans look on an OTLP destination other than MLflow (MLflow's own route always gets
/// MLflow Python's exact shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// The OpenTelemetry GenAI conventions' shape: LLM call spans without MLflow Python's
    /// bare request-parameter keys (`model`, `temperature`, `max_tokens`, `stream`, `tools`,
    /// ...: each duplicates a `gen_ai.request.*` key) and without `openai.*` keys unless the
    /// provider is OpenAI. What a GenAI backend and OpenTelemetry's validator expect.
    #[default]
    SemanticConventions,
    /// MLflow Python's exact shape, for a collector that forwards to MLflow.
    Mlflow,
}

impl Shape {
    /// Every shape, as `MLFLOW_TRACING_OTLP_SHAPE` spells it.
    const NAMES: [(&'static str, Shape); 2] = [
        ("semconv", Shape::SemanticConventions),
        ("mlflow", Shape::Mlflow),
    ];
}

/// Where spans are exported, as resolved from a [`Config`]. Its `Debug` hides URL
/// credentials and queries.
#[derive(Clone, PartialEq, Eq)]
pub enum Destination {
    /// An MLflow tracking server: OTLP/HTTP protobuf to `{tracking_uri}/v1/traces` with the
    /// `x-mlflow-experiment-id` header.
    Mlflow {
        /// Server base URL, without a trailing slash.
        tracking_uri: String,
        /// Target experiment; `None` means MLflow's `Default` experiment (id `0`).
        experiment: Option<Experiment>,
    },
    /// Any OTLP receiver (an OpenTelemetry Collector, Phoenix, Jaeger, ...).
    Otlp {
        /// Where requests go: the full traces URL over HTTP
        /// (`http://127.0.0.1:4318/v1/traces`), the server over gRPC
        /// (`http://127.0.0.1:4317`).
        endpoint: String,
        /// The transport.
        protocol: Protocol,
    },
    /// No server: a readable span tree is printed to stderr when the guard drops.
    Console,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Mlflow {
                tracking_uri,
                experiment,
            } => f
                .debug_struct("Mlflow")
                .field("tracking_uri", &UrlDebug(tracking_uri))
                .field("experiment", experiment)
                .finish(),
            Destination::Otlp { endpoint, protocol } => f
                .debug_struct("Otlp")
                .field("endpoint", &UrlDebug(endpoint))
                .field("protocol", protocol)
                .finish(),
            Destination::Console => f.write_str("Console"),
        }
    }
}

/// Where MLflow's `mlflow.user` trace metadata comes from, first set wins: MLflow's own user
/// name, then what Python's `getpass.getuser()` reads.
pub(crate) const USER_NAME_VARIABLES: [&str; 5] = [
    env::MLFLOW_TRACKING_USERNAME,
    "LOGNAME",
    "USER",
    "LNAME",
    "USERNAME",
];

/// Telemetry configuration for [`crate::init`] / [`crate::layer`].
///
/// ```
/// use mlflow_tracing::Config;
/// let config = Config::from_env()
///     .with_tracking_uri("http://127.0.0.1:5000")
///     .with_experiment_name("DeepSeek");
/// ```
///
/// Its `Debug` never prints a credential: header values, tokens and passwords are hidden, and
/// URLs lose their user info and query.
#[derive(Clone)]
pub struct Config {
    tracking_uri: Option<String>,
    pub(crate) experiment: Option<Experiment>,
    auth: Option<Auth>,
    pub(crate) otlp: OtlpSettings,
    pub(crate) metrics: OtlpSettings,
    otlp_route: Option<bool>,
    dual_export: Option<bool>,
    pub(crate) otlp_shape: Shape,
    headers: Vec<(String, String)>,
    console: bool,
    pub(crate) sdk_disabled: bool,
    pub(crate) service_name: Option<String>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) metric_interval: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) export_timeout: Duration,
    pub(crate) max_attribute_bytes: usize,
    pub(crate) provider: Option<String>,
    /// `None`: not said here; [`enabled_by_env`] decides.
    pub(crate) enabled: Option<bool>,
    pub(crate) stream_usage: bool,
    pub(crate) genai_content: bool,
    pub(crate) chunk_events: (usize, usize),
    pub(crate) capture: Capture,
    pub(crate) redactor: Option<Redactor>,
    pub(crate) max_queue_spans: usize,
    pub(crate) max_queue_bytes: usize,
    pub(crate) max_batch_spans: usize,
    pub(crate) schedule_delay: Duration,
    pub(crate) retry_timeout: Duration,
    pub(crate) stderr_warnings: bool,
    pub(crate) require_backend: bool,
    /// Environment values that could not be parsed; reported by `init`.
    pub(crate) invalid: Vec<(&'static str, String)>,
    /// The user name the environment gives, for MLflow's `mlflow.user` trace metadata
    /// ([`USER_NAME_VARIABLES`]); unset, the account name is used.
    pub(crate) user_name: Option<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("tracking_uri", &self.tracking_uri.as_deref().map(UrlDebug))
            .field("experiment", &self.experiment)
            .field("auth", &self.auth)
            .field("otlp", &self.otlp)
            .field("metrics", &self.metrics)
            .field("otlp_route", &self.otlp_route)
            .field("dual_export", &self.dual_export)
            .field("otlp_shape", &self.otlp_shape)
            .field("headers", &HeadersDebug(&self.headers))
            .field("console", &self.console)
            .field("sdk_disabled", &self.sdk_disabled)
            .field("service_name", &self.service_name)
            .field("resource_attributes", &self.resource_attributes)
            .field("metric_interval", &self.metric_interval)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("export_timeout", &self.export_timeout)
            .field("max_attribute_bytes", &self.max_attribute_bytes)
            .field("provider", &self.provider)
            .field("enabled", &self.enabled)
            .field("stream_usage", &self.stream_usage)
            .field("genai_content", &self.genai_content)
            .field("chunk_events", &self.chunk_events)
            .field("capture", &self.capture)
            .field("redactor", &self.redactor)
            .field("max_queue_spans", &self.max_queue_spans)
            .field("max_queue_bytes", &self.max_queue_bytes)
            .field("max_batch_spans", &self.max_batch_spans)
            .field("schedule_delay", &self.schedule_delay)
            .field("retry_timeout", &self.retry_timeout)
            .field("stderr_warnings", &self.stderr_warnings)
            .field("require_backend", &self.require_backend)
            .field("invalid", &self.invalid)
            .field("user_name", &self.user_name)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// A configuration with nothing set: the console destination, default limits. Every
    /// default is here (a builder method or variable replaces it).
    pub fn new() -> Self {
        Self {
            tracking_uri: None,
            experiment: None,
            auth: None,
            otlp: OtlpSettings::default(),
            metrics: OtlpSettings::default(),
            otlp_route: None,
            dual_export: None,
            otlp_shape: Shape::default(),
            headers: Vec::new(),
            console: false,
            sdk_disabled: false,
            service_name: None,
            resource_attributes: Vec::new(),
            metric_interval: defaults::METRIC_EXPORT_INTERVAL,
            shutdown_timeout: defaults::SHUTDOWN_TIMEOUT,
            export_timeout: defaults::EXPORT_TIMEOUT,
            max_attribute_bytes: defaults::MAX_ATTRIBUTE_BYTES,
            provider: None,
            enabled: None,
            stream_usage: true,
            genai_content: false,
            chunk_events: defaults::CHUNK_EVENTS,
            capture: Capture::default(),
            redactor: None,
            max_queue_spans: defaults::MAX_QUEUE_SPANS,
            max_queue_bytes: defaults::MAX_QUEUE_BYTES,
            max_batch_spans: defaults::MAX_BATCH_SPANS,
            schedule_delay: defaults::SCHEDULE_DELAY,
            retry_timeout: defaults::RETRY_TIMEOUT,
            stderr_warnings: true,
            require_backend: false,
            invalid: Vec::new(),
            user_name: None,
        }
    }

    /// Reads MLflow's and OpenTelemetry's own environment variables:
    ///
    /// | variable | effect |
    /// |---|---|
    /// | `MLFLOW_TRACKING_URI` | export to this MLflow server |
    /// | `MLFLOW_EXPERIMENT_ID` | experiment by id (wins over the name) |
    /// | `MLFLOW_EXPERIMENT_NAME` | experiment by name, created when missing |
    /// | `MLFLOW_TRACKING_TOKEN` | bearer token |
    /// | `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD` | basic auth |
    /// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | OTLP traces endpoint, used as is (replaces MLflow, see below) |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | OTLP base endpoint; HTTP appends `/v1/traces` / `/v1/metrics` |
    /// | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` | OTLP metrics endpoint, used as is (turns metrics on) |
    /// | `OTEL_EXPORTER_OTLP_[TRACES_\|METRICS_]PROTOCOL` | `grpc`, `http/protobuf` (default), `http/json` |
    /// | `OTEL_EXPORTER_OTLP_[TRACES_\|METRICS_]HEADERS` | `k1=v1,k2=v2`, URL-decoded |
    /// | `OTEL_EXPORTER_OTLP_[TRACES_\|METRICS_]TIMEOUT` | one OTLP request, ms (default: the export timeout) |
    /// | `OTEL_EXPORTER_OTLP_[TRACES_\|METRICS_]COMPRESSION` | `gzip` or `none` (default) |
    /// | `OTEL_EXPORTER_OTLP_[TRACES_\|METRICS_]CERTIFICATE` | PEM file of the server's CA |
    /// | `MLFLOW_ENABLE_OTLP_EXPORTER` | `false`: ignore the OTLP endpoint variables |
    /// | `MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT` | `true`: export to MLflow and to OTLP |
    /// | `MLFLOW_TRACING_OTLP_SHAPE` | `semconv` (default) or `mlflow`: spans on OTLP destinations |
    /// | `OTEL_SERVICE_NAME` | `service.name` resource attribute |
    /// | `OTEL_RESOURCE_ATTRIBUTES` | more resource attributes, `k1=v1,k2=v2` |
    /// | `OTEL_SDK_DISABLED` | `true`: record and export nothing |
    /// | `OTEL_METRIC_EXPORT_INTERVAL` | ms between metric exports (default 60000) |
    /// | `MLFLOW_TRACING_ENABLED` | `false` turns LLM-call tracing off |
    /// | `MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES` | attribute size cap (default 131072) |
    /// | `MLFLOW_TRACING_PROVIDER` | provider name override |
    /// | `MLFLOW_TRACING_STREAM_USAGE` | `false`: do not add `stream_options.include_usage` |
    /// | `MLFLOW_TRACING_GENAI_CONTENT` | `true`: add `gen_ai.input/output.messages` |
    /// | `MLFLOW_TRACING_CAPTURE` | content in spans: `full` (default), `metadata`, `none` |
    /// | `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` | `false`: metadata only (when `MLFLOW_TRACING_CAPTURE` is unset) |
    /// | `OTEL_BSP_MAX_QUEUE_SIZE` | export queue bound in spans (default 4096) |
    /// | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | spans per export request (default 512) |
    /// | `OTEL_BSP_SCHEDULE_DELAY` | longest wait for a batch to fill, ms (default 1000) |
    /// | `OTEL_BSP_EXPORT_TIMEOUT` | timeout of one export request, ms (default 30000) |
    ///
    /// Where spans go follows MLflow Python's rules (see [`Config::destinations`]). A
    /// per-signal variable wins over the generic one, as the OpenTelemetry specification
    /// says. With none of the destination variables set, spans are printed to the console.
    ///
    /// Booleans are `true`/`1` or `false`/`0` (any case), numbers and durations whole numbers,
    /// names matched in any case; anything else makes `init` fail, naming the variable (see
    /// [`Config::from_vars`]). No other code of the crate reads a setting from the
    /// environment.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] over any variable source (for tests and embedding).
    ///
    /// Each variable is read by the parser of its kind, the same for every variable of that
    /// kind: booleans are `true`/`1` or `false`/`0` (any case), numbers and durations
    /// (milliseconds) are whole numbers, names are matched in any case. A blank value counts
    /// as unset; a value that does not parse is kept and makes [`crate::init`] /
    /// [`crate::layer`] fail with an error naming the variable.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut vars = Vars::new(&get);
        let mut config = Self::new();
        config.tracking_uri = vars.text(env::MLFLOW_TRACKING_URI);
        config.user_name = USER_NAME_VARIABLES
            .into_iter()
            .find_map(|name| vars.text(name));
        config.experiment = vars
            .text(env::MLFLOW_EXPERIMENT_ID)
            .map(Experiment::Id)
            .or_else(|| vars.text(env::MLFLOW_EXPERIMENT_NAME).map(Experiment::Name));
        config.auth = vars
            .text(env::MLFLOW_TRACKING_TOKEN)
            .map(Auth::Bearer)
            .or_else(|| {
                Some(Auth::Basic {
                    username: vars.text(env::MLFLOW_TRACKING_USERNAME)?,
                    password: vars.text(env::MLFLOW_TRACKING_PASSWORD).unwrap_or_default(),
                })
            });
        config.otlp = OtlpSettings::from_vars(Signal::Traces, &mut vars);
        config.metrics = OtlpSettings::from_vars(Signal::Metrics, &mut vars);
        config.otlp_route = vars.boolean(env::MLFLOW_ENABLE_OTLP_EXPORTER);
        config.dual_export = vars.boolean(env::MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT);
        if let Some(disabled) = vars.boolean(env::OTEL_SDK_DISABLED) {
            config.sdk_disabled = disabled;
        }
        if let Some(shape) = vars.one_of(env::MLFLOW_TRACING_OTLP_SHAPE, &Shape::NAMES) {
            config.otlp_shape = shape;
        }
        config.service_name = vars.text(env::OTEL_SERVICE_NAME);
        if let Some(attributes) = vars.key_values(env::OTEL_RESOURCE_ATTRIBUTES) {
            config.resource_attributes = attributes;
        }
        config.provider = vars.text(env::MLFLOW_TRACING_PROVIDER);
        config.enabled = vars.boolean(env::MLFLOW_TRACING_ENABLED);
        if let Some(on) = vars.boolean(env::MLFLOW_TRACING_GENAI_CONTENT) {
            config.genai_content = on;
        }
        if let Some(inject) = vars.boolean(env::MLFLOW_TRACING_STREAM_USAGE) {
            config.stream_usage = inject;
        }
        // Ours wins over the OpenTelemetry one (`true` = full, `false` = metadata only).
        if vars.text(env::MLFLOW_TRACING_CAPTURE).is_some() {
            if let Some(capture) = vars.one_of(env::MLFLOW_TRACING_CAPTURE, &Capture::NAMES) {
                config.capture = capture;
            }
        } else if let Some(full) =
            vars.boolean(env::OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
        {
            config.capture = if full {
                Capture::Full
            } else {
                Capture::Metadata
            };
        }
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(n) = vars.number(env::OTEL_BSP_MAX_QUEUE_SIZE, 1) {
            config.max_queue_spans = count(n);
        }
        if let Some(n) = vars.number(env::OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 1) {
            config.max_batch_spans = count(n);
        }
        if let Some(delay) = vars.millis(env::OTEL_BSP_SCHEDULE_DELAY, 0) {
            config.schedule_delay = delay;
        }
        if let Some(timeout) = vars.millis(env::OTEL_BSP_EXPORT_TIMEOUT, 1) {
            config.export_timeout = timeout;
        }
        if let Some(interval) = vars.millis(env::OTEL_METRIC_EXPORT_INTERVAL, 1) {
            config.metric_interval = interval;
        }
        if let Some(n) = vars.number(env::MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES, 64) {
            config.max_attribute_bytes = count(n);
        }
        config.invalid = vars.invalid;
        config
    }

    /// Exports to the MLflow tracking server at `uri` (e.g. `http://127.0.0.1:5000`).
    /// Env: `MLFLOW_TRACKING_URI`. Default: none (console).
    pub fn with_tracking_uri(mut self, uri: impl Into<String>) -> Self {
        self.tracking_uri = Some(uri.into());
        self.console = false;
        self
    }

    /// Sends traces to the experiment with this numeric id. Env: `MLFLOW_EXPERIMENT_ID`.
    /// Default: `0` (MLflow's `Default` experiment).
    pub fn with_experiment_id(mut self, id: impl Into<String>) -> Self {
        self.experiment = Some(Experiment::Id(id.into()));
        self
    }

    /// Sends traces to the experiment with this name, created when missing.
    /// Env: `MLFLOW_EXPERIMENT_NAME`.
    pub fn with_experiment_name(mut self, name: impl Into<String>) -> Self {
        self.experiment = Some(Experiment::Name(name.into()));
        self
    }

    /// Authenticates to MLflow with a bearer token. Env: `MLFLOW_TRACKING_TOKEN`.
    pub fn with_tracking_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(Auth::Bearer(token.into()));
        self
    }

    /// Authenticates to MLflow with basic auth.
    /// Env: `MLFLOW_TRACKING_USERNAME`, `MLFLOW_TRACKING_PASSWORD`.
    pub fn with_basic_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.auth = Some(Auth::Basic {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// Exports traces to an OTLP receiver at `endpoint`, used as is: the full traces URL
    /// over HTTP (`http://127.0.0.1:4318/v1/traces`), the server over gRPC
    /// (`http://127.0.0.1:4317`). Like in MLflow Python, an OTLP endpoint replaces the MLflow
    /// export unless [`Config::with_dual_export`] is on.
    /// Env: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp.endpoint = Some(Endpoint::Exact(endpoint.into()));
        self.console = false;
        self
    }

    /// The OTLP transport of traces and metrics. Env: `OTEL_EXPORTER_OTLP_PROTOCOL` (and the
    /// per-signal variables). Default: `http/protobuf`. [`Protocol::Grpc`] needs the `grpc`
    /// cargo feature.
    pub fn with_otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.otlp.protocol = Some(protocol);
        self.metrics.protocol = Some(protocol);
        self
    }

    /// Compression of OTLP requests (traces and metrics).
    /// Env: `OTEL_EXPORTER_OTLP_COMPRESSION`. Default: none.
    pub fn with_otlp_compression(mut self, compression: Compression) -> Self {
        self.otlp.compression = Some(compression);
        self.metrics.compression = Some(compression);
        self
    }

    /// Timeout of one OTLP request (traces and metrics).
    /// Env: `OTEL_EXPORTER_OTLP_TIMEOUT` (ms). Default: the export timeout.
    pub fn with_otlp_timeout(mut self, timeout: Duration) -> Self {
        self.otlp.timeout = Some(timeout);
        self.metrics.timeout = Some(timeout);
        self
    }

    /// Trusts the CA in this PEM file for `https://` OTLP endpoints (traces and metrics).
    /// Env: `OTEL_EXPORTER_OTLP_CERTIFICATE`.
    pub fn with_otlp_certificate(mut self, pem_file: impl Into<PathBuf>) -> Self {
        let path = pem_file.into();
        self.otlp.certificate = Some(path.clone());
        self.metrics.certificate = Some(path);
        self
    }

    /// Whether the OTLP endpoint settings are used at all (MLflow's
    /// `MLFLOW_ENABLE_OTLP_EXPORTER`). Default: on.
    pub fn with_otlp_export(mut self, on: bool) -> Self {
        self.otlp_route = Some(on);
        self
    }

    /// With both an MLflow tracking URI and an OTLP endpoint, exports to both (MLflow's
    /// `MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT`). Default: off, the OTLP endpoint alone.
    pub fn with_dual_export(mut self, on: bool) -> Self {
        self.dual_export = Some(on);
        self
    }

    /// How spans look on OTLP destinations other than MLflow (see [`Shape`]).
    /// Env: `MLFLOW_TRACING_OTLP_SHAPE` (`semconv`, `mlflow`). Default:
    /// [`Shape::SemanticConventions`].
    pub fn with_otlp_shape(mut self, shape: Shape) -> Self {
        self.otlp_shape = shape;
        self
    }

    /// Exports metrics (MLflow's span duration, the GenAI client metrics) to an OTLP
    /// receiver at `endpoint`, used as is (`http://127.0.0.1:4318/v1/metrics`, or the server
    /// over gRPC). MLflow takes no metrics: point this at a collector.
    /// Env: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT`.
    /// Default: no metrics.
    pub fn with_metrics_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.metrics.endpoint = Some(Endpoint::Exact(endpoint.into()));
        self
    }

    /// Interval between two metric exports. Env: `OTEL_METRIC_EXPORT_INTERVAL` (ms).
    /// Default: 60 s.
    pub fn with_metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = interval;
        self
    }

    /// Adds a resource attribute (a trace tag in MLflow).
    /// Env: `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Turns telemetry off: nothing is recorded or exported, and the guard reports no
    /// destination. Env: `OTEL_SDK_DISABLED=true`. Default: on.
    pub fn with_sdk_disabled(mut self, disabled: bool) -> Self {
        self.sdk_disabled = disabled;
        self
    }

    /// Adds a header to every export request, MLflow's and OTLP's (e.g. a collector's API
    /// key). Env (OTLP only): `OTEL_EXPORTER_OTLP_HEADERS`.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Prints spans to the console instead of exporting them, whatever the environment says.
    pub fn with_console(mut self) -> Self {
        self.console = true;
        self
    }

    /// `service.name` of the resource (becomes an MLflow trace tag). Env: `OTEL_SERVICE_NAME`.
    /// Default: the executable's name.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// How long dropping the guard waits for the last export. Default: 10 s (a freshly started
    /// MLflow server can take that long to accept its first spans).
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Timeout of one export request (a slower answer counts as a failure and is retried).
    /// Env: `OTEL_BSP_EXPORT_TIMEOUT` (ms). Default: 30 s (MLflow takes 1.2-1.7 s for a full
    /// batch of 512 chat spans on 2 cores, up to 8 s right after it starts).
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }

    /// Bound of the export queue in spans: spans that end while it is full (the destination
    /// is down or slower than the app) are dropped and counted, never waited for.
    /// Env: `OTEL_BSP_MAX_QUEUE_SIZE`. Default: 4096.
    pub fn with_max_queue_spans(mut self, spans: usize) -> Self {
        self.max_queue_spans = spans;
        self
    }

    /// Bound of the export queue in (estimated) bytes, so that large spans cannot run memory
    /// away during an outage. Default: 32 MiB.
    pub fn with_max_queue_bytes(mut self, bytes: usize) -> Self {
        self.max_queue_bytes = bytes;
        self
    }

    /// Most spans in one export request. Env: `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`. Default: 512.
    pub fn with_max_batch_spans(mut self, spans: usize) -> Self {
        self.max_batch_spans = spans;
        self
    }

    /// Longest time a span waits for its batch to fill before it is sent.
    /// Env: `OTEL_BSP_SCHEDULE_DELAY` (ms). Default: 1 s.
    pub fn with_schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay = delay;
        self
    }

    /// How long one batch is retried after refused connections, timeouts, 429 and 5xx
    /// answers (exponential backoff from 250 ms to 5 s, `Retry-After` honoured up to 60 s)
    /// before its spans count as failed. Default: 60 s.
    pub fn with_retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = timeout;
        self
    }

    /// Whether delivery warnings (destination failing or recovered, queue full, spans
    /// refused, spans lost at shutdown) are also printed to stderr. They are always emitted
    /// as `tracing` warnings on target `mlflow_tracing::delivery`. Default: on.
    pub fn with_stderr_warnings(mut self, on: bool) -> Self {
        self.stderr_warnings = on;
        self
    }

    /// Makes [`crate::init`] / [`crate::layer`] wait (up to the export timeout) until the
    /// destination answers, and fail if it does not: the MLflow experiment resolved or
    /// checked, or the OTLP receiver accepting connections. By default setup never waits on
    /// the network; see [`crate::TelemetryGuard::wait_until_ready`]. Default: off.
    pub fn require_backend_at_init(mut self, require: bool) -> Self {
        self.require_backend = require;
        self
    }

    /// Largest attribute value in bytes; longer JSON is cut so that it stays valid JSON.
    /// Env: `MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES`. Default: 131072.
    pub fn with_max_attribute_bytes(mut self, max: usize) -> Self {
        self.max_attribute_bytes = max;
        self
    }

    /// Provider recorded for every call (`gen_ai.provider.name`, `mlflow.llm.provider`).
    /// Env: `MLFLOW_TRACING_PROVIDER`. Default: detected from the API host, then the model.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Starts with LLM-call tracing on or off (see [`crate::set_enabled`]).
    /// Env: `MLFLOW_TRACING_ENABLED`. Default: on.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    /// Whether streamed calls that did not ask for usage get `stream_options.include_usage`
    /// added, so their spans have token usage. The extra usage-only chunk is recorded and not
    /// handed to the caller. Turn off for servers that reject `stream_options`.
    /// Env: `MLFLOW_TRACING_STREAM_USAGE`. Default: on.
    pub fn with_stream_usage(mut self, inject: bool) -> Self {
        self.stream_usage = inject;
        self
    }

    /// Also records the messages in the OpenTelemetry GenAI shape (`gen_ai.input.messages`,
    /// `gen_ai.output.messages`), for backends that read only those conventions (Phoenix,
    /// Grafana, ...). MLflow does not need them (it reads `mlflow.spanInputs/Outputs`), and
    /// the conventions make content opt-in, so it is off by default; it roughly doubles the
    /// size of chat spans. Env: `MLFLOW_TRACING_GENAI_CONTENT`. Default: off.
    pub fn with_genai_content(mut self, on: bool) -> Self {
        self.genai_content = on;
        self
    }

    /// How much message content spans carry: [`Capture::Full`] (MLflow parity, the
    /// default), [`Capture::Metadata`] (structure, usage and sizes, no text) or
    /// [`Capture::None`]. Applies to chat, streams, embeddings, Responses and `#[trace]`
    /// inputs and outputs alike. Env: `MLFLOW_TRACING_CAPTURE` (`full`, `metadata`, `none`),
    /// else `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (`false` = metadata).
    pub fn with_content_capture(mut self, capture: Capture) -> Self {
        self.capture = capture;
        self
    }

    /// Runs `redactor` on every structured request, response, streamed answer and `#[trace]`
    /// input and output before it is recorded (before the capture mode), so a pattern can be
    /// masked without touching ids or keys:
    ///
    /// ```
    /// use mlflow_tracing::{Config, Redactor};
    /// let config = Config::new().with_redactor(Redactor::new(|value| {
    ///     mlflow_tracing::redact::patterns(value) // e-mails, card numbers, API keys
    /// }));
    /// ```
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// How many `mlflow.chunk.item.N` events a streamed call keeps: the first `head` and the
    /// last `tail` chunks (a 10k-chunk answer cannot blow up its span). Default: 100 and 20.
    pub fn with_stream_chunk_events(mut self, head: usize, tail: usize) -> Self {
        self.chunk_events = (head, tail);
        self
    }

    /// Where spans go, by MLflow Python's rules (`mlflow/tracing/utils/otlp.py`), builder
    /// methods over variables:
    ///
    /// | OTLP endpoint | tracking URI | dual export | destinations |
    /// |---|---|---|---|
    /// | set | set | off (default) | OTLP |
    /// | set | set | on | MLflow and OTLP |
    /// | set | unset | any | OTLP |
    /// | unset | set | any | MLflow |
    /// | unset | unset | any | console |
    ///
    /// An OTLP endpoint counts only while the OTLP route is on
    /// ([`Config::with_otlp_export`], `MLFLOW_ENABLE_OTLP_EXPORTER`). [`Config::with_console`]
    /// wins over everything; `OTEL_SDK_DISABLED=true` means no destination at all. Several
    /// destinations share one span pipeline, each with its own export thread and counts.
    pub fn destinations(&self) -> Vec<Destination> {
        if self.sdk_disabled {
            return Vec::new();
        }
        if self.console {
            return vec![Destination::Console];
        }
        let otlp = self
            .otlp
            .url(Signal::Traces)
            .filter(|_| self.otlp_route.unwrap_or(true))
            .map(|endpoint| Destination::Otlp {
                endpoint,
                protocol: self.otlp.protocol(),
            });
        let mlflow = self.tracking_uri.as_ref().map(|uri| Destination::Mlflow {
            tracking_uri: uri.trim_end_matches('/').to_owned(),
            experiment: self.experiment.clone(),
        });
        match (mlflow, otlp) {
            (Some(mlflow), Some(otlp)) if self.dual_export.unwrap_or(false) => vec![mlflow, otlp],
            (_, Some(otlp)) => vec![otlp],
            (Some(mlflow), None) => vec![mlflow],
            (None, None) => vec![Destination::Console],
        }
    }

    /// Where metrics go (endpoint and transport), when a metrics endpoint is set.
    pub(crate) fn metrics_destination(&self) -> Option<(String, Protocol)> {
        if self.sdk_disabled {
            return None;
        }
        Some((self.metrics.url(Signal::Metrics)?, self.metrics.protocol()))
    }

    /// The first value that did not parse, as the error [`crate::init`] returns.
    pub(crate) fn check(&self) -> Result<(), crate::error::Error> {
        match self.invalid.first() {
            Some((name, reason)) => Err(crate::error::Error::InvalidConfig {
                name,
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn auth(&self) -> Option<&Auth> {
        self.auth.as_ref()
    }

    pub(crate) fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

/// `MLFLOW_TRACING_ENABLED` as the process started with it, read once through
/// [`Config::from_env`]: what a pipeline whose [`Config`] does not say starts with, and
/// whether calls are traced under a subscriber that has no pipeline. Unset, or a value that
/// does not parse (which `init` of a config read from the environment refuses), is on.
pub(crate) fn enabled_by_env() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| Config::from_env().enabled.unwrap_or(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_means_console() {
        assert_eq!(vars(&[]).destinations(), [Destination::Console]);
    }

    #[test]
    fn mlflow_variables() {
        let config = vars(&[
            ("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000/"),
            ("MLFLOW_EXPERIMENT_NAME", "DeepSeek"),
            ("MLFLOW_TRACKING_TOKEN", "tok"),
        ]);
        assert_eq!(
            config.destinations(),
            [Destination::Mlflow {
                tracking_uri: "http://127.0.0.1:5000".into(),
                experiment: Some(Experiment::Name("DeepSeek".into())),
            }]
        );
        assert_eq!(config.auth(), Some(&Auth::Bearer("tok".into())));
        assert!(
            !format!("{config:?}").contains("tok\""),
            "token leaked in Debug"
        );
    }

    #[test]
    fn experiment_id_wins_over_name_and_builder_wins_over_env() {
        let config = vars(&[
            ("MLFLOW_TRACKING_URI", "http://h"),
            ("MLFLOW_EXPERIMENT_NAME", "n"),
            ("MLFLOW_EXPERIMENT_ID", "7"),
        ]);
        let [Destination::Mlflow { experiment, .. }] = &config.destinations()[..] else {
            panic!()
        };
        assert_eq!(experiment, &Some(Experiment::Id("7".into())));
        let config = config.with_experiment_name("mine");
        let [Destination::Mlflow { experiment, .. }] = &config.destinations()[..] else {
            panic!()
        };
        let experiment = experiment.clone();
        assert_eq!(experiment, Some(Experiment::Name("mine".into())));
    }

    #[test]
    fn basic_auth_and_otlp_fallback() {
        let config = vars(&[
            ("MLFLOW_TRACKING_USERNAME", "u"),
            ("MLFLOW_TRACKING_PASSWORD", "p"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/"),
        ]);
        assert_eq!(
            config.auth(),
            Some(&Auth::Basic {
                username: "u".into(),
                password: "p".into()
            })
        );
        assert_eq!(
            config.destinations(),
            [otlp(
                "http://127.0.0.1:4318/v1/traces",
                Protocol::HttpProtobuf
            )]
        );
        let traces = vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b/v1/traces"),
        ]);
        assert_eq!(
            traces.destinations(),
            [otlp("http://b/v1/traces", Protocol::HttpProtobuf)]
        );
    }

    #[test]
    fn bad_numbers_are_reported_by_name() {
        let config = vars(&[("MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES", "lots")]);
        assert_eq!(config.invalid.len(), 1);
        assert_eq!(config.invalid[0].0, "MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES");
        assert!(config.invalid[0].1.contains("lots"));
    }

    #[test]
    fn batch_processor_variables() {
        let defaults = vars(&[]);
        assert_eq!(
            (
                defaults.max_queue_spans,
                defaults.max_batch_spans,
                defaults.schedule_delay,
                defaults.export_timeout
            ),
            (4096, 512, Duration::from_secs(1), Duration::from_secs(30))
        );
        let set = vars(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "5000"),
        ]);
        assert_eq!(
            (
                set.max_queue_spans,
                set.max_batch_spans,
                set.schedule_delay,
                set.export_timeout
            ),
            (100, 10, Duration::from_millis(250), Duration::from_secs(5))
        );
        assert!(set.invalid.is_empty());
        let bad = vars(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "10s"),
        ]);
        let named: Vec<_> = bad.invalid.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            named,
            ["OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_EXPORT_TIMEOUT"]
        );
        assert!(bad.invalid[1].1.contains("\"10s\""), "{:?}", bad.invalid);
        // A builder method wins over the variable.
        let builder = vars(&[("OTEL_BSP_MAX_QUEUE_SIZE", "100")]).with_max_queue_spans(7);
        assert_eq!(builder.max_queue_spans, 7);
    }

    /// `mlflow.user` comes from MLflow's variable first, then what `getpass.getuser()` reads,
    /// a blank value counting as unset; `Config::new` reads nothing.
    #[test]
    fn user_name_order() {
        let user = |pairs: &[(&'static str, &'static str)]| vars(pairs).user_name;
        let ml = [("USER", "bob"), ("MLFLOW_TRACKING_USERNAME", "ml")];
        assert_eq!(user(&ml).as_deref(), Some("ml"));
        assert_eq!(
            user(&[("USER", "bob"), ("LOGNAME", "alice")]).as_deref(),
            Some("alice")
        );
        assert_eq!(
            user(&[("LOGNAME", " "), ("USER", "bob")]).as_deref(),
            Some("bob")
        );
        assert_eq!(user(&[("USERNAME", "win")]).as_deref(), Some("win"));
        assert_eq!(user(&[("LNAME", "l")]).as_deref(), Some("l"));
        assert_eq!(user(&[]), None);
        assert_eq!(Config::new().user_name, None);
    }

    #[test]
    fn genai_content_is_opt_in() {
        assert!(!vars(&[]).genai_content);
        let on = vars(&[("MLFLOW_TRACING_GENAI_CONTENT", "true")]);
        assert!(on.genai_content);
        let off = vars(&[("MLFLOW_TRACING_GENAI_CONTENT", "0")]);
        assert!(!off.genai_content);
    }

    /// Every boolean variable, with the value it reads as: the same spellings for all, and
    /// anything else refused by name (never silently on or off).
    #[test]
    fn every_boolean_variable_reads_the_same_way() {
        type Read = fn(&Config) -> Option<bool>;
        let booleans: [(&str, Read); 7] = [
            (env::MLFLOW_TRACING_ENABLED, |c| c.enabled),
            (env::MLFLOW_TRACING_STREAM_USAGE, |c| Some(c.stream_usage)),
            (env::MLFLOW_TRACING_GENAI_CONTENT, |c| Some(c.genai_content)),
            (env::MLFLOW_ENABLE_OTLP_EXPORTER, |c| c.otlp_route),
            (env::MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT, |c| c.dual_export),
            (env::OTEL_SDK_DISABLED, |c| Some(c.sdk_disabled)),
            (
                env::OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
                |c| Some(c.capture == Capture::Full),
            ),
        ];
        let valid = [
            ("true", true),
            ("TRUE", true),
            (" True ", true),
            ("1", true),
            ("false", false),
            ("FALSE", false),
            (" False", false),
            ("0", false),
        ];
        for (name, read) in booleans {
            for (raw, expected) in valid {
                let config = vars(&[(name, raw)]);
                assert!(
                    config.invalid.is_empty(),
                    "{name}={raw:?}: {:?}",
                    config.invalid
                );
                assert_eq!(read(&config), Some(expected), "{name}={raw:?}");
            }
            for raw in ["flase", "yes", "no", "on", "off", "2", "enabled"] {
                let config = vars(&[(name, raw)]);
                assert_eq!(config.invalid.len(), 1, "{name}={raw:?}");
                let (named, reason) = &config.invalid[0];
                assert_eq!(*named, name);
                assert!(reason.contains(&format!("{raw:?}")), "{name}: {reason}");
                // A refused value leaves the default in place.
                assert_eq!(read(&config), read(&Config::new()), "{name}={raw:?}");
            }
            // Blank is unset.
            let config = vars(&[(name, "  ")]);
            assert!(config.invalid.is_empty(), "{name}");
            assert_eq!(read(&config), read(&Config::new()), "{name}");
        }
    }

    #[test]
    fn console_overrides_everything() {
        let config = vars(&[("MLFLOW_TRACKING_URI", "http://h")]).with_console();
        assert_eq!(config.destinations(), [Destination::Console]);
    }

    fn otlp(endpoint: &str, protocol: Protocol) -> Destination {
        Destination::Otlp {
            endpoint: endpoint.into(),
            protocol,
        }
    }

    fn mlflow(uri: &str) -> Destination {
        Destination::Mlflow {
            tracking_uri: uri.into(),
            experiment: None,
        }
    }

    /// The routing table of [`Config::destinations`], as MLflow Python routes.
    #[test]
    fn routing_as_mlflow_does_it() {
        const URI: (&str, &str) = ("MLFLOW_TRACKING_URI", "http://mlflow:5000");
        const OTLP: (&str, &str) = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
        let collector = otlp("http://collector:4318/v1/traces", Protocol::HttpProtobuf);
        type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<Destination>);
        let cases: Vec<Case<'_>> = vec![
            (vec![], vec![Destination::Console]),
            (vec![URI], vec![mlflow("http://mlflow:5000")]),
            (vec![OTLP], vec![collector.clone()]),
            // OTLP replaces MLflow ...
            (vec![URI, OTLP], vec![collector.clone()]),
            // ... unless dual export is on,
            (
                vec![URI, OTLP, ("MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT", "true")],
                vec![mlflow("http://mlflow:5000"), collector.clone()],
            ),
            (
                vec![OTLP, ("MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT", "true")],
                vec![collector.clone()],
            ),
            // ... and the OTLP route can be turned off.
            (
                vec![URI, OTLP, ("MLFLOW_ENABLE_OTLP_EXPORTER", "false")],
                vec![mlflow("http://mlflow:5000")],
            ),
            (
                vec![OTLP, ("MLFLOW_ENABLE_OTLP_EXPORTER", "false")],
                vec![Destination::Console],
            ),
            (vec![URI, OTLP, ("OTEL_SDK_DISABLED", "true")], vec![]),
            (
                vec![
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ],
                vec![otlp("http://collector:4317", Protocol::Grpc)],
            ),
        ];
        for (pairs, expected) in cases {
            let config = vars(&pairs);
            assert!(config.invalid.is_empty(), "{pairs:?}: {:?}", config.invalid);
            assert_eq!(config.destinations(), expected, "{pairs:?}");
        }
        // Builder methods win over variables.
        let config = vars(&[URI, OTLP])
            .with_dual_export(true)
            .with_otlp_protocol(Protocol::HttpJson);
        assert_eq!(
            config.destinations(),
            [
                mlflow("http://mlflow:5000"),
                otlp("http://collector:4318/v1/traces", Protocol::HttpJson)
            ]
        );
        let config = vars(&[URI, OTLP]).with_otlp_export(false);
        assert_eq!(config.destinations(), [mlflow("http://mlflow:5000")]);
        let bad = vars(&[("MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT", "yes please")]);
        assert_eq!(bad.invalid[0].0, "MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT");
    }

    #[test]
    fn metrics_need_a_metrics_or_generic_endpoint() {
        assert_eq!(vars(&[]).metrics_destination(), None);
        let traces_only = vars(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c/v1/traces")]);
        assert_eq!(traces_only.metrics_destination(), None);
        let generic = vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]);
        assert_eq!(
            generic.metrics_destination(),
            Some(("http://c:4318/v1/metrics".into(), Protocol::HttpProtobuf))
        );
        let grpc = vars(&[
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
        ]);
        assert_eq!(
            grpc.metrics_destination(),
            Some(("http://c:4317".into(), Protocol::Grpc))
        );
        assert_eq!(grpc.metric_interval, Duration::from_secs(5));
    }

    #[test]
    fn resource_attributes_and_service_name() {
        let config = vars(&[
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod,team=ml%20ops",
            ),
            ("OTEL_SERVICE_NAME", "agent"),
        ]);
        assert_eq!(
            config.resource_attributes,
            [
                ("deployment.environment".to_owned(), "prod".to_owned()),
                ("team".to_owned(), "ml ops".to_owned())
            ]
        );
        assert_eq!(config.service_name.as_deref(), Some("agent"));
        let bad = vars(&[("OTEL_RESOURCE_ATTRIBUTES", "novalue")]);
        assert_eq!(bad.invalid[0].0, "OTEL_RESOURCE_ATTRIBUTES");
    }

    #[test]
    fn capture_variables_and_precedence() {
        assert_eq!(vars(&[]).capture, Capture::Full);
        let otel = vars(&[(
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
            "false",
        )]);
        assert_eq!(otel.capture, Capture::Metadata);
        let both = vars(&[
            ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"),
            ("MLFLOW_TRACING_CAPTURE", "none"),
        ]);
        assert_eq!(both.capture, Capture::None, "ours wins");
        let builder = both.with_content_capture(Capture::Full);
        assert_eq!(builder.capture, Capture::Full, "the builder wins");
        let bad = vars(&[("MLFLOW_TRACING_CAPTURE", "some")]);
        assert_eq!(bad.invalid[0].0, "MLFLOW_TRACING_CAPTURE");
        assert!(bad.invalid[0].1.contains("\"some\""));
    }
}
