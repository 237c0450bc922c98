//! NuGet fixes end to end (issue 18): a push brings a real `packages.lock.json` written by
//! `dotnet restore` (tests/data/lockfile-proofs/nuget/) with Newtonsoft.Json 12.0.3
//! (GHSA-5crp-9r3c-p9vr, fixed in 13.0.1); the bot lists the tree for the project file, asks
//! the simulator's NuGet v3 API (service index, registration, catalog leaf) and opens an MR
//! whose lock and csproj are byte for byte the expected files, with the content hash
//! `dotnet restore` logged for Newtonsoft.Json 13.0.1. Also the client's two other paths:
//! registration pages fetched one by one, and a `.nupkg` hashed when the catalog has no hash.

use std::sync::Arc;
use std::time::Instant;

use backline::catalog::service::Quiet;
use backline::net::{Network, ProxySettings};
use backline::registry::{HttpRegistry, Registry, RegistryConfig};
use backline::remediation::fixer::PatchFixer;
use gitlab_sim::{GitLabSim, SimConfig, SimRegistry};

use crate::remediation::world_with;

fn data(path: &str) -> String {
    std::fs::read_to_string(crate::harness::test_data(&format!(
        "lockfile-proofs/nuget/{path}"
    )))
    .unwrap()
}

/// The content hash `dotnet restore` logged for Newtonsoft.Json 13.0.1 ("Installed
/// Newtonsoft.Json 13.0.1 from https://api.nuget.org/v3/index.json with content hash ...").
const NEWTONSOFT_13_0_1: &str =
    "ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A==";

