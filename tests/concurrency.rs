//! Concurrent calls each get their own, correct span.

mod common;

use common::*;
use mlflow_tracing::semconv::mlflow;
use tracing::instrument::WithSubscriber;
use tracing::Instrument;

#[tokio::test]
async fn join_gives_each_call_its_own_span() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    let (a, b) = tokio::join!(
        client
            .chat()
            .create(ask("deepseek-chat", "What is the capital of France?")),
        client.chat().create(ask("deepseek-reasoner", "Say hello")),
    );
    assert!(a.is_ok() && b.is_ok());

    let spans = rec.named("Completions");
    assert_eq!(spans.len(), 2);
    for span in &spans {
        let inputs = attr_json(span, mlflow::SPAN_INPUTS);
        let outputs = attr_json(span, mlflow::SPAN_OUTPUTS);
        // Each span's output answers its own input.
        assert_eq!(inputs["model"], outputs["model"]);
        let question = inputs["messages"][0]["content"].as_str().unwrap();
        let answer = outputs["choices"][0]["message"]["content"]
            .as_str()
            .unwrap();
        if question.contains("France") {
            assert_eq!(answer, "The capital of France is Paris.");
        } else {
            assert_eq!(answer, "Hello from the mock DeepSeek server.");
        }
    }
    assert_ne!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id(),
        "two root calls are two traces"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_calls_nest_under_their_own_parents() {
    let rec = Recorder::detached();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let client = client.clone();
        let task = async move {
            let model = if i % 2 == 0 {
                "deepseek-chat"
            } else {
                "deepseek-reasoner"
            };
            async { client.chat().create(ask(model, "hi")).await.unwrap() }
                .instrument(tracing::info_span!("request", i))
                .await;
        }
        .with_subscriber(rec.dispatch());
        tasks.push(tokio::spawn(task));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let requests = rec.named("request");
    let chats = rec.named("Completions");
    assert_eq!((requests.len(), chats.len()), (8, 8));
    for chat in &chats {
        let parent = requests
            .iter()
            .find(|r| r.span_context.span_id() == chat.parent_span_id)
            .expect("each chat span has a request parent");
        assert_eq!(parent.span_context.trace_id(), chat.span_context.trace_id());
        let i = attr(parent, "i").unwrap().as_str().parse::<i64>().unwrap();
        let expected = if i % 2 == 0 {
            "deepseek-chat"
        } else {
            "deepseek-reasoner"
        };
        assert_eq!(attr_str(chat, mlflow::LLM_MODEL), expected);
    }
}
