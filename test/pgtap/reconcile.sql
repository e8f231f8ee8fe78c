-- ar.reconcile invariants on random statements: the ledger stays exact,
-- applied lines are fully explained, runs are incremental, decisions of
-- people are never undone, settings are obeyed, roles hold, the audit trail
-- records it all.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(60);

SELECT setseed(0.31);
INSERT INTO ar.customer (code, name)
SELECT 'P' || g, (ARRAY['Transports', 'Garage', 'Imprimerie', 'Boulangerie', 'Menuiserie'])[1 + g % 5] || ' '
                 || (ARRAY['Martin', 'Durand', 'Petit', 'Roux', 'Faure', 'Blanc', 'Garnier'])[1 + g % 7] || ' ' || g || ' SARL'
  FROM generate_series(1, 40) g;
INSERT INTO ar.customer_bank_account (customer_id, iban)
SELECT c.id, 'FR' || lpad((98 - ((('1' || lpad(c.id::text, 22, '0') || '152700')::numeric) % 97))::int::text, 2, '0')
             || '1' || lpad(c.id::text, 22, '0')
  FROM ar.customer c WHERE c.id % 4 <> 0;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, payment_reference)
SELECT 1 + g % 40, 'T-2026-' || lpad(g::text, 5, '0'), DATE '2026-01-01' + g % 60, DATE '2026-02-01' + g % 60,
       CASE WHEN g % 15 = 0 THEN -round((10 + random() * 90)::numeric, 2)
            WHEN g % 7 = 0 THEN 250.00
            ELSE round((20 + random() * 2000)::numeric, 2) END,
       CASE WHEN g % 5 = 0 THEN ar.make_creditor_ref('T2026' || lpad(g::text, 5, '0'))::text END
  FROM generate_series(1, 400) g;

-- 300 lines: references in many forms, partial and over-payments, IBAN or
-- name only, sums of invoices, duplicates, unrelated credits, debits
CREATE TEMP TABLE plan AS
SELECT n, i.id AS invoice_id, i.number, i.amount, i.customer_id, i.payment_reference, random() AS r, random() AS r2
  FROM generate_series(1, 300) n
  JOIN ar.invoice i ON i.number = 'T-2026-' || lpad((1 + (n * 37) % 400)::text, 5, '0');
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, counterparty_iban, remittance_info, end_to_end_id)
SELECT DATE '2026-04-01' + n % 20,
       CASE WHEN p.amount < 0 THEN -p.amount
            WHEN p.r < 0.60 THEN p.amount
            WHEN p.r < 0.70 THEN round(p.amount * 0.5, 2)
            WHEN p.r < 0.78 THEN p.amount + 7.77
            WHEN p.r < 0.85 THEN round(p.amount * 0.98, 2)
            WHEN p.r < 0.95 THEN p.amount
            ELSE round((5 + p.r2 * 3000)::numeric, 2) END,
       CASE WHEN p.r < 0.95 THEN upper(c.name) ELSE 'REMBOURSEMENT ASSURANCE' END,
       CASE WHEN p.r < 0.95 AND p.r2 < 0.7 THEN (SELECT a.iban FROM ar.customer_bank_account a WHERE a.customer_id = c.id LIMIT 1) END,
       CASE WHEN p.r < 0.25 THEN 'Facture ' || p.number
            WHEN p.r < 0.35 THEN lower(replace(p.number, '-', ' '))
            WHEN p.r < 0.45 THEN coalesce(p.payment_reference, replace(p.number, '0', 'O'))
            WHEN p.r < 0.60 THEN 'FACT ' || p.number || ' ' || 'T-2026-' || lpad((1 + ((p.n * 37) + 1) % 400)::text, 5, '0')
            WHEN p.r < 0.85 THEN p.number
            WHEN p.r < 0.95 THEN 'VIREMENT'
            ELSE 'SINISTRE 2026-' || p.n END,
       'E2E-' || p.n
  FROM plan p JOIN ar.customer c ON c.id = p.customer_id;
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info)
VALUES ('2026-04-05', -350.00, 'FOURNISSEUR', 'PRLV FOURNISSEUR');

