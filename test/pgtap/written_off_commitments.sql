-- pgTAP: a written-off debt is no promise kept and no plan completed.
-- README, Analytics limits: kept means paid in full, and a write-off
-- (methods write_off and shortfall) is not a payment.  Before, a promise
-- whose invoice was written off before the promised date was marked kept
-- by ar.run_dunning (timeline promise_kept) and counted kept by
-- ar.commitment_kept_rate, and a plan whose invoice was written off was
-- completed.  A paid promise and a paid plan stay kept and completed, and a
-- shortfall written off before the promise was made does not break it.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(13);

INSERT INTO ar.customer (code, name, email) VALUES ('K1', 'Defaulter', 'k@example.com'),
	('K2', 'Plan Defaulter', 'k2@example.com'), ('P1', 'Payer', 'p@example.com'), ('P2', 'Plan Payer', 'p2@example.com'),
	('S1', 'Short Payer', 's@example.com');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, DATE '2026-10-01', DATE '2026-11-01', v.amount
  FROM (VALUES ('K1', 'K-1', 1000), ('K2', 'K2-1', 900), ('P1', 'P-1', 1000), ('P2', 'P2-1', 900), ('S1', 'S-1', 1000)) v (code, number, amount)
  JOIN ar.customer c ON c.code = v.code;
CREATE FUNCTION pg_temp.inv(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.invoice WHERE number = n $$;
CREATE FUNCTION pg_temp.cust(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.customer WHERE code = n $$;

-- promises: K-1 written off before the promised date, P-1 paid, S-1 a
-- shortfall of 5 written off before the promise of the 995 left, then paid
SELECT ar.promise_to_pay(pg_temp.inv('K-1'), DATE '2026-12-20', 1000, DATE '2026-12-01');
SELECT ar.write_off_invoice(pg_temp.inv('K-1'), 'liquidation judiciaire', DATE '2026-12-10');
SELECT ar.promise_to_pay(pg_temp.inv('P-1'), DATE '2026-12-20', 1000, DATE '2026-12-01');
SELECT ar.record_payment('P-1', 1000, DATE '2026-12-15');
INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method, note)
VALUES (pg_temp.inv('S-1'), 5, DATE '2026-11-20', 'shortfall', 'bank charges');
SELECT ar.promise_to_pay(pg_temp.inv('S-1'), DATE '2026-12-20', 995, DATE '2026-12-01');
SELECT ar.record_payment('S-1', 995, DATE '2026-12-15');
-- plans of three instalments: K2-1 written off, P2-1 paid
SELECT ar.create_payment_plan(pg_temp.cust('K2'), ARRAY[pg_temp.inv('K2-1')],
                              ARRAY[DATE '2026-12-22', DATE '2027-01-22', DATE '2027-02-22'], NULL, DATE '2026-12-02');
SELECT ar.write_off_invoice(pg_temp.inv('K2-1'), 'liquidation judiciaire', DATE '2026-12-15');
SELECT ar.create_payment_plan(pg_temp.cust('P2'), ARRAY[pg_temp.inv('P2-1')],
                              ARRAY[DATE '2026-12-22', DATE '2027-01-22', DATE '2027-02-22'], NULL, DATE '2026-12-02');
SELECT ar.record_payment('P2-1', 300, d) FROM unnest(ARRAY[DATE '2026-12-20', DATE '2027-01-20', DATE '2027-02-20']) d;

-- the outcomes as the ledger stood, before any run
SELECT results_eq($$SELECT customer_code, promises_kept, promises_broken FROM ar.commitment_kept_rate(DATE '2026-12-21')
                     WHERE customer_code IN ('K1', 'P1', 'S1') ORDER BY 1$$,
	$$VALUES ('K1'::text, 0, 1), ('P1', 1, 0), ('S1', 1, 0)$$,
	'commitment_kept_rate: the written-off promise is broken, the paid ones kept');
SELECT results_eq($$SELECT customer_code, instalments_kept, instalments_broken FROM ar.commitment_kept_rate(DATE '2027-03-01')
                     WHERE customer_code IN ('K2', 'P2') ORDER BY 1$$,
	$$VALUES ('K2'::text, 0, 1), ('P2', 3, 0)$$,
	'commitment_kept_rate: the written-off plan''s first instalment broken (the later ones no commitment any more)');
SELECT is((SELECT array_agg(state ORDER BY seq) FROM ar.payment_plan_schedule(
             (SELECT id FROM ar.payment_plan WHERE customer_id = pg_temp.cust('K2')), DATE '2027-03-01')),
	ARRAY['missed', 'missed', 'missed'], 'payment_plan_schedule: the written-off instalments are missed');
SELECT is((SELECT array_agg(state ORDER BY seq) FROM ar.payment_plan_schedule(
             (SELECT id FROM ar.payment_plan WHERE customer_id = pg_temp.cust('P2')), DATE '2027-03-01')),
	ARRAY['paid', 'paid', 'paid'], 'payment_plan_schedule: the paid instalments are paid');

-- a run after the write-off, before the first instalment: the plan is not completed
SELECT ok((SELECT count(*) FROM ar.run_dunning(DATE '2026-12-16')) >= 0, 'run on 2026-12-16');
SELECT is((SELECT status FROM ar.payment_plan WHERE customer_id = pg_temp.cust('K2')), 'active',
	'a plan whose invoice was written off is not completed');
SELECT ok((SELECT count(*) FROM ar.run_dunning(DATE '2026-12-21')) >= 0, 'run on 2026-12-21');
SELECT results_eq($$SELECT i.number, p.status FROM ar.payment_promise p JOIN ar.invoice i ON i.id = p.invoice_id ORDER BY 1$$,
	$$VALUES ('K-1'::text, 'broken'::text), ('P-1', 'kept'), ('S-1', 'kept')$$,
	'run_dunning: the promise on the written-off invoice is broken, the paid ones kept');
SELECT is((SELECT array_agg(kind ORDER BY occurred_at, kind) FROM ar.customer_timeline
            WHERE customer_id = pg_temp.cust('K1') AND kind LIKE 'promise%'),
	ARRAY['promise', 'promise_broken'], 'the timeline says promise_broken');
SELECT ok((SELECT count(*) FROM ar.run_dunning(DATE '2027-03-01')) >= 0, 'run on 2027-03-01');
SELECT results_eq($$SELECT c.code, p.status, p.status_on FROM ar.payment_plan p JOIN ar.customer c ON c.id = p.customer_id ORDER BY 1$$,
	$$VALUES ('K2'::text, 'broken'::text, DATE '2026-12-23'), ('P2', 'completed', DATE '2027-03-01')$$,
	'run_dunning: the written-off plan is broken on the day after its first instalment, the paid one completed');
SELECT is((SELECT kept_rate < 0.5 FROM ar.commitment_kept_rate(DATE '2027-03-01') WHERE customer_code = 'K1'), true,
	'K1''s kept rate is below even');
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'the ledger checks');

SELECT * FROM finish();
ROLLBACK;
