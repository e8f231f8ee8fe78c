-- ---------------------------------------------------------------------------
-- The shared configuration (doc/security.md, "Companies as tenants"): the
-- dunning policies, levels, templates and segment policies, the penalty
-- regimes, their fees, rate series and reference rates, the letters' texts
-- and penalty wordings hold no company_id: every company's dunning,
-- letters and penalties read them.  ar_admin writes them directly; an admin
-- of some companies only would change what the others send and claim (a
-- template's text in their customers' letters, a regime's rate in their
-- penalties).  So a write needs a role acting as admin for every company,
-- as every other write of what all companies share (ar.train_payment_model,
-- ar.rebuild_summaries).  Also the upgrade's piece
-- (src/upgrade/0.1.0--0.2.0/96_company_rls_1_shared_config.sql is this file).
-- ---------------------------------------------------------------------------

-- Whether the caller acts at level access for every company (superuser,
-- the extension's owner, BYPASSRLS, or a membership of each): the test of
-- ar._require_all_companies, as a value.  SECURITY DEFINER: it counts the
-- companies the caller does not see.
CREATE FUNCTION ar._acts_for_every_company(access text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	SELECT ar._acts_for_all()
	       OR NOT EXISTS (SELECT FROM ar.company c WHERE NOT (c.id = ANY ((SELECT ar._company_ids(access))::bigint[])))
$$;

-- BEFORE INSERT OR UPDATE OR DELETE ... FOR EACH STATEMENT on each shared
-- configuration table (on a Citus placement too, where the caller is the
-- same role).
CREATE FUNCTION ar._shared_config_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	-- (pg_restore reloading them: ar_collect.restoring is a superuser's)
	IF NOT ar._restoring() AND NOT ar._acts_for_every_company('admin') THEN
		RAISE EXCEPTION 'role "%" may not change ar.%: it is shared by every company', ar._caller(),
			ar._logical_table_name(TG_RELID)
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Shared configuration is changed by a role acting as admin for every company.',
			      HINT = 'A superuser, or a role an admin of every company gave admin access to each (ar.grant_company_access()), changes it.';
	END IF;
	RETURN NULL;
END $$;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['dunning_policy', 'dunning_level', 'dunning_template', 'dunning_segment_policy',
	                         'penalty_regime', 'penalty_regime_fee', 'rate_series', 'reference_rate',
	                         'letter_text', 'penalty_wording'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON ar.%I '
		               'FOR EACH STATEMENT EXECUTE FUNCTION ar._shared_config_guard()', t || '_shared', t);
	END LOOP;
END $$;

REVOKE ALL ON FUNCTION ar._acts_for_every_company(text), ar._shared_config_guard() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._acts_for_every_company(text) TO ar_reader, ar_collector, ar_admin;
