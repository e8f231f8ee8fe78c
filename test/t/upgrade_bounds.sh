#!/usr/bin/env bash
# Upgrading a 0.1.0 database that holds values beyond the 0.2.0 input bounds
# (doc/input-bounds.md), which 0.1.0 accepted: ALTER EXTENSION ar_collect
# UPDATE stops before changing anything, with an error listing every such
# value; once they are corrected, the upgrade goes through.  Likewise a
# company with id 0, since 0.2.0 the key of shared configuration's audit
# chain (doc/audit.md).  Prints TAP; run
# by tools/test.sh against its throwaway cluster.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../tools/tap.sh"
db=ar_upgrade_bounds
work=$(mktemp -d /tmp/ar_upgrade_bounds.XXXXXX)
trap '[ -n "${AR_KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

echo "1..8"
fresh_databases $db
q $db "SET client_min_messages = warning; CREATE EXTENSION ar_collect VERSION '0.1.0'" >/dev/null
# what 0.1.0 let through: an invoice of 1e60, a payment on -infinity, a
# credit of 1e100, a name with CR/LF, an address that is not one
$PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -d $db >"$work/load.log" 2>&1 <<'SQL'
INSERT INTO ar.customer (code, name, email) VALUES ('UB-1', E'Evil\r\nBcc: all@victim.example', 'not-an-email'),
                                                   ('UB-2', 'Fine SARL', 'compta@fine.example');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'UB-BIG', '2026-01-01', '2026-01-31', 1e60 FROM ar.customer WHERE code = 'UB-1';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'UB-OK', '2026-01-01', '2026-01-31', 100 FROM ar.customer WHERE code = 'UB-2';
SELECT ar.record_payment('UB-OK', 10, '-infinity');
SELECT ar.record_payment('UB-OK', 1e100, '2026-02-01');
SQL
check "0.1.0 accepts the values beyond the bounds" test $? -eq 0 || sed 's/^/# /' "$work/load.log"

q $db "SET client_min_messages = warning; ALTER EXTENSION ar_collect UPDATE" >"$work/update.log" 2>&1
check "ALTER EXTENSION ar_collect UPDATE is refused" grep -q "ERROR:  ar_collect 0.2.0 refuses 5 stored value(s) beyond its input bounds" "$work/update.log" ||
	sed 's/^/# /' "$work/update.log"
lists_all() {
	grep -q 'ar.invoice id [0-9]*, amount = 10000000000.*(amount not finite' "$1" &&
	grep -q 'ar.allocation id [0-9]*, allocated_on = -infinity ' "$1" &&
	grep -q 'ar.customer_credit id [0-9]*, amount = 9999' "$1" &&
	grep -qF 'name = Evil\u000d\u000aBcc: all@victim.example (control character' "$1" &&
	grep -q 'ar.customer id [0-9]*, email = not-an-email (not one e-mail address)' "$1"
}
check "the error lists every value: table, id, column, value" lists_all "$work/update.log" ||
	sed 's/^/# /' "$work/update.log"
check "nothing was changed: still 0.1.0, no constraint added" \
	test "$(q $db "SELECT extversion || (SELECT count(*) FROM pg_constraint WHERE conname LIKE '%_input_bounds') FROM pg_extension WHERE extname = 'ar_collect'")" = 0.1.00

# corrected (as an administrator would), the upgrade goes through
$PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -d $db >"$work/fix.log" 2>&1 <<'SQL'
SET ar_collect.restoring = on;
DELETE FROM ar.allocation WHERE allocated_on = '-infinity';
DELETE FROM ar.customer_credit WHERE amount >= 1e16;
UPDATE ar.invoice SET amount = 1000 WHERE number = 'UB-BIG';
UPDATE ar.customer SET name = 'Evil', email = NULL WHERE code = 'UB-1';
SQL
q $db "SET client_min_messages = warning; ALTER EXTENSION ar_collect UPDATE" >"$work/update2.log" 2>&1
check "once corrected, the upgrade goes through" \
	test "$(q $db "SELECT installed_version = default_version FROM pg_available_extensions WHERE name = 'ar_collect'")" = t ||
	sed 's/^/# /' "$work/fix.log" "$work/update2.log"
refused() { ! q $db "$1" >/dev/null 2>&1; }
check "and the bounds hold" refused "SELECT ar.record_payment('UB-OK', 10, '-infinity')"

# a company with id 0 (0.1.0's identity starts at 1: given by hand)
fresh_databases $db
q $db "SET client_min_messages = warning; CREATE EXTENSION ar_collect VERSION '0.1.0';
       INSERT INTO ar.company (id, code, name) VALUES (0, 'ZERO', 'Company zero')" >/dev/null
q $db "SET client_min_messages = warning; ALTER EXTENSION ar_collect UPDATE" >"$work/update0.log" 2>&1
check "a company with id 0 stops the upgrade, named, the reason given" \
	grep -q "ERROR:  cannot upgrade ar_collect: company ZERO has id 0" "$work/update0.log" ||
	sed 's/^/# /' "$work/update0.log"
check "and nothing was changed: still 0.1.0" \
	test "$(q $db "SELECT extversion FROM pg_extension WHERE extname = 'ar_collect'")" = 0.1.0

[ -n "${AR_KEEP_DBS:-}" ] || $PG_BIN/dropdb $db
