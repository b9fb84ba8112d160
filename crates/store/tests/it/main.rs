//! The store conformance suite: the same tests against SQLite and PostgreSQL.
//!
//! PostgreSQL tests connect to `PLACELEDGER_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), each in a schema of its own. They never skip:
//! if PostgreSQL cannot be reached they fail, saying so.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod conformance;
mod out_of_order;
mod urls;

placeledger_testkit::on_both_backends!(
    given placeledger_testkit::store_of; in conformance:
    append_and_read_back_with_metadata,
    expected_version_is_enforced,
    twenty_concurrent_appends_one_winner,
    idempotent_retry_returns_the_original_result,
    a_single_event_retry_is_answered_as_a_batchs,
    partial_retry_is_refused_and_writes_nothing,
    ten_thousand_events_in_one_append,
    read_all_across_many_streams,
    concurrent_writers_never_make_a_subscriber_skip,
    pages_read_ahead_and_never_skip_under_concurrent_writers,
    subscription_catches_up_goes_live_and_resumes,
    bad_input_is_refused_and_writes_nothing,
    first_version_fixtures_still_load,
    a_batch_across_streams_is_all_or_nothing,
    large_appends_keep_every_rule,
    a_resent_batch_writes_only_what_is_new,
    a_bad_batch_is_refused_and_writes_nothing,
    checkpoints_keep_state_and_position_together,
);
