-- Input attacks of issue 12 (items 5 and 7), replayed: non-finite and absurd
-- dates and amounts, header injection through names and e-mail addresses,
-- unbounded text, HTML.  Each is refused at the door with its SQLSTATE and
-- leaves nothing stored (doc/input-bounds.md).  API calls run as
-- ar_collector, table writes as ar_admin (what an ERP is granted).
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(74);

INSERT INTO ar.customer (code, name, email) VALUES
	('SI-A', 'Alpha SARL', 'compta@alpha.example'),
	('SI-B', 'Beta GmbH', 'buchhaltung@beta.example'),
	('SI-C', 'Gamma SA', 'compta@gamma.example');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'SI-' || c.code, DATE '2026-01-01', DATE '2026-01-31', 100.00 FROM ar.customer c WHERE c.code LIKE 'SI-%';

CREATE TEMP TABLE ledger_count AS
SELECT (SELECT count(*) FROM ar.allocation) AS allocations, (SELECT count(*) FROM ar.customer_credit) AS credits,
       (SELECT count(*) FROM ar.invoice) AS invoices, (SELECT count(*) FROM ar.customer) AS customers,
       (SELECT count(*) FROM ar.audit_log) AS audit_rows;
CREATE FUNCTION pg_temp.ledger_unchanged() RETURNS boolean LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM ar.allocation) = l.allocations AND (SELECT count(*) FROM ar.customer_credit) = l.credits
	   AND (SELECT count(*) FROM ar.invoice) = l.invoices AND (SELECT count(*) FROM ar.customer) = l.customers
	   AND (SELECT count(*) FROM ar.audit_log) = l.audit_rows
	  FROM ledger_count l
$$;

-- ------------------------------------------------- dates and amounts, API
SET ROLE ar_collector;
SELECT throws_ok($$SELECT ar.record_payment('SI-SI-A', 10, '-infinity')$$, '22008',
                 'ar.record_payment: paid_on: date -infinity is out of range',
                 'record_payment paid on -infinity is refused (22008)');
SELECT throws_ok($$SELECT ar.record_payment('SI-SI-A', 10, 'infinity')$$, '22008', NULL,
                 'record_payment paid on infinity is refused (22008)');
SELECT throws_ok($$SELECT ar.record_payment('SI-SI-A', 10, '0044-03-15 BC')$$, '22008', NULL,
                 'record_payment paid on a BC date is refused (22008)');
SELECT throws_ok($$SELECT ar.record_payment('SI-SI-A', 10, '1899-12-31')$$, '22008', NULL,
                 'record_payment paid before 1900 is refused (22008)');
SELECT throws_ok($$SELECT ar.record_payment('SI-SI-A', 10, '2201-01-01')$$, '22008', NULL,
                 'record_payment paid after 2200 is refused (22008)');
SELECT throws_ok($$SELECT ar.record_payment('SI-SI-A', 1e100, '2026-02-01')$$, '22003', NULL,
                 'record_payment of 1e100 is refused (22003): no credit of 1e100');
SELECT throws_ok($$SELECT ar.record_payment('SI-SI-A', 10000000000000000, '2026-02-01')$$, '22003', NULL,
                 'record_payment of 10^16 is refused (22003)');
SELECT throws_ok($$SELECT ar.record_payment('SI-SI-A', 10.001, '2026-02-01')$$, '22023',
                 'ar.record_payment: payment: amount 10.001 has more than 2 decimals',
                 'record_payment of 10.001 (a third decimal) is refused (22023)');
SELECT lives_ok($$SELECT ar.record_payment('SI-SI-C', 10.00, '1900-01-01')$$,
                'a payment on the first day of the bounds is accepted');
SELECT lives_ok($$SELECT ar.record_payment('SI-SI-C', 9999999999999999.99, '2200-12-31')$$,
                'the largest amount, on the last day of the bounds, is accepted (the excess becomes credit)');