-- run 1
CREATE TEMP TABLE run1 AS SELECT * FROM ar.reconcile();
SELECT is_empty('SELECT * FROM ar.check_ledger()', 'the ledger agrees with its allocations after a run');
SELECT ok((SELECT count(*) FROM run1 WHERE applied) > 100, 'most lines are applied');
SELECT ok((SELECT count(*) FROM run1 WHERE NOT applied AND method <> 'none') > 0, 'some lines are only proposed');
SELECT is((SELECT count(*) FROM run1)::int,
          (SELECT count(*) FROM ar.bank_transaction WHERE amount > 0)::int, 'one row per credit line');
SELECT is((SELECT count(*) FROM ar.invoice WHERE open_amount NOT BETWEEN least(amount, 0) AND greatest(amount, 0))::int, 0,
          'no invoice is over-allocated');
SELECT is((SELECT count(*) FROM ar.bank_transaction WHERE allocated_amount NOT BETWEEN least(amount, 0) AND greatest(amount, 0))::int, 0,
          'no line is over-allocated');
-- an applied line is explained to the cent: its allocations and the credit born from it make its amount
SELECT is((SELECT count(*) FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
            WHERE r.outcome = 'applied' AND t.allocated_amount <> t.amount)::int, 0,
          'every applied line is fully allocated (or credited)');
SELECT is((SELECT count(*) FROM run1 r JOIN ar.reconcile_line l USING (bank_transaction_id)
            WHERE r.applied AND r.score < 0.95::real)::int, 0, 'nothing below auto_apply_min_score is applied');
SELECT is((SELECT count(*) FROM run1 r
            WHERE r.applied AND (SELECT sum(a) FROM unnest(r.amounts) a) >
                                (SELECT t.amount FROM ar.bank_transaction t WHERE t.id = r.bank_transaction_id))::int, 0,
          'what a row says was allocated never exceeds the line');
SELECT is((SELECT count(*) FROM ar.reconcile_line WHERE explanation IS NULL OR NOT explanation ? 'summary'
                                                     OR NOT explanation ? 'method')::int, 0,
          'every decision has a machine-readable explanation with a summary');
SELECT is((SELECT count(*) FROM ar.match_proposal p JOIN ar.bank_transaction t ON t.id = p.bank_transaction_id
            WHERE p.status = 'pending' AND t.status <> 'proposed')::int, 0, 'lines with pending proposals are proposed');
SELECT is((SELECT count(*) FROM ar.match_proposal WHERE status = 'pending' AND (score < 0.3 OR rank > 3))::int, 0,
          'proposals respect propose_min_score and max_proposals');
SELECT is((SELECT count(*) FROM ar.match_proposal p WHERE p.status = 'pending' AND p.rank > 1
            AND p.score > (SELECT q.score FROM ar.match_proposal q WHERE q.bank_transaction_id = p.bank_transaction_id
                                                                    AND q.rank = p.rank - 1))::int, 0,
          'proposals are ranked by score');
SELECT is((SELECT status FROM ar.bank_transaction WHERE amount = -350.00), 'ignored', 'a debit that is no return is ignored');
SELECT is((SELECT count(*) FROM ar.allocation a JOIN ar.reconcile_line r ON r.bank_transaction_id = a.bank_transaction_id
            WHERE r.outcome = 'applied' AND a.method <> r.method)::int, 0, 'allocations carry the method that made them');
SELECT ok((SELECT count(DISTINCT method) FROM ar.reconcile_line WHERE outcome = 'applied') >= 4,
          'several methods are used');
SELECT is((SELECT count(*) FROM ar.reconcile_line r WHERE r.outcome = 'applied'
            AND (SELECT array_agg(id ORDER BY id) FROM ar.allocation a WHERE a.bank_transaction_id = r.bank_transaction_id)
                IS DISTINCT FROM r.allocation_ids)::int, 0, 'each applied line records the allocations it made');
