//! Token usage of one call, read from the OpenAI `usage` object plus provider extras.

use opentelemetry::KeyValue;
use serde_json::Value;

use crate::vocab::semconv::{deepseek, gen_ai, mlflow};

/// Token counts of one call, from the OpenAI `usage` object plus provider extras.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Usage {
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub(crate) total: u64,
    /// `prompt_tokens_details.cached_tokens`, else DeepSeek's `prompt_cache_hit_tokens`.
    pub(crate) cache_read: Option<u64>,
    pub(crate) reasoning: Option<u64>,
    pub(crate) deepseek_cache_hit: Option<u64>,
    pub(crate) deepseek_cache_miss: Option<u64>,
}

impl Usage {
    /// Reads a `usage` object; `None` when it is absent or has no token counts.
    pub(crate) fn from_json(usage: &Value) -> Option<Self> {
        let count = |key: &str| usage.get(key).and_then(Value::as_u64);
        let nested = |outer: &str, key: &str| {
            usage
                .get(outer)
                .and_then(|o| o.get(key))
                .and_then(Value::as_u64)
        };
        let input = count("prompt_tokens");
        let output = count("completion_tokens");
        if input.is_none() && output.is_none() {
            return None;
        }
        let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
        let deepseek_cache_hit = count("prompt_cache_hit_tokens");
        Some(Self {
            input,
            output,
            total: count("total_tokens").unwrap_or(input + output),
            cache_read: nested("prompt_tokens_details", "cached_tokens").or(deepseek_cache_hit),
            reasoning: nested("completion_tokens_details", "reasoning_tokens"),
            deepseek_cache_hit,
            deepseek_cache_miss: count("prompt_cache_miss_tokens"),
        })
    }

    /// Reads a Responses API `usage` object (`input_tokens`, `output_tokens`, `total_tokens`,
    /// `input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`), from
    /// the raw JSON: async-openai's typed `ResponseUsage` requires the detail objects, which
    /// OpenAI-compatible servers often omit. `None` when it has no token counts.
    pub(crate) fn from_responses_json(usage: &Value) -> Option<Self> {
        let count = |key: &str| usage.get(key).and_then(Value::as_u64);
        let nested = |outer: &str, key: &str| {
            usage
                .get(outer)
                .and_then(|o| o.get(key))
                .and_then(Value::as_u64)
        };
        let input = count("input_tokens");
        let output = count("output_tokens");
        if input.is_none() && output.is_none() {
            return None;
        }
        let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
        Some(Self {
            input,
            output,
            total: count("total_tokens").unwrap_or(input + output),
            cache_read: nested("input_tokens_details", "cached_tokens"),
            reasoning: nested("output_tokens_details", "reasoning_tokens"),
            deepseek_cache_hit: None,
            deepseek_cache_miss: None,
        })
    }

    /// The `mlflow.chat.tokenUsage` JSON (always with `total_tokens`, which MLflow needs).
    pub(crate) fn mlflow_json(&self) -> String {
        use mlflow::usage::{CACHE_READ_INPUT_TOKENS, INPUT_TOKENS, OUTPUT_TOKENS, TOTAL_TOKENS};
        // Written by hand to keep MLflow's key order (serde_json's map would sort the keys).
        let mut json = format!(
            r#"{{"{INPUT_TOKENS}":{},"{OUTPUT_TOKENS}":{},"{TOTAL_TOKENS}":{}"#,
            self.input, self.output, self.total
        );
        if let Some(cached) = self.cache_read {
            json.push_str(&format!(r#","{CACHE_READ_INPUT_TOKENS}":{cached}"#));
        }
        json.push('}');
        json
    }

    pub(crate) fn attributes(&self, attrs: &mut Vec<KeyValue>) {
        attrs.push(KeyValue::new(mlflow::CHAT_TOKEN_USAGE, self.mlflow_json()));
        attrs.push(KeyValue::new(
            gen_ai::USAGE_INPUT_TOKENS,
            to_i64(self.input),
        ));
        attrs.push(KeyValue::new(
            gen_ai::USAGE_OUTPUT_TOKENS,
            to_i64(self.output),
        ));
        let optional = [
            (gen_ai::USAGE_CACHE_READ_INPUT_TOKENS, self.cache_read),
            (gen_ai::USAGE_REASONING_OUTPUT_TOKENS, self.reasoning),
            (
                deepseek::USAGE_PROMPT_CACHE_HIT_TOKENS,
                self.deepseek_cache_hit,
            ),
            (
                deepseek::USAGE_PROMPT_CACHE_MISS_TOKENS,
                self.deepseek_cache_miss,
            ),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                attrs.push(KeyValue::new(key, to_i64(v)));
            }
        }
    }
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
