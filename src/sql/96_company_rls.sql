-- ---------------------------------------------------------------------------
-- Row-level security of company data: every table whose rows carry
-- company_id (but the memberships, 95_tenancy.sql) is read as reader and
-- written (by the roles granted to write them, ar_admin) as admin.  Data
-- driven, for the tables that have none yet: in a fresh install every table
-- of the pieces before this one; in an upgrade (this piece is also
-- src/upgrade/0.1.0--0.2.0/96_company_rls.sql) the tables the 0.2.0 pieces
-- created.
-- ---------------------------------------------------------------------------
DO $$
DECLARE
	t text;
BEGIN
	FOR t IN SELECT c.relname FROM pg_catalog.pg_class c
	           JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped
	          WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind IN ('r', 'p')
	            AND c.relname <> 'company_member' AND NOT c.relrowsecurity
	          ORDER BY 1 LOOP
		EXECUTE format('ALTER TABLE ar.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY company_read ON ar.%I FOR SELECT '
		               'USING (ar._company_visible(company_id, ''reader''))', t);
		EXECUTE format('CREATE POLICY company_write ON ar.%I FOR ALL '
		               'USING (ar._company_visible(company_id, ''admin'')) '
		               'WITH CHECK (ar._company_visible(company_id, ''admin''))', t);
	END LOOP;
END $$;
