-- ar._dunning_account (src/dunning_pass.c), the pass of ar.run_dunning per
-- account with each invoice's penalty computed inline: its state type's
-- text form (round trip, bad input), its combine function; against what it
-- replaces (ar._penalty_compute's row fed to ar._dunning_totals_claimed and
-- ar._dunning_lines_claimed, and the two FILTERed min(number || ': ' ||
-- problem)), over random invoices (levels -1 to 3 and NULL, several
-- regimes, currencies and scales, contract rates, payments, penalties not
-- claimable, rates not known, fixed fees not known); an account without a
-- listed row; the same errors.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(28);

CREATE FUNCTION pg_temp.plan_lines(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query;
END $$;

SELECT setseed(0.31);
CREATE TEMP TABLE dp_row AS
SELECT 1 + (g % 70) AS account, g AS id,
       CASE WHEN g % 5 = 0 THEN 'F' || g ELSE 'FA-' || lpad((g * 7919 % 10007)::text, 5, '0') END AS number,
       CASE WHEN g % 97 = 0 THEN NULL WHEN g % 89 = 0 THEN -1
            WHEN (g % 70) < 10 THEN 0 ELSE floor(random() * 4)::integer END AS list_level,
       CASE WHEN g % 61 = 0 THEN 0 ELSE floor(random() * 4)::integer END AS inv_level,
       d.due_date, d.amount,
       CASE WHEN g % 10 = 0 THEN round(d.amount / 3, 2) ELSE d.amount END AS open_amount,
       (ARRAY['FR_LME', 'FR_LME', 'EU_2011_7', 'DE_B2B', 'UK_LPA', 'CONTRACT'])[1 + g % 6] AS regime,
       CASE WHEN g % 6 = 5 THEN 9.5 WHEN g % 17 = 0 THEN 12.25 END AS contract_rate,
       -- GBP under UK_LPA; CHF has no fixed fee under the EUR regimes
       CASE WHEN g % 6 = 4 THEN 'GBP' WHEN g % 23 = 0 THEN 'CHF' ELSE 'EUR' END AS currency,
       -- rates not known after their series' end: a problem
       CASE WHEN g % 41 = 0 THEN DATE '2031-01-01' ELSE DATE '2026-03-31' END AS as_of,
       g % 7 <> 0 AS claimable
  FROM generate_series(1, 2500) g
 CROSS JOIN LATERAL (SELECT DATE '2026-03-31' - 100 + floor(random() * 121)::integer + g * 0 AS due_date,
                            CASE WHEN g % 19 = 0 THEN round((random() * 5000)::numeric, 3)
                                 ELSE round((20 + random() * 5000)::numeric, 2) END AS amount) d;
-- payments of the partly paid (by the due date, so within as_of)
CREATE TEMP TABLE dp_paid AS
SELECT r.id, ARRAY[r.due_date + 1, r.due_date] AS dates, ARRAY[r.amount - r.open_amount - 1, 1] AS amounts
  FROM dp_row r WHERE r.open_amount <> r.amount;
-- an account whose rows are all out of the listings
INSERT INTO dp_row VALUES (100, 9001, 'X1', -1, 0, DATE '2026-04-10', 10, 10, 'FR_LME', NULL, 'EUR', DATE '2026-03-31', true),
                          (101, 9002, 'X2', NULL, 1, DATE '2026-01-10', 10, 10, 'FR_LME', NULL, 'EUR', DATE '2031-01-01', true),
-- numbers with the text form's delimiters, in lines and first problems
                          (102, 9003, 'Q"1;)}', 1, 1, DATE '2026-01-10', 10, 10, 'FR_LME', NULL, 'EUR', DATE '2031-01-01', true),
                          (102, 9004, '(t;"";', 0, 0, DATE '2026-01-11', 10, 10, 'FR_LME', NULL, 'EUR', DATE '2031-01-01', true);
-- an account whose every invoice has a problem, numbers decreasing and of
-- varying lengths, at levels 1 and 0: its first problems replaced at every
-- row, in the state's room or not
INSERT INTO dp_row
SELECT 103, 9100 + g, repeat('Z', (g * 5) % 7) || (1000 - g)::text, 1, g % 2, DATE '2026-01-10', 10, 10, 'FR_LME', NULL,
       'EUR', DATE '2031-01-01', true
  FROM generate_series(1, 60) g;

CREATE TEMP VIEW dp_input AS
SELECT r.*, r.as_of - r.due_date AS days_late, p.dates AS paid_dates, p.amounts AS paid_amounts
  FROM dp_row r LEFT JOIN dp_paid p ON p.id = r.id;

-- what ar.run_dunning computed before
CREATE TEMP VIEW dp_expected AS
SELECT g.account, (g.t).r, (g.t).invoice_count, (g.t).amount_due, (g.t).interest, (g.t).indemnity, (g.t).penalties,
       g.lines::text AS lines, (g.t).problems,
       CASE WHEN (g.t).r >= 1 THEN g.problem1 ELSE g.problem0 END AS first_problem
  FROM (SELECT q.account,
               ar._dunning_totals_claimed(q.list_level, q.open_amount, q.pen, q.claimable) AS t,
               ar._dunning_lines_claimed(q.list_level, q.id, q.number, q.due_date, q.days_late, q.amount,
                                         q.open_amount, q.pen, q.claimable) AS lines,
               min(q.number || ': ' || q.problem) FILTER (WHERE q.problem IS NOT NULL AND q.inv_level >= 1) AS problem1,
               min(q.number || ': ' || q.problem) FILTER (WHERE q.problem IS NOT NULL AND q.inv_level = 0) AS problem0
          FROM (SELECT p.*, CASE WHEN p.claimable THEN (p.pen).problem END AS problem
                  FROM (SELECT i.*, ar._penalty_compute(i.regime, i.amount, i.due_date, i.as_of, i.paid_dates, i.paid_amounts,
                                                        i.contract_rate, i.currency, false) AS pen
                          FROM dp_input i) p) q
         GROUP BY q.account) g;

CREATE TEMP VIEW dp_actual AS
SELECT g.account, (g.t).r, (g.t).invoice_count, (g.t).amount_due, (g.t).interest, (g.t).indemnity, (g.t).penalties,
       (g.t).lines::text AS lines, (g.t).problems, (g.t).first_problem
  FROM (SELECT i.account,
               ar._dunning_account(i.list_level, i.id, i.number, i.due_date, i.days_late, i.amount, i.open_amount,
                                   i.inv_level, i.regime, i.amount, i.due_date, i.as_of, i.paid_dates, i.paid_amounts,
                                   i.contract_rate, i.currency, i.claimable) AS t
          FROM dp_input i GROUP BY i.account) g;

-- the cases the comparison must cover
SELECT ok((SELECT count(*) FILTER (WHERE (pen).problem IS NOT NULL AND claimable) > 10
              AND count(*) FILTER (WHERE (pen).problem IS NOT NULL AND (pen).fixed_fee IS NULL) > 0
              AND count(*) FILTER (WHERE (pen).problem IS NOT NULL AND (pen).fixed_fee IS NOT NULL) > 0
              AND count(*) FILTER (WHERE NOT claimable) > 100
              AND count(*) FILTER (WHERE paid_dates IS NOT NULL) > 100
              AND count(DISTINCT regime) = 5
              FROM (SELECT i.*, ar._penalty_compute(i.regime, i.amount, i.due_date, i.as_of, i.paid_dates, i.paid_amounts,
                                                    i.contract_rate, i.currency, false) AS pen FROM dp_input i) s),
          'the rows hold problems (fees known and not), penalties not claimable, payments and every regime');
SELECT ok((SELECT count(*) FROM dp_expected WHERE first_problem IS NOT NULL) > 5
          AND (SELECT count(*) FROM dp_expected WHERE interest IS NULL AND r >= 0) > 5,
          'accounts with a first problem and with penalties not computed');

SELECT set_eq('SELECT * FROM dp_actual', 'SELECT * FROM dp_expected',
              'ar._dunning_account equals the penalty row fed to the totals, the lines and the first problems');
SELECT is((SELECT row(r, invoice_count, amount_due, lines, first_problem)::text FROM dp_actual WHERE account = 100),
          '(-1,0,,,)', 'an account with no listed row: R -1, no invoice, no lines, no problem');
SELECT is((SELECT row(r, invoice_count, lines, first_problem)::text FROM dp_actual WHERE account = 101),
          '(,,,)', 'an account whose only row has no listing level: no figures, no lines, and no problem (none is listed)');

SELECT is((SELECT first_problem FROM dp_actual WHERE account = 103), (SELECT first_problem FROM dp_expected WHERE account = 103),
          'an account whose first problems change at every row');
SELECT is((SELECT first_problem FROM dp_actual WHERE account = 102), 'Q"1;)}: no known rate for series ECB_MRO on 2026-07-01',
          'a first problem with the text form''s delimiters');

-- the state of each account (the transition function without the final)
CREATE AGGREGATE pg_temp.dp_state(integer, bigint, text, date, integer, numeric, numeric, integer, text, numeric,
                                  date, date, date[], numeric[], numeric, text, boolean) (
	SFUNC = ar._dunning_account_transfn, STYPE = ar._dunning_account_state);
CREATE TEMP TABLE dp_states AS
SELECT i.account, i.id % 2 AS half,
       pg_temp.dp_state(i.list_level, i.id, i.number, i.due_date, i.days_late, i.amount, i.open_amount, i.inv_level,
                        i.regime, i.amount, i.due_date, i.as_of, i.paid_dates, i.paid_amounts, i.contract_rate,
                        i.currency, i.claimable) AS s
  FROM dp_input i GROUP BY GROUPING SETS ((i.account), (i.account, i.id % 2));
CREATE TEMP VIEW dp_final AS
SELECT d.account, d.half, ar._dunning_account_final(d.s) AS t, ar._dunning_account_final(d.s::text::ar._dunning_account_state) AS t2
  FROM dp_states d;

SELECT is((SELECT count(*) FROM dp_states WHERE s::text::ar._dunning_account_state::text IS DISTINCT FROM s::text
                                             OR s::text NOT LIKE '(_;(%);%;%;{%})'), 0::bigint,
          'the text form of every state reads back to the same text');
SELECT is((SELECT count(*) FROM dp_final WHERE t::text IS DISTINCT FROM t2::text), 0::bigint,
          'a state read back from its text gives the same figures, lines and first problem');
SELECT set_eq($$SELECT d.account, (d.t).r, (d.t).invoice_count, (d.t).amount_due, (d.t).interest, (d.t).indemnity,
                       (d.t).penalties, (d.t).lines::text, (d.t).problems, (d.t).first_problem
                  FROM dp_final d WHERE d.half IS NULL$$,
              'SELECT * FROM dp_actual', 'the states give what the aggregate gives');
-- the two halves of each account combined, in both orders, and with NULL
SELECT set_eq($$SELECT a.account, (t).r, (t).invoice_count, (t).amount_due, (t).interest, (t).indemnity,
                       (t).penalties, (t).lines::text, (t).problems, (t).first_problem
                  FROM (SELECT account, ar._dunning_account_final(ar._dunning_account_combine(
                                   (SELECT s FROM dp_states d WHERE d.account = a.account AND d.half = 0),
                                   (SELECT s FROM dp_states d WHERE d.account = a.account AND d.half = 1))) AS t
                          FROM (SELECT DISTINCT account FROM dp_states) a
                        UNION ALL
                        SELECT account, ar._dunning_account_final(ar._dunning_account_combine(
                                   (SELECT s FROM dp_states d WHERE d.account = a.account AND d.half = 1),
                                   (SELECT s FROM dp_states d WHERE d.account = a.account AND d.half = 0))) AS t
                          FROM (SELECT DISTINCT account FROM dp_states) a) a$$,
              'SELECT * FROM dp_actual', 'the halves of each account combined (either order) give the whole');
SELECT is((SELECT count(*) FROM dp_states d
            WHERE d.half IS NULL
              AND (ar._dunning_account_combine(d.s, NULL)::text IS DISTINCT FROM d.s::text
                   OR ar._dunning_account_combine(NULL, d.s)::text IS DISTINCT FROM d.s::text)), 0::bigint,
          'combined with no rows (NULL), a state is itself');

-- a combine called without a collation (directly, or by Citus's
-- coordinator for states shipped as text) keeps the first problem under the
-- database's default, as min(text) would
SELECT is((ar._dunning_account_final(ar._dunning_account_combine('(t;(1;1,1,f,8.00,,,;0,0,f,,,,);"B-1: x";;{})',
                                                                 '(t;(1;1,1,f,8.00,,,;0,0,f,,,,);"A-1: y";;{})'))).first_problem,
          'A-1: y', 'two states with different first problems, combined without a collation: the lesser');
SELECT is((ar._dunning_account_final(ar._dunning_account_combine('(t;(1;1,1,f,8.00,,,;0,0,f,,,,);"A-1: y";;{})',
                                                                 '(t;(1;1,1,f,8.00,,,;0,0,f,,,,);"B-1: x";;{})'))).first_problem,
          'A-1: y', 'in either order');

-- the counts of combined states are checked (a shipped state may hold any count)
SELECT throws_ok($$SELECT ar._dunning_account_combine('(t;(1;9223372036854775807,0,f,8.00,,,;0,0,f,,,,);;;{})',
                                                      '(t;(1;1,0,f,8.00,,,;0,0,f,,,,);;;{})')$$,
                 '22003', 'dunning invoice count out of range', 'combined invoice counts beyond 2^63 - 1 are an error');

-- bad text is refused, naming the value
SELECT throws_ok($$SELECT 'x'::ar._dunning_account_state$$, '22P02',
                 'invalid input syntax for type ar._dunning_account_state: "x"', 'text not in parentheses is refused');
SELECT throws_ok($$SELECT '(t;(1;1,0,f,8.00,,,;0,0,f,,,,);"FA-1: x;;{})'::ar._dunning_account_state$$, '22P02',
                 'invalid input syntax for type ar._dunning_account_state: "(t;(1;1,0,f,8.00,,,;0,0,f,,,,);"FA-1: x;;{})"',
                 'an unterminated problem is refused');
SELECT throws_ok($$SELECT '(t;(1;-1,0,f,8.00,,,;0,0,f,,,,);;;{})'::ar._dunning_account_state$$, '22P02',
                 'invalid input syntax for type ar._dunning_totals_state: "(1;-1,0,f,8.00,,,;0,0,f,,,,)"',
                 'bad totals are refused by their own type''s input');
SELECT throws_ok($$SELECT '(f;(0;0,0,f,,,,;0,0,f,,,,);;;{(1,"F",2026-02-30,1,1,1.00,1.00,,)})'::ar._dunning_account_state$$,
                 '22P02', 'invalid input syntax for type ar._dunning_lines: "{(1,"F",2026-02-30,1,1,1.00,1.00,,)}"',
                 'bad lines are refused by their own type''s input');

-- the engine's errors, as ar._penalty_compute raises them, claimable or not
SELECT throws_ok($$SELECT ar._dunning_account(1, 1, 'F1', DATE '2026-01-01', 89, 100, 100, 1, 'FR_LME', 100,
                                              DATE '2026-01-01', DATE '2026-03-31', NULL, NULL, -1, 'EUR', false)$$,
                 '22023', 'contract_rate must be positive, not -1.00',
                 'a bad contract rate is an error even when the penalty is not claimable');
SELECT throws_ok($$SELECT ar._dunning_account(1, 1, 'F1', DATE '2026-01-01', 89, 100, 100, 1, 'FR_LME', 100,
                                              DATE '2026-01-01', DATE '2026-03-31', ARRAY[DATE '2026-02-01'], NULL,
                                              NULL, 'EUR', true)$$,
                 '22023', 'payment dates and payment amounts must both be given or both be NULL',
                 'payments given by half are an error');

-- ar._dunning_level: levels[width_bucket(days late, offsets)], the SQL it
-- replaces in the pass, for every day around every offset of policies read
-- from a table (the arrays then have the short header of a stored value),
-- given literally, with other lower bounds, empty, and too large for the
-- stack copy (detoasted)
CREATE TEMP TABLE level_policy (offsets integer[], levels integer[]);
INSERT INTO level_policy VALUES ('{-5,3,15,30,45,60}', '{0,1,2,3,4,5}'), ('{0}', '{7}'), ('{10,20}', '{1,2}'),
       ('[0:2]={1,8,30}', '{1,2,3}'), ('{1,8,30}', '[0:2]={1,2,3}'), ('{}', '{}'), ('{5}', '{}'),
       ((SELECT array_agg(g * 3 ORDER BY g) FROM generate_series(1, 200) g), (SELECT array_agg(g ORDER BY g) FROM generate_series(1, 200) g));
SELECT is((SELECT count(*) FROM level_policy p, generate_series(-10, 620) d
            WHERE ar._dunning_level(d, p.offsets, p.levels) IS DISTINCT FROM p.levels[width_bucket(d, p.offsets)]),
          0::bigint, 'ar._dunning_level is levels[width_bucket(days, offsets)] for stored arrays, other bounds, empty and large ones');
SELECT is(ar._dunning_level(15, '{-5,3,15,30,45,60}', '{0,1,2,3,4,5}'), 2, 'a literal policy: 15 days late reach level 2');
SELECT is(ar._dunning_level(-6, '{-5,3,15,30,45,60}', '{0,1,2,3,4,5}'), NULL, 'before the first offset: NULL');
SELECT throws_ok($$SELECT ar._dunning_level(4, '{1,NULL,8}', '{1,2,3}')$$, '22023',
                 'the offsets of a dunning policy must be a one-dimensional integer array without nulls',
                 'offsets with a NULL are refused, as width_bucket refuses them');

-- a TOAST pointer has a 1-byte header with no size: taken for a short
-- inline array, it was copied with a length of -1 (the server crashed,
-- signal 11), from a PL/pgSQL variable (expanded) or a value stored out of
-- line; as every immutable function of ar, any role may call it
DO $$
DECLARE
	o integer[] := '{-5,3,15,30,45,60}';
	l integer[] := '{0,1,2,3,4,5}';
BEGIN
	CREATE TEMP TABLE level_expanded AS SELECT ar._dunning_level(15, o, l) AS level;
END $$;
SELECT is((SELECT level FROM level_expanded), 2, 'ar._dunning_level of arrays held by PL/pgSQL variables (expanded)');
CREATE TEMP TABLE level_external (offsets integer[], levels integer[]);
ALTER TABLE level_external ALTER offsets SET STORAGE EXTERNAL, ALTER levels SET STORAGE EXTERNAL;
INSERT INTO level_external SELECT array_agg(g * 3 ORDER BY g), array_agg(g ORDER BY g) FROM generate_series(1, 1000) g;
SELECT is((SELECT ar._dunning_level(31, offsets, levels) FROM level_external), 10,
          'ar._dunning_level of arrays stored out of line (TOAST pointers)');

-- the payments of a partly paid invoice (the pass's subquery) are read from
-- allocation_invoice alone: it includes the amounts (no heap fetch per
-- allocation, issue 17); the other scans are disabled so that the planner
-- shows what the index can serve even on this empty table
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT ok((SELECT string_agg(p, ' ') FROM pg_temp.plan_lines($$
           SELECT ROW(array_agg(a.allocated_on), array_agg(a.amount))::ar._dunning_payments
             FROM ar.allocation a WHERE a.invoice_id = 1 AND a.allocated_on <= DATE '2026-03-31'$$) p)
          LIKE '%Index Only Scan using allocation_invoice on allocation%',
          'the payments of an invoice up to a date: an index-only scan of allocation_invoice');
RESET enable_seqscan;
RESET enable_bitmapscan;

SELECT * FROM finish();
ROLLBACK;
