#!/usr/bin/env bash
# CALL ar.distribute() on Citus (issue 14; doc/scale_out.md, "How to
# distribute"): a coordinator and two workers of its own, a database
# written on one node first (companies, customers, invoices, allocations, a
# cancellation, bank lines reconciled, a promise, a dunning run, their audit
# rows), then distributed in one call; the same rows kept in a database of
# the coordinator without Citus (ar_single) give what the distributed one
# must give: aging per company, KPIs, ar.check_ledger, the audit chains,
# and a reconcile and a dunning run after the distribution.  Its refusals
# first, each changing nothing.  Prints TAP, or "1..0 # SKIP" without
# citus.  Needs the ports AR_CITUS_PORT + 6 to + 8 (default 55710).
set -uo pipefail
source "$(dirname "$0")/../tools/lib.sh"
source "$ROOT/tools/citus_lib.sh"
source "$ROOT/tools/tap.sh"
citus_test_begin 6 citus_distribute

qn() {	# qn NODE SQL: on node 0 (coordinator), 1 or 2 (workers), database postgres
	citus_sql $BASE "$1" "$2"
}
qd() {	# qd DB SQL...: each SQL its own statement in one session on the coordinator, errors included
	local db=$1 s args=(); shift
	for s in "$@"; do args+=(-c "$s"); done
	$PG_BIN/psql -X -q -t -A -h localhost -p $BASE -U postgres -d "$db" "${args[@]}" 2>&1
}
is() {	# is GOT WANT: equal, else both printed
	[ "$1" = "$2" ] && return 0
	echo "# got:  $1" | head -20; echo "# want: $2" | head -20
	return 1
}
same() {	# same WHAT: the distributed database and ar_single gave the same (non-empty, error-free) output
	[ -n "$dist" ] && [ "$dist" = "$single" ] && ! grep -q ERROR <<<"$dist" && return 0
	diff <(echo "$single") <(echo "$dist") | sed "s/^/# $1: one node < > distributed: /" | head -20
	return 1
}

echo "1..14"
citus_cluster_start "$WORK" $BASE "ar_collect.enabled = off" || exit 1
qn 0 "CREATE EXTENSION ar_collect" >/dev/null || exit 1
qn 0 "CREATE DATABASE ar_single" >/dev/null || exit 1
qd ar_single "CREATE EXTENSION ar_collect" >/dev/null

# the database as one node writes it: two companies, customers, invoices
# (credit notes among them), allocations (paid, partly, late, written off),
# a cancellation, bank lines reconciled, a promise and a dunning run, and a
# derived amount made wrong behind the triggers' back (ar.check_ledger
# reports it)
data="$(citus_sample_ledger)
INSERT INTO ar.customer_bank_account (company_id, customer_id, iban)
VALUES (21, 2105, 'DE89370400440532013000'), (22, 2205, 'FR7630006000011234567890189');
INSERT INTO ar.bank_transaction (id, company_id, booking_date, amount, remittance_info, counterparty_name, counterparty_iban) OVERRIDING SYSTEM VALUE
VALUES (7201, 21, DATE '2026-03-10', 110, 'Invoice P-10', 'Customer 5', 'DE89370400440532013000'),
       (7202, 21, DATE '2026-03-11', 150, 'payment', 'Customer 6', NULL), (7203, 21, DATE '2026-03-12', 33.33, 'misc', 'Nobody Known', NULL),
       (7204, 22, DATE '2026-03-10', 120, 'Facture P-10', 'Customer 5', 'FR7630006000011234567890189');
SELECT count(*) FROM ar.reconcile_company(21);
SELECT count(*) FROM ar.reconcile_company(22);
SELECT ar.promise_to_pay(210030, DATE '2026-03-20', 50, DATE '2026-03-01');
SELECT count(*) FROM ar.run_dunning(DATE '2026-03-31');
SET session_replication_role = replica;
UPDATE ar.invoice SET open_amount = open_amount + 1 WHERE id = 210007;
RESET session_replication_role;"
qn 0 "$data" >/dev/null || exit 1
qd ar_single "$data" >/dev/null
# every row of every table of ar, per table (the content's hash; ids and
# times as written: the same statements on both sides)
table_rows="SELECT string_agg(format('%s:%s', p.table_name, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %s', p.table_name), false, true, '')))[1]::text), ' ' ORDER BY p.table_name::text)
  FROM ar._distribute_plan() p WHERE p.kind <> 'local'"
