//! A JSON-schema validator with the semantics GitLab's own request specs use.
//!
//! GitLab checks its API answers with `match_response_schema`
//! (`spec/support/matchers/schema_matcher.rb`), which calls the `json-schema` Ruby gem's
//! `JSON::Validator.fully_validate` (draft-04). Its schemas lean on that gem's leniency: type
//! names it does not know (`"date"`, `"uri"`, `"string "`) match any value
//! (`lib/json-schema/attribute.rb`, `data_valid_for_type?`), keywords it does not know are
//! ignored, and `$ref`s are paths relative to the referring file. A strict draft-04 validator
//! (the `jsonschema` or `boon` crates) refuses such schemas when it compiles them against the
//! meta-schema, so this module implements the subset of the gem that the copied schemas use:
//! `type` (one or a list, `null` included), `properties`, `required`, `additionalProperties`,
//! `items`, `enum`, `pattern`, `format` (`date-time`, `uri`), `allOf`/`anyOf`/`oneOf` and
//! `$ref` to a relative file with an optional JSON-pointer fragment.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::{Map, Value};

/// What a check may overlook, each item justified where it is built (see `relax.rs`).
#[derive(Debug, Default, Clone)]
pub struct Relax {
    /// Property names accepted where a schema says `additionalProperties: false`.
    pub extra: Vec<&'static str>,
    /// Accept every property where a schema says `additionalProperties: false`.
    pub any_extra: bool,
    /// Property names not demanded where a schema lists them in `required`.
    pub not_required: Vec<&'static str>,
}

/// The copied schemas, loaded lazily from a directory.
pub struct Schemas {
    root: PathBuf,
    files: RefCell<HashMap<PathBuf, Value>>,
}

impl Schemas {
    /// Schemas under `root` (the directory holding `public_api/`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            files: RefCell::new(HashMap::new()),
        }
    }

    /// Checks `instance` against `schema` (a path under the root, optionally with a
    /// `#/json/pointer` fragment). Returns one line per violation, naming where it is.
    pub fn validate(&self, schema: &str, instance: &Value, relax: &Relax) -> Vec<String> {
        let mut errors = Vec::new();
        let (file, node) = match self.resolve(&self.root.join("_"), schema) {
            Ok(found) => found,
            Err(e) => return vec![e],
        };
        self.check(&file, &node, instance, "", relax, &mut errors);
        errors
    }

    fn load(&self, path: &Path) -> Result<Value, String> {
        if let Some(v) = self.files.borrow().get(path) {
            return Ok(v.clone());
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("schema {} cannot be read: {e}", path.display()))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("schema {} is not JSON: {e}", path.display()))?;
        self.files
            .borrow_mut()
            .insert(path.to_path_buf(), v.clone());
        Ok(v)
    }

    /// Resolves a `$ref` written in the file `from`: the file it names and the node its
    /// fragment points at.
    fn resolve(&self, from: &Path, reference: &str) -> Result<(PathBuf, Value), String> {
        let (file_part, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file_part.is_empty() {
            from.to_path_buf()
        } else {
            normalize(&from.parent().unwrap_or(Path::new("")).join(file_part))
        };
        let doc = self.load(&file)?;
        let node = if fragment.is_empty() {
            doc
        } else {
            doc.pointer(fragment).cloned().ok_or_else(|| {
                format!("$ref {reference} from {}: no such fragment", from.display())
            })?
        };
        Ok((file, node))
    }

    fn check(
        &self,
        file: &Path,
        schema: &Value,
        inst: &Value,
        at: &str,
        relax: &Relax,
        errors: &mut Vec<String>,
    ) {
        let Some(s) = schema.as_object() else {
            return;
        };
        // Draft-04: a `$ref` replaces the schema it sits in.
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            match self.resolve(file, r) {
                Ok((f, node)) => self.check(&f, &node, inst, at, relax, errors),
                Err(e) => errors.push(format!("{at}: {e}")),
            }
            return;
        }
        if let Some(t) = s.get("type") {
            if !type_matches(t, inst) {
                errors.push(format!("{}: {} is not of type {t}", show(at), kind(inst)));
                return;
            }
        }
        if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
            if !allowed.contains(inst) {
                errors.push(format!("{}: {inst} is not one of {allowed:?}", show(at)));
            }
        }
        if let Value::String(text) = inst {
            check_string(s, text, at, errors);
        }
        if let Value::Object(o) = inst {
            self.check_object(file, s, o, at, relax, errors);
        }
        if let Value::Array(items) = inst {
            match s.get("items") {
                Some(Value::Array(tuple)) => {
                    for (i, (sub, item)) in tuple.iter().zip(items).enumerate() {
                        self.check(file, sub, item, &format!("{at}/{i}"), relax, errors);
                    }
                }
                Some(sub) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(file, sub, item, &format!("{at}/{i}"), relax, errors);
                    }
                }
                None => {}
            }
        }
        self.check_combinators(file, s, inst, at, relax, errors);
    }

    fn check_object(
        &self,
        file: &Path,
        s: &Map<String, Value>,
        o: &Map<String, Value>,
        at: &str,
        relax: &Relax,
        errors: &mut Vec<String>,
    ) {
        let props = s.get("properties").and_then(Value::as_object);
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !o.contains_key(name) && !relax.not_required.contains(&name) {
                errors.push(format!(
                    "{}: required property {name:?} is missing",
                    show(at)
                ));
            }
        }
        for (name, value) in o {
            let here = format!("{at}/{name}");
            if let Some(sub) = props.and_then(|p| p.get(name)) {
                self.check(file, sub, value, &here, relax, errors);
                continue;
            }
            match s.get("additionalProperties") {
                Some(Value::Bool(false))
                    if !relax.any_extra && !relax.extra.contains(&name.as_str()) =>
                {
                    errors.push(format!("{here}: property not allowed by the schema"));
                }
                Some(sub @ Value::Object(_)) => {
                    self.check(file, sub, value, &here, relax, errors);
                }
                _ => {}
            }
        }
    }

    fn check_combinators(
        &self,
        file: &Path,
        s: &Map<String, Value>,
        inst: &Value,
        at: &str,
        relax: &Relax,
        errors: &mut Vec<String>,
    ) {
        let passes = |sub: &Value| {
            let mut e = Vec::new();
            self.check(file, sub, inst, at, relax, &mut e);
            e
        };
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                errors.extend(passes(sub));
            }
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
            let results: Vec<_> = any.iter().map(passes).collect();
            if !results.iter().any(Vec::is_empty) {
                errors.push(format!("{}: matches none of anyOf: {results:?}", show(at)));
            }
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let results: Vec<_> = one.iter().map(passes).collect();
            let matched = results.iter().filter(|e| e.is_empty()).count();
            if matched != 1 {
                errors.push(format!(
                    "{}: matches {matched} of oneOf (exactly one needed): {results:?}",
                    show(at)
                ));
            }
        }
    }
}

