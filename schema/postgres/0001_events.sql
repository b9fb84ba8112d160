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

-- Appends to one or more streams, all or nothing, in one round trip.
--
-- The appends arrive as parallel arrays: per append, its stream, expected version (NULL: any;
-- 0: no stream yet; n: exactly n), the offset of its first event and its event count; per
-- event, the index of its append (1-based) and its columns. Each append is, independently:
--   'ok'        written;
--   'duplicate' every one of its event ids is already stored in this stream, in order: its
--               original result is returned and nothing is written for it (a retry);
--   'partial'   some of its ids are stored, some not, or elsewhere: the whole call is refused;
--   'conflict'  its expected version is not the stream's: the whole call is refused.
-- On a refusal the call returns one row, for the first offending append, and writes nothing.
--
-- Why readers never skip an event: positions come from a sequence, so a transaction that
-- took position p may commit after one that took p+1. Inside a short critical section
-- (a session advisory lock, released before the insert, so commits still run in parallel)
-- each call takes its transaction id and then all its positions. Positions are therefore in
-- transaction-id order, and a reader that finds a gap below position q knows that every
-- transaction that could fill it has an id below q's. It passes the gap only when its
-- snapshot's xmin is above q's transaction id: all of those have finished, so the gap is
-- a rolled-back append and will never fill. No NOTIFY is sent from the transaction.
CREATE FUNCTION placeledger_append(
    p_stream_ids      text[],
    p_expected        bigint[],
    p_starts          integer[],
    p_counts          integer[],
    p_event_appends   integer[],
    p_event_ids       uuid[],
    p_event_types     text[],
    p_schema_versions integer[],
    p_payloads        jsonb[],
    p_correlation_ids uuid[],
    p_causation_ids   uuid[],
    p_actors          text[],
    p_recorded_at     timestamptz
) RETURNS TABLE (append_index integer, outcome text, stream_version bigint,
                 first_version bigint, last_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    m            integer := coalesce(cardinality(p_stream_ids), 0);
    k            integer;
    v_ids        uuid[];
    v_found      integer;
    v_streams    integer;
    v_min        bigint;
    v_max        bigint;
    v_last_pos   bigint;
    v_current    bigint;
    v_total      integer := 0;
    -- Per append: the stream's version before it (NULL for a duplicate), the first position
    -- of its events, and a duplicate's original result.
    v_base       bigint[] := array_fill(NULL::bigint, ARRAY[m]);
    v_start_pos  bigint[] := array_fill(NULL::bigint, ARRAY[m]);
    v_dup_first  bigint[] := array_fill(NULL::bigint, ARRAY[m]);
    v_dup_last   bigint[] := array_fill(NULL::bigint, ARRAY[m]);
    v_dup_pos    bigint[] := array_fill(NULL::bigint, ARRAY[m]);
    v_xid        xid8;
    v_pos        bigint;
BEGIN
    IF m = 0 OR cardinality(p_event_ids) IS NULL THEN
        RAISE EXCEPTION 'an append needs at least one event' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    FOR k IN 1 .. m LOOP
        v_ids := p_event_ids[p_starts[k] + 1 : p_starts[k] + p_counts[k]];
        -- Idempotency: a re-sent append returns what the first one did.
        SELECT count(*), count(DISTINCT e.stream_id), min(e.stream_version),
               max(e.stream_version), max(e.position)
          INTO v_found, v_streams, v_min, v_max, v_last_pos
          FROM events e WHERE e.event_id = ANY (v_ids);
        IF v_found > 0 THEN
            IF v_found = p_counts[k] AND v_streams = 1 AND v_max - v_min + 1 = p_counts[k]
               AND EXISTS (SELECT 1 FROM events e WHERE e.event_id = v_ids[1]
                            AND e.stream_id = p_stream_ids[k] AND e.stream_version = v_min) THEN
                v_dup_first[k] := v_min;
                v_dup_last[k] := v_max;
                v_dup_pos[k] := v_last_pos;
                CONTINUE;
            END IF;
            RETURN QUERY SELECT k, 'partial'::text, v_max, v_min, v_last_pos;
            RETURN;
        END IF;

        SELECT coalesce(max(e.stream_version), 0) INTO v_current
          FROM events e WHERE e.stream_id = p_stream_ids[k];
        IF p_expected[k] IS NOT NULL AND p_expected[k] <> v_current THEN
            RETURN QUERY SELECT k, 'conflict'::text, v_current, NULL::bigint, NULL::bigint;
            RETURN;
        END IF;
        v_base[k] := v_current;
        v_total := v_total + p_counts[k];
    END LOOP;

    IF v_total > 0 THEN
        IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
            RAISE EXCEPTION 'placeledger_append must be the first write of its transaction'
                USING ERRCODE = 'invalid_transaction_state';
        END IF;

        BEGIN
            PERFORM pg_advisory_lock(7243001);
            v_xid := pg_current_xact_id();
            v_pos := nextval('events_position_seq');
            IF v_total > 1 THEN
                PERFORM setval('events_position_seq', v_pos + v_total - 1);
            END IF;
            PERFORM pg_advisory_unlock(7243001);
        EXCEPTION WHEN OTHERS THEN
            PERFORM pg_advisory_unlock(7243001);
            RAISE;
        END;

        FOR k IN 1 .. m LOOP
            IF v_base[k] IS NOT NULL THEN
                v_start_pos[k] := v_pos;
                v_pos := v_pos + p_counts[k];
            END IF;
        END LOOP;

        INSERT INTO events (position, stream_id, stream_version, event_id, event_type,
                            schema_version, payload, correlation_id, causation_id, actor,
                            recorded_at, transaction_id)
        SELECT a.start_pos + (u.i - 1 - a.start), a.stream_id, a.base + (u.i - a.start),
               u.event_id, u.event_type, u.schema_version, u.payload, u.correlation_id,
               u.causation_id, u.actor, p_recorded_at, v_xid
          -- unnest and a join, not p_payloads[i]: subscripting an array of variable-length
          -- values walks it from the start each time, which makes a large batch quadratic.
          FROM unnest(p_event_appends, p_event_ids, p_event_types, p_schema_versions,
                      p_payloads, p_correlation_ids, p_causation_ids, p_actors)
               WITH ORDINALITY AS u(k, event_id, event_type, schema_version, payload,
                                    correlation_id, causation_id, actor, i)
          JOIN unnest(p_stream_ids, v_base, v_start_pos, p_starts)
               WITH ORDINALITY AS a(stream_id, base, start_pos, start, k) ON a.k = u.k
         WHERE a.base IS NOT NULL;
    END IF;

    RETURN QUERY
    SELECT a.k::integer,
           CASE WHEN a.base IS NULL THEN 'duplicate' ELSE 'ok' END,
           coalesce(a.base + a.cnt, a.dup_last),
           coalesce(a.base + 1, a.dup_first),
           coalesce(a.start_pos + a.cnt - 1, a.dup_pos)
      FROM unnest(v_base, p_counts, v_start_pos, v_dup_first, v_dup_last, v_dup_pos)
           WITH ORDINALITY AS a(base, cnt, start_pos, dup_first, dup_last, dup_pos, k)
     ORDER BY a.k;
END
$$;
