use std::collections::HashMap;

use crate::deps;
use crate::registry::{DependencyGroup, NugetRelease};
use crate::remediation::patch::{
    override_kind, patch_with, OverrideKind, ParentRule, PatchError, PatchRequest, RegistryFacts,
};

/// Child 2.0.1, with `deps` for net8.0.
fn child(deps: &[(&str, &str)]) -> NugetRelease {
    NugetRelease {
        id: "Child".into(),
        version: "2.0.1".into(),
        content_hash: "C2==".into(),
        dependency_groups: vec![DependencyGroup {
            target_framework: Some("net8.0".into()),
            dependencies: deps
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }],
    }
}

/// Pins Child 1.0.0 → 2.0.1 over `files` (path → text) with `project_files` listed.
fn pin(
    files: &[(&str, &str)],
    project_files: &[&str],
    release: NugetRelease,
) -> Result<HashMap<String, String>, PatchError> {
    let map: HashMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
        .collect();
    let lookup = |p: &str| map.get(p).cloned();
    let facts = RegistryFacts {
        nuget_release: Some(release),
        nuget_project_files: project_files.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let req = PatchRequest {
        manifest_path: "packages.lock.json",
        package: "Child",
        from: "1.0.0",
        to: "2.0.1",
        direct: false,
        files: &lookup,
        facts: &facts,
    };
    patch_with(&req, &ParentRule::Override).map(|cs| {
        cs.into_iter()
            .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
            .collect()
    })
}

/// The kind of override the request gets.
fn kind(files: &[(&str, &str)], project_files: &[&str]) -> Option<OverrideKind> {
    let map: HashMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
        .collect();
    let lookup = |p: &str| map.get(p).cloned();
    let facts = RegistryFacts {
        nuget_project_files: project_files.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    override_kind(&PatchRequest {
        manifest_path: "packages.lock.json",
        package: "Child",
        from: "1.0.0",
        to: "2.0.1",
        direct: false,
        files: &lookup,
        facts: &facts,
    })
}

const CENTRAL_LOCK: &str = r#"{
  "version": 2,
  "dependencies": {
    "net8.0": {
      "Parent": {
        "type": "Direct",
        "requested": "[1.0.0, )",
        "resolved": "1.0.0",
        "contentHash": "P==",
        "dependencies": {
          "Child": "[1.0.0, 2.0.0)"
        }
      },
      "Child": {
        "type": "Transitive",
        "resolved": "1.0.0",
        "contentHash": "C1=="
      },
      "Helper": {
        "type": "Transitive",
        "resolved": "3.1.0",
        "contentHash": "H=="
      },
      "lib": {
        "type": "Project",
        "dependencies": {
          "Parent": "[1.0.0, )"
        }
      },
      "Alpha": {
        "type": "CentralTransitive",
        "requested": "[2.0.0, )",
        "resolved": "2.0.0",
        "contentHash": "A=="
      }
    }
  }
}"#;

/// dotnet's layout: the pinned entry leaves the transitive block for the `CentralTransitive`
/// one (after the projects), in id order there; the parent keeps its declared range.
const CENTRAL_LOCK_AFTER: &str = r#"{
  "version": 2,
  "dependencies": {
    "net8.0": {
      "Parent": {
        "type": "Direct",
        "requested": "[1.0.0, )",
        "resolved": "1.0.0",
        "contentHash": "P==",
        "dependencies": {
          "Child": "[1.0.0, 2.0.0)"
        }
      },
      "Helper": {
        "type": "Transitive",
        "resolved": "3.1.0",
        "contentHash": "H=="
      },
      "lib": {
        "type": "Project",
        "dependencies": {
          "Parent": "[1.0.0, )"
        }
      },
      "Alpha": {
        "type": "CentralTransitive",
        "requested": "[2.0.0, )",
        "resolved": "2.0.0",
        "contentHash": "A=="
      },
      "Child": {
        "type": "CentralTransitive",
        "requested": "[2.0.1, )",
        "resolved": "2.0.1",
        "contentHash": "C2==",
        "dependencies": {
          "Helper": "3.1.0"
        }
      }
    }
  }
}"#;

const PROPS: &str = "<Project>\r\n  <PropertyGroup>\r\n    <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>\r\n    <CentralPackageTransitivePinningEnabled>true</CentralPackageTransitivePinningEnabled>\r\n  </PropertyGroup>\r\n  <ItemGroup>\r\n    <PackageVersion Include=\"Parent\" Version=\"1.0.0\" />\r\n    <PackageVersion Include=\"Alpha\" Version=\"2.0.0\" />\r\n  </ItemGroup>\r\n</Project>\r\n";

