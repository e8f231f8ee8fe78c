-- pgTAP: SEPA direct debit settlement and returns, the defects a review
-- found (review 5): an amendment made while an amended debit is pending is
-- still announced after that debit settles (a change of bank too: FRST and
-- SMNDA); a return after the settlement's leftover credit paid another
-- invoice undoes that payment and refunds the credit; a late refund (MD06)
-- of an old FRST leaves the mandate at RCUR once later debits settled; the
-- remittance text, when cut, holds whole invoice numbers and counts those
-- left out.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(29);

CREATE FUNCTION pg_temp.x(doc xml, path text) RETURNS text[] LANGUAGE sql AS $$
	SELECT array_agg(v::text ORDER BY n)
	  FROM unnest(xpath(path, doc, ARRAY[ARRAY['p', 'urn:iso:std:iso:20022:tech:xsd:pain.008.001.02']])) WITH ORDINALITY u(v, n)
$$;
CREATE FUNCTION pg_temp.cu(code text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.customer WHERE code = $1 $$;
CREATE FUNCTION pg_temp.m(umr text) RETURNS SETOF ar.sepa_mandate LANGUAGE sql AS $$ SELECT * FROM ar.sepa_mandate WHERE umr = $1 $$;
-- the bank credits a whole collection, naming its MsgId
CREATE FUNCTION pg_temp.credit(msg text, booked date) RETURNS SETOF text LANGUAGE sql AS $$
	INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info)
	SELECT booked, control_sum, 'SDD ' || message_id FROM ar.direct_debit_collection WHERE message_id = msg;
	SELECT outcome FROM ar.settle_direct_debits();
$$;
-- the transaction of a mandate in a collection, from the document sent
CREATE FUNCTION pg_temp.tx(msg text, umr text) RETURNS xml LANGUAGE sql AS $$
	SELECT (xpath('//p:DrctDbtTxInf[p:PmtId/p:EndToEndId/text() = "' || l.end_to_end_id || '"]', c.document,
	              ARRAY[ARRAY['p', 'urn:iso:std:iso:20022:tech:xsd:pain.008.001.02']]))[1]
	  FROM ar.direct_debit_collection c JOIN ar.direct_debit_line l ON l.collection_id = c.id
	  JOIN ar.sepa_mandate m ON m.id = l.mandate_id
	 WHERE c.message_id = msg AND upper(m.umr) = upper(tx.umr)
$$;

SELECT ar.set_sepa_creditor('DEFAULT', 'ACME', 'DE98ZZZ09999999999', 'FR7630006000011234567890189', 'AGRIFRPP') IS NOT NULL AS set_up;
INSERT INTO ar.customer (code, name) VALUES ('A', 'Alice Martin'), ('B', 'Bob Durand'), ('C', 'Carla Petit'),
	('D', 'Denis Roy'), ('E', 'Emma Blanc');
-- A and B: a collection a month, February to April
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT pg_temp.cu(v.c), v.n, '2026-01-05', v.due::date, v.amt, 'EUR'
  FROM (VALUES ('A', 'A1', '2026-02-01', 100.00), ('A', 'A2', '2026-03-01', 200.00), ('A', 'A3', '2026-04-01', 300.00),
               ('B', 'B1', '2026-02-01', 10.00), ('B', 'B2', '2026-03-01', 20.00), ('B', 'B3', '2026-04-01', 30.00)) v(c, n, due, amt);
SELECT id AS ma FROM ar.create_sepa_mandate(pg_temp.cu('A'), 'UMR-A1', '2025-12-01', 'Alice Martin', 'FR1420041010050500013M02606') \gset
SELECT id AS mb FROM ar.create_sepa_mandate(pg_temp.cu('B'), 'UMR-B1', '2025-12-01', 'Bob Durand', 'FR1420041010050500013M02606') \gset

