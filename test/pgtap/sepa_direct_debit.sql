-- pgTAP: SEPA direct debit collection (issue 16, item 7).  Creditor
-- identifiers and mandate references are validated (check digits
-- included); TARGET2 days; a collection takes the open invoices of the
-- customers with an active mandate (not disputed, blocked, in another
-- currency, due later, or already pending), one transaction per mandate,
-- and its pain.008 document (parsed back with xpath) has exact counts, sums,
-- sequence types, dates and remittance information; the collection date
-- respects pre-notification, lead times and TARGET2; a second run collects
-- nothing; invalid data is refused naming the mandate or invoice, storing
-- nothing; the bank's credit settles (FRST -> RCUR), returns reopen the
-- invoices and update the mandate (AM04, MD01, AC04), rejects free the
-- invoices; amendments are carried; mandates expire; one-off mandates are
-- used once; other companies' roles are refused (not superusers).
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(130);

CREATE FUNCTION pg_temp.x(doc xml, path text) RETURNS text[] LANGUAGE sql AS $$
	SELECT array_agg(v::text ORDER BY n)
	  FROM unnest(xpath(path, doc, ARRAY[ARRAY['p', 'urn:iso:std:iso:20022:tech:xsd:pain.008.001.02'],
	                                     ARRAY['q', 'urn:iso:std:iso:20022:tech:xsd:pain.008.001.08']])) WITH ORDINALITY u(v, n)
$$;

-- ------------------------------------------------------- identifiers
SELECT ok(ar.is_valid_sepa_creditor_id('DE98ZZZ09999999999'), 'the Bundesbank''s example creditor identifier is valid');
SELECT ok(ar.is_valid_sepa_creditor_id('FR72ZZZ123456'), 'a French one too');
SELECT ok(ar.is_valid_sepa_creditor_id('DE98ABC09999999999'), 'the business code is not part of the check');
SELECT ok(NOT ar.is_valid_sepa_creditor_id('DE97ZZZ09999999999'), 'wrong check digits are refused');
SELECT ok(NOT ar.is_valid_sepa_creditor_id('DE98ZZZ09999999998'), 'a mistyped national identifier is refused');
SELECT ok(NOT ar.is_valid_sepa_creditor_id('D198ZZZ0999'), 'a country code is letters');
SELECT ok(NOT ar.is_valid_sepa_creditor_id('DE98ZZZ'), 'a national identifier is needed');
SELECT is(ar.sepa_creditor_id(' de98 zzz 0999 9999 999 '), 'DE98ZZZ09999999999', 'the compact form: spaces dropped, upper case');
SELECT throws_ok($$SELECT ar.sepa_creditor_id('DE97ZZZ09999999999')$$, '22023',
	'invalid SEPA creditor identifier: "DE97ZZZ09999999999"', 'bad check digits are refused naming the value');
SELECT throws_like($$SELECT ar.set_sepa_creditor('DEFAULT', 'ACME', 'DE97ZZZ09999999999', 'FR7630006000011234567890189')$$,
	'%DE97ZZZ09999999999%', 'the creditor set-up validates the identifier');
SELECT ok(ar.is_valid_sepa_id('MANDATE-2026/001'), 'a mandate reference');
SELECT ok(NOT ar.is_valid_sepa_id(repeat('A', 36)), 'at most 35 characters');
SELECT ok(NOT ar.is_valid_sepa_id('MANDATE 1'), 'no space');
SELECT ok(NOT ar.is_valid_sepa_id('M//1') AND NOT ar.is_valid_sepa_id('/M1') AND NOT ar.is_valid_sepa_id('M1/'),
	'no "//", no "/" at either end');
SELECT ok(NOT ar.is_valid_sepa_id('MANDAT-É'), 'only the SEPA character set');
SELECT is(ar.sepa_transliterate('Société Générale & Fils – Müller ß Œuvre'), 'Societe Generale + Fils - Muller ss OEuvre',
	'transliteration to the SEPA set');
SELECT ok(NOT ar.is_sepa_text(ar.sepa_transliterate('王')), 'what cannot be transliterated stays outside the set');
SELECT results_eq($$SELECT ar.is_target2_day(d::date) FROM unnest(ARRAY['2026-04-02', '2026-04-03', '2026-04-06', '2026-05-01',
	'2026-12-25', '2026-12-26', '2027-01-01', '2026-03-14', '2026-03-16']) d$$,
	$$VALUES (true), (false), (false), (false), (false), (false), (false), (false), (true)$$,
	'TARGET2 closes on weekends, 1 January, Good Friday, Easter Monday, 1 May, 25 and 26 December');
