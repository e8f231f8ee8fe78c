-- pgTAP: small balances (issue 16, item 6).  Off unless a company sets
-- limits; a dry run changes nothing; a real run sets credits off, writes off
-- small debit balances (reversible write-offs in ar.write_off_report),
-- writes off or lists for refund small credit balances (credit notes and
-- customer credit), once: a second run finds nothing; every action is in
-- ar.small_balance_report with its reason and can be reversed; disputed,
-- recent and large accounts are left alone; another company's role is
-- refused.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(49);

INSERT INTO ar.customer (code, name) VALUES ('SB-D', 'Small debit'), ('SB-C', 'Small credit'), ('SB-M', 'Mixed'),
	('SB-BIG', 'Large'), ('SB-DIS', 'Disputed'), ('SB-NEW', 'Recent'), ('SB-CN', 'Credit note'), ('SB-USD', 'Dollars');
INSERT INTO ar.customer_bank_account (customer_id, iban) SELECT id, 'FR7630006000011234567890189' FROM ar.customer WHERE code = 'SB-CN';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, v.number, v.issued::date, v.due::date, v.amount, v.currency
  FROM (VALUES ('SB-D', 'D-1', '2026-01-05', '2026-02-04', 100.00, 'EUR'),
               ('SB-C', 'C-1', '2026-01-05', '2026-02-04', 100.00, 'EUR'),
               ('SB-M', 'M-1', '2026-01-05', '2026-02-04', 300.00, 'EUR'),
               ('SB-M', 'M-2', '2026-01-06', '2026-02-05', 200.00, 'EUR'),
               ('SB-M', 'M-AV', '2026-01-07', '2026-01-07', -497.00, 'EUR'),
               ('SB-BIG', 'B-1', '2026-01-05', '2026-02-04', 100.00, 'EUR'),
               ('SB-DIS', 'X-1', '2026-01-05', '2026-02-04', 100.00, 'EUR'),
               ('SB-NEW', 'N-1', '2026-01-05', '2026-02-04', 100.00, 'EUR'),
               ('SB-CN', 'CN-1', '2026-01-05', '2026-02-04', 100.00, 'EUR'),
               ('SB-CN', 'CN-AV', '2026-01-08', '2026-01-08', -100.80, 'EUR'),
               ('SB-USD', 'U-1', '2026-01-05', '2026-02-04', 100.00, 'USD')) v(code, number, issued, due, amount, currency)
  JOIN ar.customer c ON c.code = v.code;
CREATE FUNCTION pg_temp.inv(n text) RETURNS ar.invoice LANGUAGE sql AS $$ SELECT * FROM ar.invoice WHERE number = n $$;
SELECT ar.record_payment('D-1', 99.60, '2026-02-01');
SELECT ar.record_payment('C-1', 100.70, '2026-02-01');
SELECT ar.record_payment('B-1', 50.00, '2026-02-01');
SELECT ar.record_payment('X-1', 99.00, '2026-02-01');
SELECT ar.open_dispute((SELECT id FROM pg_temp.inv('X-1')), 'says it paid in full');
SELECT ar.record_payment('N-1', 99.00, '2026-04-25');
SELECT ar.apply_credit_note((SELECT id FROM pg_temp.inv('CN-AV')), (SELECT id FROM pg_temp.inv('CN-1')), NULL, '2026-02-01');
INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method) SELECT id, 99.50, '2026-02-01', 'manual' FROM pg_temp.inv('U-1');

-- ------------------------------------------------------------- opt-in
SELECT is((SELECT count(*) FROM ar.write_off_small_balances('2026-04-30')), 0::bigint, 'no limits: nothing to do');
INSERT INTO ar.small_balance_config (company_id, currency) VALUES (ar.default_company(), 'EUR');
SELECT results_eq($$SELECT debit_limit, credit_limit, credit_action, min_age_days FROM ar.small_balance_config$$,
	$$VALUES (0::numeric, 0::numeric, 'refund', 30)$$, 'a configuration row is off until limits are set (0), refunds credits, waits 30 days');
