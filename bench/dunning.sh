#!/usr/bin/env bash
# bench/dunning.sh [INVOICES] -- how fast is ar.run_dunning?
#
# Builds and installs ar_collect, starts a throwaway cluster (stopped and
# removed on exit), loads INVOICES open invoices (default 1,000,000) for
# INVOICES / 10 customers (names, e-mails, languages fr / en / de), due
# dates spread from 100 days before the run date to 20 days after it, a
# tenth of them partly paid, VACUUM ANALYZE, then measures, in one run:
#   select  a single SELECT reading the same open invoices with their
#           customers (the floor of any work over them), median of 3
#           after one warm-up run;
#   first   ar.run_dunning(as_of): decides, renders and queues a notice per
#           customer with something to remind (with the LME penalties of
#           every invoice listed), commits; measured once, with no warm-up
#           of its own;
#   second  ar.run_dunning(as_of) again: queues nothing (median of 3);
#   again   the whole decision once more without the run registry (its row
#           deleted): the unique keys and the 7-day rule of the data alone
#           must queue nothing.
# Each time is measured in the server (clock_timestamp() between
# statements, commit included).  Targets: first <= 3 x select; second
# queues nothing and takes < 5 % of first; again queues nothing.  Exits 1
# when a target is missed.
#
# Environment: AR_BENCH_PORT (default 54434), AR_BENCH_NO_BUILD=1 to use the
# installed extension as it is, AR_BENCH_SETTINGS: extra postgresql.conf
# lines separated by ';'.  Reports the backend's peak memory (VmHWM) around
# the first run.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

INVOICES=${1:-1000000}
PORT=${AR_BENCH_PORT:-54434}
AS_OF=2026-03-31
[[ "$INVOICES" =~ ^[0-9]+$ ]] && [ "$INVOICES" -ge 10 ] || { echo "usage: $0 [INVOICES >= 10]" >&2; exit 2; }
CUSTOMERS=$((INVOICES / 10))

bench_prepare dunning_bench
IFS=';' read -r -a extra_settings <<<"${AR_BENCH_SETTINGS:-}"
# No worker (its daily run for today would take the run lock), no
# autovacuum, and a checkpoint after the load (VACUUM ANALYZE is explicit):
# none may land inside a timed run on 2 cores.
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '2GB'" "max_wal_size = '8GB'" "autovacuum = off" \
	"${extra_settings[@]}" || { cat "$WORK/cluster/server.log" >&2; exit 1; }

sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

log "loading $CUSTOMERS customers and $INVOICES open invoices"
started=$(date +%s)
dunning_bench_ledger "$INVOICES" "$AS_OF" | sql
log "loaded in $(($(date +%s) - started)) s"

log "timing"
result=$(sql 2>"$WORK/steps.log" <<EOF
CREATE TEMP TABLE timing (what text, ms double precision, queued bigint);
-- a single SELECT reading the open invoices with their customers
CREATE FUNCTION pg_temp.select_ms() RETURNS double precision LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE 'SELECT c.id, c.code, c.name, c.email, c.language, i.id, i.number, i.due_date, i.amount, i.open_amount
	           FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id WHERE i.open_amount <> 0';
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END \$\$;
-- the CPU time of this backend (user + system, Linux /proc/<pid>/stat), in
-- ms: on a loaded machine, a ratio of CPU times says more than one of
-- elapsed times
CREATE FUNCTION pg_temp.cpu_ms() RETURNS double precision LANGUAGE sql AS \$\$
	SELECT (f[12]::bigint + f[13]::bigint) * 1000.0 / $(getconf CLK_TCK)
	  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2), ' ') AS f) s
\$\$;
CREATE FUNCTION pg_temp.select_timed() RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE c0 double precision := pg_temp.cpu_ms();
BEGIN
	INSERT INTO timing VALUES ('select', pg_temp.select_ms(), NULL);
	INSERT INTO timing VALUES ('select_cpu', pg_temp.cpu_ms() - c0, NULL);
END \$\$;
SELECT pg_temp.select_ms() AS warm_up_ms \gset
SELECT pg_temp.select_timed() FROM generate_series(1, 3);

-- the backend's memory: its peak resident set (VmHWM, shared buffers it
-- touched included) before and after the first run, and its private
-- memory (RssAnon) after it, in kB (Linux /proc)
CREATE FUNCTION pg_temp.memory_kb(field text) RETURNS bigint LANGUAGE sql AS \$\$
	SELECT substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM field || ':\s*(\d+) kB')::bigint
\$\$;
INSERT INTO timing VALUES ('memory_before', pg_temp.memory_kb('VmHWM'), pg_temp.memory_kb('RssAnon'));
SELECT clock_timestamp() AS t0, pg_temp.cpu_ms() AS c0 \gset
SET client_min_messages = debug1;
SELECT count(*) AS n FROM ar.run_dunning('$AS_OF') \gset
RESET client_min_messages;
INSERT INTO timing VALUES ('first', extract(epoch FROM clock_timestamp() - :'t0') * 1000, :n);
INSERT INTO timing VALUES ('first_cpu', pg_temp.cpu_ms() - :c0, :n);
INSERT INTO timing VALUES ('memory_first', pg_temp.memory_kb('VmHWM'), pg_temp.memory_kb('RssAnon'));

SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS n FROM ar.run_dunning('$AS_OF') \gset
INSERT INTO timing VALUES ('second', extract(epoch FROM clock_timestamp() - :'t0') * 1000, :n);
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS n FROM ar.run_dunning('$AS_OF') \gset
INSERT INTO timing VALUES ('second', extract(epoch FROM clock_timestamp() - :'t0') * 1000, :n);
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS n FROM ar.run_dunning('$AS_OF') \gset
INSERT INTO timing VALUES ('second', extract(epoch FROM clock_timestamp() - :'t0') * 1000, :n);

-- without the registry: the data alone keeps the run idempotent
DELETE FROM ar.dunning_run WHERE as_of = '$AS_OF';
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS n FROM ar.run_dunning('$AS_OF') \gset
INSERT INTO timing VALUES ('again', extract(epoch FROM clock_timestamp() - :'t0') * 1000, :n);

SELECT string_agg(format('%s %s %s', what, round(ms::numeric, 1), coalesce(queued, 0)), ' ' ORDER BY what)
  FROM (SELECT what, percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) AS ms, max(queued) AS queued
          FROM timing GROUP BY what) t;
EOF
)
levels=$(sql -c "SELECT string_agg(format('%s: %s', level, n), ', ' ORDER BY level)
                   FROM (SELECT level, count(*) AS n FROM ar.dunning_notice GROUP BY level) l")
listed=$(sql -c "SELECT sum(cardinality(invoice_ids)) FROM ar.dunning_notice")
checks=$(sql -c "SELECT count(*) FILTER (WHERE penalties IS NULL) || ' ' ||
                        (SELECT count(*) FROM (SELECT 1 FROM ar.dunning_notice GROUP BY customer_id, currency, as_of HAVING count(*) > 1) d)
                   FROM ar.dunning_notice")

declare -A ms count
while read -r what value queued; do [ -n "$what" ] || continue; ms[$what]=$value; count[$what]=$queued; done <<<"$(tr ' ' '\n' <<<"$result" | paste -d' ' - - -)"
again_ms=${ms[again]} again_n=${count[again]} first_ms=${ms[first]} first_n=${count[first]}
second_ms=${ms[second]} second_n=${count[second]} select_ms=${ms[select]}
hwm_before=${ms[memory_before]} hwm_first=${ms[memory_first]} anon_first=${count[memory_first]}
r_cpu=$(awk -v a="${ms[first_cpu]}" -v b="${ms[select_cpu]}" 'BEGIN { printf "%.2f", a / b }')
read -r no_penalty duplicates <<<"$checks"
r_first=$(awk -v a="$first_ms" -v b="$select_ms" 'BEGIN { printf "%.2f", a / b }')
r_second=$(awk -v a="$second_ms" -v b="$first_ms" 'BEGIN { printf "%.4f", a / b }')
r_again=$(awk -v a="$again_ms" -v b="$first_ms" 'BEGIN { printf "%.2f", a / b }')
pass() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
v_first=$(pass "$r_first <= 3")
v_second=$(pass "$second_n == 0 && $r_second < 0.05")
v_again=$(pass "$again_n == 0")
status=0
for v in "$v_first" "$v_second" "$v_again"; do [ "$v" = PASS ] || status=1; done
echo
echo "ar.run_dunning benchmark: $INVOICES open invoices, $CUSTOMERS customers, $(nproc) cores, PostgreSQL $($PG_CONFIG --version | awk '{print $2}')"
echo
echo "| run | ms | notices queued | ratio | target | result |"
echo "|---|---:|---:|---:|---|---|"
echo "| single SELECT of the open invoices and their customers (median of 3) | $select_ms | | 1 | | |"
echo "| first run_dunning('$AS_OF') | $first_ms | $first_n | $r_first x select | <= 3 x select | $v_first |"
echo "| second run, same date (median of 3) | $second_ms | $second_n | $r_second x first | nothing queued, < 0.05 x first | $v_second |"
echo "| same date again, run registry deleted | $again_ms | $again_n | $r_again x first | nothing queued | $v_again |"
echo
echo "backend CPU time (user + system): first run ${ms[first_cpu]} ms, SELECT ${ms[select_cpu]} ms (median of 3): $r_cpu x"
echo "backend memory: peak resident (VmHWM, shared buffers touched included) $((${hwm_before%.*} / 1024)) MB before the first run (after the SELECTs), $((${hwm_first%.*} / 1024)) MB after it; private (RssAnon) after it $((${anon_first%.*} / 1024)) MB"
echo "notices per level: $levels; invoices listed: $listed; notices without penalties: $no_penalty; duplicates: $duplicates"
echo
echo "steps of the first run (ms, in x select):"
sed -n 's/^DEBUG:  run_dunning \(.*\): \([0-9.]*\) ms$/\2 \1/p' "$WORK/steps.log" | head -12 |
	awk -v s="$select_ms" '{ t = $1; $1 = ""; printf "  %9.1f  %5.2f  %s\n", t, t / s, substr($0, 2) }'
bench_summary "dunning.sh: first ar.run_dunning vs a SELECT of the open invoices" "$INVOICES invoices, $first_n notices" \
	"$r_first x select" "<= 3" "$((${hwm_first%.*} / 1024))"
[ "$no_penalty" = 0 ] && [ "$duplicates" = 0 ] || status=1
exit $status
