//! LISTEN/NOTIFY: a delivery stored (or revived) by any replica wakes the idle workers of every
//! replica at once, instead of at their next poll. The intake's insert and the revive call
//! `pg_notify(INBOX_CHANNEL, '')` in their own statement, so the notification is sent when that
//! statement commits (PostgreSQL delivers notifications only on commit, one per channel and
//! payload per transaction). Each replica keeps one connection of its own outside the pool
//! (pooled connections drop notifications) with `LISTEN` on the channel, and reconnects when it
//! is lost; the workers' poll stays as the fallback for what a lost connection missed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_postgres::AsyncMessage;

use super::{PgError, PgStore};

/// The channel the inbox's writes notify.
pub const INBOX_CHANNEL: &str = "backline_inbox";

/// The wait before connecting again after the listening connection failed, doubled up to
/// [`RECONNECT_MAX`].
const RECONNECT_FIRST: Duration = Duration::from_millis(200);
const RECONNECT_MAX: Duration = Duration::from_secs(10);

/// A running listener: how many notifications it received, and whether it listens now.
#[derive(Clone)]
pub struct Listening {
    received: Arc<AtomicU64>,
    listening: watch::Receiver<bool>,
}

impl Listening {
    /// Notifications received so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    /// Whether the `LISTEN` is in place now.
    pub fn is_listening(&self) -> bool {
        *self.listening.borrow()
    }

    /// Resolves once the `LISTEN` is in place (at once if it is): notifications sent after
    /// this are received.
    pub async fn ready(&self) {
        let mut rx = self.listening.clone();
        // An error: the listener task ended (its runtime stopped); nothing more to wait for.
        let _ = rx.wait_for(|listening| *listening).await;
    }
}

/// Starts listening on [`INBOX_CHANNEL`] on the current runtime; `on_notify` runs for each
/// notification (on the listener's task: it must not block). Runs until the returned task is
/// aborted.
pub fn start(
    store: PgStore,
    on_notify: impl Fn() + Send + Sync + 'static,
) -> (Listening, tokio::task::JoinHandle<()>) {
    let received = Arc::new(AtomicU64::new(0));
    let (tx, rx) = watch::channel(false);
    let counted = received.clone();
    let task = tokio::spawn(async move {
        let on_notify = move || {
            counted.fetch_add(1, Ordering::SeqCst);
            on_notify();
        };
        let mut wait = RECONNECT_FIRST;
        loop {
            let outcome = listen_once(&store, &on_notify, &tx).await;
            tx.send_replace(false);
            match outcome {
                Ok(()) => {
                    tracing::warn!("the database closed the notification connection; reconnecting")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no notifications from the database (workers poll meanwhile); reconnecting")
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RECONNECT_MAX);
        }
    });
    (
        Listening {
            received,
            listening: rx,
        },
        task,
    )
}

/// One listening connection, until it ends.
async fn listen_once(
    store: &PgStore,
    on_notify: &(impl Fn() + Send + Sync),
    listening: &watch::Sender<bool>,
) -> Result<(), PgError> {
    let (client, mut connection) = store.dedicated().await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("LISTEN {INBOX_CHANNEL}");
    let listen = client.batch_execute(&statement);
    tokio::pin!(listen);
    // The connection is driven by reading its messages; the LISTEN completes meanwhile.
    let mut listen_done = false;
    loop {
        tokio::select! {
            done = &mut listen, if !listen_done => {
                done.map_err(PgError::query("listening for notifications"))?;
                listen_done = true;
                listening.send_replace(true);
            }
            message = messages.next() => match message {
                Some(Ok(AsyncMessage::Notification(_))) => on_notify(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(PgError::query("listening for notifications")(e)),
                None => return Ok(()),
            },
        }
    }
}
