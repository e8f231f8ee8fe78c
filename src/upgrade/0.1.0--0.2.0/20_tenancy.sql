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
-- (ar._allocation_apply_rows, ar.accept_proposal and ar.unallocate check it
-- too: their final forms are re-created by piece 70; ar.import_statement's
-- by piece 72)

CREATE OR REPLACE FUNCTION ar._customer_credit_maintain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.remaining := NEW.amount;
		IF NEW.bank_transaction_id IS NOT NULL THEN
			-- credit born from a bank line uses up that line like an allocation
			PERFORM ar._bank_transaction_take(NEW.company_id, NEW.bank_transaction_id, NEW.amount, NEW.currency,
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
	-- every lock names the company (routed to its shard on Citus)
	FOR credit IN SELECT * FROM ar.customer_credit c
	               WHERE c.company_id = company AND c.customer_id = apply_customer_credit.customer_id AND c.remaining > 0
	               ORDER BY c.created_on, c.id FOR UPDATE LOOP
		left_over := credit.remaining;
		FOR inv IN SELECT * FROM ar.invoice i
		            WHERE i.company_id = credit.company_id AND i.customer_id = credit.customer_id AND i.currency = credit.currency
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
	-- lock in (company, id) order so two calls on the same pair cannot
	-- deadlock, one statement per company (routed to its shard on Citus)
	FOR company IN SELECT DISTINCT i.company_id FROM ar.invoice i WHERE i.id IN (credit_note_id, invoice_id) ORDER BY 1 LOOP
		PERFORM ar._require_company(company, 'collector');
		PERFORM 1 FROM ar.invoice i WHERE i.company_id = company AND i.id IN (credit_note_id, invoice_id) ORDER BY i.id FOR UPDATE;
	END LOOP;
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
	SELECT * INTO inv FROM ar.invoice i WHERE i.company_id = inv.company_id AND i.id = write_off_invoice.invoice_id FOR UPDATE;
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
		SELECT * INTO penalty_invoice FROM ar.invoice i
		 WHERE i.company_id = (target.basis).company_id AND i.id = (target.claim).penalty_invoice_id FOR UPDATE;
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
	pen_number text;
	max_chars integer;
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
		RAISE EXCEPTION 'invoice % is still open on %: its penalties are still accruing', (target.basis).number, to_char(issued_on, 'YYYY-MM-DD')
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Bill the penalties once the invoice is paid; dunning states them meanwhile.';
	END IF;
	IF snap.total <= 0 THEN
		RAISE EXCEPTION 'invoice % was not paid late: no penalty to bill', (target.basis).number
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	-- numbered PEN-<number>; where that is longer than an invoice number may
	-- be (ar.input_bound), cut and ended by the invoice's id, which keeps it unique
	pen_number := 'PEN-' || (target.basis).number;
	SELECT b.max_chars INTO max_chars FROM ar.input_bound b WHERE b.table_name = 'invoice' AND b.column_name = 'number';
	IF char_length(pen_number) > max_chars THEN
		pen_number := left(pen_number, max_chars - 1 - char_length((target.basis).invoice_id::text)) || '-'
		              || (target.basis).invoice_id;
	END IF;
	INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, currency)
	VALUES ((target.basis).company_id, (target.basis).customer_id, pen_number, issued_on, issued_on,
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

CREATE OR REPLACE FUNCTION ar._review_line(line_id bigint) RETURNS ar.bank_transaction
LANGUAGE plpgsql AS $$
DECLARE
	line ar.bank_transaction;
	company bigint;
BEGIN
	-- its company first, then the lock names it (routed to its shard on Citus)
	SELECT t.company_id INTO company FROM ar.bank_transaction t WHERE t.id = line_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	SELECT * INTO line FROM ar.bank_transaction t WHERE t.company_id = company AND t.id = line_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'bank transaction % does not exist', line_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN line;
END $$;

CREATE OR REPLACE FUNCTION ar.reject_proposal(proposal_id bigint, reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.match_proposal;
	company bigint;
BEGIN
	SELECT mp.company_id INTO company FROM ar.match_proposal mp WHERE mp.id = proposal_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.company_id = company AND mp.id = proposal_id FOR UPDATE;
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
	company bigint;
BEGIN
	-- its company first, then the lock names it (routed to its shard on Citus)
	SELECT i.company_id INTO company FROM ar.invoice i WHERE i.id = allocate.invoice_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	SELECT * INTO inv FROM ar.invoice i WHERE i.company_id = company AND i.id = allocate.invoice_id FOR UPDATE;
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
	   AND c.company_id = ANY ((SELECT ar._company_ids('collector'))::bigint[]);
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
	company bigint;
BEGIN
	-- its callers, SECURITY DEFINER, act on the invoice: the caller must collect for its company
	SELECT i.company_id INTO company FROM ar.invoice i WHERE i.id = _invoice_or_error.invoice_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	IF for_update THEN
		-- the lock names the company (routed to its shard on Citus)
		SELECT * INTO inv FROM ar.invoice i WHERE i.company_id = company AND i.id = _invoice_or_error.invoice_id FOR UPDATE;
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
	company bigint;
BEGIN
	PERFORM ar._require_text('a reason', reason);
	SELECT x.company_id INTO company FROM ar.payment_plan x WHERE x.id = cancel_payment_plan.plan_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	SELECT * INTO p FROM ar.payment_plan x WHERE x.company_id = company AND x.id = cancel_payment_plan.plan_id FOR UPDATE;
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
	company bigint;
BEGIN
	IF status IS NULL OR status NOT IN ('sent', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'a notice is marked sent, failed or cancelled, not %', coalesce('"' || status || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF status = 'failed' AND coalesce(btrim(detail), '') = '' THEN
		RAISE EXCEPTION 'a failed delivery needs its reason in detail' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the company read first, the lock naming it (routed to its shard on
	-- Citus, doc/scale_out.md blocker 5)
	SELECT d.company_id INTO company FROM ar.dunning_notice d WHERE d.id = mark_notice.notice_id;
	IF FOUND THEN
		PERFORM ar._require_company(company, 'collector');
	END IF;
	SELECT * INTO n FROM ar.dunning_notice d WHERE d.company_id = company AND d.id = mark_notice.notice_id FOR UPDATE;
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
