//! [`OtlpSink`]: spans to MLflow's `/v1/traces` or to any OTLP receiver (over the
//! [`Transport`] of the destination: HTTP or gRPC), plus MLflow's REST calls, all driven by a
//! current-thread runtime that lives on the export worker (the blocking face of
//! [`rest::Client`]).
//!
//! It sees every answer whole (status, `Retry-After`, the server's own error words, partial
//! success), which is what outcome accounting, clear warnings, retries and the split on 413
//! need; opentelemetry-otlp's exporter folds all of that into one opaque error string.

use std::collections::{BTreeMap, VecDeque};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use opentelemetry::trace::Status;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use prost::Message as _;

use super::otlp;
use super::worker::{Extra, Sent, Sink};
use crate::config::Experiment;
use crate::mlflow::metadata::{self, ProcessMetadata, SpanTally};
use crate::mlflow::rest::{self, TraceInfoUpdate, EXPERIMENT_ID_HEADER};
use crate::record::{self, shape};
use crate::transport::retry::{self, Failure, Verdict};
use crate::transport::{Accepted, LocalRuntime, Refused, Transport};
use crate::vocab::redact::redact_url_str;
use crate::vocab::semconv::tracer;

/// Longest time the readiness probe waits for a TCP connection to an OTLP receiver.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The MLflow part of a destination: the experiment, and the REST API for trace metadata.
#[derive(Debug)]
pub(crate) struct MlflowRoute {
    /// The REST client; it shares the sink's HTTP client.
    pub(crate) rest: rest::Client,
    pub(crate) experiment: Experiment,
    /// Known at once for an id; looked up (or created) by the worker for a name.
    pub(crate) experiment_id: Option<String>,
    /// Set when the experiment cannot be used at all (deleted, ...).
    pub(crate) unusable: Option<String>,
    /// `mlflow.user` as the environment gave it ([`crate::config::Config`]).
    pub(crate) user_name: Option<String>,
}

/// Traces whose metadata waits for the worker's spare time at most; beyond this many, a
/// trace's metadata is skipped (counted and said once). A few seconds of MLflow's time (it
/// stores some 60-100 a second with one worker and SQLite), so that a shutdown after a burst
/// is not held long by metadata.
pub(crate) const MAX_PENDING_METADATA: usize = 256;

/// What the sink needs to describe each finished trace to MLflow.
#[derive(Debug, Default)]
struct TraceInfoState {
    /// Program, user and git metadata, resolved once on the export worker.
    process: Option<ProcessMetadata>,
    /// Sizes of the spans already loaded for traces whose root has not come yet.
    tally: SpanTally,
    /// Metadata of exported traces, waiting to be sent while no span waits.
    pending: VecDeque<TraceInfoUpdate>,
    /// Metadata queued so far, and settled (stored or skipped) so far: what a flush waits for.
    queued: u64,
    settled: u64,
}

/// OTLP to one destination.
#[derive(Debug)]
pub(crate) struct OtlpSink {
    endpoint: String,
    transport: Transport,
    mlflow: Option<MlflowRoute>,
    /// Rewrite LLM call spans into the GenAI conventions' shape (OTLP destinations).
    semconv: bool,
    resource: ResourceAttributesWithSchema,
    /// Drives the transport and the REST client on the worker thread; built there on first
    /// use.
    runtime: LocalRuntime,
    trace_info: TraceInfoState,
}

/// A batch ready to send: the request, and the MLflow trace metadata of its root spans.
#[derive(Debug)]
pub(crate) struct OtlpBatch {
    request: ExportTraceServiceRequest,
    metadata: Vec<TraceInfoUpdate>,
}

impl OtlpSink {
    /// A sink sending to `endpoint` over `transport`; with an MLflow route, the transport
    /// shares its REST client's HTTP client, so the worker has one connection pool.
    pub(crate) fn new(
        endpoint: String,
        transport: Transport,
        mlflow: Option<MlflowRoute>,
        semconv: bool,
    ) -> Self {
        Self {
            endpoint,
            transport,
            mlflow,
            semconv,
            resource: (&Resource::builder_empty().build()).into(),
            runtime: LocalRuntime::default(),
            trace_info: TraceInfoState::default(),
        }
    }

