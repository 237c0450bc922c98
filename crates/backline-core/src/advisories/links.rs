//! Where an advisory id is published: the page a reader opens to see the advisory at its source
//! (pure; the id is checked before it goes into a URL).

/// The advisory's page at its source, when its id has a known home:
/// RustSec (`RUSTSEC-`), the GitHub Advisory Database (`GHSA-`), CVE (`CVE-`) and OSV for the
/// databases OSV publishes as they are (`PYSEC-` from the PyPA database, `GO-`, `OSV-`, `MAL-`,
/// `RSEC-`, `GSD-`). An id with any other character than letters, digits, `-`, `_` and `.` has none.
pub fn advisory_url(id: &str) -> Option<String> {
    let plain = !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return None;
    }
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("RUSTSEC-") {
        Some(format!("https://rustsec.org/advisories/{id}.html"))
    } else if upper.starts_with("GHSA-") {
        Some(format!("https://github.com/advisories/{id}"))
    } else if upper.starts_with("CVE-") {
        Some(format!("https://www.cve.org/CVERecord?id={id}"))
    } else if ["PYSEC-", "GO-", "OSV-", "MAL-", "RSEC-", "GSD-"]
        .iter()
        .any(|p| upper.starts_with(p))
    {
        Some(format!("https://osv.dev/vulnerability/{id}"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_database_links_to_its_own_page() {
        assert_eq!(
            advisory_url("RUSTSEC-2022-0013").as_deref(),
            Some("https://rustsec.org/advisories/RUSTSEC-2022-0013.html")
        );
        assert_eq!(
            advisory_url("GHSA-jf85-cpcp-j695").as_deref(),
            Some("https://github.com/advisories/GHSA-jf85-cpcp-j695")
        );
        assert_eq!(
            advisory_url("PYSEC-2021-59").as_deref(),
            Some("https://osv.dev/vulnerability/PYSEC-2021-59")
        );
        assert_eq!(
            advisory_url("CVE-2021-23337").as_deref(),
            Some("https://www.cve.org/CVERecord?id=CVE-2021-23337")
        );
        assert_eq!(advisory_url("LOCAL-1"), None);
        assert_eq!(advisory_url("GHSA-x\"><script>"), None);
        assert_eq!(advisory_url("RUSTSEC-1/../x"), None);
    }
}