SELECT is(ar.add_target2_days('2026-04-02', 1), '2026-04-07'::date, 'one TARGET2 day after the Thursday before Easter is Tuesday');

-- ---------------------------------------------------------- set-up
SELECT is((SELECT creditor_id FROM ar.set_sepa_creditor('DEFAULT', 'ACME Société', 'de98zzz09999999999',
	'FR76 3000 6000 0112 3456 7890 189', 'AGRIFRPP')), 'DE98ZZZ09999999999', 'the creditor is set up');
SELECT is((SELECT creditor_name FROM ar.sepa_creditor), 'ACME Societe', 'its name is transliterated');
INSERT INTO ar.customer (code, name) VALUES ('DD-1', 'Dupont'), ('DD-2', 'Müller'), ('DD-DIS', 'Disputed'), ('DD-NOM', 'No mandate'),
	('DD-LATE', 'Due later'), ('DD-USD', 'Dollars'), ('DD-BLK', 'Blocked'), ('DD-REV', 'Revoked');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency, payment_reference)
SELECT c.id, v.number, '2026-01-05', v.due::date, v.amount, v.currency, v.ref
  FROM (VALUES ('DD-1', 'F-1', '2026-02-01', 100.00, 'EUR', NULL),
               ('DD-1', 'F-2', '2026-02-10', 50.50, 'EUR', NULL),
               ('DD-2', 'F-3', '2026-02-05', 20.00, 'EUR', 'RF18539007547034'),
               ('DD-DIS', 'F-4', '2026-02-05', 30.00, 'EUR', NULL),
               ('DD-NOM', 'F-5', '2026-02-05', 40.00, 'EUR', NULL),
               ('DD-LATE', 'F-6', '2026-03-31', 60.00, 'EUR', NULL),
               ('DD-USD', 'F-7', '2026-02-05', 70.00, 'USD', NULL),
               ('DD-BLK', 'F-8', '2026-02-05', 80.00, 'EUR', NULL),
               ('DD-REV', 'F-9', '2026-02-05', 90.00, 'EUR', NULL)) v(code, number, due, amount, currency, ref)
  JOIN ar.customer c ON c.code = v.code;
