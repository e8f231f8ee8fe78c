-- pgTAP: ar.aging_partial / ar.aging_merge and ar.receivables_kpis_partial /
-- ar.receivables_kpis_merge, the partial states shipped between databases
-- (doc/scale_out.md): merging the text states of disjoint row sets equals
-- the aggregate over their union, to the digit and display scale.
BEGIN;
CREATE EXTENSION ar_collect;

SELECT plan(17);

-- 3,000 deterministic rows over four "shards", amounts of scales 0 to 3,
-- credit notes among them, due dates around the as_of.
CREATE TEMP TABLE items AS
SELECT g % 4 AS shard,
       round(((g * 7919) % 200003 - 20000)::numeric / 100, (g % 4)) AS amount,
       DATE '2026-06-30' - ((g * 37) % 200 - 40) AS due_date,
       DATE '2026-06-30' - ((g * 37) % 200 - 40) - 30 - g % 45 AS issue_date,
       round(((g * 7919) % 200003 - 20000)::numeric / 100, (g % 4)) * (g % 3) / 2 AS open_end,
       CASE WHEN g % 5 = 0 THEN DATE '2026-06-30' - g % 120 END AS settled_on
  FROM generate_series(1, 3000) g;

CREATE TEMP TABLE shard_state AS
SELECT shard,
       ar.aging_partial(amount, due_date, DATE '2026-06-30')::text AS aging_state,
       ar.receivables_kpis_partial(amount, issue_date, due_date, open_end, amount, 0, settled_on,
                                   DATE '2026-06-30', 90)::text AS kpi_state
  FROM items GROUP BY shard;

SELECT is((SELECT count(DISTINCT aging_state) FROM shard_state), 4::bigint,
	'four shards, four different aging states (as text)');
SELECT is((SELECT ar.aging_merge(aging_state::ar.aging_state)::text FROM shard_state),
          (SELECT ar.aging(amount, due_date, DATE '2026-06-30')::text FROM items),
	'ar.aging_merge of the shards'' text states = ar.aging over all their rows (digits and scale)');
SELECT is((SELECT ar.aging_merge(aging_state::ar.aging_state)::text FROM shard_state WHERE shard IN (1, 3)),
          (SELECT ar.aging(amount, due_date, DATE '2026-06-30')::text FROM items WHERE shard IN (1, 3)),
	'and over any subset of the shards');
SELECT is((SELECT (ar.aging_merge(aging_state::ar.aging_state)).total FROM shard_state),
          (SELECT sum(amount) FROM items),
	'the merged total equals a plain sum');
SELECT is((SELECT ar.receivables_kpis_merge(kpi_state::ar.kpi_state)::text FROM shard_state),
          (SELECT ar.receivables_kpis(amount, issue_date, due_date, open_end, amount, 0, settled_on,
                                      DATE '2026-06-30', 90)::text FROM items),
	'ar.receivables_kpis_merge of the shards'' text states = ar.receivables_kpis over all their rows');
SELECT ok((SELECT ar.aging_partial(amount, due_date, DATE '2026-06-30') FROM items WHERE false) IS NULL,
	'a shard with no row has a NULL state');
SELECT is((SELECT ar.aging_merge(s)::text FROM (VALUES (NULL::ar.aging_state),
                                                  ((SELECT aging_state::ar.aging_state FROM shard_state WHERE shard = 2))) v(s)),
          (SELECT ar.aging(amount, due_date, DATE '2026-06-30')::text FROM items WHERE shard = 2),
	'NULL states are skipped by the merge');
SELECT is((SELECT ar.aging_merge(s)::text FROM (VALUES (NULL::ar.aging_state)) v(s)),
          (SELECT ar.aging(amount, due_date, DATE '2026-06-30')::text FROM items WHERE false),
	'merging nothing gives what ar.aging over no row gives');
SELECT throws_ok($$SELECT ar.receivables_kpis_merge(s) FROM (VALUES
                     ((SELECT ar.receivables_kpis_partial(1, DATE '2026-01-01', DATE '2026-02-01', 1, 1, 0, NULL, DATE '2026-06-30', 90))),
                     ((SELECT ar.receivables_kpis_partial(1, DATE '2026-01-01', DATE '2026-02-01', 1, 1, 0, NULL, DATE '2026-05-31', 90)))) v(s)$$,
	'22023', NULL, 'KPI states of two as_of dates are refused, not added');
SELECT throws_ok($$SELECT ar.aging_merge(s::ar.aging_state) FROM (VALUES ('(1,2,3)')) v(s)$$,
	'22P02', NULL, 'a malformed text state is refused on input');

-- The merges run in parallel too (a partial merge per worker), and are
-- plain aggregates of their own state type.
SELECT is((SELECT aggtranstype::regtype::text || ' ' || aggcombinefn::text FROM pg_aggregate
            WHERE aggfnoid = 'ar.aging_merge(ar.aging_state)'::regprocedure),
	'ar.aging_state ar.aging_combine', 'ar.aging_merge keeps ar.aging_state and combines with ar.aging_combine');
SELECT is((SELECT aggfinalfn::text FROM pg_aggregate
            WHERE aggfnoid = 'ar.aging_partial(numeric, date, date)'::regprocedure),
	'-', 'ar.aging_partial has no final function: it returns the state');
SELECT is((SELECT string_agg(DISTINCT proparallel::text, ',') FROM pg_proc
            WHERE oid IN ('ar.aging_partial(numeric, date, date)'::regprocedure,
                          'ar.aging_merge(ar.aging_state)'::regprocedure,
                          'ar.receivables_kpis_partial(numeric, date, date, numeric, numeric, numeric, date, date, integer)'::regprocedure,
                          'ar.receivables_kpis_merge(ar.kpi_state)'::regprocedure)),
	's', 'the four aggregates are parallel safe');

-- ---------------------------------------- ar.distribute (issue 14)
-- Without Citus it refuses before anything, with the reason; a bad shard
-- count first; only the extension's owner or a superuser may call it
SELECT throws_ok($$CALL ar.distribute()$$, '0A000', 'ar.distribute needs Citus',
	'CALL ar.distribute() without Citus: refused, feature_not_supported');
SELECT throws_ok($$CALL ar.distribute(0)$$, '22023', 'shard_count must be between 1 and 64000, not 0',
	'a shard count of 0: refused');
SELECT throws_ok($$CALL ar.distribute(NULL)$$, '22023', 'shard_count must be between 1 and 64000, not NULL',
	'a NULL shard count: refused');
SET LOCAL ROLE ar_admin;
SELECT throws_ok($$CALL ar.distribute()$$, '42501', NULL, 'ar_admin may not call it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
