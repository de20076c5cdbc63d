//! What a traced `embeddings().create()` records, checked on the exported span: one
//! `Embeddings` span of type `EMBEDDING`, usage, and outputs without the vectors, while the
//! caller gets async-openai's response untouched.

mod common;

use async_openai::types::embeddings::{CreateEmbeddingRequestArgs, EncodingFormat};
use async_openai::Client;
use base64::Engine as _;
use common::mock_deepseek::{embedding_vector, EMBEDDING_DIMENSIONS};
use common::*;
use mlflow_tracing::semconv::{gen_ai, mlflow, otel};
use mlflow_tracing::testing::TestPipeline;
use mlflow_tracing::OpenAIClientExt;
use serde_json::json;

const MODEL: &str = "text-embedding-3-small";

#[tokio::test]
async fn embeddings_call_is_one_embedding_span_without_vectors() {
    let kit = TestPipeline::new();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    let request = CreateEmbeddingRequestArgs::default()
        .model(MODEL)
        .input(["hello world", "second text"])
        .build()
        .unwrap();
    let response = kit
        .run(client.embeddings().create(request))
        .await
        .expect("mock answers");

    // The caller's response is async-openai's, full vectors included.
    assert_eq!(response.data.len(), 2);
    for (i, item) in response.data.iter().enumerate() {
        assert_eq!(item.index as usize, i);
        assert_eq!(item.embedding, embedding_vector(i, EMBEDDING_DIMENSIONS));
    }
    assert_eq!(
        (response.usage.prompt_tokens, response.usage.total_tokens),
        (4, 4)
    );

    let trace = kit.trace();
    assert_eq!(trace.spans.len(), 1);
    let span = &trace.spans[0];
    assert_eq!(span.name, "Embeddings");
    assert_eq!(span.status, "OK");
    assert_eq!(span.parent_id, None, "a root span");
    assert_eq!(span.span_type(), Some("EMBEDDING"));
    assert_eq!(trace.info.tags["mlflow.traceName"], "Embeddings");
    assert_eq!(span.attribute(mlflow::MESSAGE_FORMAT), None);
    assert_eq!(span.attribute(mlflow::LLM_MODEL), Some(&json!(MODEL)));
    assert_eq!(span.attribute(mlflow::LLM_PROVIDER), Some(&json!("openai")));
    assert_eq!(span.attribute(mlflow::SPAN_LOG_LEVEL), Some(&json!(20)));
    assert_eq!(
        span.inputs(),
        Some(&json!({"model": MODEL, "input": ["hello world", "second text"]}))
    );
    // Every parameter but `input` is a bare attribute.
    assert_eq!(span.attribute("model"), Some(&json!(MODEL)));
    assert_eq!(span.attribute("input"), None);
    // Outputs: the response with each vector replaced by its size.
    assert_eq!(
        span.outputs(),
        Some(&json!({
            "object": "list",
            "model": MODEL,
            "data": [
                {"object": "embedding", "index": 0, "dimensions": EMBEDDING_DIMENSIONS},
                {"object": "embedding", "index": 1, "dimensions": EMBEDDING_DIMENSIONS}
            ],
            "usage": {"prompt_tokens": 4, "total_tokens": 4}
        }))
    );
    let outputs_text = span.outputs().unwrap().to_string();
    assert!(outputs_text.len() < 300, "{outputs_text}");
    // Usage, on the span and summed into the trace.
    let usage = span.token_usage().expect("span token usage");
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (4, 0, 4)
    );
    assert_eq!(trace.info.token_usage.map(|u| u.total_tokens), Some(4));
    assert_eq!(span.attribute(gen_ai::USAGE_INPUT_TOKENS), Some(&json!(4)));
    assert_eq!(span.attribute(gen_ai::USAGE_OUTPUT_TOKENS), None);
    // GenAI vocabulary.
    assert_eq!(
        span.attribute(gen_ai::OPERATION_NAME),
        Some(&json!("embeddings"))
    );
    assert_eq!(
        span.attribute(gen_ai::PROVIDER_NAME),
        Some(&json!("openai"))
    );
    assert_eq!(span.attribute(gen_ai::REQUEST_MODEL), Some(&json!(MODEL)));
    assert_eq!(span.attribute(gen_ai::RESPONSE_MODEL), Some(&json!(MODEL)));
    assert_eq!(span.attribute(gen_ai::REQUEST_ENCODING_FORMATS), None);
    assert_eq!(
        span.attribute(otel::SERVER_ADDRESS),
        Some(&json!("127.0.0.1"))
    );

    // The request carried the span's traceparent.
    let requests = mock.requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), "/embeddings");
    let traceparent = requests[0].headers["traceparent"].to_str().unwrap();
    let trace_hex = trace.info.trace_id.trim_start_matches("tr-");
    assert_eq!(traceparent, format!("00-{trace_hex}-{}-01", span.span_id));
}

