//! How one OTLP request travels: [`Transport::Http`] (protobuf or JSON body, optionally
//! gzip) or, with the `grpc` feature, [`Transport::Grpc`]. Both run on the export worker's
//! runtime and classify every answer the same way ([`Verdict`], [`Failure`]) so that the
//! sink's retry, split and accounting do not care which one carried the request. [`retry`]
//! says what an answer means and how long to wait before the next try.
//!
//! Below `mlflow/`, `delivery/` and `metrics/`, which all send through it; it reads only
//! `config/` (compression, protocol), the error type and the vocabulary.

#[cfg(feature = "grpc")]
mod grpc;
mod http;
pub(crate) mod retry;

use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::{Compression, Protocol};
use crate::error::Error;
use retry::{Failure, Verdict};

/// Where a protocol is chosen, for errors.
#[cfg(not(feature = "grpc"))]
const PROTOCOL_SETTING: &str = "OTEL_EXPORTER_OTLP_PROTOCOL (or Config::with_otlp_protocol)";

/// An OTLP export request: what each transport needs to know about a signal's message.
pub(crate) trait OtlpMessage:
    prost::Message + Serialize + Clone + Send + Sync + 'static
{
    /// The answer.
    type Response: prost::Message + Default + DeserializeOwned;
    /// The gRPC method (`/package.Service/Export`).
    #[cfg(feature = "grpc")]
    const GRPC_PATH: &'static str;
    /// Items (spans, data points) the receiver rejected, and its message (partial success).
    fn rejected(response: &Self::Response) -> (usize, String);
}

impl OtlpMessage for ExportTraceServiceRequest {
    type Response = ExportTraceServiceResponse;
    #[cfg(feature = "grpc")]
    const GRPC_PATH: &'static str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    fn rejected(response: &Self::Response) -> (usize, String) {
        response
            .partial_success
            .as_ref()
            .map_or((0, String::new()), |p| {
                (
                    usize::try_from(p.rejected_spans).unwrap_or(0),
                    p.error_message.clone(),
                )
            })
    }
}

impl OtlpMessage for ExportMetricsServiceRequest {
    type Response = ExportMetricsServiceResponse;
    #[cfg(feature = "grpc")]
    const GRPC_PATH: &'static str =
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    fn rejected(response: &Self::Response) -> (usize, String) {
        response
            .partial_success
            .as_ref()
            .map_or((0, String::new()), |p| {
                (
                    usize::try_from(p.rejected_data_points).unwrap_or(0),
                    p.error_message.clone(),
                )
            })
    }
}

/// The current-thread runtime that drives a transport on a thread of its own (the export
/// worker, the metrics reader): built there on first use, since a runtime must not be built
/// inside another one; dropped without blocking or panicking wherever its owner is dropped.
#[derive(Debug, Default)]
pub(crate) struct LocalRuntime(Option<tokio::runtime::Runtime>);

impl LocalRuntime {
    /// The runtime, built on the first call.
    pub(crate) fn get(&mut self) -> Result<&tokio::runtime::Runtime, String> {
        if self.0.is_none() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start an I/O runtime: {e}"))?;
            self.0 = Some(runtime);
        }
        Ok(self.0.as_ref().expect("built above"))
    }
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        // The owner may be dropped inside the app's runtime, where dropping another runtime
        // the usual way would panic.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A successful answer: items the receiver still rejected (OTLP partial success), and why.
#[derive(Debug, Default)]
pub(crate) struct Accepted {
    pub(crate) rejected: usize,
    pub(crate) message: String,
}

impl Accepted {
    fn of<M: OtlpMessage>(response: &M::Response) -> Self {
        let (rejected, message) = M::rejected(response);
        Self { rejected, message }
    }
}

/// What one try gave when it did not succeed: how to go on, and why, in words.
pub(crate) type Refused = (Verdict, Failure);

/// One destination's transport.
#[derive(Debug)]
pub(crate) enum Transport {
    /// OTLP/HTTP.
    Http(http::HttpTransport),
    /// OTLP/gRPC (boxed: a tonic endpoint is large).
    #[cfg(feature = "grpc")]
    Grpc(Box<grpc::GrpcTransport>),
}

/// What a transport is built from.
#[derive(Debug, Clone)]
pub(crate) struct TransportSettings {
    /// The full URL (HTTP) or the server (gRPC).
    pub(crate) endpoint: String,
    pub(crate) protocol: Protocol,
    /// Sent with every request (credentials, the experiment header, user headers).
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) compression: Compression,
}

impl Transport {
    /// Builds the transport; `http` is the worker's HTTP client. Fails on settings it cannot
    /// serve (gRPC without the `grpc` feature), naming the setting.
    pub(crate) fn new(settings: TransportSettings, http: reqwest::Client) -> Result<Self, Error> {
        match settings.protocol {
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                Ok(Transport::Http(http::HttpTransport::new(settings, http)))
            }
            #[cfg(feature = "grpc")]
            Protocol::Grpc => Ok(Transport::Grpc(Box::new(grpc::GrpcTransport::new(
                settings,
            )?))),
            #[cfg(not(feature = "grpc"))]
            Protocol::Grpc => Err(Error::InvalidConfig {
                name: PROTOCOL_SETTING,
                reason: "\"grpc\" needs the crate's `grpc` cargo feature (on by default); \
                         use http/protobuf or enable the feature"
                    .into(),
            }),
        }
    }

    /// Largest request worth sending; larger ones are split first. gRPC receivers refuse
    /// messages over 4 MiB by default.
    pub(crate) fn max_request_bytes(&self) -> usize {
        match self {
            Transport::Http(_) => 8 * 1024 * 1024,
            #[cfg(feature = "grpc")]
            Transport::Grpc(_) => 4 * 1024 * 1024 - 64 * 1024,
        }
    }

    /// Sends one request, with `extra` headers on top of the configured ones, and
    /// classifies the answer.
    pub(crate) async fn send<M: OtlpMessage>(
        &mut self,
        request: &M,
        extra: &[(&'static str, &str)],
        timeout: Duration,
    ) -> Result<Accepted, Refused> {
        match self {
            Transport::Http(http) => http.send(request, extra, timeout).await,
            #[cfg(feature = "grpc")]
            Transport::Grpc(grpc) => grpc.send(request, extra, timeout).await,
        }
    }
}
