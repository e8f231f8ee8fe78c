-- Dunning, ar.run_dunning: the escalation rule (one of the 80_dunning_* pieces).

-- ------------------------------------------------------------- the rule

-- The open invoices of each dunning account in order, with what a run reads
-- of them: ar.run_dunning reads them account by account from the index
-- alone (where the visibility map allows), without sorting a million rows.
CREATE INDEX invoice_open_account ON ar.invoice (customer_id, currency, due_date)
	INCLUDE (id, number, amount, open_amount, issue_date, cancelled_on, penalty_regime, penalty_rate)
	WHERE open_amount <> 0;

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

-- The values a query uses are passed as parameters, never written into
-- its text: $1 the run date (as_of), $2 the last due date a run reads
-- (through), $3 whether the rows are numbered from the outbox's identity
-- (numbered), $4 the company whose rows are read (company: on a
-- distributed ledger, 80_dunning_5_run_0_distributed.sql).
CREATE FUNCTION ar._dunning_work_table(name text, query text, key text DEFAULT NULL,
                                       as_of date DEFAULT NULL, through date DEFAULT NULL,
                                       numbered boolean DEFAULT NULL, company bigint DEFAULT NULL) RETURNS bigint
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
		EXECUTE format('CREATE TEMP TABLE pg_temp.%I ON COMMIT DROP AS %s', name, query)
			USING as_of, through, numbered, company;
		GET DIAGNOSTICS written = ROW_COUNT;
		IF key IS NOT NULL THEN
			EXECUTE format('CREATE UNIQUE INDEX ON pg_temp.%I (%I)', name, key);
		END IF;
	ELSIF rel.ours AND rel.relkind = 'r' AND rel.relpersistence = 't'
	      AND NOT rel.relhastriggers AND NOT rel.relhasrules AND NOT rel.relrowsecurity THEN
		EXECUTE format('TRUNCATE pg_temp.%I', name);
		EXECUTE format('INSERT INTO pg_temp.%I %s', name, query) USING as_of, through, numbered, company;
		GET DIAGNOSTICS written = ROW_COUNT;
	ELSE
		RAISE EXCEPTION 'work table % of pg_temp exists and is not the one ar_collect created: refused', name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN written;
END $$;

-- ar.run_dunning: 80_dunning_5_run_function.sql (the next piece).