RESET ROLE;
UPDATE ledger_count SET allocations = (SELECT count(*) FROM ar.allocation), credits = (SELECT count(*) FROM ar.customer_credit),
                        audit_rows = (SELECT count(*) FROM ar.audit_log);
SET ROLE ar_collector;
SELECT throws_ok($$SELECT ar.promise_to_pay(i.id, '2026-03-01', 50.001) FROM ar.invoice i WHERE i.number = 'SI-SI-B'$$,
                 '22023', 'ar.payment_promise.amount: amount 50.001 has more than 2 decimals',
                 'promise_to_pay of 50.001 is refused (22023)');
SELECT throws_ok($$SELECT ar.promise_to_pay(i.id, '3000-03-01', 50) FROM ar.invoice i WHERE i.number = 'SI-SI-B'$$,
                 '22008', NULL, 'promise_to_pay for the year 3000 is refused (22008)');
SELECT throws_ok($$SELECT ar.block_dunning(c.id, '-infinity', 'no reason') FROM ar.customer c WHERE c.code = 'SI-B'$$,
                 '22008', NULL, 'block_dunning until -infinity is refused (22008)');
SELECT throws_ok($$SELECT ar.open_dispute(i.id, 'wrong price', '0001-01-01') FROM ar.invoice i WHERE i.number = 'SI-SI-B'$$,
                 '22008', NULL, 'open_dispute opened in year 1 is refused (22008)');
RESET ROLE;
SELECT ok(pg_temp.ledger_unchanged(), 'nothing of the refused calls was stored (allocations, credits, audit trail)');
SELECT is((SELECT count(*) FROM ar.payment_promise) + (SELECT count(*) FROM ar.dunning_block) + (SELECT count(*) FROM ar.dispute),
          0::bigint, 'no promise, block or dispute was stored');
SET ROLE ar_collector;
SELECT lives_ok($$SELECT ar.block_dunning(c.id, 'infinity', 'receivership') FROM ar.customer c WHERE c.code = 'SI-B'$$,
                'an open-ended block (until infinity) stays possible');
RESET ROLE;
UPDATE ledger_count SET allocations = (SELECT count(*) FROM ar.allocation), credits = (SELECT count(*) FROM ar.customer_credit),
                        audit_rows = (SELECT count(*) FROM ar.audit_log);

-- --------------------------------------------- dates and amounts, tables
SET ROLE ar_admin;
SELECT throws_ok($$INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
                   SELECT id, 'SI-BIG', '2026-01-01', '2026-01-31', 1e60 FROM ar.customer WHERE code = 'SI-A'$$,
                 '22003', 'ar.invoice.amount: amount 1.000000e+60 is out of range',
                 'an invoice of 1e60 is refused (22003)');
SELECT throws_ok($$INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
                   SELECT id, 'SI-NEG', '2026-01-01', '2026-01-31', -1e16 FROM ar.customer WHERE code = 'SI-A'$$,
                 '22003', NULL, 'a credit note of -10^16 is refused (22003)');
SELECT throws_ok($$INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
                   SELECT id, 'SI-INF', '2026-01-01', 'infinity', 10 FROM ar.customer WHERE code = 'SI-A'$$,
                 '22008', 'ar.invoice.due_date: date infinity is out of range', 'an invoice due on infinity is refused (22008)');
SELECT throws_ok($$INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
                   SELECT id, 'SI-BC', '0100-01-01 BC', '2026-01-31', 10 FROM ar.customer WHERE code = 'SI-A'$$,
                 '22008', NULL, 'an invoice issued BC is refused (22008)');
SELECT throws_ok($$UPDATE ar.invoice SET amount = 1e20 WHERE number = 'SI-SI-B'$$, '22003', NULL,
                 'an invoice corrected to 1e20 is refused (22003)');
