-- Dunning decisions (issue 13): credits set off, minimum amounts and
-- percentage, a broken promise resuming the escalation.  Final forms in
-- src/sql/50_payments.sql, 60_reports.sql, 75_analytics.sql, 80_dunning_*.sql.

-- ------------------------------------------------------------ open credits
CREATE INDEX invoice_open_credit_note ON ar.invoice (customer_id, currency) WHERE open_amount < 0;
-- ar.open_credits(as_of): 59_open_credits.sql.

CREATE VIEW ar.open_credit_items AS
SELECT * FROM ar.open_credits(current_date);

COMMENT ON VIEW ar.open_credit_items IS 'Open credit notes and unapplied customer credit today (ar.open_credits(current_date)): what ar.apply_open_credits would allocate.';
COMMENT ON COLUMN ar.open_credit_items.kind IS 'credit_note (a negative invoice still open) or customer_credit (ar.customer_credit not yet used).';
COMMENT ON COLUMN ar.open_credit_items.credit_id IS 'ar.invoice.id of the credit note, or ar.customer_credit.id.';
COMMENT ON COLUMN ar.open_credit_items.company_id IS 'Company owing the credit.';
COMMENT ON COLUMN ar.open_credit_items.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.open_credit_items.currency IS 'Currency of the credit: it is set off only against invoices in the same currency.';
COMMENT ON COLUMN ar.open_credit_items.number IS 'Credit note number (NULL for customer credit).';
COMMENT ON COLUMN ar.open_credit_items.credit_date IS 'Issue date of the credit note, or date the customer credit was created.';
COMMENT ON COLUMN ar.open_credit_items.amount IS 'Its full amount (positive).';
COMMENT ON COLUMN ar.open_credit_items.available IS 'What is still available to set off (positive).';
COMMENT ON COLUMN ar.open_credit_items.note IS 'For customer credit: its source (overpayment, unapplied_payment, manual) and note.';

-- ar._apply_open_credits and ar.apply_open_credits: 59_zz_apply_open_credits.sql
-- (src/sql/50_payments_1_open_credits.sql).

