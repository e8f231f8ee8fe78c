-- The dashboards on the demo date from the summaries the triggers keep
-- (demo/steps/88_dashboards.sql): what they hold, the aging by bucket and
-- the customers furthest behind, each equal to the full computation, and
-- how long each path takes.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off
SELECT as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset
CREATE FUNCTION pg_temp.ms(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE q;
	RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END $$;

\echo
\echo '=== The dashboard summaries (ar.open_item_summary, ar.aging_summary)'
\echo
SELECT (SELECT count(*) FROM ar.invoice WHERE open_amount <> 0) AS "open items today",
       (SELECT count(*) FROM ar.open_item_summary) AS "summary rows",
       (SELECT count(*) FROM ar.aging_summary) AS "customer rows",
       (SELECT aged_on FROM ar.summary_state) AS "aged on",
       (SELECT count(*) FROM ar.check_summaries()) AS "differences from the ledger";

\echo '=== Aging by bucket on the demo date, from the summaries and in full'
\echo
SELECT r.currency AS "currency", sum(r.not_due)::numeric(16,2) AS "not due", sum(r.d1_30)::numeric(16,2) AS "1-30",
       sum(r.d31_60)::numeric(16,2) AS "31-60", sum(r.d61_90)::numeric(16,2) AS "61-90",
       sum(r.d91_plus)::numeric(16,2) AS "91+", sum(r.total)::numeric(16,2) AS "total",
       sum(r.total) = (SELECT sum(f.total) FROM ar._aging_report_full(:'as_of') f WHERE f.currency = r.currency) AS "= full"
  FROM ar.aging_report(:'as_of') r
 GROUP BY r.currency ORDER BY r.currency;

\echo '=== The ten customers with the most 91+ days past due'
\echo
SELECT customer_code AS "customer", left(customer_name, 30) AS "name", currency AS "cur",
       d91_plus::numeric(16,2) AS "91+", total::numeric(16,2) AS "open", net_balance::numeric(16,2) AS "net"
  FROM ar.aging_report(:'as_of') ORDER BY d91_plus DESC, customer_code LIMIT 10;

\echo '=== Row for row, and how long each path takes (ms)'
\echo
SELECT (SELECT count(*) FROM (SELECT r::text FROM ar.aging_report(:'as_of') r
                              EXCEPT ALL SELECT f::text FROM ar._aging_report_full(:'as_of') f) x)
     + (SELECT count(*) FROM (SELECT f::text FROM ar._aging_report_full(:'as_of') f
                              EXCEPT ALL SELECT r::text FROM ar.aging_report(:'as_of') r) x) AS "rows that differ",
       pg_temp.ms(format('SELECT * FROM ar.aging_report(%L)', :'as_of')) AS "from the summaries",
       pg_temp.ms(format('SELECT * FROM ar._aging_report_full(%L)', :'as_of')) AS "full computation";
