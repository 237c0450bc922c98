//! HTML building blocks: escaping, the page layout, tables' small parts and the inline-SVG
//! charts. Every value that comes from data goes through [`Esc`].

use std::fmt::{self, Display, Write as _};

use crate::advisories::cvss::Level;
use crate::tracking::summary::{BySeverity, LEVELS, WEEKS};

/// Writes text HTML-escaped (for element content and quoted attribute values).
pub struct Esc<'a>(pub &'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// A URL query value, percent-encoded (then safe in an attribute too).
pub struct Q<'a>(pub &'a str);

impl Display for Q<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encoded =
            percent_encoding::utf8_percent_encode(self.0, percent_encoding::NON_ALPHANUMERIC);
        write!(f, "{encoded}")
    }
}

/// Only `http(s)` links are rendered as links (a `javascript:` URL in data stays text).
pub fn safe_url(url: &str) -> Option<&str> {
    (url.starts_with("https://") || url.starts_with("http://")).then_some(url)
}

/// A time (ms) as `YYYY-MM-DD HH:MM` UTC.
pub fn when(ms: i64) -> String {
    let s = crate::clock::rfc3339(ms);
    s.get(..16).unwrap_or(&s).replacen('T', " ", 1)
}

/// A duration (ms) in days with one decimal.
pub fn days(ms: i64) -> String {
    format!("{:.1} d", ms as f64 / 86_400_000.0)
}

/// The navigation entries.
pub const NAV: [(&str, &str); 4] = [
    ("/", "Overview"),
    ("/projects", "Projects"),
    ("/approvals", "Approvals"),
    ("/deliveries", "Deliveries"),
];

const STYLE: &str = "\
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2328;background:#f6f8fa}\
header{background:#24292f;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}\
header a{color:#fff;text-decoration:none;padding:.2rem .4rem;border-radius:4px}header a.on{background:#57606a}\
header .brand{font-weight:700;margin-right:.5rem}header form{margin-left:auto}\
main{padding:1rem;max-width:70rem;margin:auto}h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}\
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.6rem}\
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem}.card b{display:block;font-size:1.5rem}\
.scroll{overflow-x:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #eaeef2;vertical-align:top}\
th{background:#f6f8fa;font-weight:600;white-space:nowrap}\
.sev{display:inline-block;padding:0 .4rem;border-radius:3px;color:#fff;font-size:.85em}\
.late{color:#cf222e;font-weight:600}.muted{color:#57606a}.flash{background:#dafbe1;border:1px solid #4ac26b;padding:.5rem .8rem;border-radius:6px}\
.err{background:#ffebe9;border:1px solid #ff8182;padding:.5rem .8rem;border-radius:6px}\
button{font:inherit;padding:.3rem .8rem;border-radius:6px;border:1px solid #1f883d;background:#1f883d;color:#fff;cursor:pointer}\
header button{background:transparent;border-color:#fff}input[type=text],input[type=password],input[type=search],select{font:inherit;padding:.3rem .5rem;border:1px solid #d0d7de;border-radius:6px;max-width:100%}\
code{background:#eaeef2;padding:.1rem .3rem;border-radius:4px;word-break:break-all}details summary{cursor:pointer}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:.6rem}.charts svg{width:100%;height:auto}\
.pager{margin:.6rem 0;display:flex;gap:1rem}.adv+.adv{margin-top:.4rem}";

/// A whole page: `title`, the active navigation entry, the logout form (with `csrf`) when
/// logged in, and `body`.
pub fn page(title: &str, active: &str, csrf: Option<&str>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · backline</title><style>{STYLE}</style></head><body><header>\
         <span class=\"brand\">backline</span>",
        Esc(title)
    );
    if let Some(csrf) = csrf {
        for (href, label) in NAV {
            let on = if href == active { " class=\"on\"" } else { "" };
            let _ = write!(out, "<a href=\"{href}\"{on}>{label}</a>");
        }
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Log out</button></form>",
            Esc(csrf)
        );
    }
    let _ = write!(out, "</header><main>{body}</main></body></html>");
    out
}

