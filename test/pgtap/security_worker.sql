-- The background worker's internal functions against an ar_admin of one
-- company (doc/security.md, "The worker's functions"): they are granted to
-- ar_admin because the worker started by ar.start_worker() runs as an
-- admin's login role, and they run as ar_definer.  Before 0.2.0's fix an
-- admin of company A ran company B's dunning through them (B's notices
-- queued to B's customers), recorded the day's run in ar.dunning_run (the
-- day's dunning of every company then queued nothing) and moved the
-- reconciliation watermark past B's bank lines (the worker no longer took
-- them).  Each is refused now, and the worker acting for every company
-- still does it all.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(15);

CREATE ROLE sw_adm_a LOGIN IN ROLE ar_admin;

INSERT INTO ar.company (code, name, iban) VALUES ('A', 'Company A', 'FR7630006000011234567890189'),
                                                 ('B', 'Company B', 'DE89370400440532013000');
SELECT ar.grant_company_access('sw_adm_a', 'A', 'admin');
INSERT INTO ar.customer (company_id, code, name, email)
SELECT c.id, 'SW' || c.code, 'Customer of ' || c.code, 'sw' || lower(c.code) || '@example.com'
  FROM ar.company c WHERE c.code IN ('A', 'B');
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT cu.company_id, cu.id, 'SWI-' || cu.code, current_date - 90, current_date - 60, 1000 FROM ar.customer cu
 WHERE cu.code LIKE 'SW%';
-- the worker's state (as ar._worker_attach leaves it) and an unmatched
-- bank line of B, above its watermark
INSERT INTO ar.worker_state (id) VALUES (true);
SELECT ar.import_statement(E'account,statement_ref,booking_date,amount,counterparty_name,remittance_info\n'
                           'DE89370400440532013000,SW-B,2026-02-10,333.00,Nobody,nothing\n', 'csv');

-- the worker's runs of today, as the worker records them: the day's run
-- and B's run of it (the attacker can make them too: recording a run does
-- nothing yet)
CREATE TEMP TABLE sw AS SELECT ar._worker_dunning_due('00:00') AS day, NULL::bigint AS run_b;
INSERT INTO ar.worker_run (kind, as_of, status, result)
SELECT 'dunning', current_date, 'running', jsonb_build_object('company_id', c.id, 'day_run', sw.day)
  FROM ar.company c, sw WHERE c.code = 'B';
UPDATE sw SET run_b = (SELECT max(w.id) FROM ar.worker_run w);
GRANT SELECT ON sw TO PUBLIC;
SELECT isnt((SELECT day FROM sw), NULL, 'setup: the day''s dunning run is due');
SELECT isnt(ar._worker_reconcile_newest(), NULL, 'setup: B''s bank line waits for the worker');

SET LOCAL ROLE sw_adm_a;
SELECT is((SELECT array_agg(code) FROM ar.my_companies), '{A}', 'the attacker is an admin of A only');
-- 1. B's dunning through the worker's run of B
SELECT throws_ok($$SELECT ar._worker_dunning((SELECT run_b FROM sw))$$, '42501', NULL,
	'an admin of A cannot run B''s dunning through the worker''s run of B');
-- 2. the day recorded as run: nobody's dunning of today would queue anything
SELECT throws_ok($$SELECT ar._worker_dunning_finish((SELECT day FROM sw))$$, '42501', NULL,
	'an admin of A cannot record the day''s dunning of every company as done');
-- 3. the watermark moved past every company's bank lines
SELECT throws_ok($$SELECT ar._worker_reconcile_advance(9000000000000000000)$$, '42501', NULL,
	'an admin of A cannot move the reconciliation watermark of every company');
-- 4. a reconciliation of A's lines alone moves no watermark over B's
SELECT lives_ok($$SELECT ar._worker_reconcile(ar._worker_reconcile_due())$$,
	'an admin of A reconciles through the worker (its companies only)');
RESET ROLE;

SELECT is((SELECT count(*) FROM ar.dunning_notice n JOIN ar.company c ON c.id = n.company_id WHERE c.code = 'B'), 0::bigint,
	'B has no notice');
SELECT is((SELECT count(*) FROM ar.dunning_run d WHERE d.as_of = current_date), 0::bigint, 'today is not recorded as run');
SELECT is((SELECT status FROM ar.worker_run w, sw WHERE w.id = sw.run_b), 'running', 'B''s run is untouched');
SELECT isnt(ar._worker_reconcile_newest(), NULL, 'B''s bank line still waits for the worker');

-- the worker acting for every company (here the superuser) does it all
SELECT is(ar._worker_dunning(run_b), 1::bigint, 'the worker runs B''s dunning') FROM sw;
SELECT is(ar._worker_dunning_finish(day), 1::bigint, 'and records the day') FROM sw;
SELECT isnt(ar._worker_reconcile_advance(ar._worker_reconcile_newest()), NULL, 'and moves the watermark');
SELECT is(ar._worker_reconcile_newest(), NULL, 'past B''s line');

SELECT * FROM finish();
ROLLBACK;
