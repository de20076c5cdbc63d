//! The OTLP exporter settings and the standard `OTEL_EXPORTER_OTLP_*` variables, read as the
//! OpenTelemetry specification says (per-signal variable over the generic one; the generic
//! endpoint gets `/v1/traces` or `/v1/metrics` appended for HTTP, is used as is for gRPC).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::parse::{self, Vars};
use crate::vocab::redact::{HeadersDebug, UrlDebug};
use crate::vocab::semconv::env;

/// OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// OTLP over gRPC (`grpc`), usually port 4317. Needs the `grpc` cargo feature (on by
    /// default).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`), usually port 4318. The
    /// specification's default.
    #[default]
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (`http/json`).
    HttpJson,
}

impl Protocol {
    /// The value as the variable spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        }
    }

    /// Every protocol, as the variable spells it.
    const NAMES: [(&'static str, Protocol); 3] = [
        ("grpc", Protocol::Grpc),
        ("http/protobuf", Protocol::HttpProtobuf),
        ("http/json", Protocol::HttpJson),
    ];

    /// Whether this is one of the HTTP flavours.
    pub fn is_http(&self) -> bool {
        !matches!(self, Protocol::Grpc)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse::one_of(s, &Protocol::NAMES)
    }
}

/// Compression of export request bodies (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Bodies sent as they are (`none`).
    #[default]
    None,
    /// gzip (`gzip`): `Content-Encoding: gzip` over HTTP, `grpc-encoding: gzip` over gRPC.
    Gzip,
}

impl Compression {
    /// Every compression, as the variable spells it.
    const NAMES: [(&'static str, Compression); 2] =
        [("gzip", Compression::Gzip), ("none", Compression::None)];
}

impl FromStr for Compression {
    type Err = String;

    /// `gzip` or `none` (any case); an empty value is `none`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Ok(Compression::None);
        }
        parse::one_of(s, &Compression::NAMES)
    }
}

/// The signal an exporter carries; picks its variables and its HTTP path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Metrics,
}

/// One signal's variables, in precedence order: signal-specific, then generic.
struct SignalVars {
    endpoint: &'static str,
    protocol: &'static str,
    headers: &'static str,
    timeout: &'static str,
    compression: &'static str,
    certificate: &'static str,
}

impl Signal {
    fn vars(self) -> SignalVars {
        match self {
            Signal::Traces => SignalVars {
                endpoint: env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                protocol: env::OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
                headers: env::OTEL_EXPORTER_OTLP_TRACES_HEADERS,
                timeout: env::OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
                compression: env::OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
                certificate: env::OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
            },
            Signal::Metrics => SignalVars {
                endpoint: env::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
                protocol: env::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
                headers: env::OTEL_EXPORTER_OTLP_METRICS_HEADERS,
                timeout: env::OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
                compression: env::OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
                certificate: env::OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE,
            },
        }
    }

    /// The HTTP path appended to the generic endpoint.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
        }
    }
}

/// Where an endpoint came from, which decides whether a path is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// A signal endpoint (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, a builder method): used as is.
    Exact(String),
    /// The generic `OTEL_EXPORTER_OTLP_ENDPOINT`: the signal's path is appended for HTTP.
    Base(String),
}

/// One signal's OTLP exporter settings (builder methods over variables).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct OtlpSettings {
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) protocol: Option<Protocol>,
    /// From the `*_HEADERS` variables (URL-decoded) and [`crate::Config::with_header`].
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) compression: Option<Compression>,
    pub(crate) certificate: Option<PathBuf>,
}

impl fmt::Debug for OtlpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = self.endpoint.as_ref().map(|e| match e {
            Endpoint::Exact(url) | Endpoint::Base(url) => UrlDebug(url),
        });
        f.debug_struct("OtlpSettings")
            .field("endpoint", &endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &HeadersDebug(&self.headers))
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("certificate", &self.certificate)
            .finish()
    }
}

impl OtlpSettings {
    /// Reads `signal`'s variables, each through the parser of its kind; a bad value is
    /// recorded in `vars` with the variable's name.
    pub(crate) fn from_vars(signal: Signal, vars: &mut Vars<'_>) -> Self {
        let names = signal.vars();
        let endpoint = vars.text(names.endpoint).map(Endpoint::Exact).or_else(|| {
            vars.text(env::OTEL_EXPORTER_OTLP_ENDPOINT)
                .map(Endpoint::Base)
        });
        // The signal's variable, else the generic one.
        let pick = |specific: &'static str, generic: &'static str| vars.first(specific, generic);
        let protocol = pick(names.protocol, env::OTEL_EXPORTER_OTLP_PROTOCOL);
        let headers = pick(names.headers, env::OTEL_EXPORTER_OTLP_HEADERS);
        let timeout = pick(names.timeout, env::OTEL_EXPORTER_OTLP_TIMEOUT);
        let compression = pick(names.compression, env::OTEL_EXPORTER_OTLP_COMPRESSION);
        let certificate = pick(names.certificate, env::OTEL_EXPORTER_OTLP_CERTIFICATE);
        Self {
            endpoint,
            protocol: protocol.and_then(|name| vars.one_of(name, &Protocol::NAMES)),
            // The value may hold secrets: the error names the variable, not the value.
            headers: headers
                .and_then(|name| vars.key_values(name))
                .unwrap_or_default(),
            timeout: timeout.and_then(|name| vars.millis(name, 1)),
            compression: compression.and_then(|name| vars.one_of(name, &Compression::NAMES)),
            certificate: certificate.and_then(|name| {
                vars.parse(name, |raw| {
                    let path = PathBuf::from(raw.trim());
                    if path.is_file() {
                        Ok(path)
                    } else {
                        Err(format!("{raw:?} is not a readable file"))
                    }
                })
            }),
        }
    }

