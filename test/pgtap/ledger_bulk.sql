-- The set-based write path of the ledger: statements that insert or delete
-- many allocations at once (as ar.reconcile does) keep every invariant,
-- refuse naming the first offending invoice, bank line or credit, store
-- nothing when refused, and are audited exactly as row by row.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(53);

INSERT INTO ar.customer (code, name) VALUES ('LB-C', 'Bulk Payer SARL'), ('LB-D', 'Other Payer SA');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, 'LB-' || g, DATE '2026-01-01', DATE '2026-01-31', 100.00, CASE WHEN g = 6 THEN 'USD' ELSE 'EUR' END
  FROM generate_series(1, 6) g JOIN ar.customer c ON c.code = 'LB-C';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'LB-D1', DATE '2026-01-01', DATE '2026-01-31', 100.00 FROM ar.customer WHERE code = 'LB-D';
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info)
VALUES ('2026-02-01', 150.00, 'LB line A'), ('2026-02-01', 300.00, 'LB line B');
CREATE TEMP TABLE lb AS
SELECT (SELECT id FROM ar.bank_transaction WHERE remittance_info = 'LB line A') AS a,
       (SELECT id FROM ar.bank_transaction WHERE remittance_info = 'LB line B') AS b;
CREATE TEMP VIEW lb_state AS
SELECT string_agg(i.number || ':' || i.open_amount || ':' || i.status, ' ' ORDER BY i.number) AS invoices,
       (SELECT string_agg(t.allocated_amount || ':' || t.status, ' ' ORDER BY t.id)
          FROM ar.bank_transaction t WHERE t.remittance_info LIKE 'LB line %') AS lines,
       (SELECT count(*) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id WHERE i.number LIKE 'LB-%') AS allocations
  FROM ar.invoice i WHERE i.number LIKE 'LB-%';
CREATE TEMP TABLE lb_before AS SELECT * FROM lb_state;
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
CREATE TEMP TABLE lb_audit_mark AS SELECT coalesce(max(id), 0) AS id FROM ar.audit_log;

-- ------------------------------------------------------ refused, nothing stored
-- LB-3 gets 60 + 50 among valid rows: refused at the second, naming LB-3
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on)
                   SELECT i.id, lb.b, v.amount, '2026-02-01'
                     FROM (VALUES (1, 'LB-1', 10.00), (2, 'LB-3', 60.00), (3, 'LB-2', 20.00), (4, 'LB-3', 50.00),
                                  (5, 'LB-4', 30.00)) v(k, n, amount)
                     JOIN ar.invoice i ON i.number = v.n, lb
                    ORDER BY v.k$$,
                 '23514', 'allocation of 50.00 exceeds the open amount 40.00 of invoice LB-3',
                 'one over-allocated invoice among many: refused, naming it and what was left');
SELECT results_eq('SELECT * FROM lb_state', 'SELECT * FROM lb_before', 'the refused statement stored nothing');
-- two invoices at fault: the first in id order is named
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, amount)
                   SELECT i.id, v.amount FROM (VALUES ('LB-5', 101.00), ('LB-2', 100.01)) v(n, amount)
                     JOIN ar.invoice i ON i.number = v.n$$,
                 '23514', 'allocation of 100.01 exceeds the open amount 100.00 of invoice LB-2',
                 'the first offending invoice in id order is named');
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, amount)
                   SELECT i.id, v.amount FROM (VALUES ('LB-1', 10.00), ('LB-2', -5.00)) v(n, amount)
                     JOIN ar.invoice i ON i.number = v.n$$,
                 '23514', 'allocation of -5.00 to invoice LB-2 of 100.00 has the wrong sign',
                 'a wrong sign among many is named');
