-- ar._dunning_totals (src/dunning_totals.c), the aggregate ar.run_dunning
-- uses per account: against the FILTERed count / sum / bool_and aggregates
-- it replaces, over random rows (levels 0 to 3 and a negative one, NULL
-- amounts and totals, several scales); its state's text form; its combine
-- function; bad input.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(20);

SELECT setseed(0.77);
CREATE TEMP TABLE dt_row AS
SELECT 1 + (g % 60) AS account,
       CASE WHEN g % 97 = 0 THEN NULL WHEN g % 89 = 0 THEN -1
            WHEN (g % 60) < 10 THEN 0 ELSE floor(random() * 4)::integer END AS level,
       round((random() * 5000)::numeric, 2) AS open_amount,
       CASE WHEN g % 13 = 0 THEN NULL WHEN g % 7 = 0 THEN round((random() * 50)::numeric, 4)
            ELSE round((random() * 50)::numeric, 2) END AS interest,
       CASE WHEN g % 11 = 0 THEN NULL ELSE 40.00 END AS fixed_fee,
       CASE WHEN g % 53 = 0 THEN NULL ELSE round((random() * 90)::numeric, 3) END AS total,
       CASE WHEN g % 53 = 0 THEN 'rate unknown' END AS problem
  FROM generate_series(1, 3000) g;
-- an account with only level-0 rows, one without any listed row
INSERT INTO dt_row VALUES (100, 0, 10.5, 1, 40, 41, NULL), (100, 0, 0.250, 0, 0, 0, NULL),
                          (101, -1, 7, 1, 1, 2, NULL);

CREATE TEMP VIEW dt_expected AS
SELECT g.account, g.r,
       CASE WHEN g.r >= 1 THEN g.n1 ELSE g.n0 END AS invoice_count,
       CASE WHEN g.r >= 1 THEN g.due1 ELSE g.due0 END AS amount_due,
       CASE WHEN g.r >= 1 THEN g.interest1 ELSE g.interest0 END AS interest,
       CASE WHEN g.r >= 1 THEN g.fee1 ELSE g.fee0 END AS indemnity,
       CASE WHEN g.r >= 1 THEN g.total1 ELSE g.total0 END AS penalties,
       CASE WHEN g.r >= 1 THEN g.problems1 ELSE g.problems0 END AS problems
  FROM (SELECT q.account, max(q.level) AS r,
               count(*) FILTER (WHERE q.level >= 1) AS n1,
               count(*) FILTER (WHERE q.level = 0) AS n0,
               sum(q.open_amount) FILTER (WHERE q.level >= 1) AS due1,
               sum(q.open_amount) FILTER (WHERE q.level = 0) AS due0,
               CASE WHEN bool_and(q.total IS NOT NULL) FILTER (WHERE q.level >= 1)
                    THEN sum(q.interest) FILTER (WHERE q.level >= 1) END AS interest1,
               CASE WHEN bool_and(q.total IS NOT NULL) FILTER (WHERE q.level = 0)
                    THEN sum(q.interest) FILTER (WHERE q.level = 0) END AS interest0,
               -- fixed fees need no rate: the indemnity is known whenever every fee is
               CASE WHEN bool_and(q.fixed_fee IS NOT NULL) FILTER (WHERE q.level >= 1)
                    THEN sum(q.fixed_fee) FILTER (WHERE q.level >= 1) END AS fee1,
               CASE WHEN bool_and(q.fixed_fee IS NOT NULL) FILTER (WHERE q.level = 0)
                    THEN sum(q.fixed_fee) FILTER (WHERE q.level = 0) END AS fee0,
               CASE WHEN bool_and(q.total IS NOT NULL) FILTER (WHERE q.level >= 1)
                    THEN sum(q.total) FILTER (WHERE q.level >= 1) END AS total1,
               CASE WHEN bool_and(q.total IS NOT NULL) FILTER (WHERE q.level = 0)
                    THEN sum(q.total) FILTER (WHERE q.level = 0) END AS total0,
               count(q.problem) FILTER (WHERE q.level >= 1) AS problems1,
               count(q.problem) FILTER (WHERE q.level = 0) AS problems0
          FROM dt_row q WHERE q.level IS NOT NULL GROUP BY q.account) g;

