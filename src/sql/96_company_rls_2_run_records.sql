-- ---------------------------------------------------------------------------
-- Records of the runs that cover every company (doc/security.md, "Companies
-- as tenants"): a dunning run date (ar.dunning_run: its accounts, notices and
-- cycles closed summed over the companies, its report naming the first
-- invoice whose penalty could not be computed and the customers written to
-- in another language), the worker's state (ar.worker_state: its last error,
-- the notices and bank lines of its last runs) and the worker's runs without
-- a company (ar.worker_run: the day's dunning and, on one node, each
-- reconciliation: totals over the companies).  They hold no company_id, so
-- the policies of 96_company_rls.sql do not cover them, and a reader of one
-- company read the others' invoice numbers, customer codes and counts.
-- They are read by the roles acting as reader for every company; a
-- company's own run of the worker (result->'company_id', on a distributed
-- ledger) by that company's readers.  The runs write them through SECURITY
-- DEFINER functions (ar_definer bypasses row-level security); a restore
-- writes them as a role acting for every company.  ar.worker_status reads
-- them as its caller (security_invoker): a reader of some companies sees
-- whether the worker runs, not what it did.  Also the upgrade's piece
-- (src/upgrade/0.1.0--0.2.0/96_company_rls_2_run_records.sql is this file).
-- ---------------------------------------------------------------------------
-- (ar.dunning_run becomes a reference table on Citus, which refuses
-- subqueries in its policies: the test per row there, on a row per date;
-- once per statement on the worker's tables, local to the coordinator)
ALTER TABLE ar.dunning_run ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY every_company_write ON ar.dunning_run FOR ALL
	USING (ar._acts_for_every_company('admin')) WITH CHECK (ar._acts_for_every_company('admin'));
CREATE POLICY every_company_read ON ar.dunning_run FOR SELECT
	USING (ar._acts_for_every_company('reader'));

ALTER TABLE ar.worker_state ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE ar.worker_run ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY every_company_write ON ar.worker_state FOR ALL
	USING ((SELECT ar._acts_for_every_company('admin'))) WITH CHECK ((SELECT ar._acts_for_every_company('admin')));
CREATE POLICY every_company_write ON ar.worker_run FOR ALL
	USING ((SELECT ar._acts_for_every_company('admin'))) WITH CHECK ((SELECT ar._acts_for_every_company('admin')));
CREATE POLICY every_company_read ON ar.worker_state FOR SELECT
	USING ((SELECT ar._acts_for_every_company('reader')));
CREATE POLICY company_read ON ar.worker_run FOR SELECT
	USING (CASE WHEN result ? 'company_id' THEN ar._company_visible((result ->> 'company_id')::bigint, 'reader')
	            ELSE (SELECT ar._acts_for_every_company('reader')) END);
