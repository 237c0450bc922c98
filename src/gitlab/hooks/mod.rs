//! GitLab webhook payloads: classification (cheap, on the intake path) and typed models (parsed by
//! the workers).

pub mod common;
pub mod event;
pub mod kind;
pub mod merge_request;
pub mod note;
pub mod pipeline;
pub mod push;
mod string_enum;
pub mod system;
pub mod time;

#[cfg(test)]
mod tests;

pub use event::{parse, HookEvent, HookParseError};
pub use kind::{classify, decide, Classification, ClassifyError, Decision, EventKind};
