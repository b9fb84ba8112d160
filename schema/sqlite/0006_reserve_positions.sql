-- The pair of postgres/0006_reserve_positions.sql (migrations change in pairs, schema/README.md).
-- SQLite needs nothing: its single writer takes positions inside its own transaction.
SELECT 1;
