-- SEPA direct debit: the exact pain.008.001.02 document of one collection
-- (fixed message id and creation time: nothing depends on today): two
-- mandates, a FRST and a RCUR block, an amended mandate (new reference and
-- account at the same bank), a debtor without BIC, invoice numbers and an
-- RF creditor reference as remittance, a name transliterated to the SEPA
-- character set; then the lines as stored.  The data lives in this
-- transaction only.
\set VERBOSITY terse
SET datestyle = ISO;
BEGIN;
SELECT creditor_id, creditor_name FROM ar.set_sepa_creditor('DEFAULT', 'Fournitures Dupont SAS', 'FR72 ZZZ 123456',
	'FR7630006000011234567890189', 'AGRIFRPP', 14, 5, 2);
INSERT INTO ar.customer (code, name) VALUES ('SDD-1', 'Boulangerie Martin'), ('SDD-2', 'Müller GmbH');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, payment_reference)
SELECT c.id, v.number, '2026-01-10', v.due::date, v.amount, v.ref
  FROM (VALUES ('SDD-1', 'FA-2026-001', '2026-02-09', 1250.00, NULL),
               ('SDD-1', 'FA-2026-002', '2026-02-20', 480.50, NULL),
               ('SDD-2', 'FA-2026-003', '2026-02-15', 99.90, 'RF18 5390 0754 7034')) v(code, number, due, amount, ref)
  JOIN ar.customer c ON c.code = v.code;
SELECT umr, scheme, sequence_state, status
  FROM ar.create_sepa_mandate((SELECT id FROM ar.customer WHERE code = 'SDD-1'), 'BM-2025-0042', '2025-11-20',
                              'Boulangerie Martin & Fils', 'FR1420041010050500013M02606');
SELECT umr, scheme, sequence_state, status
  FROM ar.create_sepa_mandate((SELECT id FROM ar.customer WHERE code = 'SDD-2'), 'MU-7', '2024-06-01',
                              'Müller GmbH', 'DE89370400440532013000', 'COBADEFFXXX', 'B2B');
-- the second mandate was used before, then amended: new reference, new account at the same bank
UPDATE ar.sepa_mandate SET sequence_state = 'RCUR', last_collected_on = '2026-01-15' WHERE umr = 'MU-7';
SELECT umr, original_umr, debtor_iban, original_debtor_iban, debtor_bank_changed, sequence_state
  FROM ar.amend_sepa_mandate((SELECT id FROM ar.sepa_mandate WHERE umr = 'MU-7'), umr => 'MU-7-A',
                             debtor_iban => 'DE35370400440532013099', amended_on => '2026-02-01');
SELECT regexp_replace(ar.collect_direct_debits('2026-02-28', NULL, NULL, 'pain.008.001.02', 'FD-20260302-1',
                                               '2026-03-02 09:30:00+00')::text, '><', E'>\n<', 'g') AS pain008;
SELECT l.payment_info_id, l.end_to_end_id, l.scheme, l.sequence_type, l.amount, l.remittance_info, l.amended, l.status,
       array_agg(i.number ORDER BY i.number) AS invoices
  FROM ar.direct_debit_line l
  JOIN ar.direct_debit_line_invoice li ON li.line_id = l.id
  JOIN ar.invoice i ON i.id = li.invoice_id
 GROUP BY l.id, l.company_id ORDER BY l.payment_info_id;
SELECT message_id, creation_time AT TIME ZONE 'UTC' AS creation_time_utc, requested_collection_date, version,
       number_of_transactions, control_sum, status
  FROM ar.direct_debit_collection;
ROLLBACK;
