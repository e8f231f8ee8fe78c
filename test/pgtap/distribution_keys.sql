-- Distribution keys (src/sql/97_distribution_keys.sql, doc/scale_out.md):
-- every key of company data includes company_id, checked from the catalog
-- for every table that has the column, so that a table added later without
-- it fails here; then what the keys enforce: a row cannot name another
-- company's row.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(15);

CREATE TEMP TABLE company_table AS
SELECT c.oid, c.relname, a.attnum AS company_att
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped
 WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind IN ('r', 'p');

-- Exemptions, each with its reason:
-- (none since ar.reconcile_run is recorded per company)
CREATE TEMP TABLE key_exempt(relname name, reason text);
CREATE TEMP TABLE fk_exempt(relname name, reason text);

SELECT cmp_ok((SELECT count(*) FROM company_table), '>=', 49::bigint,
              'the tables of company data carry company_id (49 or more)');

-- the summaries' delta queues (86_*_summary.sql) are heaps folded and
-- emptied in bulk: no key, nothing unique
SELECT is_empty($$
	SELECT t.relname FROM company_table t
	 WHERE NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'p')
	   AND t.relname NOT IN ('summary_delta', 'kpi_summary_delta', 'audit_seal')
	 ORDER BY 1 $$,
	'every table of company data but the summaries'' delta queues and the seals (unique per chain and seq) has a primary key');

SELECT is_empty($$
	SELECT t.relname, k.conname FROM company_table t JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'p'
	 WHERE NOT (t.company_att = ANY (k.conkey)) AND t.relname NOT IN (SELECT relname FROM key_exempt)
	 ORDER BY 1 $$,
	'every primary key of company data includes company_id');

SELECT is_empty($$
	SELECT t.relname, i.indexrelid::regclass FROM company_table t JOIN pg_index i ON i.indrelid = t.oid
	 WHERE i.indisunique AND NOT (t.company_att = ANY (i.indkey::int2[]))
	   AND t.relname NOT IN (SELECT relname FROM key_exempt)
	 ORDER BY 1, 2 $$,
	'every unique constraint and unique index of company data includes company_id');

SELECT is_empty($$
	SELECT con.conrelid::regclass, con.conname FROM pg_constraint con
	  JOIN company_table t ON t.oid = con.conrelid JOIN company_table p ON p.oid = con.confrelid
	 WHERE con.contype = 'f' AND p.relname NOT IN (SELECT relname FROM key_exempt)
	   AND NOT EXISTS (SELECT FROM unnest(con.conkey, con.confkey) k(att, refatt)
	                    WHERE k.att = t.company_att AND k.refatt = p.company_att)
	 ORDER BY 1, 2 $$,
	'every foreign key between company tables pairs company_id with company_id');

SELECT is_empty($$
	SELECT con.conrelid::regclass, con.conname FROM pg_constraint con
	  JOIN pg_class c ON c.oid = con.conrelid
	 WHERE con.contype = 'f' AND c.relnamespace = 'ar'::regnamespace
	   AND con.confrelid IN (SELECT oid FROM company_table)
	   AND con.conrelid NOT IN (SELECT oid FROM company_table)
	   AND c.relname NOT IN (SELECT relname FROM fk_exempt)
	 ORDER BY 1, 2 $$,
	'every table with a foreign key to company data has company_id');

SELECT is_empty($$
	SELECT e.relname FROM key_exempt e WHERE e.relname NOT IN (SELECT relname FROM company_table)
	UNION ALL
	SELECT e.relname FROM fk_exempt e WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.relname = e.relname
	                                                     AND c.relnamespace = 'ar'::regnamespace)
	UNION ALL
	-- an exemption that no longer needs to be one goes
	SELECT t.relname FROM company_table t JOIN key_exempt e USING (relname)
	 WHERE NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = t.oid AND i.indisunique
	                    AND NOT (t.company_att = ANY (i.indkey::int2[]))) $$,
	'the exemptions name tables that exist and still need them');

