-- Legal archiving and GDPR (issue 16 item 9, doc/gdpr.md): a customer whose
-- items are settled and whose accounting documents are past their legal
-- retention is anonymised by an admin of its company; afterwards none of its
-- personal values remains in any text or jsonb column of schema ar (live
-- tables and the audit trail's row images), the books are unchanged, the
-- ledger checks clean and the audit chain verifies, while tampering is still
-- found.  Open items, a running retention and another company's admin are
-- refused.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(53);

CREATE ROLE t_gdpr_adm_a IN ROLE ar_admin;
CREATE ROLE t_gdpr_adm_b IN ROLE ar_admin;
CREATE ROLE t_gdpr_coll_a IN ROLE ar_collector;
INSERT INTO ar.company (code, name, iban) VALUES ('GA', 'Company GA', 'FR7630006000011234567890189'),
                                                 ('GB', 'Company GB', 'DE89370400440532013000');
SELECT ar.grant_company_access(m, c, a)
  FROM (VALUES ('t_gdpr_adm_a', 'GA', 'admin'), ('t_gdpr_adm_b', 'GB', 'admin'),
               ('t_gdpr_coll_a', 'GA', 'collector')) AS g(m, c, a);

-- P: a natural person, customer of GA since 2012, everything settled in 2012
INSERT INTO ar.customer (company_id, code, name, email, phone, address_line1, address_line2, postcode, city)
SELECT id, 'P-0001', 'Jeanne Personne-Gdpr', 'jeanne.personne@example.org', '+33 6 12 34 56 78',
       '12 rue des Lilas Gdpr', 'Batiment Glycine', '75020', 'Paris'
  FROM ar.company WHERE code = 'GA';
INSERT INTO ar.customer_bank_account (company_id, customer_id, iban, holder_name)
SELECT company_id, id, 'FR1420041010050500013M02606', 'J. Personne Titulaire' FROM ar.customer WHERE code = 'P-0001';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, payment_reference)
SELECT company_id, id, n, d::date, d::date + 30, a, 'RF-' || n
  FROM ar.customer, (VALUES ('GP-1', '2012-01-10', 1200.00), ('GP-2', '2012-02-10', 300.50)) v(n, d, a)
 WHERE code = 'P-0001';
-- her payment: a bank line naming her, with her IBAN and a free text about her
SELECT ar.import_statement(E'account,statement_ref,booking_date,amount,counterparty_name,counterparty_iban,remittance_info\n'
                           'FR7630006000011234567890189,GA-2012-04,2012-04-02,1200.00,Jeanne Personne-Gdpr,FR1420041010050500013M02606,GP-1 loyer appartement Lilas Jeanne\n',
                           'csv');
INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, note)
SELECT i.company_id, i.id, t.id, 1200.00, '2012-04-02', 'paid by Jeanne Personne-Gdpr herself'
  FROM ar.invoice i, ar.bank_transaction t WHERE i.number = 'GP-1' AND t.counterparty_name = 'Jeanne Personne-Gdpr';
SELECT ar.open_dispute(id, 'Mme Personne conteste: fuite d''eau appartement Lilas', '2012-03-01') FROM ar.invoice WHERE number = 'GP-2';
SELECT ar.resolve_dispute(id, 'Accord avec Mme Personne au telephone', '2012-03-20') FROM ar.invoice WHERE number = 'GP-2';
SELECT ar.write_off_invoice(id, 'small balance', '2012-06-30') FROM ar.invoice WHERE number = 'GP-2';
SELECT ar.log_interaction(id, 'call', 'Appel de Jeanne au +33 6 12 34 56 78 au sujet du loyer', 'inbound',
                          detail => 'Elle demenage chez sa soeur a Lyon') FROM ar.customer WHERE code = 'P-0001';
-- Q: a customer of GA with an open invoice; S: settled last year, under retention
INSERT INTO ar.customer (company_id, code, name, email)
SELECT id, c, n, e FROM ar.company, (VALUES ('Q-0001', 'Quentin Ouvert', 'quentin@example.org'),
                                            ('S-0001', 'Sophie Retenue', 'sophie@example.org')) v(c, n, e)
 WHERE code = 'GA';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT company_id, id, 'GQ-1', current_date - 40, current_date - 10, 500 FROM ar.customer WHERE code = 'Q-0001';
