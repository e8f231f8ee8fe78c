#!/usr/bin/env bash
# bench/dunning_pass.sh [INVOICES] [ROUNDS] [BEFORE] -- the pass over the
# invoices of ar.run_dunning (its step F) before and after a change, the
# two builds alternated in one session (issue 17, bench/README.md "sixth
# pass" and "seventh pass").
#
# bench/dunning.sh's ledger (default 1,000,000 open invoices), its own
# cluster; then in one session, ROUNDS times (default 3), alternated:
#   before  ar._run_dunning_company as commit BEFORE (default 9ee5d44, main
#           before the fused pass) wrote it: git show BEFORE:src/sql/
#           80_dunning_5_run_function.sql, created over the installed one
#           (its aggregates are still installed);
#   after   this checkout's;
# each variant with its step timings in backend CPU (clock_timestamp()
# replaced by the backend's CPU time in a copy of the function: its DEBUG1
# lines "run_dunning <step>: <ms> ms"), a first ar.run_dunning in a
# transaction rolled back (the outbox vacuumed before it), its fold at
# commit (SET CONSTRAINTS ALL IMMEDIATE) and the SELECT of bench/dunning.sh,
# all in backend CPU.  Prints per round and variant the run and its fold
# against the SELECT, the md5 of the notices (without ids), of the account
# states and of the effectiveness rows (equal: the same results), the
# medians of each step, and the session's peak memory (VmHWM).
# Environment: AR_BENCH_PORT (default 54436), AR_BENCH_NO_BUILD=1;
# AR_PASS_BEFORE_SQL and AR_PASS_AFTER_SQL: statements run before each
# round of that variant, outside its timing (a schema difference between
# the two, e.g. an index as it was and as it is: the "ninth pass").
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

INVOICES=${1:-1000000}
ROUNDS=${2:-3}
BEFORE=${3:-9ee5d44}
PORT=${AR_BENCH_PORT:-54436}
AS_OF=2026-03-31
[[ "$INVOICES" =~ ^[0-9]+$ ]] && [ "$INVOICES" -ge 10 ] && [[ "$ROUNDS" =~ ^[0-9]+$ ]] \
	|| { echo "usage: $0 [INVOICES >= 10] [ROUNDS] [BEFORE]" >&2; exit 2; }

bench_prepare dunning_pass
for v in before after; do
	if [ $v = before ]; then git -C "$ROOT" show "$BEFORE:src/sql/80_dunning_5_run_function.sql"
	else cat "$ROOT/src/sql/80_dunning_5_run_function.sql"; fi | sed 's/clock_timestamp()/public.cpu_ts()/g' >"$WORK/$v.sql"
	if [ $v = before ]; then echo "${AR_PASS_BEFORE_SQL:-}"; else echo "${AR_PASS_AFTER_SQL:-}"; fi >>"$WORK/$v.sql"
