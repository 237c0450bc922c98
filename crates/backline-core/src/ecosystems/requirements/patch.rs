//! pip `requirements*.txt`: a pin `name==a` becomes `name==b`, in the file itself or in a file
//! it includes (`-r`) or constrains with (`-c`).
//!
//! Extras, markers, comments and continuation lines stay as written. When the pin carries
//! `--hash` options, they are replaced by the new release's SHA-256 digests (sorted, as
//! pip-compile writes them), one per line in the same layout, or inline when they were
//! inline. The new release's `requires_dist` is checked, best effort, against the pins of the
//! same file: a requirement without markers whose project is pinned outside its specifier
//! makes the patch refused. Anything but an `==`/`===` pin is refused.

use super::syntax::{self, MAX_DEPTH};
use crate::deps::{self, pep503, text, ParseError};
use crate::remediation::patch::{
    apply_edits, line_ending, lines_with_offsets, not_fixable, FileChange, PatchError, PatchRequest,
};

/// Edits the requirements file (or the included one holding the pin).
pub(crate) fn patch(req: &PatchRequest, bytes: &[u8]) -> Result<Vec<FileChange>, PatchError> {
    let path = req.manifest_path;
    deps::parse(path, bytes, req.files)?;
    let Some(release) = req
        .facts
        .pypi_release
        .as_ref()
        .filter(|r| r.version == req.to)
    else {
        return not_fixable(format!(
            "the PyPI entry of {} {} was not fetched",
            req.package, req.to
        ));
    };
    let mut hashes: Vec<String> = release.files.iter().map(|(_, h)| h.clone()).collect();
    hashes.sort();
    hashes.dedup();
    let mut seen = vec![path.to_string()];
    match find_and_edit(req, path, bytes.to_vec(), &hashes, &mut seen, 0)? {
        Some(change) => {
            check_requires(req, &release.requires_dist, &change)?;
            Ok(vec![change])
        }
        None => not_fixable(format!(
            "{path} does not pin {}=={} (only `==` pins are edited)",
            req.package, req.from
        )),
    }
}

