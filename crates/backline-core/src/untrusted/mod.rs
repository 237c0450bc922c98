//! Text that comes from outside (repository files, advisory databases, GitLab users) made safe
//! for where it goes: a terminal or a log line ([`terminal`]), or GitLab Markdown in an MR title,
//! description, note or commit message ([`markdown`]). Pure functions.

pub mod markdown;
pub mod terminal;

pub use markdown::{json_in_comment, markdown_inline, markdown_prose};
pub use terminal::printable;