fn client(sim: &GitLabSim) -> HttpRegistry {
    HttpRegistry::new(RegistryConfig {
        network: Network::load(None, ProxySettings::none()).unwrap(),
        ..RegistryConfig::simulator(sim.url())
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_a_vulnerable_nuget_lock_gets_an_mr_with_dotnets_files() {
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    // Newtonsoft.Json 13.0.1's nuspec groups (netstandard1.x ones have dependencies).
    registries.registry().add_nuget_hashed(
        "Newtonsoft.Json",
        "13.0.1",
        NEWTONSOFT_13_0_1,
        &[
            (Some(".NETFramework4.5"), &[]),
            (
                Some(".NETStandard1.0"),
                &[
                    ("Microsoft.CSharp", "[4.3.0, )"),
                    ("NETStandard.Library", "[1.6.1, )"),
                ],
            ),
            (Some(".NETStandard2.0"), &[]),
        ],
    );
    let registry = client(&registries);
    let reference = crate::harness::test_data("");
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![reference.join("ghsa-nuget")];
        // GitHub rates this advisory low: open its MR without waiting for an approval.
        s.auto_approve = Some(backline::advisories::cvss::Level::Low);
    })
    .await;
    let alice = w.bot_user_other().await;
    let files: Vec<(String, Option<bytes::Bytes>)> = [
        (
            "src/App/packages.lock.json",
            "subdependencies-before/packages.lock.json",
        ),
        ("src/App/App.csproj", "subdependencies-before/App.csproj"),
    ]
    .iter()
    .map(|(to, from)| (to.to_string(), Some(data(from).into())))
    .collect();
    w.sim.reset_requests();
    let started = Instant::now();
    w.sim
        .with_world(|x| x.commit_files(w.pid, alice, "main", "add the .NET service", files))
        .unwrap();
    w.settle().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let elapsed = started.elapsed();

    let mrs = w.mrs();
    let mine: Vec<_> = mrs
        .iter()
        .filter(|m| m.title.contains("Newtonsoft.Json"))
        .collect();
    assert_eq!(mine.len(), 1, "one MR for the lock: {mrs:?}");
    let mr = mine[0];
    assert!(mr.title.contains("from 12.0.3 to 13.0.1"), "{}", mr.title);
    let branch = &mr.source_branch;
    assert_eq!(
        w.file(branch, "src/App/packages.lock.json").unwrap(),
        data("subdependencies-after/packages.lock.json")
    );
    assert_eq!(
        w.file(branch, "src/App/App.csproj").unwrap(),
        data("subdependencies-after/App.csproj")
    );
    // The service index, the registration index (pages inlined), the catalog leaf.
    let count = |route: &str| registries.count("GET", route);
    let index = count("/registry/nuget/v3/index.json");
    let registration = count("/registry/nuget/v3/registration/:id/index.json");
    let catalog = count("/registry/nuget/v3/catalog0/data/:timestamp/:leaf.json");
    assert_eq!((index, registration, catalog), (1, 1, 1));
    assert_eq!(
        count("/registry/nuget/v3-flatcontainer/:id/:version/:file.nupkg"),
        0
    );
    // Figures for BENCHMARKS.md (`cargo test --test it nuget_lock -- --nocapture`).
    println!(
        "nuget: {} GitLab requests, {} NuGet requests, {:?} from push to the MR",
        w.sim.requests().len(),
        index + registration + catalog,
        elapsed
    );
}

#[tokio::test]
async fn registration_pages_out_of_line_and_nupkgs_hashed_without_a_catalog_hash() {
    let sim = GitLabSim::start(SimConfig::default()).unwrap();
    let r = sim.registry();
    for i in 0..130 {
        r.add_nuget(
            "Big.Pkg",
            &format!("1.0.{i}"),
            format!("pkg {i}").as_bytes(),
            &[],
        );
    }
    r.add_nuget(
        "Big.Pkg",
        "2.0.0",
        b"two",
        &[(Some("net6.0"), &[("Dep", "[1.0.0, 2.0.0)")])],
    );
    r.add_nuget_without_catalog_hash("Plain", "1.0.0", b"plain nupkg bytes", &[]);
    let registry = client(&sim);

    let got = registry
        .nuget_release("big.pkg", "2.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.id.as_str(), got.version.as_str()),
        ("Big.Pkg", "2.0.0")
    );
    assert_eq!(got.content_hash, SimRegistry::nuget_hash(b"two"));
    assert_eq!(
        got.dependency_groups[0].dependencies,
        vec![("Dep".to_string(), "[1.0.0, 2.0.0)".to_string())]
    );
    // 131 versions: the index lists three pages without their leaves; only the last is read.
    assert_eq!(
        sim.count(
            "GET",
            "/registry/nuget/v3/registration/:id/page/:lower/:upper.json"
        ),
        1
    );

    let plain = registry
        .nuget_release("Plain", "1.0.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        plain.content_hash,
        SimRegistry::nuget_hash(b"plain nupkg bytes")
    );
    assert_eq!(
        sim.count(
            "GET",
            "/registry/nuget/v3-flatcontainer/:id/:version/:file.nupkg"
        ),
        1
    );
    assert!(registry
        .nuget_release("Plain", "9.9.9")
        .await
        .unwrap()
        .is_none());
    assert!(registry
        .nuget_release("Unknown", "1.0.0")
        .await
        .unwrap()
        .is_none());
    assert!(registry.nuget_release("../x", "1.0.0").await.is_err());
}

#[tokio::test]
async fn a_parent_range_that_excludes_the_fix_blocks_it_with_the_chain() {
    use std::collections::HashMap;

    use backline::ecosystem::Ecosystem;
    use backline::registry::{FakeRegistry, NugetRelease};
    use backline::remediation::executor::{FixError, FixRequest, Fixer};

    // App -> Serilog.AspNetCore 4.1.0 -> Serilog [2.10.0, 3.0.0): the fix needs Serilog 3.1.1.
    let lock = r#"{
  "version": 1,
  "dependencies": {
    "net8.0": {
      "Serilog.AspNetCore": {
        "type": "Direct",
        "requested": "[4.1.0, )",
        "resolved": "4.1.0",
        "contentHash": "A==",
        "dependencies": {
          "Serilog.Extensions.Hosting": "4.1.2"
        }
      },
      "Serilog.Extensions.Hosting": {
        "type": "Transitive",
        "resolved": "4.1.2",
        "contentHash": "B==",
        "dependencies": {
          "Serilog": "[2.10.0, 3.0.0)"
        }
      },
      "Serilog": {
        "type": "Transitive",
        "resolved": "2.10.0",
        "contentHash": "C=="
      }
    }
  }
}
"#;
    let registry = FakeRegistry::new().nuget_release(NugetRelease {
        id: "Serilog".into(),
        version: "3.1.1".into(),
        content_hash: "D==".into(),
        dependency_groups: Vec::new(),
    });
    let fixer = PatchFixer::new(Arc::new(registry));
    let files = HashMap::from([("packages.lock.json".to_string(), lock.as_bytes().to_vec())]);
    let err = fixer
        .fix(&FixRequest {
            ecosystem: Ecosystem::NuGet,
            manifest: "packages.lock.json",
            package: "Serilog",
            from: "2.10.0",
            to: "3.1.1",
            direct: false,
            files: &files,
            others: &[],
        })
        .await
        .unwrap_err();
    let FixError::Blocked { chain, reason } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        chain,
        "app -> Serilog.AspNetCore@4.1.0 -> Serilog.Extensions.Hosting@4.1.2 -> Serilog@[2.10.0, 3.0.0) (fix needs Serilog 3.1.1)"
    );
    // Issue 18's override route: without a project file beside the lock there is nowhere to
    // write the pinning PackageReference, so the chain blocks it with that reason.
    assert!(
        reason.contains("no PackageReference: a pin needs the project file"),
        "{reason}"
    );
}

