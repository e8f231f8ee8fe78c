-- Demo step 88: the dashboard summaries (doc/dashboards.md).  The triggers
-- of ar.invoice kept them while the generator and the steps before wrote
-- the ledger; they are aged on the demo's date, as the daily
-- ar.age_summaries() would have done that morning
-- (demo/report_88_dashboards.sql compares them with the full computation).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of AS demo_as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset
SELECT ar.age_summaries(:'demo_as_of') AS aging_rows;
