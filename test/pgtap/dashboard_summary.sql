-- pgTAP: the dashboard summaries (issue 17, doc/dashboards.md).
-- ar.open_item_summary and ar.aging_summary follow every ledger change
-- (invoices and credit notes issued, corrected, cancelled, deleted;
-- payments, bank and credit allocations, back-dated ones, credit notes
-- set off, write-offs and their reversal; one statement changing many
-- invoices), and ar.aging_report, which answers from them near their aging
-- date, returns exactly the rows of the full computation
-- (ar._aging_report_full), to the cent and in text, on every date around
-- today, for summaries aged on other dates, and on every date of the
-- ledger through the summary path forced; as a reader of one company too.
-- Nobody writes the summaries directly; removing a trigger shows.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(42);

-- Rows of one and not of the other, as text (the scale of each amount
-- counts), with multiplicity, both ways.
CREATE FUNCTION pg_temp.diff(q1 text, q2 text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	m bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM (SELECT r::text FROM (%s) r EXCEPT ALL SELECT r::text FROM (%s) r) x', q1, q2) INTO n;
	EXECUTE format('SELECT count(*) FROM (SELECT r::text FROM (%s) r EXCEPT ALL SELECT r::text FROM (%s) r) x', q2, q1) INTO m;
	RETURN n + m;
END $$;
CREATE FUNCTION pg_temp.report_diff(d date) RETURNS bigint LANGUAGE sql AS $$
	SELECT pg_temp.diff(format('SELECT * FROM ar.aging_report(%L)', d), format('SELECT * FROM ar._aging_report_full(%L)', d))
$$;
-- the summary path forced
CREATE FUNCTION pg_temp.summary_diff(d date) RETURNS bigint LANGUAGE sql AS $$
	SELECT pg_temp.diff(format('SELECT * FROM ar._aging_report_summary(%L)', d),
	                    format('SELECT * FROM ar._aging_report_full(%L)', d))
$$;

-- ------------------------------------------------------ a random ledger
-- Two companies, three currencies, over the 540 days up to 40 days from
-- today: invoices and credit notes, payments (whole, partial, in two parts,
-- dated before the invoice too), bank allocations, credit notes set off,
-- customer credit spent, write-offs and reversals, cancellations.
\set rl_prefix DS
\set rl_name Dashboard
\set rl_customers 16
\set rl_invoices 18
SELECT (current_date - 500)::text AS rl_first_day, (current_date - 350)::text AS rl_credits_from \gset
\set rl_credits_days 390
\set rl_seed 0.29
\ir ../lib/random_ledger.sql

-- one statement allocating to many invoices of many keys (as ar.reconcile
-- does), one correcting amounts and due dates (keys move), one deleting
-- invoices never paid
INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
SELECT i.company_id, i.id, round(i.open_amount / 2, 2), current_date - (i.id % 20)::integer, 'manual'
  FROM ar.invoice i WHERE i.open_amount > 1 AND i.id % 4 = 0;
UPDATE ar.invoice i SET amount = i.amount + 10, due_date = i.due_date + 7
 WHERE i.id % 5 = 1 AND i.amount > 0 AND i.cancelled_on IS NULL;
DELETE FROM ar.invoice i
 WHERE i.id % 11 = 2 AND i.open_amount = i.amount AND i.cancelled_on IS NULL
   AND NOT EXISTS (SELECT FROM ar.allocation a WHERE a.invoice_id = i.id)
   AND NOT EXISTS (SELECT FROM ar.customer_credit k WHERE k.invoice_id = i.id);

SELECT ok((SELECT count(*) FROM ar.invoice WHERE cancelled_on IS NOT NULL) >= 5
          AND (SELECT count(*) FROM ar.invoice WHERE cancelled_on > current_date - 60) >= 1
          AND (SELECT count(*) FROM ar.invoice WHERE amount < 0 AND open_amount < 0) >= 10
          AND (SELECT count(DISTINCT currency) FROM ar.invoice) = 3
          AND (SELECT count(DISTINCT company_id) FROM ar.invoice) = 2
          AND (SELECT count(*) FROM ar.allocation WHERE customer_credit_id IS NOT NULL) >= 5
          AND (SELECT count(*) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id WHERE a.allocated_on < i.issue_date) >= 5
          AND (SELECT count(*) FROM ar.allocation WHERE allocated_on > current_date) >= 5
          AND (SELECT count(*) FROM ar.invoice WHERE issue_date > current_date AND open_amount <> 0) >= 5
          AND (SELECT count(*) FROM ar.write_off_reversal) >= 3
          AND (SELECT count(*) FROM ar.invoice WHERE open_amount <> 0) >= 60,
	'the random ledger has cancellations, open credit notes, three currencies, two companies, customer credit spent, back-dated and future allocations, invoices issued after today and reversed write-offs');

SELECT is((SELECT count(*) FROM ar.check_summaries()), 0::bigint, 'the summaries equal their recomputation from the ledger');
-- one transaction: its changes wait in ar.summary_delta until it commits
-- (test/specs/concurrent_summary.spec commits them)
SELECT ok((SELECT count(*) FROM ar.summary_delta) > 0 AND NOT EXISTS (SELECT FROM ar.open_item_summary),
	'this transaction''s changes wait in ar.summary_delta, folded at commit');
SELECT is((SELECT sum(open_amount) FROM ar._open_item_summary_current()), (SELECT sum(open_amount) FROM ar.invoice),
	'the summary holds every open amount');
SELECT is((SELECT sum(items) FROM ar._open_item_summary_current()), (SELECT count(*)::bigint FROM ar.invoice WHERE open_amount <> 0),
	'and counts every open item');
SELECT is((SELECT aged_on FROM ar.summary_state), current_date, 'the summaries are aged today');

-- ----------------------------------------------- the report on many dates
CREATE TEMP TABLE near AS SELECT (current_date + g)::date AS d FROM generate_series(-40, 40) g;
CREATE TEMP TABLE dates AS
SELECT DISTINCT d::date AS d FROM (
	SELECT current_date - 520 + 9 * g AS d FROM generate_series(0, 70) g
	UNION ALL SELECT cancelled_on FROM ar.invoice WHERE cancelled_on IS NOT NULL
	UNION ALL SELECT cancelled_on - 1 FROM ar.invoice WHERE cancelled_on IS NOT NULL
	UNION ALL SELECT allocated_on FROM ar.allocation WHERE id % 5 = 0
	UNION ALL SELECT allocated_on - 1 FROM ar.allocation WHERE id % 5 = 0
	UNION ALL SELECT d FROM near
	UNION ALL SELECT DATE '2100-01-01') x;

SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d) FROM near WHERE pg_temp.report_diff(d) <> 0), NULL,
	'ar.aging_report = the full computation, row for row and in text, on every day from 40 days before to 40 after today');
SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d) FROM dates WHERE pg_temp.summary_diff(d) <> 0), NULL,
	'the summary path = the full computation on every date of the ledger (forced, far dates too)');
SELECT ok((SELECT count(*) FROM near x WHERE (SELECT count(*) FROM ar._aging_report_full(x.d)) > 0) = 81
          AND (SELECT count(*) FROM near x WHERE EXISTS (SELECT FROM ar._aging_report_full(x.d) r WHERE r.unapplied_credit > 0)) >= 20
          AND (SELECT count(*) FROM near x WHERE EXISTS (SELECT FROM ar._aging_report_full(x.d) r WHERE r.credit_notes < 0)) >= 20
          AND (SELECT count(*) FROM near x WHERE EXISTS (SELECT FROM ar._aging_report_full(x.d) r
                                                          WHERE r.d1_30 <> 0 AND r.d31_60 <> 0 AND r.d91_plus <> 0)) >= 20,
	'the comparisons are not of empty sets: open items in several buckets, unapplied credit and open credit notes');
SELECT results_eq($$SELECT customer_code, currency FROM ar.aging_report(current_date)$$,
                  $$SELECT customer_code, currency FROM ar._aging_report_full(current_date)$$,
	'the report keeps its order (customer code, currency)');
SELECT is(pg_temp.diff('SELECT * FROM ar.aging_by_customer', 'SELECT * FROM ar._aging_report_full(current_date)'), 0::bigint,
	'ar.aging_by_customer = the full computation today');
