-- 0.2.0 (issue 16, items 4 and 6): the statement of account's outbox and
-- the small balances' tables (pieces 82_*, the install script's pieces
-- themselves) are company data: row-level security as 95_tenancy.sql gives
-- it to every table with company_id in a fresh install.
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['credit_release', 'small_balance_action', 'small_balance_config', 'statement_notice'] LOOP
		EXECUTE format('ALTER TABLE ar.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY company_read ON ar.%I FOR SELECT '
		               'USING (company_id = ANY ((SELECT ar._company_ids(''reader''))::bigint[]))', t);
		EXECUTE format('CREATE POLICY company_write ON ar.%I FOR ALL '
		               'USING (company_id = ANY ((SELECT ar._company_ids(''admin''))::bigint[])) '
		               'WITH CHECK (company_id = ANY ((SELECT ar._company_ids(''admin''))::bigint[]))', t);
	END LOOP;
END $$;
