-- The audit rows of a statement's allocations with their jsonb built in C
-- (issue 17: ar.reconcile()'s write path).
CREATE FUNCTION ar._row_jsonb(r record) RETURNS jsonb
LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ar_row_jsonb';
REVOKE ALL ON FUNCTION ar._row_jsonb(record) FROM PUBLIC;

-- (ar._audit_rows(), which writes them: src/sql/41_audit_chains.sql, the
-- piece 98_zz_audit_2_chains.sql)
