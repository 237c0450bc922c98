//! GitLab's `CODEOWNERS`: where it is looked for, its syntax, and who owns a path. Pure.
//!
//! Modelled on GitLab's own reader (ee/lib/gitlab/code_owners/file.rb, ee/lib/gitlab/
//! code_owners/entry.rb, ee/lib/gitlab/code_owners/section_parser.rb) and its documentation
//! (doc/user/project/codeowners/reference.md, advanced.md):
//!
//! - the file is the first of [`LOCATIONS`] found on the branch;
//! - `#` starts a comment (`\#` escapes a leading `#`); `\ ` is a space inside a path;
//! - `[Name]`, `^[Optional name]`, `[Name][2]`, each optionally followed by default owners,
//!   start a section; entries before the first section form an unnamed section; sections of
//!   the same name (case-insensitive) are one section;
//! - inside a section the **last** matching pattern wins; every section with a match adds
//!   its owners;
//! - a pattern not starting with `/` matches at any depth (`/**/` is put before it); a pattern
//!   ending with `/` matches everything under that directory; `*` alone is every file;
//!   matching is `File.fnmatch` with `FNM_PATHNAME | FNM_DOTMATCH` (`*` and `?` never cross
//!   `/`, `**/` is any run of directories, dotfiles match);
//! - `!pattern` (an exclusion) makes matching files have no owner in that section;
//! - owners are `@user`, `@group/subgroup`, `@@role` or e-mail addresses.

/// Where GitLab looks for the file, in order; the first found is used.
pub const LOCATIONS: [&str; 3] = ["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"];

/// One owner as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// `@name` with no `/`: a user or a top-level group (GitLab tells them apart by asking).
    Name(String),
    /// `@group/subgroup`: a group.
    Group(String),
    /// `@@developer`: a role.
    Role(String),
    /// `someone@example.com`.
    Email(String),
}

impl Owner {
    fn parse(word: &str) -> Option<Owner> {
        if let Some(role) = word.strip_prefix("@@") {
            return (!role.is_empty()).then(|| Owner::Role(role.to_string()));
        }
        if let Some(name) = word.strip_prefix('@') {
            if name.is_empty() {
                return None;
            }
            return Some(if name.contains('/') {
                Owner::Group(name.to_string())
            } else {
                Owner::Name(name.to_string())
            });
        }
        word.contains('@').then(|| Owner::Email(word.to_string()))
    }
}

/// One rule: a pattern and its owners.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The normalized fnmatch pattern (always starting with `/`).
    pattern: String,
    /// An exclusion (`!pattern`).
    exclude: bool,
    owners: Vec<Owner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Section {
    /// Lowercase name (`""` for the entries before the first section).
    key: String,
    /// The name as first written.
    name: String,
    optional: bool,
    entries: Vec<Entry>,
}

/// A parsed `CODEOWNERS` file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeOwners {
    sections: Vec<Section>,
}

/// The owners of one path, by section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    /// The section (`""` outside any).
    pub section: String,
    /// Optional (`^[...]`).
    pub optional: bool,
    /// Its owners.
    pub owners: Vec<Owner>,
}

/// `[Name]`, `^[Name]`, `[Name][2]`, with the default owners after it.
fn section_header(line: &str) -> Option<(bool, String, Vec<Owner>)> {
    let (optional, rest) = match line.strip_prefix('^') {
        Some(r) => (true, r),
        None => (false, line),
    };
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    let name = rest[..close].trim();
    if name.is_empty() {
        return None;
    }
    let mut after = &rest[close + 1..];
    // The number of approvals: `[Name][2]`.
    if let Some(r) = after.strip_prefix('[') {
        let end = r.find(']')?;
        if !r[..end].chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        after = &r[end + 1..];
    }
    if !after.is_empty() && !after.starts_with(char::is_whitespace) {
        return None;
    }
    let owners = after.split_whitespace().filter_map(Owner::parse).collect();
    Some((optional, name.to_string(), owners))
}