    /// Sends one request over the transport.
    fn post(
        &mut self,
        request: &ExportTraceServiceRequest,
        timeout: Duration,
    ) -> Result<Accepted, Refused> {
        let runtime = self
            .runtime
            .get()
            .map_err(|cause| (Verdict::Refuse, Failure::permanent(cause)))?;
        let experiment = self
            .mlflow
            .as_ref()
            .and_then(|m| m.experiment_id.as_deref());
        let extra: Vec<(&'static str, &str)> = experiment
            .map(|id| (EXPERIMENT_ID_HEADER, id))
            .into_iter()
            .collect();
        runtime.block_on(self.transport.send(request, &extra, timeout))
    }

    /// Sends the oldest waiting trace metadata over MLflow's REST API (StartTraceV3).
    fn post_metadata(&mut self, timeout: Duration) -> Extra {
        let Some(update) = self.trace_info.pending.pop_front() else {
            return Extra::default();
        };
        self.trace_info.settled += 1;
        let stored = Extra {
            stored: 1,
            ..Extra::default()
        };
        let skipped = |cause: String| Extra {
            skipped: 1,
            cause: Some(cause),
            ..Extra::default()
        };
        let runtime = match self.runtime.get() {
            Ok(runtime) => runtime,
            Err(cause) => return skipped(cause),
        };
        let Some(route) = self.mlflow.as_ref() else {
            return Extra::default(); // only the MLflow route queues metadata
        };
        let Some(id) = route.experiment_id.as_deref() else {
            return skipped("the experiment is not known".into());
        };
        match runtime.block_on(route.rest.start_trace(id, &update, timeout)) {
            Ok(()) => stored,
            Err(cause) => skipped(format!(
                "trace metadata not stored in MLflow at {}: {cause}",
                redact_url_str(route.rest.uri())
            )),
        }
    }

    /// Queues the metadata of traces whose spans were exported; what does not fit is skipped.
    fn queue_metadata(&mut self, updates: Vec<TraceInfoUpdate>) -> usize {
        let state = &mut self.trace_info;
        let room = MAX_PENDING_METADATA.saturating_sub(state.pending.len());
        let skipped = updates.len().saturating_sub(room);
        state.queued += updates.len() as u64;
        state.settled += skipped as u64;
        state.pending.extend(updates.into_iter().take(room));
        skipped
    }
}

/// Removes the user metadata ([`crate::set_trace_metadata`]) carried on a root span.
fn take_user_metadata(span: &mut SpanData) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::new();
    span.attributes.retain(|kv| {
        match kv.key.as_str().strip_prefix(tracer::TRACE_METADATA_PREFIX) {
            Some(key) => {
                metadata.insert(key.to_owned(), kv.value.as_str().into_owned());
                false
            }
            None => true,
        }
    });
    metadata
}

impl TraceInfoState {
    /// Describes every trace whose root span is in `spans` for StartTraceV3 (removing the
    /// user metadata from the roots), and remembers the other spans for their roots to come.
    fn describe(
        &mut self,
        spans: &mut [SpanData],
        experiment_id: &str,
        user_name: Option<&str>,
    ) -> Vec<TraceInfoUpdate> {
        let process = self
            .process
            .get_or_insert_with(|| ProcessMetadata::resolve(user_name));
        let mut roots = Vec::new();
        for (index, span) in spans.iter_mut().enumerate() {
            if record::is_local_root(span) {
                let user = take_user_metadata(span);
                roots.push((index, user, metadata::span_size(span)));
            } else {
                self.tally
                    .add(metadata::trace_key(span), metadata::span_size(span));
            }
        }
        roots
            .into_iter()
            .map(|(index, user, size)| {
                let root = &spans[index];
                let mut sizes = self.tally.take(metadata::trace_key(root));
                sizes.push(size);
                TraceInfoUpdate {
                    trace_id: root.span_context.trace_id().to_string(),
                    start: root.start_time,
                    end: root.end_time,
                    failed: matches!(root.status, Status::Error { .. }),
                    metadata: metadata::trace_metadata(process, root, &sizes, experiment_id, user),
                }
            })
            .collect()
    }
}

impl Sink for OtlpSink {
    type Batch = OtlpBatch;

