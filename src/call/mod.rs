//! The traced-call engine and user spans: opening a span with its request attributes, finishing
//! it exactly once, and the trace-level setters. Knows nothing of any particular API.

pub(crate) mod span;
pub(crate) mod trace_info;
pub(crate) mod user_span;
