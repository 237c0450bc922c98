//! Where a direct NuGet dependency's version lives, and its edit: a project file's
//! `<PackageReference Include="X" Version="1.2.3" />` (or `VersionOverride`, or a nested
//! `<Version>1.2.3</Version>` element), or with central package management the
//! `Directory.Packages.props`'s `<PackageVersion Include="X" Version="1.2.3" />`
//! (<https://learn.microsoft.com/nuget/consume-packages/package-references-in-project-files>,
//! <https://learn.microsoft.com/nuget/consume-packages/central-package-management>).
//! Only the version's characters change; every other byte of the XML stays.

use super::version::normalize;

/// Which files a lock's edit may need, from a repository tree listing: the project files
/// (`*.csproj`, `*.fsproj`, `*.vbproj`) beside the `packages.lock.json`, and the nearest
/// `Directory.Packages.props` at or above its folder (MSBuild imports the nearest one).
pub fn files_for(lock_path: &str, tree: &[String]) -> Vec<String> {
    let dir = lock_path.rsplit_once('/').map_or("", |(d, _)| d);
    let in_dir = |p: &str| p.rsplit_once('/').map_or("", |(d, _)| d) == dir;
    let mut out: Vec<String> = tree
        .iter()
        .filter(|p| {
            let lower = p.to_ascii_lowercase();
            in_dir(p)
                && [".csproj", ".fsproj", ".vbproj"]
                    .iter()
                    .any(|e| lower.ends_with(e))
        })
        .cloned()
        .collect();
    out.sort();
    let mut folder = Some(dir.to_string());
    while let Some(d) = folder {
        let candidate = if d.is_empty() {
            "Directory.Packages.props".to_string()
        } else {
            format!("{d}/Directory.Packages.props")
        };
        if tree.contains(&candidate) {
            out.push(candidate);
            break;
        }
        folder = if d.is_empty() {
            None
        } else {
            Some(d.rsplit_once('/').map_or("", |(p, _)| p).to_string())
        };
    }
    out
}

/// A version found in an XML file: the byte range of its text and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte range of the version text in the file.
    pub range: std::ops::Range<usize>,
    /// The version text.
    pub text: String,
}

/// What a project file says of a package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct References {
    /// Versions written on `PackageReference`/`PackageVersion` items (attribute or element).
    pub versions: Vec<Found>,
    /// Whether a `PackageReference` names the package without a version (central management).
    pub versionless: bool,
}

/// Why a project file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not parse {file} at line {line}: {message}")]
pub struct XmlError {
    /// The file.
    pub file: String,
    /// The line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// The items `element` (`PackageReference` or `PackageVersion`) naming `package` in `text`.
pub fn references(
    file: &str,
    text: &str,
    element: &str,
    package: &str,
) -> Result<References, XmlError> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let doc = roxmltree::Document::parse(&text[bom..]).map_err(|e| XmlError {
        file: file.to_string(),
        line: e.pos().row,
        message: e.to_string(),
    })?;
    let mut out = References::default();
    for node in doc.descendants().filter(|n| n.has_tag_name(element)) {
        let names = node
            .attribute("Include")
            .or_else(|| node.attribute("Update"))
            .unwrap_or("");
        if !names
            .split(';')
            .any(|n| n.trim().eq_ignore_ascii_case(package))
        {
            continue;
        }
        let mut found = false;
        for attr in node.attributes() {
            if attr.name() == "Version" || attr.name() == "VersionOverride" {
                let r = attr.range_value();
                let raw = &text[bom + r.start..bom + r.end];
                if raw == attr.value() {
                    out.versions.push(Found {
                        range: bom + r.start..bom + r.end,
                        text: raw.to_string(),
                    });
                    found = true;
                }
            }
        }
        for child in node.children().filter(|c| {
            c.is_element() && (c.has_tag_name("Version") || c.has_tag_name("VersionOverride"))
        }) {
            if let Some(t) = child.first_child().filter(|t| t.is_text()) {
                let r = t.range();
                let raw = &text[bom + r.start..bom + r.end];
                let trimmed = raw.trim();
                let lead = raw.len() - raw.trim_start().len();
                if Some(trimmed) == t.text().map(str::trim) {
                    out.versions.push(Found {
                        range: bom + r.start + lead..bom + r.start + lead + trimmed.len(),
                        text: trimmed.to_string(),
                    });
                    found = true;
                }
            }
        }
        if !found {
            out.versionless = true;
        }
    }
    Ok(out)
}

/// Whether a version written in a project file pins `from`: `1.2.3`, `1.2.3.0`, `[1.2.3, )`.
pub fn pins(written: &str, from: &str) -> bool {
    let w = written.trim();
    let bare = w
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(", )").or_else(|| s.strip_suffix(",)")));
    let v = bare.unwrap_or(w);
    matches!((normalize(v), normalize(from)), (Some(a), Some(b)) if a.eq_ignore_ascii_case(&b))
}

/// The new text for a version that pins `from`: the same shape with `to`.
pub fn replacement(written: &str, to: &str) -> String {
    let w = written.trim();
    if w.starts_with('[') {
        format!("[{to}, )")
    } else {
        to.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_files_beside_and_props_above() {
        let tree: Vec<String> = [
            "Directory.Packages.props",
            "src/Directory.Packages.props",
            "src/App/App.csproj",
            "src/App/packages.lock.json",
            "src/App/Sub/Other.csproj",
            "src/Lib/Lib.fsproj",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            files_for("src/App/packages.lock.json", &tree),
            vec!["src/App/App.csproj", "src/Directory.Packages.props"]
        );
        assert_eq!(
            files_for("packages.lock.json", &tree),
            vec!["Directory.Packages.props"]
        );
    }

    #[test]
    fn attribute_element_and_versionless_references() {
        let xml = "\u{feff}<Project Sdk=\"Microsoft.NET.Sdk\">\r\n  <ItemGroup>\r\n    <PackageReference Include=\"Newtonsoft.Json\" Version=\"12.0.3\" />\r\n    <PackageReference Include=\"serilog\">\r\n      <Version> 2.10.0 </Version>\r\n    </PackageReference>\r\n    <PackageReference Include=\"Polly\" />\r\n  </ItemGroup>\r\n</Project>\r\n";
        let r = references("a.csproj", xml, "PackageReference", "newtonsoft.json").unwrap();
        assert_eq!(r.versions.len(), 1);
        assert_eq!(&xml[r.versions[0].range.clone()], "12.0.3");
        let r = references("a.csproj", xml, "PackageReference", "Serilog").unwrap();
        assert_eq!(&xml[r.versions[0].range.clone()], "2.10.0");
        let r = references("a.csproj", xml, "PackageReference", "Polly").unwrap();
        assert!(r.versions.is_empty() && r.versionless);
        let e = references("a.csproj", "<Project>\n<ItemGroup>\n</Project>", "X", "y").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(pins("[12.0.3, )", "12.0.3") && pins("12.0.3.0", "12.0.3") && !pins("$(V)", "1.0"));
        assert_eq!(replacement("[12.0.3, )", "13.0.1"), "[13.0.1, )");
    }
}
