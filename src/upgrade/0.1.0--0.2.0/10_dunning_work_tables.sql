-- ---------------------------------------------------------------------------
-- 0.2.0: the work tables of ar.run_dunning are named with a per-transaction
-- random token held by the library (ar._work_token()) and created by the
-- run itself; an object of that name the run did not create is refused.
-- (0.1.0 found them by fixed names in pg_temp, which the caller owns: a
-- caller's table of that name with a trigger ran as the function's owner.)
-- ---------------------------------------------------------------------------

-- The work tables of ar.run_dunning live in pg_temp, which belongs to the
-- caller's session: the caller could create there, before a run, a table
-- of the name the run uses, with a trigger or a rule that the run (SECURITY
-- DEFINER) would fire as its owner.  So their names carry a random token
-- drawn once per transaction by the library (ar._work_token(), which no
-- caller can set or predict: ar._dunning_work_name), and a work table is
-- created by the run itself; within a transaction, a later run empties and
-- fills it again (simulating many run dates in one transaction does not
-- pile up locks on temporary relations), but only while it is still the
-- plain table this role created: anything else of that name is refused
-- (42501), never used.  ON COMMIT DROP.  With key, the table is created
-- with a unique index on that column (a join knowing the key unique needs
-- no mark and restore).  Returns the number of rows written.
CREATE FUNCTION ar._work_token() RETURNS text
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'ar_work_token';

CREATE FUNCTION ar._dunning_work_name(base text) RETURNS text
LANGUAGE sql VOLATILE AS $$ SELECT base || '_' || ar._work_token() $$;

CREATE OR REPLACE FUNCTION ar._dunning_work_table(name text, query text, key text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	written bigint;
	rel record;
BEGIN
	SELECT c.relkind, c.relpersistence, c.relhastriggers, c.relhasrules, c.relrowsecurity,
	       c.relowner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) AS ours
	  INTO rel
	  FROM pg_catalog.pg_class c
	 WHERE c.relname = name AND c.relnamespace = pg_catalog.pg_my_temp_schema();
	IF NOT FOUND THEN
		EXECUTE format('CREATE TEMP TABLE pg_temp.%I ON COMMIT DROP AS %s', name, query);
		GET DIAGNOSTICS written = ROW_COUNT;
		IF key IS NOT NULL THEN
			EXECUTE format('CREATE UNIQUE INDEX ON pg_temp.%I (%I)', name, key);
		END IF;
	ELSIF rel.ours AND rel.relkind = 'r' AND rel.relpersistence = 't'
	      AND NOT rel.relhastriggers AND NOT rel.relhasrules AND NOT rel.relrowsecurity THEN
		EXECUTE format('TRUNCATE pg_temp.%I', name);
		EXECUTE format('INSERT INTO pg_temp.%I %s', name, query);
		GET DIAGNOSTICS written = ROW_COUNT;
	ELSE
		RAISE EXCEPTION 'work table % of pg_temp exists and is not the one ar_collect created: refused', name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN written;
END $$;

-- Applies the escalation rule of the contract (doc/contract.md) on run date
-- as_of to every dunning account, and queues (unless dry_run) the notices it decides:
--  0. customers blocked on as_of, or whose policy is inactive, are skipped
--     (their state is kept);
--  1. dunnable invoices: positive open amount on as_of (issued by then,
--     allocations dated after as_of not counted), not disputed, promised or
--     covered by a payment plan in force on as_of;
--  2. R: highest level whose offset <= as_of - due_date over them;
--  3. C: level of the last notice of the cycle not failed or cancelled; a
--     new cycle starts (C none) on a run date where R is none (an account
--     whose state was changed by a later run date is left alone: runs go
--     forward in time);
--  4. N = 0 when R = 0, else min(R, max(C, 0) + 1);
--  5. queued when N > C, the last notice of any cycle (not failed or
--     cancelled) was queued at least min_days_between (7) days before
--     as_of, and the amount due reaches the level's min_amount.  It lists
--     the dunnable invoices that reached level 1 (level 0 for a level 0
--     notice) with their open amounts and the penalties accrued on as_of
--     (ar.invoice_penalty, when installed).
-- Each queued notice is a row of ar.dunning_notice, an entry of the
-- communications log and a NOTIFY ar_dunning carrying its id, in the
-- transaction of the run.  A second run for the same date queues nothing.
-- ar.run_dunning: its final form is re-created by piece 69.

REVOKE ALL ON FUNCTION ar._work_token(), ar._dunning_work_name(text) FROM PUBLIC;