    fn describe(&self) -> String {
        let mut endpoint = redact_url_str(&self.endpoint);
        if !self.endpoint.ends_with('/') && endpoint.ends_with('/') {
            // A gRPC endpoint is a bare `http://host:port`: say it as given.
            endpoint.pop();
        }
        match &self.mlflow {
            None => endpoint,
            Some(route) => match (&route.experiment_id, &route.experiment) {
                (Some(id), _) => format!("MLflow experiment {id} at {endpoint}"),
                (None, Experiment::Name(name)) => {
                    format!("MLflow experiment {name:?} at {endpoint}")
                }
                (None, Experiment::Id(id)) => format!("MLflow experiment {id} at {endpoint}"),
            },
        }
    }

    fn prepare(&mut self, timeout: Duration) -> Result<(), Failure> {
        let runtime = self.runtime.get().map_err(Failure::permanent)?;
        let Some(route) = self.mlflow.as_mut() else {
            return probe(&self.endpoint, timeout.min(PROBE_TIMEOUT));
        };
        let result = runtime.block_on(async {
            match &route.experiment {
                Experiment::Id(id) => route.rest.check_experiment(id, timeout).await,
                Experiment::Name(name) => route
                    .rest
                    .experiment_id(name, timeout)
                    .await
                    .map(|id| route.experiment_id = Some(id)),
            }
        });
        if let Err(failure) = &result {
            if !failure.transient && route.experiment_id.is_none() {
                route.unusable = Some(failure.cause.clone());
            }
        }
        result
    }

    fn sends_unprepared(&self) -> bool {
        self.mlflow
            .as_ref()
            .is_none_or(|m| m.experiment_id.is_some() || m.unusable.is_some())
    }

    fn experiment_id(&self) -> Option<String> {
        self.mlflow.as_ref()?.experiment_id.clone()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }

    fn load(&mut self, mut spans: Vec<SpanData>) -> OtlpBatch {
        if self.semconv {
            spans.iter_mut().for_each(shape::to_semantic_conventions);
        }
        let metadata = match &self.mlflow {
            Some(route) => {
                let experiment_id = route.experiment_id.as_deref().unwrap_or_default();
                self.trace_info
                    .describe(&mut spans, experiment_id, route.user_name.as_deref())
            }
            None => Vec::new(),
        };
        OtlpBatch {
            request: otlp::request(spans, &self.resource),
            metadata,
        }
    }

    fn send(&mut self, batch: OtlpBatch, timeout: Duration) -> Sent<OtlpBatch> {
        let mut sent = Sent::default();
        if let Some(cause) = self.mlflow.as_ref().and_then(|m| m.unusable.clone()) {
            sent.refused = otlp::span_count(&batch.request);
            sent.refusal = Some(cause);
            return sent;
        }
        // Requests still to send, last first; `true` marks a span cut to fit.
        let mut todo = vec![(batch.request, false)];
        while let Some((request, cut)) = todo.pop() {
            let spans = otlp::span_count(&request);
            if spans == 0 {
                continue;
            }
            if request.encoded_len() > self.transport.max_request_bytes() && spans > 1 {
                let (left, right) = otlp::split(request);
                todo.push((right, false));
                todo.push((left, false));
                continue;
            }
            match self.post(&request, timeout) {
                Ok(accepted) => {
                    let rejected = accepted.rejected.min(spans);
                    sent.exported += spans - rejected;
                    if cut {
                        sent.truncated += spans - rejected;
                    }
                    if rejected > 0 {
                        sent.refused += rejected;
                        sent.refusal = Some(format!(
                            "the receiver rejected {rejected} span(s): {}",
                            accepted.message
                        ));
                    }
                }
                Err((Verdict::TooLarge, failure)) => {
                    if spans > 1 {
                        let (left, right) = otlp::split(request);
                        todo.push((right, false));
                        todo.push((left, false));
                    } else {
                        let mut request = request;
                        if otlp::truncate(&mut request) {
                            todo.push((request, true));
                        } else {
                            sent.refused += 1;
                            sent.refusal = Some(failure.cause);
                        }
                    }
                }
                Err((_, failure)) if failure.transient => {
                    let mut rest: Vec<_> = todo.into_iter().map(|(r, _)| r).collect();
                    rest.push(request);
                    let request = otlp::merge(rest);
                    let left = otlp::span_count(&request);
                    sent.retry = Some((
                        OtlpBatch {
                            request,
                            metadata: batch.metadata,
                        },
                        left,
                        failure,
                    ));
                    return sent;
                }
                Err((_, failure)) => {
                    sent.refused += spans;
                    sent.refusal = Some(failure.cause);
                }
            }
        }
        if sent.exported > 0 && !batch.metadata.is_empty() {
            let skipped = self.queue_metadata(batch.metadata);
            if skipped > 0 {
                sent.extra = Extra {
                    skipped,
                    cause: Some(format!(
                        "trace metadata not stored for {skipped} trace(s) in {}: MLflow takes \
                         it more slowly than traces come ({MAX_PENDING_METADATA} traces wait \
                         already)",
                        self.describe()
                    )),
                    ..Extra::default()
                };
            }
        }
        sent
    }

