//! The application's tests: tokens and the audit log on both backends (one suite), the
//! command step's replies, and access rules.
//!
//! PostgreSQL tests connect to `PLACELEDGER_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), each in a schema of its own. They never skip.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod access_store;
mod commands;

use placeledger_app::Backend;
use placeledger_testkit::TestDb;

/// The event store and the access tables of a test database.
async fn backend_of(db: &TestDb) -> Backend {
    Backend::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("opening {}: {e}", db.url))
}

mod access_store_on {
    placeledger_testkit::on_both_backends!(
        given crate::backend_of; in access_store:
        tokens_are_found_by_hash_and_revoked,
        the_audit_log_keeps_every_entry_in_order,
        a_token_made_is_the_viewer_it_stands_for,
        a_publication_is_stored_once_per_period,
    );
}

mod commands_on {
    placeledger_testkit::on_both_backends!(
        given crate::backend_of; in commands:
        a_command_replies_with_the_real_version_and_position,
        a_command_on_a_missing_stream_is_not_found_and_records_nothing,
        who_may_record_is_checked_before_anything_is_recorded,
    );
}
