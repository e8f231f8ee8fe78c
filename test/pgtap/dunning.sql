-- Dunning: invariants of the escalation rule and of the outbox over a random
-- half-year (random invoices, payments, disputes, promises, blocks, failed
-- deliveries), run day by day: idempotency per date and from the data, dry
-- runs equal to real ones, every notice checked against the rule; then the
-- worker's SQL side, roles, audit and pg_dump registration.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(57);

-- ------------------------------------------------------------ a random half-year
SELECT setseed(0.31);
UPDATE ar.company SET name = 'Test SAS', iban = 'FR7630006000011234567890189';
INSERT INTO ar.customer (code, name, email, language, segment)
SELECT 'TD' || g, 'Customer ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || g || '@example.com' END,
       (ARRAY['fr', 'en', 'de'])[1 + g % 3], (ARRAY[NULL, 'punctual', 'occasional_late', 'chronic_late', 'high_risk'])[1 + g % 5]
  FROM generate_series(1, 40) g;
-- 300 invoices due from January to June, 3 % in USD
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, 'TDI-' || d.g, d.due - 30, d.due, d.amount, CASE WHEN d.g % 33 = 0 THEN 'USD' ELSE 'EUR' END
  FROM (SELECT g, DATE '2026-01-10' + floor(random() * 160)::integer AS due,
               round((50 + random() * 4950)::numeric, 2) AS amount
          FROM generate_series(1, 300) g) d
  JOIN ar.customer c ON c.code = 'TD' || (1 + d.g % 40);
-- events on random days: payments (some partial), disputes opened and
-- resolved, promises, blocks, and failed or cancelled deliveries
CREATE TEMP TABLE td_event (on_date date, what text);
INSERT INTO td_event
SELECT d.on_date, format('SELECT ar.record_payment(%L, %s, %L)', d.number,
                         CASE WHEN d.r < 0.3 THEN round(d.amount / 2, 2) ELSE d.amount END, d.on_date)
  FROM (SELECT i.number, i.amount, i.due_date + floor(random() * 70)::integer - 10 AS on_date, random() AS r
          FROM ar.invoice i WHERE i.number LIKE 'TDI-%' AND random() < 0.6) d;
INSERT INTO td_event
SELECT i.due_date + 5, format('SELECT ar.open_dispute(%s, %L, %L)', i.id, 'random dispute', i.due_date + 5)
  FROM ar.invoice i WHERE i.number LIKE 'TDI-%' AND i.id % 11 = 0;
INSERT INTO td_event
SELECT i.due_date + 40, format('SELECT ar.resolve_dispute(%s, %L, %L)', i.id, 'resolved', i.due_date + 40)
  FROM ar.invoice i WHERE i.number LIKE 'TDI-%' AND i.id % 22 = 0;
INSERT INTO td_event
SELECT i.due_date + 10, format('SELECT ar.promise_to_pay(%s, %L, %s, %L)', i.id, i.due_date + 25, round(i.amount / 3, 2), i.due_date + 10)
  FROM ar.invoice i WHERE i.number LIKE 'TDI-%' AND i.id % 13 = 0;
INSERT INTO td_event
SELECT DATE '2026-03-01', format('SELECT ar.block_dunning(%s, %L, %L, %L)', c.id, DATE '2026-04-15', 'random block', DATE '2026-03-01')
  FROM ar.customer c WHERE c.code IN ('TD3', 'TD17', 'TD29');
-- the sender reports some deliveries as failed, others as cancelled
INSERT INTO td_event
SELECT d, format($q$SELECT ar.mark_notice(n.id, %L, NULL, 'random') FROM ar.dunning_notice n
                   WHERE n.as_of = %L AND n.status = 'queued' AND n.id %% 5 = %s$q$,
                 CASE WHEN extract(day FROM d)::int % 2 = 0 THEN 'failed' ELSE 'cancelled' END, d - 1, extract(day FROM d)::int % 5)
  FROM (SELECT d::date AS d FROM generate_series(DATE '2026-01-15', DATE '2026-06-10', interval '9 days') d) g;

