-- The event log: append-only, forever. See schema/README.md.
--
-- SQLite has one writer at a time, so positions are handed out in commit order:
-- a reader that has seen position n has seen every committed event below n.
CREATE TABLE events (
    position        INTEGER NOT NULL PRIMARY KEY,
    stream_id       TEXT    NOT NULL CHECK (length(stream_id) BETWEEN 1 AND 200),
    stream_version  INTEGER NOT NULL CHECK (stream_version >= 1),
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL CHECK (length(event_type) >= 1),
    schema_version  INTEGER NOT NULL CHECK (schema_version >= 1),
    payload         TEXT    NOT NULL CHECK (json_valid(payload)),
    correlation_id  TEXT,
    causation_id    TEXT,
    actor           TEXT,
    recorded_at     TEXT    NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