SELECT throws_ok($$INSERT INTO ar.bank_transaction (booking_date, amount) VALUES ('2026-02-01', 1e17)$$, '22003', NULL,
                 'a bank line of 1e17 is refused (22003)');
SELECT throws_ok($$INSERT INTO ar.bank_transaction (booking_date, amount) VALUES ('-infinity', 10)$$, '22008', NULL,
                 'a bank line booked on -infinity is refused (22008)');
SELECT throws_ok($$INSERT INTO ar.allocation (invoice_id, amount, allocated_on) SELECT id, 1, '9999-01-01' FROM ar.invoice WHERE number = 'SI-SI-B'$$,
                 '22008', NULL, 'an allocation dated 9999 is refused (22008)');
SELECT throws_ok($$INSERT INTO ar.customer_credit (customer_id, amount, source) SELECT id, 1e100, 'manual' FROM ar.customer WHERE code = 'SI-A'$$,
                 '22003', NULL, 'a customer credit of 1e100 is refused (22003)');
SELECT throws_ok($$UPDATE ar.customer SET credit_limit = 'Infinity' WHERE code = 'SI-A'$$, '22003', NULL,
                 'an infinite credit limit is refused (22003)');
RESET ROLE;
SELECT ok(pg_temp.ledger_unchanged(), 'nothing of the refused rows was stored');
SELECT lives_ok($$SELECT count(*) FROM ar.aging_report('2026-04-01')$$, 'aging_report works');
SELECT lives_ok($$SELECT ar.dso('2026-04-01')$$, 'dso works');
SELECT lives_ok($$SELECT count(*) FROM ar.kpis('2026-04-01')$$, 'kpis work');

-- ---------------------------------------------- header injection, e-mail
SET ROLE ar_admin;
SELECT throws_ok($$INSERT INTO ar.customer (code, name, email) VALUES ('SI-X', E'Evil\r\nBcc: all@victim.example', 'x@evil.example')$$,
                 '22023', 'ar.customer.name: "Evil\u000d\u000aBcc: all@victim.example" contains a control character',
                 'a customer name with CR/LF is refused (22023), the message shows the value escaped');
SELECT throws_ok($$INSERT INTO ar.customer (code, name, email) VALUES ('SI-X', 'Evil', E'x@evil.example\r\nBcc: all@victim.example')$$,
                 '22023', NULL, 'an e-mail address with CR/LF is refused (22023)');
SELECT throws_ok($$UPDATE ar.customer SET email = E'compta@alpha.example\nBcc: all@victim.example' WHERE code = 'SI-A'$$,
                 '22023', NULL, 'an e-mail address changed to one with LF is refused (22023)');
SELECT throws_ok($$INSERT INTO ar.customer (code, name, email) VALUES ('SI-X', 'Evil', 'not-an-email')$$,
                 '22023', 'ar.customer.email: "not-an-email" is not an e-mail address',
                 '"not-an-email" is refused as an e-mail address (22023)');
SELECT throws_ok($$INSERT INTO ar.customer (code, name, email) VALUES ('SI-X', 'Evil', 'a@b.fr, c@d.fr')$$,
                 '22023', NULL, 'two addresses in one field are refused (22023)');
SELECT throws_ok($$INSERT INTO ar.customer (code, name) VALUES ('SI-X', repeat('N', 200000))$$,
                 '22001', NULL, 'a 200,000-character name is refused (22001)');
SELECT throws_ok($$INSERT INTO ar.customer (code, name) VALUES (E'SI-\tX', 'Tab')$$,
                 '22023', NULL, 'a customer code with a tab is refused (22023)');
SELECT throws_ok($$INSERT INTO ar.customer (code, name) VALUES ('SI-X', E'Line\u2028separator')$$,
                 '22023', NULL, 'a name with U+2028 (line separator) is refused (22023)');