-- the run of each day; every fifth day, a dry run first, kept to compare
-- (the USD invoices draw a warning: FR_LME has no fixed fee in USD)
SET client_min_messages = error;
CREATE TEMP TABLE td_dry AS SELECT * FROM ar.dunning_notice WITH NO DATA;
CREATE TEMP TABLE td_again (as_of date, queued bigint);
DO $$
DECLARE
	day date;
	e record;
BEGIN
	FOR day IN SELECT d::date FROM generate_series(DATE '2026-01-01', DATE '2026-06-19', interval '1 day') d LOOP
		FOR e IN SELECT * FROM td_event WHERE on_date = day LOOP
			BEGIN
				EXECUTE e.what;
			EXCEPTION WHEN others THEN
				NULL;   -- a random event that does not apply (invoice already paid, already disputed...)
			END;
		END LOOP;
		IF extract(day FROM day)::int % 5 = 0 THEN
			INSERT INTO td_dry SELECT * FROM ar.run_dunning(day, true);
		END IF;
		PERFORM ar.run_dunning(day);
		INSERT INTO td_again SELECT day, count(*) FROM ar.run_dunning(day);
	END LOOP;
END $$;

RESET client_min_messages;
SELECT cmp_ok((SELECT count(*) FROM ar.dunning_notice)::int, '>', 150, 'the half-year queued notices');
SELECT cmp_ok((SELECT count(DISTINCT level) FROM ar.dunning_notice)::int, '=', 6, 'of every level');
SELECT cmp_ok((SELECT count(*) FROM ar.dunning_notice WHERE status IN ('failed', 'cancelled'))::int, '>', 0,
              'some deliveries failed or were cancelled');
SELECT is((SELECT count(*) FROM ar.dunning_run)::int, 170, 'one run per day');

-- idempotency
SELECT is((SELECT sum(queued) FROM td_again)::int, 0, 'running a date again queues nothing');
SELECT is((SELECT count(*) FROM (SELECT 1 FROM ar.dunning_notice GROUP BY customer_id, currency, as_of HAVING count(*) > 1) d)::int,
          0, 'at most one notice per account and run date');
SELECT is((SELECT count(*) FROM (SELECT 1 FROM ar.dunning_notice WHERE status IN ('queued', 'sent')
                                  GROUP BY customer_id, currency, cycle, level HAVING count(*) > 1) d)::int,
          0, 'at most one live notice per account, cycle and level');
DELETE FROM ar.dunning_run;
SELECT is((SELECT count(*) FROM generate_series(DATE '2026-01-01', DATE '2026-06-19', interval '1 day') d,
                                 ar.run_dunning(d::date))::int,
          0, 'without the run registry, the data alone queues nothing twice');
-- a dry run shows exactly what the run then queued
SELECT is((SELECT count(*) FROM td_dry)::int,
          (SELECT count(*) FROM ar.dunning_notice n WHERE extract(day FROM n.as_of)::int % 5 = 0)::int,
          'dry runs announced as many notices as the runs queued');
SELECT is_empty($$SELECT customer_id, currency, as_of, level, channel, invoice_ids, amount_due, penalties, subject, body, recipient
                    FROM td_dry
                  EXCEPT
                  SELECT customer_id, currency, as_of, level, channel, invoice_ids, amount_due, penalties, subject, body, recipient
                    FROM ar.dunning_notice$$, 'and the same ones, rendered the same');
-- the letters are stored compressed (ar._compress_letter, LZ4 where the
-- server has it); the comparison above read them back as the dry runs
-- rendered them
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))
            THEN is((SELECT count(*) FROM ar.dunning_notice
                      WHERE octet_length(body) >= 256 AND pg_column_compression(body) IS DISTINCT FROM 'lz4')::int,
                    0, 'letters are stored compressed')
            ELSE skip('the server has no LZ4: letters are stored as PostgreSQL stores them') END;

-- the rule, notice by notice
CREATE TEMP TABLE td_live AS
SELECT n.*, lag(n.level) OVER w AS prev_level, lag(n.as_of) OVER w AS prev_as_of,
       lag(n.as_of) OVER (PARTITION BY n.customer_id, n.currency ORDER BY n.as_of) AS prev_any_cycle,
       row_number() OVER w AS nth
  FROM ar.dunning_notice n WHERE n.status IN ('queued', 'sent')
