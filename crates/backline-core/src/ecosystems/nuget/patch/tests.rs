use std::collections::HashMap;

use crate::deps;
use crate::registry::{DependencyGroup, NugetRelease};
use crate::remediation::patch::{
    assert_no_panic, patch, FileChange, PatchError, PatchRequest, RegistryFacts,
};

macro_rules! proof {
    ($p:literal) => {
        include_str!(concat!(
            "../../../../../../tests/data/lockfile-proofs/nuget/",
            $p
        ))
    };
}

/// Newtonsoft.Json 13.0.1 as nuget.org's registration lists it (its nuspec's groups; only the
/// .NETStandard 1.x ones have dependencies), with the content hash `dotnet restore` logged.
fn newtonsoft_13_0_1() -> NugetRelease {
    let group = |tf: &str, deps: &[(&str, &str)]| DependencyGroup {
        target_framework: Some(tf.to_string()),
        dependencies: deps
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    };
    NugetRelease {
        id: "Newtonsoft.Json".into(),
        version: "13.0.1".into(),
        content_hash:
            "ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A=="
                .into(),
        dependency_groups: vec![
            group(".NETFramework2.0", &[]),
            group(".NETFramework4.5", &[]),
            group(
                ".NETStandard1.0",
                &[
                    ("Microsoft.CSharp", "[4.3.0, )"),
                    ("NETStandard.Library", "[1.6.1, )"),
                ],
            ),
            group(".NETStandard2.0", &[]),
        ],
    }
}

fn release(id: &str, version: &str, hash: &str, groups: Vec<DependencyGroup>) -> NugetRelease {
    NugetRelease {
        id: id.into(),
        version: version.into(),
        content_hash: hash.into(),
        dependency_groups: groups,
    }
}

/// Runs the patch over `files` (path → text) with `facts`.
fn run(
    files: &[(&str, &str)],
    lock: &str,
    package: &str,
    from: &str,
    to: &str,
    facts: RegistryFacts,
) -> Result<HashMap<String, String>, PatchError> {
    let map: HashMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
        .collect();
    let lookup = |p: &str| map.get(p).cloned();
    let req = PatchRequest {
        manifest_path: lock,
        package,
        from,
        to,
        direct: true,
        files: &lookup,
        facts: &facts,
    };
    patch(&req).map(|cs: Vec<FileChange>| {
        cs.into_iter()
            .map(|c| (c.path, String::from_utf8(c.content).unwrap()))
            .collect()
    })
}

