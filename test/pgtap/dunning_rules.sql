-- Dunning decisions a credit manager signs (issue 13, "amounts are right
-- and no money is hidden"): credits are set off (a balance netting to zero
-- is not dunned, a notice states the deduction, ar.apply_open_credits and
-- the policy option apply_credits_before_run), the minimum amounts FR_STANDARD
-- ships and the minimum percentage of a level, and a broken promise to pay
-- resuming the escalation where it stood.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(56);

UPDATE ar.company SET name = 'Test SAS', iban = 'FR7630006000011234567890189';
-- every invoice is due on 31 January 2026 unless said otherwise
INSERT INTO ar.customer (code, name, email, language) VALUES
	('R-ZERO', 'Nets to zero SARL', 'zero@example.com', 'fr'),
	('R-CRED', 'Credit note SA', 'cred@example.com', 'fr'),
	('R-OVER', 'Overpaid SAS', 'over@example.com', 'fr'),
	('R-OVER2', 'Partly prepaid Ltd', 'over2@example.com', 'en'),
	('R-CUR', 'Two currencies SA', 'cur@example.com', 'fr'),
	('R-NETMIN', 'Nets below the minimum SA', 'netmin@example.com', 'fr'),
	('R-CENT', 'One cent SA', 'cent@example.com', 'fr'),
	('R-TEN', 'Ten euros SA', 'ten@example.com', 'fr'),
	('R-ELEVEN', 'Ten euros one SA', 'eleven@example.com', 'fr'),
	('R-FORTY', 'Forty euros SA', 'forty@example.com', 'fr'),
	('R-SIXTY', 'Sixty euros SA', 'sixty@example.com', 'fr'),
	('R-PCT', 'Small overdue share SA', 'pct@example.com', 'fr'),
	('R-PCT2', 'Large overdue share SA', 'pct2@example.com', 'fr'),
	('R-PROM', 'Broken promise SA', 'prom@example.com', 'fr'),
	('R-KEPT', 'Kept promise SA', 'kept@example.com', 'fr'),
	('R-AUTO', 'Automatic set-off SA', 'auto@example.com', 'fr');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, v.number, v.issued::date, v.due::date, v.amount, v.currency
  FROM ar.customer c
  JOIN (VALUES ('R-ZERO', 'RZ-1', '2026-01-01', '2026-01-31', 100.00, 'EUR'),
               ('R-ZERO', 'RZ-AV', '2026-01-10', '2026-01-10', -100.00, 'EUR'),
               ('R-CRED', 'RC-1', '2026-01-01', '2026-01-31', 300.00, 'EUR'),
               ('R-CRED', 'RC-AV', '2026-01-10', '2026-01-10', -100.00, 'EUR'),
               ('R-OVER', 'RO-1', '2026-01-01', '2026-01-31', 100.00, 'EUR'),
               ('R-OVER2', 'RO2-1', '2026-01-01', '2026-01-31', 100.00, 'EUR'),
               ('R-CUR', 'RU-1', '2026-01-01', '2026-01-31', 100.00, 'EUR'),
               ('R-CUR', 'RU-AV', '2026-01-10', '2026-01-10', -100.00, 'USD'),
               ('R-NETMIN', 'RN-1', '2026-01-01', '2026-01-31', 105.00, 'EUR'),
               ('R-NETMIN', 'RN-AV', '2026-01-10', '2026-01-10', -100.00, 'EUR'),
               ('R-CENT', 'R1C-1', '2026-01-01', '2026-01-31', 0.01, 'EUR'),
               ('R-TEN', 'R10-1', '2026-01-01', '2026-01-31', 10.00, 'EUR'),
               ('R-ELEVEN', 'R11-1', '2026-01-01', '2026-01-31', 10.01, 'EUR'),
               ('R-FORTY', 'R40-1', '2026-01-01', '2026-01-31', 40.00, 'EUR'),
               ('R-SIXTY', 'R60-1', '2026-01-01', '2026-01-31', 60.00, 'EUR'),
               ('R-PCT', 'RP-1', '2026-01-01', '2026-01-31', 100.00, 'EUR'),
               ('R-PCT', 'RP-2', '2026-01-01', '2026-06-30', 1000.00, 'EUR'),
               ('R-PCT2', 'RP2-1', '2026-01-01', '2026-01-31', 600.00, 'EUR'),
               ('R-PCT2', 'RP2-2', '2026-01-01', '2026-06-30', 400.00, 'EUR'),
               ('R-PROM', 'RPR-1', '2026-01-01', '2026-01-31', 500.00, 'EUR'),
               ('R-KEPT', 'RK-1', '2026-01-01', '2026-01-31', 500.00, 'EUR'),
               ('R-AUTO', 'RA-1', '2026-01-01', '2026-01-31', 100.00, 'EUR'),
               ('R-AUTO', 'RA-2', '2026-01-20', '2026-03-10', 100.00, 'EUR'),
               ('R-AUTO', 'RA-AV', '2026-01-20', '2026-01-20', -100.00, 'EUR'))
       v(code, number, issued, due, amount, currency) ON v.code = c.code;
