-- pgTAP: the collector's work list (issue 16, item 1) and disputes
-- (item 2).  Customers assigned to collectors (admins only, audited,
-- company-checked); settings and their defaults; every kind of task on a
-- fixed date with its exact amount, reason and priority order; a kept
-- promise or a newer one ends a task; each collector sees its own rows in
-- ar.worklist_today, an admin the unassigned ones too, another company's
-- roles nothing of this one; a reader reads it all.  Disputes: classified
-- (checked), aged by category with the cash they block.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(63);

CREATE ROLE wl_alice IN ROLE ar_collector;
CREATE ROLE wl_bob IN ROLE ar_collector;
CREATE ROLE wl_admin IN ROLE ar_admin;
CREATE ROLE wl_reader IN ROLE ar_reader;
CREATE ROLE wl_other IN ROLE ar_collector;
CREATE ROLE wl_stranger IN ROLE ar_collector;
CREATE ROLE wl_plain;
INSERT INTO ar.company (code, name) VALUES ('WL_B', 'Company B');
SELECT ar.grant_company_access('wl_alice', 'DEFAULT', 'collector');
SELECT ar.grant_company_access('wl_bob', 'DEFAULT', 'collector');
SELECT ar.grant_company_access('wl_admin', 'DEFAULT', 'admin');
SELECT ar.grant_company_access('wl_reader', 'DEFAULT', 'reader');
SELECT ar.grant_company_access('wl_other', 'WL_B', 'collector');

INSERT INTO ar.customer (company_id, code, name, credit_limit)
SELECT co.id, v.code, v.name, v.credit_limit
  FROM (VALUES ('DEFAULT', 'A', 'Alpha', 900), ('DEFAULT', 'B', 'Beta', NULL), ('DEFAULT', 'C', 'Gamma', 5500),
               ('DEFAULT', 'D', 'Delta', NULL), ('DEFAULT', 'E', 'Epsilon', NULL), ('WL_B', 'X', 'Xi', NULL))
       v(company, code, name, credit_limit)
  JOIN ar.company co ON co.code = v.company;
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT c.company_id, c.id, v.number, v.issued::date, v.due::date, v.amount
  FROM (VALUES ('A', 'A-1', '2026-01-01', '2026-01-31', 800.00), ('A', 'A-2', '2026-02-01', '2026-03-03', 400.00),
               ('B', 'B-1', '2026-01-01', '2026-01-31', 300.00), ('B', 'B-2', '2026-02-01', '2026-02-25', 12000.00),
               ('B', 'B-3', '2026-02-01', '2026-02-26', 11000.00),
               ('C', 'C-1', '2026-01-01', '2026-01-15', 4600.00), ('C', 'C-2', '2025-12-01', '2026-01-10', 500.00),
               ('D', 'D-1', '2025-12-01', '2026-01-01', 2000.00), ('E', 'E-1', '2025-12-20', '2026-01-20', 700.00),
               ('X', 'X-1', '2026-01-01', '2026-01-31', 1000.00)) v(code, number, issued, due, amount)
  JOIN ar.customer c ON c.code = v.code;
