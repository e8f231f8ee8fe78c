-- ---------------------------------------------------------------------------
-- The locks that serialise the extension's own work: one dunning run, one
-- reconciliation, one fold of the effectiveness summary at a time, and the
-- seals of a company's audit chain one after the other.  Row locks on
-- ar.lock_slot, taken by the SECURITY DEFINER code (ar_definer: no other
-- role has any privilege on the table), not advisory locks: any connected
-- role can take an advisory lock of any key and hold it, and so stall the
-- runs or every audited commit of a company (doc/security.md).  Each node
-- of a Citus cluster has its own (local, as advisory locks are).  Also the
-- upgrade's piece (src/upgrade/0.1.0--0.2.0/07_lock_slots.sql is this file).
-- ---------------------------------------------------------------------------
CREATE TABLE ar.lock_slot (
	name  text NOT NULL,
	key   bigint NOT NULL DEFAULT 0,   -- audit_chain: the company (0: the shared configuration's chain)
	PRIMARY KEY (name, key)
);
COMMENT ON TABLE ar.lock_slot IS
	'Locks of the extension''s own work (run_dunning, reconcile, dunning_effect_fold, audit_chain per company): a row locked FOR UPDATE by ar_definer''s code; no other role may read or lock it.';
INSERT INTO ar.lock_slot (name) VALUES ('run_dunning'), ('reconcile'), ('dunning_effect_fold');

-- Takes the lock (name, key) until the end of the transaction: waits for
-- it, or with wait => false returns false at once when another transaction
-- holds it.  A key first used is inserted (a concurrent first use waits
-- for that insert to commit).
CREATE FUNCTION ar._take_lock(name text, key bigint DEFAULT 0, wait boolean DEFAULT true) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	LOOP
		IF wait THEN
			PERFORM FROM ar.lock_slot s WHERE s.name = _take_lock.name AND s.key = _take_lock.key FOR UPDATE;
		ELSE
			PERFORM FROM ar.lock_slot s WHERE s.name = _take_lock.name AND s.key = _take_lock.key FOR UPDATE SKIP LOCKED;
		END IF;
		IF FOUND THEN
			RETURN true;
		END IF;
		IF EXISTS (SELECT FROM ar.lock_slot s WHERE s.name = _take_lock.name AND s.key = _take_lock.key) THEN
			RETURN false;  -- (not waiting) held by another transaction
		END IF;
		INSERT INTO ar.lock_slot AS s (name, key) VALUES (_take_lock.name, _take_lock.key) ON CONFLICT DO NOTHING;
	END LOOP;
END $$;
REVOKE ALL ON FUNCTION ar._take_lock(text, bigint, boolean) FROM PUBLIC;

-- Takes the lock of a run that decides from what earlier runs wrote
-- (ar.run_dunning) and leaves a new version of its row.  A run at
-- REPEATABLE READ or SERIALIZABLE whose snapshot predates another run's
-- commit cannot see what that run wrote, and would decide it again (the
-- same date run twice, a level queued twice): locking the row the other
-- run updated fails it instead, as a serialization failure (40001), which
-- clients and drivers retry, not the unique violation it met before.
CREATE FUNCTION ar._take_run_lock(name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	PERFORM ar._take_lock(_take_run_lock.name);
	UPDATE ar.lock_slot s SET key = s.key WHERE s.name = _take_run_lock.name AND s.key = 0;
EXCEPTION WHEN serialization_failure THEN
	RAISE EXCEPTION 'could not serialize access to %', _take_run_lock.name
		USING ERRCODE = 'serialization_failure',
		      DETAIL = 'Another ' || _take_run_lock.name || ' committed after this transaction''s snapshot was taken: what it wrote is invisible to this transaction.',
		      HINT = 'Retry the transaction.';
END $$;
REVOKE ALL ON FUNCTION ar._take_run_lock(text) FROM PUBLIC;
COMMENT ON FUNCTION ar._take_run_lock(text) IS
	'Internal: the lock of a run that decides from earlier runs'' writes (ar.run_dunning); a REPEATABLE READ or SERIALIZABLE run whose snapshot predates another run''s commit fails with 40001.';
