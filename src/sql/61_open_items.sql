-- ---------------------------------------------------------------------------
-- Open items on any date: ar._open_items(as_of), the query, inlined into
-- the SQL that calls it on one node; ar.open_items(as_of), the public
-- function, PL/pgSQL running that query by its text (issue 14).
--
-- src/upgrade/0.1.0--0.2.0/90_open_items.sql is this piece (a symbolic
-- link): CREATE OR REPLACE.
-- ---------------------------------------------------------------------------

-- Open items on as_of ($1): invoices issued on or before as_of with a
-- non-zero open amount then: today's open amount plus the allocations dated
-- after as_of; an invoice cancelled after as_of is open for its whole amount
-- (a cancelled invoice never had allocations), one cancelled by then is not.
-- Only the invoices that can be open on as_of are read, in three disjoint
-- parts, so the cost follows the open book and the movements since as_of,
-- not the whole history (doc/ledger.md, "Open items on a date"):
--   - open today, not cancelled, no allocation dated after as_of: the
--     partial indexes of open invoices (invoice_open_account covers what
--     the aging report reads: an index-only scan where the visibility map
--     allows), less the invoices of the allocations after as_of
--     (allocation_allocated_on);
--   - not cancelled, with allocations dated after as_of (open today or
--     settled since): fetched by id in id order and joined with the sums
--     of those allocations per invoice, read once through
--     allocation_allocated_on (not one index scan of allocation_invoice
--     per invoice);
--   - cancelled after as_of (invoice_cancelled_on).
-- Every join between ledger tables is on (invoice_id, company_id), so that
-- Citus, the ledger distributed by company_id, runs it on each shard
-- (doc/scale_out.md, blocker 2).  Its body names as_of $1 and ends without
-- a semicolon: ar.open_items and ar._aging_report_full run its text
-- (ar._open_items_query()) with as_of bound.
CREATE OR REPLACE FUNCTION ar._open_items(as_of date)
RETURNS TABLE (invoice_id bigint, company_id bigint, customer_id bigint, number text, currency char(3),
               issue_date date, due_date date, amount numeric, open_amount numeric, days_past_due integer)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT o.id, o.company_id, o.customer_id, o.number, o.currency, o.issue_date, o.due_date, o.amount,
	       o.open_amount, $1 - o.due_date
	  FROM (SELECT i.id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
	               i.open_amount
	          FROM ar.invoice i
	         WHERE i.open_amount <> 0 AND i.cancelled_on IS NULL AND i.issue_date <= $1
	           AND NOT EXISTS (SELECT FROM ar.allocation a
	                            WHERE a.invoice_id = i.id AND a.company_id = i.company_id AND a.allocated_on > $1)
	        UNION ALL
	        SELECT i.id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
	               i.open_amount + later.amount
	          FROM (SELECT a.invoice_id, a.company_id, sum(a.amount) AS amount
	                  FROM ar.allocation a
	                 WHERE a.allocated_on > $1
	                 GROUP BY a.invoice_id, a.company_id) later
	          JOIN ar.invoice i ON i.id = later.invoice_id AND i.company_id = later.company_id
	         WHERE i.id = ANY (ARRAY(SELECT a.invoice_id FROM ar.allocation a WHERE a.allocated_on > $1))
	           AND i.cancelled_on IS NULL AND i.issue_date <= $1
	        UNION ALL
	        SELECT i.id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
	               i.amount
	          FROM ar.invoice i
	         WHERE i.cancelled_on > $1 AND i.issue_date <= $1) o
	 WHERE o.open_amount <> 0
$$;

-- The text of ar._open_items' query, its as_of $1: what the functions that
-- Citus must plan run (a SQL function called from a query is inlined after
-- Citus has planned that query, reading the coordinator's own tables, or
-- refused: "parameterized queries for SQL functions referencing distributed
-- tables are not supported"), so that the query is written once.
CREATE OR REPLACE FUNCTION ar._open_items_query() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT p.prosrc FROM pg_catalog.pg_proc p WHERE p.oid = 'ar._open_items(pg_catalog.date)'::pg_catalog.regprocedure $$;

-- The public function: PL/pgSQL, so that its query is planned (by Citus
-- where the ledger is distributed) as its own statement, as_of bound.  The
-- SQL of ar_collect calls ar._open_items, inlined into its own query.
CREATE OR REPLACE FUNCTION ar.open_items(as_of date DEFAULT current_date)
RETURNS TABLE (invoice_id bigint, company_id bigint, customer_id bigint, number text, currency char(3),
               issue_date date, due_date date, amount numeric, open_amount numeric, days_past_due integer)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	RETURN QUERY EXECUTE ar._open_items_query() USING as_of;
END $$;

-- a reader may call them (ar_collect's SQL inlines ar._open_items into its
-- own queries), PUBLIC not (as 90_roles.sql does for a fresh install)
REVOKE ALL ON FUNCTION ar._open_items(date), ar._open_items_query(), ar.open_items(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._open_items(date), ar._open_items_query(), ar.open_items(date) TO ar_reader;