CREATE FUNCTION pg_temp.inv(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.invoice WHERE number = n $$;
CREATE FUNCTION pg_temp.cust(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.customer WHERE code = n $$;
SELECT pg_temp.cust('A') AS c_a, pg_temp.cust('B') AS c_b, pg_temp.cust('C') AS c_c, pg_temp.cust('D') AS c_d,
       pg_temp.cust('E') AS c_e, pg_temp.cust('X') AS c_x \gset
-- A-1: 200 paid, a promise of 500 by 2026-02-20 broken (300 missing)
SELECT ar.record_payment('A-1', 200.00, '2026-02-15');
SELECT ar.promise_to_pay(pg_temp.inv('A-1'), '2026-02-20', 500.00, '2026-02-10') AS promise_a \gset
SELECT ar.promise_to_pay(pg_temp.inv('B-1'), '2026-03-01', 300.00, '2026-02-10') AS promise_b \gset
SELECT ar.promise_to_pay(pg_temp.inv('X-1'), '2026-02-15', 1000.00, '2026-02-01');
SELECT ar.create_payment_plan(pg_temp.cust('B'), ARRAY[pg_temp.inv('B-2')], ARRAY['2026-02-20', '2026-03-20']::date[]) AS plan_b \gset
SELECT ar.open_dispute(pg_temp.inv('C-1'), 'wrong price', '2026-01-20') AS dispute_c1 \gset
SELECT ar.open_dispute(pg_temp.inv('C-2'), 'never delivered', '2026-01-25') AS dispute_c2 \gset
-- D: a legal handoff task queued; E: an e-mail reminder bounced
CREATE FUNCTION pg_temp.notice(customer text, level integer, level_name text, channel text, as_of date, numbers text[])
RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO ar.dunning_notice (customer_id, level, level_name, channel, body, invoice_ids, amount_due, as_of, company_id,
	                              currency, policy_id, cycle, language)
	SELECT c.id, level, level_name, channel, 'text', array_agg(i.id ORDER BY i.id), sum(i.open_amount), as_of, c.company_id,
	       'EUR', (SELECT id FROM ar.dunning_policy WHERE code = 'FR_STANDARD'), 1, 'en'
	  FROM ar.customer c JOIN ar.invoice i ON i.customer_id = c.id AND i.number = ANY (numbers)
	 WHERE c.code = customer
	 GROUP BY c.id, c.company_id
	RETURNING id
$$;
SELECT pg_temp.notice('D', 5, 'legal handoff (injonction de payer)', 'task', '2026-02-28', '{D-1}') AS notice_d \gset
SELECT pg_temp.notice('E', 1, 'first reminder', 'email', '2026-02-01', '{E-1}') AS notice_e \gset
SELECT ar.mark_notice(:notice_e, 'failed', NULL, '550 mailbox unknown');

-- ------------------------------------------------------------ schema
SELECT col_type_is('ar', 'customer', 'collector', 'name', 'ar.customer.collector is a role name');
SELECT is((SELECT attname FROM pg_attribute WHERE attrelid = 'ar.customer'::regclass AND attnum > 0 AND NOT attisdropped
            ORDER BY attnum DESC LIMIT 1), 'collector'::name, 'and its last column');
SELECT results_eq($$SELECT attname::text COLLATE "default" FROM pg_attribute WHERE attrelid = 'ar.dispute'::regclass AND attnum > 0
                     AND NOT attisdropped ORDER BY attnum DESC LIMIT 3$$,
	$$VALUES ('due_on'), ('owner'), ('category')$$, 'ar.dispute ends with category, owner, due_on');

-- ---------------------------------------------------------- settings
INSERT INTO ar.collection_settings (company_id) SELECT id FROM ar.company WHERE code = 'WL_B';
SELECT results_eq(
	$$SELECT dispute_waiting_days, large_overdue_amount, large_overdue_lookback_days, credit_alert_percent,
	         order_block_overdue_days, configured FROM ar.collection_settings_effective ORDER BY company_code$$,
	$$VALUES (30, 10000::numeric, 7, 90::numeric, 60, false), (30, 10000::numeric, 7, 90::numeric, 60, true)$$,
	'without a row, the effective settings are the table''s defaults');
SELECT throws_ok($$UPDATE ar.collection_settings SET large_overdue_amount = 0.001$$, '22023', NULL,
	'a threshold beyond the cent is refused');
SELECT throws_ok($$UPDATE ar.collection_settings SET credit_alert_percent = 120$$, '23514', NULL,
	'an alert percentage over 100 is refused');
SELECT throws_ok($$UPDATE ar.collection_settings SET dispute_waiting_days = -1$$, '23514', NULL,
	'negative waiting days are refused');
DELETE FROM ar.collection_settings;

-- ------------------------------------------------------- collectors
SET LOCAL ROLE wl_admin;
SELECT lives_ok(format($$SELECT ar.assign_collector(%s, 'wl_alice'), ar.assign_collector(%s, 'wl_alice'),
                               ar.assign_collector(%s, 'wl_bob'), ar.assign_collector(%s, 'wl_bob'),
                               ar.assign_collector(%s, 'wl_bob')$$,
                        :c_a, :c_d, :c_b, :c_e, :c_c),
	'an admin assigns customers to collectors');
SELECT lives_ok(format($$SELECT ar.assign_collector(%s, NULL)$$, :c_c), 'and unassigns one');
SELECT throws_ok(format($$SELECT ar.assign_collector(%s, 'wl_nobody_at_all')$$, :c_a), '42704', NULL,
	'a role that does not exist is refused');
SELECT throws_ok(format($$SELECT ar.assign_collector(%s, 'wl_other')$$, :c_a), '22023', NULL,
	'a role that does not collect for the customer''s company is refused');
SELECT throws_ok(format($$SELECT ar.assign_collector(%s, 'wl_plain')$$, :c_a), '22023', NULL,
	'so is a role that is no collector at all');
SELECT throws_ok(format($$SELECT ar.assign_collector(%s, 'wl_admin')$$, :c_x), '42501', NULL,
	'an admin of another company cannot assign its customers');
RESET ROLE;
SELECT ar.assign_collector(pg_temp.cust('X'), 'wl_other');
SET LOCAL ROLE wl_alice;
SELECT throws_ok(format($$SELECT ar.assign_collector(%s, 'wl_alice')$$, :c_b), '42501', NULL,
	'a collector does not assign customers');
RESET ROLE;
SELECT results_eq($$SELECT code, collector::text COLLATE "default" FROM ar.customer ORDER BY code$$,
	$$VALUES ('A', 'wl_alice'), ('B', 'wl_bob'), ('C', NULL), ('D', 'wl_alice'), ('E', 'wl_bob'), ('X', 'wl_other')$$,
	'the assignments are stored');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'customer' AND operation = 'UPDATE'
            AND new_row ->> 'code' = 'C'), 2::bigint, 'each change is in the audit trail (C assigned, then unassigned)');
