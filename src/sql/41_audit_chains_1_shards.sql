-- ---------------------------------------------------------------------------
-- The audit trail distributed with the ledger (Citus, issue 14; doc/audit.md,
-- doc/scale_out.md blocker 8): ar.audit_log and ar.audit_seal distributed by
-- company_id, co-located with ar.invoice.  A trigger firing on a shard of an
-- audited table writes each row into the local shard of ar.audit_log that
-- holds the row's company, within the shard's own transaction on that node
-- (from a shard, a query may reach co-located shards only); the seal at that
-- node's commit chains the rows of each shard it wrote, per company, into the
-- co-located shard of ar.audit_seal.  A company's whole trail is so where its
-- ledger is, and moves with it.  A row of a reference table (ar.company, the
-- rules) is written on every node holding a placement: the node holding the
-- company's audit shard (company 0, shared configuration's, for the rules)
-- audits it, the others skip it.  Without Citus, or with the trail left on
-- the nodes (ar._audit_trail_on_nodes()), nothing here changes a write.
-- ---------------------------------------------------------------------------

-- Whether ar.audit_log is distributed with the ledger (co-located with
-- ar.invoice by company_id).
CREATE OR REPLACE FUNCTION ar._audit_trail_distributed() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN ar._ledger_distributed() AND ar._colocated_with_ledger(ARRAY['ar.audit_log'::regclass, 'ar.audit_seal'::regclass]);
END $$;

-- The shard of target co-located with the shard fired_on of table logical
-- on this node (Citus: the shards of co-located tables with the same hash
-- range), NULL when there is none here.  (Citus's catalog named in EXECUTE:
-- ar_collect installs without it.  The shards compared by oid: a session
-- on a worker that is not Citus's own does not see them in pg_class.)
CREATE OR REPLACE FUNCTION ar._colocated_shard(fired_on regclass, logical regclass, target regclass) RETURNS regclass
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	shard regclass;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_shard') IS NOT NULL THEN
		EXECUTE $q$SELECT to_regclass(pg_catalog.shard_name(t.logicalrelid, t.shardid))
		             FROM pg_catalog.pg_dist_shard s
		             JOIN pg_catalog.pg_dist_shard t
		               ON t.logicalrelid = $3
		              AND (t.shardminvalue = s.shardminvalue OR t.shardminvalue IS NULL AND t.shardmaxvalue IS NULL)
		            WHERE s.logicalrelid = $2
		              AND to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid)) = $1$q$
		   INTO shard USING fired_on, logical, target;
	END IF;
	RETURN shard;
END $$;

-- Where a trigger firing on the shard fired_on writes the audit rows of
-- company: on a trail left on the nodes, this node's ar.audit_log; on a
-- distributed trail, the shard of ar.audit_log holding the company when it
-- is on this node, else NULL for a placement of a reference table (the node
-- holding that shard audits the row); a shard of a distributed table whose
-- company's audit shard is elsewhere is an error (the trail not co-located
-- with it), never a row lost.
CREATE OR REPLACE FUNCTION ar._audit_log_shard(fired_on regclass, company_id bigint) RETURNS regclass
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	shard regclass;
	reference boolean;
	logical regclass;
BEGIN
	IF NOT ar._audit_trail_distributed() THEN
		RETURN 'ar.audit_log'::regclass;
	END IF;
	EXECUTE $q$SELECT to_regclass(pg_catalog.shard_name('ar.audit_log'::regclass,
	                   pg_catalog.get_shard_id_for_distribution_column('ar.audit_log'::regclass, $1)))$q$
	   INTO shard USING company_id;
	IF shard IS NULL THEN
		logical := to_regclass(format('ar.%I', ar._logical_table_name(fired_on)));
		EXECUTE $q$SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p
		                           WHERE p.logicalrelid = $1 AND p.partmethod = 'n')$q$
		   INTO reference USING logical;
		IF NOT reference THEN
			RAISE EXCEPTION 'the audit rows of % cannot be written from %', logical, fired_on
				USING ERRCODE = 'feature_not_supported',
				      DETAIL = format('The audit trail of company %s is not on this node: %s is not co-located with ar.audit_log; nothing was written.',
				                      company_id, logical),
				      HINT = 'Distribute the ledger''s tables and ar.audit_log co-located by company_id (doc/scale_out.md).';
		END IF;
	END IF;
	RETURN shard;
END $$;

-- The shards of ar.audit_log written on this node by this transaction, for
-- the seal at commit: kept in the backend (src/xact_state.c), where the
-- caller cannot clear them before COMMIT to leave its rows unsealed.
CREATE OR REPLACE FUNCTION ar._audit_shard_written(log_rel regclass) RETURNS void
LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'ar_audit_shard_written';
CREATE OR REPLACE FUNCTION ar._audit_shards_written() RETURNS regclass[]
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'ar_audit_shards_written';