CREATE FUNCTION pg_temp.cu(c text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.customer WHERE code = c $$;
CREATE FUNCTION pg_temp.inv(n text) RETURNS ar.invoice LANGUAGE sql AS $$ SELECT * FROM ar.invoice WHERE number = n $$;
CREATE FUNCTION pg_temp.m(u text) RETURNS ar.sepa_mandate LANGUAGE sql AS $$ SELECT * FROM ar.sepa_mandate WHERE umr = u $$;
SELECT ar.record_payment('F-1', 10.00, '2026-02-01');
UPDATE ar.invoice SET disputed = true WHERE number = 'F-4';
SELECT ar.block_dunning(pg_temp.cu('DD-BLK'), '2026-12-31', 'negotiating');

SELECT is((SELECT sequence_state FROM ar.create_sepa_mandate(pg_temp.cu('DD-1'), 'UMR-0001', '2025-12-01', 'Jean Dupont',
	'FR14 2004 1010 0505 0001 3M02 606')), 'FRST', 'a recurrent mandate starts at FRST');
SELECT lives_ok($$SELECT ar.create_sepa_mandate(pg_temp.cu('DD-2'), 'UMR-0002', '2025-12-01', 'Jürgen Müller', 'DE89370400440532013000', 'COBADEFFXXX')$$,
	'a mandate with a BIC');
UPDATE ar.sepa_mandate SET sequence_state = 'RCUR' WHERE umr = 'UMR-0002';
SELECT count(ar.create_sepa_mandate(pg_temp.cu(c), 'UMR-' || c, '2025-12-01', c, 'DE89370400440532013000'))
  FROM unnest(ARRAY['DD-DIS', 'DD-LATE', 'DD-USD', 'DD-BLK', 'DD-REV']) c;
SELECT lives_ok($$SELECT ar.revoke_sepa_mandate((pg_temp.m('UMR-DD-REV')).id, 'debtor withdrew it')$$, 'a mandate is revoked');
SELECT throws_ok($$SELECT ar.create_sepa_mandate(pg_temp.cu('DD-NOM'), 'UMR 9', '2025-12-01', 'X', 'DE89370400440532013000')$$,
	'22023', 'invalid mandate reference (UMR): "UMR 9"', 'an invalid UMR is refused');
SELECT throws_ok($$SELECT ar.create_sepa_mandate(pg_temp.cu('DD-NOM'), 'umr-0001', '2025-12-01', 'X', 'DE89370400440532013000')$$,
	'23505', NULL, 'a UMR is unique per creditor, whatever the case');
SELECT throws_ok($$SELECT ar.create_sepa_mandate(pg_temp.cu('DD-NOM'), 'UMR-9', '2025-12-01', 'X', 'DE89370400440532013001')$$,
	'22023', 'invalid debtor IBAN: "DE89370400440532013001"', 'an invalid IBAN is refused');
SELECT throws_ok($$SELECT ar.create_sepa_mandate(pg_temp.cu('DD-NOM'), 'UMR-9', '2025-12-01', '王', 'DE89370400440532013000')$$,
	'22023', NULL, 'a debtor name that cannot be written in the SEPA set is refused');
SELECT throws_ok($$SELECT ar.create_sepa_mandate(pg_temp.cu('DD-1'), 'UMR-9', '2025-12-01', 'X', 'DE89370400440532013000')$$,
	'23505', NULL, 'one usable mandate per customer');
SELECT throws_ok($$UPDATE ar.sepa_mandate SET signed_on = 'infinity' WHERE umr = 'UMR-0001'$$, '22008', NULL,
	'the input bounds apply to the mandates (dates)');
SELECT throws_ok($$UPDATE ar.sepa_mandate SET debtor_name = E'Jean\nBcc: x' WHERE umr = 'UMR-0001'$$, '22023', NULL,
	'and to their header texts');

-- ------------------------------------------------------- collection
SELECT throws_ok($$SELECT ar.collect_direct_debits('2026-02-28', NULL, '2026-03-13', 'pain.008.001.02', 'MSG-1', '2026-03-02 10:00+00')$$,
	'22023', 'collection date 2026-03-13 is too early', 'a collection date before the pre-notification period is refused');
SELECT throws_ok($$SELECT ar.collect_direct_debits('2026-02-28', NULL, '2026-04-06', 'pain.008.001.02', 'MSG-1', '2026-03-02 10:00+00')$$,
	'22023', 'collection date 2026-04-06 is not a TARGET2 business day', 'Easter Monday is refused');
SELECT throws_ok($$SELECT ar.collect_direct_debits('2026-02-28', NULL, NULL, 'pain.008.001.09')$$, '22023', NULL, 'an unknown version is refused');
SELECT throws_ok($$SELECT ar.collect_direct_debits('2026-02-28', NULL, NULL, 'pain.008.001.02', 'MSG 1')$$, '22023', NULL,
	'an invalid message id is refused');
SELECT is((SELECT count(*) FROM ar.direct_debit_collection), 0::bigint, 'refusals store nothing');

CREATE TEMP TABLE doc1 AS
SELECT ar.collect_direct_debits('2026-02-28', NULL, NULL, 'pain.008.001.02', 'MSG-1', '2026-03-02 10:00+00') AS d;
SELECT is(pg_temp.x(d, '/p:Document/p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId/text()'), '{MSG-1}', 'MsgId as given') FROM doc1;
SELECT is(pg_temp.x(d, '//p:GrpHdr/p:CreDtTm/text()'), '{2026-03-02T10:00:00}', 'CreDtTm as given, in UTC') FROM doc1;
SELECT is(pg_temp.x(d, '//p:GrpHdr/p:NbOfTxs/text()'), '{2}', 'NbOfTxs: one transaction per mandate') FROM doc1;
SELECT is(pg_temp.x(d, '//p:GrpHdr/p:CtrlSum/text()'), '{160.50}', 'CtrlSum: the open amounts (F-1 partly paid)') FROM doc1;
SELECT is(pg_temp.x(d, 'count(//p:DrctDbtTxInf)'), '{2}', 'as many transactions as NbOfTxs') FROM doc1;
SELECT is((SELECT sum(v::text::numeric) FROM doc1, unnest(xpath('//p:InstdAmt/text()', d,
	ARRAY[ARRAY['p', 'urn:iso:std:iso:20022:tech:xsd:pain.008.001.02']])) v), 160.50, 'CtrlSum is the sum of the amounts');
SELECT is(pg_temp.x(d, '//p:PmtInf/p:PmtTpInf/p:SeqTp/text()'), '{FRST,RCUR}', 'one payment information block per sequence type') FROM doc1;
SELECT is(pg_temp.x(d, '//p:PmtInf/p:NbOfTxs/text()'), '{1,1}', 'with its count') FROM doc1;
SELECT is(pg_temp.x(d, '//p:PmtInf/p:CtrlSum/text()'), '{140.50,20.00}', 'and its sum, 2 decimals') FROM doc1;
SELECT is(pg_temp.x(d, '//p:PmtInf/p:PmtInfId/text()'), '{MSG-1-1,MSG-1-2}', 'PmtInfId: the message id and a number') FROM doc1;
SELECT is(pg_temp.x(d, '//p:PmtInf/p:PmtTpInf/p:LclInstrm/p:Cd/text()'), '{CORE,CORE}', 'the scheme') FROM doc1;
SELECT is(pg_temp.x(d, '//p:PmtInf/p:ReqdColltnDt/text()'), '{2026-03-16,2026-03-16}',
	'ReqdColltnDt: 14 days of pre-notification, a TARGET2 day') FROM doc1;
SELECT is(pg_temp.x(d, '//p:CdtrSchmeId//p:Othr/p:Id/text()'), '{DE98ZZZ09999999999,DE98ZZZ09999999999}', 'the creditor identifier') FROM doc1;
SELECT is(pg_temp.x(d, '//p:CdtrAgt/p:FinInstnId/p:BIC/text()'), '{AGRIFRPP,AGRIFRPP}', 'the creditor''s BIC') FROM doc1;
SELECT is(pg_temp.x(d, '//p:DrctDbtTxInf/p:DrctDbtTx/p:MndtRltdInf/p:MndtId/text()'), '{UMR-0001,UMR-0002}', 'the mandates') FROM doc1;
SELECT is(pg_temp.x(d, '//p:MndtRltdInf/p:DtOfSgntr/text()'), '{2025-12-01,2025-12-01}', 'their signature dates') FROM doc1;
SELECT is(pg_temp.x(d, '//p:DrctDbtTxInf/p:RmtInf/p:Ustrd/text()'), '{"F-1, F-2"}', 'remittance: the invoice numbers') FROM doc1;
SELECT is(pg_temp.x(d, '//p:DrctDbtTxInf/p:RmtInf/p:Strd/p:CdtrRefInf/p:Ref/text()'), '{RF18539007547034}',
	'or the RF reference of the only invoice') FROM doc1;
SELECT is(pg_temp.x(d, '//p:Dbtr/p:Nm/text()'), '{"Jean Dupont","Jurgen Muller"}', 'debtor names transliterated') FROM doc1;
SELECT is(pg_temp.x(d, '//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id/text()'), '{NOTPROVIDED}', 'no BIC: NOTPROVIDED') FROM doc1;
SELECT is(pg_temp.x(d, '//p:DbtrAcct/p:Id/p:IBAN/text()'), '{FR1420041010050500013M02606,DE89370400440532013000}', 'debtor IBANs') FROM doc1;
SELECT is((SELECT document::text FROM ar.direct_debit_collection), (SELECT d::text FROM doc1), 'the document is kept with the collection');
SELECT results_eq($$SELECT message_id, requested_collection_date, number_of_transactions, control_sum, status FROM ar.direct_debit_collection$$,
	$$VALUES ('MSG-1', '2026-03-16'::date, 2, 160.50, 'pending')$$, 'the collection');
SELECT results_eq($$SELECT i.number FROM ar.direct_debit_line_invoice li JOIN ar.invoice i ON i.id = li.invoice_id ORDER BY 1$$,
	$$VALUES ('F-1'), ('F-2'), ('F-3')$$, 'disputed, unmandated, later, other-currency, blocked and revoked invoices are left');
SELECT ok(ar.collect_direct_debits('2026-02-28', NULL, NULL, 'pain.008.001.02', 'MSG-2', '2026-03-02 10:00+00') IS NULL,
	'a second run collects nothing: the invoices are pending');
SELECT is((SELECT count(*) FROM ar.direct_debit_collection), 1::bigint, 'and makes no collection');
SELECT is((SELECT last_collected_on FROM pg_temp.m('UMR-0001')), '2026-03-16'::date, 'the mandate''s last collection is dated');
SELECT ok('1 pending direct debit(s)' = ANY ((ar._gdpr_status(pg_temp.cu('DD-1'), current_date)).open_items),
	'GDPR: a pending direct debit is an open item of the customer');
SELECT results_eq($$SELECT column_name, action FROM ar._gdpr_columns() WHERE table_name = 'sepa_mandate' ORDER BY 1$$,
	$$VALUES ('debtor_bic', 'null'), ('debtor_iban', 'null'), ('debtor_name', 'pseudonym'), ('original_debtor_iban', 'null')$$,
	'GDPR: the mandates'' personal columns are anonymised');

-- refusals name the mandate or the invoice, and store nothing
UPDATE ar.sepa_mandate SET debtor_name = '王' WHERE umr = 'UMR-DD-LATE';
SELECT throws_ok($$SELECT ar.collect_direct_debits('2026-03-31', NULL, NULL, 'pain.008.001.02', 'MSG-3', '2026-03-02 10:00+00')$$,
	'22023', 'mandate UMR-DD-LATE (customer DD-LATE) cannot be collected', 'a debtor name outside the SEPA set is refused naming the mandate');
UPDATE ar.sepa_mandate SET debtor_name = 'Late' WHERE umr = 'UMR-DD-LATE';
UPDATE ar.invoice SET number = 'F#6' WHERE number = 'F-6';
SELECT throws_ok($$SELECT ar.collect_direct_debits('2026-03-31', NULL, NULL, 'pain.008.001.02', 'MSG-3', '2026-03-02 10:00+00')$$,
	'22023', 'invoice number "F#6" (customer DD-LATE) cannot be written in the SEPA character set', 'so is an invoice number');
UPDATE ar.invoice SET number = 'F-6' WHERE number = 'F#6';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount) VALUES (pg_temp.cu('DD-LATE'), 'F-BIG', '2026-01-05', '2026-03-01', 999999999.99);
SELECT throws_ok($$SELECT ar.collect_direct_debits('2026-03-31', NULL, NULL, 'pain.008.001.02', 'MSG-3', '2026-03-02 10:00+00')$$,
	'22003', NULL, 'an amount over 999999999.99 is refused');
