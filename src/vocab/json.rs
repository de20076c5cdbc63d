//! The one place where values become attribute text: JSON encoding with a size cap that keeps
//! the JSON valid.
//!
//! The OpenTelemetry Rust SDK has no attribute length limit, and one oversized span makes the
//! OTLP exporter (and MLflow, which ingests all-or-nothing) drop the whole batch. Every text
//! attribute this crate writes therefore goes through [`capped_json`] or [`capped_str`].

use serde_json::Value;

/// Marker appended to a string that was cut.
const TRUNCATED: &str = "...[truncated]";

/// Cuts `s` to at most `max` bytes on a char boundary, marking the cut.
pub(crate) fn capped_str(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(TRUNCATED.len());
    let mut cut = keep.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut + TRUNCATED.len());
    out.push_str(&s[..cut]);
    if max >= TRUNCATED.len() {
        out.push_str(TRUNCATED);
    }
    out
}

/// Serializes `value` as JSON text of at most `max` bytes that is still valid JSON.
///
/// When the text would be too long:
/// 1. base64 `data:` URLs (images, audio) become a placeholder with their media type and size;
/// 2. the longest strings are cut, each to the same largest length that fits (so the structure,
///    keys, roles, ids, model and usage survive and only bulky content is cut), each cut
///    string ending with `...[truncated from N bytes]` (its original size).
///
/// The cost follows what is kept, not what came in: the fit check stops writing at `max`
/// bytes, string sizes are counted only up to `max`, the cut length comes from sorted sizes
/// and prefix sums, and the kept text is copied and serialised once. A 10 MB prompt costs
/// about as much as a 128 KiB one. If even empty strings do not fit, the text becomes a JSON
/// string holding a cut prefix of the original.
pub(crate) fn capped_json(value: &Value, max: usize) -> String {
    if let Some(text) = serialize_within(value, max) {
        return text;
    }
    let mut lengths = Vec::new();
    let structure = measure(value, max, &mut lengths);
    if let Some(limit) = water_level(&mut lengths, max.saturating_sub(structure)) {
        if let Some(text) = serialize_within(&cut_copy(value, limit), max) {
            return text;
        }
    }
    // The structure alone is too big: fall back to a JSON string of a prefix (the writer
    // stops at twice the cap; escaping only makes the text longer).
    let mut w = LimitedWriter::new(max.saturating_mul(2));
    let _ = serde_json::to_writer(&mut w, value);
    let prefix = String::from_utf8_lossy(&w.buf).into_owned();
    let mut budget = max.saturating_sub(2);
    loop {
        let text = Value::String(capped_str(&prefix, budget)).to_string();
        if text.len() <= max || budget == 0 {
            return text;
        }
        budget /= 2;
    }
}

/// A writer that refuses to grow past `limit` bytes.
struct LimitedWriter {
    buf: Vec<u8>,
    limit: usize,
}

impl LimitedWriter {
    /// Typical recorded requests and responses take a few hundred bytes: start there, so the
    /// buffer is not regrown from zero token by token.
    const START: usize = 512;

    fn new(limit: usize) -> Self {
        Self {
            buf: Vec::with_capacity(limit.min(Self::START)),
            limit,
        }
    }
}

