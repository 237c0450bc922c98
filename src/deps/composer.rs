//! TODO
use super::{Dependency, ParseError};
/// TODO
pub fn parse(_file: &str, _bytes: &[u8], _m: Option<&[u8]>) -> Result<Vec<Dependency>, ParseError> {
    Ok(vec![])
}