-- a note on another customer that names her
SELECT ar.log_interaction(id, 'note', 'Quentin is the neighbour of Jeanne Personne-Gdpr') FROM ar.customer WHERE code = 'Q-0001';
-- U: a customer whose name holds hers as a part ("Person 17" and "Person 170"):
-- left alone, and its rows not even rewritten
INSERT INTO ar.customer (company_id, code, name) SELECT id, 'U-0001', 'Jeanne Personne-Gdpr2' FROM ar.company WHERE code = 'GA';
SELECT ar.log_interaction(id, 'note', 'Jeanne Personne-Gdpr2 calls back on Monday') FROM ar.customer WHERE code = 'U-0001';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT company_id, id, 'GS-1', current_date - 400, current_date - 370, 80 FROM ar.customer WHERE code = 'S-0001';
SELECT ar.record_payment('GS-1', 80, current_date - 380);
-- R: customer of GB (fiscal year ending in June), last document 2014-07-01
INSERT INTO ar.retention_policy (company_id, fiscal_year_end_month) SELECT id, 6 FROM ar.company WHERE code = 'GB';
INSERT INTO ar.customer (company_id, code, name) SELECT id, 'R-0001', 'Robert Autre' FROM ar.company WHERE code = 'GB';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT company_id, id, 'GR-1', '2014-07-01', '2014-07-31', 10 FROM ar.customer WHERE code = 'R-0001';
SELECT ar.cancel_invoice(id, '2014-07-01') FROM ar.invoice WHERE number = 'GR-1';

-- a queued notice counts as a pending collection: run the dunning on P's
-- unpaid invoice of 2012 in a savepoint first
SELECT is((SELECT count(*) FROM ar.bank_transaction WHERE counterparty_name = 'Jeanne Personne-Gdpr'), 1::bigint,
	'setup: her bank line is imported');
SELECT is((SELECT status FROM ar.invoice WHERE number = 'GP-1'), 'paid', 'setup: GP-1 is paid by her bank line');

-- everything of the setup sealed in the chain: the redaction meets sealed rows
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT is((SELECT valid FROM ar.verify_audit_chain()), true, 'setup: the audit chain verifies');
SELECT ok((SELECT count(*) FROM ar.audit_log a WHERE ar._audit_link(a) IS NOT NULL AND concat(old_row::text, new_row::text) LIKE '%Jeanne Personne-Gdpr%') > 0,
	'setup: sealed audit rows hold her name');

-- what must not move: amounts, dates, references of the books
CREATE TEMP TABLE books_before AS
SELECT (SELECT string_agg(concat_ws('|', id, number, issue_date, due_date, amount, open_amount, written_off_amount, status,
                                    payment_reference, customer_id), ',' ORDER BY id) FROM ar.invoice) AS invoices,
       (SELECT string_agg(concat_ws('|', id, invoice_id, bank_transaction_id, amount, allocated_on, method), ',' ORDER BY id)
          FROM ar.allocation) AS allocations,
       (SELECT string_agg(concat_ws('|', id, statement_id, booking_date, value_date, amount, allocated_amount, status,
                                    structured_reference, end_to_end_id), ',' ORDER BY id) FROM ar.bank_transaction) AS lines,
       (SELECT string_agg(concat_ws('|', id, code, company_id), ',' ORDER BY id) FROM ar.customer) AS customers,
       (SELECT count(*) FROM ar.audit_log) AS audit_rows;

\ir ../lib/personal_hits.sql
CREATE TEMP TABLE personal(v text);
INSERT INTO personal VALUES ('Jeanne Personne-Gdpr'), ('jeanne.personne@example.org'), ('+33 6 12 34 56 78'),
	('12 rue des Lilas Gdpr'), ('Batiment Glycine'), ('FR1420041010050500013M02606'), ('J. Personne Titulaire'),
	('loyer appartement Lilas'), ('fuite d''eau'), ('Accord avec Mme Personne'), ('chez sa soeur a Lyon'),
	('Appel de Jeanne'), ('paid by Jeanne');
