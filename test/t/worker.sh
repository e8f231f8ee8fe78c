#!/usr/bin/env bash
# The background worker on the harness cluster (started by tools/test.sh with
# shared_preload_libraries = 'ar_collect'; PGHOST, PGPORT, PGUSER and PG_BIN
# set).  Points the preloaded worker at a test database with a 1-second
# naptime, and checks that it runs the day's dunning by itself; that when it
# is killed (SIGKILL) in the middle of the run the postmaster starts it
# again, the interrupted run is marked failed and no notice is queued twice;
# that it reloads its settings on SIGHUP, announces notices with NOTIFY,
# survives failing cycles, and that ar.start_worker() and SIGTERM work.
# Every wait is a bounded loop on a condition.  The settings and the
# database are restored at the end.  Prints TAP.
set -uo pipefail
source "$(dirname "$0")/../../tools/tap.sh"
DB=ar_worker_test
holder=
squatter=
q() {	# q DATABASE SQL: one value; empty (and no error) while the server restarts
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>/dev/null
}
wait_for() {	# wait_for SECONDS DATABASE SQL: until SQL returns t
	local limit=$1 db=$2 sql=$3 i
	for ((i = 0; i < limit * 4; i++)); do
		[ "$(q "$db" "$sql")" = t ] && return 0
		sleep 0.25
	done
	return 1
}
worker_pid() { q "$DB" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'ar_collect worker' AND datname = '$DB'"; }
settings() {
	q postgres "$1" >/dev/null
	q postgres "SELECT pg_reload_conf()" >/dev/null
}
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	[ -n "$squatter" ] && kill "$squatter" 2>/dev/null
	settings "ALTER SYSTEM RESET ar_collect.database"
	settings "ALTER SYSTEM RESET ar_collect.naptime"
	settings "ALTER SYSTEM RESET ar_collect.dunning_at"
	# the preloaded worker leaves the test database (it restarts on postgres)
	wait_for 60 postgres "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'ar_collect worker')"
	$PG_BIN/psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS ar_worker_squatter" 2>/dev/null
}
trap cleanup EXIT

echo "1..16"
$PG_BIN/psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null
$PG_BIN/createdb $DB
q $DB "SET client_min_messages = warning; CREATE EXTENSION ar_collect" >/dev/null
q $DB "INSERT INTO ar.customer (code, name, email) SELECT 'W' || g, 'Worker customer ' || g, 'w' || g || '@example.com'
         FROM generate_series(1, 5) g;
       INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
       SELECT id, 'WI-' || code, current_date - 50, current_date - 20, 100 FROM ar.customer" >/dev/null

# A session holds a lock that the run needs to queue its notices, so that
# the worker is caught in the middle of its run.
$PG_BIN/psql -X -q -d $DB -c "BEGIN; LOCK TABLE ar.dunning_notice IN SHARE ROW EXCLUSIVE MODE; SELECT pg_sleep(300); COMMIT" \
	>/dev/null 2>&1 &
holder=$!
wait_for 30 $DB "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'ar.dunning_notice'::regclass AND mode = 'ShareRowExclusiveLock' AND granted)"

# A role with no privilege holds the advisory locks that made the worker
# the only one of its database and serialised the dunning runs before
# 0.2.0: the worker then never served the database (doc/security.md).
$PG_BIN/psql -X -q -d postgres -c "DROP ROLE IF EXISTS ar_worker_squatter" -c "CREATE ROLE ar_worker_squatter LOGIN" >/dev/null 2>&1
$PG_BIN/psql -X -q -U ar_worker_squatter -d $DB \
	-c "SELECT pg_advisory_lock(hashtext('ar_collect.worker')), pg_advisory_lock(hashtext('ar_collect.run_dunning'))" \
	-c "SELECT pg_sleep(300)" >/dev/null 2>&1 &
squatter=$!
squatted="SELECT count(*) = 2 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND a.usename = 'ar_worker_squatter'"
wait_for 30 $DB "$squatted"

# the preloaded worker moves to the test database; dunning due at once
settings "ALTER SYSTEM SET ar_collect.database = '$DB'"
settings "ALTER SYSTEM SET ar_collect.naptime = 1"
settings "ALTER SYSTEM SET ar_collect.dunning_at = '00:00'"
check "the preloaded worker connects to ar_collect.database, backend type 'ar_collect worker'" \
	wait_for 60 $DB "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'ar_collect worker' AND datname = '$DB')"
check "it starts the day's dunning by itself (and waits for the lock)" \
	wait_for 60 $DB "SELECT EXISTS (SELECT 1 FROM ar.worker_run r JOIN pg_stat_activity a ON a.pid = r.pid
	                   WHERE r.kind = 'dunning' AND r.status = 'running' AND a.wait_event_type = 'Lock')"
check "a role holding the former advisory locks of the worker and of the run stalled neither (the run waits for the table only)" \
	wait_for 5 $DB "SELECT ($squatted) AND EXISTS (SELECT 1 FROM ar.worker_run r JOIN pg_stat_activity a ON a.pid = r.pid
	                 WHERE r.kind = 'dunning' AND r.status = 'running' AND a.wait_event = 'relation')"

# SIGKILL in the middle of the run: the postmaster reinitialises and starts it again
old=$(worker_pid)
kill -KILL "$old"
check "after SIGKILL, the postmaster starts the worker again" \
	wait_for 90 $DB "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'ar_collect worker' AND datname = '$DB' AND pid <> $old)"
