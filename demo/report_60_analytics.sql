-- Analytics section of the demo report (after demo/report.sql).
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off
SELECT as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

\echo '=== DSO and KPIs (default company, its currency, 90 days)'
\echo
SELECT currency AS "cur", receivables::numeric(16,2) AS "receivables", overdue::numeric(16,2) AS "overdue",
       round(dso_standard, 1) AS "DSO standard", round(dso_countback, 1) AS "DSO countback",
       round(best_possible_dso, 1) AS "best DSO", round(average_days_delinquent, 1) AS "days delinquent",
       round(cei_pct, 1) AS "CEI %", round(collection_rate_pct, 1) AS "collected %",
       round(share_overdue_pct, 1) AS "overdue %", round(average_days_to_pay, 1) AS "days to pay",
       coalesce(dunning_effectiveness_pct::text, 'n/a') AS "dunning 15d %"
  FROM ar.kpis(:'as_of', 90);

\echo '=== DSO at the last 6 month-ends'
\echo
SELECT as_of AS "month end", round(dso_standard, 1) AS "standard", round(dso_countback, 1) AS "countback",
       round(cei_pct, 1) AS "CEI %"
  FROM ar.kpi_history(:'as_of', 6);

\echo '=== Segments (ar.refresh_segments)'
\echo
SELECT coalesce(segment, '(no history)') AS "segment", count(*) AS "customers"
  FROM ar.customer GROUP BY segment
 ORDER BY array_position(ARRAY['punctual', 'occasional_late', 'chronic_late', 'high_risk'], segment);

\echo '=== Risk: top 10 customers (open invoices x predicted p(late > 30 days))'
\echo
SELECT customer_code AS "customer", left(customer_name, 32) AS "name", segment AS "segment",
       exposure::numeric(16,2) AS "exposure", overdue::numeric(16,2) AS "overdue",
       round(100 * p_late, 1) AS "p(late) %", round(100 * p_late_30, 1) AS "p(late>30d) %",
       risk_score::numeric(16,2) AS "risk"
  FROM ar.customer_risk_on(:'as_of') LIMIT 10;

\echo '=== Cash forecast, next 8 weeks (80% band)'
\echo
SELECT period_start AS "week from", expected AS "expected", low AS "low", high AS "high"
  FROM ar.cash_forecast(:'as_of', 56, 'week');

\echo '=== Payment model: temporal split (trained 6 months before as_of, scored on invoices paid since)'
\echo
SELECT trained_on AS "trained on", invoices AS "invoices", auc AS "AUC p(late)", auc_late_30 AS "AUC p(late>30)",
       accuracy AS "accuracy", brier AS "Brier", mae_days AS "MAE days",
       baseline_auc AS "baseline AUC", baseline_mae_days AS "baseline MAE", mae_improvement_pct AS "MAE gain %"
  FROM ar_demo.model_evaluation;
SELECT best_auc AS "best AUC any model can reach here", best_mae_days AS "best MAE days"
  FROM ar_demo.model_ceiling;
\echo 'Targets: AUC >= 0.80 and MAE 20% below the baseline. The best AUC and MAE any model can reach'
\echo 'come from the generator''s hidden truth: each invoice''s payment drawn again 25 times from its'
\echo 'customer''s habits (left to chance: mishaps, jitter, approval and holiday days, the reminder awaited).'
