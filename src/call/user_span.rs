//! Spans for your own code: [`UserSpan`] (manual API), [`with_span`], and the runtime side
//! of the [`macro@crate::trace`] attribute.

use std::fmt::Display;
use std::future::Future;

use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::call::span::{record_error, set_attributes};
use crate::record::content::{self, Capture, Redactor};
use crate::record::error::ErrorRecord;
use crate::record::genai_span_kind;
use crate::setup::pipeline::Scope;
use crate::vocab::json::capped_json;
use crate::vocab::semconv::mlflow;
use crate::vocab::span_type::SpanType;

/// A span of your own code (an agent step, a tool, a retriever), typed for MLflow.
///
/// LLM calls and other spans made while it is current nest under it.
///
/// ```
/// use mlflow_tracing::{SpanType, UserSpan};
///
/// let span = UserSpan::new("lookup_city", SpanType::Retriever);
/// span.set_inputs(&serde_json::json!({"query": "capital of France"}));
/// let city = span.in_scope(|| "Paris");
/// span.set_outputs(&city);
/// // The span ends when `span` is dropped.
/// ```
///
/// In async code, run the future with [`UserSpan::instrument`] (never hold
/// `span.span().enter()` across an `.await`).
#[derive(Debug, Clone)]
pub struct UserSpan {
    span: tracing::Span,
    /// Cap of one attribute value, from the pipeline the span was started under.
    max_attribute_bytes: usize,
    /// Content capture and redaction of that pipeline.
    capture: Capture,
    redactor: Option<Redactor>,
}

impl UserSpan {
    /// Starts a span named `name` of type `span_type`, a child of the current span. When
    /// tracing is disabled ([`crate::set_enabled`]) it is a no-op span.
    pub fn new(name: &str, span_type: impl Into<SpanType>) -> Self {
        let Some(scope) = Scope::current() else {
            return Self {
                span: tracing::Span::none(),
                max_attribute_bytes: 0,
                capture: Capture::None,
                redactor: None,
            };
        };
        let span = tracing::info_span!(target: crate::TARGET, "span", otel.name = name);
        if !span.is_disabled() {
            let span_type = span_type.into();
            span.set_attribute(mlflow::SPAN_TYPE, span_type.as_str().to_owned());
            set_attributes(&span, genai_span_kind(&span_type, name));
        }
        let settings = scope.settings();
        Self {
            span,
            max_attribute_bytes: settings.max_attribute_bytes,
            capture: settings.capture,
            redactor: settings.redactor.clone(),
        }
    }

    /// The underlying `tracing` span.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Whether this span records anything (tracing enabled and a subscriber listening).
    pub fn is_recording(&self) -> bool {
        !self.span.is_disabled()
    }

    /// Records `mlflow.spanInputs` (any serializable value, usually an object of arguments).
    pub fn set_inputs<T: Serialize + ?Sized>(&self, inputs: &T) {
        self.set_json(mlflow::SPAN_INPUTS, inputs);
    }

    /// Records `mlflow.spanOutputs`.
    pub fn set_outputs<T: Serialize + ?Sized>(&self, outputs: &T) {
        self.set_json(mlflow::SPAN_OUTPUTS, outputs);
    }

    fn set_json<T: Serialize + ?Sized>(&self, key: &'static str, value: &T) {
        if !self.is_recording() {
            return;
        }
        if let Ok(json) = serde_json::to_value(value) {
            self.set_json_value(key, &json);
        }
    }

    /// Records inputs or outputs after the redaction hook and the capture mode (nothing at
    /// all with [`Capture::None`]).
    fn set_json_value(&self, key: &'static str, value: &Value) {
        if !content::records(key, self.capture) {
            return;
        }
        let text = if content::changes(self.capture, self.redactor.as_ref()) {
            let mut value = value.clone();
            content::prepare(&mut value, self.capture, self.redactor.as_ref());
            capped_json(&value, self.max_attribute_bytes)
        } else {
            // Full capture, no hook: nothing to change, so no copy.
            capped_json(value, self.max_attribute_bytes)
        };
        self.span.set_attribute(key, text);
    }

    /// Sets any attribute (string, integer, float, bool or array).
    pub fn set_attribute(
        &self,
        key: impl Into<opentelemetry::Key>,
        value: impl Into<opentelemetry::Value>,
    ) {
        if self.is_recording() {
            self.span.set_attribute(key, value);
        }
    }

    /// Marks the span failed: status ERROR, `error.type`, and an `exception` event.
    pub fn set_error(&self, error_type: &str, message: impl Display) {
        if self.is_recording() {
            record_error(
                &self.span,
                &ErrorRecord {
                    error_type: error_type.to_owned().into(),
                    message: message.to_string(),
                    http_status: None,
                },
            );
        }
    }

    /// Marks the span successful (status OK, `mlflow.spanLogLevel` 20).
    pub fn set_ok(&self) {
        if self.is_recording() {
            set_attributes(
                &self.span,
                vec![KeyValue::new(
                    mlflow::SPAN_LOG_LEVEL,
                    mlflow::LOG_LEVEL_INFO,
                )],
            );
            self.span.set_status(Status::Ok);
        }
    }

