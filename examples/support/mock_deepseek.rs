//! An offline stand-in for the DeepSeek API (OpenAI-compatible `/chat/completions`), used by
//! the examples when `DEEPSEEK_API_KEY` is not set, and by the tests.
//!
//! Deterministic answers, chosen from the request:
//! - model containing `error-401` / `error-429` / `error-500` → that HTTP error, DeepSeek-style;
//! - model containing `slow` → the answer arrives after 3 s;
//! - `tools` given and no `tool` message yet → one `get_weather` call for the city named in the
//!   last user message (`Paris` or `Tokyo`, else `Paris`);
//! - a `tool` message present → an answer using the tool result;
//! - `stream: true` → server-sent events, split into chunks; a usage chunk only with
//!   `stream_options.include_usage`;
//! - `deepseek-reasoner` → `reasoning_content` besides the answer;
//! - models starting with `deepseek` → DeepSeek's `prompt_cache_hit_tokens` / `miss` usage extras;
//! - streams only: `long` → 300 content chunks; `cumulative` → usage on every chunk;
//!   `midstream-error` → an undecodable chunk after two content chunks; `truncated` → the body
//!   ends after two content chunks, without `[DONE]`.
//!
//! `/responses` (the OpenAI Responses API) answers with the bodies an OpenAI-compatible server
//! sent when MLflow 3.17.2 traced the same calls in Python (`tests/fixtures/responses_*`, the
//! model swapped in): usage 14/8/22 (`cached_tokens` 0); with `tools`, one `get_weather`
//! `function_call` item; `stream: true` → the 11-event SSE stream; models containing
//! `error-…` / `slow` as above; streams only: `failed` → ends with `response.failed`,
//! `truncated` → the body ends after the second text delta.
//!
//! Token counts: plain chat 12/8/20; tool-call request 45/14/59 and the answer after the tool
//! 39/8/47 (the seed's numbers); streams 9/6/15.
//!
//! `/embeddings` (OpenAI's API; DeepSeek has none): one vector per input of
//! [`EMBEDDING_DIMENSIONS`] values (or the request's `dimensions`), given by
//! [`embedding_vector`]; base64 `f32`s with `encoding_format: "base64"`; one prompt token per
//! word (per token id for token arrays); models containing `error-…` fail as above.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A running mock; stops when dropped.
pub struct MockDeepSeek {
    server: MockServer,
}

impl MockDeepSeek {
    /// Starts the mock on a free loopback port.
    pub async fn start() -> Self {
        Self::mount(MockServer::start().await).await
    }

    /// Starts the mock without keeping the requests (for benchmarks: recording slows every
    /// later request down).
    pub async fn start_unrecorded() -> Self {
        Self::mount(
            MockServer::builder()
                .disable_request_recording()
                .start()
                .await,
        )
        .await
    }

    async fn mount(server: MockServer) -> Self {
        Mock::given(method("POST"))
            .and(path("/chat/completions"))
            .respond_with(Responder)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/responses"))
            .respond_with(ResponsesResponder)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/embeddings"))
            .respond_with(EmbeddingsResponder)
            .mount(&server)
            .await;
        Self { server }
    }

    /// Base URL to give async-openai's `with_api_base`.
    pub fn base_url(&self) -> String {
        self.server.uri()
    }

    /// Requests received so far.
    pub async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }
}

struct Responder;

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        respond_to(&body)
    }
}

fn respond_to(body: &Value) -> ResponseTemplate {
    let model = body["model"].as_str().unwrap_or("deepseek-chat").to_owned();
    for (marker, status, kind, message) in [
        (
            "error-401",
            401,
            "authentication_error",
            "Authentication Fails, Your api key: ****cdef is invalid",
        ),
        (
            "error-429",
            429,
            "rate_limit_error",
            "Rate limit reached for requests",
        ),
        (
            "error-500",
            500,
            "server_error",
            "The server had an error while processing your request",
        ),
    ] {
        if model.contains(marker) {
            return ResponseTemplate::new(status).set_body_json(json!({
                "error": {"message": message, "type": kind, "param": null, "code": kind}
            }));
        }
    }
    let delay = if model.contains("slow") {
        Duration::from_secs(3)
    } else {
        Duration::ZERO
    };
    let answer = plan(body);
    let template = if body["stream"] == json!(true) {
        let include_usage = body["stream_options"]["include_usage"] == json!(true);
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/event-stream")
            .set_body_string(sse(&model, &answer, include_usage))
    } else {
        ResponseTemplate::new(200).set_body_json(completion(&model, &answer))
    };
    template.set_delay(delay)
}

/// What the mock answers.
struct Answer {
    content: Option<String>,
    reasoning: Option<String>,
    tool_call: Option<(String, String)>,
    usage: (u64, u64),
}