-- line A (150) receives 80 + 80 across two invoices: refused, naming the line
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount)
                   SELECT i.id, CASE WHEN v.n = 'LB-4' THEN lb.b ELSE lb.a END, 80.00
                     FROM (VALUES ('LB-1'), ('LB-2'), ('LB-4')) v(n) JOIN ar.invoice i ON i.number = v.n, lb$$,
                 '23514', format('bank transaction %s would allocate 160.00 of its 150.00', (SELECT a FROM lb)),
                 'a bank line over-allocated by several rows is named with the sum');
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount)
                   SELECT i.id, lb.b, 10.00 FROM ar.invoice i, lb WHERE i.number IN ('LB-1', 'LB-6')$$,
                 '23514', format('bank transaction %s is in EUR, the allocation is in USD', (SELECT b FROM lb)),
                 'an invoice in another currency than the line is refused');
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, amount)
                   SELECT i.id, 10.00 FROM ar.invoice i WHERE i.number IN ('LB-1', 'LB-2')
                   UNION ALL SELECT -1, 1$$,
                 '23503', NULL, 'an invoice that does not exist is refused');
SELECT results_eq('SELECT * FROM lb_state', 'SELECT * FROM lb_before', 'the refused statements stored nothing');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE id > (SELECT id FROM lb_audit_mark))::int, 0,
          'and audited nothing');

-- -------------------------------------------------- accepted: mixed bank lines
INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on, method)
SELECT i.id, CASE WHEN v.line = 'a' THEN lb.a ELSE lb.b END, v.amount, '2026-02-01', 'reference'
  FROM (VALUES ('LB-1', 'a', 100.00), ('LB-2', 'a', 50.00), ('LB-2', 'b', 50.00), ('LB-3', 'b', 60.00),
               ('LB-3', 'b', 40.00), ('LB-4', 'b', 25.50)) v(n, line, amount)
  JOIN ar.invoice i ON i.number = v.n, lb;
SELECT is((SELECT invoices FROM lb_state),
          'LB-1:0.00:paid LB-2:0.00:paid LB-3:0.00:paid LB-4:74.50:partially_paid LB-5:100.00:open LB-6:100.00:open LB-D1:100.00:open',
          'invoices: the summed allocations applied, statuses follow');
SELECT is((SELECT lines FROM lb_state), '150.00:matched 175.50:partially_matched', 'bank lines: sums applied, statuses follow');
SELECT is_empty('SELECT * FROM ar.check_ledger()', 'the ledger agrees with itself');
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, amount) SELECT id, 0.01 FROM ar.invoice WHERE number = 'LB-1'$$,
                 '23514', 'allocation of 0.01 exceeds the open amount 0.00 of invoice LB-1', 'a paid invoice takes nothing more');
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount)
                   SELECT id, (SELECT a FROM lb), 0.01 FROM ar.invoice WHERE number = 'LB-5'$$,
                 '23514', format('bank transaction %s would allocate 150.01 of its 150.00', (SELECT a FROM lb)),
                 'what a line has allocated counts');

-- --------------------------------------------------------------------- audit
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT is((SELECT count(*) FROM ar.audit_log WHERE id > (SELECT id FROM lb_audit_mark)
              AND table_name = 'allocation' AND operation = 'INSERT')::int, 6, 'one audit row per allocation');
SELECT is((SELECT count(*) FROM ar.audit_log l JOIN ar.allocation a ON a.id = l.row_id
            WHERE l.id > (SELECT id FROM lb_audit_mark) AND l.table_name = 'allocation'
              AND l.new_row = to_jsonb(a) AND l.old_row IS NULL)::int, 6,
          'each holds the allocation as stored');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE id > (SELECT id FROM lb_audit_mark) AND table_name = 'invoice')::int, 0,
          'derived-only invoice updates are not audited');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE id > (SELECT id FROM lb_audit_mark) AND table_name = 'bank_transaction')::int, 0,
          'nor the bank lines'' allocated amounts and the statuses that follow them');
SELECT is((SELECT count(*) FROM ar.audit_log a WHERE id > (SELECT id FROM lb_audit_mark) AND ar._audit_link(a) IS NULL)::int, 0,
          'every row is sealed');
