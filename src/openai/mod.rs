//! async-openai on the engine: the traced client, its API groups, the HTTP capture layer, and
//! provider detection.

pub(crate) mod capture;
pub(crate) mod chat;
pub(crate) mod client;
pub(crate) mod embeddings;
pub(crate) mod provider;
pub(crate) mod responses;
pub(crate) mod stream;
