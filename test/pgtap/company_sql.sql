-- pgTAP: one routing mechanism for per-company SQL (issue 14,
-- doc/scale_out.md blocker 2): ar._company_sql, the company tables read
-- from the catalog (ar._company_tables()), used by the three per-company
-- texts of ar_collect (ar._for_company, ar._routed, ar._dunning_reads), and
-- its refusal of a query that would still reach a company table unrouted.
BEGIN;
CREATE EXTENSION ar_collect;
SET LOCAL client_min_messages = warning;
SELECT plan(24);

-- ------------------------------------------------ the company tables
SELECT is(ar._company_tables(),
          (SELECT array_agg(table_name::text ORDER BY table_name::text) FROM information_schema.columns c
            WHERE c.table_schema = 'ar' AND c.column_name = 'company_id'
              AND (SELECT table_type FROM information_schema.tables t
                    WHERE t.table_schema = 'ar' AND t.table_name = c.table_name) = 'BASE TABLE'),
          'the company tables are every table of ar with a company_id column');
SELECT ok(ar._company_tables() @> ARRAY['invoice', 'allocation', 'customer', 'payment_plan', 'dunning_notice',
                                        'open_item_summary', 'kpi_summary', 'dunning_effect_delta', 'customer_credit']
          AND NOT ar._company_tables() && ARRAY['company', 'summary_state', 'dunning_run', 'dunning_policy'],
          'the ledger, the summaries and the work tables are company tables, the companies and rules are not');
CREATE TABLE ar.added_later (id bigint, company_id bigint NOT NULL);
SELECT is(ar._company_sql('SELECT * FROM ar.added_later x', '7'),
          'SELECT * FROM (SELECT * FROM ar.added_later /*routed*/ WHERE company_id = 7) x',
          'a table added to ar later with a company_id is routed without being listed anywhere');
SELECT throws_ok($$SELECT ar._dunning_reads('SELECT * FROM ar.added_later x', 1)$$, 'XX000',
                 'ar.added_later is read by a query routed per company without its copy',
                 'and the dunning run''s copies refuse it (no copy of it)');
DROP TABLE ar.added_later;

-- ------------------------------------------------ the rewriting
SELECT is(ar._company_sql('SELECT 1 FROM ar.invoice AS i, ar.allocation a JOIN ar.company co ON true', '7'),
          'SELECT 1 FROM (SELECT * FROM ar.invoice /*routed*/ WHERE company_id = 7) i, '
          '(SELECT * FROM ar.allocation /*routed*/ WHERE company_id = 7) a JOIN ar.company co ON true',
          'each read of a company table (aliased, AS, in a list) through a subquery of the company; ar.company as it is');
SELECT is(ar._company_sql('SELECT invoice.id FROM ar.invoice WHERE invoice.id IN (SELECT invoice_id FROM ar.allocation)', '$3'),
          'SELECT invoice.id FROM (SELECT * FROM ar.invoice /*routed*/ WHERE $3::bigint IS NULL OR company_id = $3) invoice '
          'WHERE invoice.id IN (SELECT invoice_id FROM (SELECT * FROM ar.allocation /*routed*/ WHERE $3::bigint IS NULL OR company_id = $3) allocation)',
          'without an alias, the table''s name; a parameter: NULL reads every company');
SELECT is(ar._company_sql('SELECT ROW(i.*)::ar.invoice, NULL::ar.customer[] FROM ar.invoice i', '7'),
          'SELECT ROW(i.*)::ar.invoice, NULL::ar.customer[] FROM (SELECT * FROM ar.invoice /*routed*/ WHERE company_id = 7) i',
          'the types of the tables are left as they are');
SELECT is(ar._company_sql(ar._company_sql('SELECT 1 FROM ar.invoice i, ar.invoice', '$2'), '$2'),
          ar._company_sql('SELECT 1 FROM ar.invoice i, ar.invoice', '$2'), 'a text once routed is left as it is');
SELECT is(ar._company_sql('SELECT 1 FROM ar.dunning_notice n WHERE true /*and company n*/', '7'),
          'SELECT 1 FROM (SELECT * FROM ar.dunning_notice /*routed*/ WHERE company_id = 7) n WHERE true and n.company_id = 7',
          'the comments /*and company x*/ made conditions');
