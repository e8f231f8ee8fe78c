-- pgTAP: promises and payment plans in the cash forecast (86_forecast.sql).
-- A model trained on payers FT1..FT12; customers FC_A..FC_H with past and
-- open promises and plans, forecast from 2026-03-31: promised amounts and
-- unpaid instalments land on their dates with the customer's kept rate,
-- invoices are never counted twice, broken promises and plans give their
-- invoices back to the model, the detail adds up to the forecast to the
-- cent, and readers of the company (only they) see it.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(35);

SELECT is((SELECT count(*)::integer FROM pg_proc
            WHERE oid IN ('ar.cash_forecast(date, integer, text)'::regprocedure,
                          'ar.cash_forecast_detail(date, integer, text)'::regprocedure,
                          'ar.commitment_kept_rate(date)'::regprocedure)),
	3, 'ar.cash_forecast keeps its signature; ar.cash_forecast_detail takes the same arguments');
SELECT is((SELECT array_agg(a ORDER BY n) FROM unnest((SELECT proargnames FROM pg_proc
            WHERE oid = 'ar.cash_forecast(date, integer, text)'::regprocedure)) WITH ORDINALITY u(a, n)),
	ARRAY['from_date', 'horizon_days', 'granularity', 'period_start', 'expected', 'low', 'high'],
	'ar.cash_forecast keeps its columns');

--------------------------------------------------------------------------
-- The model: payers FT1..FT12, (n % 3) * 15 days after due
--------------------------------------------------------------------------
INSERT INTO ar.customer (code, name) SELECT 'FT' || g, 'Training payer ' || g FROM generate_series(1, 12) g;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'FT-' || g || '-' || k, DATE '2025-01-06' + k * 14 + g, DATE '2025-01-06' + k * 14 + g + 30,
       100 + (g * 37 + k * 11) % 900
  FROM generate_series(1, 12) g JOIN ar.customer c ON c.code = 'FT' || g
 CROSS JOIN generate_series(0, 30) k;
INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method)
SELECT i.id, i.amount, i.due_date + (substr(c.code, 3)::integer % 3) * 15 + (i.id % 3)::integer, 'manual'
  FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id
 WHERE c.code LIKE 'FT%' AND i.due_date + (substr(c.code, 3)::integer % 3) * 15 + (i.id % 3)::integer <= DATE '2026-03-31';
SELECT cmp_ok(ar.train_payment_model('2026-03-31'), '>', 0::bigint, 'a payment model is trained');

--------------------------------------------------------------------------
-- Promises and plans
--------------------------------------------------------------------------
INSERT INTO ar.customer (code, name) SELECT 'FC_' || x, 'Forecast ' || x FROM unnest('{A,B,C,D,E,F,G,H}'::text[]) x;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, v.issued::date, v.due::date, v.amount
  FROM (VALUES ('FC_A', 'FA-H1', '2026-01-05', '2026-02-04', 500.00), ('FC_A', 'FA-H2', '2026-01-05', '2026-02-04', 500.00),
               ('FC_A', 'FA-H3', '2026-01-05', '2026-02-04', 500.00), ('FC_A', 'FA-H4', '2026-01-05', '2026-02-04', 500.00),
               ('FC_A', 'FA-1', '2026-03-01', '2026-03-31', 1000.00),
               ('FC_B', 'FB-1', '2026-03-10', '2026-04-09', 800.00),
               ('FC_C', 'FC-1', '2026-02-01', '2026-03-03', 600.00), ('FC_C', 'FC-2', '2026-02-01', '2026-03-03', 900.00),
               ('FC_D', 'FD-1', '2026-02-15', '2026-03-17', 700.00),
               ('FC_E', 'FE-1', '2026-01-10', '2026-02-09', 1200.00),
               ('FC_F', 'FF-1', '2026-03-05', '2026-04-04', 1000.00),
               ('FC_G', 'FG-1', '2026-03-05', '2026-04-04', 500.00),
               ('FC_H', 'FH-1', '2026-03-05', '2026-04-04', 1000.00)) v(code, number, issued, due, amount)
  JOIN ar.customer c ON c.code = v.code;
