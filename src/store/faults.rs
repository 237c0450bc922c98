//! Injected store failures, for tests that prove a failing store is an error the caller
//! handles (a delivery retried, a request answered 503), never a silent default. Off unless a
//! test arms it; the check on each table call is one relaxed atomic load.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::StoreError;

/// The trees whose calls fail now. Shared by every table of one store.
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    armed: AtomicBool,
    failing: Mutex<HashSet<&'static str>>,
}

impl Faults {
    fn failing(&self) -> std::sync::MutexGuard<'_, HashSet<&'static str>> {
        self.inner
            .failing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes every call on `tree` fail until [`Faults::heal`].
    pub fn fail(&self, tree: &'static str) {
        self.failing().insert(tree);
        self.inner.armed.store(true, Ordering::SeqCst);
    }

    /// Ends the failures of `tree`.
    pub fn heal(&self, tree: &'static str) {
        let mut failing = self.failing();
        failing.remove(tree);
        self.inner
            .armed
            .store(!failing.is_empty(), Ordering::SeqCst);
    }

    /// An error when `tree` is failing.
    pub fn check(&self, tree: &'static str) -> Result<(), StoreError> {
        if !self.inner.armed.load(Ordering::Relaxed) || !self.failing().contains(tree) {
            return Ok(());
        }
        Err(StoreError::Backend(Box::new(std::io::Error::other(
            format!("injected failure of tree {tree}"),
        ))))
    }
}