/// Splits `path owner owner` on unescaped whitespace; `\ ` is a space in the path.
fn split_entry(line: &str) -> (String, &str) {
    let mut path = String::new();
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            if let Some(&(_, n)) = chars.peek() {
                if n.is_whitespace() {
                    path.push(n);
                    chars.next();
                    continue;
                }
            }
            path.push(c);
        } else if c.is_whitespace() {
            return (path, &line[i..]);
        } else {
            path.push(c);
        }
    }
    (path, "")
}

/// GitLab's `normalize_pattern` (ee/lib/gitlab/code_owners/entry.rb).
fn normalize(pattern: &str) -> String {
    let pattern = match pattern.strip_prefix("\\#") {
        Some(rest) => format!("#{rest}"),
        None => pattern.to_string(),
    };
    if pattern == "*" {
        return "/**/*".into();
    }
    let mut p = if pattern.starts_with('/') {
        pattern
    } else {
        format!("/**/{pattern}")
    };
    if p.ends_with('/') {
        p.push_str("**/*");
    }
    p
}

impl CodeOwners {
    /// Parses the file's text (lines GitLab would refuse are skipped, as GitLab matches with
    /// the valid ones).
    pub fn parse(text: &str) -> CodeOwners {
        let mut sections = vec![Section {
            key: String::new(),
            name: String::new(),
            optional: false,
            entries: Vec::new(),
        }];
        let mut current = 0usize;
        let mut defaults: Vec<Owner> = Vec::new();
        for raw in text.lines() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') || line.starts_with("^[") {
                if let Some((optional, name, owners)) = section_header(line) {
                    let key = name.to_lowercase();
                    current = match sections.iter().position(|s| s.key == key) {
                        Some(i) => i,
                        None => {
                            sections.push(Section {
                                key,
                                name,
                                optional,
                                entries: Vec::new(),
                            });
                            sections.len() - 1
                        }
                    };
                    defaults = owners;
                    continue;
                }
            }
            let (path, rest) = split_entry(line);
            let (exclude, path) = match path.strip_prefix('!') {
                Some(p) => (true, p.to_string()),
                None => (false, path),
            };
            if path.is_empty() {
                continue;
            }
            let mut owners: Vec<Owner> = rest.split_whitespace().filter_map(Owner::parse).collect();
            if owners.is_empty() && !exclude {
                owners = defaults.clone();
            }
            if owners.is_empty() && !exclude {
                continue;
            }
            sections[current].entries.push(Entry {
                pattern: normalize(&path),
                exclude,
                owners,
            });
        }
        sections.retain(|s| !s.entries.is_empty());
        CodeOwners { sections }
    }

    /// The owners of `path` (relative to the repository root), one item per section with a
    /// match: in each section the last matching entry.
    pub fn owners_of(&self, path: &str) -> Vec<Ownership> {
        let full = format!("/{}", path.trim_start_matches('/'));
        self.sections
            .iter()
            .filter_map(|s| {
                let e = s
                    .entries
                    .iter()
                    .rev()
                    .find(|e| fnmatch(&e.pattern, &full))?;
                (!e.exclude).then(|| Ownership {
                    section: s.name.clone(),
                    optional: s.optional,
                    owners: e.owners.clone(),
                })
            })
            .collect()
    }

    /// Every owner of `path` over all sections, each once, in the order first named.
    pub fn all_owners_of(&self, path: &str) -> Vec<Owner> {
        let mut all: Vec<Owner> = Vec::new();
        for o in self.owners_of(path).into_iter().flat_map(|s| s.owners) {
            if !all.contains(&o) {
                all.push(o);
            }
        }
        all
    }
}

/// Ruby's `File.fnmatch?(pattern, path, FNM_PATHNAME | FNM_DOTMATCH)`: `*` is any run within
/// a segment, `?` one character of a segment, `[...]` a class, `**/` any run of whole
/// directories (also none), `\x` the character itself.
pub fn fnmatch(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = path.chars().collect();
    matches(&p, &s)
}