check "the run interrupted by the kill is marked failed" \
	wait_for 60 $DB "SELECT EXISTS (SELECT 1 FROM ar.worker_run WHERE pid = $old AND status = 'failed' AND error LIKE '%stopped before the end%')"
check "the notices appear by themselves: one per customer" \
	wait_for 60 $DB "SELECT count(*) = 5 AND count(DISTINCT customer_id) = 5 FROM ar.dunning_notice"
check "no notice was queued twice: one successful run for today, one registry row" \
	test "$(q $DB "SELECT (SELECT count(*) FROM ar.worker_run WHERE kind = 'dunning' AND status = 'succeeded' AND as_of = current_date)
	                || '/' || (SELECT count(*) FROM ar.dunning_run WHERE as_of = current_date)
	                || '/' || (SELECT count(*) FROM (SELECT 1 FROM ar.dunning_notice GROUP BY customer_id, currency, as_of
	                                                  HAVING count(*) > 1) d)")" = "1/1/0"
cycles=$(q $DB "SELECT cycles FROM ar.worker_state")
check "later cycles queue nothing more" \
	eval 'wait_for 60 $DB "SELECT cycles >= ${cycles:-0} + 3 FROM ar.worker_state" &&
	      test "$(q $DB "SELECT count(*) FROM ar.dunning_notice")" = 5'

# the next day's re-aging of the dashboard summaries (made due by moving
# their aging date back)
q $DB "UPDATE ar.summary_state SET aged_on = current_date - 1" >/dev/null
check "the worker re-ages the dashboard summaries once the day has changed" \
	wait_for 60 $DB "SELECT aged_on = current_date AND (SELECT count(*) FROM ar.check_summaries()) = 0 FROM ar.summary_state"

# SIGHUP: new settings are read (and recorded by the worker)
settings "ALTER SYSTEM SET ar_collect.naptime = 2"
check "on SIGHUP the worker reloads its settings" \
	wait_for 60 $DB "SELECT naptime = 2 AND pid = (SELECT pid FROM pg_stat_activity WHERE backend_type = 'ar_collect worker'
	                                               AND datname = '$DB') FROM ar.worker_status"

# NOTIFY ar_dunning carries the id of each queued notice (a manual run a week later)
out=$($PG_BIN/psql -X -q -t -A -d $DB -c "LISTEN ar_dunning" \
	-c "SELECT string_agg(id::text, ',' ORDER BY id) FROM ar.run_dunning(current_date + 8)" 2>/dev/null)
ids=$(echo "$out" | head -1)
notified=$(echo "$out" | sed -n 's/^Asynchronous notification "ar_dunning" with payload "\([0-9]*\)".*/\1/p' | sort -n | paste -sd,)
check "each queued notice is announced by NOTIFY ar_dunning with its id" \
	test -n "$ids" -a "$ids" = "$notified"

# a failing cycle is recorded and tried again, the worker stays up
pid=$(worker_pid)
q $DB "CREATE FUNCTION public.test_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$
       BEGIN RAISE EXCEPTION 'test: dunning refused'; END \$\$;
       CREATE TRIGGER test_refuse BEFORE INSERT ON ar.dunning_run FOR EACH ROW EXECUTE FUNCTION public.test_refuse();
       DELETE FROM ar.dunning_run WHERE as_of = current_date" >/dev/null
check "a failing cycle is logged and recorded, and tried again at the next cycle by the same process" \
	wait_for 60 $DB "SELECT (SELECT count(*) FROM ar.worker_run WHERE status = 'failed' AND error = 'test: dunning refused') >= 2
	                 AND last_error = 'test: dunning refused' AND pid = $pid FROM ar.worker_status"
q $DB "DROP TRIGGER test_refuse ON ar.dunning_run" >/dev/null
check "once the cause is gone the day's dunning succeeds, without a notice twice" \
	eval 'wait_for 60 $DB "SELECT EXISTS (SELECT 1 FROM ar.dunning_run WHERE as_of = current_date)" &&
	      test "$(q $DB "SELECT count(*) FROM ar.dunning_notice WHERE as_of = current_date")" = 5'

# without preloading: ar.start_worker() on a database; SIGTERM stops it cleanly
settings "ALTER SYSTEM RESET ar_collect.database"
wait_for 60 postgres "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'ar_collect worker')"
started=$(q $DB "SELECT ar.start_worker()")
check "ar.start_worker() starts a worker for the current database, once" \
	eval '[ -n "$started" ] && [ "$(q $DB "SELECT ar.start_worker()")" = "$started" ] &&
	      wait_for 30 $DB "SELECT pid = $started FROM ar.worker_status"'
datadir=$(q postgres "SHOW data_directory")
q postgres "SELECT pg_terminate_backend($started)" >/dev/null
check "SIGTERM: the worker exits cleanly and is not restarted" \
	eval 'wait_for 30 $DB "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = '"'"'ar_collect worker'"'"' AND datname = '"'"'$DB'"'"')" &&
	      { [ ! -r "$datadir/server.log" ] || grep -q "ar_collect worker for database \"$DB\" shutting down" "$datadir/server.log"; }'

cleanup
trap - EXIT
check "settings restored, test database dropped" \
	test "$(q postgres "SELECT current_setting('ar_collect.naptime') || ' ' || current_setting('ar_collect.database') || ' '
	                    || NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB')")" = "1min postgres true"
