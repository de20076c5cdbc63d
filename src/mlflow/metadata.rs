//! The trace metadata MLflow's Python client sends with StartTraceV3 after a trace's root span
//! (`mlflow.source.*`, `mlflow.user`, `mlflow.traceInputs`, `mlflow.trace.sizeStats`, ...),
//! computed the way MLflow 3.17 computes it. The server derives none of these from spans.
//!
//! Pure computation: the export worker resolves [`ProcessMetadata`] once, keeps a
//! [`SpanTally`] of the spans it exported before each root, and builds each root's map with
//! [`trace_metadata`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use opentelemetry::trace::{SpanId, Status};
use opentelemetry::{Array, Value as OtelValue};
use opentelemetry_sdk::trace::SpanData;
use serde_json::{json, Map, Value};

use super::rest::rfc3339;
use crate::record;
use crate::vocab::redact::redact_url_str;
use crate::vocab::semconv::mlflow::{self, trace_info as key};

/// Traces whose spans a [`SpanTally`] remembers at most (the oldest is forgotten first).
pub(crate) const MAX_PENDING_TRACES: usize = 10_000;

/// The per-process part of the metadata (what Python's `resolve_env_metadata` caches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessMetadata {
    entries: BTreeMap<String, String>,
}

impl ProcessMetadata {
    /// Resolves the metadata of this process: program, user (`user_name` as
    /// [`crate::config::Config`] read it from the environment, else the account's name) and
    /// git checkout of the working directory. Reads a few small files; spawns nothing.
    pub(crate) fn resolve(user_name: Option<&str>) -> Self {
        let cwd = std::env::current_dir().ok();
        Self::from_parts(
            std::env::args_os().next(),
            resolve_user(user_name, passwd_name),
            cwd.as_deref().map(git_info).unwrap_or_default(),
        )
    }

    fn from_parts(argv0: Option<OsString>, user: String, git: GitInfo) -> Self {
        let entries = [
            (
                key::TRACE_SCHEMA_VERSION,
                key::TRACE_SCHEMA_VERSION_VALUE.to_owned(),
            ),
            (key::SOURCE_NAME, source_name(argv0)),
            (key::SOURCE_TYPE, key::SOURCE_TYPE_LOCAL.to_owned()),
            (key::USER, user),
            (key::SOURCE_GIT_COMMIT, git.commit),
            (key::SOURCE_GIT_BRANCH, git.branch),
            (key::SOURCE_GIT_REPO_URL, git.repo_url),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Self { entries }
    }
}

/// `mlflow.source.name`: the program as invoked (`sys.argv[0]`), verbatim.
fn source_name(argv0: Option<OsString>) -> String {
    argv0
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| key::SOURCE_NAME_UNKNOWN.to_owned())
}

/// `mlflow.user`: the name the environment gives, else the account of the real user id (what
/// `getpass.getuser()` finds).
fn resolve_user(user_name: Option<&str>, passwd: impl FnOnce() -> Option<String>) -> String {
    user_name
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .or_else(|| passwd().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| key::USER_UNKNOWN.to_owned())
}

/// The `/etc/passwd` name of this process's real user id (Linux: read from `/proc`);
/// `None` elsewhere or for accounts not in that file.
fn passwd_name() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_owned();
    passwd_lookup(&std::fs::read_to_string("/etc/passwd").ok()?, &uid)
}

/// The name of `uid` in `/etc/passwd` text (`name:password:uid:...`).
fn passwd_lookup(passwd: &str, uid: &str) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

/// The git checkout around a directory; every field is empty when unknown (as in Python).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GitInfo {
    pub(crate) commit: String,
    pub(crate) branch: String,
    pub(crate) repo_url: String,
}

/// Reads HEAD, refs and the first remote of the repository containing `start` (searching
/// upward), from the files in `.git` (worktrees and `gitdir:` files included).
pub(crate) fn git_info(start: &Path) -> GitInfo {
    let Some(git_dir) = start.ancestors().find_map(git_dir_of) else {
        return GitInfo::default();
    };
    // A linked worktree keeps HEAD in its own dir, refs and config in the common one.
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    let head = std::fs::read_to_string(git_dir.join("HEAD")).unwrap_or_default();
    let head = head.trim();
    let (commit, branch) = match head.strip_prefix("ref:") {
        Some(reference) => {
            let reference = reference.trim();
            let commit = resolve_ref(&git_dir, &common, reference).unwrap_or_default();
            let branch = reference
                .strip_prefix("refs/heads/")
                .unwrap_or_default()
                .to_owned();
            (commit, branch)
        }
        None if is_sha(head) => (head.to_owned(), String::new()),
        None => Default::default(),
    };
    let repo_url = std::fs::read_to_string(common.join("config"))
        .ok()
        .and_then(|config| first_remote_url(&config))
        .map(|url| strip_credentials(&url))
        .unwrap_or_default();
    GitInfo {
        commit,
        branch,
        repo_url,
    }
}