SELECT is((SELECT count(*) FROM ar.write_off_small_balances('2026-04-30')), 0::bigint, 'limits of 0: nothing to do');
UPDATE ar.small_balance_config SET debit_limit = 5, credit_limit = 1, credit_action = 'write_off';
SELECT throws_ok($$UPDATE ar.small_balance_config SET debit_limit = -1$$, '23514', NULL, 'a negative limit is refused');
SELECT throws_ok($$UPDATE ar.small_balance_config SET debit_limit = 0.001$$, '23514', NULL, 'a limit beyond the cent is refused');

-- ------------------------------------------------------------- dry run
CREATE TEMP TABLE plan1 AS SELECT * FROM ar.write_off_small_balances('2026-04-30');
SELECT results_eq($$SELECT customer_code, currency, balance, kind, document, amount, status FROM plan1 ORDER BY customer_code, kind$$,
	$$VALUES ('SB-C', 'EUR'::char(3), -0.70, 'credit_write_off', 'credit #' || (SELECT id FROM ar.customer_credit WHERE customer_id = (SELECT id FROM ar.customer WHERE code = 'SB-C')), 0.70, 'planned'),
	         ('SB-CN', 'EUR', -0.80, 'credit_write_off', 'CN-AV', 0.80, 'planned'),
	         ('SB-D', 'EUR', 0.40, 'debit_write_off', 'D-1', 0.40, 'planned'),
	         ('SB-M', 'EUR', 3.00, 'debit_write_off', 'M-2', 3.00, 'planned'),
	         ('SB-M', 'EUR', 3.00, 'set_off', NULL, 497.00, 'planned')$$,
	'the dry run: small debit and credit balances; the mixed account is set off first, the newest invoice keeps the rest; the large, disputed, recent and other-currency ones are left');
SELECT is((SELECT count(*) FROM ar.small_balance_action), 0::bigint, 'a dry run records nothing');
SELECT is((SELECT open_amount FROM pg_temp.inv('D-1')), 0.40, 'and closes nothing');

-- ------------------------------------------------------------- real run
CREATE TEMP TABLE run1 AS SELECT * FROM ar.write_off_small_balances('2026-04-30', 'DEFAULT', false, 'year-end clean-up');
SELECT results_eq($$SELECT customer_code, balance, kind, document, amount, status FROM run1 ORDER BY customer_code, kind$$,
	$$SELECT customer_code, balance, kind, document, amount, 'done'::text FROM plan1 ORDER BY customer_code, kind$$,
	'the real run does what the dry run said');
SELECT results_eq($$SELECT number, open_amount, written_off_amount, status FROM ar.invoice WHERE number IN ('D-1', 'M-1', 'M-2', 'M-AV', 'CN-AV') ORDER BY number$$,
	$$VALUES ('CN-AV', 0::numeric, -0.80, 'written_off'), ('D-1', 0, 0.40, 'written_off'), ('M-1', 0, 0, 'paid'),
	         ('M-2', 0, 3.00, 'written_off'), ('M-AV', 0, 0, 'paid')$$,
	'the invoices and credit notes are closed: set off, then written off');
SELECT is((SELECT remaining FROM ar.customer_credit WHERE customer_id = (SELECT id FROM ar.customer WHERE code = 'SB-C')), 0.00,
	'the small customer credit is used up');
SELECT results_eq($$SELECT kind, amount, released_on FROM ar.credit_release$$, $$VALUES ('write_off', 0.70, '2026-04-30'::date)$$,
	'by a release of kind write_off dated on the run date');
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'the ledger stays consistent (check_ledger counts the releases)');
SELECT results_eq($$SELECT invoice_number, amount, kind, reason LIKE 'year-end clean-up: balance % EUR on 2026-04-30, limit %' FROM ar.write_off_report ORDER BY invoice_number$$,
	$$VALUES ('CN-AV', -0.80, 'write_off', true), ('D-1', 0.40, 'write_off', true), ('M-2', 3.00, 'write_off', true)$$,
	'the write-offs are in the write-off report with the reason, the balance and the limit');
SELECT is((SELECT count(*) FROM ar.aging_report('2026-04-30') WHERE customer_code IN ('SB-D', 'SB-C', 'SB-M', 'SB-CN')), 0::bigint,
	'the accounts are settled');
SELECT is((SELECT count(*) FROM ar.communication WHERE kind = 'small_balance'), 4::bigint, 'each account closed is logged');
SELECT ok((SELECT count(*) FROM ar.audit_log WHERE table_name = 'small_balance_action') = 5
          AND (SELECT count(*) FROM ar.audit_log WHERE table_name = 'credit_release') = 1, 'every action is audited');
