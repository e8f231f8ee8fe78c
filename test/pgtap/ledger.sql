-- Ledger invariants under random operations, the audit chain and its
-- tamper detection, roles, and what pg_dump keeps.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(47);

-- ---------------------------------------------------------------- invariants
SELECT setseed(0.17);
INSERT INTO ar.customer (code, name) SELECT 'T' || g, 'Customer ' || g FROM generate_series(1, 10) g;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'INV-' || g, DATE '2026-01-01' + g, DATE '2026-01-31' + g,
       CASE WHEN g % 9 = 0 THEN -round((random() * 300)::numeric + 1, 2) ELSE round((random() * 1000)::numeric + 1, 2) END
  FROM generate_series(1, 120) g
  JOIN ar.customer c ON c.code = 'T' || (g % 10 + 1);

-- 400 random payments, some larger than what is open
DO $$
DECLARE
	inv record;
BEGIN
	FOR i IN 1..400 LOOP
		SELECT number, amount INTO inv FROM ar.invoice WHERE amount > 0 ORDER BY random() LIMIT 1;
		PERFORM ar.record_payment(inv.number, round((random() * inv.amount * 0.7)::numeric + 0.01, 2),
		                          DATE '2026-02-01' + (i % 90));
	END LOOP;
END $$;
-- undo a few, then spend the credit and the credit notes
DELETE FROM ar.allocation WHERE id IN (SELECT id FROM ar.allocation ORDER BY random() LIMIT 40);
SELECT ar.apply_customer_credit(id, DATE '2026-06-01') FROM ar.customer WHERE code LIKE 'T%';
SELECT ar.apply_credit_note(n.id, i.id, NULL, DATE '2026-06-02')
  FROM ar.invoice n
  JOIN LATERAL (SELECT id FROM ar.invoice i WHERE i.customer_id = n.customer_id AND i.open_amount > 0
                ORDER BY i.id LIMIT 1) i ON true
 WHERE n.amount < 0;

SELECT is_empty('SELECT * FROM ar.check_ledger()', 'derived amounts agree with the allocation ledger');
SELECT is((SELECT count(*) FROM ar.invoice
            WHERE open_amount NOT BETWEEN least(amount, 0) AND greatest(amount, 0))::int, 0,
          'no invoice is over-allocated');
SELECT ok((SELECT count(*) FROM ar.customer_credit) > 0, 'overpayments became customer credit');
SELECT is((SELECT count(*) FROM ar.customer_credit_balance b
            WHERE EXISTS (SELECT 1 FROM ar.invoice i WHERE i.customer_id = b.customer_id AND i.open_amount > 0))::int, 0,
          'apply_customer_credit left credit only where nothing is open');
SELECT is((SELECT sum(amount) FROM ar.invoice),
          (SELECT sum(open_amount) FROM ar.invoice) + (SELECT sum(amount) FROM ar.allocation),
          'amount = open + allocated, in total');
SELECT is((SELECT count(*) FROM ar.invoice i
            WHERE status <> ar.invoice_status(amount, open_amount, written_off_amount, disputed, cancelled_on IS NOT NULL))::int,
          0, 'every status agrees with its amounts');
SELECT ok((SELECT count(DISTINCT status) FROM ar.invoice) >= 3, 'open, partially paid and paid invoices exist');
-- aging over open_items equals the plain arithmetic
SELECT is((SELECT sum(total) FROM ar.aging_report('2026-12-31')),
          (SELECT sum(open_amount) FROM ar.invoice), 'aging_report total = open amounts');
SELECT is((SELECT sum(total) FROM ar.aging_report('2026-03-15')),
          (SELECT sum(i.amount) - coalesce(sum(a.paid), 0) FROM ar.invoice i
             LEFT JOIN LATERAL (SELECT sum(amount) AS paid FROM ar.allocation a
                                 WHERE a.invoice_id = i.id AND a.allocated_on <= '2026-03-15') a ON true
            WHERE i.issue_date <= '2026-03-15'),
          'aging_report on a past date = amounts less allocations dated up to it');

-- ------------------------------------------------------------------- audit
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;   -- seal now instead of at commit
SELECT is((SELECT count(*) FROM ar.audit_log a WHERE ar._audit_link(a) IS NULL)::int, 0, 'every audit row is sealed');
SELECT results_eq('SELECT valid, problem FROM ar.verify_audit_chain()', $$VALUES (true, NULL::text)$$,
                  'the chain verifies');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'allocation' AND operation = 'INSERT'),
          (SELECT count(*) FROM ar.allocation) + 40, 'every allocation insert is audited');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'allocation' AND operation = 'DELETE')::int, 40,
          'every allocation delete is audited');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'invoice' AND operation = 'UPDATE')::int, 0,
          'moves of derived columns are not audited twice');
