-- ---------------------------------------------------------------------------
-- 0.2.0: ar.import_statement streams the file instead of holding it as rows
-- (0.1.0 built an array of every parsed line and a jsonb_agg of them: about
-- 26 KB of memory per line).  ar._statement_scan reads the file twice for
-- the headers, sums and digests (the same digests as 0.1.0's, so that a
-- statement imported before the upgrade is still recognised);
-- ar._statement_store_lines reads it a third time and stores the lines of
-- the new statements batch by batch.  Files over 256 MB are refused
-- (SQLSTATE 54000).  doc/import.md.
-- ---------------------------------------------------------------------------

-- What ar.import_statement decides on, without holding the lines: one row
-- per statement of the file, its header as ar.parse_statement gives it,
-- what its lines add up to, and its digest (ar._statement_digest of the
-- header and its lines).  Two passes over the file in C (src/statement_sql.c).
CREATE FUNCTION ar._statement_scan(content text, format text DEFAULT NULL,
	OUT header ar.parsed_statement_row, OUT movements numeric, OUT stored_lines bigint,
	OUT credits numeric, OUT debits numeric, OUT first_date date, OUT last_date date,
	OUT digest bytea, OUT statement_digest bytea)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ar_statement_scan'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar._statement_scan(text, text) IS
'Internal to ar.import_statement: per statement of a file, its header, the sum of its lines (all, credits, debits), how many have an amount, their first and last booking dates, its digest, and its statement digest (the same less the message id).';
REVOKE ALL ON FUNCTION ar._statement_scan(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._statement_scan(text, text) TO PUBLIC;

-- The lines of the statements ar.import_statement has just stored, read
-- from the file once more and inserted batch by batch (statement number
-- statement_nos[i] of the file is stored as statement_ids[i] of company
-- company_ids[i]; lines of zero amount are not stored).  Returns how many.
CREATE FUNCTION ar._statement_store_lines(content text, format text, statement_nos integer[],
	statement_ids bigint[], company_ids bigint[]) RETURNS bigint
AS 'MODULE_PATHNAME', 'ar_statement_store_lines'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ar._statement_store_lines(text, text, integer[], bigint[], bigint[]) IS
'Internal to ar.import_statement: stores the lines of the given statements of a file in ar.bank_transaction, in batches.';
-- (a fresh install takes EXECUTE from PUBLIC on every function, then gives
-- it back on the immutable ones: 90_roles.sql)
REVOKE ALL ON FUNCTION ar._statement_store_lines(text, text, integer[], bigint[], bigint[]) FROM PUBLIC;

-- ar.import_statement itself, which reads the file three times with these
-- (headers and sums; digests; the lines of the statements stored now), is
-- re-created in its final form by piece 72.
