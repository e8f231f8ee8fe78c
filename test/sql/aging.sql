--
-- ar.aging(amount, due_date, as_of): buckets by days past due, its state
-- type ar.aging_state and its support functions.
--

-- Bucket boundaries.  Each day difference carries a distinct power of ten,
-- so every digit of a bucket tells which rows landed in it.
CREATE TEMP TABLE aging_days AS
SELECT days, DATE '2024-06-30' - days AS due_date, round(10::numeric ^ (n - 1)) AS amount
  FROM unnest(ARRAY[-5, 0, 1, 30, 31, 60, 61, 90, 91, 1000]) WITH ORDINALITY AS u(days, n);

SELECT days, (ar.aging(amount, due_date, DATE '2024-06-30')).*
  FROM aging_days GROUP BY days ORDER BY days;

SELECT (ar.aging(amount, due_date, DATE '2024-06-30')).* FROM aging_days;

-- The result is the ar.aging_buckets composite.
SELECT pg_typeof(ar.aging(amount, due_date, DATE '2024-06-30')) FROM aging_days;

-- Credit notes (negative amounts) are summed into their bucket.
SELECT (ar.aging(amount, due_date, DATE '2024-06-30')).*
  FROM (VALUES (100.00, DATE '2024-06-01'), (-30.00, DATE '2024-06-01'),
               (-45.50, DATE '2024-07-15'), (20.00, DATE '2024-01-01'),
               (-20.00, DATE '2024-01-01')) AS v(amount, due_date);

-- Rows with a NULL amount, due_date or as_of are ignored, as sum() does;
-- they do not widen the scale either.
SELECT (ar.aging(amount, due_date, as_of)).*
  FROM (VALUES (10::numeric, DATE '2024-06-01', DATE '2024-06-30'),
               (NULL, DATE '2024-06-01', DATE '2024-06-30'),
               (5.123, NULL, DATE '2024-06-30'),
               (5.123, DATE '2024-06-01', NULL)) AS v(amount, due_date, as_of);

-- No rows, or only ignored rows: zero in every bucket, nothing is owed.
SELECT (ar.aging(amount, due_date, DATE '2024-06-30')).* FROM aging_days WHERE false;
SELECT (ar.aging(NULL::numeric, due_date, DATE '2024-06-30')).* FROM aging_days;
SELECT days, ar.aging(amount, due_date, DATE '2024-06-30')
  FROM aging_days WHERE false GROUP BY days;

-- Scale: the largest display scale of the amounts, as for sum(numeric),
-- every bucket printed at that scale; a zero counts too.
SELECT (ar.aging(amount, DATE '2024-06-01', DATE '2024-06-30')).*, sum(amount)
  FROM (VALUES (1::numeric), (2.5), (0.125)) AS v(amount);
SELECT (ar.aging(amount, DATE '2024-06-01', DATE '2024-06-30')).*
  FROM (VALUES (7::numeric), (0.0000)) AS v(amount);
SELECT (ar.aging(amount::numeric(12,2), due_date, DATE '2024-06-30')).* FROM aging_days;
SELECT (ar.aging(1 / 3.0, DATE '2024-06-01', DATE '2024-06-30')).d1_30;

-- Infinite dates: due 'infinity' is never due; due '-infinity' or as_of
-- 'infinity' is over 90 days late; as_of '-infinity' is not due.
SELECT due_date, as_of, (ar.aging(1, due_date, as_of)).*
  FROM (VALUES (DATE 'infinity', DATE '2024-06-30'), (DATE '-infinity', DATE '2024-06-30'),
               (DATE '2024-06-30', DATE 'infinity'), (DATE '2024-06-30', DATE '-infinity'),
               (DATE 'infinity', DATE 'infinity'), (DATE '-infinity', DATE 'infinity'))
       AS v(due_date, as_of)
 GROUP BY due_date, as_of ORDER BY due_date, as_of;

