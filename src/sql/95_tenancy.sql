-- ---------------------------------------------------------------------------
-- Companies as tenants (doc/security.md, "Companies as tenants").
--
-- ar.company is the unit of isolation.  ar.company_member says which roles
-- act for which companies, as reader, collector or admin; the ar_reader,
-- ar_collector and ar_admin grants say what a role may do at all, the
-- membership for which companies.  A role acts for a company when it, or a
-- role whose privileges it inherits, has a membership row for it; a role
-- with no membership row at all acts for the only company of a database
-- that has one (the default single-company install needs no setup), at the
-- level of its ar_* grant.  Superusers, BYPASSRLS roles and the
-- extension's owner act for every company.
--
-- The role a call acts for is ar._caller(): the role chosen by SET ROLE,
-- else the session user (never the owner of a SECURITY DEFINER function).
-- Row-level security applies it to whoever reads or writes the tables
-- directly (views are security_invoker); the SECURITY DEFINER functions,
-- whose owner bypasses row-level security, check it explicitly with
-- ar._require_company() on the rows they touch.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ar._caller() RETURNS regrole
	AS 'MODULE_PATHNAME', 'ar_caller'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar._caller() IS
'The role a call acts for: the role chosen by SET ROLE, else the session user; inside a SECURITY DEFINER function too.';

CREATE TABLE ar.company_member (
	company_id  bigint NOT NULL REFERENCES ar.company ON DELETE CASCADE,
	member      regrole NOT NULL,
	access      text NOT NULL CHECK (access IN ('reader', 'collector', 'admin')),
	granted_by  text NOT NULL DEFAULT session_user,
	granted_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (company_id, member)
);
CREATE INDEX company_member_member ON ar.company_member (member);
COMMENT ON TABLE ar.company_member IS 'Which roles act for which companies, and as what: managed with ar.grant_company_access() and ar.revoke_company_access().';
COMMENT ON COLUMN ar.company_member.company_id IS 'The company.';
COMMENT ON COLUMN ar.company_member.member IS 'The role (stored by OID: follows a rename; dumped and restored by name).';
COMMENT ON COLUMN ar.company_member.access IS 'reader, collector or admin: what the role may do for the company, within its ar_* grant.';
COMMENT ON COLUMN ar.company_member.granted_by IS 'Session user who granted it.';
COMMENT ON COLUMN ar.company_member.granted_at IS 'When.';

CREATE TRIGGER company_member_audit AFTER INSERT OR UPDATE OR DELETE ON ar.company_member
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER company_member_no_truncate BEFORE TRUNCATE ON ar.company_member
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

