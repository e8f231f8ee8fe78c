-- ---------------------------------------------------------------------------
-- CALL ar.distribute(shard_count): the whole database distributed by company
-- on a Citus coordinator (issue 14; doc/scale_out.md, "How to distribute").
-- A procedure: it commits after each step (Citus refuses to copy the rows of
-- several tables into their shards in one transaction: "cannot insert
-- multiple commands into a prepared statement"), so it runs outside a
-- transaction block, and it refuses, before changing anything, where it
-- cannot run.
-- src/upgrade/0.1.0--0.2.0/98_zzz_distribute.sql is this piece (a link).
-- ---------------------------------------------------------------------------

-- What ar.distribute does with each table of the extension, from the
-- catalog: a table with company_id is company data, distributed by it and
-- co-located with ar.customer; a table without it is shared by every
-- company, a reference table (a copy on every node).  The exceptions, each
-- with its reason, are pinned here; test/pgtap/distribute_plan.sql pins the
-- whole list, so that a new table of ar fails it until it is looked at.
CREATE FUNCTION ar._distribute_plan()
RETURNS TABLE (table_name regclass, kind text, reason text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	WITH exception (name, kind, reason) AS (VALUES
		('company_member', 'reference',
		 'the memberships: the policies of every company table read them on the node of the shard (ar._access)'),
		('worker_state', 'local',
		 'the background worker''s state: it runs on the coordinator only'),
		('worker_run', 'local',
		 'the background worker''s runs: it runs on the coordinator only'),
		('audit_seal_request', 'local',
		 'a node''s own transactions waiting for their audit seal at commit'),
		('summary_fold_request', 'local',
		 'a node''s own transactions waiting for their summary fold at commit'),
		('audit_legacy_chain', 'local',
		 'a 0.1.0 database''s chain head, read inside the shard queries of the verification (a reference table there is a nested distributed query, refused)'),
		('lock_slot', 'local',
		 'a node''s own locks of its runs and chains, as advisory locks were'),
		('input_bound', 'local',
		 'the bounded columns of the schema: shipped, read-only, the same rows on every node (CREATE EXTENSION)'))
	SELECT c.oid::regclass,
	       coalesce(x.kind, CASE WHEN a.attname IS NULL THEN 'reference' ELSE 'distributed' END),
	       coalesce(x.reason, CASE WHEN a.attname IS NULL THEN 'shared by every company' ELSE 'company data' END)
	  FROM pg_catalog.pg_class c
	  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
	  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'ar_collect'
	  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped
	  LEFT JOIN exception x ON x.name = c.relname
	 WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind IN ('r', 'p')
	 ORDER BY 2 DESC, c.relname
$$;
COMMENT ON FUNCTION ar._distribute_plan() IS
'What CALL ar.distribute() does with each table of the extension: distributed by company_id (co-located with ar.customer), a reference table, or kept local, and why (doc/scale_out.md).';

CREATE FUNCTION ar._in_transaction_block() RETURNS boolean
AS 'MODULE_PATHNAME', 'ar_in_transaction_block' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION ar._in_transaction_block() IS
'Whether the current statement runs inside a transaction block (explicit or implicit): CALL ar.distribute() refuses there (src/distribute.c).';

-- Each step of ar.distribute begins its transaction with this: the search
-- path pinned (a procedure that commits cannot carry a SET clause; the
-- caller's own path comes back at each COMMIT) and Citus's consent to
-- distribute tables with triggers (the triggers of the extension are
-- written for the shards: doc/scale_out.md), both for the transaction only.
-- (Executable by PUBLIC: it changes nothing but these settings, and
-- ar.distribute calls it before its own privilege check.)
CREATE FUNCTION ar._distribute_step() RETURNS void
LANGUAGE sql AS $$
	SELECT pg_catalog.set_config('search_path', 'pg_catalog, ar, pg_temp', true);
	SELECT pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
	SELECT pg_catalog.set_config('client_min_messages', 'warning', true);
$$;

-- The legacy chain's head (a 0.1.0 database's sealed trail, which every
-- company chain starts after: ar.audit_genesis_hash, ar._audit_legacy_seq)
-- written on every worker as the coordinator holds it.  The workers seal
-- and verify the companies they hold, reading their own copy (a local
-- table: a reference table is a nested distributed query inside the shard
-- queries, refused); without it a worker numbered and linked the chains
-- from an empty head (test/citus_upgrade.sh).  Called by ar.distribute;
-- after citus_add_node, call it again (doc/scale_out.md).
CREATE FUNCTION ar.sync_legacy_chain_head() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	head text;
	failed text;
	n integer;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension e WHERE e.extname = 'citus') OR ar._on_citus_worker_node() THEN
		RAISE EXCEPTION 'ar.sync_legacy_chain_head runs on a Citus coordinator'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'It copies the coordinator''s ar.audit_legacy_chain to the Citus workers; this node is not a coordinator.';
	END IF;
	SELECT pg_catalog.format('INSERT INTO ar.audit_legacy_chain (last_seq, last_hash, closed_at) VALUES (%s, %L::bytea, %L::timestamptz);',
	                         l.last_seq, l.last_hash, l.closed_at)
	  INTO head FROM ar.audit_legacy_chain l;
	SELECT count(*), string_agg(w.nodename || ':' || w.nodeport || ': ' || w.result, '; ') FILTER (WHERE NOT w.success)
	  INTO n, failed
	  FROM pg_catalog.run_command_on_workers(pg_catalog.format($cmd$
SET citus.enable_ddl_propagation = off;
ALTER TABLE ar.audit_legacy_chain DISABLE TRIGGER audit_legacy_chain_guard;
DELETE FROM ar.audit_legacy_chain;
%s
ALTER TABLE ar.audit_legacy_chain ENABLE TRIGGER audit_legacy_chain_guard$cmd$, coalesce(head, ''))) w;
	IF failed IS NOT NULL THEN
		RAISE EXCEPTION 'the legacy chain''s head could not be written on every worker: %', failed
			USING ERRCODE = 'external_routine_exception',
			      DETAIL = 'The workers named kept their own; call ar.sync_legacy_chain_head() again once they answer.';
	END IF;
	RETURN n;
END $$;
COMMENT ON FUNCTION ar.sync_legacy_chain_head() IS
'On a Citus coordinator: writes its ar.audit_legacy_chain (the head of the trail a 0.1.0 database sealed, from which the company chains start) on every worker, which seal and verify the chains of the companies they hold; returns the number of workers. Called by ar.distribute; call it after adding a worker.';
REVOKE ALL ON FUNCTION ar.sync_legacy_chain_head() FROM PUBLIC;

CREATE PROCEDURE ar.distribute(shard_count integer DEFAULT 32)
LANGUAGE plpgsql AS $$
DECLARE
	plan record;
	drop_keys text[];
	add_keys text[];
	enable_triggers text[];
	statement text;
	refused text[];
	n_distributed integer := 0;
	n_reference integer := 0;
	failed text;
	messages text := pg_catalog.current_setting('client_min_messages');
BEGIN
	PERFORM ar._distribute_step();
	-- 1. what is checked before anything changes
	IF shard_count IS NULL OR shard_count NOT BETWEEN 1 AND 64000 THEN
		RAISE EXCEPTION 'shard_count must be between 1 and 64000, not %', coalesce(shard_count::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
	   AND NOT EXISTS (SELECT FROM pg_catalog.pg_extension e
	                    WHERE e.extname = 'ar_collect' AND e.extowner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)) THEN
		RAISE EXCEPTION 'permission denied to distribute the database'
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Only a superuser or the owner of the extension ar_collect may call ar.distribute; nothing was changed.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'citus') THEN
		RAISE EXCEPTION 'ar.distribute needs Citus'
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = format('The extension citus is not created in database %I; nothing was changed.', current_database()),
			      HINT = 'On a Citus coordinator (shared_preload_libraries = ''citus,ar_collect''): CREATE EXTENSION citus, add the workers, then CALL ar.distribute(). See doc/scale_out.md.';
	END IF;
	IF ar._on_citus_worker_node() THEN
		RAISE EXCEPTION 'ar.distribute runs on the Citus coordinator, not on a worker'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'This node is a Citus worker (its group is not 0); nothing was changed.';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_node n
	                WHERE n.groupid <> 0 AND n.isactive AND n.noderole = 'primary' AND n.shouldhaveshards) THEN
		RAISE EXCEPTION 'ar.distribute needs a Citus worker'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'The coordinator has no active worker to hold the shards; nothing was changed.',
			      HINT = 'Add the workers first: SELECT citus_add_node(host, port).';
	END IF;
	SELECT array_agg(pg_catalog.format('ar.%I', c.relname) ORDER BY c.relname) INTO refused
	  FROM pg_catalog.pg_dist_partition p JOIN pg_catalog.pg_class c ON c.oid = p.logicalrelid
	 WHERE p.logicalrelid IN (SELECT x.table_name FROM ar._distribute_plan() x);
	IF refused IS NOT NULL THEN
		RAISE EXCEPTION 'the database is already distributed'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('These tables of ar_collect are Citus tables already: %s; nothing was changed.', array_to_string(refused, ', '));
	END IF;
	IF NOT (SELECT r.rolcanlogin FROM pg_catalog.pg_roles r WHERE r.rolname = 'ar_definer') THEN
		RAISE EXCEPTION 'ar.distribute needs ar_definer to log in between the nodes'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'The SECURITY DEFINER functions run as ar_definer, and Citus connects to the workers as the current role; ar_definer cannot log in; nothing was changed.',
			      HINT = 'ALTER ROLE ar_definer LOGIN CONNECTION LIMIT -1, with pg_hba.conf letting it in from the nodes'' addresses only (and its password in pg_dist_authinfo): doc/scale_out.md.';
	END IF;
	IF ar._in_transaction_block() THEN
		RAISE EXCEPTION 'ar.distribute cannot run inside a transaction block'
			USING ERRCODE = 'active_sql_transaction',
			      DETAIL = 'It commits after each table (Citus copies the rows of one table per transaction); nothing was changed.',
			      HINT = 'CALL ar.distribute() on its own, outside BEGIN ... COMMIT.';
	END IF;
	-- (a CALL from a function, whose COMMIT would fail, fails here)
	COMMIT;
	PERFORM ar._distribute_step();

	-- 2. the foreign keys between tables of ar dropped on every node (the
	-- workers hold the tables too, from CREATE EXTENSION: Citus makes each
	-- worker's own table the shell of the distributed one, keys included),
	-- their definitions kept; the memberships read by the policies inside
	-- the shard queries (doc/scale_out.md, blocker 1)
	SELECT array_agg(format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) ORDER BY c.conrelid::regclass::text, c.conname),
	       array_agg(format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_catalog.pg_get_constraintdef(c.oid))
	                 ORDER BY c.conrelid::regclass::text, c.conname)
	  INTO drop_keys, add_keys
	  FROM pg_catalog.pg_constraint c
	 WHERE c.contype = 'f' AND c.connamespace = 'ar'::regnamespace;
	PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
	FOREACH statement IN ARRAY coalesce(drop_keys, '{}') LOOP
		EXECUTE statement;
	END LOOP;
	ALTER FUNCTION ar._access() SET citus.allow_nested_distributed_execution = on;
	SELECT string_agg(w.nodename || ':' || w.nodeport || ': ' || w.result, '; ') INTO failed
	  FROM pg_catalog.run_command_on_workers($cmd$
SET citus.enable_ddl_propagation = off;
DO $do$ DECLARE r record; BEGIN
	FOR r IN SELECT conrelid::regclass AS tbl, conname FROM pg_catalog.pg_constraint
	          WHERE contype = 'f' AND connamespace = 'ar'::regnamespace LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
	END LOOP; END $do$;
ALTER FUNCTION ar._access() SET citus.allow_nested_distributed_execution = on$cmd$) w
	 WHERE NOT w.success;
	IF failed IS NOT NULL THEN
		RAISE EXCEPTION 'ar.distribute could not drop the foreign keys on the workers: %', failed
			USING ERRCODE = 'external_routine_exception',
			      DETAIL = 'Nothing was distributed and the coordinator''s keys are kept; the workers named here kept theirs, the others dropped their own copies'' (unused there until the tables are distributed): CALL ar.distribute() again once every worker answers (doc/scale_out.md, "How to distribute").';
	END IF;
	-- the legacy chain's head on every worker, before any of them seals
	PERFORM ar.sync_legacy_chain_head();
	COMMIT;
	PERFORM ar._distribute_step();

	-- 3. every table's triggers off while Citus copies its rows into the
	-- shards: what they derive (open amounts, summaries, audit rows) is in
	-- the rows already, and Citus's copy is no change of them (with the
	-- triggers on, each invoice's open amount was reset and the audit
	-- triggers wrote the copy into the trail)
	SELECT array_agg(format('ALTER TABLE %s ENABLE %s TRIGGER %I', g.tgrelid::regclass,
	                        CASE g.tgenabled WHEN 'A' THEN 'ALWAYS' WHEN 'R' THEN 'REPLICA' ELSE '' END, g.tgname)
	                 ORDER BY g.tgrelid::regclass::text, g.tgname) INTO enable_triggers
	  FROM pg_catalog.pg_trigger g
	 WHERE g.tgrelid IN (SELECT x.table_name FROM ar._distribute_plan() x WHERE x.kind <> 'local')
	   AND NOT g.tgisinternal AND g.tgenabled <> 'D';
	FOR plan IN SELECT * FROM ar._distribute_plan() x WHERE x.kind <> 'local' LOOP
		EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', plan.table_name);
	END LOOP;
	COMMIT;
	PERFORM ar._distribute_step();

	-- 4. the reference tables, then ar.customer and the company tables
	-- co-located with it: one table per transaction
	FOR plan IN SELECT * FROM ar._distribute_plan() x WHERE x.kind = 'reference' LOOP
		PERFORM pg_catalog.create_reference_table(plan.table_name);
		n_reference := n_reference + 1;
		COMMIT;
		PERFORM ar._distribute_step();
	END LOOP;
	PERFORM pg_catalog.create_distributed_table('ar.customer', 'company_id', shard_count => shard_count);
	n_distributed := 1;
	COMMIT;
	PERFORM ar._distribute_step();
	FOR plan IN SELECT * FROM ar._distribute_plan() x WHERE x.kind = 'distributed' AND x.table_name <> 'ar.customer'::regclass LOOP
		PERFORM pg_catalog.create_distributed_table(plan.table_name, 'company_id', colocate_with => 'ar.customer');
		n_distributed := n_distributed + 1;
		COMMIT;
		PERFORM ar._distribute_step();
	END LOOP;

	-- 5. the triggers on again as they were (propagated to every shard),
	-- one statement each
	FOREACH statement IN ARRAY coalesce(enable_triggers, '{}') LOOP
		EXECUTE statement;
		COMMIT;
		PERFORM ar._distribute_step();
	END LOOP;

	-- 6. the foreign keys added back (created on every shard): each is
	-- between two Citus tables or two local ones (ar._distribute_plan never
	-- leaves a key between a local table and a Citus one:
	-- test/pgtap/distribute_plan.sql)
	FOREACH statement IN ARRAY coalesce(add_keys, '{}') LOOP
		EXECUTE statement;
		COMMIT;
		PERFORM ar._distribute_step();
	END LOOP;

	-- 7. each worker's identity sequences moved to a range of its own, from
	-- its group id times 2^48 (the rule Citus applies to the sequences it
	-- distributes itself): rows inserted through different nodes get
	-- distinct ids (the coordinator, group 0, keeps its range)
	SELECT string_agg(w.nodename || ':' || w.nodeport || ': ' || w.result, '; ') INTO failed
	  FROM pg_catalog.run_command_on_workers($cmd$
	SELECT count(pg_catalog.setval(s.seq, greatest(s.last, g.groupid::bigint << 48), s.last >= g.groupid::bigint << 48))
	  FROM (SELECT q.seq, coalesce(p.last_value, 0) AS last
	          FROM (SELECT pg_catalog.pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass AS seq
	                  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
	                 WHERE c.relnamespace = 'ar'::regnamespace AND a.attidentity <> '' AND NOT a.attisdropped
	                   AND a.atttypid = 'bigint'::regtype) q
	          JOIN pg_catalog.pg_sequences p ON format('%I.%I', p.schemaname, p.sequencename)::regclass = q.seq) s,
	       pg_catalog.pg_dist_local_group g$cmd$) w
	 WHERE NOT w.success;
	IF failed IS NOT NULL THEN
		RAISE EXCEPTION 'ar.distribute could not move the workers'' identity sequences: %', failed
			USING ERRCODE = 'external_routine_exception',
			      DETAIL = 'Every table is distributed; rows inserted through a worker may reuse ids until the sequences are moved (doc/scale_out.md, "How to distribute").';
	END IF;

	-- 8. the dunning run's per-company work a distributed function
	-- co-located with the ledger by its company: Citus delegates a call of
	-- it to the node holding the company, where it runs on the local shards
	-- (issue 14: no per-company statements routed from the coordinator)
	PERFORM pg_catalog.create_distributed_function('ar._run_dunning_company(bigint, bigint[], date, boolean, boolean, jsonb)',
	                                               'company', colocate_with => 'ar.customer');
	PERFORM pg_catalog.set_config('client_min_messages', messages, true);
	RAISE NOTICE 'ar_collect distributed by company_id: % tables distributed (% shards, co-located with ar.customer), % reference tables, % kept on each node (ar._distribute_plan())',
		n_distributed, shard_count, n_reference, (SELECT count(*) FROM ar._distribute_plan() x WHERE x.kind = 'local');
END $$;
COMMENT ON PROCEDURE ar.distribute(integer) IS
'CALL ar.distribute(shard_count): on a Citus coordinator with workers, distributes every company table of ar by company_id (co-located with ar.customer), the shared tables as reference tables, the rows already there copied as they are; refuses before changing anything without Citus, on a worker, without a worker, inside a transaction block, once distributed (doc/scale_out.md).';
REVOKE ALL ON PROCEDURE ar.distribute(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ar._in_transaction_block() FROM PUBLIC;