SELECT is(pg_temp.diff('SELECT * FROM ar.aging_by_bucket',
                       $$SELECT b.bucket, b.ord, r.currency,
                                sum(CASE b.bucket WHEN 'not_due' THEN r.not_due WHEN 'd1_30' THEN r.d1_30 WHEN 'd31_60' THEN r.d31_60
                                                  WHEN 'd61_90' THEN r.d61_90 ELSE r.d91_plus END)
                           FROM ar._aging_report_full(current_date) r
                          CROSS JOIN (VALUES ('not_due', 1), ('d1_30', 2), ('d31_60', 3), ('d61_90', 4), ('d91_plus', 5)) b(bucket, ord)
                          GROUP BY b.bucket, b.ord, r.currency$$), 0::bigint,
	'ar.aging_by_bucket = its definition over the full computation');
SELECT ok(pg_get_functiondef('ar.aging_report(date)'::regprocedure) ~ '_aging_report_summary'
          AND ar._summary_serves(current_date) AND NOT ar._summary_serves(current_date - 32),
	'today the report answers from the summaries, 32 days back from the full computation');

-- summaries aged on another date (a day without ar.age_summaries), then
-- again today
SELECT ok(ar.age_summaries(current_date - 12) > 0, 'ar.age_summaries re-ages the summaries on another date');
SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d) FROM near WHERE pg_temp.report_diff(d) <> 0), NULL,
	'aged 12 days ago: ar.aging_report = the full computation on every day around today');
SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d) FROM dates WHERE d::text LIKE '%3' AND pg_temp.summary_diff(d) <> 0), NULL,
	'and the summary path on dates of the ledger');
SELECT is((SELECT count(*) FROM ar.check_summaries()), 0::bigint, 'and the summaries equal their recomputation');
-- changes folded into the summaries aged 12 days ago: invoices due on the
-- bucket boundaries of the day after (due on the aging date, 30, 60 and
-- 90 days before it) issued, and paid in part; the report of the day after
-- reads what moves from ar.aging_summary's own rows, which the fold keeps
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, currency)
SELECT c.company_id, c.id, 'DSB-' || c.id || '-' || b || '-' || cur, current_date - 200, current_date - 12 - b, 100.25 + b + c.id % 5, cur
  FROM (SELECT * FROM ar.customer ORDER BY id LIMIT 6) c
 CROSS JOIN (VALUES (0), (30), (60), (90)) x(b) CROSS JOIN (VALUES ('EUR'), ('USD')) y(cur);
INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
SELECT i.company_id, i.id, round(i.open_amount / 3, 2), current_date - 30, 'manual'
  FROM ar.invoice i
 WHERE i.open_amount > 1 AND i.due_date IN (current_date - 12, current_date - 42, current_date - 72, current_date - 102)
   AND i.id % 2 = 0;
SELECT ar._summary_fold();
SELECT ok((SELECT count(*) FROM ar.aging_summary WHERE moving_not_due <> 0) >= 3 AND (SELECT count(*) FROM ar.aging_summary WHERE moving_d1_30 <> 0) >= 3
          AND (SELECT count(*) FROM ar.aging_summary WHERE moving_d31_60 <> 0) >= 3 AND (SELECT count(*) FROM ar.aging_summary WHERE moving_d61_90 <> 0) >= 3
          AND NOT EXISTS (SELECT FROM ar.summary_delta),
	'folded: amounts on each bucket boundary of the day after the aging date');
SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d)
             FROM (VALUES (current_date - 11), (current_date - 12), (current_date - 10)) x(d)
            WHERE pg_temp.report_diff(d) <> 0 OR pg_temp.summary_diff(d) <> 0
               OR (SELECT count(*) FROM ar.check_summaries()) <> 0), NULL,
	'the day after the aging date (and around it): the report = the full computation; the summaries equal their recomputation');
SELECT ok(ar.age_summaries() > 0, 'aged today again');
SELECT is((SELECT aged_on FROM ar.summary_state), current_date, 'ar.summary_state holds the aging date');