SELECT results_eq($$SELECT summary FROM ar.communication WHERE kind = 'collector' AND customer_id = pg_temp.cust('C') ORDER BY id$$,
	$$VALUES ('Collector wl_bob assigned'), ('Collector wl_bob unassigned')$$, 'and in the customer''s timeline');
SELECT throws_ok($$UPDATE ar.customer SET collector = E'wl\nx' WHERE code = 'A'$$, '22023', NULL,
	'a collector name with a control character is refused');

-- ------------------------------------------------------- disputes
SELECT throws_ok(format($$SELECT ar.classify_dispute(%s, 'colour')$$, :dispute_c1), '22023', NULL, 'an unknown category is refused');
SELECT throws_ok(format($$SELECT ar.classify_dispute(%s, NULL)$$, :dispute_c1), '22023', NULL, 'a category is required');
SELECT throws_ok(format($$SELECT ar.classify_dispute(%s, 'price', 'wl_nobody_at_all')$$, :dispute_c1), '42704', NULL,
	'an owner that is no role is refused');
SELECT throws_ok(format($$SELECT ar.classify_dispute(%s, 'price', NULL, '2026-01-01')$$, :dispute_c1), '22023', NULL,
	'a follow-up before the dispute was opened is refused');
SELECT throws_ok(format($$SELECT ar.classify_dispute(%s, 'price', NULL, '9999-01-01')$$, :dispute_c1), '22008', NULL,
	'a follow-up date beyond the bounds is refused');
SELECT throws_ok($$SELECT ar.classify_dispute(-1, 'price')$$, 'P0002', NULL, 'an unknown dispute is reported');
SET LOCAL ROLE wl_other;
SELECT throws_ok(format($$SELECT ar.classify_dispute(%s, 'price')$$, :dispute_c1), '42501', NULL,
	'a collector of another company cannot classify it');
RESET ROLE;
SET LOCAL ROLE wl_alice;
SELECT lives_ok(format($$SELECT ar.classify_dispute(%s, 'price', 'wl_bob', '2026-02-15')$$, :dispute_c1),
	'a collector of its company classifies it, with an owner and a follow-up date');
RESET ROLE;
SELECT results_eq(format($$SELECT category, owner::text COLLATE "default", due_on FROM ar.dispute WHERE id = %s$$, :dispute_c1),
	$$VALUES ('price', 'wl_bob', '2026-02-15'::date)$$, 'the classification is stored');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'dispute' AND operation = 'UPDATE'), 1::bigint,
	'audited');
