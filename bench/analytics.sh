#!/usr/bin/env bash
# bench/analytics.sh [ROWS] -- ar.kpis and ar.aging_report on a big ledger.
#
# Builds and installs ar_collect, starts a throwaway cluster (stopped and
# removed on exit), loads ROWS invoices (default 10,000,000) over two years
# for 50,000 customers straight into ar.invoice and their payments into
# ar.allocation, set-based (two INSERT ... SELECT from generate_series with
# hashed draws), with the ledger's triggers off for the load only (SET
# session_replication_role = replica: a benchmark database) and the
# secondary indexes of both tables dropped during the load and rebuilt after
# it; open amounts and statuses are written consistent with the allocations
# (checked with ar.check_ledger()'s rules on 1 invoice in 1,000), then
# VACUUM ANALYZE; then it rebuilds the summaries the load bypassed
# (ar.rebuild_summaries()).  It times, with parallel workers
# off (0) and on (2):
#   kpis        SELECT * FROM ar.kpis(as_of, 90)         -- the C aggregate
#   kpis SQL    the same figures in hand-written SQL (FILTER sums, countback from monthly sums)
#   aging       SELECT * FROM ar.aging_report(as_of)
#   aging SQL   the same rows in hand-written SQL
# Each runs once to warm up, then RUNS times interleaved; the median of the
# times measured inside the server is reported.  Then each runs once more in
# a fresh session (workers off) that reads its own peak resident memory
# (VmHWM of /proc/<pid>/status: what the backend allocated plus the shared
# buffers it touched) and its private memory left (RssAnon).  Exits 1 when a
# pair disagrees or a target is missed: ar.kpis / its SQL <= 1.0 and
# ar.aging_report / its SQL <= 0.8 (issue 17), with the same plan settings.
#
# Environment: AR_BENCH_PORT (default 54435), AR_BENCH_RUNS (default 3),
# AR_BENCH_NO_BUILD=1 to use the installed extension as it is.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
source "$(dirname "$0")/ledger_load.sh"

