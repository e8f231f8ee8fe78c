-- Anonymisation, review 5 (doc/gdpr.md): a customer who was sent a
-- statement of account can be anonymised (its notice's guard lets the
-- redaction through), and its name is gone from the statement's HTML body,
-- where it stood HTML-escaped; a SEPA debtor's name is gone in every form it
-- was written in (transliterated in the pain.008 file, upper-cased and with
-- umlauts spelled out by the bank) and the return of its direct debit loses
-- its counterparty data (the mandate's IBAN); the retention counts from its
-- credit releases too.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(20);

INSERT INTO ar.retention_policy (company_id, accounting_years) VALUES (ar.default_company(), 1);
SELECT 1 FROM ar.set_sepa_creditor('DEFAULT', 'ACME', 'DE98ZZZ09999999999', 'FR7630006000011234567890189', 'AGRIFRPP');

-- H: sent a statement of account, its name and address HTML-escaped in it
INSERT INTO ar.customer (code, name, email, address_line1, postcode, city)
VALUES ('H', 'Seán O''Brien & Fils', 'sean.obrien@example.org', '3 rue d''Arcole', '75004', 'Paris');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT id, 'H1', '2024-01-05', '2024-02-01', 250.00, 'EUR' FROM ar.customer WHERE code = 'H';
SELECT ar.record_payment('H1', 250.00, '2024-02-10');
SELECT id AS h_id FROM ar.customer WHERE code = 'H' \gset
CREATE TEMP TABLE notice AS SELECT * FROM ar.queue_statement_of_account(:h_id, '2024-01-01', '2024-03-31');
SELECT 1 FROM ar.mark_statement_notice((SELECT id FROM notice), 'sent', 'MSG-1');
SELECT ok((SELECT body_html LIKE '%Seán O&#39;Brien &amp; Fils%' AND body_html LIKE '%d&#39;Arcole%' FROM ar.statement_notice),
	'setup: the statement''s HTML body holds the name and the address, HTML-escaped');

-- G: a SEPA debtor, collected, settled, returned (the bank names the debtor
-- its own way), then paid
INSERT INTO ar.customer (code, name, email) VALUES ('G', 'Jürgen Müller', 'jm@example.org');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT id, 'K1', '2024-01-05', '2024-02-01', 100.00, 'EUR' FROM ar.customer WHERE code = 'G';
SELECT id AS g_id FROM ar.customer WHERE code = 'G' \gset
SELECT 1 FROM ar.create_sepa_mandate(:g_id, 'UMR-G1', '2023-12-01', 'Jürgen Müller', 'DE89370400440532013000');
SELECT 1 FROM ar.collect_direct_debits('2024-02-01', message_id => 'M1', creation_time => '2024-02-01 10:00Z');
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2024-02-15', 100.00, 'SDD M1');
SELECT 1 FROM ar.settle_direct_debits();
INSERT INTO ar.bank_transaction (booking_date, amount, end_to_end_id, return_reason, counterparty_name, counterparty_iban)
VALUES ('2024-03-01', -100.00, 'DD1-1', 'AM04', 'MUELLER JUERGEN', 'DE89370400440532013000');
SELECT 1 FROM ar.settle_direct_debits();
SELECT ar.record_payment('K1', 100.00, '2024-03-10');
-- notes on another customer naming them as the bank and the file print them
INSERT INTO ar.customer (code, name) VALUES ('O', 'Other Customer');
SELECT ar.log_interaction(id, 'note', 'the bank returned the debit of JURGEN MULLER, booked as MUELLER JUERGEN') FROM ar.customer WHERE code = 'O';
SELECT ar.log_interaction(id, 'note', 'letter to Seán O&#39;Brien &amp; Fils, copy to SEÁN O''BRIEN & FILS') FROM ar.customer WHERE code = 'O';
SELECT ok((SELECT document::text LIKE '%<Dbtr><Nm>Jurgen Muller</Nm></Dbtr>%' FROM ar.direct_debit_collection),
	'setup: the pain.008 file names the debtor transliterated');
SELECT is((SELECT counterparty_name FROM ar.bank_transaction WHERE amount < 0), 'MUELLER JUERGEN',
	'setup: the return line names the debtor as the bank does');

\ir ../lib/personal_hits.sql
CREATE TEMP TABLE personal_h(v text);
INSERT INTO personal_h VALUES ('Seán O''Brien & Fils'), ('Seán O&#39;Brien &amp; Fils'), ('sean.obrien@example.org'),
	('3 rue d''Arcole'), ('d&#39;Arcole');
CREATE TEMP TABLE personal_g(v text);
INSERT INTO personal_g VALUES ('Jürgen Müller'), ('Jurgen Muller'), ('Juergen Mueller'), ('MUELLER JUERGEN'),
	('DE89370400440532013000'), ('jm@example.org');
SELECT ok((SELECT count(*) FROM pg_temp.personal_hits((SELECT array_agg(v) FROM personal_h))) >= 3
          AND (SELECT count(*) FROM pg_temp.personal_hits((SELECT array_agg(v) FROM personal_g))) >= 5,
	'setup: the search finds their personal values before');

-- everything sealed: the redaction meets sealed rows
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;

-- ------------------------------------------------ 1. a statement was sent
SELECT lives_ok(format('SELECT ar.anonymise_customer(%s, %L)', :h_id, 'REQ-2'),
	'a customer who was sent a statement of account can be anonymised');
SELECT is(ARRAY(SELECT * FROM pg_temp.personal_hits((SELECT array_agg(v) FROM personal_h))), '{}'::text[],
	'no form of its name and address remains (HTML-escaped in the statement, upper-case in a note), audit trail included');
SELECT results_eq($$SELECT status, provider_ref, subject, body, body_html, recipient FROM ar.statement_notice$$,
	$$VALUES ('sent'::text, 'MSG-1'::text, '[anonymised]'::text, '[anonymised]'::text, '[anonymised]'::text, NULL::text)$$,
	'the statement notice keeps its status and reference, not its text nor its recipient');
SELECT is((SELECT summary FROM ar.communication WHERE summary LIKE 'letter to%'),
	'letter to [anonymised], copy to [anonymised]', 'the escaped and the upper-cased name are replaced in a note');
SELECT throws_ok($$UPDATE ar.statement_notice SET body = 'x'$$, '42501', NULL,
	'outside an anonymisation the statement notice still cannot be changed');

-- ----------------------------------------------- 2. a SEPA debtor
SELECT lives_ok(format('SELECT ar.anonymise_customer(%s, %L)', :g_id, 'REQ-1'), 'the SEPA debtor is anonymised');
SELECT is(ARRAY(SELECT * FROM pg_temp.personal_hits((SELECT array_agg(v) FROM personal_g))), '{}'::text[],
	'no form of its name nor its IBAN remains (pain.008 file, return line, notes), audit trail included');
SELECT ok((SELECT document::text LIKE '%<Dbtr><Nm>[anonymised]</Nm></Dbtr>%' FROM ar.direct_debit_collection),
	'the pain.008 file names no debtor');
SELECT results_eq($$SELECT counterparty_name, counterparty_iban::text, amount, end_to_end_id, return_reason
                      FROM ar.bank_transaction WHERE amount < 0$$,
	$$VALUES (NULL::text, NULL::text, -100.00::numeric, 'DD1-1'::text, 'AM04'::text)$$,
	'the return line loses its counterparty data, keeps its amount and references');
SELECT is((SELECT count(*) FROM ar.audit_log a JOIN ar.audit_redaction r ON r.audit_id = a.id
            WHERE a.table_name IN ('bank_transaction', 'direct_debit_collection')), 5::bigint,
	'the sealed audit images of the pain.008 file (3) and of the return line (2) were redacted, each recorded');
SELECT is((SELECT summary FROM ar.communication WHERE summary LIKE 'the bank%'),
	'the bank returned the debit of [anonymised], booked as [anonymised]', 'the bank''s and the file''s forms are replaced in a note');
SELECT is((SELECT status FROM ar.invoice WHERE number = 'K1'), 'paid', 'the books stay');
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'ar.check_ledger() is clean');
SELECT results_eq($$SELECT valid, problem FROM ar.verify_audit_chain()$$, $$VALUES (true, NULL::text)$$,
	'the audit chain verifies');

