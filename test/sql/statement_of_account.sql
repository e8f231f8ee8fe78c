-- Statement of account: the exact text of a statement in French, English
-- and German (letterhead, customer address, movements with the running
-- balance, closing sentence, open items, ageing, legal mentions), the HTML
-- of one, and the statement of an account in two currencies and of one
-- with nothing on it.  The data lives in this transaction only.
\set VERBOSITY terse
SET datestyle = ISO;
BEGIN;
UPDATE ar.company SET legal_name = 'Fournitures Dupont SAS', legal_form = 'SAS', share_capital = 50000,
       address_line1 = '12 rue des Lilas', postcode = '69003', city = 'Lyon', siren = '732829320',
       rcs_city = 'Lyon', vat_number = 'FR44732829320', email = 'relances@dupont.example', phone = '04 72 00 00 00'
 WHERE is_default;
INSERT INTO ar.customer (code, name, language, country, email, address_line1, postcode, city) VALUES
	('SOA-FR', 'Boulangerie Martin & Fils', 'fr', 'FR', 'compta@martin.example', '4 place Bellecour', '69002', 'Lyon'),
	('SOA-EN', 'Smith <Trading> Ltd', 'en', 'GB', NULL, '10 Downing Street', 'SW1A 2AA', 'London'),
	('SOA-DE', 'Müller GmbH', 'de', 'DE', NULL, 'Hauptstraße 5', '10115', 'Berlin'),
	('SOA-NIL', 'Nothing Yet SARL', 'fr', 'FR', NULL, NULL, NULL, NULL);
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, c.code || v.suffix, v.issued::date, v.due::date, v.amount, v.currency
  FROM ar.customer c
 CROSS JOIN (VALUES ('-F1', '2026-01-10', '2026-02-09', 1250.00, 'EUR'), ('-F2', '2026-02-15', '2026-03-17', 480.50, 'EUR'),
                    ('-AV1', '2026-02-20', '2026-02-20', -80.50, 'EUR'), ('-F3', '2026-03-05', '2026-04-04', 2300.00, 'EUR'),
                    ('-F4', '2026-03-10', '2026-04-09', 75.00, 'EUR')) v(suffix, issued, due, amount, currency)
 WHERE c.code IN ('SOA-FR', 'SOA-EN', 'SOA-DE');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT id, 'SOA-EN-U1', '2026-02-01', '2026-03-03', 990.00, 'USD' FROM ar.customer WHERE code = 'SOA-EN';
SELECT count(*) FROM (
	SELECT ar.record_payment(c.code || '-F1', 1300.00, '2026-02-05', 'cheque'),
	       ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = c.code || '-AV1'),
	                            (SELECT id FROM ar.invoice WHERE number = c.code || '-F2'), NULL, '2026-02-25'),
	       ar.record_payment(c.code || '-F2', 200.00, '2026-03-10', 'transfer'),
	       ar.cancel_invoice((SELECT id FROM ar.invoice WHERE number = c.code || '-F4'), '2026-03-12'),
	       ar.write_off_invoice((SELECT id FROM ar.invoice WHERE number = c.code || '-F2'), 'bank charges', '2026-03-28')
	  FROM ar.customer c WHERE c.code IN ('SOA-FR', 'SOA-EN', 'SOA-DE') ORDER BY c.code) x;
\pset tuples_only on
\pset format unaligned
SELECT ar.statement_of_account_text(id, '2026-02-01', '2026-03-31') FROM ar.customer WHERE code = 'SOA-FR';
SELECT ar.statement_of_account_text(id, '2026-02-01', '2026-03-31') FROM ar.customer WHERE code = 'SOA-EN';
SELECT ar.statement_of_account_text(id, '2026-02-01', '2026-03-31') FROM ar.customer WHERE code = 'SOA-DE';
SELECT ar.statement_of_account_html(id, '2026-02-01', '2026-03-31') FROM ar.customer WHERE code = 'SOA-EN';
SELECT ar.statement_of_account_text(id, '2026-01-01', '2026-03-31') FROM ar.customer WHERE code = 'SOA-NIL';
\pset tuples_only off
\pset format aligned
SELECT line_no, currency, section, kind, entry_date, document, amount, debit, credit, balance, days_past_due
  FROM ar.statement_of_account((SELECT id FROM ar.customer WHERE code = 'SOA-EN'), '2026-03-01', '2026-03-31')
 ORDER BY line_no;
ROLLBACK;
