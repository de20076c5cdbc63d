//! One parser per kind of value a variable holds (boolean, whole number, duration in
//! milliseconds, one of a few names, `k=v` list), and [`Vars`], which reads variables through
//! them. Every variable of one kind accepts the same spellings; a value that does not parse is
//! kept in [`Vars::invalid`] (variable name and reason, the value quoted unless it may be a
//! secret) for `init` to refuse, never silently read as something else.

use std::time::Duration;

/// A boolean: `true`/`1` or `false`/`0`, any case, surrounding spaces ignored.
pub(crate) fn boolean(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("expected true, false, 1 or 0, got {raw:?}")),
    }
}

/// A whole number of at least `min`.
pub(crate) fn number(raw: &str, min: u64) -> Result<u64, String> {
    match raw.trim().parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("expected a whole number >= {min}, got {raw:?}")),
    }
}

/// A duration as OpenTelemetry's variables write it: whole milliseconds, at least `min`.
pub(crate) fn millis(raw: &str, min: u64) -> Result<Duration, String> {
    match raw.trim().parse::<u64>() {
        Ok(ms) if ms >= min => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "expected a whole number of milliseconds >= {min}, got {raw:?}"
        )),
    }
}

/// One of `choices` (name, value), by name, any case, surrounding spaces ignored.
pub(crate) fn one_of<T: Copy>(raw: &str, choices: &[(&str, T)]) -> Result<T, String> {
    let wanted = raw.trim();
    if let Some((_, value)) = choices
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
    {
        return Ok(*value);
    }
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let expected = match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(format!("expected {expected}, got {raw:?}"))
}

/// A W3C-baggage-style list, `k1=v1,k2=v2`, as `OTEL_EXPORTER_OTLP_HEADERS` and
/// `OTEL_RESOURCE_ATTRIBUTES` use it: entries split on `,`, each on its first `=`, keys and
/// values trimmed and percent-decoded. An entry without `=` or with an empty key is an
/// error (which names the entry's position, not its value: it may be a secret).
pub(crate) fn key_values(raw: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (index, entry) in raw.split(',').enumerate() {
        if entry.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = entry.split_once('=') else {
            return Err(format!(
                "entry {} has no `=` (expected a list like key1=value1,key2=value2)",
                index + 1
            ));
        };
        let key = percent_decode(key.trim());
        if key.is_empty() {
            return Err(format!("entry {} has an empty key", index + 1));
        }
        out.push((key, percent_decode(value.trim())));
    }
    Ok(out)
}

/// `%XX` decoding; anything malformed is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Variables read through one source ([`crate::Config::from_vars`]), each through the parser
/// of its kind. A blank value counts as unset.
pub(crate) struct Vars<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    /// Values that did not parse: the variable and why.
    pub(crate) invalid: Vec<(&'static str, String)>,
}

impl<'a> Vars<'a> {
    pub(crate) fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            get,
            invalid: Vec::new(),
        }
    }

    /// The value of `name` as written, when set and not blank.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        (self.get)(name).filter(|v| !v.trim().is_empty())
    }

    /// Of a specific variable and its generic fallback, the name of the one that is set.
    pub(crate) fn first(
        &self,
        specific: &'static str,
        generic: &'static str,
    ) -> Option<&'static str> {
        [specific, generic]
            .into_iter()
            .find(|name| self.text(name).is_some())
    }

    /// `name` through `parse`; a value that does not parse is recorded and reads as unset.
    pub(crate) fn parse<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.text(name)?;
        parse(&raw)
            .map_err(|reason| self.invalid.push((name, reason)))
            .ok()
    }

    /// A boolean variable (see [`boolean`]).
    pub(crate) fn boolean(&mut self, name: &'static str) -> Option<bool> {
        self.parse(name, boolean)
    }

    /// A whole-number variable of at least `min` (see [`number`]).
    pub(crate) fn number(&mut self, name: &'static str, min: u64) -> Option<u64> {
        self.parse(name, |raw| number(raw, min))
    }

    /// A duration variable in milliseconds, at least `min` (see [`millis`]).
    pub(crate) fn millis(&mut self, name: &'static str, min: u64) -> Option<Duration> {
        self.parse(name, |raw| millis(raw, min))
    }

    /// A variable naming one of `choices` (see [`one_of`]).
    pub(crate) fn one_of<T: Copy>(
        &mut self,
        name: &'static str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        self.parse(name, |raw| one_of(raw, choices))
    }

    /// A `k=v` list variable (see [`key_values`]).
    pub(crate) fn key_values(&mut self, name: &'static str) -> Option<Vec<(String, String)>> {
        self.parse(name, key_values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for raw in ["true", "True", " TRUE ", "1"] {
            assert_eq!(boolean(raw), Ok(true), "{raw:?}");
        }
        for raw in ["false", "False", " FALSE ", "0"] {
            assert_eq!(boolean(raw), Ok(false), "{raw:?}");
        }
        for raw in ["flase", "yes", "no", "on", "off", "2", "maybe"] {
            assert!(
                boolean(raw).unwrap_err().contains(&format!("{raw:?}")),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(number(" 42 ", 1), Ok(42));
        assert!(number("0", 1).unwrap_err().contains(">= 1"));
        assert!(number("-3", 0).unwrap_err().contains("\"-3\""));
        assert_eq!(millis("250", 0), Ok(Duration::from_millis(250)));
        assert!(millis("10s", 1).unwrap_err().contains("\"10s\""));
    }

    #[test]
    fn names() {
        let choices = [("grpc", 1), ("http/protobuf", 2), ("http/json", 3)];
        assert_eq!(one_of(" HTTP/JSON ", &choices), Ok(3));
        assert_eq!(
            one_of("thrift", &choices),
            Err("expected grpc, http/protobuf or http/json, got \"thrift\"".to_owned())
        );
    }

    #[test]
    fn lists_are_url_decoded() {
        assert_eq!(
            key_values(" api-key = s%20e%3Dcret , x-team=ml,, ").unwrap(),
            [
                ("api-key".to_owned(), "s e=cret".to_owned()),
                ("x-team".to_owned(), "ml".to_owned())
            ]
        );
        // `=` inside a value is kept (split on the first one).
        assert_eq!(
            key_values("authorization=Basic dXNlcjpw==").unwrap(),
            [("authorization".to_owned(), "Basic dXNlcjpw==".to_owned())]
        );
        assert!(!key_values("api-key secret").unwrap_err().contains("secret"));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
