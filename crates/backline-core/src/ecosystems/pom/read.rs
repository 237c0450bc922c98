//! Maven `pom.xml`: the project's own (direct) dependencies.
//!
//! Names are `groupId:artifactId`. Versions are resolved within the file: `${property}` from
//! `<properties>` (recursively), `${project.version}`, `${project.groupId}`,
//! `${project.parent.version}` and friends; a dependency without a version takes it from
//! `<dependencyManagement>`. A version that cannot be resolved here (a parent POM's property,
//! an imported BOM) or is a range other than `[x]` is reported as `None`, without error.
//! `test`-scoped dependencies are dev. Plugins, profiles and the parent POM are not read.
//! Transitive dependencies would need the registry: not reported.

use std::collections::HashMap;

use roxmltree::{Document, Node};

use crate::deps::text::utf8;
use crate::deps::{dedupe, Dependency, ParseError, Source};
use crate::ecosystem::Ecosystem;

/// Parses a `pom.xml`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Dependency>, ParseError> {
    let text = utf8(file, bytes)?;
    let doc = Document::parse(text).map_err(|e| {
        // roxmltree's message ends with " at ROW:COL"; the line goes in its own field.
        let msg = e.to_string();
        let msg = msg
            .rsplit_once(" at ")
            .map(|(m, _)| m.to_string())
            .unwrap_or(msg);
        ParseError::new(file, Some(e.pos().row as usize), msg)
    })?;
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        let line = doc.text_pos_at(project.range().start).row as usize;
        return Err(ParseError::new(
            file,
            Some(line),
            "expected a <project> root element",
        ));
    }
    let mut props: HashMap<String, String> = HashMap::new();
    if let Some(properties) = child(project, "properties") {
        for p in properties.children().filter(Node::is_element) {
            props.insert(
                p.tag_name().name().to_string(),
                p.text().unwrap_or("").trim().to_string(),
            );
        }
    }
    let parent = child(project, "parent");
    let builtins = [
        (
            "version",
            child_text(project, "version")
                .or_else(|| parent.and_then(|p| child_text(p, "version"))),
        ),
        (
            "groupId",
            child_text(project, "groupId")
                .or_else(|| parent.and_then(|p| child_text(p, "groupId"))),
        ),
        ("artifactId", child_text(project, "artifactId")),
        (
            "parent.version",
            parent.and_then(|p| child_text(p, "version")),
        ),
        (
            "parent.groupId",
            parent.and_then(|p| child_text(p, "groupId")),
        ),
    ];
    for (key, value) in builtins {
        if let Some(v) = value {
            props
                .entry(format!("project.{key}"))
                .or_insert_with(|| v.to_string());
            props
                .entry(format!("pom.{key}"))
                .or_insert_with(|| v.to_string());
        }
    }

    let too_large = |_: TooLarge| TooLarge::error(file);
    let mut expander = Expander {
        props: &props,
        work: 0,
    };
    let mut managed: HashMap<String, Option<String>> = HashMap::new();
    if let Some(deps) =
        child(project, "dependencyManagement").and_then(|m| child(m, "dependencies"))
    {
        for d in deps
            .children()
            .filter(|n| n.tag_name().name() == "dependency")
        {
            if let Some(name) = coordinates(d, &mut expander).map_err(too_large)? {
                let version = match child_text(d, "version") {
                    Some(v) => expander.resolve(v).map_err(too_large)?,
                    None => None,
                };
                managed.insert(name, version);
            }
        }
    }

    let mut out = Vec::new();
    if let Some(deps) = child(project, "dependencies") {
        for d in deps
            .children()
            .filter(|n| n.tag_name().name() == "dependency")
        {
            let Some(name) = coordinates(d, &mut expander).map_err(too_large)? else {
                continue;
            };
            let version = match child_text(d, "version") {
                Some(v) => expander.resolve(v).map_err(too_large)?,
                None => managed.get(&name).cloned().flatten(),
            };
            let scope = child_text(d, "scope");
            let dev = scope == Some("test");
            // `system` scope: a jar on the local disk (`systemPath`), not Maven Central's.
            let source = if scope == Some("system") {
                Source::Path
            } else {
                Source::Registry
            };
            out.push(
                Dependency::new(Ecosystem::Maven, name, version.and_then(pinned), true)
                    .with_dev(dev)
                    .with_source(source),
            );
        }
    }
    Ok(dedupe(out))
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn child_text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name)
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `groupId:artifactId`, resolved; `None` when either is missing or unresolvable.
fn coordinates(dep: Node, props: &mut Expander) -> Result<Option<String>, TooLarge> {
    let (Some(group), Some(artifact)) = (child_text(dep, "groupId"), child_text(dep, "artifactId"))
    else {
        return Ok(None);
    };
    let (Some(group), Some(artifact)) = (props.resolve(group)?, props.resolve(artifact)?) else {
        return Ok(None);
    };
    Ok(Some(format!("{group}:{artifact}")))
}

