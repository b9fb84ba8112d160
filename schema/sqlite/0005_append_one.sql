-- The pair of postgres/0005_append_one.sql (migrations change in pairs, schema/README.md).
-- SQLite needs nothing: its single writer appends one event as it appends a batch.
SELECT 1;
