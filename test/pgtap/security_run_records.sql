-- The records of runs that cover every company against a reader of one
-- (doc/security.md, "Companies as tenants"; 96_company_rls_2_run_records.sql).
-- Before 0.2.0's fix every ar_reader read ar.dunning_run (accounts, notices
-- and cycles closed summed over the companies; the report naming the first
-- invoice whose penalty could not be computed and the customers written to
-- in another language, of any company), ar.worker_state (the worker's last
-- error, the notices of its last run) and every row of ar.worker_run (a
-- company's run: its notices per level).  A reader of A now reads A's own
-- runs only; a reader of every company reads them all; every reader's
-- timeline still names who ran a date.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(17);

CREATE ROLE rr_read_a LOGIN IN ROLE ar_reader;
CREATE ROLE rr_read_ab LOGIN IN ROLE ar_reader;

INSERT INTO ar.company (code, name, iban) VALUES ('A', 'Company A', 'FR7630006000011234567890189'),
                                                 ('B', 'Company B', 'DE89370400440532013000');
SELECT ar.grant_company_access('rr_read_a', 'A', 'reader');
-- (every company: A, B and the default company CREATE EXTENSION makes)
SELECT ar.grant_company_access('rr_read_ab', c.code, 'reader') FROM ar.company c;
-- B's customer speaks a language no template is written in: the run's
-- report names it (language_fallbacks)
INSERT INTO ar.customer (company_id, code, name, email, language)
SELECT c.id, 'RR' || c.code, 'Customer of ' || c.code, 'rr' || lower(c.code) || '@example.com',
       CASE c.code WHEN 'B' THEN 'fi' ELSE 'fr' END
  FROM ar.company c WHERE c.code IN ('A', 'B');
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT cu.company_id, cu.id, 'RRI-' || cu.code, current_date - 90, current_date - 60, 1000 FROM ar.customer cu;
SET LOCAL client_min_messages = error;  -- (the run warns: no reference rate, a fallback language)
SELECT ok((SELECT count(*) FROM ar.run_dunning(current_date)) = 2, 'setup: the run queues a notice to each company''s customer');
SELECT ok((SELECT report::text LIKE '%RRB%' FROM ar.dunning_run WHERE as_of = current_date),
	'setup: the run''s report names B''s customer');
RESET client_min_messages;
-- the worker's state and runs, as the worker records them: a day's run
-- without company and one run per company
INSERT INTO ar.worker_state (id, last_error, last_dunning_notices) VALUES (true, 'invoice RRI-B failed', 2);
INSERT INTO ar.worker_run (kind, as_of, status, result)
VALUES ('dunning', current_date, 'succeeded', '{"notices": 2}');
INSERT INTO ar.worker_run (kind, as_of, status, result)
SELECT 'dunning', current_date, 'succeeded', jsonb_build_object('company_id', c.id, 'notices', 1)
  FROM ar.company c WHERE c.code IN ('A', 'B');

SET LOCAL ROLE rr_read_a;
SELECT is((SELECT count(*) FROM ar.dunning_run), 0::bigint, 'a reader of A does not read the run of every company');
SELECT is((SELECT count(*) FROM ar.worker_state), 0::bigint, 'nor the worker''s state');
SELECT is((SELECT count(*) FROM ar.worker_run w WHERE w.result ? 'company_id'), 1::bigint, 'of the companies'' runs, one');
SELECT is((SELECT (w.result ->> 'company_id')::bigint FROM ar.worker_run w WHERE w.result ? 'company_id'),
	(SELECT c.id FROM ar.company c WHERE c.code = 'A'), 'A''s');
SELECT is((SELECT count(*) FROM ar.worker_run w WHERE NOT w.result ? 'company_id'), 0::bigint,
	'not the day''s run of every company');
SELECT is((SELECT row(s.last_error, s.last_dunning_notices, s.last_run_date)::text FROM ar.worker_status s), '(,,)',
	'ar.worker_status shows it nothing the worker did');
SELECT is((SELECT count(*) FROM ar.worker_status s WHERE s.running IS NOT NULL), 1::bigint,
	'but whether the worker runs');
SELECT is((SELECT array_agg(t.actor) FROM ar.customer_timeline t WHERE t.kind = 'notice_queued'), ARRAY[session_user::text],
	'its timeline names who queued A''s notice');
SELECT is((SELECT count(*) FROM ar.dunning_notice), 1::bigint, 'it reads A''s notice (the outbox''s policies)');
RESET ROLE;

SET LOCAL ROLE rr_read_ab;
SELECT ok((SELECT report::text LIKE '%RRB%' FROM ar.dunning_run WHERE as_of = current_date),
	'a reader of every company reads the run and its report');
SELECT is((SELECT count(*) FROM ar.worker_run), 3::bigint, 'and every run of the worker');
SELECT is((SELECT row(s.last_error, s.last_dunning_notices, s.last_run_date)::text FROM ar.worker_status s),
	format('("invoice RRI-B failed",2,%s)', current_date), 'and the worker''s state');
RESET ROLE;

-- nobody but a role acting for every company writes them (a restore)
SELECT ar.grant_company_access('rr_read_a', 'A', 'admin');
GRANT UPDATE ON ar.dunning_run TO rr_read_a;
SET LOCAL ROLE rr_read_a;
UPDATE ar.dunning_run SET notices = 0;
RESET ROLE;
SELECT is((SELECT notices FROM ar.dunning_run WHERE as_of = current_date), 2, 'an admin of A given UPDATE changes no run');
SELECT ar.grant_company_access('rr_read_a', c.code, 'admin') FROM ar.company c WHERE c.code <> 'A';
SET LOCAL ROLE rr_read_a;
UPDATE ar.dunning_run SET notices = 0;
RESET ROLE;
SELECT is((SELECT notices FROM ar.dunning_run WHERE as_of = current_date), 0, 'an admin of every company does');
SELECT policies_are('ar', 'dunning_run', ARRAY['every_company_read', 'every_company_write'], 'ar.dunning_run has its two policies');

SELECT * FROM finish();
ROLLBACK;