SELECT ok((SELECT count(*) FROM pg_temp.personal_hits((SELECT array_agg(v) FROM personal))) >= 10,
	'setup: the search finds her personal values in many places before');

-- ------------------------------------------------------------ refusals
SELECT id AS p_id FROM ar.customer WHERE code = 'P-0001' \gset
SELECT id AS q_id FROM ar.customer WHERE code = 'Q-0001' \gset
SELECT id AS s_id FROM ar.customer WHERE code = 'S-0001' \gset
SET LOCAL ROLE t_gdpr_adm_b;
SELECT throws_like(format('SELECT ar.anonymise_customer(%s, %L)', :p_id, 'request 42'),
	'%may not act as admin for company "GA"%', 'another company''s admin may not anonymise (42501)');
SELECT throws_ok(format('SELECT ar.anonymise_customer(%s, %L)', :p_id, 'request 42'),
	'42501', NULL, 'another company''s admin: SQLSTATE 42501');
RESET ROLE;
SET LOCAL ROLE t_gdpr_coll_a;
SELECT throws_ok(format('SELECT ar.anonymise_customer(%s, %L)', :p_id, 'request 42'),
	'42501', NULL, 'a collector of the company may not anonymise (42501)');
RESET ROLE;
SET LOCAL ROLE t_gdpr_adm_a;
SELECT throws_ok(format('SELECT ar.anonymise_customer(%s, %L)', :q_id, 'request 43'),
	'55000', 'customer Q-0001 (id ' || :q_id || ') has open items and cannot be anonymised',
	'open items: refused with 55000 naming the customer');
SELECT throws_like(format('SELECT ar.anonymise_customer(%s, %L)', :s_id, 'request 44'),
	'customer S-0001 (id %) cannot be anonymised before ' || (ar.fiscal_year_end(current_date - 380, 12) + 1 + interval '10 years')::date
	|| ': the legal retention of its accounting documents runs until %',
	'a running retention: refused, naming the customer and the first day it may be anonymised');
SELECT throws_ok(format('SELECT ar.anonymise_customer(%s, %L)', :p_id, '  '),
	'22023', NULL, 'a reason is required');
RESET ROLE;
-- a queued notice (a pending collection) blocks too
SAVEPOINT queued;
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT company_id, id, 'GP-3', '2012-05-01', '2012-05-31', 40 FROM ar.customer WHERE code = 'P-0001';
SELECT ok((SELECT count(*) FROM ar.run_dunning('2012-07-15')) > 0, 'a dunning run of 2012 queues a notice to her');
SELECT ar.cancel_invoice(id, '2012-07-20') FROM ar.invoice WHERE number = 'GP-3';
SELECT throws_like(format('SELECT ar.anonymise_customer(%s, %L)', :p_id, 'request 45'),
	'%has open items%', 'a queued dunning notice: refused');
ROLLBACK TO queued;

-- ------------------------------------------------------- retention report
SELECT results_eq($$SELECT customer_code, last_document_on, retention_until, anonymise_from, may_anonymise
                      FROM ar.retention_report('2026-12-01') WHERE customer_code IN ('P-0001', 'R-0001') ORDER BY 1$$,
	$$VALUES ('P-0001'::text, '2012-06-30'::date, '2022-12-31'::date, '2023-01-01'::date, true),
	         ('R-0001', '2014-07-01', '2025-06-30', '2025-07-01', true)$$,
	'retention report: 10 years from the end of the fiscal year of the last document (December for GA, June for GB)');
SELECT results_eq($$SELECT may_anonymise, anonymise_from FROM ar.retention_report('2025-06-30') WHERE customer_code = 'R-0001'$$,
	$$VALUES (false, '2025-07-01'::date)$$, 'retention report: not on the last day of the retention');
SELECT is((SELECT blocking[1] FROM ar.retention_report('2025-06-30') WHERE customer_code = 'R-0001'),
	'legal retention until 2025-06-30 (last accounting document 2014-07-01)', 'retention report: the blocking reason');
SELECT results_eq($$SELECT may_anonymise, anonymise_from, blocking[1] FROM ar.retention_report() WHERE customer_code = 'Q-0001'$$,
	$$VALUES (false, NULL::date, '1 open invoice(s)'::text)$$, 'retention report: open items block, no date yet');