-- unapplied customer credit: R-OVER paid a (now paid) invoice twice,
-- R-OVER2 has a credit of 40 granted
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'RO-0', '2025-12-01', '2025-12-31', 100.00 FROM ar.customer WHERE code = 'R-OVER';
SELECT lives_ok($$SELECT ar.record_payment('RO-0', 200.00, '2026-01-05')$$, 'an overpayment becomes customer credit');
INSERT INTO ar.customer_credit (customer_id, amount, source, created_on, note)
SELECT id, 40.00, 'manual', '2026-01-15', 'commercial gesture' FROM ar.customer WHERE code = 'R-OVER2';

-- the minimum percentage, on a policy of its own (FR_STANDARD's templates)
INSERT INTO ar.dunning_policy (code, name, fallback_language, templates_from)
SELECT 'PCT_TEST', 'Minimum percentage', 'en', id FROM ar.dunning_policy WHERE code = 'FR_STANDARD';
INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel, min_amount, min_percent)
SELECT p.id, v.level, v.name, v.offset_days, 'email', 10, v.pct
  FROM ar.dunning_policy p, (VALUES (1, 'first reminder', 3, 0), (2, 'second reminder', 15, 50)) v(level, name, offset_days, pct)
 WHERE p.code = 'PCT_TEST';
DO $$ BEGIN PERFORM ar.set_dunning_policy(id, 'PCT_TEST') FROM ar.customer WHERE code IN ('R-PCT', 'R-PCT2'); END $$;
-- automatic set-off before each run, on a copy of FR_STANDARD
INSERT INTO ar.dunning_policy (code, name, fallback_language, templates_from, apply_credits_before_run)
SELECT 'AUTO_TEST', 'Credits applied first', 'en', id, true FROM ar.dunning_policy WHERE code = 'FR_STANDARD';
INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel, min_amount, state_penalties, reply_days, delivery_days)
SELECT a.id, l.level, l.name, l.offset_days, l.channel, l.min_amount, l.state_penalties, l.reply_days, l.delivery_days
  FROM ar.dunning_level l JOIN ar.dunning_policy f ON f.id = l.policy_id AND f.code = 'FR_STANDARD'
 CROSS JOIN ar.dunning_policy a WHERE a.code = 'AUTO_TEST';
DO $$ BEGIN PERFORM ar.set_dunning_policy(id, 'AUTO_TEST') FROM ar.customer WHERE code = 'R-AUTO'; END $$;
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;

-- ------------------------------------------------------------ shipped minimums
SELECT is((SELECT array_agg(l.min_amount ORDER BY l.level) FROM ar.dunning_level l
             JOIN ar.dunning_policy p ON p.id = l.policy_id WHERE p.code = 'FR_STANDARD'),
          ARRAY[10, 10, 10, 10, 50, 50]::numeric[],
          'FR_STANDARD ships minimum amounts: 10 for the reminders, 50 from the formal notice on');
