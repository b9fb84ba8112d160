-- What each authority has published to its partners, one row per authority and publication
-- period (e.g. a day): the protected tables exactly as every partner sees them in that period,
-- on every node. The first node to publish a period's tables writes the row; the others read
-- it. Kept, append-only, as the record of what was disclosed.
CREATE TABLE shared_publications (
    authority    TEXT        NOT NULL,
    period       BIGINT      NOT NULL,
    position     BIGINT      NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    body         TEXT        NOT NULL,
    PRIMARY KEY (authority, period)
);

CREATE FUNCTION shared_publications_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'shared_publications is append-only';
END;
$$;

CREATE TRIGGER shared_publications_append_only BEFORE UPDATE ON shared_publications
    FOR EACH ROW EXECUTE FUNCTION shared_publications_append_only();

-- The audit log says what was asked (the grouping, the arguments) and whether it was answered
-- or refused (`read`, `refused: CODE`).
ALTER TABLE api_audit ADD COLUMN arguments TEXT NOT NULL DEFAULT '';
ALTER TABLE api_audit ADD COLUMN outcome TEXT NOT NULL DEFAULT 'read';