-- unrelated credits are never applied
SELECT is((SELECT count(*) FROM ar.bank_transaction t JOIN ar.reconcile_line r ON r.bank_transaction_id = t.id
            WHERE t.counterparty_name = 'REMBOURSEMENT ASSURANCE' AND r.outcome = 'applied')::int, 0,
          'unrelated credits are never applied');

-- run 2: nothing new
SELECT is((SELECT count(*) FROM ar.reconcile())::int, 0, 'a second run finds nothing new');
SELECT is_empty('SELECT * FROM ar.check_ledger()', 'and changes nothing');

-- decisions of people survive later runs
SELECT ar.accept_proposal(p.id) FROM ar.match_proposal p
 WHERE p.status = 'pending' AND p.rank = 1 AND p.method IN ('reference', 'amount', 'reference_partial')
   AND p.bank_transaction_id = (SELECT min(q.bank_transaction_id) FROM ar.match_proposal q
                                 WHERE q.status = 'pending' AND q.rank = 1 AND q.method IN ('reference', 'amount', 'reference_partial'));
CREATE TEMP TABLE accepted AS
SELECT a.* FROM ar.allocation a JOIN ar.match_proposal p ON p.bank_transaction_id = a.bank_transaction_id
 WHERE p.status = 'accepted';
SELECT ok((SELECT count(*) FROM accepted) > 0, 'a proposal was accepted');
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info)
SELECT '2026-05-01', 10.00, 'ANONYMOUS', 'X' FROM generate_series(1, 2);
SELECT ar.allocate(t.id, (SELECT min(id) FROM ar.invoice WHERE open_amount >= 10), 10.00)
  FROM ar.bank_transaction t WHERE t.counterparty_name = 'ANONYMOUS' ORDER BY t.id LIMIT 1;
SELECT is((SELECT count(*) FROM ar.reconcile() r
            JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id WHERE t.counterparty_name = 'ANONYMOUS')::int, 1,
          'a run considers the new line nobody allocated, not the one a person did');
SELECT is((SELECT count(*) FROM ar.allocation a JOIN accepted x USING (id))::int, (SELECT count(*) FROM accepted)::int,
          'accepted proposals are not undone by a later run');
SELECT is((SELECT count(*) FROM ar.allocation a JOIN ar.bank_transaction t ON t.id = a.bank_transaction_id
            WHERE t.counterparty_name = 'ANONYMOUS' AND a.method = 'manual')::int, 1,
          'manual allocations are not undone by a later run');

-- a rejected proposal is not proposed again; rematch brings it back
SELECT ar.reject_proposal(id, 'wrong') FROM ar.match_proposal
 WHERE status = 'pending' AND bank_transaction_id = (SELECT min(bank_transaction_id) FROM ar.match_proposal WHERE status = 'pending');
CREATE TEMP TABLE rejected AS
SELECT DISTINCT bank_transaction_id AS id FROM ar.match_proposal WHERE status = 'rejected';
SELECT is((SELECT count(*) FROM ar.reconcile() r JOIN rejected x ON x.id = r.bank_transaction_id)::int, 0,
          'a line whose proposals were rejected is not looked at again');
SELECT lives_ok($$SELECT ar.rematch(id) FROM rejected$$, 'ar.rematch sends it back');
SELECT is((SELECT count(*) FROM ar.reconcile() r JOIN rejected x ON x.id = r.bank_transaction_id)::int, 1,
          'and the next run considers it again');

-- settings: a threshold no match reaches applies nothing
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info)
SELECT '2026-05-02', i.open_amount, 'LATE PAYER', 'Facture ' || i.number
  FROM ar.invoice i WHERE i.open_amount > 0 AND i.status = 'open' ORDER BY i.id LIMIT 3;
