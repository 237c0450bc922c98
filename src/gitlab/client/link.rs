//! Pagination: the `Link` header (keyset and offset) and `X-Next-Page`, and the rule that the
//! token only ever goes to the configured GitLab's origin.
//!
//! GitLab builds `Link` from its own configured host and port (`external_url`), not from the
//! address the client called (`lib/gitlab/pagination/offset_header_builder.rb` and
//! `keyset/header_builder.rb`: `base_request_uri` sets `Gitlab.config.gitlab.host` / `.port`
//! on the request URL). Behind an internal service name, an IP or another port the link names
//! another origin; its path and query still say which page comes next, so a link whose path is
//! under the configured API root is rebuilt on the configured origin. Any other link falls back
//! to `X-Next-Page`, and without one it is refused.

use reqwest::Url;

/// The `rel="next"` target of a `Link` header, if any.
pub fn next_link(header: &str) -> Option<&str> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| v.trim_matches('"').split_whitespace().any(|r| r == "next"))
                .unwrap_or(false)
        });
        is_next.then_some(target)
    })
}

/// Scheme, host and port of a URL, as `https://host:443`.
pub fn origin_of(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Where the next page is: the `Link` next target (which must be on `base`'s origin), else the
/// current URL with `page` set to `X-Next-Page`. `Ok(None)` on the last page.
pub fn next_page_url(
    current: &Url,
    base: &Url,
    link: Option<&str>,
    x_next_page: Option<&str>,
) -> Result<Option<Url>, String> {
    let mut foreign = None;
    if let Some(target) = link.and_then(next_link) {
        let next = current
            .join(target)
            .map_err(|_| format!("unparseable link {target:?}"))?;
        if origin_of(&next) == origin_of(base) {
            return Ok(Some(next));
        }
        if let Some(rebuilt) = on_configured_origin(&next, base) {
            return Ok(Some(rebuilt));
        }
        foreign = Some(origin_of(&next));
    }
    match x_next_page.map(str::trim).filter(|p| !p.is_empty()) {
        Some(page) if page.bytes().all(|b| b.is_ascii_digit()) => {
            let mut next = current.clone();
            let kept: Vec<(String, String)> = current
                .query_pairs()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            next.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair("page", page);
            Ok(Some(next))
        }
        _ => match foreign {
            Some(origin) => Err(origin),
            None => Ok(None),
        },
    }
}

/// `link`'s path and query on `base`'s origin, when its path is under `base`'s path (the API
/// root, `/api/v4/` or `/gitlab/api/v4/` on a relative URL root).
fn on_configured_origin(link: &Url, base: &Url) -> Option<Url> {
    if !link.path().starts_with(base.path()) {
        return None;
    }
    let mut rebuilt = base.clone();
    rebuilt.set_path(link.path());
    rebuilt.set_query(link.query());
    Some(rebuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn finds_next_among_several_relations() {
        let h = r#"<https://gl.example/api/v4/projects?id_after=42&per_page=100>; rel="next", <https://gl.example/api/v4/projects?page=1>; rel="first""#;
        assert_eq!(
            next_link(h),
            Some("https://gl.example/api/v4/projects?id_after=42&per_page=100")
        );
        assert_eq!(
            next_link(r#"<https://x/a?page=1>; rel="first", <https://x/a?page=9>; rel="last""#),
            None
        );
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage, <x>"), None);
    }

    #[test]
    fn follows_link_on_the_same_origin_only() {
        let base = url("https://gl.example/api/v4/");
        let cur = url("https://gl.example/api/v4/projects?per_page=100");
        let same = r#"<https://gl.example/api/v4/projects?id_after=9>; rel="next""#;
        assert_eq!(
            next_page_url(&cur, &base, Some(same), None)
                .unwrap()
                .unwrap()
                .as_str(),
            "https://gl.example/api/v4/projects?id_after=9"
        );
        let other = r#"<https://evil.example/projects?id_after=9>; rel="next""#;
        assert_eq!(
            next_page_url(&cur, &base, Some(other), None).unwrap_err(),
            "https://evil.example:443"
        );
        let other_port = r#"<http://gl.example:8080/x>; rel="next""#;
        assert!(next_page_url(&cur, &base, Some(other_port), None).is_err());
    }

    #[test]
    fn a_link_on_gitlabs_external_url_is_rebuilt_on_the_configured_origin() {
        let base = url("http://10.0.0.5:8929/gitlab/api/v4/");
        let cur = url("http://10.0.0.5:8929/gitlab/api/v4/projects?per_page=100");
        let external = r#"<https://gitlab.example.com/gitlab/api/v4/projects?id_after=9&per_page=100>; rel="next""#;
        assert_eq!(
            next_page_url(&cur, &base, Some(external), None)
                .unwrap()
                .unwrap()
                .as_str(),
            "http://10.0.0.5:8929/gitlab/api/v4/projects?id_after=9&per_page=100"
        );
        // Outside the API root: X-Next-Page when there is one, else refused.
        let elsewhere = r#"<https://gitlab.example.com/other/projects?page=2>; rel="next""#;
        assert_eq!(
            next_page_url(&cur, &base, Some(elsewhere), Some("2"))
                .unwrap()
                .unwrap()
                .as_str(),
            "http://10.0.0.5:8929/gitlab/api/v4/projects?per_page=100&page=2"
        );
        assert_eq!(
            next_page_url(&cur, &base, Some(elsewhere), None).unwrap_err(),
            "https://gitlab.example.com:443"
        );
    }

    #[test]
    fn falls_back_to_x_next_page() {
        let base = url("http://127.0.0.1:9/api/v4/");
        let cur = url("http://127.0.0.1:9/api/v4/projects/1/repository/tree?recursive=true&page=2");
        let next = next_page_url(&cur, &base, None, Some("3"))
            .unwrap()
            .unwrap();
        assert_eq!(
            next.as_str(),
            "http://127.0.0.1:9/api/v4/projects/1/repository/tree?recursive=true&page=3"
        );
        assert_eq!(next_page_url(&cur, &base, None, Some("")).unwrap(), None);
        assert_eq!(next_page_url(&cur, &base, None, None).unwrap(), None);
    }
}
