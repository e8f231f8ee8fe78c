#!/usr/bin/env bash
# bench/dashboard.sh [ROWS] -- the dashboards on today's date from the
# dashboard summaries (issue 17: under 200 ms on 10M invoices).
#
# Builds and installs ar_collect, starts a throwaway cluster (stopped and
# removed on exit), loads ROWS invoices (default 10,000,000) for 50,000
# customers over the two years up to today and their payments (85 % paid,
# recorded up to today) as bench/analytics.sh does (set-based, the ledger's
# triggers off for the load) and dunning notices of three monthly runs in the
# last 90 days, then builds the summaries with
# ar.rebuild_summaries() (timed).  It times, workers off, each query
# against its baseline, the full computation, in one run (median of RUNS
# after a warm-up, baselines 3 runs, measured inside the server):
#   a_aging_report  ar.aging_report(current_date)        / ar._aging_report_full(current_date)
#   b_by_customer   SELECT * FROM ar.aging_by_customer   / the full computation
#   c_by_bucket     SELECT * FROM ar.aging_by_bucket     / the same over the full computation
#   e_kpis          ar.kpis(current_date, 90)             / the same row from ar._kpi_figures_full and
#                   ar._dunning_effectiveness_full (the full computations)
#   f_dunning_effectiveness  ar.dunning_effectiveness(current_date, 90) (part of e_kpis)
#                   / ar._dunning_effectiveness_full(current_date, 90)
# (ar.kpis answers from the KPI summaries: every payment is dated today at
# the latest), and the report with the summaries aged yesterday (ar.age_summaries not
# run today yet), and ar.age_summaries() itself
# then runs each once more in a fresh session that reads its own peak
# memory (VmHWM of /proc/<pid>/status, shared buffers touched included;
# RssAnon, private memory left), and measures the cost of the summary
# triggers on bulk writes: one INSERT of 100,000 allocations (what
# ar.reconcile writes per statement: 100,000 invoices updated) and one
# INSERT of 100,000 invoices, each with what its commit does (the fold of
# the summary changes, the audit seal: SET CONSTRAINTS ALL IMMEDIATE), with
# and without the summary triggers, twice, rolled back, and with every
# summary trigger but the effectiveness summary's (its own cost).  Checks that every pair agrees row for row (as text) and
# that ar.check_summaries() is empty; exits 1 otherwise or when a summary
# query takes 200 ms or more.
#
# Environment: AR_BENCH_PORT (default 55461), AR_BENCH_RUNS (default 5),
# AR_BENCH_NO_BUILD=1 to use the installed extension as it is.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
source "$(dirname "$0")/ledger_load.sh"

