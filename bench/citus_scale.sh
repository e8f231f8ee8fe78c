#!/usr/bin/env bash
# bench/citus_scale.sh [INVOICES] [COMPANIES] -- the ledger on Citus against
# the same ledger on one node (issue 14; doc/scale_out.md).
#
# Needs Citus built into the PostgreSQL tree (AR_PG_BIN; doc/scale_out.md
# says how); exits 2 without it.  Builds and installs ar_collect, starts one
# node (port AR_BENCH_PORT, default 54460) and a Citus coordinator with two
# workers (the next three ports), all with ar_collect preloaded, and
# distributes the whole database on the Citus side
# (CALL ar.distribute).  Loads the same INVOICES invoices (default
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
# and then, once on each side (they write): a dunning run of every company
# (ar.run_dunning, delegated once per node on Citus), the run of a month
# later (dunning_next: escalated letters, which state the penalty terms,
# ar.penalty_terms) and ar.reconcile() of
# LINES bank lines (default 100,000) over every company, each paying an
# open invoice of its company by its number (a tenth half of it).  It
# prints each Citus time over the one node's, with the results compared
# (equal, or the benchmark fails; the notices and the bank lines'
# decisions without their ids and timestamps).  All four clusters share
# this machine's cores: the ratios say what the distribution costs or saves
# here, not what separate machines would give.
#
# Environment: AR_BENCH_PORT, AR_BENCH_NO_BUILD=1, RUNS, LINES; PARTS
# (default "reads dunning dunning_next reconcile"; e.g. PARTS="dunning
# dunning_next" for the letters alone: dunning_next needs dunning before it).
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"
source "$ROOT/tools/citus_lib.sh"

INVOICES=${1:-10000000}
COMPANIES=${2:-1000}
RUNS=${RUNS:-5}
LINES=${LINES:-100000}
PARTS=" ${PARTS:-reads dunning dunning_next reconcile} "
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
# (the background worker off: it would reconcile the loaded bank lines on
# its own while the reads are measured)
cluster_start "$WORK/single" $PORT "listen_addresses = 'localhost'" "ar_collect.enabled = off" \
	|| { cat "$WORK/single/server.log" >&2; exit 1; }
# (32 shards: a statement over every company opens up to 16 connections
# per worker, and the workers open their own to the coordinator)
citus_cluster_start "$WORK" $((PORT + 1)) "ar_collect.enabled = off" "max_connections = 300" || exit 1
one -c "CREATE EXTENSION ar_collect" >/dev/null
co -c "CREATE EXTENSION ar_collect" >/dev/null
# the whole database distributed by company, as a DBA does it
# (doc/scale_out.md, "How to distribute"); the definer role connects
# between the nodes
co -c "ALTER ROLE ar_definer LOGIN CONNECTION LIMIT -1" >/dev/null
co -c "CALL ar.distribute(32)" >/dev/null || exit 1

# The same rows on both sides: companies 1001.., 50 customers each, invoices
# spread over the companies, issued over 300 days, a third paid in full, a
# sixth partly paid.  Sent statement by statement (psql's standard input):
# Citus propagates a SET LOCAL by sending the text of the query it came in,
# which must be that statement alone.
# (the companies first, their triggers on: a transaction that reached the
# workers before its SET LOCAL leaves their connections without it, and
# the ledger triggers would then reset the open amounts loaded)
load="
INSERT INTO ar.company (id, code, name, iban) OVERRIDING SYSTEM VALUE
SELECT 1000 + g, 'CO' || g, 'Company ' || g, 'FR7630006000011234567890189' FROM generate_series(1, $COMPANIES) g;
BEGIN;
SET LOCAL citus.propagate_set_commands = 'local';
SET LOCAL session_replication_role = replica;
INSERT INTO ar.customer (id, company_id, code, name, email) OVERRIDING SYSTEM VALUE
SELECT co * 100 + k, co, 'C' || k, 'Customer ' || k, 'ap@c' || k || '.co' || co || '.example'
  FROM generate_series(1001, 1000 + $COMPANIES) co, generate_series(1, 50) k;
INSERT INTO ar.invoice (id, company_id, customer_id, number, issue_date, due_date, amount, open_amount,
                        written_off_amount, last_allocated_on) OVERRIDING SYSTEM VALUE
SELECT g, c, c * 100 + 1 + (g / $COMPANIES) % 50, 'F' || g, i, i + 30 + (g % 3) * 15, a,
       CASE g % 6 WHEN 0 THEN 0 WHEN 3 THEN 0 WHEN 1 THEN round(a * 0.4, 2) ELSE a END,
       CASE WHEN g % 97 = 0 THEN a ELSE 0 END,
       CASE WHEN g % 6 IN (0, 1, 3) THEN i + 40 END
  FROM generate_series(1, $INVOICES) g,
       LATERAL (SELECT 1001 + g % $COMPANIES AS c, DATE '2025-09-01' + (g % 300) AS i,
                       round(50 + (g * 37) % 9950 + (g % 100) / 100.0, 2) AS a) x;
-- the bank lines: line n pays invoice g = 6 k + 2 (open in full), k spread
-- over the invoices by a prime, by its number; a tenth half of it
INSERT INTO ar.bank_transaction (id, company_id, booking_date, amount, counterparty_name, remittance_info,
                                 end_to_end_id, status, allocated_amount) OVERRIDING SYSTEM VALUE
