//! Streamed calls: one span owns the whole stream.
//!
//! - [`StreamState`] reads the raw SSE bytes the HTTP layer tees (in async-openai's reader
//!   task) and the typed events the caller receives, keeps per-event timing and a capped set
//!   of chunk events, and hands each event to the operation's [`Aggregate`], which rebuilds
//!   the response the way MLflow Python does.
//! - [`TracedStream`] hands async-openai's items to the caller unchanged (minus what only the
//!   tracer asked for), and closes the span exactly once: at the end of the stream, or as
//!   cancelled when dropped early.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use async_openai::error::OpenAIError;
use futures::Stream;
use opentelemetry::KeyValue;

use crate::call::operation::{Aggregate, EventStream, StreamOperation};
use crate::call::sink::BodySink;
use crate::call::span::{response_attributes, Call};
use crate::record::content::{self, Redactor};
use crate::record::error::ErrorRecord;
use crate::setup::pipeline::Settings;
use crate::vocab::json::capped_str;
use crate::vocab::semconv::{gen_ai, mlflow, tracer};

/// The facts an aggregate reports about a model's stream: whether the provider sent usage
/// (`mlflow_tracing.usage.source`) and the latencies to the first content, reasoning and
/// tool call.
pub(crate) fn stream_facts(
    has_usage: bool,
    first_content: Option<Duration>,
    first_reasoning: Option<Duration>,
    first_tool_call: Option<Duration>,
    dropped_bytes: usize,
) -> Vec<KeyValue> {
    let source = if has_usage {
        tracer::USAGE_SOURCE_PROVIDER
    } else {
        tracer::USAGE_SOURCE_ABSENT
    };
    let mut attrs = vec![KeyValue::new(tracer::USAGE_SOURCE, source)];
    for (key, value) in [
        (tracer::TIME_TO_FIRST_CONTENT, first_content),
        (tracer::TIME_TO_FIRST_REASONING, first_reasoning),
        (tracer::TIME_TO_FIRST_TOOL_CALL, first_tool_call),
    ] {
        if let Some(d) = value {
            attrs.push(KeyValue::new(key, d.as_secs_f64()));
        }
    }
    if dropped_bytes > 0 {
        attrs.push(KeyValue::new(
            tracer::STREAM_DROPPED_BYTES,
            i64::try_from(dropped_bytes).unwrap_or(i64::MAX),
        ));
    }
    attrs
}

/// Appends `piece` to `text` while `text` stays within `limit` bytes (cut on a char
/// boundary); returns the bytes left out. Streams accumulate through this, so a 100 MB
/// answer costs `limit` bytes of memory, not 100 MB.
pub(crate) fn push_capped(text: &mut String, piece: &str, limit: usize) -> usize {
    let room = limit.saturating_sub(text.len());
    if piece.len() <= room {
        text.push_str(piece);
        return 0;
    }
    let mut cut = room;
    while !piece.is_char_boundary(cut) {
        cut -= 1;
    }
    text.push_str(&piece[..cut]);
    piece.len() - cut
}

/// Largest SSE event (or line) the tracer reads: a server that never sends a newline, or one
/// event of many megabytes, costs at most this much (twice, with vector growth); the event is
/// skipped (the caller still gets it, typed) and counted in
/// [`tracer::STREAM_OVERSIZED_EVENTS`].
pub(crate) const MAX_SSE_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// One kept chunk event: when, which, and its JSON text.
type ChunkEvent = (SystemTime, usize, String);

/// Everything learnt from a stream: SSE framing, timing, the kept chunk events, and the
/// operation's aggregate.
#[derive(Debug)]
pub(crate) struct StreamState<A> {
    start: Instant,
    line: Vec<u8>,
    /// The current line or event passed [`MAX_SSE_EVENT_BYTES`]: skip to its end.
    skipping: bool,
    /// Events skipped for their size.
    oversized: usize,
    event_data: String,
    event_name: String,
    typed_events: usize,
    raw_events: usize,
    saw_done: bool,
    first_chunk: Option<Duration>,
    head_cap: usize,
    tail_cap: usize,
    events: usize,
    head: Vec<ChunkEvent>,
    tail: VecDeque<ChunkEvent>,
    /// The user's redaction hook, run on each kept chunk.
    redactor: Option<Redactor>,
    /// Most bytes kept of one chunk event (the attribute cap).
    limit: usize,
    /// The operation's aggregate.
    pub(crate) agg: A,
}

