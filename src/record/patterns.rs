//! A ready-made redactor for [`crate::Config::with_redactor`]: e-mail addresses, payment card
//! numbers (Luhn-checked) and API keys in any string value of a request, response or
//! `#[trace]` value become `[EMAIL]`, `[CARD]` and `[API_KEY]`. Keys, ids and numbers are
//! left alone.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
        .expect("valid pattern")
});

/// 13 to 19 digits, optionally grouped by single spaces or dashes.
static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d(?:[ -]?\d){12,18}\b").expect("valid pattern"));

/// Common provider key shapes: OpenAI / DeepSeek / Anthropic (`sk-…`), AWS access keys,
/// GitHub and Slack tokens, and bearer tokens.
static API_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b(?:sk-(?:ant-|proj-|live-)?[A-Za-z0-9_-]{16,}",
        r"|AKIA[0-9A-Z]{16}",
        r"|gh[pousr]_[A-Za-z0-9]{30,}",
        r"|xox[abposr]-[A-Za-z0-9-]{10,})",
        r"|(?i:bearer)\s+[A-Za-z0-9._~+/-]{16,}=*",
    ))
    .expect("valid pattern")
});

/// Whether `digits` (digits only) pass the Luhn check, as every payment card number does.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `text` with e-mail addresses, card numbers and API keys replaced.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    if API_KEY.is_match(&out) {
        out = Cow::Owned(API_KEY.replace_all(&out, "[API_KEY]").into_owned());
    }
    if EMAIL.is_match(&out) {
        out = Cow::Owned(EMAIL.replace_all(&out, "[EMAIL]").into_owned());
    }
    if CARD.is_match(&out) {
        let replaced = CARD.replace_all(&out, |caps: &regex::Captures<'_>| {
            let digits: Vec<u8> = caps[0].bytes().filter(u8::is_ascii_digit).collect();
            if luhn(&digits) {
                "[CARD]".to_owned()
            } else {
                caps[0].to_owned()
            }
        });
        out = Cow::Owned(replaced.into_owned());
    }
    out
}

/// Redacts every string value inside `value` (keys are left alone).
pub fn patterns(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(clean) = redact_text(text) {
                *text = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(patterns),
        Value::Object(map) => map.values_mut().for_each(patterns),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails_cards_and_keys_go_ids_and_numbers_stay() {
        let mut value = json!({
            "id": "chatcmpl-123",
            "model": "deepseek-chat",
            "max_tokens": 4111111111111111_u64,
            "messages": [{"role": "user", "content":
                "Mail jane.doe@example.com, card 4111 1111 1111 1111, order 1234 5678 9012 3456, \
                 key sk-proj-abcdefghijklmnop1234, header Bearer abcdefghijklmnopqrstuvwx"}],
            "jane.doe@example.com": "a key is never touched"
        });
        patterns(&mut value);
        let content = value["messages"][0]["content"].as_str().unwrap();
        assert_eq!(
            content,
            "Mail [EMAIL], card [CARD], order 1234 5678 9012 3456, key [API_KEY], header \
             [API_KEY]"
        );
        assert_eq!(value["id"], "chatcmpl-123");
        assert_eq!(value["max_tokens"], 4111111111111111_u64);
        assert!(value.get("jane.doe@example.com").is_some());
    }

    #[test]
    fn clean_text_is_not_copied() {
        assert!(matches!(
            redact_text("The capital of France is Paris."),
            Cow::Borrowed(_)
        ));
    }
}
