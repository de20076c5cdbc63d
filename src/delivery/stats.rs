//! Outcome accounting: what became of every span that ended while the pipeline ran.
//!
//! Each span is counted once, in exactly one of `exported`, `dropped`, `failed`, `refused`,
//! or (while it waits) `pending`, so `finished = exported + dropped + failed + refused +
//! pending` holds at every instant a snapshot is taken.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Live counters shared by the span processor (caller threads) and the export worker.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) finished: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) truncated: AtomicU64,
    /// Spans accepted and not yet decided (queued or in flight).
    pub(crate) queued: AtomicUsize,
    /// Estimated bytes of the queued spans.
    pub(crate) queued_bytes: AtomicUsize,
    /// MLflow trace metadata (StartTraceV3) stored, and given up.
    pub(crate) metadata_stored: AtomicU64,
    pub(crate) metadata_skipped: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> DeliveryStats {
        // Read the outcomes before `finished` so a concurrent span cannot make `pending`
        // negative.
        let exported = self.exported.load(Ordering::Acquire);
        let dropped = self.dropped.load(Ordering::Acquire);
        let failed = self.failed.load(Ordering::Acquire);
        let refused = self.refused.load(Ordering::Acquire);
        let truncated = self.truncated.load(Ordering::Acquire);
        let finished = self.finished.load(Ordering::Acquire);
        DeliveryStats {
            trace_metadata_stored: self.metadata_stored.load(Ordering::Acquire),
            trace_metadata_skipped: self.metadata_skipped.load(Ordering::Acquire),
            finished,
            exported,
            dropped,
            failed,
            refused,
            truncated,
            pending: finished.saturating_sub(exported + dropped + failed + refused),
        }
    }

    /// Releases `spans` queued spans of `bytes` estimated size once their outcome is known.
    pub(crate) fn release(&self, spans: usize, bytes: usize) {
        self.queued.fetch_sub(spans, Ordering::AcqRel);
        self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// What became of the spans of one pipeline so far: read it with
/// [`crate::TelemetryGuard::stats`] at any time, or from the [`DeliveryReport`] that
/// [`crate::TelemetryGuard::shutdown`] returns.
///
/// `finished = exported + dropped + failed + refused + pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DeliveryStats {
    /// Spans that ended and entered the pipeline.
    pub finished: u64,
    /// Spans the destination accepted.
    pub exported: u64,
    /// Spans dropped because the export queue was full (the destination was down or slower
    /// than the app).
    pub dropped: u64,
    /// Spans given up after retries: connection errors, timeouts, 429 and 5xx answers, or a
    /// shutdown timeout that came first.
    pub failed: u64,
    /// Spans the destination refused (a 4xx other than 408/413/429, or a 501), not retried.
    pub refused: u64,
    /// Exported spans whose largest attributes were cut so that the destination took them
    /// (after a 413 answer). Counted in `exported` too.
    pub truncated: u64,
    /// Spans still queued or in flight.
    pub pending: u64,
    /// Traces whose MLflow trace metadata (source, previews, sizes: StartTraceV3) was stored.
    /// MLflow destinations only. Trace metadata is sent only while no span waits, so it
    /// never holds up a span.
    pub trace_metadata_stored: u64,
    /// Traces whose MLflow trace metadata was not stored: MLflow could not take it beside the
    /// spans (the metadata queue was full), refused it, or the shutdown timeout came first.
    /// Their spans are counted apart, and usually delivered.
    pub trace_metadata_skipped: u64,
}

impl DeliveryStats {
    /// Spans that will never reach the destination: dropped + failed + refused.
    pub fn lost(&self) -> u64 {
        self.dropped + self.failed + self.refused
    }

    /// Whether every finished span was exported.
    pub fn all_delivered(&self) -> bool {
        self.exported == self.finished
    }

    /// The counts of two destinations added up.
    pub(crate) fn plus(&self, other: &Self) -> Self {
        Self {
            finished: self.finished + other.finished,
            exported: self.exported + other.exported,
            dropped: self.dropped + other.dropped,
            failed: self.failed + other.failed,
            refused: self.refused + other.refused,
            truncated: self.truncated + other.truncated,
            pending: self.pending + other.pending,
            trace_metadata_stored: self.trace_metadata_stored + other.trace_metadata_stored,
            trace_metadata_skipped: self.trace_metadata_skipped + other.trace_metadata_skipped,
        }
    }
}

