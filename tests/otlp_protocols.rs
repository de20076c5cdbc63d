//! Each OTLP protocol to a local receiver that decodes what it gets (never a substring search
//! of the bytes): `http/protobuf` and `http/json` to wiremock, `grpc` to a tonic server; with
//! the standard variables read through `Config::from_vars`: headers (URL-decoded), gzip,
//! resource attributes, service name. And gRPC shutdown on a current-thread runtime.

mod common;

use std::io::Read as _;
use std::time::Duration;

use common::*;
use flate2::read::GzDecoder;
use mlflow_tracing::{Config, Destination, Protocol};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A config read from these variables only (never the test process's environment).
fn from_vars(pairs: &[(&str, String)]) -> Config {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Config::from_vars(move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .with_stderr_warnings(false)
    .with_schedule_delay(Duration::from_millis(50))
}

fn string_attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

/// What a receiver saw: the request and its headers (or gRPC metadata).
struct Received {
    request: ExportTraceServiceRequest,
    headers: Vec<(String, String)>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn span_names(&self) -> Vec<String> {
        self.request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .map(|s| s.name.clone())
            .collect()
    }

    /// Attribute keys of the first span.
    fn span_keys(&self) -> Vec<String> {
        self.request.resource_spans[0].scope_spans[0].spans[0]
            .attributes
            .iter()
            .map(|kv| kv.key.clone())
            .collect()
    }

    fn resource(&self, key: &str) -> Option<String> {
        let resource = self.request.resource_spans[0].resource.as_ref()?;
        string_attr(&resource.attributes, key)
    }
}

/// Makes one traced chat call in `pipeline`, then shuts it down and returns what shutdown
/// says.
async fn one_call(
    pipeline: Pipeline,
) -> Result<Vec<mlflow_tracing::DeliveryReport>, mlflow_tracing::Error> {
    let mock = MockDeepSeek::start().await;
    {
        let _scope = tracing::dispatcher::set_default(&pipeline.dispatch);
        client(&mock)
            .chat()
            .create(seed_request("deepseek-chat"))
            .await
            .unwrap();
    }
    tokio::task::spawn_blocking(move || pipeline.guard.shutdown())
        .await
        .unwrap()
}

/// Decodes an OTLP/HTTP request body as its headers say (gzip, protobuf or JSON).
fn decode_http(request: &wiremock::Request) -> Received {
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = request.body.clone();
    if header("content-encoding").as_deref() == Some("gzip") {
        let mut plain = Vec::new();
        GzDecoder::new(body.as_slice())
            .read_to_end(&mut plain)
            .expect("a gzip body");
        body = plain;
    }
    let request = match header("content-type").as_deref() {
        Some("application/x-protobuf") => {
            ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf")
        }
        Some("application/json") => serde_json::from_slice(&body).expect("OTLP/JSON"),
        other => panic!("unexpected content type {other:?}"),
    };
    Received { request, headers }
}

/// An OTLP/HTTP receiver answering 200 to POSTs on `route`.
async fn receiver_at(route: &str) -> MockServer {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    receiver
}

#[tokio::test]
async fn http_protobuf_with_gzip_headers_and_resource_from_the_standard_variables() {
    let receiver = receiver_at("/v1/traces").await;
    let config = from_vars(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.uri()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "api-key=s%3Dcret,x-team=ml".into(),
        ),
        ("OTEL_SERVICE_NAME", "protocols".into()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=test".into(),
        ),
        // MLflow is set too: the OTLP endpoint replaces it, as in MLflow Python.
        (
            "MLFLOW_TRACKING_URI",
            format!("http://127.0.0.1:{}", closed_port()),
        ),
    ]);
    assert_eq!(
        config.destinations(),
        [Destination::Otlp {
            endpoint: format!("{}/v1/traces", receiver.uri()),
            protocol: Protocol::HttpProtobuf
        }]
    );
    let reports = one_call(Pipeline::start(config)).await.expect("delivered");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].stats.exported, 1, "{}", reports[0]);

    let requests = receiver.received_requests().await.unwrap();
    let got = decode_http(&requests[0]);
    assert_eq!(got.header("content-encoding"), Some("gzip"));
    assert_eq!(got.header("api-key"), Some("s=cret"), "URL-decoded");
    assert_eq!(got.header("x-team"), Some("ml"));
    assert_eq!(got.span_names(), ["Completions"]);
    // The conventions' shape: no bare request keys, no `openai.*` on a DeepSeek span.
    let keys = got.span_keys();
    assert!(
        keys.iter().all(|k| k.contains('.')),
        "bare keys left: {keys:?}"
    );
    assert!(!keys.iter().any(|k| k.starts_with("openai.")), "{keys:?}");
    for key in [
        "gen_ai.request.model",
        "gen_ai.request.temperature",
        "mlflow.spanInputs",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
    assert_eq!(got.resource("service.name").as_deref(), Some("protocols"));
    assert_eq!(
        got.resource("deployment.environment").as_deref(),
        Some("test")
    );
}