WINDOW w AS (PARTITION BY n.customer_id, n.currency, n.cycle ORDER BY n.as_of);
SELECT is_empty('SELECT id FROM td_live WHERE nth > 1 AND level <> prev_level + 1',
                'within a cycle, each notice is one level above the previous one: no level is skipped');
SELECT is_empty('SELECT id FROM td_live WHERE nth = 1 AND level > 1',
                'a cycle starts at level 0 or 1');
SELECT is_empty('SELECT id FROM td_live WHERE nth > 1 AND level = 0', 'level 0 only opens a cycle');
SELECT is_empty('SELECT id FROM td_live WHERE prev_any_cycle > as_of - 7',
                'an account is reminded at most once in 7 days, across cycles');
SELECT is_empty($$SELECT f.id FROM ar.dunning_notice f
                  CROSS JOIN LATERAL (SELECT n.level FROM ar.dunning_notice n
                                       WHERE n.customer_id = f.customer_id AND n.currency = f.currency AND n.cycle = f.cycle
                                         AND n.as_of > f.as_of AND n.status IN ('queued', 'sent')
                                       ORDER BY n.as_of LIMIT 1) next
                 WHERE f.status IN ('failed', 'cancelled') AND next.level <> f.level$$,
                'after a failed or cancelled notice, the next one of its cycle repeats its level');
SELECT cmp_ok((SELECT count(*) FROM ar.dunning_notice n
                WHERE n.status IN ('queued', 'sent')
                  AND EXISTS (SELECT 1 FROM ar.dunning_notice f
                               WHERE f.customer_id = n.customer_id AND f.currency = n.currency AND f.cycle = n.cycle
                                 AND f.level = n.level AND f.status IN ('failed', 'cancelled') AND f.as_of < n.as_of))::int,
              '>', 0, 'retries of failed levels happened');
-- what notices list
CREATE TEMP TABLE td_listed AS
SELECT n.id AS notice_id, n.customer_id, n.as_of, n.level, i.id, i.issue_date, i.due_date, i.customer_id AS invoice_customer_id,
       ar._open_on(i.id, n.as_of) AS open_on
  FROM ar.dunning_notice n CROSS JOIN LATERAL unnest(n.invoice_ids) u(id) JOIN ar.invoice i ON i.id = u.id;
SELECT is_empty('SELECT notice_id FROM td_listed WHERE open_on <= 0 OR issue_date > as_of',
                'notices list only invoices issued and open on their run date');
SELECT is_empty('SELECT notice_id FROM td_listed WHERE customer_id <> invoice_customer_id',
                'each notice lists invoices of its customer only');
SELECT is_empty($$SELECT l.notice_id FROM td_listed l JOIN ar.dispute d ON d.invoice_id = l.id
                   WHERE (d.opened_on IS NULL OR d.opened_on <= l.as_of)
                     AND (d.resolved_at IS NULL OR (d.resolved_on IS NOT NULL AND l.as_of < d.resolved_on))$$,
                'no notice lists an invoice disputed on its run date');
SELECT is_empty($$SELECT l.notice_id FROM td_listed l JOIN ar.payment_promise p ON p.invoice_id = l.id
                   WHERE (p.made_on IS NULL OR p.made_on <= l.as_of) AND l.as_of <= p.promised_on$$,
                'no notice lists an invoice under a promise on its run date');
SELECT is_empty($$SELECT n.id FROM ar.dunning_notice n JOIN ar.dunning_block b ON b.customer_id = n.customer_id
                   WHERE b.from_on <= n.as_of AND n.as_of < b.until$$,
                'no notice for a customer blocked on its run date');
SELECT is_empty($$SELECT notice_id FROM td_listed l
                   WHERE l.level >= 1 AND l.as_of - l.due_date < 3$$,
                'a reminder lists only invoices that reached level 1 (3 days late)');
SELECT is_empty($$SELECT notice_id FROM td_listed l
                   WHERE l.level = 0 AND (l.as_of - l.due_date < -5 OR l.as_of - l.due_date >= 3)$$,
                'a courtesy reminder lists only invoices that reached level 0 and not level 1');