-- ----------------------------------- 3. the retention of a credit release
INSERT INTO ar.company (code, name, iban) VALUES ('GK', 'Company GK', 'FR7630006000011234567890189');
INSERT INTO ar.retention_policy (company_id, accounting_years) SELECT id, 2 FROM ar.company WHERE code = 'GK';
INSERT INTO ar.customer (company_id, code, name) SELECT id, 'K', 'Karl Kredit' FROM ar.company WHERE code = 'GK';
INSERT INTO ar.customer_credit (company_id, customer_id, amount, source, created_on)
SELECT company_id, id, 30.00, 'manual', '2023-03-01' FROM ar.customer WHERE code = 'K';
INSERT INTO ar.credit_release (company_id, customer_id, customer_credit_id, currency, amount, released_on, kind, reason)
SELECT company_id, customer_id, id, currency, 30.00, '2024-02-01', 'refund', 'refunded' FROM ar.customer_credit
 WHERE customer_id = (SELECT id FROM ar.customer WHERE code = 'K');
SELECT results_eq($$SELECT last_document_on, retention_until, anonymise_from, may_anonymise
                      FROM ar.retention_report('2026-06-01') WHERE customer_code = 'K'$$,
	$$VALUES ('2024-02-01'::date, '2026-12-31'::date, '2027-01-01'::date, false)$$,
	'the retention runs from the credit''s refund, not from the credit');

-- and from the return of a direct debit: D paid by hand, dated before the
-- bank booked the return of its debit
INSERT INTO ar.customer (code, name) VALUES ('D', 'Dora Debit');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT id, 'D1', '2024-01-05', '2024-02-01', 70.00, 'EUR' FROM ar.customer WHERE code = 'D';
SELECT 1 FROM ar.create_sepa_mandate((SELECT id FROM ar.customer WHERE code = 'D'), 'UMR-D1', '2023-12-01', 'Dora Debit',
                                     'FR1420041010050500013M02606');
SELECT 1 FROM ar.collect_direct_debits('2024-02-01', message_id => 'M2', creation_time => '2024-02-01 10:00Z');
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2024-02-15', 70.00, 'SDD M2');
SELECT 1 FROM ar.settle_direct_debits();
INSERT INTO ar.bank_transaction (booking_date, amount, end_to_end_id, return_reason)
SELECT '2024-04-02', -70.00, d.end_to_end_id, 'MD06' FROM ar.direct_debit_line d JOIN ar.customer c ON c.id = d.customer_id WHERE c.code = 'D';
SELECT 1 FROM ar.settle_direct_debits();
SELECT ar.record_payment('D1', 70.00, '2024-03-15');
SELECT results_eq($$SELECT i.status, r.last_document_on FROM ar.retention_report('2026-06-01') r JOIN ar.invoice i ON i.customer_id = r.customer_id
                     WHERE r.customer_code = 'D'$$,
	$$VALUES ('paid'::text, '2024-04-02'::date)$$, 'the retention runs from the return of its direct debit');

SELECT * FROM finish();
ROLLBACK;
