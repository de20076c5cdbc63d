//! Keeping credentials out of what the crate prints or records.

use std::fmt;

use reqwest::Url;

/// A URL with user, password and query removed (query strings can carry API keys).
pub(crate) fn redact_url(url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.to_string()
}

/// [`redact_url`] for a URL given as text; text that is not a URL is returned as is.
pub(crate) fn redact_url_str(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_owned(), |u| redact_url(&u))
}

/// `Debug` of a URL with [`redact_url_str`] applied, for hand-written `Debug` impls.
pub(crate) struct UrlDebug<'a>(pub(crate) &'a str);

impl fmt::Debug for UrlDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_url_str(self.0), f)
    }
}

/// `Debug` of a header list: the names, never the values (they hold API keys and tokens).
pub(crate) struct HeadersDebug<'a>(pub(crate) &'a [(String, String)]);

impl fmt::Debug for HeadersDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name, REDACTED)))
            .finish()
    }
}

/// What a hidden value prints as.
pub(crate) const REDACTED: &str = "<redacted>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_query_go() {
        assert_eq!(
            redact_url_str("https://user:secret@mlflow.example/v1/traces?token=abc"),
            "https://mlflow.example/v1/traces"
        );
        assert_eq!(redact_url_str("not a url"), "not a url");
        let clean = redact_url(
            &Url::parse("https://user:secret@api.example.com/v1?api-key=sk-123").unwrap(),
        );
        assert!(
            !clean.contains("secret") && !clean.contains("sk-123") && !clean.contains("user"),
            "{clean}"
        );
    }

    #[test]
    fn debug_helpers_hide_values() {
        let headers = [("authorization".to_owned(), "Bearer tok".to_owned())];
        assert_eq!(
            format!("{:?}", HeadersDebug(&headers)),
            r#"{"authorization": "<redacted>"}"#
        );
        assert_eq!(
            format!("{:?}", UrlDebug("http://u:p@h:1/x?k=v")),
            r#""http://h:1/x""#
        );
    }
}
