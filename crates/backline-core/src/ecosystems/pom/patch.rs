//! Maven `pom.xml`: the version of a direct dependency, written in the `<dependency>` itself
//! (or its `<dependencyManagement>` entry) or in the `<properties>` entry it refers to
//! (`${name}`). Only that text changes. A property that also sets other dependencies'
//! versions is refused (they would move too), as is a version that comes from a parent POM
//! or a BOM. Maven has no lockfile: what the new version needs is resolved at build time.

use roxmltree::{Document, Node};

use crate::deps::{self, ParseError};
use crate::remediation::patch::{apply_edits, not_fixable, FileChange, PatchError, PatchRequest};

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn text_of<'a>(node: Node<'a, '_>) -> &'a str {
    node.text().unwrap_or("").trim()
}

/// Edits a `pom.xml`.
pub(crate) fn patch(req: &PatchRequest, bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[bom..];
    let doc = Document::parse(body).map_err(|e| ParseError::new(path, None, e.to_string()))?;
    let project = doc.root_element();
    let (pkg, from, to) = (req.package, req.from, req.to);
    let Some((group, artifact)) = pkg.split_once(':') else {
        return not_fixable(format!("{pkg} is not a groupId:artifactId"));
    };
    let lists = [
        child(project, "dependencies"),
        child(project, "dependencyManagement").and_then(|m| child(m, "dependencies")),
    ];
    let all: Vec<Node> = lists
        .iter()
        .flatten()
        .flat_map(|l| l.children().filter(|n| n.tag_name().name() == "dependency"))
        .collect();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut found_entry = false;
    for d in &all {
        let g = child(*d, "groupId").map(text_of);
        let a = child(*d, "artifactId").map(text_of);
        if a != Some(artifact) || !(g == Some(group) || g.is_some_and(|g| g.starts_with("${"))) {
            continue;
        }
        let Some(vnode) = child(*d, "version") else {
            continue;
        };
        found_entry = true;
        let v = text_of(vnode);
        let target = if let Some(prop) = v.strip_prefix("${").and_then(|p| p.strip_suffix('}')) {
            let Some(pnode) = child(project, "properties").and_then(|p| child(p, prop)) else {
                return not_fixable(format!(
                    "the version of {pkg} comes from `${{{prop}}}`, which this pom.xml does not define (a parent POM?)"
                ));
            };
            let others: Vec<String> = all
                .iter()
                .filter(|o| o.id() != d.id())
                .filter(|o| child(**o, "version").map(text_of) == Some(v))
                .filter_map(|o| child(*o, "artifactId").map(|a| text_of(a).to_string()))
                .filter(|o| o != artifact)
                .collect();
            if !others.is_empty() {
                return not_fixable(format!(
                    "the property `{prop}` also sets the version of {}; bump them together by hand",
                    others.join(", ")
                ));
            }
            pnode
        } else {
            vnode
        };
        let Some(tn) = target.first_child().filter(|c| c.is_text()) else {
            continue;
        };
        let r = tn.range();
        let raw = &body[r.clone()];
        let (old, new) = if raw.trim() == from {
            (from.to_string(), to.to_string())
        } else if raw.trim() == format!("[{from}]") {
            (format!("[{from}]"), format!("[{to}]"))
        } else {
            continue;
        };
        let Some(at) = raw.find(&old) else { continue };
        let e = (r.start + at, r.start + at + old.len(), new);
        if !edits.contains(&e) {
            edits.push(e);
        }
    }
    if edits.is_empty() {
        return not_fixable(if found_entry {
            format!("{path} does not set {pkg} to {from} itself")
        } else {
            format!("{path} declares no version of {pkg} (a parent POM or BOM sets it)")
        });
    }
    Ok(vec![FileChange {
        path: path.to_string(),
        content: format!("{}{}", &text[..bom], apply_edits(body, edits)).into_bytes(),
    }])
}

#[cfg(test)]
mod tests {
    use crate::remediation::patch::{patch, PatchError, PatchRequest, RegistryFacts};

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme</groupId>
  <artifactId>api</artifactId>
  <version>1.0.0</version>
  <properties>
    <jackson.version>2.13.0</jackson.version>
    <log4j.version>2.14.1</log4j.version>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${log4j.version}</version>
    </dependency>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>${jackson.version}</version>
    </dependency>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-core</artifactId>
      <version>${jackson.version}</version>
    </dependency>
    <dependency>
      <groupId>org.yaml</groupId>
      <artifactId>snakeyaml</artifactId>
      <version>1.29</version> <!-- pinned -->
    </dependency>
  </dependencies>
</project>
"#;

    fn run(pkg: &str, from: &str, to: &str) -> Result<String, PatchError> {
        let files = |p: &str| (p == "pom.xml").then(|| POM.as_bytes().to_vec());
        let facts = RegistryFacts::default();
        let req = PatchRequest {
            manifest_path: "pom.xml",
            package: pkg,
            from,
            to,
            direct: true,
            files: &files,
            facts: &facts,
        };
        patch(&req).map(|c| String::from_utf8(c[0].content.clone()).unwrap())
    }

    #[test]
    fn no_panic_on_damaged_input() {
        let facts = RegistryFacts::default();
        crate::remediation::patch::assert_no_panic(
            "pom.xml",
            POM,
            "org.yaml:snakeyaml",
            "1.29",
            "1.33",
            &facts,
        );
    }

    #[test]
    fn literal_and_property_versions() {
        assert_eq!(
            run("org.yaml:snakeyaml", "1.29", "1.33").unwrap(),
            POM.replace("<version>1.29</version>", "<version>1.33</version>")
        );
        assert_eq!(
            run("org.apache.logging.log4j:log4j-core", "2.14.1", "2.17.1").unwrap(),
            POM.replace("<log4j.version>2.14.1<", "<log4j.version>2.17.1<")
        );
        let e = run(
            "com.fasterxml.jackson.core:jackson-databind",
            "2.13.0",
            "2.13.4",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "not fixable by an edit: the property `jackson.version` also sets the version of jackson-core; bump them together by hand"
        );
        let e = run("org.yaml:snakeyaml", "1.28", "1.33").unwrap_err();
        assert!(
            e.to_string()
                .contains("does not set org.yaml:snakeyaml to 1.28"),
            "{e}"
        );
    }
}
