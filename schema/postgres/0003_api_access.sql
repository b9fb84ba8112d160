-- API bearer tokens, stored hashed (SHA-256 of the secret): the secret is shown once, when
-- the token is created, and never stored. `authority` is the DfE LA code the role acts for
-- (NULL for admin).
CREATE TABLE api_tokens (
    id          TEXT        NOT NULL PRIMARY KEY,
    hash        TEXT        NOT NULL UNIQUE,
    role        TEXT        NOT NULL CHECK (role IN ('admin', 'planner', 'analyst', 'partner')),
    authority   TEXT,
    label       TEXT        NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

-- Every read a partner makes of another authority's shared data, kept for the data-sharing
-- agreement's audit. Append-only, like the events.
CREATE TABLE api_audit (
    id          BIGSERIAL   PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    token_id    TEXT        NOT NULL,
    role        TEXT        NOT NULL,
    authority   TEXT,
    field       TEXT        NOT NULL,
    subjects    TEXT        NOT NULL
);

CREATE FUNCTION api_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'api_audit is append-only';
END;
$$;

CREATE TRIGGER api_audit_append_only BEFORE UPDATE OR DELETE ON api_audit
    FOR EACH ROW EXECUTE FUNCTION api_audit_append_only();
