//! What a traced `create()` records, checked on the exported span.

mod common;

use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, ChatCompletionTool, ChatCompletionTools,
    CreateChatCompletionRequestArgs, FunctionObjectArgs,
};
use async_openai::Client;
use common::*;
use mlflow_tracing::semconv::{deepseek, gen_ai, mlflow, otel};
use opentelemetry::trace::{SpanId, Status};
use opentelemetry::Value;
use serde_json::json;
use tracing::Instrument;

#[tokio::test]
async fn seed_basic_call_is_one_chat_model_span() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let response = client(&mock)
        .chat()
        .create(seed_request("deepseek-chat"))
        .await
        .expect("mock answers");
    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some("The capital of France is Paris.")
    );

    let span = rec.one("Completions");
    assert_eq!(span.status, Status::Ok);
    assert_eq!(span.parent_span_id, SpanId::INVALID, "a root span");
    assert_eq!(attr_str(&span, mlflow::SPAN_TYPE), "CHAT_MODEL");
    assert_eq!(attr_str(&span, mlflow::MESSAGE_FORMAT), "openai");
    assert_eq!(attr_str(&span, mlflow::LLM_MODEL), "deepseek-chat");
    assert_eq!(attr_str(&span, mlflow::LLM_PROVIDER), "deepseek");
    assert_eq!(attr_i64(&span, mlflow::SPAN_LOG_LEVEL), 20);
    assert_eq!(attr_str(&span, mlflow::TRACE_NAME), "Completions");
    assert_eq!(
        attr_json(&span, mlflow::SPAN_INPUTS),
        json!({
            "model": "deepseek-chat",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is the capital of France?"}
            ],
            "temperature": 0.1,
            "max_tokens": 100
        })
    );
    let outputs = attr_json(&span, mlflow::SPAN_OUTPUTS);
    assert_eq!(outputs["object"], "chat.completion");
    assert_eq!(
        outputs["choices"][0]["message"]["content"],
        "The capital of France is Paris."
    );
    assert_eq!(
        attr_json(&span, mlflow::CHAT_TOKEN_USAGE),
        json!({"input_tokens": 12, "output_tokens": 8, "total_tokens": 20,
               "cache_read_input_tokens": 4})
    );
    // Bare request parameters, typed as autolog records them.
    assert_eq!(attr_str(&span, "model"), "deepseek-chat");
    assert_eq!(attr(&span, "temperature"), Some(&Value::F64(0.1)));
    assert_eq!(attr(&span, "max_tokens"), Some(&Value::I64(100)));
    // OpenTelemetry GenAI vocabulary on the same span.
    assert_eq!(attr_str(&span, gen_ai::OPERATION_NAME), "chat");
    assert_eq!(attr_str(&span, gen_ai::PROVIDER_NAME), "deepseek");
    assert_eq!(attr_str(&span, gen_ai::REQUEST_MODEL), "deepseek-chat");
    assert_eq!(
        attr(&span, gen_ai::REQUEST_TEMPERATURE),
        Some(&Value::F64(0.1))
    );
    assert_eq!(attr_i64(&span, gen_ai::REQUEST_MAX_TOKENS), 100);
    assert_eq!(attr_str(&span, gen_ai::RESPONSE_ID), "chatcmpl-mock-1");
    assert_eq!(attr_str(&span, gen_ai::RESPONSE_MODEL), "deepseek-chat");
    assert_eq!(attr_i64(&span, gen_ai::USAGE_INPUT_TOKENS), 12);
    assert_eq!(attr_i64(&span, gen_ai::USAGE_OUTPUT_TOKENS), 8);
    assert_eq!(
        attr(&span, gen_ai::RESPONSE_FINISH_REASONS),
        Some(&Value::Array(
            vec![opentelemetry::StringValue::from("stop")].into()
        ))
    );
    assert_eq!(attr_str(&span, otel::SERVER_ADDRESS), "127.0.0.1");
}

#[tokio::test]
async fn traced_response_is_what_async_openai_returns() {
    let _rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let traced = client(&mock)
        .chat()
        .create(seed_request("deepseek-reasoner"))
        .await
        .unwrap();
    let plain = Client::with_config(config(&mock))
        .chat()
        .create(seed_request("deepseek-reasoner"))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&traced).unwrap(),
        serde_json::to_value(&plain).unwrap()
    );
}

