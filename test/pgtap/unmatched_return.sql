-- pgTAP: a return or reversal whose collection ar.reconcile() cannot find
-- (a transfer sent back by the bank, AC04) leaves the invoice it paid
-- showing paid: ar.reconcile_anomalies() reports it (unmatched_return)
-- until a person sets the line aside.  (It was reported nowhere.)
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(4);

INSERT INTO ar.customer (code, name) VALUES ('UR1', 'Alpha SARL');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'UR-2026-0001', '2026-10-01', '2026-10-31', 100.00 FROM ar.customer WHERE code = 'UR1';
SELECT ar.import_statement(E'account;statement_ref;booking_date;amount;counterparty_name;remittance_info\n'
  || E'FR7630006000011234567890189;S1;2026-11-20;100.00;Alpha SARL;Facture UR-2026-0001\n', 'csv');
SELECT count(*) FROM ar.reconcile();
SELECT is((SELECT status FROM ar.invoice WHERE number = 'UR-2026-0001'), 'paid', 'setup: the transfer paid the invoice');
-- the bank sends the transfer back
CREATE TEMP TABLE returned AS
SELECT ar.import_statement(E'account;statement_ref;booking_date;amount;counterparty_name;remittance_info;return_reason\n'
  || E'FR7630006000011234567890189;S2;2026-11-23;-100.00;Alpha SARL;RETOUR Facture UR-2026-0001;AC04\n', 'csv') AS statement_id;
SELECT count(*) FROM ar.reconcile();
SELECT results_eq($$SELECT a.kind, a.amount FROM ar.reconcile_anomalies(0, '2026-12-31') a
                     JOIN ar.bank_transaction t ON t.id = a.bank_transaction_id
                    WHERE t.statement_id = (SELECT statement_id FROM returned)$$,
                  $$VALUES ('unmatched_return', -100.00::numeric)$$,
	'a return whose collection was not found is an anomaly (unmatched_return)');
SELECT ok((SELECT a.detail LIKE '%AC04%' FROM ar.reconcile_anomalies(0, '2026-12-31') a WHERE a.kind = 'unmatched_return'),
	'its detail names the return reason');
SELECT ar.ignore_bank_line(t.id, 'traced by hand') FROM ar.bank_transaction t WHERE t.statement_id = (SELECT statement_id FROM returned);
SELECT is((SELECT count(*) FROM ar.reconcile_anomalies(0, '2026-12-31') WHERE kind = 'unmatched_return'), 0::bigint,
	'set aside by a person: no longer an anomaly');

SELECT * FROM finish();
ROLLBACK;