rows_before=$(qn 0 "$table_rows")
keys="SELECT string_agg(format('%s.%s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)), E'\n' ORDER BY conrelid::regclass::text, conname)
  FROM pg_constraint WHERE contype = 'f' AND conrelid IN (SELECT table_name FROM ar._distribute_plan())"
triggers="SELECT string_agg(format('%s.%s %s', tgrelid::regclass, tgname, tgenabled), E'\n' ORDER BY tgrelid::regclass::text, tgname)
  FROM pg_trigger WHERE tgrelid IN (SELECT table_name FROM ar._distribute_plan()) AND NOT tgisinternal"
keys_before=$(qn 0 "$keys"); triggers_before=$(qn 0 "$triggers")
citus_tables="SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'ar.%'"
unchanged() {	# unchanged: nothing of the database was changed (no Citus table, the keys, triggers and rows as before)
	is "$(qn 0 "$citus_tables") $(qn 0 "$table_rows" | md5sum)" "0 $(echo "$rows_before" | md5sum)" &&
	is "$(qn 0 "$keys")" "$keys_before" && is "$(qn 0 "$triggers")" "$triggers_before"
}

# 1. without Citus: the same refusal as before, nothing changed
out=$(qd ar_single "CALL ar.distribute()")
check "without Citus (a database of the coordinator without the extension citus) CALL ar.distribute() refuses: it needs Citus" \
	grep -q "ERROR:  ar.distribute needs Citus" <<<"$out"

# 2. ar_definer must log in between the nodes (doc/scale_out.md)
definer=$(qd postgres "CALL ar.distribute(4)")
qn 0 "ALTER ROLE ar_definer LOGIN CONNECTION LIMIT -1" >/dev/null || exit 1
check "CALL ar.distribute() refuses while ar_definer cannot log in (55000); nothing changed" \
	eval 'grep -q "ERROR:  ar.distribute needs ar_definer to log in between the nodes" <<<"$definer" && unchanged' ||
	echo "$definer" | grep -v CONTEXT | sed 's/^/# /' | head -6

# 3. the other refusals: a role that neither is a superuser nor owns the
# extension (even with EXECUTE granted), inside a transaction block, on a
# worker; each before any change
qn 0 "CREATE ROLE d_admin LOGIN IN ROLE ar_admin; GRANT EXECUTE ON PROCEDURE ar.distribute(integer) TO d_admin" >/dev/null || exit 1
out=$(qd postgres "SET ROLE ar_admin" "CALL ar.distribute(4)" "RESET ROLE" "SET ROLE d_admin" "CALL ar.distribute(4)")
refusals="$out
$(qd postgres "BEGIN" "CALL ar.distribute(4)" "ROLLBACK")
$(qd postgres "SELECT 1; CALL ar.distribute(4)")
$($PG_BIN/psql -X -q -t -A -h localhost -p $((BASE + 1)) -U postgres -d postgres -c "CALL ar.distribute(4)" 2>&1)"
echo "$refusals" | grep ERROR | sed 's/^/# /'
check "refused, nothing changed: ar_admin (no EXECUTE), a role granted EXECUTE but neither superuser nor owner (42501), inside BEGIN and in a multi-statement string (25001), on a worker" \
	eval 'is "$(echo "$refusals" | grep -o "ERROR:  .*")" "ERROR:  permission denied for procedure distribute
ERROR:  permission denied to distribute the database
ERROR:  ar.distribute cannot run inside a transaction block
ERROR:  ar.distribute cannot run inside a transaction block
ERROR:  ar.distribute runs on the Citus coordinator, not on a worker" && unchanged'