SELECT is((SELECT bool_and(o) FROM (SELECT array_agg(seq ORDER BY first_id) = array_agg(seq ORDER BY seq) AS o
                                       FROM ar.audit_seal GROUP BY company_id) c), true,
          'each company''s seals follow id order');
SELECT results_eq('SELECT valid FROM ar.verify_audit_chain()', 'VALUES (true)', 'the chain verifies');

-- ------------------------------------------------------------- multi-row delete
CREATE TEMP TABLE lb_mark2 AS SELECT max(id) AS id FROM ar.audit_log;
DELETE FROM ar.allocation WHERE invoice_id IN (SELECT id FROM ar.invoice WHERE number IN ('LB-2', 'LB-3'));
SELECT is((SELECT invoices FROM lb_state),
          'LB-1:0.00:paid LB-2:100.00:open LB-3:100.00:open LB-4:74.50:partially_paid LB-5:100.00:open LB-6:100.00:open LB-D1:100.00:open',
          'a multi-row delete reopens the invoices');
SELECT is((SELECT lines FROM lb_state), '100.00:partially_matched 25.50:partially_matched', 'and gives the lines their money back');
SELECT is_empty('SELECT * FROM ar.check_ledger()', 'the ledger agrees with itself after the delete');
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT is((SELECT count(*) FROM ar.audit_log WHERE id > (SELECT id FROM lb_mark2) AND table_name = 'allocation'
              AND operation = 'DELETE' AND new_row IS NULL AND old_row->>'method' = 'reference')::int, 4,
          'each deleted allocation is audited with its old row');
DELETE FROM ar.allocation WHERE bank_transaction_id = (SELECT b FROM lb);
SELECT is((SELECT lines FROM lb_state), '100.00:partially_matched 0.00:unmatched', 'a line with nothing left is unmatched again');

-- ---------------------------------------------------------- customer credits
INSERT INTO ar.customer_credit (customer_id, amount, source)
SELECT id, 50.00, 'manual' FROM ar.customer WHERE code = 'LB-C';
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, customer_credit_id, amount, method)
                   SELECT i.id, cr.id, 30.00, 'credit' FROM ar.invoice i, ar.customer_credit cr
                    WHERE i.number IN ('LB-2', 'LB-3') AND cr.customer_id = i.customer_id$$,
                 '23514', format('customer credit %s has 50.00 left, not 60.00', (SELECT max(id) FROM ar.customer_credit)),
                 'a credit spent twice in one statement is refused with the sum');
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, customer_credit_id, amount, method)
                   SELECT i.id, cr.id, 10.00, 'credit' FROM ar.invoice i, ar.customer_credit cr
                    WHERE i.number IN ('LB-2', 'LB-D1') AND cr.id = (SELECT max(id) FROM ar.customer_credit)$$,
                 '23514', format('customer credit %s cannot pay invoice LB-D1', (SELECT max(id) FROM ar.customer_credit)),
                 'a credit pays only its own customer''s invoices');
INSERT INTO ar.allocation (invoice_id, customer_credit_id, amount, method)
SELECT i.id, cr.id, 25.00, 'credit' FROM ar.invoice i, ar.customer_credit cr
 WHERE i.number IN ('LB-2', 'LB-3') AND cr.id = (SELECT max(id) FROM ar.customer_credit);
SELECT is((SELECT remaining FROM ar.customer_credit ORDER BY id DESC LIMIT 1), 0.00, 'a credit spent across invoices at once');
SELECT is_empty('SELECT * FROM ar.check_ledger()', 'the ledger agrees with itself after credits');

-- ------------------------------------------------------- what stays refused
SELECT throws_ok($$UPDATE ar.allocation SET amount = 1 WHERE invoice_id = (SELECT id FROM ar.invoice WHERE number = 'LB-1')$$,
                 '55000', 'allocations cannot be changed', 'allocations stay immutable');
SELECT lives_ok($$UPDATE ar.allocation SET note = 'checked' WHERE invoice_id = (SELECT id FROM ar.invoice WHERE number = 'LB-1')$$,
                'their note may be completed');
