#!/usr/bin/env bash
# bench/dunning_fold.sh [INVOICES] [ROUNDS] -- what the dunning effectiveness
# summary costs a dunning run (issue 17, bench/README.md "fifth pass").
#
# bench/dunning.sh's ledger (default 1,000,000 open invoices), its own
# cluster; then in one session, ROUNDS times (default 3), alternated:
#   before  the summary as it was: ar.dunning_effect_notice with its foreign
#           key to ar.company (checked row by row) and the notices' insert
#           trigger reading a transition table of whole notices;
#   after   this version: the company checked per statement and company, the
#           notices named by a row trigger keeping their ids;
# each a first ar.run_dunning in a transaction rolled back (the outbox
# vacuumed before it), the fold at commit fired by SET CONSTRAINTS ALL
# IMMEDIATE, and the SELECT of bench/dunning.sh, in backend CPU (user +
# system).  Prints, per round and variant, the run and its fold against
# the SELECT of that round (bench/dunning.sh's ratio: its first run
# includes the commit, hence the fold) and the md5 of the notices and of
# the effectiveness rows each variant wrote, without the notices' ids, which
# the rolled-back rounds draw anew (equal: the same results).
# Environment: AR_BENCH_PORT (default 54435), AR_BENCH_NO_BUILD=1.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

INVOICES=${1:-1000000}
ROUNDS=${2:-3}
PORT=${AR_BENCH_PORT:-54435}
AS_OF=2026-03-31
[[ "$INVOICES" =~ ^[0-9]+$ ]] && [ "$INVOICES" -ge 10 ] && [[ "$ROUNDS" =~ ^[0-9]+$ ]] \
	|| { echo "usage: $0 [INVOICES >= 10] [ROUNDS]" >&2; exit 2; }

bench_prepare dunning_fold
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '2GB'" "max_wal_size = '8GB'" "autovacuum = off" \
	|| { cat "$WORK/cluster/server.log" >&2; exit 1; }
sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 ${AR_BENCH_ECHO:+-e} -At -d postgres "$@"; }

log "loading $((INVOICES / 10)) customers and $INVOICES open invoices"
dunning_bench_ledger "$INVOICES" "$AS_OF" | sql

# The former insert trigger of the notices (main before this change), for
# the "before" variant: a transition table of the inserted rows.
sql <<'EOF'
CREATE FUNCTION public.effect_notice_changed_before() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off AS $$
DECLARE
	changes ar.dunning_effect_delta[];
BEGIN
	SELECT array_agg((c.company_id, NULL, c.ids, NULL, NULL, NULL)::ar.dunning_effect_delta) INTO changes
	  FROM (SELECT n.company_id, array_agg(n.id) AS ids
	          FROM new_rows n
	         WHERE n.status NOT IN ('failed', 'cancelled') AND n.amount_due > 0
	         GROUP BY n.company_id) c;
	PERFORM ar._dunning_effect_delta_add('ar.dunning_effect_delta', changes);
	RETURN NULL;
END $$;
EOF

log "timing $ROUNDS rounds"
sql <<EOF
$(dunning_bench_cpu_sql)
CREATE TABLE public.fold_timing (round integer, variant text, select_ms double precision, run_ms double precision,
                                 fold_ms double precision, notices bigint, notices_md5 text, effect_md5 text);
SELECT pg_temp.select_cpu();
$(for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then order="before after"; else order="after before"; fi
	for v in $order; do
		cat <<ROUND
VACUUM ar.dunning_notice, ar.dunning_account, ar.dunning_effect_notice, ar.dunning_effect_summary, ar.dunning_effect_delta;
BEGIN;
$(if [ $v = before ]; then cat <<'V'
ALTER TABLE ar.dunning_effect_notice ADD CONSTRAINT dunning_effect_notice_company_id_fkey
	FOREIGN KEY (company_id) REFERENCES ar.company ON DELETE CASCADE;
ALTER TABLE ar.dunning_effect_notice DISABLE TRIGGER dunning_effect_notice_company;
ALTER TABLE ar.dunning_notice DISABLE TRIGGER dunning_notice_effect_row, DISABLE TRIGGER dunning_notice_effect_insert;
CREATE TRIGGER dunning_notice_effect_insert_before AFTER INSERT ON ar.dunning_notice REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION public.effect_notice_changed_before();
V
fi)
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
ROLLBACK;
INSERT INTO public.fold_timing VALUES ($r, '$v', :s, :c1 - :c0, :c2 - :c1, :n, :'nm', :'em' || ' ' || :rows);
ROUND
	done
done)
SELECT format('round %s %-6s SELECT %6s ms  run %6s ms  fold %5s ms  run+fold %5s x SELECT  (fold %4s x)  notices %s  md5 %s  effect %s',
              round, variant, round(select_ms), round(run_ms), round(fold_ms), round(((run_ms + fold_ms) / nullif(select_ms, 0))::numeric, 2),
              round((fold_ms / nullif(select_ms, 0))::numeric, 2), notices, left(notices_md5, 12), left(effect_md5, 12) || ' rows ' || split_part(effect_md5, ' ', 2))
  FROM public.fold_timing ORDER BY round, variant DESC;
SELECT format('medians: %s run+fold %s x SELECT, fold %s ms, run %s ms', variant,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY (run_ms + fold_ms) / nullif(select_ms, 0))::numeric, 2),
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY fold_ms)::numeric),
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY run_ms)::numeric))
  FROM public.fold_timing GROUP BY variant ORDER BY variant DESC;
SELECT CASE WHEN count(DISTINCT notices_md5) = 1 AND count(DISTINCT effect_md5) = 1 THEN 'results: identical in every round and variant'
            ELSE 'results: DIFFER' END FROM public.fold_timing;
$BENCH_HWM_SQL;
EOF