/// A lock whose Legacy.Client 1.0.0 requires Newtonsoft.Json `[12.0.3, 13.0.0)`: the fix
/// (13.0.1, GHSA-5crp-9r3c-p9vr) is outside the parent's range and NuGet parents are not
/// bumped, so the override route pins it.
const PINNED_BEFORE: &str = r#"{
  "version": 1,
  "dependencies": {
    "net8.0": {
      "Legacy.Client": {
        "type": "Direct",
        "requested": "[1.0.0, )",
        "resolved": "1.0.0",
        "contentHash": "TGVnYWN5==",
        "dependencies": {
          "Newtonsoft.Json": "[12.0.3, 13.0.0)"
        }
      },
      "Newtonsoft.Json": {
        "type": "Transitive",
        "resolved": "12.0.3",
        "contentHash": "6mgjfnRB4jKMlzHSl+VD+oUc1IebOZabkbyWj2RiTgWwYPPuaK1H97G1sHqGwPlS5npiF5Q0OrxN1wni2n5QWg=="
      }
    }
  }
}"#;

/// dotnet's layout for the pin: the entry is `Direct` (`requested` `[13.0.1, )`), placed among
/// the direct ones by id; Legacy.Client keeps its declared range.
const PINNED_AFTER: &str = r#"{
  "version": 1,
  "dependencies": {
    "net8.0": {
      "Legacy.Client": {
        "type": "Direct",
        "requested": "[1.0.0, )",
        "resolved": "1.0.0",
        "contentHash": "TGVnYWN5==",
        "dependencies": {
          "Newtonsoft.Json": "[12.0.3, 13.0.0)"
        }
      },
      "Newtonsoft.Json": {
        "type": "Direct",
        "requested": "[13.0.1, )",
        "resolved": "13.0.1",
        "contentHash": "ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A=="
      }
    }
  }
}"#;

const PINNED_CSPROJ: &str = "<Project Sdk=\"Microsoft.NET.Sdk\">\n\n  <PropertyGroup>\n    <TargetFramework>net8.0</TargetFramework>\n    <RestorePackagesWithLockFile>true</RestorePackagesWithLockFile>\n  </PropertyGroup>\n\n  <ItemGroup>\n    <PackageReference Include=\"Legacy.Client\" Version=\"1.0.0\" />\n  </ItemGroup>\n\n</Project>\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transitive_fix_outside_its_parents_range_is_pinned_with_a_package_reference() {
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    registries.registry().add_nuget_hashed(
        "Newtonsoft.Json",
        "13.0.1",
        NEWTONSOFT_13_0_1,
        &[(Some(".NETStandard2.0"), &[])],
    );
    let registry = client(&registries);
    let reference = crate::harness::test_data("");
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![reference.join("ghsa-nuget")];
        s.auto_approve = Some(backline::advisories::cvss::Level::Low);
    })
    .await;
    let alice = w.bot_user_other().await;
    let files: Vec<(String, Option<bytes::Bytes>)> = vec![
        (
            "packages.lock.json".to_string(),
            Some(PINNED_BEFORE.as_bytes().to_vec().into()),
        ),
        (
            "App.csproj".to_string(),
            Some(PINNED_CSPROJ.as_bytes().to_vec().into()),
        ),
    ];
    w.sim.reset_requests();
    let started = Instant::now();
    w.sim
        .with_world(|x| x.commit_files(w.pid, alice, "main", "add the client", files))
        .unwrap();
    w.settle().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;
    let elapsed = started.elapsed();

    let mrs = w.mrs();
    let mr = mrs
        .iter()
        .find(|m| m.title.contains("Newtonsoft.Json from 12.0.3 to 13.0.1"))
        .unwrap_or_else(|| panic!("no MR: {mrs:?}"));
    assert_eq!(
        w.file(&mr.source_branch, "packages.lock.json").unwrap(),
        PINNED_AFTER
    );
    assert_eq!(
        w.file(&mr.source_branch, "App.csproj").unwrap(),
        PINNED_CSPROJ.replace(
            "Version=\"1.0.0\" />\n",
            "Version=\"1.0.0\" />\n    <PackageReference Include=\"Newtonsoft.Json\" Version=\"13.0.1\" />\n"
        )
    );
    assert!(
        mr.description.contains(
            "**Override:** this MR pins `Newtonsoft.Json` to `13.0.1` with `PackageReference` in the project file, because Legacy.Client 1.0.0 requires Newtonsoft.Json '[12.0.3, 13.0.0)', which excludes 13.0.1"
        ),
        "{}",
        mr.description
    );
    assert!(
        mr.description.contains("dotnet restore warns NU1608"),
        "{}",
        mr.description
    );
    // Figures for BENCHMARKS.md (`cargo test --test it nuget_lock -- --nocapture`).
    let nuget = [
        "/registry/nuget/v3/index.json",
        "/registry/nuget/v3/registration/:id/index.json",
        "/registry/nuget/v3/catalog0/data/:timestamp/:leaf.json",
    ]
    .iter()
    .map(|r| registries.count("GET", r))
    .sum::<usize>();
    println!(
        "nuget pin: {} GitLab requests, {} NuGet requests, {:?} from push to the MR",
        w.sim.requests().len(),
        nuget,
        elapsed
    );
}

