-- What a decision of ar.reconcile names (its bank line, run and return) is
-- checked by statement triggers, not row-by-row foreign keys
-- (src/sql/73_reconcile_references.sql): the same refusals, the same
-- cascade, without a query per row.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(22);

SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'ar.reconcile_line'::regclass AND contype = 'f'), 0,
          'ar.reconcile_line has no row-by-row foreign key');

INSERT INTO ar.customer (code, name) VALUES ('RR-C', 'Reference Payer SARL');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'RR-1', DATE '2026-01-01', DATE '2026-01-31', 100.00 FROM ar.customer WHERE code = 'RR-C';
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info)
VALUES ('2026-02-01', 100.00, 'RR-1 paid'), ('2026-02-02', 55.00, 'RR unrelated'), ('2026-02-03', -100.00, 'RR return');
CREATE TEMP TABLE rr AS
SELECT (SELECT id FROM ar.bank_transaction WHERE remittance_info = 'RR-1 paid') AS paid,
       (SELECT id FROM ar.bank_transaction WHERE remittance_info = 'RR unrelated') AS other,
       (SELECT id FROM ar.bank_transaction WHERE remittance_info = 'RR return') AS ret;
SELECT ok((SELECT count(*) FROM ar.reconcile()) >= 2, 'a run decides on the new lines');
CREATE TEMP TABLE rr_run AS SELECT max(id) AS id FROM ar.reconcile_run;
SELECT is((SELECT count(*)::int FROM ar.reconcile_line r, rr WHERE r.bank_transaction_id IN (rr.paid, rr.other)), 2,
          'its decisions are stored, each naming its run')
UNION ALL
SELECT is((SELECT count(*)::int FROM ar.reconcile_line r, rr_run WHERE r.run_id = rr_run.id), 3, '(three lines, one run)');

-- a run of its own, without proposals (those name their run by a foreign key)
INSERT INTO ar.reconcile_run (company_id, auto_apply) VALUES (ar.default_company(), false);
UPDATE rr_run SET id = (SELECT max(id) FROM ar.reconcile_run);
UPDATE ar.reconcile_line r SET run_id = rr_run.id FROM rr, rr_run WHERE r.bank_transaction_id = rr.paid;

-- refused: what does not exist, the first in id order named
SELECT throws_ok($$INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, outcome)
                   SELECT v, ar.default_company(), 'manual' FROM unnest(ARRAY[-5, -9]) v$$,
                 '23503', 'bank transaction -9 does not exist', 'a decision on a bank line that does not exist');
SELECT throws_ok($$UPDATE ar.reconcile_line r SET returned_by = -3 FROM rr WHERE r.bank_transaction_id = rr.paid$$,
                 '23503', 'bank transaction -3 does not exist', 'a return that does not exist');
SELECT throws_ok($$UPDATE ar.reconcile_line r SET run_id = -4 FROM rr WHERE r.bank_transaction_id = rr.paid$$,
                 '23503', 'reconcile run -4 does not exist', 'a run that does not exist');
SELECT is((SELECT r.run_id FROM ar.reconcile_line r, rr WHERE r.bank_transaction_id = rr.paid), (SELECT id FROM rr_run),
          'a decision may be moved to a run that exists');
-- a run is named with the decision's company (ar.reconcile_run per company)
INSERT INTO ar.company (code, name) VALUES ('RR-OTHER', 'Other Company');
INSERT INTO ar.reconcile_run (company_id, auto_apply) SELECT id, false FROM ar.company WHERE code = 'RR-OTHER';
SELECT throws_ok(format($$UPDATE ar.reconcile_line r SET run_id = %s FROM rr WHERE r.bank_transaction_id = rr.paid$$,
                        (SELECT max(id) FROM ar.reconcile_run)),
                 '23503', format('reconcile run %s has no row of the decision''s company', (SELECT max(id) FROM ar.reconcile_run)),
                 'a run of another company');
INSERT INTO ar.reconcile_run (id, company_id, auto_apply) SELECT rr_run.id, c.id, false FROM rr_run, ar.company c WHERE c.code = 'RR-OTHER';
SELECT lives_ok($$DELETE FROM ar.reconcile_run r USING rr_run
                   WHERE r.id = rr_run.id AND r.company_id = (SELECT id FROM ar.company WHERE code = 'RR-OTHER')$$,
                'the row of a run for another company than its decisions'' may be deleted');
SELECT throws_ok($$UPDATE ar.reconcile_run r SET company_id = (SELECT id FROM ar.company WHERE code = 'RR-OTHER')
                    FROM rr_run WHERE r.id = rr_run.id$$,
                 '23503', format('the company of reconcile run %s cannot change: decisions of ar.reconcile name it', (SELECT id FROM rr_run)),
                 'nor the company of a run that took decisions');
SELECT throws_ok($$DELETE FROM ar.reconcile_run r USING rr_run WHERE r.id = rr_run.id$$,
                 '23503', format('reconcile run %s cannot be deleted: its decisions name it', (SELECT id FROM rr_run)),
                 'a run that took decisions cannot be deleted');
