//! Tree, files, compare, branches, commits.

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn tree_recursive_with_both_paginations() {
    let sim = start();
    let pid = project(&sim);
    let (s, v) = json(
        get(
            &sim,
            &format!("/projects/{pid}/repository/tree?recursive=true&ref=main"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let paths: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        vec!["Cargo.lock", "README.md", "web", "web/package-lock.json"]
    );
    let readme = &v[1];
    assert_eq!(readme["type"], "blob");
    assert_eq!(readme["mode"], "100644");
    assert_eq!(readme["name"], "README.md");
    // git hash-object of "hello\n"
    assert_eq!(readme["id"], "ce013625030ba8dba906f756967f9e9ca394464a");
    assert_eq!(v[2]["type"], "tree");
    assert_eq!(v[2]["mode"], "040000");

    // Top level only without recursive: trees first.
    let (_, v) = json(get(&sim, &format!("/projects/{pid}/repository/tree")).await).await;
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["web", "Cargo.lock", "README.md"]);

    // Offset pages of 3.
    let r = get(
        &sim,
        &format!("/projects/{pid}/repository/tree?recursive=true&per_page=3&page=2"),
    )
    .await;
    assert_eq!(header(&r, "x-total"), "4");
    assert_eq!(header(&r, "x-next-page"), "");
    let (_, v) = json(r).await;
    assert_eq!(v.as_array().unwrap().len(), 1);

    // Keyset pages of 3 with page_token.
    let r = get(
        &sim,
        &format!("/projects/{pid}/repository/tree?recursive=true&pagination=keyset&per_page=3"),
    )
    .await;
    let next = link(&r, "next").expect("next link");
    assert!(next.contains("page_token="));
    let (_, v) = json(r).await;
    assert_eq!(v.as_array().unwrap().len(), 3);
    let r = client()
        .get(&next)
        .header("PRIVATE-TOKEN", sim.bot_token())
        .send()
        .await
        .unwrap();
    assert!(link(&r, "next").is_none());
    let (_, v) = json(r).await;
    assert_eq!(v[0]["path"], "web/package-lock.json");

    let (s, v) = json(get(&sim, &format!("/projects/{pid}/repository/tree?ref=nope")).await).await;
    assert_eq!((s, v), (404, json!({"message": "404 Tree Not Found"})));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_and_json_files() {
    let sim = start();
    let pid = project(&sim);
    let r = get(
        &sim,
        &format!("/projects/{pid}/repository/files/web%2Fpackage-lock.json/raw?ref=main"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-gitlab-file-path"), "web/package-lock.json");
    assert_eq!(header(&r, "x-gitlab-ref"), "main");
    assert_eq!(header(&r, "x-gitlab-size"), "23");
    assert_eq!(header(&r, "x-gitlab-commit-id").len(), 40);
    let blob = header(&r, "x-gitlab-blob-id");
    assert_eq!(r.text().await.unwrap(), "{\"lockfileVersion\": 3}\n");

    let (s, v) = json(
        get(
            &sim,
            &format!("/projects/{pid}/repository/files/web%2Fpackage-lock.json?ref=main"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["blob_id"], blob);
    assert_eq!(v["encoding"], "base64");
    assert_eq!(v["file_name"], "package-lock.json");
    assert_eq!(v["size"], 23);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(v["content"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, b"{\"lockfileVersion\": 3}\n");
    assert_eq!(v["last_commit_id"], v["commit_id"]);

    let (s, v) = json(
        get(
            &sim,
            &format!("/projects/{pid}/repository/files/nope.txt/raw?ref=main"),
        )
        .await,
    )
    .await;
    assert_eq!((s, v), (404, json!({"message": "404 File Not Found"})));
    let (s, v) =
        json(get(&sim, &format!("/projects/{pid}/repository/files/README.md")).await).await;
    assert_eq!((s, v), (400, json!({"error": "ref is missing"})));
    let r = call(
        &sim,
        Method::HEAD,
        &format!("/projects/{pid}/repository/files/README.md?ref=main"),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-gitlab-size"), "6");
    assert_eq!(
        header(&r, "x-gitlab-blob-id"),
        "ce013625030ba8dba906f756967f9e9ca394464a"
    );
    // By path too.
    let r = get(&sim, "/projects/acme%2Fapp/repository/files/README.md/raw").await;
    assert_eq!(r.text().await.unwrap(), "hello\n");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn branches_create_get_delete() {
    let sim = start();
    let pid = project(&sim);
    let base = format!("/projects/{pid}/repository/branches");
    let (s, v) = json(
        call(
            &sim,
            Method::POST,
            &base,
            Some(json!({"branch": "feature/x", "ref": "main"})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(v["name"], "feature/x");
    assert_eq!(v["commit"]["id"].as_str().unwrap().len(), 40);
    assert_eq!(v["default"], false);
    let (s, v) = json(
        call(
            &sim,
            Method::POST,
            &base,
            Some(json!({"branch": "feature/x", "ref": "main"})),
        )
        .await,
    )
    .await;
    assert_eq!((s, v), (400, json!({"message": "Branch already exists"})));
    let (s, v) = json(
        call(
            &sim,
            Method::POST,
            &base,
            Some(json!({"branch": "y", "ref": "nope"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, v),
        (400, json!({"message": "Invalid reference name: nope"}))
    );
    let (s, v) = json(call(&sim, Method::POST, &base, Some(json!({"branch": "y"}))).await).await;
    assert_eq!((s, v), (400, json!({"error": "ref is missing"})));
    let (s, v) = json(get(&sim, &format!("{base}/feature%2Fx")).await).await;
    assert_eq!((s, v["name"].clone()), (200, json!("feature/x")));
    let (s, v) = json(get(&sim, &format!("{base}/main")).await).await;
    assert_eq!(
        (s, v["default"].clone(), v["protected"].clone()),
        (200, json!(true), json!(true))
    );
    let r = call(&sim, Method::DELETE, &format!("{base}/feature%2Fx"), None).await;
    assert_eq!(r.status(), 204);
    let (s, v) = json(call(&sim, Method::DELETE, &format!("{base}/feature%2Fx"), None).await).await;
    assert_eq!((s, v), (404, json!({"message": "404 Branch Not Found"})));
    let (s, v) = json(get(&sim, &format!("{base}/feature%2Fx")).await).await;
    assert_eq!((s, v), (404, json!({"message": "404 Branch Not Found"})));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commits_with_actions_and_force() {
    let sim = start();
    let pid = project(&sim);
    let path = format!("/projects/{pid}/repository/commits");
    let body = json!({
        "branch": "backline/cargo/regex-1.5.6",
        "start_branch": "main",
        "commit_message": "Bump regex\n\nbody",
        "actions": [
            {"action": "update", "file_path": "Cargo.lock", "content": "version = 4\n"},
            {"action": "create", "file_path": "new/file.txt", "content": "aGk=", "encoding": "base64"},
            {"action": "delete", "file_path": "README.md"},
            {"action": "move", "file_path": "web/lock.json", "previous_path": "web/package-lock.json"},
        ],
    });
    let (s, v) = json(call(&sim, Method::POST, &path, Some(body)).await).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["title"], "Bump regex");
    assert_eq!(v["message"], "Bump regex\n\nbody");
    assert_eq!(v["author_name"], "Backline Bot");
    let first = v["id"].as_str().unwrap().to_string();
    let main = sim.with_world(|w| w.projects[&pid].repo.head("main").unwrap().id.clone());
    assert_eq!(v["parent_ids"], json!([main]));
    let r = get(&sim, &format!("/projects/{pid}/repository/files/new%2Ffile.txt/raw?ref=backline%2Fcargo%2Fregex-1.5.6")).await;
    assert_eq!(r.text().await.unwrap(), "hi");

    // Errors.
    let exists = json!({"branch": "main", "commit_message": "m",
        "actions": [{"action": "create", "file_path": "Cargo.lock", "content": "x"}]});
    assert_eq!(
        json(call(&sim, Method::POST, &path, Some(exists)).await).await,
        (
            400,
            json!({"message": "A file with this name already exists"})
        )
    );
    let missing = json!({"branch": "main", "commit_message": "m",
        "actions": [{"action": "update", "file_path": "nope", "content": "x"}]});
    assert_eq!(
        json(call(&sim, Method::POST, &path, Some(missing)).await).await,
        (
            400,
            json!({"message": "A file with this name doesn't exist"})
        )
    );
    let del = json!({"branch": "main", "commit_message": "m",
        "actions": [{"action": "delete", "file_path": "nope"}]});
    assert_eq!(
        json(call(&sim, Method::POST, &path, Some(del)).await)
            .await
            .0,
        400
    );
    let nobranch = json!({"branch": "ghost", "commit_message": "m",
        "actions": [{"action": "create", "file_path": "a", "content": "x"}]});
    assert_eq!(
        json(call(&sim, Method::POST, &path, Some(nobranch)).await).await,
        (
            400,
            json!({"message": "You can only create or edit files when you are on a branch"})
        )
    );

    // force: rewrite the branch from main, dropping the first commit.
    let force = json!({"branch": "backline/cargo/regex-1.5.6", "start_branch": "main", "force": true,
        "commit_message": "Bump regex again",
        "actions": [{"action": "update", "file_path": "Cargo.lock", "content": "version = 5\n"}]});
    let (s, v) = json(call(&sim, Method::POST, &path, Some(force)).await).await;
    assert_eq!(s, 201);
    assert_eq!(v["parent_ids"], json!([main]));
    assert_ne!(v["id"], first);
    let (s, _) = json(
        get(
            &sim,
            &format!(
                "/projects/{pid}/repository/files/README.md?ref=backline%2Fcargo%2Fregex-1.5.6"
            ),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "force-rewritten branch has main's README again");

    // Reporter may not commit.
    let tok = sim.with_world(|w| {
        let u = w.create_user("rep", "Rep");
        w.add_member(pid, u, gitlab_sim::access::REPORTER).unwrap();
        w.create_token(u, "rep-tok", &["api"], None)
    });
    let body = json!({"branch": "main", "commit_message": "m",
        "actions": [{"action": "create", "file_path": "z", "content": "x"}]});
    assert_eq!(
        json(call_as(&sim, &tok, Method::POST, &path, Some(body)).await).await,
        (403, json!({"message": "403 Forbidden"}))
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn compare_lists_commits_and_diffs() {
    let sim = start();
    let pid = project(&sim);
    let bot = sim.bot_user();
    sim.with_world(|w| {
        w.commit_files(
            pid,
            bot,
            "topic",
            "change lock",
            vec![
                ("Cargo.lock".into(), Some("version = 4\n".into())),
                ("README.md".into(), None),
            ],
        )
    })
    .unwrap();
    let (s, v) = json(
        get(
            &sim,
            &format!("/projects/{pid}/repository/compare?from=main&to=topic"),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["commits"].as_array().unwrap().len(), 1);
    assert_eq!(v["compare_same_ref"], false);
    assert_eq!(v["compare_timeout"], false);
    let diffs = v["diffs"].as_array().unwrap();
    assert_eq!(diffs.len(), 2);
    assert_eq!(diffs[0]["new_path"], "Cargo.lock");
    assert!(diffs[0]["diff"].as_str().unwrap().contains("+version = 4"));
    assert_eq!(diffs[1]["deleted_file"], true);
    let (_, v) = json(
        get(
            &sim,
            &format!("/projects/{pid}/repository/compare?from=main&to=main"),
        )
        .await,
    )
    .await;
    assert_eq!(v["compare_same_ref"], true);
    assert_eq!(v["commit"], serde_json::Value::Null);
    sim.stop().await;
}