UPDATE ar.reconcile_config SET auto_apply_min_score = 1.0;
SELECT is((SELECT count(*) FILTER (WHERE applied) FROM ar.reconcile())::int, 0,
          'auto_apply_min_score = 1 applies nothing');
SELECT is((SELECT count(*) FROM ar.match_proposal p JOIN ar.bank_transaction t ON t.id = p.bank_transaction_id
            WHERE t.counterparty_name = 'LATE PAYER' AND p.rank = 1 AND p.method = 'reference' AND p.score >= 0.95)::int, 3,
          'they are proposed instead, with their score');
UPDATE ar.reconcile_config SET auto_apply_min_score = 0.95;
-- auto_apply => false proposes even a sure match
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info)
SELECT '2026-05-03', i.open_amount, 'SURE PAYER', i.number
  FROM ar.invoice i WHERE i.open_amount > 0 AND i.status = 'open' ORDER BY i.id DESC LIMIT 1;
SELECT is((SELECT count(*) FILTER (WHERE applied) FROM ar.reconcile(false))::int, 0, 'auto_apply => false applies nothing');

-- preview writes nothing
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info)
SELECT '2026-05-04', i.open_amount, 'PREVIEWED', i.number
  FROM ar.invoice i WHERE i.open_amount > 0 AND i.status = 'open' ORDER BY i.id DESC OFFSET 1 LIMIT 1;
SELECT is((SELECT count(*) FILTER (WHERE applied) FROM ar.reconcile_preview())::int, 1, 'the preview would apply the sure match');
SELECT is((SELECT count(*) FROM ar.allocation a JOIN ar.bank_transaction t ON t.id = a.bank_transaction_id
            WHERE t.counterparty_name = 'PREVIEWED')::int, 0, 'but allocates nothing');

-- a direct debit recorded without a bank line, returned: the reversal is proposed, a person accepts it
SELECT ar.record_payment(i.number, i.open_amount, '2026-05-06', 'direct_debit') FROM ar.invoice i
 WHERE i.open_amount > 0 AND i.status = 'open' ORDER BY i.id LIMIT 1;
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info, return_reason)
SELECT '2026-05-09', -a.amount, 'RETOUR', 'RETOUR PRLV ' || i.number, 'AM04'
  FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
 WHERE a.payment_means = 'direct_debit' AND a.allocated_on = '2026-05-06';
SELECT is((SELECT count(*) FROM ar.reconcile() WHERE method = 'return' AND NOT applied)::int, 1,
          'the return of a collection recorded by hand is only proposed');
SELECT is((SELECT count(*) FROM ar.accept_proposal((SELECT p.id FROM ar.match_proposal p WHERE p.method = 'return' AND p.status = 'pending')))::int,
          0, 'accepting it allocates nothing');
SELECT is((SELECT count(*) FROM ar.allocation WHERE payment_means = 'direct_debit' AND allocated_on = '2026-05-06')::int, 0,
          'and undoes the collection: the invoice is open again');

-- hostile text: long, repetitive, odd characters; nothing breaks, nothing is read out of bounds
SELECT lives_ok($$SELECT ar.name_key(repeat('Éé ßŒœ & SARL ' || chr(1) || chr(31), 4000)),
                         ar.reference_key(repeat('O0-/ ', 20000))$$, 'key functions take hostile text');
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info, structured_reference, end_to_end_id)
VALUES ('2026-05-05', 12.34, repeat('X', 5000), repeat('FA-2026-', 3000) || repeat(' 1 2 3 ', 2000), repeat('RF', 500),
        repeat('T-2026-00001', 100)),
       ('2026-05-05', 0.01, chr(1), '', '', '');
SELECT lives_ok('SELECT count(*) FROM ar.reconcile()', 'a run takes lines of hostile text');
SELECT is((SELECT count(*) FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
            WHERE t.booking_date = '2026-05-05' AND r.outcome = 'applied')::int, 0, 'and applies none of them');

