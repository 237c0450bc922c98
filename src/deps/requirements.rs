//! TODO
use super::{Dependency, ParseError};
/// TODO
pub fn parse(
    _file: &str,
    _bytes: &[u8],
    _l: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<Dependency>, ParseError> {
    Ok(vec![])
}
