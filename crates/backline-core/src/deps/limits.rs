//! The bounds every reader works within: a size cap per file and a nesting cap for the YAML
//! readers, checked by a cheap linear pre-scan before any text reaches the YAML parser (whose
//! scanner is quadratic in flow nesting depth: an 80 KB `{a: {a: ...}}` costs seconds).
//!
//! Pure functions over bytes and text; the time budget lives with the caller that runs the
//! parse on a blocking thread ([`PARSE_BUDGET`]).

use std::time::Duration;

use super::ParseError;

/// Largest manifest or companion file a reader accepts (backline's GitLab client reads no
/// answer larger; it asserts at compile time that the two are equal).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// Deepest YAML nesting (block levels plus flow brackets) a reader accepts. Real lockfiles stay
/// under 10 (pnpm-lock v9: 5); the YAML parser's own recursion limit is 128.
pub const MAX_YAML_DEPTH: usize = 64;

/// How long the server waits for one manifest's parse on the blocking pool.
pub const PARSE_BUDGET: Duration = Duration::from_secs(10);

/// The error for a file over [`MAX_FILE_BYTES`], `None` when it is within the cap.
pub fn check_size(file: &str, len: usize) -> Result<(), ParseError> {
    if len > MAX_FILE_BYTES {
        return Err(ParseError::new(
            file,
            None,
            format!("file too large ({len} bytes, limit {MAX_FILE_BYTES})"),
        ));
    }
    Ok(())
}

/// The error a file deeper than `limit` gets.
pub fn too_deep(file: &str, limit: usize) -> ParseError {
    ParseError::new(file, None, format!("too deeply nested (limit {limit})"))
}

/// Refuses YAML `text` nested deeper than `limit`, in one pass over the bytes.
///
/// Counts block levels (an indentation stack, with each `- ` of a compact sequence a level of its
/// own) and flow levels (`[` and `{` opening a value, outside quotes and comments). It may
/// count a little more than a YAML parser would (a plain multi-line scalar indented further),
/// never less for flow brackets, which are what makes the parser slow.
pub fn check_yaml_depth(file: &str, text: &str, limit: usize) -> Result<(), ParseError> {
    if max_yaml_depth(text, limit) > limit {
        return Err(too_deep(file, limit));
    }
    Ok(())
}

/// The nesting depth of YAML `text`, counted as [`check_yaml_depth`] says; the scan stops
/// early once past `stop_after`.
pub fn max_yaml_depth(text: &str, stop_after: usize) -> usize {
    let mut scan = Scan::default();
    let mut deepest = 0;
    for line in text.split('\n') {
        let depth = scan.line(line.strip_suffix('\r').unwrap_or(line));
        deepest = deepest.max(depth);
        if deepest > stop_after {
            break;
        }
    }
    deepest
}

/// Where a quoted scalar that spans lines stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Single,
    Double,
}

#[derive(Debug, Default)]
struct Scan {
    /// Columns of the open block levels.
    block: Vec<usize>,
    /// Open flow brackets.
    flow: usize,
    /// Inside a quoted scalar continued from an earlier line.
    quote: Option<Quote>,
    /// Inside a block scalar (`|`, `>`) whose parent line had this indentation.
    block_scalar: Option<usize>,
}