impl<A: Aggregate> StreamState<A> {
    /// A fresh state keeping the first `head_cap` and last `tail_cap` chunk events, and at
    /// most `limit` bytes of each accumulated text.
    pub(crate) fn new(start: Instant, (head_cap, tail_cap): (usize, usize), limit: usize) -> Self {
        Self {
            start,
            line: Vec::new(),
            skipping: false,
            oversized: 0,
            event_data: String::new(),
            event_name: String::new(),
            typed_events: 0,
            raw_events: 0,
            saw_done: false,
            first_chunk: None,
            head_cap,
            tail_cap,
            events: 0,
            head: Vec::new(),
            tail: VecDeque::new(),
            redactor: None,
            limit,
            agg: A::with_limit(limit),
        }
    }

    /// Runs `redactor` on every chunk kept as an event.
    pub(crate) fn with_redactor(mut self, redactor: Option<Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// Feeds raw SSE bytes (any split). Memory stays bounded by [`MAX_SSE_EVENT_BYTES`]
    /// whatever the server sends.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(pos);
            rest = &after[1..];
            if self.skipping {
                // The end of an oversized line: drop it, and the event it belonged to.
                self.skipping = false;
                self.event_data.clear();
                continue;
            }
            if self.line.len() + line.len() > MAX_SSE_EVENT_BYTES {
                self.overflow();
                self.line.clear();
                self.event_data.clear();
                continue;
            }
            if self.line.is_empty() {
                self.on_line(line);
            } else {
                let mut full = std::mem::take(&mut self.line);
                full.extend_from_slice(line);
                self.on_line(&full);
                full.clear();
                self.line = full;
            }
        }
        if self.skipping {
            return;
        }
        if self.line.len() + rest.len() > MAX_SSE_EVENT_BYTES {
            self.overflow();
            self.line = Vec::new(); // give the memory back
            self.skipping = true;
            return;
        }
        self.line.extend_from_slice(rest);
    }

    /// Counts one oversized event (once, however long it goes on).
    fn overflow(&mut self) {
        self.oversized += 1;
    }

    fn on_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch();
            return;
        }
        let text = match std::str::from_utf8(line) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.event_data.len() + value.len() >= MAX_SSE_EVENT_BYTES {
                    // Many data lines of one huge event: drop the event.
                    if !self.event_data.is_empty() {
                        self.overflow();
                    }
                    self.event_data = String::new();
                    return;
                }
                if !self.event_data.is_empty() {
                    self.event_data.push('\n');
                }
                self.event_data.push_str(value);
            }
            "event" => self.event_name = value.to_owned(),
            _ => {} // comments (`:`), ids, retry
        }
    }

    fn dispatch(&mut self) {
        if self.event_data.is_empty() || self.event_name == "keepalive" {
            self.event_data.clear();
            self.event_name.clear();
            return;
        }
        let data = std::mem::take(&mut self.event_data);
        self.event_name.clear();
        if data == "[DONE]" {
            self.saw_done = true;
        } else {
            self.on_raw_event(&data);
        }
        // Keep the buffer: no allocation per event.
        self.event_data = data;
        self.event_data.clear();
    }

    /// One raw event's JSON text: timing, chunk event, and what typed events lack.
    fn on_raw_event(&mut self, data: &str) {
        let elapsed = self.start.elapsed();
        self.raw_events += 1;
        self.first_chunk.get_or_insert(elapsed);
        self.keep_event(data);
        self.agg.on_raw(data, elapsed);
    }

    fn keep_event(&mut self, data: &str) {
        let index = self.events;
        self.events += 1;
        let kept = self.head.len() < self.head_cap || self.tail_cap > 0;
        let redacted;
        let data = match &self.redactor {
            Some(redactor) if kept => {
                // The hook sees the chunk as structure; text that is not JSON goes as is.
                redacted = serde_json::from_str::<serde_json::Value>(data).map(|mut value| {
                    redactor.apply(&mut value);
                    value.to_string()
                });
                redacted.as_deref().unwrap_or(data)
            }
            _ => data,
        };
        // Kept as it will be exported: at most the attribute cap, so the kept events cost at
        // most (head + tail) × the cap, however large one chunk is.
        let capped;
        let data = if data.len() > self.limit {
            capped = capped_str(data, self.limit);
            capped.as_str()
        } else {
            data
        };
        let now = SystemTime::now();
        if self.head.len() < self.head_cap {
            self.head.push((now, index, data.to_owned()));
        } else if self.tail_cap > 0 {
            // Reuse the evicted event's buffer: no allocation per event in long streams.
            let mut buf = if self.tail.len() == self.tail_cap {
                self.tail.pop_front().map(|(_, _, b)| b).unwrap_or_default()
            } else {
                String::new()
            };
            buf.clear();
            buf.push_str(data);
            self.tail.push_back((now, index, buf));
        }
    }

    /// One typed event, as the caller receives it. `raw` is false when the raw body is not
    /// captured: the event then also provides the timing and the chunk event.
    pub(crate) fn on_typed(&mut self, event: &A::Event, raw: bool) {
        let elapsed = self.start.elapsed();
        self.typed_events += 1;
        if !raw {
            self.first_chunk.get_or_insert(elapsed);
            if let Ok(text) = serde_json::to_string(event) {
                self.keep_event(&text);
            }
        }
        self.agg.on_event(event, elapsed);
    }

    /// Bytes held for the SSE line and event being read.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.line.capacity() + self.event_data.capacity()
    }

    /// Whether any event arrived.
    pub(crate) fn has_events(&self) -> bool {
        self.events > 0 || self.typed_events > 0
    }

    /// Raw events arrived but not the protocol's end: the body was cut off.
    pub(crate) fn cut_off(&self) -> bool {
        self.raw_events > 0 && !self.agg.complete(self.saw_done)
    }

    /// Streaming facts: event count, time to first chunk, and the aggregate's own.
    pub(crate) fn attributes(&self) -> Vec<KeyValue> {
        let count = self.events.max(self.typed_events);
        let mut attrs = vec![KeyValue::new(
            tracer::STREAM_CHUNKS,
            i64::try_from(count).unwrap_or(i64::MAX),
        )];
        if let Some(d) = self.first_chunk {
            attrs.push(KeyValue::new(
                gen_ai::RESPONSE_TIME_TO_FIRST_CHUNK,
                d.as_secs_f64(),
            ));
        }
        if self.oversized > 0 {
            attrs.push(KeyValue::new(
                tracer::STREAM_OVERSIZED_EVENTS,
                i64::try_from(self.oversized).unwrap_or(i64::MAX),
            ));
        }
        attrs.extend(self.agg.attributes());
        attrs
    }

    /// The kept chunk events: (time, index, JSON text).
    pub(crate) fn events(&self) -> impl Iterator<Item = &ChunkEvent> {
        self.head.iter().chain(self.tail.iter())
    }
}

