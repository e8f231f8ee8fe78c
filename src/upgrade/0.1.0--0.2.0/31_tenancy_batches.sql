-- Tenancy meets the batches (pieces 20 and 30 were written side by side):
-- ar.batch_problem, created by piece 30, gets the company policies of the
-- other company tables (95_tenancy.sql).
ALTER TABLE ar.batch_problem ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY company_read ON ar.batch_problem FOR SELECT
	USING (company_id = ANY ((SELECT ar._company_ids('reader'))::bigint[]));
CREATE POLICY company_write ON ar.batch_problem FOR ALL
	USING (company_id = ANY ((SELECT ar._company_ids('admin'))::bigint[]))
	WITH CHECK (company_id = ANY ((SELECT ar._company_ids('admin'))::bigint[]));