SELECT throws_ok($$INSERT INTO ar.customer (code, name, phone) VALUES ('SI-X', 'Phone', E'+33 1 23\r\n45')$$,
                 '22023', NULL, 'a phone number with CR/LF is refused (22023)');
SELECT throws_ok($$UPDATE ar.company SET name = E'ACME\r\nX-Injected: 1' WHERE is_default$$,
                 '22023', NULL, 'a company name with CR/LF is refused (22023)');
SELECT throws_ok($$INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
                   SELECT id, E'SI-9\r\nBcc: x@y.example', '2026-01-01', '2026-01-31', 10 FROM ar.customer WHERE code = 'SI-A'$$,
                 '22023', NULL, 'an invoice number with CR/LF is refused (22023)');
SELECT throws_ok($$INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
                   SELECT id, repeat('9', 65), '2026-01-01', '2026-01-31', 10 FROM ar.customer WHERE code = 'SI-A'$$,
                 '22001', NULL, 'a 65-character invoice number is refused (22001)');
RESET ROLE;
SELECT throws_ok($$INSERT INTO ar.dunning_template (policy_id, level, language, subject, body)
                   SELECT policy_id, level, 'xx', E'Reminder\r\nBcc: all@victim.example', 'Please pay.' FROM ar.dunning_level LIMIT 1$$,
                 '22023', NULL, 'a template subject with CR/LF is refused (22023)');
SELECT ok(pg_temp.ledger_unchanged(), 'no customer, invoice or audit row was stored by the refused writes');
SELECT is((SELECT name FROM ar.company WHERE is_default), 'Default company', 'the company name is unchanged');

SELECT is(array_agg(ar.is_valid_email(x) ORDER BY o), ARRAY[true, true, true, true, true]::boolean[],
          'valid addresses: plain, plus tag and subdomains, apostrophe, internationalised, 64-character local part')
  FROM unnest(ARRAY['a@b.fr', 'a.b+c@sub.example.com', 'o''brien@example.ie', 'élodie@café.fr',
                    repeat('l', 64) || '@example.com']) WITH ORDINALITY u(x, o);
SELECT is(array_agg(ar.is_valid_email(x) ORDER BY o), array_fill(false, ARRAY[14]),
          'invalid addresses: no @, two @, no domain dot, numeric TLD, leading/double dot, hyphen label, space, quoted, list, CR/LF, NUL-free control, 65-character local part, 255 characters')
  FROM unnest(ARRAY['not-an-email', 'a@b@c.fr', 'a@b', 'a@b.123', '.a@b.fr', 'a..b@c.fr', 'a@-b.fr', 'a b@c.fr',
                    '"a"@b.fr', 'a@b.fr,c@d.fr', E'a@b.fr\r\n', E'a\x01@b.fr', repeat('l', 65) || '@example.com',
                    repeat('l', 60) || '@' || repeat('d', 190) || '.fr']) WITH ORDINALITY u(x, o);
SELECT is(ar.html_escape($$<a href="x" title='y'>Fish & Chips</a>$$),
          '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Fish &amp; Chips&lt;/a&gt;', 'ar.html_escape escapes & < > " ''');
SELECT is(ar.html_escape('&amp;'), '&amp;amp;', 'ar.html_escape escapes an existing entity again (no double meaning)');
SELECT is(ar.html_escape(NULL), NULL, 'ar.html_escape of NULL is NULL');

-- the notice carries only clean header fields
UPDATE ar.customer SET name = 'Alpha & <Sons>', email = 'relances@alpha.example' WHERE code = 'SI-A';
SELECT is((SELECT array_agg(DISTINCT n.recipient !~ '[\x01-\x1f]' AND n.subject !~ '[\x01-\x1f]' AND char_length(n.subject) <= 998)
             FROM ar.run_dunning('2026-04-01') n),
          ARRAY[true], 'the queued notices have recipients and subjects without control characters');