-- One audit row, from the row trigger (ar._audit_row(), src/audit.c) firing
-- on the shard fired_on of table audited: into the audit shard of its
-- company (ar._audit_log_shard; skipped on a reference table's placement
-- whose company's trail is elsewhere), registered for the seal at commit.
-- (Run as the extension's owner: the C trigger switched to it.)
CREATE OR REPLACE FUNCTION ar._audit_row_on_shard(fired_on regclass, audited text, operation text,
                                                  old_row jsonb, new_row jsonb, company_id bigint)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	company bigint := coalesce(company_id, ar._audit_company(audited, coalesce(new_row, old_row)));
	target regclass := ar._audit_log_shard(fired_on, company);
BEGIN
	IF target IS NULL THEN
		RETURN;
	END IF;
	-- (a shard has no identity of its own: the id from this node's sequence
	-- of ar.audit_log, in its own range, tools/citus_lib.sh)
	EXECUTE format('INSERT INTO %s (id, table_name, operation, row_id, old_row, new_row, company_id)
	                VALUES (nextval(pg_get_serial_sequence(''ar.audit_log'', ''id'')),
	                        $1, $2, (coalesce($4, $3) ->> ''id'')::bigint, $3, $4, $5)', target)
	  USING audited, operation, old_row, new_row, company;
	IF target <> 'ar.audit_log'::regclass THEN
		PERFORM ar._audit_shard_written(target);
	END IF;
	PERFORM ar._audit_request_seal();
END $$;

-- The seal at commit of the rows this transaction wrote into the audit
-- shard log_rel on this node: for each company, one seal after that
-- company's last in the co-located shard of ar.audit_seal, as
-- ar._audit_seal() does on one node (the locks of the companies taken
-- first, in key order).  Dynamic, as the summaries' fold of a shard: one
-- node keeps its static statements.
CREATE OR REPLACE FUNCTION ar._audit_seal_shard(log_rel regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off AS $$
DECLARE
	seal_rel regclass := ar._colocated_shard(log_rel, 'ar.audit_log', 'ar.audit_seal');
	me xid8 := pg_current_xact_id();
	companies bigint[];
	k bigint;
	c bigint;
	after_id bigint;
	legacy bigint := ar._audit_legacy_seq();
	s ar.audit_seal;
	hashed bigint;
BEGIN
	IF seal_rel IS NULL THEN
		RAISE EXCEPTION 'the audit rows of % cannot be sealed on this node', log_rel
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = 'ar.audit_seal has no shard co-located with it here.',
			      HINT = 'Distribute ar.audit_seal co-located with ar.audit_log (doc/scale_out.md).';
	END IF;
	EXECUTE format('SELECT coalesce(max(x.last_id), 0) FROM %s x WHERE x.txid = $1', seal_rel) INTO after_id USING me;
	EXECUTE format('SELECT array_agg(DISTINCT a.company_id ORDER BY a.company_id) FROM %s a
	                 WHERE a.txid = $1 AND a.id > $2 AND a.seq IS NULL', log_rel)
	   INTO companies USING me, after_id;
	-- each company's chain locked (ar.lock_slot), in company order: two
	-- transactions writing the same companies cannot deadlock
	FOR k IN SELECT DISTINCT u.c FROM unnest(companies) u(c) ORDER BY 1 LOOP
		PERFORM ar._take_lock('audit_chain', k);
	END LOOP;
	FOREACH c IN ARRAY coalesce(companies, '{}') LOOP
		s := NULL;
		EXECUTE format('SELECT x.seq, x.seal_hash FROM %s x WHERE x.company_id = $1 ORDER BY x.seq DESC LIMIT 1', seal_rel)
		   INTO s.seq, s.prev_hash USING c;
		IF s.seq IS NULL THEN
			s.seq := legacy;
			s.prev_hash := ar.audit_genesis_hash(c);
		END IF;
		s.seq := s.seq + 1;
		s.company_id := c;
		s.txid := me;
		s.sealed_at := clock_timestamp();
		EXECUTE format('SELECT count(*), count(a.row_hash), min(a.id), max(a.id), sha256(string_agg(a.row_hash, ''''::bytea ORDER BY a.id))
		                  FROM %s a WHERE a.txid = $1 AND a.company_id = $2 AND a.id > $3 AND a.seq IS NULL', log_rel)
		   INTO s.row_count, hashed, s.first_id, s.last_id, s.rows_hash USING me, c, after_id;
		IF hashed <> s.row_count THEN
			RAISE EXCEPTION 'audit rows without their hash cannot be sealed'
				USING ERRCODE = 'data_corrupted',
				      DETAIL = format('%s of the %s rows of transaction %s in %s.', s.row_count - hashed, s.row_count, me, log_rel);
		END IF;
		s.seal_hash := ar.audit_seal_hash(s, s.prev_hash);
		IF current_setting('transaction_isolation') = 'read committed' THEN
			EXECUTE format('INSERT INTO %s SELECT ($1).*', seal_rel) USING s;
		ELSE
			BEGIN   -- (a stale chain head: ar._audit_seal_conflict says why)
				EXECUTE format('INSERT INTO %s SELECT ($1).*', seal_rel) USING s;
			EXCEPTION WHEN unique_violation THEN
				PERFORM ar._audit_seal_conflict(c);
			END;
		END IF;
	END LOOP;
END $$;

REVOKE ALL ON FUNCTION ar._audit_trail_distributed(), ar._colocated_shard(regclass, regclass, regclass),
                       ar._audit_log_shard(regclass, bigint), ar._audit_shard_written(regclass), ar._audit_shards_written(),
                       ar._audit_row_on_shard(regclass, text, text, jsonb, jsonb, bigint), ar._audit_seal_shard(regclass)
	FROM PUBLIC;
