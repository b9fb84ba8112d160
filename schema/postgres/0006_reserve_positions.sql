-- Positions for an append written by COPY (PgStore's path for large appends and bulk loads):
-- the same critical section as placeledger_append's (0001), so positions stay in
-- transaction-id order and the no-skip reader's rule holds for them too (schema/README.md).
--
-- The caller, in one transaction: reads (no writes) to check event ids and stream versions,
-- calls this for p_count positions, COPYs the events with those positions and the returned
-- transaction id, and commits. A rival append committing in between breaks a unique
-- constraint (stream version or event id), and the whole transaction rolls back.
CREATE FUNCTION placeledger_reserve_positions(p_count integer)
RETURNS TABLE (transaction_id xid8, first_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_xid xid8;
    v_pos bigint;
BEGIN
    IF p_count IS NULL OR p_count < 1 THEN
        RAISE EXCEPTION 'an append needs at least one event' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'placeledger_reserve_positions must be the first write of its transaction'
            USING ERRCODE = 'invalid_transaction_state';
    END IF;

    BEGIN
        PERFORM pg_advisory_lock(7243001);
        v_xid := pg_current_xact_id();
        v_pos := nextval('events_position_seq');
        IF p_count > 1 THEN
            PERFORM setval('events_position_seq', v_pos + p_count - 1);
        END IF;
        PERFORM pg_advisory_unlock(7243001);
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_advisory_unlock(7243001);
        RAISE;
    END;

    RETURN QUERY SELECT v_xid, v_pos;
END
$$;