#[tokio::test]
async fn http_json_is_otlp_json() {
    let receiver = receiver_at("/custom/traces").await;
    let config = from_vars(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/custom/traces", receiver.uri()),
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json".into()),
        ("MLFLOW_TRACING_OTLP_SHAPE", "mlflow".into()),
    ]);
    let reports = one_call(Pipeline::start(config)).await.expect("delivered");
    assert_eq!(reports[0].stats.exported, 1, "{}", reports[0]);
    let requests = receiver.received_requests().await.unwrap();
    let got = decode_http(&requests[0]);
    assert_eq!(got.span_names(), ["Completions"]);
    // MLflow's exact shape on request, for a collector that forwards to MLflow.
    let keys = got.span_keys();
    for key in ["model", "temperature", "max_tokens"] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
    // OTLP/JSON spells ids as hex and keys in lowerCamelCase.
    let raw: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    let span = &raw["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"].as_str().unwrap().len(), 32, "{span}");
    assert_eq!(span["spanId"].as_str().unwrap().len(), 16, "{span}");
}

/// OTLP/gRPC (the `grpc` cargo feature).
#[cfg(feature = "grpc")]
mod grpc {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
        TraceService, TraceServiceServer,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };

    /// A tonic OTLP trace receiver that keeps what it decodes and can reject spans.
    #[derive(Clone, Default)]
    struct GrpcReceiver {
        received: Arc<Mutex<Vec<Received>>>,
        reject: bool,
    }

    #[tonic::async_trait]
    impl TraceService for GrpcReceiver {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            let headers = request
                .metadata()
                .clone()
                .into_headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            self.received.lock().unwrap().push(Received {
                request: request.into_inner(),
                headers,
            });
            let partial_success = self.reject.then(|| ExportTracePartialSuccess {
                rejected_spans: 1,
                error_message: "span too old".into(),
            });
            Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success,
            }))
        }
    }

    /// Starts `receiver` on its own thread and runtime (so that a test blocking its own
    /// runtime cannot stall it); returns its `http://127.0.0.1:port`.
    fn serve_grpc(receiver: GrpcReceiver) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let service = TraceServiceServer::new(receiver)
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
                tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming(tokio_stream_of(listener))
                    .await
                    .unwrap();
            });
        });
        format!("http://{address}")
    }

    /// The listener's connections as the stream tonic serves.
    fn tokio_stream_of(
        listener: tokio::net::TcpListener,
    ) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
        futures::stream::unfold(listener, |listener| async move {
            let accepted = listener.accept().await.map(|(stream, _)| stream);
            Some((accepted, listener))
        })
    }

    #[tokio::test]
    async fn grpc_with_gzip_and_metadata() {
        let receiver = GrpcReceiver::default();
        let endpoint = serve_grpc(receiver.clone());
        let config = from_vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".into()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization=Bearer%20t0k".into(),
            ),
            ("OTEL_SERVICE_NAME", "over-grpc".into()),
        ]);
        assert_eq!(
            config.destinations(),
            [Destination::Otlp {
                endpoint: endpoint.clone(),
                protocol: Protocol::Grpc
            }],
            "the generic endpoint is used as is for gRPC"
        );
        let reports = one_call(Pipeline::start(config)).await.expect("delivered");
        assert_eq!(reports[0].stats.exported, 1, "{}", reports[0]);
        assert!(
            reports[0].destination.starts_with(&endpoint),
            "{}",
            reports[0]
        );
        let received = receiver.received.lock().unwrap();
        let got = &received[0];
        assert_eq!(got.span_names(), ["Completions"]);
        assert_eq!(got.header("grpc-encoding"), Some("gzip"));
        assert_eq!(got.header("authorization"), Some("Bearer t0k"));
        assert_eq!(got.resource("service.name").as_deref(), Some("over-grpc"));
    }

    #[tokio::test]
    async fn grpc_partial_success_counts_as_refused() {
        let receiver = GrpcReceiver {
            reject: true,
            ..Default::default()
        };
        let endpoint = serve_grpc(receiver.clone());
        let pipeline = Pipeline::start(
            Config::new()
                .with_otlp_endpoint(&endpoint)
                .with_otlp_protocol(Protocol::Grpc)
                .with_stderr_warnings(false),
        );
        let result = one_call(pipeline).await;
        let Err(mlflow_tracing::Error::Undelivered(report)) = result else {
            panic!("a rejected span is not delivered: {result:?}")
        };
        assert_eq!(report.stats.refused, 1, "{report}");
        assert!(report.to_string().contains("span too old"), "{report}");
    }

    #[tokio::test]
    async fn grpc_to_nobody_fails_with_the_cause() {
        let port = closed_port();
        let pipeline = Pipeline::start(
            Config::new()
                .with_otlp_endpoint(format!("http://127.0.0.1:{port}"))
                .with_otlp_protocol(Protocol::Grpc)
                .with_stderr_warnings(false)
                .with_retry_timeout(Duration::from_millis(300))
                .with_shutdown_timeout(Duration::from_secs(2)),
        );
        let result = one_call(pipeline).await;
        let Err(mlflow_tracing::Error::Undelivered(report)) = result else {
            panic!("nothing listens: {result:?}")
        };
        assert_eq!(report.stats.failed, 1, "{report}");
        let text = report.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
    }

    /// gRPC shutdown on a current-thread runtime, called from inside it (blocking it), cannot
    /// deadlock: the export worker drives tonic on a runtime of its own.
    #[test]
    fn grpc_shutdown_on_a_current_thread_runtime_does_not_hang() {
        let receiver = GrpcReceiver::default();
        let endpoint = serve_grpc(receiver.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        let reports = runtime.block_on(async {
            let mock = MockDeepSeek::start().await;
            let pipeline = Pipeline::start(
                Config::new()
                    .with_otlp_endpoint(&endpoint)
                    .with_otlp_protocol(Protocol::Grpc)
                    .with_stderr_warnings(false)
                    .with_shutdown_timeout(Duration::from_secs(5)),
            );
            {
                let _scope = tracing::dispatcher::set_default(&pipeline.dispatch);
                client(&mock)
                    .chat()
                    .create(seed_request("deepseek-chat"))
                    .await
                    .unwrap();
            }
            // Straight from the async context, as `#[tokio::main(flavor = "current_thread")]`
            // code does when the guard drops at the end of main.
            pipeline.guard.shutdown()
        });
        let took = started.elapsed();
        let reports = reports.expect("delivered");
        assert_eq!(reports[0].stats.exported, 1);
        assert_eq!(receiver.received.lock().unwrap().len(), 1);
        eprintln!("current-thread gRPC run incl. shutdown took {took:?}");
    }
}