SELECT is((SELECT count(*) FROM ar.direct_debit_collection), 1::bigint, 'nothing stored');
UPDATE ar.invoice SET cancelled_on = '2026-03-01' WHERE number = 'F-BIG';

-- ------------------------------------------------------- settlement
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-03-16', 140.50, 'SDD MSG-1-1 CORE FRST');
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-03-16', 20.00, 'SEPA LASTSCHRIFT');
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-03-16', 77.00, 'unrelated');
SELECT results_eq($$SELECT end_to_end_id, outcome, amount FROM ar.settle_direct_debits() ORDER BY 1$$,
	$$SELECT end_to_end_id, 'settled', amount FROM ar.direct_debit_line ORDER BY 1$$,
	'the credits settle their lines: by the PmtInfId they name, or by amount');
SELECT results_eq($$SELECT number, open_amount, status FROM ar.invoice WHERE number IN ('F-1', 'F-2', 'F-3') ORDER BY 1$$,
	$$VALUES ('F-1', 0.00, 'paid'), ('F-2', 0.00, 'paid'), ('F-3', 0.00, 'paid')$$, 'the invoices are paid');
SELECT results_eq($$SELECT amount, status FROM ar.bank_transaction ORDER BY id$$,
	$$VALUES (140.50, 'matched'), (20.00, 'matched'), (77.00, 'unmatched')$$, 'the credit lines are matched, the unrelated one is left');
