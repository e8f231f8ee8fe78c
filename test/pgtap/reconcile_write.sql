-- pgTAP: ar.reconcile()'s own write path (issue 17, src/reconcile_write.c).
-- The engine's allocation statement is applied set-wise without the second
-- lock-and-check and without the invoices' and bank lines' row triggers;
-- the signal is a stage in C memory that no caller can set, which does not
-- reach statements nested in triggers and is reset after an error.  Every
-- other write keeps the full checks.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(24);

INSERT INTO ar.customer (code, name) VALUES ('RW1', 'Dupont Industries');
INSERT INTO ar.customer_bank_account (customer_id, iban)
SELECT id, 'FR7630006000011234567890189' FROM ar.customer WHERE code = 'RW1';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, '2026-01-10', '2026-02-10', v.amount
  FROM (VALUES ('RW-0001', 1000.00), ('RW-0002', 500.00), ('RW-0003', 300.00), ('RW-0004', 200.00)) v(number, amount)
 CROSS JOIN ar.customer c;
CREATE FUNCTION pg_temp.inv(n text) RETURNS ar.invoice LANGUAGE sql AS $$ SELECT * FROM ar.invoice WHERE number = n $$;
CREATE FUNCTION pg_temp.line(amount numeric, remittance text) RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, counterparty_iban, remittance_info)
	VALUES ('2026-02-12', amount, 'DUPONT INDUSTRIES', 'FR7630006000011234567890189', remittance) RETURNING id $$;

--------------------------------------------------------------------------
-- Nobody but the engine can raise the signal
--------------------------------------------------------------------------
SELECT ok(NOT ar._reconcile_applying(), 'outside ar.reconcile() no write is the engine''s');
SELECT ok(NOT ar._reconcile_apply_claim(), 'outside ar.reconcile() nothing can claim its statement, not even its owner');
SELECT ok(NOT ar._reconcile_applying(), 'and a refused claim changes nothing');
SELECT ok(NOT has_function_privilege('ar_collector', 'ar._reconcile_apply_claim()', 'EXECUTE')
          AND NOT has_function_privilege('ar_admin', 'ar._reconcile_apply_done()', 'EXECUTE'),
	'the claim is not executable by the ledger''s users');
SELECT ok(has_function_privilege('ar_reader', 'ar._reconcile_applying()', 'EXECUTE'),
	'the probe of the row triggers'' WHEN is (it is evaluated as whoever writes)');

--------------------------------------------------------------------------
-- The engine's write: the same ledger as through the triggers
--------------------------------------------------------------------------
SELECT pg_temp.line(1000.00, 'Facture RW-0001') AS l1 \gset
SELECT pg_temp.line(250.00, 'Facture RW-0002') AS l2 \gset
SELECT max(id) AS audit_before FROM ar.audit_log \gset
CREATE TEMP TABLE run1 AS SELECT * FROM ar.reconcile();
SELECT is((SELECT count(*)::integer FROM run1 WHERE applied), 2, 'both lines are applied');
SELECT results_eq($$SELECT number, open_amount, written_off_amount, status, last_allocated_on
                      FROM ar.invoice WHERE number IN ('RW-0001', 'RW-0002') ORDER BY number$$,
	$$VALUES ('RW-0001'::text, 0.00, 0::numeric, 'paid'::text, DATE '2026-02-12'),
	         ('RW-0002', 250.00, 0, 'partially_paid', DATE '2026-02-12')$$,
	'the invoices'' open amounts, statuses and dates of payment are those the row triggers would set');
SELECT results_eq(format('SELECT allocated_amount, status FROM ar.bank_transaction WHERE id IN (%s, %s) ORDER BY id', :l1, :l2),
	$$VALUES (1000.00, 'matched'::text), (250.00, 'matched')$$,
	'the bank lines'' allocated amounts and statuses too');
SELECT is((SELECT count(*)::integer FROM ar.audit_log WHERE id > :audit_before AND table_name = 'allocation' AND operation = 'INSERT'),
	2, 'each allocation is audited');
SELECT is((SELECT count(*)::integer FROM ar.audit_log
            WHERE id > :audit_before AND table_name IN ('invoice', 'bank_transaction') AND operation = 'UPDATE'),
	0, 'the derived columns it moved are not (as through the triggers)');
SELECT is((SELECT count(*)::integer FROM ar.check_ledger()), 0, 'ar.check_ledger() agrees');
SELECT is((SELECT count(*)::integer FROM ar.check_summaries()), 0, 'and the summaries with the ledger');
SELECT ok(NOT ar._reconcile_applying() AND NOT ar._reconcile_apply_claim(), 'after the run, the signal is down');

--------------------------------------------------------------------------
-- Outside the engine: every check
--------------------------------------------------------------------------
SELECT throws_ok(format('INSERT INTO ar.allocation (invoice_id, amount, allocated_on) VALUES (%s, 400.00, DATE ''2026-02-13'')',
                        (pg_temp.inv('RW-0002')).id),
	'23514', 'allocation of 400.00 exceeds the open amount 250.00 of invoice RW-0002',
	'an allocation outside the engine that overpays is refused');
