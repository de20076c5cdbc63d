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
/// When the full text is too long, the longest strings inside are shortened (each to the same
/// largest length that fits, found by bisection), so the structure (keys, roles, ids) survives
/// and only bulky content is cut. If even empty strings do not fit, the text becomes a JSON
/// string holding a cut prefix of the original.
pub(crate) fn capped_json(value: &Value, max: usize) -> String {
    let full = value.to_string();
    if full.len() <= max {
        return full;
    }
    let longest = longest_string(value);
    let fits = |limit: usize| {
        let text = shorten_strings(value, limit).to_string();
        (text.len() <= max).then_some(text)
    };
    if let Some(mut best) = fits(0) {
        // Bisection over the per-string length limit: `lo` fits, `hi` does not.
        let (mut lo, mut hi) = (0usize, longest);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match fits(mid) {
                Some(text) => {
                    best = text;
                    lo = mid;
                }
                None => hi = mid,
            }
        }
        return best;
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

fn longest_string(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(map) => map.values().map(longest_string).max().unwrap_or(0),
        _ => 0,
    }
}

fn shorten_strings(value: &Value, limit: usize) -> Value {
    match value {
        Value::String(s) if s.len() > limit => {
            Value::String(capped_str(s, limit + TRUNCATED.len()))
        }
        Value::Array(items) => items.iter().map(|v| shorten_strings(v, limit)).collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), shorten_strings(v, limit)))
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
            .ends_with(TRUNCATED));
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
}
