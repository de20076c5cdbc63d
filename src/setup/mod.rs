//! Setup: configuration, the per-pipeline state, installing the subscriber, and the guard.

pub(crate) mod config;
pub(crate) mod guard;
pub(crate) mod init;
pub(crate) mod otlp;
pub(crate) mod pipeline;
pub(crate) mod processor;
pub(crate) mod traces;