const VERSIONLESS_CSPROJ: &str = "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <ItemGroup>\n    <PackageReference Include=\"Parent\" />\n  </ItemGroup>\n</Project>\n";

#[test]
fn central_management_pins_with_a_package_version_and_a_central_transitive_entry() {
    let files = [
        ("packages.lock.json", CENTRAL_LOCK),
        ("App.csproj", VERSIONLESS_CSPROJ),
        ("Directory.Packages.props", PROPS),
    ];
    let listed = ["App.csproj", "Directory.Packages.props"];
    assert_eq!(kind(&files, &listed), Some(OverrideKind::NugetCentralPin));
    let out = pin(&files, &listed, child(&[("Helper", "3.1.0")])).unwrap();
    assert_eq!(out["packages.lock.json"], CENTRAL_LOCK_AFTER);
    assert_eq!(
        out["Directory.Packages.props"],
        PROPS.replace(
            "<PackageVersion Include=\"Alpha\" Version=\"2.0.0\" />\r\n",
            "<PackageVersion Include=\"Alpha\" Version=\"2.0.0\" />\r\n    <PackageVersion Include=\"Child\" Version=\"2.0.1\" />\r\n"
        )
    );
    assert!(
        !out.contains_key("App.csproj"),
        "the csproj names no versions"
    );
    let parsed = deps::nuget::parse("p", out["packages.lock.json"].as_bytes()).unwrap();
    assert!(parsed
        .iter()
        .any(|d| d.name == "Child" && d.version.as_deref() == Some("2.0.1")));
}

const DIRECT_LOCK: &str = r#"{
  "version": 1,
  "dependencies": {
    "net6.0": {
      "Parent": {
        "type": "Direct",
        "requested": "[1.0.0, )",
        "resolved": "1.0.0",
        "contentHash": "P==",
        "dependencies": {
          "Child": "[1.0.0, 2.0.0)"
        }
      },
      "Child": {
        "type": "Transitive",
        "resolved": "1.0.0",
        "contentHash": "C1=="
      }
    },
    "net8.0": {
      "Parent": {
        "type": "Direct",
        "requested": "[1.0.0, )",
        "resolved": "1.0.0",
        "contentHash": "P==",
        "dependencies": {
          "Child": "[1.0.0, 2.0.0)"
        }
      },
      "Child": {
        "type": "Transitive",
        "resolved": "1.0.0",
        "contentHash": "C1=="
      },
      "Zed": {
        "type": "Transitive",
        "resolved": "1.0.0",
        "contentHash": "Z=="
      }
    },
    "net8.0/linux-x64": {}
  }
}"#;

/// Each framework's entry becomes `Direct`, placed among the direct ones by id (Child before
/// Parent, ignoring case as NuGet does).
const DIRECT_LOCK_AFTER: &str = r#"{
  "version": 1,
  "dependencies": {
    "net6.0": {
      "Child": {
        "type": "Direct",
        "requested": "[2.0.1, )",
        "resolved": "2.0.1",
        "contentHash": "C2=="
      },
      "Parent": {
        "type": "Direct",
        "requested": "[1.0.0, )",
        "resolved": "1.0.0",
        "contentHash": "P==",
        "dependencies": {
          "Child": "[1.0.0, 2.0.0)"
        }
      }
    },
    "net8.0": {
      "Child": {
        "type": "Direct",
        "requested": "[2.0.1, )",
        "resolved": "2.0.1",
        "contentHash": "C2=="
      },
      "Parent": {
        "type": "Direct",
        "requested": "[1.0.0, )",
        "resolved": "1.0.0",
        "contentHash": "P==",
        "dependencies": {
          "Child": "[1.0.0, 2.0.0)"
        }
      },
      "Zed": {
        "type": "Transitive",
        "resolved": "1.0.0",
        "contentHash": "Z=="
      }
    },
    "net8.0/linux-x64": {}
  }
}"#;

const CSPROJ: &str = "<Project Sdk=\"Microsoft.NET.Sdk\">\n\n  <PropertyGroup>\n    <TargetFrameworks>net6.0;net8.0</TargetFrameworks>\n  </PropertyGroup>\n\n  <ItemGroup>\n    <PackageReference Include=\"Parent\" Version=\"1.0.0\" />\n  </ItemGroup>\n\n</Project>\n";