impl std::io::Write for LimitedWriter {
    #[inline]
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.write_all(data).map(|()| data.len())
    }

    /// serde_json writes token by token through `write_all`: one bounds check and one copy.
    #[inline]
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        let room = self.limit - self.buf.len();
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            return Err(std::io::Error::other("limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The JSON text of `value` if it takes at most `max` bytes; stops writing at `max`.
fn serialize_within(value: &Value, max: usize) -> Option<String> {
    let mut w = LimitedWriter::new(max);
    serde_json::to_writer(&mut w, value).ok()?;
    String::from_utf8(w.buf).ok()
}

/// Longest marker a cut string gets (`...[truncated from N bytes]`, N up to 20 digits).
const CUT_MARKER_MAX: usize = 48;

fn cut_marker(original: usize) -> String {
    format!("...[truncated from {original} bytes]")
}

/// Bytes `c` takes inside a JSON string, as serde_json escapes it.
fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// The escaped length of `s`, counted up to `cap` (a string longer than the whole budget is
/// cut whatever its exact length, so counting further would only cost time).
fn escaped_len_upto(s: &str, cap: usize) -> usize {
    let mut total = 0;
    for c in s.chars() {
        total += escaped_char_len(c);
        if total > cap {
            break;
        }
    }
    total
}

fn escaped_len(s: &str) -> usize {
    escaped_len_upto(s, usize::MAX)
}

/// Smallest `data:` URL worth replacing.
const DATA_URL_MIN: usize = 1024;

/// The placeholder of a large base64 `data:` URL, if `s` is one.
fn data_url_placeholder(s: &str) -> Option<String> {
    if s.len() < DATA_URL_MIN || !s.starts_with("data:") {
        return None;
    }
    let (media, _) = s[5..].split_once(";base64,")?;
    Some(format!(
        "[{media} base64 data not recorded: {} bytes]",
        s.len()
    ))
}

/// The serialised size of `value` without its string contents (quotes, keys, punctuation,
/// numbers), and the escaped length of each string value (up to `cap`; a large data URL
/// counts as its placeholder) in `lengths`.
fn measure(value: &Value, cap: usize, lengths: &mut Vec<usize>) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(b) => {
            if *b {
                4
            } else {
                5
            }
        }
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => {
            lengths.push(match data_url_placeholder(s) {
                Some(placeholder) => escaped_len(&placeholder),
                None => escaped_len_upto(s, cap),
            });
            2
        }
        Value::Array(items) => {
            2 + items.len().saturating_sub(1)
                + items
                    .iter()
                    .map(|v| measure(v, cap, lengths))
                    .sum::<usize>()
        }
        Value::Object(map) => {
            2 + map.len().saturating_sub(1)
                + map
                    .iter()
                    .map(|(k, v)| escaped_len(k) + 3 + measure(v, cap, lengths))
                    .sum::<usize>()
        }
    }
}

/// The largest per-string length `t` such that the strings, each kept whole when at most `t`
/// long and else cut to `t` plus a marker, fit in `budget`; `None` when even `t = 0` does not.
fn water_level(lengths: &mut [usize], budget: usize) -> Option<usize> {
    lengths.sort_unstable();
    // prefix[i] = sum of the i shortest.
    let mut prefix = Vec::with_capacity(lengths.len() + 1);
    prefix.push(0usize);
    for len in lengths.iter() {
        prefix.push(prefix.last().copied().unwrap_or(0) + len);
    }
    let cost = |t: usize| {
        let kept = lengths.partition_point(|&len| len <= t);
        prefix[kept] + (lengths.len() - kept) * (t + CUT_MARKER_MAX)
    };
    if cost(0) > budget {
        return None;
    }
    // `cost` grows with `t`: bisection over it, O(log n) per step, no serialisation.
    let (mut lo, mut hi) = (0usize, lengths.last().copied().unwrap_or(0));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if cost(mid) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(lo)
}

