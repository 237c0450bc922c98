//! The README's commands work as written: one webhook secret and one admin token throughout the
//! quick look, and every example file it names exists.

fn readme() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every value written right after `marker` in `text`, up to a space, quote or backtick.
fn values_after(text: &str, marker: &str) -> Vec<String> {
    text.match_indices(marker)
        .map(|(i, _)| {
            text[i + marker.len()..]
                .split(|c: char| c.is_whitespace() || c == '`' || c == '\'')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn readme_uses_one_secret_and_real_example_files() {
    let text = readme();
    let mut secrets = values_after(&text, "BACKLINE_WEBHOOK_SECRET=");
    secrets.extend(values_after(&text, "--secret "));
    secrets.retain(|s| !s.is_empty() && s != "S" && !s.starts_with('.'));
    secrets.sort();
    secrets.dedup();
    assert_eq!(
        secrets.len(),
        1,
        "the README uses several secrets: {secrets:?}"
    );
    let mut admins = values_after(&text, "BACKLINE_ADMIN_TOKEN=");
    admins.extend(values_after(&text, "Authorization: Bearer "));
    admins.retain(|s| !s.is_empty() && !s.starts_with('$') && !s.starts_with('.'));
    admins.sort();
    admins.dedup();
    assert_eq!(
        admins.len(),
        1,
        "the README uses several admin tokens: {admins:?}"
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in values_after(&text, "examples/webhooks/") {
        let name = name.trim_end_matches(['.', ',', ')', ':']);
        if name.ends_with(".json") {
            let path = root.join("examples/webhooks").join(name);
            assert!(
                path.is_file(),
                "the README names {} which does not exist",
                path.display()
            );
        }
    }
}