SELECT is_empty($$SELECT n.id FROM ar.dunning_notice n JOIN ar.dunning_level l ON l.policy_id = n.policy_id AND l.level = n.level
                   WHERE l.offset_days > (SELECT max(n.as_of - i.due_date) FROM unnest(n.invoice_ids) u(id) JOIN ar.invoice i ON i.id = u.id)$$,
                'the level of a notice was reached by one of its invoices');
SELECT is_empty($$SELECT n.id FROM ar.dunning_notice n
                   WHERE n.amount_due <> (SELECT sum(ar._open_on(u.id, n.as_of)) FROM unnest(n.invoice_ids) u(id))$$,
                'amount_due is the sum of the open amounts on the run date');
SELECT is_empty($$SELECT n.id FROM ar.dunning_notice n WHERE n.currency = 'EUR'
                   AND n.penalties IS DISTINCT FROM (SELECT sum((ar.invoice_penalty(u.id, n.as_of)).total) FROM unnest(n.invoice_ids) u(id))$$,
                'penalties are the sum of ar.invoice_penalty on the run date');
SELECT is_empty($$SELECT n.id FROM ar.dunning_notice n WHERE n.currency = 'USD' AND n.level >= 1 AND n.penalties IS NOT NULL$$,
                'an invoice the penalty engine refuses (FR_LME in USD) leaves penalties unknown, not zero');
SELECT is_empty($$SELECT n.id FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id
                   WHERE (c.email IS NULL AND n.channel = 'email') OR (n.channel = 'email' AND n.recipient IS DISTINCT FROM c.email)$$,
                'e-mails go to the customer''s address; without one, letters');
SELECT is_empty($$SELECT n.id FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id
                   WHERE n.language <> CASE WHEN c.language IN ('fr', 'en', 'de') THEN c.language ELSE 'fr' END
                      OR n.body ~ '\{\{' OR n.subject ~ '\{\{'$$,
                'letters in the customer''s language (French, English, German; else the company''s), every placeholder filled');
-- each account carries its customer's company (issue 14: the company in
-- every key, a policy without subquery)
SELECT ok((SELECT count(*) > 0 AND bool_and(a.company_id = c.company_id)
             FROM ar.dunning_account a JOIN ar.customer c ON c.id = a.customer_id),
          'every dunning account carries its customer''s company');
-- the state of each account agrees with its notices
SELECT is_empty($$SELECT a.customer_id FROM ar.dunning_account a
                   WHERE a.last_notice_on IS DISTINCT FROM (SELECT max(n.as_of) FROM ar.dunning_notice n
                                                             WHERE n.customer_id = a.customer_id AND n.currency = a.currency
                                                               AND n.status IN ('queued', 'sent'))
                      OR (a.level IS NOT NULL AND a.level IS DISTINCT FROM
                          (SELECT n.level FROM ar.dunning_notice n
                            WHERE n.customer_id = a.customer_id AND n.currency = a.currency AND n.cycle = a.cycle
                              AND n.status IN ('queued', 'sent') ORDER BY n.as_of DESC LIMIT 1))$$,
                'each account''s level and last notice date follow its notices');
SELECT is((SELECT count(*) FROM ar.customer_timeline t WHERE t.kind = 'notice_queued')::int,
          (SELECT count(*) FROM ar.dunning_notice)::int, 'every notice is in the timeline');
SELECT is((SELECT count(*) FROM ar.communication m WHERE m.kind IN ('notice_failed', 'notice_cancelled'))::int,
          (SELECT count(*) FROM ar.dunning_notice WHERE status IN ('failed', 'cancelled'))::int,
          'and every failure or cancellation');

-- ------------------------------------------------------------ penalties decided elsewhere
-- a penalty waived (ar.penalty_claim) before the run date is not claimed again
SET client_min_messages = error;
-- (the first run date after the half-year with a notice claiming penalties)
SELECT min(d)::date AS waive_on FROM generate_series(DATE '2026-06-20', DATE '2026-08-31', interval '1 day') d
 WHERE EXISTS (SELECT 1 FROM ar.run_dunning(d::date, true) n
                WHERE n.currency = 'EUR' AND n.level >= 1 AND n.penalties > 0) \gset