-- Exact beyond 64 bits, the same as sum().
SELECT (ar.aging(amount, DATE '2024-06-01', DATE '2024-06-30')).total, sum(amount)
  FROM (VALUES (99999999999999999999.99), (99999999999999999999.99), (-0.01),
               (12345678901234567890123.4567890123)) AS v(amount);

-- Special and out-of-range amounts are errors.
SELECT ar.aging('NaN'::numeric, DATE '2024-06-01', DATE '2024-06-30');
SELECT ar.aging('Infinity'::numeric, DATE '2024-06-01', DATE '2024-06-30');
SELECT ar.aging('-Infinity'::numeric, DATE '2024-06-01', DATE '2024-06-30');
SELECT ar.aging(amount, DATE '2024-06-01', DATE '2024-06-30')
  FROM (VALUES (1e38), (1e38)) AS v(amount);
SELECT ar.aging(1e300, DATE '2024-06-01', DATE '2024-06-30');
SELECT ar.aging(amount, DATE '2024-06-01', DATE '2024-06-30')
  FROM (VALUES (1e38), (0.1)) AS v(amount);
SELECT ar.aging(0.00000000000000000000000000000000000000015, DATE '2024-06-01', DATE '2024-06-30');
SELECT ar.aging(0.0000000000000000000000000000000000000000000000000000000000000000000000, DATE '2024-06-01', DATE '2024-06-30');
-- a long amount stored compressed is detoasted, then refused
CREATE TEMP TABLE aging_wide AS SELECT repeat('9', 10000)::numeric AS amount;
SELECT pg_column_compression(amount) IS NOT NULL AS compressed FROM aging_wide;
SELECT ar.aging(amount, DATE '2024-06-01', DATE '2024-06-30') FROM aging_wide;

-- The fast decoder against sum(): many amounts of mixed scales (0 to 20
-- digits after the point), tiny, huge and negative, in every bucket.
SELECT setseed(0.5);
CREATE TEMP TABLE aging_mixed AS
SELECT g AS id, g % 7 AS grp,
       DATE '2024-06-30' - (g % 200 - 50) AS due_date,
       round(((random() - 0.3) * 10::numeric ^ (g % 23 - 10))::numeric, g % 21) AS amount
  FROM generate_series(1, 20000) AS g;
INSERT INTO aging_mixed
SELECT 100000 + 100 * g + n, g % 7, DATE '2024-06-30' - g, amount
  FROM generate_series(1, 14) AS g,
       unnest(ARRAY[0, 0.00000000000000000001, -0.00000000000000000001, 1, -1,
                    9999, 10000, 10001, 99999999, 100000000, 0.0001, 0.00010001,
                    123456789012.345678, -987654321098765.4321,
                    12345678901234567.12, 1e17, -1e17, 0.5, 1.25,
                    99999999999999.99999999999999999999,
                    -9999999999999999.9999, 99999999.999999999999]::numeric[]) WITH ORDINALITY AS u(amount, n);
SELECT count(*), max(scale(amount)) AS max_scale, min(amount), max(amount) FROM aging_mixed;
SELECT a.total = sum_all AS total_equal,
       scale(a.total) = max_scale AS scale_equal,
       a.not_due = s.not_due AND a.d1_30 = s.d1_30 AND a.d31_60 = s.d31_60
       AND a.d61_90 = s.d61_90 AND a.d91_plus = s.d91_plus AS buckets_equal
  FROM (SELECT (ar.aging(amount, due_date, DATE '2024-06-30')).* FROM aging_mixed) AS a,
       (SELECT sum(amount) AS sum_all, max(scale(amount)) AS max_scale,
               coalesce(sum(amount) FILTER (WHERE DATE '2024-06-30' - due_date <= 0), 0) AS not_due,
               coalesce(sum(amount) FILTER (WHERE DATE '2024-06-30' - due_date BETWEEN 1 AND 30), 0) AS d1_30,
               coalesce(sum(amount) FILTER (WHERE DATE '2024-06-30' - due_date BETWEEN 31 AND 60), 0) AS d31_60,
               coalesce(sum(amount) FILTER (WHERE DATE '2024-06-30' - due_date BETWEEN 61 AND 90), 0) AS d61_90,
               coalesce(sum(amount) FILTER (WHERE DATE '2024-06-30' - due_date > 90), 0) AS d91_plus
          FROM aging_mixed) AS s;