SELECT is((SELECT count(*) FROM ar.write_off_small_balances('2026-04-30', NULL, false)), 0::bigint, 'a second run finds nothing to do');
SELECT is((SELECT count(*) FROM ar.small_balance_action), 5::bigint, 'and records nothing');

-- ------------------------------------------------------------ statement
SELECT results_eq(format($$SELECT kind, amount, balance FROM ar.statement_of_account(%s, '2026-04-01', '2026-04-30') WHERE section IN ('movement', 'closing')$$,
                         (SELECT id FROM ar.customer WHERE code = 'SB-C')),
	$$VALUES ('write_off', 0.70, 0.00), ('closing_balance', 0.00, 0.00)$$, 'the statement of account shows the credit written off');
SELECT is((SELECT available FROM ar.open_credits('2026-04-29') WHERE customer_id = (SELECT id FROM ar.customer WHERE code = 'SB-C')), 0.70,
	'ar.open_credits the day before still has the credit');
SELECT is((SELECT count(*) FROM ar.open_credits('2026-04-30') WHERE customer_id = (SELECT id FROM ar.customer WHERE code = 'SB-C')), 0::bigint,
	'and not on the day');

-- ------------------------------------------------------------- reversal
SELECT throws_ok(format('SELECT ar.reverse_small_balance(%s, '' '')', (SELECT action_id FROM run1 WHERE document = 'D-1')), '22023',
	'reversing a small balance action needs a reason', 'a reversal needs a reason');
SELECT throws_ok(format('SELECT ar.reverse_small_balance(%s, ''x'')', (SELECT action_id FROM run1 WHERE kind = 'set_off')), '22023', NULL,
	'a set-off is not reversed');
SELECT is((SELECT status FROM ar.reverse_small_balance((SELECT action_id FROM run1 WHERE document = 'D-1'), 'the customer will pay')), 'reversed',
	'a debit write-off is reversed');
SELECT is((SELECT open_amount FROM pg_temp.inv('D-1')), 0.40, 'the invoice is open again');
SELECT is((SELECT status FROM ar.write_off_report WHERE invoice_number = 'D-1'), 'reversed', 'the write-off report says it was reversed');
SELECT is((SELECT status FROM ar.reverse_small_balance((SELECT action_id FROM run1 WHERE customer_code = 'SB-C'), 'refund instead')), 'reversed',
	'a customer credit write-off is reversed');
SELECT is((SELECT remaining FROM ar.customer_credit WHERE customer_id = (SELECT id FROM ar.customer WHERE code = 'SB-C')), 0.70,
	'the credit is back');
SELECT throws_ok(format('SELECT ar.reverse_small_balance(%s, ''again'')', (SELECT action_id FROM run1 WHERE document = 'D-1')), '55000', NULL,
	'a reversal is done once');
SELECT ar.reverse_write_off((SELECT allocation_id FROM ar.write_off_report WHERE invoice_number = 'M-2' AND status = 'active'), 'by hand');
SELECT is((SELECT status FROM ar.small_balance_report WHERE invoice_number = 'M-2' AND kind = 'debit_write_off'), 'reversed',
	'a write-off reversed with ar.reverse_write_off shows reversed in the small balance report');
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'the ledger stays consistent');

-- --------------------------------------------------------------- refunds
UPDATE ar.small_balance_config SET credit_action = 'refund';
CREATE TEMP TABLE run2 AS SELECT * FROM ar.write_off_small_balances('2026-05-31', NULL, false);
SELECT results_eq($$SELECT customer_code, kind, amount, status FROM run2 ORDER BY customer_code, kind$$,
	$$VALUES ('SB-C', 'credit_refund', 0.70, 'refund_pending'), ('SB-D', 'debit_write_off', 0.40, 'done'), ('SB-M', 'debit_write_off', 3.00, 'done'),
	         ('SB-NEW', 'debit_write_off', 1.00, 'done')$$,
	'the next run writes off the reopened debits again, the account paid 36 days ago now too, and lists the credit for refund');