CREATE TEMP VIEW dt_actual AS
SELECT account, (t).r, (t).invoice_count, (t).amount_due, (t).interest, (t).indemnity, (t).penalties, (t).problems
  FROM (SELECT account, ar._dunning_totals(level, open_amount, interest, fixed_fee, total, problem) AS t
          FROM dt_row GROUP BY account) a;

-- the text form of the values compares the scales too
SELECT results_eq(
	'SELECT account, r, invoice_count, amount_due::text, interest::text, indemnity::text, penalties::text, problems FROM dt_actual ORDER BY account',
	'SELECT account, r, invoice_count, amount_due::text, interest::text, indemnity::text, penalties::text, problems FROM dt_expected ORDER BY account',
	'R, counts and sums (values and scales) equal the FILTERed aggregates, for every account');
SELECT ok((SELECT count(*) FROM dt_expected WHERE penalties IS NULL AND r >= 1) > 0
          AND (SELECT count(*) FROM dt_expected WHERE penalties IS NOT NULL AND r >= 1) > 0
          AND (SELECT r FROM dt_expected WHERE account = 100) = 0
          AND (SELECT r FROM dt_expected WHERE account = 101) = -1,
	'the rows cover unknown and known penalties, an account at level 0 and one listing nothing');
SELECT is((SELECT row(amount_due, interest, penalties, invoice_count)::text FROM dt_actual WHERE account = 100),
          '(10.750,1,41,2)', 'level 0 only: its invoices are listed, summed at the largest scale');
SELECT is((SELECT row(r, invoice_count, amount_due, interest, problems)::text FROM dt_actual WHERE account = 101),
          '(-1,0,,,0)', 'no invoice at level 0 or more: nothing listed, no sums');
SELECT is((SELECT ar._dunning_totals(level, open_amount, interest, fixed_fee, total, problem) FROM dt_row WHERE false),
          NULL, 'no row: NULL');

-- text form and combine function
SELECT is((SELECT ar._dunning_totals_transfn(NULL, level, open_amount, interest, fixed_fee, total, problem)::text
             FROM dt_row WHERE account = 100 AND open_amount = 10.5),
          '(0;0,0,f,,,,;1,0,f,10.5,1,40,41)', 'a state prints R, then each listing with its sums at their scales');
SELECT is('(3;2,1,t,10.00,,1.5,3;1,0,f,-2,0,0,0)'::ar._dunning_totals_state::text,
          '(3;2,1,t,10.00,,1.5,3;1,0,f,-2,0,0,0)', 'a state read from its text form prints the same');
SELECT is(ar._dunning_totals_final(ar._dunning_totals_combine(
              '(3;2,1,t,10.00,,1.5,3;1,0,f,-2,0,0,0)', '(5;1,0,f,0.125,2,,1;0,0,f,,,,)'))::text,
          '(5,3,10.125,,,,1)', 'combined states: R the larger, counts and sums added, an unknown total kept');
SELECT is(ar._dunning_totals_final(ar._dunning_totals_combine(NULL, '(0;0,0,f,,,,;2,0,f,3,0.50,80,80.5)'))::text,
          '(0,2,3,0.50,80,80.5,0)', 'combined with nothing: the other state; level 0 listed when R = 0');
SELECT is(ar._dunning_totals_final(ar._dunning_totals_combine(
              '(3;2,1,i,10.00,,80,3;0,0,f,,,,)', '(1;1,0,f,5,1.50,40,41.50;0,0,f,,,,)'))::text,
          '(3,3,15.00,,120,,1)', 'an interest not known (a rate missing) leaves the indemnity known: fixed fees need no rate');
SELECT is((SELECT ar._dunning_totals(l, o, i, f, t, p)::text
             FROM (VALUES (3, 100.00, NULL::numeric, 40.00, NULL::numeric, 'rate unknown'),
                          (3, 50.00, 1.25, 40.00, 41.25, NULL)) v(l, o, i, f, t, p)),
          '(3,2,150.00,,80.00,,1)', 'the engine''s rows for a missing rate (fee, no interest): the indemnity is stated');