fn find_and_edit(
    req: &PatchRequest,
    path: &str,
    bytes: Vec<u8>,
    hashes: &[String],
    seen: &mut Vec<String>,
    depth: usize,
) -> Result<Option<FileChange>, PatchError> {
    let text = String::from_utf8(bytes)
        .map_err(|_| ParseError::new(path, None, "the file is not valid UTF-8"))?;
    if let Some(new) = edit_text(path, &text, req, hashes)? {
        return Ok(Some(FileChange {
            path: path.to_string(),
            content: new.into_bytes(),
        }));
    }
    if depth >= MAX_DEPTH {
        return Ok(None);
    }
    for line in text.lines() {
        let Some((target, _)) = syntax::include_target(syntax::strip_comment(line).trim()) else {
            continue;
        };
        if target.is_empty() {
            continue;
        }
        let Some(inc) = text::join(text::dir_of(path), target) else {
            continue;
        };
        if seen.contains(&inc) {
            continue;
        }
        seen.push(inc.clone());
        if let Some(b) = (req.files)(&inc) {
            if let Some(c) = find_and_edit(req, &inc, b, hashes, seen, depth + 1)? {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

/// The new text, or `None` when this file has no such pin.
fn edit_text(
    path: &str,
    text: &str,
    req: &PatchRequest,
    hashes: &[String],
) -> Result<Option<String>, PatchError> {
    let lines = lines_with_offsets(text);
    let nl = line_ending(text);
    let want = pep503(req.package);
    let mut i = 0;
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    while i < lines.len() {
        // One logical line: physical lines joined by trailing backslashes.
        let first = i;
        while i < lines.len() && content(lines[i].1).ends_with('\\') {
            i += 1;
        }
        let last = i.min(lines.len() - 1);
        i += 1;
        let (off, line) = lines[first];
        let body = content(line);
        let t = body.trim_start();
        if t.is_empty() || t.starts_with('#') || t.starts_with('-') {
            continue;
        }
        let lead = body.len() - t.len();
        let name_len = syntax::name_len(t);
        if pep503(&t[..name_len]) != want {
            continue;
        }
        // The version after `==`/`===` in the specifier part of the first line.
        let spec_end = [";", " #", " --", "\t--", " \\"]
            .iter()
            .filter_map(|s| t.find(s))
            .min()
            .unwrap_or(t.len());
        let spec = &t[..spec_end];
        let Some(eq) = spec.find("==") else { continue };
        let vstart = eq + spec[eq..].find(|c: char| c != '=' && c != ' ').unwrap_or(0);
        let vlen = spec[vstart..]
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || matches!(c, '.' | '!' | '+' | '-' | '_' | '*'))
            })
            .unwrap_or(spec.len() - vstart);
        if &spec[vstart..vstart + vlen] != req.from {
            continue;
        }
        let at = off + lead + vstart;
        edits.push((at, at + vlen, req.to.to_string()));

        // Hash options anywhere in the logical line.
        let mut own_line: Vec<usize> = Vec::new();
        let mut inline: Vec<(usize, usize)> = Vec::new();
        for (k, &(loff, l)) in lines.iter().enumerate().take(last + 1).skip(first) {
            let c = content(l);
            let mut from = 0;
            while let Some(p) = c[from..].find("--hash") {
                let s = from + p;
                let e = c[s..]
                    .find([' ', '\t', '\\'])
                    .map(|x| s + x)
                    .unwrap_or(c.len());
                if k != first
                    && c.trim_start().starts_with("--hash")
                    && c.trim().trim_end_matches('\\').trim() == &c[s..e]
                {
                    own_line.push(k);
                } else {
                    inline.push((loff + s, loff + e));
                }
                from = e;
            }
        }
        if own_line.is_empty() && inline.is_empty() {
            continue;
        }
        if hashes.is_empty() {
            return not_fixable(format!(
                "{path} pins {} with hashes, and PyPI lists no files for {} {}",
                req.package, req.package, req.to
            ));
        }
        if !own_line.is_empty() && !inline.is_empty() {
            return not_fixable(format!(
                "{path}: the hashes of {} are laid out in a way backline does not edit",
                req.package
            ));
        }
        if !inline.is_empty() {
            let joined = hashes
                .iter()
                .map(|h| format!("--hash=sha256:{h}"))
                .collect::<Vec<_>>()
                .join(" ");
            let (s, _) = inline[0];
            let (_, e) = inline[inline.len() - 1];
            edits.push((s, e, joined));
            continue;
        }
        let (k0, k1) = (own_line[0], own_line[own_line.len() - 1]);
        if own_line.len() != k1 - k0 + 1 {
            return not_fixable(format!(
                "{path}: the hashes of {} are interleaved with other options",
                req.package
            ));
        }
        let first_line = content(lines[k0].1);
        let indent = &first_line[..first_line.len() - first_line.trim_start().len()];
        let last_line = content(lines[k1].1);
        let last_cont = last_line.trim_end().ends_with('\\');
        let mut out = String::new();
        for (j, h) in hashes.iter().enumerate() {
            out.push_str(&format!("{indent}--hash=sha256:{h}"));
            if j + 1 < hashes.len() || last_cont {
                out.push_str(" \\");
            }
            if j + 1 < hashes.len() {
                out.push_str(nl);
            }
        }
        let start = lines[k0].0;
        let end = lines[k1].0 + content(lines[k1].1).len();
        edits.push((start, end, out));
    }
    if edits.is_empty() {
        return Ok(None);
    }
    Ok(Some(apply_edits(text, edits)))
}

/// A physical line without its ending.
fn content(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

/// Best effort: the new version's requirements against the pins of the patched file.
fn check_requires(
    req: &PatchRequest,
    requires: &[String],
    change: &FileChange,
) -> Result<(), PatchError> {
    let pins = match deps::requirements::parse(&change.path, &change.content, &|_| None) {
        Ok(p) => p,
        Err(_) => return Ok(()),
    };
    for r in requires.iter().filter(|r| !r.contains(';')) {
        let (name, spec) = syntax::name_and_specifier(r);
        let Some(pin) = pins
            .iter()
            .find(|d| pep503(&d.name) == pep503(name))
            .and_then(|d| d.version.as_deref())
        else {
            continue;
        };
        if syntax::pep440_satisfies(spec, pin) == Some(false) {
            return not_fixable(format!(
                "{} {} needs `{name}` {spec}, {} pins {pin}",
                req.package, req.to, change.path
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::ecosystems::requirements::syntax::pep440_satisfies;
    use crate::registry::PypiRelease;
    use crate::remediation::patch::{patch, PatchError, PatchRequest, RegistryFacts};

    fn jinja(requires: &[&str]) -> PypiRelease {
        PypiRelease {
            name: "Jinja2".into(),
            version: "2.11.3".into(),
            files: vec![
                (
                    "Jinja2-2.11.3.tar.gz".into(),
                    "a6d58433de0ae800347cab1fa3043cebbabe8baa9d29e668f1c768cb87a333c6".into(),
                ),
                (
                    "Jinja2-2.11.3-py2.py3-none-any.whl".into(),
                    "03e47ad063331dd6a3f04a43eddca8a966a26ba0c5b7207a9a9e4e08f1b29419".into(),
                ),
            ],
            requires_dist: requires.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn run(files: &[(&str, &str)], rel: PypiRelease) -> Result<Vec<(String, String)>, PatchError> {
        let owned: Vec<(String, String)> = files
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let lookup = move |p: &str| {
            owned
                .iter()
                .find(|(a, _)| a == p)
                .map(|(_, b)| b.clone().into_bytes())
        };
        let facts = RegistryFacts {
            pypi_release: Some(rel),
            ..Default::default()
        };
        let req = PatchRequest {
            manifest_path: files[0].0,
            package: "jinja2",
            from: "2.10",
            to: "2.11.3",
            direct: true,
            files: &lookup,
            facts: &facts,
        };
        patch(&req).map(|cs| {
            cs.into_iter()
                .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
                .collect()
        })
    }

    #[test]
    fn plain_pin_with_extras_marker_and_comment() {
        let txt = "# web deps\nflask==1.0.2\nJinja2[i18n]==2.10 ; python_version >= \"3.6\"  # templating\nmarkupsafe==1.1.1\n";
        let out = run(
            &[("requirements.txt", txt)],
            jinja(&["MarkupSafe (>=0.23)"]),
        )
        .unwrap();
        assert_eq!(
            out,
            vec![(
                "requirements.txt".to_string(),
                "# web deps\nflask==1.0.2\nJinja2[i18n]==2.11.3 ; python_version >= \"3.6\"  # templating\nmarkupsafe==1.1.1\n".to_string()
            )]
        );
    }

    #[test]
    fn hashes_are_replaced_in_their_layout() {
        let txt = "jinja2==2.10 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n    # via flask\nmarkupsafe==1.1.1 \\\n    --hash=sha256:cccc\n";
        let out = run(&[("requirements.txt", txt)], jinja(&[])).unwrap();
        assert_eq!(
            out[0].1,
            "jinja2==2.11.3 \\\n    --hash=sha256:03e47ad063331dd6a3f04a43eddca8a966a26ba0c5b7207a9a9e4e08f1b29419 \\\n    --hash=sha256:a6d58433de0ae800347cab1fa3043cebbabe8baa9d29e668f1c768cb87a333c6\n    # via flask\nmarkupsafe==1.1.1 \\\n    --hash=sha256:cccc\n"
        );
        let inline = "jinja2==2.10 --hash=sha256:aaaa --hash=sha256:bbbb\r\n";
        let out = run(&[("requirements.txt", inline)], jinja(&[])).unwrap();
        assert_eq!(
            out[0].1,
            "jinja2==2.11.3 --hash=sha256:03e47ad063331dd6a3f04a43eddca8a966a26ba0c5b7207a9a9e4e08f1b29419 --hash=sha256:a6d58433de0ae800347cab1fa3043cebbabe8baa9d29e668f1c768cb87a333c6\r\n"
        );
    }

    #[test]
    fn included_file_and_refusals() {
        let out = run(
            &[
                ("requirements/prod.txt", "-r base.txt\nflask==1.0.2\n"),
                ("requirements/base.txt", "Jinja2==2.10\n"),
            ],
            jinja(&[]),
        )
        .unwrap();
        assert_eq!(
            out[0],
            ("requirements/base.txt".into(), "Jinja2==2.11.3\n".into())
        );
        let e = run(&[("requirements.txt", "jinja2>=2.10\n")], jinja(&[])).unwrap_err();
        assert!(e.to_string().contains("does not pin jinja2==2.10"), "{e}");
        let e = run(
            &[("requirements.txt", "jinja2==2.10\nMarkupSafe==0.20\n")],
            jinja(&["MarkupSafe (>=0.23)", "Babel (>=0.8) ; extra == \"i18n\""]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "not fixable by an edit: jinja2 2.11.3 needs `MarkupSafe` >=0.23, requirements.txt pins 0.20"
        );
    }

    #[test]
    fn no_panic_on_damaged_input() {
        let facts = RegistryFacts {
            pypi_release: Some(jinja(&["MarkupSafe (>=0.23)"])),
            ..Default::default()
        };
        let txt = "jinja2[i18n]==2.10 ; python_version > \"3\" \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n    # via flask\nmarkupsafe==1.1.1 --hash=sha256:cc # é\n";
        crate::remediation::patch::assert_no_panic(
            "requirements.txt",
            txt,
            "jinja2",
            "2.10",
            "2.11.3",
            &facts,
        );
    }

    #[test]
    fn pep440_subset() {
        assert_eq!(pep440_satisfies(">=0.23", "1.1.1"), Some(true));
        assert_eq!(pep440_satisfies(">=2.0,<3", "3.0"), Some(false));
        assert_eq!(pep440_satisfies("~=2.2", "2.9"), Some(true));
        assert_eq!(pep440_satisfies("~=2.2.1", "2.3"), Some(false));
        assert_eq!(pep440_satisfies("==1.*", "1.4"), Some(true));
        assert_eq!(pep440_satisfies(">=1", "1.0rc1"), None);
    }
}
