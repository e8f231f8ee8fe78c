-- pgTAP: properties of the ar.aging aggregate on random data.  The seed is
-- printed first; "pg_prove --set seed=0.123 ..." replays a failure.
--   * it equals the hand-written SQL (five sum() FILTER plus the total),
--     whole-table and grouped (hash, sort, spilling hash);
--   * the parallel plan (partial states combined) equals the serial one;
--   * combine(state(A), state(B)) = state(A + B) through the text form,
--     for random splits, and combine is associative and commutative;
--   * the state survives its text and binary forms.
BEGIN;
CREATE EXTENSION ar_collect;

SELECT plan(38);

--------------------------------------------------------------------------
-- The catalog: a real aggregate with a state type of its own.
--------------------------------------------------------------------------
SELECT has_type('ar', 'aging_buckets', 'type ar.aging_buckets exists');
SELECT has_type('ar', 'aging_state', 'type ar.aging_state exists');
SELECT is_aggregate('ar', 'aging', ARRAY['numeric', 'date', 'date'],
	'ar.aging(numeric, date, date) is an aggregate');
SELECT is((SELECT aggtranstype::regtype::text FROM pg_aggregate
            WHERE aggfnoid = 'ar.aging(numeric, date, date)'::regprocedure),
	'ar.aging_state', 'the state type is ar.aging_state, not internal');
SELECT is((SELECT aggcombinefn::text FROM pg_aggregate
            WHERE aggfnoid = 'ar.aging(numeric, date, date)'::regprocedure),
	'ar.aging_combine', 'the combine function is ar.aging_combine');
SELECT is((SELECT string_agg(DISTINCT proparallel::text, ',') FROM pg_proc
            WHERE oid IN ('ar.aging(numeric, date, date)'::regprocedure,
                          'ar.aging_transfn(ar.aging_state, numeric, date, date)'::regprocedure,
                          'ar.aging_combine(ar.aging_state, ar.aging_state)'::regprocedure,
                          'ar.aging_final(ar.aging_state)'::regprocedure)),
	's', 'the aggregate and its support functions are parallel safe');
SELECT is((SELECT count(*)::integer FROM pg_proc
            WHERE oid IN ('ar.aging_transfn(ar.aging_state, numeric, date, date)'::regprocedure,
                          'ar.aging_combine(ar.aging_state, ar.aging_state)'::regprocedure)
              AND NOT proisstrict),
	2, 'the transition and combine functions are not strict');
SELECT is(ARRAY(SELECT attname::text FROM pg_attribute
                 WHERE attrelid = 'ar.aging_buckets'::regclass AND attnum > 0 ORDER BY attnum),
	ARRAY['not_due', 'd1_30', 'd31_60', 'd61_90', 'd91_plus', 'total'],
	'ar.aging_buckets has the contract''s columns');

--------------------------------------------------------------------------
-- Random data.  A regular table, since temporary ones are never scanned
-- in parallel; the transaction is rolled back at the end.
--------------------------------------------------------------------------
\if :{?seed}
\else
SELECT random() * 2 - 1 AS seed \gset
\endif
SELECT diag('random seed: ' || :'seed');
SELECT setseed(:seed);

-- Invoices as they come: cents mostly, some other scales, credit notes,
-- a few NULLs in each input, as_of varying per row.
CREATE TABLE tap_aging_rows AS
SELECT g AS id,
       (random() * 19)::integer AS grp,
       CASE WHEN random() < 0.01 THEN NULL
            ELSE round(((random() - 0.1) * 10 ^ (random() * 9))::numeric,
                       (ARRAY[2, 2, 2, 2, 0, 1, 3, 4])[1 + (random() * 7)::integer]) END AS amount,
       CASE WHEN random() < 0.01 THEN NULL
            ELSE DATE '2024-06-30' - (random() * 400 - 100)::integer END AS due_date,
       CASE WHEN random() < 0.005 THEN NULL
            ELSE DATE '2024-06-30' + (random() * 10)::integer END AS as_of
  FROM generate_series(1, 30000) AS g;
