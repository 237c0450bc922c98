//! A small JSON scanner that keeps byte spans, so that edits can replace one value and leave
//! every other byte of the file as it was.

/// A JSON value with its byte span `[start, end)` in the text.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// An object: members in file order as (key, value).
    Object(Vec<(String, Node)>, (usize, usize)),
    /// An array.
    Array((usize, usize)),
    /// A string, number, boolean or null.
    Scalar((usize, usize)),
}

impl Node {
    /// The value's span.
    pub fn span(&self) -> (usize, usize) {
        match self {
            Node::Object(_, s) | Node::Array(s) | Node::Scalar(s) => *s,
        }
    }

    /// A member of an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(m, _) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The members of an object (empty for other values).
    pub fn members(&self) -> &[(String, Node)] {
        match self {
            Node::Object(m, _) => m,
            _ => &[],
        }
    }
}

const MAX_DEPTH: usize = 256;

/// Scans a JSON document; `None` when it is not valid JSON (the caller parses it with
/// serde_json first for a good error).
pub(crate) fn scan(text: &str) -> Option<Node> {
    let mut p = Scanner {
        b: text.as_bytes(),
        text,
        i: 0,
    };
    let node = p.value(0)?;
    p.ws();
    (p.i == p.b.len()).then_some(node)
}

struct Scanner<'a> {
    b: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        let start = self.i;
        match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Some(Node::Object(members, (start, self.i)));
                }
                loop {
                    self.ws();
                    let (ks, ke) = self.string()?;
                    let key: String = serde_json::from_str(self.text.get(ks..ke)?).ok()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    match self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(Node::Object(members, (start, self.i)));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Some(Node::Array((start, self.i)));
                }
                loop {
                    self.value(depth + 1)?;
                    self.ws();
                    match self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(Node::Array((start, self.i)));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(Node::Scalar),
            _ => {
                while self.i < self.b.len()
                    && !matches!(
                        self.b[self.i],
                        b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
                    )
                {
                    self.i += 1;
                }
                (self.i > start).then_some(Node::Scalar((start, self.i)))
            }
        }
    }

    /// A string's span, quotes included.
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.i;
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => return Some((start, self.i)),
                _ => {}
            }
        }
        None
    }
}

/// The items of the array whose span is `span` (from [`scan`] of the same text).
pub(crate) fn array_items(text: &str, span: (usize, usize)) -> Option<Vec<Node>> {
    let mut p = Scanner {
        b: text.as_bytes(),
        text,
        i: span.0,
    };
    if p.b.get(p.i) != Some(&b'[') {
        return None;
    }
    p.i += 1;
    let mut out = Vec::new();
    p.ws();
    if p.b.get(p.i) == Some(&b']') {
        return Some(out);
    }
    loop {
        out.push(p.value(0)?);
        p.ws();
        match p.b.get(p.i)? {
            b',' => p.i += 1,
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// The indentation (leading spaces or tabs) of the line holding byte `at`.
pub(crate) fn indent_at(text: &str, at: usize) -> &str {
    let line_start = text[..at.min(text.len())]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let line = &text[line_start..];
    let n = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..n]
}

/// A JSON string literal.
pub(crate) fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// An object of strings laid out as npm does, for a value whose key line has `indent`.
pub(crate) fn render_object<'a>(
    entries: impl IntoIterator<Item = (&'a String, &'a String)>,
    indent: &str,
    step: &str,
    nl: &str,
) -> String {
    let items: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{indent}{step}{}: {}", quote(k), quote(v)))
        .collect();
    if items.is_empty() {
        return "{}".into();
    }
    format!("{{{nl}{}{nl}{indent}}}", items.join(&format!(",{nl}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        let t = r#"{ "a": {"b": "x\"y", "c": [1, true, null]}, "d": -1.5e3 }"#;
        let n = scan(t).unwrap();
        let (s, e) = n.get("a").unwrap().get("b").unwrap().span();
        assert_eq!(&t[s..e], r#""x\"y""#);
        let (s, e) = n.get("d").unwrap().span();
        assert_eq!(&t[s..e], "-1.5e3");
        assert!(scan("{\"a\": }").is_none());
        assert!(scan("[1, 2").is_none());
        assert!(scan(&"[".repeat(10_000)).is_none());
        assert_eq!(indent_at("{\n    \"a\": 1", 8), "    ");
    }
}
