#!/usr/bin/env bash
# bench/citus_scale.sh [INVOICES] [COMPANIES] -- the ledger on Citus against
# the same ledger on one node (issue 14; doc/scale_out.md).
#
# Needs Citus built into the PostgreSQL tree (AR_PG_BIN; doc/scale_out.md
# says how); exits 2 without it.  Builds and installs ar_collect, starts one
# node (port AR_BENCH_PORT, default 54460) and a Citus coordinator with two
# workers (the next three ports), all with ar_collect preloaded, and
# distributes the ledger on the Citus side as test/citus.sh does
# (tools/citus_lib.sh).  Loads the same INVOICES invoices (default
# 10,000,000) of COMPANIES companies (default 1,000; 50 customers each) into
# both, a third of them paid, through the ledger tables with the triggers
# bypassed (session_replication_role = replica, propagated to the workers'
# connections with SET LOCAL), then measures, alternating the two sides,
# median of RUNS (default 5) runs, in the server (clock_timestamp()):
#   company_aging  ar.aging of one company's open invoices (a different
#                  company each run; routed to one worker on Citus)
#   company_kpis   ar.receivables_kpis of one company's invoices
#   aging_by_co    ar.aging per company, every company (pushed down whole)
#   aging_total    ar.aging across companies (partial on the workers,
#                  combined on the coordinator)
#   kpis_total     ar.receivables_kpis across companies
# and prints each Citus time over the one node's, with the results compared
# (equal, or the benchmark fails).  The dunning run and the reconciliation
# do not run on the distributed ledger yet (doc/scale_out.md, blockers 5 and
# 6): reported as such, not measured.  All four clusters share this
# machine's cores: the ratios say what the distribution costs or saves
# here, not what separate machines would give.
#
# Environment: AR_BENCH_PORT, AR_BENCH_NO_BUILD=1, RUNS.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
source "$ROOT/tools/citus_lib.sh"

INVOICES=${1:-10000000}
COMPANIES=${2:-1000}
RUNS=${RUNS:-5}
PORT=${AR_BENCH_PORT:-54460}
AS_OF=2026-06-30
[[ "$INVOICES" =~ ^[0-9]+$ && "$COMPANIES" =~ ^[0-9]+$ ]] && [ "$COMPANIES" -ge 2 ] && [ "$INVOICES" -ge "$COMPANIES" ] \
	|| { echo "usage: $0 [INVOICES] [COMPANIES >= 2, <= INVOICES]" >&2; exit 2; }
if [ ! -f "$($PG_CONFIG --pkglibdir)/citus.so" ]; then
	echo "bench/citus_scale.sh needs Citus in the PostgreSQL tree of $PG_BIN (doc/scale_out.md says how to build it)" >&2
	exit 2
fi

bench_prepare citus_scale
trap '[ -n "${AR_BENCH_KEEP:-}" ] || { for d in single node0 node1 node2; do cluster_stop "$WORK/$d"; done; rm -rf "$WORK"; }' EXIT

one() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -h localhost -p $PORT -U postgres -d postgres "$@"; }
co() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -h localhost -p $((PORT + 1)) -U postgres -d postgres "$@"; }

log "starting one node and a Citus cluster (coordinator, two workers)"
cluster_start "$WORK/single" $PORT "listen_addresses = 'localhost'" "ar_collect.naptime = 3600" \
	|| { cat "$WORK/single/server.log" >&2; exit 1; }
# (32 shards: a statement over every company opens up to 16 connections
# per worker, and the workers open their own to the coordinator)
citus_cluster_start "$WORK" $((PORT + 1)) "ar_collect.naptime = 3600" "max_connections = 300" || exit 1
one -c "CREATE EXTENSION ar_collect" >/dev/null
co -c "CREATE EXTENSION ar_collect" >/dev/null
citus_distribute_ledger $((PORT + 1)) 32 || exit 1

# The same rows on both sides: companies 1001.., 50 customers each, invoices
# spread over the companies, issued over 300 days, a third paid in full, a
# sixth partly paid.  Sent statement by statement (psql's standard input):
# Citus propagates a SET LOCAL by sending the text of the query it came in,
# which must be that statement alone.
load="
BEGIN;
SET LOCAL citus.propagate_set_commands = 'local';
SET LOCAL session_replication_role = replica;
INSERT INTO ar.company (id, code, name) OVERRIDING SYSTEM VALUE
SELECT 1000 + g, 'CO' || g, 'Company ' || g FROM generate_series(1, $COMPANIES) g;
INSERT INTO ar.customer (id, company_id, code, name) OVERRIDING SYSTEM VALUE
SELECT co * 100 + k, co, 'C' || k, 'Customer ' || k FROM generate_series(1001, 1000 + $COMPANIES) co, generate_series(1, 50) k;
INSERT INTO ar.invoice (id, company_id, customer_id, number, issue_date, due_date, amount, open_amount,
                        written_off_amount, last_allocated_on) OVERRIDING SYSTEM VALUE
