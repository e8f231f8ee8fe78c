-- The receivables ledger: invariants, payments, customer credit, credit
-- notes, write-offs, cancellation, and aging as of past dates.
-- Customers of this file have codes starting with 'L-'.
\set VERBOSITY terse

INSERT INTO ar.customer (code, name, email) VALUES
	('L-ALPHA', 'Alpha SARL', 'compta@alpha.example'),
	('L-BETA', 'Beta GmbH', NULL);
SELECT code, name, country, language, company_id = ar.default_company() AS default_company
  FROM ar.customer WHERE code LIKE 'L-%' ORDER BY code;

-- a customer code is unique (within the company)
INSERT INTO ar.customer (code, name) VALUES ('L-ALPHA', 'Copy');

INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, v.number, v.issue_date::date, v.due_date::date, v.amount, v.currency
  FROM (VALUES ('L-ALPHA', 'L-F1', '2026-01-05', '2026-02-04', 1200.00, 'EUR'),
               ('L-ALPHA', 'L-F2', '2026-02-10', '2026-03-12', 300.50, 'EUR'),
               ('L-ALPHA', 'L-F3', '2026-03-01', '2026-03-31', 80.00, 'USD'),
               ('L-ALPHA', 'L-A1', '2026-02-20', '2026-02-20', -100.00, 'EUR'),
               ('L-BETA', 'L-F4', '2026-01-15', '2026-02-14', 999.99, 'EUR')) v(customer, number, issue_date, due_date, amount, currency)
  JOIN ar.customer c ON c.code = v.customer;

SELECT number, amount, open_amount, status FROM ar.invoice WHERE number LIKE 'L-%' ORDER BY number;

-- open_amount and status follow the ledger: a client cannot set them
UPDATE ar.invoice SET open_amount = 0 WHERE number = 'L-F1';
UPDATE ar.invoice SET status = 'paid' WHERE number = 'L-F1';
-- due date before issue date, unknown currency format
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'L-BAD', '2026-02-01', '2026-01-01', 10 FROM ar.customer WHERE code = 'L-ALPHA';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT id, 'L-BAD', '2026-02-01', '2026-03-01', 10, 'eur' FROM ar.customer WHERE code = 'L-ALPHA';

-- record_payment: partial, then the rest with an overpayment
SELECT ar.record_payment('L-F1', 500, '2026-02-01') IS NOT NULL AS allocated;
SELECT number, open_amount, status FROM ar.invoice WHERE number = 'L-F1';
SELECT ar.record_payment('L-F1', 750, '2026-03-10', 'cheque') IS NOT NULL AS allocated;
SELECT number, open_amount, status FROM ar.invoice WHERE number = 'L-F1';
SELECT amount, payment_means, method, allocated_on FROM ar.allocation
 WHERE invoice_id = (SELECT id FROM ar.invoice WHERE number = 'L-F1') ORDER BY id;
SELECT cr.amount, cr.remaining, cr.source, cr.created_on
  FROM ar.customer_credit cr JOIN ar.customer c ON c.id = cr.customer_id WHERE c.code = 'L-ALPHA';
-- nothing open: the whole payment becomes credit and NULL is returned
SELECT ar.record_payment('L-F1', 25, '2026-03-11');
SELECT available FROM ar.customer_credit_balance b JOIN ar.customer c ON c.id = b.customer_id WHERE c.code = 'L-ALPHA';

-- bad payments: named in the error, nothing stored
SELECT ar.record_payment('L-NOPE', 10, '2026-03-01');
SELECT ar.record_payment('L-F2', 0, '2026-03-01');
SELECT ar.record_payment('L-F2', -5, '2026-03-01');
SELECT ar.record_payment('L-F2', NULL, '2026-03-01');
SELECT ar.record_payment('L-F2', 'NaN', '2026-03-01');
SELECT ar.record_payment('L-F2', 10, NULL);
SELECT ar.record_payment('L-A1', 10, '2026-03-01');

-- direct allocations obey the same invariants
INSERT INTO ar.allocation (invoice_id, amount) SELECT id, 400 FROM ar.invoice WHERE number = 'L-F2';
INSERT INTO ar.allocation (invoice_id, amount) SELECT id, -1 FROM ar.invoice WHERE number = 'L-F2';
INSERT INTO ar.allocation (invoice_id, amount) VALUES (-42, 1);
-- an amount correction cannot go below what is already paid
UPDATE ar.invoice SET amount = 100 WHERE number = 'L-F1';
-- allocations are immutable; deleting one reverses it (and is audited)
UPDATE ar.allocation SET amount = 1 WHERE invoice_id = (SELECT id FROM ar.invoice WHERE number = 'L-F1');

-- customer credit pays the oldest open invoice of the same currency
SELECT i.number, a.amount, a.method
  FROM ar.apply_customer_credit((SELECT id FROM ar.customer WHERE code = 'L-ALPHA'), '2026-03-15') a
  JOIN ar.invoice i ON i.id = a.invoice_id;
SELECT number, open_amount, status FROM ar.invoice WHERE number = 'L-F2';
SELECT count(*) AS credits_left FROM ar.customer_credit_balance b JOIN ar.customer c ON c.id = b.customer_id
 WHERE c.code = 'L-ALPHA';

-- a credit note set against an invoice of the same customer
SELECT ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = 'L-A1'),
                            (SELECT id FROM ar.invoice WHERE number = 'L-F2'), NULL, '2026-03-20');
SELECT number, open_amount, status FROM ar.invoice WHERE number IN ('L-A1', 'L-F2') ORDER BY number;
SELECT ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = 'L-F2'),
                            (SELECT id FROM ar.invoice WHERE number = 'L-F1'));