-- What the keys enforce: two companies, a row of each.
SET LOCAL client_min_messages = warning;
INSERT INTO ar.company (id, code, name) VALUES (-41, 'DK-A', 'Keys A'), (-42, 'DK-B', 'Keys B');
INSERT INTO ar.customer (company_id, code, name) VALUES (-41, 'DK-CA', 'Customer A'), (-42, 'DK-CB', 'Customer B');
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT -41, c.id, 'DK-1', '2026-01-01', '2026-01-31', 100 FROM ar.customer c WHERE c.code = 'DK-CA' AND c.company_id = -41;

SELECT throws_ok($$
	INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
	SELECT -42, c.id, 'DK-2', '2026-01-01', '2026-01-31', 100 FROM ar.customer c WHERE c.code = 'DK-CA' $$,
	'23503', NULL, 'an invoice of company B cannot name a customer of company A');

SELECT throws_ok($$
	INSERT INTO ar.dispute (company_id, invoice_id, customer_id, reason)
	SELECT -42, i.id, i.customer_id, 'wrong company' FROM ar.invoice i WHERE i.number = 'DK-1' $$,
	'23503', NULL, 'a dispute of company B cannot name an invoice of company A');

SELECT lives_ok($$
	INSERT INTO ar.dispute (company_id, invoice_id, customer_id, reason)
	SELECT -41, i.id, i.customer_id, 'right company' FROM ar.invoice i WHERE i.number = 'DK-1' $$,
	'a dispute of company A names its invoice');

SELECT throws_ok($$ UPDATE ar.invoice SET company_id = -42 WHERE number = 'DK-1' $$,
	'23503', NULL, 'an invoice named by its company''s rows cannot move to another company');

-- the set-wise checks that stand for foreign keys look for the same pair
INSERT INTO ar.bank_transaction (company_id, booking_date, amount, remittance_info)
VALUES (-41, '2026-02-01', 100.00, 'DK-1 paid');
SELECT throws_ok($$
	INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, outcome)
	SELECT t.id, -42, 'manual' FROM ar.bank_transaction t WHERE t.remittance_info = 'DK-1 paid' $$,
	'23503', NULL, 'a decision of company B cannot name a bank line of company A');
INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on)
SELECT -41, i.id, t.id, 40, '2026-02-01' FROM ar.invoice i, ar.bank_transaction t
 WHERE i.number = 'DK-1' AND t.remittance_info = 'DK-1 paid';
SELECT throws_ok($$ UPDATE ar.bank_transaction SET company_id = -42 WHERE remittance_info = 'DK-1 paid' $$,
	'23503', NULL, 'an allocated bank line cannot move to another company');
SELECT throws_ok($$
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on)
	SELECT -42, i.id, 10, '2026-02-01' FROM ar.invoice i WHERE i.number = 'DK-1' $$,
	'23514', NULL, 'an allocation of company B cannot name an invoice of company A');

-- a payment plan's rows carry the plan's company
SELECT ar.create_payment_plan(c.id, ARRAY[i.id], ARRAY['2026-03-01'::date])
  FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id WHERE i.number = 'DK-1';
SELECT is((SELECT array_agg(DISTINCT x.company_id) FROM (
	SELECT pi.company_id FROM ar.payment_plan_invoice pi JOIN ar.invoice i ON i.id = pi.invoice_id WHERE i.number = 'DK-1'
	UNION ALL
	SELECT s.company_id FROM ar.payment_plan_instalment s
	  JOIN ar.payment_plan_invoice pi ON pi.plan_id = s.plan_id JOIN ar.invoice i ON i.id = pi.invoice_id
	 WHERE i.number = 'DK-1') x), ARRAY[-41::bigint],
	'ar.create_payment_plan writes its invoices and instalments with the plan''s company');

SELECT * FROM finish();
ROLLBACK;
