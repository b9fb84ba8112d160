//! A fresh, empty database for one test: a temporary SQLite file, or a schema of its own on
//! the test PostgreSQL (`PLACELEDGER_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). PostgreSQL tests never skip: without a server
//! they fail, naming the URL they tried.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use placeledger_store::{EventStore, PgStore, SqliteStore};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::SqliteConnectOptions;

pub fn pg_url() -> String {
    std::env::var("PLACELEDGER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh, empty store for one test.
#[derive(Debug)]
pub struct TestDb {
    pub store: Arc<dyn EventStore>,
    /// The URL that opens this same database (for a second handle, as another process would).
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { schema: String },
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("events.db");
        let url = format!("sqlite:{}", path.display());
        let store = SqliteStore::open_with(
            SqliteConnectOptions::from_str(&url).expect("sqlite url"),
            Duration::from_millis(20),
        )
        .await
        .expect("open sqlite store");
        Self {
            store: Arc::new(store),
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    pub async fn postgres() -> Self {
        Self::postgres_with(40).await
    }

    /// [`TestDb::postgres`] with a pool of `max_connections`.
    pub async fn postgres_with(max_connections: u32) -> Self {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .expect("create test schema");
        let store = PgStore::connect_with(
            pg_options(&schema),
            max_connections,
            Duration::from_millis(10),
        )
        .await
        .expect("open postgres store");
        let url = format!("{}?options=-csearch_path%3D{schema}", pg_url());
        Self {
            store: Arc::new(store),
            url,
            cleanup: Cleanup::Postgres { schema },
        }
    }

    pub fn pg_schema(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Postgres { schema } => Some(schema),
            Cleanup::Sqlite(_) => None,
        }
    }

    /// Drops the test's database after a passing test (a failing one leaves it to look at).
    pub async fn finish(self) {
        if let Cleanup::Postgres { schema } = &self.cleanup {
            drop(self.store);
            let mut admin = admin().await;
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await;
        }
    }
}

pub fn pg_options(schema: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(&pg_url())
        .expect("PLACELEDGER_TEST_DATABASE_URL is a PostgreSQL URL")
        .options([("search_path", schema)])
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