done
chmod a+r "$WORK"/*.sql
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '2GB'" "max_wal_size = '8GB'" "autovacuum = off" \
	|| { cat "$WORK/cluster/server.log" >&2; exit 1; }
sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

log "loading $((INVOICES / 10)) customers and $INVOICES open invoices"
dunning_bench_ledger "$INVOICES" "$AS_OF" | sql

log "timing $ROUNDS rounds"
{
cat <<EOF
-- the backend's CPU time as a timestamp (user + system): the steps' DEBUG1
-- timings in CPU
CREATE FUNCTION public.cpu_ts() RETURNS timestamptz LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS \$\$
	SELECT 'epoch'::timestamptz + (f[12]::bigint + f[13]::bigint) * interval '1 s' / $(getconf CLK_TCK)
	  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2), ' ') AS f) s
\$\$;
$(dunning_bench_cpu_sql)
CREATE TABLE public.pass_timing (round integer, variant text, select_ms double precision, run_ms double precision,
                                 fold_ms double precision, notices bigint, notices_md5 text, account_md5 text, effect_md5 text);
SELECT pg_temp.select_cpu();
EOF
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then order="before after"; else order="after before"; fi
	for v in $order; do
		cat <<EOF
\\i $WORK/$v.sql
\\echo variant $v
VACUUM ar.dunning_notice, ar.dunning_account, ar.dunning_effect_notice, ar.dunning_effect_summary, ar.dunning_effect_delta;
BEGIN;
SELECT pg_temp.select_cpu() AS s \gset
SET client_min_messages = debug1;
SELECT pg_temp.cpu_ms() AS c0 \gset
SELECT count(*) AS n FROM ar.run_dunning('$AS_OF') \gset
SELECT pg_temp.cpu_ms() AS c1 \gset
RESET client_min_messages;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT pg_temp.cpu_ms() AS c2 \gset
SELECT md5(string_agg(md5(n::text), '' ORDER BY n.customer_id, n.currency)) AS nm FROM
       (SELECT customer_id, level, level_name, channel, subject, body, invoice_ids, amount_due, penalties, as_of, company_id,
               currency, policy_id, cycle, language, recipient, interest, indemnity, fee, reply_by, credits_set_off, status
          FROM ar.dunning_notice) n \gset
SELECT md5(string_agg(row(a.customer_id, a.currency, a.cycle, a.level, a.last_notice_on, a.changed_on, a.company_id)::text, ''
                      ORDER BY a.customer_id, a.currency)) AS am FROM ar.dunning_account a \gset
SELECT md5(string_agg(row(e.company_id, n.customer_id, n.currency, e.level, e.as_of, e.amount_due, e.paid)::text, ''
                      ORDER BY n.customer_id, n.currency)) AS em
  FROM ar.dunning_effect_notice e JOIN ar.dunning_notice n ON n.id = e.notice_id \gset
ROLLBACK;
INSERT INTO public.pass_timing VALUES ($r, '$v', :s, :c1 - :c0, :c2 - :c1, :n, :'nm', :'am', :'em');
EOF
	done
done
cat <<'EOF'
SELECT format('round %s %-6s SELECT %6s ms  run %6s ms  fold %5s ms  run+fold %5s x SELECT  notices %s  md5 %s %s %s',
              round, variant, round(select_ms), round(run_ms), round(fold_ms), round(((run_ms + fold_ms) / nullif(select_ms, 0))::numeric, 2),
              notices, left(notices_md5, 10), left(account_md5, 10), left(effect_md5, 10))
  FROM public.pass_timing ORDER BY round, variant DESC;
SELECT format('medians: %-6s run+fold %s x SELECT, run %s ms, fold %s ms, SELECT %s ms', variant,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (run_ms + fold_ms) / nullif(select_ms, 0))::numeric, 2),
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY run_ms)::numeric),
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY fold_ms)::numeric),
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY select_ms)::numeric))
  FROM public.pass_timing GROUP BY variant ORDER BY variant DESC;
SELECT CASE WHEN count(DISTINCT notices_md5) = 1 AND count(DISTINCT account_md5) = 1 AND count(DISTINCT effect_md5) = 1
            THEN 'results: identical in every round and variant' ELSE 'results: DIFFER' END FROM public.pass_timing;
EOF
echo "SELECT 'peak memory (VmHWM) MB: ' || ($BENCH_HWM_SQL);"
} | sql 2>&1 | tee "$WORK/out.log" | grep -v '^DEBUG\|^LINE\|^QUERY\|^ *\^\|^variant'
# the steps, in CPU: the medians per variant
awk '/^variant/ { v = $2 } /DEBUG:  run_dunning .*: [0-9.]+ ms$/ { s = $0; sub(/.*run_dunning /, "", s); sub(/: [0-9.]+ ms$/, "", s);
     ms = $0; sub(/.* /, "", ms); sub(/.*: /, "", ms); t = $0; sub(/ ms$/, "", t); sub(/.*: /, "", t); print v "\t" s "\t" t }' "$WORK/out.log" |
	sort -t$'\t' -k1,1 -k2,2 -k3,3n |
	awk -F'\t' '{ k = $1 "\t" $2; n[k]++; v[k, n[k]] = $3; all[k] = all[k] " " $3 }
	     END { for (k in n) { m = v[k, int((n[k] + 1) / 2)]; split(k, p, "\t");
	           printf "step %-6s %-45s median %6s ms CPU (runs:%s)\n", p[1], p[2], m, all[k] } }' | sort
