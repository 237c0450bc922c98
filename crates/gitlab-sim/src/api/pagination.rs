//! GitLab's offset and keyset pagination headers.

use super::{invalid, Ctx, Reply};
use crate::util;

/// GitLab stops counting above this many results (no `X-Total`, `X-Total-Pages`, `rel="last"`).
pub const COUNT_LIMIT: usize = 10_000;

/// `page` and `per_page` (default 20, at most 100).
pub fn page_params(ctx: &Ctx) -> Result<(usize, usize), Reply> {
    let page = ctx.params.u64("page")?.unwrap_or(1).max(1) as usize;
    let per_page = ctx.params.u64("per_page")?.unwrap_or(20);
    let per_page = if per_page == 0 { 20 } else { per_page.min(100) } as usize;
    Ok((page, per_page))
}

/// Host and port of GitLab's `external_url`, which its `Link` headers carry whatever address
/// the client called: `lib/gitlab/pagination/offset_header_builder.rb` and
/// `lib/gitlab/pagination/keyset/header_builder.rb` (`base_request_uri`) parse the request URL
/// and set `Gitlab.config.gitlab.host` and `Gitlab.config.gitlab.port` on it, keeping the
/// request's scheme, path and query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOrigin {
    host: String,
    port: u16,
}

impl LinkOrigin {
    /// From an external URL such as `https://gitlab.example.com` or `http://10.0.0.5:8080/gitlab`.
    pub fn parse(external_url: &str) -> Result<LinkOrigin, String> {
        let bad = || format!("external URL {external_url:?} is not http(s)://host[:port][/path]");
        let (scheme, rest) = external_url.trim().split_once("://").ok_or_else(bad)?;
        let default_port = match scheme.to_ascii_lowercase().as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(bad()),
        };
        let authority = rest.split('/').next().unwrap_or("");
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, p.parse::<u16>().map_err(|_| bad())?),
            _ => (authority, default_port),
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(LinkOrigin {
            host: host.to_string(),
            port,
        })
    }

    /// The request's URL base as GitLab rewrites it: `scheme://host[:port]` (the port left out
    /// when it is the scheme's default, as Ruby's `URI#to_s` does).
    pub fn base(&self, request_scheme: &str) -> String {
        let default = matches!((request_scheme, self.port), ("http", 80) | ("https", 443));
        if default {
            format!("{request_scheme}://{}", self.host)
        } else {
            format!("{request_scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// A link to the same request with some query parameters replaced.
pub fn link(ctx: &Ctx, set: &[(&str, String)]) -> String {
    link_from(&ctx.link_base, &ctx.query_pairs, set)
}

/// A link to `base` with `pairs` as query, some replaced by `set`.
pub fn link_from(base: &str, pairs: &[(String, String)], set: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
        .cloned()
        .collect();
    for (k, v) in set {
        pairs.push((k.to_string(), v.clone()));
    }
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", util::encode(k), util::encode(v)))
        .collect();
    format!("{}?{}", base, q.join("&"))
}

/// Response headers.
pub type Headers = Vec<(String, String)>;

/// Offset pagination over `total` items: the index range of the page and the headers.
pub fn offset(ctx: &Ctx, total: usize) -> Result<(std::ops::Range<usize>, Headers), Reply> {
    let (page, per_page) = page_params(ctx)?;
    let start = (page - 1).saturating_mul(per_page).min(total);
    let end = (start + per_page).min(total);
    let pages = total.div_ceil(per_page).max(1);
    let counted = total <= COUNT_LIMIT;
    let has_next = end < total;
    let has_prev = page > 1;
    let mut h = vec![
        ("X-Page".to_string(), page.to_string()),
        ("X-Per-Page".to_string(), per_page.to_string()),
        (
            "X-Next-Page".to_string(),
            if has_next {
                page.saturating_add(1).to_string()
            } else {
                String::new()
            },
        ),
        (
            "X-Prev-Page".to_string(),
            if has_prev {
                (page - 1).to_string()
            } else {
                String::new()
            },
        ),
    ];
    if counted {
        h.push(("X-Total".to_string(), total.to_string()));
        h.push(("X-Total-Pages".to_string(), pages.to_string()));
    }
    let pp = per_page.to_string();
    let mut links = Vec::new();
    if has_prev {
        links.push(format!(
            "<{}>; rel=\"prev\"",
            link(
                ctx,
                &[("page", (page - 1).to_string()), ("per_page", pp.clone())]
            )
        ));
    }
    if has_next {
        links.push(format!(
            "<{}>; rel=\"next\"",
            link(
                ctx,
                &[
                    ("page", page.saturating_add(1).to_string()),
                    ("per_page", pp.clone())
                ]
            )
        ));
    }
    links.push(format!(
        "<{}>; rel=\"first\"",
        link(ctx, &[("page", "1".to_string()), ("per_page", pp.clone())])
    ));
    if counted {
        links.push(format!(
            "<{}>; rel=\"last\"",
            link(ctx, &[("page", pages.to_string()), ("per_page", pp)])
        ));
    }
    h.push(("Link".to_string(), links.join(", ")));
    Ok((start..end, h))
}

/// Applies offset pagination to a vector of already-built JSON items.
pub fn paged(ctx: &Ctx, items: Vec<serde_json::Value>) -> Result<Reply, Reply> {
    let (range, headers) = offset(ctx, items.len())?;
    let page: Vec<serde_json::Value> = items
        .into_iter()
        .skip(range.start)
        .take(range.len())
        .collect();
    let mut r = Reply::ok(serde_json::Value::Array(page));
    r.headers = headers;
    Ok(r)
}

/// Whether the request asks for keyset pagination.
pub fn is_keyset(ctx: &Ctx) -> Result<bool, Reply> {
    match ctx.params.str("pagination").as_deref() {
        None | Some("") | Some("offset") => Ok(false),
        Some("keyset") => Ok(true),
        Some(_) => Err(invalid("pagination")),
    }
}

#[cfg(test)]
mod link_origin_tests {
    use super::LinkOrigin;

    #[test]
    fn keeps_the_request_scheme_and_takes_host_and_port() {
        let o = LinkOrigin::parse("https://gitlab.example.com/gitlab").unwrap();
        // GitLab sets the port (443) on the request's http URL: Ruby then prints it.
        assert_eq!(o.base("http"), "http://gitlab.example.com:443");
        assert_eq!(o.base("https"), "https://gitlab.example.com");
        let o = LinkOrigin::parse("http://10.0.0.5:8080").unwrap();
        assert_eq!(o.base("http"), "http://10.0.0.5:8080");
        assert!(LinkOrigin::parse("gitlab.example.com").is_err());
        assert!(LinkOrigin::parse("http://:80").is_err());
    }
}
