#!/usr/bin/env bash
# bench/dunning_fold.sh [INVOICES] [ROUNDS] [BEFORE] -- the fold at commit
# of a dunning run into the effectiveness summary (issue 17, bench/README.md
# "the fold at commit, second pass"; its first version measured the "fifth
# pass").
#
# bench/dunning.sh's ledger (default 1,000,000 open invoices), its own
# cluster; then in one session, ROUNDS times (default 3), alternated:
#   before  the fold as commit BEFORE (default f4ba002) wrote it:
#           ar._dunning_effect_fold of git show BEFORE:src/sql/
#           86_kpi_summary_dunning.sql (the notices named read back and
#           recomputed), and the notices' statement trigger writing their
#           ids only, both created over the installed ones in the
#           transaction;
#   after   this checkout's: the delta of the notices inserted carries
#           their level, date and amount due, which the fold takes;
# each a first ar.run_dunning in a transaction rolled back (the outbox
# vacuumed before it), the fold at commit fired by SET CONSTRAINTS ALL
# IMMEDIATE, and the SELECT of bench/dunning.sh, in backend CPU (user +
# system).  Prints, per round and variant, the run and its fold against
# the SELECT of that round (bench/dunning.sh's ratio: its first run
# includes the commit, hence the fold) and the md5 of the notices, of the
# effectiveness rows (without the notices' ids, which the rolled-back
# rounds draw anew) and of the per-day summary (equal: the same results).
# Environment: AR_BENCH_PORT (default 54435), AR_BENCH_NO_BUILD=1.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

INVOICES=${1:-1000000}
ROUNDS=${2:-3}
BEFORE=${3:-f4ba002}
PORT=${AR_BENCH_PORT:-54435}
AS_OF=2026-03-31
[[ "$INVOICES" =~ ^[0-9]+$ ]] && [ "$INVOICES" -ge 10 ] && [[ "$ROUNDS" =~ ^[0-9]+$ ]] \
	|| { echo "usage: $0 [INVOICES >= 10] [ROUNDS] [BEFORE]" >&2; exit 2; }

bench_prepare dunning_fold
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '2GB'" "max_wal_size = '8GB'" "autovacuum = off" \
	|| { cat "$WORK/cluster/server.log" >&2; exit 1; }
sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 ${AR_BENCH_ECHO:+-e} -At -d postgres "$@"; }

log "loading $((INVOICES / 10)) customers and $INVOICES open invoices"
dunning_bench_ledger "$INVOICES" "$AS_OF" | sql

# The "before" variant: BEFORE's fold, and its statement trigger of the
# notices inserted writing their ids only (its delta rows as they were,
# with this table's columns added: NULL).
git -C "$ROOT" show "$BEFORE:src/sql/86_kpi_summary_dunning.sql" |
	awk '/^CREATE FUNCTION ar\._dunning_effect_(fold|notice_changed)\(\)/ { on = 1 } on { print } on && /^END \$\$;/ { on = 0 }' |
	sed -e 's/^CREATE FUNCTION/CREATE OR REPLACE FUNCTION/' \
	    -e 's/(c\.company_id, NULL, c\.ids, NULL, NULL, NULL)::ar\.dunning_effect_delta/(c.company_id, NULL, c.ids, NULL, NULL, NULL, NULL, NULL, NULL)::ar.dunning_effect_delta/' \
	>"$WORK/before.sql"
grep -c '^CREATE OR REPLACE FUNCTION' "$WORK/before.sql" | grep -qx 2 || { echo "BEFORE's fold not found" >&2; exit 1; }
chmod a+r "$WORK/before.sql"

log "timing $ROUNDS rounds"
sql <<EOF
$(dunning_bench_cpu_sql)
CREATE TABLE public.fold_timing (round integer, variant text, select_ms double precision, run_ms double precision,
                                 fold_ms double precision, notices bigint, notices_md5 text, effect_md5 text, summary_md5 text);
SELECT pg_temp.select_cpu();
$(for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then order="before after"; else order="after before"; fi
	for v in $order; do
		cat <<ROUND
VACUUM ar.dunning_notice, ar.dunning_account, ar.dunning_effect_notice, ar.dunning_effect_summary, ar.dunning_effect_delta;
BEGIN;
$(if [ $v = before ]; then echo "\\i $WORK/before.sql"; fi)
SELECT pg_temp.select_cpu() AS s \gset
SELECT pg_temp.cpu_ms() AS c0 \gset
SELECT count(*) AS n FROM ar.run_dunning('$AS_OF') \gset
SELECT pg_temp.cpu_ms() AS c1 \gset
SET CONSTRAINTS ALL IMMEDIATE;
SELECT pg_temp.cpu_ms() AS c2 \gset
SELECT md5(string_agg(md5(n::text), '' ORDER BY n.customer_id, n.currency)) AS nm FROM
       (SELECT customer_id, currency, level, channel, subject, body, invoice_ids, amount_due, penalties, as_of, recipient
          FROM ar.dunning_notice) n \gset
SELECT md5(string_agg(row(e.company_id, n.customer_id, n.currency, e.level, e.as_of, e.amount_due, e.paid)::text, ''
                      ORDER BY n.customer_id, n.currency)) AS em
  FROM ar.dunning_effect_notice e JOIN ar.dunning_notice n ON n.id = e.notice_id \gset
SELECT count(*) AS rows FROM ar.dunning_effect_notice \gset
SELECT md5(string_agg(s::text, '' ORDER BY s.company_id, s.as_of, s.level, s.due_scale, s.paid_scale)) AS sm
  FROM ar.dunning_effect_summary s \gset
ROLLBACK;
INSERT INTO public.fold_timing VALUES ($r, '$v', :s, :c1 - :c0, :c2 - :c1, :n, :'nm', :'em' || ' ' || :rows, :'sm');
ROUND
	done
done)
SELECT format('round %s %-6s SELECT %6s ms  run %6s ms  fold %5s ms  run+fold %5s x SELECT  (fold %4s x)  notices %s  md5 %s  effect %s  summary %s',
              round, variant, round(select_ms), round(run_ms), round(fold_ms), round(((run_ms + fold_ms) / nullif(select_ms, 0))::numeric, 2),
              round((fold_ms / nullif(select_ms, 0))::numeric, 2), notices, left(notices_md5, 12), left(effect_md5, 12) || ' rows ' || split_part(effect_md5, ' ', 2),
              left(summary_md5, 12))
  FROM public.fold_timing ORDER BY round, variant DESC;
SELECT format('medians: %s run+fold %s x SELECT, fold %s ms, run %s ms', variant,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (run_ms + fold_ms) / nullif(select_ms, 0))::numeric, 2),
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY fold_ms)::numeric),
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY run_ms)::numeric))
  FROM public.fold_timing GROUP BY variant ORDER BY variant DESC;
SELECT CASE WHEN count(DISTINCT notices_md5) = 1 AND count(DISTINCT effect_md5) = 1 AND count(DISTINCT summary_md5) = 1 THEN 'results: identical in every round and variant'
            ELSE 'results: DIFFER' END FROM public.fold_timing;
$BENCH_HWM_SQL;
EOF