SELECT throws_ok($$UPDATE ar.invoice SET open_amount = 0 WHERE number = 'LB-5'$$, '42501',
                 'column invoice.open_amount is maintained by ar_collect', 'clients cannot set open amounts');
SELECT throws_ok($$UPDATE ar.bank_transaction SET allocated_amount = 1 WHERE remittance_info = 'LB line B'$$, '42501',
                 'column bank_transaction.allocated_amount is maintained by ar_collect', 'nor allocated amounts');
CREATE TEMP TABLE lb_mark4 AS SELECT max(id) AS id FROM ar.audit_log;
UPDATE ar.bank_transaction SET status = 'ignored' WHERE remittance_info = 'LB line B';
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT is((SELECT (old_row->>'status') || '>' || (new_row->>'status') FROM ar.audit_log
            WHERE id > (SELECT id FROM lb_mark4) AND table_name = 'bank_transaction' AND operation = 'UPDATE'),
          'unmatched>ignored', 'a status set by a client is audited');
SELECT throws_ok($$UPDATE ar.audit_log a SET row_hash = sha256(ar.audit_row_content(a, NULL)) WHERE ar._audit_link(a) IS NOT NULL$$,
                 '42501', 'ar.audit_log is append-only', 'sealed audit rows stay as they are');
SELECT throws_ok($$UPDATE ar.audit_seal SET sealed_at = sealed_at$$, '42501', 'ar.audit_seal is written by the seal at commit only',
                 'the seals stay as they are');
SELECT throws_ok($$DELETE FROM ar.audit_seal$$, '42501', 'ar.audit_seal is written by the seal at commit only',
                 'and are not deleted');
SELECT throws_ok($$INSERT INTO ar.audit_seal SELECT * FROM ar.audit_seal LIMIT 1$$, '42501',
                 'ar.audit_seal is written by the seal at commit only', 'nor written by a client');
INSERT INTO ar.allocation (invoice_id, amount) SELECT id, 1.00 FROM ar.invoice WHERE number = 'LB-5';
SELECT throws_ok($$UPDATE ar.audit_log a SET actor = 'someone else' WHERE ar._audit_unsealed(a)$$, '42501', 'ar.audit_log is append-only',
                 'unsealed audit rows cannot be rewritten either');
SELECT throws_ok($$UPDATE ar.audit_log a SET row_hash = sha256(ar.audit_row_content(a, NULL)) WHERE ar._audit_unsealed(a)$$, '42501',
                 'ar.audit_log is append-only', 'nor their hash');

-- restoring: allocations still apply, nothing is audited
CREATE TEMP TABLE lb_mark3 AS SELECT max(id) AS id FROM ar.audit_log;
SET LOCAL ar_collect.restoring = on;
INSERT INTO ar.allocation (invoice_id, amount) SELECT id, 1.00 FROM ar.invoice WHERE number IN ('LB-5', 'LB-D1');
RESET ar_collect.restoring;
SELECT is((SELECT count(*) FROM ar.audit_log WHERE id > (SELECT id FROM lb_mark3))::int, 0,
          'with ar_collect.restoring on, allocations are not audited');
SELECT is((SELECT string_agg(open_amount::text, ' ' ORDER BY number) FROM ar.invoice WHERE number IN ('LB-5', 'LB-D1')),
          '98.00 99.00', 'but still applied');

-- ---------------------------- the tenancy check runs once per statement
-- (it ran once per row: ar._company_ids read the memberships 100,000 times
-- for a reconciliation of 100,000 lines)
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'LB-N' || g, DATE '2026-01-01', DATE '2026-01-31', 1.00
  FROM generate_series(1, 44) g JOIN ar.customer c ON c.code = 'LB-D';
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-02-02', 44.00, 'LB line N');
CREATE TEMP TABLE lb_calls (rows_written integer, calls bigint);
CREATE FUNCTION pg_temp.company_ids_calls() RETURNS bigint LANGUAGE sql
AS $$ SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE schemaname = 'ar' AND funcname = '_company_ids' $$;
SET LOCAL track_functions = 'all';
INSERT INTO lb_calls VALUES (0, pg_temp.company_ids_calls());
INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on)
SELECT i.id, t.id, 1.00, DATE '2026-02-02' FROM ar.invoice i, ar.bank_transaction t
 WHERE i.number IN ('LB-N1', 'LB-N2', 'LB-N3', 'LB-N4') AND t.remittance_info = 'LB line N';
