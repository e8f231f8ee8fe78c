#!/usr/bin/env bash
# The one-command demo of ar_collect, for a fresh Debian 12 machine (as root):
# installs what is missing, builds and installs the extension, (re)starts a
# persistent cluster (in /var/lib/postgresql, named after the checkout, so
# that the postgres OS user can reach it from any checkout), recreates the database ar_demo with a
# generated ledger (demo/generate.sql) and prints the credit manager's first
# page (demo/report.sql).  Running it again regenerates the same data.
#
#   bash tools/demo.sh [--customers N] [--invoices N] [--seed S]
#   bash tools/demo.sh --stop
# The port is 54330 unless AR_DEMO_PORT says otherwise.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DATADIR=/var/lib/postgresql/ar_collect_demo.$(printf '%s' "$ROOT" | md5sum | cut -c1-8)/cluster
PORT=${AR_DEMO_PORT:-54330}
customers=2000 invoices=60000 seed=0.42

usage() {
	sed -n 's/^#   //p' "$0"
}

while [ $# -gt 0 ]; do
	case $1 in
		--customers) customers=${2:?--customers needs a number}; shift 2 ;;
		--invoices) invoices=${2:?--invoices needs a number}; shift 2 ;;
		--seed) seed=${2:?--seed needs a number}; shift 2 ;;
		--stop)
			cluster_stop "$DATADIR"
			log "demo cluster stopped"
			exit 0
			;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; exit 2 ;;
	esac
done
[[ $customers =~ ^[1-9][0-9]*$ && $invoices =~ ^[1-9][0-9]*$ ]] ||
	{ echo "--customers and --invoices take a positive integer" >&2; exit 2; }
[[ $seed =~ ^-?[0-9]*\.?[0-9]+$ ]] || { echo "--seed takes a number between -1 and 1" >&2; exit 2; }

ensure_packages
build_and_install

# A running server keeps the library it preloaded: restart it on the new one,
# on the port asked for now (cluster_start writes the port at creation only).
cluster_stop "$DATADIR"
if [ -f "$DATADIR/PG_VERSION" ]; then
	as_postgres sed -i "s/^port = [0-9]*$/port = $PORT/" "$DATADIR/postgresql.conf"
fi
log "starting the demo cluster in $DATADIR (port $PORT)"
cluster_start "$DATADIR" "$PORT" || { tail -n 20 "$DATADIR/server.log" >&2; exit 1; }

export PGOPTIONS='-c client_min_messages=warning'
sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 "$@"; }

log "generating the ledger: $customers customers, $invoices documents, seed $seed"
started=$(date +%s)
sql -d postgres -c 'DROP DATABASE IF EXISTS ar_demo WITH (FORCE)' -c 'CREATE DATABASE ar_demo'
sql -d ar_demo -c 'CREATE EXTENSION ar_collect' -c 'ALTER DATABASE ar_demo SET search_path = "$user", public, ar' -f "$ROOT/demo/generate.sql"
sql -d ar_demo -v customers="$customers" -v invoices="$invoices" -v seed="$seed" <<'SQL'
\pset footer off
SELECT * FROM ar_demo.generate(customers => :customers, invoices => :invoices, seed => :'seed');
SQL
# What later features do with the generated ledger (import statements,
# reconcile, run dunning, train models...), in name order.
for step in "$ROOT"/demo/steps/*.sql; do
	[ -e "$step" ] || continue
	log "$(basename "$step" .sql)"
	sql -d ar_demo -f "$step"
done
log "generated in $(($(date +%s) - started)) s"

# report.sql first, then each feature's report_*.sql
for report in "$ROOT"/demo/report.sql "$ROOT"/demo/report_*.sql; do
	[ -e "$report" ] || continue
	sql -d ar_demo -f "$report"
done

cat <<EOF

Connect:  psql -h $DATADIR -p $PORT -U postgres ar_demo
Stop:     bash tools/demo.sh --stop
EOF