SELECT throws_ok($$UPDATE ar.reconcile_run r SET id = -1 FROM rr_run WHERE r.id = rr_run.id$$,
                 '23503', format('the id of reconcile run %s cannot change: decisions of ar.reconcile name it', (SELECT id FROM rr_run)),
                 'nor its id change');

-- the other side: a decision goes with its bank line; a line named as a
-- return stays while the decision it undid is there
UPDATE ar.reconcile_line r SET returned_by = rr.ret FROM rr WHERE r.bank_transaction_id = rr.other;
SELECT throws_ok($$DELETE FROM ar.bank_transaction t USING rr WHERE t.id = rr.ret$$,
                 '23503', format('bank transaction %s cannot be deleted: it is the return of another line''s decision', (SELECT ret FROM rr)),
                 'a bank line named as the return of a decision cannot be deleted');
SELECT throws_ok($$UPDATE ar.bank_transaction t SET id = -2 FROM rr WHERE t.id = rr.other$$,
                 '23503', format('the id of bank transaction %s cannot change: decisions of ar.reconcile name it', (SELECT other FROM rr)),
                 'nor can the id of a bank line a decision names');
DELETE FROM ar.bank_transaction t USING rr WHERE t.id = rr.other;
SELECT is((SELECT count(*)::int FROM ar.reconcile_line r, rr WHERE r.bank_transaction_id = rr.other), 0,
          'deleting a bank line deletes the decision on it');
SELECT is((SELECT count(*)::int FROM ar.reconcile_line r
            WHERE NOT EXISTS (SELECT FROM ar.bank_transaction t WHERE t.id = r.bank_transaction_id)
               OR (r.returned_by IS NOT NULL AND NOT EXISTS (SELECT FROM ar.bank_transaction t WHERE t.id = r.returned_by))
               OR (r.run_id IS NOT NULL AND NOT EXISTS (SELECT FROM ar.reconcile_run u WHERE u.id = r.run_id))), 0,
          'every decision names a bank line, return and run that exist');

-- ar.reconcile_run per company: a call over every company records one row
-- per company it decided lines for, all with the call's run id, each
-- company's decisions naming its row; nothing without a new line;
-- ar.reconcile_company one row, also without a new line
INSERT INTO ar.bank_transaction (company_id, booking_date, amount, remittance_info, return_reason)
SELECT id, d, a, r, rr FROM ar.company,
       (VALUES (DATE '2026-03-01', 12.00, 'RR other company', NULL), ('2026-03-03', -7.00, 'RR other return', 'AC04')) v(d, a, r, rr)
 WHERE code = 'RR-OTHER';
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('2026-03-02', 13.00, 'RR default company');
CREATE TEMP TABLE rr_before AS SELECT max(id) AS id FROM ar.reconcile_run;
SELECT count(*) FROM ar.reconcile();
SELECT results_eq($$SELECT r.company_id, r.lines, r.applied + r.proposed + r.unmatched + r.ignored, r.returns, r.finished_at IS NOT NULL
                      FROM ar.reconcile_run r, rr_before b WHERE r.id > b.id ORDER BY r.company_id$$,
                  $$SELECT c.id, CASE WHEN c.code = 'RR-OTHER' THEN 2 ELSE 1 END, 1, CASE WHEN c.code = 'RR-OTHER' THEN 1 ELSE 0 END, true
                      FROM ar.company c WHERE c.code = 'RR-OTHER' OR c.id = ar.default_company() ORDER BY c.id$$,
                  'ar.reconcile() records one row per company it decided lines for, with its counts (a direct-debit return of one of them)')
UNION ALL
SELECT is((SELECT count(DISTINCT r.id)::int FROM ar.reconcile_run r, rr_before b WHERE r.id > b.id), 1, '(under one run id)')
UNION ALL
SELECT is((SELECT count(*)::int FROM ar.reconcile_line l JOIN ar.reconcile_run r ON r.id = l.run_id AND r.company_id = l.company_id, rr_before b
            WHERE r.id > b.id), 3, 'each decision names its company''s row of the run');
UPDATE rr_before SET id = (SELECT max(id) FROM ar.reconcile_run);
SELECT is((SELECT count(*)::int FROM ar.reconcile() x, ar.reconcile_run r, rr_before b WHERE r.id > b.id), 0,
          'a call over every company without a new line records no row');
SELECT count(*) FROM ar.reconcile_company((SELECT id FROM ar.company WHERE code = 'RR-OTHER'));
SELECT results_eq($$SELECT r.company_id, r.lines FROM ar.reconcile_run r, rr_before b WHERE r.id > b.id$$,
                  $$SELECT id, 0 FROM ar.company WHERE code = 'RR-OTHER'$$,
                  'ar.reconcile_company records its row, also without a new line');

SELECT * FROM finish();
ROLLBACK;