SELECT is((SELECT count(*) FROM ar.dunning_level l JOIN ar.dunning_policy p ON p.id = l.policy_id
            WHERE p.code = 'FR_STANDARD' AND l.min_percent <> 0)::int, 0,
          'and no minimum percentage (0: none)');
SELECT throws_ok($$UPDATE ar.dunning_level SET min_percent = 101 WHERE level = 1
                    AND policy_id = (SELECT id FROM ar.dunning_policy WHERE code = 'PCT_TEST')$$,
                 '23514', NULL, 'a minimum percentage is between 0 and 100');

-- ------------------------------------------------------------ the timeline
-- a dry run first on the first date: nothing is allocated by it
CREATE TEMP TABLE rr_dry AS SELECT * FROM ar.run_dunning('2026-02-03', true);
SELECT is((SELECT count(*) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id WHERE i.number LIKE 'RA-%')::int, 0,
          'a dry run allocates no credit, even under apply_credits_before_run');
CREATE TEMP TABLE rr_notice AS SELECT * FROM ar.run_dunning('2026-02-03');
SELECT is_empty($$SELECT customer_id, level, amount_due, credits_set_off, body FROM rr_dry
                  EXCEPT SELECT customer_id, level, amount_due, credits_set_off, body FROM rr_notice
                   WHERE customer_id <> (SELECT id FROM ar.customer WHERE code = 'R-AUTO')$$,
                'the dry run announced what the run queued (set-offs included)');
INSERT INTO rr_notice SELECT * FROM ar.run_dunning('2026-02-16');
INSERT INTO rr_notice SELECT * FROM ar.run_dunning('2026-03-02');
-- R-PROM promises on 5 March to pay everything by 20 March; R-KEPT too, and pays
SELECT ok(ar.promise_to_pay(i.id, '2026-03-20', 500.00, '2026-03-05') IS NOT NULL, 'a promise to pay is recorded')
  FROM ar.invoice i WHERE i.number = 'RPR-1';
DO $$ BEGIN PERFORM ar.promise_to_pay(i.id, '2026-03-20', 500.00, '2026-03-05') FROM ar.invoice i WHERE i.number = 'RK-1'; END $$;
INSERT INTO rr_notice SELECT * FROM ar.run_dunning('2026-03-17');
DO $$ BEGIN PERFORM ar.record_payment('RK-1', 500.00, '2026-03-18'); END $$;
INSERT INTO rr_notice SELECT * FROM ar.run_dunning('2026-03-25');
INSERT INTO rr_notice SELECT * FROM ar.run_dunning('2026-04-01');
CREATE TEMP VIEW rr AS
SELECT c.code, n.* FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id;

-- ------------------------------------------------------------ credits set off
SELECT is((SELECT count(*) FROM rr WHERE code = 'R-ZERO')::int, 0,
          'an invoice of 100 and an unlinked credit note of -100: no notice on any run date');
SELECT is((SELECT count(*) FROM rr WHERE code = 'R-OVER')::int, 0,
          'an invoice covered by unapplied customer credit (an overpayment): no notice');
SELECT is((SELECT count(*) FROM rr WHERE code = 'R-NETMIN')::int, 0,
          'a net balance of 5 (105 less a credit note of 100), under the minimum of 10: no notice');
SELECT results_eq($$SELECT level, amount_due, credits_set_off FROM rr WHERE code = 'R-CRED' ORDER BY as_of$$,
                  $$VALUES (1, 200.00, 100.00), (2, 200.00, 100.00), (3, 200.00, 100.00), (4, 200.00, 100.00),
                           (5, 200.00, 100.00)$$,
                  'an open credit note is set off: each notice claims 200 of the 300 listed, stating 100 deducted');
