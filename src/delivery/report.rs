//! Saying when spans are lost: one warning when delivery starts failing (not one per span),
//! one when it recovers, one when the queue overflows, one per kind of refusal, and a summary
//! at shutdown. Each goes to stderr (unless turned off) *and* to a `tracing` event on target
//! [`TARGET`], so it is seen with or without a fmt layer. Runs on the export worker only.

use std::collections::HashSet;
use std::time::{Duration, Instant};

/// `tracing` target of the pipeline's own warnings (events outside any span; the
/// OpenTelemetry layer does not export them).
pub(crate) const TARGET: &str = "mlflow_tracing::delivery";

/// Least time between two "delivery failing" warnings, for a flapping destination.
const MIN_WARNING_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Reporter {
    stderr: bool,
    /// Set while delivery fails: since when, how many spans were lost before it began, and
    /// whether the failure was announced (a flapping destination is announced at most every
    /// [`MIN_WARNING_INTERVAL`]; its recoveries only when its failure was).
    failing: Option<(Instant, u64, bool)>,
    last_failure_warning: Option<Instant>,
    warned_queue_full: bool,
    warned_refusals: HashSet<String>,
    warned_metadata: bool,
}

/// One line, as printed.
pub(crate) fn emit(stderr: bool, line: &str) {
    if stderr {
        eprintln!("mlflow-tracing: {line}");
    }
    tracing::warn!(target: TARGET, "{line}");
}

impl Reporter {
    pub(crate) fn new(stderr: bool) -> Self {
        Self {
            stderr,
            failing: None,
            last_failure_warning: None,
            warned_queue_full: false,
            warned_refusals: HashSet::new(),
            warned_metadata: false,
        }
    }

    /// A try failed with a passing error; `next` says what happens now.
    pub(crate) fn failing(&mut self, destination: &str, cause: &str, next: &str, lost: u64) {
        if self.failing.is_some() {
            return;
        }
        let now = Instant::now();
        let announce = self
            .last_failure_warning
            .is_none_or(|at| now.duration_since(at) >= MIN_WARNING_INTERVAL);
        self.failing = Some((now, lost, announce));
        if !announce {
            return;
        }
        self.last_failure_warning = Some(now);
        emit(
            self.stderr,
            &format!("cannot deliver spans to {destination}: {cause}; {next}"),
        );
    }

    /// A try succeeded: says so if delivery had been failing.
    pub(crate) fn recovered(&mut self, destination: &str, lost: u64) {
        let Some((since, lost_before, announced)) = self.failing.take() else {
            return;
        };
        self.warned_queue_full = false;
        if !announced {
            return;
        }
        let lost = lost.saturating_sub(lost_before);
        emit(
            self.stderr,
            &format!(
                "delivery to {destination} recovered after {:.1} s ({lost} span{} lost meanwhile)",
                since.elapsed().as_secs_f64(),
                if lost == 1 { "" } else { "s" }
            ),
        );
    }

    /// The queue was full and spans were dropped; said once per failure episode.
    pub(crate) fn queue_full(&mut self, destination: &str, limits: &str) {
        if self.warned_queue_full {
            return;
        }
        self.warned_queue_full = true;
        emit(
            self.stderr,
            &format!(
                "export queue full ({limits}): dropping new spans until {destination} catches up"
            ),
        );
    }

    /// The destination refused spans; said once per distinct cause.
    pub(crate) fn refused(&mut self, destination: &str, cause: &str, spans: usize) {
        if !self.warned_refusals.insert(cause.to_owned()) {
            return;
        }
        emit(
            self.stderr,
            &format!(
                "{destination} refused {spans} span{}: {cause}; not retried, spans refused \
                 for this reason are dropped",
                if spans == 1 { "" } else { "s" }
            ),
        );
    }

    /// Trace metadata was not stored; said once (the count is in the stats and the report).
    pub(crate) fn metadata_skipped(&mut self, line: &str) {
        if std::mem::replace(&mut self.warned_metadata, true) {
            return;
        }
        emit(
            self.stderr,
            &format!("{line}; the spans are not affected, further skips are only counted"),
        );
    }

    /// A one-off warning (trace metadata not stored, ...).
    pub(crate) fn warn(&self, line: &str) {
        emit(self.stderr, line);
    }
}
