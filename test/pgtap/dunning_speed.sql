-- ar.run_dunning's data-chosen statement fragments (issue 17): the
-- invoices left out are filtered only when there are some, the accounts
-- already noticed on the date are read only when there are some, the
-- notices queued are counted from the INSERT; the planner settings a run
-- changes for its own statements (nested loops for the credits, the
-- letters' join order) are the caller's again after it.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(14);

UPDATE ar.company SET name = 'Speed SAS', iban = 'FR7630006000011234567890189';
INSERT INTO ar.customer (code, name, email, language) VALUES
	('S-ONE', 'One disputed SARL', 'one@example.com', 'fr'),
	('S-TWO', 'Two open SA', 'two@example.com', 'en');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, DATE '2026-01-01', DATE '2026-01-31', v.amount
  FROM ar.customer c
  JOIN (VALUES ('S-ONE', 'S1-A', 100.00), ('S-ONE', 'S1-B', 200.00),
               ('S-TWO', 'S2-A', 300.00)) v(code, number, amount) ON v.code = c.code;

CREATE FUNCTION pg_temp.listed(d date) RETURNS TABLE (code text, numbers text[], amount_due numeric)
LANGUAGE sql AS $$
	SELECT c.code, array_agg(i.number ORDER BY i.number), n.amount_due
	  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id
	  JOIN ar.invoice i ON i.id = ANY (n.invoice_ids)
	 WHERE n.as_of = d GROUP BY c.code, n.amount_due ORDER BY c.code
$$;

-- no invoice left out anywhere: every overdue invoice listed
SAVEPOINT none_left_out;
SET LOCAL join_collapse_limit = 5;
SET LOCAL enable_nestloop = on;
SET LOCAL default_toast_compression = pglz;
SELECT is((SELECT count(*) FROM ar.run_dunning('2026-03-02')), 2::bigint,
          'nothing left out: a notice per account');
SELECT results_eq($$SELECT * FROM pg_temp.listed('2026-03-02')$$,
                  $$VALUES ('S-ONE', ARRAY['S1-A', 'S1-B'], 300.00), ('S-TWO', ARRAY['S2-A'], 300.00)$$,
                  'nothing left out: every overdue invoice listed, its open amount claimed');
SELECT is((SELECT notices FROM ar.dunning_run WHERE as_of = '2026-03-02'), 2,
          'the run registry counts the notices the INSERT wrote');
SELECT is(current_setting('join_collapse_limit'), '5', 'the caller''s join_collapse_limit is restored after a run');
SELECT is(current_setting('enable_nestloop'), 'on', 'the caller''s enable_nestloop is restored after a run');
SELECT is(current_setting('default_toast_compression'), 'pglz', 'the caller''s default_toast_compression is restored after a run');

-- the same date again without its registry row nor the accounts' state
-- (which alone would refuse a second notice within 7 days): the notices of
-- the date, read because there are some, refuse a second one (else the
-- outbox's unique key would fail the run)
DELETE FROM ar.dunning_run WHERE as_of = '2026-03-02';
DELETE FROM ar.dunning_account;
SELECT is((SELECT count(*) FROM ar.run_dunning('2026-03-02')), 0::bigint,
          'the date again, registry and account states deleted: the notices of the date queue nothing');
ROLLBACK TO SAVEPOINT none_left_out;

-- one invoice disputed: left out of its account's notice, the others kept
DO $$ BEGIN PERFORM ar.open_dispute(id, 'goods damaged', DATE '2026-02-15') FROM ar.invoice WHERE number = 'S1-B'; END $$;
SAVEPOINT one_left_out;
SELECT is((SELECT count(*) FROM ar.run_dunning('2026-03-02')), 2::bigint,
          'one invoice left out: still a notice per account');
SELECT results_eq($$SELECT * FROM pg_temp.listed('2026-03-02')$$,
                  $$VALUES ('S-ONE', ARRAY['S1-A'], 100.00), ('S-TWO', ARRAY['S2-A'], 300.00)$$,
                  'the disputed invoice is neither listed nor claimed; the others are');
ROLLBACK TO SAVEPOINT one_left_out;

-- every invoice of an account disputed: no notice for it
DO $$ BEGIN PERFORM ar.open_dispute(id, 'goods damaged', DATE '2026-02-15') FROM ar.invoice WHERE number = 'S1-A'; END $$;
SAVEPOINT all_left_out;
SELECT results_eq($$SELECT c.code FROM ar.run_dunning('2026-03-02') n JOIN ar.customer c ON c.id = n.customer_id$$,
                  $$VALUES ('S-TWO')$$,
                  'an account whose invoices are all disputed gets no notice');
ROLLBACK TO SAVEPOINT all_left_out;

-- the rows not returned (as the worker runs it): the same count registered
SAVEPOINT not_returned;
SET LOCAL ar_collect.dunning_return_rows = off;
SELECT is((SELECT count(*) FROM ar.run_dunning('2026-03-02')), 0::bigint, 'rows not returned: none returned');
SELECT is((SELECT notices FROM ar.dunning_run WHERE as_of = '2026-03-02'), 1,
          'rows not returned: the registry still counts the notice written');
ROLLBACK TO SAVEPOINT not_returned;

-- a dry run decides the same without writing
SET LOCAL default_toast_compression = pglz;
SELECT results_eq($$SELECT c.code, n.amount_due FROM ar.run_dunning('2026-03-02', true) n JOIN ar.customer c ON c.id = n.customer_id$$,
                  $$VALUES ('S-TWO', 300.00)$$,
                  'a dry run decides the same');
SELECT is(current_setting('default_toast_compression'), 'pglz', 'the caller''s default_toast_compression is restored after a dry run');

SELECT * FROM finish();
ROLLBACK;
