-- pgTAP: no allocation dated before its document or credit existed.
-- ar.apply_customer_credit sets off only the credit and the invoices that
-- existed on applied_on (ar._apply_open_credits' rule); ar.apply_credit_note
-- and ar.write_off_invoice refuse a date before their documents' issue
-- dates (22023, the document and both dates named).  Before, a credit
-- created on 2026-11-20 applied on 2026-10-15 made ar.aging_report on
-- 2026-11-01 show 150 owed instead of 200.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(16);

INSERT INTO ar.customer (code, name) VALUES ('CC1', 'Credit Co'), ('CC2', 'Later Invoice Co');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, n, DATE '2026-09-01', DATE '2026-10-01', 100 FROM ar.customer c, unnest(ARRAY['CC-A', 'CC-B']) n WHERE c.code = 'CC1';
SELECT ar.record_payment('CC-A', 150, DATE '2026-11-20');   -- 50 over: customer credit created on 2026-11-20

-- the credit did not exist on 2026-10-15: nothing to apply
SELECT is((SELECT count(*) FROM ar.apply_customer_credit((SELECT id FROM ar.customer WHERE code = 'CC1'), DATE '2026-10-15')),
	0::bigint, 'customer credit created on 2026-11-20 is not applied on 2026-10-15');
SELECT is((SELECT total FROM ar.aging_report(DATE '2026-11-01') WHERE customer_code = 'CC1'), 200::numeric,
	'aging on 2026-11-01 still shows both invoices owed in full');
SELECT is((SELECT remaining FROM ar.customer_credit WHERE customer_id = (SELECT id FROM ar.customer WHERE code = 'CC1')),
	50::numeric, 'the credit is still available');
-- on or after the day it was created it is applied, dated that day
SELECT results_eq(
	$$SELECT i.number, a.amount, a.allocated_on FROM ar.apply_customer_credit((SELECT id FROM ar.customer WHERE code = 'CC1'), DATE '2026-11-20') a
	    JOIN ar.invoice i ON i.id = a.invoice_id$$,
	$$VALUES ('CC-B'::text, 50::numeric, DATE '2026-11-20')$$,
	'applied on the day it was created');
SELECT is((SELECT count(*) FROM ar.statement_of_account((SELECT id FROM ar.customer WHERE code = 'CC1'), DATE '2026-09-01', DATE '2026-11-01')
            WHERE section = 'movement' AND entry_date > DATE '2026-09-01'), 0::bigint,
	'the statement up to 2026-11-01 shows no set-off of the credit');

-- an invoice issued after applied_on is not paid with the credit that day
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'CC2-A', DATE '2026-09-01', DATE '2026-10-01', 100 FROM ar.customer WHERE code = 'CC2';
SELECT ar.record_payment('CC2-A', 130, DATE '2026-11-20');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'CC2-B', DATE '2026-12-01', DATE '2026-12-31', 100 FROM ar.customer WHERE code = 'CC2';
SELECT is((SELECT count(*) FROM ar.apply_customer_credit((SELECT id FROM ar.customer WHERE code = 'CC2'), DATE '2026-11-25')),
	0::bigint, 'an invoice issued on 2026-12-01 is not paid with credit on 2026-11-25');
SELECT results_eq(
	$$SELECT a.amount, a.allocated_on FROM ar.apply_customer_credit((SELECT id FROM ar.customer WHERE code = 'CC2'), DATE '2026-12-01') a$$,
	$$VALUES (30::numeric, DATE '2026-12-01')$$,
	'it is once issued');
SELECT throws_ok($$SELECT * FROM ar.apply_customer_credit((SELECT id FROM ar.customer WHERE code = 'CC2'), NULL)$$,
	'22004', 'applied_on must be given', 'applied_on NULL: an error');

-- credit notes: neither document may be issued after the set-off
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'CN-INV', DATE '2026-09-01', DATE '2026-10-01', 100 FROM ar.customer WHERE code = 'CC1';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'CN-NOTE', DATE '2026-11-25', DATE '2026-11-25', -40 FROM ar.customer WHERE code = 'CC1';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'CN-LATE', DATE '2026-12-05', DATE '2027-01-05', 100 FROM ar.customer WHERE code = 'CC1';
SELECT throws_ok($$SELECT ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = 'CN-NOTE'),
                                               (SELECT id FROM ar.invoice WHERE number = 'CN-INV'), NULL, DATE '2026-10-10')$$,
	'22023', 'credit note CN-NOTE was issued on 2026-11-25: it cannot be applied on 2026-10-10',
	'a credit note is not set off before its issue date');
SELECT throws_ok($$SELECT ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = 'CN-NOTE'),
                                               (SELECT id FROM ar.invoice WHERE number = 'CN-LATE'), NULL, DATE '2026-11-30')$$,
	'22023', 'invoice CN-LATE was issued on 2026-12-05: it cannot be applied on 2026-11-30',
	'nor against an invoice before its issue date');
SELECT is((SELECT count(*) FROM ar.allocation WHERE invoice_id IN (SELECT id FROM ar.invoice WHERE number LIKE 'CN-%')),
	0::bigint, 'nothing was allocated');
SELECT is(ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = 'CN-NOTE'),
                               (SELECT id FROM ar.invoice WHERE number = 'CN-INV'), NULL, DATE '2026-11-25'),
	40::numeric, 'set off on the credit note''s issue date');

-- write-offs
SELECT throws_ok($$SELECT ar.write_off_invoice((SELECT id FROM ar.invoice WHERE number = 'CN-INV'), 'bad debt', DATE '2026-08-01')$$,
	'22023', 'invoice CN-INV was issued on 2026-09-01: it cannot be written off on 2026-08-01',
	'an invoice is not written off before its issue date');
SELECT is((SELECT open_amount FROM ar.invoice WHERE number = 'CN-INV'), 60::numeric, 'it stays open');
SELECT isnt(ar.write_off_invoice((SELECT id FROM ar.invoice WHERE number = 'CN-INV'), 'bad debt', DATE '2026-09-01'),
	NULL, 'written off on its issue date');
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'the ledger checks');

SELECT * FROM finish();
ROLLBACK;
