//! [`Config`]: where spans go and how they are recorded.
//!
//! Precedence, as in opentelemetry-rust: builder methods, then environment variables (read by
//! [`Config::from_env`]), then defaults.

use std::fmt;
use std::time::Duration;

use crate::vocab::semconv::env;

/// Default cap of one attribute value, in bytes.
pub const DEFAULT_MAX_ATTRIBUTE_BYTES: usize = 128 * 1024;

/// Default number of `mlflow.chunk.item.N` events kept per streamed call: the first 100 and
/// the last 20 chunks (the SDK keeps at most 128 events per span unless raised).
pub const DEFAULT_CHUNK_EVENTS: (usize, usize) = (100, 20);

/// Default time the guard waits for the last spans to be exported at shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout of one export request.
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound of the export queue in spans (queued or in flight); more are dropped.
pub const DEFAULT_MAX_QUEUE_SPANS: usize = 4096;
/// Default bound of the export queue in estimated bytes; more are dropped.
pub const DEFAULT_MAX_QUEUE_BYTES: usize = 32 * 1024 * 1024;
/// Default number of spans in one export request.
pub const DEFAULT_MAX_BATCH_SPANS: usize = 512;
/// Default longest wait of a span for its batch to fill.
pub const DEFAULT_SCHEDULE_DELAY: Duration = Duration::from_secs(1);
/// Default time one batch is retried (refused connections, timeouts, 429, 5xx) before its
/// spans count as failed.
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(60);

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

/// Where spans are exported, as resolved from a [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An MLflow tracking server: OTLP/HTTP protobuf to `{tracking_uri}/v1/traces` with the
    /// `x-mlflow-experiment-id` header.
    Mlflow {
        /// Server base URL, without a trailing slash.
        tracking_uri: String,
        /// Target experiment; `None` means MLflow's `Default` experiment (id `0`).
        experiment: Option<Experiment>,
    },
    /// Any OTLP/HTTP receiver (an OpenTelemetry Collector, Phoenix, Jaeger, ...).
    Otlp {
        /// Full traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
        endpoint: String,
    },
    /// No server: a readable span tree is printed to stderr when the guard drops.
    Console,
}