    /// Runs `f` with this span current.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        self.span.in_scope(f)
    }

    /// Runs `future` with this span current at every poll.
    pub fn instrument<F: Future>(&self, future: F) -> tracing::instrument::Instrumented<F> {
        future.instrument(self.span.clone())
    }
}

/// Runs `f` inside a new span and records its return value as the span's outputs.
///
/// ```
/// use mlflow_tracing::{with_span, SpanType};
/// let weather = with_span("get_weather", SpanType::Tool, |span| {
///     span.set_inputs(&serde_json::json!({"city": "Paris"}));
///     "rainy".to_owned()
/// });
/// assert_eq!(weather, "rainy");
/// ```
pub fn with_span<R: Serialize>(
    name: &str,
    span_type: impl Into<SpanType>,
    f: impl FnOnce(&UserSpan) -> R,
) -> R {
    let span = UserSpan::new(name, span_type);
    let result = span.in_scope(|| f(&span));
    span.set_outputs(&result);
    span.set_ok();
    result
}

/// Spawns `future` on tokio with the current span and subscriber, so the spans it creates
/// (LLM calls included) nest under the caller's span in the same trace.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    use tracing::instrument::WithSubscriber;
    tokio::spawn(future.in_current_span().with_current_subscriber())
}

/// Runtime support for the `#[trace]` attribute macro. Not public API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    pub use serde_json::{Map, Value};

    /// Starts the span of a `#[trace]` function; `inputs` is only called when recording.
    pub fn start(
        name: &str,
        span_type: impl Into<SpanType>,
        function_name: &str,
        inputs: impl FnOnce() -> Map<String, Value>,
    ) -> UserSpan {
        let span = UserSpan::new(name, span_type);
        if span.is_recording() {
            span.set_attribute(mlflow::SPAN_FUNCTION_NAME, function_name.to_owned());
            span.set_json_value(mlflow::SPAN_INPUTS, &Value::Object(inputs()));
        }
        span
    }

    /// Wraps a value for autoref-specialised recording (`(&&&Wrap(&v)).__mlflow_*()`).
    #[derive(Debug)]
    pub struct Wrap<'a, T: ?Sized>(pub &'a T);

    /// Level 1: `Result<T, E>` with serializable `T` and displayable `E`.
    pub trait RecordResultDisplay {
        /// Records the return value on the span.
        fn __mlflow_record(&self, span: &UserSpan);
    }
    impl<T: Serialize, E: Display> RecordResultDisplay for &&&Wrap<'_, Result<T, E>> {
        fn __mlflow_record(&self, span: &UserSpan) {
            match self.0 {
                Ok(value) => {
                    span.set_outputs(value);
                    span.set_ok();
                }
                Err(error) => span.set_error(short_type_name::<E>(), error),
            }
        }
    }

    /// Level 2: any `Result<T, E>` with a `Debug` error.
    pub trait RecordResultDebug {
        /// Records the return value on the span.
        fn __mlflow_record(&self, span: &UserSpan);
    }
    impl<T, E: std::fmt::Debug> RecordResultDebug for &&Wrap<'_, Result<T, E>> {
        fn __mlflow_record(&self, span: &UserSpan) {
            match self.0 {
                Ok(_) => span.set_ok(),
                Err(error) => span.set_error(short_type_name::<E>(), format!("{error:?}")),
            }
        }
    }

    /// Level 3: any serializable value.
    pub trait RecordSerialize {
        /// Records the return value on the span.
        fn __mlflow_record(&self, span: &UserSpan);
    }
    impl<T: Serialize + ?Sized> RecordSerialize for &Wrap<'_, T> {
        fn __mlflow_record(&self, span: &UserSpan) {
            span.set_outputs(self.0);
            span.set_ok();
        }
    }

    /// Level 4: anything else (no outputs recorded).
    pub trait RecordNothing {
        /// Marks the span successful.
        fn __mlflow_record(&self, span: &UserSpan);
    }
    impl<T: ?Sized> RecordNothing for Wrap<'_, T> {
        fn __mlflow_record(&self, span: &UserSpan) {
            span.set_ok();
        }
    }

    /// Argument to JSON when it is serializable.
    pub trait InputSerialize {
        /// The argument as JSON.
        fn __mlflow_input(&self) -> Option<Value>;
    }
    impl<T: Serialize + ?Sized> InputSerialize for &Wrap<'_, T> {
        fn __mlflow_input(&self) -> Option<Value> {
            serde_json::to_value(self.0).ok()
        }
    }

    /// Non-serializable argument: its type name.
    pub trait InputOpaque {
        /// A placeholder naming the type.
        fn __mlflow_input(&self) -> Option<Value>;
    }
    impl<T: ?Sized> InputOpaque for Wrap<'_, T> {
        fn __mlflow_input(&self) -> Option<Value> {
            Some(Value::String(format!("<{}>", std::any::type_name::<T>())))
        }
    }

    fn short_type_name<T: ?Sized>() -> &'static str {
        let full = std::any::type_name::<T>();
        let base = full.split('<').next().unwrap_or(full);
        base.rsplit("::").next().unwrap_or(base)
    }
}