-- each value alone, and per group
SELECT count(*) AS mismatches
  FROM (SELECT min(amount) AS amount, (ar.aging(amount, due_date, due_date)).not_due AS aged
          FROM aging_mixed GROUP BY id) AS s
 WHERE aged::text IS DISTINCT FROM amount::text;
-- each value with a zero of scale 20 in its group: decoded at a higher scale
SELECT count(*) AS mismatches
  FROM (SELECT sum(amount) AS amount, (ar.aging(amount, due_date, due_date)).not_due AS aged
          FROM (SELECT id, amount, due_date FROM aging_mixed
                UNION ALL
                SELECT id, 0.00000000000000000000, due_date FROM aging_mixed) AS u
         GROUP BY id) AS s
 WHERE aged::text IS DISTINCT FROM amount::text;
SELECT grp, (ar.aging(amount, due_date, DATE '2024-06-30')).total = sum(amount) AS equal
  FROM aging_mixed GROUP BY grp ORDER BY grp;
-- huge values at a small scale, beyond 64 bits in the state
SELECT (ar.aging(amount, DATE '2024-06-01', DATE '2024-06-30')).total = sum(amount) AS equal
  FROM (SELECT round(((random() - 0.5) * 10::numeric ^ (g % 31))::numeric, 2) AS amount
          FROM generate_series(1, 5000) AS g) AS v;

-- Window use: the final function only reads the state.
SELECT days, (ar.aging(amount, due_date, DATE '2024-06-30') OVER (ORDER BY days)).total
  FROM aging_days ORDER BY days;

--
-- ar.aging_state: text form (not_due,d1_30,d31_60,d61_90,d91_plus)
--
SELECT '(1.50,0,-2.25,0.001,10)'::ar.aging_state;
SELECT ' ( 1 , 2 , 3 , 4 , 5 ) '::ar.aging_state;
SELECT '(0,0,0,0,0)'::ar.aging_state, '(-0.00,0,0,0,0)'::ar.aging_state;
SELECT '(170141183460469231731687303715884105727,0,0,0,-170141183460469231731687303715884105727)'::ar.aging_state;
SELECT '(0.00000000000000000000000000000000000001,0,0,0,0)'::ar.aging_state;
-- round trip through text
SELECT s::text::ar.aging_state::text = s::text AS round_trip
  FROM (VALUES ('(1.50,0,-2.25,0.001,10)'::ar.aging_state),
               ('(99999999999999999999999.123456789012345,0,0,0,-1)')) AS v(s);
-- binary output: int4 scale, then five 128-bit integers
SELECT ar.aging_state_send('(1.5,0,-1,0,0)');
-- bad text
SELECT ''::ar.aging_state;
SELECT '1,2,3,4,5'::ar.aging_state;
SELECT '(1,2,3,4)'::ar.aging_state;
SELECT '(1,2,3,4,5,6)'::ar.aging_state;
SELECT '(1,2,x,4,5)'::ar.aging_state;
SELECT '(1.,2,3,4,5)'::ar.aging_state;
SELECT '(.5,2,3,4,5)'::ar.aging_state;
SELECT '(1e3,2,3,4,5)'::ar.aging_state;
SELECT '(+1,2,3,4,5)'::ar.aging_state;
SELECT '(1,2,3,4,5) x'::ar.aging_state;
SELECT '(NaN,2,3,4,5)'::ar.aging_state;
SELECT '(170141183460469231731687303715884105728,0,0,0,0)'::ar.aging_state;
SELECT '(0.000000000000000000000000000000000000001,0,0,0,0)'::ar.aging_state;
SELECT '(1000000000000000000000000000000000000,0.01,0,0,0)'::ar.aging_state;