/// The outcome of a pipeline at shutdown: counts, where the spans went, and the last error.
/// Its `Display` is one line, e.g. `1 span delivered to MLflow experiment 3 at
/// http://127.0.0.1:5000/v1/traces` or `1 of 1 span not delivered to
/// http://127.0.0.1:9/v1/traces: 1 failed after retries; last error: connection refused`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// The counts.
    pub stats: DeliveryStats,
    /// Where spans went (credentials removed), e.g. `MLflow experiment 3 at
    /// http://127.0.0.1:5000/v1/traces`.
    pub destination: String,
    /// The last export error, if any.
    pub last_error: Option<String>,
}

fn spans(n: u64) -> String {
    format!("{n} span{}", if n == 1 { "" } else { "s" })
}

impl fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        if s.finished == 0 {
            return write!(f, "no span was recorded for {}", self.destination);
        }
        if s.all_delivered() {
            write!(f, "{} delivered to {}", spans(s.exported), self.destination)?;
            if s.truncated > 0 {
                write!(f, " ({} cut to fit)", s.truncated)?;
            }
            return metadata_skipped(f, s);
        }
        let missing = s.finished - s.exported;
        write!(
            f,
            "{missing} of {} not delivered to {}:",
            spans(s.finished),
            self.destination
        )?;
        let parts = [
            (s.dropped, "dropped (queue full)"),
            (s.failed, "failed after retries"),
            (s.refused, "refused by the server"),
            (s.pending, "still queued"),
        ];
        let mut first = true;
        for (n, what) in parts.into_iter().filter(|(n, _)| *n > 0) {
            write!(f, "{} {n} {what}", if first { "" } else { "," })?;
            first = false;
        }
        if let Some(error) = &self.last_error {
            write!(f, "; last error: {error}")?;
        }
        metadata_skipped(f, s)
    }
}

/// `; trace metadata not stored for N traces`, when some was skipped.
fn metadata_skipped(f: &mut fmt::Formatter<'_>, s: &DeliveryStats) -> fmt::Result {
    match s.trace_metadata_skipped {
        0 => Ok(()),
        1 => write!(f, "; trace metadata not stored for 1 trace"),
        n => write!(f, "; trace metadata not stored for {n} traces"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(stats: DeliveryStats, error: Option<&str>) -> String {
        DeliveryReport {
            stats,
            destination: "http://127.0.0.1:9/v1/traces".into(),
            last_error: error.map(str::to_owned),
        }
        .to_string()
    }

    #[test]
    fn snapshot_keeps_the_invariant() {
        let c = Counters::default();
        c.finished.store(10, Ordering::Relaxed);
        c.exported.store(5, Ordering::Relaxed);
        c.dropped.store(2, Ordering::Relaxed);
        c.failed.store(1, Ordering::Relaxed);
        let s = c.snapshot();
        assert_eq!(s.pending, 2);
        assert_eq!(s.lost(), 3);
        assert!(!s.all_delivered());
    }

    #[test]
    fn reports_read_as_sentences() {
        let all = DeliveryStats {
            finished: 1,
            exported: 1,
            ..Default::default()
        };
        assert_eq!(
            report(all, None),
            "1 span delivered to http://127.0.0.1:9/v1/traces"
        );
        let lost = DeliveryStats {
            finished: 10,
            exported: 4,
            dropped: 3,
            failed: 2,
            refused: 1,
            ..Default::default()
        };
        assert_eq!(
            report(lost, Some("connection refused")),
            "6 of 10 spans not delivered to http://127.0.0.1:9/v1/traces: 3 dropped (queue \
             full), 2 failed after retries, 1 refused by the server; last error: connection \
             refused"
        );
        assert_eq!(
            report(DeliveryStats::default(), None),
            "no span was recorded for http://127.0.0.1:9/v1/traces"
        );
    }
}
