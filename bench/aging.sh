#!/usr/bin/env bash
# bench/aging.sh [ROWS] -- how fast is the ar.aging aggregate?
#
# Builds and installs ar_collect, starts a throwaway cluster (stopped and
# removed on exit), loads ROWS invoices (default 10,000,000: amount
# numeric(14,2) with cents, due dates spread over two years, 5 % credit
# notes), VACUUM ANALYZE, then times, with parallel workers off and on:
#   scan   SELECT count(*), sum(amount)              -- the scan limit
#   aging  SELECT ar.aging(amount, due_date, as_of)  -- the aggregate
#   SQL    five sum(amount) FILTER (WHERE ...) + sum -- the hand-written way
# Each query runs once to warm up, then 5 times interleaved with the others;
# the median execution time measured inside the server (clock_timestamp()
# around EXECUTE in PL/pgSQL, so no client round trip) is reported.
# Targets: aging/scan <= 1.25 and aging/SQL < 1.  Exits 1 if the three
# queries disagree or a target is missed.  Then the aging query runs once
# more, serially, in a fresh session that reports its peak memory (VmHWM,
# the shared buffers it touched included), and a summary line gives the
# serial aging/scan ratio and that memory (bench/README.md's table).
#
# Environment: AR_BENCH_PORT (default 55442), AR_BENCH_RUNS (default 5),
# AR_BENCH_NO_BUILD=1 to use the installed extension as it is,
# AR_BENCH_SETTINGS: extra postgresql.conf lines separated by ';' (e.g.
# "jit = off"); the server defaults apply otherwise (JIT on in Debian).
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