CREATE TEMP TABLE td_waive AS
SELECT n.customer_id, n.invoice_ids[1] AS waived, n.penalties
  FROM ar.run_dunning(:'waive_on', true) n
 WHERE n.currency = 'EUR' AND n.level >= 1 AND n.penalties > 0 ORDER BY n.customer_id LIMIT 1;
INSERT INTO ar.penalty_claim (invoice_id, decision, decided_on, reason)
SELECT waived, 'waived', '2026-06-01', 'commercial gesture' FROM td_waive;
SELECT is((SELECT n.penalties FROM ar.run_dunning(:'waive_on', true) n JOIN td_waive w USING (customer_id)),
          (SELECT w.penalties - (ar.invoice_penalty(w.waived, :'waive_on')).total FROM td_waive w WHERE w.penalties > 0),
          'a waived penalty is not claimed in later notices');
RESET client_min_messages;

-- ------------------------------------------------------------ skipped customers keep their state
-- a customer the next run would remind, put under an inactive policy
SET client_min_messages = error;
-- (the first run date after the half-year that reminds anyone)
SELECT min(d)::date AS pause_on FROM generate_series(DATE '2026-06-20', DATE '2026-08-31', interval '1 day') d
 WHERE EXISTS (SELECT 1 FROM ar.run_dunning(d::date, true)) \gset
CREATE TEMP TABLE td_pick AS
SELECT n.customer_id FROM ar.run_dunning(:'pause_on', true) n ORDER BY n.customer_id LIMIT 1;
RESET client_min_messages;
INSERT INTO ar.dunning_policy (code, name, active) VALUES ('TD_PAUSED', 'paused', false);
SELECT ar.set_dunning_policy(customer_id, 'TD_PAUSED') FROM td_pick;
CREATE TEMP TABLE td_state AS SELECT a.* FROM ar.dunning_account a JOIN td_pick p USING (customer_id);
SELECT is((SELECT count(*) FROM td_pick)::int, 1, 'a customer due for a reminder is paused');
SET client_min_messages = error;
SELECT is((SELECT count(*) FROM ar.run_dunning(:'pause_on') n JOIN td_pick p USING (customer_id))::int,
          0, 'a customer under an inactive policy is not dunned');
RESET client_min_messages;
SELECT is_empty($$SELECT * FROM td_state EXCEPT SELECT a.* FROM ar.dunning_account a$$, 'and keeps its state');

-- ------------------------------------------------------------ the caller's settings
-- a run raises work_mem for its own sorts and hashes, and turns sorting off
-- for one statement; the rows it returns are kept within the caller's
-- work_mem (here the smallest: the notices of 80 new customers spill to a
-- temporary file)
INSERT INTO ar.customer (code, name, email, language)
SELECT 'TDS' || g, 'Spill customer ' || g, 's' || g || '@example.com', 'fr' FROM generate_series(1, 80) g;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'TDS-' || c.code, DATE '2026-05-01', DATE '2026-06-01', 1200 FROM ar.customer c WHERE c.code LIKE 'TDS%';
SET client_min_messages = error;
SET work_mem = '64kB';
CREATE TEMP TABLE td_returned AS SELECT * FROM ar.run_dunning('2026-07-06');
SELECT cmp_ok((SELECT sum(pg_column_size(r.*)) FROM td_returned r)::bigint, '>', 65536::bigint,
              'the notices a run returns outgrow the caller''s work_mem');
SELECT set_eq($$SELECT id, customer_id, body, invoice_ids FROM td_returned$$,
              $$SELECT id, customer_id, body, invoice_ids FROM ar.dunning_notice WHERE as_of = '2026-07-06'$$,
              'and every notice queued is returned whole');
SELECT is(current_setting('work_mem') || ', enable_sort ' || current_setting('enable_sort'), '64kB, enable_sort on',
          'after a run, the caller''s work_mem and enable_sort are as they were');
SET enable_sort = off;
SELECT lives_ok($$SELECT count(*) FROM ar.run_dunning('2026-07-07', true)$$, 'a dry run');
SELECT is(current_setting('work_mem') || ', enable_sort ' || current_setting('enable_sort'), '64kB, enable_sort off',
          'leaves them too');