UPDATE ar.retention_policy SET accounting_years = 12 WHERE company_id = (SELECT id FROM ar.company WHERE code = 'GB');
SELECT is((SELECT retention_until FROM ar.retention_report('2026-12-01') WHERE customer_code = 'R-0001'), '2027-06-30'::date,
	'retention report: the retention is configurable per company');
SET LOCAL ROLE t_gdpr_adm_b;
SELECT is((SELECT array_agg(customer_code) FROM ar.retention_report('2026-12-01')), '{R-0001}',
	'retention report: an admin of GB sees the customers of GB only');
RESET ROLE;

-- ------------------------------------------------------------ anonymise
SET LOCAL ROLE t_gdpr_adm_a;
CREATE TEMP TABLE done AS
SELECT ar.anonymise_customer(:p_id, 'GDPR request ref. 2026-117 of 2026-11-30') AS id;
RESET ROLE;
SELECT isnt((SELECT id FROM done), NULL, 'the admin of GA anonymises P');
SELECT is(ARRAY(SELECT * FROM pg_temp.personal_hits((SELECT array_agg(v) FROM personal))), '{}'::text[],
	'no personal value remains in any text, jsonb or IBAN column of schema ar, the audit trail included');
SELECT results_eq($$SELECT name, email, phone, address_line1, postcode, city FROM ar.customer WHERE code = 'P-0001'$$,
	$$SELECT 'Anonymised customer #' || id, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text FROM ar.customer WHERE code = 'P-0001'$$,
	'the customer row keeps its code, its name is a pseudonym, its contact data are gone');
SELECT is((SELECT count(*) FROM ar.customer_bank_account WHERE customer_id = :p_id),
	0::bigint, 'her bank accounts are gone');
SELECT is((SELECT array_agg(DISTINCT summary) FROM ar.communication WHERE customer_id = :p_id),
	'{[anonymised]}', 'the communications log keeps its entries (kind, date), not their text');
SELECT is((SELECT name FROM ar.customer WHERE code = 'Q-0001'), 'Quentin Ouvert', 'other customers are untouched');
SELECT is((SELECT summary FROM ar.communication WHERE customer_id = :q_id AND kind = 'note'),
	'Quentin is the neighbour of [anonymised]', 'her name is replaced in another customer''s note, the rest of it stays');
SELECT results_eq($$SELECT c.name, m.summary FROM ar.customer c JOIN ar.communication m ON m.customer_id = c.id WHERE c.code = 'U-0001'$$,
	$$VALUES ('Jeanne Personne-Gdpr2'::text, 'Jeanne Personne-Gdpr2 calls back on Monday'::text)$$,
	'a longer name that merely contains hers is not touched (values are replaced where they stand whole)');
SELECT is((SELECT count(*) FROM ar.audit_log a
            WHERE a.table_name = 'communication' AND a.operation = 'UPDATE'
              AND (a.new_row ->> 'customer_id')::bigint = (SELECT id FROM ar.customer WHERE code = 'U-0001')),
	0::bigint, 'rows that only resemble her values are not rewritten (no audit row of an update)');
SELECT is((SELECT count(*) FROM ar.audit_redaction x JOIN ar.audit_log a ON a.id = x.audit_id
            WHERE a.table_name = 'customer' AND a.row_id = (SELECT id FROM ar.customer WHERE code = 'U-0001')),
	0::bigint, 'nor are their audit images redacted');
SELECT results_eq($$SELECT a.new_row ->> 'number', a.new_row -> 'amount', a.new_row ->> 'issue_date'
                      FROM ar.audit_log a WHERE a.table_name = 'invoice' AND a.operation = 'INSERT'
                       AND a.row_id IN (SELECT id FROM ar.invoice WHERE number LIKE 'GP-%') ORDER BY a.id$$,
	$$VALUES ('GP-1'::text, '1200.00'::jsonb, '2012-01-10'::text), ('GP-2', '300.50', '2012-02-10')$$,
	'the audit images keep numbers, amounts and dates');
