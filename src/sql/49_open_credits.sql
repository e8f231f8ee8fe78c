-- ---------------------------------------------------------------------------
-- Open credits on any date, as 61_open_items.sql does for the open items
-- (issue 14): ar._open_credits(as_of), the query, SQL, inlined into the SQL
-- that calls it on one node; ar._open_credits_query(), its text;
-- ar.open_credits(as_of), the public function, PL/pgSQL running that text,
-- so that Citus plans it (doc/scale_out.md, blocker 2).  Before
-- 50_payments.sql, whose view ar.open_credit_items reads ar.open_credits.
-- ar._open_credits is a placeholder here (no row): its query reads
-- ar.credit_release, created with the small balances, where
-- 86_small_balances.sql gives it its body; the SQL functions created in
-- between that call it only need its columns.
--
-- src/upgrade/0.1.0--0.2.0/59_open_credits.sql is this piece (a symbolic
-- link).
-- ---------------------------------------------------------------------------

CREATE FUNCTION ar._open_credits(as_of date)
RETURNS TABLE (kind text, credit_id bigint, company_id bigint, customer_id bigint, currency char(3),
               number text, credit_date date, amount numeric, available numeric, note text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::char(3), NULL::text, $1, NULL::numeric,
	       NULL::numeric, NULL::text
	 WHERE false
$$;

-- The text of ar._open_credits' query, its as_of $1 (as
-- ar._open_items_query()).
CREATE FUNCTION ar._open_credits_query() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT p.prosrc FROM pg_catalog.pg_proc p WHERE p.oid = 'ar._open_credits(pg_catalog.date)'::pg_catalog.regprocedure $$;

-- What a customer may set off against what it owes, as it stood on as_of:
-- its credit notes issued by then and still open then (allocations dated
-- after as_of not counted, cancellations after it not either), and its
-- customer credit (overpayments, unapplied payments, credit granted)
-- created by then and not yet used then.  available is positive.
-- PL/pgSQL, so that its query is planned (by Citus where the ledger is
-- distributed) as its own statement, as_of bound; ar_collect's SQL calls
-- ar._open_credits, inlined into its own query.
CREATE FUNCTION ar.open_credits(as_of date DEFAULT current_date)
RETURNS TABLE (kind text, credit_id bigint, company_id bigint, customer_id bigint, currency char(3),
               number text, credit_date date, amount numeric, available numeric, note text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	RETURN QUERY EXECUTE ar._open_credits_query() USING as_of;
END $$;
COMMENT ON FUNCTION ar.open_credits(date) IS
	'Open credit notes and unapplied customer credit on as_of, one row each (available: what may still be set off then, positive).';

-- a reader may call them (ar_collect's SQL inlines ar._open_credits into
-- its own queries), PUBLIC not (as 90_roles.sql does for a fresh install)
REVOKE ALL ON FUNCTION ar._open_credits(date), ar._open_credits_query(), ar.open_credits(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._open_credits(date), ar._open_credits_query(), ar.open_credits(date) TO ar_reader;