mod metrics {
    use super::*;
    use mlflow_tracing::semconv::{gen_ai, metrics as names};
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use opentelemetry_proto::tonic::metrics::v1::{HistogramDataPoint, Metric};

    fn histogram_points(metric: &Metric) -> &[HistogramDataPoint] {
        match metric.data.as_ref() {
            Some(Data::Histogram(h)) => &h.data_points,
            other => panic!("{} is not a histogram: {other:?}", metric.name),
        }
    }

    /// Metrics reach an OTLP receiver with the pinned names, units, attributes and buckets,
    /// while the traces go to their own endpoint.
    #[tokio::test]
    async fn metrics_reach_the_receiver_with_the_pinned_names() {
        let receiver = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&receiver)
            .await;
        let config = from_vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.uri()),
            ("OTEL_SERVICE_NAME", "with-metrics".into()),
            ("MLFLOW_EXPERIMENT_ID", "42".into()),
        ]);
        let pipeline = Pipeline::start(config);
        let mock = MockDeepSeek::start().await;
        {
            let _scope = tracing::dispatcher::set_default(&pipeline.dispatch);
            let client = client(&mock);
            client
                .chat()
                .create(seed_request("deepseek-chat"))
                .await
                .unwrap();
            let _ = client
                .chat()
                .create(seed_request("deepseek-chat-error-429"))
                .await;
        }
        tokio::task::spawn_blocking(move || pipeline.guard.shutdown())
            .await
            .unwrap()
            .expect("spans delivered");

        let requests = receiver.received_requests().await.unwrap();
        let exports: Vec<ExportMetricsServiceRequest> = requests
            .iter()
            .filter(|r| r.url.path() == "/v1/metrics")
            .map(|r| ExportMetricsServiceRequest::decode(r.body.as_slice()).unwrap())
            .collect();
        assert!(!exports.is_empty(), "no metrics export");
        let last = exports.last().unwrap();
        let resource = last.resource_metrics[0].resource.as_ref().unwrap();
        assert_eq!(
            string_attr(&resource.attributes, "service.name").as_deref(),
            Some("with-metrics")
        );
        let metrics: Vec<(&str, &Metric)> = last.resource_metrics[0]
            .scope_metrics
            .iter()
            .flat_map(|s| {
                s.metrics
                    .iter()
                    .map(move |m| (s.scope.as_ref().unwrap().name.as_str(), m))
            })
            .collect();
        let find = |name: &str| {
            metrics
                .iter()
                .find(|(_, m)| m.name == name)
                .unwrap_or_else(|| {
                    panic!(
                        "{name} missing from {:?}",
                        metrics.iter().map(|(_, m)| &m.name).collect::<Vec<_>>()
                    )
                })
        };

        // MLflow parity: one point per span, in ms, with MLflow Python's attributes.
        let (scope, span_duration) = find(names::SPAN_DURATION);
        assert_eq!(*scope, names::MLFLOW_METER);
        assert_eq!(span_duration.unit, "ms");
        let points = histogram_points(span_duration);
        assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 2);
        assert_eq!(points[0].explicit_bounds, names::SPAN_DURATION_BUCKETS);
        let keys: Vec<&str> = points[0]
            .attributes
            .iter()
            .map(|kv| kv.key.as_str())
            .collect();
        for key in [
            "root",
            "span_type",
            "span_status",
            "experiment_id",
            "tags.mlflow.traceName",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert_eq!(
            string_attr(&points[0].attributes, "experiment_id").as_deref(),
            Some("42")
        );

        // GenAI client metrics.
        let (_, duration) = find(names::OPERATION_DURATION);
        assert_eq!(duration.unit, "s");
        let points = histogram_points(duration);
        assert_eq!(points[0].explicit_bounds, names::DURATION_BUCKETS);
        assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 2);
        let failed = points
            .iter()
            .find(|p| string_attr(&p.attributes, "error.type").is_some())
            .expect("the failed call's point has error.type");
        // The span's own error.type (the OpenAI SDK's error class, as MLflow Python records it).
        assert_eq!(
            string_attr(&failed.attributes, "error.type").as_deref(),
            Some("RateLimitError")
        );
        for point in points {
            assert_eq!(
                string_attr(&point.attributes, gen_ai::OPERATION_NAME).as_deref(),
                Some("chat")
            );
            assert_eq!(
                string_attr(&point.attributes, gen_ai::PROVIDER_NAME).as_deref(),
                Some("deepseek")
            );
            assert!(string_attr(&point.attributes, gen_ai::REQUEST_MODEL).is_some());
        }

        let (_, tokens) = find(names::TOKEN_USAGE);
        assert_eq!(tokens.unit, "{token}");
        let points = histogram_points(tokens);
        assert_eq!(points[0].explicit_bounds, names::TOKEN_BUCKETS);
        let sum = |kind: &str| {
            points
                .iter()
                .filter(|p| string_attr(&p.attributes, gen_ai::TOKEN_TYPE).as_deref() == Some(kind))
                .map(|p| p.sum.unwrap_or_default())
                .sum::<f64>()
        };
        assert_eq!((sum("input"), sum("output")), (12.0, 8.0));

        // Traces went to /v1/traces.
        assert!(requests.iter().any(|r| r.url.path() == "/v1/traces"));
    }
}