impl Scan {
    /// Reads one line; answers the depth reached on it.
    fn line(&mut self, line: &str) -> usize {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let blank = indent == bytes.len() || bytes[indent] == b'#';
        if let Some(parent) = self.block_scalar {
            if blank || indent > parent {
                return self.block.len();
            }
            self.block_scalar = None;
        }
        if blank && self.quote.is_none() {
            return self.block.len() + self.flow;
        }
        let mut i = indent;
        if self.flow == 0 && self.quote.is_none() {
            while self.block.last().is_some_and(|&c| c > indent) {
                self.block.pop();
            }
            if self.block.last() != Some(&indent) {
                self.block.push(indent);
            }
            // A compact sequence: each `- ` opens a level at the column after it.
            while bytes.get(i) == Some(&b'-') && matches!(bytes.get(i + 1), Some(b' ') | None) {
                i += 1;
                while bytes.get(i) == Some(&b' ') {
                    i += 1;
                }
                self.block.push(i);
            }
        }
        let mut deepest = self.block.len() + self.flow;
        let mut token_start = true;
        while i < bytes.len() {
            let b = bytes[i];
            match self.quote {
                Some(Quote::Double) => {
                    match b {
                        b'\\' => i += 1,
                        b'"' => self.quote = None,
                        _ => {}
                    }
                    i += 1;
                    token_start = false;
                    continue;
                }
                Some(Quote::Single) => {
                    if b == b'\'' {
                        self.quote = None;
                    }
                    i += 1;
                    token_start = false;
                    continue;
                }
                None => {}
            }
            match b {
                b'#' if token_start => break,
                b'"' if token_start => self.quote = Some(Quote::Double),
                b'\'' if token_start => self.quote = Some(Quote::Single),
                b'[' | b'{' if token_start => {
                    self.flow += 1;
                    deepest = deepest.max(self.block.len() + self.flow);
                }
                b']' | b'}' if self.flow > 0 => self.flow -= 1,
                b'|' | b'>' if token_start && self.flow == 0 => {
                    let rest = line[i + 1..].split(" #").next().unwrap_or("").trim_end();
                    if rest.bytes().all(|c| matches!(c, b'+' | b'-' | b'0'..=b'9')) {
                        self.block_scalar = Some(indent);
                        break;
                    }
                }
                _ => {}
            }
            // A bracket that opened a level starts a token; one inside a plain scalar does not.
            token_start = match b {
                b' ' | b'\t' | b',' | b':' => true,
                b'[' | b'{' => token_start,
                _ => false,
            };
            i += 1;
        }
        deepest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_lockfile_shapes_are_shallow() {
        let pnpm = "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      a:\n        specifier: ^1\n        version: 1.0.0\npackages:\n  a@1.0.0:\n    resolution: {integrity: sha512-x}\n";
        assert_eq!(max_yaml_depth(pnpm, 100), 5);
        let seq = "a:\n  - - x\n    - y\n  - z: 1\n    w: 2\n";
        assert_eq!(max_yaml_depth(seq, 100), 4);
    }

    #[test]
    fn flow_brackets_count_outside_quotes_and_scalars_only() {
        assert_eq!(max_yaml_depth("a: [[[1]]]\n", 100), 4);
        assert_eq!(max_yaml_depth("a: '[[[[['\nb: \"{{\\\"{{\"\n", 100), 1);
        assert_eq!(max_yaml_depth("a: x[[[[y\nb: 1 # [[[[\n", 100), 1);
        // A flow collection spanning lines keeps its depth.
        assert_eq!(max_yaml_depth("a: [\n  [\n    {b: 1}]]\n", 100), 4);
    }

    #[test]
    fn block_scalars_do_not_nest() {
        let text = "a: |\n  x\n    y\n      z [[[[[[\nb: 1\n";
        assert_eq!(max_yaml_depth(text, 100), 1);
    }

    #[test]
    fn deep_nesting_is_refused_with_the_limit() {
        let flow = format!("a: {}{}\n", "{b: ".repeat(100), "}".repeat(100));
        let e = check_yaml_depth("pnpm-lock.yaml", &flow, 64).unwrap_err();
        assert_eq!(
            e.to_string(),
            "could not parse pnpm-lock.yaml: too deeply nested (limit 64)"
        );
        let mut block = String::new();
        for i in 0..70 {
            block.push_str(&" ".repeat(i));
            block.push_str("a:\n");
        }
        assert!(check_yaml_depth("f", &block, 64).is_err());
        assert!(check_yaml_depth("f", &format!("{}x\n", "- ".repeat(70)), 64).is_err());
        assert!(check_yaml_depth("f", "a:\n  b: [1, {c: 2}]\n", 64).is_ok());
    }

    #[test]
    fn sizes_over_the_cap_are_refused() {
        assert!(check_size("f", MAX_FILE_BYTES).is_ok());
        let e = check_size("yarn.lock", MAX_FILE_BYTES + 1).unwrap_err();
        assert!(e.message.starts_with("file too large"), "{e}");
    }
}
