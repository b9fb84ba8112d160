-- The event log: append-only, forever. See schema/README.md for why readers never skip.

CREATE SEQUENCE events_position_seq AS bigint MINVALUE 1 NO CYCLE;

CREATE TABLE events (
    position        bigint      NOT NULL,
    stream_id       text        NOT NULL CHECK (length(stream_id) BETWEEN 1 AND 200),
    stream_version  bigint      NOT NULL CHECK (stream_version >= 1),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL CHECK (length(event_type) >= 1),
    schema_version  integer     NOT NULL CHECK (schema_version >= 1),
    payload         jsonb       NOT NULL,
    correlation_id  uuid,
    causation_id    uuid,
    actor           text,
    recorded_at     timestamptz NOT NULL,
    -- The writing transaction's id. Positions are handed out in transaction-id order
    -- (see placeledger_append), so a reader may pass over a gap below an event once every
    -- transaction up to this one has finished.
    transaction_id  xid8        NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (stream_id, stream_version),
    CONSTRAINT events_position_key UNIQUE (position),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only' USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER events_are_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- Appends a batch to one stream, in one round trip.
--
-- Outcome 'ok' (written), 'duplicate' (every event id was already stored, in this stream:
-- the original result is returned and nothing is written), 'partial' (some ids stored,
-- some not: refused), or 'conflict' (the expected version is not the stream's version).
--
-- p_expected: NULL for any version, 0 for "no stream yet", n for exactly n.
--
-- Why readers never skip an event: positions come from a sequence, so a transaction that
-- took position p may commit after one that took p+1. Inside a short critical section
-- (a session advisory lock, released before the insert, so commits still run in parallel)
-- each append takes its transaction id and then its positions. Positions are therefore in
-- transaction-id order, and a reader that finds a gap below position q knows that every
-- transaction that could fill it has an id below q's. It passes the gap only when its
-- snapshot's xmin is above q's transaction id: all of those have finished, so the gap is
-- a rolled-back append and will never fill. No NOTIFY is sent from the transaction.
CREATE FUNCTION placeledger_append(
    p_stream_id      text,
    p_expected       bigint,
    p_event_ids      uuid[],
    p_event_types    text[],
    p_schema_versions integer[],
    p_payloads       jsonb[],
    p_correlation_ids uuid[],
    p_causation_ids  uuid[],
    p_actors         text[],
    p_recorded_at    timestamptz
) RETURNS TABLE (outcome text, stream_version bigint, first_version bigint, last_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n            integer := cardinality(p_event_ids);
    v_found      integer;
    v_streams    integer;
    v_min        bigint;
    v_max        bigint;
    v_last_pos   bigint;
    v_current    bigint;
    v_xid        xid8;
    v_first_pos  bigint;
BEGIN
    IF n IS NULL OR n = 0 THEN
        RAISE EXCEPTION 'an append needs at least one event' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Idempotency: a re-sent append returns what the first one did.
    SELECT count(*), count(DISTINCT e.stream_id), min(e.stream_version), max(e.stream_version), max(e.position)
      INTO v_found, v_streams, v_min, v_max, v_last_pos
      FROM events e WHERE e.event_id = ANY (p_event_ids);
    IF v_found > 0 THEN
        IF v_found = n AND v_streams = 1 AND v_max - v_min + 1 = n
           AND EXISTS (SELECT 1 FROM events e WHERE e.event_id = p_event_ids[1]
                        AND e.stream_id = p_stream_id AND e.stream_version = v_min) THEN
            RETURN QUERY SELECT 'duplicate'::text, v_max, v_min, v_last_pos;
        ELSE
            RETURN QUERY SELECT 'partial'::text, v_max, v_min, v_last_pos;
        END IF;
        RETURN;
    END IF;

    SELECT coalesce(max(e.stream_version), 0) INTO v_current
      FROM events e WHERE e.stream_id = p_stream_id;
    IF p_expected IS NOT NULL AND p_expected <> v_current THEN
        RETURN QUERY SELECT 'conflict'::text, v_current, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;

    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'placeledger_append must be the first write of its transaction'
            USING ERRCODE = 'invalid_transaction_state';
    END IF;

    BEGIN
        PERFORM pg_advisory_lock(7243001);
        v_xid := pg_current_xact_id();
        v_first_pos := nextval('events_position_seq');
        IF n > 1 THEN
            PERFORM setval('events_position_seq', v_first_pos + n - 1);
        END IF;
        PERFORM pg_advisory_unlock(7243001);
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_advisory_unlock(7243001);
        RAISE;
    END;

    INSERT INTO events (position, stream_id, stream_version, event_id, event_type, schema_version,
                        payload, correlation_id, causation_id, actor, recorded_at, transaction_id)
    SELECT v_first_pos + u.i - 1, p_stream_id, v_current + u.i, u.event_id, u.event_type,
           u.schema_version, u.payload, u.correlation_id, u.causation_id, u.actor,
           p_recorded_at, v_xid
      -- unnest, not p_payloads[i]: subscripting an array of variable-length values walks it
      -- from the start each time, which makes a large batch quadratic.
      FROM unnest(p_event_ids, p_event_types, p_schema_versions, p_payloads,
                  p_correlation_ids, p_causation_ids, p_actors)
           WITH ORDINALITY AS u(event_id, event_type, schema_version, payload,
                                correlation_id, causation_id, actor, i);

    RETURN QUERY SELECT 'ok'::text, v_current + n, v_current + 1, v_first_pos + n - 1;
END
$$;
