-- pgTAP: ar.open_items and ar.aging_report on a date (issue 17,
-- performance).  ar.open_items reads only the invoices that can be open on
-- as_of (open today, with allocations dated after it, cancelled after it);
-- it must return exactly what the straightforward definition (every invoice
-- issued by as_of, the allocations after as_of added back, cancellations
-- after as_of reopening the whole amount) returns, and ar.aging_report
-- exactly what it returns over that definition, to the cent, on a random
-- ledger (seeded) and for many dates; as a reader of one company too.  On a
-- ledger of mostly settled invoices, analysed, the plan for the latest date
-- reads the open invoices through their partial index, not every invoice.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(19);

-- The definition before issue 17, kept here as the reference: every invoice
-- issued by as_of.
CREATE FUNCTION pg_temp.ref_open_items(as_of date)
RETURNS TABLE (invoice_id bigint, company_id bigint, customer_id bigint, number text, currency char(3),
               issue_date date, due_date date, amount numeric, open_amount numeric, days_past_due integer)
LANGUAGE sql STABLE AS $$
	SELECT i.id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
	       o.open_amount, as_of - i.due_date
	  FROM ar.invoice i
	  LEFT JOIN (SELECT a.invoice_id, sum(a.amount) AS amount
	               FROM ar.allocation a
	              WHERE a.allocated_on > as_of
	              GROUP BY a.invoice_id) later ON later.invoice_id = i.id
	 CROSS JOIN LATERAL (SELECT CASE
	                             WHEN i.cancelled_on IS NOT NULL AND i.cancelled_on > as_of THEN i.amount
	                             WHEN i.cancelled_on IS NOT NULL THEN 0
	                             ELSE i.open_amount + coalesce(later.amount, 0)
	                            END AS open_amount) o
	 WHERE i.issue_date <= as_of
	   AND o.open_amount <> 0
$$;
-- ar.open_credits' definition before issue 14 (SQL, correlated subqueries
-- on the credit's id alone), kept here as the reference of the open credits.
CREATE FUNCTION pg_temp.ref_open_credits(as_of date)
RETURNS TABLE (kind text, credit_id bigint, company_id bigint, customer_id bigint, currency char(3),
               number text, credit_date date, amount numeric, available numeric, note text)
LANGUAGE sql STABLE
AS $$
	SELECT o.kind, o.credit_id, o.company_id, o.customer_id, o.currency, o.number, o.credit_date, o.amount,
	       o.available, o.note
	  FROM (-- credit notes open today (invoice_open_credit_note), as they stood on as_of
	        SELECT 'credit_note' AS kind, i.id AS credit_id, i.company_id, i.customer_id, i.currency, i.number,
	               i.issue_date AS credit_date, -i.amount AS amount,
	               -i.open_amount - coalesce((SELECT sum(a.amount) FROM ar.allocation a
	                                           WHERE a.invoice_id = i.id AND a.allocated_on > as_of), 0) AS available,
	               NULL::text AS note
	          FROM ar.invoice i
	         WHERE i.open_amount < 0 AND i.issue_date <= as_of
	        UNION ALL
	        -- credit notes set off since as_of
	        SELECT 'credit_note', i.id, i.company_id, i.customer_id, i.currency, i.number, i.issue_date, -i.amount,
	               -(SELECT sum(a.amount) FROM ar.allocation a WHERE a.invoice_id = i.id AND a.allocated_on > as_of),
	               NULL
	          FROM ar.invoice i
	         WHERE i.id IN (SELECT a.invoice_id FROM ar.allocation a WHERE a.allocated_on > as_of AND a.amount < 0)
	           AND i.open_amount = 0 AND i.amount < 0 AND i.cancelled_on IS NULL AND i.issue_date <= as_of
	        UNION ALL
	        -- credit notes cancelled since as_of
	        SELECT 'credit_note', i.id, i.company_id, i.customer_id, i.currency, i.number, i.issue_date, -i.amount,
	               -i.amount, NULL
	          FROM ar.invoice i
	         WHERE i.cancelled_on > as_of AND i.amount < 0 AND i.issue_date <= as_of
	        UNION ALL
	        -- customer credit not used up today, or used, refunded or written off since as_of
	        SELECT 'customer_credit', cc.id, cc.company_id, cc.customer_id, cc.currency, NULL, cc.created_on, cc.amount,
	               cc.remaining + coalesce((SELECT sum(a.amount) FROM ar.allocation a
	                                         WHERE a.customer_credit_id = cc.id AND a.allocated_on > as_of), 0)
	                            + coalesce((SELECT sum(r.amount) FROM ar.credit_release r
	                                         WHERE r.customer_credit_id = cc.id AND r.released_on > as_of), 0),
	               coalesce(cc.source || ': ' || cc.note, cc.source)
	          FROM ar.customer_credit cc
	         WHERE cc.created_on <= as_of
	           AND (cc.remaining > 0
	                OR cc.id IN (SELECT a.customer_credit_id FROM ar.allocation a
	                              WHERE a.customer_credit_id IS NOT NULL AND a.allocated_on > as_of)
	                OR cc.id IN (SELECT r.customer_credit_id FROM ar.credit_release r WHERE r.released_on > as_of))) o
	 WHERE o.available > 0
