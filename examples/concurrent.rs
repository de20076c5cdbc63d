//! The seed's "Async" support made visible: several DeepSeek chat calls and a stream in
//! flight at once, all under one AGENT span, all in one trace. Two calls run in tasks started
//! with `mlflow_tracing::spawn` (which keeps the current span and subscriber), two more and a
//! stream run side by side with `tokio::join!`. The trace is then read back (from MLflow when
//! `MLFLOW_TRACKING_URI` is set, else from the spans kept in memory) and its span tree
//! printed; the program fails if any LLM span is not a child of the AGENT span.
//!
//! ```sh
//! cargo run --example concurrent                                   # offline mock
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo run --example concurrent   # trace in MLflow
//! DEEPSEEK_API_KEY=sk-... cargo run --example concurrent           # the real DeepSeek API
//! ```
//! `DEEPSEEK_BASE_URL` and `DEEPSEEK_MODEL` override the endpoint and the model.

mod support;

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use futures::StreamExt;
use mlflow_tracing::{trace, SpanType, Trace, TracedClient};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Asked in spawned tasks, then with `tokio::join!`, the last one streamed.
const QUESTIONS: [&str; 5] = [
    "What is the capital of France? Answer in one sentence.",
    "What is the capital of Japan? Answer in one sentence.",
    "What is the capital of Italy? Answer in one sentence.",
    "What is the capital of Spain? Answer in one sentence.",
    "What is the capital of Germany? Answer in one sentence.",
];

fn ask(model: &str, question: &str) -> Result<CreateChatCompletionRequest, BoxError> {
    Ok(CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([ChatCompletionRequestUserMessage::from(question).into()])
        .max_tokens(100u32)
        .build()?)
}

/// One plain chat call (a `Completions` span under whatever span is current).
async fn answer(
    client: &TracedClient<OpenAIConfig>,
    model: &str,
    question: &str,
) -> Result<String, BoxError> {
    let response = client.chat().create(ask(model, question)?).await?;
    Ok(response
        .choices
        .first()
        .and_then(|c| c.message.content.clone())
        .unwrap_or_default())
}

/// One streamed chat call, read to the end (its `Completions` span ends with the stream).
async fn stream_answer(
    client: &TracedClient<OpenAIConfig>,
    model: &str,
    question: &str,
) -> Result<String, BoxError> {
    let mut stream = client.chat().create_stream(ask(model, question)?).await?;
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        for choice in &chunk?.choices {
            if let Some(piece) = &choice.delta.content {
                text.push_str(piece);
            }
        }
    }
    Ok(text)
}

/// The parent: an AGENT span with all five LLM calls in flight under it at once.
#[trace(span_type = SpanType::Agent, skip(client, model))]
async fn ask_all(
    client: &TracedClient<OpenAIConfig>,
    model: &str,
    questions: &[&str],
) -> Result<Vec<String>, BoxError> {
    // Two calls on other tokio tasks: `mlflow_tracing::spawn` carries this span along (with a
    // plain `tokio::spawn` each call would start a trace of its own).
    let spawned: Vec<_> = questions[..2]
        .iter()
        .map(|question| {
            let (client, model, question) =
                (client.clone(), model.to_owned(), (*question).to_owned());
            mlflow_tracing::spawn(async move { answer(&client, &model, &question).await })
        })
        .collect();
    // Two calls and a stream on this task, polled together.
    let (third, fourth, streamed) = tokio::join!(
        answer(client, model, questions[2]),
        answer(client, model, questions[3]),
        stream_answer(client, model, questions[4]),
    );
    let mut answers = Vec::new();
    for handle in spawned {
        answers.push(handle.await??);
    }
    answers.extend([third?, fourth?, streamed?]);
    Ok(answers)
}

/// The question a `Completions` span asked (its last user message).
fn question_of(span: &mlflow_tracing::TraceSpan) -> String {
    span.inputs()
        .and_then(|i| i["messages"].as_array())
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("?")
        .to_owned()
}