SELECT ok((SELECT body FROM rr WHERE code = 'R-CRED' AND level = 1)
          ~ E'RC-1 [^\\n]*300,00.EUR[^\\n]*\\nAvoirs et paiements non affectés : -100,00.EUR\\n\\nMontant restant dû : 200,00.EUR',
          'the letter lists the invoice, then the deduction "avoirs et paiements non affectés", then what is left due');
SELECT ok((SELECT body FROM rr WHERE code = 'R-CRED' AND level = 3)
          ~ E'Principal restant dû : 200,00.EUR' AND (SELECT body FROM rr WHERE code = 'R-CRED' AND level = 3)
          ~ E'Total dû : ', 'a final reminder claims the net principal');
SELECT is((SELECT n.penalties + n.amount_due FROM rr n WHERE code = 'R-CRED' AND level = 3),
          (SELECT sum((ar.invoice_penalty(i.id, '2026-03-02')).total) + 200.00 FROM ar.invoice i WHERE i.number = 'RC-1'),
          'penalties still run on the invoice itself; the total due is the net principal plus them');
SELECT ok((SELECT body FROM rr WHERE code = 'R-CRED' AND level = 3)
          ~ ('Total dû : ' || replace(ar.format_money((SELECT n.penalties + 200.00 FROM rr n WHERE code = 'R-CRED' AND level = 3),
                                                      'EUR', 'fr'), ' ', '.')),
          'and the letter''s total due is that sum');
SELECT results_eq($$SELECT level, amount_due, credits_set_off FROM rr WHERE code = 'R-OVER2' AND level = 1$$,
                  $$VALUES (1, 60.00, 40.00)$$, 'unapplied customer credit is set off too');
SELECT ok((SELECT body FROM rr WHERE code = 'R-OVER2' AND level = 1)
          ~ E'\\nCredit notes and unapplied payments: -40.00 EUR\\n\\nAmount outstanding: 60.00 EUR',
          'in English: "Credit notes and unapplied payments"');
SELECT results_eq($$SELECT level, amount_due, credits_set_off FROM rr WHERE code = 'R-CUR' AND level = 1$$,
                  $$VALUES (1, 100.00, 0.00)$$, 'a credit note in another currency is not set off');
SELECT is((SELECT count(*) FROM rr WHERE credits_set_off = 0 AND body ~ 'non affectés|unapplied payments')::int, 0,
          'no deduction line on a notice without credits');
SELECT is_empty($$SELECT n.id FROM ar.dunning_notice n
                   WHERE n.amount_due + n.credits_set_off <> (SELECT sum(ar._open_on(u.id, n.as_of)) FROM unnest(n.invoice_ids) u(id))
                      OR n.credits_set_off < 0 OR n.amount_due <= 0$$,
                'every notice: amount_due + credits_set_off = the open amounts it lists, amount_due positive');
SELECT is((SELECT sum(amount_due) FROM ar.dunning_summary WHERE as_of = '2026-02-03'),
          (SELECT sum(amount_due) FROM ar.dunning_notice WHERE as_of = '2026-02-03'),
          'ar.dunning_summary sums what the notices claim');

-- ------------------------------------------------------------ minimums
SELECT is((SELECT count(*) FROM rr WHERE code = 'R-CENT')::int, 0, 'a balance of 0.01 never triggers a reminder');
SELECT is((SELECT count(*) FROM rr WHERE code = 'R-TEN')::int, 0, 'nor one at the minimum (10.00): at or below, nothing');
SELECT is((SELECT array_agg(level ORDER BY as_of) FROM rr WHERE code = 'R-ELEVEN'), ARRAY[1, 2, 3],
          '10.01 is reminded, up to the final reminder (the formal notice needs 50)');
SELECT is((SELECT array_agg(level ORDER BY as_of) FROM rr WHERE code = 'R-FORTY'), ARRAY[1, 2, 3],
          '40.00 stays at the final reminder: no formal notice, no legal handoff');
SELECT is((SELECT level FROM ar.dunning_account a JOIN ar.customer c ON c.id = a.customer_id WHERE c.code = 'R-FORTY'), 3,
          'its account stays at level 3');
