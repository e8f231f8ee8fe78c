-- Promises and payment plans in the cash forecast (demo/steps/86_zz_forecast.sql):
-- the kept rates, the next eight weeks by source, the promised cash.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off
SELECT as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset
CREATE TEMP TABLE demo_forecast_detail AS SELECT * FROM ar.cash_forecast_detail(:'as_of', 56, 'week');

\echo
\echo '=== Promises and instalments kept (ar.commitment_kept_rate): the probability the forecast gives them'
\echo
SELECT count(*) AS "customers with a record", sum(promises_kept + instalments_kept) AS "kept",
       sum(promises_broken + instalments_broken) AS "broken", min(company_rate) AS "company rate",
       min(kept_rate) AS "lowest customer rate", max(kept_rate) AS "highest"
  FROM ar.commitment_kept_rate(:'as_of');

\echo '=== Cash forecast, next 8 weeks, by source (ar.cash_forecast_detail adds up to ar.cash_forecast)'
\echo
SELECT f.period_start AS "week from",
       coalesce(sum(d.expected_amount) FILTER (WHERE d.source = 'model'), 0)::numeric(16,2) AS "model",
       coalesce(sum(d.expected_amount) FILTER (WHERE d.source = 'promise'), 0)::numeric(16,2) AS "promises",
       coalesce(sum(d.expected_amount) FILTER (WHERE d.source = 'plan_instalment'), 0)::numeric(16,2) AS "plans",
       f.expected AS "expected", f.low AS "low", f.high AS "high",
       CASE WHEN coalesce(sum(d.expected_amount), 0) = f.expected THEN 'yes' ELSE 'NO' END AS "adds up"
  FROM ar.cash_forecast(:'as_of', 56, 'week') f
  LEFT JOIN demo_forecast_detail d ON d.period_start = f.period_start
 GROUP BY f.period_start, f.expected, f.low, f.high
 ORDER BY f.period_start;

\echo '=== Promised and planned cash in the next 8 weeks'
\echo
SELECT d.expected_date AS "date", d.customer_code AS "customer",
       CASE d.source WHEN 'promise' THEN 'promise on ' || d.invoice_number
                     ELSE 'plan ' || d.plan_id || ', instalment ' || d.instalment_seq END AS "what",
       d.amount::numeric(16,2) AS "amount", round(100 * d.probability, 1) AS "kept rate %",
       d.expected_amount AS "expected"
  FROM demo_forecast_detail d
 WHERE d.source <> 'model'
 ORDER BY d.expected_date, d.customer_code, d.promise_id, d.instalment_seq;
\echo 'A promise or instalment counts at its customer''s kept rate in place of the model''s forecast of the'
\echo 'amount it covers; one already broken counts nothing and its invoice goes back to the model.'
