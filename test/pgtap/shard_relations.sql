-- On Citus a ledger table's rows live in shards, relations of its schema
-- named <table>_<shard id> that carry the table's triggers.  Those triggers
-- must act as on the table: the audit trail names the table and its
-- company, a trigger shared by two tables takes its table's branch
-- (ar._logical_table_name, doc/scale_out.md).  Simulated here on one node
-- with relations named as Citus names shards; test/citus.sh checks the
-- same on real shards.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(11);

-- ------------------------------------------------- ar._logical_table_name
CREATE TABLE ar.invoice_910001 (LIKE ar.invoice);
CREATE TABLE ar.nosuchtable_910001 (id bigint);
CREATE TABLE ar.invoice_x12 (id bigint);
SELECT is(ar._logical_table_name('ar.invoice'), 'invoice', 'a table is named by its own name');
SELECT is(ar._logical_table_name('ar.invoice_910001'), 'invoice', 'a shard (<table>_<digits>) by its table''s');
SELECT is(ar._logical_table_name('ar.nosuchtable_910001'), 'nosuchtable_910001',
          'a name ending in digits but of no table stays its own');
SELECT is(ar._logical_table_name('ar.invoice_x12'), 'invoice_x12', 'a suffix that is not all digits stays');
-- the triggers of every role call it: an admin's write of a dunning
-- policy fires ar._dunning_policy_changed (not SECURITY DEFINER)
CREATE ROLE shard_rel_admin IN ROLE ar_admin;
SET LOCAL ROLE shard_rel_admin;
SELECT is(ar._logical_table_name('ar.invoice_910001'), 'invoice', 'any role may call it (the triggers of every role do)');
SELECT lives_ok($$INSERT INTO ar.dunning_policy (code, name, templates_from)
                  SELECT 'SR_ADMIN', 'Admin''s policy', p.id FROM ar.dunning_policy p WHERE p.code = 'FR_STANDARD'$$,
                'an admin writes a dunning policy, its check trigger calling it');
RESET ROLE;

-- ----------------------------------------------------------- audit rows
-- a company's shard: its audit rows name the company table and the company
CREATE TABLE ar.company_910002 (LIKE ar.company INCLUDING DEFAULTS);
CREATE TRIGGER company_audit AFTER INSERT OR UPDATE OR DELETE ON ar.company_910002
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
INSERT INTO ar.company_910002 (id, code, name) VALUES (910002, 'SHARD', 'Company in a shard');
SELECT results_eq($$SELECT table_name, company_id, row_id FROM ar.audit_log WHERE row_id = 910002 ORDER BY id$$,
                  $$VALUES ('company'::text, 910002::bigint, 910002::bigint)$$,
                  'a row written in a shard of ar.company is audited as ar.company''s, with the company it is');

-- the statement-level audit of allocations, in a shard of ar.allocation
INSERT INTO ar.customer (code, name) VALUES ('SH1', 'Shard Customer');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'SH-001', DATE '2026-01-05', DATE '2026-02-04', 300.00 FROM ar.customer WHERE code = 'SH1';
DO $$ BEGIN PERFORM ar.record_payment('SH-001', 100.00, DATE '2026-02-01'); END $$;
CREATE TABLE ar.allocation_910003 (LIKE ar.allocation);
CREATE TRIGGER allocation_audit_insert AFTER INSERT ON ar.allocation_910003
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ar._audit_rows();
INSERT INTO ar.allocation_910003 SELECT * FROM ar.allocation a
 WHERE a.invoice_id = (SELECT id FROM ar.invoice WHERE number = 'SH-001');
SELECT results_eq($$SELECT l.table_name, l.company_id = i.company_id FROM ar.audit_log l, ar.invoice i
                     WHERE l.operation = 'INSERT' AND l.new_row ->> 'invoice_id' = i.id::text AND i.number = 'SH-001'
                     ORDER BY l.id$$,
                  $$VALUES ('allocation'::text, true), ('allocation', true)$$,
                  'the set-wise audit of a shard of ar.allocation names ar.allocation (the table''s own row, then the shard''s)');

-- ----------------------------------------------- triggers that act by table
-- an allocated invoice deleted in a shard is refused as in the table
CREATE TRIGGER invoice_allocated_delete AFTER DELETE ON ar.invoice_910001
	REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_allocated_delete();
CREATE TRIGGER invoice_allocated_rekey BEFORE UPDATE OF id, company_id ON ar.invoice_910001
	FOR EACH ROW EXECUTE FUNCTION ar._refuse_allocated_rekey();
INSERT INTO ar.invoice_910001 SELECT * FROM ar.invoice WHERE number = 'SH-001';
SELECT throws_ok($$DELETE FROM ar.invoice_910001 WHERE number = 'SH-001'$$, '23503',
                 'invoice SH-001 cannot be deleted: allocations name it',
                 'an allocated invoice deleted in a shard of ar.invoice is refused, named by its number');
SELECT throws_ok($$UPDATE ar.invoice_910001 SET id = id + 1000000 WHERE number = 'SH-001'$$, '23503',
                 'the id of invoice SH-001 cannot change: allocations name it',
                 'and its id cannot change there');

-- the audit trail still verifies
SELECT is((SELECT valid FROM ar.verify_audit_chain()), true, 'the audit trail verifies');

SELECT * FROM finish();
ROLLBACK;