-- ------------------------------------------------------------ reports
-- aging_report returns more columns: it and the views over it are made again
DROP VIEW ar.aging_by_bucket;
DROP VIEW ar.aging_by_customer;
DROP FUNCTION ar.aging_report(date);
CREATE FUNCTION ar.aging_report(as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text,
               not_due numeric, d1_30 numeric, d31_60 numeric, d61_90 numeric, d91_plus numeric, total numeric,
               currency char(3), company_id bigint, credit_notes numeric, unapplied_credit numeric,
               net_balance numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT c.id, c.code, c.name,
	       coalesce((g.buckets).not_due, 0), coalesce((g.buckets).d1_30, 0), coalesce((g.buckets).d31_60, 0),
	       coalesce((g.buckets).d61_90, 0), coalesce((g.buckets).d91_plus, 0), coalesce((g.buckets).total, 0),
	       coalesce(g.currency, u.currency), c.company_id,
	       coalesce(g.credit_notes, 0), coalesce(u.available, 0),
	       coalesce((g.buckets).total, 0) - coalesce(u.available, 0)
	  FROM (SELECT o.customer_id, o.currency, ar.aging(o.open_amount, o.due_date, as_of) AS buckets,
	               coalesce(sum(o.open_amount) FILTER (WHERE o.amount < 0), 0) AS credit_notes
	          FROM ar.open_items(as_of) o
	         GROUP BY o.customer_id, o.currency) g
	  FULL JOIN (SELECT k.customer_id, k.currency, sum(k.available) AS available
	               FROM ar.open_credits(as_of) k
	              WHERE k.kind = 'customer_credit'
	              GROUP BY k.customer_id, k.currency) u
	         ON u.customer_id = g.customer_id AND u.currency = g.currency
	  JOIN ar.customer c ON c.id = coalesce(g.customer_id, u.customer_id)
	 ORDER BY c.code, coalesce(g.currency, u.currency)
$$;

CREATE OR REPLACE VIEW ar.receivables AS
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

CREATE VIEW ar.aging_by_bucket AS
SELECT b.bucket, b.ord AS bucket_order, r.currency,
       sum(CASE b.bucket WHEN 'not_due' THEN r.not_due WHEN 'd1_30' THEN r.d1_30 WHEN 'd31_60' THEN r.d31_60
                         WHEN 'd61_90' THEN r.d61_90 ELSE r.d91_plus END) AS amount
  FROM ar.aging_report(current_date) r
 CROSS JOIN (VALUES ('not_due', 1), ('d1_30', 2), ('d31_60', 3), ('d61_90', 4), ('d91_plus', 5)) b(bucket, ord)
 GROUP BY b.bucket, b.ord, r.currency;

COMMENT ON VIEW ar.aging_by_bucket IS 'Open amounts today by aging bucket and currency (a bar chart''s data).';
COMMENT ON COLUMN ar.aging_by_bucket.bucket IS 'not_due, d1_30, d31_60, d61_90 or d91_plus.';
COMMENT ON COLUMN ar.aging_by_bucket.bucket_order IS '1 to 5, for sorting buckets from not due to oldest.';
COMMENT ON COLUMN ar.aging_by_bucket.currency IS 'Currency of the amount.';
COMMENT ON COLUMN ar.aging_by_bucket.amount IS 'Open amount in the bucket.';

-- ------------------------------------------------------------ dunning
-- (the deferred triggers of the rows changed so far fire first: a table
-- with pending trigger events cannot be altered)
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE ar.dunning_policy ADD COLUMN apply_credits_before_run boolean NOT NULL DEFAULT false;
ALTER TABLE ar.dunning_level ADD COLUMN min_percent numeric NOT NULL DEFAULT 0 CHECK (min_percent BETWEEN 0 AND 100);
ALTER TABLE ar.dunning_notice ADD COLUMN credits_set_off numeric NOT NULL DEFAULT 0;
SET CONSTRAINTS ALL DEFERRED;
COMMENT ON COLUMN ar.dunning_level.min_amount IS
	'A notice of this level is queued only when the amount it claims (open amounts listed, less the credits set off) is above this (in the account''s currency); at or below it the account stays at the level below.';
COMMENT ON COLUMN ar.dunning_level.min_percent IS
	'Minimum percentage (0 to 100): the open amounts of the invoices that reached this level must be at least this percentage of the account''s open items on the run date (invoices and credit notes, less unapplied customer credit), else the account stays at the level below. 0: no minimum.';
COMMENT ON COLUMN ar.dunning_policy.apply_credits_before_run IS
	'A real run first allocates the open credit notes and unapplied customer credit of the policy''s customers to their oldest open invoices (ar.apply_open_credits on the run date). Without it, credits are only deducted from what the notices claim.';
COMMENT ON COLUMN ar.dunning_notice.amount_due IS
	'What the notice claims: the open amounts of the invoices it lists on its run date, less credits_set_off.';
COMMENT ON COLUMN ar.dunning_notice.credits_set_off IS
	'Open credit notes and unapplied customer credit of the account on the run date, deducted from the open amounts listed (up to them); the letter states the deduction.';
COMMENT ON COLUMN ar.dunning_summary.amount_due IS 'Sum of what they claimed: the open amounts they listed, less the credits set off.';

-- FR_STANDARD's minimum amounts (shipped data, not the user's: without
-- touching the audit trail, as a restore reloads rows; levels left at 0 only)
SET LOCAL ar_collect.restoring = on;
UPDATE ar.dunning_level l
   SET min_amount = CASE WHEN l.level >= 4 THEN 50 ELSE 10 END
  FROM ar.dunning_policy p
 WHERE p.id = l.policy_id AND p.code = 'FR_STANDARD' AND p.shipped AND l.shipped AND l.min_amount = 0;
SET LOCAL ar_collect.restoring = off;

CREATE FUNCTION ar._lines_open_from(lines ar._dunning_lines, level integer)
RETURNS numeric
AS 'MODULE_PATHNAME', 'dunning_lines_open_from'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ar._account_balance_on(customer_id bigint, currency char(3), on_date date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT coalesce((SELECT sum(o.open_amount) FROM ar._open_items(on_date) o
	                  WHERE o.customer_id = _account_balance_on.customer_id
	                    AND o.currency = _account_balance_on.currency), 0)
	     - coalesce((SELECT sum(k.available) FROM ar._open_credits(on_date) k
	                  WHERE k.kind = 'customer_credit' AND k.customer_id = _account_balance_on.customer_id
	                    AND k.currency = _account_balance_on.currency), 0)
$$;

-- ar.run_dunning: its final form is re-created by piece 69.

-- ------------------------------------------------------------ grants
REVOKE ALL ON FUNCTION ar.open_credits(date), ar._apply_open_credits(bigint[], date), ar.apply_open_credits(bigint, date),
                       ar.aging_report(date), ar._account_balance_on(bigint, char, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar.open_credits(date), ar.aging_report(date) TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.apply_open_credits(bigint, date) TO ar_collector;
GRANT SELECT ON ar.open_credit_items, ar.aging_by_customer, ar.aging_by_bucket TO ar_reader;
-- the views made again read as the caller, as 95_tenancy.sql makes them
ALTER VIEW ar.receivables SET (security_invoker = true);
ALTER VIEW ar.aging_by_customer SET (security_invoker = true);
ALTER VIEW ar.aging_by_bucket SET (security_invoker = true);
ALTER VIEW ar.open_credit_items SET (security_invoker = true);