#[test]
fn without_central_management_a_direct_reference_pins_every_framework() {
    let files = [("packages.lock.json", DIRECT_LOCK), ("App.csproj", CSPROJ)];
    assert_eq!(
        kind(&files, &["App.csproj"]),
        Some(OverrideKind::NugetDirectReference)
    );
    let out = pin(&files, &["App.csproj"], child(&[])).unwrap();
    assert_eq!(out["packages.lock.json"], DIRECT_LOCK_AFTER);
    assert_eq!(
        out["App.csproj"],
        CSPROJ.replace(
            "Version=\"1.0.0\" />\n",
            "Version=\"1.0.0\" />\n    <PackageReference Include=\"Child\" Version=\"2.0.1\" />\n"
        )
    );
    // A project without a PackageReference item group gets one before `</Project>`.
    let bare = "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <PropertyGroup>\n    <TargetFrameworks>net6.0;net8.0</TargetFrameworks>\n  </PropertyGroup>\n</Project>\n";
    let out = pin(
        &[("packages.lock.json", DIRECT_LOCK), ("App.csproj", bare)],
        &["App.csproj"],
        child(&[]),
    )
    .unwrap();
    assert_eq!(
        out["App.csproj"],
        bare.replace(
            "</Project>",
            "  <ItemGroup>\n    <PackageReference Include=\"Child\" Version=\"2.0.1\" />\n  </ItemGroup>\n</Project>"
        )
    );
}

#[test]
fn pins_that_would_need_a_restore_or_a_guess_are_refused_with_the_reason() {
    let reason = |files: &[(&str, &str)], listed: &[&str], rel: NugetRelease| {
        pin(files, listed, rel).unwrap_err().reason()
    };
    // Central management without transitive pinning: a PackageVersion would not pin.
    let unpinned = PROPS.replace(
        "<CentralPackageTransitivePinningEnabled>true</CentralPackageTransitivePinningEnabled>",
        "",
    );
    let files = [
        ("packages.lock.json", CENTRAL_LOCK),
        ("App.csproj", VERSIONLESS_CSPROJ),
        ("Directory.Packages.props", unpinned.as_str()),
    ];
    let r = reason(
        &files,
        &["App.csproj", "Directory.Packages.props"],
        child(&[]),
    );
    assert!(r.contains("CentralPackageTransitivePinningEnabled"), "{r}");
    // No project file to write the reference to.
    let r = reason(&[("packages.lock.json", DIRECT_LOCK)], &[], child(&[]));
    assert!(r.contains("project file"), "{r}");
    // A framework that does not lock the package would gain it.
    let partial = DIRECT_LOCK.replacen(
        "\"Child\": {\n        \"type\": \"Transitive\",\n        \"resolved\": \"1.0.0\",\n        \"contentHash\": \"C1==\"\n      }\n    },",
        "\"Other\": {\n        \"type\": \"Transitive\",\n        \"resolved\": \"1.0.0\",\n        \"contentHash\": \"O==\"\n      }\n    },",
        1,
    );
    let r = reason(
        &[("packages.lock.json", &partial), ("App.csproj", CSPROJ)],
        &["App.csproj"],
        child(&[]),
    );
    assert!(r.contains("not locked for net6.0"), "{r}");
    // The new version's dependency is not locked: the restore must resolve it.
    let r = reason(
        &[("packages.lock.json", DIRECT_LOCK), ("App.csproj", CSPROJ)],
        &["App.csproj"],
        child(&[("Missing", "[1.0.0, )")]),
    );
    assert!(r.contains("dotnet restore"), "{r}");
    // A lock not laid out as dotnet writes it is not rebuilt.
    let compact: String =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(DIRECT_LOCK).unwrap())
            .unwrap();
    let r = reason(
        &[("packages.lock.json", &compact), ("App.csproj", CSPROJ)],
        &["App.csproj"],
        child(&[]),
    );
    assert!(r.contains("not laid out as dotnet writes it"), "{r}");
    // The project already references it (at another version than the lock's).
    let referenced = CSPROJ.replace(
        "<PackageReference Include=\"Parent\" Version=\"1.0.0\" />",
        "<PackageReference Include=\"Parent\" Version=\"1.0.0\" />\n    <PackageReference Include=\"child\" Version=\"$(V)\" />",
    );
    let r = reason(
        &[
            ("packages.lock.json", DIRECT_LOCK),
            ("App.csproj", &referenced),
        ],
        &["App.csproj"],
        child(&[]),
    );
    assert!(
        r.contains("already has a PackageReference for Child"),
        "{r}"
    );
}

