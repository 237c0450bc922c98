//! The settings: precedence, validation, docs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const TOKEN: &str = "whsec_YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=";

#[test]
fn flags_win_over_file_and_file_over_defaults() {
    let file = FileConfig::parse(
        "listen = \"0.0.0.0:9000\"\nworkers = 3\nwebhook_secret = [\"a\", \"b\"]\n",
    )
    .unwrap();
    let args = ServeArgs {
        workers: Some(5),
        ..Default::default()
    };
    let s = resolve(args, file).unwrap();
    assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(s.workers, 5);
    assert_eq!(s.webhook_secrets.len(), 2);
    assert_eq!(s.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
}

#[test]
fn registry_urls_from_file_and_flags() {
    let s = resolve(ServeArgs::default(), FileConfig::default()).unwrap();
    assert_eq!(
        s.registry_config().crates_index_url,
        "https://index.crates.io"
    );
    let file = FileConfig::parse("npm_registry_url = \"http://npm.local/\"\n").unwrap();
    let args = ServeArgs {
        pypi_url: Some("http://pypi.local".into()),
        ..Default::default()
    };
    let s = resolve(args, file).unwrap();
    let c = s.registry_config();
    assert_eq!(
        (c.npm_url.as_str(), c.pypi_url.as_str()),
        ("http://npm.local", "http://pypi.local")
    );
    let args = ServeArgs {
        crates_index_url: Some("ftp://x".into()),
        ..Default::default()
    };
    assert!(resolve(args, FileConfig::default()).is_err());
}

#[test]
fn mr_check_threshold_from_file_and_flag() {
    let s = resolve(ServeArgs::default(), FileConfig::default()).unwrap();
    assert_eq!(s.mr_check_fail_on, crate::advisories::cvss::Level::High);
    let file = FileConfig::parse("mr_check_fail_on = \"medium\"\n").unwrap();
    let s = resolve(ServeArgs::default(), file).unwrap();
    assert_eq!(s.mr_check_fail_on, crate::advisories::cvss::Level::Medium);
    let file = FileConfig::parse("mr_check_fail_on = \"medium\"\n").unwrap();
    let args = ServeArgs {
        mr_check_fail_on: Some("Critical".into()),
        ..Default::default()
    };
    let s = resolve(args, file).unwrap();
    assert_eq!(s.mr_check_fail_on, crate::advisories::cvss::Level::Critical);
    let args = ServeArgs {
        mr_check_fail_on: Some("severe".into()),
        ..Default::default()
    };
    let err = resolve(args, FileConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("BACKLINE_MR_CHECK_FAIL_ON"), "{err}");
}

#[test]
fn sla_days_from_file_and_flag() {
    let file = FileConfig::parse("sla_days = \"critical=1\"\n").unwrap();
    let s = resolve(ServeArgs::default(), file).unwrap();
    assert_eq!((s.sla.critical, s.sla.high), (1, 14));
    let args = ServeArgs {
        sla_days: Some("high=nope".into()),
        ..Default::default()
    };
    let err = resolve(args, FileConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("BACKLINE_SLA_DAYS"), "{err}");
}

#[test]
fn comma_separated_lists_in_file() {
    let file = FileConfig::parse(&format!("webhook_signing_token = \"{TOKEN}, {TOKEN}\"")).unwrap();
    let s = resolve(ServeArgs::default(), file).unwrap();
    assert_eq!(s.signing_keys.len(), 2);
}

#[test]
fn unknown_keys_and_bad_values_are_errors_without_secrets() {
    assert!(FileConfig::parse("lisen = \"x\"").is_err());
    let args = ServeArgs {
        webhook_signing_token: Some(vec!["whsec_!!!notbase64".to_string()]),
        ..Default::default()
    };
    let err = resolve(args, FileConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("BACKLINE_WEBHOOK_SIGNING_TOKEN"), "{err}");
    assert!(!err.contains("notbase64"), "{err}");
    let args = ServeArgs {
        listen: Some("nowhere".to_string()),
        ..Default::default()
    };
    assert!(resolve(args, FileConfig::default()).is_err());
}

#[test]
fn verification_is_required_unless_insecure() {
    let s = resolve(ServeArgs::default(), FileConfig::default()).unwrap();
    assert!(matches!(
        require_verification(&s),
        Err(ConfigError::NoVerification)
    ));
    let args = ServeArgs {
        insecure_accept_unverified: Some(true),
        ..Default::default()
    };
    let s = resolve(args, FileConfig::default()).unwrap();
    assert!(require_verification(&s).is_ok());
}

#[test]
fn a_missing_or_bad_ca_file_is_a_configuration_error() {
    let args = ServeArgs {
        common: CommonArgs {
            ca_file: Some(PathBuf::from("/nonexistent/backline-ca.pem")),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = resolve(args, FileConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("BACKLINE_CA_FILE"), "{err}");
    assert!(err.contains("/nonexistent/backline-ca.pem"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("ca.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let file = FileConfig::parse(&format!("ca_file = {:?}\n", junk.display().to_string())).unwrap();
    let err = resolve(ServeArgs::default(), file).unwrap_err().to_string();
    assert!(
        err.contains("BACKLINE_CA_FILE") && err.contains("no certificate"),
        "{err}"
    );
    let s = resolve(ServeArgs::default(), FileConfig::default()).unwrap();
    assert_eq!(s.network.ca_file(), None);
}

#[test]
fn secrets_do_not_print() {
    let args = ServeArgs {
        webhook_secret: Some(vec!["s3cr3t-value".to_string()]),
        common: CommonArgs {
            gitlab_token: Some("glpat-abcdef".to_string()),
            ..Default::default()
        },
        admin_token: Some("adm1n".to_string()),
        badge_secret: Some("b4dge-s3cret".to_string()),
        webhook_signing_token: Some(vec![TOKEN.to_string()]),
        ..Default::default()
    };
    let s = resolve(args, FileConfig::default()).unwrap();
    let shown = format!("{s:?}");
    for secret in [
        "s3cr3t-value",
        "glpat-abcdef",
        "adm1n",
        "YWFhYWFh",
        "b4dge-s3cret",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

/// Parses `serve`-style flags as the command line would.
fn parse_flags(flags: &[&str]) -> Result<ServeArgs, clap::Error> {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }
    let argv = std::iter::once("backline").chain(flags.iter().copied());
    <Cli as clap::Parser>::try_parse_from(argv).map(|c| c.serve)
}

#[test]
fn boolean_flags_work_bare_and_with_a_value() {
    let args = parse_flags(&[
        "--manage-hooks",
        "--insecure-accept-unverified",
        "--update-outdated",
        "--public-url",
        "https://backline.example.com",
    ])
    .unwrap();
    assert_eq!(
        (
            args.manage_hooks,
            args.insecure_accept_unverified,
            args.update_outdated
        ),
        (Some(true), Some(true), Some(true))
    );
    let s = resolve(args, FileConfig::default()).unwrap();
    assert!(s.manage_hooks && s.insecure_accept_unverified && s.update_outdated);
    // An explicit value wins over the file, in either direction.
    let args =
        parse_flags(&["--insecure-accept-unverified=false", "--manage-hooks", "no"]).unwrap();
    assert_eq!(args.manage_hooks, Some(false));
    let file = FileConfig::parse("insecure_accept_unverified = true\n").unwrap();
    assert!(!resolve(args, file).unwrap().insecure_accept_unverified);
}

#[test]
fn shared_flags_live_in_their_own_group() {
    let args = parse_flags(&[
        "--gitlab-url",
        "https://gitlab.example.com",
        "--workers",
        "2",
    ])
    .unwrap();
    assert_eq!(
        args.common.gitlab_url.as_deref(),
        Some("https://gitlab.example.com")
    );
    assert_eq!(args.workers, Some(2));
}

#[test]
fn the_deploy_example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/backline.toml");
    let file = FileConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
    // The secrets come from the environment, as deploy/backline.service gives them.
    let args = ServeArgs {
        webhook_secret: Some(vec!["from-secrets-env".to_string()]),
        ..Default::default()
    };
    let s = resolve(args, file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    require_verification(&s).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.data_dir, PathBuf::from("/var/lib/backline"));
    assert_eq!(s.gitlab_url.as_deref(), Some("https://gitlab.example.com"));
    assert!(s.gitlab_token.is_none(), "no secret in the example file");
    assert_eq!(s.namespace_denylist, ["acme/sandbox"]);
    assert_eq!(s.advisories_sync_interval, Duration::from_secs(6 * 3600));
    assert_eq!(s.sla.critical, 3);
}

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The cells of the README's settings table rows (`| var | flag | key | default | meaning |`).
fn readme_rows() -> Vec<Vec<String>> {
    repo_file("README.md")
        .lines()
        .filter(|l| l.starts_with("| `BACKLINE_"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn every_declared_setting_is_in_the_readme_table_with_its_default() {
    let rows = readme_rows();
    let declared = declared();
    assert!(declared.len() >= 40, "{}", declared.len());
    for d in &declared {
        let row = rows
            .iter()
            .find(|r| r[0] == format!("`{}`", d.env))
            .unwrap_or_else(|| panic!("{} is not in the README's settings table", d.env));
        assert!(
            row[1].contains(&format!("`{}`", d.flag())),
            "{}: the README gives the flag {:?}",
            d.env,
            row[1]
        );
        assert_eq!(row[2], format!("`{}`", d.key), "{}: file key", d.env);
        let shown = row[3]
            .split(" (")
            .next()
            .unwrap_or_default()
            .trim_matches('`');
        assert_eq!(shown, d.default, "{}: default", d.env);
    }
    // And the README documents no file key that is not declared.
    for row in rows.iter().filter(|r| r[2].starts_with('`')) {
        let key = row[2].trim_matches('`');
        assert!(
            declared.iter().any(|d| d.key == key),
            "the README documents {key}, which no setting declares"
        );
    }
}

#[test]
fn every_declared_setting_is_in_the_deploy_example_and_its_examples_parse() {
    let text = repo_file("deploy/backline.toml");
    let mut uncommented = String::new();
    for line in text.lines() {
        let bare = line.strip_prefix("# ").unwrap_or(line);
        let key = bare.split(" = ").next().unwrap_or_default();
        if bare.contains(" = ") && declared().iter().any(|d| d.key == key) {
            uncommented.push_str(bare);
            uncommented.push('\n');
        }
    }
    for d in declared() {
        assert!(
            uncommented
                .lines()
                .any(|l| l.starts_with(&format!("{} = ", d.key))),
            "deploy/backline.toml does not mention {} (as `{} = ...`, commented out or not)",
            d.key,
            d.key
        );
    }
    // Every example value, commented out or not, is one the file accepts.
    FileConfig::parse(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
}

#[test]
fn the_flags_and_variables_are_those_declared() {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }
    let command = <Cli as clap::CommandFactory>::command();
    let args: Vec<_> = command
        .get_arguments()
        .filter(|a| a.get_long().is_some())
        .collect();
    let declared = declared();
    assert_eq!(args.len(), declared.len());
    for d in &declared {
        let arg = args
            .iter()
            .find(|a| a.get_long() == Some(&d.flag()[2..]))
            .unwrap_or_else(|| panic!("no flag {}", d.flag()));
        assert_eq!(
            arg.get_env().and_then(|e| e.to_str()),
            Some(d.env),
            "{}",
            d.flag()
        );
        assert_eq!(d.env, format!("BACKLINE_{}", d.key.to_ascii_uppercase()));
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        assert!(
            help.ends_with(&format!("[default: {}]", d.default)),
            "{}: {help}",
            d.flag()
        );
    }
    let common: Vec<_> = declared
        .iter()
        .filter(|d| d.group == Group::Common)
        .map(|d| d.key)
        .collect();
    assert!(common.contains(&"gitlab_url") && common.contains(&"ca_file"));
    assert!(!common.contains(&"listen"));
}

#[test]
fn the_defaults_are_the_declared_ones() {
    let s = Settings::with_data_dir("/tmp/x");
    assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
    assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(
        (s.retry_base, s.retry_max),
        (Duration::from_secs(2), Duration::from_secs(600))
    );
    assert_eq!(s.sla, crate::tracking::SlaPolicy::default());
    assert_eq!(s.osv_ecosystems, crate::ecosystem::Ecosystem::ALL.to_vec());
    assert_eq!(s.auto_approve, Some(crate::advisories::cvss::Level::High));
    assert_eq!(s.mr_labels, ["security", "backline"]);
    assert_eq!(s.store_cache_bytes, crate::store::DEFAULT_CACHE_BYTES);
    assert_eq!(
        s.osv_base_url,
        crate::advisories::sync::DEFAULT_BASE_URL,
        "the declared default"
    );
}

#[test]
fn every_url_setting_has_the_one_url_check() {
    for key in [
        "gitlab_url",
        "public_url",
        "osv_base_url",
        "crates_index_url",
        "npm_registry_url",
        "pypi_url",
        "rubygems_url",
        "packagist_url",
        "nuget_url",
    ] {
        let file = FileConfig::parse(&format!("{key} = \"ftp://example.com\"\n")).unwrap();
        let err = resolve(ServeArgs::default(), file).unwrap_err().to_string();
        let env = format!("BACKLINE_{}", key.to_ascii_uppercase());
        assert!(
            err.contains(&env) && err.contains("http:// or https://"),
            "{key}: {err}"
        );
        let file = FileConfig::parse(&format!("{key} = \" http://h.example/x/ \"\n")).unwrap();
        let s = resolve(ServeArgs::default(), file).unwrap();
        let got = [
            s.gitlab_url.clone().unwrap_or_default(),
            s.public_url.clone().unwrap_or_default(),
            s.osv_base_url.clone(),
            s.crates_index_url.clone(),
            s.npm_registry_url.clone(),
            s.pypi_url.clone(),
            s.rubygems_url.clone(),
            s.packagist_url.clone(),
            s.nuget_url.clone(),
        ];
        assert!(
            got.contains(&"http://h.example/x".to_string()),
            "{key}: {got:?}"
        );
    }
}

#[test]
fn serve_syncs_the_configured_osv_ecosystems() {
    use crate::ecosystem::Ecosystem;
    let file = FileConfig::parse("osv_ecosystems = \"npm, PyPI\"\n").unwrap();
    let s = resolve(ServeArgs::default(), file).unwrap();
    assert_eq!(
        s.sync_options().ecosystems,
        [Ecosystem::Npm, Ecosystem::PyPI]
    );
    let args = ServeArgs {
        osv_ecosystems: Some(vec!["Debian".into()]),
        ..Default::default()
    };
    let err = resolve(args, FileConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("BACKLINE_OSV_ECOSYSTEMS") && err.contains("Debian"),
        "{err}"
    );
}

#[test]
fn the_database_url_comes_from_flag_then_file_and_never_prints_its_password() {
    let file = FileConfig::parse(
        "database_url = \"postgres://bot:file-pw@db.internal/backline?sslmode=require\"\n",
    )
    .unwrap();
    let s = resolve(ServeArgs::default(), file).unwrap();
    let url = s.database_url.as_ref().unwrap();
    assert_eq!(url.config().get_password(), Some(&b"file-pw"[..]));
    assert!(!format!("{s:?}").contains("file-pw"));
    assert!(format!("{s:?}").contains("bot:[redacted]@db.internal"));
    let args = ServeArgs {
        common: CommonArgs {
            database_url: Some("postgres://bot:flag-pw@other/backline".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let file = FileConfig::parse("database_url = \"postgres://bot:file-pw@db/x\"\n").unwrap();
    let s = resolve(args, file).unwrap();
    assert_eq!(
        s.database_url.unwrap().to_string(),
        "postgres://bot:[redacted]@other/backline"
    );
    assert!(resolve(ServeArgs::default(), FileConfig::default())
        .unwrap()
        .database_url
        .is_none());
    let err = database_url(Some("postgres://bot:leak-pw@db:port/x".into()), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("BACKLINE_DATABASE_URL") && !err.contains("leak-pw"),
        "{err}"
    );
}

#[test]
fn goproxy_is_a_goproxy_list_with_a_proxy_url_first() {
    use backline_core::registry::goproxy::{Fallback, ProxyEntry};
    let s = resolve(ServeArgs::default(), FileConfig::parse("").unwrap()).unwrap();
    assert_eq!(s.goproxy, crate::registry::DEFAULT_GOPROXY);
    assert_eq!(
        s.registry_config().goproxy.entries,
        [(
            ProxyEntry::Url("https://proxy.golang.org".into()),
            Fallback::OnNotFound
        )]
    );
    let file =
        FileConfig::parse("goproxy = \"https://a.example/,https://b.example|direct\"\n").unwrap();
    let s = resolve(ServeArgs::default(), file).unwrap();
    let urls: Vec<(String, Fallback)> = s
        .registry_config()
        .goproxy
        .urls()
        .map(|(u, f)| (u.to_string(), f))
        .collect();
    assert_eq!(
        urls,
        [
            ("https://a.example".to_string(), Fallback::OnNotFound),
            ("https://b.example".to_string(), Fallback::OnAnyError)
        ]
    );
    for bad in ["off", "direct", "file:///srv/go"] {
        let file = FileConfig::parse(&format!("goproxy = \"{bad}\"\n")).unwrap();
        let err = resolve(ServeArgs::default(), file).unwrap_err().to_string();
        assert!(err.contains("BACKLINE_GOPROXY"), "{bad}: {err}");
    }
}

#[test]
fn the_sync_interval_in_seconds_replaces_the_minutes_when_set() {
    let s = resolve(ServeArgs::default(), FileConfig::default()).unwrap();
    assert_eq!(s.sync_interval, Duration::from_secs(3600));
    let file = FileConfig::parse("sync_interval_mins = 5\nsync_interval_secs = 2\n").unwrap();
    let s = resolve(ServeArgs::default(), file).unwrap();
    assert_eq!(s.sync_interval, Duration::from_secs(2));
    let file = FileConfig::parse("sync_interval_mins = 5\n").unwrap();
    let args = parse_flags(&["--sync-interval-secs", "0"]).unwrap();
    assert_eq!(resolve(args, file).unwrap().sync_interval, Duration::ZERO);
}
