//! The GOPROXY client against the simulator's module proxy: escaped URLs, hashes computed from
//! the downloaded `.mod` and `.zip`, the `,`/`|` fallbacks, and the zip size limit.

use std::time::Duration;

use backline_core::ecosystems::gomod::dirhash;
use backline_core::registry::goproxy::ProxyList;
use gitlab_sim::{GitLabSim, SimConfig};

use super::super::{HttpRegistry, RegistryConfig};
use crate::net::{Network, ProxySettings};
use crate::registry::{Registry, RegistryError};

const GO_MOD: &[u8] = b"module example.com/Upper\n\ngo 1.17\n";
const SRC: &[u8] = b"package upper\n\nconst Name = \"Upper\"\n";

fn sim() -> GitLabSim {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    sim.registry().add_go_module(
        "example.com/Upper",
        "v0.1.0",
        &[("go.mod", GO_MOD), ("upper.go", SRC)],
    );
    sim
}

fn client(goproxy: &str) -> HttpRegistry {
    HttpRegistry::new(RegistryConfig {
        goproxy: ProxyList::parse(goproxy).unwrap(),
        attempts: 1,
        outage_backoff: Duration::ZERO,
        network: Network::load(None, ProxySettings::none()).unwrap(),
        ..RegistryConfig::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_is_fetched_by_escaped_path_and_hashed_from_its_zip() {
    let sim = sim();
    let reg = client(&format!("{}/registry/goproxy", sim.url()));
    let m = reg
        .go_module("example.com/Upper", "0.1.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.version, "v0.1.0");
    assert_eq!(m.go_mod.as_bytes(), GO_MOD);
    assert_eq!(m.go_mod_hash, dirhash::hash_go_mod(GO_MOD));
    let files = [
        (
            "example.com/Upper@v0.1.0/go.mod".to_string(),
            GO_MOD.to_vec(),
        ),
        (
            "example.com/Upper@v0.1.0/upper.go".to_string(),
            SRC.to_vec(),
        ),
    ];
    assert_eq!(m.zip_hash, dirhash::hash1(&files).unwrap());
    for route in [
        "/registry/goproxy/:module/@v/:version.info",
        "/registry/goproxy/:module/@v/:version.mod",
        "/registry/goproxy/:module/@v/:version.zip",
    ] {
        assert_eq!(sim.count("GET", route), 1, "{route}");
    }
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.path.ends_with("/example.com/!upper/@v/v0.1.0.zip")),
        "the path is case-encoded"
    );
    assert!(reg
        .go_module("example.com/Upper", "0.9.0")
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        reg.go_module("example.com/../etc", "1.0.0").await,
        Err(RegistryError::InvalidName(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_goproxy_list_falls_back_as_go_does() {
    let sim = sim();
    let good = format!("{}/registry/goproxy", sim.url());
    let empty = format!("{}/registry/goproxy/none", sim.url());
    // A closed port: a transport error.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    // `,`: a 404 moves on; an error does not.
    let found = client(&format!("{empty},{good}"))
        .go_module("example.com/Upper", "v0.1.0")
        .await;
    assert!(matches!(found, Ok(Some(_))), "{found:?}");
    let stopped = client(&format!("{dead},{good}"))
        .go_module("example.com/Upper", "v0.1.0")
        .await;
    assert!(
        matches!(stopped, Err(RegistryError::Transport { .. })),
        "{stopped:?}"
    );
    // `|`: any error moves on.
    let found = client(&format!("{dead}|{good}"))
        .go_module("example.com/Upper", "v0.1.0")
        .await;
    assert!(matches!(found, Ok(Some(_))), "{found:?}");
    // Nothing after `direct` is asked.
    let none = client(&format!("{empty},direct,{good}"))
        .go_module("example.com/Upper", "v0.1.0")
        .await;
    assert!(matches!(none, Ok(None)), "{none:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_above_the_limit_is_refused() {
    let sim = sim();
    let reg = HttpRegistry::new(RegistryConfig {
        go_zip_limit: 64,
        ..client(&format!("{}/registry/goproxy", sim.url()))
            .config()
            .clone()
    })
    .unwrap();
    let e = reg
        .go_module("example.com/Upper", "v0.1.0")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("longer than 64 bytes"), "{e}");
}
