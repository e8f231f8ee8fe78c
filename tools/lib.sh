# Shared by tools/test.sh, tools/demo.sh and bench/: install what is missing,
# build and install the extension, and run a private PostgreSQL cluster as
# the postgres OS user.  Source it; it defines functions only.

PG_MAJOR=15
# AR_PG_BIN points at another (e.g. private, relocated) PostgreSQL 15 tree
PG_BIN=${AR_PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}
PG_CONFIG=$PG_BIN/pg_config
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '== %s\n' "$*" >&2; }

# Debian 12 packages the project needs; installs only what is missing.
ensure_packages() {
	local wanted="postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl make gcc libxml2-dev python3-psycopg2 chromium $*"
	local missing="" p
	for p in $wanted; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || { echo "missing packages:$missing (run as root to install them)" >&2; return 1; }
	log "installing:$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Build with warnings as errors and install into the PostgreSQL tree.
build_and_install() {
	log "building ar_collect (-Wall -Wextra -Werror)"
	make -C "$ROOT" -s PG_CONFIG=$PG_CONFIG WERROR=1 clean >/dev/null
	make -C "$ROOT" -s PG_CONFIG=$PG_CONFIG WERROR=1 all
	make -C "$ROOT" -s PG_CONFIG=$PG_CONFIG WERROR=1 install >/dev/null
}

# as_postgres CMD...: PostgreSQL refuses to run as root.
as_postgres() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# cluster_start DATADIR PORT [extra postgres -c settings...]
# Creates the cluster when DATADIR is empty; the socket lives in DATADIR.
cluster_start() {
	local datadir=$1 port=$2; shift 2
	if [ ! -f "$datadir/PG_VERSION" ]; then
		mkdir -p "$datadir"
		[ "$(id -u)" = 0 ] && chown postgres: "$datadir"
		as_postgres $PG_BIN/initdb -D "$datadir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
		{
			echo "listen_addresses = ''"
			echo "unix_socket_directories = '$datadir'"
			echo "port = $port"
			echo "shared_preload_libraries = 'ar_collect'"
			echo "max_worker_processes = 16"
			echo "fsync = off"
			for setting in "$@"; do echo "$setting"; done
		} | as_postgres tee -a "$datadir/postgresql.conf" >/dev/null
	fi
	# A port another cluster on the machine took between our choice and the
	# start (parallel suites, bench clusters) fails the bind: retry a little.
	local attempt
	for attempt in 1 2 3; do
		as_postgres $PG_BIN/pg_ctl -D "$datadir" -l "$datadir/server.log" -w -t 60 start >/dev/null && break
		grep -qE 'could not bind|could not create any TCP/IP sockets|could not create lock file' "$datadir/server.log" 2>/dev/null || return 1
		[ "$attempt" = 3 ] && return 1
		log "cluster on port $port did not start (port busy?): retrying"
		sleep 2
	done
	export PGHOST=$datadir PGPORT=$port PGUSER=postgres
}

cluster_stop() {
	local datadir=$1
	[ -f "$datadir/postmaster.pid" ] || return 0
	as_postgres $PG_BIN/pg_ctl -D "$datadir" -m fast -w stop >/dev/null 2>&1 || true
}

# bench_prepare NAME: packages, the build and install (unless
# AR_BENCH_NO_BUILD=1), and a work directory $WORK for the benchmark's
# cluster, stopped and removed on exit (kept with AR_BENCH_KEEP=1).
bench_prepare() {
	ensure_packages
	[ "${AR_BENCH_NO_BUILD:-}" = 1 ] || build_and_install
	WORK=$(mktemp -d "/tmp/ar_$1.XXXXXX")
	chmod 755 "$WORK"
	trap '[ -n "${AR_BENCH_KEEP:-}" ] || { cluster_stop "$WORK/cluster"; rm -rf "$WORK"; }' EXIT
}

# BENCH_HWM_SQL: a query printing the peak resident memory of the backend
# running it, in MB (VmHWM of Linux /proc/<pid>/status: what the backend
# allocated plus the shared buffers it touched); a benchmark runs it last in
# the session whose memory it reports.
BENCH_HWM_SQL="SELECT round(substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM 'VmHWM:\\s*(\\d+) kB')::numeric / 1024)"

# bench_summary WHAT SIZE RATIO TARGET PEAK_MB: a benchmark's result as one
# row of the results table at the top of bench/README.md (benchmark, size,
# ratio vs its baseline, target, peak memory of the backend, date).
bench_summary() {
	echo "summary: | $1 | $2 | $3 | $4 | $5 MB | $(date -u +%Y-%m-%d) |"
}

# bench_exit VERDICT ERRORS [WHEN]: prints a benchmark's verdict lines and
# its ledger check (ERRORS rows of ar.check_ledger that disagree); exits 1
# when a verdict line says FAIL or the ledger disagrees.
bench_exit() {
	local verdict=$1 errors=$2 when=${3:-} status=0
	echo "$verdict"
	[[ "$verdict" == *FAIL* ]] && status=1
	if [ "$errors" -ne 0 ]; then
		echo "ledger check: $errors rows disagree: FAIL"
		status=1
	else
		echo "ledger check (ar.check_ledger)${when:+ $when}: clean"
	fi
	exit $status
}

# dunning_bench_ledger INVOICES AS_OF: the SQL creating the extension and
# loading bench/dunning.sh's ledger (INVOICES open invoices for INVOICES /
# 10 customers, due dates from 100 days before AS_OF to 20 days after, a
# tenth partly paid), then VACUUM ANALYZE and CHECKPOINT; also read by
# bench/dunning_versions.sh.
# dunning_bench_cpu_sql: SQL defining pg_temp.cpu_ms() (this backend's CPU
# time, user + system, in ms, from /proc) and pg_temp.select_cpu() (the CPU
# of bench/dunning.sh's SELECT of the open invoices with their customers),
# for the benchmarks that compare a dunning run with it in CPU.
dunning_bench_cpu_sql() {
	cat <<EOF
CREATE FUNCTION pg_temp.cpu_ms() RETURNS double precision LANGUAGE sql AS \$\$
	SELECT (f[12]::bigint + f[13]::bigint) * 1000.0 / $(getconf CLK_TCK)
	  FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2), ' ') AS f) s