fn check_string(s: &Map<String, Value>, text: &str, at: &str, errors: &mut Vec<String>) {
    if let Some(p) = s.get("pattern").and_then(Value::as_str) {
        match Regex::new(p) {
            Ok(re) if re.is_match(text) => {}
            Ok(_) => errors.push(format!("{}: {text:?} does not match /{p}/", show(at))),
            Err(e) => errors.push(format!("{}: pattern /{p}/ is invalid: {e}", show(at))),
        }
    }
    match s.get("format").and_then(Value::as_str) {
        Some("date-time") if !is_date_time(text) => {
            errors.push(format!(
                "{}: {text:?} is not an RFC 3339 date-time",
                show(at)
            ));
        }
        Some("uri") if !is_uri(text) => {
            errors.push(format!("{}: {text:?} is not a URI", show(at)));
        }
        _ => {}
    }
}

/// The gem's `date-time` format: `DateTime.rfc3339` must parse it.
fn is_date_time(text: &str) -> bool {
    static RFC3339: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RFC3339
        .get_or_init(|| {
            Regex::new(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
                .expect("valid regex")
        })
        .is_match(text)
}

/// The gem's `uri` format (Addressable's parser): no whitespace, and a scheme when it has a
/// colon before any slash.
fn is_uri(text: &str) -> bool {
    if text.chars().any(char::is_whitespace) {
        return false;
    }
    match text.split_once(':') {
        Some((scheme, _)) if !scheme.contains('/') => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        _ => true,
    }
}

/// One `type` keyword: a name or a list of names. Names the gem does not know match anything.
fn type_matches(t: &Value, inst: &Value) -> bool {
    match t {
        Value::String(name) => type_name_matches(name, inst),
        Value::Array(names) => names.iter().any(|n| match n {
            Value::String(name) => type_name_matches(name, inst),
            // A draft-03 union member (a schema): none of the copied schemas use one.
            _ => true,
        }),
        _ => true,
    }
}

fn type_name_matches(name: &str, inst: &Value) -> bool {
    match name {
        "string" => inst.is_string(),
        "number" => inst.is_number(),
        "integer" => inst.is_i64() || inst.is_u64(),
        "boolean" => inst.is_boolean(),
        "object" => inst.is_object(),
        "array" => inst.is_array(),
        "null" => inst.is_null(),
        _ => true,
    }
}

fn kind(v: &Value) -> String {
    let short = v.to_string();
    let short: String = short.chars().take(60).collect();
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => format!("boolean {short}"),
        Value::Number(_) => format!("number {short}"),
        Value::String(_) => format!("string {short}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn show(at: &str) -> &str {
    if at.is_empty() {
        "(root)"
    } else {
        at
    }
}

/// `a/b/../c` → `a/c`, so that a file reached by two routes is loaded once.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
