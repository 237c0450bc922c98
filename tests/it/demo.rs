//! `backline demo`: the printed commands work as printed (the real binary's `webhook send` with
//! the printed arguments, the printed `/backline` comment through the simulator's API), and the
//! simulator's web pages show the projects and MRs that backline links to.

use backline::demo::{Demo, DemoArgs};
use gitlab_sim::MrState;

use crate::binary::command;

/// Splits a printed command line the way a POSIX shell does for plain words and single quotes.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        words.push(word);
    }
    words
}

fn printed_line<'a>(guide: &'a str, start: &str) -> &'a str {
    guide
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{guide}"))
}

/// Delivers the simulator's pending webhooks now, then waits (server side, bounded) until
/// backline's inbox is idle.
async fn settle(demo: &Demo, http: &reqwest::Client) {
    demo.sim.deliver_pending().await;
    let r = http
        .get(format!("{}/api/v1/inbox?wait_idle_secs=10", demo.backline))
        .bearer_auth(&demo.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_answers_the_commands_it_prints() {
    let demo = Demo::start(&DemoArgs {
        listen: "127.0.0.1:0".into(),
        projects: 0,
        data_dir: None,
    })
    .await
    .unwrap();
    let guide = demo.guide.clone();
    for ecosystem in ["Cargo:", "npm:", "PyPI:", "Maven:"] {
        assert!(guide.contains(ecosystem), "{ecosystem} missing:\n{guide}");
    }
    assert!(
        guide.contains("5 projects, 4 with known-vulnerable dependencies"),
        "{guide}"
    );
    let http = reqwest::Client::new();
    let cargo = demo.scene.cargo().id;
    let sim = demo.sim.clone();

    // The simulator's pages: the project ("Open in GitLab") and the bot's MR with its diff.
    let page = http
        .get(format!("{}/acme/platform/api", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = page.text().await.unwrap();
    assert!(
        page.contains("<h1>acme/platform/api</h1>") && page.contains("Cargo.lock"),
        "{page}"
    );
    assert!(
        page.contains("/acme/platform/api/-/merge_requests/1"),
        "{page}"
    );
    let mr_page = http
        .get(format!(
            "{}/acme/platform/api/-/merge_requests/1",
            sim.url()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mr_page.contains("bump regex from 1.5.4"), "{mr_page}");
    assert!(
        mr_page.contains("-version = &quot;1.5.4&quot;"),
        "{mr_page}"
    );
    assert!(
        mr_page.contains("+version = &quot;1.5.5&quot;"),
        "{mr_page}"
    );

    // Every project the guide calls vulnerable has findings (scans done once the inbox is idle
    // and the start-up sync is over).
    for _ in 0..20 {
        settle(&demo, &http).await;
        let summary: serde_json::Value = http
            .get(format!("{}/api/v1/summary", demo.backline))
            .bearer_auth(&demo.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if summary["projects_with_open_vulnerabilities"] == 4 {
            break;
        }
    }
    let summary: serde_json::Value = http
        .get(format!("{}/api/v1/summary", demo.backline))
        .bearer_auth(&demo.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["projects"], 5, "{summary}");
    assert_eq!(
        summary["projects_with_open_vulnerabilities"], 4,
        "{summary}"
    );
    assert_eq!(
        summary["open_findings"]["unknown"], 0,
        "every severity is known: {summary}"
    );

    // The printed `/backline status` comment: the bot answers on the MR.
    let curl = shell_words(printed_line(&guide, "curl -s -X POST"));
    let header = curl[curl.iter().position(|w| w == "-H").unwrap() + 1].clone();
    let (name, value) = header.split_once(": ").unwrap();
    let body = curl[curl.iter().position(|w| w == "--data-urlencode").unwrap() + 1].clone();
    let (_, text) = body.split_once('=').unwrap();
    let url = curl.last().unwrap().clone();
    let r = http
        .post(&url)
        .header(name, value)
        .form(&[("body", text)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    let bot = sim.bot_user();
    let answered = || {
        sim.with_world(|w| {
            w.project(cargo).unwrap().merge_requests[0]
                .notes
                .iter()
                .any(|n| n.author_id == bot && n.body.contains("backline"))
        })
    };
    for _ in 0..20 {
        if answered() {
            break;
        }
        settle(&demo, &http).await;
    }
    assert!(
        answered(),
        "the bot did not answer the printed /backline command"
    );

    // The printed `webhook send`, run with the real binary: the push closes the MR as obsolete.
    let send = shell_words(printed_line(&guide, "cargo run --release -- webhook send"));
    let args: Vec<&str> = send[4..].iter().map(String::as_str).collect();
    assert_eq!(args[..2], ["webhook", "send"]);
    let out = command(&args).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("202 Push Hook"), "{stdout}");
    let closed =
        || sim.with_world(|w| w.project(cargo).unwrap().merge_requests[0].state == MrState::Closed);
    for _ in 0..20 {
        if closed() {
            break;
        }
        settle(&demo, &http).await;
    }
    assert!(closed(), "the sent push did not close the MR");
    demo.abort();
}
