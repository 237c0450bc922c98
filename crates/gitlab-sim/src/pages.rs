//! Small HTML pages for people, so that the links backline shows ("Open in GitLab", MR links)
//! lead somewhere in a demo: a project page (`/<full path>`: files, merge requests) and a
//! merge request page (`/<full path>/-/merge_requests/<iid>`: title, description, diff, notes).
//! The URLs follow GitLab's routes (config/routes/project.rb, `scope '-'` then
//! `resources :merge_requests`; app/views/projects/merge_requests/show.html.haml is the real
//! page). Pages are pure: a world and a path in, HTML out; every value is escaped.

use std::fmt::Write as _;

use crate::world::{MergeRequest, Project, World};

/// HTML-escapes text for element content and quoted attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · gitlab-sim</title><style>body{{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1f2328}}\
         header{{background:#292961;color:#fff;padding:.6rem 1rem}}main{{padding:1rem;max-width:60rem;margin:auto}}\
         pre{{background:#f6f8fa;padding:.6rem;overflow-x:auto}}.add{{color:#1a7f37}}.del{{color:#cf222e}}\
         .note{{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .8rem;margin:.5rem 0}}\
         .muted{{color:#57606a}}</style></head><body><header>gitlab-sim (a simulated GitLab)</header>\
         <main>{body}</main></body></html>",
        esc(title)
    )
}

/// The page at `path`, when it names a project or one of its merge requests.
pub fn page(w: &World, path: &str) -> Option<String> {
    let path = path.trim_matches('/');
    if let Some((project_path, rest)) = path.split_once("/-/merge_requests/") {
        let iid: u64 = rest.trim_end_matches('/').parse().ok()?;
        let p = w.project(w.find_project(project_path)?).ok()?;
        let mr = p.merge_requests.iter().find(|m| m.iid == iid)?;
        return Some(merge_request_page(w, p, mr));
    }
    if path.is_empty() || path.parse::<u64>().is_ok() {
        return None;
    }
    let p = w.project(w.find_project(path)?).ok()?;
    Some(project_page(w, p))
}

fn project_page(w: &World, p: &Project) -> String {
    let full = w.project_path(p);
    let mut b = format!("<h1>{}</h1>", esc(&full));
    let head = p.repo.head(&p.default_branch);
    let _ = write!(
        b,
        "<p class=\"muted\">Default branch <code>{}</code>{}</p><h2>Files</h2><ul>",
        esc(&p.default_branch),
        head.as_ref()
            .map(|c| format!(
                ", last commit {} ({})",
                esc(&c.id[..8.min(c.id.len())]),
                esc(c.title())
            ))
            .unwrap_or_default()
    );
    for path in head.iter().flat_map(|c| c.files.keys()) {
        let _ = write!(b, "<li><code>{}</code></li>", esc(path));
    }
    let _ = write!(
        b,
        "</ul><h2>Merge requests ({})</h2><ul>",
        p.merge_requests.len()
    );
    for mr in &p.merge_requests {
        let _ = write!(
            b,
            "<li><a href=\"/{}/-/merge_requests/{}\">!{} {}</a> <span class=\"muted\">{:?}</span></li>",
            esc(&full),
            mr.iid,
            mr.iid,
            esc(&mr.title),
            mr.state
        );
    }
    b.push_str("</ul>");
    layout(&full, &b)
}

/// Lines removed and added between two texts, with their common start and end left out.
fn line_diff(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let removed = a[prefix..a.len() - suffix]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let added = b[prefix..b.len() - suffix]
        .iter()
        .map(|s| s.to_string())
        .collect();
    (removed, added)
}

fn merge_request_page(w: &World, p: &Project, mr: &MergeRequest) -> String {
    let full = w.project_path(p);
    let author = w
        .users
        .get(&mr.author_id)
        .map(|u| u.username.clone())
        .unwrap_or_default();
    let mut b = format!(
        "<p><a href=\"/{}\">{}</a></p><h1>!{} {}</h1><p class=\"muted\">{:?} · {} → {} · by {}</p>\
         <h2>Description</h2><pre>{}</pre><h2>Changes</h2>",
        esc(&full),
        esc(&full),
        mr.iid,
        esc(&mr.title),
        mr.state,
        esc(&mr.source_branch),
        esc(&mr.target_branch),
        esc(&author),
        esc(&mr.description),
    );
    let source = p
        .repo
        .resolve(&mr.sha)
        .or_else(|| p.repo.head(&mr.source_branch));
    let base = source.as_ref().and_then(|s| {
        let target = p.repo.head(&mr.target_branch)?;
        let base = p.repo.merge_base(&target.id, &s.id)?;
        p.repo.resolve(&base)
    });
    match (base, source) {
        (Some(base), Some(source)) => {
            let change = crate::repo::diff_trees(&base.files, &source.files);
            for path in change
                .added
                .iter()
                .chain(&change.modified)
                .chain(&change.removed)
            {
                let text = |files: &crate::repo::Files| {
                    files
                        .get(path)
                        .map(|f| String::from_utf8_lossy(&f.content).into_owned())
                        .unwrap_or_default()
                };
                let (removed, added) = line_diff(&text(&base.files), &text(&source.files));
                let _ = write!(b, "<h3><code>{}</code></h3><pre>", esc(path));
                for l in removed {
                    let _ = writeln!(b, "<span class=\"del\">-{}</span>", esc(&l));
                }
                for l in added {
                    let _ = writeln!(b, "<span class=\"add\">+{}</span>", esc(&l));
                }
                b.push_str("</pre>");
            }
        }
        _ => b.push_str("<p class=\"muted\">The source branch is gone.</p>"),
    }
    let _ = write!(b, "<h2>Notes ({})</h2>", mr.notes.len());
    for n in &mr.notes {
        let who = w
            .users
            .get(&n.author_id)
            .map(|u| u.username.clone())
            .unwrap_or_default();
        let _ = write!(
            b,
            "<div class=\"note\"><b>{}</b>{}<pre>{}</pre></div>",
            esc(&who),
            if n.system {
                " <span class=\"muted\">(system)</span>"
            } else {
                ""
            },
            esc(&n.body)
        );
    }
    layout(&format!("!{} {}", mr.iid, mr.title), &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_leave_out_the_common_lines() {
        let (removed, added) = line_diff("a\nversion = 1\nz\n", "a\nversion = 2\nz\n");
        assert_eq!(
            (removed, added),
            (
                vec!["version = 1".to_string()],
                vec!["version = 2".to_string()]
            )
        );
        assert_eq!(esc("<a href=\"x\">"), "&lt;a href=&quot;x&quot;&gt;");
    }
}
