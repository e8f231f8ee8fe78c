#!/usr/bin/env bash
# The audit trail distributed with the ledger on Citus (doc/scale_out.md,
# blocker 8; doc/audit.md): a coordinator and two workers of its own, the
# ledger distributed by company (tools/citus_lib.sh) and then ar.audit_log,
# ar.audit_seal and the GDPR records with it, co-located.  Each company's
# audit rows are written and sealed in its shard on the node holding it, a
# row of a reference table once (by the node holding the company's trail),
# shared configuration's in its chain (company 0); the coordinator reads and
# verifies every chain; moving a company's shards moves its trail, whose
# chain goes on there; a customer is anonymised there as on one node; a
# session on a worker cannot keep its commit from sealing its audit rows or
# folding its summary changes.  Prints TAP, or "1..0 # SKIP" without citus.  Needs
# the ports AR_CITUS_PORT + 3 to + 5 (AR_CITUS_PORT: default 55710).
set -uo pipefail
source "$(dirname "$0")/../tools/lib.sh"
source "$ROOT/tools/citus_lib.sh"
source "$ROOT/tools/tap.sh"
citus_test_begin 3 citus_audit

qn() {	# qn NODE SQL: on node 0 (coordinator), 1 or 2 (workers)
	citus_sql $BASE "$1" "$2"
}
is() {	# is GOT WANT: equal, else both printed
	[ "$1" = "$2" ] && return 0
	echo "# got:  $1" | head -20; echo "# want: $2" | head -20
	return 1
}

echo "1..16"
# (logical replication: Citus moves shards with it)
citus_cluster_start "$WORK" $BASE "ar_collect.enabled = off" "wal_level = logical" || exit 1
qn 0 "CREATE EXTENSION ar_collect" >/dev/null || exit 1
citus_distribute_ledger $BASE 4 || exit 1
# (the definer role connects between the nodes: test/citus.sh, check 16;
# the dunning notices, their effectiveness summary and the e-invoicing
# outbox, which payments maintain, distributed as test/citus.sh does)
qn 0 "ALTER ROLE ar_definer LOGIN CONNECTION LIMIT -1" >/dev/null || exit 1
$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $BASE -U postgres -d postgres -c "SET citus.enable_unsafe_triggers = on" \
	-c "SELECT count(create_distributed_table(t, 'company_id', colocate_with => 'ar.customer'))
	      FROM unnest(ARRAY['ar.dunning_notice', 'ar.dunning_effect_notice', 'ar.dunning_effect_summary', 'ar.dunning_effect_delta', 'ar.einvoice_outbox']) t" >/dev/null 2>&1 || exit 1
before=$(qn 0 "SELECT count(*) || ' ' || count(DISTINCT company_id) FROM ar.audit_log")
citus_distribute_audit_trail $BASE || exit 1
check "ar.audit_log and ar.audit_seal distributed with the ledger; the coordinator's trail copied into their shards as it was" \
	is "$(qn 0 "SELECT ar._audit_trail_distributed(), ar._audit_trail_on_nodes(), (SELECT count(*) || ' ' || count(DISTINCT company_id) FROM ar.audit_log)")" \
	   "t|f|$before"

# a ledger written through the coordinator: two companies, customers,
# invoices, a payment each (allocations)
qn 0 "
INSERT INTO ar.company (id, code, name) OVERRIDING SYSTEM VALUE VALUES (11, 'K', 'Company K'), (12, 'L', 'Company L');
INSERT INTO ar.customer (company_id, code, name) VALUES (11, 'K1', 'Client K1'), (11, 'K2', 'Client K2'), (12, 'L1', 'Client L1');
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT c.company_id, c.id, c.code || '-' || k, DATE '2026-01-05' + k, DATE '2026-02-04' + k, 100 * k
  FROM ar.customer c, generate_series(1, 3) k;" >/dev/null || exit 1
qn 0 "SELECT ar.record_payment('K1-1', 100, DATE '2026-02-10')" >/dev/null &&
qn 0 "SELECT ar.record_payment('L1-2', 50, DATE '2026-02-11')" >/dev/null || exit 1

