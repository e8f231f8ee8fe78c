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

-- ar._dunning_work_table (which creates them): its final form, with the
-- values of its query as parameters, is created by piece 69.

-- ar.run_dunning: its final form is re-created by piece 69.

REVOKE ALL ON FUNCTION ar._work_token(), ar._dunning_work_name(text) FROM PUBLIC;
