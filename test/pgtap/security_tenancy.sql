-- Companies as tenants: a collector, a reader and an admin of company A and
-- a collector of company B replay what a role of one company could do to
-- another's ledger (issue 12, "Companies as tenants").  Every attack is
-- refused with 42501 naming the company, or finds nothing, and nothing of B
-- changes.  The roles act through SET ROLE: ar._caller() is the role chosen
-- by SET ROLE, whatever the session user.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(100);

CREATE ROLE t_coll_a IN ROLE ar_collector;
CREATE ROLE t_read_a IN ROLE ar_collector;   -- granted ar_collector, but a reader of A only
CREATE ROLE t_adm_a IN ROLE ar_admin;
CREATE ROLE t_coll_b IN ROLE ar_collector;
CREATE ROLE t_lone IN ROLE ar_collector;     -- no membership at all
CREATE ROLE t_team_a IN ROLE ar_collector;   -- a group role with a membership ...
CREATE ROLE t_alice IN ROLE t_team_a;        -- ... and a role inheriting from it

-- ------------------------------------------- the single-company install
INSERT INTO ar.customer (code, name) VALUES ('D1', 'Default customer');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'D-1', '2026-01-01', '2026-01-31', 100 FROM ar.customer WHERE code = 'D1';
SET LOCAL ROLE t_lone;
SELECT is((SELECT array_agg(code || ':' || access || ':' || via) FROM ar.my_companies), '{DEFAULT:collector:single}',
	'no setup: a collector with no membership acts for the only company, at its grant''s level');
SELECT isnt(ar.record_payment('D-1', 40, '2026-02-01'), NULL, 'no setup: the collector records a payment');
SELECT is((SELECT open_amount FROM ar.invoice WHERE number = 'D-1'), 60.00::numeric, 'no setup: the collector reads the ledger');
SELECT is((SELECT count(*) FROM ar.receivables), 1::bigint, 'no setup: the collector reads the views');
RESET ROLE;
SET LOCAL ROLE t_adm_a;
SELECT lives_ok($$SELECT ar.grant_company_access('t_adm_a', 'DEFAULT', 'admin')$$,
	'no setup: an admin grants (here itself) access to the only company');
RESET ROLE;

-- ------------------------------------------------------ two companies
INSERT INTO ar.company (code, name, iban) VALUES ('A', 'Company A', 'FR7630006000011234567890189'),
                                                 ('B', 'Company B', 'DE89370400440532013000');
SELECT ar.grant_company_access(m, c, a)
  FROM (VALUES ('t_coll_a', 'A', 'collector'), ('t_read_a', 'A', 'reader'), ('t_adm_a', 'A', 'admin'),
               ('t_coll_b', 'B', 'collector'), ('t_team_a', 'A', 'collector')) AS g(m, c, a);
INSERT INTO ar.customer (company_id, code, name)
SELECT c.id, 'C' || c.code, 'Customer of ' || c.code FROM ar.company c WHERE c.code IN ('A', 'B');
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, payment_reference)
SELECT cu.company_id, cu.id, n.number, '2026-01-01', '2026-01-31', n.amount, n.number
  FROM (VALUES ('CA', 'IA-1', 1000), ('CA', 'IA-2', -50), ('CB', 'IB-1', 1000), ('CB', 'IB-2', 700),
               ('CB', 'IB-3', -80), ('CB', 'SAME-1', 10), ('CA', 'SAME-1', 20)) AS n(customer, number, amount)
  JOIN ar.customer cu ON cu.code = n.customer;
INSERT INTO ar.customer_credit (company_id, customer_id, amount, source)
SELECT company_id, id, 25, 'manual' FROM ar.customer WHERE code = 'CB';
-- a line of B with no match, one that B's reconcile proposes for IB-2
CREATE TEMP TABLE imported AS
SELECT ar.import_statement(E'account,statement_ref,booking_date,amount,counterparty_name,remittance_info\n'
                           'DE89370400440532013000,B-1,2026-02-10,333.00,Nobody,nothing\n'
                           'DE89370400440532013000,B-1,2026-02-11,690.00,Customer of B,IB-2\n', 'csv') AS id;
SELECT is((SELECT c.code FROM imported i JOIN ar.bank_statement s ON s.id = i.id JOIN ar.company c ON c.id = s.company_id),
	'B', 'setup: a statement of B''s account belongs to B');