/// Telemetry configuration for [`crate::init`] / [`crate::layer`].
///
/// ```
/// use mlflow_tracing::Config;
/// let config = Config::from_env()
///     .with_tracking_uri("http://127.0.0.1:5000")
///     .with_experiment_name("DeepSeek");
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    tracking_uri: Option<String>,
    experiment: Option<Experiment>,
    auth: Option<Auth>,
    otlp_endpoint: Option<String>,
    headers: Vec<(String, String)>,
    console: bool,
    pub(crate) service_name: Option<String>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) export_timeout: Duration,
    pub(crate) max_attribute_bytes: Option<usize>,
    pub(crate) provider: Option<String>,
    pub(crate) enabled: Option<bool>,
    pub(crate) stream_usage: Option<bool>,
    pub(crate) genai_content: Option<bool>,
    pub(crate) chunk_events: Option<(usize, usize)>,
    pub(crate) max_queue_spans: usize,
    pub(crate) max_queue_bytes: usize,
    pub(crate) max_batch_spans: usize,
    pub(crate) schedule_delay: Duration,
    pub(crate) retry_timeout: Duration,
    pub(crate) stderr_warnings: bool,
    pub(crate) require_backend: bool,
    /// Environment values that could not be parsed; reported by `init`.
    pub(crate) invalid: Vec<(&'static str, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// A configuration with nothing set: the console destination, default limits.
    pub fn new() -> Self {
        Self {
            tracking_uri: None,
            experiment: None,
            auth: None,
            otlp_endpoint: None,
            headers: Vec::new(),
            console: false,
            service_name: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
            max_attribute_bytes: None,
            provider: None,
            enabled: None,
            stream_usage: None,
            genai_content: None,
            chunk_events: None,
            max_queue_spans: DEFAULT_MAX_QUEUE_SPANS,
            max_queue_bytes: DEFAULT_MAX_QUEUE_BYTES,
            max_batch_spans: DEFAULT_MAX_BATCH_SPANS,
            schedule_delay: DEFAULT_SCHEDULE_DELAY,
            retry_timeout: DEFAULT_RETRY_TIMEOUT,
            stderr_warnings: true,
            require_backend: false,
            invalid: Vec::new(),
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
    /// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | OTLP/HTTP traces URL (when no MLflow URI) |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | OTLP/HTTP base URL; `/v1/traces` is appended |
    /// | `OTEL_SERVICE_NAME` | `service.name` resource attribute |
    /// | `MLFLOW_TRACING_ENABLED` | `false` turns LLM-call tracing off |
    /// | `MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES` | attribute size cap (default 131072) |
    /// | `MLFLOW_TRACING_PROVIDER` | provider name override |
    /// | `MLFLOW_TRACING_STREAM_USAGE` | `false`: do not add `stream_options.include_usage` |
    /// | `MLFLOW_TRACING_GENAI_CONTENT` | `true`: add `gen_ai.input/output.messages` |
    /// | `OTEL_BSP_MAX_QUEUE_SIZE` | export queue bound in spans (default 4096) |
    /// | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | spans per export request (default 512) |
    /// | `OTEL_BSP_SCHEDULE_DELAY` | longest wait for a batch to fill, ms (default 1000) |
    /// | `OTEL_BSP_EXPORT_TIMEOUT` | timeout of one export request, ms (default 30000) |
    ///
    /// With none of the destination variables set, spans are printed to the console.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] over any variable source (for tests and embedding).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut config = Self::new();
        config.tracking_uri = get(env::MLFLOW_TRACKING_URI);
        config.experiment = get(env::MLFLOW_EXPERIMENT_ID)
            .map(Experiment::Id)
            .or_else(|| get(env::MLFLOW_EXPERIMENT_NAME).map(Experiment::Name));
        config.auth = get(env::MLFLOW_TRACKING_TOKEN)
            .map(Auth::Bearer)
            .or_else(|| {
                Some(Auth::Basic {
                    username: get(env::MLFLOW_TRACKING_USERNAME)?,
                    password: get(env::MLFLOW_TRACKING_PASSWORD).unwrap_or_default(),
                })
            });
        config.otlp_endpoint = get(env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).or_else(|| {
            get(env::OTEL_EXPORTER_OTLP_ENDPOINT)
                .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        });
        config.service_name = get(env::OTEL_SERVICE_NAME);
        config.provider = get(env::MLFLOW_TRACING_PROVIDER);
        if let Some(raw) = get(env::MLFLOW_TRACING_ENABLED) {
            config.enabled = Some(enabled_from_env(Some(raw)));
        }
        if let Some(raw) = get(env::MLFLOW_TRACING_GENAI_CONTENT) {
            let on = raw.trim().to_ascii_lowercase();
            config.genai_content = Some(matches!(on.as_str(), "true" | "1" | "on" | "yes"));
        }
        if let Some(raw) = get(env::MLFLOW_TRACING_STREAM_USAGE) {
            config.stream_usage = Some(enabled_from_env(Some(raw)));
        }
        let mut number = |name: &'static str, min: u64| -> Option<u64> {
            let raw = get(name)?;
            match raw.trim().parse::<u64>() {
                Ok(n) if n >= min => Some(n),
                _ => {
                    config.invalid.push((
                        name,
                        format!("expected a whole number >= {min}, got {raw:?}"),
                    ));
                    None
                }
            }
        };
        let queue = number(env::OTEL_BSP_MAX_QUEUE_SIZE, 1);
        let batch = number(env::OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 1);
        let delay = number(env::OTEL_BSP_SCHEDULE_DELAY, 0);
        let timeout = number(env::OTEL_BSP_EXPORT_TIMEOUT, 1);
        if let Some(n) = queue {
            config.max_queue_spans = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = batch {
            config.max_batch_spans = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(ms) = delay {
            config.schedule_delay = Duration::from_millis(ms);
        }
        if let Some(ms) = timeout {
            config.export_timeout = Duration::from_millis(ms);
        }
        if let Some(raw) = get(env::MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES) {
            match raw.trim().parse::<usize>() {
                Ok(n) if n >= 64 => config.max_attribute_bytes = Some(n),
                _ => config.invalid.push((
                    env::MLFLOW_TRACING_MAX_ATTRIBUTE_BYTES,
                    format!("expected a whole number of bytes >= 64, got {raw:?}"),
                )),
            }
        }
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

    /// Exports to an OTLP/HTTP receiver at this full traces URL (used only when no MLflow
    /// tracking URI is set). Env: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(endpoint.into());
        self.console = false;
        self
    }

    /// Adds a header to every export request (e.g. a collector's API key).
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
        self.max_attribute_bytes = Some(max);
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
        self.stream_usage = Some(inject);
        self
    }

    /// Also records the messages in the OpenTelemetry GenAI shape (`gen_ai.input.messages`,
    /// `gen_ai.output.messages`), for backends that read only those conventions (Phoenix,
    /// Grafana, ...). MLflow does not need them (it reads `mlflow.spanInputs/Outputs`), and
    /// the conventions make content opt-in, so it is off by default; it roughly doubles the
    /// size of chat spans. Env: `MLFLOW_TRACING_GENAI_CONTENT`. Default: off.
    pub fn with_genai_content(mut self, on: bool) -> Self {
        self.genai_content = Some(on);
        self
    }

    /// How many `mlflow.chunk.item.N` events a streamed call keeps: the first `head` and the
    /// last `tail` chunks (a 10k-chunk answer cannot blow up its span). Default: 100 and 20.
    pub fn with_stream_chunk_events(mut self, head: usize, tail: usize) -> Self {
        self.chunk_events = Some((head, tail));
        self
    }

    /// Where spans go: MLflow if a tracking URI is set, else OTLP if an endpoint is set, else
    /// the console.
    pub fn destination(&self) -> Destination {
        if self.console {
            return Destination::Console;
        }
        if let Some(uri) = &self.tracking_uri {
            return Destination::Mlflow {
                tracking_uri: uri.trim_end_matches('/').to_owned(),
                experiment: self.experiment.clone(),
            };
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            return Destination::Otlp {
                endpoint: endpoint.clone(),
            };
        }
        Destination::Console
    }

    pub(crate) fn auth(&self) -> Option<&Auth> {
        self.auth.as_ref()
    }

    pub(crate) fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

/// Parses `MLFLOW_TRACING_ENABLED`; anything but an explicit "off" value keeps tracing on.
pub(crate) fn enabled_from_env(value: Option<String>) -> bool {
    !matches!(
        value
            .as_deref()
            .map(str::trim)
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("false" | "0" | "off" | "no")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn env_parsing() {
        assert!(enabled_from_env(None));
        assert!(enabled_from_env(Some("true".into())));
        assert!(enabled_from_env(Some("1".into())));
        assert!(!enabled_from_env(Some("false".into())));
        assert!(!enabled_from_env(Some(" OFF ".into())));
        assert!(!enabled_from_env(Some("0".into())));
    }

    fn vars(pairs: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_means_console() {
        assert_eq!(vars(&[]).destination(), Destination::Console);
    }

    #[test]
    fn mlflow_variables() {
        let config = vars(&[
            ("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000/"),
            ("MLFLOW_EXPERIMENT_NAME", "DeepSeek"),
            ("MLFLOW_TRACKING_TOKEN", "tok"),
        ]);
        assert_eq!(
            config.destination(),
            Destination::Mlflow {
                tracking_uri: "http://127.0.0.1:5000".into(),
                experiment: Some(Experiment::Name("DeepSeek".into())),
            }
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
        let Destination::Mlflow { experiment, .. } = config.destination() else {
            panic!()
        };
        assert_eq!(experiment, Some(Experiment::Id("7".into())));
        let config = config.with_experiment_name("mine");
        let Destination::Mlflow { experiment, .. } = config.destination() else {
            panic!()
        };
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
            config.destination(),
            Destination::Otlp {
                endpoint: "http://127.0.0.1:4318/v1/traces".into()
            }
        );
        let traces = vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b/v1/traces"),
        ]);
        assert_eq!(
            traces.destination(),
            Destination::Otlp {
                endpoint: "http://b/v1/traces".into()
            }
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

    #[test]
    fn genai_content_is_opt_in() {
        assert_eq!(vars(&[]).genai_content, None);
        let on = vars(&[("MLFLOW_TRACING_GENAI_CONTENT", "true")]);
        assert_eq!(on.genai_content, Some(true));
        let off = vars(&[("MLFLOW_TRACING_GENAI_CONTENT", "no")]);
        assert_eq!(off.genai_content, Some(false));
    }

    #[test]
    fn console_overrides_everything() {
        let config = vars(&[("MLFLOW_TRACKING_URI", "http://h")]).with_console();
        assert_eq!(config.destination(), Destination::Console);
    }
}
