-- What each authority has published to its partners, one row per authority and publication
-- period (e.g. a day): the protected tables exactly as every partner sees them in that period,
-- on every node. The first node to publish a period's tables writes the row; the others read
-- it. Kept, append-only, as the record of what was disclosed.
CREATE TABLE shared_publications (
    authority    TEXT    NOT NULL,
    period       INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    published_at TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    PRIMARY KEY (authority, period)
);

CREATE TRIGGER shared_publications_no_update BEFORE UPDATE ON shared_publications
BEGIN
    SELECT RAISE(ABORT, 'shared_publications is append-only');
END;

-- The audit log says what was asked (the grouping, the arguments) and whether it was answered
-- or refused (`read`, `refused: CODE`).
ALTER TABLE api_audit ADD COLUMN arguments TEXT NOT NULL DEFAULT '';
ALTER TABLE api_audit ADD COLUMN outcome TEXT NOT NULL DEFAULT 'read';