SELECT results_eq($$SELECT invoices, allocations, lines, customers FROM books_before$$,
	$$SELECT (SELECT string_agg(concat_ws('|', id, number, issue_date, due_date, amount, open_amount, written_off_amount, status,
	                                      payment_reference, customer_id), ',' ORDER BY id) FROM ar.invoice),
	         (SELECT string_agg(concat_ws('|', id, invoice_id, bank_transaction_id, amount, allocated_on, method), ',' ORDER BY id)
	            FROM ar.allocation),
	         (SELECT string_agg(concat_ws('|', id, statement_id, booking_date, value_date, amount, allocated_amount, status,
	                                      structured_reference, end_to_end_id), ',' ORDER BY id) FROM ar.bank_transaction),
	         (SELECT string_agg(concat_ws('|', id, code, company_id), ',' ORDER BY id) FROM ar.customer)$$,
	'amounts, dates, references and statuses of invoices, allocations and bank lines are unchanged');
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'ar.check_ledger() is clean');
SELECT ok((SELECT count(*) FROM ar.audit_log) > (SELECT audit_rows FROM books_before), 'no audit row was removed, the anonymisation added some');
SELECT results_eq($$SELECT status, audit_rows_redacted > 0, manifest_sha256 IS NOT NULL, reason FROM ar.gdpr_anonymisation$$,
	$$VALUES ('done'::text, true, true, 'GDPR request ref. 2026-117 of 2026-11-30'::text)$$,
	'the anonymisation is recorded, with its count of redacted audit rows and its manifest');
SELECT is((SELECT count(*) FROM ar.audit_redaction), (SELECT audit_rows_redacted FROM ar.gdpr_anonymisation),
	'one redaction record per redacted sealed audit row');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'gdpr_anonymisation' AND row_id = (SELECT id FROM done)), 2::bigint,
	'the anonymisation is itself audited (its insert and its completion)');
SELECT results_eq($$SELECT count(*) > 0, count(*) FILTER (WHERE a.row_hash = sha256(ar.audit_row_content(a, NULL))) = count(*),
                           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ar.audit_redaction x WHERE x.audit_id = a.id))
                      FROM ar.audit_log a
                     WHERE ar._audit_unsealed(a) AND a.table_name = 'customer' AND a.operation = 'UPDATE'
                       AND a.row_id = $$ || :p_id || $$ AND a.old_row ->> 'name' LIKE 'Anonymised customer #%'$$,
	$$VALUES (true, true, 0::bigint)$$,
	'the anonymisation''s own audit rows, not sealed yet, are redacted and hashed again (no redaction record)');

SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT results_eq($$SELECT valid, problem FROM ar.verify_audit_chain()$$, $$VALUES (true, NULL::text)$$,
	'the audit chain verifies after the anonymisation (sealed)');
SET LOCAL ROLE t_gdpr_adm_a;
SELECT results_eq($$SELECT c.chain, c.valid FROM ar.verify_audit_chains() c$$, $$VALUES ('shared', true), ('company', true)$$,
	'an admin of the company verifies the chains it reads, its own with the anonymisation''s manifest');
RESET ROLE;

-- idempotent: a second call is a no-op returning the same anonymisation (with a notice)
SET LOCAL client_min_messages = warning;
SET LOCAL ROLE t_gdpr_adm_a;
SELECT is(ar.anonymise_customer(:p_id, 'again'), (SELECT id FROM done),
	'anonymising twice returns the first anonymisation');
RESET ROLE;
SELECT is((SELECT count(*) FROM ar.gdpr_anonymisation), 1::bigint, 'and records nothing new');
SELECT results_eq($$SELECT may_anonymise, anonymised_on IS NOT NULL FROM ar.retention_report() WHERE customer_code = 'P-0001'$$,
	$$VALUES (false, true)$$, 'retention report: P is anonymised');

-- ---------------------------------------------------- tampering still found
SET LOCAL session_replication_role = replica;
SAVEPOINT tamper;
UPDATE ar.audit_log SET new_row = jsonb_set(new_row, '{name}', '"Jeanne Personne-Gdpr"')
 WHERE id = (SELECT min(x.audit_id) FROM ar.audit_redaction x JOIN ar.audit_log a ON a.id = x.audit_id
              WHERE a.table_name = 'customer' AND a.new_row ? 'name');