#[tokio::test]
async fn deepseek_extras_dropped_by_typed_structs_are_recorded() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    client(&mock)
        .chat()
        .create(seed_request("deepseek-reasoner"))
        .await
        .unwrap();
    let span = rec.one("Completions");
    assert_eq!(
        attr_str(&span, deepseek::REASONING_CONTENT),
        "The user asks about France. Its capital is Paris."
    );
    assert_eq!(attr_i64(&span, deepseek::USAGE_PROMPT_CACHE_HIT_TOKENS), 4);
    assert_eq!(attr_i64(&span, deepseek::USAGE_PROMPT_CACHE_MISS_TOKENS), 8);
    assert_eq!(attr_i64(&span, gen_ai::USAGE_CACHE_READ_INPUT_TOKENS), 4);
    assert_eq!(attr_i64(&span, gen_ai::USAGE_REASONING_OUTPUT_TOKENS), 5);
    // The raw JSON is the output, so reasoning_content sits in the message like autolog's.
    let outputs = attr_json(&span, mlflow::SPAN_OUTPUTS);
    assert_eq!(
        outputs["choices"][0]["message"]["reasoning_content"],
        "The user asks about France. Its capital is Paris."
    );
    assert_eq!(outputs["usage"]["prompt_cache_hit_tokens"], 4);
}

#[tokio::test]
async fn without_capture_the_typed_response_is_recorded() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    mlflow_tracing::TracedClient::new(Client::with_config(config(&mock)))
        .chat()
        .create(seed_request("deepseek-reasoner"))
        .await
        .unwrap();
    let span = rec.one("Completions");
    assert_eq!(attr_i64(&span, gen_ai::USAGE_INPUT_TOKENS), 12);
    assert_eq!(attr(&span, deepseek::REASONING_CONTENT), None);
    assert_eq!(
        attr_json(&span, mlflow::CHAT_TOKEN_USAGE),
        json!({"input_tokens": 12, "output_tokens": 8, "total_tokens": 20})
    );
}

#[tokio::test]
async fn tool_definitions_and_tool_calls() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let parameters = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let tool = ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObjectArgs::default()
            .name("get_weather")
            .parameters(parameters.clone())
            .build()
            .unwrap(),
    });
    let request = CreateChatCompletionRequestArgs::default()
        .model("deepseek-chat")
        .messages([ChatCompletionRequestUserMessage::from(
            "What's the weather like in Paris today?",
        )
        .into()])
        .tools(vec![tool])
        .build()
        .unwrap();
    client(&mock).chat().create(request).await.unwrap();

    let span = rec.one("Completions");
    let tools = json!([{"type": "function",
        "function": {"name": "get_weather", "parameters": parameters}}]);
    assert_eq!(attr_json(&span, mlflow::CHAT_TOOLS), tools);
    assert_eq!(attr_json(&span, "tools"), tools);
    let outputs = attr_json(&span, mlflow::SPAN_OUTPUTS);
    let call = &outputs["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], r#"{"city":"Paris"}"#);
    assert_eq!(
        attr(&span, gen_ai::RESPONSE_FINISH_REASONS),
        Some(&Value::Array(
            vec![opentelemetry::StringValue::from("tool_calls")].into()
        ))
    );
    assert_eq!(
        attr_json(&span, mlflow::CHAT_TOKEN_USAGE)["total_tokens"],
        59
    );
}

#[tokio::test]
async fn nests_under_the_current_span_and_propagates_traceparent() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    async {
        client
            .chat()
            .create(ask("deepseek-chat", "hi"))
            .await
            .unwrap();
    }
    .instrument(tracing::info_span!("run_agent"))
    .await;

    let parent = rec.one("run_agent");
    let chat = rec.one("Completions");
    assert_eq!(chat.parent_span_id, parent.span_context.span_id());
    assert_eq!(chat.span_context.trace_id(), parent.span_context.trace_id());
    // Only the root names the trace.
    assert_eq!(attr(&chat, mlflow::TRACE_NAME), None);
    assert_eq!(attr_str(&parent, mlflow::TRACE_NAME), "run_agent");

    let requests = mock.requests().await;
    let traceparent = requests[0]
        .headers
        .get("traceparent")
        .expect("traceparent header")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        traceparent,
        format!(
            "00-{}-{}-01",
            chat.span_context.trace_id(),
            chat.span_context.span_id()
        )
    );
}

#[tracing::instrument(skip(client))]
async fn answer_question(
    client: &mlflow_tracing::TracedClient<async_openai::config::OpenAIConfig>,
    question: &str,
) -> String {
    let response = client
        .chat()
        .create(ask("deepseek-chat", question))
        .await
        .unwrap();
    response.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default()
}

#[tokio::test]
async fn spans_of_the_users_own_instrumented_functions_share_the_trace() {
    let rec = Recorder::install();
    let mock = MockDeepSeek::start().await;
    let answer = answer_question(&client(&mock), "What is the capital of France?").await;
    assert_eq!(answer, "The capital of France is Paris.");
    let step = rec.one("answer_question");
    let chat = rec.one("Completions");
    assert_eq!(chat.parent_span_id, step.span_context.span_id());
    assert_eq!(chat.span_context.trace_id(), step.span_context.trace_id());
    // The user's span is the root, so it names the trace.
    assert_eq!(attr_str(&step, mlflow::TRACE_NAME), "answer_question");
}
