//! Dashboard sessions live in the store (issue 16): a login made on one replica is good on
//! another on the same PostgreSQL database and after a restart on sled, and a logout on one is
//! seen by the other.

use super::pages::{client, csrf_of, log_in};
use crate::harness::{fresh_database, spawn, Options, TestApp};

/// The status of `/` with `cookie` (200 logged in, 303 to the login page) and the page.
async fn overview(app: &TestApp, cookie: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}/", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn log_out(app: &TestApp, cookie: &str, csrf: &str) {
    let r = client()
        .post(format!("{}/logout", app.base))
        .header("cookie", cookie)
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_on_one_replica_is_good_on_another_and_a_logout_ends_it_on_both() {
    let url = fresh_database().await;
    let on = |id: &'static str| {
        let url = url.clone();
        spawn(Options {
            tweak: Box::new(move |s| {
                s.database_url = Some(url);
                s.replica_id = Some(id.to_string());
            }),
            ..Options::default()
        })
    };
    let a = on("a").await;
    let b = on("b").await;
    let cookie = log_in(&a, &client()).await;
    let (status, page) = overview(&b, &cookie).await;
    assert_eq!(status, 200, "the session made on a is good on b");
    // A second session, ended on b: a refuses it at once; the first one lives on.
    let ended = log_in(&b, &client()).await;
    let (status, page_b) = overview(&a, &ended).await;
    assert_eq!(status, 200);
    log_out(&b, &ended, &csrf_of(&page_b)).await;
    assert_eq!(overview(&a, &ended).await.0, 303, "logged out everywhere");
    assert_eq!(overview(&b, &ended).await.0, 303);
    assert_eq!(overview(&a, &cookie).await.0, 200);
    // The CSRF token is the session's, whichever replica rendered the form.
    log_out(&a, &cookie, &csrf_of(&page)).await;
    assert_eq!(overview(&b, &cookie).await.0, 303);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_outlives_a_restart_on_sled_and_a_logout_outlives_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let on_dir = || {
        let data = dir.path().to_path_buf();
        async move {
            until_released(&data).await;
            spawn(Options {
                tweak: Box::new(move |s| s.data_dir = data),
                ..Options::default()
            })
            .await
        }
    };
    let first = on_dir().await;
    let cookie = log_in(&first, &client()).await;
    let ended = log_in(&first, &client()).await;
    first.shutdown().await;

    let second = on_dir().await;
    let (status, page) = overview(&second, &cookie).await;
    assert_eq!(status, 200, "still logged in after the restart");
    let (status, page_ended) = overview(&second, &ended).await;
    assert_eq!(status, 200);
    log_out(&second, &ended, &csrf_of(&page_ended)).await;
    second.shutdown().await;

    let third = on_dir().await;
    assert_eq!(overview(&third, &ended).await.0, 303, "the logout stood");
    assert_eq!(overview(&third, &cookie).await.0, 200);
    log_out(&third, &cookie, &csrf_of(&page)).await;
    assert_eq!(overview(&third, &cookie).await.0, 303);
    third.shutdown().await;
}

/// The HTTP server's worker threads drop their copies of the app's state a moment after the
/// server's future has ended (seen in CI: the restart found the data directory still locked):
/// waits, bounded, until the directory's lock is free.
async fn until_released(dir: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match backline::store::Store::open(dir) {
            Ok(store) => return drop(store),
            Err(backline::store::StoreError::Locked(_)) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await
            }
            Err(e) => panic!("the data directory stays locked after the shutdown: {e}"),
        }
    }
}

/// The hourly prune (`App::prune`) forgets expired sessions and keeps live ones.
async fn the_hourly_prune_forgets_expired_sessions(backend: crate::harness::Backend) {
    use backline::http::dashboard::session::{SessionStore, SESSION_SECS};
    let app = spawn(Options {
        backend,
        ..Options::default()
    })
    .await;
    let token = backline::secret::Secret::new(crate::harness::ADMIN_TOKEN);
    let sessions = SessionStore::open(&app.app.store).unwrap();
    let now = backline::clock::now_secs();
    let (s, t) = (sessions.clone(), token.clone());
    let live = tokio::task::spawn_blocking(move || {
        s.issue(&t, now - SESSION_SECS - 60).unwrap();
        s.issue(&t, now).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(sessions.count(), 2);
    app.app.prune().await.unwrap();
    assert_eq!(sessions.count(), 1, "the expired one went");
    assert!(sessions.valid(&token, &live, now).unwrap());
    app.shutdown().await;
}

mod the_hourly_prune_forgets_expired_sessions {
    use crate::harness::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sled() {
        super::the_hourly_prune_forgets_expired_sessions(Backend::Sled).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pg() {
        super::the_hourly_prune_forgets_expired_sessions(Backend::Pg).await
    }
}