/// The dashboard's colour of a severity: reds and oranges for the serious, amber, then blue for
/// low and grey for unknown; never green, which the pages keep for good news (fixes). Each
/// carries white text at a readable contrast.
pub fn severity_colour(level: Level) -> &'static str {
    match level {
        Level::Critical => "#a40e26",
        Level::High => "#d1242f",
        Level::Medium => "#bc4c00",
        Level::Low => "#0969da",
        Level::Unknown => "#6e7781",
    }
}

/// Colour of the bars that count open problems.
pub const BAD: &str = "#d1242f";
/// Colour of the bars that count fixes.
pub const GOOD: &str = "#1a7f37";

/// A severity label, coloured.
pub fn severity(level: Level) -> String {
    format!(
        "<span class=\"sev\" style=\"background:{}\">{}</span>",
        severity_colour(level),
        level.as_str()
    )
}

/// A POST form with one button and the CSRF token.
pub fn button_form(action: &str, csrf: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">{}</button></form>",
        Esc(action),
        Esc(csrf),
        Esc(label)
    )
}

/// Horizontal bars of counts per severity.
pub fn severity_chart(title: &str, counts: &BySeverity) -> String {
    let max = LEVELS
        .iter()
        .map(|l| counts.get(*l))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = format!(
        "<svg viewBox=\"0 0 320 150\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = Esc(title)
    );
    for (i, l) in LEVELS.iter().enumerate() {
        let n = counts.get(*l);
        let y = 8 + i * 28;
        let w = (n as f64 / max as f64 * 200.0).round() as u32;
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{ty}\" font-size=\"12\">{name}</text>\
             <rect x=\"70\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"{c}\"/>\
             <text x=\"{tx}\" y=\"{ty}\" font-size=\"12\">{n}</text>",
            ty = y + 13,
            name = l.as_str(),
            c = severity_colour(*l),
            tx = 76 + w,
        );
    }
    out.push_str("</svg>");
    out
}

/// Vertical bars of a count per week, oldest first, in `colour` ([`BAD`] or [`GOOD`]).
pub fn weeks_chart(title: &str, weeks: &[usize; WEEKS], colour: &str) -> String {
    let max = weeks.iter().copied().max().unwrap_or(0).max(1);
    let mut out = format!(
        "<svg viewBox=\"0 0 320 150\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = Esc(title)
    );
    for (i, n) in weeks.iter().enumerate() {
        let h = (*n as f64 / max as f64 * 100.0).round() as u32;
        let x = 8 + i * 39;
        let ago = WEEKS - 1 - i;
        let label = if ago == 0 {
            "now".to_string()
        } else {
            format!("-{ago}w")
        };
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{y}\" width=\"28\" height=\"{h}\" fill=\"{colour}\"/>\
             <text x=\"{cx}\" y=\"{ny}\" font-size=\"11\" text-anchor=\"middle\">{n}</text>\
             <text x=\"{cx}\" y=\"146\" font-size=\"11\" text-anchor=\"middle\">{label}</text>",
            y = 120 - h,
            cx = x + 14,
            ny = 116 - h,
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            Esc("<a href=\"x\">'&'</a>").to_string(),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(Esc("plain é").to_string(), "plain é");
        assert_eq!(Q("a b/&\"").to_string(), "a%20b%2F%26%22");
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(when(0), "1970-01-01 00:00");
    }

    #[test]
    fn charts_scale_to_the_largest_bar() {
        let svg = severity_chart("t<", &BySeverity([2, 4, 0, 0, 0]));
        assert!(svg.contains("width=\"200\"") && svg.contains("width=\"100\""));
        assert!(svg.contains("t&lt;"));
        let svg = weeks_chart("w", &[0, 0, 0, 0, 0, 0, 1, 2], BAD);
        assert!(svg.contains("height=\"100\"") && svg.contains(">now<"));
    }

    #[test]
    fn severities_are_never_green() {
        for level in LEVELS {
            let c = severity_colour(level);
            let [r, g, b] = [1, 3, 5].map(|i| u8::from_str_radix(&c[i..i + 2], 16).unwrap());
            assert!(!(g > r && g > b), "{level:?} is green: {c}");
        }
        assert!(severity_chart("t", &BySeverity([1, 1, 1, 1, 1]))
            .contains(severity_colour(Level::Critical)));
    }
}
