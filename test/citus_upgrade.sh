#!/usr/bin/env bash
# A 0.1.0 database upgraded, then distributed (issue 14; doc/scale_out.md,
# "How to distribute"): the trail 0.1.0 sealed stays the legacy chain, whose
# head (ar.audit_legacy_chain, a table kept on each node) every company
# chain starts from.  A coordinator and two workers of its own; the ledger
# of test/t/upgrade_data_0.1.0.sql written through 0.1.0's API, the
# extension updated on every node, the database distributed by CALL
# ar.distribute(4), then written again (a company of the upgrade and a
# company created after the distribution).  Prints TAP, or "1..0 # SKIP"
# without citus.  Needs the ports AR_CITUS_PORT + 9 to + 11 (default 55719).
set -uo pipefail
source "$(dirname "$0")/../tools/lib.sh"
source "$ROOT/tools/citus_lib.sh"
source "$ROOT/tools/tap.sh"
citus_test_begin 9 citus_upgrade

qn() {	# qn NODE SQL: on node 0 (coordinator), 1 or 2 (workers), database postgres
	citus_sql $BASE "$1" "$2"
}
is() {	# is GOT WANT: equal, else both printed
	[ "$1" = "$2" ] && return 0
	echo "# got:  $1" | head -20; echo "# want: $2" | head -20
	return 1
}
legacy_row="SELECT last_seq || ':' || encode(last_hash, 'hex') FROM ar.audit_legacy_chain"

echo "1..4"
citus_cluster_start "$WORK" $BASE "ar_collect.enabled = off" || exit 1
qn 0 "CREATE EXTENSION ar_collect VERSION '0.1.0'" >/dev/null || exit 1
$PG_BIN/psql -X -q -h localhost -p $BASE -U postgres -d postgres -f "$ROOT/test/t/upgrade_data_0.1.0.sql" >/dev/null || exit 1
qn 0 "ALTER EXTENSION ar_collect UPDATE" >/dev/null || exit 1
legacy=$(qn 0 "$legacy_row")
check "ALTER EXTENSION ar_collect UPDATE on the coordinator updates every node; the coordinator's 0.1.0 trail recorded as the legacy chain, valid" \
	is "$(for i in 0 1 2; do qn $i "SELECT extversion FROM pg_extension WHERE extname = 'ar_collect'"; done | tr '\n' ' ')$(qn 0 "SELECT valid FROM ar.verify_audit_chain()") ${legacy:+legacy}" \
	   "0.2.0 0.2.0 0.2.0 t legacy"

qn 0 "ALTER ROLE ar_definer LOGIN CONNECTION LIMIT -1" >/dev/null || exit 1
qn 0 "CALL ar.distribute(4)" >/dev/null || exit 1
check "after CALL ar.distribute(4) every node holds the coordinator's legacy chain head (ar.audit_legacy_chain), from which its company chains start" \
	is "$(for i in 0 1 2; do qn $i "$legacy_row"; done | tr '\n' ' ')" "$legacy $legacy $legacy "

# writes after the distribution: a company of the upgrade (its next seal on
# the worker holding it) and a company created now (its first seal there)
qn 0 "INSERT INTO ar.company (code, name) VALUES ('NEWCO', 'New Company')
RETURNING id" >/dev/null || exit 1
qn 0 "INSERT INTO ar.customer (company_id, code, name) SELECT id, 'N1', 'New client' FROM ar.company WHERE code = 'NEWCO';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT company_id, id, 'N1-1', DATE '2026-05-01', DATE '2026-05-31', 250 FROM ar.customer WHERE code = 'N1';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT company_id, id, 'S1-9', DATE '2026-05-02', DATE '2026-06-01', 90.10 FROM ar.customer WHERE code = 'S1'" >/dev/null || exit 1
chains="SELECT string_agg(chain || ':' || valid, ' ' ORDER BY chain, company_id) || ' ' || bool_and(valid) FROM ar.verify_audit_chains()"
check "the chains verified from the coordinator after those writes: every chain valid, the legacy one included" \
	eval 'c=$(qn 0 "$chains"); echo "# $c"; is "${c##* } $(qn 0 "SELECT valid FROM ar.verify_audit_chain()")" "true t"'
first_seals="SELECT count(*) FILTER (WHERE s.prev_hash = ar.audit_genesis_hash(s.company_id) AND s.seq > ar._audit_legacy_seq()) || '/' || count(*)
  FROM (SELECT DISTINCT ON (company_id) * FROM ar.audit_seal ORDER BY company_id, seq) s"
check "each company's first seal (the new company's written on its worker) numbered after the legacy chain and linked to the genesis the coordinator computes from its head" \
	eval 'fs=$(qn 0 "$first_seals"); is "${fs%/*}" "${fs#*/}"'