SELECT ok(ar._company_sql('SELECT * FROM ar._open_items(current_date) o', '7')
            ~ '^SELECT \* FROM LATERAL \(SELECT \* FROM \(.*FROM \(SELECT \* FROM ar\.invoice /\*routed\*/ WHERE company_id = 7\) i'
          AND ar._company_sql('SELECT * FROM ar._open_items(current_date) o', '7') !~ 'ar\._open_items\(',
          'a set-returning SQL function of ar over company tables is read as its body, routed');
SELECT is(ar._company_sql('SELECT 1 FROM ar.invoice i', NULL), 'SELECT 1 FROM ar.invoice i', 'no company: the text as it is');
SELECT throws_ok($$SELECT ar._company_sql('SELECT 1 FROM ar.invoice i', '7 OR true')$$, 'XX000',
                 'a company to route to is a literal or a parameter, not "7 OR true"', 'the company is a literal or a parameter');

-- --------------------------------- what would reach Citus unrouted: refused
SELECT throws_ok($$SELECT ar._company_sql('SELECT ar._open_on(i.id, current_date) FROM ar.invoice i', '7')$$, 'XX000',
                 'ar._open_on, a SQL function reading company tables, is called by a query routed per company',
                 'a SQL function of ar reading company tables that is not inlined');
SELECT throws_ok($$SELECT ar._company_sql('SELECT * FROM ar.receivables r', '$1')$$, 'XX000',
                 'the view ar.receivables is read by a query routed per company', 'a view of ar over company tables');
SELECT throws_ok($$SELECT ar._company_sql('UPDATE ar.invoice SET amount = 0', '7')$$, 'XX000',
                 'ar.invoice is written by a query routed per company', 'a write');
SELECT throws_ok($$SELECT ar._company_sql('SELECT 1 FROM ar.invoice i JOIN ar.dispute d ON true', '7', '{"invoice": "pg_temp.w"}')$$,
                 'XX000', 'ar.dispute is read by a query routed per company without its copy',
                 'with copies, a company table without its copy');
SELECT is(ar._company_sql('SELECT ar._open_on(i.id, $1) FROM ar.invoice i', '7',
                          '{"invoice": "pg_temp.w", "_open_on": "ar._open_on_distributed"}'),
          'SELECT ar._open_on_distributed(i.id, $1) FROM pg_temp.w i', 'with copies, the tables and functions named read instead');

-- ------------------------------------------------ its three callers
SELECT is(ar._for_company(ar._open_items_query(), 3), ar._company_sql(ar._open_items_query(), '$3'),
          'ar._for_company is ar._company_sql with a parameter');
SELECT is(ar._routed('SELECT * FROM ar._summary_differences() d', 7),
          ar._company_sql('SELECT * FROM ar._summary_differences() d', '7'), 'ar._routed is ar._company_sql with a literal');
SELECT is(ar._dunning_reads('SELECT 1 FROM ar.invoice i JOIN ar.dunning_account d ON true WHERE ar._open_on(i.id, $1) > 0', 5),
          format('SELECT 1 FROM pg_temp.%I i JOIN pg_temp.%I d ON true WHERE ar._open_on_distributed(i.id, $1) > 0',
                 ar._dunning_work_name('ar_dun_c_invoice'), ar._dunning_work_name('ar_dun_c_dunning_account')),
          'ar._dunning_reads is ar._company_sql with the run''s copies');
SELECT is(ar._dunning_reads('SELECT 1 FROM ar.invoice i', NULL), 'SELECT 1 FROM ar.invoice i', 'on one node the run reads its tables');
SELECT lives_ok($$SELECT ar._credit_exposure_query(), ar._worklist_query(), ar._cash_forecast_items_query(),
                         ar._routed('SELECT * FROM ar._summary_differences() d', 1),
                         ar._routed('SELECT * FROM ar._kpi_summary_expected() e', 1)$$,
                'every per-company text of ar_collect routes without a company table left unrouted');
SELECT is((SELECT count(*) FROM regexp_matches(ar._worklist_query(), '(?<![.\w])ar\.(\w+)\M(?!\s*[(.])(?!\s*/\*routed\*/)', 'g') m
            WHERE m[1] = ANY (ar._company_tables())), 0::bigint,
          'the work list reads every company table through its company''s subquery');
SELECT is((SELECT count(*) FROM regexp_matches(ar._cash_forecast_items_query(), '(?<![.\w])ar\.(\w+)\M(?!\s*[(.])(?!\s*/\*routed\*/)', 'g') m
            WHERE m[1] = ANY (ar._company_tables())), 0::bigint,
          'so does the cash forecast');

SELECT * FROM finish();
ROLLBACK;