/// The git directory of `dir` if `dir` is a work tree's top (`.git` directory or file).
fn git_dir_of(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir.join(".git");
    if dot_git.join("HEAD").is_file() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    let target = dir.join(target);
    target.join("HEAD").is_file().then_some(target)
}

/// The commit a ref points to: its loose file, else its `packed-refs` line.
fn resolve_ref(git_dir: &Path, common: &Path, reference: &str) -> Option<String> {
    for dir in [git_dir, common] {
        if let Ok(text) = std::fs::read_to_string(dir.join(reference)) {
            let text = text.trim();
            if is_sha(text) {
                return Some(text.to_owned());
            }
        }
    }
    std::fs::read_to_string(common.join("packed-refs"))
        .ok()?
        .lines()
        .filter_map(|line| line.split_once(' '))
        .find(|(sha, name)| name.trim() == reference && is_sha(sha))
        .map(|(sha, _)| sha.to_owned())
}

fn is_sha(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `url` of the first `[remote "..."]` section of a git config, in file order.
fn first_remote_url(config: &str) -> Option<String> {
    let mut in_remote = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_remote = line
                .trim_start_matches('[')
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("remote ");
            continue;
        }
        if !in_remote {
            continue;
        }
        if let Some((name, value)) = line.split_once('=') {
            if name.trim().eq_ignore_ascii_case("url") {
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                return Some(value.to_owned());
            }
        }
    }
    None
}

/// A remote URL without `user:password@` (scp-style `git@host:path` is kept, as in Python).
fn strip_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((_, rest)) if rest.split('/').next().is_some_and(|h| h.contains('@')) => {
            redact_url_str(url)
        }
        _ => url.to_owned(),
    }
}

/// `mlflow.traceInputs` / `mlflow.traceOutputs`: at most 250 characters (not bytes), a longer
/// value cut to 247 plus `...` (MLflow's `_truncate_metadata`).
pub(crate) fn truncate_preview(value: &str) -> String {
    if value.chars().count() <= key::MAX_CHARS {
        return value.to_owned();
    }
    let keep = key::MAX_CHARS - key::TRUNCATION_SUFFIX.chars().count();
    let mut cut: String = value.chars().take(keep).collect();
    cut.push_str(key::TRUNCATION_SUFFIX);
    cut
}

/// Remembers the sizes of exported spans of unfinished traces until their root comes.
#[derive(Debug)]
pub(crate) struct SpanTally {
    sizes: HashMap<u128, Vec<usize>>,
    /// Insertion order, for forgetting the oldest trace; may hold ids already taken.
    order: VecDeque<u128>,
    capacity: usize,
}

impl Default for SpanTally {
    fn default() -> Self {
        Self::with_capacity(MAX_PENDING_TRACES)
    }
}

impl SpanTally {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            sizes: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records one non-root span of `trace`.
    pub(crate) fn add(&mut self, trace: u128, size: usize) {
        if let Some(sizes) = self.sizes.get_mut(&trace) {
            sizes.push(size);
            return;
        }
        while self.sizes.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.sizes.remove(&old);
                }
                None => break,
            }
        }
        if self.order.len() >= 2 * self.capacity {
            let sizes = &self.sizes;
            self.order.retain(|id| sizes.contains_key(id));
        }
        self.sizes.insert(trace, vec![size]);
        self.order.push_back(trace);
    }

    /// The sizes recorded for `trace`, forgetting them.
    pub(crate) fn take(&mut self, trace: u128) -> Vec<usize> {
        self.sizes.remove(&trace).unwrap_or_default()
    }

    /// Traces remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sizes.len()
    }
}

/// The key of a span's trace in a [`SpanTally`].
pub(crate) fn trace_key(span: &SpanData) -> u128 {
    u128::from_be_bytes(span.span_context.trace_id().to_bytes())
}