/// The pinned entry's bytes and place checked against a lock dotnet wrote: the after-file of
/// tests/data/lockfile-proofs/nuget/cpm-central-transitive has Atya.Foundation.Guards 1.0.2 as
/// a `CentralTransitive` entry after the `Project` one. The before-file here is derived from it
/// (Guards 1.0.0 as a plain `Transitive` entry, where dotnet puts those, and no PackageVersion
/// for it), so pinning Guards must give dotnet's file back byte for byte.
#[test]
fn a_central_pin_writes_the_entry_as_dotnet_wrote_it_in_a_real_lock() {
    let after = include_str!(
        "../../../../../tests/data/lockfile-proofs/nuget/cpm-central-transitive/after/packages.lock.json"
    );
    let entry = "      \"Atya.Foundation.Guards\": {\n        \"type\": \"CentralTransitive\",\n        \"requested\": \"[1.0.2, )\",\n        \"resolved\": \"1.0.2\",\n        \"contentHash\": \"pK0hllKNECWmAK1XInrp94OSon9NFnbkPL/P37WzUD1riSR/AuaeRo0/VkPP8fw6KuAR3IrqsIHNv2l+soKBhA==\"\n      }";
    assert!(after.contains(entry));
    let transitive = "      \"Atya.Foundation.Guards\": {\n        \"type\": \"Transitive\",\n        \"resolved\": \"1.0.0\",\n        \"contentHash\": \"hLGlr7iPEAVMFEzNf2yGxEuJld/UGwBuC16TGyw3EGYrTQYf1ub3y24eoiFB4BGLQQDw1ll9hPoAdgVdJQEifQ==\"\n      },\n";
    let before = after.replace(&format!(",\n{entry}"), "").replace(
        "      \"Atya.Templates.NuGetPackage\"",
        &format!("{transitive}      \"Atya.Templates.NuGetPackage\""),
    );
    assert_ne!(before, after);
    let props = PROPS.replace("Parent", "Other.Package");
    let map: HashMap<String, Vec<u8>> = [
        ("packages.lock.json", before.as_str()),
        ("Directory.Packages.props", props.as_str()),
    ]
    .iter()
    .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
    .collect();
    let lookup = |p: &str| map.get(p).cloned();
    let facts = RegistryFacts {
        nuget_release: Some(NugetRelease {
            id: "Atya.Foundation.Guards".into(),
            version: "1.0.2".into(),
            content_hash: "pK0hllKNECWmAK1XInrp94OSon9NFnbkPL/P37WzUD1riSR/AuaeRo0/VkPP8fw6KuAR3IrqsIHNv2l+soKBhA==".into(),
            dependency_groups: vec![],
        }),
        nuget_project_files: vec!["Directory.Packages.props".into()],
        ..Default::default()
    };
    let out = patch_with(
        &PatchRequest {
            manifest_path: "packages.lock.json",
            package: "Atya.Foundation.Guards",
            from: "1.0.0",
            to: "1.0.2",
            direct: false,
            files: &lookup,
            facts: &facts,
        },
        &ParentRule::Override,
    )
    .unwrap();
    assert_eq!(String::from_utf8(out[0].content.clone()).unwrap(), after);
    assert!(String::from_utf8(out[1].content.clone())
        .unwrap()
        .contains("<PackageVersion Include=\"Atya.Foundation.Guards\" Version=\"1.0.2\" />\r\n"));
}

/// Every prefix and some byte-flipped copies of the lock and the project file (the
/// repository's, untrusted) answer without panicking.
#[test]
fn hostile_locks_and_project_files_never_panic_a_pin() {
    let variants = |text: &str| -> Vec<String> {
        let mut out: Vec<String> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .map(|i| text[..i].to_string())
            .collect();
        for (i, b) in text.bytes().enumerate().step_by(5) {
            let mut v = text.as_bytes().to_vec();
            v[i] = match b {
                b'"' => b'\'',
                b'<' => b'>',
                b'\n' => b' ',
                _ => b'"',
            };
            if let Ok(s) = String::from_utf8(v) {
                out.push(s);
            }
        }
        out
    };
    for lock in variants(CENTRAL_LOCK) {
        let _ = pin(
            &[
                ("packages.lock.json", &lock),
                ("Directory.Packages.props", PROPS),
            ],
            &["Directory.Packages.props"],
            child(&[("Helper", "3.1.0")]),
        );
    }
    for csproj in variants(CSPROJ) {
        let _ = pin(
            &[("packages.lock.json", DIRECT_LOCK), ("App.csproj", &csproj)],
            &["App.csproj"],
            child(&[]),
        );
    }
}