SELECT is((SELECT sequence_state FROM pg_temp.m('UMR-0001')), 'RCUR', 'a settled FRST moves the mandate to RCUR');
SELECT is((SELECT status FROM ar.direct_debit_collection), 'closed', 'the collection is closed');
SELECT is_empty($$SELECT * FROM ar.check_ledger()$$, 'the ledger agrees with itself');
SELECT is((SELECT count(*) FROM ar.settle_direct_debits()), 0::bigint, 'settling again does nothing');

-- --------------------------------------------------------- returns
INSERT INTO ar.bank_transaction (booking_date, amount, end_to_end_id, return_reason)
SELECT '2026-03-20', -140.50, end_to_end_id, 'AM04' FROM ar.direct_debit_line WHERE amount = 140.50;
INSERT INTO ar.bank_transaction (booking_date, amount, end_to_end_id, return_reason)
SELECT '2026-03-20', -20.00, end_to_end_id, 'MD01' FROM ar.direct_debit_line WHERE amount = 20.00;
SELECT results_eq($$SELECT outcome, amount, reason_code FROM ar.settle_direct_debits() ORDER BY amount$$,
	$$VALUES ('returned', 20.00, 'MD01'), ('returned', 140.50, 'AM04')$$, 'returns are matched by end-to-end id');
SELECT results_eq($$SELECT number, open_amount FROM ar.invoice WHERE number IN ('F-1', 'F-2', 'F-3') ORDER BY 1$$,
	$$VALUES ('F-1', 90.00), ('F-2', 50.50), ('F-3', 20.00)$$, 'the invoices are open again');
SELECT results_eq($$SELECT umr, sequence_state, status FROM ar.sepa_mandate WHERE umr IN ('UMR-0001', 'UMR-0002') ORDER BY 1$$,
	$$VALUES ('UMR-0001', 'FRST', 'active'), ('UMR-0002', 'RCUR', 'revoked')$$,
	'AM04 leaves the mandate active (a failed FRST stays FRST), MD01 revokes it');
