-- Accounting export: the exact FEC of a small ledger over two periods (a
-- receipt, customer credit kept, a write-off, a short payment, a penalty
-- invoice, a refund of customer credit; then the reversal of a January
-- payment in February).  The data lives in this transaction only; the
-- validation date (the day of the export) is shown as VALIDDATE.
\set VERBOSITY terse
SET datestyle = ISO;
BEGIN;
INSERT INTO ar.company (code, name, siren) VALUES ('FECR', 'Fournitures Dupont SAS', '732829320');
INSERT INTO ar.accounting_config (company_id, bank_account, bank_account_label)
SELECT id, '512100', 'Banque Populaire' FROM ar.company WHERE code = 'FECR';
INSERT INTO ar.customer (company_id, code, name)
SELECT id, v.code, v.name FROM ar.company, (VALUES ('CLI001', 'Boulangerie Martin & Fils'), ('CLI002', 'Café | du Port'),
                                                   ('CLI003', 'Épicerie Lemoine')) v(code, name)
 WHERE ar.company.code = 'FECR';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT c.company_id, c.id, v.number, v.issued::date, v.due::date, v.amount
  FROM (VALUES ('CLI001', 'FA-2025-001', '2024-12-02', '2024-12-31', 1440.00),
               ('CLI001', 'FA-2025-002', '2025-01-06', '2025-02-05', 250.80),
               ('CLI002', 'FA-2025-003', '2025-01-08', '2025-01-31', 96.00),
               ('CLI003', 'FA-2025-004', '2024-12-15', '2025-01-14', 1000.00)) v(code, number, issued, due, amount)
  JOIN ar.customer c ON c.code = v.code AND c.company_id = (SELECT id FROM ar.company WHERE code = 'FECR');
SELECT ar.record_payment('FA-2025-001', 1500.00, '2025-01-10') IS NOT NULL AS paid;
SELECT ar.record_payment('FA-2025-002', 250.00, '2025-01-15') IS NOT NULL AS paid;
INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
SELECT company_id, id, 0.80, '2025-01-15', 'shortfall', 'short payment' FROM ar.invoice WHERE number = 'FA-2025-002';
SELECT ar.write_off_invoice(id, 'liquidation', '2025-01-31') IS NOT NULL AS written_off FROM ar.invoice WHERE number = 'FA-2025-003';
SELECT ar.record_payment('FA-2025-004', 1000.00, '2025-01-29') IS NOT NULL AS paid;
SELECT ar.bill_penalty(id, '2025-01-30') IS NOT NULL AS billed FROM ar.invoice WHERE number = 'FA-2025-004';
SELECT number, amount FROM ar.invoice WHERE number = 'PEN-FA-2025-004';
INSERT INTO ar.credit_release (company_id, customer_id, customer_credit_id, currency, amount, released_on, kind, reason)
SELECT company_id, customer_id, id, currency, 60.00, '2025-01-31', 'refund', 'refunded by transfer'
  FROM ar.customer_credit WHERE company_id = (SELECT id FROM ar.company WHERE code = 'FECR');

SELECT entry_count, correction_count, total_debit, total_credit
  FROM ar.export_journal('FECR', '2025-01-01', '2025-01-31');
SELECT ar.fec_file_name(id) FROM ar.accounting_export WHERE company_id = (SELECT id FROM ar.company WHERE code = 'FECR');
\pset format unaligned
\pset tuples_only on
SELECT replace(replace(ar.fec_file(id), E'\r', ''), to_char(current_date, 'YYYYMMDD'), 'VALIDDATE')
  FROM ar.accounting_export WHERE company_id = (SELECT id FROM ar.company WHERE code = 'FECR');
\pset tuples_only off
\pset format aligned
-- February: the January payment of FA-2025-004 is reversed (returned)
SELECT ar.unallocate(id) AS reversed FROM ar.allocation
 WHERE invoice_id = (SELECT id FROM ar.invoice WHERE number = 'FA-2025-004') AND method = 'manual';
SELECT entry_count, correction_count, total_debit, total_credit
  FROM ar.export_journal('FECR', '2025-02-01', '2025-02-28');
\pset format unaligned
\pset tuples_only on
SELECT replace(replace(ar.fec_file(id, E'\t'), E'\r', ''), to_char(current_date, 'YYYYMMDD'), 'VALIDDATE')
  FROM ar.accounting_export WHERE company_id = (SELECT id FROM ar.company WHERE code = 'FECR') AND period_from = '2025-02-01';
\pset tuples_only off
\pset format aligned
-- the same period again: the same export, nothing new
SELECT entry_count FROM ar.export_journal('FECR', '2025-02-01', '2025-02-28');
SELECT count(*) AS entries FROM ar.journal_entry WHERE company_id = (SELECT id FROM ar.company WHERE code = 'FECR');
ROLLBACK;