fn matches(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') if p.get(1) == Some(&'*') && p.get(2) == Some(&'/') => {
            // `**/`: zero or more whole directories.
            let rest = &p[3..];
            if matches(rest, s) {
                return true;
            }
            let mut i = 0;
            while i < s.len() {
                if s[i] == '/' && matches(rest, &s[i + 1..]) {
                    return true;
                }
                i += 1;
            }
            false
        }
        Some('*') => {
            let rest = &p[1..];
            let mut i = 0;
            loop {
                if matches(rest, &s[i..]) {
                    return true;
                }
                if i >= s.len() || s[i] == '/' {
                    return false;
                }
                i += 1;
            }
        }
        Some('?') => match s.first() {
            Some(c) if *c != '/' => matches(&p[1..], &s[1..]),
            _ => false,
        },
        Some('[') => {
            let Some(c) = s.first().copied().filter(|c| *c != '/') else {
                return false;
            };
            match class(&p[1..], c) {
                Some((hit, used)) => hit && matches(&p[1 + used..], &s[1..]),
                // No closing `]`: a literal `[`.
                None => c == '[' && matches(&p[1..], &s[1..]),
            }
        }
        Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && matches(&p[2..], &s[1..]),
        Some(c) => s.first() == Some(c) && matches(&p[1..], &s[1..]),
    }
}