SELECT throws_ok($$SELECT '(1;2,0,x,1,1,1,1;0,0,f,,,,)'::ar._dunning_totals_state$$, '22P02',
                 'invalid input syntax for type ar._dunning_totals_state: "(1;2,0,x,1,1,1,1;0,0,f,,,,)"',
                 'a malformed state is refused, naming it');
SELECT throws_ok($$SELECT '(1;-2,0,f,1,1,1,1;0,0,f,,,,)'::ar._dunning_totals_state$$, '22P02', NULL,
                 'a negative count is refused');
-- counts are checked too: a shipped state may hold any count up to 2^63 - 1 (22003, never a wrap)
SELECT throws_ok($$SELECT ar._dunning_totals_final(ar._dunning_totals_combine('(2;9223372036854775807,0,f,1.00,,,;0,0,f,,,,)',
                                                                              '(2;1,0,f,1.00,,,;0,0,f,,,,)'))$$,
                 '22003', 'dunning invoice count out of range', 'combined invoice counts beyond 2^63 - 1 are an error');
SELECT throws_ok($$SELECT '(2;1,2,f,1.00,,,;0,0,f,,,,)'::ar._dunning_totals_state$$, '22P02', NULL,
                 'more problems than invoices in a listing are refused (every problem is a listed invoice''s)');
SELECT throws_ok($$SELECT ar._dunning_totals_transfn('(2;9223372036854775807,0,f,1.00,,,;0,0,f,,,,)',
                                                     1, 1.00, NULL, NULL, NULL, NULL)$$,
                 '22003', 'dunning invoice count out of range', 'one more invoice on a count of 2^63 - 1 is an error');
SELECT is(ar._dunning_totals(1, 123456789012345678901234567890123456.78, 1.5, NULL, NULL, NULL)::text,
          '(1,1,123456789012345678901234567890123456.78,,,,0)',
          'a 38-digit amount at scale 2 is summed');
SELECT throws_ok($$SELECT ar._dunning_totals(1, 'NaN'::numeric, 0, 0, 0, NULL)$$, '22023',
                 'dunning amount cannot be NaN', 'a NaN amount is an error, not a silent sum');

-- the variant ar.run_dunning uses (ar._dunning_totals_claimed): each invoice's penalty row and whether
-- it is claimable, as CASE WHEN claimable THEN (pen).field ELSE 0.00 END
-- gave the fields (claimable false or NULL: 0.00 and no problem; a NULL
-- row: NULL fields)
CREATE TEMP TABLE dt_pen AS
SELECT r.*, CASE WHEN g % 17 = 0 THEN NULL
                 ELSE row(3, r.interest, r.fixed_fee, r.total, NULL, r.problem)::ar._penalty_computed END AS pen,
       CASE WHEN g % 5 = 0 THEN false WHEN g % 23 = 0 THEN NULL ELSE true END AS claimable
  FROM (SELECT row_number() OVER () AS g, d.* FROM dt_row d) r;
SELECT results_eq(
	$$SELECT account, t::text FROM (SELECT account, ar._dunning_totals_claimed(level, open_amount, pen, claimable) AS t
	                                   FROM dt_pen GROUP BY account) a ORDER BY account$$,
	$$SELECT account, t::text FROM (SELECT account,
	                                       ar._dunning_totals(level, open_amount,
	                                                          CASE WHEN claimable THEN (pen).interest ELSE 0.00 END,
	                                                          CASE WHEN claimable THEN (pen).fixed_fee ELSE 0.00 END,
	                                                          CASE WHEN claimable THEN (pen).total ELSE 0.00 END,
	                                                          CASE WHEN claimable THEN (pen).problem END) AS t
	                                  FROM dt_pen GROUP BY account) a ORDER BY account$$,
	'fed the penalty row and whether it is claimable: the same R, counts, sums and scales as fed its fields');
SELECT ok((SELECT count(*) FILTER (WHERE pen IS NULL AND claimable) > 0 AND count(*) FILTER (WHERE NOT claimable) > 0
                  AND count(*) FILTER (WHERE claimable IS NULL) > 0 AND count(*) FILTER (WHERE claimable AND (pen).problem IS NOT NULL) > 0
             FROM dt_pen WHERE level >= 0),
	'the rows cover NULL penalty rows, penalties not claimable (false and NULL) and problems');

SELECT * FROM finish();
ROLLBACK;