/// Size in bytes of a span as MLflow's Python client estimates it: its `Span.to_dict()` in
/// `json.dumps` form (attribute values as the span holds them).
pub(crate) fn span_size(span: &SpanData) -> usize {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let parent =
        (span.parent_span_id != SpanId::INVALID).then(|| b64(&span.parent_span_id.to_bytes()));
    let (code, message) = match &span.status {
        Status::Unset => ("STATUS_CODE_UNSET", String::new()),
        Status::Ok => ("STATUS_CODE_OK", String::new()),
        Status::Error { description } => ("STATUS_CODE_ERROR", description.to_string()),
    };
    let attributes = |kvs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| -> Value {
        Value::Object(
            kvs.map(|kv| (kv.key.as_str().to_owned(), otel_json(&kv.value)))
                .collect::<Map<_, _>>(),
        )
    };
    let events: Vec<Value> = span
        .events
        .iter()
        .map(|event| {
            json!({
                "name": event.name.as_ref(),
                "time_unix_nano": unix_nanos(event.timestamp),
                "attributes": attributes(&mut event.attributes.iter()),
            })
        })
        .collect();
    let dict = json!({
        "trace_id": b64(&span.span_context.trace_id().to_bytes()),
        "span_id": b64(&span.span_context.span_id().to_bytes()),
        "parent_span_id": parent,
        "name": span.name.as_ref(),
        "start_time_unix_nano": unix_nanos(span.start_time),
        "end_time_unix_nano": unix_nanos(span.end_time),
        "events": events,
        "status": {"code": code, "message": message},
        "attributes": attributes(&mut span.attributes.iter()),
        "links": span.links.iter().map(|_| json!({})).collect::<Vec<_>>(),
    });
    python_json_len(&dict)
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn otel_json(value: &OtelValue) -> Value {
    match value {
        OtelValue::Bool(b) => json!(b),
        OtelValue::I64(i) => json!(i),
        OtelValue::F64(f) => json!(f),
        OtelValue::String(s) => json!(s.as_str()),
        OtelValue::Array(Array::Bool(v)) => json!(v),
        OtelValue::Array(Array::I64(v)) => json!(v),
        OtelValue::Array(Array::F64(v)) => json!(v),
        OtelValue::Array(Array::String(v)) => {
            Value::Array(v.iter().map(|s| json!(s.as_str())).collect())
        }
        other => json!(other.to_string()),
    }
}

/// Length in bytes of `json.dumps(value)` with Python's defaults (`", "` and `": "`
/// separators, `ensure_ascii=True`).
pub(crate) fn python_json_len(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => python_str_len(s),
        Value::Array(items) => {
            2 + items.iter().map(python_json_len).sum::<usize>() + 2 * items.len().saturating_sub(1)
        }
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| python_str_len(k) + 2 + python_json_len(v))
                .sum::<usize>()
                + 2 * map.len().saturating_sub(1)
        }
    }
}

/// Length of a JSON string literal as Python writes it with `ensure_ascii=True`.
fn python_str_len(s: &str) -> usize {
    2 + s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c if c.is_ascii() => 1,
            c if (c as u32) < 0x1_0000 => 6,
            _ => 12,
        })
        .sum::<usize>()
}

/// Percentile with linear interpolation, MLflow's `_calculate_percentile`.
fn percentile(sorted: &[usize], q: f64) -> usize {
    let Some(&last) = sorted.last() else { return 0 };
    let index = q * (sorted.len() - 1) as f64;
    let lower = index as usize;
    let upper = lower + 1;
    if upper >= sorted.len() {
        return last;
    }
    let weight = index - lower as f64;
    (sorted[lower] as f64 * (1.0 - weight) + sorted[upper] as f64 * weight) as usize
}

/// `mlflow.trace.sizeStats` JSON (Python's key order and separators) and the total size, for
/// span sizes and the size of the trace info without spans.
pub(crate) fn size_stats(span_sizes: &[usize], info_size: usize) -> (String, usize) {
    let mut sorted = span_sizes.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let total = sorted.iter().sum::<usize>() + info_size + 2 * n.saturating_sub(1);
    use key::size_stats as k;
    let stats = format!(
        "{{\"{}\": {total}, \"{}\": {n}, \"{}\": {}, \"{}\": {}, \"{}\": {}, \"{}\": {}}}",
        k::TOTAL_SIZE_BYTES,
        k::NUM_SPANS,
        k::MAX,
        sorted.last().copied().unwrap_or(0),
        k::P25,
        percentile(&sorted, 0.25),
        k::P50,
        percentile(&sorted, 0.50),
        k::P75,
        percentile(&sorted, 0.75),
    );
    (stats, total)
}