-- and some awkward ones: tiny, up to 20 digits after the point, large
INSERT INTO tap_aging_rows
SELECT 30000 + g, (random() * 19)::integer,
       round(((random() - 0.5) * 10 ^ (random() * 30 - 18))::numeric, (random() * 20)::integer),
       DATE '2024-06-30' - (random() * 200 - 50)::integer, DATE '2024-06-30'
  FROM generate_series(1, 3000) AS g;
ANALYZE tap_aging_rows;

-- The hand-written SQL the aggregate replaces.
CREATE TEMP VIEW tap_aging_sql AS
SELECT grp,
       coalesce(sum(amount) FILTER (WHERE as_of - due_date <= 0), 0) AS not_due,
       coalesce(sum(amount) FILTER (WHERE as_of - due_date BETWEEN 1 AND 30), 0) AS d1_30,
       coalesce(sum(amount) FILTER (WHERE as_of - due_date BETWEEN 31 AND 60), 0) AS d31_60,
       coalesce(sum(amount) FILTER (WHERE as_of - due_date BETWEEN 61 AND 90), 0) AS d61_90,
       coalesce(sum(amount) FILTER (WHERE as_of - due_date > 90), 0) AS d91_plus,
       coalesce(sum(amount) FILTER (WHERE as_of IS NOT NULL AND due_date IS NOT NULL), 0) AS total
  FROM tap_aging_rows GROUP BY GROUPING SETS ((grp), ());

-- EXPLAIN text of a query.
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

-- The bare state of a row set, to test combine.
CREATE AGGREGATE pg_temp.aging_state_of(numeric, date, date) (
	SFUNC = ar.aging_transfn, STYPE = ar.aging_state);

--------------------------------------------------------------------------
-- Against the hand-written SQL
--------------------------------------------------------------------------
SELECT is((SELECT ar.aging(amount, due_date, as_of) FROM tap_aging_rows),
	(SELECT ROW(not_due, d1_30, d31_60, d61_90, d91_plus, total)::ar.aging_buckets
	   FROM tap_aging_sql WHERE grp IS NULL),
	'whole table: ar.aging equals the five FILTER sums and the total');
SELECT is((SELECT (ar.aging(amount, due_date, as_of)).total::text FROM tap_aging_rows),
	(SELECT sum(amount)::text FROM tap_aging_rows WHERE due_date IS NOT NULL AND as_of IS NOT NULL),
	'the total is sum(amount) over the aged rows, at the same scale');
SELECT is((SELECT count(DISTINCT scale(x))
             FROM (SELECT ar.aging(amount, due_date, as_of) AS b FROM tap_aging_rows) AS a,
                  unnest(ARRAY[(b).not_due, (b).d1_30, (b).d31_60, (b).d61_90, (b).d91_plus, (b).total]) AS x),
	1::bigint, 'every bucket is printed at one scale');
SELECT set_eq(
	$$ SELECT grp, (ar.aging(amount, due_date, as_of)).* FROM tap_aging_rows GROUP BY grp $$,
	$$ SELECT * FROM tap_aging_sql WHERE grp IS NOT NULL $$,
	'grouped (hash aggregate): equal to the FILTER sums in every group');
SET LOCAL enable_hashagg = off;
SELECT set_eq(
	$$ SELECT grp, (ar.aging(amount, due_date, as_of)).* FROM tap_aging_rows GROUP BY grp $$,
	$$ SELECT * FROM tap_aging_sql WHERE grp IS NOT NULL $$,
	'grouped (sorted group aggregate): equal to the FILTER sums in every group');
