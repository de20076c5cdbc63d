//! [`BodySink`]: where the HTTP layer hands the raw response body of one traced call.
//!
//! async-openai's typed structs drop fields providers add (DeepSeek's `reasoning_content`,
//! `prompt_cache_hit_tokens`, ...), so when the client's HTTP stack has the capture layer, the
//! engine registers a sink per call and reads the response from the bytes the caller's
//! response carried.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// Largest response body kept to read provider extras from; larger ones fall back to the
/// typed response.
const MAX_CAPTURED_BODY: usize = 32 * 1024 * 1024;

/// Receives the raw response body of a traced call, chunk by chunk.
pub(crate) trait BodySink: Send + Sync {
    /// Called with the HTTP status before any body bytes (again for each retried attempt).
    fn status(&self, status: u16);
    /// Called for each body chunk, in order.
    fn data(&self, bytes: &[u8]);
}

/// Collects a (non-streamed) response body.
#[derive(Debug, Default)]
pub(crate) struct BodyBuffer {
    status: AtomicU16,
    bytes: Mutex<Vec<u8>>,
}

impl BodyBuffer {
    /// Whether the last attempt's status was a success.
    fn succeeded(&self) -> bool {
        (200..300).contains(&self.status.load(Ordering::Relaxed))
    }

    /// Whether a whole successful body was kept (checked on the caller's path; the parse,
    /// [`BodyBuffer::json`], happens later).
    pub(crate) fn complete(&self) -> bool {
        self.succeeded()
            && !self
                .bytes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
    }

    /// The body as JSON, if it was a complete, successful JSON object.
    pub(crate) fn json(&self) -> Option<Value> {
        if !self.succeeded() {
            return None;
        }
        let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
    }
}

impl BodySink for BodyBuffer {
    fn status(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
        // A retried attempt starts over.
        self.bytes.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn data(&self, bytes: &[u8]) {
        let mut buf = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        if buf.len() + bytes.len() <= MAX_CAPTURED_BODY {
            buf.extend_from_slice(bytes);
        } else {
            // Too big to keep: drop what we have so `json()` falls back to the typed response.
            self.status.store(0, Ordering::Relaxed);
            buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_attempt_starts_over_and_errors_are_not_read() {
        let buf = BodyBuffer::default();
        buf.status(500);
        buf.data(br#"{"error":"x"}"#);
        assert_eq!(buf.json(), None);
        buf.status(200);
        buf.data(br#"{"id":"#);
        buf.data(br#""a"}"#);
        assert_eq!(buf.json(), Some(serde_json::json!({"id": "a"})));
    }
}