# 4. distributed in one call
out=$(qd postgres "CALL ar.distribute(4)")
echo "$out" | sed 's/^/# /'
placement="SELECT p.kind, count(*), count(*) FILTER (WHERE CASE p.kind
	WHEN 'distributed' THEN d.partmethod = 'h' AND d.partkey IS NOT NULL
	                        AND d.colocationid = (SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'ar.customer'::regclass)
	WHEN 'reference' THEN d.partmethod = 'n' AND d.repmodel = 't'
	ELSE d.logicalrelid IS NULL END)
  FROM ar._distribute_plan() p LEFT JOIN pg_dist_partition d ON d.logicalrelid = p.table_name GROUP BY 1 ORDER BY 1"
check "CALL ar.distribute(4): every company table distributed by company_id co-located with ar.customer (4 shards), every shared table a reference table, the local ones left, as ar._distribute_plan() says" \
	eval 'grep -q "^NOTICE:  ar_collect distributed by company_id" <<<"$out" && ! grep -q ERROR <<<"$out" &&
	      is "$(qn 0 "$placement" | tr "\n" " ")" "distributed|55|55 local|7|7 reference|17|17 " &&
	      is "$(qn 0 "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = '"'"'ar.customer'"'"'::regclass")" 4'
shard_keys="SELECT count(*), count(*) FILTER (WHERE success AND result = (SELECT count(*)::text FROM pg_constraint WHERE conrelid = 'ar.invoice'::regclass AND contype = 'f'))
  FROM run_command_on_shards('ar.invoice', \$\$SELECT count(*) FROM pg_constraint WHERE conrelid = '%s'::regclass AND contype = 'f'\$\$)"
check "the rows copied as they were (every table: the same count), their triggers off during the copy and on again as they were, the foreign keys back as they were (on every shard)" \
	eval 'is "$(qn 0 "$table_rows")" "$rows_before" && is "$(qn 0 "$triggers")" "$triggers_before" && is "$(qn 0 "$keys")" "$keys_before" &&
	      is "$(qn 0 "$shard_keys")" "4|4"'
# (each worker's identity sequences from its group id times 2^48)
ids=$(for i in 1 2; do qn $i "SELECT (last_value >> 48) = (SELECT groupid FROM pg_dist_local_group) FROM ar.customer_id_seq"; done | tr '\n' ' ')
check "each worker's identity sequences moved to its own range (group id times 2^48), the coordinator's left" \
	is "$ids$(qn 0 "SELECT last_value FROM ar.customer_id_seq")" "t t $(qd ar_single "SELECT last_value FROM ar.customer_id_seq")"

# 5. what one node gives, on the distributed database
make_default() { echo "BEGIN; UPDATE ar.company SET is_default = false WHERE is_default; UPDATE ar.company SET is_default = true WHERE id = $1; COMMIT;"; }
reports() {	# reports DB: aging per company, the aging report and the KPIs of each company, ar.check_ledger, the audit chains
	local co
	qd $1 "SELECT i.company_id, count(*), sum(i.amount), ar.aging(i.open_amount, i.due_date, DATE '2026-03-31')
	         FROM ar.invoice i GROUP BY 1 ORDER BY 1" "SELECT * FROM ar.check_ledger()" \
	      "SELECT chain, company_id, valid, rows_checked, first_broken_seq FROM ar.verify_audit_chains()"
	for co in 21 22; do
		qd $1 "$(make_default $co)" "SELECT $co, r.* FROM ar.aging_report(DATE '2026-03-31') r ORDER BY 2, 3, 4" \
		      "SELECT $co, k.* FROM ar.kpis(DATE '2026-03-31') k"
	done
}
dist=$(reports postgres); single=$(reports ar_single)
echo "$dist" | head -3 | sed 's/^/# distributed: /'
check "aging per company, ar.aging_report and ar.kpis of each company, ar.check_ledger (the wrong amount) and ar.verify_audit_chains (valid, every row): one node's" \
	eval 'same reports && grep -q "^invoice|210007|" <<<"$dist" && grep -q "^company|21|t|" <<<"$dist"'