SELECT results_eq($$SELECT status, return_reason FROM ar.direct_debit_line ORDER BY amount$$,
	$$VALUES ('returned', 'MD01'), ('returned', 'AM04')$$, 'the lines are returned with their reason');
SELECT results_eq($$SELECT amount, status FROM ar.bank_transaction ORDER BY id$$,
	$$VALUES (140.50, 'matched'), (20.00, 'matched'), (77.00, 'unmatched'), (-140.50, 'ignored'), (-20.00, 'ignored')$$,
	'the credits stay accounted for (the returned share refunded), the returns are set aside');
SELECT is((SELECT sum(amount) FROM ar.credit_release WHERE kind = 'refund'), 160.50, 'the returned amounts are refunds of the credit lines');
SELECT is_empty($$SELECT * FROM ar.check_ledger()$$, 'the ledger still agrees with itself');
SELECT is((SELECT count(*) FROM ar.reconcile_anomalies(NULL, '2026-03-21') WHERE kind = 'direct_debit_return'), 3::bigint,
	'the reopened invoices are direct-debit return anomalies');

-- a new collection takes the reopened invoices again (not the revoked mandate's)
CREATE TEMP TABLE doc2 AS
SELECT ar.collect_direct_debits('2026-02-28', NULL, NULL, 'pain.008.001.08', 'MSG-4', '2026-03-23 10:00+00') AS d;
SELECT is(pg_temp.x(d, '/q:Document/q:CstmrDrctDbtInitn/q:GrpHdr/q:CtrlSum/text()'), '{140.50}', 'the returned invoices are collected again') FROM doc2;
SELECT is(pg_temp.x(d, '//q:PmtTpInf/q:SeqTp/text()'), '{FRST}', 'as a FRST') FROM doc2;
SELECT is(pg_temp.x(d, '//q:CdtrAgt/q:FinInstnId/q:BICFI/text()'), '{AGRIFRPP}', 'pain.008.001.08 says BICFI') FROM doc2;
SELECT is(pg_temp.x(d, 'count(//q:BIC)'), '{0}', 'not BIC') FROM doc2;
SELECT is(pg_temp.x(d, '//q:ReqdColltnDt/text()'), '{2026-04-07}', 'its collection date is a date, after Easter Monday') FROM doc2;

-- rejects before settlement
SELECT is((SELECT status FROM ar.reject_direct_debit((SELECT end_to_end_id FROM ar.direct_debit_line WHERE status = 'pending'), 'AC04', '2026-04-03')),
	'rejected', 'a reject before settlement');
SELECT is((SELECT status FROM pg_temp.m('UMR-0001')), 'suspended', 'AC04 suspends the mandate');
SELECT ok(ar.collect_direct_debits('2026-02-28', NULL, NULL, 'pain.008.001.02', 'MSG-5', '2026-04-03 10:00+00') IS NULL,
	'a suspended mandate is not collected');
SELECT throws_ok(format('SELECT ar.reject_direct_debit(%L, %L)', (SELECT end_to_end_id FROM ar.direct_debit_line WHERE status = 'rejected'), 'AC04'),
	'55000', NULL, 'a line is rejected once');

-- amendment: a new account at another bank
SELECT is((SELECT status FROM ar.amend_sepa_mandate((pg_temp.m('UMR-0001')).id, debtor_iban => 'DE89370400440532013000', umr => 'UMR-0001-B')),
	'active', 'a new account makes the suspended mandate active');
CREATE TEMP TABLE doc3 AS
SELECT ar.collect_direct_debits('2026-02-28', NULL, NULL, 'pain.008.001.02', 'MSG-6', '2026-04-03 10:00+00') AS d;
SELECT is(pg_temp.x(d, '//p:MndtRltdInf/p:AmdmntInd/text()'), '{true}', 'the next collection carries the amendment') FROM doc3;
SELECT is(pg_temp.x(d, '//p:AmdmntInfDtls/p:OrgnlMndtId/text()'), '{UMR-0001}', 'the original reference') FROM doc3;
SELECT is(pg_temp.x(d, '//p:AmdmntInfDtls/p:OrgnlDbtrAgt/p:FinInstnId/p:Othr/p:Id/text()'), '{SMNDA}', 'SMNDA: another bank') FROM doc3;
SELECT is(pg_temp.x(d, '//p:PmtTpInf/p:SeqTp/text()'), '{FRST}', 'and a FRST') FROM doc3;
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-04-20', 140.50, 'MSG-6');
SELECT is((SELECT count(*) FROM ar.settle_direct_debits()), 1::bigint, 'settled');
SELECT results_eq($$SELECT sequence_state, original_umr, original_debtor_iban::text, debtor_bank_changed FROM pg_temp.m('UMR-0001-B')$$,
	$$VALUES ('RCUR', NULL::text, NULL::text, false)$$, 'a settled collection delivered the amendment');
-- expiry and one-off mandates
UPDATE ar.sepa_mandate SET last_collected_on = '2023-04-01' WHERE umr = 'UMR-DD-LATE';
SELECT ok(ar.collect_direct_debits('2026-04-30', NULL, NULL, 'pain.008.001.02', 'MSG-7', '2026-04-03 10:00+00') IS NULL,
	'nothing to collect from a mandate unused for 36 months');
SELECT is((SELECT status FROM pg_temp.m('UMR-DD-LATE')), 'expired', 'it expired');
SELECT is((SELECT status_reason FROM pg_temp.m('UMR-DD-LATE')), 'no collection for 36 months (last: 2023-04-01)',
	'the reason names its last collection');
INSERT INTO ar.customer (code, name) VALUES ('DD-NEVER', 'Never collected');
SELECT is((SELECT status FROM ar.create_sepa_mandate(pg_temp.cu('DD-NEVER'), 'UMR-NEVER', '2023-03-01', 'Never', 'DE89370400440532013000')),
	'active', 'a mandate signed three years ago, never used');
SELECT is(ar._expire_sepa_mandates(ar.default_company(), '2026-04-03'), 1, 'expiring it alone');
SELECT is((SELECT status || ': ' || status_reason FROM pg_temp.m('UMR-NEVER')),
	'expired: no collection for 36 months (last: none, signed 2023-03-01)', 'the reason of a mandate never used names its signature');
INSERT INTO ar.customer (code, name) VALUES ('DD-OOFF', 'Once');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT pg_temp.cu('DD-OOFF'), n, '2026-04-01', '2026-04-10', 15.00 FROM unnest(ARRAY['O-1']) n;
SELECT is((SELECT sequence_state FROM ar.create_sepa_mandate(pg_temp.cu('DD-OOFF'), 'UMR-OOFF', '2026-04-01', 'Once', 'DE89370400440532013000', one_off => true)),
	'OOFF', 'a one-off mandate');
CREATE TEMP TABLE doc4 AS
SELECT ar.collect_direct_debits('2026-04-30', NULL, NULL, 'pain.008.001.02', 'MSG-8', '2026-04-03 10:00+00') AS d;
SELECT is(pg_temp.x(d, '//p:PmtTpInf/p:SeqTp/text()'), '{OOFF}', 'is collected as OOFF') FROM doc4;
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-06-30', 15.00, 'transfer');
SELECT is((SELECT count(*) FROM ar.settle_direct_debits()), 0::bigint,
	'a credit of the amount, naming nothing, long after the collection date, settles nothing');
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-04-20', 15.00, 'MSG-8');
SELECT is((SELECT count(*) FROM ar.settle_direct_debits()), 1::bigint, 'settled');
SELECT is((SELECT status FROM pg_temp.m('UMR-OOFF')), 'completed', 'and the mandate is completed');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount) VALUES (pg_temp.cu('DD-OOFF'), 'O-2', '2026-04-01', '2026-04-10', 16.00);
SELECT ok(ar.collect_direct_debits('2026-04-30', NULL, NULL, 'pain.008.001.02', 'MSG-9', '2026-04-03 10:00+00') IS NULL,
	'it is not collected again');