RESET enable_hashagg;
SET LOCAL work_mem = '64kB';
SELECT set_eq(
	$$ SELECT id % 5000 AS g, (ar.aging(amount, due_date, as_of)).* FROM tap_aging_rows GROUP BY 1 $$,
	$$ SELECT id % 5000 AS g,
	          coalesce(sum(amount) FILTER (WHERE as_of - due_date <= 0), 0) AS not_due,
	          coalesce(sum(amount) FILTER (WHERE as_of - due_date BETWEEN 1 AND 30), 0) AS d1_30,
	          coalesce(sum(amount) FILTER (WHERE as_of - due_date BETWEEN 31 AND 60), 0) AS d31_60,
	          coalesce(sum(amount) FILTER (WHERE as_of - due_date BETWEEN 61 AND 90), 0) AS d61_90,
	          coalesce(sum(amount) FILTER (WHERE as_of - due_date > 90), 0) AS d91_plus,
	          coalesce(sum(amount) FILTER (WHERE as_of IS NOT NULL AND due_date IS NOT NULL), 0) AS total
	     FROM tap_aging_rows GROUP BY 1 $$,
	'5000 groups in 64kB of work_mem (spilling hash aggregate): equal to the FILTER sums');
RESET work_mem;
SELECT is((SELECT ar.aging(amount, due_date, as_of ORDER BY random())::text FROM tap_aging_rows),
	(SELECT ar.aging(amount, due_date, as_of)::text FROM tap_aging_rows),
	'the input order does not matter, scale included');
SELECT is((SELECT ar.aging(amount, due_date, as_of ORDER BY scale(amount) DESC)::text FROM tap_aging_rows),
	(SELECT ar.aging(amount, due_date, as_of ORDER BY scale(amount))::text FROM tap_aging_rows),
	'rescaling as larger scales arrive gives the same as starting at the largest');

--------------------------------------------------------------------------
-- Serial against parallel
--------------------------------------------------------------------------
SET LOCAL max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE tap_serial AS
SELECT grp, ar.aging(amount, due_date, as_of)::text AS b
  FROM tap_aging_rows GROUP BY GROUPING SETS ((grp), ());
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of('SELECT ar.aging(amount, due_date, as_of) FROM tap_aging_rows'),
	'Finalize Aggregate.*Gather.*Partial Aggregate.*Parallel Seq Scan',
	'forced parallelism: partial aggregates in the workers, finalized in the leader');
SELECT matches(pg_temp.plan_of('SELECT grp, ar.aging(amount, due_date, as_of) FROM tap_aging_rows GROUP BY grp'),
	'Finalize \w*Aggregate.*Gather.*Partial \w*Aggregate.*Parallel Seq Scan',
	'forced parallelism, grouped: partial aggregates in the workers');
CREATE TEMP TABLE tap_parallel AS
SELECT NULL::integer AS grp, ar.aging(amount, due_date, as_of)::text AS b FROM tap_aging_rows;
INSERT INTO tap_parallel
SELECT grp, ar.aging(amount, due_date, as_of)::text FROM tap_aging_rows GROUP BY grp;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
SELECT is((SELECT b FROM tap_parallel WHERE grp IS NULL), (SELECT b FROM tap_serial WHERE grp IS NULL),
	'parallel equals serial, whole table, scale included');
SELECT set_eq('SELECT grp, b FROM tap_parallel WHERE grp IS NOT NULL',
	'SELECT grp, b FROM tap_serial WHERE grp IS NOT NULL',
	'parallel equals serial in every group, scale included');

--------------------------------------------------------------------------
-- combine(state(A), state(B)) = state(A + B), through the text form
--------------------------------------------------------------------------
CREATE TEMP TABLE tap_split AS
SELECT k, id, random() < k / 21.0 AS side_a
  FROM generate_series(1, 20) AS k, tap_aging_rows;