SELECT throws_ok(format('UPDATE ar.invoice SET open_amount = 0 WHERE id = %s', (pg_temp.inv('RW-0002')).id),
	'42501', 'column invoice.open_amount is maintained by ar_collect', 'and a client setting an open amount still is');

--------------------------------------------------------------------------
-- Nested user code does not inherit the signal
--------------------------------------------------------------------------
CREATE SCHEMA rwtest;
GRANT USAGE ON SCHEMA rwtest TO PUBLIC;
-- a trigger of the owner on the decisions, fired by the engine's statement:
-- an allocation it inserts is checked as any other
CREATE FUNCTION rwtest.overpay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ar.allocation (invoice_id, amount, allocated_on)
	SELECT id, 900.00, DATE '2026-02-13' FROM ar.invoice WHERE number = 'RW-0004';
	RETURN NULL;
END $$;
CREATE TRIGGER zz_overpay AFTER INSERT ON ar.reconcile_line FOR EACH STATEMENT EXECUTE FUNCTION rwtest.overpay();
SELECT pg_temp.line(300.00, 'Facture RW-0003') AS l3 \gset
SELECT throws_ok('SELECT * FROM ar.reconcile()', '23514', 'allocation of 900.00 exceeds the open amount 200.00 of invoice RW-0004',
	'an allocation inserted by a trigger nested in the engine''s statement is refused when it overpays');
SELECT ok(NOT ar._reconcile_applying() AND NOT ar._reconcile_apply_claim(), 'after that error, the signal is down');
SELECT is((pg_temp.inv('RW-0003')).open_amount, 300.00, 'and the run wrote nothing');
DROP TRIGGER zz_overpay ON ar.reconcile_line;

-- a row trigger on the allocations fires before their statement trigger
-- claims the engine's statement: the allocation it inserts is not claimed
CREATE FUNCTION rwtest.overpay_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.method <> 'manual' THEN
		INSERT INTO ar.allocation (invoice_id, amount, allocated_on)
		SELECT id, 900.00, DATE '2026-02-13' FROM ar.invoice WHERE number = 'RW-0004';
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER zz_overpay_row AFTER INSERT ON ar.allocation FOR EACH ROW EXECUTE FUNCTION rwtest.overpay_row();
SELECT throws_ok('SELECT * FROM ar.reconcile()', '23514', 'allocation of 900.00 exceeds the open amount 200.00 of invoice RW-0004',
	'nor is one inserted by a trigger that fires before the engine''s statement is claimed');
DROP TRIGGER zz_overpay_row ON ar.allocation;

-- a trigger fired by the apply's own update: its invoice update keeps the
-- row triggers (the open amount follows the corrected amount)
CREATE FUNCTION rwtest.correct() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF pg_trigger_depth() = 2 THEN
		UPDATE ar.invoice SET amount = 150.00 WHERE number = 'RW-0004';
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER zz_correct AFTER UPDATE ON ar.invoice FOR EACH STATEMENT EXECUTE FUNCTION rwtest.correct();
SELECT is((SELECT count(*)::integer FROM ar.reconcile() WHERE applied), 1, 'a run whose apply fires a trigger updating an invoice');
DROP TRIGGER zz_correct ON ar.invoice;
SELECT results_eq($$SELECT amount, open_amount, status FROM ar.invoice WHERE number IN ('RW-0003', 'RW-0004') ORDER BY number$$,
	$$VALUES (300.00, 0.00, 'paid'::text), (150.00, 150.00, 'open')$$,
	'the nested update went through the row triggers, the engine''s apply did not need them');

-- an error inside the engine's statement
CREATE FUNCTION rwtest.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'refused by a test' USING ERRCODE = 'raise_exception';
END $$;
SELECT pg_temp.line(150.00, 'Facture RW-0004') AS l4 \gset
CREATE TRIGGER zz_refuse AFTER INSERT ON ar.reconcile_line FOR EACH STATEMENT EXECUTE FUNCTION rwtest.refuse();
SELECT throws_ok('SELECT * FROM ar.reconcile()', 'P0001', 'refused by a test', 'an error in the engine''s statement ends the run');
SELECT ok(NOT ar._reconcile_applying() AND NOT ar._reconcile_apply_claim(), 'after it, the signal is down');
SELECT throws_ok(format('INSERT INTO ar.allocation (invoice_id, amount, allocated_on) VALUES (%s, 400.00, DATE ''2026-02-13'')',
                        (pg_temp.inv('RW-0004')).id),
	'23514', 'allocation of 400.00 exceeds the open amount 150.00 of invoice RW-0004',
	'and an allocation that overpays is refused');
DROP TRIGGER zz_refuse ON ar.reconcile_line;

SELECT * FROM finish();
ROLLBACK;
