-- Analytics on the demo ledger (run by tools/demo.sh after the generator):
-- segments, a payment model evaluated on a temporal split, the model of
-- as_of for predictions and the cash forecast, and the HTML report
-- (.demo/report.html, next to the demo cluster).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of, (as_of - interval '6 months')::date AS split_on FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

SELECT ar.refresh_segments(:'as_of') AS "segments changed";

-- Temporal split: learn what was known six months before as_of, score the
-- invoices paid since, next to the naive baseline; and the ceiling any model
-- can reach on this generated data, from its hidden truth (each customer's
-- behaviour: the best possible score is that behaviour's late rate, the
-- best possible payment day its median delay).
SELECT ar.train_payment_model(:'split_on') AS split_model \gset
DROP TABLE IF EXISTS ar_demo.model_evaluation;
CREATE TABLE ar_demo.model_evaluation AS
SELECT :'split_on'::date AS trained_on, :'as_of'::date AS evaluated_to, e.*
  FROM ar.evaluate_payment_model(:'split_on', :'as_of'::date - 1, :split_model) e;

DROP TABLE IF EXISTS ar_demo.model_ceiling;
CREATE TABLE ar_demo.model_ceiling AS
WITH paid AS (
	SELECT i.due_date, p.behaviour, max(a.allocated_on) - i.due_date AS delay
	  FROM ar.invoice i
	  JOIN ar.customer c ON c.id = i.customer_id
	  JOIN ar_demo.customer_profile p ON p.customer_code = c.code
	  JOIN ar.allocation a ON a.invoice_id = i.id
	 WHERE i.amount > 0 AND i.open_amount = 0 AND i.written_off_amount = 0
	 GROUP BY i.id, i.due_date, p.behaviour
	HAVING max(a.allocated_on) BETWEEN :'split_on' AND :'as_of'::date - 1
), truth AS (
	SELECT behaviour, avg((delay > 0)::integer) AS late_rate,
	       percentile_disc(0.5) WITHIN GROUP (ORDER BY delay) AS median_delay
	  FROM paid GROUP BY behaviour
), ranked AS (
	SELECT (p.delay > 0)::integer AS late, p.delay, t.median_delay,
	       rank() OVER (ORDER BY t.late_rate) + (count(*) OVER (PARTITION BY t.late_rate) - 1) / 2.0 AS r
	  FROM paid p JOIN truth t USING (behaviour)
)
SELECT round((sum(r) FILTER (WHERE late = 1) - sum(late) * (sum(late) + 1) / 2.0)
             / (sum(late) * (count(*) - sum(late))), 4) AS best_auc,
       round(avg(abs(delay - median_delay)), 2) AS best_mae_days
  FROM ranked;

SELECT ar.train_payment_model(:'as_of') AS "payment model of as_of";

-- The HTML report lands next to the demo cluster: .demo/report.html
SELECT regexp_replace(current_setting('data_directory'), '/[^/]*$', '') || '/report.html' AS report_path \gset
\ir ../html_report.sql
\echo HTML report: :report_path
