-- A projection's saved state is kept as the JSON text the projection wrote, not as jsonb:
-- jsonb caps an object's elements at 256 MB, and the national synthetic history's caseload
-- state is larger than that (issue 22, make bench-national); text holds up to 1 GB, and
-- nothing queries inside the state. The store checks it is JSON before saving
-- (Checkpoint::validate), as SQLite's CHECK (json_valid(state)) does.
ALTER TABLE projection_checkpoints ALTER COLUMN state TYPE text USING state::text;