SELECT is((SELECT array_agg(level ORDER BY as_of) FROM rr WHERE code = 'R-SIXTY'), ARRAY[1, 2, 3, 4, 5],
          '60.00 goes all the way');
SELECT is((SELECT array_agg(level ORDER BY as_of) FROM rr WHERE code = 'R-PCT'), ARRAY[1],
          'minimum percentage: 100 overdue of 1,100 open (9 %) does not reach the 50 % of level 2: it stays at level 1');
SELECT is((SELECT array_agg(level ORDER BY as_of) FROM rr WHERE code = 'R-PCT2'), ARRAY[1, 2],
          '600 overdue of 1,000 open (60 %) does');
SELECT is(ar._account_balance_on((SELECT id FROM ar.customer WHERE code = 'R-OVER2'), 'EUR', '2026-02-03'), 60.00,
          'the base of the percentage: open items less unapplied customer credit');

-- ------------------------------------------------------------ promises
SELECT results_eq($$SELECT as_of, level FROM rr WHERE code = 'R-PROM' ORDER BY as_of$$,
                  $$VALUES ('2026-02-03'::date, 1), ('2026-02-16', 2), ('2026-03-02', 3), ('2026-03-25', 4), ('2026-04-01', 5)$$,
                  'a broken promise resumes the escalation where it stood: formal notice after the final reminder, not a first reminder');
SELECT is((SELECT count(DISTINCT cycle) FROM rr WHERE code = 'R-PROM')::int, 1, 'in the same cycle');
SELECT is((SELECT p.status FROM ar.payment_promise p JOIN ar.invoice i ON i.id = p.invoice_id WHERE i.number = 'RPR-1'),
          'broken', 'the promise was found broken');
SELECT is((SELECT count(*) FROM ar.communication m JOIN ar.customer c ON c.id = m.customer_id
            WHERE c.code = 'R-PROM' AND m.kind = 'cycle_closed')::int, 0,
          'no cycle was closed while the promise ran');
SELECT is((SELECT count(*) FROM ar.communication m JOIN ar.customer c ON c.id = m.customer_id
            WHERE c.code = 'R-KEPT' AND m.kind = 'cycle_closed' AND m.as_of = '2026-03-25')::int, 1,
          'a kept promise (the invoice paid) closes the cycle once paid');
SELECT is((SELECT level FROM ar.dunning_account a JOIN ar.customer c ON c.id = a.customer_id WHERE c.code = 'R-KEPT'), NULL::integer,
          'and the account starts afresh');

-- ------------------------------------------------------------ apply_credits_before_run
SELECT results_eq($$SELECT i.number, a.amount, a.allocated_on, a.method FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
                     WHERE i.number LIKE 'RA-%' ORDER BY a.id$$,
                  $$VALUES ('RA-1', 100.00, '2026-02-03'::date, 'credit_note'), ('RA-AV', -100.00, '2026-02-03', 'credit_note')$$,
                  'apply_credits_before_run: the first real run set the credit note off against the oldest invoice');
SELECT results_eq($$SELECT as_of, level, amount_due, credits_set_off, invoice_ids FROM rr WHERE code = 'R-AUTO' ORDER BY as_of$$,
                  $$SELECT v.as_of, v.level, 100.00, 0.00, ARRAY[i.id] FROM ar.invoice i,
                           (VALUES ('2026-03-17'::date, 1), ('2026-03-25', 2)) v(as_of, level) WHERE i.number = 'RA-2'$$,
                  'then only the later invoice is reminded, from the first level, when it is late');
SELECT is((SELECT count(*) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
            WHERE i.number IN ('RZ-1', 'RC-1', 'RO-1'))::int, 0,
          'the policies without the option allocate nothing');