-- ------------------------------------------------ a reader of one company
CREATE ROLE ds_read_b IN ROLE ar_reader;
CREATE ROLE ds_admin_b IN ROLE ar_admin;
SELECT ar.grant_company_access('ds_read_b', 'DS_B', 'reader');
SELECT ar.grant_company_access('ds_admin_b', 'DS_B', 'admin');
GRANT EXECUTE ON FUNCTION pg_temp.diff(text, text), pg_temp.report_diff(date) TO ds_read_b, ds_admin_b;
GRANT SELECT ON near TO ds_read_b;
SET LOCAL ROLE ds_read_b;
SELECT is((SELECT string_agg(d::text, ', ' ORDER BY d) FROM near WHERE d::text LIKE '%5' AND pg_temp.report_diff(d) <> 0), NULL,
	'as a reader of company B: the same rows as the full computation (row-level security)');
SELECT ok((SELECT count(*) FROM ar.aging_report()) > 0
          AND (SELECT count(*) FROM ar.aging_report() WHERE company_id <> (SELECT id FROM ar.company WHERE code = 'DS_B')) = 0
          AND (SELECT count(*) FROM ar.open_item_summary) > 0
          AND (SELECT count(*) FROM ar.open_item_summary WHERE company_id <> (SELECT id FROM ar.company WHERE code = 'DS_B')) = 0,
	'and only company B''s, in the report and in the summaries');
SELECT throws_ok($$UPDATE ar.aging_summary SET d91_plus = 0$$, '42501', NULL, 'a reader cannot write the summaries');
RESET ROLE;
SET LOCAL ROLE ds_admin_b;
SELECT throws_ok($$INSERT INTO ar.open_item_summary VALUES ((SELECT id FROM ar.company WHERE code = 'DS_B'), 1, 'EUR', current_date, false, 1, 1)$$,
	'42501', NULL, 'nor an administrator: no role writes the summaries but their triggers');
SELECT throws_ok($$INSERT INTO ar.summary_delta (company_id, customer_id, currency, due_date, credit_note, open_amount, items)
                   VALUES ((SELECT id FROM ar.company WHERE code = 'DS_B'), 1, 'EUR', current_date, false, 1, 1)$$,
	'42501', NULL, 'nor their pending changes');
SELECT throws_ok($$SELECT ar.rebuild_summaries()$$, '42501', NULL,
	'an administrator of one company out of two cannot rebuild the summaries of both');
RESET ROLE;

-- ------------------------------------------------ bypassed triggers show
ALTER TABLE ar.invoice DISABLE TRIGGER invoice_summary_update;
DO $$ BEGIN
	PERFORM ar.record_payment(number, open_amount, current_date, 'transfer')
	   FROM ar.invoice WHERE open_amount > 0 AND company_id = ar.default_company() ORDER BY id LIMIT 3;
END $$;
ALTER TABLE ar.invoice ENABLE TRIGGER invoice_summary_update;
SELECT ok((SELECT count(*) FROM ar.check_summaries()) > 0 AND pg_temp.report_diff(current_date) > 0,
	'without the update trigger, payments leave the summaries and the report wrong, and ar.check_summaries() tells');
SELECT ok(ar.rebuild_summaries() > 0, 'ar.rebuild_summaries() recomputes them');
SELECT ok((SELECT count(*) FROM ar.check_summaries()) = 0 AND pg_temp.report_diff(current_date) = 0
          AND NOT EXISTS (SELECT FROM ar.summary_delta) AND (SELECT sum(items) FROM ar.aging_summary)
              = (SELECT count(*) FROM ar.invoice WHERE open_amount <> 0),
	'and puts them right, in the summary tables themselves');

-- ------------------------------------------ the query routed per company
-- On a distributed ledger (Citus) ar._aging_report_summary runs the
-- summaries' query once per company, every table filtered on it ($3), so
-- that Citus routes each run to the company's shards (doc/scale_out.md,
-- blocker 6): on one node, the runs for every company give the rows of the
-- query run once, on dates around the aging date
-- (customer credit written off since the first date: the releases count)
INSERT INTO ar.credit_release (company_id, customer_id, customer_credit_id, currency, amount, released_on, kind, reason)
SELECT cc.company_id, cc.customer_id, cc.id, cc.currency, least(cc.remaining, 5), current_date - 10, 'write_off', 'test'
  FROM ar.customer_credit cc WHERE cc.remaining > 0 AND cc.created_on < current_date - 40 ORDER BY cc.id LIMIT 3;
