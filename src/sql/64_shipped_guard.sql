-- ---------------------------------------------------------------------------
-- The guard of the shipped rows of the rule tables (65_penalties.sql:
-- ar.rate_series, ar.reference_rate, ar.penalty_regime,
-- ar.penalty_regime_fee): shipped rows come with the extension and stay as
-- shipped.  src/upgrade/0.1.0--0.2.0/99_shipped_guard.sql is this piece (a
-- link): it replaces 0.1.0's guard.
--
-- On the tables themselves it refuses everyone, their owner included.  On
-- another relation with the trigger, a shard of the table on a Citus node
-- (ar.penalty_regime_102008: the rule tables are reference tables of a
-- distributed install, doc/scale_out.md), it lets the copies of a
-- superuser or of a member of the extension's owner through: Citus copies
-- the rows into the shards as the role that distributes the table, and
-- those roles could disable the trigger anyway.  Any other role writing a
-- shard, directly or through the table, is refused as on the table: the
-- signal is the current role's own privilege, which no setting, search_path
-- or application_name can fake.
-- ---------------------------------------------------------------------------
-- A guard's test: true when it fires on another relation than the table it
-- guards (on_table false: a Citus shard) and the current role is a
-- superuser or a member of the extension's owner.  Shared by the guards of
-- the read-only shipped tables (ar._einvoice_status_code_guard too).
CREATE OR REPLACE FUNCTION ar._privileged_shard_copy(on_table boolean) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
	SELECT NOT on_table
	   AND (coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false)
	        OR coalesce((SELECT pg_catalog.pg_has_role(current_user, e.extowner, 'USAGE')
	                       FROM pg_catalog.pg_extension e WHERE e.extname = 'ar_collect'), false))
$$;
-- every role writing a guarded table runs it (90_roles.sql gives it back
-- after taking EXECUTE away from PUBLIC on the whole schema)
GRANT EXECUTE ON FUNCTION ar._privileged_shard_copy(boolean) TO PUBLIC;

CREATE OR REPLACE FUNCTION ar._penalty_shipped_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF ar._privileged_shard_copy(TG_TABLE_SCHEMA = 'ar'
	        AND TG_TABLE_NAME IN ('rate_series', 'reference_rate', 'penalty_regime', 'penalty_regime_fee')) THEN
		RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
	END IF;
	IF TG_OP = 'INSERT' THEN
		IF NEW.shipped THEN
			RAISE EXCEPTION 'rows of ar.% with shipped = true come with ar_collect only', TG_TABLE_NAME
				USING ERRCODE = 'insufficient_privilege';
		END IF;
		RETURN NEW;
	END IF;
	IF OLD.shipped OR (TG_OP = 'UPDATE' AND NEW.shipped) THEN
		RAISE EXCEPTION 'this row of ar.% is shipped with ar_collect and cannot be changed', TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = format('Row: %s.', to_jsonb(OLD) - 'created_at' - 'shipped'),
			      HINT = 'Insert a row of your own: a reference rate with the same series and effective_from replaces the shipped one; a regime of your own takes another code.';
	END IF;
	RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
