//! TODO
use super::{Dependency, ParseError};
/// TODO
#[derive(Default)]
pub struct DiscoveryRules;
/// TODO
pub fn discover(_p: &[String], _r: &DiscoveryRules) -> Vec<String> {
    vec![]
}
/// TODO
pub fn scan_dir(
    _root: &std::path::Path,
    _r: &DiscoveryRules,
) -> (Vec<(String, Vec<Dependency>)>, Vec<ParseError>) {
    (vec![], vec![])
}
