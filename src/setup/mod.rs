//! Setup, the wiring: the per-pipeline state, the span processor, installing the subscriber,
//! and the guard. The settings it wires live in `config/`.

pub(crate) mod guard;
pub(crate) mod init;
pub(crate) mod pipeline;
pub(crate) mod processor;
pub(crate) mod traces;
