-- ---------------------------------------------------------------------------
-- Reading the ledger: open items on any date, aging, views for BI tools and
-- a consistency check of the derived columns.
-- ---------------------------------------------------------------------------

-- ar.open_items(as_of) and the query it runs, ar._open_items(as_of):
-- 61_open_items.sql.

CREATE FUNCTION ar.aging_bucket(days_past_due integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN days_past_due IS NULL THEN NULL
		WHEN days_past_due <= 0 THEN 'not_due'
		WHEN days_past_due <= 30 THEN 'd1_30'
		WHEN days_past_due <= 60 THEN 'd31_60'
		WHEN days_past_due <= 90 THEN 'd61_90'
		ELSE 'd91_plus'
	END
$$;

-- One row per customer and currency with open items on as_of, or with
-- customer credit not yet used then.  Open credit notes are in the buckets
-- (negative) and, again, in credit_notes; unapplied customer credit is in
-- no bucket: net_balance = total - unapplied_credit is what the customer
-- owes once every credit is set off.  The full computation, from every
-- item open on as_of; ar.aging_report answers from the dashboard summaries
-- (86_dashboard_summary.sql) on the dates near their aging date.  In C
-- (src/aging_report.c), the same values and order as this SQL:
--	SELECT c.id, c.code, c.name, (g.buckets).* (0 when absent), currency, c.company_id,
--	       coalesce(g.credit_notes, 0), coalesce(u.available, 0), total - unapplied_credit
--	  FROM (SELECT customer_id, currency, ar.aging(open_amount, due_date, as_of) AS buckets,
--	               coalesce(sum(open_amount) FILTER (WHERE amount < 0), 0) AS credit_notes
--	          FROM ar.open_items(as_of) GROUP BY 1, 2) g
--	  FULL JOIN (the customer credit of ar.open_credits(as_of) per customer and currency) u
--	  JOIN ar.customer c ON c.id = coalesce(g.customer_id, u.customer_id)
--	 ORDER BY c.code, currency
-- the open items summed per customer and currency in a hash table as the
-- executor returns them, the customers read in code order and their rows
-- written out as they come: no aggregate node, no join of the wide rows,
-- no sort of them (issue 17).  Parallel restricted: its queries run in the
-- leader, where they may use workers of their own.
CREATE FUNCTION ar._aging_report_full(as_of date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text,
               not_due numeric, d1_30 numeric, d31_60 numeric, d61_90 numeric, d91_plus numeric, total numeric,
               currency char(3), company_id bigint, credit_notes numeric, unapplied_credit numeric,
               net_balance numeric)
LANGUAGE C STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'aging_report_full';

-- The same rows from the dashboard summaries when they are aged within 31
-- days of as_of (today, once ar.age_summaries() runs daily), else from the
-- full computation.  SQL, so that the planner inlines it into the caller's
-- query: the full computation's rows stream to the caller instead of being
-- stored first (a PL/pgSQL RETURN QUERY stores them all: 45 ms of 230 at
-- 300,000 invoices), and the caller's conditions reach its plan; of the two
-- branches only the chosen one runs (a one-time filter).  (Its body names
-- the summaries' functions, created later by 86_dashboard_summary.sql: an
-- extension's script runs without checking function bodies.)
CREATE FUNCTION ar.aging_report(as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text,
               not_due numeric, d1_30 numeric, d31_60 numeric, d61_90 numeric, d91_plus numeric, total numeric,
               currency char(3), company_id bigint, credit_notes numeric, unapplied_credit numeric,
               net_balance numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT * FROM ar._aging_report_summary(as_of) WHERE ar._summary_serves(as_of)
	UNION ALL
	SELECT * FROM ar._aging_report_full(as_of) WHERE NOT ar._summary_serves(as_of)
$$;

CREATE VIEW ar.receivables AS
SELECT i.id AS invoice_id, i.company_id, i.customer_id, c.code AS customer_code, c.name AS customer_name,
       i.number, i.currency, i.issue_date, i.due_date, i.amount, i.open_amount,
       current_date - i.due_date AS days_past_due,
       ar.aging_bucket(current_date - i.due_date) AS aging_bucket,
       i.status, i.payment_reference,
       CASE WHEN i.amount < 0 THEN 'credit_note' ELSE 'invoice' END AS document_type
  FROM ar.invoice i
  JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = i.company_id
 WHERE i.open_amount <> 0
   AND i.issue_date <= current_date;

COMMENT ON VIEW ar.receivables IS 'Open items today: every invoice or credit note issued by today with a non-zero open amount.';
COMMENT ON COLUMN ar.receivables.invoice_id IS 'ar.invoice.id';
COMMENT ON COLUMN ar.receivables.company_id IS 'Company whose receivable it is.';
COMMENT ON COLUMN ar.receivables.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.receivables.customer_code IS 'Customer code (the ERP''s account number).';
COMMENT ON COLUMN ar.receivables.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.receivables.number IS 'Invoice number; credit notes have a negative amount.';
COMMENT ON COLUMN ar.receivables.currency IS 'ISO 4217 currency of the amounts; never sum across currencies.';
COMMENT ON COLUMN ar.receivables.issue_date IS 'Issue date.';
COMMENT ON COLUMN ar.receivables.due_date IS 'Due date.';
COMMENT ON COLUMN ar.receivables.amount IS 'Invoice total including tax (negative for a credit note).';
COMMENT ON COLUMN ar.receivables.open_amount IS 'Amount still open today: amount less allocations.';
COMMENT ON COLUMN ar.receivables.days_past_due IS 'Today minus the due date; zero or negative when not yet due.';
COMMENT ON COLUMN ar.receivables.aging_bucket IS 'not_due, d1_30, d31_60, d61_90 or d91_plus.';
COMMENT ON COLUMN ar.receivables.status IS 'open, partially_paid or disputed.';
COMMENT ON COLUMN ar.receivables.payment_reference IS 'Reference the customer should quote when paying (free or ISO 11649).';
COMMENT ON COLUMN ar.receivables.document_type IS 'invoice, or credit_note (negative amount: open until set off, see ar.apply_open_credits).';

CREATE VIEW ar.aging_by_customer AS
SELECT * FROM ar.aging_report(current_date);

COMMENT ON VIEW ar.aging_by_customer IS 'Aging of open amounts per customer and currency today, with open credit notes and unapplied customer credit (ar.aging_report(current_date)).';
COMMENT ON COLUMN ar.aging_by_customer.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.aging_by_customer.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.aging_by_customer.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.aging_by_customer.not_due IS 'Open amount not yet due (0 days or fewer past due).';
COMMENT ON COLUMN ar.aging_by_customer.d1_30 IS 'Open amount 1 to 30 days past due.';
COMMENT ON COLUMN ar.aging_by_customer.d31_60 IS 'Open amount 31 to 60 days past due.';
COMMENT ON COLUMN ar.aging_by_customer.d61_90 IS 'Open amount 61 to 90 days past due.';
COMMENT ON COLUMN ar.aging_by_customer.d91_plus IS 'Open amount 91 days or more past due.';
COMMENT ON COLUMN ar.aging_by_customer.total IS 'Total open amount (credit notes included, negative).';
COMMENT ON COLUMN ar.aging_by_customer.currency IS 'Currency of the row: one row per customer and currency.';
COMMENT ON COLUMN ar.aging_by_customer.company_id IS 'Company whose receivable it is.';
COMMENT ON COLUMN ar.aging_by_customer.credit_notes IS 'Open credit notes (negative), already in the buckets and the total.';
COMMENT ON COLUMN ar.aging_by_customer.unapplied_credit IS 'Customer credit not yet used (positive; in no bucket): overpayments, unapplied payments, credit granted.';
COMMENT ON COLUMN ar.aging_by_customer.net_balance IS 'What the customer owes once every credit is set off: total - unapplied_credit (negative: we owe it).';

CREATE VIEW ar.customer_credit_balance AS
SELECT c.company_id, c.customer_id, c.currency, sum(c.remaining) AS available
  FROM ar.customer_credit c
 WHERE c.remaining > 0
 GROUP BY c.company_id, c.customer_id, c.currency;

COMMENT ON VIEW ar.customer_credit_balance IS 'Customer credit (overpayments) not yet used, per customer and currency.';
COMMENT ON COLUMN ar.customer_credit_balance.company_id IS 'Company owing the credit.';
COMMENT ON COLUMN ar.customer_credit_balance.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_credit_balance.currency IS 'Currency of the credit.';
COMMENT ON COLUMN ar.customer_credit_balance.available IS 'Credit available to pay later invoices (ar.apply_customer_credit).';

-- ar.check_ledger(): 88_ledger_check.sql (after the pieces whose derived
-- values it checks).