/// Longest value a `${...}` expansion may produce: no real version or coordinate comes near it.
pub const MAX_EXPANDED_BYTES: usize = 4096;

/// Most bytes all the expansions of one file may scan and copy together.
pub const MAX_EXPANSION_WORK: usize = 4 * 1024 * 1024;

/// Expansion ran past [`MAX_EXPANDED_BYTES`] or [`MAX_EXPANSION_WORK`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TooLarge;

impl TooLarge {
    fn error(file: &str) -> ParseError {
        ParseError::new(file, None, "property expansion too large")
    }
}

/// Substitutes `${...}` references within a budget shared by the whole file.
struct Expander<'p> {
    props: &'p HashMap<String, String>,
    /// Bytes scanned and copied so far.
    work: usize,
}

impl Expander<'_> {
    fn charge(&mut self, bytes: usize) -> Result<(), TooLarge> {
        self.work = self.work.saturating_add(bytes);
        if self.work > MAX_EXPANSION_WORK {
            return Err(TooLarge);
        }
        Ok(())
    }

    /// `value` with its references substituted; `Ok(None)` when one is unknown (or they nest
    /// too deep), an error when the result or the work would be too large.
    fn resolve(&mut self, value: &str) -> Result<Option<String>, TooLarge> {
        self.charge(value.len())?;
        let mut s = value.to_string();
        for _ in 0..16 {
            let Some(start) = s.find("${") else {
                return Ok(Some(s));
            };
            let Some(end) = s[start..].find('}').map(|e| start + e) else {
                return Ok(None);
            };
            let key = &s[start + 2..end];
            let Some(replacement) = self.props.get(key) else {
                return Ok(None);
            };
            let len = s.len() - (end + 1 - start) + replacement.len();
            if len > MAX_EXPANDED_BYTES {
                return Err(TooLarge);
            }
            self.charge(len)?;
            s = format!("{}{}{}", &s[..start], replacement, &s[end + 1..]);
        }
        Ok(None)
    }
}

