-- The pair of postgres/0007_checkpoint_state_text.sql (migrations change in pairs,
-- schema/README.md). SQLite keeps the state as TEXT already.
SELECT 1;
