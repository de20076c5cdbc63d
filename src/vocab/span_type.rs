//! MLflow's span-type vocabulary.

use std::borrow::Cow;
use std::fmt;

/// The kind of work a span represents, as MLflow's UI, search and metrics understand it.
///
/// Written to `mlflow.spanType` as a plain string (`CHAT_MODEL`, never `"CHAT_MODEL"`).
/// [`SpanType::Custom`] carries any other string, which MLflow keeps as-is.
///
/// ```
/// use mlflow_tracing::SpanType;
/// assert_eq!(SpanType::Tool.as_str(), "TOOL");
/// assert_eq!("AGENT".parse::<SpanType>().unwrap(), SpanType::Agent);
/// assert_eq!(SpanType::from("MY_STEP").as_str(), "MY_STEP");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SpanType {
    /// A completion-style LLM call.
    Llm,
    /// A chat model call (what traced chat completions are).
    ChatModel,
    /// A chain of steps.
    Chain,
    /// An agent run.
    Agent,
    /// A tool (function) execution.
    Tool,
    /// A retrieval step.
    Retriever,
    /// An embedding call.
    Embedding,
    /// A reranking step.
    Reranker,
    /// A parsing step.
    Parser,
    /// A memory read or write.
    Memory,
    /// Anything else.
    #[default]
    Unknown,
    /// A type outside MLflow's built-in vocabulary.
    Custom(Cow<'static, str>),
}

impl SpanType {
    /// Every built-in type, in MLflow's order.
    pub const BUILT_IN: [SpanType; 11] = [
        SpanType::Llm,
        SpanType::ChatModel,
        SpanType::Chain,
        SpanType::Agent,
        SpanType::Tool,
        SpanType::Retriever,
        SpanType::Embedding,
        SpanType::Reranker,
        SpanType::Parser,
        SpanType::Memory,
        SpanType::Unknown,
    ];

    /// The string MLflow stores, e.g. `CHAT_MODEL`.
    pub fn as_str(&self) -> &str {
        match self {
            SpanType::Llm => "LLM",
            SpanType::ChatModel => "CHAT_MODEL",
            SpanType::Chain => "CHAIN",
            SpanType::Agent => "AGENT",
            SpanType::Tool => "TOOL",
            SpanType::Retriever => "RETRIEVER",
            SpanType::Embedding => "EMBEDDING",
            SpanType::Reranker => "RERANKER",
            SpanType::Parser => "PARSER",
            SpanType::Memory => "MEMORY",
            SpanType::Unknown => "UNKNOWN",
            SpanType::Custom(s) => s,
        }
    }
}

impl fmt::Display for SpanType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for SpanType {
    fn from(s: &str) -> Self {
        SpanType::BUILT_IN
            .into_iter()
            .find(|t| t.as_str() == s)
            .unwrap_or_else(|| SpanType::Custom(Cow::Owned(s.to_owned())))
    }
}

impl From<String> for SpanType {
    fn from(s: String) -> Self {
        SpanType::from(s.as_str())
    }
}

impl std::str::FromStr for SpanType {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SpanType::from(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_built_in() {
        for t in SpanType::BUILT_IN {
            assert_eq!(SpanType::from(t.as_str()), t);
            assert!(!t.as_str().contains('"'));
        }
        assert_eq!(
            SpanType::from("RERANKER").to_string(),
            "RERANKER".to_string()
        );
        assert_eq!(
            SpanType::from("custom_kind"),
            SpanType::Custom("custom_kind".into())
        );
    }
}
