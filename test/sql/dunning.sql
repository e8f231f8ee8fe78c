-- Dunning: January to June 2026, run day by day, with the exact sequence of
-- notices the escalation rule of doc/contract.md gives (checked against an
-- independent simulation of the rule), every exclusion, the letters in
-- French and English, the communications timeline, idempotency, and the
-- errors of the calls.
-- ar.run_dunning looks at every customer of its database, so the scenario
-- runs in a database of its own, whatever the other tests leave behind.
\set VERBOSITY terse
SELECT current_database() AS regress_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS ar_dunning_regress;
RESET client_min_messages;
CREATE DATABASE ar_dunning_regress;
\c ar_dunning_regress
SET datestyle = ISO;
SET client_min_messages = warning;
CREATE EXTENSION ar_collect;
RESET client_min_messages;
UPDATE ar.company SET name = 'Fournitures Dupont SAS', iban = 'FR7630006000011234567890189';

-- ----------------------------------------------------------------- the scenario shipped
SELECT p.code, p.is_default, p.active, p.min_days_between, p.fallback_language, l.level, l.name, l.offset_days,
       l.channel, l.state_penalties, l.reply_days, l.delivery_days
  FROM ar.dunning_policy p JOIN ar.dunning_level l ON l.policy_id = p.id ORDER BY l.level;
SELECT t.level, t.language, coalesce(t.segment, '-') AS segment, t.subject,
       ar.template_placeholders(t.subject || t.body) AS placeholders
  FROM ar.dunning_template t ORDER BY t.level, t.language, t.segment NULLS FIRST;

-- configuration is validated: unknown placeholders, levels that skip, offsets out of order
INSERT INTO ar.dunning_template (policy_id, level, language, subject, body)
SELECT id, 1, 'de', 'Mahnung', 'Sehr geehrte {{kunde}}, {{amount_due}}' FROM ar.dunning_policy WHERE code = 'FR_STANDARD';
BEGIN;
INSERT INTO ar.dunning_policy (code, name) VALUES ('BROKEN', 'levels 1 and 3');
INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel)
SELECT id, l, 'level ' || l, 10 * l, 'email' FROM ar.dunning_policy, unnest(ARRAY[1, 3]) l WHERE code = 'BROKEN';
COMMIT;
BEGIN;
INSERT INTO ar.dunning_policy (code, name) VALUES ('BROKEN', 'offsets out of order');
INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel)
SELECT id, l, 'level ' || l, 20 - 5 * l, 'email' FROM ar.dunning_policy, unnest(ARRAY[1, 2]) l WHERE code = 'BROKEN';
COMMIT;
BEGIN;
INSERT INTO ar.dunning_policy (code, name) VALUES ('BROKEN', 'no template');
INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel)
SELECT id, 1, 'first', 3, 'email' FROM ar.dunning_policy WHERE code = 'BROKEN';
COMMIT;

-- A faster policy of our own for high-risk customers: three levels, the
-- last two only from 100 EUR, 5 days between notices, its own templates in
-- French only (so English customers get French: its fallback language).
BEGIN;
INSERT INTO ar.dunning_policy (code, name, min_days_between, fallback_language)
VALUES ('DN_FAST', 'Relances accélérées', 5, 'fr');
INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel, min_amount, state_penalties, reply_days)
SELECT p.id, v.level, v.name, v.offset_days, v.channel, v.min_amount, v.state_penalties, v.reply_days
  FROM ar.dunning_policy p,
       (VALUES (1, 'relance', 1, 'email', 0, false, 8),
               (2, 'dernière relance', 8, 'letter', 100, true, 5),
               (3, 'mise en demeure', 15, 'registered_letter', 100, true, 8)) v(level, name, offset_days, channel, min_amount, state_penalties, reply_days)
 WHERE p.code = 'DN_FAST';
INSERT INTO ar.dunning_template (policy_id, level, language, subject, body)
SELECT p.id, l.level, 'fr', 'Relance accélérée n° {{level}} ({{customer_code}})',
       E'{{level_name}} du {{as_of}} : {{amount_due}} dus, pénalités {{penalties}}, à régler avant le {{reply_by}}.\n{{invoice_table}}'
  FROM ar.dunning_policy p JOIN ar.dunning_level l ON l.policy_id = p.id WHERE p.code = 'DN_FAST';
