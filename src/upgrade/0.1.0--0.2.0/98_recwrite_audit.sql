-- The audit rows of a statement's allocations with their jsonb built in C
-- (issue 17: ar.reconcile()'s write path).
CREATE FUNCTION ar._row_jsonb(r record) RETURNS jsonb
LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ar_row_jsonb';
REVOKE ALL ON FUNCTION ar._row_jsonb(record) FROM PUBLIC;

CREATE OR REPLACE FUNCTION ar._audit_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
BEGIN
	IF ar._restoring() THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.audit_log (table_name, operation, row_id, old_row, new_row)
	SELECT TG_TABLE_NAME, TG_OP, (j.r->>'id')::bigint,
	       CASE WHEN TG_OP = 'DELETE' THEN j.r END, CASE WHEN TG_OP = 'INSERT' THEN j.r END
	  FROM (SELECT ar._row_jsonb(c) AS r, c.id FROM changed c) j
	 ORDER BY j.id;
	IF FOUND THEN
		PERFORM ar._audit_request_seal();
	END IF;
	RETURN NULL;
END $$;