/// Prints the span tree (name, type, parent, timing) and returns what is wrong with it.
fn print_and_check(trace: &Trace, calls: usize) -> Vec<String> {
    let names = trace.display_names();
    let name_of = |id: &str| {
        trace
            .spans
            .iter()
            .zip(&names)
            .find(|(s, _)| s.span_id == id)
            .map_or_else(|| format!("<missing span {id}>"), |(_, n)| n.clone())
    };
    let t0 = trace.root().map_or(0, |r| r.start_time_ns);
    let ms = |ns: u64| ns.saturating_sub(t0) as f64 / 1e6;
    println!(
        "\nspan tree of {} ({} spans):",
        trace.info.trace_id,
        trace.spans.len()
    );
    for (span, name) in trace.spans.iter().zip(&names) {
        let kind = span.span_type().unwrap_or("?");
        let timing = format!(
            "{:7.1} ms .. {:7.1} ms",
            ms(span.start_time_ns),
            ms(span.end_time_ns)
        );
        match &span.parent_id {
            None => println!("  {name} [{kind}]  {timing}  (root)"),
            Some(parent) => {
                let streamed = span.inputs().is_some_and(|i| i["stream"] == true);
                println!(
                    "    {name} [{kind}]  {timing}  parent {}{}  {:?}",
                    name_of(parent),
                    if streamed { ", streamed" } else { "" },
                    question_of(span),
                );
            }
        }
    }

    let mut problems = Vec::new();
    let roots: Vec<_> = trace
        .spans
        .iter()
        .filter(|s| s.parent_id.is_none())
        .collect();
    let [root] = roots.as_slice() else {
        problems.push(format!("{} root spans, expected 1", roots.len()));
        return problems;
    };
    if root.name != "ask_all" || root.span_type() != Some("AGENT") {
        problems.push(format!(
            "root is {} [{:?}], expected ask_all [AGENT]",
            root.name,
            root.span_type()
        ));
    }
    let llm: Vec<_> = trace.spans_named("Completions").collect();
    if llm.len() != calls {
        problems.push(format!("{} Completions spans, expected {calls}", llm.len()));
    }
    if trace.spans.len() != calls + 1 {
        problems.push(format!(
            "{} spans, expected {}",
            trace.spans.len(),
            calls + 1
        ));
    }
    for span in &llm {
        if span.parent_id.as_deref() != Some(root.span_id.as_str()) {
            problems.push(format!(
                "Completions span {} is not a child of ask_all",
                span.span_id
            ));
        }
        if span.span_type() != Some("CHAT_MODEL") {
            problems.push(format!(
                "Completions span {} has type {:?}",
                span.span_id,
                span.span_type()
            ));
        }
        if span.end_time_ns > root.end_time_ns {
            problems.push(format!(
                "Completions span {} ends after ask_all",
                span.span_id
            ));
        }
    }
    let streamed = llm
        .iter()
        .filter(|s| s.inputs().is_some_and(|i| i["stream"] == true))
        .count();
    if streamed != 1 {
        problems.push(format!("{streamed} streamed Completions spans, expected 1"));
    }
    // How many LLM calls were in flight together (a sweep over start/end times).
    let mut edges: Vec<(u64, i32)> = llm
        .iter()
        .flat_map(|s| [(s.start_time_ns, 1), (s.end_time_ns, -1)])
        .collect();
    edges.sort_by_key(|&(t, d)| (t, d)); // an end before a start at the same instant
    let (mut now, mut most) = (0, 0);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    println!(
        "at most {most} of the {} LLM calls were in flight at once",
        llm.len()
    );
    problems
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let guard = mlflow_tracing::init(support::telemetry())?;
    let deepseek = support::deepseek().await;

    let answers = ask_all(&deepseek.client, &deepseek.model, &QUESTIONS).await?;
    let how = ["spawned", "spawned", "joined", "joined", "joined, streamed"];
    for ((question, answer), how) in QUESTIONS.iter().zip(&answers).zip(how) {
        println!("[{how}] {question}\n    {answer}");
    }

    // Read the trace back and check its shape: one trace, every LLM span under ask_all.
    let Some(trace_id) = mlflow_tracing::last_trace_id() else {
        if !mlflow_tracing::is_enabled() {
            support::report(guard);
            return Ok(());
        }
        return Err("no trace was recorded".into());
    };
    let trace = match mlflow_tracing::get_trace(&trace_id).await {
        Ok(trace) => trace,
        // Telemetry trouble never fails the app, but then the tree cannot be checked.
        Err(e) => {
            eprintln!("span tree not checked: {e}");
            support::report(guard);
            return Ok(());
        }
    };
    let problems = print_and_check(&trace, QUESTIONS.len());
    for problem in &problems {
        eprintln!("wrong span tree: {problem}");
    }
    if problems.is_empty() {
        println!(
            "span tree OK: one trace, {} Completions spans, all children of ask_all",
            QUESTIONS.len()
        );
    }
    support::report(guard);
    if !problems.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