SELECT results_eq($$SELECT customer_code, amount, currency FROM ar.small_credit_refund_list$$, $$VALUES ('SB-C', 0.70, 'EUR'::char(3))$$,
	'the refund list');
SELECT is((SELECT remaining FROM ar.customer_credit WHERE customer_id = (SELECT id FROM ar.customer WHERE code = 'SB-C')), 0.70,
	'a listed refund keeps the credit until it is paid');
SELECT is((SELECT count(*) FROM ar.write_off_small_balances('2026-06-30', NULL, false)), 0::bigint, 'a pending refund is not listed twice');
SELECT throws_like(format($$SELECT ar.complete_small_credit_refund(%s, '2026-01-15', 'VIR-0')$$, (SELECT action_id FROM run2 WHERE kind = 'credit_refund')),
	'customer credit % was created on 2026-02-01: it cannot be refunded on 2026-01-15',
	'a refund is not paid before the credit existed');
SELECT is((SELECT status FROM ar.complete_small_credit_refund((SELECT action_id FROM run2 WHERE kind = 'credit_refund'), '2026-06-05', 'VIR-123')),
	'refunded', 'the refund is recorded when paid');
SELECT results_eq($$SELECT kind, amount, released_on FROM ar.credit_release$$, $$VALUES ('refund', 0.70, '2026-06-05'::date)$$,
	'by a release of kind refund');
SELECT is((SELECT count(*) FROM ar.small_credit_refund_list), 0::bigint, 'and leaves the list');
SELECT throws_ok(format('SELECT ar.complete_small_credit_refund(%s)', (SELECT action_id FROM run2 WHERE kind = 'credit_refund')), '55000', NULL,
	'a refund is recorded once');

-- --------------------------------------------------------------- tenancy
CREATE ROLE sb_adm_b IN ROLE ar_admin;
CREATE ROLE sb_coll_a IN ROLE ar_collector;
INSERT INTO ar.company (code, name) VALUES ('SB_B', 'Company B');
SELECT ar.grant_company_access('sb_adm_b', 'SB_B', 'admin');
SELECT ar.grant_company_access('sb_coll_a', 'DEFAULT', 'collector');
SELECT action_id AS sb_d FROM run2 WHERE customer_code = 'SB-D' \gset
SET LOCAL ROLE sb_adm_b;
SELECT throws_ok($$SELECT * FROM ar.write_off_small_balances('2026-06-30', 'DEFAULT', false)$$, '42501', NULL,
	'an admin of another company cannot close this one''s small balances');
SELECT throws_ok($$SELECT * FROM ar.write_off_small_balances('2026-06-30', NULL, true)$$, '42501', NULL,
	'nor see them in a dry run');
SELECT throws_ok(format('SELECT ar.reverse_small_balance(%s, ''x'')', :sb_d), '42501', NULL,
	'nor reverse them');
SELECT is((SELECT count(*) FROM ar.small_balance_action), 0::bigint, 'nor read them');
RESET ROLE;
SET LOCAL ROLE sb_coll_a;
SELECT throws_ok($$SELECT * FROM ar.write_off_small_balances('2026-06-30', 'DEFAULT', false)$$, '42501', NULL,
	'a collector does not write off');
SELECT lives_ok($$SELECT * FROM ar.write_off_small_balances('2026-06-30', 'DEFAULT')$$, 'but runs the dry run');
RESET ROLE;
CREATE ROLE sb_adm_a IN ROLE ar_admin;
SELECT ar.grant_company_access('sb_adm_a', 'DEFAULT', 'admin');
INSERT INTO ar.customer (code, name) VALUES ('SB-ADM', 'Closed by an admin');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'A-1', '2026-04-01', '2026-05-01', 100.00 FROM ar.customer WHERE code = 'SB-ADM';
SELECT ar.record_payment('A-1', 99.50, '2026-05-01');
SET LOCAL ROLE sb_adm_a;
SELECT results_eq($$SELECT customer_code, kind, amount, status FROM ar.write_off_small_balances('2026-07-31', 'DEFAULT', false)$$,
	$$VALUES ('SB-ADM', 'debit_write_off', 0.50, 'done')$$, 'an admin of the company closes its small balances');
SELECT is((SELECT status FROM ar.small_balance_report WHERE customer_code = 'SB-ADM'), 'done', 'and reads the report');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