/// Size of `Trace(info, TraceData(spans=[])).to_json()` for the trace of `root`.
fn info_size(root: &SpanData, experiment_id: &str, metadata: &BTreeMap<String, String>) -> usize {
    let duration = root
        .end_time
        .duration_since(root.start_time)
        .unwrap_or_default();
    let mut tags = Map::new();
    if let Some(name) = record::attribute(&root.attributes, mlflow::TRACE_NAME) {
        tags.insert(mlflow::trace::NAME_TAG.to_owned(), json!(name.as_str()));
    }
    let info = json!({
        "info": {
            "trace_id": format!("tr-{}", root.span_context.trace_id()),
            "trace_location": {"type": "MLFLOW_EXPERIMENT",
                               "mlflow_experiment": {"experiment_id": experiment_id}},
            "request_time": rfc3339(root.start_time),
            "state": if matches!(root.status, Status::Error { .. }) { "ERROR" } else { "OK" },
            "trace_metadata": metadata,
            "tags": tags,
            "execution_duration_ms": u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        },
        "data": {"spans": []},
    });
    python_json_len(&info)
}

/// The whole StartTraceV3 metadata of the trace of `root`: process metadata, the root's
/// inputs/outputs, size statistics over `span_sizes` (every exported span of the trace, the
/// root included), then `user` metadata, which wins.
pub(crate) fn trace_metadata(
    process: &ProcessMetadata,
    root: &SpanData,
    span_sizes: &[usize],
    experiment_id: &str,
    user: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let attribute = |name: &str| {
        record::attribute(&root.attributes, name)
            .map(|v| v.as_str().into_owned())
            .unwrap_or_default()
    };
    let mut metadata = process.entries.clone();
    metadata.insert(
        key::TRACE_INPUTS.to_owned(),
        truncate_preview(&attribute(mlflow::SPAN_INPUTS)),
    );
    metadata.insert(
        key::TRACE_OUTPUTS.to_owned(),
        truncate_preview(&attribute(mlflow::SPAN_OUTPUTS)),
    );
    let (stats, total) = size_stats(span_sizes, info_size(root, experiment_id, &metadata));
    metadata.insert(key::TRACE_SIZE_STATS.to_owned(), stats);
    metadata.insert(key::TRACE_SIZE_BYTES.to_owned(), total.to_string());
    metadata.extend(user);
    metadata
}