-- ------------------------------------- amendments made while one is pending
SELECT ar.collect_direct_debits('2026-02-01', message_id => 'M1', creation_time => '2026-01-10 10:00Z') IS NOT NULL AS m1;
SELECT results_eq($$SELECT * FROM pg_temp.credit('M1', '2026-02-05')$$, $$VALUES ('settled'), ('settled')$$, 'M1 (FRST) settles');
-- the same bank, another account: the next collection carries the former account
SELECT umr FROM ar.amend_sepa_mandate(:ma, debtor_iban => 'FR8420041010050500013M02607', amended_on => '2026-02-06');
SELECT umr FROM ar.amend_sepa_mandate(:mb, debtor_iban => 'FR8420041010050500013M02607', amended_on => '2026-02-06');
CREATE TEMP TABLE m2 AS SELECT ar.collect_direct_debits('2026-03-01', message_id => 'M2', creation_time => '2026-02-10 10:00Z') AS d;
SELECT is(pg_temp.x(pg_temp.tx('M2', 'UMR-A1'), '//p:OrgnlDbtrAcct/p:Id/p:IBAN/text()'), '{FR1420041010050500013M02606}',
	'M2 carries the former account');
-- while M2 is pending: A's reference changes, B's account moves to another bank
SELECT umr FROM ar.amend_sepa_mandate(:ma, umr => 'UMR-A2', amended_on => '2026-02-20');
SELECT umr FROM ar.amend_sepa_mandate(:mb, debtor_iban => 'DE62370400440532013001', amended_on => '2026-02-20');
SELECT results_eq($$SELECT * FROM pg_temp.credit('M2', '2026-03-05')$$, $$VALUES ('settled'), ('settled')$$, 'M2 settles');
SELECT results_eq($$SELECT original_umr, original_debtor_iban::text, debtor_bank_changed, sequence_state FROM pg_temp.m('UMR-A2')$$,
	$$VALUES ('UMR-A1', NULL::text, false, 'RCUR')$$,
	'the account M2 announced is delivered; the reference changed since is still to be announced');
SELECT results_eq($$SELECT original_umr, original_debtor_iban::text, debtor_bank_changed, sequence_state FROM pg_temp.m('UMR-B1')$$,
	$$VALUES (NULL::text, 'FR8420041010050500013M02607', true, 'FRST')$$,
	'the change of bank made since is still to be announced, from the account M2 debited, and the mandate stays at FRST');
CREATE TEMP TABLE m3 AS SELECT ar.collect_direct_debits('2026-04-01', message_id => 'M3', creation_time => '2026-03-10 10:00Z') AS d;
SELECT is(pg_temp.x(pg_temp.tx('M3', 'UMR-A2'), '//p:MndtRltdInf/p:MndtId/text() | //p:AmdmntInd/text() | //p:OrgnlMndtId/text()'),
	'{UMR-A2,true,UMR-A1}', 'M3 carries the amendment of the reference (AmdmntInd, OrgnlMndtId)');
SELECT is(pg_temp.x(pg_temp.tx('M3', 'UMR-A2'), '//p:OrgnlDbtrAcct/p:Id/p:IBAN/text()'), NULL, 'not the account delivered');
SELECT is(pg_temp.x(pg_temp.tx('M3', 'UMR-B1'), '//p:OrgnlDbtrAgt/p:FinInstnId/p:Othr/p:Id/text()'), '{SMNDA}',
	'M3 tells B''s new bank it is a new debtor bank (SMNDA)');
SELECT is((SELECT sequence_type FROM ar.direct_debit_line l JOIN ar.direct_debit_collection c ON c.id = l.collection_id
            WHERE c.message_id = 'M3' AND l.mandate_id = :mb), 'FRST', 'as a first collection');
SELECT results_eq($$SELECT * FROM pg_temp.credit('M3', '2026-04-20')$$, $$VALUES ('settled'), ('settled')$$, 'M3 settles');
SELECT results_eq(format('SELECT original_umr, original_debtor_iban::text, debtor_bank_changed, sequence_state FROM ar.sepa_mandate WHERE id IN (%s, %s) ORDER BY id', :ma, :mb),
	$$VALUES (NULL::text, NULL::text, false, 'RCUR'), (NULL, NULL, false, 'RCUR')$$, 'then every amendment is delivered');

-- --------------------------- a return after the leftover credit was used
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT pg_temp.cu('C'), v.n, '2026-05-01', v.due::date, v.amt, 'EUR'
  FROM (VALUES ('C3', '2026-06-01', 300.00), ('C4', '2026-07-01', 100.00)) v(n, due, amt);