CREATE FUNCTION pg_temp.inv(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.invoice WHERE number = n $$;

\o /dev/null
-- FC_A: 4 past promises for 2026-02-20, 3 paid the day before (kept), one the day after (broken);
-- an open promise of 600 of FA-1's 1000 for 2026-04-10
SELECT ar.promise_to_pay(pg_temp.inv(n), '2026-02-20', 500, '2026-02-10') FROM unnest('{FA-H1,FA-H2,FA-H3,FA-H4}'::text[]) n;
SELECT ar.record_payment(n, 500, '2026-02-19') FROM unnest('{FA-H1,FA-H2,FA-H3}'::text[]) n;
SELECT ar.record_payment('FA-H4', 500, '2026-02-21');
SELECT ar.promise_to_pay(pg_temp.inv('FA-1'), '2026-04-10', 600, '2026-03-25') AS promise_a \gset
-- FC_B: no history, promises all of FB-1 for 2026-04-20
SELECT ar.promise_to_pay(pg_temp.inv('FB-1'), '2026-04-20', 800, '2026-03-30') AS promise_b \gset
-- FC_C: a plan of 3 x 500 (March 15, April 15, May 15) over FC-1 and FC-2, 500 paid
-- by the first instalment (kept), 200 more since: 300 of April's is left, and May's 500
SELECT ar.create_payment_plan((SELECT id FROM ar.customer WHERE code = 'FC_C'), ARRAY[pg_temp.inv('FC-1'), pg_temp.inv('FC-2')],
                              ARRAY['2026-03-15', '2026-04-15', '2026-05-15']::date[], ARRAY[500, 500, 500]::numeric[],
                              '2026-03-10', 0, 'three months') AS plan_c \gset
SELECT ar.record_payment('FC-1', 500, '2026-03-14');
SELECT ar.record_payment('FC-2', 200, '2026-03-20');
-- FC_C also promised FC-2 (the plan prevails)
SELECT ar.promise_to_pay(pg_temp.inv('FC-2'), '2026-04-05', 100, '2026-03-21');
-- FC_D: a promise for 2026-03-28 not kept by 2026-03-31: broken
SELECT ar.promise_to_pay(pg_temp.inv('FD-1'), '2026-03-28', 700, '2026-03-20');
-- FC_E: a plan whose first instalment (March 1, 5 days of grace) was missed: broken
SELECT ar.create_payment_plan((SELECT id FROM ar.customer WHERE code = 'FC_E'), ARRAY[pg_temp.inv('FE-1')],
                              ARRAY['2026-03-01', '2026-04-01']::date[], ARRAY[600, 600]::numeric[],
                              '2026-02-20', 5, 'missed') AS plan_e \gset
-- FC_F: promised all of FF-1 for 2026-04-15, 300 paid since: 700 still promised
SELECT ar.promise_to_pay(pg_temp.inv('FF-1'), '2026-04-15', 1000, '2026-03-20') AS promise_f \gset
SELECT ar.record_payment('FF-1', 300, '2026-03-25');
-- FC_G: a promise made after 2026-03-31 is not known on that date
SELECT ar.promise_to_pay(pg_temp.inv('FG-1'), '2026-04-12', 500, '2026-04-02');
-- FC_H: 300 by 2026-04-05, then the rest (1000 promised when 1000 was open) by 2026-04-25
SELECT ar.promise_to_pay(pg_temp.inv('FH-1'), '2026-04-05', 300, '2026-03-20') AS promise_h1 \gset
SELECT ar.promise_to_pay(pg_temp.inv('FH-1'), '2026-04-25', 1000, '2026-03-21') AS promise_h2 \gset
SELECT set_config('fc.' || k, v, false) FROM (VALUES ('promise_a', :'promise_a'), ('promise_b', :'promise_b'), ('plan_c', :'plan_c'),
       ('plan_e', :'plan_e'), ('promise_f', :'promise_f'), ('promise_h1', :'promise_h1'), ('promise_h2', :'promise_h2')) x(k, v);
\o

--------------------------------------------------------------------------
-- Kept rates on 2026-03-31: kept K = 3 (FC_A) + 1 (FC_C's first
-- instalment), broken B = 1 (FC_A) + 1 (FC_D) + 1 (FC_E's first
-- instalment); company rate (K+1)/(K+B+2) = 5/9; FC_A (3 + 2 x 5/9) / 6 =
-- 37/54; FC_C (1 + 10/9) / 3 = 19/27
--------------------------------------------------------------------------
SELECT results_eq(
	$$SELECT customer_code, promises_kept, promises_broken, instalments_kept, instalments_broken, kept_rate, company_rate
	    FROM ar.commitment_kept_rate('2026-03-31')$$,
	$$VALUES ('FC_A', 3, 1, 0, 0, round(37 / 54.0, 6), round(5 / 9.0, 6)),
	         ('FC_C', 0, 0, 1, 0, round(19 / 27.0, 6), round(5 / 9.0, 6)),
	         ('FC_D', 0, 1, 0, 0, round(10 / 27.0, 6), round(5 / 9.0, 6)),
	         ('FC_E', 0, 0, 0, 1, round(10 / 27.0, 6), round(5 / 9.0, 6))$$,
	'kept rates: a promise paid a day late is broken, a missed instalment too; Laplace-smoothed towards the company''s rate');
SELECT is((SELECT count(*)::integer FROM ar.commitment_kept_rate('2026-02-19')), 0,
	'on 2026-02-19 no promise had reached its date');

CREATE TEMP TABLE d AS SELECT * FROM ar.cash_forecast_detail('2026-03-31', 90, 'day');
CREATE TEMP TABLE cust AS SELECT id, code FROM ar.customer;

SELECT results_eq(
	$$SELECT source, promise_id, expected_date, period_start, amount, probability FROM d
	   WHERE customer_code = 'FC_A' AND source = 'promise'$$,
	$$VALUES ('promise', current_setting('fc.promise_a')::bigint, DATE '2026-04-10', DATE '2026-04-10', 600.00, round(37 / 54.0, 6))$$,
	'an open promise: its amount on its promised date, with the customer''s kept rate');
SELECT ok((SELECT abs(expected_amount - 600 * 37 / 54.0) < 0.01 FROM d WHERE customer_code = 'FC_A' AND source = 'promise'),
	'its expected amount = amount x kept rate, to the cent');
SELECT is((SELECT array_agg(DISTINCT amount) FROM d WHERE invoice_number = 'FA-1' AND source = 'model'), ARRAY[400.00],
	'the model forecasts the rest of the invoice (1000 - 600), nothing more');
SELECT results_eq($$SELECT amount, probability, expected_date FROM d WHERE customer_code = 'FC_B'$$,
	$$VALUES (800.00, round(5 / 9.0, 6), DATE '2026-04-20')$$,
	'a customer without history: the company''s kept rate; an invoice fully promised has no model share');
SELECT results_eq(
	$$SELECT source, plan_id, instalment_seq, expected_date, amount, probability FROM d WHERE customer_code = 'FC_C'$$,
	$$VALUES ('plan_instalment', current_setting('fc.plan_c')::bigint, 2, DATE '2026-04-15', 300.00, round(19 / 27.0, 6)),
	         ('plan_instalment', current_setting('fc.plan_c')::bigint, 3, DATE '2026-05-15', 500.00, round(19 / 27.0, 6))$$,
	'a plan in force: the unpaid part of each instalment on its due date; its invoices have no other row (the plan prevails over a promise)');
SELECT is((SELECT sum(amount) FROM d WHERE plan_id = current_setting('fc.plan_c')::bigint),
	(SELECT sum(open_amount) FROM ar.open_items('2026-03-31') WHERE number IN ('FC-1', 'FC-2')),
	'the plan''s instalments left add up to what its invoices owe');
SELECT is((SELECT count(*)::integer FROM d WHERE customer_code = 'FC_D' AND source <> 'model'), 0,
	'a promise whose date has passed unpaid is broken: not expected');
SELECT is((SELECT array_agg(DISTINCT amount) FROM d WHERE invoice_number = 'FD-1'), ARRAY[700.00],
	'the invoice of a broken promise goes back to the model, all of it');
SELECT is((SELECT array_agg(DISTINCT source || ' ' || amount) FROM d WHERE customer_code = 'FC_E'), ARRAY['model 1200.00'],
	'a broken plan: no instalment expected, its invoice goes back to the model');
SELECT results_eq($$SELECT source, promise_id, amount FROM d WHERE customer_code = 'FC_F'$$,
	$$VALUES ('promise', current_setting('fc.promise_f')::bigint, 700.00)$$,
	'a promise partly paid since: what is left of it; nothing left for the model');
SELECT is((SELECT array_agg(DISTINCT source || ' ' || amount) FROM d WHERE customer_code = 'FC_G'), ARRAY['model 500.00'],
	'a promise made after from_date is not known then');
SELECT results_eq($$SELECT promise_id, expected_date, amount FROM d WHERE customer_code = 'FC_H'$$,
	$$VALUES (current_setting('fc.promise_h1')::bigint, DATE '2026-04-05', 300.00), (current_setting('fc.promise_h2')::bigint, DATE '2026-04-25', 700.00)$$,
	'two promises on one invoice: each for what it adds, on its date');

-- no double counting: over every source, an invoice's amounts never exceed what it owes
SELECT is_empty($$
	SELECT o.number FROM ar.open_items('2026-03-31') o
	  JOIN (SELECT invoice_id, sum(amount) AS amount
	          FROM (SELECT DISTINCT source, invoice_id, promise_id, amount FROM d WHERE source <> 'plan_instalment') x
	         GROUP BY invoice_id) s ON s.invoice_id = o.invoice_id
	 WHERE s.amount <> o.open_amount$$,
	'no double counting: the model''s share plus the promised amounts of an invoice = its open amount');
SELECT is_empty($$SELECT 1 FROM d WHERE source = 'model' AND invoice_id IN
	(SELECT invoice_id FROM ar.payment_plan_invoice WHERE plan_id = current_setting('fc.plan_c')::bigint)$$,
	'no invoice of a plan in force is forecast by the model');
SELECT is_empty($$SELECT 1 FROM d WHERE source <> 'model' AND period_start <> expected_date$$,
	'by day, promises and instalments land on their own day');
SELECT ok((SELECT bool_and(expected_date BETWEEN period_start AND period_start + 6)
             FROM ar.cash_forecast_detail('2026-03-31', 90, 'week')),
	'by week, every item''s expected date is in its week');
SELECT is((SELECT count(*)::integer FROM ar.cash_forecast_detail('2026-03-31', 9, 'day') WHERE customer_code = 'FC_A'), 0,
	'a promise beyond the horizon is not in it (FC_A''s for 2026-04-10, 9 days)');
SELECT results_eq($$SELECT source, instalment_seq FROM ar.cash_forecast_detail('2026-03-31', 30, 'week') WHERE customer_code = 'FC_C'$$,
	$$VALUES ('plan_instalment', 2)$$,
	'an instalment beyond the horizon is not in it, nor does the model take over its amount');

-- the detail adds up to the forecast, to the cent, whatever the granularity
CREATE FUNCTION pg_temp.mismatch(f date, h integer, g text) RETURNS TABLE (period_start date, forecast numeric, detail numeric)
LANGUAGE sql AS $$
	SELECT coalesce(c.period_start, x.period_start), c.expected, x.expected
	  FROM ar.cash_forecast(f, h, g) c
	  FULL JOIN (SELECT t.period_start, sum(t.expected_amount) AS expected FROM ar.cash_forecast_detail(f, h, g) t
	              GROUP BY t.period_start) x ON x.period_start = c.period_start
	 WHERE c.expected IS DISTINCT FROM coalesce(x.expected, 0)
$$;
SELECT is_empty($$SELECT * FROM pg_temp.mismatch('2026-03-31', 90, 'day')$$, 'detail = forecast by day');
SELECT is_empty($$SELECT * FROM pg_temp.mismatch('2026-03-31', 90, 'week')$$, 'detail = forecast by week');
SELECT is_empty($$SELECT * FROM pg_temp.mismatch('2026-03-31', 365, 'month')$$, 'detail = forecast by month');
SELECT is_empty($$SELECT * FROM pg_temp.mismatch('2026-03-17', 45, 'week')$$, 'detail = forecast from another day');
SELECT is_empty($$SELECT period_start FROM d GROUP BY period_start
                   HAVING sum(expected_amount) <> (SELECT expected FROM ar.cash_forecast('2026-03-31', 90, 'day') c
                                                    WHERE c.period_start = d.period_start)$$,
	'each day''s rows add up to that day (stored detail)');
SELECT ok((SELECT bool_and(abs(expected_amount - amount * probability) < 0.011) FROM d),
	'every row: expected amount = amount x probability within a cent (the cents of a period are shared by largest remainder)');
SELECT ok((SELECT bool_and(low <= expected AND expected <= high) FROM ar.cash_forecast('2026-03-31', 90, 'week')),
	'low <= expected <= high with promises and plans');

SELECT throws_ok($$SELECT * FROM ar.cash_forecast_detail('2026-03-31', 0, 'day')$$, '22023', NULL,
	'the detail checks its arguments as the forecast does');

--------------------------------------------------------------------------
-- Roles and companies, as non-superusers
--------------------------------------------------------------------------
CREATE ROLE fc_reader IN ROLE ar_reader;
CREATE ROLE fc_other IN ROLE ar_reader;
INSERT INTO ar.company (code, name) VALUES ('FC_OTHER', 'Other company');
SELECT ar.grant_company_access('fc_reader', 'DEFAULT', 'reader');
SELECT ar.grant_company_access('fc_other', 'FC_OTHER', 'reader');
GRANT SELECT ON d TO fc_reader, fc_other;
SET LOCAL ROLE fc_reader;
SELECT set_eq($$SELECT * FROM ar.cash_forecast_detail('2026-03-31', 90, 'day')$$, $$SELECT * FROM d$$,
	'a reader of the company gets the same detail');
SELECT is_empty($$SELECT * FROM pg_temp.mismatch('2026-03-31', 90, 'week')$$, 'a reader''s forecast = its detail');
SELECT is((SELECT count(*)::integer FROM ar.commitment_kept_rate('2026-03-31')), 4, 'a reader reads the kept rates');
RESET ROLE;
SET LOCAL ROLE fc_other;
SELECT is((SELECT count(*)::integer FROM ar.cash_forecast_detail('2026-03-31', 90, 'day')
            WHERE customer_code LIKE 'FC\_%' OR customer_code LIKE 'FT%'), 0,
	'a reader of another company sees none of the default company''s promises, plans or invoices');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
