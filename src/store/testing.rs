//! Tests of the store's contract on both backends: [`TestStore`] opens a [`Store`] on a fresh
//! sled directory or on a fresh schema of the PostgreSQL test database, and
//! [`on_both_stores!`](crate::store::testing::on_both_stores) turns one test body
//! `fn name(backend: Backend)` into `name::sled` and `name::pg`.
//!
//! Without `BACKLINE_TEST_DATABASE_URL` the `pg` variants fail saying how to get a database
//! ([`super::pg::testing::base_url`]): they never pass quietly.

use super::pg::testing::TestDb;
use super::Store;

/// Which backend a test body runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// sled in a temporary directory.
    Sled,
    /// PostgreSQL on a schema of its own.
    Pg,
}

/// What keeps a test store's data alive.
enum Keep {
    Sled(tempfile::TempDir),
    Pg(Box<TestDb>),
}

/// A store on a fresh backend, and what keeps its data alive.
pub struct TestStore {
    /// The open store.
    pub store: Store,
    keep: Keep,
}

impl TestStore {
    /// A new, empty store on `backend`.
    pub fn open(backend: Backend) -> TestStore {
        match backend {
            Backend::Sled => {
                let dir = tempfile::tempdir().unwrap();
                let store = Store::open(dir.path()).unwrap();
                TestStore {
                    store,
                    keep: Keep::Sled(dir),
                }
            }
            Backend::Pg => {
                let db = empty_schema();
                let store = open_pg(&db);
                TestStore {
                    store,
                    keep: Keep::Pg(Box::new(db)),
                }
            }
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self.keep {
            Keep::Sled(_) => Backend::Sled,
            Keep::Pg(_) => Backend::Pg,
        }
    }

    /// The same data opened again, as after a restart: the store is closed first (sled's
    /// directory lock), then opened anew.
    pub fn reopen(self) -> TestStore {
        let TestStore { store, keep } = self;
        drop(store);
        let store = match &keep {
            Keep::Sled(dir) => Store::open(dir.path()).unwrap(),
            Keep::Pg(db) => open_pg(db),
        };
        TestStore { store, keep }
    }

    /// Another open of the same data beside this one, as a second replica opens it: on
    /// PostgreSQL a second store on the same database; `None` on sled (one process holds a
    /// data directory).
    pub fn second(&self) -> Option<Store> {
        match &self.keep {
            Keep::Sled(_) => None,
            Keep::Pg(db) => Some(open_pg(db)),
        }
    }

    /// Opens the data with `open`, closing this store first (tests of what an open refuses).
    pub fn reopen_with<T>(self, open: impl FnOnce(OpenTarget<'_>) -> T) -> T {
        let TestStore { store, keep } = self;
        drop(store);
        match &keep {
            Keep::Sled(dir) => open(OpenTarget::Sled(dir.path())),
            Keep::Pg(db) => open(OpenTarget::Pg(&db.url)),
        }
    }
}

/// Where a [`TestStore`]'s data lives, to open it by hand.
pub enum OpenTarget<'a> {
    /// The sled data directory.
    Sled(&'a std::path::Path),
    /// The PostgreSQL URL (with the test's schema).
    Pg(&'a super::pg::DatabaseUrl),
}

impl OpenTarget<'_> {
    /// Opens the store there as `serve` does.
    pub fn open(&self) -> Result<Store, super::StoreError> {
        match self {
            OpenTarget::Sled(path) => Store::open(path),
            OpenTarget::Pg(url) => Store::open_pg(url, &crate::net::Network::default(), 4),
        }
    }
}

/// A new schema of the test database, made on a thread of its own (the caller may be inside
/// a runtime); its failure (no `BACKLINE_TEST_DATABASE_URL`, no server) is the test's.
fn empty_schema() -> TestDb {
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(TestDb::empty())
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn open_pg(db: &TestDb) -> Store {
    Store::open_pg(&db.url, &crate::net::Network::default(), 4).unwrap()
}

/// `on_both_stores!(a, b)`: for each test body `fn a(backend: Backend)`, the tests `a::sled`
/// and `a::pg`.
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sled() {
                super::$name($crate::store::testing::Backend::Sled)
            }

            #[test]
            fn pg() {
                super::$name($crate::store::testing::Backend::Pg)
            }
        }
    )+};
}

pub(crate) use on_both_stores;