/// A `[...]` class after its `[`: whether `c` is in it and how many characters it used
/// (with the `]`); `None` when it is not closed.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = matches!(p.first(), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        let lo = p[i];
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if lo <= c && c <= p[i + 2] {
                hit = true;
            }
            i += 3;
        } else {
            if lo == c {
                hit = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(o: &[Owner]) -> Vec<String> {
        o.iter()
            .map(|o| match o {
                Owner::Name(n) | Owner::Group(n) | Owner::Role(n) | Owner::Email(n) => n.clone(),
            })
            .collect()
    }

    /// The example of doc/user/project/codeowners/reference.md.
    const REFERENCE: &str = "\
# Specify a default Code Owner for all files with a wildcard:
* @default-owner

# Specify multiple Code Owners to a specific file:
README.md @doc-team @tech-lead

# Specify a Code Owner to all files with a specific extension:
*.rb @ruby-owner

# Specify Code Owners with usernames or email addresses:
LICENSE @legal janedoe@gitlab.com

# Use group names to match groups and nested groups:
README @group @group/with-nested/subgroup

# Specify a Code Owner to a directory and all its contents:
/docs/ @all-docs
/docs/* @root-docs
/docs/**/*.md @root-docs

# Use a section to group related rules:
[Documentation]
ee/docs    @docs
docs       @docs

# Assign a role as a Code Owner:
/config/ @@maintainer
";

    #[test]
    fn last_match_wins_inside_a_section() {
        let c = CodeOwners::parse(REFERENCE);
        assert_eq!(
            names(&c.all_owners_of("app/models/user.rb")),
            ["ruby-owner"]
        );
        assert_eq!(
            names(&c.all_owners_of("README.md")),
            ["doc-team", "tech-lead"]
        );
        assert_eq!(
            names(&c.all_owners_of("sub/dir/README.md")),
            ["doc-team", "tech-lead"],
            "a pattern without a leading slash matches at any depth"
        );
        assert_eq!(
            names(&c.all_owners_of("package-lock.json")),
            ["default-owner"]
        );
        assert_eq!(names(&c.all_owners_of(".gitignore")), ["default-owner"]);
        assert_eq!(
            c.all_owners_of("LICENSE"),
            [
                Owner::Name("legal".into()),
                Owner::Email("janedoe@gitlab.com".into())
            ]
        );
        assert_eq!(
            c.all_owners_of("README"),
            [
                Owner::Name("group".into()),
                Owner::Group("group/with-nested/subgroup".into())
            ]
        );
    }

    #[test]
    fn directories_depths_and_sections() {
        let c = CodeOwners::parse(REFERENCE);
        // `/docs/*` is a direct child; `/docs/**/*.md` wins for markdown anywhere below.
        assert_eq!(names(&c.all_owners_of("docs/index.html")), ["root-docs"]);
        assert_eq!(names(&c.all_owners_of("docs/a/b.md")), ["root-docs"]);
        assert_eq!(names(&c.all_owners_of("docs/a/b.html")), ["all-docs"]);
        // The `[Documentation]` section adds `docs` (a file or directory named docs).
        let o = c.owners_of("docs");
        assert_eq!(o.len(), 2);
        assert_eq!(o[1].section, "Documentation");
        assert_eq!(names(&o[1].owners), ["docs"]);
        // `/config/` comes after `[Documentation]`: it is in that section.
        assert_eq!(
            c.all_owners_of("config/app.yml"),
            [
                Owner::Name("default-owner".into()),
                Owner::Role("maintainer".into())
            ]
        );
    }

    /// doc/user/project/codeowners/advanced.md: sections, default owners, optional sections.
    #[test]
    fn section_defaults_optional_sections_and_merged_names() {
        let c = CodeOwners::parse(
            "* @general-approvers\n\n[Documentation][2] @docs-team\ndocs/\nREADME.md\n*.txt\n\n\
             ^[Database] @database-team\nmodel/db/\nconfig/db/database-setup.md @docs-team\n\n\
             [documentation]\n/api/*.md @api-docs\n",
        );
        let o = c.owners_of("model/db/schema.rb");
        assert_eq!(o.len(), 2);
        assert_eq!(names(&o[0].owners), ["general-approvers"]);
        assert_eq!(o[1].section, "Database");
        assert!(o[1].optional);
        assert_eq!(names(&o[1].owners), ["database-team"]);
        assert_eq!(
            names(&c.all_owners_of("config/db/database-setup.md")),
            ["general-approvers", "docs-team"]
        );
        assert_eq!(
            names(&c.all_owners_of("notes.txt")),
            ["general-approvers", "docs-team"]
        );
        // A second `[documentation]` (any case) is the same section.
        let o = c.owners_of("api/index.md");
        assert_eq!(o[1].section, "Documentation");
        assert_eq!(names(&o[1].owners), ["api-docs"]);
    }

    #[test]
    fn exclusions_escapes_and_comments() {
        let c = CodeOwners::parse(
            "* @all\n!package-lock.json\n\\#notes @hash\nmy\\ dir/ @spaced\n# x @nobody\n",
        );
        assert!(c.owners_of("package-lock.json").is_empty());
        assert!(c.owners_of("sub/package-lock.json").is_empty());
        assert_eq!(names(&c.all_owners_of("Cargo.lock")), ["all"]);
        assert_eq!(names(&c.all_owners_of("#notes")), ["hash"]);
        assert_eq!(names(&c.all_owners_of("my dir/a/Cargo.lock")), ["spaced"]);
        assert!(CodeOwners::parse("# only a comment\n")
            .owners_of("a")
            .is_empty());
    }

    #[test]
    fn fnmatch_like_ruby_with_pathname_and_dotmatch() {
        assert!(fnmatch("/**/*", "/a/b/.env"));
        assert!(fnmatch("/**/*.rb", "/x.rb"));
        assert!(fnmatch("/**/*.rb", "/a/b/x.rb"));
        assert!(!fnmatch("/*.rb", "/a/x.rb"), "* never crosses /");
        assert!(fnmatch("/docs/**/*", "/docs/a/b/c"));
        assert!(fnmatch("/a?c", "/abc"));
        assert!(!fnmatch("/a?c", "/a/c"));
        assert!(fnmatch("/[a-c]x", "/bx"));
        assert!(!fnmatch("/[!a-c]x", "/bx"));
        assert!(fnmatch("/lock[", "/lock["));
    }
}
