//! The MLflow REST client ([`Client`]) and the few calls the crate makes with it: experiment
//! lookup/creation (what `mlflow.set_experiment` does, on the export worker), trace metadata
//! (StartTraceV3), and trace read-back.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use super::trace::{from_rest, Trace};
use crate::config::Auth;
use crate::error::Error;
use crate::transport::retry::{transport_cause, Failure};
use crate::vocab::redact::{HeadersDebug, UrlDebug};

/// Header carrying the experiment id on OTLP export requests.
pub(crate) const EXPERIMENT_ID_HEADER: &str = "x-mlflow-experiment-id";
/// MLflow's `Default` experiment.
pub(crate) const DEFAULT_EXPERIMENT_ID: &str = "0";
const REST_TIMEOUT: Duration = Duration::from_secs(10);

/// `Authorization` header value for MLflow credentials.
pub(crate) fn authorization(auth: &Auth) -> String {
    match auth {
        Auth::Bearer(token) => format!("Bearer {token}"),
        Auth::Basic { username, password } => {
            let raw = format!("{username}:{password}");
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        }
    }
}

/// Checks that an experiment id is numeric, as `x-mlflow-experiment-id` requires.
pub(crate) fn validate_experiment_id(id: &str) -> Result<(), Error> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::InvalidConfig {
            name: crate::vocab::semconv::env::MLFLOW_EXPERIMENT_ID,
            reason: format!(
                "{id:?} is not a numeric experiment id (use an experiment name instead)"
            ),
        })
    }
}

/// How often a read-back asks again while MLflow does not have the whole trace yet.
const READ_BACK_POLL: Duration = Duration::from_millis(200);
/// How long a read-back waits for MLflow to have the complete trace.
const READ_BACK_TIMEOUT: Duration = Duration::from_secs(15);