SELECT is((SELECT summary FROM ar.communication WHERE kind = 'dispute_classified'),
	'Dispute on invoice C-1 classified: price, owner wl_bob, follow-up due on 2026-02-15', 'and in the timeline');
SELECT throws_ok($$UPDATE ar.dispute SET category = 'mood'$$, '23514', NULL, 'the category is checked on the table too');
SELECT results_eq($$SELECT category, age_bucket, disputes, customers, blocked_amount, oldest_days, follow_up_overdue, without_owner
                      FROM ar.dispute_aging_on('2026-03-01')$$,
	$$VALUES ('price', 'd31_60', 1::bigint, 1::bigint, 4600.00, 40, 1::bigint, 0::bigint),
	         ('unclassified', 'd31_60', 1::bigint, 1::bigint, 500.00, 35, 0::bigint, 1::bigint)$$,
	'dispute aging on 2026-03-01: by category and age, with the open amount they block');
SELECT ar.record_payment('C-1', 1000.00, '2026-02-20');
SELECT results_eq($$SELECT category, age_bucket, blocked_amount FROM ar.dispute_aging_on('2026-04-10')$$,
	$$VALUES ('price', 'd61_90', 3600.00), ('unclassified', 'd61_90', 500.00)$$,
	'a partial payment reduces the blocked amount; buckets move with the date');
SELECT is((SELECT count(*) FROM ar.dispute_aging_on('2026-01-22')), 1::bigint, 'a dispute opened later is not in an earlier date''s aging');
SELECT ok((SELECT count(*) FROM ar.dispute_aging) = 2 AND (SELECT sum(blocked_amount) FROM ar.dispute_aging) = 4100.00,
	'ar.dispute_aging is today''s');

-- ------------------------------------------------------- the list
SELECT results_eq($$SELECT company_code, customer_code, assigned_to::text COLLATE "default", kind, priority, amount, since, related_table, related_id
                      FROM ar.worklist('2026-03-01')$$,
	format($$VALUES ('DEFAULT', 'B', 'wl_bob', 'plan_missed', 1, 6000.00, '2026-02-20'::date, 'payment_plan', %s::bigint),
	                ('WL_B', 'X', 'wl_other', 'promise_broken', 1, 1000.00, '2026-02-15', 'payment_promise',
	                 (SELECT id FROM ar.payment_promise WHERE invoice_id = pg_temp.inv('X-1'))),
	                ('DEFAULT', 'A', 'wl_alice', 'promise_broken', 1, 300.00, '2026-02-20', 'payment_promise', %s),
	                ('DEFAULT', 'D', 'wl_alice', 'call', 2, 2000.00, '2026-02-28', 'dunning_notice', %s),
	                ('DEFAULT', 'E', 'wl_bob', 'notice_bounced', 2, 700.00, '2026-02-01', 'dunning_notice', %s),
	                ('DEFAULT', 'B', 'wl_bob', 'promise_due', 2, 300.00, '2026-03-01', 'payment_promise', %s),
	                ('DEFAULT', 'A', 'wl_alice', 'credit_limit', 2, 100.00, NULL, 'customer', pg_temp.cust('A')),
	                ('DEFAULT', 'B', 'wl_bob', 'large_overdue', 3, 11000.00, '2026-02-26', 'invoice', pg_temp.inv('B-3')),
	                ('DEFAULT', 'C', NULL, 'dispute_follow_up', 3, 3600.00, '2026-01-20', 'dispute', %s),
	                ('DEFAULT', 'C', NULL, 'dispute_waiting', 4, 500.00, '2026-01-25', 'dispute', %s)$$,
	       :plan_b, :promise_a, :notice_d, :notice_e, :promise_b, :dispute_c1, :dispute_c2),
	'the work list of 2026-03-01: every kind of task with the amount at stake, most urgent first');
