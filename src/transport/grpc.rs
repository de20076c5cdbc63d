//! OTLP/gRPC through tonic, on the export worker's own current-thread runtime: the channel
//! is opened (lazily) and every call awaited on that runtime, so no other runtime is ever
//! needed and shutdown cannot deadlock on the app's (see opentelemetry-rust#2583).

use std::error::Error as _;
use std::time::Duration;

use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::retry::{Failure, Verdict};
use super::{Accepted, OtlpMessage, Refused, TransportSettings};
use crate::config::Compression;
use crate::error::Error;
use crate::vocab::redact::{redact_url_str, UrlDebug};
use crate::vocab::semconv::env;

/// Longest wait for a TCP (and HTTP/2) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// OTLP/gRPC to one server.
pub(crate) struct GrpcTransport {
    endpoint: Endpoint,
    metadata: Vec<(
        MetadataKey<tonic::metadata::Ascii>,
        MetadataValue<tonic::metadata::Ascii>,
    )>,
    gzip: bool,
    /// Opened on the first call, inside the worker's runtime.
    channel: Option<Channel>,
}

impl std::fmt::Debug for GrpcTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.metadata.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("GrpcTransport")
            .field("endpoint", &UrlDebug(&self.endpoint.uri().to_string()))
            .field("metadata (values hidden)", &names)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl GrpcTransport {
    pub(super) fn new(settings: TransportSettings) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidConfig {
            name: env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            reason,
        };
        let shown = redact_url_str(&settings.endpoint);
        let endpoint = Endpoint::from_shared(settings.endpoint.clone())
            .map_err(|e| invalid(format!("{shown:?} is not a gRPC endpoint: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT);
        if endpoint.uri().scheme_str() == Some("https") {
            return Err(invalid(format!(
                "{shown:?}: gRPC over TLS is not built into this crate; use an http:// endpoint \
                 (a local collector) or OTLP/HTTP over https"
            )));
        }
        let mut metadata = Vec::new();
        for (name, value) in &settings.headers {
            let key =
                MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| {
                    Error::InvalidConfig {
                        name: env::OTEL_EXPORTER_OTLP_HEADERS,
                        reason: format!("{name:?} is not a valid gRPC metadata key"),
                    }
                })?;
            let value = value.parse().map_err(|_| Error::InvalidConfig {
                name: env::OTEL_EXPORTER_OTLP_HEADERS,
                reason: format!("the value of {name:?} is not valid gRPC metadata"),
            })?;
            metadata.push((key, value));
        }
        Ok(Self {
            endpoint,
            metadata,
            gzip: settings.compression == Compression::Gzip,
            channel: None,
        })
    }

    pub(super) async fn send<M: OtlpMessage>(
        &mut self,
        request: &M,
        extra: &[(&'static str, &str)],
        timeout: Duration,
    ) -> Result<Accepted, Refused> {
        let channel = self
            .channel
            .get_or_insert_with(|| self.endpoint.connect_lazy())
            .clone();
        let mut grpc = tonic::client::Grpc::new(channel);
        if self.gzip {
            grpc = grpc.send_compressed(CompressionEncoding::Gzip);
        }
        grpc = grpc.accept_compressed(CompressionEncoding::Gzip);
        let mut call = tonic::Request::new(request.clone());
        call.set_timeout(timeout);
        for (key, value) in &self.metadata {
            call.metadata_mut().insert(key.clone(), value.clone());
        }
        for (key, value) in extra {
            if let Ok(value) = value.parse() {
                call.metadata_mut().insert(*key, value);
            }
        }
        let answer = tokio::time::timeout(timeout, async {
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            let path = http::uri::PathAndQuery::from_static(M::GRPC_PATH);
            let codec = tonic_prost::ProstCodec::<M, M::Response>::default();
            grpc.unary(call, path, codec).await
        })
        .await;
        match answer {
            Ok(Ok(response)) => Ok(Accepted::of::<M>(response.get_ref())),
            Ok(Err(status)) => Err(classify(&status)),
            Err(_) => Err((
                Verdict::Retry,
                Failure::transient(format!("no answer within {}", super::retry::human(timeout))),
            )),
        }
    }
}

/// The OTLP/gRPC rules: UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE and
/// DATA_LOSS are passing; RESOURCE_EXHAUSTED is a message over the receiver's limit (split)
/// or throttling (retry); anything else is a refusal.
fn classify(status: &Status) -> Refused {
    let cause = cause(status);
    match status.code() {
        Code::Unavailable
        | Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::DataLoss => (Verdict::Retry, Failure::transient(cause)),
        Code::ResourceExhausted if too_large(status.message()) => {
            (Verdict::TooLarge, Failure::permanent(cause))
        }
        Code::ResourceExhausted => (Verdict::Retry, Failure::transient(cause)),
        _ => (Verdict::Refuse, Failure::permanent(cause)),
    }
}

/// Whether a RESOURCE_EXHAUSTED status is about the message size (Go's and tonic's words).
fn too_large(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("larger than max") || message.contains("message length too large")
}

/// Words for a status: the innermost transport error for local failures (`connection
/// refused`), else the code and the server's message.
fn cause(status: &Status) -> String {
    let mut source = status.source();
    let mut innermost = None;
    while let Some(error) = source {
        innermost = Some(error.to_string());
        source = error.source();
    }
    match innermost {
        Some(text) if status.code() == Code::Unavailable => text,
        _ if status.message().is_empty() => format!("gRPC status {:?}", status.code()),
        _ => format!("gRPC status {:?}: {}", status.code(), status.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_as_otlp_grpc_classifies_them() {
        let verdict = |code, message: &str| classify(&Status::new(code, message)).0;
        assert_eq!(verdict(Code::Unavailable, "down"), Verdict::Retry);
        assert_eq!(verdict(Code::DeadlineExceeded, ""), Verdict::Retry);
        assert_eq!(verdict(Code::Unauthenticated, "no key"), Verdict::Refuse);
        assert_eq!(verdict(Code::InvalidArgument, "bad"), Verdict::Refuse);
        assert_eq!(
            verdict(
                Code::ResourceExhausted,
                "grpc: received message larger than max (5000000 vs. 4194304)"
            ),
            Verdict::TooLarge
        );
        assert_eq!(
            verdict(Code::ResourceExhausted, "slow down"),
            Verdict::Retry
        );
        let (_, failure) = classify(&Status::new(Code::PermissionDenied, "no access"));
        assert_eq!(failure.cause, "gRPC status PermissionDenied: no access");
    }
}