COMMIT;
INSERT INTO ar.dunning_segment_policy (segment, policy_id) SELECT 'high_risk', id FROM ar.dunning_policy WHERE code = 'DN_FAST';

-- ----------------------------------------------------------------- customers and invoices
INSERT INTO ar.customer (code, name, email, language, segment) VALUES
	('DN-TIMELINE', 'Boulangerie Martin SARL', 'compta@martin.example', 'fr', NULL),
	('DN-ENGLISH', 'Acme Trading Ltd', 'accounts@acme.example', 'en', NULL),
	('DN-NOMAIL', 'Menuiserie Petit', NULL, 'fr', NULL),
	('DN-DISPUTE', 'Garage Durand', 'garage@durand.example', 'fr', NULL),
	('DN-PROMISE', 'Imprimerie Leroy', 'leroy@imprimerie.example', 'fr', NULL),
	('DN-PLAN', 'Transports Moreau', 'moreau@transports.example', 'fr', NULL),
	('DN-BLOCK', 'Groupe Fontaine', 'fontaine@groupe.example', 'fr', NULL),
	('DN-FAILED', 'Cabinet Roux', 'roux@invalide.example', 'fr', NULL),
	('DN-PUNCTUAL', 'Pharmacie Blanc', 'blanc@pharmacie.example', 'fr', 'punctual'),
	('DN-CREDIT', 'Optique Girard', 'girard@optique.example', 'fr', NULL),
	('DN-MULTI', 'Brasserie Lambert', 'lambert@brasserie.example', 'fr', NULL),
	('DN-FAST', 'Négoce Perrin', 'perrin@negoce.example', 'fr', NULL),
	('DN-RISK', 'Quick Build Ltd', 'ap@quickbuild.example', 'en', 'high_risk');
SELECT ar.set_dunning_policy(id, 'DN_FAST') FROM ar.customer WHERE code = 'DN-FAST';

INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, v.number, v.issue_date::date, v.due_date::date, v.amount, v.currency
  FROM (VALUES ('DN-TIMELINE', 'DN-A1', '2026-01-02', '2026-02-01', 1200.00, 'EUR'),
               ('DN-TIMELINE', 'DN-A2', '2026-01-20', '2026-02-19', 300.50, 'EUR'),
               ('DN-TIMELINE', 'DN-A3', '2026-05-20', '2026-06-05', 800.00, 'EUR'),
               ('DN-ENGLISH', 'DN-B1', '2026-02-01', '2026-03-03', 2500.00, 'EUR'),
               ('DN-NOMAIL', 'DN-C1', '2026-03-01', '2026-03-31', 640.00, 'EUR'),
               ('DN-DISPUTE', 'DN-D1', '2026-01-10', '2026-02-09', 450.00, 'EUR'),
               ('DN-DISPUTE', 'DN-D2', '2026-01-10', '2026-02-09', 150.00, 'EUR'),
               ('DN-PROMISE', 'DN-E1', '2026-01-15', '2026-02-14', 1000.00, 'EUR'),
               ('DN-PLAN', 'DN-F1', '2026-01-05', '2026-02-04', 600.00, 'EUR'),
               ('DN-PLAN', 'DN-F2', '2026-01-05', '2026-02-04', 300.00, 'EUR'),
               ('DN-BLOCK', 'DN-G1', '2026-01-05', '2026-02-04', 2000.00, 'EUR'),
               ('DN-FAILED', 'DN-H1', '2026-01-10', '2026-02-09', 700.00, 'EUR'),
               ('DN-PUNCTUAL', 'DN-I1', '2026-02-01', '2026-03-03', 900.00, 'EUR'),
               ('DN-CREDIT', 'DN-J1', '2026-01-02', '2026-02-01', -200.00, 'EUR'),   -- a credit note
               ('DN-CREDIT', 'DN-J2', '2026-01-02', '2026-02-01', 350.00, 'EUR'),    -- cancelled below
               ('DN-MULTI', 'DN-K1', '2026-02-01', '2026-03-01', 100.00, 'EUR'),
               ('DN-MULTI', 'DN-K2', '2026-02-01', '2026-03-01', 250.00, 'USD'),
               ('DN-FAST', 'DN-L1', '2026-03-01', '2026-03-31', 80.00, 'EUR'),
               ('DN-FAST', 'DN-L2', '2026-03-10', '2026-04-09', 50.00, 'EUR'),
               ('DN-RISK', 'DN-M1', '2026-04-01', '2026-05-01', 150.00, 'EUR'))
       v(customer, number, issue_date, due_date, amount, currency)
  JOIN ar.customer c ON c.code = v.customer;