/// A concrete version: `1.2.3` or `[1.2.3]`; other ranges are not pins.
fn pinned(version: String) -> Option<String> {
    if version.starts_with(['[', '(']) {
        let inner = version.strip_prefix('[')?.strip_suffix(']')?;
        return (!inner.contains(',')).then(|| inner.trim().to_string());
    }
    Some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.2.3</version>
  </parent>
  <groupId>com.example</groupId>
  <artifactId>demo</artifactId>
  <version>1.4.0</version>

  <properties>
    <java.version>17</java.version>
    <jackson.version>2.16.1</jackson.version>
    <jackson.databind.version>${jackson.version}</jackson.databind.version>
  </properties>

  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>com.google.guava</groupId>
        <artifactId>guava</artifactId>
        <version>33.0.0-jre</version>
      </dependency>
      <dependency>
        <groupId>org.junit</groupId>
        <artifactId>junit-bom</artifactId>
        <version>5.10.2</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>

  <dependencies>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>${jackson.databind.version}</version>
    </dependency>
    <dependency>
      <groupId>com.google.guava</groupId>
      <artifactId>guava</artifactId>
    </dependency>
    <dependency>
      <groupId>${project.groupId}</groupId>
      <artifactId>demo-core</artifactId>
      <version>${project.version}</version>
    </dependency>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-web</artifactId>
    </dependency>
    <dependency>
      <groupId>org.apache.commons</groupId>
      <artifactId>commons-text</artifactId>
      <version>${commons.text.version}</version>
    </dependency>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>[5.10.2]</version>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>log4j</groupId>
      <artifactId>log4j</artifactId>
      <version>[1.2,1.3)</version>
    </dependency>
  </dependencies>

  <build>
    <plugins>
      <plugin>
        <groupId>org.springframework.boot</groupId>
        <artifactId>spring-boot-maven-plugin</artifactId>
        <dependencies>
          <dependency>
            <groupId>x</groupId>
            <artifactId>not-a-dependency</artifactId>
            <version>1</version>
          </dependency>
        </dependencies>
      </plugin>
    </plugins>
  </build>
</project>
"#;

    #[test]
    fn properties_management_and_unresolved() {
        let deps = parse("pom.xml", POM.as_bytes()).unwrap();
        let got: Vec<(&str, Option<&str>, bool)> = deps
            .iter()
            .map(|d| (d.name.as_str(), d.version.as_deref(), d.dev))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "com.fasterxml.jackson.core:jackson-databind",
                    Some("2.16.1"),
                    false
                ),
                ("com.google.guava:guava", Some("33.0.0-jre"), false),
                ("com.example:demo-core", Some("1.4.0"), false),
                (
                    "org.springframework.boot:spring-boot-starter-web",
                    None,
                    false
                ),
                ("org.apache.commons:commons-text", None, false),
                ("org.junit.jupiter:junit-jupiter", Some("5.10.2"), true),
                ("log4j:log4j", None, false),
            ]
        );
        assert!(deps
            .iter()
            .all(|d| d.direct && d.ecosystem == Ecosystem::Maven));
    }

    #[test]
    fn system_scope_is_a_path_source() {
        let pom = "<project><dependencies>\
            <dependency><groupId>g</groupId><artifactId>a</artifactId><version>1</version><scope>system</scope><systemPath>${basedir}/lib/a.jar</systemPath></dependency>\
            <dependency><groupId>g</groupId><artifactId>b</artifactId><version>1</version></dependency>\
            </dependencies></project>";
        let deps = parse("pom.xml", pom.as_bytes()).unwrap();
        let got: Vec<(&str, Source)> = deps.iter().map(|d| (d.name.as_str(), d.source)).collect();
        assert_eq!(got, [("g:a", Source::Path), ("g:b", Source::Registry)]);
    }

    #[test]
    fn a_dependency_listed_twice_is_reported_once() {
        let pom = "<project><dependencies>\
            <dependency><groupId>g</groupId><artifactId>a</artifactId><version>1</version><classifier>x</classifier></dependency>\
            <dependency><groupId>g</groupId><artifactId>a</artifactId><version>1</version></dependency>\
            </dependencies></project>";
        assert_eq!(parse("pom.xml", pom.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn xml_errors_name_the_line() {
        let bad = "<project>\n  <dependencies>\n    <dependency>\n  </dependencies>\n</project>\n";
        let e = parse("svc/pom.xml", bad.as_bytes()).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("svc/pom.xml", Some(4)), "{e}");
        assert_eq!(
            e.to_string(),
            "could not parse svc/pom.xml at line 4: expected 'dependency' tag, not 'dependencies'"
        );
        let e = parse("pom.xml", b"<?xml version=\"1.0\"?>\n<settings/>\n").unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    /// Issue 12 item 4: a 1 MB property used by 200 dependencies (27 s before) is refused
    /// after a bounded amount of work.
    #[test]
    fn a_huge_property_used_many_times_is_refused() {
        let mut pom = format!(
            "<project><properties><big>{}</big></properties><dependencies>",
            "x".repeat(1 << 20)
        );
        for i in 0..200 {
            pom.push_str(&format!(
                "<dependency><groupId>g</groupId><artifactId>a{i}</artifactId><version>${{big}}</version></dependency>"
            ));
        }
        pom.push_str("</dependencies></project>");
        let e = parse("pom.xml", pom.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "could not parse pom.xml: property expansion too large"
        );
    }

    #[test]
    fn properties_that_double_at_each_level_are_refused() {
        let mut props = format!("<p0>{}</p0>", "a".repeat(1500));
        for i in 1..4 {
            props.push_str(&format!("<p{i}>${{p{j}}}${{p{j}}}</p{i}>", j = i - 1));
        }
        let pom = format!(
            "<project><properties>{props}</properties><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId><version>${{p3}}</version></dependency></dependencies></project>"
        );
        let e = parse("pom.xml", pom.as_bytes()).unwrap_err();
        assert_eq!(e.message, "property expansion too large");
    }

    #[test]
    fn many_small_expansions_share_one_work_budget() {
        // Each value is under the length cap; together they are over the work budget.
        let mut pom = format!(
            "<project><properties><v>{}</v></properties><dependencies>",
            "1".repeat(MAX_EXPANDED_BYTES - 8)
        );
        for i in 0..(MAX_EXPANSION_WORK / MAX_EXPANDED_BYTES + 10) {
            pom.push_str(&format!(
                "<dependency><groupId>g</groupId><artifactId>a{i}</artifactId><version>${{v}}</version></dependency>"
            ));
        }
        pom.push_str("</dependencies></project>");
        let e = parse("pom.xml", pom.as_bytes()).unwrap_err();
        assert_eq!(e.message, "property expansion too large");
    }
}