CREATE FUNCTION ar._access_rank(access text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE access WHEN 'reader' THEN 1 WHEN 'collector' THEN 2 WHEN 'admin' THEN 3 END $$;

-- Superusers, roles that bypass row-level security (BYPASSRLS: they read
-- every company's rows anyway) and members of the extension's owner act for
-- every company.
CREATE FUNCTION ar._acts_for_all() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, ar, pg_temp
AS $$
	SELECT coalesce((SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.oid = ar._caller()), false)
	    OR coalesce((SELECT pg_catalog.pg_has_role(ar._caller(), e.extowner, 'USAGE')
	                   FROM pg_catalog.pg_extension e WHERE e.extname = 'ar_collect'), false)
$$;

-- ar._access(), the companies the caller acts for, and
-- ar._company_visible(), what the policies call: 94_company_access.sql.

-- The ids of the companies the caller acts for at that level or above
-- (what the row-level security policies compare company_id with, once
-- per statement).
CREATE FUNCTION ar._company_ids(access text) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, ar, pg_temp
AS $$
	SELECT coalesce(array_agg(a.company_id ORDER BY a.company_id), '{}')
	  FROM ar._access() a
	 WHERE ar._access_rank(a.access) >= ar._access_rank(_company_ids.access)
$$;

CREATE FUNCTION ar._may_act(company_id bigint, access text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, ar, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM ar._access() a
	                WHERE a.company_id = _may_act.company_id
	                  AND ar._access_rank(a.access) >= ar._access_rank(_may_act.access))
$$;

-- Raises 42501 naming the company when the caller may not act for it at
-- that level.  Every SECURITY DEFINER function calls it with the company of
-- each row it is about to touch.
CREATE FUNCTION ar._require_company(company_id bigint, access text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	has text;
BEGIN
	IF ar._access_rank(access) IS NULL THEN
		RAISE EXCEPTION 'unknown company access "%"', access USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF company_id IS NOT NULL AND ar._may_act(company_id, access) THEN
		RETURN;
	END IF;
	SELECT a.access INTO has FROM ar._access() a WHERE a.company_id = _require_company.company_id;
	RAISE EXCEPTION 'role "%" may not act as % for company "%"', ar._caller(), access,
		coalesce((SELECT c.code FROM ar.company c WHERE c.id = _require_company.company_id),
		         '#' || coalesce(company_id::text, 'NULL'))
		USING ERRCODE = 'insufficient_privilege',
		      DETAIL = CASE WHEN has IS NULL THEN 'It has no access to that company.'
		                    ELSE format('Its access to that company is %s.', has) END,
		      HINT = 'An admin of the company grants access with ar.grant_company_access().';
END $$;

-- Batch functions that work on every company at once (ar.run_dunning, ar.train_payment_model):
-- the caller must act for each of them at that level.
CREATE FUNCTION ar._require_all_companies(access text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	missing bigint;
BEGIN
	IF ar._acts_for_all() THEN
		RETURN;
	END IF;
	SELECT c.id INTO missing FROM ar.company c
	 WHERE NOT (c.id = ANY ((SELECT ar._company_ids(access))::bigint[])) ORDER BY c.id LIMIT 1;
	IF FOUND THEN
		PERFORM ar._require_company(missing, access);
	END IF;
END $$;

-- ------------------------------------------------------------ management

CREATE FUNCTION ar._company_by_code(company text) RETURNS ar.company
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c ar.company;
BEGIN
	SELECT * INTO c FROM ar.company x WHERE x.code = company;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'company "%" does not exist', coalesce(company, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	RETURN c;
END $$;

CREATE FUNCTION ar._role_by_name(member text) RETURNS regrole
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r oid;
BEGIN
	SELECT x.oid INTO r FROM pg_catalog.pg_roles x WHERE x.rolname = member;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" does not exist', coalesce(member, 'NULL') USING ERRCODE = 'undefined_object';
	END IF;
	RETURN r;
END $$;

CREATE FUNCTION ar.grant_company_access(member text, company text, access text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.company;
	r regrole;
BEGIN
	IF ar._access_rank(access) IS NULL THEN
		RAISE EXCEPTION 'access must be reader, collector or admin, not %', coalesce('"' || access || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	c := ar._company_by_code(company);
	PERFORM ar._require_company(c.id, 'admin');
	r := ar._role_by_name(member);
	INSERT INTO ar.company_member AS m (company_id, member, access) VALUES (c.id, r, grant_company_access.access)
	ON CONFLICT ON CONSTRAINT company_member_pkey DO UPDATE
	   SET access = EXCLUDED.access, granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at
	 WHERE m.access IS DISTINCT FROM EXCLUDED.access;
END $$;
COMMENT ON FUNCTION ar.grant_company_access(text, text, text) IS
'Lets a role act for a company (by code) as reader, collector or admin (replacing its access there). The caller must be an admin of that company.';

CREATE FUNCTION ar.revoke_company_access(member text, company text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.company;
	r regrole;
BEGIN
	c := ar._company_by_code(company);
	PERFORM ar._require_company(c.id, 'admin');
	r := ar._role_by_name(member);
	DELETE FROM ar.company_member m WHERE m.company_id = c.id AND m.member = r;
	RETURN FOUND;
END $$;
COMMENT ON FUNCTION ar.revoke_company_access(text, text) IS
'Removes a role''s membership of a company (by code); returns whether it had one. The caller must be an admin of that company.';

CREATE FUNCTION ar.company_access(company text DEFAULT NULL)
RETURNS TABLE (company_code text, member text, access text, granted_by text, granted_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF company IS NOT NULL THEN
		PERFORM ar._require_company((ar._company_by_code(company)).id, 'admin');
	END IF;
	RETURN QUERY
		SELECT c.code, coalesce(r.rolname::text, m.member::oid::text), m.access, m.granted_by, m.granted_at
		  FROM ar.company_member m
		  JOIN ar.company c ON c.id = m.company_id
		  LEFT JOIN pg_catalog.pg_roles r ON r.oid = m.member
		 WHERE (company_access.company IS NULL OR c.code = company_access.company)
		   AND c.id = ANY ((SELECT ar._company_ids('admin'))::bigint[])
		 ORDER BY c.code, 2;
END $$;
COMMENT ON FUNCTION ar.company_access(text) IS
'The membership rows of the companies the caller is an admin of (of one company, by code); a dropped role shows as its OID.';

CREATE VIEW ar.my_companies WITH (security_invoker = true) AS
SELECT c.id AS company_id, c.code, c.name, a.access, a.via
  FROM ar._access() a
  JOIN ar.company c ON c.id = a.company_id;
COMMENT ON VIEW ar.my_companies IS 'The companies the current role acts for, with its access to each.';
COMMENT ON COLUMN ar.my_companies.company_id IS 'ar.company.id';
COMMENT ON COLUMN ar.my_companies.code IS 'Company code.';
COMMENT ON COLUMN ar.my_companies.name IS 'Company name.';
COMMENT ON COLUMN ar.my_companies.access IS 'reader, collector or admin.';
COMMENT ON COLUMN ar.my_companies.via IS 'member (ar.company_member), single (no membership, the only company of the database) or all (superuser, BYPASSRLS role, extension owner).';

-- ------------------------------------------------------ row-level security

-- every table of company data carries company_id (97_distribution_keys.sql)
-- and gets the policies of 96_company_rls.sql

-- companies: read by their readers, changed by their admins, created by a
-- superuser or the extension's owner (who then grant access)
ALTER TABLE ar.company ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY company_read ON ar.company FOR SELECT USING (ar._company_visible(id, 'reader'));
CREATE POLICY company_update ON ar.company FOR UPDATE
	USING (ar._company_visible(id, 'admin')) WITH CHECK (ar._company_visible(id, 'admin'));
CREATE POLICY company_delete ON ar.company FOR DELETE USING (ar._company_visible(id, 'admin'));
CREATE POLICY company_create ON ar.company FOR INSERT WITH CHECK (ar._acts_for_all());

-- memberships: through the functions above only
ALTER TABLE ar.company_member ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- the audit trail: a row of a company's data (its company_id) is read by
-- that company's admins; rows of shared configuration (company 0) by every
-- reader of the trail.  Forced: the table's owner reads through it too.
ALTER TABLE ar.audit_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY company_read ON ar.audit_log FOR SELECT
	USING (company_id = 0 OR ar._company_visible(company_id, 'admin'));
-- the seals of the chains likewise
ALTER TABLE ar.audit_seal ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY company_read ON ar.audit_seal FOR SELECT
	USING (company_id = 0 OR ar._company_visible(company_id, 'admin'));

-- views read as the caller, so that the policies above apply to it
DO $$
DECLARE
	v text;
BEGIN
	FOREACH v IN ARRAY ARRAY['receivables', 'aging_by_customer', 'customer_credit_balance', '_penalty_basis',
	                         'penalty_claims', 'payment_term_violations', 'bank_statement_summary', 'review_queue',
	                         'reconcile_anomaly', 'reconcile_summary', 'kpi_monthly', 'customer_behaviour',
	                         'cash_forecast_weekly', 'customer_risk', 'aging_by_bucket', 'payment_model_latest',
	                         'customer_policy', 'customer_timeline', 'dunning_summary', 'worker_status',
	                         'write_off_report', 'open_credit_items'] LOOP
		EXECUTE format('ALTER VIEW ar.%I SET (security_invoker = true)', v);
	END LOOP;
END $$;

-- ------------------------------------------------------------------ grants

REVOKE ALL ON FUNCTION ar._caller(), ar._acts_for_all(), ar._access(), ar._company_ids(text),
                       ar._may_act(bigint, text), ar._require_company(bigint, text),
                       ar._require_all_companies(text), ar._company_by_code(text), ar._role_by_name(text),
                       ar.grant_company_access(text, text, text), ar.revoke_company_access(text, text),
                       ar.company_access(text)
	FROM PUBLIC;
-- what the policies and the functions of every role evaluate: the caller's own access only
GRANT EXECUTE ON FUNCTION ar._caller(), ar._access_rank(text), ar._acts_for_all(), ar._access(),
                          ar._company_ids(text), ar._may_act(bigint, text), ar._require_company(bigint, text),
                          ar._require_all_companies(text)
	TO PUBLIC;
GRANT SELECT ON ar.my_companies TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.grant_company_access(text, text, text), ar.revoke_company_access(text, text),
                          ar.company_access(text)
	TO ar_admin;

SELECT pg_catalog.pg_extension_config_dump('ar.company_member', '');
