//! The vocabulary every other module speaks: attribute keys ([`semconv`]), span types, and the
//! shared value rules (JSON capping, URL redaction). Depends on nothing else in the crate.

pub(crate) mod json;
pub(crate) mod redact;
pub mod semconv;
pub(crate) mod span_type;
