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
/// When the full text is too long:
/// 1. base64 `data:` URLs (images, audio) become a placeholder with their media type and size;
/// 2. the longest strings are cut, each to the same largest length that fits (so the structure,
///    keys, roles, ids, model and usage survive and only bulky content is cut), each cut
///    string ending with `...[truncated from N bytes]` (its original size).
///
/// That length is found in one pass over the string sizes (sorted, with prefix sums), and the
/// text is serialised once more: the cost does not grow with how long the longest string is.
/// If even empty strings do not fit, the text becomes a JSON string holding a cut prefix of the
/// original.
pub(crate) fn capped_json(value: &Value, max: usize) -> String {
    let full = value.to_string();
    if full.len() <= max {
        return full;
    }
    let mut value = value.clone();
    let mut total = full.len();
    if replace_data_urls(&mut value) {
        let text = value.to_string();
        if text.len() <= max {
            return text;
        }
        total = text.len();
    }
    let mut lengths = Vec::new();
    escaped_lengths(&value, &mut lengths);
    let strings: usize = lengths.iter().sum();
    let overhead = total - strings;
    if let Some(limit) = water_level(&mut lengths, max.saturating_sub(overhead)) {
        cut_strings(&mut value, limit);
        let text = value.to_string();
        if text.len() <= max {
            return text;
        }
    }
    // The structure alone is too big: fall back to a JSON string of a prefix.
    let mut budget = max.saturating_sub(2);
    loop {
        let text = Value::String(capped_str(&full, budget)).to_string();
        if text.len() <= max || budget == 0 {
            return text;
        }
        budget /= 2;
    }
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

fn escaped_len(s: &str) -> usize {
    s.chars().map(escaped_char_len).sum()
}

/// The escaped lengths of every string value (not keys).
fn escaped_lengths(value: &Value, out: &mut Vec<usize>) {
    match value {
        Value::String(s) => out.push(escaped_len(s)),
        Value::Array(items) => items.iter().for_each(|v| escaped_lengths(v, out)),
        Value::Object(map) => map.values().for_each(|v| escaped_lengths(v, out)),
        _ => {}
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

/// Cuts every string longer than `limit` escaped bytes to at most `limit`, plus its marker.
fn cut_strings(value: &mut Value, limit: usize) {
    match value {
        Value::String(s) if escaped_len(s) > limit => {
            let mut used = 0;
            let mut end = 0;
            for (i, c) in s.char_indices() {
                let len = escaped_char_len(c);
                if used + len > limit {
                    break;
                }
                used += len;
                end = i + c.len_utf8();
            }
            let original = s.len();
            s.truncate(end);
            s.push_str(&cut_marker(original));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| cut_strings(v, limit)),
        Value::Object(map) => map.values_mut().for_each(|v| cut_strings(v, limit)),
        _ => {}
    }
}

/// Smallest `data:` URL worth replacing.
const DATA_URL_MIN: usize = 1024;

/// Replaces each large base64 `data:` URL (an inline image or audio) with a placeholder
/// naming its media type and size; whether any was.
fn replace_data_urls(value: &mut Value) -> bool {
    match value {
        Value::String(s) if s.len() >= DATA_URL_MIN && s.starts_with("data:") => {
            let Some((media, _)) = s[5..].split_once(";base64,") else {
                return false;
            };
            *s = format!("[{media} base64 data not recorded: {} bytes]", s.len());
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, v| replace_data_urls(v) | any),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |any, v| replace_data_urls(v) | any),
        _ => false,
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
