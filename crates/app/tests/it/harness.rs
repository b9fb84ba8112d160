use std::str::FromStr;
use std::time::Duration;

use placeledger_app::Backend;
use placeledger_store::{PgStore, SqliteStore};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::SqliteConnectOptions;

fn pg_url() -> String {
    std::env::var("PLACELEDGER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh, empty database for one test: the event store and the access tables.
pub struct TestDb {
    pub backend: Backend,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { schema: String },
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite:{}", dir.path().join("app.db").display());
        let store = SqliteStore::open_with(
            SqliteConnectOptions::from_str(&url).expect("sqlite url"),
            Duration::from_millis(20),
        )
        .await
        .expect("open sqlite store");
        Self {
            backend: Backend::sqlite(store),
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    pub async fn postgres() -> Self {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .expect("create test schema");
        let options = PgConnectOptions::from_str(&pg_url())
            .expect("PLACELEDGER_TEST_DATABASE_URL is a PostgreSQL URL")
            .options([("search_path", schema.as_str())]);
        let store = PgStore::connect_with(options, 8, Duration::from_millis(10))
            .await
            .expect("open postgres store");
        Self {
            backend: Backend::postgres(store),
            cleanup: Cleanup::Postgres { schema },
        }
    }

    /// Drops the test's schema after a passing test (a failing one leaves it to look at).
    pub async fn finish(self) {
        if let Cleanup::Postgres { schema } = &self.cleanup {
            drop(self.backend);
            let mut admin = admin().await;
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await;
        }
    }
}

async fn admin() -> PgConnection {
    PgConnection::connect(&pg_url()).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL tests need a server at {} (set PLACELEDGER_TEST_DATABASE_URL; \
             `make test` starts the local one): {e}",
            pg_url()
        )
    })
}
