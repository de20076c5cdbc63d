//! A fake OTLP/HTTP receiver on 127.0.0.1 whose every answer a test scripts: any status with
//! any headers and body, a hang, a slow answer, or a connection closed mid-response. It
//! decodes each request (protobuf) and records what it saw, so a test can check the pipeline's
//! counters against what actually arrived. Plain threads: no async runtime involved.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

/// How to answer one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, these extra headers, this body.
    Status(u16, Vec<(String, String)>, String),
    /// Read the request, then never answer (until the receiver is dropped).
    Hang,
    /// Answer 200 after this long.
    Slow(Duration),
    /// Start a 200 answer, then close the connection before the body is complete.
    CloseMidResponse,
}

impl Reply {
    pub fn ok() -> Self {
        Reply::Status(200, Vec::new(), String::new())
    }

    pub fn status(code: u16, body: &str) -> Self {
        Reply::Status(code, Vec::new(), body.to_owned())
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub headers: Vec<(String, String)>,
    pub body_len: usize,
    pub spans: Vec<Span>,
    /// Whether it was answered with a 2xx.
    pub accepted: bool,
}

type Script = dyn Fn(usize, &ExportTraceServiceRequest, usize) -> Reply + Send + Sync;

pub struct OtlpReceiver {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl OtlpReceiver {
    /// Starts a receiver; `script(n, request, body_len)` decides the answer to request `n`
    /// (0-based).
    pub fn start(
        script: impl Fn(usize, &ExportTraceServiceRequest, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let counter = Arc::new(Mutex::new(0usize));
        {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    let (seen, stop, script, counter) =
                        (seen.clone(), stop.clone(), script.clone(), counter.clone());
                    // Named, so a benchmark can tell the receiver's CPU from the tracer's.
                    let _ = std::thread::Builder::new()
                        .name("otlp-receiver".into())
                        .spawn(move || serve(conn, &seen, &stop, &*script, &counter));
                }
            });
        }
        Self { port, seen, stop }
    }

    /// Answers the first `n` requests with `reply`, then 200.
    pub fn failing_first(n: usize, reply: Reply) -> Self {
        Self::start(move |i, _, _| if i < n { reply.clone() } else { Reply::ok() })
    }

    /// Answers every request with `reply`.
    pub fn always(reply: Reply) -> Self {
        Self::start(move |_, _, _| reply.clone())
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/traces", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Distinct span ids the receiver answered 2xx for.
    pub fn accepted_span_ids(&self) -> HashSet<Vec<u8>> {
        self.seen()
            .iter()
            .filter(|s| s.accepted)
            .flat_map(|s| s.spans.iter().map(|span| span.span_id.clone()))
            .collect()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A string attribute of a decoded span.
pub fn span_text(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            any_value::Value::BoolValue(b) => Some(b.to_string()),
            _ => None,
        })
}

fn serve(
    conn: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    stop: &AtomicBool,
    script: &Script,
    counter: &Mutex<usize>,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        // Request line and headers.
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap_or_default();
        let n = {
            let mut c = counter.lock().unwrap();
            *c += 1;
            *c - 1
        };
        let reply = script(n, &request, body.len());
        let spans: Vec<Span> = request
            .resource_spans
            .into_iter()
            .flat_map(|rs| rs.scope_spans)
            .flat_map(|ss| ss.spans)
            .collect();
        let record = |accepted: bool| {
            seen.lock().unwrap().push(Seen {
                at: Instant::now(),
                headers: headers.clone(),
                body_len: body.len(),
                spans: spans.clone(),
                accepted,
            })
        };
        let answer = |conn: &mut TcpStream, code: u16, extra: &[(String, String)], text: &str| {
            let mut head = format!(
                "HTTP/1.1 {code} Status\r\ncontent-length: {}\r\ncontent-type: application/json\r\n",
                text.len()
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(text.as_bytes());
            let _ = conn.flush();
        };
        match reply {
            Reply::Status(code, extra, text) => {
                record((200..300).contains(&code));
                answer(&mut conn, code, &extra, &text);
            }
            Reply::Slow(delay) => {
                std::thread::sleep(delay);
                record(true);
                answer(&mut conn, 200, &[], "");
            }
            Reply::Hang => {
                record(false);
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            Reply::CloseMidResponse => {
                record(false);
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc");
                let _ = conn.shutdown(std::net::Shutdown::Both);
                return;
            }
        }
    }
}