SELECT g, c, c * 100 + 1 + (g / $COMPANIES) % 50, 'F' || g, i, i + 30 + (g % 3) * 15, a,
       CASE g % 6 WHEN 0 THEN 0 WHEN 3 THEN 0 WHEN 1 THEN round(a * 0.4, 2) ELSE a END,
       CASE WHEN g % 97 = 0 THEN a ELSE 0 END,
       CASE WHEN g % 6 IN (0, 1, 3) THEN i + 40 END
  FROM generate_series(1, $INVOICES) g,
       LATERAL (SELECT 1001 + g % $COMPANIES AS c, DATE '2025-09-01' + (g % 300) AS i,
                       round(50 + (g * 37) % 9950 + (g % 100) / 100.0, 2) AS a) x;
COMMIT;"
log "loading $INVOICES invoices of $COMPANIES companies on one node"
t0=$SECONDS; one <<<"$load"; one -c "VACUUM ANALYZE ar.invoice" -c "VACUUM ANALYZE ar.customer"; load_one=$((SECONDS - t0))
log "loading the same rows through the Citus coordinator"
t0=$SECONDS; co <<<"$load"; co -c "VACUUM ANALYZE ar.invoice" -c "VACUUM ANALYZE ar.customer"; load_citus=$((SECONDS - t0))

# The queries: {c} is the company of the run.
aging="ar.aging(open_amount, due_date, DATE '$AS_OF')"
kpis="ar.receivables_kpis(amount, issue_date, due_date, open_amount, amount, written_off_amount, CASE WHEN open_amount = 0 THEN last_allocated_on END, DATE '$AS_OF', 90)"
queries="
company_aging|SELECT $aging FROM ar.invoice WHERE company_id = {c} AND open_amount <> 0
company_kpis|SELECT $kpis FROM ar.invoice WHERE company_id = {c}
aging_by_co|SELECT company_id, $aging FROM ar.invoice WHERE open_amount <> 0 GROUP BY company_id ORDER BY company_id
aging_total|SELECT $aging FROM ar.invoice WHERE open_amount <> 0
kpis_total|SELECT $kpis FROM ar.invoice"
timer="CREATE FUNCTION public.bench_ms(q text) RETURNS double precision LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN EXECUTE q; RETURN extract(epoch FROM clock_timestamp() - t0) * 1000; END \$\$"
one -c "$timer" >/dev/null
co -c "$timer" >/dev/null

declare -A ms_one ms_citus
equal=yes
while IFS='|' read -r name sql; do
	[ -n "$name" ] || continue
	# the results first: equal on both sides (for a few companies where per company)
	for c in 1001 $((1000 + COMPANIES / 2)) $((1000 + COMPANIES)); do
		q=${sql//\{c\}/$c}
		if [ "$(one -c "$q" | md5sum)" != "$(co -c "$q" | md5sum)" ]; then
			equal=no; echo "DIFFERENT: $name (company $c)"
		fi
		[[ "$sql" == *"{c}"* ]] || break
	done
	a=() b=()
	for r in $(seq 1 "$RUNS"); do
		c=$((1001 + (r * 7919) % COMPANIES))
		q=${sql//\{c\}/$c}; q=${q//\'/\'\'}
		a+=("$(one -c "SELECT public.bench_ms('$q')")")
		b+=("$(co -c "SELECT public.bench_ms('$q')")")
	done
	ms_one[$name]=$(printf '%s\n' "${a[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")
	ms_citus[$name]=$(printf '%s\n' "${b[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")
done <<<"$queries"

peak=$(co -c "SELECT $aging FROM ar.invoice WHERE open_amount <> 0" -c "$BENCH_HWM_SQL" | tail -1)
echo
echo "# $INVOICES invoices, $COMPANIES companies; Citus: coordinator + 2 workers, 32 shards, on this machine's $(nproc) cores"
echo "load: one node ${load_one} s, through the coordinator ${load_citus} s"
printf '%-14s %12s %12s %8s\n' query "one node ms" "citus ms" "ratio"
for name in company_aging company_kpis aging_by_co aging_total kpis_total; do
	printf '%-14s %12.1f %12.1f %8.2f\n' "$name" "${ms_one[$name]}" "${ms_citus[$name]}" \
		"$(echo "${ms_citus[$name]} / ${ms_one[$name]}" | bc -l)"
done
echo "dunning run, reconcile of 100k lines: not run on the distributed ledger yet (doc/scale_out.md, blockers 5 and 6)"
echo "results equal on both sides: $equal"
echo "peak memory of the coordinator's backend (aging across companies): $peak MB"
bench_summary "citus_scale.sh: the ledger on Citus (coordinator + 2 workers, one machine) vs one node" \
	"$INVOICES invoices, $COMPANIES companies" \
	"one company's aging $(echo "${ms_citus[company_aging]} / ${ms_one[company_aging]}" | bc -l | xargs printf '%.2f') x, every company's $(echo "${ms_citus[aging_by_co]} / ${ms_one[aging_by_co]}" | bc -l | xargs printf '%.2f') x" \
	"results equal" "$peak"
[ "$equal" = yes ]
