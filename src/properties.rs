//! Property tests (proptest, a bounded number of cases per run) for what takes untrusted
//! input: SSE framing and the stream rebuild, the response mappings, and JSON capping. A
//! failing case is kept in `proptest-regressions/` and replayed first on every run.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::call::stream::{StreamState, MAX_SSE_EVENT_BYTES};
use crate::openai::stream::chat::ChatAggregate;
use crate::record::{chat, embeddings, responses};
use crate::vocab::json::capped_json;

/// Any JSON value, nested a few levels, strings with escapes and non-ASCII.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
        "[\"\\\\\\n\\u{1}é𝄞a-z]{0,300}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Capped JSON is valid JSON within the cap, and whole when it fits.
    #[test]
    fn capping_keeps_json_valid_within_the_cap(value in json_value(), max in 0usize..4096) {
        let out = capped_json(&value, max);
        let full = value.to_string();
        if full.len() <= max {
            prop_assert_eq!(&out, &full);
        } else {
            prop_assert!(out.len() <= max.max(2), "{} > {}", out.len(), max);
            prop_assert!(serde_json::from_str::<Value>(&out).is_ok(), "invalid: {}", out);
        }
    }

    /// The mappings take any JSON without panicking (a provider may answer anything).
    #[test]
    fn mappings_take_any_json(value in json_value()) {
        let _ = chat::response_attributes(&value, 4096);
        let _ = chat::request_attributes(&value, "deepseek", false, 4096);
        let _ = responses::response_attributes(&value, 4096);
        let _ = embeddings::response_attributes(&value, 4096);
    }

    /// However the SSE body is split into network reads, the rebuilt answer is the same; and
    /// arbitrary bytes never panic and never grow the buffers past their bound.
    #[test]
    fn the_stream_rebuild_does_not_depend_on_read_boundaries(
        pieces in prop::collection::vec("\\PC{0,12}", 1..12),
        splits in prop::collection::vec(1usize..64, 1..16),
        noise in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut body = String::new();
        for piece in &pieces {
            let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1,
                "model": "m", "choices": [{"index": 0, "delta": {"content": piece},
                "finish_reason": null}]});
            body.push_str(&format!("data: {chunk}\n\n"));
        }
        body.push_str("data: [DONE]\n\n");
        let whole = rebuild(body.as_bytes(), &[usize::MAX]);
        let split = rebuild(body.as_bytes(), &splits);
        prop_assert_eq!(&whole, &split);
        let expected = pieces.concat();
        prop_assert_eq!(whole.as_deref(), Some(expected.as_str()));

        let mut state = StreamState::<ChatAggregate>::new(std::time::Instant::now(), (4, 2), 1024);
        state.feed(&noise);
        prop_assert!(state.buffered() <= 2 * MAX_SSE_EVENT_BYTES);
    }
}

/// Feeds `body` to a fresh stream state in reads of the given sizes (cycled).
fn fed(body: &[u8], splits: &[usize], limit: usize) -> StreamState<ChatAggregate> {
    let mut state = StreamState::<ChatAggregate>::new(std::time::Instant::now(), (100, 20), limit);
    let mut rest = body;
    for size in splits.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (head, tail) = rest.split_at((*size).min(rest.len()));
        state.feed(head);
        rest = tail;
    }
    state
}

/// The content rebuilt from the raw SSE alone (as the tracer sees it before typed events).
fn rebuild(body: &[u8], splits: &[usize]) -> Option<String> {
    let state = fed(body, splits, usize::MAX);
    let events: Vec<Value> = state
        .events()
        .filter_map(|(_, _, text)| serde_json::from_str(text).ok())
        .collect();
    let content: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    (!events.is_empty()).then_some(content)
}

/// The SSE corpus kept in `tests/fixtures/sse-corpus/` (CRLF, comments and keep-alives,
/// multi-line data, UTF-8 split anywhere, cut-off streams, garbage): every file, fed whole and
/// split at every byte, gives the same chunk events and never panics.
#[test]
fn the_sse_corpus_is_read_the_same_at_every_split() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse-corpus");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus directory") {
        let body = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        let events = |splits: &[usize]| -> Vec<String> {
            let state = fed(&body, splits, 1 << 20);
            state.events().map(|(_, _, text)| text.clone()).collect()
        };
        let whole = events(&[usize::MAX]);
        for split in 1..body.len().min(64) {
            assert_eq!(events(&[split]), whole, "split every {split} bytes");
        }
    }
    assert!(files >= 6, "the corpus has {files} files");
}
