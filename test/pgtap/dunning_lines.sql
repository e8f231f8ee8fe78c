-- ar._dunning_lines (src/dunning_lines.c), the aggregate ar.run_dunning
-- uses per account for the lines of its notice: against the FILTERed,
-- ordered array_agg it replaces, over random rows (levels 0 to 3, a
-- negative and a NULL one, equal due dates, numbers differing in case);
-- cents as the letter rounds them; its text form; its combine function in a
-- parallel plan; bad input; the invoice table and ids read from it.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(20);

SELECT setseed(0.31);
CREATE TEMP TABLE dl_row AS
SELECT 1 + (g % 70) AS account, g::bigint AS invoice_id,
       CASE WHEN g % 97 = 0 THEN NULL WHEN g % 89 = 0 THEN -1
            WHEN (g % 70) < 10 THEN 0 ELSE floor(random() * 4)::integer END AS level,
       (ARRAY['F-', 'f-', 'A"', 'F-1'])[1 + g % 4] || (g % 50)::text AS number,
       DATE '2026-01-01' + (g % 40) AS due_date,
       round((random() * 5000)::numeric, 2) AS amount,
       round((random() * 5000)::numeric, 3) AS open_amount,
       CASE WHEN g % 13 = 0 THEN NULL ELSE round((random() * 50)::numeric, 4) END AS interest,
       CASE WHEN g % 11 = 0 THEN NULL ELSE 40.00 END AS fixed_fee
  FROM generate_series(1, 4000) g;

-- the lines a notice lists: level 1 and up, else level 0; table order
CREATE TEMP VIEW dl_expected AS
SELECT account,
       CASE WHEN max(level) >= 1
            THEN array_agg(invoice_id ORDER BY due_date, number COLLATE "C", invoice_id) FILTER (WHERE level >= 1)
            ELSE array_agg(invoice_id ORDER BY due_date, number COLLATE "C", invoice_id) FILTER (WHERE level = 0) END AS ids
  FROM dl_row WHERE level >= 0 GROUP BY account;
CREATE TEMP VIEW dl_actual AS
SELECT account, ar._dunning_lines(level, invoice_id, number, due_date, DATE '2026-03-31' - due_date,
                                  amount, open_amount, interest, fixed_fee) AS lines
  FROM dl_row GROUP BY account;

SELECT results_eq('SELECT account, ar._line_ids(lines) FROM dl_actual WHERE lines IS NOT NULL ORDER BY account',
                  'SELECT account, ids FROM dl_expected ORDER BY account',
                  'the listed invoices and their order equal the FILTERed, ordered array_agg, for every account');
SELECT ok((SELECT count(*) FROM dl_expected WHERE ids IS NOT NULL) = 70
          AND (SELECT count(*) FROM dl_row r JOIN dl_row s USING (account, due_date)
                WHERE r.invoice_id < s.invoice_id AND r.level >= 1 AND s.level >= 1) > 100,
	'the rows cover every account, with many lines sharing a due date');

-- amounts as the letter prints them
SELECT is((SELECT ar._dunning_lines(1, 7, 'F"7', DATE '2026-02-01', 58, 0.005, -0.005, 1.2349, NULL)::text),
          '{(7,"F""7",2026-02-01,58,1,0.01,-0.01,1.23,)}',
          'a line prints its number quoted, amounts rounded half away from zero to the cent, unknown fee empty');
SELECT is((SELECT ar._dunning_lines(level, invoice_id, number, due_date, 0, amount, open_amount,
                                    interest, fixed_fee)::text
             FROM dl_row WHERE account = 3),
          (SELECT ('{' || string_agg(format('(%s,"%s",%s,0,%s,%s,%s,%s,%s)', invoice_id, replace(number, '"', '""'),
                                            due_date, level, round(amount, 2), round(open_amount, 2),
                                            round(interest, 2), round(fixed_fee, 2)),
                                     '' ORDER BY due_date, number COLLATE "C", invoice_id) || '}')
             FROM dl_row WHERE account = 3 AND level >= (SELECT least(max(level), 1) FROM dl_row WHERE account = 3)),
          'every field of every line equals round(x, 2) of its row');
SELECT is((SELECT ar._dunning_lines(level, invoice_id, number, due_date, 1, amount, amount, NULL, NULL)::text
             FROM dl_row WHERE false), NULL, 'no row: NULL');
SELECT is((SELECT ar._dunning_lines(l, 1, 'F', DATE '2026-01-01', 1, 1, 1, NULL, NULL)
             FROM (VALUES (NULL::integer), (-1)) v(l))::text, NULL,
          'rows with a NULL or negative level list nothing: NULL, as without rows');

-- text form, combine, parallel plan
SELECT is('{(1,"A",2026-01-05,3,0,10.00,5.50,,40.00)(2,"a""b",2025-12-31,-2,2,-1.20,0.00,0.01,)}'::ar._dunning_lines::text,
          '{(1,"A",2026-01-05,3,0,10.00,5.50,,40.00)(2,"a""b",2025-12-31,-2,2,-1.20,0.00,0.01,)}',
          'a value read from its text form prints the same');
SELECT is(ar._line_ids(ar._dunning_lines_final(ar._dunning_lines_combine(
              '{(5,"B",2026-01-05,3,1,1.00,1.00,,)(6,"Z",2026-01-01,3,0,1.00,1.00,,)}',
              '{(4,"A",2026-01-05,3,2,1.00,1.00,,)}'))),
          ARRAY[4, 5]::bigint[], 'combined states: the lines of both, the level-0 one left out, in table order');
