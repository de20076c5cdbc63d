//! MLflow's REST API: experiment lookup, trace metadata, and reading traces back.

pub(crate) mod metadata;
pub(crate) mod rest;
pub(crate) mod trace;