SELECT id AS mc FROM ar.create_sepa_mandate(pg_temp.cu('C'), 'UMR-C1', '2026-04-01', 'Carla Petit', 'FR1420041010050500013M02606') \gset
SELECT ar.collect_direct_debits('2026-06-01', message_id => 'M4', creation_time => '2026-05-10 10:00Z') IS NOT NULL AS m4;
-- C3 paid by transfer meanwhile: the credit is left on account, then pays C4 (100 of 300)
SELECT ar.record_payment('C3', 300.00, '2026-05-20') IS NOT NULL AS paid;
SELECT results_eq($$SELECT * FROM pg_temp.credit('M4', '2026-06-03')$$, $$VALUES ('settled')$$, 'M4 settles');
SELECT is((SELECT sum(amount) FROM ar.apply_open_credits(pg_temp.cu('C'), '2026-06-10')), 100.00, 'its leftover credit pays C4');
INSERT INTO ar.bank_transaction (booking_date, amount, end_to_end_id, return_reason)
SELECT '2026-06-25', -300.00, end_to_end_id, 'MD06' FROM ar.direct_debit_line WHERE mandate_id = :mc;
SELECT results_eq($$SELECT outcome, reason_code FROM ar.settle_direct_debits()$$, $$VALUES ('returned', 'MD06')$$, 'the refund is a return');
SELECT results_eq($$SELECT number, open_amount FROM ar.invoice WHERE number IN ('C3', 'C4') ORDER BY number$$,
	$$VALUES ('C3', 0.00), ('C4', 100.00)$$, 'what the returned money paid is open again (C4); C3 stays paid by its transfer');
SELECT results_eq($$SELECT r.kind, r.amount, c.remaining FROM ar.credit_release r JOIN ar.customer_credit c ON c.id = r.customer_credit_id
                     WHERE r.customer_id = pg_temp.cu('C')$$,
	$$VALUES ('refund', 300.00, 0.00)$$, 'the whole credit is refunded (the bank gave it back)');
SELECT is((SELECT array_agg(i.number) FROM ar.reconcile_anomalies() a JOIN ar.invoice i ON i.id = a.invoice_id
            WHERE a.kind = 'direct_debit_return' AND a.bank_transaction_id = (SELECT max(id) FROM ar.bank_transaction WHERE amount = -300.00)), '{C4}', 'listed as reopened by the return');
SELECT is((SELECT array_agg(DISTINCT a.customer_id) FROM ar.reconcile_anomalies() a
            WHERE a.kind = 'direct_debit_return' AND a.bank_transaction_id = (SELECT max(id) FROM ar.bank_transaction WHERE amount = -300.00)),
          ARRAY[pg_temp.cu('C')], 'the return names its customer (the debtor of the direct debit)');
SELECT is_empty($$SELECT * FROM ar.check_ledger()$$, 'the ledger agrees with itself');

-- the leftover credit partly refunded before the return: that part is an anomaly
INSERT INTO ar.customer (code, name) VALUES ('F', 'Fanny Morel');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
VALUES (pg_temp.cu('F'), 'F3', '2026-05-01', '2026-06-15', 300.00, 'EUR');
SELECT id AS mf FROM ar.create_sepa_mandate(pg_temp.cu('F'), 'UMR-F1', '2026-04-01', 'Fanny Morel', 'FR1420041010050500013M02606') \gset
SELECT ar.collect_direct_debits('2026-06-15', message_id => 'M4F', creation_time => '2026-06-01 10:00Z') IS NOT NULL AS m4f;
SELECT ar.record_payment('F3', 300.00, '2026-06-10') IS NOT NULL AS paid;
SELECT * FROM pg_temp.credit('M4F', '2026-06-17');
INSERT INTO ar.credit_release (company_id, customer_id, customer_credit_id, currency, amount, released_on, kind, reason)
SELECT company_id, customer_id, id, currency, 120.00, '2026-06-20', 'refund', 'refunded by transfer' FROM ar.customer_credit WHERE customer_id = pg_temp.cu('F');
INSERT INTO ar.bank_transaction (booking_date, amount, end_to_end_id, return_reason)
SELECT '2026-06-28', -300.00, end_to_end_id, 'MD06' FROM ar.direct_debit_line WHERE mandate_id = :mf;
SELECT results_eq($$SELECT outcome FROM ar.settle_direct_debits()$$, $$VALUES ('returned')$$, 'F''s debit is returned');
SELECT results_eq($$SELECT r.amount, r.kind, r.released_on FROM ar.credit_release r WHERE r.customer_id = pg_temp.cu('F') ORDER BY r.id$$,
	$$VALUES (120.00, 'refund', '2026-06-20'::date), (180.00, 'refund', '2026-06-28')$$,
	'what is left of the credit is refunded');