UPDATE ar.invoice SET payment_reference = 'REF-1' WHERE number = 'INV-1';
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SELECT is((SELECT new_row->>'payment_reference' FROM ar.audit_log
            WHERE table_name = 'invoice' AND operation = 'UPDATE'), 'REF-1', 'a client update is audited');
SELECT is((SELECT actor FROM ar.audit_log ORDER BY id DESC LIMIT 1), session_user::text, 'the actor is recorded');
SELECT is((SELECT s.prev_hash FROM ar.audit_seal s WHERE s.company_id = ar.default_company() AND s.seq = 2),
          (SELECT f.seal_hash FROM ar.audit_seal f WHERE f.company_id = ar.default_company() AND f.seq = 1), 'seals are chained');

SELECT throws_ok($$INSERT INTO ar.audit_log (table_name, operation) VALUES ('invoice', 'INSERT')$$,
                 '42501', 'ar.audit_log is written by ar_collect only', 'no direct insert');
SELECT throws_ok('UPDATE ar.audit_log SET actor = $$x$$', '42501', 'ar.audit_log is append-only', 'no update');
SELECT throws_ok('DELETE FROM ar.audit_log', '42501', 'ar.audit_log is append-only', 'no delete');
SELECT throws_ok('TRUNCATE ar.audit_log', '0A000', NULL, 'no truncate');
SELECT throws_ok('TRUNCATE ar.allocation', '0A000', NULL, 'no truncate of the ledger');

-- tampering with triggers disabled (what a superuser could do) is detected
-- an invoice's audit row, sealed in the company's first seal
CREATE TEMP TABLE tamper_row ON COMMIT DROP AS
SELECT id FROM ar.audit_log WHERE company_id = ar.default_company() AND table_name = 'invoice' ORDER BY id OFFSET 4 LIMIT 1;
SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
UPDATE ar.audit_log SET new_row = jsonb_set(new_row, '{amount}', '"1.00"') WHERE id = (SELECT id FROM tamper_row);
RESET session_replication_role;
SELECT results_eq('SELECT valid, first_broken_seq, first_broken_id, problem FROM ar.verify_audit_chain()',
                  $$VALUES (false, 1::bigint, (SELECT id FROM tamper_row), 'row content does not match its hash')$$,
                  'a changed row is the first broken link: its seal and its id');
ROLLBACK TO SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
UPDATE ar.audit_log SET new_row = jsonb_set(new_row, '{amount}', '"1.00"') WHERE id = (SELECT id FROM tamper_row);
UPDATE ar.audit_log a SET row_hash = sha256(ar.audit_row_content(a, NULL)) WHERE id = (SELECT id FROM tamper_row);
RESET session_replication_role;
SELECT results_eq('SELECT valid, first_broken_seq, problem FROM ar.verify_audit_chain()',
                  $$SELECT false, 1::bigint, format('the rows of seal 1 do not match it (%1$s rows found, %1$s sealed)', row_count)
                      FROM ar.audit_seal WHERE company_id = ar.default_company() AND seq = 1$$,
                  'a changed row hashed again does not match its seal');
ROLLBACK TO SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
DELETE FROM ar.audit_log WHERE id = (SELECT id FROM tamper_row);
RESET session_replication_role;
SELECT results_eq('SELECT valid, first_broken_seq, problem FROM ar.verify_audit_chain()',
                  $$SELECT false, 1::bigint, format('the rows of seal 1 do not match it (%s rows found, %s sealed)', row_count - 1, row_count)
                      FROM ar.audit_seal WHERE company_id = ar.default_company() AND seq = 1$$,
                  'a deleted row is detected');
ROLLBACK TO SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
UPDATE ar.audit_log a SET id = (SELECT max(id) + 1 FROM ar.audit_log) WHERE id = (SELECT id FROM tamper_row);
RESET session_replication_role;
SELECT is((SELECT first_broken_seq FROM ar.verify_audit_chain()), 1::bigint, 'a row moved (given another id) is detected');
ROLLBACK TO SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
INSERT INTO ar.audit_log (txid, table_name, operation, row_id, new_row, company_id, row_hash)
SELECT '12345'::xid8, 'invoice', 'UPDATE', row_id, new_row, company_id, NULL FROM ar.audit_log WHERE id = (SELECT id FROM tamper_row);
UPDATE ar.audit_log a SET row_hash = sha256(ar.audit_row_content(a, NULL)) WHERE txid = '12345'::xid8;
RESET session_replication_role;
SELECT results_eq('SELECT valid, problem FROM ar.verify_audit_chain()',
                  $$VALUES (false, '1 row(s) of earlier transactions were never sealed (outside the chain), the first of transaction 12345')$$,
                  'an inserted row, its hash right, is outside every seal');