-- ---------------------------------------------------- statement parsers
SELECT throws_ok($$SELECT * FROM ar.parse_statement(E'account;booking_date;amount\nSI;2026-11-20;99999999999999999.00\n', 'csv')$$,
                 NULL, NULL, 'a CSV amount of 10^17 is refused');
SELECT throws_ok($$SELECT * FROM ar.parse_statement(E'account;booking_date;amount\nSI;2026-11-20;10.001\n', 'csv')$$,
                 NULL, NULL, 'a CSV amount with a third decimal is refused');
SELECT lives_ok($$SELECT * FROM ar.parse_statement(E'account;booking_date;amount\nSI;2026-11-20;10.0100\n', 'csv')$$,
                'a CSV amount with trailing zeros after the cents is accepted');
SELECT throws_ok($$SELECT * FROM ar.parse_statement(E'account;booking_date;amount\nSI;1899-12-31;10.00\n', 'csv')$$,
                 NULL, NULL, 'a CSV booking date in 1899 is refused');
SELECT throws_ok($$SELECT * FROM ar.parse_statement(E'account;booking_date;amount\nSI;31.12.9999;10.00\n', 'csv')$$,
                 NULL, NULL, 'a CSV booking date in 9999 is refused');
SELECT throws_ok($$SELECT * FROM ar.parse_statement(E':20:SI\n:25:DE89370400440532013000\n:28C:1/1\n:60F:C260101EUR0,\n:61:2601010101CR99999999999999999,NTRFNONREF\n:62F:C260101EUR99999999999999999,\n-', 'mt940')$$,
                 NULL, NULL, 'an MT940 amount of 10^17 is refused');
SELECT throws_ok($$SELECT * FROM ar.parse_statement('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>SI</MsgId></GrpHdr><Stmt><Id>SI-1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct><Ntry><Amt Ccy="EUR">12.345</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>', 'camt.053')$$,
                 NULL, NULL, 'a camt amount with a third decimal is refused');
SELECT throws_ok($$SELECT ar.import_statement(E'account;booking_date;amount\nSI;2026-11-20;1e100\n', 'csv')$$,
                 NULL, NULL, 'a CSV import with an amount of 1e100 is refused');
SELECT is((SELECT count(*) FROM ar.bank_statement), 0::bigint, 'no statement was stored');

-- ------------------------------------------ batches skip what they cannot process
-- Rows beyond the bounds planted as a superuser (the constraints dropped,
-- then added back NOT VALID): each batch goes on for the others, warns,
-- and reports the skipped rows in ar.batch_problem (the warnings are not
-- shown here).
SET client_min_messages = error;
INSERT INTO ar.customer (code, name, email) VALUES ('BQ-1', 'Quarantine One', 'one@bq.example'),
	('BQ-2', 'Quarantine Two', 'two@bq.example'), ('BQ-3', 'Quarantine Three', 'three@bq.example'),
	('BQ-4', 'Quarantine Four', 'four@bq.example');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'BQ-' || c.code, DATE '2026-03-01', DATE '2026-03-31', 500.00 FROM ar.customer c WHERE c.code LIKE 'BQ-%';
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE ar.allocation DROP CONSTRAINT allocation_input_bounds;
ALTER TABLE ar.invoice DROP CONSTRAINT invoice_input_bounds;
ALTER TABLE ar.customer DROP CONSTRAINT customer_input_bounds;
ALTER TABLE ar.bank_transaction DROP CONSTRAINT bank_transaction_input_bounds;
INSERT INTO ar.allocation (invoice_id, amount, allocated_on) SELECT id, 10, '-infinity' FROM ar.invoice WHERE number = 'BQ-BQ-1';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'BQ-BIG', '2026-03-01', '2026-03-31', 1e60 FROM ar.customer WHERE code = 'BQ-2';
UPDATE ar.customer SET email = E'three@bq.example\r\nBcc: all@victim.example' WHERE code = 'BQ-3';
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info) VALUES ('-infinity', 500, 'BQ-BQ-4');
ALTER TABLE ar.allocation ADD CONSTRAINT allocation_input_bounds CHECK (ar._check_date('ar.allocation.allocated_on', allocated_on)) NOT VALID;
ALTER TABLE ar.customer ADD CONSTRAINT customer_input_bounds CHECK (ar._check_email('ar.customer.email', email)) NOT VALID;
SET CONSTRAINTS ALL DEFERRED;
SELECT is((SELECT array_agg(v.table_name || '.' || v.column_name ORDER BY v.table_name) FROM ar.input_bound_violations() v),
          ARRAY['allocation.allocated_on', 'bank_transaction.booking_date', 'customer.email', 'invoice.amount'],
          'ar.input_bound_violations() finds the four planted values (in the tables whose constraint is not validated)');