SELECT results_eq($$SELECT kind, reason FROM ar.worklist('2026-03-01') WHERE customer_code IN ('A', 'C', 'E') ORDER BY kind$$,
	$$VALUES ('credit_limit', 'Exposure 1,000.00 EUR over the credit limit 900.00 EUR by 100.00 EUR'),
	         ('dispute_follow_up', 'Dispute (price) on invoice C-1 open for 40 days, follow-up due on 2026-02-15: wrong price'),
	         ('dispute_waiting', 'Dispute (unclassified) on invoice C-2 open for 35 days (more than 30): never delivered'),
	         ('notice_bounced', 'Email of level 1 (first reminder) of 2026-02-01 not delivered: 550 mailbox unknown'),
	         ('promise_broken', 'Promise to pay 500.00 EUR on invoice A-1 by 2026-02-20 not kept: 300.00 EUR still missing')$$,
	'each task says why');
SELECT is((SELECT next_action FROM ar.worklist('2026-03-01') WHERE kind = 'dispute_follow_up'),
	'Ask wl_bob for the resolution, then resolve it (ar.resolve_dispute)', 'and what to do next');
SELECT is((SELECT next_action FROM ar.worklist('2026-03-01') WHERE kind = 'call'),
	format('Call the customer and act as the level says (legal handoff (injonction de payer)), then mark the task done: ar.mark_notice(%s, ''sent'')', :notice_d),
	'a call names its notice');
SELECT results_eq($$SELECT customer_code, kind FROM ar.worklist('2026-03-01', 'wl_alice')$$,
	$$VALUES ('A', 'promise_broken'), ('D', 'call'), ('A', 'credit_limit')$$, 'one collector''s list');
SELECT is((SELECT count(*) FROM ar.worklist('2026-03-01', company => (SELECT id FROM ar.company WHERE code = 'WL_B'))),
	1::bigint, 'one company''s list');
SELECT is((SELECT count(*) FROM ar.worklist('2026-01-15')), 0::bigint, 'nothing to do six weeks earlier');
-- settings move the thresholds
INSERT INTO ar.collection_settings (company_id, dispute_waiting_days, large_overdue_amount)
VALUES (ar.default_company(), 40, 11000.01);
SELECT results_eq($$SELECT kind FROM ar.worklist('2026-03-01') WHERE customer_code IN ('B', 'C') ORDER BY kind$$,
	$$VALUES ('dispute_follow_up'), ('plan_missed'), ('promise_due')$$,
	'a higher threshold and a longer wait take the large overdue and the waiting dispute off the list');
DELETE FROM ar.collection_settings;
-- tasks end: paid, a newer promise, a notice sent again, a task done
SELECT ar.record_payment('A-1', 300.00, '2026-02-27');
SELECT ar.promise_to_pay(pg_temp.inv('B-1'), '2026-03-15', 300.00, '2026-03-01');
SELECT pg_temp.notice('E', 1, 'first reminder', 'letter', '2026-02-20', '{E-1}');
SELECT ar.mark_notice(:notice_d, 'sent');
SELECT results_eq($$SELECT customer_code, kind FROM ar.worklist('2026-03-01') WHERE company_code = 'DEFAULT'$$,
	$$VALUES ('B', 'plan_missed'), ('B', 'large_overdue'), ('C', 'dispute_follow_up'), ('C', 'dispute_waiting')$$,
	'a promise paid, a newer promise, a notice sent again and a task marked done leave the list (with the excess over the limit)');
SELECT results_eq($$SELECT kind FROM ar.worklist('2026-03-16', 'wl_bob')$$,
	$$VALUES ('plan_missed'), ('promise_broken')$$,
	'the newer promise, unpaid after its date, is broken in turn');

-- ------------------------------------------------ who sees what
CREATE TEMP TABLE today AS SELECT * FROM ar.worklist(current_date);
GRANT SELECT ON today TO PUBLIC;
SET LOCAL ROLE wl_alice;
SELECT set_eq($$SELECT kind, related_id FROM ar.worklist_today$$,
	$$SELECT kind, related_id FROM today WHERE assigned_to = 'wl_alice'$$, 'a collector''s worklist_today: its own tasks');
SELECT is((SELECT count(*) FROM ar.worklist_today WHERE assigned_to IS DISTINCT FROM 'wl_alice'), 0::bigint,
	'and no one else''s');
SELECT is((SELECT count(*) FROM ar.worklist('2026-03-01') WHERE company_code = 'WL_B'), 0::bigint,
	'another company''s tasks are invisible to it in ar.worklist');