ROWS=${1:-10000000}
PORT=${AR_BENCH_PORT:-55442}
RUNS=${AR_BENCH_RUNS:-5}
AS_OF=2025-03-31
[[ "$ROWS" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ROWS]" >&2; exit 2; }

bench_prepare aging_bench
# The whole table stays in shared buffers, so I/O does not blur the
# comparison of CPU cost per row.
IFS=';' read -r -a extra_settings <<<"${AR_BENCH_SETTINGS:-}"
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '2GB'" "max_parallel_workers = 8" \
	"${extra_settings[@]}" || { cat "$WORK/cluster/server.log" >&2; exit 1; }

sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

log "loading $ROWS rows"
sql <<EOF
CREATE EXTENSION ar_collect;
SELECT setseed(0.42);
CREATE TABLE bench_invoice (
	id bigint,
	customer_id integer,
	due_date date,
	amount numeric(14,2)
);
-- amounts from 10.00 to about 20,000.00, log-uniform, 5 % credit notes;
-- due dates over two years around the as_of date ($AS_OF).
INSERT INTO bench_invoice
SELECT g, (g % 50000)::integer,
       DATE '2023-07-01' + floor(random() * 730)::integer,
       round((CASE WHEN random() < 0.05 THEN -1 ELSE 1 END
              * 10 * exp(random() * ln(2000)))::numeric, 2)
  FROM generate_series(1, $ROWS) AS g;
VACUUM ANALYZE bench_invoice;

CREATE SCHEMA bench;
-- Milliseconds of one execution of q, as seen by the server.  EXECUTE
-- without INTO keeps the plan eligible for parallel workers.
CREATE FUNCTION bench.time_ms(q text) RETURNS double precision
LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE q;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;

CREATE TABLE bench.query (name text PRIMARY KEY, sql text);
INSERT INTO bench.query VALUES
 ('scan',  'SELECT count(*), sum(amount) FROM bench_invoice'),
 ('aging', 'SELECT ar.aging(amount, due_date, DATE ''$AS_OF'') FROM bench_invoice'),
 ('sql',   'SELECT coalesce(sum(amount) FILTER (WHERE DATE ''$AS_OF'' - due_date <= 0), 0),
                   coalesce(sum(amount) FILTER (WHERE DATE ''$AS_OF'' - due_date BETWEEN 1 AND 30), 0),
                   coalesce(sum(amount) FILTER (WHERE DATE ''$AS_OF'' - due_date BETWEEN 31 AND 60), 0),
                   coalesce(sum(amount) FILTER (WHERE DATE ''$AS_OF'' - due_date BETWEEN 61 AND 90), 0),
                   coalesce(sum(amount) FILTER (WHERE DATE ''$AS_OF'' - due_date > 90), 0),
                   coalesce(sum(amount), 0)
              FROM bench_invoice');

-- Median time of every query with the given number of workers per gather.
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
		PERFORM bench.time_ms(q.sql);			-- warm-up
	END LOOP;
	FOR i IN 1..runs LOOP
		FOR q IN SELECT * FROM bench.query ORDER BY 1 LOOP
			INSERT INTO timing VALUES (q.name, bench.time_ms(q.sql));
		END LOOP;
	END LOOP;
	RETURN QUERY
		SELECT t.name, percentile_disc(0.5) WITHIN GROUP (ORDER BY t.ms)
		  FROM timing t GROUP BY t.name;
END \$\$;
EOF

# The three queries must agree, bucket by bucket, serial and parallel.
log "checking that the three queries agree"
agree=$(sql <<EOF
SELECT count(DISTINCT x) = 1 FROM (
	SELECT sum(amount) AS x FROM bench_invoice
	UNION ALL
	SELECT (ar.aging(amount, due_date, DATE '$AS_OF')).total FROM bench_invoice) s;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE a0 AS SELECT (ar.aging(amount, due_date, DATE '$AS_OF')).* FROM bench_invoice;
SET max_parallel_workers_per_gather = 2;
CREATE TEMP TABLE a2 AS SELECT (ar.aging(amount, due_date, DATE '$AS_OF')).* FROM bench_invoice;
CREATE TEMP TABLE s AS
SELECT coalesce(sum(amount) FILTER (WHERE DATE '$AS_OF' - due_date <= 0), 0) AS not_due,
       coalesce(sum(amount) FILTER (WHERE DATE '$AS_OF' - due_date BETWEEN 1 AND 30), 0) AS d1_30,
       coalesce(sum(amount) FILTER (WHERE DATE '$AS_OF' - due_date BETWEEN 31 AND 60), 0) AS d31_60,
       coalesce(sum(amount) FILTER (WHERE DATE '$AS_OF' - due_date BETWEEN 61 AND 90), 0) AS d61_90,
       coalesce(sum(amount) FILTER (WHERE DATE '$AS_OF' - due_date > 90), 0) AS d91_plus,
       coalesce(sum(amount), 0) AS total
  FROM bench_invoice;
SELECT (SELECT count(*) FROM (TABLE a0 UNION TABLE a2 UNION TABLE s) u) = 1;
EOF
)
totals=$(sql -c "SELECT (ar.aging(amount, due_date, DATE '$AS_OF')).* FROM bench_invoice" -F ' ')

results=()
for workers in 0 2; do
	log "timing with max_parallel_workers_per_gather = $workers ($RUNS runs each)"
	results+=("$workers $(sql -F ' ' -c "SELECT string_agg(round(ms::numeric, 1)::text, ' ' ORDER BY name) FROM bench.run($workers, $RUNS)")")
done

# the peak memory of a fresh backend running the aggregate once, serially
hwm=$(sql -c "SET max_parallel_workers_per_gather = 0" -c '\o /dev/null' \
	-c "SELECT ar.aging(amount, due_date, DATE '$AS_OF') FROM bench_invoice" -c '\o' -c "$BENCH_HWM_SQL" | tail -1)

status=0
echo
echo "ar.aging benchmark: $ROWS rows, $(nproc) cores, PostgreSQL $($PG_CONFIG --version | awk '{print $2}'), jit $(sql -c 'SHOW jit'), median of $RUNS runs"
echo
echo "| setting | scan ms | aging ms | SQL ms | aging/scan | aging/SQL | result |"
echo "|---|---:|---:|---:|---:|---:|---|"
for line in "${results[@]}"; do
	# names sort as aging, scan, sql
	read -r workers aging scan sqlms <<<"$line"
	verdict=$(awk -v a="$aging" -v s="$scan" -v q="$sqlms" 'BEGIN {
		r1 = a / s; r2 = a / q;
		printf "%.2f | %.2f | %s", r1, r2, (r1 <= 1.25 && r2 < 1) ? "PASS" : "FAIL" }')
	[[ "$verdict" == *PASS ]] || status=1
	if [ "$workers" = 0 ]; then setting="serial (0 workers)"; else setting="parallel ($workers workers)"; fi
	echo "| $setting | $scan | $aging | $sqlms | $verdict |"
	if [ "$workers" = 0 ]; then serial_ratio=$(awk -v a="$aging" -v s="$scan" 'BEGIN { printf "%.2f", a / s }'); fi
done
echo
echo "peak memory of a fresh backend running ar.aging once, serially (VmHWM, shared buffers touched included): $hwm MB"
bench_summary "aging.sh: ar.aging vs count(*), sum(amount)" "$ROWS rows" "${serial_ratio} x scan (serial)" "<= 1.25" "$hwm"
echo
echo "buckets as of $AS_OF (not_due d1_30 d31_60 d61_90 d91_plus total): $totals"
if [ "$(echo "$agree" | tr -d '\n')" = tt ]; then
	echo "scan, aging (serial and parallel) and SQL agree: yes"
else
	echo "scan, aging (serial and parallel) and SQL agree: NO"
	status=1
fi
exit $status