/// A copy of `value` with large data URLs replaced and every string longer than `limit`
/// escaped bytes cut to at most `limit`, plus its marker; only what is kept is copied.
fn cut_copy(value: &Value, limit: usize) -> Value {
    match value {
        Value::String(s) => {
            if let Some(placeholder) = data_url_placeholder(s) {
                return Value::String(placeholder);
            }
            let mut used = 0;
            let mut end = s.len();
            for (i, c) in s.char_indices() {
                let len = escaped_char_len(c);
                if used + len > limit {
                    end = i;
                    break;
                }
                used += len;
            }
            if end == s.len() {
                return Value::String(s.clone());
            }
            let mut cut = String::with_capacity(end + CUT_MARKER_MAX);
            cut.push_str(&s[..end]);
            cut.push_str(&cut_marker(s.len()));
            Value::String(cut)
        }
        Value::Array(items) => items.iter().map(|v| cut_copy(v, limit)).collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), cut_copy(v, limit)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_values_are_untouched() {
        let v = json!({"a": "b", "n": 1});
        assert_eq!(capped_json(&v, 1000), r#"{"a":"b","n":1}"#);
        assert_eq!(capped_str("héllo", 100), "héllo");
    }

    #[test]
    fn capped_str_respects_char_boundaries() {
        let s = "é".repeat(100); // 200 bytes
        let out = capped_str(&s, 50);
        assert!(out.len() <= 50, "{}", out.len());
        assert!(out.ends_with(TRUNCATED));
    }

    #[test]
    fn long_content_is_cut_but_structure_kept() {
        let v = json!({
            "model": "deepseek-chat",
            "messages": [
                {"role": "system", "content": "short"},
                {"role": "user", "content": "x".repeat(10_000)},
            ]
        });
        let out = capped_json(&v, 500);
        assert!(out.len() <= 500, "len {}", out.len());
        let back: Value = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(back["model"], "deepseek-chat");
        assert_eq!(back["messages"][0]["content"], "short");
        assert_eq!(back["messages"][1]["role"], "user");
        assert!(back["messages"][1]["content"]
            .as_str()
            .unwrap()
            .ends_with("...[truncated from 10000 bytes]"));
    }

    #[test]
    fn huge_structure_falls_back_to_a_json_string() {
        let v = Value::Array((0..10_000).map(|i| json!(i)).collect());
        let out = capped_json(&v, 100);
        assert!(out.len() <= 100);
        let back: Value = serde_json::from_str(&out).expect("valid JSON");
        assert!(back.as_str().unwrap().starts_with("[0,1,2"));
    }

    #[test]
    fn escapes_are_accounted_for() {
        let v = json!({"s": "\u{1}".repeat(1000)});
        let out = capped_json(&v, 200);
        assert!(out.len() <= 200);
        serde_json::from_str::<Value>(&out).expect("valid JSON");
    }
    /// A 10 MB prompt: valid JSON within the cap, model and usage intact, for the cost of one
    /// more serialisation (not one per bisection step).
    #[test]
    fn ten_megabytes_in_one_pass() {
        let v = json!({
            "model": "deepseek-chat",
            "usage": {"prompt_tokens": 12},
            "messages": [{"role": "user", "content": "lorem ipsum ".repeat(900_000)}],
        });
        let started = std::time::Instant::now();
        let out = capped_json(&v, 128 * 1024);
        let took = started.elapsed();
        assert!(out.len() <= 128 * 1024, "{}", out.len());
        let back: Value = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(back["model"], "deepseek-chat");
        assert_eq!(back["usage"]["prompt_tokens"], 12);
        let content = back["messages"][0]["content"].as_str().unwrap();
        assert!(content.ends_with("...[truncated from 10800000 bytes]"));
        assert!(
            content.len() > 120 * 1024,
            "the budget is used: {}",
            content.len()
        );
        eprintln!("capping a 10.8 MB value took {took:?}");
    }

    #[test]
    fn base64_images_become_a_placeholder() {
        let image = format!("data:image/png;base64,{}", "A".repeat(1_048_576));
        let v = json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": image}}
        ]}]});
        let out = capped_json(&v, 4096);
        let back: Value = serde_json::from_str(&out).expect("valid JSON");
        let content = &back["messages"][0]["content"];
        assert_eq!(content[0]["text"], "What is in this image?");
        assert_eq!(
            content[1]["image_url"]["url"],
            "[image/png base64 data not recorded: 1048598 bytes]"
        );
        // Small images are kept as they are.
        let small = json!({"url": "data:image/png;base64,AAAA"});
        assert_eq!(capped_json(&small, 4096), small.to_string());
    }

    #[test]
    fn many_strings_share_the_budget() {
        let v = json!({"a": "x".repeat(1000), "b": "y".repeat(10), "c": "z".repeat(2000)});
        let out = capped_json(&v, 500);
        assert!(out.len() <= 500, "{}", out.len());
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["b"], "y".repeat(10), "short strings are kept whole");
        let a = back["a"].as_str().unwrap();
        let c = back["c"].as_str().unwrap();
        let kept = |s: &str, original: usize| {
            s.len() - format!("...[truncated from {original} bytes]").len()
        };
        assert_eq!(kept(a, 1000), kept(c, 2000), "one water level for all");
    }
}