#[tokio::test]
async fn base64_embeddings_record_decoded_dimensions() {
    let kit = TestPipeline::new();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    let request = CreateEmbeddingRequestArgs::default()
        .model(MODEL)
        .input("hello world")
        .encoding_format(EncodingFormat::Base64)
        .dimensions(8u32)
        .build()
        .unwrap();
    let response = kit
        .run(client.embeddings().create_base64(request))
        .await
        .expect("mock answers");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&response.data[0].embedding.0)
        .unwrap();
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(values, embedding_vector(0, 8));

    let trace = kit.trace();
    let span = &trace.spans[0];
    assert_eq!(span.name, "Embeddings");
    assert_eq!(span.span_type(), Some("EMBEDDING"));
    assert_eq!(
        span.outputs().unwrap()["data"],
        json!([{"object": "embedding", "index": 0, "dimensions": 8}])
    );
    assert_eq!(span.attribute("encoding_format"), Some(&json!("base64")));
    assert_eq!(span.attribute("dimensions"), Some(&json!(8)));
    assert_eq!(
        span.attribute(gen_ai::REQUEST_ENCODING_FORMATS),
        Some(&json!(["base64"]))
    );
    assert_eq!(
        span.attribute(gen_ai::EMBEDDINGS_DIMENSION_COUNT),
        Some(&json!(8))
    );
    assert_eq!(span.token_usage().unwrap().input_tokens, 2);
}

#[tokio::test]
async fn typed_response_is_summarized_without_capture() {
    let kit = TestPipeline::new();
    let mock = MockDeepSeek::start().await;
    // `.traced()`: no capture layer, the span is built from async-openai's typed response.
    let client = Client::with_config(config(&mock)).traced();
    let request = CreateEmbeddingRequestArgs::default()
        .model(MODEL)
        .input(vec![vec![1u32, 2, 3]])
        .dimensions(16u32)
        .build()
        .unwrap();
    let response = kit.run(client.embeddings().create(request)).await.unwrap();
    assert_eq!(response.data[0].embedding, embedding_vector(0, 16));

    let span = &kit.trace().spans[0];
    assert_eq!(
        span.outputs(),
        Some(&json!({
            "object": "list",
            "model": MODEL,
            "data": [{"object": "embedding", "index": 0, "dimensions": 16}],
            "usage": {"prompt_tokens": 3, "total_tokens": 3}
        }))
    );
    assert_eq!(span.token_usage().unwrap().total_tokens, 3);
}

#[tokio::test]
async fn failed_embeddings_call_is_an_error_span() {
    let kit = TestPipeline::new();
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    let request = CreateEmbeddingRequestArgs::default()
        .model("text-embedding-error-401")
        .input("hello")
        .build()
        .unwrap();
    let error = kit
        .run(client.embeddings().create(request))
        .await
        .expect_err("the mock refuses");
    assert!(
        error.to_string().contains("Authentication Fails"),
        "{error}"
    );

    let span = &kit.trace().spans[0];
    assert_eq!(span.name, "Embeddings");
    assert_eq!(span.status, "ERROR");
    assert_eq!(span.span_type(), Some("EMBEDDING"));
    assert_eq!(
        span.attribute(otel::ERROR_TYPE),
        Some(&json!("AuthenticationError"))
    );
    assert_eq!(span.outputs(), None);
    assert_eq!(span.token_usage(), None);
    assert!(span.events.iter().any(|e| e.name == otel::EXCEPTION_EVENT));
}
