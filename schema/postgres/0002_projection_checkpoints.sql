-- Each projection's saved state and the position it has folded to, in one row: saving both in
-- one statement means a restart never resumes from a position its state does not match.
CREATE TABLE projection_checkpoints (
    name       TEXT        NOT NULL PRIMARY KEY,
    version    INTEGER     NOT NULL,
    position   BIGINT      NOT NULL CHECK (position >= 0),
    state      JSONB       NOT NULL,
    saved_at   TIMESTAMPTZ NOT NULL
);