SELECT results_eq($$SELECT a.customer_id, a.amount FROM ar.reconcile_anomalies() a WHERE a.kind = 'direct_debit_return_unrecovered'$$,
	format('VALUES (%s::bigint, 120.00)', pg_temp.cu('F')), 'what was refunded before is reported: the ledger cannot take it back');

-- ------------------------------------- a late refund of an old first debit
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT pg_temp.cu('D'), v.n, '2026-07-01', v.due::date, 40.00, 'EUR' FROM (VALUES ('D1', '2026-08-03'), ('D2', '2026-09-01')) v(n, due);
SELECT id AS md FROM ar.create_sepa_mandate(pg_temp.cu('D'), 'UMR-D1', '2026-07-01', 'Denis Roy', 'FR1420041010050500013M02606') \gset
SELECT ar.collect_direct_debits('2026-08-03', message_id => 'M5', creation_time => '2026-07-10 10:00Z') IS NOT NULL AS m5;
SELECT results_eq($$SELECT * FROM pg_temp.credit('M5', '2026-08-05')$$, $$VALUES ('settled'), ('settled')$$, 'M5 (FRST) settles');
SELECT ar.collect_direct_debits('2026-09-01', message_id => 'M6', creation_time => '2026-08-10 10:00Z') IS NOT NULL AS m6;
SELECT results_eq($$SELECT * FROM pg_temp.credit('M6', '2026-09-03')$$, $$VALUES ('settled')$$, 'M6 (RCUR) settles');
INSERT INTO ar.bank_transaction (booking_date, amount, end_to_end_id, return_reason)
SELECT '2026-09-20', -40.00, l.end_to_end_id, 'MD06'
  FROM ar.direct_debit_line l JOIN ar.direct_debit_collection c ON c.id = l.collection_id WHERE c.message_id = 'M5' AND l.mandate_id = :md;
SELECT results_eq($$SELECT outcome FROM ar.settle_direct_debits()$$, $$VALUES ('returned')$$, 'the FRST is refunded weeks later');
SELECT is((SELECT sequence_state FROM pg_temp.m('UMR-D1')), 'RCUR', 'the mandate stays at RCUR: a later debit settled');

-- ------------------------------------------------- remittance text when cut
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT pg_temp.cu('E'), format('INV-2026-%s', lpad(g::text, 6, '0')), '2026-09-01', '2026-10-01', 1.00, 'EUR' FROM generate_series(1, 20) g;
SELECT umr FROM ar.create_sepa_mandate(pg_temp.cu('E'), 'UMR-E1', '2026-09-01', 'Emma Blanc', 'FR1420041010050500013M02606');
SELECT ar.collect_direct_debits('2026-10-01', message_id => 'M7', creation_time => '2026-09-10 10:00Z') IS NOT NULL AS m7;
SELECT is((SELECT remittance_info FROM ar.direct_debit_line l JOIN ar.sepa_mandate m ON m.id = l.mandate_id WHERE m.umr = 'UMR-E1'),
	(SELECT string_agg(format('INV-2026-%s', lpad(g::text, 6, '0')), ', ' ORDER BY g) FROM generate_series(1, 7) g) || ' +13 more',
	'a remittance text cut holds whole numbers and counts those left out');
SELECT is(ar._sepa_remittance(ARRAY[repeat('X', 150), 'Y']), '+2 more', 'a first number too long for the text: only the count');
SELECT is(ar._sepa_remittance(ARRAY['A', 'B']), 'A, B', 'a text that fits is whole');

SELECT * FROM finish();
ROLLBACK;