SELECT is(ar._line_ids(ar._dunning_lines_final(ar._dunning_lines_combine(NULL, '{(6,"Z",2026-01-01,3,0,1.00,1.00,,)}'))),
          ARRAY[6]::bigint[], 'combined with nothing: the other state; level 0 listed when no line reached 1');
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		result := result || line || E'\n';
	END LOOP;
	RETURN result;
END $$;
-- an ordinary table: workers do not read temporary ones
CREATE TABLE dl_plain AS SELECT * FROM dl_row;
ANALYZE dl_plain;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of('SELECT ar._dunning_lines(level, invoice_id, number, due_date, 1, amount, open_amount, interest, fixed_fee) FROM dl_plain'),
	'Finalize Aggregate.*Gather.*Partial Aggregate.*Parallel Seq Scan',
	'forced parallelism: partial aggregates in the workers, combined in the leader');
SELECT is((SELECT ar._line_ids(ar._dunning_lines(level, invoice_id, number, due_date, 1, amount, open_amount, interest, fixed_fee))
             FROM dl_plain),
          (SELECT array_agg(invoice_id ORDER BY due_date, number COLLATE "C", invoice_id) FROM dl_row WHERE level >= 1),
          'in parallel, the combined lines are those of a serial run, in table order');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- bad input
SELECT throws_ok($$SELECT '{(1,"A",2026-02-30,3,0,10.00,5.50,,)}'::ar._dunning_lines$$, '22P02',
                 'invalid input syntax for type ar._dunning_lines: "{(1,"A",2026-02-30,3,0,10.00,5.50,,)}"',
                 'an impossible due date is refused, naming the value');
SELECT throws_ok($$SELECT '{(1,"A",2026-02-03,3,0,10.005,5.50,,)}'::ar._dunning_lines$$, '22P02', NULL,
                 'an amount with more than two decimals is refused');
SELECT throws_ok($$SELECT '{(1,A,2026-02-03,3,0,10.00,5.50,,)}'::ar._dunning_lines$$, '22P02', NULL,
                 'an unquoted number is refused');
SELECT throws_ok($$SELECT '{(1,"A",2026-02-03,3,0,10.00,5.50,,)'::ar._dunning_lines$$, '22P02', NULL,
                 'a value without its closing brace is refused');
SELECT throws_ok($$SELECT ar._dunning_lines(1, 1, 'F-1', DATE '2026-01-01', 1, 1e17, 1, NULL, NULL)$$, '22003',
                 'amount 100000000000000000 cannot be printed in a dunning letter',
                 'an amount beyond what a letter prints is an error naming it');
SELECT throws_ok($$SELECT ar._dunning_lines(1, 1, 'F-1', DATE '2026-01-01', 1, 1, 'NaN', NULL, NULL)$$, '22003',
                 'open amount NaN cannot be printed in a dunning letter', 'a NaN amount is an error');
SELECT throws_ok($$SELECT ar._dunning_lines(1, NULL, 'F-1', DATE '2026-01-01', 1, 1, 1, NULL, NULL)$$, '22004',
                 'a dunning line needs its invoice id', 'a line without its invoice is an error');

-- what a notice prints from it
SELECT is(ar._invoice_table('{(2,"F-2",2026-01-05,20,1,1234.50,1000.00,3.21,40.00)(1,"F-10",2026-02-01,-3,1,5.00,5.00,,)}',
                            'EUR', 'en', true),
          E'Invoice  Due date           Amount   Outstanding  Days late  Interest  Fixed fee\n'
          || E'--------------------------------------------------------------------------------\n'
          || E'F-2      05 Jan 2026  1,234.50 EUR  1,000.00 EUR       20 d  3.21 EUR  40.00 EUR\n'
          || E'F-10     01 Feb 2026      5.00 EUR      5.00 EUR          -                     ',
          'the invoice table prints the lines in their order, amounts in the currency given');

-- the variant ar.run_dunning uses (ar._dunning_lines_claimed): each invoice's penalty row and whether
-- it is claimable (false or NULL: 0.00 interest and fee; a NULL row: unknown)
CREATE TEMP TABLE dl_pen AS
SELECT r.*, CASE WHEN r.invoice_id % 17 = 0 THEN NULL
                 ELSE row(3, r.interest, r.fixed_fee, NULL, NULL, NULL)::ar._penalty_computed END AS pen,
       CASE WHEN r.invoice_id % 5 = 0 THEN false WHEN r.invoice_id % 23 = 0 THEN NULL ELSE true END AS claimable
  FROM dl_row r;
SELECT results_eq(
	$$SELECT account, ar._dunning_lines_claimed(level, invoice_id, number, due_date, 7, amount, open_amount, pen, claimable)::text
	    FROM dl_pen GROUP BY account ORDER BY account$$,
	$$SELECT account, ar._dunning_lines(level, invoice_id, number, due_date, 7, amount, open_amount,
	                                    CASE WHEN claimable THEN (pen).interest ELSE 0.00 END,
	                                    CASE WHEN claimable THEN (pen).fixed_fee ELSE 0.00 END)::text
	    FROM dl_pen GROUP BY account ORDER BY account$$,
	'fed the penalty row and whether it is claimable: the same lines as fed its interest and fixed fee');

SELECT * FROM finish();
ROLLBACK;
