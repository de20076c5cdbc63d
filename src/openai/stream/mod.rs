//! Stream aggregates: each streamed operation's response rebuilt from its events.

pub(crate) mod chat;
pub(crate) mod responses;