SELECT n, 1001 + g % $COMPANIES, DATE '$AS_OF', CASE WHEN n % 10 = 0 THEN round(a / 2, 2) ELSE a END,
       'CUSTOMER ' || (1 + (g / $COMPANIES) % 50), 'Facture F' || g, 'NOTPROVIDED', 'unmatched', 0
  FROM generate_series(1, $LINES) n,
       LATERAL (SELECT 6 * ((n::bigint * 7919) % ($INVOICES / 6)) + 2 AS g) k,
       LATERAL (SELECT round(50 + (k.g * 37) % 9950 + (k.g % 100) / 100.0, 2) AS a) x
 WHERE k.g <= $INVOICES;
COMMIT;"
# (the summaries the load bypassed rebuilt: the run and the reconciliation
# maintain them)
log "loading $INVOICES invoices of $COMPANIES companies and $LINES bank lines on one node"
t0=$SECONDS; one <<<"$load"; one -c "VACUUM ANALYZE" -c "SELECT ar.rebuild_summaries()" >/dev/null; load_one=$((SECONDS - t0))
log "loading the same rows through the Citus coordinator"
t0=$SECONDS; co <<<"$load"; co -c "VACUUM ANALYZE" -c "SELECT ar.rebuild_summaries()" >/dev/null; load_citus=$((SECONDS - t0))

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
	[[ "$PARTS" == *" reads "* ]] || continue
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

# the writers, once each side, the results compared
notices="SELECT md5(string_agg(concat_ws(':', company_id, customer_id, level, channel, invoice_ids, amount_due, penalties, md5(body)), '|'
                              ORDER BY company_id, customer_id, level, invoice_ids)) || ' ' || count(*) FROM ar.dunning_notice"
decisions="SELECT md5(string_agg(concat_ws(':', t.id, t.status, t.allocated_amount, x.allocs), '|' ORDER BY t.id)) || ' ' || count(*) FILTER (WHERE t.allocated_amount > 0)
             FROM ar.bank_transaction t
             LEFT JOIN (SELECT a.company_id, a.bank_transaction_id, string_agg(a.invoice_id || '=' || a.amount, ',' ORDER BY a.invoice_id) AS allocs
                          FROM ar.allocation a WHERE a.bank_transaction_id IS NOT NULL GROUP BY 1, 2) x
               ON x.company_id = t.company_id AND x.bank_transaction_id = t.id"
for w in dunning dunning_next reconcile; do
	[[ "$PARTS" == *" $w "* ]] || continue
	case $w in
		dunning) q="SELECT count(*) FROM ar.run_dunning(DATE '$AS_OF')"; check=$notices ;;
		dunning_next) q="SELECT count(*) FROM ar.run_dunning(DATE '$AS_OF' + 31)"; check=$notices ;;
		reconcile) q="SELECT ar.reconcile()"; check=$decisions ;;
	esac
	log "$w: one node"
	ms_one[$w]=$(one -c "SELECT public.bench_ms('${q//\'/\'\'}')")
	log "$w: Citus"
	ms_citus[$w]=$(co -c "SELECT public.bench_ms('${q//\'/\'\'}')")
	got_one=$(one -c "$check"); got_citus=$(co -c "$check")
	echo "$w: one node $got_one, Citus $got_citus"
	[ "$got_one" = "$got_citus" ] || { equal=no; echo "DIFFERENT: $w"; }
done

peak=$(co -c "SELECT $aging FROM ar.invoice WHERE open_amount <> 0" -c "$BENCH_HWM_SQL" | tail -1)
echo
echo "# $INVOICES invoices, $COMPANIES companies; Citus: coordinator + 2 workers, 32 shards, on this machine's $(nproc) cores"
echo "load: one node ${load_one} s, through the coordinator ${load_citus} s"
printf '%-14s %12s %12s %8s\n' query "one node ms" "citus ms" "ratio"
for name in company_aging company_kpis aging_by_co aging_total kpis_total dunning dunning_next reconcile; do
	[ -n "${ms_one[$name]:-}" ] || continue
	printf '%-14s %12.1f %12.1f %8.2f\n' "$name" "${ms_one[$name]}" "${ms_citus[$name]}" \
		"$(echo "${ms_citus[$name]} / ${ms_one[$name]}" | bc -l)"
done
echo "results equal on both sides: $equal"
echo "peak memory of the coordinator's backend (aging across companies): $peak MB"
[ "$PARTS" = " reads dunning dunning_next reconcile " ] && bench_summary "citus_scale.sh: the ledger on Citus (coordinator + 2 workers, one machine) vs one node" \
	"$INVOICES invoices, $COMPANIES companies" \
	"one company's aging $(echo "${ms_citus[company_aging]} / ${ms_one[company_aging]}" | bc -l | xargs printf '%.2f') x, every company's $(echo "${ms_citus[aging_by_co]} / ${ms_one[aging_by_co]}" | bc -l | xargs printf '%.2f') x, dunning run $(echo "${ms_citus[dunning]} / ${ms_one[dunning]}" | bc -l | xargs printf '%.2f') x, the next month's (escalated letters stating the penalty terms) $(echo "${ms_citus[dunning_next]} / ${ms_one[dunning_next]}" | bc -l | xargs printf '%.2f') x, reconcile of $LINES lines $(echo "${ms_citus[reconcile]} / ${ms_one[reconcile]}" | bc -l | xargs printf '%.2f') x; results equal: $equal" \
	"results equal" "$peak"
[ "$equal" = yes ]
