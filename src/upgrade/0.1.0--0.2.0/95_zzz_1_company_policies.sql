-- The row-level security policies call ar._company_visible(company_id,
-- level) instead of comparing with a subquery of ar._company_ids(level)
-- (issue 14: Citus refuses subqueries in the policies of distributed
-- tables; src/sql/95_tenancy.sql, src/sql/96_company_rls.sql).  Same
-- meaning, still one lookup per statement (src/tenancy.c); the function
-- and the new ar._access() come with 95_zzz_0_company_access.sql, before.

-- every company table's company_read and company_write (the pieces before
-- created them with the subquery: 20_tenancy.sql, 31_tenancy_batches.sql,
-- 70_recfix_writeoff.sql; 96_company_rls.sql, next, creates the others'
-- with the function, 98_zz_audit_1_structure.sql the audit trail's); a
-- policy of another shape is left as it is
DO $$
DECLARE
	r record;
BEGIN
	-- deparsed as the script's search_path (ar first) qualifies them
	FOR r IN SELECT c.relname, p.polname,
	                pg_catalog.replace(pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'ar._company_ids', '_company_ids') AS qual,
	                pg_catalog.replace(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), 'ar._company_ids', '_company_ids') AS withcheck
	           FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
	          WHERE c.relnamespace = 'ar'::regnamespace AND p.polname IN ('company_read', 'company_write')
	          ORDER BY 1, 2 LOOP
		IF r.polname = 'company_read'
		   AND r.qual = '(company_id = ANY (( SELECT _company_ids(''reader''::text) AS _company_ids)::bigint[]))' THEN
			EXECUTE format('ALTER POLICY company_read ON ar.%I USING (ar._company_visible(company_id, ''reader''))', r.relname);
		ELSIF r.polname = 'company_write'
		   AND r.qual = '(company_id = ANY (( SELECT _company_ids(''admin''::text) AS _company_ids)::bigint[]))'
		   AND r.withcheck = r.qual THEN
			EXECUTE format('ALTER POLICY company_write ON ar.%I USING (ar._company_visible(company_id, ''admin'')) '
			               'WITH CHECK (ar._company_visible(company_id, ''admin''))', r.relname);
		END IF;
	END LOOP;
END $$;

ALTER POLICY company_read ON ar.company USING (ar._company_visible(id, 'reader'));
ALTER POLICY company_update ON ar.company
	USING (ar._company_visible(id, 'admin')) WITH CHECK (ar._company_visible(id, 'admin'));
ALTER POLICY company_delete ON ar.company USING (ar._company_visible(id, 'admin'));
ALTER POLICY company_create ON ar.company WITH CHECK (ar._acts_for_all());
