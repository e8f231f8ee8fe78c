-- Analytics on the demo ledger (run by tools/demo.sh after the generator):
-- segments, a payment model evaluated on a temporal split, the model of
-- as_of for predictions and the cash forecast, and the HTML report
-- (report.html, next to the demo cluster).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of, (as_of - interval '6 months')::date AS split_on, (as_of - make_interval(months => months))::date AS first_day
  FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

SELECT ar.refresh_segments(:'as_of') AS "segments changed";

-- Temporal split: learn what was known six months before as_of, score the
-- invoices paid since, next to the naive baseline; and the ceiling any model
-- can reach on this generated data, from its hidden truth: each invoice's
-- payment is drawn again 25 times from its customer's habits
-- (ar_demo.planned_delay with fresh draws of what is left to chance:
-- mishaps, their length, jitter, approval and holiday days, the reminder
-- waited for).  The best
-- possible score of an invoice is the share of those draws that are late,
-- the best possible payment day their median.
SELECT ar.train_payment_model(:'split_on') AS split_model \gset
DROP TABLE IF EXISTS ar_demo.model_evaluation;
CREATE TABLE ar_demo.model_evaluation AS
SELECT :'split_on'::date AS trained_on, :'as_of'::date AS evaluated_to, e.*
  FROM ar.evaluate_payment_model(:'split_on', :'as_of'::date - 1, :split_model) e;

DROP TABLE IF EXISTS ar_demo.model_ceiling;
CREATE TABLE ar_demo.model_ceiling AS
WITH paid AS (
	SELECT i.id, i.issue_date, i.due_date, i.amount, p, max(a.allocated_on) - i.due_date AS delay
	  FROM ar.invoice i
	  JOIN ar.customer c ON c.id = i.customer_id
	  JOIN ar_demo.customer_profile p ON p.customer_code = c.code
	  JOIN ar.allocation a ON a.invoice_id = i.id
	 WHERE i.amount > 0 AND i.open_amount = 0 AND i.written_off_amount = 0
	 GROUP BY i.id, i.company_id, p.*
	HAVING max(a.allocated_on) BETWEEN :'split_on' AND :'as_of'::date - 1
), draw AS (
	SELECT paid.id,
	       ar_demo.planned_delay(paid.p, :'first_day', paid.issue_date, paid.due_date, paid.amount,
	                             u.r[1], u.r[2], u.r[3], u.r[4], u.r[5], u.r[6]) AS delay
	  FROM paid
	 CROSS JOIN generate_series(1, 25) k
	 CROSS JOIN LATERAL (SELECT array_agg((hashint8extended(paid.id * 64 + k, s) & 4294967295)::float8 / 4294967296
	                                      ORDER BY s) AS r
	                       FROM generate_series(1, 6) s) u
), truth AS (
	SELECT id, avg((delay > 0)::integer) AS p_late, percentile_disc(0.5) WITHIN GROUP (ORDER BY delay) AS median_delay
	  FROM draw GROUP BY id
), ranked AS (
	SELECT (p.delay > 0)::integer AS late, p.delay, t.median_delay,
	       rank() OVER (ORDER BY t.p_late) + (count(*) OVER (PARTITION BY t.p_late) - 1) / 2.0 AS r
	  FROM paid p JOIN truth t USING (id)
)
SELECT round((sum(r) FILTER (WHERE late = 1) - sum(late) * (sum(late) + 1) / 2.0)
             / (sum(late) * (count(*) - sum(late))), 4) AS best_auc,
       round(avg(abs(delay - median_delay)), 2) AS best_mae_days
  FROM ranked;

SELECT ar.train_payment_model(:'as_of') AS "payment model of as_of";

-- The HTML report lands next to the demo cluster (report.html)
SELECT regexp_replace(current_setting('data_directory'), '/[^/]*$', '') || '/report.html' AS report_path \gset
\ir ../html_report.sql
\echo HTML report: :report_path
