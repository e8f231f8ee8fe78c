#!/usr/bin/env bash
# bench/dunning_versions.sh [INVOICES] [REV] -- is this tree's ar.run_dunning
# slower than another revision's?
#
# Builds and installs this tree, starts a throwaway cluster, loads the data
# of bench/dunning.sh (INVOICES open invoices, default 200,000, a tenth
# partly paid; INVOICES / 10 customers), and creates REV's ar.run_dunning
# (default main: its src/sql/80_dunning_5_run_function.sql) beside this
# tree's as ar.run_dunning_old.  Then, after a warm-up dry run of each,
# three rounds, the order of the two alternated (old first in rounds 1 and
# 3), each a real run (rolled back) and a dry run of 2026-03-31 in a session
# of its own: one line per run with its elapsed ms, the backend's CPU ms
# (user + system) and the notices.  Compare the sums of each column, new /
# old.  REV's run must call the helpers as this tree defines them (it runs
# against this tree's ar._dunning_work_table and work tables).
#
# Environment: AR_BENCH_PORT (default 54435), AR_BENCH_NO_BUILD=1.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
INVOICES=${1:-200000}; REV=${2:-main}
CUSTOMERS=$((INVOICES / 10)); PORT=${AR_BENCH_PORT:-54435}; AS_OF=2026-03-31
[[ "$INVOICES" =~ ^[0-9]+$ ]] && [ "$INVOICES" -ge 10 ] || { echo "usage: $0 [INVOICES >= 10] [REV]" >&2; exit 2; }
git -C "$ROOT" rev-parse --verify -q "$REV^{commit}" >/dev/null || { echo "unknown revision $REV" >&2; exit 2; }
bench_prepare dunning_versions
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '1GB'" "max_wal_size = '8GB'" "autovacuum = off" \
	|| { cat "$WORK/cluster/server.log" >&2; exit 1; }
log "loading $CUSTOMERS customers and $INVOICES open invoices; $REV's ar.run_dunning as ar.run_dunning_old"
sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }
dunning_bench_ledger "$INVOICES" "$AS_OF" | sql
git -C "$ROOT" show "$REV:src/sql/80_dunning_5_run_function.sql" \
  | sed -e 's/FUNCTION ar\.run_dunning(/FUNCTION ar.run_dunning_old(/' -e 's/run_dunning\.\(as_of\|dry_run\)/run_dunning_old.\1/g' | sql
one() {	# one FUNCTION DRY: elapsed ms, backend CPU ms (user + system), rows
	sql <<SQL
CREATE FUNCTION pg_temp.cpu_ms() RETURNS double precision LANGUAGE sql AS \$\$
	SELECT (f[12]::bigint + f[13]::bigint) * 1000.0 / $(getconf CLK_TCK)
	  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2), ' ') AS f) s
\$\$;
BEGIN;
SELECT clock_timestamp() AS t0, pg_temp.cpu_ms() AS c0 \gset
SELECT count(*) AS n FROM $1('$AS_OF', $2) \gset
SELECT round((extract(epoch FROM clock_timestamp() - :'t0') * 1000)::numeric, 1) AS ms, round((pg_temp.cpu_ms() - :c0)::numeric) AS cpu \gset
ROLLBACK;
\echo $1 $2 :ms :cpu :n
SQL
}
for f in ar.run_dunning ar.run_dunning_old; do one $f true >/dev/null; done   # warm-up
for round in 1 2 3; do
	if [ $round = 2 ]; then order="ar.run_dunning ar.run_dunning_old"; else order="ar.run_dunning_old ar.run_dunning"; fi
	for dry in false true; do for f in $order; do echo "round $round $(one $f $dry)"; done; done
done
