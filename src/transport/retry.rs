//! When to try again: what an export answer means, and how long to wait before the next try.
//! Pure functions, unit-tested.

use std::time::{Duration, SystemTime};

/// First wait after a failure; doubles with every failure in a row.
pub(crate) const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between two tries of our own choosing.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest `Retry-After` honoured; a longer one is cut to this.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What an HTTP answer to an export means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx: accepted.
    Accepted,
    /// 413: the request is too large; split it.
    TooLarge,
    /// 408, 429, 5xx (but 501/505): try again later.
    Retry,
    /// Any other answer: the server will not take these spans; do not retry.
    Refuse,
}

/// Classifies an HTTP status (OTLP/HTTP's rules, plus 500 and 408, which MLflow and proxies
/// answer for passing trouble).
pub(crate) fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Accepted,
        413 => Verdict::TooLarge,
        408 | 429 => Verdict::Retry,
        501 | 505 => Verdict::Refuse,
        500..=599 => Verdict::Retry,
        _ => Verdict::Refuse,
    }
}

/// Parses `Retry-After`: delay seconds or an HTTP date (relative to `now`), capped at
/// [`MAX_RETRY_AFTER`].
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let delay = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(now)
            .unwrap_or_default(),
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// The wait before try number `failures + 1`: exponential from [`INITIAL_BACKOFF`], capped
/// at [`MAX_BACKOFF`], with up to ±20 % jitter (`jitter` in `[0, 1)`) so that many
/// processes do not retry in step; a server's `Retry-After` is a floor.
pub(crate) fn backoff(failures: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    let exp = INITIAL_BACKOFF
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let jittered = exp.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    match retry_after {
        Some(server) => jittered.max(server),
        None => jittered,
    }
}

/// Why a try failed, in words for the user, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// E.g. `connection refused`, `HTTP 404 Not Found: No Experiment with id=999 exists`.
    pub(crate) cause: String,
    /// Whether a later try may succeed.
    pub(crate) transient: bool,
    /// The server's `Retry-After`, when it sent one.
    pub(crate) retry_after: Option<Duration>,
}

impl Failure {
    /// A passing failure (try again later).
    pub(crate) fn transient(cause: impl Into<String>) -> Self {
        Self {
            cause: cause.into(),
            transient: true,
            retry_after: None,
        }
    }

    /// A failure that trying again will not mend.
    pub(crate) fn permanent(cause: impl Into<String>) -> Self {
        Self {
            cause: cause.into(),
            transient: false,
            retry_after: None,
        }
    }

    /// A transport error: always transient, described by its innermost cause.
    pub(crate) fn transport(error: &reqwest::Error, timeout: Duration) -> Self {
        Self::transient(transport_cause(error, timeout))
    }

    /// A non-2xx answer: its status, the server's own message, and what it means.
    pub(crate) fn status(
        status: reqwest::StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        let message = server_message(body);
        let mut cause = format!("HTTP {}", status.as_u16());
        if let Some(reason) = status.canonical_reason() {
            cause = format!("{cause} {reason}");
        }
        if !message.is_empty() {
            cause = format!("{cause}: {message}");
        }
        Self {
            cause,
            transient: verdict(status.as_u16()) == Verdict::Retry,
            retry_after,
        }
    }
}

/// Words for a transport error, from the innermost error in its chain (`connection
/// refused`, `no answer within 10 s`, `connection closed before message completed`, ...);
/// never the URL (it is named elsewhere, without credentials).
pub(crate) fn transport_cause(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {}", human(timeout));
    }
    let mut source: &dyn std::error::Error = error;
    let mut innermost = None;
    while let Some(next) = source.source() {
        innermost = Some(next);
        source = next;
    }
    if let Some(io) = innermost.and_then(|e| e.downcast_ref::<std::io::Error>()) {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
            std::io::ErrorKind::ConnectionReset => return "connection reset by the server".into(),
            std::io::ErrorKind::TimedOut => return format!("no answer within {}", human(timeout)),
            _ => {}
        }
    }
    let text = innermost.map_or_else(|| without_url(error), ToString::to_string);
    if error.is_connect() {
        format!("cannot connect: {text}")
    } else {
        text
    }
}

/// `error`'s own text with its URL (which may hold credentials) taken out.
fn without_url(error: &reqwest::Error) -> String {
    let text = error.to_string();
    match error.url() {
        Some(url) => text
            .replace(&format!(" for url ({url})"), "")
            .replace(url.as_str(), "<url>"),
        None => text,
    }
}

/// `1.5 s`, `10 s`.
pub(crate) fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The server's own words in an error body: MLflow's `message`, FastAPI's `detail`, or the
/// start of a text body; at most 300 bytes.
pub(crate) fn server_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let picked = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            let field = v.get("message").or_else(|| v.get("detail"))?;
            Some(match field {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        })
        .unwrap_or_else(|| text.to_owned());
    crate::vocab::json::capped_str(&picked.replace('\n', " "), 300)
}

/// A cheap jitter source in `[0, 1)` (sub-second clock noise; no RNG dependency needed).
pub(crate) fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    f64::from(nanos.wrapping_mul(2_654_435_761) % 1_000_000) / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(verdict(200), Verdict::Accepted);
        assert_eq!(verdict(204), Verdict::Accepted);
        assert_eq!(verdict(413), Verdict::TooLarge);
        for retry in [408, 429, 500, 502, 503, 504] {
            assert_eq!(verdict(retry), Verdict::Retry, "{retry}");
        }
        for refuse in [400, 401, 403, 404, 422, 501] {
            assert_eq!(verdict(refuse), Verdict::Refuse, "{refuse}");
        }
    }

    #[test]
    fn failures_carry_the_servers_own_words() {
        let code = |n| reqwest::StatusCode::from_u16(n).unwrap();
        let file_store = Failure::status(
            code(501),
            None,
            br#"{"detail":"REST OTLP span logging is not supported by FileStore"}"#,
        );
        assert_eq!(
            file_store.cause,
            "HTTP 501 Not Implemented: REST OTLP span logging is not supported by FileStore"
        );
        assert!(!file_store.transient);
        let unknown = Failure::status(
            code(404),
            None,
            br#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"No Experiment with id=999 exists"}"#,
        );
        assert_eq!(
            unknown.cause,
            "HTTP 404 Not Found: No Experiment with id=999 exists"
        );
        let busy = Failure::status(code(503), Some(Duration::from_secs(2)), b"  overloaded\n");
        assert_eq!(busy.cause, "HTTP 503 Service Unavailable: overloaded");
        let odd = Failure::status(code(599), None, b"");
        assert_eq!(odd.cause, "HTTP 599");
        assert!(busy.transient);
        assert_eq!(busy.retry_after, Some(Duration::from_secs(2)));
        let long = server_message("x".repeat(5_000).as_bytes());
        assert!(long.len() <= 300, "{}", long.len());
        assert_eq!(human(Duration::from_secs(10)), "10 s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("3600", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_caps_and_honours_the_server() {
        assert_eq!(backoff(1, None, 0.5), Duration::from_millis(250));
        assert_eq!(backoff(2, None, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(3, None, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(30, None, 0.5), MAX_BACKOFF);
        assert_eq!(backoff(1, None, 0.0), Duration::from_millis(200));
        assert_eq!(
            backoff(1, Some(Duration::from_secs(2)), 0.5),
            Duration::from_secs(2)
        );
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
