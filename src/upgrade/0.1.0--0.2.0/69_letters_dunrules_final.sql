-- Letters (50-56) and dunning rules (60) both change ar.run_dunning and
-- ar.dunning_level: the final forms, as in a fresh install.
-- ar.dunning_level.recent_invoices comes after min_percent.
-- (the deferred triggers of the rows changed so far fire first: a table
-- with pending trigger events cannot be altered)
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE ar.dunning_level
	ADD COLUMN recent_invoices text CONSTRAINT dunning_level_recent_invoices CHECK (recent_invoices IN ('list', 'separate', 'exclude'));
SET CONSTRAINTS ALL DEFERRED;
COMMENT ON COLUMN ar.dunning_level.recent_invoices IS 'Invoices never reminded before: list (with the others), separate (a section of their own: "factures récemment échues"), exclude (left out of the notice and its amounts); NULL: separate when the level states penalties, else list.';

-- ar._dunning_work_table takes the values of its query as parameters (0.2.0,
-- issue 15): the new signature replaces the old one.
DROP FUNCTION ar._dunning_work_table(text, text, text);
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
REVOKE ALL ON FUNCTION ar._dunning_work_table(text, text, text, date, date, boolean, bigint) FROM PUBLIC;

-- ar.run_dunning: its final form is in 92_dunning_speed.sql
