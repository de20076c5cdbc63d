//! The traced-call engine and user spans: opening a span with its request attributes, wiring
//! the capture sink, finishing exactly once, streams, and the trace-level setters. Knows no
//! particular API: operations plug in through [`operation::Operation`].

pub(crate) mod engine;
pub(crate) mod operation;
pub(crate) mod sink;
pub(crate) mod span;
pub(crate) mod stream;
pub(crate) mod trace_info;
pub(crate) mod user_span;
