//! Pagination: the `Link` header (keyset and offset) and `X-Next-Page`, and the rule that a next
//! link must stay on the configured GitLab's origin (a hostile or misconfigured proxy must not
//! send the token elsewhere).

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
    if let Some(target) = link.and_then(next_link) {
        let next = current
            .join(target)
            .map_err(|_| format!("unparseable link {target:?}"))?;
        if origin_of(&next) != origin_of(base) {
            return Err(origin_of(&next));
        }
        return Ok(Some(next));
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
        _ => Ok(None),
    }
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
        let other = r#"<https://evil.example/api/v4/projects?id_after=9>; rel="next""#;
        assert_eq!(
            next_page_url(&cur, &base, Some(other), None).unwrap_err(),
            "https://evil.example:443"
        );
        let other_port = r#"<http://gl.example:8080/x>; rel="next""#;
        assert!(next_page_url(&cur, &base, Some(other_port), None).is_err());
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