# a reconcile and a dunning run after the distribution, a promise with the
# date it was made (its open amount then: ar._open_on, refused by Citus as
# SQL), the same on both sides
after=("INSERT INTO ar.bank_transaction (id, company_id, booking_date, amount, remittance_info, counterparty_name, counterparty_iban) OVERRIDING SYSTEM VALUE
	VALUES (7205, 22, DATE '2026-03-13', 77.77, 'misc', 'Nobody Known', NULL), (7206, 21, DATE '2026-04-02', 121, 'Invoice P-20', 'Customer 3', NULL),
	       (7207, 22, DATE '2026-04-03', 144, 'Facture P-22', 'Customer 5', 'FR7630006000011234567890189')"
	"SELECT string_agg(format('%s:%s:%s:%s', bank_transaction_id, invoice_ids, method, applied), ' ' ORDER BY bank_transaction_id) FROM ar.reconcile()"
	"SELECT ar.promise_to_pay(220045, DATE '2026-05-10', 30, DATE '2026-04-01') IS NOT NULL"
	"SELECT company_id, customer_id, currency, level, amount_due, status FROM ar.run_dunning(DATE '2026-04-30') ORDER BY 1, 2, 3"
	"SELECT string_agg(format('%s:%s:%s', id, open_amount, status), ' ' ORDER BY id) FROM ar.invoice"
	"SELECT string_agg(format('%s:%s:%s', id, allocated_amount, status), ' ' ORDER BY id) FROM ar.bank_transaction"
	"SELECT invoice_id, promised_on, amount, made_on, open_at_promise, status FROM ar.payment_promise ORDER BY 1, 2"
	"SELECT company_id, customer_id, as_of, level, amount_due, status FROM ar.dunning_notice ORDER BY 1, 2, 3"
	"SELECT as_of, accounts, notices, cycles_closed FROM ar.dunning_run ORDER BY 1"
	"SELECT chain, company_id, valid, rows_checked FROM ar.verify_audit_chains()")
dist=$(qd postgres "${after[@]}"); single=$(qd ar_single "${after[@]}")
echo "$dist" | sed -n 2p | cut -c1-200 | sed 's/^/# reconcile, distributed: /'
check "after the distribution ar.reconcile() (every company), ar.promise_to_pay with made_on and ar.run_dunning: what they return and leave (invoices, bank lines, promises, notices, the run, the audit chains) is one node's" \
	eval 'same writes && [ "$(grep -c "|queued$" <<<"$dist")" -gt 0 ] && grep -q " 7207:{220058}:amount:t" <<<"$dist"'

# the outbox's consumers on the distributed outbox: ar.claim_notices (a
# statement per company, SKIP LOCKED, routed to its shard) and
# ar.mark_notice with its refusal of a second proof, as on one node
claims=("SELECT count(*) FROM ar.claim_notices(3)"
	"SELECT count(*) > 0 FROM ar.claim_notices(1000, '5 minutes')"
	"SELECT count(*) FROM ar.claim_notices(1000)"
	"SELECT count(*) FROM ar.dunning_notice WHERE status = 'queued' AND (claimed_until IS NULL OR claimed_by NOT LIKE 'postgres (pid %)')"
	"SELECT (ar.mark_notice((SELECT min(id) FROM ar.dunning_notice WHERE status = 'queued'), 'sent', 'p-1')).status")
second="SELECT (ar.mark_notice((SELECT min(id) FROM ar.dunning_notice WHERE provider_ref = 'p-1'), 'sent', 'p-2')).status"
dist="$(qd postgres "${claims[@]}")"$'\n'"$(qd postgres "$second")"; single="$(qd ar_single "${claims[@]}")"$'\n'"$(qd ar_single "$second")"
check "after the distribution ar.claim_notices claims every queued notice once and ar.mark_notice refuses a second proof, as on one node" \
	eval '[ "$dist" = "$single" ] && [ "$(sed -n 1,5p <<<"$dist" | tr "\n" " ")" = "3 t 0 0 sent " ] && grep -q "already sent with proof \"p-1\", not \"p-2\"" <<<"$dist" || { echo "# $dist" | head -12; false; }'