CREATE FUNCTION pg_temp.bound(q text, d date, company bigint) RETURNS text LANGUAGE sql AS $$
	SELECT replace(replace(replace(q, '$1', format('%L::date', d)), '$2', '(SELECT s.aged_on FROM ar.summary_state s)'),
	               '$3', coalesce(company::text, 'NULL'))
$$;
SELECT is((SELECT sum(pg_temp.diff(
               (SELECT string_agg(format('SELECT * FROM (%s) r', pg_temp.bound(ar._aging_report_summary_query(true), d, c.id)),
                                  ' UNION ALL ')
                  FROM ar.company c),
               pg_temp.bound(ar._aging_report_summary_query(), d, NULL)))
             FROM unnest(ARRAY[current_date - 40, current_date - 1, current_date, current_date + 1, current_date + 20]) d),
          0::numeric,
          'the summaries'' query routed per company ($3) gives, company by company, the rows of the query run once, on five dates');
SELECT ok((SELECT count(*) FROM ar.credit_release) > 0, '(customer credit released since the first date among them)');
SELECT ok(array_length(regexp_split_to_array(ar._aging_report_summary_query(true), 'company_id = \$3'), 1) = 14
          AND ar._aging_report_summary_query() !~ 'company_id = \$3' AND ar._summaries_with_ledger(),
          'it filters every table it reads on the company (13 conditions), the query run once on none; one node keeps the summaries');

-- On a distributed ledger ar.check_summaries, ar.age_summaries and
-- ar.rebuild_summaries run the recomputations once per company, written out
-- by ar._routed (the SQL functions they call replaced by their bodies, the
-- comments /*and company x*/ made conditions on the company): on one node
-- the runs for every company give the rows of each recomputation run once,
-- the check's differences (two planted) too; every table they read but
-- ar.summary_state (one row, a reference table on Citus) is filtered on the
-- company
SET session_replication_role = replica;
UPDATE ar.open_item_summary SET open_amount = open_amount + 1
 WHERE (company_id, customer_id, currency, due_date, credit_note)
       = (SELECT company_id, customer_id, currency, due_date, credit_note FROM ar.open_item_summary
           WHERE company_id = (SELECT min(company_id) FROM ar.open_item_summary) ORDER BY 1, 2, 3, 4, 5 LIMIT 1);
UPDATE ar.kpi_summary SET amount = amount - 1
 WHERE (company_id, currency, kind, first_date, second_date, positive, scale)
       = (SELECT company_id, currency, kind, first_date, second_date, positive, scale FROM ar.kpi_summary
           WHERE company_id = (SELECT max(company_id) FROM ar.kpi_summary) ORDER BY 1, 2, 3, 4, 5, 6, 7 LIMIT 1);
RESET session_replication_role;
SELECT is((SELECT sum(pg_temp.diff(
               (SELECT string_agg(format('SELECT * FROM (%s) r', ar._routed(q, c.id)), ' UNION ALL ') FROM ar.company c), q))
             FROM unnest(ARRAY['SELECT * FROM ar._open_item_summary_expected() e', 'SELECT * FROM ar._kpi_summary_expected() e',
                               'SELECT * FROM ar._dunning_effect_expected() e',
                               'SELECT x.* FROM ar.summary_state st, ar._aging_summary_expected(st.aged_on) x',
                               'SELECT * FROM ar._summary_differences() d']) q),
          0::numeric,
          'the recomputations routed per company (ar._routed) give, company by company, the rows of each run once; the check''s differences too');
SELECT ok((SELECT count(DISTINCT d.company_id) FROM ar._summary_differences() d) = 2
          AND NOT EXISTS (SELECT FROM regexp_matches(ar._routed('SELECT * FROM ar._summary_differences() d', 7),
                                                     '(?:from|join|,)\s+ar\.(\w+)\M(?!\s*/\*routed\*/)', 'gi') m
                           WHERE m[1] = ANY (ar._company_tables()))
          AND ar._routed('SELECT * FROM ar._summary_differences() d', 7) ~ 'FROM ar\.invoice /\*routed\*/ WHERE company_id = 7\)'
          AND ar._routed('SELECT * FROM ar._summary_differences() d', 7) !~ 'ar\._(open_item_summary|aging_summary|kpi_summary|dunning_effect)_\w*\(',
          '(a difference planted in each of two companies) every company table the routed check reads is read through its company''s subquery, no recomputation left called');
