//! What the benchmarks share: canned in-process clients (no network), CPU time, medians.
#![allow(dead_code)]

use std::time::Duration;

use async_openai::Client;

/// A plain and a traced client over the same canned in-process response.
pub fn canned_clients(
    body: Vec<u8>,
    content_type: &'static str,
) -> (
    Client<async_openai::config::OpenAIConfig>,
    mlflow_tracing::TracedClient<async_openai::config::OpenAIConfig>,
) {
    let canned = canned_service(body, content_type);
    let plain = Client::with_config(async_openai::config::OpenAIConfig::new())
        .with_http_service(canned.clone());
    let traced = mlflow_tracing::TracedClient::with_http_service(
        Client::with_config(async_openai::config::OpenAIConfig::new()),
        canned,
    );
    (plain, traced)
}

/// A tower service answering every request with `body` (no network).
pub fn canned_service(
    body: Vec<u8>,
    content_type: &'static str,
) -> impl tower::Service<
    async_openai::middleware::HttpRequestFactory,
    Response = reqwest::Response,
    Error = async_openai::error::OpenAIError,
    Future = impl Send,
> + Clone
       + Send
       + Sync
       + 'static {
    let body = bytes::Bytes::from(body);
    tower::service_fn(
        move |factory: async_openai::middleware::HttpRequestFactory| {
            let body = body.clone();
            async move {
                let _request = factory.build().await?;
                let response = http::Response::builder()
                    .status(200)
                    .header("content-type", content_type)
                    .body(body)
                    .expect("valid response");
                Ok::<_, async_openai::error::OpenAIError>(reqwest::Response::from(response))
            }
        },
    )
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Resident set size of this process in bytes (Linux `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A minimal HTTP/1.1 keep-alive server on loopback answering every request with the same
/// body, one thread per connection (no async runtime, no routing, no recording), so a call's
/// cost is the client's, not the mock's.
pub struct FastMock {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// Connections accepted so far.
    pub connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FastMock {
    /// Starts serving `body` with `content_type` until the process exits.
    pub fn start(body: Vec<u8>, content_type: &'static str) -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        head.extend_from_slice(&body);
        let reply = std::sync::Arc::new(head);
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let accepted = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let reply = reply.clone();
                let _ = std::thread::Builder::new()
                    .name("fast-mock".into())
                    .spawn(move || {
                        let _ = stream.set_nodelay(true);
                        let mut writer = stream.try_clone().expect("clone socket");
                        let mut reader = BufReader::new(stream);
                        let mut line = String::new();
                        loop {
                            let mut length = 0usize;
                            loop {
                                line.clear();
                                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == "\r\n" {
                                    break;
                                }
                                let lower = line.to_ascii_lowercase();
                                if let Some(v) = lower.strip_prefix("content-length:") {
                                    length = v.trim().parse().unwrap_or(0);
                                }
                            }
                            let mut body = vec![0; length];
                            if reader.read_exact(&mut body).is_err()
                                || writer.write_all(&reply).is_err()
                            {
                                return;
                            }
                        }
                    });
            }
        });
        Self { url, connections }
    }
}

/// CPU time of the calling thread, in nanoseconds (Linux `/proc/thread-self/schedstat`).
pub fn thread_cpu() -> Duration {
    schedstat(std::path::Path::new("/proc/thread-self/schedstat"))
}

/// CPU time of the crate's export threads (named `mlflow-tracing-…`), in nanoseconds.
pub fn export_thread_cpu() -> Duration {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.starts_with("mlflow-tracing"))
        })
        .map(|task| schedstat(&task.path().join("schedstat")))
        .sum()
}

/// The first field of a `schedstat` file: time spent on a CPU, in nanoseconds.
fn schedstat(path: &std::path::Path) -> Duration {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}
