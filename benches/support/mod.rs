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

/// User + system CPU time of this process (Linux `/proc/self/stat`, 100 ticks per second).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12] // utime, stime (fields 14, 15, counted after the command name)
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
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
