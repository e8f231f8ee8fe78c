-- 0.2.0 (issue 16, item 7): the SEPA direct debit tables (piece 84, the
-- install script's piece itself) are company data: row-level security as
-- 95_tenancy.sql gives it to every table with company_id in a fresh install.
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['direct_debit_collection', 'direct_debit_line', 'direct_debit_line_invoice', 'sepa_creditor',
	                         'sepa_mandate'] LOOP
		EXECUTE format('ALTER TABLE ar.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY company_read ON ar.%I FOR SELECT '
		               'USING (company_id = ANY ((SELECT ar._company_ids(''reader''))::bigint[]))', t);
		EXECUTE format('CREATE POLICY company_write ON ar.%I FOR ALL '
		               'USING (company_id = ANY ((SELECT ar._company_ids(''admin''))::bigint[])) '
		               'WITH CHECK (company_id = ANY ((SELECT ar._company_ids(''admin''))::bigint[]))', t);
	END LOOP;
END $$;
-- its SECURITY DEFINER functions and tables to ar_definer, as
-- src/sql/99_definer.sql does at the end of a fresh install
SELECT ar._grant_definer();