    fn extra_waiting(&self) -> bool {
        !self.trace_info.pending.is_empty()
    }

    fn extra(&mut self, timeout: Duration) -> Extra {
        self.post_metadata(timeout)
    }

    fn extra_progress(&self) -> (u64, u64) {
        (self.trace_info.queued, self.trace_info.settled)
    }

    fn drop_extra(&mut self) -> usize {
        let left = self.trace_info.pending.len();
        self.trace_info.pending.clear();
        self.trace_info.settled += left as u64;
        left
    }
}

/// Whether an OTLP receiver accepts TCP connections (OTLP has no health endpoint).
fn probe(endpoint: &str, timeout: Duration) -> Result<(), Failure> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|e| Failure::permanent(format!("{endpoint:?} is not a URL: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| Failure::permanent(format!("{endpoint:?} has no host")))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| Failure::transient(format!("cannot resolve {host}: {e}")))?;
    let mut last = Failure::transient(format!("{host} has no address"));
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = Failure::transient("connection refused");
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = Failure::transient(format!(
                    "no TCP connection within {}",
                    retry::human(timeout)
                ));
            }
            Err(e) => last = Failure::transient(format!("cannot connect: {e}")),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlflow::metadata::test_span as span;
    use crate::vocab::semconv::mlflow::trace_info as key;
    use opentelemetry::KeyValue;

    fn num_spans(update: &TraceInfoUpdate) -> serde_json::Value {
        let stats: serde_json::Value =
            serde_json::from_str(&update.metadata[key::TRACE_SIZE_STATS]).unwrap();
        stats["num_spans"].clone()
    }

    #[test]
    fn every_root_gets_metadata_with_spans_of_earlier_batches() {
        let mut state = TraceInfoState::default();
        // Batch 1: two children of trace 1, one of trace 2; no root yet.
        let mut first = vec![
            span(1, 2, 1, vec![]),
            span(1, 3, 2, vec![]),
            span(2, 5, 4, vec![]),
        ];
        assert!(state.describe(&mut first, "1", None).is_empty());
        // Batch 2: trace 1's root (with user metadata), and trace 3 with its only span.
        let prefix = tracer::TRACE_METADATA_PREFIX;
        let mut second = vec![
            span(
                1,
                1,
                0,
                vec![
                    KeyValue::new(format!("{prefix}app.version"), "1.2.3"),
                    KeyValue::new(format!("{prefix}{}", key::SOURCE_TYPE), "CUSTOM"),
                ],
            ),
            span(3, 9, 0, vec![]),
        ];
        let updates = state.describe(&mut second, "1", None);
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0].trace_id, format!("{:032x}", 1));
        assert_eq!(num_spans(&updates[0]), 3);
        assert_eq!(updates[0].metadata["app.version"], "1.2.3");
        assert_eq!(updates[0].metadata[key::SOURCE_TYPE], "CUSTOM", "user wins");
        assert_eq!(updates[0].metadata[key::TRACE_SCHEMA_VERSION], "3");
        assert!(
            second[0].attributes.is_empty(),
            "user metadata is not exported"
        );
        assert_eq!(num_spans(&updates[1]), 1);
        assert_eq!(updates[1].metadata[key::SOURCE_TYPE], "LOCAL");
        assert_eq!(updates[1].metadata[key::TRACE_INPUTS], "");
        // Trace 1 is forgotten, trace 2 still waits for its root.
        assert_eq!(state.tally.len(), 1);
    }
}