# the dunning run's per-company work (ar._run_dunning_company) is a
# distributed function co-located with the ledger by its company argument
# (ar.distribute): a run called outside a transaction block delegates it
# to the nodes holding the companies, once per node with the node's
# companies (Citus's DEBUG1 "pushing down the function call": the
# companies 1, M and N are on two nodes); inside one, not (each company's
# rows read through the coordinator); both dry runs the same.
colocated=$(qn 0 "SELECT o.distribution_argument_index = 0 AND o.colocationid = p.colocationid
	FROM pg_dist_object o, pg_dist_partition p
	WHERE o.objid = 'ar._run_dunning_company(bigint, bigint[], date, boolean, boolean, jsonb)'::regprocedure AND p.logicalrelid = 'ar.customer'::regclass")
nodes=$(qn 0 "SELECT count(DISTINCT p.groupid) FROM unnest(ARRAY(SELECT id FROM ar.company)) k JOIN pg_dist_placement p ON p.shardid = get_shard_id_for_distribution_column('ar.customer', k)")
outside=$(qd postgres "SET client_min_messages = debug1" "SELECT count(*) FROM ar.run_dunning(DATE '2026-05-31', true)")
inside=$(qd postgres "BEGIN" "SET LOCAL client_min_messages = debug1" "SELECT count(*) FROM ar.run_dunning(DATE '2026-05-31', true)" "COMMIT")
# (the count is the output's number line: DEBUG messages, whatever the
# server logs at that level, come before or after it)
count_of() { grep -E '^[0-9]+$' <<<"$1" | tail -1; }
echo "# delegated: $(grep -c 'pushing down the function call' <<<"$outside") calls outside a transaction block, $(grep -c 'pushing down the function call' <<<"$inside") inside; dry runs $(count_of "$outside") and $(count_of "$inside") notices"
check "the dunning run's per-company work a distributed function co-located with the ledger, delegated outside a transaction block once per node holding companies, not inside one; the same notices either way" \
	eval 'is "$colocated" t && is "$nodes $(grep -c "pushing down the function call" <<<"$outside") $(grep -c "pushing down the function call" <<<"$inside")" "2 2 0" &&
	      is "$(count_of "$outside")" "$(count_of "$inside")" && [ "$(count_of "$inside")" -gt 0 ]'

# the penalty terms a delegated run's letters state: made by the run at
# once (step K0), not per letter: each letter's invoices were read on the
# company's shards of ar.invoice, ar.customer and ar.penalty_claim, and the
# wording of its regime on the node's copy of ar.penalty_wording, for each
# letter; now the invoices from the copies of the companies' rows, the
# wording once per paragraph (one a node's call here) (each a command
# Citus runs on the node's own shard, which citus.log_local_commands, set
# on the workers for the run's connections, reports); the letters one
# node's
qn 1 "SET citus.enable_ddl_propagation = off; ALTER DATABASE postgres SET citus.log_local_commands = on" >/dev/null
qn 2 "SET citus.enable_ddl_propagation = off; ALTER DATABASE postgres SET citus.log_local_commands = on" >/dev/null
letters="SELECT count(*) FILTER (WHERE n.body ~ 'L441-10'), md5(string_agg(n.body, '' ORDER BY n.customer_id)) FROM ar.run_dunning(DATE '2026-05-31', true) n"
logged=$(qd postgres "$letters")
qn 1 "SET citus.enable_ddl_propagation = off; ALTER DATABASE postgres RESET citus.log_local_commands" >/dev/null
qn 2 "SET citus.enable_ddl_propagation = off; ALTER DATABASE postgres RESET citus.log_local_commands" >/dev/null
dist=$(grep -E '^[0-9]+\|' <<<"$logged" | tail -1); single=$(qd ar_single "$letters")
stating=${dist%%|*}
letter_reads=$(grep -cE 'executing the command locally: .*ar\.invoice_[0-9]+ .*ar\.penalty_claim_[0-9]+ ' <<<"$logged")
wording_reads=$(grep -cE 'executing the command locally: .*ar\.penalty_wording_[0-9]+([^0-9]|$)' <<<"$logged")
echo "# a delegated dry run: $stating letters stating the penalty terms; commands reading a letter's invoices and claims $letter_reads, ar.penalty_wording $wording_reads"
check "a delegated run's letters state their penalty terms made at once: their invoices (with the claims) and their regime's wording read once per node's call, not once per letter; the letters one node's" \
	eval '[ "${stating:-0}" -ge 6 ] && is "$letter_reads $wording_reads" "0 2" && same "letters stating the terms"'

# the penalty terms a letter states, given the invoices' company (as the
# run's letters do): their invoices, customers and claims read on the
# company's shard alone (Citus's log of the commands it sends: one shard
# of ar.invoice named; through ar._penalty_basis, whose claims' NOT EXISTS
# names no company, every shard), the paragraphs one node's
# (the invoices' ids read first: called from a query of ar.invoice, the
# call would be pushed down to the shard with it)
terms() { echo "SELECT md5(ar.penalty_terms('$(qd $1 "SELECT array_agg(id ORDER BY id) FROM ar.invoice WHERE company_id = 21")'::bigint[], DATE '2026-05-31', 'fr', 21))"; }
logged=$(qd postgres "SET citus.log_remote_commands = on" "SET client_min_messages = log" "$(terms postgres)")
shards=$(grep -o 'ar\.invoice_[0-9]*' <<<"$logged" | sort -u | wc -l)
dist=$(qd postgres "$(terms postgres)"); single=$(qd ar_single "$(terms ar_single)")
echo "# penalty terms of company 21: ar.invoice shards read $shards, md5 $dist"
check "ar.penalty_terms given the company reads its invoices on the company's shard alone (one shard of ar.invoice in Citus's commands), the paragraphs one node's" \
	eval 'is "$shards" 1 && same "penalty terms"'

# 6. once distributed, a second call refuses
out=$(qd postgres "CALL ar.distribute(4)")
check "a second CALL ar.distribute() refuses: already distributed, the tables named" \
	eval 'grep -q "ERROR:  the database is already distributed" <<<"$out" && grep -q "DETAIL:  These tables of ar_collect are Citus tables already: ar.accounting_config, " <<<"$out"'

# 7. the background worker on the distributed database: it serves the
# coordinator only (the workers' own wait: test/citus.sh), and runs the
# day's dunning there one company per transaction (issue 14), each
# company's run delegated to its node (ar._run_dunning_company) and
# recorded in a row of its own of ar.worker_run (the default company 1, M
# and N, in id order); a company whose run fails is recorded failed and
# the others' are not undone; the day's run is failed then, and the next
# cycle takes the failed company only; once every company succeeded the
# date is recorded once in ar.dunning_run, and a manual run of the same day
# queues nothing.  The failure: N's notices refused by a check constraint
# added for the test (NOT VALID, on every shard), dropped once N's failure
# is recorded.  A manual run of the day first (delegated, it fails at N
# after the companies of the node before N's committed there: M's notices stay,
# the date is not recorded, the worker's run of M then queues nothing
# more).  The notices are those one node queues by hand on the same data.
qd postgres "ALTER TABLE ar.dunning_notice ADD CONSTRAINT test_refuses_n CHECK (company_id <> 22) NOT VALID" >/dev/null
manual=$(qd postgres "SELECT count(*) FROM ar.run_dunning(current_date)")
manual_left="$(qn 0 "SELECT string_agg(company_id || ':' || n, ' ' ORDER BY company_id) FROM (SELECT company_id, count(*) AS n FROM ar.dunning_notice WHERE as_of = current_date GROUP BY 1) n") / $(qn 0 "SELECT count(*) FROM ar.dunning_run WHERE as_of = current_date")"
echo "# the manual run: $(grep ERROR <<<"$manual" | head -1); left: $manual_left"
qd postgres "ALTER SYSTEM SET ar_collect.dunning_at = '00:00'" "ALTER SYSTEM SET ar_collect.naptime = 1" \
	"ALTER SYSTEM SET ar_collect.enabled = on" "SELECT pg_reload_conf()" >/dev/null || exit 1
company_runs="SELECT string_agg(format('%s:%s', result->>'company_id', status), ' ' ORDER BY id) FROM ar.worker_run
	WHERE kind = 'dunning' AND as_of = current_date AND result ? 'company_id' AND status <> 'running'"
day_runs="SELECT string_agg(status, ' ' ORDER BY id) FROM ar.worker_run
	WHERE kind = 'dunning' AND as_of = current_date AND NOT coalesce(result ? 'company_id', false) AND status <> 'running'"
poll() {	# poll SQL PATTERN: until the output of SQL on the coordinator matches PATTERN, 90 s at most
	local deadline=$((SECONDS + 90))
	until [[ "$(qn 0 "$1")" =~ $2 ]]; do
		[ $SECONDS -lt $deadline ] || { echo "# not reached within 90 s: $2 (got $(qn 0 "$1"))"; return 1; }
		sleep 0.5
	done
}
poll "$day_runs" '^failed' && failed_first="$(qn 0 "$company_runs")"
qn 0 "ALTER TABLE ar.dunning_notice DROP CONSTRAINT test_refuses_n" >/dev/null
poll "$day_runs" 'succeeded$'
qn 0 "ALTER SYSTEM SET ar_collect.enabled = off" >/dev/null && qn 0 "SELECT pg_reload_conf()" >/dev/null
echo "# the first day's run: ${failed_first:-}; every run: $(qn 0 "$company_runs") / $(qn 0 "$day_runs")"
echo "# N's error: $(qn 0 "SELECT error FROM ar.worker_run WHERE result->>'company_id' = '22' AND status = 'failed' ORDER BY id LIMIT 1")"
today="SELECT company_id, customer_id, currency, level, amount_due, status FROM ar.dunning_notice WHERE as_of = current_date ORDER BY 1, 2, 3"
dist="$(qn 0 "$today")
$(qn 0 "SELECT count(*) FROM ar.run_dunning(current_date)")"
single="$(qd ar_single "SELECT count(*) FROM ar.run_dunning(current_date)" >/dev/null; qd ar_single "$today")
0"
check "a manual run of the day failing at N leaves the notices of M committed on its node, the date not recorded; the background worker runs the day's dunning on the coordinator one company per transaction: N's failure recorded, M's run neither stopped nor run again, N alone run again by the next cycle, the day recorded once; the workers' ar.worker_run empty; a manual run of the same day queues nothing; its notices are one node's" \
	eval 'grep -q "ERROR:.*test_refuses_n" <<<"$manual" && [[ "$manual_left" =~ ^21:[1-9][0-9]*\ /\ 0$ ]] &&
	      [[ "${failed_first:-}" =~ ^1:succeeded\ 21:succeeded\ 22:failed(\ 22:failed)*$ ]] &&
	      [[ "$(qn 0 "$company_runs")" =~ ^1:succeeded\ 21:succeeded\ 22:failed(\ 22:failed)*\ 22:succeeded$ ]] &&
	      [[ "$(qn 0 "$day_runs")" =~ ^(failed\ )+succeeded$ ]] &&
	      grep -q "test_refuses_n" <<<"$(qn 0 "SELECT error FROM ar.worker_run WHERE result->>'"'"'company_id'"'"' = '"'"'22'"'"' AND status = '"'"'failed'"'"'")" &&
	      is "$(qn 1 "SELECT count(*) FROM ar.worker_run") $(qn 2 "SELECT count(*) FROM ar.worker_run")" "0 0" &&
	      same "the day'"'"'s dunning" && is "$(qn 0 "SELECT count(*) FROM ar.dunning_run WHERE as_of = current_date")" 1'
