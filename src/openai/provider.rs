//! Which provider serves a call (`gen_ai.provider.name` / `mlflow.llm.provider`), and the
//! server address of the API, with credentials removed.

use reqwest::Url;

/// Known OpenAI-compatible API hosts (suffix match) and their provider names.
const HOSTS: &[(&str, &str)] = &[
    ("api.deepseek.com", "deepseek"),
    ("api.openai.com", "openai"),
    ("openai.azure.com", "azure.ai.openai"),
    ("api.groq.com", "groq"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.x.ai", "x_ai"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("api.anthropic.com", "anthropic"),
    ("api.together.xyz", "together_ai"),
    ("api.together.ai", "together_ai"),
    ("openrouter.ai", "openrouter"),
    ("api.fireworks.ai", "fireworks_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("api.cerebras.ai", "cerebras"),
    ("dashscope.aliyuncs.com", "dashscope"),
    ("dashscope-intl.aliyuncs.com", "dashscope"),
    ("api.moonshot.cn", "moonshot"),
    ("api.moonshot.ai", "moonshot"),
    ("api.siliconflow.cn", "siliconflow"),
    ("open.bigmodel.cn", "zhipu"),
    ("api.deepinfra.com", "deepinfra"),
];

/// Model-name prefixes used when the host says nothing (a proxy, a local server, a mock).
const MODEL_PREFIXES: &[(&str, &str)] = &[
    ("deepseek", "deepseek"),
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt", "openai"),
    ("claude", "anthropic"),
    ("gemini", "gcp.gemini"),
    ("mistral", "mistral_ai"),
    ("grok", "x_ai"),
    ("qwen", "dashscope"),
];

/// Provider used when neither the host nor the model is recognised: the wire protocol.
pub(crate) const FALLBACK_PROVIDER: &str = "openai";

/// Provider for an API base URL, when the host is a known one.
pub(crate) fn provider_from_base_url(api_base: &str) -> Option<&'static str> {
    let url = Url::parse(api_base).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    if url.port_or_known_default() == Some(11434) {
        return Some("ollama");
    }
    HOSTS
        .iter()
        .find(|(suffix, _)| host == *suffix || host.ends_with(&format!(".{suffix}")))
        .map(|(_, name)| *name)
}

/// Provider guessed from a model name (`deepseek-chat` → `deepseek`).
pub(crate) fn provider_from_model(model: &str) -> Option<&'static str> {
    let model = model.to_ascii_lowercase();
    let model = model.rsplit('/').next().unwrap_or(&model);
    MODEL_PREFIXES
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map(|(_, name)| *name)
}

/// `server.address` and `server.port` of an API base URL.
pub(crate) fn server_of(api_base: &str) -> Option<(String, Option<u16>)> {
    let url = Url::parse(api_base).ok()?;
    Some((url.host_str()?.to_owned(), url.port_or_known_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_map_to_providers() {
        assert_eq!(
            provider_from_base_url("https://api.deepseek.com"),
            Some("deepseek")
        );
        assert_eq!(
            provider_from_base_url("https://api.deepseek.com/v1"),
            Some("deepseek")
        );
        assert_eq!(
            provider_from_base_url("https://api.openai.com/v1"),
            Some("openai")
        );
        assert_eq!(
            provider_from_base_url("https://myres.openai.azure.com/openai"),
            Some("azure.ai.openai")
        );
        assert_eq!(
            provider_from_base_url("http://localhost:11434/v1"),
            Some("ollama")
        );
        assert_eq!(provider_from_base_url("http://127.0.0.1:8080/v1"), None);
        assert_eq!(provider_from_base_url("not a url"), None);
        // A look-alike host must not match.
        assert_eq!(
            provider_from_base_url("https://evilapi.deepseek.com.example"),
            None
        );
    }

    #[test]
    fn models_map_to_providers() {
        assert_eq!(provider_from_model("deepseek-chat"), Some("deepseek"));
        assert_eq!(provider_from_model("deepseek-reasoner"), Some("deepseek"));
        assert_eq!(provider_from_model("gpt-4o-mini"), Some("openai"));
        assert_eq!(
            provider_from_model("deepseek-ai/DeepSeek-V3"),
            Some("deepseek")
        );
        assert_eq!(provider_from_model("llama3"), None);
    }

    #[test]
    fn credentials_never_survive() {
        assert_eq!(
            server_of("https://user:pw@api.deepseek.com/v1"),
            Some(("api.deepseek.com".to_owned(), Some(443)))
        );
    }
}