CREATE TEMP TABLE tap_split_state AS
SELECT k,
       pg_temp.aging_state_of(amount, due_date, as_of) FILTER (WHERE side_a)::text AS a,
       pg_temp.aging_state_of(amount, due_date, as_of) FILTER (WHERE NOT side_a)::text AS b,
       pg_temp.aging_state_of(amount, due_date, as_of)::text AS whole
  FROM tap_split JOIN tap_aging_rows USING (id)
 GROUP BY k;
SELECT is((SELECT count(*)::integer FROM tap_split_state
            WHERE ar.aging_combine(a::ar.aging_state, b::ar.aging_state)::text IS DISTINCT FROM whole),
	0, 'combine(state(A), state(B)) = state(A + B) for 20 random splits');
SELECT is((SELECT count(*)::integer FROM tap_split_state
            WHERE ar.aging_final(ar.aging_combine(a::ar.aging_state, b::ar.aging_state))
                  IS DISTINCT FROM (SELECT ar.aging(amount, due_date, as_of) FROM tap_aging_rows)),
	0, 'final(combine(state(A), state(B))) = ar.aging over A + B');

CREATE TEMP TABLE tap_parts AS
SELECT part, pg_temp.aging_state_of(amount, due_date, as_of) AS s
  FROM (SELECT (random() * 2)::integer AS part, * FROM tap_aging_rows) AS r
 GROUP BY part;
SELECT is(
	(SELECT ar.aging_combine(p0.s, ar.aging_combine(p1.s, p2.s))::text
	   FROM tap_parts p0, tap_parts p1, tap_parts p2 WHERE (p0.part, p1.part, p2.part) = (0, 1, 2)),
	(SELECT ar.aging_combine(ar.aging_combine(p2.s, p0.s), p1.s)::text
	   FROM tap_parts p0, tap_parts p1, tap_parts p2 WHERE (p0.part, p1.part, p2.part) = (0, 1, 2)),
	'combine is associative and commutative');
SELECT is((SELECT count(*)::integer FROM tap_parts
            WHERE ar.aging_combine(s, NULL)::text IS DISTINCT FROM s::text
               OR ar.aging_combine(NULL, s)::text IS DISTINCT FROM s::text),
	0, 'NULL (no rows) is the identity of combine');

--------------------------------------------------------------------------
-- The state's text and binary forms
--------------------------------------------------------------------------
CREATE TEMP TABLE tap_states AS
SELECT pg_temp.aging_state_of(amount, due_date, as_of) AS s
  FROM tap_aging_rows GROUP BY grp
UNION ALL
SELECT s::ar.aging_state FROM unnest(ARRAY[
	'(0,0,0,0,0)',
	'(170141183460469231731687303715884105727,0,-1,0,-170141183460469231731687303715884105727)',
	'(-170141183460469231731687303715884105728,0,0,0,0)',
	'(0.00000000000000000000000000000000000001,-0.00000000000000000000000000000000000001,0,0,0)',
	'(-12.50,1000000.00,0.01,-0.01,18446744073709551616.00)']) AS s;
SELECT is((SELECT count(*)::integer FROM tap_states WHERE s::text::ar.aging_state::text <> s::text),
	0, 'text output then input gives the state back');

CREATE TEMP TABLE tap_states_back (s ar.aging_state);
DO $$
DECLARE
	path text := '/tmp/ar_tap_aging_' || pg_backend_pid() || '.bin';
BEGIN
	EXECUTE format('COPY tap_states TO %L (FORMAT binary)', path);
	EXECUTE format('COPY tap_states_back FROM PROGRAM %L (FORMAT binary)',
				   'cat ' || path || ' && rm -f ' || path);
END $$;
SELECT is(ARRAY(SELECT s::text FROM tap_states_back), ARRAY(SELECT s::text FROM tap_states),
	'binary send then receive gives the states back');

--------------------------------------------------------------------------
-- Edges and errors
--------------------------------------------------------------------------
SELECT is((SELECT ar.aging(amount, due_date, as_of) FROM tap_aging_rows WHERE false),
	ROW(0, 0, 0, 0, 0, 0)::ar.aging_buckets, 'no rows: zero in every bucket');