-- a collector sets aside a line that is no customer payment (rent received), with a reason, and takes it back
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info)
VALUES ('2026-05-06', 1200.00, 'SCI DES LILAS', 'LOYER MAI 2026') RETURNING id AS rent \gset
SET LOCAL ROLE ar_collector;
SELECT throws_ok(format('UPDATE ar.bank_transaction SET status = ''ignored'' WHERE id = %s', :rent), '42501', NULL,
	'ar_collector cannot update a bank line directly');
SELECT throws_ok(format('SELECT ar.ignore_bank_line(%s, NULL)', :rent), '22023', 'ignoring a bank line needs a reason',
	'ignoring a line needs a reason');
SELECT lives_ok(format('SELECT ar.ignore_bank_line(%s, ''rent received, not a customer payment'')', :rent),
	'ar_collector ignores a bank line with a reason');
SELECT throws_ok(format('SELECT ar.ignore_bank_line(%s, ''again'')', :rent), '55000', format('bank transaction %s is already ignored', :rent),
	'a line is ignored once');
RESET ROLE;
SELECT results_eq(format('SELECT status, ignored_reason FROM ar.bank_transaction WHERE id = %s', :rent),
	$$VALUES ('ignored', 'rent received, not a customer payment')$$, 'the line is ignored, with its reason');
SELECT ok((SELECT count(*) FROM ar.audit_log WHERE table_name = 'bank_transaction' AND row_id = :rent AND operation = 'UPDATE'
            AND new_row ->> 'ignored_reason' = 'rent received, not a customer payment' AND actor = session_user) = 1,
	'ignoring is audited with the reason and who did it');
SELECT is((SELECT count(*)::integer FROM ar.reconcile() WHERE bank_transaction_id = :rent), 0, 'no run looks at an ignored line');
SELECT throws_ok(format('SELECT ar.unignore_bank_line(%s)', (SELECT min(bank_transaction_id) FROM ar.reconcile_line WHERE outcome = 'applied')),
	'55000', NULL, 'only a line set aside by ar.ignore_bank_line can be taken back');
SET LOCAL ROLE ar_collector;
SELECT lives_ok(format('SELECT ar.unignore_bank_line(%s)', :rent), 'ar_collector takes it back');
RESET ROLE;
SELECT results_eq(format('SELECT t.status, t.ignored_reason, (SELECT count(*) FROM ar.reconcile_line r WHERE r.bank_transaction_id = t.id)::int FROM ar.bank_transaction t WHERE t.id = %s', :rent),
	$$VALUES ('unmatched', NULL::text, 0)$$, 'the line is unmatched and new again for the next run');
SELECT is((SELECT count(*)::integer FROM pg_proc WHERE oid IN ('ar.ignore_bank_line(bigint, text)'::regprocedure, 'ar.unignore_bank_line(bigint)'::regprocedure)
            AND prosecdef AND proconfig @> ARRAY['search_path=pg_catalog, ar, pg_temp']), 2,
	'both are SECURITY DEFINER with a pinned search_path');

-- amount alone: one open invoice of exactly the amount comes first, well ahead of a combination of older ones
INSERT INTO ar.customer (code, name) VALUES ('PAM', 'Bernard Transports PAM');
INSERT INTO ar.customer_bank_account (customer_id, iban) SELECT id, 'FR7630006000011234567890189' FROM ar.customer WHERE code = 'PAM';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.n, v.d::date - 30, v.d::date, v.a FROM ar.customer c,
       (VALUES ('PAM-1', '2026-01-10', 1000.00), ('PAM-2', '2026-01-15', 500.00), ('PAM-3', '2026-02-10', 1500.00)) v(n, d, a)
 WHERE c.code = 'PAM';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'PAM-OTHER', '2026-01-01', '2026-02-01', 1500.00 FROM ar.customer WHERE code = 'P1';
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, counterparty_iban, remittance_info)
VALUES ('2026-05-07', 1500.00, 'BERNARD TRANSPORTS', 'FR7630006000011234567890189', 'VIREMENT') RETURNING id AS pam \gset
SELECT count(*) FROM ar.reconcile(false);
SELECT ok((SELECT p1.method = 'amount' AND p1.invoice_ids = ARRAY[(SELECT id FROM ar.invoice WHERE number = 'PAM-3')]
              AND p1.score - p2.score > 0.095
             FROM ar.match_proposal p1 JOIN ar.match_proposal p2 ON p2.bank_transaction_id = p1.bank_transaction_id AND p2.rank = 2
            WHERE p1.bank_transaction_id = :pam AND p1.rank = 1),
	'the invoice of exactly the amount is the top proposal, 0.10 ahead of a combination of others summing to it');