$$;
-- ar.aging_report's full computation as SQL (its definition before it was
-- written in C, src/aging_report.c: the same values, scales and order) over
-- the reference open items.
CREATE FUNCTION pg_temp.ref_aging_report(as_of date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text,
               not_due numeric, d1_30 numeric, d31_60 numeric, d61_90 numeric, d91_plus numeric, total numeric,
               currency char(3), company_id bigint, credit_notes numeric, unapplied_credit numeric,
               net_balance numeric)
LANGUAGE sql STABLE AS $$
	SELECT c.id, c.code, c.name,
	       coalesce((g.buckets).not_due, 0), coalesce((g.buckets).d1_30, 0), coalesce((g.buckets).d31_60, 0),
	       coalesce((g.buckets).d61_90, 0), coalesce((g.buckets).d91_plus, 0), coalesce((g.buckets).total, 0),
	       coalesce(g.currency, u.currency), c.company_id,
	       coalesce(g.credit_notes, 0), coalesce(u.available, 0),
	       coalesce((g.buckets).total, 0) - coalesce(u.available, 0)
	  FROM (SELECT o.customer_id, o.currency, ar.aging(o.open_amount, o.due_date, as_of) AS buckets,
	               coalesce(sum(o.open_amount) FILTER (WHERE o.amount < 0), 0) AS credit_notes
	          FROM pg_temp.ref_open_items(as_of) o
	         GROUP BY o.customer_id, o.currency) g
	  FULL JOIN (SELECT k.customer_id, k.currency, sum(k.available) AS available
	               FROM pg_temp.ref_open_credits(as_of) k
	              WHERE k.kind = 'customer_credit'
	              GROUP BY k.customer_id, k.currency) u
	         ON u.customer_id = g.customer_id AND u.currency = g.currency
	  JOIN ar.customer c ON c.id = coalesce(g.customer_id, u.customer_id)
	 ORDER BY c.code, coalesce(g.currency, u.currency)
$$;
SELECT ok(pg_get_functiondef('pg_temp.ref_aging_report(date)'::regprocedure) ~ 'pg_temp.ref_open_items\(as_of\)',
	'the reference report is the former SQL of the full computation over the reference open items');
-- The full computation against the reference: the same rows (as text, with
-- multiplicity) and the same order of (customer code, currency), the
-- order the report promises (rows sharing both, customers of different
-- companies with one code, come in either order).
CREATE FUNCTION pg_temp.full_same(d date) RETURNS boolean LANGUAGE sql AS $$
	SELECT NOT EXISTS (SELECT r::text FROM ar._aging_report_full(d) r EXCEPT ALL SELECT f::text FROM pg_temp.ref_aging_report(d) f)
	   AND NOT EXISTS (SELECT f::text FROM pg_temp.ref_aging_report(d) f EXCEPT ALL SELECT r::text FROM ar._aging_report_full(d) r)
	   AND (SELECT array_agg(r.customer_code || ' ' || r.currency) FROM ar._aging_report_full(d) r)
	       IS NOT DISTINCT FROM (SELECT array_agg(f.customer_code || ' ' || f.currency) FROM pg_temp.ref_aging_report(d) f)
