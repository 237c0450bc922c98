//! Placeholder replaced below.
pub fn markdown_inline(s: &str) -> String {
    s.to_string()
}
pub fn markdown_line(s: &str) -> String {
    s.to_string()
}