fn facts(rel: NugetRelease, project_files: &[&str]) -> RegistryFacts {
    RegistryFacts {
        nuget_release: Some(rel),
        nuget_project_files: project_files.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// The before-lock is dotnet's (trivy's test data); the expected after-files are hand-derived
/// by NuGet's writing rules (tests/data/lockfile-proofs/README.md), unlike the CPM pair below
/// whose after-lock dotnet wrote too.
#[test]
fn a_real_dotnet_lock_moves_byte_for_byte_with_its_project_file() {
    let out = run(
        &[
            (
                "src/App/packages.lock.json",
                proof!("subdependencies-before/packages.lock.json"),
            ),
            (
                "src/App/App.csproj",
                proof!("subdependencies-before/App.csproj"),
            ),
        ],
        "src/App/packages.lock.json",
        "newtonsoft.json",
        "12.0.3",
        "13.0.1",
        facts(newtonsoft_13_0_1(), &["src/App/App.csproj"]),
    )
    .unwrap();
    assert_eq!(
        out["src/App/packages.lock.json"],
        proof!("subdependencies-after/packages.lock.json")
    );
    assert_eq!(
        out["src/App/App.csproj"],
        proof!("subdependencies-after/App.csproj")
    );
    let deps = deps::nuget::parse("p", out["src/App/packages.lock.json"].as_bytes()).unwrap();
    assert!(deps
        .iter()
        .any(|d| d.name == "Newtonsoft.Json" && d.version.as_deref() == Some("13.0.1")));
}

#[test]
fn every_target_framework_moves_and_the_direct_one_moves_its_reference() {
    let csproj = "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <ItemGroup Condition=\"'$(TargetFramework)' == 'net9.0'\">\n    <PackageReference Include=\"Microsoft.Extensions.DependencyInjection.Abstractions\">\n      <Version>9.0.0</Version>\n    </PackageReference>\n  </ItemGroup>\n</Project>\n";
    let before = proof!("multi-before/packages.lock.json");
    let out = run(
        &[("packages.lock.json", before), ("Lib.csproj", csproj)],
        "packages.lock.json",
        "Microsoft.Extensions.DependencyInjection.Abstractions",
        "9.0.0",
        "9.0.1",
        facts(
            release(
                "Microsoft.Extensions.DependencyInjection.Abstractions",
                "9.0.1",
                "NEWHASH==",
                vec![],
            ),
            &["Lib.csproj"],
        ),
    )
    .unwrap();
    let lock = &out["packages.lock.json"];
    let expected = before
        .replace(
            "\"resolved\": \"9.0.0\",\n        \"contentHash\": \"+6f2qv2a3dLwd5w6JanPIPs47CxRbnk+ZocMJUhv9NxP88VlOcJYZs9jY+MYSjxvady08bUZn6qgiNh7DadGgg==\"",
            "\"resolved\": \"9.0.1\",\n        \"contentHash\": \"NEWHASH==\"",
        )
        .replace(
            "\"requested\": \"[9.0.0, )\",\n        \"resolved\": \"9.0.1\"",
            "\"requested\": \"[9.0.1, )\",\n        \"resolved\": \"9.0.1\"",
        );
    assert_eq!(*lock, expected);
    assert_eq!(lock.matches("\"resolved\": \"9.0.1\"").count(), 2);
    assert_eq!(
        out["Lib.csproj"],
        csproj.replace("9.0.0</Version>", "9.0.1</Version>")
    );
}

const PARENTED: &str = "\u{feff}{\r\n  \"version\": 1,\r\n  \"dependencies\": {\r\n    \"net8.0\": {\r\n      \"Parent\": {\r\n        \"type\": \"Direct\",\r\n        \"requested\": \"[1.0.0, )\",\r\n        \"resolved\": \"1.0.0\",\r\n        \"contentHash\": \"P==\",\r\n        \"dependencies\": {\r\n          \"Child\": \"[1.0.0, 2.0.0)\"\r\n        }\r\n      },\r\n      \"Child\": {\r\n        \"type\": \"Transitive\",\r\n        \"resolved\": \"1.0.0\",\r\n        \"contentHash\": \"C1==\"\r\n      },\r\n      \"Helper\": {\r\n        \"type\": \"Transitive\",\r\n        \"resolved\": \"3.1.0\",\r\n        \"contentHash\": \"H==\"\r\n      }\r\n    }\r\n  }\r\n}";

#[test]
fn a_transitive_entry_gaining_dependencies_is_written_as_dotnet_writes_it() {
    let rel = release(
        "Child",
        "1.5.0",
        "C15==",
        vec![
            DependencyGroup {
                target_framework: Some("net6.0".into()),
                dependencies: vec![("Helper".into(), "3.0.0".into())],
            },
            DependencyGroup {
                target_framework: Some(".NETStandard2.0".into()),
                dependencies: vec![("Other".into(), "[1.0.0, )".into())],
            },
        ],
    );
    let out = run(
        &[("packages.lock.json", PARENTED)],
        "packages.lock.json",
        "Child",
        "1.0.0",
        "1.5",
        facts(rel, &[]),
    )
    .unwrap();
    let expected = PARENTED.replace(
        "\"Child\": {\r\n        \"type\": \"Transitive\",\r\n        \"resolved\": \"1.0.0\",\r\n        \"contentHash\": \"C1==\"\r\n      }",
        "\"Child\": {\r\n        \"type\": \"Transitive\",\r\n        \"resolved\": \"1.5.0\",\r\n        \"contentHash\": \"C15==\",\r\n        \"dependencies\": {\r\n          \"Helper\": \"3.0.0\"\r\n        }\r\n      }",
    );
    assert_eq!(out["packages.lock.json"], expected);
    assert_eq!(out.len(), 1, "a transitive move edits the lock alone");
}

#[test]
fn a_parent_range_that_excludes_the_fix_names_the_parent() {
    let err = run(
        &[("packages.lock.json", PARENTED)],
        "packages.lock.json",
        "Child",
        "1.0.0",
        "2.0.0",
        facts(release("Child", "2.0.0", "C2==", vec![]), &[]),
    )
    .unwrap_err();
    match err {
        PatchError::ParentExcludes { parent, at, to, .. } => {
            assert_eq!(
                (
                    parent.as_str(),
                    at.version.as_str(),
                    at.range.as_str(),
                    to.as_str()
                ),
                ("Parent", "1.0.0", "[1.0.0, 2.0.0)", "2.0.0")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_dependency_the_lock_lacks_or_excludes_needs_a_restore() {
    let needs = |deps: Vec<(String, String)>| {
        run(
            &[("packages.lock.json", PARENTED)],
            "packages.lock.json",
            "Child",
            "1.0.0",
            "1.5.0",
            facts(
                release(
                    "Child",
                    "1.5.0",
                    "C15==",
                    vec![DependencyGroup {
                        target_framework: None,
                        dependencies: deps,
                    }],
                ),
                &[],
            ),
        )
        .unwrap_err()
        .reason()
    };
    let r = needs(vec![("Missing".into(), "1.0.0".into())]);
    assert!(
        r.contains("does not have") && r.contains("dotnet restore"),
        "{r}"
    );
    let r = needs(vec![("Helper".into(), "[4.0.0, )".into())]);
    assert!(r.contains("the lockfile has 3.1.0 for net8.0"), "{r}");
}

#[test]
fn central_package_management_moves_directory_packages_props() {
    let lock = "{\n  \"version\": 2,\n  \"dependencies\": {\n    \"net8.0\": {\n      \"Serilog\": {\n        \"type\": \"Direct\",\n        \"requested\": \"[2.10.0, )\",\n        \"resolved\": \"2.10.0\",\n        \"contentHash\": \"S==\"\n      },\n      \"System.Text.Json\": {\n        \"type\": \"CentralTransitive\",\n        \"requested\": \"[8.0.0, )\",\n        \"resolved\": \"8.0.0\",\n        \"contentHash\": \"T==\"\n      }\n    }\n  }\n}\n";
    let csproj = "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <ItemGroup>\n    <PackageReference Include=\"Serilog\" />\n  </ItemGroup>\n</Project>\n";
    let props = "<Project>\n  <PropertyGroup>\n    <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>\n    <CentralPackageTransitivePinningEnabled>true</CentralPackageTransitivePinningEnabled>\n  </PropertyGroup>\n  <ItemGroup>\n    <PackageVersion Include=\"Serilog\" Version=\"2.10.0\" />\n    <PackageVersion Include=\"System.Text.Json\" Version=\"8.0.0\" />\n  </ItemGroup>\n</Project>\n";
    let files = [
        ("src/App/packages.lock.json", lock),
        ("src/App/App.csproj", csproj),
        ("Directory.Packages.props", props),
    ];
    let project_files = ["src/App/App.csproj", "Directory.Packages.props"];
    let out = run(
        &files,
        "src/App/packages.lock.json",
        "Serilog",
        "2.10.0",
        "2.12.0",
        facts(release("Serilog", "2.12.0", "S2==", vec![]), &project_files),
    )
    .unwrap();
    assert_eq!(
        out["Directory.Packages.props"],
        props.replace(
            "\"Serilog\" Version=\"2.10.0\"",
            "\"Serilog\" Version=\"2.12.0\""
        )
    );
    assert!(!out.contains_key("src/App/App.csproj"));
    // A pinned transitive (CentralTransitive) moves its PackageVersion too.
    let out = run(
        &files,
        "src/App/packages.lock.json",
        "System.Text.Json",
        "8.0.0",
        "8.0.5",
        facts(
            release("System.Text.Json", "8.0.5", "T5==", vec![]),
            &project_files,
        ),
    )
    .unwrap();
    assert!(out["Directory.Packages.props"].contains("\"System.Text.Json\" Version=\"8.0.5\""));
    assert!(out["src/App/packages.lock.json"].contains("\"requested\": \"[8.0.5, )\""));
}

#[test]
fn project_files_that_do_not_say_the_version_are_reasons_not_guesses() {
    let lock = proof!("subdependencies-before/packages.lock.json");
    let with = |csproj: &str| {
        run(
            &[("packages.lock.json", lock), ("App.csproj", csproj)],
            "packages.lock.json",
            "Newtonsoft.Json",
            "12.0.3",
            "13.0.1",
            facts(newtonsoft_13_0_1(), &["App.csproj"]),
        )
    };
    let r = with("<Project><ItemGroup><PackageReference Include=\"Newtonsoft.Json\" Version=\"$(JsonVersion)\" /></ItemGroup></Project>").unwrap_err().reason();
    assert!(r.contains("`$(JsonVersion)`"), "{r}");
    let r = with("<Project><ItemGroup><PackageReference Include=\"Newtonsoft.Json\" Version=\"1.0`*[x](http://e)*\" /></ItemGroup></Project>").unwrap_err().reason();
    assert!(r.contains("(not shown)") && !r.contains('*'), "{r}");
    let err = with("<Project>\n<ItemGroup>\n<PackageReference Include=\"Newtonsoft.Json\" Version=\"12.0.3\">\n</Project>").unwrap_err();
    match err {
        PatchError::Unreadable(e) => assert_eq!((e.file.as_str(), e.line), ("App.csproj", Some(4))),
        other => panic!("{other:?}"),
    }
    let r = with("<Project />").unwrap_err().reason();
    assert!(r.contains("no project file references it"), "{r}");
    // Without the registry's entry there is no content hash to write.
    let r = run(
        &[("packages.lock.json", lock)],
        "packages.lock.json",
        "Newtonsoft.Json",
        "12.0.3",
        "13.0.1",
        RegistryFacts::default(),
    )
    .unwrap_err()
    .reason();
    assert!(r.contains("was not fetched"), "{r}");
}

#[test]
fn hostile_locks_never_panic() {
    assert_no_panic(
        "packages.lock.json",
        PARENTED,
        "Child",
        "1.0.0",
        "1.5.0",
        &facts(release("Child", "1.5.0", "C15==", vec![]), &[]),
    );
}

#[test]
fn the_blocking_chain_walks_up_to_the_direct_dependency() {
    let lock = PARENTED.replace(
        "\"Helper\": {\r\n        \"type\": \"Transitive\",\r\n        \"resolved\": \"3.1.0\",\r\n        \"contentHash\": \"H==\"\r\n      }",
        "\"Helper\": {\r\n        \"type\": \"Transitive\",\r\n        \"resolved\": \"3.1.0\",\r\n        \"contentHash\": \"H==\",\r\n        \"dependencies\": { \"Child\": \"1.0.0\" }\r\n      }",
    );
    assert_eq!(
        super::chain(PARENTED.as_bytes(), "Parent", "1.0.0"),
        vec![("Parent".to_string(), "1.0.0".to_string())]
    );
    // A transitive parent: up to whoever depends on it (none here: it stands alone).
    assert_eq!(
        super::chain(lock.as_bytes(), "helper", "3.1.0"),
        vec![("Helper".to_string(), "3.1.0".to_string())]
    );
    assert!(super::chain(b"not json", "a", "1").is_empty());
    let deep = "{\"version\":1,\"dependencies\":{\"net8.0\":{\"A\":{\"type\":\"Direct\",\"resolved\":\"1.0.0\",\"dependencies\":{\"B\":\"2.0.0\"}},\"B\":{\"type\":\"Transitive\",\"resolved\":\"2.0.0\",\"dependencies\":{\"C\":\"[1.0.0, 2.0.0)\"}},\"C\":{\"type\":\"Transitive\",\"resolved\":\"1.0.0\"}}}}";
    assert_eq!(
        super::chain(deep.as_bytes(), "B", "2.0.0"),
        vec![
            ("A".to_string(), "1.0.0".to_string()),
            ("B".to_string(), "2.0.0".to_string())
        ]
    );
}

/// Atya.Foundation.Guards 1.0.2 as the after-file shows it: its content hash, and no
/// dependencies for net10.0 (the entry has no `dependencies`).
fn guards_1_0_2() -> NugetRelease {
    release(
        "Atya.Foundation.Guards",
        "1.0.2",
        "pK0hllKNECWmAK1XInrp94OSon9NFnbkPL/P37WzUD1riSR/AuaeRo0/VkPP8fw6KuAR3IrqsIHNv2l+soKBhA==",
        vec![DependencyGroup {
            target_framework: Some("net10.0".into()),
            dependencies: vec![],
        }],
    )
}

/// A real pair (tests/data/lockfile-proofs/nuget/cpm-central-transitive, both locks written by
/// dotnet): central package management with transitive pinning, the package pinned from
/// Directory.Packages.props (`CentralTransitive`) and named by the referenced project's entry.
/// dotnet rewrote the `Project` entry's range too (`[1.0.0, )` to `[1.0.2, )`): the referenced
/// project's PackageReference takes its version from the same Directory.Packages.props.
#[test]
fn a_real_cpm_bump_moves_the_central_transitive_entry_and_the_project_range() {
    let dir = "samples/NuGetPackage.Samples.Console";
    let lock = format!("{dir}/packages.lock.json");
    let csproj = format!("{dir}/NuGetPackage.Samples.Console.csproj");
    let out = run(
        &[
            (
                &lock,
                proof!("cpm-central-transitive/before/packages.lock.json"),
            ),
            (
                &csproj,
                proof!("cpm-central-transitive/before/NuGetPackage.Samples.Console.csproj"),
            ),
            (
                "Directory.Packages.props",
                proof!("cpm-central-transitive/before/Directory.Packages.props"),
            ),
        ],
        &lock,
        "Atya.Foundation.Guards",
        "1.0.0",
        "1.0.2",
        facts(guards_1_0_2(), &[&csproj, "Directory.Packages.props"]),
    )
    .unwrap();
    assert_eq!(
        out[&lock],
        proof!("cpm-central-transitive/after/packages.lock.json")
    );
    assert_eq!(
        out["Directory.Packages.props"],
        proof!("cpm-central-transitive/after/Directory.Packages.props")
    );
    assert!(!out.contains_key(&csproj), "the csproj names no version");
}
