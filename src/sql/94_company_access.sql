-- ---------------------------------------------------------------------------
-- Which companies the caller acts for (95_tenancy.sql, doc/security.md
-- "Companies as tenants"): ar._access(), and ar._company_visible(), what the
-- row-level security policies call.  Written to be run again: the upgrade
-- from 0.1.0 (src/upgrade/0.1.0--0.2.0/95_zzz_0_company_access.sql, a link
-- to this piece) replaces the ar._access() of 0.1.0's tenancy piece.
-- (PL/pgSQL and C: neither needs the tables of 95_tenancy.sql yet.)
-- ---------------------------------------------------------------------------

-- The companies the caller acts for, with its access to each and where the
-- access comes from: 'all' (superuser, BYPASSRLS, owner), 'member' (rows of
-- ar.company_member for the caller or a role it inherits from), 'single'
-- (no row at all, and the database has one company: the ar_* grant's level).
-- The row of a dropped role matches no caller (pg_has_role is false for an
-- OID no role has, the caller not being a superuser here), so the rows are
-- not joined with pg_roles: on Citus, a join of the reference table with
-- that catalog view is planned apart, and its pg_authid refused to the
-- definer (doc/scale_out.md).
CREATE OR REPLACE FUNCTION ar._access(OUT company_id bigint, OUT access text, OUT via text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	me constant oid := ar._caller();
BEGIN
	IF ar._acts_for_all() THEN
		RETURN QUERY SELECT c.id, 'admin'::text, 'all'::text FROM ar.company c ORDER BY c.id;
		RETURN;
	END IF;
	RETURN QUERY
		SELECT m.company_id, (array_agg(m.access ORDER BY ar._access_rank(m.access) DESC))[1], 'member'::text
		  FROM ar.company_member m
		 WHERE pg_catalog.pg_has_role(me, m.member, 'USAGE')
		 GROUP BY m.company_id
		 ORDER BY m.company_id;
	IF FOUND THEN
		RETURN;
	END IF;
	RETURN QUERY
		SELECT c.id, g.access, 'single'::text
		  FROM ar.company c
		 CROSS JOIN LATERAL (SELECT CASE WHEN pg_catalog.pg_has_role(me, 'ar_admin', 'USAGE') THEN 'admin'
		                                 WHEN pg_catalog.pg_has_role(me, 'ar_collector', 'USAGE') THEN 'collector'
		                                 WHEN pg_catalog.pg_has_role(me, 'ar_reader', 'USAGE') THEN 'reader'
		                            END AS access) g
		 WHERE g.access IS NOT NULL
		   AND (SELECT count(*) FROM ar.company) = 1;
END $$;

-- What the row-level security policies of company data call: whether the
-- caller acts for the company at that level or above, i.e. company_id =
-- ANY (ar._company_ids(access)), NULL for a NULL company.  A plain function
-- call, not a subquery (Citus refuses subqueries in the policies of
-- distributed tables, doc/scale_out.md), and still one lookup per
-- statement: each call site keeps the caller's companies for the rest of
-- its query, recomputed when the role differs (tenancy.c).
CREATE OR REPLACE FUNCTION ar._company_visible(company_id bigint, access text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_company_visible'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar._company_visible(bigint, text) IS
'Whether the caller acts for the company at that level (reader, collector, admin) or above: what the row-level security policies call, one lookup of ar._company_ids() per statement.';

REVOKE ALL ON FUNCTION ar._company_visible(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._company_visible(bigint, text) TO PUBLIC;
