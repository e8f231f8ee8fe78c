#!/usr/bin/env bash
# pg_dump keeps the ledger: dump a database using ar_collect, restore it into
# a new one as the README says, and compare.  Prints TAP; run by tools/test.sh
# against its throwaway cluster (PGHOST, PGPORT, PGUSER set; PG_BIN given).
set -uo pipefail
source "$(dirname "$0")/../../tools/tap.sh"
src=ar_dump_src dst=ar_dump_dst dump=$(mktemp /tmp/ar_dump.XXXXXX)
trap 'rm -f "$dump"' EXIT

echo "1..8"
fresh_databases $src $dst
q $src "CREATE EXTENSION ar_collect" >/dev/null
q $src "
	INSERT INTO ar.company (code, name) VALUES ('SUB', 'Filiale SAS');
	INSERT INTO ar.customer (code, name) SELECT 'D' || g, 'Dump customer ' || g FROM generate_series(1, 5) g;
	INSERT INTO ar.customer_bank_account (customer_id, iban) SELECT id, 'DE89370400440532013000' FROM ar.customer WHERE code = 'D1';
	INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
	SELECT c.id, 'DI-' || g, DATE '2026-01-01' + g, DATE '2026-02-01' + g, 100 + g
	  FROM generate_series(1, 40) g JOIN ar.customer c ON c.code = 'D' || (g % 5 + 1);
	INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-03-01', 250, 'DI-1 DI-2');
	INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on, method)
	SELECT i.id, t.id, i.amount, '2026-03-01', 'reference' FROM ar.invoice i, ar.bank_transaction t
	 WHERE i.number IN ('DI-1', 'DI-2');
	SELECT ar.record_payment('DI-' || g, 150, DATE '2026-03-10') FROM generate_series(3, 20) g;
	SELECT ar.apply_customer_credit(id, '2026-03-15') FROM ar.customer;" >/dev/null
snapshot="SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
	SELECT concat_ws('|', number, amount, open_amount, status) AS x FROM ar.invoice
	UNION ALL SELECT concat_ws('|', invoice_id, bank_transaction_id, customer_credit_id, amount, allocated_on) FROM ar.allocation
	UNION ALL SELECT concat_ws('|', id, amount, remaining) FROM ar.customer_credit
	UNION ALL SELECT concat_ws('|', id, allocated_amount, status) FROM ar.bank_transaction
	UNION ALL SELECT concat_ws('|', id, row_hash) FROM ar.audit_log
	UNION ALL SELECT concat_ws('|', company_id, seq, txid, first_id, last_id, row_count, seal_hash) FROM ar.audit_seal
	UNION ALL SELECT concat_ws('|', code, name) FROM ar.company) s"
before=$(q $src "$snapshot")

$PG_BIN/pg_dump -Fc -d $src -f "$dump"
PGOPTIONS='-c ar_collect.restoring=on' $PG_BIN/pg_restore -d $dst "$dump" 2>/tmp/ar_restore.err
check "pg_restore succeeds" test $? -eq 0 || cat /tmp/ar_restore.err >&2
check "ledger, credit, bank lines, companies and audit trail are restored identically" \
	test "$before" = "$(q $dst "$snapshot")"
check "the restored ledger agrees with itself" test "$(q $dst 'SELECT count(*) FROM ar.check_ledger()')" = 0
check "the restored dashboard summaries equal a recomputation (rebuilt by the triggers while reloading)" \
	test "$(q $dst 'SELECT count(*) FROM ar.check_summaries()'):$(q $dst 'SELECT count(*) > 0 AND NOT EXISTS (SELECT FROM ar.summary_delta) FROM ar.open_item_summary')" = 0:t
check "the restored audit chain verifies" test "$(q $dst 'SELECT valid FROM ar.verify_audit_chain()')" = t
check "identity sequences continue after the restored rows" \
	q $dst "INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
	        SELECT id, 'DI-NEW', '2026-04-01', '2026-05-01', 1 FROM ar.customer WHERE code = 'D1'"
check "new ledger writes extend the restored chain" \
	test "$(q $dst 'SELECT valid::text || rows_checked FROM ar.verify_audit_chain()')" = \
	     "true$(( $(q $src 'SELECT count(*) FROM ar.audit_log') + 1 ))"
# a row of an earlier transaction that no seal covers, written with the
# triggers off, is reported by a verification that has no transaction id
# of its own (a read-only session)
q $dst "SET session_replication_role = replica;
        INSERT INTO ar.audit_log (txid, table_name, operation, row_id, company_id)
        VALUES ('12345', 'invoice', 'UPDATE', 1, ar.default_company())" >/dev/null
check "an audit row outside every seal is reported by a read-only verification" \
	test "$(q $dst 'SELECT problem FROM ar.verify_audit_chain()')" = \
	     "1 row(s) of earlier transactions were never sealed (outside the chain), the first of transaction 12345"
$PG_BIN/dropdb $src; $PG_BIN/dropdb $dst
