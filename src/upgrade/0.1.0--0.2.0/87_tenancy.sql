-- 0.2.0 (issue 16, items 8 and 10): the accounting export's and the
-- e-invoicing's tables (pieces 86_accounting_export.sql and
-- 87_einvoicing.sql, links to the install script's pieces) are company
-- data: row-level security as 95_tenancy.sql gives it to every table with
-- company_id in a fresh install.
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['accounting_config', 'accounting_export', 'journal_entry', 'journal_entry_line',
	                         'einvoice_status', 'einvoice_outbox'] LOOP
		EXECUTE format('ALTER TABLE ar.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY company_read ON ar.%I FOR SELECT '
		               'USING (company_id = ANY ((SELECT ar._company_ids(''reader''))::bigint[]))', t);
		EXECUTE format('CREATE POLICY company_write ON ar.%I FOR ALL '
		               'USING (company_id = ANY ((SELECT ar._company_ids(''admin''))::bigint[])) '
		               'WITH CHECK (company_id = ANY ((SELECT ar._company_ids(''admin''))::bigint[]))', t);
	END LOOP;
END $$;