-- a return naming no end-to-end id, found by the mandate reference and the amount
INSERT INTO ar.bank_transaction (booking_date, amount, end_to_end_id, mandate_id, return_reason)
VALUES ('2026-04-24', -140.50, 'NOTPROVIDED', 'umr-0001-b', 'MS02');
SELECT results_eq($$SELECT outcome, amount, reason_code FROM ar.settle_direct_debits()$$,
	$$VALUES ('returned', 140.50, 'MS02')$$, 'a return without end-to-end id is found by mandate reference and amount');
SELECT results_eq($$SELECT sequence_state, status FROM pg_temp.m('UMR-0001-B')$$, $$VALUES ('FRST', 'active')$$,
	'MS02 leaves the mandate active; its failed FRST stays FRST');
SELECT is((SELECT explanation->>'matched_on' FROM ar.reconcile_line WHERE bank_transaction_id = (SELECT max(id) FROM ar.bank_transaction)),
	'mandate_and_amount', 'the decision says how it was found');


SELECT cmp_ok((SELECT count(*) FROM ar.audit_log WHERE table_name IN ('sepa_mandate', 'direct_debit_line', 'direct_debit_line_invoice',
	'direct_debit_collection', 'sepa_creditor')), '>', 20::bigint, 'creditor, mandates, collections and lines are audited');