$$;
-- Rows of one and not of the other (with multiplicity), both ways.
CREATE FUNCTION pg_temp.open_items_diff(d date) RETURNS bigint LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM (SELECT * FROM ar.open_items(d) EXCEPT ALL SELECT * FROM pg_temp.ref_open_items(d)) x)
	     + (SELECT count(*) FROM (SELECT * FROM pg_temp.ref_open_items(d) EXCEPT ALL SELECT * FROM ar.open_items(d)) x)
$$;
CREATE FUNCTION pg_temp.open_credits_diff(d date) RETURNS bigint LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM (SELECT * FROM ar.open_credits(d) EXCEPT ALL SELECT * FROM pg_temp.ref_open_credits(d)) x)
	     + (SELECT count(*) FROM (SELECT * FROM pg_temp.ref_open_credits(d) EXCEPT ALL SELECT * FROM ar.open_credits(d)) x)
$$;
CREATE FUNCTION pg_temp.aging_diff(d date) RETURNS bigint LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM (SELECT * FROM ar.aging_report(d) EXCEPT ALL SELECT * FROM pg_temp.ref_aging_report(d)) x)
	     + (SELECT count(*) FROM (SELECT * FROM pg_temp.ref_aging_report(d) EXCEPT ALL SELECT * FROM ar.aging_report(d)) x)
$$;

-- ------------------------------------------------------ a random ledger
-- Two companies, three currencies; invoices and credit notes issued over
-- 2025-2026; payments (whole, partial, several, dated before the invoice
-- too), bank allocations, credit notes set off, customer credit spent,
-- write-offs, cancellations, allocations removed again (a write-off
-- reversed), all at random dates, many after the dates asked.
\set rl_prefix OI
\set rl_name 'Open items'
\set rl_customers 18
\set rl_invoices 16
\set rl_first_day 2025-01-01
\set rl_credits_from 2025-06-01
\set rl_credits_days 300
\set rl_seed 0.17
\ir ../lib/random_ledger.sql

SELECT ok((SELECT count(*) FROM ar.invoice WHERE cancelled_on IS NOT NULL) >= 5
          AND (SELECT count(*) FROM ar.invoice WHERE amount < 0) >= 20
          AND (SELECT count(DISTINCT currency) FROM ar.invoice) = 3
          AND (SELECT count(DISTINCT company_id) FROM ar.invoice) = 2
          AND (SELECT count(*) FROM ar.allocation WHERE customer_credit_id IS NOT NULL) >= 5
          AND (SELECT count(*) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id WHERE a.allocated_on < i.issue_date) >= 5
          AND (SELECT count(*) FROM ar.write_off_reversal) >= 3
          AND (SELECT count(*) FROM ar.invoice WHERE open_amount <> 0) >= 50,
	'the random ledger has cancellations, credit notes, three currencies, two companies, customer credit spent, back-dated allocations and reversed write-offs');

-- dates before anything, every 11 days over the ledger, every cancellation
-- date and the day before it, every allocation date of one in 7 and the day
-- before it, after everything
CREATE TEMP TABLE dates AS
SELECT DISTINCT d::date AS d FROM (
	SELECT DATE '2024-12-01' + 11 * g AS d FROM generate_series(0, 70) g
	UNION ALL SELECT cancelled_on FROM ar.invoice WHERE cancelled_on IS NOT NULL
	UNION ALL SELECT cancelled_on - 1 FROM ar.invoice WHERE cancelled_on IS NOT NULL
	UNION ALL SELECT allocated_on FROM ar.allocation WHERE id % 7 = 0
	UNION ALL SELECT allocated_on - 1 FROM ar.allocation WHERE id % 7 = 0
	UNION ALL SELECT DATE '2030-01-01') x;
