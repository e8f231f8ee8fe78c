-- ---------------------------------------------------------------------------
-- The input bounds of every table (doc/input-bounds.md): one CHECK
-- constraint per table, <table>_input_bounds, built from ar.input_bounds().
-- Each check raises the error that names the column and the value (22008
-- dates, 22003 amounts out of range, 22023 NaN, decimals, control
-- characters, e-mail addresses, 22001 text too long), so that an INSERT or
-- UPDATE of a client and the API functions that write the row fail alike.
-- ---------------------------------------------------------------------------

-- (the deferred triggers of the rows inserted so far fire first: a table
-- with pending trigger events cannot be altered)
SET CONSTRAINTS ALL IMMEDIATE;
DO $$
DECLARE
	t text;
BEGIN
	FOR t IN SELECT DISTINCT b.table_name FROM ar.input_bounds() b ORDER BY 1 LOOP
		EXECUTE format('ALTER TABLE ar.%I ADD CONSTRAINT %I CHECK (%s)',
		               t, t || '_input_bounds', ar._input_bounds_check(t));
	END LOOP;
END $$;
SET CONSTRAINTS ALL DEFERRED;

GRANT EXECUTE ON FUNCTION ar.input_bound_violations() TO ar_admin;