ROLLBACK TO SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
DELETE FROM ar.audit_seal WHERE company_id = ar.default_company() AND seq = 1;
RESET session_replication_role;
SELECT results_eq('SELECT valid, first_broken_seq, problem FROM ar.verify_audit_chain()',
                  $$VALUES (false, 2::bigint, 'seals 1 to 1 are missing')$$, 'a deleted seal is detected');
ROLLBACK TO SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
UPDATE ar.audit_seal SET row_count = row_count - 1, last_id = last_id - 1 WHERE company_id = ar.default_company() AND seq = 1;
RESET session_replication_role;
SELECT results_eq('SELECT valid, first_broken_seq, problem FROM ar.verify_audit_chain()',
                  $$VALUES (false, 1::bigint, 'seal does not match its hash')$$, 'a changed seal is detected');
ROLLBACK TO SAVEPOINT tamper;
SELECT is((SELECT valid FROM ar.verify_audit_chain()), true, 'the untouched chain verifies again');

-- ------------------------------------------------------------------- roles
CREATE ROLE ar_test_nobody;
SET LOCAL ROLE ar_reader;
SELECT lives_ok('SELECT * FROM ar.receivables', 'reader reads the receivables view');
SELECT lives_ok('SELECT * FROM ar.aging_report(DATE ''2026-06-30'')', 'reader runs the aging report');
SELECT throws_ok($$SELECT ar.record_payment('INV-2', 1, DATE '2026-06-30')$$, '42501', NULL, 'reader cannot record payments');
SELECT throws_ok($$UPDATE ar.customer SET name = 'x'$$, '42501', NULL, 'reader cannot write');
SELECT throws_ok('SELECT * FROM ar.audit_log', '42501', NULL, 'reader cannot read the audit trail');
RESET ROLE;
SET LOCAL ROLE ar_collector;
SELECT lives_ok($$SELECT ar.record_payment('INV-2', 1, DATE '2026-06-30')$$, 'collector records a payment');
SELECT throws_ok($$INSERT INTO ar.customer (code, name) VALUES ('X', 'X')$$, '42501', NULL, 'collector cannot load data');
SELECT throws_ok($$UPDATE ar.invoice SET amount = 1$$, '42501', NULL, 'collector cannot change invoices');
SELECT throws_ok($$SELECT ar.write_off_invoice(1, 'x')$$, '42501', NULL, 'collector cannot write off');
RESET ROLE;
SET LOCAL ROLE ar_admin;
SELECT lives_ok($$INSERT INTO ar.customer (code, name) VALUES ('ADM', 'Loaded by admin')$$, 'admin loads data');
SELECT lives_ok($$SELECT ar.write_off_invoice((SELECT id FROM ar.invoice WHERE number = 'INV-3'), 'bankrupt')$$,
                'admin writes off');
SELECT lives_ok('SELECT * FROM ar.verify_audit_chain()', 'admin verifies the audit chain');
-- (the message of the guard, not "permission denied for function _derived_column_error")
SELECT throws_ok($$UPDATE ar.invoice SET open_amount = open_amount - 1 WHERE id = (SELECT min(id) FROM ar.invoice WHERE open_amount > 0)$$,
                 '42501', 'column invoice.open_amount is maintained by ar_collect', 'admin cannot set a derived column, and is told why');
SELECT throws_ok($$UPDATE ar.customer_credit SET remaining = remaining + 1 WHERE id = (SELECT min(id) FROM ar.customer_credit)$$,
                 '42501', 'column customer_credit.remaining is maintained by ar_collect', 'nor a credit''s remaining amount');
RESET ROLE;
SET LOCAL ROLE ar_test_nobody;
SELECT throws_ok('SELECT * FROM ar.invoice', '42501', NULL, 'a role without ar_* sees nothing');
RESET ROLE;
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SELECT is((SELECT role FROM ar.audit_log WHERE table_name = 'customer' ORDER BY id DESC LIMIT 1), 'ar_admin',
          'the role in force is audited');

-- ----------------------------------------------------------------- pg_dump
SELECT ok((SELECT array_agg(c::regclass::text) FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'ar_collect')
          @> ARRAY['ar.customer', 'ar.invoice', 'ar.allocation', 'ar.bank_transaction', 'ar.customer_credit',
                   'ar.audit_log', 'ar.company', 'ar.customer_bank_account', 'ar.bank_statement'],
          'pg_dump keeps the data of every ledger table');

SELECT * FROM finish();
ROLLBACK;