SELECT ok((SELECT count(*) FROM dates) >= 150, 'many dates');
SELECT ok((SELECT count(*) FROM dates x WHERE EXISTS (SELECT FROM ar.invoice i WHERE i.cancelled_on > x.d AND i.issue_date <= x.d)) >= 20
          AND (SELECT count(*) FROM dates x WHERE (SELECT count(*) FROM ar.allocation a WHERE a.allocated_on > x.d) BETWEEN 1 AND 100) >= 20,
	'among them dates with cancellations after them and dates with a few allocations after them');
SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d) FROM dates WHERE pg_temp.open_items_diff(d) <> 0), NULL,
	'ar.open_items = the straightforward definition, row for row, on every date');
-- ar.open_credits: PL/pgSQL running the text of ar._open_credits' query
-- (so that Citus plans it: doc/scale_out.md, blocker 2), what the former
-- SQL returned on every date
SELECT ok((SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid = 'ar.open_credits(date)'::regprocedure) = 'plpgsql'
          AND pg_get_functiondef('ar.open_credits(date)'::regprocedure) ~ 'EXECUTE ar\._open_credits_query\(\) USING as_of'
          AND ar._open_credits_query() ~ 'ar\.credit_release',
	'ar.open_credits is PL/pgSQL running the text of ar._open_credits (its final query, with the credit releases)');
SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d) FROM dates WHERE pg_temp.open_credits_diff(d) <> 0), NULL,
	'ar.open_credits = its former SQL definition, row for row, on every date');
SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d) FROM dates WHERE pg_temp.aging_diff(d) <> 0), NULL,
	'ar.aging_report = the report over the straightforward definition, to the cent, on every date');
SELECT ok((SELECT count(*) FROM dates x WHERE (SELECT count(*) FROM ar.open_items(x.d)) > 0) >= 100
          AND (SELECT count(*) FROM dates x WHERE EXISTS (SELECT FROM ar.aging_report(x.d) r WHERE r.unapplied_credit > 0)) >= 20
          AND (SELECT count(*) FROM dates x WHERE EXISTS (SELECT FROM ar.aging_report(x.d) r WHERE r.credit_notes < 0)) >= 20,
	'the comparisons are not of empty sets: open items, unapplied credit and open credit notes on many dates');
SELECT results_eq($$SELECT customer_code, currency FROM ar.aging_report('2026-03-31')$$,
                  $$SELECT customer_code, currency FROM pg_temp.ref_aging_report('2026-03-31')$$,
	'the report keeps its order (customer code, currency)');
-- Customers of both companies with the same codes, in two currencies (the
-- full computation merges the companies' customers by code, then orders
-- each code's rows by currency); open credit notes and customer credit too.
INSERT INTO ar.customer (company_id, code, name)
SELECT co.id, x.code, x.code || ' of ' || co.code
  FROM ar.company co
 CROSS JOIN (VALUES ('OI_SAME'), ('OI_SAME2'), ('OI_0SAME'), ('oi_same')) x(code)
 WHERE co.code IN ('OI_B') OR co.id = ar.default_company();
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, currency)
SELECT c.company_id, c.id, 'SAME-' || c.id || '-' || cur || '-' || k, DATE '2025-01-10' + k * 40, DATE '2025-02-10' + k * 40,
       CASE WHEN k = 2 THEN -15.5 ELSE 100 * k + c.id % 7 END, cur
  FROM ar.customer c CROSS JOIN (VALUES ('EUR'), ('USD'), ('CHF')) v(cur) CROSS JOIN generate_series(0, 3) k
 WHERE c.code IN ('OI_SAME', 'OI_SAME2', 'OI_0SAME', 'oi_same') AND (cur <> 'CHF' OR c.code = 'OI_SAME');
INSERT INTO ar.customer_credit (company_id, customer_id, amount, source, created_on, currency)
SELECT c.company_id, c.id, 12.34, 'manual', DATE '2025-01-01', 'GBP'
  FROM ar.customer c WHERE c.code = 'OI_SAME';
SELECT is((SELECT string_agg(x.d::text, ', ' ORDER BY x.d)
             FROM (VALUES (DATE '2025-01-12'), ('2025-03-01'), ('2025-05-20'), ('2025-09-30'), ('2026-03-31'), ('2030-01-01')) x(d)
            WHERE NOT pg_temp.full_same(x.d)
               OR NOT EXISTS (SELECT FROM ar._aging_report_full(x.d) r WHERE r.customer_code = 'OI_SAME' AND r.currency = 'CHF')), NULL,
	'the full computation = the former SQL, in the same order, customers of two companies sharing codes in several currencies included');
