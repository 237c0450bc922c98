//! Small helpers shared by the parsers: text decoding, error positions, relative paths.

use super::ParseError;

/// A file's bytes as UTF-8: UTF-16 LE or BE with a byte order mark (what `pip freeze >
/// requirements.txt` writes in Windows PowerShell) is decoded, a UTF-8 byte order mark
/// dropped; anything else is returned as it is. Unpaired UTF-16 surrogates become U+FFFD.
pub fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let units = |big_endian: bool| {
        bytes[2..].chunks(2).map(move |c| match (c, big_endian) {
            ([a, b], false) => u16::from_le_bytes([*a, *b]),
            ([a, b], true) => u16::from_be_bytes([*a, *b]),
            // An odd trailing byte: not a code unit.
            _ => 0xFFFD,
        })
    };
    let utf16 = |big_endian: bool| -> Cow<'_, [u8]> {
        let text: String = char::decode_utf16(units(big_endian))
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        Cow::Owned(text.into_bytes())
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => Cow::Borrowed(strip_bom(bytes)),
    }
}

/// The bytes without a leading UTF-8 byte order mark.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// A companion file's text (BOM dropped), or `None` when it is not UTF-8.
pub(crate) fn companion_text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(strip_bom(bytes)).ok()
}

/// The bytes as UTF-8 (a leading BOM dropped), or an error at the line of the first bad byte.
pub(crate) fn utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, ParseError> {
    let bytes = strip_bom(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        ParseError::new(file, Some(line), "the file is not valid UTF-8")
    })
}

/// The 1-based line holding byte `offset` of `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML error, placed by its span.
pub(crate) fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> ParseError {
    let line = e.span().map(|s| line_of(text, s.start));
    let message: Vec<&str> = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    ParseError::new(file, line, message.join(": "))
}

/// Parses TOML text into `T`, with errors placed by line.
pub(crate) fn from_toml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<T, ParseError> {
    toml::from_str(text).map_err(|e| toml_error(file, text, &e))
}

/// Parses JSON bytes into `T`, with errors placed by line.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    file: &str,
    bytes: &[u8],
) -> Result<T, ParseError> {
    let text = utf8(file, bytes)?;
    serde_json::from_str(text).map_err(|e| {
        let line = (e.line() > 0).then_some(e.line());
        // serde_json's Display appends " at line L column C"; keep only the cause.
        let msg = e.to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        ParseError::new(file, line, msg)
    })
}

/// Parses YAML text into `T`, with errors placed by line; text nested deeper than
/// [`MAX_YAML_DEPTH`](super::limits::MAX_YAML_DEPTH) is refused before the parser sees it.
pub(crate) fn from_yaml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<T, ParseError> {
    super::limits::check_yaml_depth(file, text, super::limits::MAX_YAML_DEPTH)?;
    serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let msg = e.to_string();
        let msg = match msg.find(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        ParseError::new(file, line, msg)
    })
}

/// The folder part of a root-relative path (`""` at the root).
pub(crate) fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// The path of `name` beside `path`.
pub(crate) fn sibling(path: &str, name: &str) -> String {
    join(dir_of(path), name).unwrap_or_else(|| name.to_string())
}

/// Joins a relative path onto a root-relative folder, resolving `.` and `..`; `None` when it
/// climbs above the root or is absolute.
pub(crate) fn join(dir: &str, rel: &str) -> Option<String> {
    let rel = rel.replace('\\', "/");
    if rel.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_climbs() {
        assert_eq!(join("a/b", "../c.txt").as_deref(), Some("a/c.txt"));
        assert_eq!(join("", "./x/y.txt").as_deref(), Some("x/y.txt"));
        assert_eq!(join("", "../x"), None);
        assert_eq!(join("a", "/etc/passwd"), None);
        assert_eq!(sibling("a/Cargo.lock", "Cargo.toml"), "a/Cargo.toml");
        assert_eq!(sibling("Cargo.lock", "Cargo.toml"), "Cargo.toml");
    }

    #[test]
    fn byte_order_marks_are_decoded() {
        let text = "jinja2==2.10\r\nflask>=2.0\r\n";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        let utf8_bom: Vec<u8> = b"\xEF\xBB\xBF"
            .iter()
            .chain(text.as_bytes())
            .copied()
            .collect();
        for bytes in [le, be, utf8_bom, text.as_bytes().to_vec()] {
            assert_eq!(&*decode(&bytes), text.as_bytes());
        }
        assert_eq!(&*decode(&[0xFF, 0xFE, 0x00, 0xD8]), "\u{FFFD}".as_bytes());
    }

    #[test]
    fn lines_of_offsets() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
        let e = utf8("f", b"ok\n\xff").unwrap_err();
        assert_eq!(e.line, Some(2));
    }
}