-- ------------------------------------------------------------ reports
SELECT results_eq($$SELECT customer_code, currency, total, credit_notes, unapplied_credit, net_balance
                      FROM ar.aging_report('2026-04-01') WHERE customer_code IN ('R-ZERO', 'R-OVER', 'R-OVER2', 'R-CUR', 'R-CRED')$$,
                  $$VALUES ('R-CRED', 'EUR'::char(3), 200.00, -100.00, 0.00, 200.00),
                           ('R-CUR', 'EUR', 100.00, 0.00, 0.00, 100.00), ('R-CUR', 'USD', -100.00, -100.00, 0.00, -100.00),
                           ('R-OVER', 'EUR', 100.00, 0.00, 100.00, 0.00), ('R-OVER2', 'EUR', 100.00, 0.00, 40.00, 60.00),
                           ('R-ZERO', 'EUR', 0.00, -100.00, 0.00, 0.00)$$,
                  'ar.aging_report shows open credit notes, unapplied customer credit and the net balance');
SELECT is((SELECT document_type FROM ar.receivables WHERE number = 'RZ-AV'), 'credit_note',
          'ar.receivables tells credit notes from invoices');
SELECT results_eq($$SELECT kind, number, available FROM ar.open_credits('2026-04-01')
                     WHERE customer_id = (SELECT id FROM ar.customer WHERE code = 'R-OVER') OR number = 'RZ-AV' ORDER BY kind$$,
                  $$VALUES ('credit_note', 'RZ-AV', 100.00), ('customer_credit', NULL, 100.00)$$,
                  'ar.open_credits lists each credit available');

-- ------------------------------------------------------------ ar.apply_open_credits
INSERT INTO ar.company (code, name) VALUES ('OTHER', 'Other company');
INSERT INTO ar.customer (code, name) VALUES ('R-APPLY', 'Set-off SA'), ('R-NEIGHBOUR', 'Neighbour SA');
INSERT INTO ar.customer (company_id, code, name) SELECT id, 'R-APPLY', 'Set-off SA (other company)' FROM ar.company WHERE code = 'OTHER';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, v.number, v.issued::date, v.due::date, v.amount, v.currency
  FROM ar.customer c
  JOIN (VALUES ('R-APPLY', 'AP-0', '2025-11-01', '2025-11-30', 80.00, 'EUR'),
               ('R-APPLY', 'AP-1', '2025-12-01', '2025-12-31', 100.00, 'EUR'),
               ('R-APPLY', 'AP-2', '2026-01-01', '2026-01-31', 100.00, 'EUR'),
               ('R-APPLY', 'AP-3', '2026-01-01', '2026-01-31', 50.00, 'USD'),
               ('R-APPLY', 'AP-AV1', '2026-02-01', '2026-02-01', -120.00, 'EUR'),
               ('R-APPLY', 'AP-AV2', '2026-02-10', '2026-02-10', -30.00, 'USD'),
               ('R-APPLY', 'AP-AV9', '2026-05-01', '2026-05-01', -500.00, 'EUR'),
               ('R-NEIGHBOUR', 'AP-N', '2026-02-01', '2026-02-01', -1000.00, 'EUR'))
       v(code, number, issued, due, amount, currency) ON v.code = c.code
 WHERE c.company_id = ar.default_company();
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT c.company_id, c.id, 'AP-X', '2026-02-01', '2026-02-01', -1000.00
  FROM ar.customer c JOIN ar.company co ON co.id = c.company_id WHERE co.code = 'OTHER';
INSERT INTO ar.customer_credit (customer_id, amount, source, created_on)
SELECT id, 50.00, 'manual', '2026-02-05' FROM ar.customer WHERE code = 'R-APPLY' AND company_id = ar.default_company();
DO $$ BEGIN PERFORM ar.open_dispute(id, 'goods returned') FROM ar.invoice WHERE number = 'AP-0'; END $$;
CREATE TEMP TABLE rr_applied AS
SELECT a.*, i.number FROM ar.apply_open_credits((SELECT id FROM ar.customer WHERE code = 'R-APPLY' AND company_id = ar.default_company()),
                                                '2026-04-15') a
  JOIN ar.invoice i ON i.id = a.invoice_id;
