//! What the tests share, so that each is written once: a fresh database per test on either
//! backend ([`TestDb`]), one macro that runs a test on both ([`on_both_backends!`]), and the
//! fixtures many tests start from ([`fixtures`]). Only ever a dev-dependency (the
//! architecture test checks it).

mod db;
pub mod fixtures;

pub use db::{TestDb, pg_options, pg_url};

/// The event store of a test database: what most suites hand their tests.
pub async fn store_of(db: &TestDb) -> std::sync::Arc<dyn placeledger_store::EventStore> {
    db.store.clone()
}

/// Instantiates each named test once per backend, as `sqlite::NAME` and `postgres::NAME`:
/// each gets a fresh [`TestDb`], turned into its argument by `given` (an async fn of
/// `&TestDb`), and the database is dropped after a passing test.
///
/// `on_both_backends!(given placeledger_testkit::store_of; in conformance: a, b)` calls
/// `crate::conformance::a(store)`; without `in`, the tests are at the crate's root.
// `crate::` in the expansion is the calling test crate's, on purpose: the tests live there.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! on_both_backends {
    (given $given:path; in $module:ident: $($name:ident),+ $(,)?) => {
        $crate::on_both_backends!(@backend sqlite, $given, [crate::$module], $($name),+);
        $crate::on_both_backends!(@backend postgres, $given, [crate::$module], $($name),+);
    };
    (given $given:path; $($name:ident),+ $(,)?) => {
        $crate::on_both_backends!(@backend sqlite, $given, [crate], $($name),+);
        $crate::on_both_backends!(@backend postgres, $given, [crate], $($name),+);
    };
    (@backend $backend:ident, $given:path, [$($tests:tt)*], $($name:ident),+) => {
        mod $backend {
            use $($tests)* as tests;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = $crate::TestDb::$backend().await;
                    tests::$name($given(&db).await).await;
                    db.finish().await;
                }
            )+
        }
    };
}