SELECT is((SELECT problem FROM ar.verify_audit_chain()), 'redacted row content does not match its redaction record',
	'putting a value back into a redacted row is found');
ROLLBACK TO tamper;
UPDATE ar.audit_redaction SET redacted_sha256 = sha256('forged'::bytea)
 WHERE audit_id = (SELECT min(audit_id) FROM ar.audit_redaction);
SELECT is((SELECT problem FROM ar.verify_audit_chain()), 'redacted row content does not match its redaction record',
	'forging a redaction record is found');
SELECT results_eq($$SELECT c.code, v.valid, v.problem FROM ar.company c, ar.verify_audit_chain(c.id) v
                     WHERE c.code IN ('GA', 'GB') ORDER BY 1$$,
	$$VALUES ('GA', false, 'redacted row content does not match its redaction record'), ('GB', true, NULL)$$,
	'in the chain of the customer''s company, not in the other company''s');
ROLLBACK TO tamper;
-- a forged redaction: content and record changed together
UPDATE ar.audit_log SET new_row = jsonb_set(new_row, '{amount}', '"1.00"')
 WHERE id = (SELECT min(x.audit_id) FROM ar.audit_redaction x JOIN ar.audit_log a ON a.id = x.audit_id
              WHERE a.table_name = 'bank_transaction' AND a.new_row ? 'amount');
UPDATE ar.audit_redaction x SET redacted_sha256 = sha256(ar.audit_row_content(a, a.seq))
  FROM ar.audit_log a WHERE a.id = x.audit_id AND a.table_name = 'bank_transaction' AND a.new_row ->> 'amount' = '1.00';
SELECT alike((SELECT problem FROM ar.verify_audit_chain()), 'the redaction records of anonymisation % do not match the manifest chained at seal %',
	'changing a redacted row together with its record is found by the chained manifest');
SELECT results_eq($$SELECT c.code, v.valid, v.problem LIKE 'the redaction records of anonymisation % do not match the manifest%'
                      FROM ar.company c, ar.verify_audit_chain(c.id) v WHERE c.code IN ('GA', 'GB') ORDER BY 1$$,
	$$VALUES ('GA', false, true), ('GB', true, NULL)$$,
	'by the manifest chained in the company''s own chain');
ROLLBACK TO tamper;
DELETE FROM ar.audit_redaction WHERE audit_id = (SELECT min(audit_id) FROM ar.audit_redaction);
SELECT is((SELECT problem FROM ar.verify_audit_chain()), 'row content does not match its hash',
	'removing a redaction record is found');
ROLLBACK TO tamper;
UPDATE ar.audit_log SET new_row = jsonb_set(new_row, '{amount}', '"1.00"')
 WHERE id = (SELECT min(id) FROM ar.audit_log WHERE table_name = 'invoice' AND new_row ->> 'number' = 'GQ-1');
SELECT is((SELECT problem FROM ar.verify_audit_chain()), 'row content does not match its hash',
	'tampering with a row that was not redacted is found as before');
ROLLBACK TO tamper;
SELECT is((SELECT valid FROM ar.verify_audit_chain()), true, 'untampered again: the chain verifies');
RESET session_replication_role;

-- the guards' test that an anonymisation runs in this transaction: a row's
-- xmin is this transaction or one of its subtransactions (on a Citus shard
-- the node's transaction id is not the coordinator's txid)
SELECT is((SELECT ar._xid_is_current(xmin) FROM ar.gdpr_anonymisation), true,
	'ar._xid_is_current: a row written in this transaction');
SELECT is((SELECT ar._xid_is_current(xmin) FROM pg_catalog.pg_class WHERE oid = 'pg_catalog.pg_class'::regclass), false,
	'ar._xid_is_current: a row of another (committed) transaction');
SAVEPOINT sub;
INSERT INTO ar.retention_policy (company_id) SELECT id FROM ar.company WHERE code = 'GA';
SELECT is((SELECT ar._xid_is_current(xmin) FROM ar.retention_policy WHERE company_id = (SELECT id FROM ar.company WHERE code = 'GA')), true,
	'ar._xid_is_current: a row written in a subtransaction');
ROLLBACK TO sub;

SELECT * FROM finish();
ROLLBACK;