RESET enable_sort;
RESET work_mem;
RESET client_min_messages;

-- ------------------------------------------------------------ the worker's SQL side
SELECT is(ar._worker_attach(60, '06:00', true), 1::bigint, 'the first worker attaches');
INSERT INTO ar.worker_run (kind, as_of, status, pid) VALUES ('dunning', current_date, 'running', 1);
SELECT is(ar._worker_attach(60, '06:00', true), 1::bigint, 'it attaches again (same session)');
SELECT is((SELECT status || ': ' || left(error, 22) FROM ar.worker_run WHERE pid = 1), 'failed: the worker (pid 1) sto',
          'a run left running by a dead worker is marked failed');
SET LOCAL client_min_messages = error;   -- today's penalties may use rates not shipped yet
SELECT isnt(ar._worker_dunning_due('00:00'), NULL, 'after dunning_at, the day''s dunning is due');
SELECT lives_ok($$SELECT ar._worker_dunning(id) FROM ar.worker_run WHERE status = 'running' AND kind = 'dunning'$$,
                'the worker runs it');
SELECT is(ar._worker_dunning_due('00:00'), NULL, 'once a day: catching up runs today only, once');

-- reconciliation of new bank lines, when ar.reconcile(boolean) exists (a
-- stand-in when the matching engine is not installed)
DO $$
BEGIN
	IF to_regprocedure('ar.reconcile(boolean)') IS NULL THEN
		CREATE FUNCTION ar.reconcile(auto_apply boolean DEFAULT true)
		RETURNS TABLE (bank_transaction_id bigint, invoice_ids bigint[], amounts numeric[], score real, method text, applied boolean)
		LANGUAGE sql AS $f$ SELECT t.id, NULL::bigint[], NULL::numeric[], 0::real, 'none', false
		                      FROM ar.bank_transaction t WHERE t.status = 'unmatched' $f$;
	END IF;
END $$;
SELECT is(ar._worker_reconcile_due(), NULL, 'no new bank line: nothing to reconcile');
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES (current_date, 123.45, 'unknown payer');
SELECT lives_ok($$SELECT ar._worker_reconcile(ar._worker_reconcile_due())$$, 'a new bank line is reconciled by the worker');
SELECT is(ar._worker_reconcile_due(), NULL, 'and only once');

-- ------------------------------------------------------------ roles, audit, dump
SET LOCAL ROLE ar_reader;
SELECT throws_ok($$SELECT ar.run_dunning('2026-09-02')$$, '42501', NULL, 'a reader cannot run dunning');
RESET ROLE;
SET LOCAL ROLE ar_collector;
SELECT lives_ok($$SELECT ar.mark_notice(id, 'sent', 'msg-1') FROM ar.dunning_notice WHERE status = 'queued' ORDER BY id LIMIT 1$$,
                'a collector reports deliveries');
SELECT throws_ok($$UPDATE ar.dunning_notice SET status = 'sent'$$, '42501', NULL, 'but cannot write the outbox directly');
RESET ROLE;
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SELECT cmp_ok((SELECT count(*) FROM ar.audit_log WHERE table_name IN ('dispute', 'payment_promise', 'dunning_block', 'dunning_notice'))::int,
              '>', 0, 'disputes, promises, blocks and deliveries are in the audit trail');
SELECT is((SELECT count(*) FROM unnest(ARRAY['ar.dunning_notice', 'ar.communication', 'ar.dispute', 'ar.payment_promise',
                                               'ar.payment_plan', 'ar.payment_plan_invoice', 'ar.payment_plan_instalment',
                                               'ar.dunning_block', 'ar.dunning_account', 'ar.dunning_run', 'ar.dunning_policy',
                                               'ar.dunning_level', 'ar.dunning_template', 'ar.dunning_segment_policy',
                                               'ar.customer_dunning_policy']::regclass[]) t
            WHERE t::oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'ar_collect')::oid[]))::int,
          15, 'the records and configuration of collections are kept by pg_dump');

SELECT * FROM finish();
ROLLBACK;
