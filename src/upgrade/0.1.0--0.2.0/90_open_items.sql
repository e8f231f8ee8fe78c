-- Issue 17 (performance): ar.open_items reads only the invoices that can be
-- open on as_of (same signature, columns and rows; ar.aging_report, the
-- views and the analytics over it follow).  Final text (no later piece
-- re-creates it): a copy of the definition in src/sql/60_reports.sql.

-- Open items on as_of: invoices issued on or before as_of with a non-zero
-- open amount then: today's open amount plus the allocations dated after
-- as_of; an invoice cancelled after as_of is open for its whole amount (a
-- cancelled invoice never had allocations), one cancelled by then is not.
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
CREATE OR REPLACE FUNCTION ar.open_items(as_of date DEFAULT current_date)
RETURNS TABLE (invoice_id bigint, company_id bigint, customer_id bigint, number text, currency char(3),
               issue_date date, due_date date, amount numeric, open_amount numeric, days_past_due integer)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT o.id, o.company_id, o.customer_id, o.number, o.currency, o.issue_date, o.due_date, o.amount,
	       o.open_amount, as_of - o.due_date
	  FROM (SELECT i.id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
	               i.open_amount
	          FROM ar.invoice i
	         WHERE i.open_amount <> 0 AND i.cancelled_on IS NULL AND i.issue_date <= as_of
	           AND NOT EXISTS (SELECT FROM ar.allocation a WHERE a.invoice_id = i.id AND a.allocated_on > as_of)
	        UNION ALL
	        SELECT i.id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
	               i.open_amount + later.amount
	          FROM (SELECT a.invoice_id, sum(a.amount) AS amount
	                  FROM ar.allocation a
	                 WHERE a.allocated_on > as_of
	                 GROUP BY a.invoice_id) later
	          JOIN ar.invoice i ON i.id = later.invoice_id
	         WHERE i.id = ANY (ARRAY(SELECT a.invoice_id FROM ar.allocation a WHERE a.allocated_on > as_of))
	           AND i.cancelled_on IS NULL AND i.issue_date <= as_of
	        UNION ALL
	        SELECT i.id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
	               i.amount
	          FROM ar.invoice i
	         WHERE i.cancelled_on > as_of AND i.issue_date <= as_of) o
	 WHERE o.open_amount <> 0
$$;