fn plan(body: &Value) -> Answer {
    let model = body["model"].as_str().unwrap_or_default();
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let tool_result = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["content"].as_str().map(str::to_owned));
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned();
    let reasoning = model
        .contains("reasoner")
        .then(|| "The user asks about France. Its capital is Paris.".to_owned());
    let stream = body["stream"] == json!(true);
    if let Some(result) = tool_result {
        return Answer {
            content: Some(format!("The weather in Paris today is {result}.")),
            reasoning,
            tool_call: None,
            usage: (39, 8),
        };
    }
    if body["tools"].as_array().is_some_and(|t| !t.is_empty()) {
        let city = if last_user.contains("Tokyo") {
            "Tokyo"
        } else {
            "Paris"
        };
        return Answer {
            content: None,
            reasoning,
            tool_call: Some(("get_weather".into(), json!({ "city": city }).to_string())),
            usage: (45, 14),
        };
    }
    let content = if model.contains("long") {
        "word ".repeat(300)
    } else if last_user.contains("capital of France") {
        "The capital of France is Paris.".to_owned()
    } else {
        "Hello from the mock DeepSeek server.".to_owned()
    };
    Answer {
        content: Some(content),
        reasoning,
        tool_call: None,
        usage: if stream { (9, 6) } else { (12, 8) },
    }
}

fn usage(model: &str, (input, output): (u64, u64)) -> Value {
    let mut usage = json!({
        "prompt_tokens": input,
        "completion_tokens": output,
        "total_tokens": input + output,
    });
    if model.starts_with("deepseek") {
        usage["prompt_cache_hit_tokens"] = json!(4);
        usage["prompt_cache_miss_tokens"] = json!(input - 4);
    }
    if model.contains("reasoner") {
        usage["completion_tokens_details"] = json!({ "reasoning_tokens": 5 });
    }
    usage
}

fn completion(model: &str, answer: &Answer) -> Value {
    let mut message = json!({ "role": "assistant", "content": answer.content });
    if let Some(reasoning) = &answer.reasoning {
        message["reasoning_content"] = json!(reasoning);
    }
    let finish = if let Some((name, args)) = &answer.tool_call {
        message["tool_calls"] = json!([{
            "id": "call_0_weather", "type": "function",
            "function": { "name": name, "arguments": args }
        }]);
        "tool_calls"
    } else {
        "stop"
    };
    json!({
        "id": "chatcmpl-mock-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "system_fingerprint": "fp_mock",
        "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish }],
        "usage": usage(model, answer.usage),
    })
}

fn sse(model: &str, answer: &Answer, include_usage: bool) -> String {
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": "chatcmpl-mock-stream", "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": model, "system_fingerprint": "fp_mock",
            "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }]
        })
    };
    let mut chunks = vec![chunk(
        json!({ "role": "assistant", "content": "" }),
        Value::Null,
    )];
    if let Some(reasoning) = &answer.reasoning {
        for piece in split(reasoning) {
            chunks.push(chunk(json!({ "reasoning_content": piece }), Value::Null));
        }
    }
    if let Some(content) = &answer.content {
        for piece in split(content) {
            chunks.push(chunk(json!({ "content": piece }), Value::Null));
        }
    }
    let finish = if let Some((name, args)) = &answer.tool_call {
        chunks.push(chunk(
            json!({ "tool_calls": [{ "index": 0, "id": "call_0_weather", "type": "function",
                "function": { "name": name, "arguments": "" } }] }),
            Value::Null,
        ));
        let (head, tail) = args.split_at(args.len() / 2);
        for part in [head, tail] {
            chunks.push(chunk(
                json!({ "tool_calls": [{ "index": 0, "function": { "arguments": part } }] }),
                Value::Null,
            ));
        }
        "tool_calls"
    } else {
        "stop"
    };
    chunks.push(chunk(json!({}), json!(finish)));
    if model.contains("cumulative") {
        // Usage so far on every chunk, as some OpenAI-compatible servers send it.
        let n = chunks.len() as u64;
        for (i, c) in chunks.iter_mut().enumerate() {
            let done = (i as u64 + 1) * answer.usage.1 / n;
            c["usage"] = usage(model, (answer.usage.0, done));
        }
    }
    if include_usage {
        chunks.push(json!({
            "id": "chatcmpl-mock-stream", "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": model, "choices": [],
            "usage": usage(model, answer.usage),
        }));
    }
    let mut out = String::new();
    for (i, c) in chunks.iter().enumerate() {
        if i == 3 && model.contains("midstream-error") {
            out.push_str("data: {\"choices\": [oops\n\n");
        }
        if i == 3 && model.contains("truncated") {
            return out;
        }
        out.push_str(&format!("data: {c}\n\n"));
    }
    out.push_str("data: [DONE]\n\n");
    out
}