/// Receives the raw SSE body of one streamed call from the HTTP layer.
#[derive(Debug)]
pub(crate) struct StreamSink<A> {
    state: Mutex<StreamState<A>>,
    /// The HTTP layer saw the response (so the raw body arrives here).
    captured: AtomicBool,
}

impl<A: Aggregate> StreamSink<A> {
    pub(crate) fn new(start: Instant, settings: &Settings) -> Self {
        Self {
            state: Mutex::new(
                StreamState::new(
                    start,
                    // Chunks are content: kept as events only with full capture.
                    if content::keeps_chunks(settings.capture) {
                        settings.chunk_events
                    } else {
                        (0, 0)
                    },
                    settings.max_attribute_bytes,
                )
                .with_redactor(settings.redactor.clone()),
            ),
            captured: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, StreamState<A>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<A: Aggregate> BodySink for StreamSink<A> {
    fn status(&self, _status: u16) {
        self.captured.store(true, Ordering::Relaxed);
    }

    fn data(&self, bytes: &[u8]) {
        self.lock().feed(bytes);
    }
}

/// How a stream ended.
enum End {
    /// The server finished (or the body ended).
    Finished,
    /// Dropped by the consumer before the end.
    Cancelled,
}

/// The caller's stream: async-openai's items, one span.
pub(crate) struct TracedStream<Op: StreamOperation> {
    inner: EventStream<Op::Event>,
    call: Option<Call>,
    sink: Arc<StreamSink<Op::Aggregator>>,
    /// The tracer added something to the request: hide what it brings back.
    injected: bool,
    /// The raw body reaches the sink (else typed events provide timing and chunk events).
    raw: bool,
    consumed: usize,
    error: Option<ErrorRecord>,
}

impl<Op: StreamOperation> TracedStream<Op> {
    pub(crate) fn new(
        inner: EventStream<Op::Event>,
        call: Call,
        sink: Arc<StreamSink<Op::Aggregator>>,
        injected: bool,
    ) -> Self {
        let raw = sink.captured.load(Ordering::Relaxed);
        Self {
            inner,
            call: Some(call),
            sink,
            injected,
            raw,
            consumed: 0,
            error: None,
        }
    }

    fn finish(&mut self, end: End) {
        let Some(call) = self.call.take() else { return };
        let settings = call.settings();
        let state = self.sink.lock();
        let mut attrs = state.attributes();
        attrs.push(KeyValue::new(
            tracer::STREAM_CHUNKS_CONSUMED,
            i64::try_from(self.consumed).unwrap_or(i64::MAX),
        ));
        attrs.push(KeyValue::new(tracer::STREAM_USAGE_INJECTED, self.injected));
        let span = call.otel_span();
        for (time, index, data) in state.events() {
            span.add_event_with_timestamp(
                format!("{}{index}", mlflow::CHUNK_EVENT_PREFIX),
                *time,
                vec![KeyValue::new(
                    mlflow::CHUNK_VALUE,
                    capped_str(data, settings.max_attribute_bytes),
                )],
            );
        }
        let output = state.has_events().then(|| state.agg.output()).flatten();
        let cut_off = state.cut_off();
        let reported = state.agg.failure();
        drop(state);

        let failure = match end {
            End::Cancelled => Some(ErrorRecord::cancelled(format!(
                "the stream was dropped after {} chunks, before it ended",
                self.consumed
            ))),
            End::Finished => self.error.take().or(reported).or_else(|| {
                cut_off.then(|| ErrorRecord {
                    error_type: "IncompleteStream".into(),
                    message: "the response stream ended before its last event".into(),
                    http_status: None,
                })
            }),
        };
        attrs.push(KeyValue::new(tracer::COMPLETED, failure.is_none()));
        let mut all = output
            .map(|output| response_attributes::<Op>(output, settings))
            .unwrap_or_default();
        all.extend(attrs);
        call.finish(all, failure.as_ref());
    }
}

impl<Op: StreamOperation> Stream for TracedStream<Op> {
    type Item = Result<Op::Event, OpenAIError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match self.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(event))) => {
                    let raw = self.raw;
                    self.sink.lock().on_typed(&event, raw);
                    if self.injected && Op::Aggregator::hidden(&event) {
                        continue; // brought back only because the tracer asked for it
                    }
                    self.consumed += 1;
                    return Poll::Ready(Some(Ok(event)));
                }
                Poll::Ready(Some(Err(error))) => {
                    if self.error.is_none() {
                        self.error = Some(ErrorRecord::from_openai(&error));
                    }
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    self.finish(End::Finished);
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<Op: StreamOperation> Drop for TracedStream<Op> {
    fn drop(&mut self) {
        self.finish(End::Cancelled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_capped_cuts_on_a_char_boundary() {
        let mut text = String::new();
        assert_eq!(push_capped(&mut text, "héllo", 2), 5);
        assert_eq!(text, "h", "é is two bytes: not cut in half");
        assert_eq!(push_capped(&mut text, "x", 2), 0);
        assert_eq!(push_capped(&mut text, "yz", 2), 2);
        assert_eq!(text, "hx");
    }
}
