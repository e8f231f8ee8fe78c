-- The background worker's reconciliation one company at a time
-- (src/sql/89_worker_reconcile_companies.sql, src/worker.c
-- reconcile_companies: what it does on a Citus coordinator, here called
-- unit by unit as the worker calls them): each company with new bank lines
-- gets a run of its own in ar.worker_run, reconciled through
-- ar.reconcile_company; a company's failure leaves the others' runs and the
-- watermark where they were, so that the next cycle takes it again.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(11);

INSERT INTO ar.company (id, code, name) OVERRIDING SYSTEM VALUE VALUES (9101, 'WC-A', 'Worker A'), (9102, 'WC-B', 'Worker B');
INSERT INTO ar.worker_state (id, reconcile_watermark) VALUES (true, 0);
INSERT INTO ar.bank_transaction (id, company_id, booking_date, amount, remittance_info) OVERRIDING SYSTEM VALUE
VALUES (991001, 9101, DATE '2026-03-01', 10.00, 'A one'), (991002, 9102, DATE '2026-03-01', 20.00, 'B one'),
       (991003, 9101, DATE '2026-03-02', 30.00, 'A two');
UPDATE ar.worker_state SET reconcile_watermark = 991000;

SELECT is(ar._worker_reconcile_per_company(), 0::bigint, 'one node: the worker reconciles every company in one run');
SELECT is(ar._worker_reconcile_newest(), 991003::bigint, 'the newest new line above the watermark');

CREATE TEMP TABLE wc AS SELECT ar._worker_reconcile_company_due(NULL, 991003) AS a;
SELECT is((SELECT result FROM ar.worker_run, wc WHERE id = wc.a),
          '{"company_id": 9101, "up_to_line": 991003}'::jsonb, 'the first company''s run, recorded as running');
SELECT is(ar._worker_reconcile((SELECT a FROM wc)), 0::bigint, 'reconciled alone');
SELECT results_eq($$SELECT bank_transaction_id, company_id FROM ar.reconcile_line WHERE bank_transaction_id > 991000 ORDER BY 1$$,
                  $$VALUES (991001::bigint, 9101::bigint), (991003, 9101)$$, 'its lines decided, not the other company''s');
SELECT is((SELECT format('%s %s %s', w.status, w.result->>'lines', r.company_id)
             FROM ar.worker_run w, wc, ar.reconcile_run r WHERE w.id = wc.a AND r.id = (SELECT max(id) FROM ar.reconcile_run)),
          'succeeded 2 9101', 'its run succeeded, with a reconciliation run of that company');
SELECT is((SELECT reconcile_watermark FROM ar.worker_state), 991000::bigint, 'the watermark waits for the end of the cycle');

-- the next company fails (a trigger of the test refuses its decisions):
-- recorded failed as the worker does, nothing of it kept
CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'test: company B refused'; END $$;
CREATE TRIGGER wc_refuse BEFORE INSERT ON ar.reconcile_line FOR EACH ROW WHEN (NEW.company_id = 9102)
	EXECUTE FUNCTION pg_temp.refuse();
ALTER TABLE wc ADD COLUMN b bigint;
UPDATE wc SET b = ar._worker_reconcile_company_due(a, 991003);
SELECT throws_ok($$SELECT ar._worker_reconcile((SELECT b FROM wc))$$, 'test: company B refused', 'the second company''s run fails');
SELECT ar._worker_run_failed(b, 'test: company B refused') FROM wc;
SELECT is((SELECT format('%s %s', w.status, w.result->>'company_id') FROM ar.worker_run w, wc WHERE w.id = wc.b),
          'failed 9102', 'recorded failed, for its company');
SELECT is(ar._worker_reconcile_company_due((SELECT b FROM wc), 991003), NULL, 'no company left in the cycle');
-- the cycle had a failure: the worker leaves the watermark; the next cycle
-- finds company B's line again
DROP TRIGGER wc_refuse ON ar.reconcile_line;
ALTER TABLE wc ADD COLUMN again bigint;
UPDATE wc SET again = ar._worker_reconcile_company_due(a, ar._worker_reconcile_newest());
SELECT is((SELECT w.result->>'company_id' FROM ar.worker_run w, wc WHERE w.id = wc.again), '9102',
          'the next cycle takes the company that failed again');

SELECT * FROM finish();
ROLLBACK;
