//! The application's tests: tokens and the audit log on both backends (one suite), the
//! command step's replies, and access rules.
//!
//! PostgreSQL tests connect to `PLACELEDGER_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), each in a schema of its own. They never skip.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod access_store;
mod commands;
mod harness;

/// Instantiates each test of `$module` once per backend: `$suite::sqlite::NAME` and
/// `$suite::postgres::NAME`.
macro_rules! on_both_backends {
    ($module:ident as $suite:ident: $($name:ident),+ $(,)?) => {
        mod $suite {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let db = crate::harness::TestDb::sqlite().await;
                        crate::$module::$name(db.backend.clone()).await;
                        db.finish().await;
                    }
                )+
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let db = crate::harness::TestDb::postgres().await;
                        crate::$module::$name(db.backend.clone()).await;
                        db.finish().await;
                    }
                )+
            }
        }
    };
}

on_both_backends!(access_store as access_store_on:
    tokens_are_found_by_hash_and_revoked,
    the_audit_log_keeps_every_entry_in_order,
    a_token_made_is_the_viewer_it_stands_for,
);

on_both_backends!(commands as commands_on:
    a_command_replies_with_the_real_version_and_position,
    a_command_on_a_missing_stream_is_not_found_and_records_nothing,
    who_may_record_is_checked_before_anything_is_recorded,
);