/// The MLflow REST client: every REST call the crate makes (experiment lookup and creation,
/// trace metadata, trace read-back) goes through one of these, with the tracking URI and the
/// credentials and user headers of the pipeline.
///
/// It is async. The export worker, a plain thread, uses it through its blocking face: it owns
/// a current-thread runtime and `block_on`s these calls (see `delivery::http`), so nothing
/// here ever blocks a runtime worker thread. A `reqwest` pool keeps each connection on the
/// runtime that opened it, so a pipeline builds one client for the worker and one for
/// [`crate::get_trace`] on the app's runtime, each reused for every call.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    uri: String,
    headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("uri", &UrlDebug(&self.uri))
            .field("headers", &HeadersDebug(&self.headers))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the MLflow server at `uri` over `http`, sending `headers` (credentials,
    /// user headers) with every call.
    pub(crate) fn new(http: reqwest::Client, uri: &str, headers: Vec<(String, String)>) -> Self {
        Self {
            http,
            uri: uri.trim_end_matches('/').to_owned(),
            headers,
        }
    }

    /// The HTTP client underneath.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The tracking URI.
    pub(crate) fn uri(&self) -> &str {
        &self.uri
    }

    /// A request to `path` with the MLflow headers.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.headers.iter().fold(
            self.http.request(method, format!("{}{path}", self.uri)),
            |r, (k, v)| r.header(k.as_str(), v.as_str()),
        )
    }

    /// Sends one request: the status and the JSON body (`Null` when the body is not JSON).
    /// An answer that is neither a success nor an MLflow error (`error_code`) is a failure.
    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<(reqwest::StatusCode, Value), Failure> {
        let response = request
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| Failure::transport(&e, timeout))?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() || json["error_code"].is_string() {
            Ok((status, json))
        } else {
            Err(Failure::status(status, None, &body))
        }
    }

    /// Finds the experiment called `name`, creating it when missing (what
    /// `mlflow.set_experiment` does), and returns its id. Each call waits at most `timeout`
    /// (at most [`REST_TIMEOUT`]).
    pub(crate) async fn experiment_id(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<String, Failure> {
        let timeout = timeout.min(REST_TIMEOUT);
        let get = || {
            self.call(
                self.request(
                    reqwest::Method::GET,
                    "/api/2.0/mlflow/experiments/get-by-name",
                )
                .query(&[("experiment_name", name)]),
                timeout,
            )
        };
        let found = |body: &Value| -> Result<String, Failure> {
            let experiment = &body["experiment"];
            if experiment["lifecycle_stage"] == "deleted" {
                return Err(Failure::permanent(format!(
                    "experiment {name:?} is deleted; restore it in MLflow or pick another name"
                )));
            }
            experiment["experiment_id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| Failure::transient(format!("unexpected answer: {body}")))
        };

        let (status, body) = get().await?;
        if status.is_success() {
            return found(&body);
        }
        if body["error_code"] != "RESOURCE_DOES_NOT_EXIST" {
            return Err(rest_failure(status, &body));
        }
        let (status, created) = self
            .call(
                self.request(reqwest::Method::POST, "/api/2.0/mlflow/experiments/create")
                    .json(&json!({ "name": name })),
                timeout,
            )
            .await?;
        if status.is_success() {
            return created["experiment_id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| Failure::transient(format!("unexpected answer: {created}")));
        }
        if created["error_code"] == "RESOURCE_ALREADY_EXISTS" {
            // Someone created it meanwhile (set_experiment does the same re-get).
            let (status, body) = get().await?;
            if status.is_success() {
                return found(&body);
            }
        }
        Err(rest_failure(status, &created))
    }

    /// Checks that experiment `id` exists (an unknown id makes MLflow refuse every span).
    pub(crate) async fn check_experiment(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<(), Failure> {
        let (status, body) = self
            .call(
                self.request(reqwest::Method::GET, "/api/2.0/mlflow/experiments/get")
                    .query(&[("experiment_id", id)]),
                timeout.min(REST_TIMEOUT),
            )
            .await?;
        if status.is_success() {
            Ok(())
        } else if body["error_code"] == "RESOURCE_DOES_NOT_EXIST" {
            Err(Failure::permanent(format!("no experiment with id {id}")))
        } else {
            Err(rest_failure(status, &body))
        }
    }

    /// Sends a finished trace's metadata (StartTraceV3); the error is the cause, in words.
    pub(crate) async fn start_trace(
        &self,
        experiment_id: &str,
        update: &TraceInfoUpdate,
        timeout: Duration,
    ) -> Result<(), String> {
        let request = self
            .request(reqwest::Method::POST, "/api/3.0/mlflow/traces")
            .json(&update.body(experiment_id));
        match self.call(request, timeout).await {
            Ok((status, _)) if status.is_success() => Ok(()),
            Ok((status, body)) => Err(rest_failure(status, &body).cause),
            Err(failure) => Err(failure.cause),
        }
    }

    /// Reads a trace back (`GET /api/3.0/mlflow/traces/get`), asking again while MLflow does
    /// not have it yet or still has it in progress, for at most [`READ_BACK_TIMEOUT`].
    pub(crate) async fn get_trace(&self, trace_id: &str) -> Result<Trace, Error> {
        const PATH: &str = "/api/3.0/mlflow/traces/get";
        let rest = |reason: String| Error::Rest {
            call: PATH.into(),
            reason,
        };
        let deadline = tokio::time::Instant::now() + READ_BACK_TIMEOUT;
        loop {
            let response = self
                .request(reqwest::Method::GET, PATH)
                .query(&[("trace_id", trace_id)])
                .timeout(REST_TIMEOUT)
                .send()
                .await
                .map_err(|e| rest(transport_cause(&e, REST_TIMEOUT)))?;
            let status = response.status();
            let bytes = response.bytes().await.unwrap_or_default();
            let late = tokio::time::Instant::now() >= deadline;
            if status.is_success() {
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let trace = from_rest(&body["trace"]);
                if trace.info.state != "IN_PROGRESS" || late {
                    return Ok(trace);
                }
            } else if status != reqwest::StatusCode::NOT_FOUND || late {
                // The server's own words, bounded.
                return Err(rest(Failure::status(status, None, &bytes).cause));
            }
            tokio::time::sleep(READ_BACK_POLL).await;
        }
    }
}

/// MLflow's error words for an answer that [`Client::call`] passed on.
fn rest_failure(status: reqwest::StatusCode, body: &Value) -> Failure {
    Failure::status(status, None, body.to_string().as_bytes())
}

/// What StartTraceV3 needs to know about a finished trace.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TraceInfoUpdate {
    /// OTel trace id, 32 hex digits.
    pub(crate) trace_id: String,
    pub(crate) start: std::time::SystemTime,
    pub(crate) end: std::time::SystemTime,
    pub(crate) failed: bool,
    pub(crate) metadata: std::collections::BTreeMap<String, String>,
}

impl TraceInfoUpdate {
    /// The `POST /api/3.0/mlflow/traces` body: MLflow merges the metadata into the trace it
    /// built from the spans, keeping its computed token usage and previews.
    pub(crate) fn body(&self, experiment_id: &str) -> Value {
        let duration = self.end.duration_since(self.start).unwrap_or_default();
        json!({"trace": {"trace_info": {
            "trace_id": format!("tr-{}", self.trace_id),
            "trace_location": {"type": "MLFLOW_EXPERIMENT",
                               "mlflow_experiment": {"experiment_id": experiment_id}},
            "request_time": rfc3339(self.start),
            "execution_duration": format!("{}.{:09}s", duration.as_secs(), duration.subsec_nanos()),
            "state": if self.failed { "ERROR" } else { "OK" },
            "trace_metadata": self.metadata,
        }}})
    }
}

/// RFC 3339 UTC timestamp with milliseconds (`2026-11-25T07:52:04.123Z`).
pub(crate) fn rfc3339(time: std::time::SystemTime) -> String {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_593_124_123);
        assert_eq!(rfc3339(t), "2026-11-25T07:52:04.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn trace_info_body() {
        use std::time::{Duration, UNIX_EPOCH};
        let update = TraceInfoUpdate {
            trace_id: "ab".repeat(16),
            start: UNIX_EPOCH,
            end: UNIX_EPOCH + Duration::from_millis(38),
            failed: false,
            metadata: [("app.version".to_owned(), "1.2.3".to_owned())].into(),
        };
        let body = update.body("7");
        let info = &body["trace"]["trace_info"];
        assert_eq!(info["trace_id"], format!("tr-{}", "ab".repeat(16)));
        assert_eq!(info["execution_duration"], "0.038000000s");
        assert_eq!(info["state"], "OK");
        assert_eq!(
            info["trace_location"]["mlflow_experiment"]["experiment_id"],
            "7"
        );
        assert_eq!(info["trace_metadata"]["app.version"], "1.2.3");
    }

    #[test]
    fn authorization_headers() {
        assert_eq!(authorization(&Auth::Bearer("t".into())), "Bearer t");
        assert_eq!(
            authorization(&Auth::Basic {
                username: "user".into(),
                password: "pass".into()
            }),
            "Basic dXNlcjpwYXNz"
        );
    }

    #[test]
    fn validation_names_the_setting() {
        assert!(validate_experiment_id("12").is_ok());
        let err = validate_experiment_id("DeepSeek").unwrap_err().to_string();
        assert!(err.contains("MLFLOW_EXPERIMENT_ID"), "{err}");
    }
}
