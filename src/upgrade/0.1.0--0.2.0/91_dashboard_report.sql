-- Issue 17 (dashboards): ar.aging_report answers from the dashboard
-- summaries (91_dashboard_summary.sql, next) near their aging date, from the
-- full computation (new: ar._aging_report_full) otherwise; same signature,
-- columns and rows; ar.aging_by_bucket sums each currency's buckets once.
-- Final text (no later piece re-creates them): copies of the definitions in
-- src/sql/60_reports.sql and src/sql/75_analytics.sql.

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
CREATE OR REPLACE FUNCTION ar.aging_report(as_of date DEFAULT current_date)
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

-- (each currency's buckets summed once, then one row per bucket)
CREATE OR REPLACE VIEW ar.aging_by_bucket WITH (security_invoker = true) AS
SELECT b.bucket, b.ord AS bucket_order, r.currency,
       CASE b.bucket WHEN 'not_due' THEN r.not_due WHEN 'd1_30' THEN r.d1_30 WHEN 'd31_60' THEN r.d31_60
                     WHEN 'd61_90' THEN r.d61_90 ELSE r.d91_plus END AS amount
  FROM (SELECT a.currency, sum(a.not_due) AS not_due, sum(a.d1_30) AS d1_30, sum(a.d31_60) AS d31_60,
               sum(a.d61_90) AS d61_90, sum(a.d91_plus) AS d91_plus
          FROM ar.aging_report(current_date) a
         GROUP BY a.currency) r
 CROSS JOIN (VALUES ('not_due', 1), ('d1_30', 2), ('d31_60', 3), ('d61_90', 4), ('d91_plus', 5)) b(bucket, ord);