-- ---------------------------------------------------------- tenancy
CREATE ROLE dd_coll_a IN ROLE ar_collector;
CREATE ROLE dd_adm_b IN ROLE ar_admin;
CREATE ROLE dd_read_a IN ROLE ar_reader;
INSERT INTO ar.company (code, name) VALUES ('DD_B', 'Company B');
SELECT ar.grant_company_access('dd_coll_a', 'DEFAULT', 'collector');
SELECT ar.grant_company_access('dd_read_a', 'DEFAULT', 'reader');
SELECT ar.grant_company_access('dd_adm_b', 'DD_B', 'admin');
SELECT id AS co_a FROM ar.company WHERE code = 'DEFAULT' \gset
SELECT id AS co_b FROM ar.company WHERE code = 'DD_B' \gset
SELECT id AS ooff FROM ar.sepa_mandate WHERE umr = 'UMR-OOFF' \gset
SELECT end_to_end_id AS e2e_a FROM ar.direct_debit_line ORDER BY id LIMIT 1 \gset
SET LOCAL ROLE dd_adm_b;
SELECT lives_ok($$SELECT ar.set_sepa_creditor('DD_B', 'B', 'FR72ZZZ123456', 'FR7630006000011234567890189')$$, 'an admin sets its company up');
SELECT throws_ok($$SELECT ar.set_sepa_creditor('DEFAULT', 'B', 'FR72ZZZ123456', 'FR7630006000011234567890189')$$, 'P0002', NULL,
	'not another company (which it does not even see)');
SELECT throws_ok(format('SELECT ar.collect_direct_debits(%L, %s)', '2026-04-30', :co_a), '42501', NULL,
	'nor collects for it');
SELECT throws_ok(format('SELECT ar.revoke_sepa_mandate(%s, %L)', :ooff, 'x'), 'P0002', NULL,
	'nor sees its mandates to revoke them');
SELECT is((SELECT count(*) FROM ar.direct_debit_line), 0::bigint, 'nor reads its lines');
SELECT throws_ok(format('SELECT ar.reject_direct_debit(%L, %L)', :'e2e_a', 'AM04'), 'P0002', NULL,
	'nor rejects its debits (whose end-to-end ids it does not see)');
RESET ROLE;
SET LOCAL ROLE dd_coll_a;
SELECT ok(ar.collect_direct_debits('2026-04-30', :co_a) IS NOT NULL, 'a collector collects for its company (the returned invoices)');
SELECT throws_ok(format('SELECT ar.create_sepa_mandate(%s, %L, %L, %L, %L)', pg_temp.cu('DD-NOM'), 'UMR-X', '2026-01-01', 'X', 'DE89370400440532013000'),
	'42501', NULL, 'but does not manage mandates');
SELECT cmp_ok((SELECT count(*) FROM ar.direct_debit_report), '>', 0::bigint, 'and reads the report');
RESET ROLE;
SET LOCAL ROLE dd_read_a;
SELECT throws_ok(format('SELECT ar.collect_direct_debits(%L, %s)', '2026-04-30', :co_a), '42501', NULL, 'a reader does not collect');
RESET ROLE;

-- the worker settles direct debits before it reconciles
INSERT INTO ar.customer (code, name) VALUES ('DD-W', 'Worker');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount) VALUES (pg_temp.cu('DD-W'), 'W-1', '2026-04-01', '2026-04-10', 33.00);
SELECT count(*) FROM ar.create_sepa_mandate(pg_temp.cu('DD-W'), 'UMR-W', '2026-04-01', 'Worker', 'DE89370400440532013000');
SELECT ok(ar.collect_direct_debits('2026-04-30', :co_a, NULL, 'pain.008.001.02', 'MSG-W', '2026-04-03 10:00+00') IS NOT NULL, 'collected');
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-04-17', 33.00, 'SDD MSG-W-1');
SELECT lives_ok($$SELECT ar._worker_reconcile(ar._worker_reconcile_due())$$, 'the worker reconciles the new bank lines');
SELECT is((SELECT status FROM ar.direct_debit_line WHERE end_to_end_id LIKE 'DD%' AND mandate_id = (pg_temp.m('UMR-W')).id), 'settled',
	'and settled the direct debit first');
SELECT is((SELECT result->>'direct_debits' FROM ar.worker_run WHERE kind = 'reconcile' ORDER BY id DESC LIMIT 1), '1',
	'its run says so');

SELECT * FROM finish();
ROLLBACK;