SELECT results_eq($$SELECT number, amount, method FROM rr_applied ORDER BY id$$,
                  $$VALUES ('AP-1', 100.00, 'credit_note'), ('AP-AV1', -100.00, 'credit_note'),
                           ('AP-2', 20.00, 'credit_note'), ('AP-AV1', -20.00, 'credit_note'),
                           ('AP-2', 50.00, 'credit'),
                           ('AP-3', 30.00, 'credit_note'), ('AP-AV2', -30.00, 'credit_note')$$,
                  'apply_open_credits: the oldest credits to the oldest invoices, each currency apart');
SELECT results_eq($$SELECT number, open_amount FROM ar.invoice WHERE number LIKE 'AP-%' ORDER BY number$$,
                  $$VALUES ('AP-0', 80.00), ('AP-1', 0.00), ('AP-2', 30.00), ('AP-3', 20.00), ('AP-AV1', 0.00),
                           ('AP-AV2', 0.00), ('AP-AV9', -500.00), ('AP-N', -1000.00), ('AP-X', -1000.00)$$,
                  'the disputed invoice, a credit note issued after the date and the credits of another customer or company are left alone');
SELECT is((SELECT count(*) FROM rr_applied WHERE allocated_on <> '2026-04-15' OR company_id <> ar.default_company())::int, 0,
          'allocations dated as_of, in the customer''s company');
SELECT is((SELECT remaining FROM ar.customer_credit cc JOIN ar.customer c ON c.id = cc.customer_id WHERE c.code = 'R-APPLY'), 0.00,
          'the customer credit is used up');
SELECT is_empty('SELECT * FROM ar.check_ledger()', 'the ledger agrees with itself');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'allocation' AND row_id IN (SELECT id FROM rr_applied))::int,
          7, 'every allocation is in the audit trail');
SELECT is((SELECT count(*) FROM ar.customer_timeline t WHERE t.customer_code = 'R-APPLY' AND t.kind = 'credits_applied'
              AND t.summary = 'Open credits set off: 170.00 EUR, 30.00 USD against 3 invoice(s)')::int,
          1, 'and in the customer''s timeline');
SELECT is((SELECT count(*) FROM ar.apply_open_credits((SELECT id FROM ar.customer WHERE code = 'R-APPLY' AND company_id = ar.default_company()),
                                                      '2026-04-15'))::int,
          0, 'a second call finds nothing left to set off');
SELECT throws_ok($$SELECT * FROM ar.apply_open_credits(-1)$$, 'P0002', 'customer -1 does not exist', 'an unknown customer is an error');
SELECT throws_ok($$SELECT * FROM ar.apply_open_credits((SELECT min(id) FROM ar.customer), 'infinity')$$, '22023', NULL,
                 'so is an infinite date');
CREATE ROLE rr_collector IN ROLE ar_collector;
SELECT ar.grant_company_access('rr_collector', 'DEFAULT', 'collector');
SELECT c.id AS rr_other FROM ar.customer c JOIN ar.company co ON co.id = c.company_id WHERE co.code = 'OTHER' \gset
SET LOCAL ROLE rr_collector;
SELECT lives_ok($$SELECT * FROM ar.apply_open_credits((SELECT id FROM ar.customer WHERE code = 'R-NEIGHBOUR'))$$,
                'a collector of the company may apply open credits');
SELECT throws_ok(format('SELECT * FROM ar.apply_open_credits(%s)', :rr_other), '42501', NULL,
                 'not for a customer of a company it does not act for');
RESET ROLE;
SET LOCAL ROLE ar_reader;
SELECT throws_ok($$SELECT * FROM ar.apply_open_credits((SELECT id FROM ar.customer WHERE code = 'R-NEIGHBOUR'))$$, '42501', NULL,
                 'a reader may not');
SELECT lives_ok($$SELECT * FROM ar.open_credit_items$$, 'a reader reads the open credits');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
