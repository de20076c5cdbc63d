//! How a failed or cancelled call is recorded: error class, message, HTTP status.

use std::borrow::Cow;

use async_openai::error::OpenAIError;
use opentelemetry::KeyValue;

use crate::vocab::json::capped_str;
use crate::vocab::semconv::{mlflow, otel};

/// Longest error message recorded (exception event and span status); a 5xx body quoted in an
/// error can be megabytes.
pub(crate) const MAX_ERROR_MESSAGE_BYTES: usize = 8 * 1024;

/// How a failed call is recorded: error class, message and HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorRecord {
    /// Error class, named like the OpenAI SDKs' exceptions (`AuthenticationError`, ...), which is
    /// what MLflow shows for Python traces.
    pub(crate) error_type: Cow<'static, str>,
    /// Human-readable message (never a response body, never credentials).
    pub(crate) message: String,
    /// HTTP status of API errors.
    pub(crate) http_status: Option<u16>,
}

impl ErrorRecord {
    /// A call (or stream) dropped by its caller before it finished.
    pub(crate) fn cancelled(message: impl Into<String>) -> Self {
        Self {
            error_type: otel::ERROR_TYPE_CANCELLED.into(),
            message: message.into(),
            http_status: None,
        }
    }

    /// Classifies an async-openai error.
    pub(crate) fn from_openai(error: &OpenAIError) -> Self {
        match error {
            OpenAIError::ApiError(api) => {
                let status = api.status_code.as_u16();
                Self {
                    error_type: api_error_type(status).into(),
                    message: format!("Error code: {status} - {}", api.api_error),
                    http_status: Some(status),
                }
            }
            OpenAIError::Reqwest(e) => Self {
                error_type: if e.is_timeout() {
                    "APITimeoutError".into()
                } else {
                    "APIConnectionError".into()
                },
                message: e.without_url_ref(),
                http_status: e.status().map(|s| s.as_u16()),
            },
            OpenAIError::JSONDeserialize(e, _body) => Self {
                error_type: "JSONDeserializeError".into(),
                message: e.to_string(),
                http_status: None,
            },
            OpenAIError::StreamError(e) => Self {
                error_type: "StreamError".into(),
                message: e.to_string(),
                http_status: None,
            },
            OpenAIError::InvalidArgument(msg) => Self {
                error_type: "InvalidArgument".into(),
                message: msg.clone(),
                http_status: None,
            },
            other => Self {
                error_type: "OpenAIError".into(),
                message: other.to_string(),
                http_status: None,
            },
        }
    }

    /// Span attributes of the failure (the `exception` event is built by [`Self::event`]).
    pub(crate) fn attributes(&self) -> Vec<KeyValue> {
        let mut attrs = vec![
            KeyValue::new(otel::ERROR_TYPE, self.error_type.to_string()),
            KeyValue::new(mlflow::SPAN_LOG_LEVEL, mlflow::LOG_LEVEL_ERROR),
        ];
        if let Some(status) = self.http_status {
            attrs.push(KeyValue::new(
                otel::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status),
            ));
        }
        attrs
    }

    /// Attributes of the `exception` span event.
    pub(crate) fn event(&self) -> Vec<KeyValue> {
        vec![
            KeyValue::new(otel::EXCEPTION_TYPE, self.error_type.to_string()),
            KeyValue::new(otel::EXCEPTION_MESSAGE, self.recorded_message()),
        ]
    }

    /// The message as recorded: at most [`MAX_ERROR_MESSAGE_BYTES`].
    pub(crate) fn recorded_message(&self) -> String {
        capped_str(&self.message, MAX_ERROR_MESSAGE_BYTES)
    }
}

/// OpenAI SDK exception names by HTTP status.
fn api_error_type(status: u16) -> &'static str {
    match status {
        400 => "BadRequestError",
        401 => "AuthenticationError",
        403 => "PermissionDeniedError",
        404 => "NotFoundError",
        409 => "ConflictError",
        422 => "UnprocessableEntityError",
        429 => "RateLimitError",
        s if s >= 500 => "InternalServerError",
        _ => "APIStatusError",
    }
}

/// reqwest's `Display` names the URL; ours must not (it may hold credentials or keys).
trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut message = self.to_string();
        if let Some(url) = self.url() {
            message = message.replace(url.as_str(), &crate::vocab::redact::redact_url(url));
        }
        // The source chain says what actually failed ("connection refused", ...).
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::attribute as get;
    use async_openai::error::{ApiError, ApiErrorResponse};
    use opentelemetry::Value as OtelValue;
    use serde_json::Value;

    fn api_error(status: u16, message: &str) -> OpenAIError {
        OpenAIError::ApiError(ApiErrorResponse {
            status_code: reqwest::StatusCode::from_u16(status).unwrap(),
            api_error: ApiError {
                message: message.into(),
                ..Default::default()
            },
        })
    }

    #[test]
    fn api_errors_are_classified_by_status() {
        let rec = ErrorRecord::from_openai(&api_error(401, "Authentication Fails"));
        assert_eq!(rec.error_type, "AuthenticationError");
        assert_eq!(rec.http_status, Some(401));
        assert!(
            rec.message.starts_with("Error code: 401 - "),
            "{}",
            rec.message
        );
        assert!(rec.message.contains("Authentication Fails"));
        assert_eq!(
            ErrorRecord::from_openai(&api_error(429, "slow down")).error_type,
            "RateLimitError"
        );
        assert_eq!(
            ErrorRecord::from_openai(&api_error(503, "x")).error_type,
            "InternalServerError"
        );
        let attrs = rec.attributes();
        assert_eq!(
            get(&attrs, otel::ERROR_TYPE),
            Some(&OtelValue::from("AuthenticationError"))
        );
        assert_eq!(
            get(&attrs, otel::HTTP_RESPONSE_STATUS_CODE),
            Some(&OtelValue::I64(401))
        );
        assert_eq!(
            get(&attrs, mlflow::SPAN_LOG_LEVEL),
            Some(&OtelValue::I64(40))
        );
        let event = rec.event();
        assert_eq!(
            get(&event, otel::EXCEPTION_TYPE),
            Some(&OtelValue::from("AuthenticationError"))
        );
    }

    #[test]
    fn other_errors_are_classified() {
        let rec = ErrorRecord::from_openai(&OpenAIError::InvalidArgument("bad".into()));
        assert_eq!(rec.error_type, "InvalidArgument");
        assert_eq!(rec.message, "bad");
        let err = serde_json::from_str::<Value>("{").unwrap_err();
        let rec = ErrorRecord::from_openai(&OpenAIError::JSONDeserialize(err, "{".into()));
        assert_eq!(rec.error_type, "JSONDeserializeError");
    }

    #[test]
    fn recorded_messages_are_capped() {
        let rec = ErrorRecord {
            error_type: "InternalServerError".into(),
            message: "x".repeat(5 * 1024 * 1024),
            http_status: Some(500),
        };
        assert!(rec.recorded_message().len() <= MAX_ERROR_MESSAGE_BYTES);
        let message = rec
            .event()
            .into_iter()
            .find(|kv| kv.key.as_str() == otel::EXCEPTION_MESSAGE)
            .unwrap();
        assert!(message.value.as_str().len() <= MAX_ERROR_MESSAGE_BYTES);
    }
}
