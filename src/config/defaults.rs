//! The defaults of every [`crate::Config`] setting that has a number or a duration, in one
//! place: what a setting is when neither its builder method nor its variable sets it.

use std::time::Duration;

/// Cap of one attribute value, in bytes.
pub const MAX_ATTRIBUTE_BYTES: usize = 128 * 1024;

/// Number of `mlflow.chunk.item.N` events kept per streamed call: the first 100 and
/// the last 20 chunks (the SDK keeps at most 128 events per span unless raised).
pub const CHUNK_EVENTS: (usize, usize) = (100, 20);

/// Time the guard waits for the last spans to be exported at shutdown.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of one export request.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound of the export queue in spans (queued or in flight); more are dropped.
pub const MAX_QUEUE_SPANS: usize = 4096;
/// Bound of the export queue in estimated bytes; more are dropped.
pub const MAX_QUEUE_BYTES: usize = 32 * 1024 * 1024;
/// Number of spans in one export request.
pub const MAX_BATCH_SPANS: usize = 512;
/// Longest wait of a span for its batch to fill.
pub const SCHEDULE_DELAY: Duration = Duration::from_secs(1);
/// Interval between two metric exports (`OTEL_METRIC_EXPORT_INTERVAL`).
pub const METRIC_EXPORT_INTERVAL: Duration = Duration::from_secs(60);
/// Time one batch is retried (refused connections, timeouts, 429, 5xx) before its
/// spans count as failed.
pub const RETRY_TIMEOUT: Duration = Duration::from_secs(60);
