# Sourced by the shell TAP tests test/*.sh: numbered checks and a quiet psql.
# tools/test.sh runs those tests against its throwaway cluster with PGHOST,
# PGPORT and PGUSER set and PG_BIN given.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
n=0

check() {	# check DESCRIPTION COMMAND...: prints "ok N" or "not ok N"
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fi
}

q() {	# q DATABASE SQL: the result, unaligned, without headers
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

fresh_databases() {	# fresh_databases NAME...: dropped if they exist, created empty
	local db
	for db in "$@"; do
		$PG_BIN/dropdb --if-exists "$db" && $PG_BIN/createdb "$db" || return 1
	done
}