SET ROLE ar_collector;
SELECT lives_ok($$SELECT count(*) FROM ar.run_dunning('2026-05-04')$$,
                'run_dunning goes on whatever the planted rows');
RESET ROLE;
SELECT is((SELECT array_agg(c.code ORDER BY c.code) FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id
            WHERE n.as_of = '2026-05-04' AND c.code LIKE 'BQ-%'),
          ARRAY['BQ-4'], 'the customer without a bad row is dunned, the three with one are skipped');
SELECT is((SELECT array_agg(p.object_table || '.' || p.column_name ORDER BY p.object_table) FROM ar.batch_problem p
            WHERE p.batch = 'run_dunning' AND p.last_as_of = '2026-05-04'),
          ARRAY['allocation.allocated_on', 'customer.email', 'invoice.amount'],
          'ar.batch_problem reports what run_dunning skipped: table, column (and id, value, error)');
SELECT is((SELECT count(*) FROM ar.dunning_notice WHERE recipient ~ '[\r\n]'), 0::bigint,
          'no notice carries a recipient with CR/LF');

SELECT is((SELECT array_agg(c.number ORDER BY c.number) FROM ar.penalty_claims_on('2026-05-04') c
            WHERE c.problem LIKE 'not computed: %input bounds%'),
          ARRAY['BQ-BIG', 'BQ-BQ-1'], 'penalty claims: the invoices beyond the bounds are reported, not computed');
SELECT is((SELECT count(*) FROM ar.penalty_claims_on('2026-05-04') c WHERE c.number LIKE 'BQ-BQ-%' AND c.total > 0),
          3::bigint, 'and the penalties of the others are computed');

SET ROLE ar_collector;
SELECT lives_ok($$SELECT count(*) FROM ar.reconcile()$$, 'reconcile goes on whatever the planted rows');
RESET ROLE;
SELECT is((SELECT array_agg(p.object_table || '.' || p.column_name ORDER BY p.object_table) FROM ar.batch_problem p
            WHERE p.batch = 'reconcile'),
          ARRAY['bank_transaction.booking_date', 'invoice.amount'], 'ar.batch_problem reports what reconcile skipped');
SELECT is((SELECT count(*) FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
            WHERE t.booking_date = '-infinity'), 0::bigint, 'the bank line beyond the bounds was not decided on');

-- the worker's daily run: the same run_dunning, its result counts the skipped rows
INSERT INTO ar.worker_run (kind, as_of) VALUES ('dunning', '2026-05-20');
SELECT lives_ok($$SELECT ar._worker_dunning((SELECT max(id) FROM ar.worker_run))$$, 'the worker''s dunning run goes on');
SELECT is((SELECT (result->>'skipped')::int FROM ar.worker_run WHERE id = (SELECT max(id) FROM ar.worker_run)), 3,
          'its result says how many rows it skipped');
SELECT is((SELECT occurrences FROM ar.batch_problem WHERE batch = 'run_dunning' AND object_table = 'invoice'), 2,
          'a problem met again is counted, not listed twice');

SELECT * FROM finish();
ROLLBACK;