/// Splits text into word-sized pieces (keeping the spaces), like a token stream.
fn split(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        current.push(ch);
        if ch == ' ' {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Values per embedding when the request does not ask for `dimensions`
/// (`text-embedding-3-small`'s).
pub const EMBEDDING_DIMENSIONS: usize = 1536;

/// The vector the mock returns for input number `index`, with `dimensions` values.
pub fn embedding_vector(index: usize, dimensions: usize) -> Vec<f32> {
    (0..dimensions)
        .map(|j| ((index * 7 + j * 13) % 101) as f32 / 50.0 - 1.0)
        .collect()
}

struct EmbeddingsResponder;

impl Respond for EmbeddingsResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        embeddings(&body)
    }
}

fn embeddings(body: &Value) -> ResponseTemplate {
    let model = body["model"].as_str().unwrap_or("text-embedding-3-small");
    if model.contains("error-") {
        return respond_to(body);
    }
    // Prompt tokens of each input: a string, strings, a token array or token arrays.
    let tokens = |text: &Value| match text {
        Value::String(s) => s.split_whitespace().count().max(1),
        Value::Array(ids) => ids.len(),
        _ => 1,
    };
    let inputs: Vec<usize> = match &body["input"] {
        Value::Array(items) if items.iter().all(Value::is_number) => vec![items.len()],
        Value::Array(items) => items.iter().map(tokens).collect(),
        other => vec![tokens(other)],
    };
    let dimensions = body["dimensions"]
        .as_u64()
        .map_or(EMBEDDING_DIMENSIONS, |d| d as usize);
    let base64 = body["encoding_format"] == json!("base64");
    let data: Vec<Value> = (0..inputs.len())
        .map(|index| {
            let vector = embedding_vector(index, dimensions);
            let embedding = if base64 {
                use base64::Engine as _;
                let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({ "object": "embedding", "index": index, "embedding": embedding })
        })
        .collect();
    let prompt_tokens: usize = inputs.iter().sum();
    ResponseTemplate::new(200).set_body_json(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": { "prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens },
    }))
}

// ---------------------------------------------------------------------------------------
// `/responses`: the OpenAI Responses API.

/// The non-streamed body of the research fixture (`req3`).
const RESPONSES_CREATE: &str = include_str!("../../tests/fixtures/responses_create.json");
/// The SSE body of the research fixture (`req5`).
const RESPONSES_STREAM: &str = include_str!("../../tests/fixtures/responses_stream.sse");

struct ResponsesResponder;

impl Respond for ResponsesResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let model = body["model"].as_str().unwrap_or("gpt-4o-mini").to_owned();
        if model.contains("error-") {
            return respond_to(&body); // the same API errors as `/chat/completions`
        }
        let delay = if model.contains("slow") {
            Duration::from_secs(3)
        } else {
            Duration::ZERO
        };
        let template = if body["stream"] == json!(true) {
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(responses_sse(&model))
        } else {
            ResponseTemplate::new(200).set_body_json(responses_create(&model, &body))
        };
        template.set_delay(delay)
    }
}

fn responses_create(model: &str, request: &Value) -> Value {
    let mut response: Value = serde_json::from_str(RESPONSES_CREATE).expect("fixture JSON");
    response["model"] = json!(model);
    if let Some(instructions) = request.get("instructions") {
        response["instructions"] = instructions.clone();
    }
    if request["tools"].as_array().is_some_and(|t| !t.is_empty()) {
        let input = request["input"].to_string();
        let city = if input.contains("Tokyo") {
            "Tokyo"
        } else {
            "Paris"
        };
        response["output"] = json!([{
            "type": "function_call", "id": "fc_mock_1", "call_id": "call_mock_weather",
            "name": "get_weather", "arguments": json!({ "location": city }).to_string(),
            "status": "completed"
        }]);
        response["tools"] = request["tools"].clone();
    }
    response
}

fn responses_sse(model: &str) -> String {
    let events: Vec<String> = RESPONSES_STREAM
        .replace("gpt-4o-mini", model)
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let mut out = String::new();
    for (i, event) in events.iter().enumerate() {
        if i == 6 && model.contains("truncated") {
            return out;
        }
        if event.starts_with("event: response.completed") && model.contains("failed") {
            let data = event.split_once("data: ").map(|(_, d)| d).unwrap_or("{}");
            let mut failed: Value = serde_json::from_str(data).expect("fixture event JSON");
            failed["type"] = json!("response.failed");
            failed["response"]["status"] = json!("failed");
            failed["response"]["error"] =
                json!({ "code": "server_error", "message": "The model failed mid-answer." });
            out.push_str(&format!("event: response.failed\ndata: {failed}\n\n"));
            continue;
        }
        out.push_str(event);
        out.push_str("\n\n");
    }
    out
}
