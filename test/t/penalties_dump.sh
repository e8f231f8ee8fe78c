#!/usr/bin/env bash
# pg_dump keeps the penalty rules and claims of the user's, and only them:
# rates, series, regimes and fees added by the user, regime overrides of
# customers and invoices, claim decisions and penalty invoices survive a dump
# and restore; the shipped rules are recreated by CREATE EXTENSION, not
# duplicated.  Prints TAP; run by tools/test.sh against its throwaway cluster
# (PGHOST, PGPORT, PGUSER set; PG_BIN given).
set -uo pipefail
source "$(dirname "$0")/../../tools/tap.sh"
src=ar_pen_dump_src dst=ar_pen_dump_dst dump=$(mktemp /tmp/ar_pen_dump.XXXXXX)
trap 'rm -f "$dump" /tmp/ar_pen_restore.err' EXIT

echo "1..6"
fresh_databases $src $dst
q $src "CREATE EXTENSION ar_collect" >/dev/null
q $src "
	INSERT INTO ar.rate_series (series, name, publisher) VALUES ('CH_SNB', 'SNB policy rate', 'Swiss National Bank');
	INSERT INTO ar.reference_rate (series, effective_from, rate, confirmed_through, source)
	VALUES ('CH_SNB', '2024-01-01', 1.75, '2024-12-31', 'test'),
	       ('ECB_MRO', '2026-07-01', 2.15, '2026-12-31', 'test: provisional');
	INSERT INTO ar.penalty_regime (regime, name, legal_reference, country, currency, rate_series, rate_date, margin)
	VALUES ('CH_TEST', 'test regime', 'none', 'CH', 'CHF', 'CH_SNB', 'day', 5);
	INSERT INTO ar.penalty_regime_fee (regime, currency, fee) VALUES ('CH_TEST', 'CHF', 30), ('FR_LME', 'USD', 43);
	INSERT INTO ar.customer (code, name, penalty_regime) VALUES ('PD1', 'Swiss customer', 'CH_TEST'), ('PD2', 'French customer', NULL);
	INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency, penalty_regime, penalty_rate)
	SELECT c.id, v.n, '2024-01-01', '2024-01-31', 1000, v.cur, v.regime, v.rate
	  FROM ar.customer c, (VALUES ('PD1', 'PD-1', 'CHF', NULL, NULL), ('PD2', 'PD-2', 'EUR', 'CONTRACT', 20.0),
	                              ('PD2', 'PD-3', 'EUR', NULL, NULL)) v(cust, n, cur, regime, rate)
	 WHERE c.code = v.cust;
	SELECT ar.record_payment(n, 1000, '2024-03-01') FROM (VALUES ('PD-1'), ('PD-2'), ('PD-3')) v(n);
	SELECT ar.bill_penalty(id, '2024-03-05') FROM ar.invoice WHERE number = 'PD-2';
	SELECT ar.waive_penalty(id, 'goodwill') FROM ar.invoice WHERE number = 'PD-3';" >/dev/null
snapshot="SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
	SELECT concat_ws('|', series, name, shipped) AS x FROM ar.rate_series
	UNION ALL SELECT concat_ws('|', series, effective_from, rate, status, confirmed_through, shipped) FROM ar.reference_rate
	UNION ALL SELECT concat_ws('|', regime, margin, rate_series, shipped) FROM ar.penalty_regime
	UNION ALL SELECT concat_ws('|', regime, currency, min_amount, fee, shipped) FROM ar.penalty_regime_fee
	UNION ALL SELECT concat_ws('|', code, penalty_regime, penalty_rate) FROM ar.customer
	UNION ALL SELECT concat_ws('|', number, amount, penalty_regime, penalty_rate, status) FROM ar.invoice
	UNION ALL SELECT concat_ws('|', invoice_id, decision, total, penalty_invoice_id, reason) FROM ar.penalty_claim) s"
penalties="SELECT string_agg(concat_ws(' ', i.number, p.total), ', ' ORDER BY i.number)
             FROM ar.invoice i, ar.invoice_penalty(i.id, '2024-06-30') p WHERE i.number LIKE 'PD-%'"
before=$(q $src "$snapshot")
before_penalties=$(q $src "$penalties")

$PG_BIN/pg_dump -Fc -d $src -f "$dump"
PGOPTIONS='-c ar_collect.restoring=on' $PG_BIN/pg_restore -d $dst "$dump" 2>/tmp/ar_pen_restore.err
check "pg_restore succeeds" test $? -eq 0 || cat /tmp/ar_pen_restore.err >&2
check "rules, overrides, claims and penalty invoices are restored identically" test "$before" = "$(q $dst "$snapshot")"
check "shipped rules are not duplicated" \
	test "$(q $dst "SELECT count(*) FROM ar.reference_rate WHERE shipped")" = "$(q $src "SELECT count(*) FROM ar.reference_rate WHERE shipped")"
check "the restored database computes the same penalties" test "$before_penalties" = "$(q $dst "$penalties")"
check "a rate of the user's still replaces the shipped history after restore" \
	test "$(q $dst "SELECT ar.penalty_rate('FR_LME', '2026-08-01')")" = 12.15
check "identity sequences of the rules continue after the restored rows" \
	q $dst "INSERT INTO ar.reference_rate (series, effective_from, rate, source) VALUES ('CH_SNB', '2025-01-01', 0.5, 'after restore')"
$PG_BIN/dropdb $src; $PG_BIN/dropdb $dst