\$\$;
CREATE FUNCTION pg_temp.select_cpu() RETURNS double precision LANGUAGE plpgsql AS \$\$
DECLARE c0 double precision := pg_temp.cpu_ms();
BEGIN
	EXECUTE 'SELECT c.id, c.code, c.name, c.email, c.language, i.id, i.number, i.due_date, i.amount, i.open_amount
	           FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id WHERE i.open_amount <> 0';
	RETURN pg_temp.cpu_ms() - c0;
END \$\$;
EOF
}

dunning_bench_ledger() {
	local INVOICES=$1 AS_OF=$2 CUSTOMERS=$(($1 / 10))
	cat <<EOF
CREATE EXTENSION ar_collect;
UPDATE ar.company SET name = 'Bench SAS', iban = 'FR7630006000011234567890189';
SELECT setseed(0.42);
-- bulk load: the audit trail is skipped as during a restore
SET ar_collect.restoring = on;
INSERT INTO ar.customer (code, name, email, language)
SELECT 'B' || lpad(g::text, 7, '0'), 'Customer ' || g || ' SARL', 'accounts@c' || g || '.example',
       (ARRAY['fr', 'fr', 'fr', 'en', 'de'])[1 + g % 5]
  FROM generate_series(1, $CUSTOMERS) g;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'FB-' || lpad(d.g::text, 9, '0'), d.due - 30, d.due, d.amount
  FROM (SELECT g, DATE '$AS_OF' - 100 + floor(random() * 121)::integer AS due,
               round((20 + 10 * exp(random() * ln(500)))::numeric, 2) AS amount
          FROM generate_series(1, $INVOICES) g) d
  JOIN ar.customer c ON c.code = 'B' || lpad((1 + (d.g::bigint * 7919) % $CUSTOMERS)::text, 7, '0');
-- a tenth partly paid before the run date
INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method)
SELECT i.id, round(i.amount / 3, 2), i.due_date + 1, 'manual'
  FROM ar.invoice i WHERE i.id % 10 = 0 AND i.due_date < DATE '$AS_OF' - 2;
RESET ar_collect.restoring;
VACUUM ANALYZE;
CHECKPOINT;
EOF
}