SELECT ar.cancel_invoice(id, '2026-01-15') FROM ar.invoice WHERE number = 'DN-J2';

-- What happens on each day, before that day's run (each call with the
-- date it happened on).
CREATE TEMP TABLE dn_event (on_date date, seq serial, what text);
INSERT INTO dn_event (on_date, what) VALUES
	-- payments
	('2026-03-05', $$SELECT ar.record_payment('DN-A1', 500, '2026-03-05')$$),
	('2026-04-20', $$SELECT ar.record_payment('DN-A2', 300.50, '2026-04-20')$$),
	('2026-05-10', $$SELECT ar.record_payment('DN-A1', 700, '2026-05-10')$$),
	('2026-03-15', $$SELECT ar.record_payment('DN-D2', 150, '2026-03-15')$$),
	('2026-03-28', $$SELECT ar.record_payment('DN-E1', 1000, '2026-03-28')$$),
	('2026-02-27', $$SELECT ar.record_payment('DN-F1', 300, '2026-02-27')$$),
	('2026-03-30', $$SELECT ar.record_payment('DN-F1', 300, '2026-03-30')$$),
	('2026-03-10', $$SELECT ar.record_payment('DN-I1', 900, '2026-03-10')$$),
	('2026-03-10', $$SELECT ar.record_payment('DN-K1', 100, '2026-03-10')$$),
	('2026-03-10', $$SELECT ar.record_payment('DN-K2', 250, '2026-03-10')$$),
	-- a dispute, resolved five weeks later
	('2026-02-20', $$SELECT ar.open_dispute(id, 'Marchandise livrée endommagée', '2026-02-20') FROM ar.invoice WHERE number = 'DN-D1'$$),
	('2026-03-25', $$SELECT ar.resolve_dispute(id, 'Réclamation rejetée après expertise : la facture est due', '2026-03-25') FROM ar.invoice WHERE number = 'DN-D1'$$),
	-- a promise broken, then a promise kept
	('2026-02-20', $$SELECT ar.promise_to_pay(id, '2026-03-10', 1000, '2026-02-20') FROM ar.invoice WHERE number = 'DN-E1'$$),
	('2026-03-20', $$SELECT ar.promise_to_pay(id, '2026-03-31', 1000, '2026-03-20') FROM ar.invoice WHERE number = 'DN-E1'$$),
	-- a payment plan: two instalments paid, the third missed
	('2026-02-10', $$SELECT ar.create_payment_plan(c.id, ARRAY(SELECT id FROM ar.invoice WHERE number IN ('DN-F1', 'DN-F2') ORDER BY number),
	                                               ARRAY[DATE '2026-02-28', '2026-03-31', '2026-04-30'], NULL, '2026-02-10', 3,
	                                               'Échéancier accordé par téléphone') FROM ar.customer c WHERE c.code = 'DN-PLAN'$$),
	-- a block while a commercial negotiation goes on
	('2026-02-25', $$SELECT ar.block_dunning(id, '2026-03-20', 'Négociation commerciale en cours', '2026-02-25') FROM ar.customer WHERE code = 'DN-BLOCK'$$),
	-- deliveries reported by the sender: one failed, one cancelled, one sent with its proof
	('2026-02-13', $$SELECT ar.mark_notice(n.id, 'failed', NULL, '550 5.1.1 boîte aux lettres inexistante') FROM ar.dunning_notice n
	                 JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-FAILED' AND n.as_of = '2026-02-12'$$),
	('2026-03-12', $$SELECT ar.mark_notice(n.id, 'cancelled', NULL, 'courrier retenu par le gestionnaire') FROM ar.dunning_notice n
	                 JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-FAILED' AND n.as_of = '2026-03-11'$$),
	('2026-03-19', $$SELECT ar.mark_notice(n.id, 'sent', 'LRAR 1A 123 456 7890 1') FROM ar.dunning_notice n
	                 JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-TIMELINE' AND n.as_of = '2026-03-18'$$),
	-- a call recorded by the collector
	('2026-03-20', $$SELECT ar.log_interaction(id, 'call', 'Appel de M. Fontaine : accord trouvé, règlement sous huitaine', 'inbound', NULL,
	                                           '2026-03-20 10:30+01') FROM ar.customer WHERE code = 'DN-BLOCK'$$);

-- Five and a half months, day by day, as the worker would run them (the
-- run dates stay in the first half of 2026: FR_LME rates of H1 are known).
DO $$
DECLARE
	day date;
	e record;
BEGIN
	FOR day IN SELECT d::date FROM generate_series(DATE '2026-01-01', DATE '2026-06-19', interval '1 day') d LOOP
		FOR e IN SELECT * FROM dn_event WHERE on_date = day ORDER BY seq LOOP
			EXECUTE e.what;
		END LOOP;
		PERFORM ar.run_dunning(day);
	END LOOP;
END $$;

-- Every notice of the period: run date, account, cycle, level, channel,
-- what it lists (in due date order), the amount due and the penalties
-- accrued on the run date (FR_LME: 12.15 % a year in H1 2026, + 40 EUR per
-- late invoice), and the delivery status.
SELECT n.as_of, c.code, n.currency, n.cycle, n.level, n.channel,
       (SELECT string_agg(i.number, ',' ORDER BY u.o) FROM unnest(n.invoice_ids) WITH ORDINALITY u(id, o)
          JOIN ar.invoice i ON i.id = u.id) AS invoices,
       n.amount_due, n.penalties, n.status
  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id
 ORDER BY c.code, n.currency, n.as_of;
SELECT count(*) AS notices, count(DISTINCT customer_id) AS customers FROM ar.dunning_notice;
-- DN-CREDIT (a credit note, a cancelled invoice) was never reminded
SELECT count(*) AS credit_notices FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-CREDIT';
-- one run per day, and the state each account ends in
SELECT count(*) AS runs, min(as_of), max(as_of), sum(notices) AS notices, sum(cycles_closed) AS cycles_closed FROM ar.dunning_run;
SELECT c.code, a.currency, a.cycle, a.level, a.last_notice_on
  FROM ar.dunning_account a JOIN ar.customer c ON c.id = a.customer_id ORDER BY c.code, a.currency;
-- what became of the promises and the plan
SELECT i.number, p.promised_on, p.amount, p.status, p.settled_on
  FROM ar.payment_promise p JOIN ar.invoice i ON i.id = p.invoice_id ORDER BY p.promised_on;
SELECT p.status, p.status_on, p.total, p.grace_days FROM ar.payment_plan p;
SELECT * FROM ar.payment_plan_schedule((SELECT id FROM ar.payment_plan), '2026-06-19');

-- the amounts and penalties of each notice are those of its invoices on its
-- run date (ar.invoice_penalty refuses the USD invoice: FR_LME has no fixed
-- fee in USD; that notice states no penalties, see the warning above)
SELECT count(*) AS notices_checked,
       count(*) FILTER (WHERE n.penalties = (SELECT sum((ar.invoice_penalty(u.id, n.as_of)).total)
                                               FROM unnest(n.invoice_ids) u(id))) AS penalties_agree,
       count(*) FILTER (WHERE n.amount_due = (SELECT sum(ar._open_on(u.id, n.as_of)) FROM unnest(n.invoice_ids) u(id))) AS amounts_agree
  FROM ar.dunning_notice n WHERE n.currency = 'EUR';
SELECT n.as_of, n.level, n.penalties, n.interest, n.indemnity FROM ar.dunning_notice n WHERE n.currency = 'USD' ORDER BY n.as_of;

-- ------------------------------------------------------------------ the letters
\pset format unaligned
\pset tuples_only on
-- mise en demeure, in French, with the LME penalties and the 40 EUR indemnity
SELECT n.channel || ' | ' || n.language || ' | reply by ' || n.reply_by || E'\n' || n.subject || E'\n\n' || n.body
  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-TIMELINE' AND n.level = 4;
-- the courtesy reminder before the due date, by letter (no e-mail address)
SELECT n.channel || ' | ' || n.language || E'\n' || n.subject || E'\n\n' || n.body
  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-NOMAIL' AND n.level = 0;
-- the first reminder to a punctual customer: the segment's softer letter
SELECT n.subject || E'\n\n' || n.body
  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-PUNCTUAL' AND n.level = 1;
-- English: the first reminder and the formal notice
SELECT n.channel || ' | ' || n.language || ' | to ' || n.recipient || E'\n' || n.subject || E'\n\n' || n.body
  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-ENGLISH' AND n.level = 1;
SELECT n.channel || ' | ' || n.language || E'\n' || n.subject || E'\n\n' || n.body
  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-ENGLISH' AND n.level = 4;
-- the legal handoff, a task for the collector
SELECT n.subject || E'\n\n' || n.body
  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-TIMELINE' AND n.level = 5;
-- an English customer under DN_FAST, which has French templates only
SELECT n.language || E'\n' || n.subject || E'\n' || n.body
  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'DN-RISK' ORDER BY n.as_of;
\pset tuples_only off
\pset format aligned

-- ------------------------------------------------------------------ the timeline
SELECT t.as_of, t.kind, t.direction, t.channel, t.notice_level, t.summary, t.detail, t.proof_ref, t.actor, t.via
  FROM ar.customer_timeline t
 WHERE t.customer_code IN ('DN-DISPUTE', 'DN-PROMISE', 'DN-PLAN', 'DN-BLOCK', 'DN-FAILED')
 ORDER BY t.customer_code, t.as_of, t.notice_id NULLS FIRST, t.kind <> 'notice_queued', t.id;
SELECT t.customer_code, t.kind, t.summary, t.proof_ref
  FROM ar.customer_timeline t WHERE t.customer_code = 'DN-TIMELINE' AND t.kind IN ('notice_sent', 'cycle_closed') ORDER BY t.as_of;

-- ------------------------------------------------------------------ idempotency
-- a date already run queues nothing, a dry run of it neither
SELECT count(*) AS queued_again FROM ar.run_dunning('2026-03-18');
SELECT count(*) AS would_queue FROM ar.run_dunning('2026-03-18', true);
-- a dry run of the next date shows what it would queue, and queues nothing
SELECT c.code, n.level, n.channel, n.id IS NULL AS not_stored, n.amount_due, n.penalties, n.subject
  FROM ar.run_dunning('2026-06-20', true) n JOIN ar.customer c ON c.id = n.customer_id ORDER BY c.code;
SELECT count(*) AS notices_after_dry_run FROM ar.dunning_notice;
-- the same date for real queues the same notices
SELECT c.code, n.level, n.channel, n.status, n.amount_due, n.penalties, n.subject
  FROM ar.run_dunning('2026-06-20') n JOIN ar.customer c ON c.id = n.customer_id ORDER BY c.code;
-- without its registry row, the data alone still refuses a second notice
DELETE FROM ar.dunning_run WHERE as_of = '2026-06-20';
SELECT count(*) AS queued_without_registry FROM ar.run_dunning('2026-06-20');

-- ------------------------------------------------------------------ errors
-- the outbox keeps its notices; only delivery can change, along its paths
DELETE FROM ar.dunning_notice WHERE as_of = '2026-01-27';
UPDATE ar.dunning_notice SET amount_due = 1 WHERE as_of = '2026-01-27';
DO $$
BEGIN
	PERFORM ar.mark_notice(id, 'sent') FROM ar.dunning_notice WHERE status = 'failed';
EXCEPTION WHEN object_not_in_prerequisite_state THEN
	RAISE NOTICE 'refused: %', regexp_replace(SQLERRM, 'notice \d+', 'notice N');
END $$;
SELECT ar.mark_notice(id, 'queued') FROM ar.dunning_notice WHERE as_of = '2026-01-27';
SELECT ar.mark_notice(id, 'failed') FROM ar.dunning_notice WHERE as_of = '2026-01-27';
SELECT ar.mark_notice(-1, 'sent');
-- marking again with the status it has changes nothing
SELECT (ar.mark_notice(id, 'sent', 'LRAR 1A 123 456 7890 1')).status FROM ar.dunning_notice
 WHERE provider_ref = 'LRAR 1A 123 456 7890 1';
-- disputes, promises, plans, blocks
SELECT ar.open_dispute(id, 'again', NULL) FROM ar.invoice WHERE number = 'DN-B1';
SELECT ar.open_dispute(id, 'twice', NULL) FROM ar.invoice WHERE number = 'DN-B1';
SELECT ar.open_dispute(id, '  ') FROM ar.invoice WHERE number = 'DN-C1';
SELECT ar.open_dispute(id, 'credit note') FROM ar.invoice WHERE number = 'DN-J1';
SELECT ar.open_dispute(-1, 'nothing');
SELECT ar.resolve_dispute(id, 'nothing to resolve') FROM ar.invoice WHERE number = 'DN-C1';
SELECT number, status, disputed FROM ar.invoice WHERE number = 'DN-B1';
SELECT ar.resolve_dispute(id, 'credit note issued') FROM ar.invoice WHERE number = 'DN-B1';
SELECT number, status, disputed FROM ar.invoice WHERE number = 'DN-B1';
-- the flag set by an ERP opens and closes a dispute too
UPDATE ar.invoice SET disputed = true WHERE number = 'DN-C1';
SELECT d.reason, d.resolved_at IS NULL AS open FROM ar.dispute d JOIN ar.invoice i ON i.id = d.invoice_id WHERE i.number = 'DN-C1';
UPDATE ar.invoice SET disputed = false WHERE number = 'DN-C1';
SELECT d.resolution, d.resolved_at IS NULL AS open FROM ar.dispute d JOIN ar.invoice i ON i.id = d.invoice_id WHERE i.number = 'DN-C1';
SELECT ar.promise_to_pay(id, '2026-08-01', 5000) FROM ar.invoice WHERE number = 'DN-B1';
SELECT ar.promise_to_pay(id, '2026-08-01', 0) FROM ar.invoice WHERE number = 'DN-B1';
SELECT ar.promise_to_pay(id, NULL, 10) FROM ar.invoice WHERE number = 'DN-B1';
SELECT ar.promise_to_pay(id, '2026-08-01', 10, '2026-09-01') FROM ar.invoice WHERE number = 'DN-B1';
SELECT ar.promise_to_pay(id, '2026-08-01', 10) FROM ar.invoice WHERE number = 'DN-A1';
SELECT ar.create_payment_plan(c.id, ARRAY[i.id], ARRAY[DATE '2026-08-01', '2026-09-01'], ARRAY[100, 100])
  FROM ar.customer c, ar.invoice i WHERE c.code = 'DN-ENGLISH' AND i.number = 'DN-B1';
SELECT ar.create_payment_plan(c.id, ARRAY[i.id], ARRAY[DATE '2026-09-01', '2026-08-01'])
  FROM ar.customer c, ar.invoice i WHERE c.code = 'DN-ENGLISH' AND i.number = 'DN-B1';
SELECT ar.create_payment_plan(c.id, ARRAY[i.id], ARRAY[DATE '2026-09-01'])
  FROM ar.customer c, ar.invoice i WHERE c.code = 'DN-ENGLISH' AND i.number = 'DN-C1';
SELECT ar.create_payment_plan(c.id, ARRAY[i.id], ARRAY[DATE '2026-09-01'])
  FROM ar.customer c, ar.invoice i WHERE c.code = 'DN-ENGLISH' AND i.number = 'DN-A1';
SELECT ar.create_payment_plan(c.id, '{}', ARRAY[DATE '2026-09-01']) FROM ar.customer c WHERE c.code = 'DN-ENGLISH';
-- equal shares to the cent, the last one taking the remainder
SELECT ar.create_payment_plan(c.id, ARRAY[i.id], ARRAY[DATE '2026-08-01', '2026-09-01', '2026-10-01'])
  FROM ar.customer c, ar.invoice i WHERE c.code = 'DN-ENGLISH' AND i.number = 'DN-B1' \gset plan_
SELECT seq, due_on, amount, cumulative, may_still_owe, state FROM ar.payment_plan_schedule(:plan_create_payment_plan, '2026-07-01');
SELECT ar.create_payment_plan(c.id, ARRAY[i.id], ARRAY[DATE '2026-12-01'])
  FROM ar.customer c, ar.invoice i WHERE c.code = 'DN-ENGLISH' AND i.number = 'DN-B1';
SELECT ar.cancel_payment_plan(:plan_create_payment_plan, 'customer asked for a longer plan');
SELECT ar.cancel_payment_plan(:plan_create_payment_plan, 'twice');
SELECT ar.block_dunning(id, NULL, 'no end') FROM ar.customer WHERE code = 'DN-ENGLISH';
SELECT ar.block_dunning(id, '2026-08-01', '') FROM ar.customer WHERE code = 'DN-ENGLISH';
SELECT ar.block_dunning(id, '2026-08-01', 'backwards', '2026-09-01') FROM ar.customer WHERE code = 'DN-ENGLISH';
SELECT ar.block_dunning(-1, '2026-08-01', 'nobody');
SELECT ar.block_dunning(id, 'infinity', 'receivership: claims go to the administrator') FROM ar.customer WHERE code = 'DN-ENGLISH';
SELECT ar.unblock_dunning(id, 'receivership ended') FROM ar.customer WHERE code = 'DN-ENGLISH';
SELECT ar.log_interaction(id, 'telepathy', 'no') FROM ar.customer WHERE code = 'DN-ENGLISH';
SELECT ar.log_interaction(id, 'call', 'wrong direction', 'sideways') FROM ar.customer WHERE code = 'DN-ENGLISH';
SELECT ar.log_interaction(c.id, 'letter', 'someone else''s invoice', 'inbound', NULL, now(), i.id)
  FROM ar.customer c, ar.invoice i WHERE c.code = 'DN-ENGLISH' AND i.number = 'DN-A1';
SELECT ar.set_dunning_policy(id, 'NOPE') FROM ar.customer WHERE code = 'DN-ENGLISH';
SELECT ar.run_dunning(NULL);
SELECT ar.run_dunning('infinity');
-- the log is append-only
UPDATE ar.communication SET summary = 'rewritten' WHERE kind = 'call';
DELETE FROM ar.communication WHERE kind = 'call';
SELECT kind, direction, channel, summary FROM ar.customer_timeline
 WHERE customer_code = 'DN-ENGLISH' AND kind NOT LIKE 'notice%' ORDER BY recorded_at, id;

-- a penalty not computed for another cause than a missing rate: the
-- warning's hint names that cause (a regime with no fee in the currency)
\set VERBOSITY default
BEGIN;
INSERT INTO ar.customer (code, name, email, penalty_regime) VALUES ('DN-UK-EUR', 'UK regime in euros', 'uk@example.org', 'UK_LPA');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'DN-UK-1', '2026-01-02', '2026-02-01', 500.00 FROM ar.customer WHERE code = 'DN-UK-EUR';
SELECT count(*) AS would_queue FROM ar.run_dunning('2026-06-30', true) n JOIN ar.customer c ON c.id = n.customer_id
 WHERE c.code = 'DN-UK-EUR';
ROLLBACK;
\set VERBOSITY terse

-- the letter helpers
SELECT ar.format_money(1234567.891, 'EUR', 'fr') AS fr, ar.format_money(-0.005, 'EUR', 'en') AS en,
       ar.format_money(12, 'GBP', 'es') AS other, ar.format_money(1234.5, 'EUR', 'de') AS de, ar.format_date('2026-03-01', 'fr') AS fr_date,
       ar.format_date('2026-12-25', 'en') AS en_date;
SELECT ar.render_template('{{a}} and {{b}}, {{c}}, {{ a }}, {{{a}}}, {{', ARRAY['a', 'b'], ARRAY['1', NULL]);
SELECT ar.render_template('x', ARRAY['a'], ARRAY['1', '2']);

\c :regress_db
DROP DATABASE ar_dunning_regress;
