-- A credit note's set-off is two allocations (the invoice's and the credit
-- note's); reversing it takes both.  ar.unallocate of either half deletes
-- the pair; a lone half deleted by hand (as the hint once advised) is
-- reported by ar.check_ledger().
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(11);

INSERT INTO ar.customer (code, name) VALUES ('SOR', 'Set-off Reversal SA'), ('SOR2', 'Other SA');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, DATE '2026-09-01', DATE '2026-10-01', v.amount
  FROM ar.customer c JOIN (VALUES ('SOR', 'SOR-INV', 100.00), ('SOR', 'SOR-CN', -40.00), ('SOR', 'SOR-INV2', 100.00),
                                  ('SOR2', 'SOR2-INV', 50.00), ('SOR2', 'SOR2-CN', -40.00)) v(customer, number, amount)
    ON v.customer = c.code;

SELECT is(ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = 'SOR-CN'), (SELECT id FROM ar.invoice WHERE number = 'SOR-INV'),
                               25, '2026-09-10'), 25.00, 'a credit note sets off 25 against an invoice');
SELECT is(ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = 'SOR-CN'), (SELECT id FROM ar.invoice WHERE number = 'SOR-INV2'),
                               15, '2026-09-10'), 15.00, 'and 15 against another, the same day');
SELECT is(ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = 'SOR2-CN'), (SELECT id FROM ar.invoice WHERE number = 'SOR2-INV'),
                               NULL, '2026-09-10'), 40.00, 'another customer''s credit note sets off 40');

-- reversing by the credit note's half of the second set-off
SELECT is(ar.unallocate((SELECT a.id FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
                          WHERE i.number = 'SOR-CN' AND a.amount = -15)), 15.00,
	'ar.unallocate of the credit note''s half returns the amount set off');
SELECT results_eq($$SELECT number, open_amount FROM ar.invoice WHERE number LIKE 'SOR-%' ORDER BY number$$,
                  $$VALUES ('SOR-CN'::text, -15.00), ('SOR-INV', 75.00), ('SOR-INV2', 100.00)$$,
	'both halves are gone: the second invoice and the credit note reopen by 15, the first set-off stays');
-- reversing by the invoice's half of the first
SELECT is(ar.unallocate((SELECT a.id FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id WHERE i.number = 'SOR-INV')), 25.00,
	'ar.unallocate of the invoice''s half reverses the set-off too');
SELECT results_eq($$SELECT number, open_amount FROM ar.invoice WHERE number LIKE 'SOR%' ORDER BY number$$,
                  $$VALUES ('SOR-CN'::text, -40.00), ('SOR-INV', 100.00), ('SOR-INV2', 100.00), ('SOR2-CN', 0.00), ('SOR2-INV', 10.00)$$,
	'the credit note is whole again; the other customer''s set-off is untouched');
SELECT is_empty($$SELECT * FROM ar.check_ledger()$$, 'the ledger checks clean after the reversals');

-- one half deleted alone (as ar_admin could): reported
DELETE FROM ar.allocation a USING ar.invoice i WHERE i.id = a.invoice_id AND i.number = 'SOR2-CN';
SELECT results_eq($$SELECT table_name, id, stored, expected FROM ar.check_ledger()$$,
                  $$SELECT 'customer.credit_note_set_offs'::text, id, 40.00::numeric, 0::numeric FROM ar.customer WHERE code = 'SOR2'$$,
	'ar.check_ledger() reports a customer whose set-offs no longer add up to zero');
SELECT throws_ok($$SELECT ar.unallocate((SELECT a.id FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id WHERE i.number = 'SOR2-INV'))$$,
	'55000', NULL, 'and ar.unallocate refuses the half left, whose other half is gone');
SELECT throws_like($$SELECT ar.unallocate((SELECT a.id FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id WHERE i.number = 'SOR2-INV'))$$,
	'%half of a credit note''s set-off%', 'saying so');

SELECT * FROM finish();
ROLLBACK;
