//! JSON that keeps the order of object members, as PHP's arrays do: Composer's metadata and
//! lockfiles are written in the order Composer builds them, which `serde_json::Value` (sorted
//! maps here) would lose.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value whose objects keep their members' order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as serde_json reads it.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, members in document order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses JSON text.
    pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A member of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// Whether PHP would drop it as empty (`null`, `[]`, `{}`).
    pub fn is_empty_php(&self) -> bool {
        match self {
            Json::Null => true,
            Json::Array(a) => a.is_empty(),
            Json::Object(m) => m.is_empty(),
            _ => false,
        }
    }

    /// Pretty text as PHP's `json_encode(JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES |
    /// JSON_UNESCAPED_UNICODE)` writes it (Composer's `JsonFile::encode` for lockfiles): four
    /// spaces a level, an empty object as `[]` (it was a PHP array), continuing lines at `indent`.
    pub fn pretty_php(&self, indent: &str) -> String {
        let mut out = String::new();
        self.write_pretty(&mut out, indent);
        out
    }

    fn write_pretty(&self, out: &mut String, indent: &str) {
        let inner = format!("{indent}    ");
        match self {
            Json::Array(a) if a.is_empty() => out.push_str("[]"),
            Json::Object(m) if m.is_empty() => out.push_str("[]"),
            Json::Array(a) => {
                out.push_str("[\n");
                for (i, v) in a.iter().enumerate() {
                    out.push_str(&inner);
                    v.write_pretty(out, &inner);
                    out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
                }
                out.push_str(indent);
                out.push(']');
            }
            Json::Object(m) => {
                out.push_str("{\n");
                for (i, (k, v)) in m.iter().enumerate() {
                    out.push_str(&inner);
                    out.push_str(&quote(k, false));
                    out.push_str(": ");
                    v.write_pretty(out, &inner);
                    out.push_str(if i + 1 < m.len() { ",\n" } else { "\n" });
                }
                out.push_str(indent);
                out.push('}');
            }
            scalar => out.push_str(&scalar.compact_php(false)),
        }
    }

    /// Compact text; `php_escapes` as `json_encode` with no flags writes it (`\/`, and every
    /// non-ASCII character as `\uXXXX`), else with slashes and Unicode unescaped.
    pub fn compact_php(&self, php_escapes: bool) -> String {
        match self {
            Json::Null => "null".into(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) => n.to_string(),
            Json::String(s) => quote(s, php_escapes),
            Json::Array(a) if a.is_empty() => "[]".into(),
            Json::Object(m) if m.is_empty() => "[]".into(),
            Json::Array(a) => format!(
                "[{}]",
                a.iter()
                    .map(|v| v.compact_php(php_escapes))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Json::Object(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!(
                        "{}:{}",
                        quote(k, php_escapes),
                        v.compact_php(php_escapes)
                    ))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// A JSON string literal: serde_json's escapes (as PHP's for `"`, `\` and control characters),
/// plus PHP's default `\/` and `\uXXXX` when `php_escapes`.
fn quote(s: &str, php_escapes: bool) -> String {
    let plain = serde_json::to_string(s).unwrap_or_default();
    if !php_escapes {
        return plain;
    }
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Json, E> {
                Ok(serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Json::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Json, A::Error> {
                let mut v: Vec<(String, Json)> = Vec::new();
                while let Some((k, x)) = m.next_entry::<String, Json>()? {
                    // A repeated key keeps its first place and its last value, as PHP's do.
                    match v.iter_mut().find(|(key, _)| *key == k) {
                        Some(slot) => slot.1 = x,
                        None => v.push((k, x)),
                    }
                }
                Ok(Json::Object(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_php_text() {
        let j = Json::parse(
            r#"{"name":"a/b","authors":[{"name":"Z","email":"z@x.test"}],"extra":{},"u":"é/x"}"#,
        )
        .unwrap();
        assert_eq!(
            j.compact_php(true),
            r#"{"name":"a\/b","authors":[{"name":"Z","email":"z@x.test"}],"extra":[],"u":"\u00e9\/x"}"#
        );
        assert_eq!(
            j.pretty_php(""),
            "{\n    \"name\": \"a/b\",\n    \"authors\": [\n        {\n            \"name\": \"Z\",\n            \"email\": \"z@x.test\"\n        }\n    ],\n    \"extra\": [],\n    \"u\": \"é/x\"\n}"
        );
    }
}
