//! The shape of a span on a destination other than MLflow: the OpenTelemetry GenAI
//! conventions' shape. MLflow's own route keeps MLflow Python's exact shape.
//!
//! MLflow Python's autolog records every request parameter of an LLM call as a bare
//! attribute (`model`, `temperature`, `max_tokens`, `stream`, `tools`, ...). The conventions
//! have no such keys (each duplicates a `gen_ai.request.*` one) and expect `openai.*` only
//! when the provider is OpenAI; a validator (Weaver `registry live-check`) flags both. So on
//! other destinations an LLM call span loses them; everything else (`gen_ai.*`, `mlflow.*`,
//! user spans and their fields) is left as it is.

use opentelemetry_sdk::trace::SpanData;

use crate::vocab::semconv::{gen_ai, mlflow, openai as oai};

/// Rewrites an LLM call span (one the engine made: it has `mlflow.llm.provider`) into the
/// conventions' shape; any other span is left alone.
pub(crate) fn to_semantic_conventions(span: &mut SpanData) {
    let Some(provider) = super::attribute(&span.attributes, mlflow::LLM_PROVIDER) else {
        return;
    };
    let openai = provider.as_str() == gen_ai::PROVIDER_OPENAI;
    span.attributes.retain(|kv| {
        let key = kv.key.as_str();
        let bare = !key.contains('.');
        let foreign = !openai && key.starts_with(oai::NAMESPACE);
        !bare && !foreign
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlflow::metadata::test_span;
    use crate::vocab::semconv::openai as oai;
    use opentelemetry::KeyValue;

    fn keys(span: &SpanData) -> Vec<&str> {
        span.attributes.iter().map(|kv| kv.key.as_str()).collect()
    }

    fn call_span(provider: &str) -> SpanData {
        test_span(
            1,
            2,
            1,
            vec![
                KeyValue::new(mlflow::LLM_PROVIDER, provider.to_owned()),
                KeyValue::new(gen_ai::REQUEST_MODEL, "m"),
                KeyValue::new("model", "m"),
                KeyValue::new("temperature", 0.1),
                KeyValue::new(oai::RESPONSE_SYSTEM_FINGERPRINT, "fp"),
            ],
        )
    }

    #[test]
    fn call_spans_lose_bare_keys_and_foreign_openai_keys() {
        let mut deepseek = call_span("deepseek");
        to_semantic_conventions(&mut deepseek);
        assert_eq!(
            keys(&deepseek),
            [mlflow::LLM_PROVIDER, gen_ai::REQUEST_MODEL]
        );
        let mut openai = call_span("openai");
        to_semantic_conventions(&mut openai);
        assert_eq!(
            keys(&openai),
            [
                mlflow::LLM_PROVIDER,
                gen_ai::REQUEST_MODEL,
                oai::RESPONSE_SYSTEM_FINGERPRINT
            ]
        );
    }

    #[test]
    fn user_spans_keep_their_fields() {
        let mut user = test_span(1, 1, 0, vec![KeyValue::new("user_id", "42")]);
        to_semantic_conventions(&mut user);
        assert_eq!(keys(&user), ["user_id"]);
    }
}
