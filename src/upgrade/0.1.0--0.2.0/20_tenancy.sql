-- ---------------------------------------------------------------------------
-- Companies as tenants (src/sql/95_tenancy.sql, doc/security.md): the
-- membership table and its functions, row-level security on company data,
-- security_invoker views, and the SECURITY DEFINER functions that now check
-- the caller's company access (their final definitions, as in src/sql/).
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

-- A 0.1.0 database with several companies: every role acted for every
-- company, and goes on doing so through the three group roles' memberships
-- until an admin narrows them (doc/security.md).  (One company: nothing to
-- do, a role with no membership acts for the only company.)  Written
-- before the audit trigger exists: the upgrade's own grants, marked by
-- granted_by.
INSERT INTO ar.company_member (company_id, member, access, granted_by)
SELECT c.id, g.member::regrole, g.access, 'ar_collect 0.2.0 upgrade'
  FROM ar.company c,
       (VALUES ('ar_reader', 'reader'), ('ar_collector', 'collector'), ('ar_admin', 'admin')) AS g(member, access)
 WHERE (SELECT count(*) FROM ar.company) > 1
 ORDER BY c.id, g.access;
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

-- The companies the caller acts for, with its access to each and where the
-- access comes from: 'all' (superuser, BYPASSRLS, owner), 'member' (rows of
-- ar.company_member for the caller or a role it inherits from), 'single'
-- (no row at all, and the database has one company: the ar_* grant's level).
CREATE FUNCTION ar._access(OUT company_id bigint, OUT access text, OUT via text)
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
		  JOIN pg_catalog.pg_roles r ON r.oid = m.member
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
	 WHERE NOT (c.id = ANY (ar._company_ids(access))) ORDER BY c.id LIMIT 1;
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
		   AND c.id = ANY (ar._company_ids('admin'))
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

DO $$
DECLARE
	t text;
BEGIN
	-- tables whose rows carry company_id: read as reader, written (by the
	-- roles granted to write them, ar_admin) as admin
	FOREACH t IN ARRAY ARRAY['customer', 'customer_bank_account', 'invoice', 'bank_statement', 'bank_transaction',
	                         'customer_credit', 'allocation', 'penalty_claim', 'reconcile_config', 'reconcile_run',
	                         'reconcile_line', 'match_proposal', 'communication', 'dispute', 'payment_promise',
	                         'payment_plan', 'dunning_block', 'dunning_notice'] LOOP
		EXECUTE format('ALTER TABLE ar.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY company_read ON ar.%I FOR SELECT '
		               'USING (company_id = ANY ((SELECT ar._company_ids(''reader''))::bigint[]))', t);
		EXECUTE format('CREATE POLICY company_write ON ar.%I FOR ALL '
		               'USING (company_id = ANY ((SELECT ar._company_ids(''admin''))::bigint[])) '
		               'WITH CHECK (company_id = ANY ((SELECT ar._company_ids(''admin''))::bigint[]))', t);
	END LOOP;
END $$;

-- tables without company_id: through the row they belong to
DO $$
DECLARE
	t text;
	col text;
	parent text;
BEGIN
	FOR t, col, parent IN VALUES ('customer_dunning_policy', 'customer_id', 'customer'),
	                             ('dunning_account', 'customer_id', 'customer'),
	                             ('payment_plan_invoice', 'plan_id', 'payment_plan'),
	                             ('payment_plan_instalment', 'plan_id', 'payment_plan'),
	                             ('reconcile_adjustment', 'bank_transaction_id', 'bank_transaction') LOOP
		EXECUTE format('ALTER TABLE ar.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY company_read ON ar.%I FOR SELECT '
		               'USING (%I IN (SELECT p.id FROM ar.%I p WHERE p.company_id = ANY ((SELECT ar._company_ids(''reader''))::bigint[])))',
		               t, col, parent);
	END LOOP;
END $$;

-- companies: read by their readers, changed by their admins, created by a
-- superuser or the extension's owner (who then grant access)
ALTER TABLE ar.company ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY company_read ON ar.company FOR SELECT USING (id = ANY ((SELECT ar._company_ids('reader'))::bigint[]));
CREATE POLICY company_update ON ar.company FOR UPDATE
	USING (id = ANY ((SELECT ar._company_ids('admin'))::bigint[])) WITH CHECK (id = ANY ((SELECT ar._company_ids('admin'))::bigint[]));
CREATE POLICY company_delete ON ar.company FOR DELETE USING (id = ANY ((SELECT ar._company_ids('admin'))::bigint[]));
CREATE POLICY company_create ON ar.company FOR INSERT WITH CHECK ((SELECT ar._acts_for_all()));

-- memberships: through the functions above only
ALTER TABLE ar.company_member ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;

-- the audit trail: a row of a company's data is read by that company's
-- admins; rows of shared configuration (no company) by every reader of the trail
ALTER TABLE ar.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY company_read ON ar.audit_log FOR SELECT
	USING (CASE WHEN table_name = 'company' THEN row_id
	            ELSE (coalesce(new_row, old_row) ->> 'company_id')::bigint END IS NULL
	       OR CASE WHEN table_name = 'company' THEN row_id
	               ELSE (coalesce(new_row, old_row) ->> 'company_id')::bigint END
	          = ANY ((SELECT ar._company_ids('admin'))::bigint[]));

-- views read as the caller, so that the policies above apply to it
DO $$
DECLARE
	v text;
BEGIN
	FOREACH v IN ARRAY ARRAY['receivables', 'aging_by_customer', 'customer_credit_balance', '_penalty_basis',
	                         'penalty_claims', 'payment_term_violations', 'bank_statement_summary', 'review_queue',
	                         'reconcile_anomaly', 'reconcile_summary', 'kpi_monthly', 'customer_behaviour',
	                         'cash_forecast_weekly', 'customer_risk', 'aging_by_bucket', 'payment_model_latest',
	                         'customer_policy', 'customer_timeline', 'dunning_summary', 'worker_status'] LOOP
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


-- ----------------------------------------- functions that check company access

CREATE OR REPLACE FUNCTION ar._customer_credit_maintain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.remaining := NEW.amount;
		IF NEW.bank_transaction_id IS NOT NULL
		   AND (SELECT t.company_id FROM ar.bank_transaction t WHERE t.id = NEW.bank_transaction_id) <> NEW.company_id THEN
			RAISE EXCEPTION 'bank transaction % belongs to another company than the customer credit', NEW.bank_transaction_id
				USING ERRCODE = 'check_violation';
		END IF;
		IF NEW.bank_transaction_id IS NOT NULL THEN
			-- credit born from a bank line uses up that line like an allocation
			PERFORM ar._bank_transaction_take(NEW.bank_transaction_id, NEW.amount, NEW.currency,
			                                  'customer credit');
		END IF;
	ELSIF pg_trigger_depth() = 1 THEN
		IF NEW.remaining IS DISTINCT FROM OLD.remaining THEN
			PERFORM ar._derived_column_error('customer_credit', 'remaining');
		END IF;
		IF NEW.amount <> OLD.amount OR NEW.customer_id <> OLD.customer_id OR NEW.currency <> OLD.currency
		   OR NEW.bank_transaction_id IS DISTINCT FROM OLD.bank_transaction_id THEN
			RAISE EXCEPTION 'customer credit % cannot be changed', OLD.id
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'Credits are part of the ledger: record a new one instead.';
		END IF;
	END IF;
	RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION ar._allocation_apply_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	direction integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
	bad record;
BEGIN
	-- whoever writes or deletes them (directly or through any function), the
	-- caller must collect for the companies of the allocations
	PERFORM ar._require_company(c.company_id, 'collector')
	   FROM (SELECT DISTINCT c.company_id FROM changed c) c
	  WHERE NOT (c.company_id = ANY (ar._company_ids('collector')))
	  ORDER BY c.company_id;
	-- invoices
	PERFORM 1 FROM ar.invoice i WHERE i.id IN (SELECT c.invoice_id FROM changed c) ORDER BY i.id FOR UPDATE OF i;
	SELECT a.id, a.amount, a.company_id, a.invoice_id, o.open_before, i.id AS found, i.number,
	       i.company_id AS invoice_company, i.cancelled_on, i.amount AS invoice_amount
	  INTO bad
	  FROM (SELECT c.id, c.amount, c.company_id, c.invoice_id,
	               coalesce(sum(c.amount) OVER (PARTITION BY c.invoice_id ORDER BY c.id
	                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS done
	          FROM changed c) a
	  LEFT JOIN ar.invoice i ON i.id = a.invoice_id
	  CROSS JOIN LATERAL (SELECT i.open_amount - a.done * direction AS open_before) o
	 WHERE i.id IS NULL
	    OR i.company_id <> a.company_id
	    OR (direction = 1 AND (i.cancelled_on IS NOT NULL OR sign(a.amount) <> sign(i.amount)))
	    OR abs(o.open_before - a.amount * direction) > abs(i.amount)
	    OR sign(o.open_before - a.amount * direction) = -sign(i.amount)
	 ORDER BY a.invoice_id, a.id
	 LIMIT 1;
	IF FOUND THEN
		IF bad.found IS NULL THEN
			RAISE EXCEPTION 'invoice % does not exist', bad.invoice_id USING ERRCODE = 'foreign_key_violation';
		ELSIF bad.invoice_company <> bad.company_id THEN
			RAISE EXCEPTION 'invoice % belongs to company %, the allocation to company %', bad.number, bad.invoice_company, bad.company_id
				USING ERRCODE = 'check_violation';
		ELSIF direction = 1 AND bad.cancelled_on IS NOT NULL THEN
			RAISE EXCEPTION 'invoice % is cancelled', bad.number USING ERRCODE = 'check_violation';
		ELSIF direction = 1 AND sign(bad.amount) <> sign(bad.invoice_amount) THEN
			RAISE EXCEPTION 'allocation of % to invoice % of % has the wrong sign', bad.amount, bad.number, bad.invoice_amount
				USING ERRCODE = 'check_violation',
				      DETAIL = 'Allocations to an invoice are positive, to a credit note negative.';
		ELSE
			RAISE EXCEPTION 'allocation of % exceeds the open amount % of invoice %', bad.amount, bad.open_before, bad.number
				USING ERRCODE = 'check_violation',
				      DETAIL = 'An invoice is never allocated more than its amount.',
				      HINT = 'Allocate the open amount and record the rest as customer credit.';
		END IF;
	END IF;
	UPDATE ar.invoice i
	   SET open_amount = i.open_amount - d.delta,
	       written_off_amount = i.written_off_amount + d.written_off
	  FROM (SELECT c.invoice_id, sum(c.amount) * direction AS delta,
	               coalesce(sum(c.amount) FILTER (WHERE c.method = 'write_off'), 0) * direction AS written_off
	          FROM changed c GROUP BY c.invoice_id ORDER BY c.invoice_id) d
	 WHERE i.id = d.invoice_id;

	-- bank lines
	PERFORM 1 FROM ar.bank_transaction t WHERE t.id IN (SELECT c.bank_transaction_id FROM changed c)
	 ORDER BY t.id FOR UPDATE OF t;
	SELECT t.id, t.currency, i.currency AS invoice_currency, t.amount, t.allocated_amount, s.delta, (t.id IS NULL) AS missing,
	       s.bank_transaction_id, s.other_company
	  INTO bad
	  FROM (SELECT c.bank_transaction_id, sum(c.amount) * direction AS delta,
	               min(c.invoice_id) FILTER (WHERE c.currency <> c.line_currency) AS foreign_invoice,
	               bool_or(c.company_id <> c.line_company) AS other_company
	          FROM (SELECT c.*, inv.currency, l.currency AS line_currency, l.company_id AS line_company
	                  FROM changed c JOIN ar.invoice inv ON inv.id = c.invoice_id
	                  LEFT JOIN ar.bank_transaction l ON l.id = c.bank_transaction_id
	                 WHERE c.bank_transaction_id IS NOT NULL) c
	         GROUP BY c.bank_transaction_id) s
	  LEFT JOIN ar.bank_transaction t ON t.id = s.bank_transaction_id
	  LEFT JOIN ar.invoice i ON i.id = s.foreign_invoice
	 WHERE t.id IS NULL OR s.foreign_invoice IS NOT NULL OR s.other_company
	    OR abs(t.allocated_amount + s.delta) > abs(t.amount) OR sign(t.allocated_amount + s.delta) = -sign(t.amount)
	 ORDER BY s.bank_transaction_id
	 LIMIT 1;
	IF FOUND THEN
		IF bad.missing THEN
			RAISE EXCEPTION 'bank transaction % does not exist', bad.bank_transaction_id
				USING ERRCODE = 'foreign_key_violation';
		ELSIF bad.other_company THEN
			RAISE EXCEPTION 'bank transaction % belongs to another company than the allocation', bad.id
				USING ERRCODE = 'check_violation';
		ELSIF bad.invoice_currency IS NOT NULL THEN
			RAISE EXCEPTION 'bank transaction % is in %, the % is in %', bad.id, bad.currency, 'allocation', bad.invoice_currency
				USING ERRCODE = 'check_violation';
		ELSE
			RAISE EXCEPTION 'bank transaction % would allocate % of its %', bad.id, bad.allocated_amount + bad.delta, bad.amount
				USING ERRCODE = 'check_violation',
				      DETAIL = format('%s is already allocated; a bank line never allocates more than its amount.', bad.allocated_amount);
		END IF;
	END IF;
	UPDATE ar.bank_transaction t
	   SET allocated_amount = t.allocated_amount + d.delta
	  FROM (SELECT c.bank_transaction_id, sum(c.amount) * direction AS delta
	          FROM changed c WHERE c.bank_transaction_id IS NOT NULL
	         GROUP BY c.bank_transaction_id ORDER BY c.bank_transaction_id) d
	 WHERE t.id = d.bank_transaction_id;

	-- customer credits
	PERFORM 1 FROM ar.customer_credit cr WHERE cr.id IN (SELECT c.customer_credit_id FROM changed c)
	 ORDER BY cr.id FOR UPDATE OF cr;
	SELECT cr.id, cr.remaining, s.delta, i.number AS foreign_invoice
	  INTO bad
	  FROM (SELECT c.customer_credit_id, sum(c.amount) * direction AS delta,
	               min(c.invoice_id) FILTER (WHERE inv.customer_id <> cr.customer_id OR inv.currency <> cr.currency)
	                 AS foreign_invoice
	          FROM changed c JOIN ar.invoice inv ON inv.id = c.invoice_id
	          JOIN ar.customer_credit cr ON cr.id = c.customer_credit_id
	         GROUP BY c.customer_credit_id) s
	  JOIN ar.customer_credit cr ON cr.id = s.customer_credit_id
	  LEFT JOIN ar.invoice i ON i.id = s.foreign_invoice
	 WHERE s.foreign_invoice IS NOT NULL OR cr.remaining - s.delta < 0 OR cr.remaining - s.delta > cr.amount
	 ORDER BY s.customer_credit_id
	 LIMIT 1;
	IF FOUND THEN
		IF bad.foreign_invoice IS NOT NULL THEN
			RAISE EXCEPTION 'customer credit % cannot pay invoice %', bad.id, bad.foreign_invoice
				USING ERRCODE = 'check_violation',
				      DETAIL = 'A credit pays only invoices of its own customer and currency.';
		END IF;
		RAISE EXCEPTION 'customer credit % has % left, not %', bad.id, bad.remaining, bad.delta
			USING ERRCODE = 'check_violation';
	END IF;
	UPDATE ar.customer_credit cr
	   SET remaining = cr.remaining - d.delta
	  FROM (SELECT c.customer_credit_id, sum(c.amount) * direction AS delta
	          FROM changed c WHERE c.customer_credit_id IS NOT NULL
	         GROUP BY c.customer_credit_id ORDER BY c.customer_credit_id) d
	 WHERE cr.id = d.customer_credit_id;
	RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ar._invoice_by_number(invoice_number text) RETURNS ar.invoice
LANGUAGE plpgsql AS $$
DECLARE
	inv ar.invoice;
	found_count integer;
	mine constant bigint[] := ar._company_ids('collector');
BEGIN
	SELECT count(*) INTO found_count FROM ar.invoice WHERE number = invoice_number AND company_id = ANY (mine);
	IF found_count = 0 THEN
		SELECT * INTO inv FROM ar.invoice WHERE number = invoice_number ORDER BY company_id LIMIT 1;
		IF FOUND THEN
			PERFORM ar._require_company(inv.company_id, 'collector');
		END IF;
		RAISE EXCEPTION 'invoice "%" does not exist', invoice_number USING ERRCODE = 'no_data_found';
	ELSIF found_count > 1 THEN
		RAISE EXCEPTION 'invoice number "%" exists in % companies', invoice_number, found_count
			USING ERRCODE = 'cardinality_violation',
			      HINT = 'Insert into ar.allocation with the invoice id instead.';
	END IF;
	SELECT * INTO inv FROM ar.invoice WHERE number = invoice_number AND company_id = ANY (mine) FOR UPDATE;
	PERFORM ar._require_company(inv.company_id, 'collector');
	RETURN inv;
END $$;

CREATE OR REPLACE FUNCTION ar.apply_customer_credit(customer_id bigint, applied_on date DEFAULT current_date)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	credit ar.customer_credit;
	inv ar.invoice;
	take numeric;
	left_over numeric;
	result ar.allocation;
	company bigint;
BEGIN
	SELECT c.company_id INTO company FROM ar.customer c WHERE c.id = apply_customer_credit.customer_id;
	IF FOUND THEN
		PERFORM ar._require_company(company, 'collector');
	END IF;
	FOR credit IN SELECT * FROM ar.customer_credit c
	               WHERE c.customer_id = apply_customer_credit.customer_id AND c.remaining > 0
	               ORDER BY c.created_on, c.id FOR UPDATE LOOP
		left_over := credit.remaining;
		FOR inv IN SELECT * FROM ar.invoice i
		            WHERE i.customer_id = credit.customer_id AND i.currency = credit.currency
		              AND i.open_amount > 0 AND i.cancelled_on IS NULL
		            ORDER BY i.due_date, i.id FOR UPDATE LOOP
			EXIT WHEN left_over = 0;
			take := least(left_over, inv.open_amount);
			INSERT INTO ar.allocation (company_id, invoice_id, customer_credit_id, amount, allocated_on, method)
			VALUES (inv.company_id, inv.id, credit.id, take, applied_on, 'credit')
			RETURNING * INTO result;
			left_over := left_over - take;
			RETURN NEXT result;
		END LOOP;
	END LOOP;
END $$;

CREATE OR REPLACE FUNCTION ar.apply_credit_note(credit_note_id bigint, invoice_id bigint, amount numeric DEFAULT NULL,
                                     applied_on date DEFAULT current_date)
RETURNS numeric
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	note ar.invoice;
	inv ar.invoice;
	take numeric;
	company bigint;
BEGIN
	FOR company IN SELECT DISTINCT i.company_id FROM ar.invoice i WHERE i.id IN (credit_note_id, invoice_id) LOOP
		PERFORM ar._require_company(company, 'collector');
	END LOOP;
	-- lock in id order so two calls on the same pair cannot deadlock
	PERFORM 1 FROM ar.invoice i WHERE i.id IN (credit_note_id, invoice_id) ORDER BY i.id FOR UPDATE;
	SELECT * INTO note FROM ar.invoice i WHERE i.id = credit_note_id;
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = apply_credit_note.invoice_id;
	IF note.id IS NULL OR note.amount >= 0 THEN
		RAISE EXCEPTION 'invoice % is not a credit note', coalesce(note.number, credit_note_id::text)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF inv.id IS NULL OR inv.amount <= 0 THEN
		RAISE EXCEPTION 'invoice % is not an invoice with a positive amount', coalesce(inv.number, invoice_id::text)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF (note.customer_id, note.currency) IS DISTINCT FROM (inv.customer_id, inv.currency) THEN
		RAISE EXCEPTION 'credit note % and invoice % belong to different customers or currencies', note.number, inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF amount IS NOT NULL THEN
		PERFORM ar._require_positive('credit note amount', amount);
	END IF;
	take := least(coalesce(amount, 'Infinity'), -note.open_amount, inv.open_amount);
	IF take <= 0 THEN
		RETURN 0;
	END IF;
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
	VALUES (inv.company_id, inv.id, take, applied_on, 'credit_note', 'credit note ' || note.number),
	       (note.company_id, note.id, -take, applied_on, 'credit_note', 'invoice ' || inv.number);
	RETURN take;
END $$;

CREATE OR REPLACE FUNCTION ar.write_off_invoice(invoice_id bigint, reason text, written_off_on date DEFAULT current_date)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	allocation_id bigint;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'a write-off needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = write_off_invoice.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(inv.company_id, 'admin');
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = write_off_invoice.invoice_id FOR UPDATE;
	IF inv.open_amount = 0 THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
	VALUES (inv.company_id, inv.id, inv.open_amount, written_off_on, 'write_off', reason)
	RETURNING id INTO allocation_id;
	RETURN allocation_id;
END $$;

CREATE OR REPLACE FUNCTION ar.cancel_invoice(invoice_id bigint, cancelled_on date DEFAULT current_date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	PERFORM ar._require_company(i.company_id, 'admin') FROM ar.invoice i WHERE i.id = cancel_invoice.invoice_id;
	UPDATE ar.invoice i SET cancelled_on = cancel_invoice.cancelled_on WHERE i.id = cancel_invoice.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
END $$;

CREATE OR REPLACE FUNCTION ar.waive_penalty(invoice_id bigint, reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	target record;
	snap record;
	penalty_invoice ar.invoice;
	claim_id bigint;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'waiving penalties needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._require_company((ar._penalty_basis_of(invoice_id)).company_id, 'collector');
	target := ar._penalty_claim_target(invoice_id);
	IF (target.claim).id IS NOT NULL THEN
		IF (target.claim).decision <> 'billed' THEN
			RAISE EXCEPTION 'the penalties of invoice % are already %', (target.basis).number,
				replace((target.claim).decision, '_', ' ')
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
		SELECT * INTO penalty_invoice FROM ar.invoice i WHERE i.id = (target.claim).penalty_invoice_id FOR UPDATE;
		IF penalty_invoice.open_amount <> penalty_invoice.amount THEN
			RAISE EXCEPTION 'the penalties of invoice % are billed on invoice % and partly collected', (target.basis).number, penalty_invoice.number
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'Issue a credit note for the part you give up.';
		END IF;
		PERFORM ar.cancel_invoice(penalty_invoice.id, current_date);
		UPDATE ar.penalty_claim c SET decision = 'waived', decided_on = current_date, reason = waive_penalty.reason,
		                              decided_by = session_user
		 WHERE c.id = (target.claim).id
		RETURNING c.id INTO claim_id;
		RETURN claim_id;
	END IF;
	SELECT * INTO snap FROM ar._penalty_snapshot(target.basis, current_date);
	INSERT INTO ar.penalty_claim (company_id, invoice_id, decision, days_late, interest, fixed_fee, total, reason)
	VALUES ((target.basis).company_id, (target.basis).invoice_id, 'waived', snap.days_late, snap.interest,
	        snap.fixed_fee, snap.total, reason)
	RETURNING id INTO claim_id;
	RETURN claim_id;
END $$;

CREATE OR REPLACE FUNCTION ar.bill_penalty(invoice_id bigint, issued_on date DEFAULT current_date) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	target record;
	snap record;
	new_id bigint;
BEGIN
	IF issued_on IS NULL THEN
		RAISE EXCEPTION 'issued_on must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM ar._require_company((ar._penalty_basis_of(invoice_id)).company_id, 'collector');
	target := ar._penalty_claim_target(invoice_id);
	IF (target.claim).id IS NOT NULL THEN
		RAISE EXCEPTION 'the penalties of invoice % are already %', (target.basis).number,
			replace((target.claim).decision, '_', ' ')
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	SELECT * INTO snap FROM ar._penalty_snapshot(target.basis, issued_on);
	IF snap.problem IS NOT NULL THEN
		PERFORM ar.invoice_penalty(invoice_id, issued_on);  -- raises the problem with its detail
	END IF;
	IF snap.settled_on IS NULL THEN
		RAISE EXCEPTION 'invoice % is still open on %: its penalties are still accruing', (target.basis).number, issued_on
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Bill the penalties once the invoice is paid; dunning states them meanwhile.';
	END IF;
	IF snap.total <= 0 THEN
		RAISE EXCEPTION 'invoice % was not paid late: no penalty to bill', (target.basis).number
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, currency)
	VALUES ((target.basis).company_id, (target.basis).customer_id, 'PEN-' || (target.basis).number, issued_on, issued_on,
	        snap.total, (target.basis).currency)
	RETURNING id INTO new_id;
	INSERT INTO ar.penalty_claim (company_id, invoice_id, decision, decided_on, days_late, interest, fixed_fee, total,
	                              penalty_invoice_id)
	VALUES ((target.basis).company_id, (target.basis).invoice_id, 'billed', issued_on, snap.days_late, snap.interest,
	        snap.fixed_fee, snap.total, new_id);
	RETURN new_id;
END $$;

CREATE OR REPLACE FUNCTION ar.write_off_penalty(invoice_id bigint, reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	target record;
	snap record;
	claim_id bigint;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'a write-off needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._require_company((ar._penalty_basis_of(invoice_id)).company_id, 'admin');
	target := ar._penalty_claim_target(invoice_id);
	IF (target.claim).id IS NOT NULL THEN
		IF (target.claim).decision <> 'billed' THEN
			RAISE EXCEPTION 'the penalties of invoice % are already %', (target.basis).number,
				replace((target.claim).decision, '_', ' ')
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
		PERFORM ar.write_off_invoice((target.claim).penalty_invoice_id, reason, current_date);
		UPDATE ar.penalty_claim c SET decision = 'written_off', decided_on = current_date,
		                              reason = write_off_penalty.reason, decided_by = session_user
		 WHERE c.id = (target.claim).id
		RETURNING c.id INTO claim_id;
		RETURN claim_id;
	END IF;
	SELECT * INTO snap FROM ar._penalty_snapshot(target.basis, current_date);
	INSERT INTO ar.penalty_claim (company_id, invoice_id, decision, days_late, interest, fixed_fee, total, reason)
	VALUES ((target.basis).company_id, (target.basis).invoice_id, 'written_off', snap.days_late, snap.interest,
	        snap.fixed_fee, snap.total, reason)
	RETURNING id INTO claim_id;
	RETURN claim_id;
END $$;

CREATE OR REPLACE FUNCTION ar.import_statement(content text, format text DEFAULT NULL, strict boolean DEFAULT true)
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp
AS $$
DECLARE
	parsed ar.parsed_statement_row[];
	st record;
	h ar.parsed_statement_row;
	ref text;
	account text;
	company bigint;
	digest bytea;
	balanced boolean;
	difference numeric;
	sid bigint;
	new_nos integer[] := '{}';
	new_ids bigint[] := '{}';
	all_ids bigint[] := '{}';
	dup record;
BEGIN
	IF content IS NULL THEN
		RAISE EXCEPTION 'the statement content is NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	parsed := ARRAY(SELECT p FROM ar.parse_statement(content, format) p);

	-- CSV rows of one account and statement reference form one statement
	-- whatever their order; two such groups from other files are kept apart
	-- by their content.
	FOR st IN
		WITH p AS (SELECT * FROM unnest(parsed)),
		     l AS (SELECT p.statement_no,
		                  sum(p.amount) AS movements,
		                  count(*) FILTER (WHERE p.amount <> 0) AS stored_lines,
		                  sum(p.amount) FILTER (WHERE p.amount > 0) AS credits,
		                  sum(p.amount) FILTER (WHERE p.amount < 0) AS debits,
		                  min(p.booking_date) AS first_date, max(p.booking_date) AS last_date,
		                  jsonb_agg(to_jsonb(p) - ARRAY['statement_no', 'source_line', 'raw'] ORDER BY p.line_no) AS lines
		             FROM p WHERE p.line_no IS NOT NULL GROUP BY p.statement_no)
		SELECT s AS header, l.movements, coalesce(l.stored_lines, 0) AS stored_lines,
		       coalesce(l.credits, 0) AS credits, coalesce(l.debits, 0) AS debits,
		       l.first_date, l.last_date, l.lines
		  FROM p s LEFT JOIN l USING (statement_no)
		 WHERE s.line_no IS NULL
		 ORDER BY s.statement_no
	LOOP
		h := st.header;
		-- what the parser leaves NULL in a fragment, a statement must have
		IF h.account IS NULL OR h.currency IS NULL
		   OR (h.format = 'mt940' AND (h.opening_balance IS NULL OR h.closing_balance IS NULL)) THEN
			RAISE EXCEPTION 'malformed % statement at line %: %', upper(h.format), h.source_line,
				CASE WHEN h.account IS NULL THEN 'the statement has no account identification (:25:)'
				     WHEN h.currency IS NULL THEN 'the statement states no currency'
				     WHEN h.opening_balance IS NULL THEN 'the statement has no opening balance (:60F: or :60M:)'
				     ELSE 'the statement has no closing balance (:62F: or :62M:)' END
				USING ERRCODE = 'invalid_text_representation';
		END IF;
		account := coalesce(h.account_iban, h.account);
		ref := coalesce(nullif(h.statement_ref, ''),
		                h.format || ':' || coalesce(st.first_date::text || '..' || st.last_date::text,
		                                            h.closing_date::text, h.opening_date::text, 'empty'));
		difference := h.closing_balance - (h.opening_balance + coalesce(st.movements, 0));

		-- the figures the bank states must agree with its lines
		balanced := CASE WHEN difference IS NULL AND h.declared_credits IS NULL AND h.declared_debits IS NULL
		                 THEN NULL
		                 ELSE coalesce(difference = 0, true)
		                      AND coalesce(h.declared_credits = st.credits, true)
		                      AND coalesce(h.declared_debits = st.debits, true) END;
		IF NOT balanced AND coalesce(strict, true) THEN
			IF difference <> 0 THEN
				RAISE EXCEPTION 'statement "%" of account % does not balance: opening balance % + movements % = %, but the closing balance is %',
					ref, account, h.opening_balance, coalesce(st.movements, 0),
					h.opening_balance + coalesce(st.movements, 0), h.closing_balance
					USING ERRCODE = 'data_exception',
					      DETAIL = format('The difference is %s (statement starting at line %s of the file).',
					                      difference, h.source_line),
					      HINT = 'Import it with strict => false to store it flagged (balanced = false).';
			END IF;
			RAISE EXCEPTION 'statement "%" of account % does not add up: its lines total % in credits and % in debits, the bank states % and %',
				ref, account, st.credits, st.debits, coalesce(h.declared_credits::text, 'nothing'),
				coalesce(h.declared_debits::text, 'nothing')
				USING ERRCODE = 'data_exception',
				      HINT = 'Import it with strict => false to store it flagged (balanced = false).';
		END IF;

		digest := ar._statement_digest(h, st.lines);
		company := coalesce((SELECT c.id FROM ar.company c WHERE c.iban = h.account_iban::ar.iban ORDER BY c.id LIMIT 1),
		                    ar.default_company());
		PERFORM ar._require_company(company, 'collector');
		INSERT INTO ar.bank_statement AS s
		       (company_id, format, account_iban, account_id, statement_ref, currency,
		        opening_date, opening_balance, closing_date, closing_balance, balanced, content_sha256,
		        sequence_no, message_id, line_count, movements, balance_difference,
		        declared_credits, declared_debits, source_line)
		VALUES (company, h.format, h.account_iban::ar.iban, account, ref, h.currency,
		        h.opening_date, h.opening_balance, h.closing_date, h.closing_balance, balanced, digest,
		        h.sequence_no, h.message_id, st.stored_lines, coalesce(st.movements, 0), difference,
		        h.declared_credits, h.declared_debits, h.source_line)
		ON CONFLICT (company_id, account_id, statement_ref, content_sha256) DO NOTHING
		RETURNING s.id INTO sid;
		IF sid IS NULL THEN
			-- imported before (or just now by another session): the same id
			SELECT s.id INTO STRICT sid FROM ar.bank_statement s
			 WHERE s.company_id = company AND s.account_id = account AND s.statement_ref = ref
			   AND s.content_sha256 = digest;
		ELSIF NOT (sid = ANY (all_ids)) THEN
			new_nos := new_nos || h.statement_no;
			new_ids := new_ids || sid;
			-- the same reference with other content is another statement
			-- (a correction the bank sent?): stored, and said
			SELECT s.id, s.imported_at INTO dup FROM ar.bank_statement s
			 WHERE s.company_id = company AND s.account_id = account AND s.statement_ref = ref AND s.id <> sid
			 ORDER BY s.id LIMIT 1;
			IF FOUND THEN
				RAISE NOTICE 'statement "%" of account % was already imported with other content', ref, account
					USING HINT = 'Both are stored; check that the bank did not send a correction of the first.';
			END IF;
		END IF;
		all_ids := all_ids || sid;
	END LOOP;

	-- the lines of the statements stored now (zero amounts move nothing)
	INSERT INTO ar.bank_transaction
	       (company_id, statement_id, line_no, booking_date, value_date, amount, currency,
	        counterparty_name, counterparty_iban, counterparty_account, counterparty_bic,
	        remittance_info, structured_reference, end_to_end_id, bank_reference, customer_reference,
	        mandate_id, creditor_id, bank_tx_code, bank_tx_code_proprietary, booking_text,
	        return_reason, additional_info, reversal, source_line, raw)
	SELECT s.company_id, s.id, p.line_no, p.booking_date, p.value_date, p.amount, p.currency,
	       p.counterparty_name, p.counterparty_iban::ar.iban, p.counterparty_account, p.counterparty_bic,
	       p.remittance_info, p.structured_reference, p.end_to_end_id, p.bank_reference, p.customer_reference,
	       p.mandate_id, p.creditor_id, p.bank_tx_code, p.bank_tx_code_proprietary, p.booking_text,
	       p.return_reason, p.additional_info, p.reversal, p.source_line, p.raw
	  FROM unnest(parsed) p
	  JOIN unnest(new_nos, new_ids) AS n(statement_no, id) ON n.statement_no = p.statement_no
	  JOIN ar.bank_statement s ON s.id = n.id
	 WHERE p.line_no IS NOT NULL AND p.amount <> 0
	 ORDER BY s.id, p.line_no;

	RETURN QUERY SELECT unnest(all_ids);
END $$;

CREATE OR REPLACE FUNCTION ar._review_line(line_id bigint) RETURNS ar.bank_transaction
LANGUAGE plpgsql AS $$
DECLARE
	line ar.bank_transaction;
BEGIN
	PERFORM ar._require_company(t.company_id, 'collector') FROM ar.bank_transaction t WHERE t.id = line_id;
	SELECT * INTO line FROM ar.bank_transaction t WHERE t.id = line_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'bank transaction % does not exist', line_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN line;
END $$;

CREATE OR REPLACE FUNCTION ar.accept_proposal(proposal_id bigint)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.match_proposal;
	line ar.bank_transaction;
	x record;
	a ar.allocation;
	n integer;
	net numeric[];
	left_over numeric;
	take numeric;
	big integer;
BEGIN
	PERFORM ar._require_company(mp.company_id, 'collector') FROM ar.match_proposal mp WHERE mp.id = proposal_id;
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.id = proposal_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'proposal % does not exist', proposal_id USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status <> 'pending' THEN
		RAISE EXCEPTION 'proposal % is %, not pending', proposal_id, p.status
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	-- invoices first, then the line: the order the ledger's triggers lock them in
	PERFORM 1 FROM ar.invoice i WHERE i.id = ANY (p.invoice_ids) ORDER BY i.id FOR UPDATE;
	line := ar._review_line(p.bank_transaction_id);

	IF p.method = 'return' THEN
		-- undo the collection: its allocations go, the invoices reopen
		SELECT count(*) INTO n FROM ar.allocation al WHERE al.id = ANY (p.reverse_allocation_ids);
		IF n <> cardinality(p.reverse_allocation_ids) THEN
			RAISE EXCEPTION 'proposal %: some allocations it would reverse no longer exist', proposal_id
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'Reject it and reverse what is left with ar.unallocate().';
		END IF;
		PERFORM ar._reverse_collection(p.reverse_allocation_ids, line.id, p.run_id);
		UPDATE ar.reconcile_line r SET outcome = 'return', decided_at = now() WHERE r.bank_transaction_id = line.id;
	ELSE
		IF line.allocated_amount <> 0 THEN
			RAISE EXCEPTION 'bank transaction % already allocates %', line.id, line.allocated_amount
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      DETAIL = format('Proposal %s was made when nothing was allocated.', proposal_id),
				      HINT = 'Reject it, or undo the allocations with ar.unallocate() first.';
		END IF;
		-- credit notes are set against the invoices first (largest first), so
		-- that the line only ever allocates positive amounts within its own
		net := p.amounts;
		FOR k IN 1 .. cardinality(p.amounts) LOOP
			CONTINUE WHEN p.amounts[k] >= 0;
			left_over := -p.amounts[k];
			net[k] := 0;
			WHILE left_over > 0 LOOP
				SELECT j INTO big FROM generate_subscripts(net, 1) j WHERE net[j] > 0 ORDER BY net[j] DESC, j LIMIT 1;
				EXIT WHEN big IS NULL;
				take := least(left_over, net[big]);
				PERFORM ar.apply_credit_note(p.invoice_ids[k], p.invoice_ids[big], take, line.booking_date);
				left_over := left_over - take;
				net[big] := net[big] - take;
			END LOOP;
		END LOOP;
		FOR x IN
			SELECT i.id, i.company_id, u.amount, u.shortfall
			  FROM unnest(p.invoice_ids, net, coalesce(p.shortfalls, array_fill(0::numeric, ARRAY[cardinality(p.amounts)])))
			       WITH ORDINALITY AS u(invoice_id, amount, shortfall, ord)
			  JOIN ar.invoice i ON i.id = u.invoice_id
			 WHERE u.amount > 0
			 ORDER BY u.ord
		LOOP
			INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method,
			                           payment_means, score, note)
			VALUES (x.company_id, x.id, line.id, x.amount, line.booking_date, p.method,
			        coalesce(p.payment_means, 'transfer'), p.score, format('proposal %s accepted', p.id))
			RETURNING * INTO a;
			RETURN NEXT a;
			IF x.shortfall > 0 THEN
				-- the shortfall tolerated (bank charges, discount) closes the invoice
				INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
				VALUES (x.company_id, x.id, x.shortfall, line.booking_date, 'shortfall',
				        format('shortfall of bank transaction %s within tolerance (proposal %s)', line.id, p.id))
				RETURNING * INTO a;
				INSERT INTO ar.reconcile_adjustment (allocation_id, bank_transaction_id, invoice_id, kind)
				VALUES (a.id, line.id, x.id, 'shortfall');
				RETURN NEXT a;
			END IF;
		END LOOP;
		IF p.credit_amount > 0 THEN
			IF p.customer_id IS NULL THEN
				RAISE EXCEPTION 'proposal % credits a customer but names none', proposal_id
					USING ERRCODE = 'object_not_in_prerequisite_state';
			END IF;
			INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, bank_transaction_id,
			                                invoice_id, created_on, note)
			VALUES (line.company_id, p.customer_id, line.currency, p.credit_amount,
			        coalesce(p.credit_source, 'unapplied_payment'), line.id, p.invoice_ids[1], line.booking_date,
			        format('%s of bank transaction %s (proposal %s accepted)',
			               coalesce(p.credit_source, 'unapplied_payment'), line.id, p.id));
		END IF;
	END IF;

	UPDATE ar.match_proposal mp SET status = 'accepted', decided_by = session_user, decided_at = now()
	 WHERE mp.id = p.id;
	UPDATE ar.match_proposal mp SET status = 'superseded', decided_by = session_user, decided_at = now()
	 WHERE mp.bank_transaction_id = p.bank_transaction_id AND mp.status = 'pending';
	IF p.method <> 'return' THEN
		PERFORM ar._review_decided(line, 'accepted', p.method, p.customer_id);
	END IF;
END $$;

CREATE OR REPLACE FUNCTION ar.reject_proposal(proposal_id bigint, reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.match_proposal;
BEGIN
	PERFORM ar._require_company(mp.company_id, 'collector') FROM ar.match_proposal mp WHERE mp.id = proposal_id;
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.id = proposal_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'proposal % does not exist', proposal_id USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status <> 'pending' THEN
		RAISE EXCEPTION 'proposal % is %, not pending', proposal_id, p.status
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	PERFORM ar._review_line(p.bank_transaction_id);
	UPDATE ar.match_proposal mp
	   SET status = 'rejected', decided_by = session_user, decided_at = now(), reason = reject_proposal.reason
	 WHERE mp.id = p.id;
	-- nothing left to review: the line is unmatched again (and no run proposes it again)
	IF NOT EXISTS (SELECT 1 FROM ar.match_proposal mp
	                WHERE mp.bank_transaction_id = p.bank_transaction_id AND mp.status = 'pending') THEN
		UPDATE ar.bank_transaction t SET status = 'unmatched'
		 WHERE t.id = p.bank_transaction_id AND t.status = 'proposed';
	END IF;
END $$;

CREATE OR REPLACE FUNCTION ar.allocate(bank_transaction_id bigint, invoice_id bigint, amount numeric DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	line ar.bank_transaction;
	inv ar.invoice;
	take numeric := amount;
	allocation_id bigint;
BEGIN
	PERFORM ar._require_company(i.company_id, 'collector') FROM ar.invoice i WHERE i.id = allocate.invoice_id;
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = allocate.invoice_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
	line := ar._review_line(bank_transaction_id);
	IF line.amount < 0 THEN
		RAISE EXCEPTION 'bank transaction % is a debit of %', line.id, line.amount
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Only credits pay invoices; a direct-debit return is handled by ar.reconcile().';
	END IF;
	IF take IS NULL THEN
		-- the most both allow (for a credit note: as much as the line can net)
		take := CASE WHEN inv.open_amount >= 0 THEN least(line.amount - line.allocated_amount, inv.open_amount)
		             ELSE greatest(-line.allocated_amount, inv.open_amount) END;
		IF take = 0 THEN
			RAISE EXCEPTION 'nothing left to allocate from bank transaction % to invoice %', line.id, inv.number
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = format('The line has %s unallocated, the invoice %s open.',
				                      line.amount - line.allocated_amount, inv.open_amount);
		END IF;
	ELSIF take = 0 OR take IN ('NaN', 'Infinity', '-Infinity') THEN
		RAISE EXCEPTION 'allocation amount must be a non-zero finite amount, not %', take
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the ledger's triggers check currencies, signs and open amounts
	INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method,
	                           payment_means, note)
	VALUES (inv.company_id, inv.id, line.id, take, line.booking_date, 'manual', 'transfer', 'ar.allocate')
	RETURNING id INTO allocation_id;
	PERFORM ar._review_decided(line, 'manual', 'manual', inv.customer_id);
	RETURN allocation_id;
END $$;

CREATE OR REPLACE FUNCTION ar.unallocate(allocation_id bigint)
RETURNS numeric
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	a ar.allocation;
	line ar.bank_transaction;
BEGIN
	SELECT * INTO a FROM ar.allocation x WHERE x.id = allocation_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'allocation % does not exist', allocation_id USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(a.company_id, 'collector');
	IF a.method IN ('write_off', 'credit', 'credit_note', 'shortfall') THEN
		RAISE EXCEPTION 'allocation % is a %, not a payment', allocation_id, a.method
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = CASE a.method WHEN 'shortfall' THEN 'It goes with the payment it completes: unallocate that one.'
			                           ELSE 'Delete it as ar_admin if it must be reversed.' END;
	END IF;
	PERFORM 1 FROM ar.invoice i WHERE i.id = a.invoice_id FOR UPDATE;
	IF a.bank_transaction_id IS NOT NULL THEN
		line := ar._review_line(a.bank_transaction_id);
		-- the shortfall this payment completed on the same invoice goes with it
		DELETE FROM ar.allocation x
		 USING ar.reconcile_adjustment r
		 WHERE r.allocation_id = x.id AND r.bank_transaction_id = a.bank_transaction_id
		   AND r.invoice_id = a.invoice_id;
	END IF;
	DELETE FROM ar.allocation x WHERE x.id = a.id;
	IF line.id IS NOT NULL THEN
		SELECT * INTO line FROM ar.bank_transaction t WHERE t.id = line.id;
		PERFORM ar._review_decided(line, 'manual', NULL, NULL);
	END IF;
	RETURN a.amount;
END $$;

CREATE OR REPLACE FUNCTION ar.refresh_segments(as_of date DEFAULT current_date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	changed integer;
BEGIN
	IF as_of IS NULL THEN
		RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- the customers of the companies the caller collects for
	UPDATE ar.customer c SET segment = b.segment
	  FROM ar.customer_behaviour_on(as_of) b
	 WHERE b.customer_id = c.id AND c.segment IS DISTINCT FROM b.segment
	   AND c.company_id = ANY (ar._company_ids('collector'));
	GET DIAGNOSTICS changed = ROW_COUNT;
	RETURN changed;
END $$;

CREATE OR REPLACE FUNCTION ar.train_payment_model(as_of date DEFAULT current_date)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	fit record;
	new_version bigint;
BEGIN
	IF as_of IS NULL OR as_of IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'as_of must be a finite date, not %', coalesce(as_of::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- one model learns from every company's invoices
	PERFORM ar._require_all_companies('admin');
	SELECT * INTO fit FROM ar._payment_model_fit(as_of, 91);
	INSERT INTO ar.payment_model (as_of, algorithm, training_from, training_to, training_invoices, training_paid,
	                              holdout_from, holdout_invoices, auc, auc_late_30, accuracy, brier, mae_days,
	                              baseline_auc, baseline_mae_days, baseline_brier,
	                              feature_names, feature_mean, feature_scale, coef_late, coef_late_30,
	                              coef_delay_q10, coef_delay_q50, coef_delay_q90)
	VALUES (as_of, 'logistic regression (L2, Newton) for p_late and p_late_30; linear quantile regression (IRLS) of the delay at 10/50/90%',
	        fit.training_from, fit.training_to, fit.training_invoices, fit.training_paid,
	        fit.holdout_from, fit.holdout_invoices, fit.auc, fit.auc_late_30, fit.accuracy, fit.brier, fit.mae_days,
	        fit.baseline_auc, fit.baseline_mae_days, fit.baseline_brier,
	        fit.feature_names, fit.feature_mean, fit.feature_scale, fit.coef_late, fit.coef_late_30,
	        fit.coef_delay_q10, fit.coef_delay_q50, fit.coef_delay_q90)
	RETURNING version INTO new_version;
	RETURN new_version;
END $$;

CREATE OR REPLACE FUNCTION ar._customer_or_error(customer_id bigint) RETURNS ar.customer
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c ar.customer;
BEGIN
	SELECT * INTO c FROM ar.customer x WHERE x.id = _customer_or_error.customer_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(customer_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	-- its callers, SECURITY DEFINER, act on the customer: the caller must collect for its company
	PERFORM ar._require_company(c.company_id, 'collector');
	RETURN c;
END $$;

CREATE OR REPLACE FUNCTION ar._invoice_or_error(invoice_id bigint, for_update boolean DEFAULT true) RETURNS ar.invoice
LANGUAGE plpgsql AS $$
DECLARE
	inv ar.invoice;
BEGIN
	-- its callers, SECURITY DEFINER, act on the invoice: the caller must collect for its company
	PERFORM ar._require_company(i.company_id, 'collector') FROM ar.invoice i WHERE i.id = _invoice_or_error.invoice_id;
	IF for_update THEN
		SELECT * INTO inv FROM ar.invoice i WHERE i.id = _invoice_or_error.invoice_id FOR UPDATE;
	ELSE
		SELECT * INTO inv FROM ar.invoice i WHERE i.id = _invoice_or_error.invoice_id;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', coalesce(invoice_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	RETURN inv;
END $$;

CREATE OR REPLACE FUNCTION ar.cancel_payment_plan(plan_id bigint, reason text, cancelled_on date DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.payment_plan;
BEGIN
	PERFORM ar._require_text('a reason', reason);
	PERFORM ar._require_company(x.company_id, 'collector') FROM ar.payment_plan x WHERE x.id = cancel_payment_plan.plan_id;
	SELECT * INTO p FROM ar.payment_plan x WHERE x.id = cancel_payment_plan.plan_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'payment plan % does not exist', coalesce(plan_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status = 'cancelled' THEN
		RAISE EXCEPTION 'payment plan % is already cancelled', p.id USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	UPDATE ar.payment_plan x
	   SET status = 'cancelled', status_on = cancel_payment_plan.cancelled_on, cancelled_at = now(),
	       cancelled_on = cancel_payment_plan.cancelled_on, cancel_reason = reason
	 WHERE x.id = p.id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, plan_id)
	VALUES (p.company_id, p.customer_id, cancelled_on, 'plan_cancelled', 'internal',
	        format('Payment plan %s cancelled: %s', p.id, reason), p.id);
END $$;

CREATE OR REPLACE FUNCTION ar.set_dunning_policy(customer_id bigint, policy_code text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	p ar.dunning_policy;
BEGIN
	c := ar._customer_or_error(customer_id);
	PERFORM ar._require_company(c.company_id, 'admin');
	IF policy_code IS NULL THEN
		DELETE FROM ar.customer_dunning_policy x WHERE x.customer_id = c.id;
	ELSE
		SELECT * INTO p FROM ar.dunning_policy d WHERE d.code = policy_code;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'dunning policy "%" does not exist', policy_code USING ERRCODE = 'no_data_found';
		END IF;
		INSERT INTO ar.customer_dunning_policy (customer_id, policy_id) VALUES (c.id, p.id)
		ON CONFLICT ON CONSTRAINT customer_dunning_policy_pkey
		DO UPDATE SET policy_id = EXCLUDED.policy_id, set_at = now(), set_by = session_user;
	END IF;
	INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary)
	VALUES (c.company_id, c.id, 'policy', 'internal',
	        coalesce('Dunning policy set to ' || policy_code, 'Own dunning policy removed (segment or default policy applies)'));
END $$;

-- ar.run_dunning: its final form is re-created by piece 69.

CREATE OR REPLACE FUNCTION ar.mark_notice(notice_id bigint, status text, provider_ref text DEFAULT NULL, detail text DEFAULT NULL)
RETURNS ar.dunning_notice
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	n ar.dunning_notice;
BEGIN
	IF status IS NULL OR status NOT IN ('sent', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'a notice is marked sent, failed or cancelled, not %', coalesce('"' || status || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF status = 'failed' AND coalesce(btrim(detail), '') = '' THEN
		RAISE EXCEPTION 'a failed delivery needs its reason in detail' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._require_company(d.company_id, 'collector') FROM ar.dunning_notice d WHERE d.id = mark_notice.notice_id;
	SELECT * INTO n FROM ar.dunning_notice d WHERE d.id = mark_notice.notice_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'dunning notice % does not exist', coalesce(notice_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	IF n.status = mark_notice.status
	   AND (mark_notice.provider_ref IS NULL OR mark_notice.provider_ref IS NOT DISTINCT FROM n.provider_ref)
	   AND (mark_notice.detail IS NULL OR mark_notice.detail IS NOT DISTINCT FROM n.status_detail) THEN
		RETURN n;
	END IF;
	UPDATE ar.dunning_notice d
	   SET status = mark_notice.status,
	       provider_ref = coalesce(mark_notice.provider_ref, d.provider_ref),
	       status_detail = coalesce(mark_notice.detail, d.status_detail)
	 WHERE d.id = n.id
	RETURNING * INTO n;
	RETURN n;
END $$;

-- the owner of the SECURITY DEFINER functions (ar_definer) gets what the
-- objects added above need (19_definer.sql)
SELECT ar._grant_definer();