# where each company's trail is: the node holding its shards, nowhere else
node_of() {	# node_of COMPANY: the port of the node holding the company's audit shard
	qn 0 "SELECT nodeport FROM pg_dist_shard_placement
	       WHERE shardid = get_shard_id_for_distribution_column('ar.audit_log', $1)"
}
rows_on() {	# rows_on PORT COMPANY: the company's audit rows in the audit shard on that node
	$PG_BIN/psql -X -q -t -A -h localhost -p $1 -U postgres -d postgres -c "
		SELECT count(*) FROM ar.audit_log_$(qn 0 "SELECT get_shard_id_for_distribution_column('ar.audit_log', $2)") WHERE company_id = $2" 2>/dev/null
}
k_node=$(node_of 11)
expected_k=$(qn 0 "SELECT count(*) FROM ar.audit_log WHERE company_id = 11")
check "company K's audit rows (its company, customers, invoices and allocations: $expected_k) are in its shard on the node holding its ledger ($k_node)" \
	is "$expected_k $(rows_on $k_node 11) $(qn 0 "SELECT string_agg(DISTINCT table_name, ',' ORDER BY table_name) FROM ar.audit_log WHERE company_id = 11")" \
	   "$expected_k $expected_k allocation,company,customer,invoice"
check "a row of the reference table ar.company is audited once, by the node holding its company's trail (not on each of the 3 placements)" \
	is "$(qn 0 "SELECT count(*) FROM ar.audit_log WHERE table_name = 'company' AND row_id IN (11, 12) AND operation = 'INSERT'")" 2
check "each transaction's rows are sealed per company on that node: K's seals numbered from 1 without a gap, every row covered" \
	is "$(qn 0 "SELECT min(seq) || ' ' || max(seq) || ' ' || count(*) || ' ' || sum(row_count) FROM ar.audit_seal WHERE company_id = 11")" \
	   "1 $(qn 0 "SELECT count(*) FROM ar.audit_seal WHERE company_id = 11") $(qn 0 "SELECT count(*) FROM ar.audit_seal WHERE company_id = 11") $expected_k"

# shared configuration (a reference table of rules): its chain, company 0
qn 0 "UPDATE ar.penalty_regime SET name = name || ' ' WHERE regime = (SELECT min(regime) FROM ar.penalty_regime)" >/dev/null
check "a change of shared configuration (a reference table) is audited once, in the shared chain (company 0), and sealed there" \
	is "$(qn 0 "SELECT count(*) || ' ' || bool_and(company_id = 0) || ' ' || bool_and(EXISTS (SELECT FROM ar.audit_seal s WHERE s.company_id = a.company_id AND s.txid = a.txid))
	             FROM ar.audit_log a WHERE table_name = 'penalty_regime' AND operation = 'UPDATE'")" "1 true true"

check "the coordinator verifies each company's chain on its node: K valid, every row of K checked" \
	is "$(qn 0 "SELECT valid, rows_checked, problem IS NULL FROM ar.verify_audit_chain(11)")" "t|$expected_k|t"
check "ar.verify_audit_chains(): one valid row per chain (shared configuration's, the default company's, K's, L's), every row of the trail checked" \
	is "$(qn 0 "SELECT string_agg(chain || ':' || coalesce(company_id::text, '') || ':' || valid, ' ' ORDER BY chain = 'company', company_id) || ' ' || sum(rows_checked) FROM ar.verify_audit_chains()")" \
	   "$(qn 0 "SELECT string_agg(CASE WHEN company_id = 0 THEN 'shared:' ELSE 'company:' || company_id END || ':true', ' ' ORDER BY company_id) || ' ' || sum(n)
	             FROM (SELECT company_id, count(*) AS n FROM ar.audit_log GROUP BY company_id) c")"

# a row altered on the worker, where the coordinator cannot see it
k_shard=$(qn 0 "SELECT get_shard_id_for_distribution_column('ar.audit_log', 11)")
victim=$(qn 0 "SELECT min(id) FROM ar.audit_log WHERE company_id = 11 AND table_name = 'invoice'")
tamper() {
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $k_node -U postgres -d postgres -c "
		SET session_replication_role = replica;
		UPDATE ar.audit_log_$k_shard SET new_row = jsonb_set(new_row, '{amount}', '$1') WHERE id = $victim" >/dev/null
}
original=$(qn 0 "SELECT new_row ->> 'amount' FROM ar.audit_log WHERE id = $victim AND company_id = 11")
tamper 99999
check "a row altered in K's shard on its worker breaks K's chain, seen from the coordinator, the row named" \
	is "$(qn 0 "SELECT valid, first_broken_id, problem FROM ar.verify_audit_chain(11)")" "f|$victim|row content does not match its hash"
tamper "$original"