/// The same fix in a project with central package management and transitive pinning: the bot
/// fetches the nearest Directory.Packages.props from the tree and pins there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_central_transitive_pinning_the_fix_is_pinned_in_directory_packages_props() {
    let registries = GitLabSim::start(SimConfig::default()).unwrap();
    registries.registry().add_nuget_hashed(
        "Newtonsoft.Json",
        "13.0.1",
        NEWTONSOFT_13_0_1,
        &[(Some(".NETStandard2.0"), &[])],
    );
    let registry = client(&registries);
    let reference = crate::harness::test_data("");
    let w = world_with(Arc::new(PatchFixer::new(Arc::new(registry))), move |s| {
        s.advisories = vec![reference.join("ghsa-nuget")];
        s.auto_approve = Some(backline::advisories::cvss::Level::Low);
    })
    .await;
    let alice = w.bot_user_other().await;
    let lock = PINNED_BEFORE.replace("\"version\": 1", "\"version\": 2");
    let csproj = PINNED_CSPROJ.replace(" Version=\"1.0.0\"", "");
    let props = "<Project>\n  <PropertyGroup>\n    <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>\n    <CentralPackageTransitivePinningEnabled>true</CentralPackageTransitivePinningEnabled>\n  </PropertyGroup>\n  <ItemGroup>\n    <PackageVersion Include=\"Legacy.Client\" Version=\"1.0.0\" />\n  </ItemGroup>\n</Project>\n";
    let files: Vec<(String, Option<bytes::Bytes>)> = [
        ("src/App/packages.lock.json", lock.as_str()),
        ("src/App/App.csproj", csproj.as_str()),
        ("Directory.Packages.props", props),
    ]
    .iter()
    .map(|(p, t)| (p.to_string(), Some(t.as_bytes().to_vec().into())))
    .collect();
    w.sim
        .with_world(|x| x.commit_files(w.pid, alice, "main", "add the client", files))
        .unwrap();
    w.settle().await;
    let service = w.app.app.catalog_service.clone().unwrap();
    service.sync(&Quiet).await.unwrap();
    w.settle().await;

    let mrs = w.mrs();
    let mr = mrs
        .iter()
        .find(|m| m.title.contains("Newtonsoft.Json from 12.0.3 to 13.0.1"))
        .unwrap_or_else(|| panic!("no MR: {mrs:?}"));
    // dotnet's layout: the entry leaves the transitive block for the CentralTransitive one.
    let pinned = lock
        .replace(
            ",\n      \"Newtonsoft.Json\": {\n        \"type\": \"Transitive\",\n        \"resolved\": \"12.0.3\",\n        \"contentHash\": \"6mgjfnRB4jKMlzHSl+VD+oUc1IebOZabkbyWj2RiTgWwYPPuaK1H97G1sHqGwPlS5npiF5Q0OrxN1wni2n5QWg==\"\n      }",
            &format!(",\n      \"Newtonsoft.Json\": {{\n        \"type\": \"CentralTransitive\",\n        \"requested\": \"[13.0.1, )\",\n        \"resolved\": \"13.0.1\",\n        \"contentHash\": \"{NEWTONSOFT_13_0_1}\"\n      }}"),
        );
    assert_ne!(pinned, lock);
    assert_eq!(
        w.file(&mr.source_branch, "src/App/packages.lock.json")
            .unwrap(),
        pinned
    );
    assert_eq!(
        w.file(&mr.source_branch, "Directory.Packages.props").unwrap(),
        props.replace(
            "Version=\"1.0.0\" />\n",
            "Version=\"1.0.0\" />\n    <PackageVersion Include=\"Newtonsoft.Json\" Version=\"13.0.1\" />\n"
        )
    );
    assert_eq!(
        w.file(&mr.source_branch, "src/App/App.csproj").unwrap(),
        csproj,
        "the project file is left as it is"
    );
    assert!(
        mr.description.contains(
            "with `PackageVersion` in Directory.Packages.props (central transitive pinning)"
        ),
        "{}",
        mr.description
    );
}