SELECT ok((SELECT count(*) FROM ar.reconcile_company((SELECT id FROM ar.company WHERE code = 'B'), false)) >= 1,
	'setup: B''s lines reconciled (nothing applied)');
SELECT isnt((SELECT count(*) FROM ar.match_proposal WHERE status = 'pending'), 0::bigint, 'setup: B has a pending proposal');
SELECT ok((SELECT count(*) FROM ar.run_dunning('2026-03-20')) > 0, 'setup: a dunning run queues notices');
SELECT isnt((SELECT count(*) FROM ar.dunning_notice n JOIN ar.company c ON c.id = n.company_id WHERE c.code = 'B'), 0::bigint,
	'setup: B has a dunning notice');
-- a write-off of B, reversed
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT company_id, id, 'IB-W', '2026-01-01', '2026-01-31', 30 FROM ar.customer WHERE code = 'CB';
SELECT ar.reverse_write_off(ar.write_off_invoice((SELECT id FROM ar.invoice WHERE number = 'IB-W'), 'setup', '2026-02-01'), 'setup');

CREATE TEMP TABLE ids AS
SELECT (SELECT id FROM ar.company WHERE code = 'A') AS a, (SELECT id FROM ar.company WHERE code = 'B') AS b,
       (SELECT id FROM ar.invoice WHERE number = 'IB-1') AS ib1, (SELECT id FROM ar.invoice WHERE number = 'IB-2') AS ib2,
       (SELECT id FROM ar.invoice WHERE number = 'IB-3') AS ib3, (SELECT id FROM ar.invoice WHERE number = 'IA-1') AS ia1,
       (SELECT id FROM ar.invoice WHERE number = 'IA-2') AS ia2,
       (SELECT id FROM ar.customer WHERE code = 'CB') AS cb, (SELECT id FROM ar.customer WHERE code = 'CA') AS ca,
       (SELECT min(id) FROM ar.bank_transaction) AS line_b,
       (SELECT min(id) FROM ar.match_proposal WHERE status = 'pending') AS proposal_b,
       (SELECT min(n.id) FROM ar.dunning_notice n JOIN ar.company c ON c.id = n.company_id WHERE c.code = 'B') AS notice_b,
       (SELECT w.allocation_id FROM ar.write_off_reversal w JOIN ar.invoice i ON i.id = w.invoice_id WHERE i.number = 'IB-W')
         AS reversed_b;
GRANT SELECT ON ids TO PUBLIC;

-- B as it is: every row of B's ledger, and what the ledger and the audit
-- trail hold; compared after the attacks
CREATE FUNCTION pg_temp.b_state() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(concat_ws(',', id, open_amount, status, disputed, cancelled_on, payment_reference), ';' ORDER BY id) FROM ar.invoice WHERE company_id = b),
		(SELECT string_agg(concat_ws(',', id, allocated_amount, status), ';' ORDER BY id) FROM ar.bank_transaction WHERE company_id = b),
		(SELECT string_agg(concat_ws(',', id, remaining), ';' ORDER BY id) FROM ar.customer_credit WHERE company_id = b),
		(SELECT string_agg(concat_ws(',', id, status), ';' ORDER BY id) FROM ar.match_proposal WHERE company_id = b),
		(SELECT string_agg(concat_ws(',', id, status), ';' ORDER BY id) FROM ar.dunning_notice WHERE company_id = b),
		(SELECT string_agg(concat_ws(',', id, segment), ';' ORDER BY id) FROM ar.customer WHERE company_id = b),
		(SELECT string_agg(concat_ws(',', code, name), ';') FROM ar.company WHERE id = b),
		(SELECT count(*) FROM ar.allocation WHERE company_id = b), (SELECT count(*) FROM ar.communication WHERE company_id = b),
		(SELECT count(*) FROM ar.dispute WHERE company_id = b), (SELECT count(*) FROM ar.payment_promise WHERE company_id = b),
		(SELECT count(*) FROM ar.dunning_block WHERE company_id = b), (SELECT count(*) FROM ar.payment_plan WHERE company_id = b),
		(SELECT count(*) FROM ar.penalty_claim WHERE company_id = b), (SELECT count(*) FROM ar.bank_statement WHERE company_id = b),
		(SELECT count(*) FROM ar.reconcile_line WHERE company_id = b), (SELECT count(*) FROM ar.reconcile_run WHERE company_id = b),
		(SELECT count(*) FROM ar.customer_bank_account WHERE company_id = b),
		(SELECT count(*) FROM ar.customer_dunning_policy p JOIN ar.customer c ON c.id = p.customer_id WHERE c.company_id = b),
		(SELECT string_agg(concat_ws(',', member, access), ';' ORDER BY member) FROM ar.company_member WHERE company_id = b),
		(SELECT count(*) FROM ar.audit_log
		  WHERE CASE WHEN table_name = 'company' THEN row_id
		             ELSE (coalesce(new_row, old_row) ->> 'company_id')::bigint END = b)))
	  FROM (SELECT b FROM ids) i
