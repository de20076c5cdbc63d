//! [`Fanout`]: one span pipeline, several destinations. Each finished span goes to every
//! destination's own queue (cloned for all but the last), so a slow or failing destination
//! fills only its own queue and counts its own losses.

use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::queue::QueueProcessor;

/// The span processor of a pipeline: one [`QueueProcessor`] per destination.
#[derive(Debug)]
pub(crate) struct Fanout {
    lanes: Vec<QueueProcessor>,
}

impl Fanout {
    pub(crate) fn new(lanes: Vec<QueueProcessor>) -> Self {
        Self { lanes }
    }

    /// Runs `each` on every lane at once (each may wait up to its timeout), and returns the
    /// first error.
    fn all(&self, each: impl Fn(&QueueProcessor) -> OTelSdkResult + Sync) -> OTelSdkResult {
        let results: Vec<OTelSdkResult> = match self.lanes.as_slice() {
            [] => Vec::new(),
            [one] => vec![each(one)],
            lanes => std::thread::scope(|scope| {
                let handles: Vec<_> = lanes
                    .iter()
                    .map(|lane| scope.spawn(|| each(lane)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(OTelSdkError::InternalFailure("export lane panicked".into()))
                        })
                    })
                    .collect()
            }),
        };
        results.into_iter().collect()
    }
}

impl SpanProcessor for Fanout {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if let Some((last, others)) = self.lanes.split_last() {
            for lane in others {
                lane.on_end(span.clone());
            }
            last.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.all(|lane| lane.force_flush())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.all(|lane| lane.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        for lane in &mut self.lanes {
            lane.set_resource(resource);
        }
    }
}