SELECT is((SELECT sum(open_amount) FROM ar.open_items('2030-01-01')), (SELECT sum(open_amount) FROM ar.invoice),
	'after the last event the open items are the open amounts of today');
SELECT is((SELECT count(*) FROM ar.aging_by_customer a
            WHERE NOT EXISTS (SELECT FROM pg_temp.ref_aging_report(current_date) r
                               WHERE (r.customer_id, r.currency, r.total, r.net_balance) = (a.customer_id, a.currency, a.total, a.net_balance))), 0::bigint,
	'ar.aging_by_customer (today) agrees too');

-- ------------------------------------------------ a reader of one company
CREATE ROLE oi_read_b IN ROLE ar_reader;
SELECT ar.grant_company_access('oi_read_b', 'OI_B', 'reader');
GRANT EXECUTE ON FUNCTION pg_temp.ref_open_items(date), pg_temp.open_items_diff(date), pg_temp.ref_aging_report(date), pg_temp.full_same(date) TO oi_read_b;
GRANT SELECT ON dates TO oi_read_b;
SET LOCAL ROLE oi_read_b;
SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d) FROM dates WHERE d::text LIKE '%1' AND pg_temp.open_items_diff(d) <> 0), NULL,
	'as a reader of company B: the same rows as the definition (row-level security)');
SELECT ok((SELECT count(*) FROM ar.open_items('2026-03-31')) > 0
          AND (SELECT count(*) FROM ar.open_items('2026-03-31') WHERE company_id <> (SELECT id FROM ar.company WHERE code = 'OI_B')) = 0,
	'and only company B''s');
SELECT ok(pg_temp.full_same('2026-03-31')
          AND (SELECT count(DISTINCT company_id) FROM ar._aging_report_full('2026-03-31')) = 1,
	'as a reader of company B: the full computation''s rows are company B''s, as the former SQL''s (row-level security), in its order');
RESET ROLE;

-- ------------------------------------------------- the plan on a large ledger
-- 20,000 more invoices, all but 200 settled before 2026-12-31, analysed:
-- on that date the open items are read through the partial index of open
-- invoices, not by reading every invoice.
INSERT INTO ar.customer (code, name) VALUES ('OI_BIG', 'Large ledger');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT (SELECT id FROM ar.customer WHERE code = 'OI_BIG'), 'BIG-' || g,
       DATE '2024-01-01' + g / 30, DATE '2024-01-31' + g / 30, 100 + g % 900
  FROM generate_series(1, 20000) g;
INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method)
SELECT i.id, i.amount, i.due_date, 'manual' FROM ar.invoice i WHERE i.number LIKE 'BIG-%' AND i.id % 100 <> 0;
ANALYZE ar.invoice;
ANALYZE ar.allocation;
CREATE FUNCTION pg_temp.plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	l text;
	p text := '';
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		p := p || l || E'\n';
	END LOOP;
	RETURN p;
END $$;
-- (the query of ar.open_items, PL/pgSQL since issue 14: ar._open_items,
-- inlined, what the aging report and ar_collect's SQL read)
SELECT ok(pg_temp.plan($$SELECT * FROM ar._open_items('2026-12-31')$$) ~ 'invoice_open_(due|account|issue)'
          AND pg_temp.plan($$SELECT * FROM ar._open_items('2026-12-31')$$) !~ 'Seq Scan on invoice',
	'open items on the latest date: the partial index of open invoices, no scan of every invoice');
SELECT ok(pg_temp.full_same('2026-12-31'),
	'the aging report''s full computation on the large ledger: the former SQL''s rows, in its order');
SELECT ok(pg_temp.plan($$SELECT * FROM pg_temp.ref_open_items('2026-12-31')$$) ~ 'Seq Scan on invoice',
	'(the straightforward definition reads every invoice: the check above can fail)');

SELECT * FROM finish();
ROLLBACK;