DO $$ BEGIN PERFORM ar.rebuild_summaries(); END $$;
SELECT throws_ok($$SELECT ar._routed('SELECT ar._open_on(1, current_date)', 7)$$, 'XX000',
	'ar._open_on, a SQL function reading company tables, is called by a query routed per company',
	'a query calling a SQL function over company tables that cannot be inlined is refused');

-- ------------------------------------------------ fired on a copy (a shard)
-- Citus fires the triggers of a distributed table on its shards, where the
-- summary tables are the node's own (doc/scale_out.md, blocker 6): every
-- summary trigger function refuses a relation other than its table, at the
-- statement (a trigger fires on no rows too)
CREATE TABLE pg_temp.invoice_copy (LIKE ar.invoice);
CREATE TABLE pg_temp.allocation_copy (LIKE ar.allocation);
CREATE TABLE pg_temp.notice_copy (LIKE ar.dunning_notice);
-- the trigger function fn on the copy (one trigger at a time), then the write
CREATE FUNCTION pg_temp.refused_on_copy(copy text, event text, transition text, fn text, summarised text,
                                        write text, what text) RETURNS SETOF text
LANGUAGE plpgsql SET client_min_messages = warning AS $f$
BEGIN
	EXECUTE format('DROP TRIGGER IF EXISTS s ON pg_temp.%I', copy);
	EXECUTE format('CREATE TRIGGER s AFTER %s ON pg_temp.%I REFERENCING %s FOR EACH STATEMENT EXECUTE FUNCTION %s()',
	               event, copy, transition, fn);
	RETURN QUERY SELECT throws_ok(write, '0A000',
		format('the dashboard summaries of %s cannot be maintained from %s', summarised, copy), what);
END $f$;
SELECT pg_temp.refused_on_copy('invoice_copy', 'INSERT', 'NEW TABLE AS new_rows', 'ar._summary_apply', 'ar.invoice',
	'INSERT INTO pg_temp.invoice_copy SELECT * FROM ar.invoice LIMIT 1',
	'the aging summaries'' trigger refuses to run on a copy of ar.invoice (0A000)');
SELECT pg_temp.refused_on_copy('invoice_copy', 'DELETE', 'OLD TABLE AS old_rows', 'ar._kpi_summary_invoice_apply', 'ar.invoice',
	'DELETE FROM pg_temp.invoice_copy', 'so does the KPI summary''s');
SELECT pg_temp.refused_on_copy('allocation_copy', 'INSERT', 'NEW TABLE AS changed', 'ar._kpi_summary_allocation_apply',
	'ar.allocation', 'INSERT INTO pg_temp.allocation_copy SELECT * FROM ar.allocation LIMIT 1',
	'and on a copy of ar.allocation, the KPI summary''s');
SELECT pg_temp.refused_on_copy('allocation_copy', 'INSERT', 'NEW TABLE AS changed', 'ar._dunning_effect_allocation_changed',
	'ar.allocation', 'INSERT INTO pg_temp.allocation_copy SELECT * FROM ar.allocation LIMIT 1',
	'and the effectiveness summary''s');
SELECT pg_temp.refused_on_copy('notice_copy', 'INSERT', 'NEW TABLE AS new_rows', 'ar._dunning_effect_notice_changed',
	'ar.dunning_notice', 'INSERT INTO pg_temp.notice_copy SELECT * FROM ar.dunning_notice WHERE false',
	'and on a copy of ar.dunning_notice');

-- the re-aging on a distributed ledger replaces this call in the body of
-- ar._aging_summary_expected (ar._age_summaries): a body reworded without
-- it would count waiting changes twice there (it refuses at run time too)
SELECT ok(strpos(ar._sql_body('ar._aging_summary_expected(date)', ARRAY['current_date']),
                 'ar._open_item_summary_current() d') > 0,
          'the body of ar._aging_summary_expected reads ar._open_item_summary_current() d, which the distributed re-aging replaces');

SELECT * FROM finish();
ROLLBACK;