INSERT INTO lb_calls VALUES (4, pg_temp.company_ids_calls());
INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on)
SELECT i.id, t.id, 1.00, DATE '2026-02-02' FROM ar.invoice i, ar.bank_transaction t
 WHERE i.number LIKE 'LB-N%' AND i.open_amount > 0 AND t.remittance_info = 'LB line N';
INSERT INTO lb_calls VALUES (40, pg_temp.company_ids_calls());
SELECT is((SELECT allocated_amount FROM ar.bank_transaction WHERE remittance_info = 'LB line N'), 44.00,
          '4, then 40 allocations are written in one statement each');
SELECT is((SELECT calls FROM lb_calls WHERE rows_written = 40) - (SELECT calls FROM lb_calls WHERE rows_written = 4),
          (SELECT calls FROM lb_calls WHERE rows_written = 4) - (SELECT calls FROM lb_calls WHERE rows_written = 0),
          'the companies the caller collects for are read as often for 40 rows as for 4 (once per statement, not per row)');

-- ------------------------------------- what allocations name (31_ledger_references)
-- no foreign key checks each row again: the statement's own set-wise checks
-- refuse what does not exist, and the other side is guarded by triggers
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'ar.allocation'::regclass AND contype = 'f'
             AND confrelid IN ('ar.invoice'::regclass, 'ar.bank_transaction'::regclass)), 0,
          'ar.allocation has no row-by-row foreign key to invoices or bank lines');
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount)
                   SELECT i.id, -7, 1.00 FROM ar.invoice i WHERE i.number = 'LB-5'$$,
                 '23503', 'bank transaction -7 does not exist', 'a bank line that does not exist is refused');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'LB-X', DATE '2026-01-01', DATE '2026-01-31', 10.00 FROM ar.customer WHERE code = 'LB-C';
SELECT throws_ok($$DELETE FROM ar.invoice WHERE number IN ('LB-X', 'LB-1', 'LB-2')$$,
                 '23503', 'invoice LB-1 cannot be deleted: allocations name it',
                 'an allocated invoice cannot be deleted: the first of the statement is named');
SELECT throws_ok($$DELETE FROM ar.bank_transaction t USING lb WHERE t.id = lb.a$$,
                 '23503', format('bank transaction %s cannot be deleted: allocations name it', (SELECT a FROM lb)),
                 'an allocated bank line cannot be deleted');
SELECT throws_ok($$UPDATE ar.invoice SET id = -100 WHERE number = 'LB-1'$$,
                 '23503', 'the id of invoice LB-1 cannot change: allocations name it',
                 'nor can its id change');
SELECT throws_ok($$UPDATE ar.bank_transaction t SET id = -100 FROM lb WHERE t.id = lb.a$$,
                 '23503', format('the id of bank transaction %s cannot change: allocations name it', (SELECT a FROM lb)),
                 'nor the id of an allocated bank line');
SELECT lives_ok($$DELETE FROM ar.invoice WHERE number = 'LB-X'$$, 'an invoice nothing was allocated to can be deleted');
SELECT is((SELECT count(*)::int FROM ar.allocation a WHERE NOT EXISTS (SELECT FROM ar.invoice i WHERE i.id = a.invoice_id)
              OR (a.bank_transaction_id IS NOT NULL
                  AND NOT EXISTS (SELECT FROM ar.bank_transaction t WHERE t.id = a.bank_transaction_id))), 0,
          'every allocation names an invoice and a bank line that exist');

SELECT * FROM finish();
ROLLBACK;