-- write-off and cancellation
SELECT ar.write_off_invoice((SELECT id FROM ar.invoice WHERE number = 'L-F4'), '') ;
SELECT ar.write_off_invoice((SELECT id FROM ar.invoice WHERE number = 'L-F4'), 'insolvency of the customer', '2026-06-30') IS NOT NULL AS written_off;
SELECT number, open_amount, written_off_amount, status FROM ar.invoice WHERE number = 'L-F4';
SELECT ar.cancel_invoice((SELECT id FROM ar.invoice WHERE number = 'L-F1'));
SELECT ar.cancel_invoice((SELECT id FROM ar.invoice WHERE number = 'L-F3'), '2026-04-01');
SELECT number, open_amount, status FROM ar.invoice WHERE number = 'L-F3';
INSERT INTO ar.allocation (invoice_id, amount) SELECT id, 1 FROM ar.invoice WHERE number = 'L-F3';

-- bank lines: allocations never exceed the line; currencies must agree
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, v.n, '2026-04-01', '2026-05-01', 70 FROM ar.customer, (VALUES ('L-F5'), ('L-F6')) v(n) WHERE code = 'L-BETA';
-- (an explicit id keeps the messages below independent of other tests)
INSERT INTO ar.bank_transaction (id, booking_date, amount, counterparty_name, remittance_info)
VALUES (900001, '2026-05-03', 100, 'BETA GMBH', 'L-F5 L-F6');
SELECT status, allocated_amount FROM ar.bank_transaction WHERE remittance_info = 'L-F5 L-F6';
INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on, method)
SELECT i.id, t.id, 70, '2026-05-03', 'reference' FROM ar.invoice i, ar.bank_transaction t
 WHERE i.number = 'L-F5' AND t.remittance_info = 'L-F5 L-F6';
SELECT status, allocated_amount FROM ar.bank_transaction WHERE remittance_info = 'L-F5 L-F6';
INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on, method)
SELECT i.id, t.id, 70, '2026-05-03', 'reference' FROM ar.invoice i, ar.bank_transaction t
 WHERE i.number = 'L-F6' AND t.remittance_info = 'L-F5 L-F6';
INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on, method)
SELECT i.id, t.id, 30, '2026-05-03', 'reference' FROM ar.invoice i, ar.bank_transaction t
 WHERE i.number = 'L-F6' AND t.remittance_info = 'L-F5 L-F6';
SELECT status, allocated_amount FROM ar.bank_transaction WHERE remittance_info = 'L-F5 L-F6';
UPDATE ar.bank_transaction SET allocated_amount = 0 WHERE remittance_info = 'L-F5 L-F6';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT id, 'L-F7', '2026-04-01', '2026-05-01', 70, 'USD' FROM ar.customer WHERE code = 'L-BETA';
INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount)
SELECT i.id, t.id, 1 FROM ar.invoice i, ar.bank_transaction t
 WHERE i.number = 'L-F7' AND t.remittance_info = 'L-F5 L-F6';
-- unallocating reopens the invoice and frees the line
DELETE FROM ar.allocation WHERE invoice_id = (SELECT id FROM ar.invoice WHERE number = 'L-F5');
SELECT number, open_amount, status FROM ar.invoice WHERE number IN ('L-F5', 'L-F6') ORDER BY number;
SELECT status, allocated_amount FROM ar.bank_transaction WHERE remittance_info = 'L-F5 L-F6';

-- the ledger agrees with itself
SELECT * FROM ar.check_ledger();

-- aging as it stood on past dates: payments after the date are not counted,
-- one row per customer and currency
SELECT customer_code, currency, not_due, d1_30, d31_60, d61_90, d91_plus, total
  FROM ar.aging_report('2026-01-31') WHERE customer_code LIKE 'L-%';
SELECT customer_code, currency, not_due, d1_30, d31_60, d61_90, d91_plus, total
  FROM ar.aging_report('2026-03-05') WHERE customer_code LIKE 'L-%';
SELECT customer_code, currency, not_due, d1_30, d31_60, d61_90, d91_plus, total
  FROM ar.aging_report('2026-03-31') WHERE customer_code LIKE 'L-%';
SELECT customer_code, currency, not_due, d1_30, d31_60, d61_90, d91_plus, total
  FROM ar.aging_report('2026-07-01') WHERE customer_code LIKE 'L-%';
SELECT number, open_amount, days_past_due, ar.aging_bucket(days_past_due)
  FROM ar.open_items('2026-03-05') o JOIN ar.customer c ON c.id = o.customer_id
 WHERE c.code LIKE 'L-%' ORDER BY number;

-- today's views (dates relative to today, so the output never changes)
INSERT INTO ar.customer (code, name) VALUES ('L-TODAY', 'Today SAS');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, v.n, current_date - v.age - 30, current_date - v.age, v.amount
  FROM ar.customer, (VALUES ('L-T1', 45, 100.00), ('L-T2', -3, 50.00), ('L-T3', 120, 10.00)) v(n, age, amount)
 WHERE code = 'L-TODAY';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'L-T4', current_date + 1, current_date + 31, 999 FROM ar.customer WHERE code = 'L-TODAY';
SELECT number, open_amount, days_past_due, aging_bucket, status FROM ar.receivables
 WHERE customer_code = 'L-TODAY' ORDER BY number;
SELECT customer_code, currency, not_due, d1_30, d31_60, d61_90, d91_plus, total
  FROM ar.aging_by_customer WHERE customer_code = 'L-TODAY';
