-- The dates of ar.run_dunning's warning and notice, and of the texts it
-- writes, are ISO whatever the caller's DateStyle (before 0.2.0's fix,
-- under 'SQL, DMY': "could not be computed on 06/12/2026", "ECB_MRO from
-- 06/02/2026", "Promise to pay ... by 20/11/2026").  The errors:
-- test/pgtap/caller_settings.sql.  ar.run_dunning looks at every customer
-- of its database: the scenario runs in a database of its own.
SELECT current_database() AS regress_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS ar_caller_settings_regress;
RESET client_min_messages;
CREATE DATABASE ar_caller_settings_regress;
\c ar_caller_settings_regress
SET client_min_messages = warning;
CREATE EXTENSION ar_collect;
RESET client_min_messages;
-- an invoice overdue when the reference rates are not known (its
-- penalties cannot be computed), a customer in a language no template is
-- written in, a promise to pay broken
INSERT INTO ar.customer (code, name, email, language)
VALUES ('CS-1', 'Client', 'cs1@example.com', 'fr'), ('CS-2', 'Asiakas', 'cs2@example.com', 'fi');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'F-' || code, '2026-10-01', '2026-11-01', 1000 FROM ar.customer;
SELECT ar.promise_to_pay(id, '2026-11-20', 100.00, '2026-11-10') IS NOT NULL AS promised FROM ar.invoice WHERE number = 'F-CS-1';
SET DateStyle = 'SQL, DMY';
SELECT count(*) AS notices FROM ar.run_dunning('2026-12-06');
SELECT summary FROM ar.communication WHERE kind = 'promise_broken';
-- (the caller's own dates stay in its style)
SELECT DISTINCT as_of FROM ar.dunning_notice;
RESET DateStyle;
\c :regress_db
DROP DATABASE ar_caller_settings_regress;
