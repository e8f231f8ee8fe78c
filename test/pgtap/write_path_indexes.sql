-- The indexes a payment writes (issue 17).  Paying an invoice or a bank line
-- is a non-HOT update (open_amount and status are in partial indexes), so
-- every index of the row gets an entry for the new version: each index of
-- ar.invoice and ar.bank_transaction costs on every allocation.  These
-- tables keep exactly the indexes listed here (adding one is a decision
-- for bench/reconcile_speed.sh), and the readers of the two indexes that
-- were dropped, lookups by invoice number alone and by statement, are served
-- by the keys that now start with those columns.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(13);

SELECT indexes_are('ar', 'invoice', ARRAY[
	'invoice_pkey', 'invoice_company_id_id_key', 'invoice_company_id_number_key', 'invoice_customer',
	'invoice_open_due', 'invoice_payment_reference', 'invoice_open_credit_note', 'invoice_reference_key',
	'invoice_open_account', 'invoice_cancelled_on', 'invoice_open_issue'],
	'ar.invoice has its eleven indexes, no index of its own on number');
SELECT indexes_are('ar', 'bank_transaction', ARRAY[
	'bank_transaction_pkey', 'bank_transaction_statement_line', 'bank_transaction_unmatched'],
	'ar.bank_transaction has its three indexes, no index of its own on statement_id');
-- each ledger change writes an audit row: its seq (the legacy chain's rows
-- only) is indexed where it is not NULL
SELECT indexes_are('ar', 'audit_log', ARRAY['audit_log_pkey', 'audit_log_company_seq', 'audit_log_txid', 'audit_log_row'],
	'ar.audit_log has its four indexes');
SELECT is(pg_get_indexdef('ar.audit_log_company_seq'::regclass),
          'CREATE UNIQUE INDEX audit_log_company_seq ON ar.audit_log USING btree (company_id, seq) WHERE (seq IS NOT NULL)',
          'the audit rows'' seq is unique per company where it is set, and an audit row without one adds no entry');
SELECT is((SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
            WHERE c.conrelid = 'ar.invoice'::regclass AND c.conname = 'invoice_company_id_number_key'),
          'UNIQUE (number, company_id)', 'the invoice''s number key starts with the number');
SELECT is((SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
            WHERE c.conrelid = 'ar.bank_transaction'::regclass AND c.conname = 'bank_transaction_statement_line'),
          'UNIQUE (statement_id, line_no, company_id)', 'the bank line''s statement key starts with the statement');

-- what the key still refuses and allows
INSERT INTO ar.company (code, name) VALUES ('WPI-2', 'Second company');
INSERT INTO ar.customer (code, name) VALUES ('WPI-C', 'Customer');
INSERT INTO ar.customer (company_id, code, name) SELECT id, 'WPI-C2', 'Customer 2' FROM ar.company WHERE code = 'WPI-2';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, n, '2026-01-01', '2026-01-31', 100 FROM ar.customer, unnest(ARRAY['WPI-1', 'WPI-3']) n WHERE code = 'WPI-C';
SELECT throws_ok($$ INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
                    SELECT id, 'WPI-1', '2026-01-01', '2026-01-31', 50 FROM ar.customer WHERE code = 'WPI-C' $$,
                 '23505', NULL, 'a number twice in one company is refused');
SELECT lives_ok($$ INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
                   SELECT company_id, id, 'WPI-1', '2026-01-01', '2026-01-31', 70 FROM ar.customer WHERE code = 'WPI-C2' $$,
                'the same number in another company is accepted');

-- the readers: a number alone, a statement's lines (plans forced off the
-- sequential scan: the tables are small)
CREATE FUNCTION pg_temp.plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	plan text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		plan := plan || line || E'\n';
	END LOOP;
	RETURN plan;
END $$;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'WPI-X' || g, '2026-01-01', '2026-01-31', 10 FROM ar.customer c, generate_series(1, 300) g WHERE c.code = 'WPI-C';
ANALYZE ar.invoice;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT matches(pg_temp.plan($$ SELECT id FROM ar.invoice WHERE number = 'WPI-1' $$),
               'Index (Only )?Scan using invoice_company_id_number_key on invoice',
               'a lookup by number alone reads the number key');
SELECT matches(pg_temp.plan(format($$ SELECT id FROM ar.invoice WHERE number = 'WPI-1' AND company_id = %s $$,
                                   ar.default_company())),
               'Index (Only )?Scan using invoice_company_id_number_key on invoice',
               'a lookup by number and company reads the number key');
SELECT matches(pg_temp.plan($$ SELECT id FROM ar.bank_transaction WHERE statement_id = 1 $$),
               'Index (Only )?Scan using bank_transaction_statement_line on bank_transaction',
               'a statement''s lines are found through the statement key');
SELECT isnt(ar.record_payment('WPI-3', 30, '2026-02-01'), NULL, 'ar.record_payment finds its invoice by number');
SELECT is((SELECT open_amount FROM ar.invoice WHERE number = 'WPI-3'), 70::numeric, 'and pays it');

SELECT * FROM finish();
ROLLBACK;
