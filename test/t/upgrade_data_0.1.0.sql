-- A ledger written with the 0.1.0 API only (test/t/upgrade.sh loads it
-- into a 0.1.0 database before upgrading it): two companies, customers and
-- invoices, payments and credit, a CSV statement imported and reconciled,
-- penalties billed and waived, disputes, promises, a block, months of
-- dunning runs and the notices' outcomes.  Every write is audited.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
INSERT INTO ar.company (code, name, iban) VALUES ('SUB', 'Filiale SAS', 'FR7630006000011234567890189');
INSERT INTO ar.customer (code, name, email, language)
SELECT 'U' || g, 'Client ' || g, 'c' || g || '@example.fr', CASE WHEN g % 4 = 0 THEN 'en' ELSE 'fr' END
  FROM generate_series(1, 12) g;
INSERT INTO ar.customer (company_id, code, name, email)
SELECT c.id, 'S' || g, 'Filiale client ' || g, 's' || g || '@example.fr'
  FROM ar.company c, generate_series(1, 3) g WHERE c.code = 'SUB';
INSERT INTO ar.customer_bank_account (company_id, customer_id, iban)
SELECT company_id, id, 'DE89370400440532013000' FROM ar.customer WHERE code = 'S1';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT c.company_id, c.id, c.code || '-' || k, date '2026-01-05' + 9 * k, date '2026-02-04' + 9 * k, 100 * k + 7.35
  FROM ar.customer c, generate_series(1, 6) k;
SELECT ar.record_payment('U' || g || '-1', 107.35, date '2026-02-20') FROM generate_series(1, 6) g;
SELECT ar.record_payment('U' || g || '-2', 50, date '2026-03-01') FROM generate_series(1, 8) g;
SELECT ar.record_payment('U9-3', 1000, date '2026-03-02');          -- overpaid: credit
SELECT ar.apply_customer_credit(id, '2026-03-03') FROM ar.customer WHERE code = 'U9';
SELECT ar.import_statement(E'account;statement_ref;booking_date;amount;currency;remittance_info;opening_balance;closing_balance\n'
	|| E'FR7630006000011234567890189;UPG-1;2026-03-10;207.35;EUR;Facture S1-2;0;407.35\n'
	|| E'FR7630006000011234567890189;UPG-1;2026-03-11;200.00;EUR;virement divers;0;407.35\n', 'csv');
-- a line of the default company too (an account no company holds): the
-- run over every company decides for both (one row each after the upgrade)
SELECT ar.import_statement(E'account;statement_ref;booking_date;amount;currency;remittance_info;opening_balance;closing_balance\n'
	|| E'DE89370400440532013000;UPG-2;2026-03-12;407.35;EUR;Facture U11-4;0;407.35\n', 'csv');
SELECT count(*) FROM ar.reconcile();
SELECT ar.bill_penalty(id, '2026-04-01') FROM ar.invoice WHERE number = 'U1-1';
SELECT ar.waive_penalty(id, 'good customer') FROM ar.invoice WHERE number = 'U2-1';
SELECT ar.open_dispute(id, 'goods damaged', '2026-02-20') FROM ar.invoice WHERE number = 'U3-3';
SELECT ar.promise_to_pay(id, '2026-03-20', 150, '2026-02-25') FROM ar.invoice WHERE number = 'U5-3';
SELECT ar.block_dunning(id, '2026-04-30', 'insolvency proceedings', '2026-03-10') FROM ar.customer WHERE code = 'U8';
SELECT count(*) FROM generate_series(date '2026-02-10', date '2026-04-30', interval '3 days') d, ar.run_dunning(d::date);
SELECT ar.mark_notice(min(id), 'sent', 'provider-1') FROM ar.dunning_notice;
SELECT ar.mark_notice(max(id), 'failed', NULL, 'mailbox unknown') FROM ar.dunning_notice;
SELECT ar.cancel_invoice(id, '2026-03-05') FROM ar.invoice WHERE number = 'U12-6';
SELECT ar.write_off_invoice(id, 'customer closed', '2026-04-02') FROM ar.invoice WHERE number = 'U7-6';
-- a customer whose books closed in 2012 (anonymised after the upgrade)
INSERT INTO ar.customer (code, name, email, phone) VALUES ('UOLD', 'Ancienne Cliente Upgrade', 'ancienne@example.fr', '+33 1 99 88 77 66');
INSERT INTO ar.customer_bank_account (customer_id, iban, holder_name)
SELECT id, 'FR1420041010050500013M02606', 'Titulaire Ancienne' FROM ar.customer WHERE code = 'UOLD';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'UOLD-1', '2012-03-01', '2012-03-31', 99.90 FROM ar.customer WHERE code = 'UOLD';
SELECT ar.record_payment('UOLD-1', 99.90, date '2012-04-10');