head_before=$(qn 0 "SELECT seq || ':' || encode(row_hash, 'hex') FROM ar.audit_chain_head(11)")
check "ar.audit_chain_head(11): K's last seal, from its node" \
	is "$head_before" "$(qn 0 "SELECT seq || ':' || encode(seal_hash, 'hex') FROM ar.audit_seal WHERE company_id = 11 ORDER BY seq DESC LIMIT 1")"

# K's shards moved to the other worker: its trail goes with its ledger
other=$(qn 0 "SELECT nodeport FROM pg_dist_node WHERE groupid > 0 AND nodeport <> ${k_node:-0}")
qn 0 "SELECT citus_move_shard_placement($k_shard, 'localhost', $k_node, 'localhost', $other, shard_transfer_mode => 'block_writes')" >/dev/null
check "K's shards moved to the other worker ($k_node -> $other): its audit rows and seals with them, the chain still valid" \
	is "$(node_of 11) $(rows_on $other 11) $(qn 0 "SELECT valid || ':' || rows_checked FROM ar.verify_audit_chain(11)")" "$other $expected_k true:$expected_k"
qn 0 "INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
      SELECT 11, id, 'K1-MOVED', DATE '2026-03-01', DATE '2026-03-31', 10 FROM ar.customer WHERE company_id = 11 AND code = 'K1'" >/dev/null
check "a write after the move is audited and sealed on K's new node, its seal after the last one made before the move" \
	is "$(qn 0 "SELECT valid || ':' || rows_checked FROM ar.verify_audit_chain(11)") $(qn 0 "SELECT seq - 1 || ':' || encode(prev_hash, 'hex') FROM ar.audit_seal WHERE company_id = 11 ORDER BY seq DESC LIMIT 1")" \
	   "true:$((expected_k + 1)) $head_before"

# an audited table left out of the distribution: its audit row would go
# through the distributed table, from the coordinator's session, to a
# node that would never seal it: the trail's guard there refuses it
out=$(qn 0 "INSERT INTO ar.bank_statement (company_id, format, account_id, statement_ref, content_sha256) VALUES (11, 'csv', 'ACC-K', 'ST-1', sha256('x'))" 2>&1)
check "a write to an audited table not distributed with the trail is refused, nothing stored" \
	eval 'grep -q "ERROR:  ar.audit_log is written by ar_collect only" <<<"$out" &&
	      test "$(qn 0 "SELECT count(*) FROM ar.bank_statement")" = 0' || echo "$out" | sed 's/^/# /'

