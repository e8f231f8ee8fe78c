-- ar_demo.generate (demo/generate.sql): the same seed gives the same ledger,
-- a consistent one, with the mix of behaviours, statuses and aging buckets
-- the demo promises.  The generator writes into the real ledger tables, so
-- every run is rolled back and the schema ar_demo is dropped at the end.
-- pg_regress runs psql from the repository root; the file is not echoed.
\set ECHO none
SET client_min_messages = warning;
\i demo/generate.sql
RESET client_min_messages;
\set ECHO all

-- What a generation wrote, without generated ids and timestamps.
CREATE FUNCTION pg_temp.demo_fingerprint() RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT md5(string_agg(r, E'\n' ORDER BY r))
	  FROM (SELECT format('C %s', (c.code, c.name, c.country, c.email, c.phone, c.language, p.behaviour, p.payment_terms))
	          FROM ar.customer c JOIN ar_demo.customer_profile p ON p.customer_code = c.code
	        UNION ALL
	        SELECT format('I %s', (c.code, i.number, i.issue_date, i.due_date, i.amount, i.currency,
	                               i.payment_reference, i.open_amount, i.status))
	          FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id
	        UNION ALL
	        SELECT format('A %s', (i.number, a.amount, a.allocated_on, a.method, a.payment_means, a.note))
	          FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
	        UNION ALL
	        SELECT format('K %s', (c.code, k.currency, k.amount, k.remaining, k.source, k.created_on, k.note))
	          FROM ar.customer_credit k JOIN ar.customer c ON c.id = k.customer_id
	        UNION ALL
	        SELECT format('P %s', pp) FROM ar_demo.payment_plan pp) x(r)
$$;

BEGIN;
SELECT * FROM ar_demo.generate(customers => 50, invoices => 1000, seed => 0.42);
SELECT pg_temp.demo_fingerprint() AS fingerprint \gset
SELECT count(*) AS ledger_errors FROM ar.check_ledger();
SELECT behaviour, count(*) FROM ar_demo.customer_profile GROUP BY behaviour ORDER BY behaviour;
SELECT i.status, count(*) FILTER (WHERE i.amount > 0) AS invoices, count(*) FILTER (WHERE i.amount < 0) AS credit_notes
  FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id
  JOIN ar_demo.customer_profile p ON p.customer_code = c.code
 GROUP BY i.status ORDER BY i.status;
-- every aging bucket holds something on as_of
SELECT sum(r.not_due) > 0 AS not_due, sum(r.d1_30) > 0 AS d1_30, sum(r.d31_60) > 0 AS d31_60,
       sum(r.d61_90) > 0 AS d61_90, sum(r.d91_plus) > 0 AS d91_plus
  FROM ar.aging_report(DATE '2026-11-20') r JOIN ar_demo.customer_profile p ON p.customer_code = r.customer_code
 WHERE r.currency = 'EUR';
-- nothing paid after as_of; "45 days end of month" falls on a month's last day
SELECT max(a.allocated_on) <= DATE '2026-11-20' AS paid_up_to_as_of
  FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
  JOIN ar.customer c ON c.id = i.customer_id JOIN ar_demo.customer_profile p ON p.customer_code = c.code;
SELECT bool_and(extract(day FROM i.due_date + 1) = 1 AND i.due_date - i.issue_date BETWEEN 45 AND 76) AS end_of_month
  FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id
  JOIN ar_demo.customer_profile p ON p.customer_code = c.code
 WHERE p.payment_terms = '45 days end of month' AND i.amount > 0;
-- payers pay on their payment runs: the last payment of an invoice (of a
-- customer who does not abandon it) is a run day of its customer, never
-- August 1-24 for one closed in August; late payers wait for reminders
SELECT pay_calendar, count(*), count(reminder_level) AS waiting_for_reminders
  FROM ar_demo.customer_profile GROUP BY pay_calendar ORDER BY pay_calendar;
SELECT bool_and(ar_demo.next_run(pp.planned_on, p.pay_calendar, p.run_days, p.run_weekday) = pp.planned_on) AS paid_on_runs,
       bool_and(NOT (p.closes_in_august AND extract(month FROM pp.planned_on) = 8
                     AND extract(day FROM pp.planned_on) <= 24)) AS closed_in_august
  FROM ar_demo.payment_plan pp
  JOIN ar.invoice i ON i.number = pp.invoice_number
  JOIN ar.customer c ON c.id = i.customer_id
  JOIN ar_demo.customer_profile p ON p.customer_code = c.code
 WHERE p.behaviour <> 'high_risk'
   AND pp.installment = (SELECT max(x.installment) FROM ar_demo.payment_plan x WHERE x.invoice_number = pp.invoice_number);
ROLLBACK;

BEGIN;
SELECT count(*) AS summary_lines FROM ar_demo.generate(customers => 50, invoices => 1000, seed => 0.42);
SELECT pg_temp.demo_fingerprint() = :'fingerprint' AS same_seed_same_data;
SELECT count(*) AS ledger_errors FROM ar.check_ledger();
ROLLBACK;

BEGIN;
SELECT count(*) AS summary_lines FROM ar_demo.generate(customers => 50, invoices => 1000, seed => 0.43);
SELECT pg_temp.demo_fingerprint() <> :'fingerprint' AS other_seed_other_data;
ROLLBACK;

SET client_min_messages = warning;
DROP SCHEMA ar_demo CASCADE;
RESET client_min_messages;
