//! Keeping credentials out of what the crate prints or records.

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
}