ROWS=${1:-10000000}
PORT=${AR_BENCH_PORT:-55461}
RUNS=${AR_BENCH_RUNS:-5}
AS_OF=$(date -u +%F)
[[ "$ROWS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ROWS]" >&2; exit 2; }

bench_prepare dashboard_bench
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '2GB'" "max_parallel_workers = 8" \
	"max_wal_size = '8GB'" "maintenance_work_mem = '512MB'" "work_mem = '256MB'" "timezone = 'UTC'" \
	|| { cat "$WORK/cluster/server.log" >&2; exit 1; }

sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

started=$(date +%s)
log "loading $ROWS invoices"
bench_load_ledger "$ROWS" "$AS_OF" "DATE '$AS_OF'"
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
-- the rows of a query as text (the scale of every amount counts)
CREATE FUNCTION bench.rows(q text) RETURNS SETOF text LANGUAGE plpgsql AS \$\$
BEGIN
	RETURN QUERY EXECUTE format('SELECT r::text FROM (%s) r', q);
END \$\$;
EOF
# dunning notices as a monthly dunning run would leave them: three run
# dates in the last 90 days, one notice per customer with invoices due in
# the 60 days before the run and unpaid on it (ar.kpis reports the
# effectiveness of the notices of its period, ar.dunning_effectiveness)
notices_t0=$(date +%s%N)
sql <<EOF
INSERT INTO ar.dunning_notice (customer_id, level, level_name, channel, body, invoice_ids, amount_due, status, as_of,
                               company_id, currency, policy_id, cycle, language)
SELECT x.customer_id, 1, 'reminder', 'email', 'bench', (array_agg(x.id ORDER BY x.id))[1:5], sum(x.amount), 'sent', x.d,
       ar.default_company(), 'EUR', (SELECT min(p.id) FROM ar.dunning_policy p), x.r, 'en'
  FROM (SELECT i.id, i.customer_id, i.amount, r.d, r.r
          FROM ar.invoice i
         CROSS JOIN (VALUES (1, DATE '$AS_OF' - 80), (2, DATE '$AS_OF' - 50), (3, DATE '$AS_OF' - 20)) r (r, d)
         WHERE i.amount > 0 AND i.due_date >= r.d - 60 AND i.due_date < r.d
           AND (i.last_allocated_on IS NULL OR i.last_allocated_on > r.d)) x
 GROUP BY x.customer_id, x.d, x.r;
EOF
notices_ms=$(( ($(date +%s%N) - notices_t0) / 1000000 ))
sql -c "ANALYZE ar.dunning_notice"
loaded=$(date +%s)
counts=$(sql -F ' ' -c "SELECT (SELECT count(*) FROM ar.invoice), (SELECT count(*) FROM ar.allocation)")
notices=$(sql -c "SELECT count(*) FROM ar.dunning_notice")
sample_errors=$(sql -c "SELECT count(*) FROM bench_ledger_errors")
log "loaded in $((loaded - started)) s: $counts (invoices allocations), $sample_errors ledger errors on a 1/1000 sample"

log "building the summaries"
rebuild_ms=$(sql -c "SELECT round(bench.time_ms('SELECT ar.rebuild_summaries()')::numeric)")
sql -c "VACUUM ANALYZE ar.open_item_summary" -c "VACUUM ANALYZE ar.aging_summary" -c "VACUUM ANALYZE ar.kpi_summary" \
	-c "VACUUM ANALYZE ar.dunning_effect_notice" -c "VACUUM ANALYZE ar.dunning_effect_summary"
read -r summary_rows aging_rows open_items kpi_rows <<<"$(sql -F ' ' -c "SELECT (SELECT count(*) FROM ar.open_item_summary),
	(SELECT count(*) FROM ar.aging_summary), (SELECT count(*) FROM ar.invoice WHERE open_amount <> 0),
	(SELECT count(*) FROM ar.kpi_summary)")"
read -r effect_notices effect_rows <<<"$(sql -F ' ' -c "SELECT (SELECT count(*) FROM ar.dunning_effect_notice),
	(SELECT count(*) FROM ar.dunning_effect_summary)")"

sql <<EOF
CREATE TABLE bench.query (name text PRIMARY KEY, sql text, baseline text);
INSERT INTO bench.query VALUES
 ('a_aging_report', 'SELECT * FROM ar.aging_report(current_date)', 'SELECT * FROM ar._aging_report_full(current_date)'),
 ('b_by_customer', 'SELECT * FROM ar.aging_by_customer', 'SELECT * FROM ar._aging_report_full(current_date)'),
 ('c_by_bucket', 'SELECT * FROM ar.aging_by_bucket',
  \$q\$SELECT b.bucket, b.ord, r.currency,
          sum(CASE b.bucket WHEN 'not_due' THEN r.not_due WHEN 'd1_30' THEN r.d1_30 WHEN 'd31_60' THEN r.d31_60
                            WHEN 'd61_90' THEN r.d61_90 ELSE r.d91_plus END)
     FROM ar._aging_report_full(current_date) r
    CROSS JOIN (VALUES ('not_due', 1), ('d1_30', 2), ('d31_60', 3), ('d61_90', 4), ('d91_plus', 5)) b(bucket, ord)
    GROUP BY b.bucket, b.ord, r.currency\$q\$),
 ('f_dunning_effectiveness', 'SELECT * FROM ar.dunning_effectiveness(current_date, 90)',
  'SELECT * FROM ar._dunning_effectiveness_full(current_date, 90)'),
 ('e_kpis', 'SELECT * FROM ar.kpis(current_date, 90)',
  \$q\$SELECT current_date, 90, ar._kpi_company_currency(), coalesce(f.receivables, 0), coalesce(f.overdue, 0),
          coalesce(f.sales, 0), f.dso_standard, CASE WHEN f.as_of IS NULL THEN 0 ELSE f.dso_countback END,
          f.best_possible_dso, f.average_days_delinquent, f.cei_pct, f.collection_rate_pct, f.share_overdue_pct,
          f.average_days_to_pay, f.average_days_past_due, coalesce(f.amount_due, 0), coalesce(f.amount_collected, 0),
          (SELECT round(100 * sum(d.paid_within_15_days) / nullif(sum(d.amount_due), 0), 2)
             FROM ar._dunning_effectiveness_full(current_date, 90) d)
     FROM ar._kpi_figures_full(current_date, 90) f\$q\$);

CREATE FUNCTION bench.run(runs integer)
RETURNS TABLE (name text, ms double precision, baseline_ms double precision)
LANGUAGE plpgsql AS \$\$
DECLARE
	q record;
BEGIN
	PERFORM set_config('max_parallel_workers_per_gather', '0', true);
	CREATE TEMP TABLE IF NOT EXISTS timing (name text, ms double precision, base double precision);
	TRUNCATE timing;
	FOR q IN SELECT * FROM bench.query ORDER BY 1 LOOP
		PERFORM bench.time_ms(q.sql);
		IF q.baseline IS NOT NULL THEN PERFORM bench.time_ms(q.baseline); END IF;
	END LOOP;
	FOR i IN 1..runs LOOP
		FOR q IN SELECT * FROM bench.query ORDER BY 1 LOOP
			INSERT INTO timing VALUES (q.name, bench.time_ms(q.sql),
			                           CASE WHEN q.baseline IS NOT NULL AND i <= 3 THEN bench.time_ms(q.baseline) END);
		END LOOP;
	END LOOP;
	RETURN QUERY SELECT t.name, percentile_disc(0.5) WITHIN GROUP (ORDER BY t.ms),
	                    percentile_disc(0.5) WITHIN GROUP (ORDER BY t.base)
	               FROM timing t GROUP BY t.name;
END \$\$;
EOF

log "checking that every query agrees with its baseline and the summaries with the ledger"
agree=$(sql -c "SELECT coalesce(string_agg(q.name, ' ' ORDER BY q.name), '') FROM bench.query q
                 WHERE q.baseline IS NOT NULL
                   AND (SELECT count(*) FROM (SELECT * FROM bench.rows(q.sql) EXCEPT ALL SELECT * FROM bench.rows(q.baseline)) x)
                     + (SELECT count(*) FROM (SELECT * FROM bench.rows(q.baseline) EXCEPT ALL SELECT * FROM bench.rows(q.sql)) x) <> 0")
check=$(sql -c "SELECT count(*) FROM ar.check_summaries()")

log "timing ($RUNS runs each, baselines 3)"
timings=$(sql -F ' ' -c "SELECT name, round(ms::numeric, 1), round(baseline_ms::numeric, 0) FROM bench.run($RUNS) ORDER BY name")

memory=()
for name in a_aging_report b_by_customer c_by_bucket e_kpis f_dunning_effectiveness; do
	for col in sql baseline; do
		q=$(sql -c "SELECT $col FROM bench.query WHERE name = '$name'")
		if [ -z "$q" ]; then memory+=("- -"); continue; fi
		memory+=("$(sql -F ' ' -c "SET max_parallel_workers_per_gather = 0" -c '\o /dev/null' -c "$q" -c '\o' \
			-c "SELECT round(substring(s FROM 'VmHWM:\s*(\d+) kB')::numeric / 1024), round(substring(s FROM 'RssAnon:\s*(\d+) kB')::numeric / 1024)
			      FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') s" | tail -1)")
	done
done

log "the report with the summaries aged yesterday"
aged_1_day=$(sql -F ' ' <<EOF | tail -1
SELECT ar.age_summaries(current_date - 1);
CREATE TEMP TABLE t AS SELECT bench.time_ms('SELECT * FROM ar.aging_report(current_date)') AS ms FROM generate_series(1, $RUNS);
SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       (SELECT count(*) FROM (SELECT * FROM bench.rows('SELECT * FROM ar.aging_report(current_date)')
                              EXCEPT ALL SELECT * FROM bench.rows('SELECT * FROM ar._aging_report_full(current_date)')) x)
     + (SELECT count(*) FROM (SELECT * FROM bench.rows('SELECT * FROM ar._aging_report_full(current_date)')
                              EXCEPT ALL SELECT * FROM bench.rows('SELECT * FROM ar.aging_report(current_date)')) x),
       round(bench.time_ms('SELECT ar.age_summaries()')::numeric)
  FROM t;
EOF
)
read -r aged_ms aged_diff age_ms <<<"$aged_1_day"
[ "$aged_diff" = 0 ] || agree="$agree d_aged_1_day"

log "cost of the summary triggers on bulk writes (rolled back)"
# bulk ENABLE|DISABLE: ms of 100,000 allocations in one INSERT, then of
# 100,000 invoices in one INSERT, the summary triggers on or off
# (a second argument: the effectiveness summary's trigger so, the others as
# the first says)
bulk() {
	sql -F ' ' <<EOF | tail -1
BEGIN;
ALTER TABLE ar.invoice $1 TRIGGER invoice_summary_insert, $1 TRIGGER invoice_summary_update,
	$1 TRIGGER invoice_kpi_summary_insert, $1 TRIGGER invoice_kpi_summary_update;
ALTER TABLE ar.allocation $1 TRIGGER allocation_kpi_summary_insert, ${2:-$1} TRIGGER allocation_effect_insert;
-- each statement with what its transaction does at commit (SET CONSTRAINTS
-- ALL IMMEDIATE: the fold of the summary changes, the audit seal)
SELECT round((bench.time_ms(\$q\$INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method)
                               SELECT i.id, i.open_amount, current_date, 'manual' FROM ar.invoice i
                                WHERE i.open_amount > 0 AND i.issue_date < current_date - 60 ORDER BY i.id LIMIT 100000\$q\$)
              + bench.time_ms('SET CONSTRAINTS ALL IMMEDIATE'))::numeric),
       round((bench.time_ms(\$q\$INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
                               SELECT 1 + g % 50000, 'BULK-' || g, current_date, current_date + 30, 100 + g % 1000
                                 FROM generate_series(1, 100000) g\$q\$)
              + bench.time_ms('SET CONSTRAINTS ALL IMMEDIATE'))::numeric);
ROLLBACK;
EOF
}
bulk_on=$(bulk ENABLE)
bulk_off=$(bulk DISABLE)
bulk_on2=$(bulk ENABLE)
bulk_off2=$(bulk DISABLE)
bulk_noeff=$(bulk ENABLE DISABLE)
bulk_noeff2=$(bulk ENABLE DISABLE)

status=0
echo
echo "dashboard benchmark: $counts invoices / allocations ($open_items open), $(nproc) cores, PostgreSQL $($PG_CONFIG --version | awk '{print $2}'), as of $AS_OF, median of $RUNS runs (baselines: 3), workers off, load $((loaded - started)) s"
echo "ar.kpis(current_date) answers from the KPI summaries: $(sql -c "SELECT CASE WHEN ar._kpi_summary_serves(current_date) THEN 'yes' ELSE 'NO' END"); $notices dunning notices in the last 90 days"
echo "summaries: $summary_rows rows of ar.open_item_summary, $aging_rows of ar.aging_summary, $kpi_rows of ar.kpi_summary, $effect_notices of ar.dunning_effect_notice, $effect_rows of ar.dunning_effect_summary, built by ar.rebuild_summaries() in $rebuild_ms ms"
echo "the notices inserted in one statement, with the fold of the effectiveness summary at its commit: $notices_ms ms"
echo
echo "| query | from the summaries ms | full computation ms | ratio | < 200 ms | peak memory, summaries: VmHWM MB (RssAnon MB) | full computation |"
echo "|---|---:|---:|---:|---|---|---|"
i=0
while read -r name ms base; do
	read -r h1 a1 <<<"${memory[$i]}"; read -r h2 a2 <<<"${memory[$((i + 1))]}"; i=$((i + 2))
	verdict=$(awk -v m="$ms" -v b="$base" 'BEGIN { printf "%.3f | %s", m / b, (m < 200) ? "PASS" : "FAIL" }')
	[[ "$verdict" == *PASS ]] || status=1
	echo "| $name | $ms | $base | $verdict | $h1 ($a1) | $h2 ($a2) |"
done <<<"$timings"
echo
echo "| d_aged_1_day (summaries aged yesterday) | $aged_ms | as a_aging_report | | $(awk -v m="$aged_ms" 'BEGIN { print (m < 200) ? "PASS" : "FAIL" }') | | |"
awk -v m="$aged_ms" 'BEGIN { exit !(m < 200) }' || status=1
echo
echo "ar.age_summaries() (re-aging on today, daily): $age_ms ms"
echo
read -r a_on b_on <<<"$bulk_on"; read -r a_off b_off <<<"$bulk_off"
read -r a_on2 b_on2 <<<"$bulk_on2"; read -r a_off2 b_off2 <<<"$bulk_off2"
echo "bulk writes, ms with / without the summary triggers (two rounds):"
echo
echo "| statement | with triggers ms | without ms | ratio |"
echo "|---|---:|---:|---:|"
echo "| INSERT 100,000 allocations (100,000 invoices updated) | $a_on, $a_on2 | $a_off, $a_off2 | $(awk -v a="$a_on" -v b="$a_off" -v c="$a_on2" -v d="$a_off2" 'BEGIN { printf "%.2f", (a + c) / (b + d) }') |"
echo "| INSERT 100,000 invoices | $b_on, $b_on2 | $b_off, $b_off2 | $(awk -v a="$b_on" -v b="$b_off" -v c="$b_on2" -v d="$b_off2" 'BEGIN { printf "%.2f", (a + c) / (b + d) }') |"
read -r a_ne b_ne <<<"$bulk_noeff"; read -r a_ne2 b_ne2 <<<"$bulk_noeff2"
echo
echo "the effectiveness summary's own trigger: INSERT 100,000 allocations with every summary trigger $a_on, $a_on2 ms; without its trigger $a_ne, $a_ne2 ms (ratio $(awk -v a="$a_on" -v b="$a_ne" -v c="$a_on2" -v d="$a_ne2" 'BEGIN { printf "%.2f", (a + c) / (b + d) }'))"
echo
echo "open amounts and statuses agree with the allocations (check_ledger rules, 1 invoice in 1,000): $([ "$sample_errors" = 0 ] && echo yes || echo "NO ($sample_errors errors)")"
[ "$sample_errors" = 0 ] || status=1
if [ -z "$agree" ] && [ "$check" = 0 ]; then
	echo "every summary query agrees with the full computation row for row (as text), ar.check_summaries() is empty: yes"
else
	echo "summary queries and full computation agree: NO (differing: $agree; ar.check_summaries(): $check rows)"
	status=1
fi
exit $status