ROWS=${1:-10000000}
PORT=${AR_BENCH_PORT:-54435}
RUNS=${AR_BENCH_RUNS:-3}
AS_OF=2026-06-30
[[ "$ROWS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ROWS]" >&2; exit 2; }

bench_prepare analytics_bench
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '2GB'" "max_parallel_workers = 8" \
	"max_wal_size = '8GB'" "maintenance_work_mem = '512MB'" "work_mem = '256MB'" \
	|| { cat "$WORK/cluster/server.log" >&2; exit 1; }

sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

started=$(date +%s)
log "loading $ROWS invoices"
bench_load_ledger "$ROWS" "$AS_OF" "DATE '$AS_OF' + 30"
# The load bypassed the triggers that keep the dashboard and KPI summaries:
# rebuild them, as a DBA must after such a load, so that ar.kpis and
# ar.aging_report read true summaries wherever they answer from them.
log "rebuilding the summaries"
sql -c "SELECT ar.rebuild_summaries()" >/dev/null
sql <<EOF
CREATE SCHEMA bench;
CREATE FUNCTION bench.time_ms(q text) RETURNS double precision
LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE q;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;

-- The KPIs of ar.kpis written by hand, from the same rows.
CREATE FUNCTION bench.kpis_sql(as_of date, p integer)
RETURNS TABLE (receivables numeric, overdue numeric, sales numeric, dso_standard numeric, dso_countback numeric,
               best_possible_dso numeric, cei_pct numeric, collection_rate_pct numeric, average_days_to_pay numeric)
LANGUAGE sql STABLE AS \$\$
	WITH rows AS (
		SELECT CASE WHEN i.cancelled_on <= as_of THEN 0 ELSE i.amount END AS amount, i.issue_date, i.due_date,
		       CASE WHEN i.cancelled_on IS NULL THEN i.open_amount + coalesce(a.after_end, 0)
		            WHEN i.cancelled_on > as_of THEN i.amount ELSE 0 END AS open_end,
		       CASE WHEN i.cancelled_on IS NULL THEN i.open_amount + coalesce(a.after_start, 0)
		            WHEN i.cancelled_on > as_of - p THEN i.amount ELSE 0 END AS open_start,
		       coalesce(a.written_off, 0) AS written_off,
		       CASE WHEN i.cancelled_on IS NULL AND i.open_amount + coalesce(a.after_end, 0) = 0
		                 AND coalesce(a.written_off, 0) = 0 THEN a.last_on END AS settled_on
		  FROM ar.invoice i
		  LEFT JOIN (SELECT al.invoice_id, sum(al.amount) FILTER (WHERE al.allocated_on > as_of) AS after_end,
		                    sum(al.amount) AS after_start,
		                    sum(al.amount) FILTER (WHERE al.method = 'write_off' AND al.allocated_on <= as_of) AS written_off,
		                    max(al.allocated_on) FILTER (WHERE al.allocated_on <= as_of) AS last_on
		               FROM ar.allocation al WHERE al.allocated_on > as_of - p GROUP BY al.invoice_id) a ON a.invoice_id = i.id
		 WHERE i.company_id = ar.default_company() AND i.currency = 'EUR' AND i.issue_date <= as_of
	), s AS (
		SELECT sum(open_end) AS ar_end,
		       sum(open_end) FILTER (WHERE due_date >= as_of) AS ar_current,
		       coalesce(sum(open_start) FILTER (WHERE issue_date <= as_of - p), 0) AS ar_start,
		       coalesce(sum(amount) FILTER (WHERE issue_date > as_of - p), 0) AS sales,
		       sum(amount) FILTER (WHERE amount > 0 AND due_date > as_of - p AND due_date <= as_of) AS due,
		       sum(amount - open_end - written_off) FILTER (WHERE amount > 0 AND due_date > as_of - p AND due_date <= as_of) AS collected,
		       sum(amount) FILTER (WHERE amount > 0 AND settled_on > as_of - p AND settled_on <= as_of AND settled_on >= issue_date) AS settled,
		       sum(amount * (settled_on - issue_date)) FILTER (WHERE amount > 0 AND settled_on > as_of - p AND settled_on <= as_of AND settled_on >= issue_date) AS settled_days,
		       array_agg(amount) FILTER (WHERE false) AS unused
		  FROM rows
	), months AS (
		SELECT m, CASE WHEN m = 0 THEN extract(day FROM as_of)::integer
		               ELSE ((date_trunc('month', as_of) - make_interval(months => m - 1))::date
		                     - (date_trunc('month', as_of) - make_interval(months => m))::date) END AS days,
		       coalesce((SELECT sum(amount) FROM rows r
		                  WHERE r.issue_date >= date_trunc('month', as_of) - make_interval(months => m)
		                    AND r.issue_date < date_trunc('month', as_of) - make_interval(months => m - 1)), 0) AS sales
		  FROM generate_series(0, 23) m
	), cb AS (
		SELECT m, days, sales,
		       coalesce(sum(greatest(sales, 0)) OVER (ORDER BY m ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS used_before,
		       coalesce(sum(days) OVER (ORDER BY m ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS days_before
		  FROM months
	)
	SELECT s.ar_end, s.ar_end - s.ar_current, s.sales,
	       s.ar_end / nullif(s.sales, 0) * p,
	       CASE WHEN s.ar_end <= 0 THEN 0 ELSE
	       (SELECT cb.days_before + (s.ar_end - cb.used_before) / cb.sales * cb.days
	          FROM cb WHERE cb.sales > 0 AND s.ar_end - cb.used_before <= cb.sales ORDER BY cb.m LIMIT 1) END,
	       s.ar_current / nullif(s.sales, 0) * p,
	       (s.ar_start + s.sales - s.ar_end) / nullif(s.ar_start + s.sales - s.ar_current, 0) * 100,
	       s.collected / nullif(s.due, 0) * 100,
	       s.settled_days / nullif(s.settled, 0)
	  FROM s
\$\$;

-- The rows of ar.aging_report written by hand.
CREATE FUNCTION bench.aging_sql(as_of date)
RETURNS TABLE (customer_id bigint, not_due numeric, d1_30 numeric, d31_60 numeric, d61_90 numeric, d91_plus numeric, total numeric, currency char(3))
LANGUAGE sql STABLE AS \$\$
	SELECT i.customer_id,
	       coalesce(sum(o.open_amount) FILTER (WHERE as_of - i.due_date <= 0), 0),
	       coalesce(sum(o.open_amount) FILTER (WHERE as_of - i.due_date BETWEEN 1 AND 30), 0),
	       coalesce(sum(o.open_amount) FILTER (WHERE as_of - i.due_date BETWEEN 31 AND 60), 0),
	       coalesce(sum(o.open_amount) FILTER (WHERE as_of - i.due_date BETWEEN 61 AND 90), 0),
	       coalesce(sum(o.open_amount) FILTER (WHERE as_of - i.due_date > 90), 0),
	       sum(o.open_amount), i.currency
	  FROM ar.invoice i
	  LEFT JOIN (SELECT a.invoice_id, sum(a.amount) AS amount FROM ar.allocation a
	              WHERE a.allocated_on > as_of GROUP BY a.invoice_id) later ON later.invoice_id = i.id
	 CROSS JOIN LATERAL (SELECT CASE WHEN i.cancelled_on IS NOT NULL AND i.cancelled_on > as_of THEN i.amount
	                                 WHEN i.cancelled_on IS NOT NULL THEN 0
	                                 ELSE i.open_amount + coalesce(later.amount, 0) END AS open_amount) o
	 WHERE i.issue_date <= as_of AND o.open_amount <> 0
	 GROUP BY i.customer_id, i.currency
\$\$;

CREATE TABLE bench.query (name text PRIMARY KEY, sql text);
INSERT INTO bench.query VALUES
 ('a_kpis',      'SELECT * FROM ar.kpis(DATE ''$AS_OF'', 90)'),
 ('b_kpis_sql',  'SELECT * FROM bench.kpis_sql(DATE ''$AS_OF'', 90)'),
 ('c_aging',     'SELECT count(*), sum(total) FROM ar.aging_report(DATE ''$AS_OF'')'),
 ('d_aging_sql', 'SELECT count(*), sum(total) FROM bench.aging_sql(DATE ''$AS_OF'')');

CREATE FUNCTION bench.run(workers integer, runs integer)
RETURNS TABLE (name text, ms double precision)
LANGUAGE plpgsql AS \$\$
DECLARE
	q record;
BEGIN
	PERFORM set_config('max_parallel_workers_per_gather', workers::text, true);
	CREATE TEMP TABLE IF NOT EXISTS timing (name text, ms double precision);
	TRUNCATE timing;
	FOR q IN SELECT * FROM bench.query ORDER BY 1 LOOP
		PERFORM bench.time_ms(q.sql);
	END LOOP;
	FOR i IN 1..runs LOOP
		FOR q IN SELECT * FROM bench.query ORDER BY 1 LOOP
			INSERT INTO timing VALUES (q.name, bench.time_ms(q.sql));
		END LOOP;
	END LOOP;
	RETURN QUERY SELECT t.name, percentile_disc(0.5) WITHIN GROUP (ORDER BY t.ms) FROM timing t GROUP BY t.name;
END \$\$;
EOF
loaded=$(date +%s)
counts=$(sql -F ' ' -c "SELECT (SELECT count(*) FROM ar.invoice), (SELECT count(*) FROM ar.allocation)")
sample_errors=$(sql -c "SELECT count(*) FROM bench_ledger_errors")
log "loaded in $((loaded - started)) s: $counts (invoices allocations), $sample_errors ledger errors on a 1/1000 sample"

log "checking that ar.kpis and ar.aging_report agree with the hand-written SQL"
agree=$(sql <<EOF
SET max_parallel_workers_per_gather = 2;
SELECT (SELECT (receivables, overdue, sales, dso_standard, dso_countback, best_possible_dso, cei_pct, collection_rate_pct, average_days_to_pay)
          FROM ar.kpis(DATE '$AS_OF', 90))
       = (SELECT (receivables, overdue, sales, dso_standard, dso_countback, best_possible_dso, cei_pct, collection_rate_pct, average_days_to_pay)
            FROM bench.kpis_sql(DATE '$AS_OF', 90));
SELECT NOT EXISTS (SELECT customer_id, not_due, d1_30, d31_60, d61_90, d91_plus, total, currency FROM ar.aging_report(DATE '$AS_OF')
                   EXCEPT SELECT * FROM bench.aging_sql(DATE '$AS_OF'))
   AND (SELECT count(*) FROM ar.aging_report(DATE '$AS_OF')) = (SELECT count(*) FROM bench.aging_sql(DATE '$AS_OF'));
EOF
)
figures=$(sql -F ' ' -c "SELECT receivables, round(dso_standard, 2), round(dso_countback, 2), round(cei_pct, 2) FROM ar.kpis(DATE '$AS_OF', 90)")
parallel_plan=$(sql -c "SET max_parallel_workers_per_gather = 2" -c "EXPLAIN SELECT ar.receivables_kpis(amount, issue_date, due_date, open_amount, open_amount, 0, NULL, DATE '$AS_OF', 90) FROM ar.invoice" | grep -c 'Partial Aggregate' || true)

results=()
for workers in 0 2; do
	log "timing with max_parallel_workers_per_gather = $workers ($RUNS runs each)"
	results+=("$workers $(sql -F ' ' -c "SELECT string_agg(round(ms::numeric, 0)::text, ' ' ORDER BY name) FROM bench.run($workers, $RUNS)")")
done

memory=()
for name in a_kpis b_kpis_sql c_aging d_aging_sql; do
	q=$(sql -c "SELECT sql FROM bench.query WHERE name = '$name'")
	memory+=("$(sql -F ' ' -c "SET max_parallel_workers_per_gather = 0" -c '\o /dev/null' -c "$q" -c '\o' \
		-c "SELECT round(substring(s FROM 'VmHWM:\s*(\d+) kB')::numeric / 1024), round(substring(s FROM 'RssAnon:\s*(\d+) kB')::numeric / 1024)
		      FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') s" | tail -1)")
done

status=0
echo
echo "analytics benchmark: $counts invoices / allocations, $(nproc) cores, PostgreSQL $($PG_CONFIG --version | awk '{print $2}'), median of $RUNS runs, as of $AS_OF, load $((loaded - started)) s"
echo
echo "| setting | ar.kpis ms | KPIs in SQL ms | kpis/SQL (target <= 1.0) | ar.aging_report ms | aging in SQL ms | aging/SQL (target <= 0.8) | result |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for line in "${results[@]}"; do
	read -r workers kpis kpis_sql aging aging_sql <<<"$line"
	verdict=$(awk -v a="$kpis" -v b="$kpis_sql" -v c="$aging" -v d="$aging_sql" 'BEGIN {
		r1 = a / b; r2 = c / d;
		printf "%.2f | %s | %s | %.2f | %s", r1, c, d, r2, (r1 <= 1.0 && r2 <= 0.8) ? "PASS" : "FAIL" }')
	[[ "$verdict" == *PASS ]] || status=1
	if [ "$workers" = 0 ]; then setting="serial (0 workers)"; else setting="parallel ($workers workers)"; fi
	echo "| $setting | $kpis | $kpis_sql | $verdict |"
	if [ "$workers" = 0 ]; then
		r_kpis=$(awk -v a="$kpis" -v b="$kpis_sql" 'BEGIN { printf "%.2f", a / b }')
		r_aging=$(awk -v a="$aging" -v b="$aging_sql" 'BEGIN { printf "%.2f", a / b }')
	fi
done
echo
echo "peak memory of a fresh backend running the query once, workers off (VmHWM: private memory and the shared buffers it touched; RssAnon: private memory left after it), MB:"
echo
echo "| query | VmHWM MB | RssAnon MB |"
echo "|---|---:|---:|"
i=0
for label in "ar.kpis" "KPIs in SQL" "ar.aging_report" "aging in SQL"; do
	read -r hwm anon <<<"${memory[$i]}"
	echo "| $label | $hwm | $anon |"
	i=$((i + 1))
done
echo
read -r hwm_kpis _ <<<"${memory[0]}"
read -r hwm_aging _ <<<"${memory[2]}"
read -r n_invoices n_allocations <<<"$counts"
bench_summary "analytics.sh: ar.kpis vs its SQL" "$n_invoices invoices, $n_allocations allocations" "$r_kpis x SQL (serial)" "<= 1.0" "$hwm_kpis"
bench_summary "analytics.sh: ar.aging_report vs its SQL" "$n_invoices invoices, $n_allocations allocations" "$r_aging x SQL (serial)" "<= 0.8" "$hwm_aging"
echo
echo "ar.kpis: receivables, DSO standard, DSO countback, CEI % = $figures"
echo "the KPI aggregate runs as a Partial Aggregate under Gather with workers on: $([ "$parallel_plan" -gt 0 ] && echo yes || echo NO)"
echo "open amounts and statuses agree with the allocations (check_ledger rules, 1 invoice in 1,000): $([ "$sample_errors" = 0 ] && echo yes || echo "NO ($sample_errors errors)")"
[ "$sample_errors" = 0 ] || status=1
if [ "$(echo "$agree" | tr -d '\n')" = tt ]; then
	echo "ar.kpis and ar.aging_report agree with the hand-written SQL: yes"
else
	echo "ar.kpis and ar.aging_report agree with the hand-written SQL: NO ($agree)"
	status=1
fi
exit $status
