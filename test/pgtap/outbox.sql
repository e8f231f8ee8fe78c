-- The outbox's consumers and the ledger's guards (review 4):
-- (A) a second report of the same status with another proof is refused
--     (ar.mark_notice, ar.mark_statement_notice), not written over the first
--     that the timeline keeps;
-- (B) ar.claim_notices hands each queued notice to one sender at a time,
--     for a lease, within the companies the caller is a collector of
--     (concurrent claimers: test/specs/concurrent_notice_claim.spec);
-- (C) an invoice with allocations keeps its customer, as its currency and
--     company (the credit allocated to it is its first customer's).
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(43);

CREATE ROLE t_ob_coll_a IN ROLE ar_collector;
CREATE ROLE t_ob_coll_b IN ROLE ar_collector;
CREATE ROLE t_ob_read_a IN ROLE ar_collector;   -- granted ar_collector, but a reader of A only
CREATE ROLE t_ob_reader IN ROLE ar_reader;
CREATE ROLE t_ob_adm IN ROLE ar_admin;
INSERT INTO ar.company (code, name, iban) VALUES ('A', 'Company A', 'FR7630006000011234567890189'),
                                                 ('B', 'Company B', 'DE89370400440532013000');
SELECT ar.grant_company_access(m, c, a)
  FROM (VALUES ('t_ob_coll_a', 'A', 'collector'), ('t_ob_read_a', 'A', 'reader'), ('t_ob_coll_b', 'B', 'collector'),
               ('t_ob_adm', 'DEFAULT', 'admin')) AS g(m, c, a);
INSERT INTO ar.customer (company_id, code, name, email)
SELECT c.id, 'C' || c.code || g, 'Customer ' || g || ' of ' || c.code, 'c' || g || '@example.org'
  FROM ar.company c, generate_series(1, 3) g WHERE c.code IN ('A', 'B');
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT cu.company_id, cu.id, 'I-' || cu.code, '2026-01-01', '2026-01-31', 100 FROM ar.customer cu;
SELECT is((SELECT count(*) FROM ar.run_dunning('2026-03-20')), 6::bigint, 'setup: a run queues three notices of A, three of B');
CREATE TEMP TABLE ids AS
SELECT (SELECT id FROM ar.company WHERE code = 'A') AS a, (SELECT id FROM ar.company WHERE code = 'B') AS b;
GRANT SELECT ON ids TO PUBLIC;

-- ------------------------------------------------ (B) claiming notices
SET LOCAL ROLE t_ob_reader;
SELECT throws_ok($$SELECT ar.claim_notices()$$, '42501', NULL, 'a reader may not claim notices');
RESET ROLE;
SET LOCAL ROLE t_ob_read_a;
SELECT is((SELECT count(*) FROM ar.claim_notices()), 0::bigint, 'a reader of A (granted ar_collector) claims nothing of A');
RESET ROLE;
SELECT is((SELECT count(*) FROM ar.dunning_notice WHERE claimed_by IS NOT NULL), 0::bigint, '... and nothing is claimed');
SET LOCAL ROLE t_ob_coll_a;
SELECT throws_ok($$SELECT ar.claim_notices(0)$$, '22023', 'max_notices must be at least 1, not 0', 'max_notices below 1: 22023');
SELECT throws_ok($$SELECT ar.claim_notices(10, '0 seconds')$$, '22023', NULL, 'a lease of zero: 22023');
SELECT throws_ok($$SELECT ar.claim_notices(10, '5 minutes', 'fax')$$, '22023', 'unknown channel "fax"', 'an unknown channel: 22023');
SELECT is((SELECT count(*) FROM ar.claim_notices(10, '5 minutes', 'sms')), 0::bigint, 'no notice of that channel: none claimed');
CREATE TEMP TABLE first_claim AS SELECT * FROM ar.claim_notices(2);
SELECT is((SELECT count(*) FROM first_claim), 2::bigint, 'a collector of A claims at most max_notices');
SELECT is((SELECT array_agg(DISTINCT company_id) FROM first_claim), ARRAY[(SELECT a FROM ids)], '... of A only');
SELECT is((SELECT array_agg(id ORDER BY id) FROM first_claim),
	(SELECT (array_agg(id ORDER BY id))[1:2] FROM ar.dunning_notice WHERE company_id = (SELECT a FROM ids)), '... oldest first');
SELECT ok((SELECT bool_and(claimed_until > clock_timestamp() + interval '4 minutes' AND claimed_by LIKE 't_ob_coll_a (pid %)'
                           AND status = 'queued') FROM first_claim),
	'... each queued, leased for five minutes to the calling role and its pid');
SELECT is((SELECT count(*) FROM ar.claim_notices()), 1::bigint, 'a second claim gets the one notice of A left');
SELECT is((SELECT count(*) FROM ar.claim_notices()), 0::bigint, 'a third gets nothing: every notice of A is leased');
RESET ROLE;
SET LOCAL ROLE t_ob_coll_b;
SELECT is((SELECT array_agg(DISTINCT company_id) FROM ar.claim_notices()), ARRAY[(SELECT b FROM ids)],
	'a collector of B claims B''s notices, not A''s leased ones');
RESET ROLE;
-- a sender that crashed: its lease ended (as if five minutes had passed)
UPDATE ar.dunning_notice SET claimed_until = clock_timestamp() - interval '1 second'
 WHERE id = (SELECT min(id) FROM first_claim);
SET LOCAL ROLE t_ob_coll_a;
SELECT is((SELECT array_agg(id) FROM ar.claim_notices(10, '1 minute')), ARRAY[(SELECT min(id) FROM first_claim)],
	'a notice whose lease ended is claimable again, and only it');
SELECT is((SELECT status FROM ar.mark_notice((SELECT min(id) FROM first_claim), 'sent', 'gateway-A-111')), 'sent',
	'the sender marks the notice it claimed');
RESET ROLE;
SELECT ok((SELECT claimed_by IS NOT NULL FROM ar.dunning_notice WHERE id = (SELECT min(id) FROM first_claim)),
	'a notice marked keeps who claimed it');
SELECT throws_ok(format($$UPDATE ar.dunning_notice SET claimed_until = NULL WHERE id = %s$$, (SELECT min(id) FROM first_claim)),
	'55000', NULL, 'a notice no longer queued cannot be claimed (the guard)');
SELECT throws_ok(format($$UPDATE ar.dunning_notice SET body = 'x', claimed_by = 'me' WHERE id = %s$$, (SELECT max(id) FROM first_claim)),
	'42501', NULL, 'nor its other columns changed with its claim');
SELECT is((SELECT count(*) FROM ar.communication WHERE kind LIKE 'notice_%' AND notice_id IN (SELECT id FROM first_claim)), 1::bigint,
	'a claim is not an event of the timeline (the mark is)');

-- ------------------------------------------------- (A) a second proof
CREATE TEMP TABLE n2 AS SELECT max(id) AS id FROM first_claim;
GRANT SELECT ON n2 TO PUBLIC;
SET LOCAL ROLE t_ob_coll_a;
SELECT is((SELECT provider_ref FROM ar.mark_notice((SELECT id FROM n2), 'sent', 'gateway-A-111')), 'gateway-A-111', 'sent with a proof');
SELECT is((SELECT provider_ref FROM ar.mark_notice((SELECT id FROM n2), 'sent', 'gateway-A-111')), 'gateway-A-111',
	'sent again with the same proof: nothing changes');
SELECT is((SELECT provider_ref FROM ar.mark_notice((SELECT id FROM n2), 'sent')), 'gateway-A-111',
	'sent again with no proof: nothing changes');
SELECT throws_ok(format($$SELECT ar.mark_notice(%s, 'sent', 'gateway-B-222')$$, (SELECT id FROM n2)), '55000',
	format('dunning notice %s is already sent with proof "gateway-A-111", not "gateway-B-222"', (SELECT id FROM n2)),
	'sent again with another proof: refused, naming the notice and both proofs');
RESET ROLE;
SELECT is((SELECT provider_ref FROM ar.dunning_notice WHERE id = (SELECT id FROM n2)), 'gateway-A-111', 'the row keeps the first proof');
SELECT is((SELECT array_agg(proof_ref) FROM ar.communication WHERE notice_id = (SELECT id FROM n2) AND kind = 'notice_sent'),
	'{gateway-A-111}', 'the timeline has it once, the same');
SET LOCAL ROLE t_ob_coll_a;
SELECT is((SELECT status FROM ar.mark_notice((SELECT id FROM n2), 'failed', NULL, '550 mailbox unknown')), 'failed', 'then bounced');
SELECT is((SELECT status_detail FROM ar.mark_notice((SELECT id FROM n2), 'failed', NULL, '550 mailbox unknown')), '550 mailbox unknown',
	'the same bounce reported again: nothing changes');
SELECT throws_ok(format($$SELECT ar.mark_notice(%s, 'failed', NULL, '552 mailbox full')$$, (SELECT id FROM n2)), '55000', NULL,
	'failed again with another reason: refused');
RESET ROLE;
SELECT is((SELECT provider_ref || ' / ' || status_detail FROM ar.dunning_notice WHERE id = (SELECT id FROM n2)),
	'gateway-A-111 / 550 mailbox unknown', 'the row keeps the first proof and reason');

-- the statements of account: the same
SET LOCAL ROLE t_ob_coll_a;
CREATE TEMP TABLE s1 AS
SELECT id FROM ar.queue_statement_of_account((SELECT id FROM ar.customer WHERE code = 'CA1'), '2026-01-01', '2026-01-31');
SELECT is((SELECT provider_ref FROM ar.mark_statement_notice((SELECT id FROM s1), 'sent', 'mail-A')), 'mail-A', 'a statement sent');
SELECT is((SELECT provider_ref FROM ar.mark_statement_notice((SELECT id FROM s1), 'sent')), 'mail-A', 'sent again, no proof: nothing changes');
SELECT is((SELECT provider_ref FROM ar.mark_statement_notice((SELECT id FROM s1), 'sent', 'mail-A')), 'mail-A',
	'sent again, the same proof: nothing changes');
SELECT throws_ok(format($$SELECT ar.mark_statement_notice(%s, 'sent', 'mail-B')$$, (SELECT id FROM s1)), '55000',
	format('statement notice %s is already sent with proof "mail-A", not "mail-B"', (SELECT id FROM s1)),
	'sent again with another proof: refused');
RESET ROLE;
SELECT is((SELECT provider_ref FROM ar.statement_notice WHERE id = (SELECT id FROM s1)), 'mail-A', 'the statement keeps the first proof');
SELECT is((SELECT array_agg(proof_ref) FROM ar.communication WHERE kind = 'statement_sent'), '{mail-A}',
	'the communications log has it once');

-- ---------------------------------------- (C) moving an invoice's credit
INSERT INTO ar.customer (code, name) VALUES ('MA', 'Customer A'), ('MB', 'Customer B');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, n, DATE '2026-11-01', DATE '2026-12-01', 100 FROM ar.customer, (VALUES ('MA-1'), ('MA-2'), ('MA-3')) v(n) WHERE code = 'MA';
SELECT isnt(ar.record_payment('MA-1', 150, DATE '2026-11-10'), NULL, 'MA overpays MA-1 by 50');
SELECT is((SELECT count(*) FROM ar.apply_customer_credit((SELECT id FROM ar.customer WHERE code = 'MA'), DATE '2026-11-12')), 1::bigint,
	'its credit goes to MA-2');
SET LOCAL ROLE t_ob_adm;
SELECT throws_ok($$UPDATE ar.invoice SET customer_id = (SELECT id FROM ar.customer WHERE code = 'MB') WHERE number = 'MA-2'$$,
	'55000', 'invoice MA-2 already has allocations', 'an admin may not move an invoice paid by its customer''s credit to another customer');
SELECT throws_ok($$UPDATE ar.invoice SET customer_id = (SELECT id FROM ar.customer WHERE code = 'MB') WHERE number = 'MA-1'$$,
	'55000', 'invoice MA-1 already has allocations', 'nor one its customer paid');
SELECT lives_ok($$UPDATE ar.invoice SET customer_id = (SELECT id FROM ar.customer WHERE code = 'MB') WHERE number = 'MA-3'$$,
	'an invoice without allocations still moves to another customer (a mistake corrected)');
RESET ROLE;
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'the ledger checks');

SELECT * FROM finish();
ROLLBACK;