SELECT is((SELECT ar.aging(amount, NULL, as_of) FROM tap_aging_rows),
	ROW(0, 0, 0, 0, 0, 0)::ar.aging_buckets, 'only rows with a NULL input: zero in every bucket');
SELECT is((SELECT ar.aging(10.00, 'infinity', DATE '2024-06-30')),
	ROW(10.00, 0, 0, 0, 0, 10.00)::ar.aging_buckets, 'due ''infinity'' is never due');
SELECT throws_ok($$ SELECT ar.aging(amount, due_date, as_of) FROM
                    ((SELECT amount, due_date, as_of FROM tap_aging_rows WHERE amount IS NOT NULL LIMIT 100)
                     UNION ALL SELECT 'NaN', DATE '2024-06-01', DATE '2024-06-30') AS r $$,
	'22023', 'ar.aging amount cannot be NaN', 'a NaN amount is an error naming it');
SELECT throws_ok($$ SELECT ar.aging('-Infinity'::numeric, DATE '2024-06-01', DATE '2024-06-30') $$,
	'22023', 'ar.aging amount cannot be -Infinity', 'an infinite amount is an error naming it');
SELECT throws_ok($$ SELECT ar.aging(amount, DATE '2024-06-01', DATE '2024-06-30')
                      FROM (VALUES (99999999999999999999.999999999999999999), (0.1),
                                   (99999999999999999999.999999999999999999)) AS v(amount) $$,
	'22003', 'aging amount out of range', 'a sum beyond 38 digits (and 2^127) is an error, never rounded');
-- 38 significant digits at a scale not a multiple of 4 (the last base-10000
-- digit of the numeric holds decimals below the scale): within the limit
SELECT is(ARRAY[(ar.aging(1234567890123456789012345678901234567.8, '2026-01-01', '2026-01-01')).not_due,
                (ar.aging(123456789012345678901234567890123456.78, '2026-01-01', '2026-01-01')).not_due,
                (ar.aging(-12345678901234567890123456789012345.678, '2026-01-01', '2026-01-01')).not_due],
	ARRAY[1234567890123456789012345678901234567.8, 123456789012345678901234567890123456.78,
	      -12345678901234567890123456789012345.678],
	'38 significant digits at scales 1, 2 and 3 are summed, as the state''s text input accepts them');
SELECT is((SELECT ar.aging(amount, '2026-01-01', '2026-01-02')
             FROM (VALUES (1.5), (123456789012345678901234567890123456.78), (-0.25)) AS v(amount))::text,
	'(0.00,123456789012345678901234567890123458.03,0.00,0.00,0.00,123456789012345678901234567890123458.03)',
	'a 38-digit amount sums exactly with smaller ones');
-- the state's text form covers what the checked sums can reach, -2^127 included
SELECT is(ar.aging_combine('(-170141183460469231731687303715884105727,0,0,0,0)',
                           '(-1,0,0,0,0)')::text::ar.aging_state::text,
	'(-170141183460469231731687303715884105728,0,0,0,0)',
	'the smallest sum a combine can reach reads back from its text');
SELECT throws_ok($$ SELECT '(0,0,-170141183460469231731687303715884105729,0,0)'::ar.aging_state $$,
	'22003', 'aging amount out of range', 'a state text below -2^127 is refused');
SELECT throws_ok($$ SELECT '(0,0,0,0,170141183460469231731687303715884105728)'::ar.aging_state $$,
	'22003', 'aging amount out of range', 'a state text of 2^127 is refused');
SELECT throws_ok($$ SELECT '(1,2,3,4)'::ar.aging_state $$,
	'22P02', 'invalid input syntax for type ar.aging_state: "(1,2,3,4)"',
	'a bad state text is an error naming it');

SELECT * FROM finish();
ROLLBACK;