RESET ROLE;
SET LOCAL ROLE wl_bob;
SELECT set_eq($$SELECT kind, related_id FROM ar.worklist_today$$,
	$$SELECT kind, related_id FROM today WHERE assigned_to = 'wl_bob'$$, 'another collector''s: its own');
SELECT ok((SELECT count(*) FROM ar.worklist_today WHERE kind = 'plan_missed') = 1, 'the plan still behind schedule is one of them');
RESET ROLE;
SET LOCAL ROLE wl_admin;
SELECT set_eq($$SELECT kind, related_id FROM ar.worklist_today$$,
	$$SELECT kind, related_id FROM today WHERE assigned_to IS NULL AND company_code = 'DEFAULT'$$,
	'an admin''s worklist_today: the unassigned tasks of its company, to dispatch');
SELECT results_eq($$SELECT DISTINCT customer_code, kind FROM ar.worklist_today ORDER BY 1, 2$$,
	$$VALUES ('C', 'dispute_follow_up'), ('C', 'dispute_waiting')$$, 'the disputes of the unassigned customer');
RESET ROLE;
SET LOCAL ROLE wl_other;
SELECT results_eq($$SELECT customer_code, kind FROM ar.worklist('2026-03-01')$$, $$VALUES ('X', 'promise_broken')$$,
	'a collector of another company sees its own company''s tasks only');
SELECT set_eq($$SELECT kind, related_id FROM ar.worklist_today$$,
	$$SELECT kind, related_id FROM today WHERE assigned_to = 'wl_other'$$, 'and its own in worklist_today');
RESET ROLE;
SET LOCAL ROLE wl_reader;
SELECT results_eq($$SELECT kind, related_id, amount FROM ar.worklist('2026-03-01')$$,
	format($$VALUES ('plan_missed', %s::bigint, 6000.00), ('large_overdue', %s, 11000.00),
	                ('dispute_follow_up', %s, 3600.00), ('dispute_waiting', %s, 500.00)$$,
	       :plan_b, (SELECT id FROM ar.invoice WHERE number = 'B-3'), :dispute_c1, :dispute_c2),
	'a reader reads the whole list of its company (payment plans, notices, disputes)');
SELECT lives_ok($$SELECT * FROM ar.dispute_aging$$, 'and the dispute aging');
SELECT results_eq(format($$SELECT seq, state FROM ar.payment_plan_schedule(%s, '2026-03-01')$$, :plan_b),
	$$VALUES (1, 'missed'), (2, 'due')$$, 'and a payment plan''s schedule');
SELECT is((SELECT count(*) FROM ar.worklist_today), 0::bigint, 'a reader assigned nothing has nothing to do today');
SELECT throws_ok(format($$SELECT ar.classify_dispute(%s, 'other')$$, :dispute_c2), '42501', NULL, 'nor classifies disputes');
RESET ROLE;
SET LOCAL ROLE wl_stranger;
SELECT is((SELECT count(*) FROM ar.worklist('2026-03-01')), 0::bigint, 'a collector of no company sees no task');
RESET ROLE;
SET LOCAL ROLE wl_plain;
SELECT throws_ok($$SELECT * FROM ar.worklist('2026-03-01')$$, '42501', NULL, 'a role without ar_reader cannot call it');
SELECT throws_ok($$SELECT * FROM ar.worklist_today$$, '42501', NULL, 'nor read worklist_today');
RESET ROLE;

-- a dispute of an invoice paid since blocks no cash: no task, still in the aging
SELECT ar.record_payment('C-2', 500.00, '2026-02-25');
SELECT results_eq($$SELECT kind FROM ar.worklist('2026-03-01') WHERE customer_code = 'C'$$, $$VALUES ('dispute_follow_up')$$,
	'a dispute of an invoice paid since is no task');
SELECT results_eq($$SELECT category, disputes, blocked_amount FROM ar.dispute_aging_on('2026-03-01') WHERE category = 'unclassified'$$,
	$$VALUES ('unclassified', 1::bigint, 0.00)$$, 'but stays in the aging, blocking nothing, until resolved');

SELECT * FROM finish();
ROLLBACK;
