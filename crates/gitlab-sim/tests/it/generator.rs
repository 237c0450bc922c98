//! Generator and import, seen through the API.

use std::collections::BTreeSet;

use gitlab_sim::{generate, import_dir};
use serde_json::Value;

use crate::support::*;

async fn catalog(sim: &gitlab_sim::GitLabSim) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut next = Some(format!(
        "{}/api/v4/projects?membership=true&min_access_level=30&archived=false&pagination=keyset&order_by=id&sort=asc&per_page=100",
        sim.url()
    ));
    while let Some(url) = next {
        let r = client()
            .get(&url)
            .header("PRIVATE-TOKEN", sim.bot_token())
            .send()
            .await
            .unwrap();
        next = link(&r, "next");
        let (_, v) = json(r).await;
        for p in v.as_array().unwrap() {
            out.insert(p["path_with_namespace"].as_str().unwrap().to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_projects_are_catalogable_and_deterministic() {
    let a = start();
    let summary = a.with_world(|w| generate(w, 120, 42));
    assert_eq!(summary.catalogable.len(), 120);
    assert_eq!(summary.excluded.len(), 12);
    let seen = catalog(&a).await;
    assert_eq!(seen.len(), 120);
    // Subgroups are used.
    assert!(seen.iter().any(|p| p.matches('/').count() >= 3));
    // Excluded ones are invisible to the catalog query, whatever the reason.
    let excluded: Vec<String> = a.with_world(|w| {
        summary
            .excluded
            .iter()
            .map(|id| w.project_path(&w.projects[id]))
            .collect()
    });
    assert!(excluded.iter().all(|p| !seen.contains(p)));
    // Files are there, some nested, some under node_modules/ or vendor/.
    let mut all_paths = Vec::new();
    for pid in summary.catalogable.iter().take(40) {
        let (s, v) = json(
            get(
                &a,
                &format!("/projects/{pid}/repository/tree?recursive=true&per_page=100"),
            )
            .await,
        )
        .await;
        assert_eq!(s, 200);
        all_paths.extend(
            v.as_array()
                .unwrap()
                .iter()
                .map(|i| i["path"].as_str().unwrap().to_string()),
        );
    }
    assert!(all_paths.iter().any(|p| p.ends_with("Cargo.lock")));
    assert!(all_paths
        .iter()
        .any(|p| p.starts_with("node_modules/") || p.starts_with("vendor/")));
    // A vulnerable one holds a pinned vulnerable version.
    let vuln = summary.vulnerable[0];
    let (_, tree) = json(
        get(
            &a,
            &format!("/projects/{vuln}/repository/tree?recursive=true"),
        )
        .await,
    )
    .await;
    let mut texts = String::new();
    for item in tree
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "blob")
    {
        let enc = gitlab_sim::util::encode(item["path"].as_str().unwrap());
        texts += &get(&a, &format!("/projects/{vuln}/repository/files/{enc}/raw"))
            .await
            .text()
            .await
            .unwrap();
    }
    assert!(["1.5.4", "4.17.20", "3.2.0", "1.13.3", "2.14.1"]
        .iter()
        .any(|v| texts.contains(v)));

    let b = start();
    b.with_world(|w| generate(w, 120, 42));
    assert_eq!(catalog(&b).await, seen);
    let (_, pa) = json(get(&a, &format!("/projects/{}", summary.catalogable[7])).await).await;
    let (_, pb) = json(get(&b, &format!("/projects/{}", summary.catalogable[7])).await).await;
    assert_eq!(pa["path_with_namespace"], pb["path_with_namespace"]);
    let c = start();
    c.with_world(|w| generate(w, 120, 43));
    assert_ne!(catalog(&c).await, seen);
    for s in [a, b, c] {
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn import_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sub/deep")).unwrap();
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join("Cargo.lock"), "version = 3\n").unwrap();
    std::fs::write(
        dir.path().join("sub/deep/requirements.txt"),
        "django==3.2.0\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let sim = start();
    let pid = sim
        .with_world(|w| import_dir(w, "demo/group/app", dir.path()))
        .unwrap();
    let (s, v) = json(get(&sim, "/projects/demo%2Fgroup%2Fapp").await).await;
    assert_eq!((s, v["id"].as_u64()), (200, Some(pid)));
    assert_eq!(v["default_branch"], "main");
    let (_, tree) = json(
        get(
            &sim,
            &format!("/projects/{pid}/repository/tree?recursive=true"),
        )
        .await,
    )
    .await;
    let blobs: Vec<&str> = tree
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "blob")
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(blobs, vec!["Cargo.lock", "sub/deep/requirements.txt"]);
    let r = get(
        &sim,
        &format!("/projects/{pid}/repository/files/sub%2Fdeep%2Frequirements.txt/raw"),
    )
    .await;
    assert_eq!(r.text().await.unwrap(), "django==3.2.0\n");
    let (_, m) = json(
        get(
            &sim,
            &format!("/projects/{pid}/members/all/{}", sim.bot_user()),
        )
        .await,
    )
    .await;
    assert_eq!(m["access_level"], Value::from(30));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_totals_above_ten_thousand() {
    let sim = start();
    sim.with_world(|w| generate(w, 9_500, 5));
    let r = get(&sim, "/projects?per_page=100&simple=true").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-total"), "");
    assert_eq!(header(&r, "x-total-pages"), "");
    assert_eq!(header(&r, "x-next-page"), "2");
    assert!(link(&r, "last").is_none());
    assert!(link(&r, "next").is_some());
    sim.stop().await;
}
