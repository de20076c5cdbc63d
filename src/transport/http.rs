//! OTLP/HTTP: a POST with a protobuf (`http/protobuf`) or JSON (`http/json`) body, gzip when
//! asked, classified by OTLP/HTTP's status rules.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use prost::Message as _;

use flate2::write::GzEncoder;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};

use super::retry::{self, Failure, Verdict};
use super::{Accepted, OtlpMessage, Refused, TransportSettings};
use crate::config::{Compression, Protocol};
use crate::vocab::redact::{HeadersDebug, UrlDebug};

/// OTLP/HTTP to one URL.
pub(crate) struct HttpTransport {
    http: reqwest::Client,
    endpoint: String,
    headers: Vec<(String, String)>,
    json: bool,
    gzip: bool,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("endpoint", &UrlDebug(&self.endpoint))
            .field("headers", &HeadersDebug(&self.headers))
            .field("json", &self.json)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    pub(super) fn new(settings: TransportSettings, http: reqwest::Client) -> Self {
        Self {
            http,
            endpoint: settings.endpoint,
            headers: settings.headers,
            json: settings.protocol == Protocol::HttpJson,
            gzip: settings.compression == Compression::Gzip,
        }
    }

    /// The request body, encoded and compressed as configured.
    fn body<M: OtlpMessage>(&self, request: &M) -> Result<Vec<u8>, Refused> {
        let body = if self.json {
            serde_json::to_vec(request).map_err(|e| {
                (
                    Verdict::Refuse,
                    Failure::permanent(format!("cannot encode OTLP/JSON: {e}")),
                )
            })?
        } else {
            request.encode_to_vec()
        };
        if !self.gzip {
            return Ok(body);
        }
        let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Default::default());
        encoder
            .write_all(&body)
            .and_then(|()| encoder.finish())
            .map_err(|e| {
                (
                    Verdict::Refuse,
                    Failure::permanent(format!("cannot gzip: {e}")),
                )
            })
    }

    pub(super) async fn send<M: OtlpMessage>(
        &self,
        request: &M,
        extra: &[(&'static str, &str)],
        timeout: Duration,
    ) -> Result<Accepted, Refused> {
        let content_type = if self.json {
            "application/json"
        } else {
            "application/x-protobuf"
        };
        let mut post = self
            .http
            .post(&self.endpoint)
            .timeout(timeout)
            .header(CONTENT_TYPE, content_type)
            .body(self.body(request)?);
        if self.gzip {
            post = post.header(CONTENT_ENCODING, "gzip");
        }
        for (k, v) in &self.headers {
            post = post.header(k.as_str(), v.as_str());
        }
        for (k, v) in extra {
            post = post.header(*k, *v);
        }
        let response = post
            .send()
            .await
            .map_err(|e| (Verdict::Retry, Failure::transport(&e, timeout)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
        let json_answer = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = response
            .bytes()
            .await
            .map_err(|e| (Verdict::Retry, Failure::transport(&e, timeout)))?;
        match retry::verdict(status.as_u16()) {
            Verdict::Accepted => {
                let answer: Option<M::Response> = if json_answer {
                    serde_json::from_slice(&body).ok()
                } else {
                    M::Response::decode(body.as_ref()).ok()
                };
                Ok(answer.map(|a| Accepted::of::<M>(&a)).unwrap_or_default())
            }
            verdict => Err((verdict, Failure::status(status, retry_after, &body))),
        }
    }
}
