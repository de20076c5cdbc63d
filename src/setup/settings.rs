//! Process-wide switches read on every traced call: cheap atomics, set by [`crate::setup::init`] or at
//! runtime.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::vocab::semconv::env;

/// Default cap of one attribute value, in bytes.
pub const DEFAULT_MAX_ATTRIBUTE_BYTES: usize = 128 * 1024;

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static ENABLED: AtomicU8 = AtomicU8::new(UNSET);
static MAX_ATTRIBUTE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PROVIDER: RwLock<Option<String>> = RwLock::new(None);
static STREAM_USAGE: AtomicU8 = AtomicU8::new(ON);
static GENAI_CONTENT: AtomicU8 = AtomicU8::new(OFF);
static CHUNK_EVENTS_HEAD: AtomicUsize = AtomicUsize::new(DEFAULT_CHUNK_EVENTS.0);
static CHUNK_EVENTS_TAIL: AtomicUsize = AtomicUsize::new(DEFAULT_CHUNK_EVENTS.1);

/// Default number of `mlflow.chunk.item.N` events kept per streamed call: the first 100 and
/// the last 20 chunks (the SDK keeps at most 128 events per span unless raised).
pub const DEFAULT_CHUNK_EVENTS: (usize, usize) = (100, 20);

/// Turns tracing of LLM calls (and [`macro@crate::trace`] spans) on or off at runtime, like
/// `mlflow.openai.autolog(disable=True)`. While off, traced calls go straight to async-openai
/// and create no span.
///
/// The initial state comes from `MLFLOW_TRACING_ENABLED` (`false`/`0`/`off` disables), then
/// [`crate::Config::with_enabled`].
pub fn set_enabled(enabled: bool) {
    ENABLED.store(if enabled { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether LLM calls are traced right now. See [`set_enabled`].
pub fn is_enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let enabled = enabled_from_env(std::env::var(env::MLFLOW_TRACING_ENABLED).ok());
            // Only the first reader decides; a concurrent `set_enabled` wins.
            let _ = ENABLED.compare_exchange(
                UNSET,
                if enabled { ON } else { OFF },
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            ENABLED.load(Ordering::Relaxed) == ON
        }
    }
}

/// Parses `MLFLOW_TRACING_ENABLED`; anything but an explicit "off" value keeps tracing on.
pub(crate) fn enabled_from_env(value: Option<String>) -> bool {
    !matches!(
        value
            .as_deref()
            .map(str::trim)
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("false" | "0" | "off" | "no")
    )
}

pub(crate) fn set_max_attribute_bytes(max: usize) {
    MAX_ATTRIBUTE_BYTES.store(max, Ordering::Relaxed);
}

/// Cap of one attribute value in bytes.
pub(crate) fn max_attribute_bytes() -> usize {
    match MAX_ATTRIBUTE_BYTES.load(Ordering::Relaxed) {
        0 => DEFAULT_MAX_ATTRIBUTE_BYTES,
        n => n,
    }
}

pub(crate) fn set_provider(provider: Option<String>) {
    *PROVIDER.write().unwrap_or_else(|e| e.into_inner()) = provider;
}

/// Provider override from [`crate::Config::with_provider`].
pub(crate) fn provider() -> Option<String> {
    PROVIDER.read().unwrap_or_else(|e| e.into_inner()).clone()
}

pub(crate) fn set_stream_usage(inject: bool) {
    STREAM_USAGE.store(if inject { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether streamed calls get `stream_options.include_usage` added.
pub(crate) fn stream_usage() -> bool {
    STREAM_USAGE.load(Ordering::Relaxed) == ON
}

pub(crate) fn set_genai_content(on: bool) {
    GENAI_CONTENT.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether chat spans also carry `gen_ai.input.messages` / `gen_ai.output.messages`.
pub(crate) fn genai_content() -> bool {
    GENAI_CONTENT.load(Ordering::Relaxed) == ON
}

pub(crate) fn set_chunk_events(head: usize, tail: usize) {
    CHUNK_EVENTS_HEAD.store(head, Ordering::Relaxed);
    CHUNK_EVENTS_TAIL.store(tail, Ordering::Relaxed);
}

/// How many chunk events to keep: (first, last).
pub(crate) fn chunk_events() -> (usize, usize) {
    (
        CHUNK_EVENTS_HEAD.load(Ordering::Relaxed),
        CHUNK_EVENTS_TAIL.load(Ordering::Relaxed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_parsing() {
        assert!(enabled_from_env(None));
        assert!(enabled_from_env(Some("true".into())));
        assert!(enabled_from_env(Some("1".into())));
        assert!(!enabled_from_env(Some("false".into())));
        assert!(!enabled_from_env(Some(" OFF ".into())));
        assert!(!enabled_from_env(Some("0".into())));
    }
}
