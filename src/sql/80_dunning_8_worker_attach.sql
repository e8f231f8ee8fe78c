-- ---------------------------------------------------------------------------
-- The background worker attaching to its database (80_dunning_8_worker.sql;
-- src/worker.c): one worker per database, and none on a Citus worker node.
-- Also the upgrade's piece (src/upgrade/0.1.0--0.2.0/61_worker_attach.sql is
-- this file).
-- ---------------------------------------------------------------------------

-- Whether this database is on a Citus worker node: Citus is installed and
-- the node's group is not the coordinator's (0).  A node outside any
-- cluster, or its coordinator, is not one.
CREATE OR REPLACE FUNCTION ar._on_citus_worker_node() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	group_id integer;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_local_group') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT groupid FROM pg_catalog.pg_dist_local_group' INTO group_id;
	RETURN coalesce(group_id, 0) <> 0;
END $$;

-- The worker starts serving the database: one worker per database, the
-- one whose pid ar.worker_state holds while that process runs (the row
-- locked meanwhile: two workers starting together attach one after the
-- other; not an advisory lock, which any role could take first and hold,
-- and then no worker would serve the database); runs left "running" by a
-- previous process that died are marked failed.  Returns 1, 0 when another worker serves it, or
-- -1 on a Citus worker node (doc/scale_out.md): there the extension comes
-- from the coordinator, whose worker runs the work of the whole cluster; a
-- worker node's own would run it a second time.
CREATE OR REPLACE FUNCTION ar._worker_attach(naptime integer, dunning_at text, enabled boolean) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF ar._on_citus_worker_node() THEN
		RETURN -1;
	END IF;
	INSERT INTO ar.worker_state AS s (id) VALUES (true) ON CONFLICT (id) DO NOTHING;
	PERFORM FROM ar.worker_state s FOR UPDATE;
	IF EXISTS (SELECT FROM ar.worker_state s JOIN pg_stat_activity a ON a.pid = s.pid
	            WHERE a.pid <> pg_backend_pid() AND a.backend_type = 'ar_collect worker'
	              AND a.datname = current_database()) THEN
		RETURN 0;
	END IF;
	UPDATE ar.worker_run r
	   SET status = 'failed', finished_at = now(),
	       error = format('the worker (pid %s) stopped before the end of the run: crash, kill or shutdown; nothing of the run was kept', r.pid)
	 WHERE r.status = 'running';
	INSERT INTO ar.worker_state AS s (id, pid, backend_start, attached_at, naptime, dunning_at, enabled)
	SELECT true, pg_backend_pid(), a.backend_start, now(), _worker_attach.naptime, _worker_attach.dunning_at,
	       _worker_attach.enabled
	  FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()
	ON CONFLICT (id) DO UPDATE
	   SET pid = EXCLUDED.pid, backend_start = EXCLUDED.backend_start, attached_at = EXCLUDED.attached_at,
	       naptime = EXCLUDED.naptime, dunning_at = EXCLUDED.dunning_at, enabled = EXCLUDED.enabled;
	RETURN 1;
END $$;

REVOKE ALL ON FUNCTION ar._on_citus_worker_node() FROM PUBLIC;