$$;
CREATE TEMP TABLE before AS SELECT pg_temp.b_state() AS state;

-- ------------------------------------------- a collector of A against B
SET LOCAL ROLE t_coll_a;
SELECT throws_ok($$SELECT ar.record_payment('IB-1', 10, '2026-02-01')$$, '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no payment on B''s invoice');
SELECT isnt(ar.record_payment('SAME-1', 5, '2026-02-01'), NULL,
	'collector of A: a number both companies use names A''s invoice');
SELECT is((SELECT open_amount FROM ar.invoice WHERE number = 'SAME-1'), 15::numeric, 'collector of A: it paid A''s SAME-1');
SELECT throws_ok(format($$SELECT ar.open_dispute(%s, 'attack')$$, (SELECT ib1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no dispute on B''s invoice');
SELECT throws_ok(format($$SELECT ar.resolve_dispute(%s, 'attack')$$, (SELECT ib1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no dispute resolved on B''s invoice');
SELECT throws_ok(format($$SELECT ar.promise_to_pay(%s, '2026-04-01', 10)$$, (SELECT ib1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no promise on B''s invoice');
SELECT throws_ok(format($$SELECT ar.block_dunning(%s, 'infinity', 'attack')$$, (SELECT cb FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no block of B''s customer');
SELECT throws_ok(format($$SELECT ar.unblock_dunning(%s, 'attack')$$, (SELECT cb FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no unblock of B''s customer');
SELECT throws_ok(format($$SELECT ar.log_interaction(%s, 'call', 'attack')$$, (SELECT cb FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: nothing logged for B''s customer');
SELECT throws_ok(format($$SELECT ar.create_payment_plan(%s, ARRAY[%s]::bigint[], ARRAY['2026-05-01']::date[])$$,
                        (SELECT cb FROM ids), (SELECT ib1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no payment plan for B''s customer');
SELECT throws_ok(format($$SELECT * FROM ar.apply_customer_credit(%s)$$, (SELECT cb FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: B''s customer credit not spent');
SELECT throws_ok(format($$SELECT ar.apply_credit_note(%s, %s)$$, (SELECT ib3 FROM ids), (SELECT ib1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no credit note set off in B');
SELECT throws_ok(format($$SELECT ar.apply_credit_note(%s, %s)$$, (SELECT ia2 FROM ids), (SELECT ib1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: A''s credit note not set against B''s invoice');
SELECT throws_ok(format($$SELECT ar.waive_penalty(%s, 'attack')$$, (SELECT ib1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no waiver of B''s penalties');
SELECT throws_ok(format($$SELECT ar.bill_penalty(%s, '2026-04-01')$$, (SELECT ib1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no penalty billed in B');
SELECT throws_ok(format($$SELECT ar.reverse_write_off(%s, 'attack')$$, (SELECT reversed_b FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"',
	'collector of A: a write-off of B already reversed is B''s (not its date and author told)');
SELECT throws_ok($$SELECT ar.import_statement(E'account,statement_ref,booking_date,amount\nDE89370400440532013000,X-1,2026-02-12,5.00\n', 'csv')$$,
	'42501', 'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no statement onto B''s IBAN');
SELECT throws_ok(format($$SELECT * FROM ar.reconcile_company(%s)$$, (SELECT b FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: no reconcile of company B');
SELECT throws_ok(format($$SELECT * FROM ar.reconcile_preview(%s)$$, (SELECT b FROM ids)), '42501',
	'role "t_coll_a" may not act as reader for company "B"', 'collector of A: no preview of company B');
SELECT is((SELECT count(*) FROM ar.reconcile() r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id), 0::bigint,
	'collector of A: ar.reconcile() runs for A only (B''s new line untouched)');
SELECT is((SELECT count(*) FROM ar.reconcile_preview()), 0::bigint, 'collector of A: ar.reconcile_preview() shows nothing of B');
SELECT throws_ok(format($$SELECT ar.allocate(%s, %s, 1)$$, (SELECT line_b FROM ids), (SELECT ib1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: B''s line not allocated to B''s invoice');
SELECT throws_ok(format($$SELECT ar.allocate(%s, %s, 1)$$, (SELECT line_b FROM ids), (SELECT ia1 FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: B''s line not allocated to A''s invoice');
SELECT throws_ok(format($$SELECT * FROM ar.accept_proposal(%s)$$, (SELECT proposal_b FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: B''s proposal not accepted');
SELECT throws_ok(format($$SELECT ar.reject_proposal(%s)$$, (SELECT proposal_b FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: B''s proposal not rejected');
SELECT throws_ok(format($$SELECT ar.rematch(%s)$$, (SELECT line_b FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: B''s line not sent back to matching');
SELECT throws_ok(format($$SELECT ar.mark_notice(%s, 'cancelled')$$, (SELECT notice_b FROM ids)), '42501',
	'role "t_coll_a" may not act as collector for company "B"', 'collector of A: B''s notice not marked');
SELECT throws_ok($$SELECT * FROM ar.run_dunning('2026-04-20', true)$$, '42501',
	'role "t_coll_a" may not act as collector for company "DEFAULT"',
	'collector of A: no dunning run over the companies it does not collect for (even dry)');
SELECT is(ar.refresh_segments('2026-04-01') >= 0, true, 'collector of A: segments refreshed for A''s customers only');
-- reads: tables, views, reports
SELECT is((SELECT count(*) FROM ar.invoice WHERE company_id = (SELECT b FROM ids)), 0::bigint, 'collector of A: B''s invoices invisible');
SELECT is((SELECT count(*) FROM ar.customer WHERE company_id <> (SELECT a FROM ids)), 0::bigint, 'collector of A: only A''s customers');
SELECT is((SELECT array_agg(code ORDER BY code) FROM ar.company), '{A}', 'collector of A: only A in ar.company');
SELECT is((SELECT count(*) FROM ar.bank_transaction), 0::bigint, 'collector of A: B''s bank lines invisible');
SELECT is((SELECT count(*) FROM ar.match_proposal), 0::bigint, 'collector of A: B''s proposals invisible');
SELECT is((SELECT count(*) FROM ar.dunning_notice WHERE company_id <> (SELECT a FROM ids)), 0::bigint, 'collector of A: B''s notices invisible');
SELECT is((SELECT count(*) FROM ar.dunning_account WHERE customer_id <> (SELECT ca FROM ids)), 0::bigint, 'collector of A: B''s dunning accounts invisible');
SELECT is((SELECT count(*) FROM ar.communication WHERE company_id <> (SELECT a FROM ids)), 0::bigint, 'collector of A: B''s communications invisible');
SELECT is((SELECT count(*) FROM ar.receivables WHERE company_id <> (SELECT a FROM ids)), 0::bigint, 'collector of A: ar.receivables shows A only');
SELECT is((SELECT count(*) FROM ar.aging_report('2026-03-01') WHERE company_id <> (SELECT a FROM ids)), 0::bigint, 'collector of A: aging_report shows A only');
SELECT is((SELECT count(*) FROM ar.aging_by_customer WHERE company_id <> (SELECT a FROM ids)), 0::bigint, 'collector of A: aging_by_customer shows A only');
SELECT is((SELECT count(*) FROM ar.customer_credit_balance), 0::bigint, 'collector of A: B''s credit invisible');
SELECT is((SELECT count(*) FROM ar.bank_statement_summary), 0::bigint, 'collector of A: B''s statements invisible');
SELECT is((SELECT count(*) FROM ar.review_queue), 0::bigint, 'collector of A: B''s review queue invisible');
SELECT is((SELECT count(*) FROM ar.customer_timeline WHERE customer_id = (SELECT cb FROM ids)), 0::bigint, 'collector of A: B''s timeline invisible');
SELECT is((SELECT count(*) FROM ar.open_items('2026-03-01') WHERE company_id <> (SELECT a FROM ids)), 0::bigint, 'collector of A: open_items shows A only');
SELECT is((SELECT sum(total) FROM ar.aging_report('2026-03-01')), (SELECT 1000 + 20 - 5 - 50)::numeric, 'collector of A: aging totals are A''s');
RESET ROLE;
CREATE TEMP TABLE kpi_a AS SELECT k.* FROM ar.kpis('2026-03-01') k LIMIT 0;
GRANT ALL ON kpi_a TO PUBLIC;
SET LOCAL ROLE t_coll_a;
INSERT INTO kpi_a SELECT * FROM ar.kpis('2026-03-01');
RESET ROLE;
SELECT is((SELECT receivables FROM kpi_a), 0::numeric, 'collector of A: the KPIs (of the default company) count nothing it cannot see');

-- --------------------------------- a reader of A (granted ar_collector)
SET LOCAL ROLE t_read_a;
SELECT throws_ok($$SELECT ar.record_payment('IA-1', 10, '2026-02-01')$$, '42501',
	'role "t_read_a" may not act as collector for company "A"', 'reader of A: no payment on A''s invoice either');
SELECT is((SELECT count(*) FROM ar.invoice), 3::bigint, 'reader of A: reads A''s invoices');
SELECT is((SELECT count(*) FROM ar.invoice WHERE company_id = (SELECT b FROM ids)), 0::bigint, 'reader of A: not B''s');
RESET ROLE;

-- ------------------------------------------------ an admin of A against B
SET LOCAL ROLE t_adm_a;
SELECT throws_ok(format($$SELECT ar.write_off_invoice(%s, 'attack')$$, (SELECT ib1 FROM ids)), '42501',
	'role "t_adm_a" may not act as admin for company "B"', 'admin of A: no write-off in B');
SELECT throws_ok(format($$SELECT ar.cancel_invoice(%s)$$, (SELECT ib1 FROM ids)), '42501',
	'role "t_adm_a" may not act as admin for company "B"', 'admin of A: no cancellation in B');
SELECT throws_ok(format($$SELECT ar.write_off_penalty(%s, 'attack')$$, (SELECT ib1 FROM ids)), '42501',
	'role "t_adm_a" may not act as admin for company "B"', 'admin of A: no penalty write-off in B');
SELECT throws_ok(format($$SELECT ar.set_dunning_policy(%s, NULL)$$, (SELECT cb FROM ids)), '42501',
	'role "t_adm_a" may not act as collector for company "B"', 'admin of A: no dunning policy for B''s customer');
SELECT throws_ok($$SELECT ar.grant_company_access('t_adm_a', 'B', 'admin')$$, '42501',
	'role "t_adm_a" may not act as admin for company "B"', 'admin of A: cannot grant itself B');
SELECT throws_ok($$SELECT ar.revoke_company_access('t_coll_b', 'B')$$, '42501',
	'role "t_adm_a" may not act as admin for company "B"', 'admin of A: cannot revoke B''s members');
SELECT throws_ok($$SELECT ar.train_payment_model('2026-03-01')$$, '42501',
	'role "t_adm_a" may not act as admin for company "B"', 'admin of A: no model trained on B''s invoices');
SELECT throws_ok(format($$INSERT INTO ar.allocation (company_id, invoice_id, amount) VALUES (%s, %s, 1)$$,
                        (SELECT b FROM ids), (SELECT ib1 FROM ids)), '42501', NULL,
	'admin of A: no allocation written into B directly');
SELECT throws_ok(format($$INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount) VALUES (%s, %s, %s, 1)$$,
                        (SELECT a FROM ids), (SELECT ia1 FROM ids), (SELECT line_b FROM ids)), '23514',
	format('bank transaction %s belongs to another company than the allocation', (SELECT line_b FROM ids)),
	'admin of A: B''s bank line not spent on A''s invoice');
SELECT throws_ok(format($$INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount) VALUES (%s, %s, 'X', '2026-01-01', '2026-01-02', 1)$$,
                        (SELECT b FROM ids), (SELECT cb FROM ids)), '42501', NULL, 'admin of A: no invoice written into B');
SELECT throws_ok($$INSERT INTO ar.company (code, name) VALUES ('C', 'New')$$, '42501', NULL,
	'admin of A: companies are created by a superuser');
UPDATE ar.invoice SET payment_reference = 'hijack' WHERE company_id = (SELECT b FROM ids);
UPDATE ar.company SET name = 'hijack' WHERE code = 'B';
DELETE FROM ar.customer_bank_account WHERE company_id = (SELECT b FROM ids);
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'invoice' AND (new_row ->> 'company_id')::bigint = (SELECT b FROM ids)),
	0::bigint, 'admin of A: B''s audit rows invisible');
SELECT isnt((SELECT count(*) FROM ar.audit_log WHERE table_name = 'invoice'), 0::bigint, 'admin of A: A''s audit rows visible');
SELECT is((SELECT array_agg(member ORDER BY member) FROM ar.company_access('A')), '{t_adm_a,t_coll_a,t_read_a,t_team_a}',
	'admin of A: lists the members of A');
SELECT is((SELECT array_agg(DISTINCT company_code) FROM ar.company_access()), '{A,DEFAULT}',
	'admin of A: lists the companies it is an admin of only');
SELECT throws_ok($$SELECT * FROM ar.company_access('B')$$, '42501',
	'role "t_adm_a" may not act as admin for company "B"', 'admin of A: cannot list B''s members');
SELECT lives_ok($$SELECT ar.grant_company_access('t_lone', 'A', 'reader')$$, 'admin of A: grants access to A');
SELECT ok(ar.revoke_company_access('t_lone', 'A'), 'admin of A: revokes it');
RESET ROLE;
SELECT is((SELECT payment_reference FROM ar.invoice WHERE number = 'IB-1'), 'IB-1', 'admin of A: its UPDATE of B''s invoices changed nothing');
SELECT is((SELECT name FROM ar.company WHERE code = 'B'), 'Company B', 'admin of A: its UPDATE of company B changed nothing');

-- ------------------------------------ membership through a group role
SET LOCAL ROLE t_alice;
SELECT is((SELECT array_agg(code || ':' || access) FROM ar.my_companies), '{A:collector}', 'a member of a group acts for its companies');
SELECT throws_ok($$SELECT ar.record_payment('IB-2', 1, '2026-02-01')$$, '42501',
	'role "t_alice" may not act as collector for company "B"', 'and for no other');
RESET ROLE;
SET LOCAL ROLE t_lone;
SELECT is((SELECT count(*) FROM ar.my_companies), 0::bigint, 'several companies: a role with no membership acts for none');
SELECT throws_ok($$SELECT ar.record_payment('D-1', 1, '2026-02-01')$$, '42501',
	'role "t_lone" may not act as collector for company "DEFAULT"', 'several companies: not even for the default one');
RESET ROLE;

-- --------------------------------------------- nothing of B changed
SELECT is(pg_temp.b_state(), (SELECT state FROM before), 'nothing of B changed: ledger, decisions, memberships, audit trail');
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'the ledger is consistent');

-- ----------------------------------------- B's collector works on B
SET LOCAL ROLE t_coll_b;
SELECT isnt(ar.record_payment('IB-1', 100, '2026-02-02'), NULL, 'collector of B: pays B''s invoice');
SELECT is((SELECT count(*) FROM ar.invoice WHERE company_id = (SELECT a FROM ids)), 0::bigint, 'collector of B: A invisible');
RESET ROLE;

SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'the ledger is consistent');
SELECT is((SELECT valid FROM ar.verify_audit_chain()), true, 'the audit chain is valid');

-- ------------------- the policies' function: the same answer, not fooled
-- (issue 14: the policies call ar._company_visible(company_id, level), no
-- subquery, which Citus refuses on distributed tables)
CREATE TEMP TABLE visible_check (member text, level text, company bigint, visible boolean, expected boolean);
GRANT INSERT ON visible_check TO PUBLIC;
DO $$
DECLARE
	m text;
	l text;
BEGIN
	FOREACH m IN ARRAY ARRAY['t_coll_a', 't_read_a', 't_adm_a', 't_coll_b', 't_lone', 't_alice'] LOOP
		FOREACH l IN ARRAY ARRAY['reader', 'collector', 'admin', 'nonsense'] LOOP
			EXECUTE format('SET LOCAL ROLE %I', m);
			INSERT INTO visible_check
			SELECT m, l, c.id, ar._company_visible(c.id, l), c.id = ANY (ar._company_ids(l))
			  FROM (SELECT id FROM ar.company UNION ALL SELECT NULL) c;
			RESET ROLE;
		END LOOP;
	END LOOP;
END $$;
SELECT is((SELECT count(*) FROM visible_check WHERE coalesce(visible, false) <> coalesce(expected, false)), 0::bigint,
	'ar._company_visible(company, level) decides as company = ANY (ar._company_ids(level)) for every role, level and company (NULL: refused)');
SELECT is((SELECT string_agg(format('%s:%s:%s', member, level, (SELECT code FROM ar.company WHERE id = company)), ' ' ORDER BY member, level, company)
             FROM visible_check WHERE visible),
	't_adm_a:admin:DEFAULT t_adm_a:admin:A t_adm_a:collector:DEFAULT t_adm_a:collector:A t_adm_a:reader:DEFAULT t_adm_a:reader:A '
	't_alice:collector:A t_alice:reader:A t_coll_a:collector:A t_coll_a:reader:A t_coll_b:collector:B t_coll_b:reader:B t_read_a:reader:A',
	'and it sees what each role acts for, at each level');
SELECT is((SELECT array_agg(format('%s.%s', p.polrelid::regclass, p.polname) ORDER BY 1)
             FROM pg_policy p JOIN pg_attribute a ON a.attrelid = p.polrelid AND a.attname IN ('company_id', 'id') AND a.attnum > 0
            WHERE (pg_get_expr(p.polqual, p.polrelid) ~* 'select' OR pg_get_expr(p.polwithcheck, p.polrelid) ~* 'select')
              AND (SELECT relnamespace FROM pg_class WHERE oid = p.polrelid) = 'ar'::regnamespace
              AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = p.polrelid AND x.attname = 'company_id')),
          NULL, 'no policy of a table with company_id has a subquery (Citus refuses them on distributed tables)');
-- an attacker's own _company_ids first on its search_path, its own
-- _company_visible in pg_temp: the policies call neither
CREATE FUNCTION public._company_ids(text) RETURNS bigint[] LANGUAGE sql AS $$ SELECT array_agg(id) FROM ar.company $$;
GRANT EXECUTE ON FUNCTION public._company_ids(text) TO PUBLIC;
SET LOCAL ROLE t_coll_b;
CREATE FUNCTION pg_temp._company_visible(bigint, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
SET LOCAL search_path = pg_temp, public, ar;
SELECT is((SELECT array_agg(DISTINCT c.code ORDER BY c.code) FROM ar.invoice i JOIN ar.company c ON c.id = i.company_id),
	'{B}', 'collector of B with its own _company_ids and _company_visible on its search_path: still B only');
RESET search_path;
RESET ROLE;
DROP FUNCTION public._company_ids(text);
-- a role changed in the middle of a statement is honoured row by row:
-- reading A's invoices as A's reader, a function switches to B's collector
-- after the first row; the other rows of A are then invisible
CREATE FUNCTION pg_temp.become_b() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN SET ROLE t_coll_b; RETURN true; END $$;
SET LOCAL ROLE t_read_a;
SELECT is((SELECT count(*) FROM ar.invoice i WHERE i.company_id = (SELECT a FROM ids)), 3::bigint, 'A''s reader: 3 invoices of A');
SELECT is((SELECT count(*) FROM ar.invoice i WHERE i.company_id = (SELECT a FROM ids) AND pg_temp.become_b()), 1::bigint,
	'a SET ROLE to B''s collector after the first row: the next rows of A are read as B''s collector (invisible)');
RESET ROLE;
SELECT is((SELECT count(*) FROM ar.invoice i WHERE i.company_id = (SELECT a FROM ids)), 3::bigint, 'the owner reads them all');

-- ---------------------------------------------- what every new object needs
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname)
             FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped
            WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind IN ('r', 'p')
              AND c.relname <> 'company_member'  -- reached through its functions only
              AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                       AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'company_read'))),
          NULL, 'every table with company_id has forced row-level security and its company_read policy');
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
            WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind = 'v'
              AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)),
          NULL, 'every view reads as its caller (security_invoker)');
-- a SECURITY DEFINER function of the API checks the caller's company access
-- (itself or through the lookup it uses); triggers, the worker's and the
-- audit trail's internals and the access functions themselves are not API;
-- ar._dunning_run_actors gives who ran each date (no company data)
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY 1) FROM pg_proc p
            WHERE p.pronamespace = 'ar'::regnamespace AND p.prosecdef
              AND p.prorettype <> 'trigger'::regtype
              AND p.proname !~ '^_(worker|audit|access|require)' AND p.proname NOT IN ('start_worker', '_dunning_run_actors')
              AND p.prosrc !~ '_require_company|_require_all_companies|_company_ids|_invoice_by_number|_review_line|_customer_or_error|_invoice_or_error'
              AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')),
          NULL, 'every SECURITY DEFINER function of the API checks the company of what it touches');

SELECT * FROM finish();
ROLLBACK;