--
-- Support functions called directly.
--
SELECT ar.aging_transfn(NULL, 12.50, DATE '2024-06-01', DATE '2024-06-30');
SELECT ar.aging_transfn('(1,0,0,0,0)', 12.505, DATE '2024-01-01', DATE '2024-06-30');
SELECT ar.aging_transfn('(1,0,0,0,0)', NULL, DATE '2024-01-01', DATE '2024-06-30');
SELECT ar.aging_transfn(NULL, 1, NULL, DATE '2024-06-30') IS NULL AS still_null;
SELECT ar.aging_combine(NULL, NULL) IS NULL AS both_null;
SELECT ar.aging_combine(NULL, '(1,2,3,4,5)'), ar.aging_combine('(1,2,3,4,5)', NULL);
SELECT ar.aging_combine('(1.5,0,0,0,-2)', '(0.25,1,0,0,2)');
SELECT ar.aging_combine('(170141183460469231731687303715884105727,0,0,0,0)', '(1,0,0,0,0)');
SELECT ar.aging_combine('(1,0,0,0,0)', '(0.00000000000000000000000000000000000001,0,0,0,0)');
-- a direct call never modifies its arguments
WITH s(a, b) AS MATERIALIZED (SELECT '(1,1,1,1,1)'::ar.aging_state, '(2,2,2,2,2)'::ar.aging_state)
SELECT ar.aging_combine(a, b), a, b, ar.aging_transfn(a, 5, DATE '2024-06-30', DATE '2024-06-30'), a FROM s;
SELECT ar.aging_final(NULL);
SELECT (ar.aging_final('(1.5,0,-2,0,100)')).*;
-- combine(state(A), state(B)) = state(A + B), through the text form
CREATE AGGREGATE pg_temp.aging_state_of(numeric, date, date) (
	SFUNC = ar.aging_transfn, STYPE = ar.aging_state);
SELECT ar.aging_combine(
         (SELECT pg_temp.aging_state_of(amount, due_date, DATE '2024-06-30') FROM aging_mixed WHERE grp < 3)::text::ar.aging_state,
         (SELECT pg_temp.aging_state_of(amount, due_date, DATE '2024-06-30') FROM aging_mixed WHERE grp >= 3)::text::ar.aging_state)::text
     = (SELECT pg_temp.aging_state_of(amount, due_date, DATE '2024-06-30') FROM aging_mixed)::text AS combine_equal;

--
-- Parallel aggregation: partial states in the workers, combined in the
-- leader (temporary tables are never scanned in parallel).
--
CREATE TABLE aging_regress_invoice AS
SELECT g AS id,
       DATE '2024-06-30' - (g % 400 - 100) AS due_date,
       round((g % 1000 - 100) * 1.37 + g / 1000.0, 3) AS amount
  FROM generate_series(1, 50000) AS g;
ANALYZE aging_regress_invoice;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT ar.aging(amount, due_date, DATE '2024-06-30') FROM aging_regress_invoice;
CREATE TEMP TABLE aging_parallel AS
SELECT (ar.aging(amount, due_date, DATE '2024-06-30')).* FROM aging_regress_invoice;
RESET parallel_leader_participation;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE aging_serial AS
SELECT (ar.aging(amount, due_date, DATE '2024-06-30')).* FROM aging_regress_invoice;
RESET max_parallel_workers_per_gather;
SELECT * FROM aging_parallel;
SELECT (SELECT aging_parallel::text FROM aging_parallel) = (SELECT aging_serial::text FROM aging_serial)
       AS parallel_equals_serial;
DROP TABLE aging_regress_invoice;
