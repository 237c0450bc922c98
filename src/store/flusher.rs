//! Group commit: one thread flushes sled; a writer waits for the first flush that starts after
//! its write. Many concurrent writers share each flush, so durability costs one fsync per batch,
//! not per delivery. (sled 0.34's `flush_async` from many tasks at once was seen to hang here.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::StoreError;

/// The flusher thread and the means to wait on it. Dropping it stops and joins the thread, so
/// that the database is closed when the store is.
pub struct Flusher {
    /// Number of flushes started so far.
    started: Arc<AtomicU64>,
    /// Number of the last flush finished, with its error if it failed.
    completed: watch::Receiver<(u64, Option<String>)>,
    wake: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Starts the flusher thread for `db`.
    pub fn start(db: sled::Db) -> Flusher {
        let (wake_tx, wake_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = watch::channel((0u64, None));
        let started = Arc::new(AtomicU64::new(0));
        let counter = started.clone();
        let thread = std::thread::Builder::new()
            .name("backline-flush".to_string())
            .spawn(move || {
                while wake_rx.recv().is_ok() {
                    while wake_rx.try_recv().is_ok() {}
                    let epoch = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    let outcome = db.flush().err().map(|e| e.to_string());
                    done_tx.send_replace((epoch, outcome));
                }
            })
            .expect("spawn flusher thread");
        Flusher {
            started,
            completed: done_rx,
            wake: Some(wake_tx),
            thread: Some(thread),
        }
    }

    /// Resolves once a flush that started after this call has finished.
    pub async fn wait_durable(&self) -> Result<(), StoreError> {
        let stopped = || StoreError::Task("flusher stopped".to_string());
        let target = self.started.load(Ordering::SeqCst) + 1;
        self.wake
            .as_ref()
            .ok_or_else(stopped)?
            .send(())
            .map_err(|_| stopped())?;
        let mut rx = self.completed.clone();
        let seen = rx
            .wait_for(|(epoch, _)| *epoch >= target)
            .await
            .map_err(|_| stopped())?;
        match &seen.1 {
            None => Ok(()),
            Some(message) => Err(StoreError::Task(format!("flush failed: {message}"))),
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