/// A finished span of trace `trace` (`parent` 0: a root), for the unit tests of metadata and
/// of the sink that sends it.
#[cfg(test)]
pub(crate) fn test_span(
    trace: u128,
    id: u64,
    parent: u64,
    attributes: Vec<opentelemetry::KeyValue>,
) -> SpanData {
    SpanData {
        span_context: opentelemetry::trace::SpanContext::new(
            opentelemetry::trace::TraceId::from(trace),
            SpanId::from(id),
            opentelemetry::trace::TraceFlags::SAMPLED,
            false,
            opentelemetry::trace::TraceState::default(),
        ),
        parent_span_id: SpanId::from(parent),
        parent_span_is_remote: false,
        span_kind: opentelemetry::trace::SpanKind::Internal,
        name: "Completions".into(),
        start_time: std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_593_124_000),
        end_time: std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_593_124_038),
        attributes,
        dropped_attributes_count: 0,
        events: opentelemetry_sdk::trace::SpanEvents::default(),
        links: opentelemetry_sdk::trace::SpanLinks::default(),
        status: Status::Ok,
        instrumentation_scope: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::KeyValue;
    use test_span as span;

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_preview(""), "");
        let exact = "é".repeat(250);
        assert_eq!(truncate_preview(&exact), exact);
        let long = "é".repeat(251);
        let cut = truncate_preview(&long);
        assert_eq!(cut.chars().count(), 250);
        assert_eq!(cut, format!("{}...", "é".repeat(247)));
    }

    #[test]
    fn user_resolution_order() {
        let none = || None;
        assert_eq!(resolve_user(Some("ml"), || Some("root".into())), "ml");
        assert_eq!(resolve_user(Some(""), || Some("root".into())), "root");
        assert_eq!(resolve_user(None, || Some("root".into())), "root");
        assert_eq!(resolve_user(None, none), "unknown");
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(passwd_lookup(passwd, "1000").as_deref(), Some("alice"));
        assert_eq!(passwd_lookup(passwd, "0").as_deref(), Some("root"));
        assert_eq!(passwd_lookup(passwd, "7"), None);
    }

    #[test]
    fn source_name_is_argv0_verbatim() {
        assert_eq!(
            source_name(Some("target/debug/app".into())),
            "target/debug/app"
        );
        assert_eq!(source_name(None), "<console>");
        let process =
            ProcessMetadata::from_parts(Some("./app".into()), "alice".into(), GitInfo::default());
        let m = &process.entries;
        assert_eq!(m[key::SOURCE_NAME], "./app");
        assert_eq!(m[key::SOURCE_TYPE], "LOCAL");
        assert_eq!(m[key::TRACE_SCHEMA_VERSION], "3");
        assert_eq!(m[key::USER], "alice");
        assert_eq!(m[key::SOURCE_GIT_COMMIT], "");
        assert_eq!(m[key::SOURCE_GIT_BRANCH], "");
        assert_eq!(m[key::SOURCE_GIT_REPO_URL], "");
    }

    #[test]
    fn python_json_lengths() {
        // json.dumps({"a": [1, "x\"é😀"], "b": None, "c": {}}) is 55 bytes.
        let value = json!({"a": [1, "x\"é😀"], "b": null, "c": {}});
        assert_eq!(python_json_len(&value), 55);
        assert_eq!(python_json_len(&json!("\u{1}")), 8);
        assert_eq!(python_json_len(&json!([])), 2);
    }

    #[test]
    fn size_stats_match_python() {
        // Python: sizes [10, 20, 30, 40] -> p25 = 17 (17.5), p50 = 25, p75 = 32 (32.5).
        let (stats, total) = size_stats(&[40, 10, 30, 20], 100);
        assert_eq!(total, 100 + 100 + 6);
        assert_eq!(
            stats,
            "{\"total_size_bytes\": 206, \"num_spans\": 4, \"max\": 40, \"p25\": 17, \"p50\": 25, \"p75\": 32}"
        );
        let (stats, total) = size_stats(&[1838], 1352);
        assert_eq!(total, 3190);
        assert_eq!(
            stats,
            "{\"total_size_bytes\": 3190, \"num_spans\": 1, \"max\": 1838, \"p25\": 1838, \"p50\": 1838, \"p75\": 1838}"
        );
        let parsed: Value = serde_json::from_str(&stats).unwrap();
        assert_eq!(parsed["num_spans"], 1);
    }

    #[test]
    fn metadata_of_a_trace() {
        let process =
            ProcessMetadata::from_parts(Some("app".into()), "root".into(), GitInfo::default());
        let inputs = format!("{{\"content\": \"{}\"}}", "x".repeat(300));
        let root = span(
            7,
            1,
            0,
            vec![
                KeyValue::new(mlflow::SPAN_INPUTS, inputs.clone()),
                KeyValue::new(mlflow::SPAN_OUTPUTS, "\"ok\""),
                KeyValue::new(mlflow::TRACE_NAME, "Completions"),
            ],
        );
        let child = span(7, 2, 1, vec![KeyValue::new("n", 3)]);
        let sizes = [span_size(&child), span_size(&root)];
        assert!(sizes[1] > sizes[0] && sizes[1] > 300, "{sizes:?}");
        let user = [(key::USER.to_owned(), "override".to_owned())].into();
        let m = trace_metadata(&process, &root, &sizes, "3", user);
        assert_eq!(m[key::USER], "override", "user metadata wins");
        assert_eq!(m[key::SOURCE_NAME], "app");
        assert_eq!(m[key::TRACE_INPUTS].chars().count(), 250);
        assert!(inputs.starts_with(m[key::TRACE_INPUTS].trim_end_matches("...")));
        assert_eq!(m[key::TRACE_OUTPUTS], "\"ok\"");
        let stats: Value = serde_json::from_str(&m[key::TRACE_SIZE_STATS]).unwrap();
        assert_eq!(stats["num_spans"], 2);
        assert_eq!(stats["max"], sizes[1]);
        assert_eq!(
            stats["total_size_bytes"].to_string(),
            m[key::TRACE_SIZE_BYTES]
        );
        assert!(!m.contains_key(mlflow::trace::TOKEN_USAGE));
    }

    #[test]
    fn span_size_is_python_span_dict() {
        // A bare root span: the exact Python `json.dumps(span.to_dict())` text, rebuilt here.
        let root = span(1, 2, 0, vec![KeyValue::new("k", "v")]);
        let text = format!(
            "{{\"trace_id\": \"{}\", \"span_id\": \"{}\", \"parent_span_id\": null, \
             \"name\": \"Completions\", \"start_time_unix_nano\": 1795593124000000000, \
             \"end_time_unix_nano\": 1795593124038000000, \"events\": [], \
             \"status\": {{\"code\": \"STATUS_CODE_OK\", \"message\": \"\"}}, \
             \"attributes\": {{\"k\": \"v\"}}, \"links\": []}}",
            base64::engine::general_purpose::STANDARD.encode(1u128.to_be_bytes()),
            base64::engine::general_purpose::STANDARD.encode(2u64.to_be_bytes()),
        );
        assert_eq!(span_size(&root), text.len());
    }

    #[test]
    fn tally_is_bounded_and_forgets_taken_traces() {
        let mut tally = SpanTally::with_capacity(2);
        tally.add(1, 10);
        tally.add(1, 11);
        tally.add(2, 20);
        assert_eq!(tally.take(1), vec![10, 11]);
        assert!(tally.take(1).is_empty());
        tally.add(3, 30);
        tally.add(4, 40); // full: trace 2, the oldest, is forgotten
        assert_eq!(tally.len(), 2);
        assert!(tally.take(2).is_empty());
        assert_eq!(tally.take(4), vec![40]);
        for t in 10..100 {
            tally.add(t, 1);
            tally.take(t);
        }
        assert!(tally.order.len() <= 4, "{}", tally.order.len());
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn git_files() {
        let root = std::env::temp_dir().join(format!("mlflow-tracing-git-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let sha = "6d7d4a9dab41af83d9cd1cf2c0142c3c561eae41";
        let other = "0123456789abcdef0123456789abcdef01234567";
        let sub = root.join("repo/src/deep");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(git_info(&root), GitInfo::default());

        // Loose ref, first remote with credentials.
        write(&root.join("repo/.git/HEAD"), "ref: refs/heads/main\n");
        write(&root.join("repo/.git/refs/heads/main"), &format!("{sha}\n"));
        write(
            &root.join("repo/.git/config"),
            "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = https://user:tok@github.com/org/app.git\n\
             \tfetch = +refs/heads/*:refs/remotes/origin/*\n[remote \"fork\"]\n\turl = git@github.com:me/app.git\n",
        );
        let info = git_info(&sub);
        assert_eq!(info.commit, sha);
        assert_eq!(info.branch, "main");
        assert_eq!(info.repo_url, "https://github.com/org/app.git");

        // Packed ref, scp-style remote kept.
        std::fs::remove_file(root.join("repo/.git/refs/heads/main")).unwrap();
        write(&root.join("repo/.git/HEAD"), "ref: refs/heads/feature/x\n");
        write(
            &root.join("repo/.git/packed-refs"),
            &format!("# pack-refs with: peeled\n{other} refs/heads/feature/x\n"),
        );
        write(
            &root.join("repo/.git/config"),
            "[remote \"fork\"]\n\turl = git@github.com:me/app.git\n",
        );
        let info = git_info(&sub);
        assert_eq!(
            (
                info.commit.as_str(),
                info.branch.as_str(),
                info.repo_url.as_str()
            ),
            (other, "feature/x", "git@github.com:me/app.git")
        );

        // Detached HEAD, no remote.
        write(&root.join("repo/.git/HEAD"), &format!("{sha}\n"));
        write(&root.join("repo/.git/config"), "[core]\n");
        let info = git_info(&sub);
        assert_eq!(
            (
                info.commit.as_str(),
                info.branch.as_str(),
                info.repo_url.as_str()
            ),
            (sha, "", "")
        );

        // A linked worktree: `.git` file, HEAD there, refs and config in the common dir.
        write(
            &root.join("repo/.git/worktrees/wt/HEAD"),
            "ref: refs/heads/wt\n",
        );
        write(&root.join("repo/.git/worktrees/wt/commondir"), "../..\n");
        write(&root.join("repo/.git/refs/heads/wt"), &format!("{other}\n"));
        write(
            &root.join("wt/.git"),
            &format!(
                "gitdir: {}\n",
                root.join("repo/.git/worktrees/wt").display()
            ),
        );
        let info = git_info(&root.join("wt"));
        assert_eq!((info.commit.as_str(), info.branch.as_str()), (other, "wt"));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn credentials_stripped_like_python() {
        assert_eq!(
            strip_credentials("https://x-token:ghp_1@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_credentials("https://github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(strip_credentials("/srv/git/r.git"), "/srv/git/r.git");
    }
}