# erasure (doc/gdpr.md) on the distributed trail: every statement of
# ar.anonymise_customer names the company, so it runs on L's node, where the
# guard of L's audit shard decides each redaction (the row's hash kept and
# its record written in the co-located shard when sealed, hashed again when
# written by this transaction); the same as on one node (a database of its
# own on the coordinator, without Citus)
gone_sql="INSERT INTO ar.customer (company_id, code, name, email) VALUES (12, 'L-GONE', 'Jean Dupont', 'jean.dupont@example.org')"
erase_sql="SELECT ar.anonymise_customer((SELECT id FROM ar.customer WHERE code = 'L-GONE'), 'request 2026-12-07')"
result_sql="SELECT status || ' ' || live_rows || ' ' || audit_rows_redacted FROM ar.gdpr_anonymisation WHERE customer_code = 'L-GONE'"
qn 0 "CREATE DATABASE one" >/dev/null 2>&1
one() { $PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $BASE -U postgres -d one -c "$1"; }
one "CREATE EXTENSION ar_collect" >/dev/null &&
one "INSERT INTO ar.company (id, code, name) OVERRIDING SYSTEM VALUE VALUES (12, 'L', 'Company L')" >/dev/null &&
one "$gone_sql" >/dev/null && one "$erase_sql" >/dev/null
one_node=$(one "$result_sql")
qn 0 "$gone_sql" >/dev/null
out=$(qn 0 "$erase_sql" 2>&1)
l_node=$(node_of 12)
l_redactions=$($PG_BIN/psql -X -q -t -A -h localhost -p $l_node -U postgres -d postgres -c "
	SELECT count(*) FROM ar.audit_redaction_$(qn 0 "SELECT get_shard_id_for_distribution_column('ar.audit_redaction', 12)") WHERE company_id = 12" 2>&1)
check "ar.anonymise_customer on the distributed trail: done as on one node ($one_node: status, live rows, sealed audit rows redacted), no audit row of L naming the person, the redaction recorded on L's node, L's chain valid" \
	is "$(qn 0 "$result_sql") $(qn 0 "SELECT count(*) FROM ar.audit_log WHERE company_id = 12 AND (old_row::text ~ 'Dupont|jean\.dupont' OR new_row::text ~ 'Dupont|jean\.dupont')") $l_redactions $(qn 0 "SELECT valid || ':' || (problem IS NULL) FROM ar.verify_audit_chain(12)")" \
	   "done 1 1 0 1 true:true" || echo "$out" | sed 's/^/# /'
[ "$one_node" = "done 1 1" ] || echo "# one node: $one_node"

# on L's node, a row 'running' committed by hand (no anonymisation runs in
# the transaction that redacts): the guard lets nothing through, because it
# asks whether the row was inserted by its own transaction
l_shard() { qn 0 "SELECT get_shard_id_for_distribution_column('$1', 12)"; }
l_sql() { $PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $l_node -U postgres -d postgres -c "$1" 2>&1; }
l1=$(qn 0 "SELECT id FROM ar.customer WHERE code = 'L1'")
l_sql "INSERT INTO ar.gdpr_anonymisation_$(l_shard ar.gdpr_anonymisation) (id, company_id, customer_id, customer_code, reason, anonymised_by)
       VALUES (999999, 12, $l1, 'L1', 'forged', 'nobody')" >/dev/null
out=$(l_sql "UPDATE ar.audit_log_$(l_shard ar.audit_log) SET new_row = new_row - 'name' WHERE table_name = 'customer' AND row_id = $l1")
check "a row of ar.gdpr_anonymisation left 'running' by another transaction lets no redaction of L's audit shard through" \
	eval 'grep -q "ERROR:  ar.audit_log is append-only" <<<"$out" &&
	      test "$(qn 0 "SELECT count(*) FROM ar.audit_log WHERE company_id = 12 AND table_name = '"'"'customer'"'"' AND row_id = $l1 AND new_row ? '"'"'name'"'"'")" = 1' ||
	echo "$out" | sed 's/^/# /'

# a session connected to K's node writes there (through Citus, into the
# shard by its own backend) and clears, before COMMIT, the settings the seal
# and the fold at commit once read to learn which shards it wrote: its audit
# row is sealed all the same (an unsealed row would leave K's chain reported
# broken for good), and its summary change is folded or its commit refused,
# never left out of the summaries; the shards written are kept in the
# backend, where no SQL reaches (src/xact_state.c)
k_node=$(node_of 11)
on_k() { $PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $k_node -U postgres -d postgres -c "$1" 2>&1; }
out=$(on_k "BEGIN;
	UPDATE ar.customer SET name = name || ' (renamed)' WHERE company_id = 11 AND code = 'K2';
	SET LOCAL ar_collect.audit_shards = '';
	COMMIT;")
check "a session on K's node clearing ar_collect.audit_shards before COMMIT: its audit row is sealed, K's chain valid with every row checked" \
	is "$(qn 0 "SELECT name FROM ar.customer WHERE company_id = 11 AND code = 'K2'") $(qn 0 "SELECT valid || ':' || rows_checked FROM ar.verify_audit_chain(11)")" \
	   "Client K2 (renamed) true:$(qn 0 "SELECT count(*) FROM ar.audit_log WHERE company_id = 11")" || echo "$out" | sed 's/^/# /'
invoices_k=$(qn 0 "SELECT count(*) FROM ar.invoice WHERE company_id = 11")
out=$(on_k "BEGIN;
	INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
	SELECT 11, id, 'K1-CLEARED', DATE '2026-03-02', DATE '2026-04-01', 25 FROM ar.customer WHERE company_id = 11 AND code = 'K1';
	SET LOCAL ar_collect.summary_shards = '';
	COMMIT;")
check "a session on K's node clearing ar_collect.summary_shards before COMMIT: its new invoice folded into the summaries or not stored (K's open amount in the summary equal to the ledger's, no change left unfolded, K's chain valid)" \
	is "$(qn 0 "SELECT (SELECT coalesce(sum(open_amount), 0) FROM ar.open_item_summary WHERE company_id = 11) = (SELECT sum(open_amount) FROM ar.invoice WHERE company_id = 11 AND cancelled_on IS NULL)") $(qn 0 "SELECT count(*) FROM ar.summary_delta WHERE company_id = 11") $(qn 0 "SELECT valid FROM ar.verify_audit_chain(11)")" \
	   "t 0 t" || echo "$out" | sed 's/^/# /'
echo "# K's invoices: $invoices_k before, $(qn 0 "SELECT count(*) FROM ar.invoice WHERE company_id = 11") after the second session"