-- a reference glued to a word ("CMDa1b2c3") is found as well as written alone
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, payment_reference)
SELECT id, v.n, '2026-03-01', '2026-03-31', v.a, v.r FROM ar.customer, (VALUES ('a1b2c3', 321.09, NULL), ('GL-1', 432.10, 'k7x9q2w')) v(n, a, r)
 WHERE code = 'P2';
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info)
VALUES ('2026-05-08', 321.09, 'SOMEONE ELSE', 'CMDa1b2c3 lot 1'), ('2026-05-08', 432.10, 'SOMEONE ELSE', 'k7x9q2wLOT 1');
CREATE TEMP TABLE glued AS SELECT * FROM ar.reconcile() WHERE bank_transaction_id IN (SELECT id FROM ar.bank_transaction WHERE booking_date = '2026-05-08');
SELECT results_eq($$SELECT method, applied, (SELECT array_agg(number) FROM ar.invoice WHERE id = ANY (invoice_ids)) FROM glued ORDER BY bank_transaction_id$$,
	$$VALUES ('reference', true, ARRAY['a1b2c3']), ('reference', true, ARRAY['GL-1'])$$,
	'a number or a payment reference glued to a word is recognised and applied');
SELECT is((SELECT explanation -> 'references' -> 0 -> 'differences' FROM ar.reconcile_line WHERE bank_transaction_id = (SELECT min(bank_transaction_id) FROM glued)),
	'["without_separators"]'::jsonb, 'its explanation says it was written without a separator');

-- roles
SET LOCAL ROLE ar_reader;
SELECT throws_ok('SELECT ar.reconcile()', '42501', NULL, 'ar_reader cannot reconcile');
SELECT lives_ok('SELECT count(*) FROM ar.review_queue', 'ar_reader reads the review queue');
SELECT lives_ok('SELECT count(*) FROM ar.reconcile_anomaly', 'ar_reader reads the anomalies');
RESET ROLE;
SET LOCAL ROLE ar_collector;
SELECT lives_ok('SELECT count(*) FROM ar.reconcile()', 'ar_collector reconciles');
SELECT throws_ok('UPDATE ar.reconcile_config SET max_proposals = 2', '42501', NULL, 'ar_collector cannot change the settings');
RESET ROLE;

-- audit trail and dump registration
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SELECT ok((SELECT valid FROM ar.verify_audit_chain()), 'the audit chain is intact after reconciliation');
SELECT ok((SELECT count(*) FROM ar.audit_log WHERE table_name = 'match_proposal') > 0, 'proposal decisions are audited');
SELECT set_eq($$SELECT c.relname::text FROM pg_extension e, unnest(e.extconfig) x JOIN pg_class c ON c.oid = x
                WHERE e.extname = 'ar_collect' AND c.relname IN ('reconcile_config', 'reconcile_run', 'reconcile_line',
                                                                'match_proposal', 'reconcile_adjustment')$$,
              ARRAY['reconcile_config', 'reconcile_run', 'reconcile_line', 'match_proposal', 'reconcile_adjustment'],
              'pg_dump keeps the reconciliation tables');

SELECT * FROM finish();
ROLLBACK;