    /// The protocol in force: set, else `http/protobuf` (the specification's default).
    pub(crate) fn protocol(&self) -> Protocol {
        self.protocol.unwrap_or_default()
    }

    /// The URL requests go to, by the specification's rules: a signal endpoint as is; the
    /// generic endpoint with the signal's path appended for HTTP, as is for gRPC.
    pub(crate) fn url(&self, signal: Signal) -> Option<String> {
        match self.endpoint.as_ref()? {
            Endpoint::Exact(url) => Some(url.clone()),
            Endpoint::Base(base) if self.protocol().is_http() => {
                Some(format!("{}{}", base.trim_end_matches('/'), signal.path()))
            }
            Endpoint::Base(base) => Some(base.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(signal: Signal, pairs: &[(&str, &str)]) -> (OtlpSettings, Vec<(&'static str, String)>) {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |k: &str| map.get(k).cloned();
        let mut vars = Vars::new(&get);
        let settings = OtlpSettings::from_vars(signal, &mut vars);
        (settings, vars.invalid)
    }

    #[test]
    fn endpoint_path_rules() {
        let (s, _) = read(
            Signal::Traces,
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")],
        );
        assert_eq!(s.url(Signal::Traces).unwrap(), "http://c:4318/v1/traces");
        let (s, _) = read(
            Signal::Metrics,
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")],
        );
        assert_eq!(s.url(Signal::Metrics).unwrap(), "http://c:4318/v1/metrics");
        // gRPC uses the generic endpoint as is.
        let (s, _) = read(
            Signal::Traces,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
        );
        assert_eq!(s.url(Signal::Traces).unwrap(), "http://c:4317");
        // A signal endpoint is used as is, and wins over the generic one.
        let (s, _) = read(
            Signal::Traces,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b/custom"),
            ],
        );
        assert_eq!(s.url(Signal::Traces).unwrap(), "http://b/custom");
        // The traces endpoint is not the metrics endpoint.
        let (s, _) = read(
            Signal::Metrics,
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b/v1/traces")],
        );
        assert_eq!(s.url(Signal::Metrics), None);
    }

    #[test]
    fn signal_variables_win_over_generic_ones() {
        let pairs = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
        ];
        let (traces, invalid) = read(Signal::Traces, &pairs);
        assert!(invalid.is_empty(), "{invalid:?}");
        assert_eq!(traces.protocol(), Protocol::Grpc);
        assert_eq!(traces.headers, [("b".to_owned(), "2".to_owned())]);
        assert_eq!(traces.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(traces.compression, Some(Compression::Gzip));
        let (metrics, _) = read(Signal::Metrics, &pairs);
        assert_eq!(metrics.protocol(), Protocol::HttpJson);
        assert_eq!(metrics.headers, [("a".to_owned(), "1".to_owned())]);
        assert_eq!(metrics.timeout, Some(Duration::from_secs(1)));
        assert_eq!(metrics.compression, Some(Compression::None));
    }

    #[test]
    fn defaults() {
        let (s, invalid) = read(Signal::Traces, &[]);
        assert!(invalid.is_empty());
        assert_eq!(s.protocol(), Protocol::HttpProtobuf);
        assert_eq!(s.url(Signal::Traces), None);
        assert_eq!(
            (s.timeout, s.compression, s.certificate),
            (None, None, None)
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let (_, invalid) = read(
            Signal::Traces,
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "api-key secret"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/no/such/ca.pem"),
            ],
        );
        let names: Vec<&str> = invalid.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "OTEL_EXPORTER_OTLP_HEADERS",
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                "OTEL_EXPORTER_OTLP_COMPRESSION",
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
            ]
        );
        assert!(invalid[0].1.contains("\"thrift\""), "{invalid:?}");
        assert!(
            !invalid[1].1.contains("secret"),
            "header values stay out of errors"
        );
        assert!(invalid[2].1.contains("\"10s\""));
        assert!(invalid[3].1.contains("\"zstd\""));
        assert!(invalid[4].1.contains("/no/such/ca.pem"));
    }
}
