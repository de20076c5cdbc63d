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

/// Where one API's `usage` object keeps each count.
struct UsageKeys {
    input: &'static str,
    output: &'static str,
    cached: (&'static str, &'static str),
    reasoning: (&'static str, &'static str),
}

/// Chat completions (and embeddings, which have only `prompt_tokens`).
const CHAT_KEYS: UsageKeys = UsageKeys {
    input: "prompt_tokens",
    output: "completion_tokens",
    cached: ("prompt_tokens_details", "cached_tokens"),
    reasoning: ("completion_tokens_details", "reasoning_tokens"),
};

/// The Responses API.
const RESPONSES_KEYS: UsageKeys = UsageKeys {
    input: "input_tokens",
    output: "output_tokens",
    cached: ("input_tokens_details", "cached_tokens"),
    reasoning: ("output_tokens_details", "reasoning_tokens"),
};

impl Usage {
    /// Reads a chat completion `usage` object; `None` when it is absent or has no token
    /// counts. DeepSeek's `prompt_cache_hit_tokens` stands in for a missing
    /// `prompt_tokens_details.cached_tokens`.
    pub(crate) fn from_json(usage: &Value) -> Option<Self> {
        let mut read = Self::read(usage, &CHAT_KEYS)?;
        let count = |key: &str| usage.get(key).and_then(Value::as_u64);
        read.deepseek_cache_hit = count("prompt_cache_hit_tokens");
        read.deepseek_cache_miss = count("prompt_cache_miss_tokens");
        read.cache_read = read.cache_read.or(read.deepseek_cache_hit);
        Some(read)
    }

    /// Reads a Responses API `usage` object (`input_tokens`, `output_tokens`, `total_tokens`,
    /// `input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`), from
    /// the raw JSON: async-openai's typed `ResponseUsage` requires the detail objects, which
    /// OpenAI-compatible servers often omit. `None` when it has no token counts.
    pub(crate) fn from_responses_json(usage: &Value) -> Option<Self> {
        Self::read(usage, &RESPONSES_KEYS)
    }

    /// The counts named by `keys`; the total computed when absent.
    fn read(usage: &Value, keys: &UsageKeys) -> Option<Self> {
        let count = |key: &str| usage.get(key).and_then(Value::as_u64);
        let nested = |(outer, key): (&str, &str)| {
            usage
                .get(outer)
                .and_then(|o| o.get(key))
                .and_then(Value::as_u64)
        };
        let input = count(keys.input);
        let output = count(keys.output);
        if input.is_none() && output.is_none() {
            return None;
        }
        let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
        Some(Self {
            input,
            output,
            total: count("total_tokens").unwrap_or(input + output),
            cache_read: nested(keys.cached),
            reasoning: nested(keys.reasoning),
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
