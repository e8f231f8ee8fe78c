-- ---------------------------------------------------------------------------
-- Dunning effectiveness summary (issue 17, doc/dashboards.md): what
-- ar.dunning_effectiveness (74_dunning_effectiveness.sql; part of ar.kpis)
-- computes per notice, kept as the ledger changes, so that ar.kpis on any
-- date reads a few rows per day instead of every notice of the period and,
-- for each, the allocations of its invoices in the 15 days after it.
--
--   ar.dunning_effect_notice   one row per notice that counts (not failed
--                              or cancelled, amount_due > 0): its company,
--                              level, date, amount due and paid within 15
--                              days (least(sum of the allocations other
--                              than write-offs of its invoices dated in
--                              (as_of, as_of + 15], amount_due): the full
--                              computation's expression);
--   ar.dunning_effect_summary  the same summed per company, notice date,
--                              level and the scales of the two amounts (so
--                              that the sums come back at the scale the full
--                              computation's sums have).
--
-- The paid amount of a notice depends on the notice (inserted; its status,
-- the only column that may change, ar._dunning_notice_guard) and on the
-- allocations of its invoices (inserted or deleted: they are immutable,
-- ar._allocation_maintain).  Statement triggers on both tables record what
-- changed (notice ids; invoice ids and dates of allocations) in
-- ar.dunning_effect_delta; at commit (ar._summary_fold_at_commit, with the
-- other summaries) the notices concerned are recomputed from the ledger as
-- that commit sees it, their old rows replaced and the difference added to
-- the per-day summary.  A notice and an allocation of one of its invoices
-- written by two transactions at the same time cannot see each other before
-- their commits, so the folds run one at a time (a lock of ar.lock_slot, held
-- until the commit ends): the later one recomputes from a ledger where the
-- earlier one is committed.  The lock is tried, never waited for (the
-- commits also take the audit chains' locks, in an order the triggers
-- decide: waiting could deadlock): a commit that finds another folding
-- leaves its changes committed in ar.dunning_effect_delta for the next fold,
-- at a later commit or at the worker's next cycle.  The result does not
-- depend on the date asked for (the window follows each notice), so the
-- summary serves every date; only a caller that sees changes not folded yet
-- (its own transaction's, those a commit left, those of a REPEATABLE READ
-- transaction) gets the full computation.
--
-- src/upgrade/0.1.0--0.2.0/91_kpi_summary_dunning.sql is this piece (a
-- symbolic link).
-- ---------------------------------------------------------------------------

-- (company_id names a company without a foreign key, whose check ran a
-- query per row: 100,000 at the commit of a dunning run; the same rules,
-- checked per statement and company, are ar._dunning_effect_notice_company
-- and the triggers of ar.company below)
CREATE TABLE ar.dunning_effect_notice (
	company_id  bigint NOT NULL,
	notice_id   bigint NOT NULL,
	level       integer NOT NULL,
	as_of       date NOT NULL,
	amount_due  numeric NOT NULL,
	paid        numeric NOT NULL,
	PRIMARY KEY (company_id, notice_id)
);
COMMENT ON TABLE ar.dunning_effect_notice IS
'Per dunning notice that counts for ar.dunning_effectiveness (not failed or cancelled, amount_due > 0): the part of it paid within 15 days; maintained at the commit of the changes of ar.dunning_notice and ar.allocation (doc/dashboards.md).';
COMMENT ON COLUMN ar.dunning_effect_notice.company_id IS 'Company of the notice.';
COMMENT ON COLUMN ar.dunning_effect_notice.notice_id IS 'ar.dunning_notice.id';
COMMENT ON COLUMN ar.dunning_effect_notice.level IS 'Level of the notice.';
COMMENT ON COLUMN ar.dunning_effect_notice.as_of IS 'Date of the notice (its run date).';
COMMENT ON COLUMN ar.dunning_effect_notice.amount_due IS 'What the notice claims.';
COMMENT ON COLUMN ar.dunning_effect_notice.paid IS
'least(sum of the allocations other than write-offs (methods write_off, shortfall) of its invoices dated in (as_of, as_of + 15], amount_due).';

CREATE TABLE ar.dunning_effect_summary (
	company_id  bigint NOT NULL REFERENCES ar.company ON DELETE CASCADE,
	as_of       date NOT NULL,
	level       integer NOT NULL,
	due_scale   integer NOT NULL,
	paid_scale  integer NOT NULL,
	notices     bigint NOT NULL,
	amount_due  numeric NOT NULL,
	paid        numeric NOT NULL,
	PRIMARY KEY (company_id, as_of, level, due_scale, paid_scale)
);
COMMENT ON TABLE ar.dunning_effect_summary IS
'ar.dunning_effect_notice summed per company, notice date, level and scales: what ar.dunning_effectiveness reads; rows without notices are removed.';
COMMENT ON COLUMN ar.dunning_effect_summary.company_id IS 'Company of the notices.';
COMMENT ON COLUMN ar.dunning_effect_summary.as_of IS 'Date of the notices.';
COMMENT ON COLUMN ar.dunning_effect_summary.level IS 'Their level.';
COMMENT ON COLUMN ar.dunning_effect_summary.due_scale IS 'scale(amount_due) of the notices.';
COMMENT ON COLUMN ar.dunning_effect_summary.paid_scale IS 'scale(paid) of the notices.';
COMMENT ON COLUMN ar.dunning_effect_summary.notices IS 'How many notices the row sums.';
COMMENT ON COLUMN ar.dunning_effect_summary.amount_due IS 'Sum of their amounts due.';
COMMENT ON COLUMN ar.dunning_effect_summary.paid IS 'Sum of their amounts paid within 15 days.';

-- What changed and is not folded yet: notices (notice_ids; for notices
-- inserted, their level, date and amount due pairwise, which the fold then
-- need not read back) and allocations other than write-offs (invoice_ids
-- with allocated_on, pairwise), one row per statement and company.
CREATE TABLE ar.dunning_effect_delta (
	company_id    bigint NOT NULL,
	id            bigint GENERATED ALWAYS AS IDENTITY,
	notice_ids    bigint[],
	invoice_ids   bigint[],
	allocated_on  date[],
	txid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
	notice_levels integer[],
	notice_as_of  date[],
	notice_amounts_due numeric[],
	PRIMARY KEY (company_id, id)
);
COMMENT ON TABLE ar.dunning_effect_delta IS
'Changes of ar.dunning_notice and ar.allocation that the effectiveness summary (ar.dunning_effect_notice, ar.dunning_effect_summary) does not hold yet: folded at the commit that wrote them; a reader that sees one takes the full computation.';
COMMENT ON COLUMN ar.dunning_effect_delta.company_id IS 'Company of the notices or allocations.';
COMMENT ON COLUMN ar.dunning_effect_delta.id IS 'Row number.';
COMMENT ON COLUMN ar.dunning_effect_delta.notice_ids IS 'Notices inserted or changed.';
COMMENT ON COLUMN ar.dunning_effect_delta.invoice_ids IS 'Invoices of the allocations inserted or deleted (other than write-offs).';
COMMENT ON COLUMN ar.dunning_effect_delta.allocated_on IS 'Their dates, pairwise with invoice_ids.';
COMMENT ON COLUMN ar.dunning_effect_delta.txid IS 'The transaction that wrote it.';
COMMENT ON COLUMN ar.dunning_effect_delta.notice_levels IS 'Levels of the notices inserted, pairwise with notice_ids (NULL for notices changed).';
COMMENT ON COLUMN ar.dunning_effect_delta.notice_as_of IS 'Their dates, pairwise with notice_ids.';
COMMENT ON COLUMN ar.dunning_effect_delta.notice_amounts_due IS 'Their amounts due, pairwise with notice_ids.';

-- The notices whose paid amount the changes may move: those named (joined
-- with their ids: a dunning run names 100,000, which a filter = ANY would
-- look up in an array for every notice of the outbox), and those listing
-- one of the invoices with the allocation's date in their window (notices
-- dated in [date - 15, date), read through the notices' BRIN index on as_of).
CREATE FUNCTION ar._dunning_effect_affected(changed_notices bigint[], changed_invoices bigint[], changed_on date[])
RETURNS TABLE (company_id bigint, notice_id bigint)
LANGUAGE sql STABLE AS $$
	SELECT n.company_id, n.id FROM ar.dunning_notice n WHERE n.id IN (SELECT unnest(changed_notices)) /*and company n*/
	UNION
	SELECT n.company_id, n.id
	  FROM (SELECT DISTINCT e.invoice_id, e.allocated_on
	          FROM unnest(changed_invoices, changed_on) e (invoice_id, allocated_on)) e
	  JOIN (SELECT n.company_id, n.id, n.as_of, u.invoice_id
	          FROM ar.dunning_notice n
	         CROSS JOIN LATERAL unnest(n.invoice_ids) u (invoice_id)
	         WHERE n.as_of >= (SELECT min(d) - 15 FROM unnest(changed_on) d)
	           AND n.as_of < (SELECT max(d) FROM unnest(changed_on) d) /*and company n*/) n
	    ON n.invoice_id = e.invoice_id AND e.allocated_on > n.as_of AND e.allocated_on <= n.as_of + 15
$$;

-- The rows of ar.dunning_effect_notice from the ledger, of every notice
-- that counts: the paid amount is the full computation's expression.
CREATE FUNCTION ar._dunning_effect_expected()
RETURNS TABLE (company_id bigint, notice_id bigint, level integer, as_of date, amount_due numeric, paid numeric)
LANGUAGE sql STABLE AS $$
	SELECT n.company_id, n.id, n.level, n.as_of, n.amount_due, p.paid
	  FROM ar.dunning_notice n
	 CROSS JOIN LATERAL (
	       SELECT least(coalesce(sum(a.amount), 0), n.amount_due) AS paid
	         FROM ar.allocation a
	        WHERE a.invoice_id = ANY (n.invoice_ids)
	          AND a.allocated_on > n.as_of AND a.allocated_on <= n.as_of + 15
	          AND a.method NOT IN ('write_off', 'shortfall') /*and company a*/) p
	 WHERE n.status NOT IN ('failed', 'cancelled') AND n.amount_due > 0 /*and company n*/
$$;

-- The same of the notices given, or of every notice (NULL); when no
-- allocation at all is dated in the windows of the notices (a dunning run
-- queuing today's), the paid amount is that of no allocation, without
-- reading their invoices' allocations.  The notices are read once, joined
-- with their ids (a run's 100,000 at its commit), their columns kept in
-- arrays for that case.
CREATE FUNCTION ar._dunning_effect_compute(notice_ids bigint[])
RETURNS TABLE (company_id bigint, notice_id bigint, level integer, as_of date, amount_due numeric, paid numeric)
LANGUAGE plpgsql STABLE SET jit = off AS $$
#variable_conflict use_column
DECLARE
	ids bigint[] := notice_ids;
	lo date;
	hi date;
	n_company bigint[];
	n_id bigint[];
	n_level integer[];
	n_as_of date[];
	n_due numeric[];
BEGIN
	IF ids IS NULL THEN
		ids := ARRAY(SELECT n.id FROM ar.dunning_notice n WHERE n.status NOT IN ('failed', 'cancelled') AND n.amount_due > 0);
	END IF;
	SELECT array_agg(n.company_id), array_agg(n.id), array_agg(n.level), array_agg(n.as_of), array_agg(n.amount_due),
	       min(n.as_of), max(n.as_of) + 15
	  INTO n_company, n_id, n_level, n_as_of, n_due, lo, hi
	  FROM ar.dunning_notice n
	 WHERE n.id IN (SELECT unnest(ids)) AND n.status NOT IN ('failed', 'cancelled') AND n.amount_due > 0;
	IF lo IS NULL THEN
		RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM ar.allocation a WHERE a.allocated_on > lo AND a.allocated_on <= hi) THEN
		RETURN QUERY
		-- (paid: the full computation's least(coalesce(sum(), 0), amount_due)
		-- of no allocation, amount_due > 0: a numeric 0 of scale 0)
		SELECT n.company_id, n.id, n.level, n.as_of, n.amount_due, 0::numeric
		  FROM unnest(n_company, n_id, n_level, n_as_of, n_due) n (company_id, id, level, as_of, amount_due);
		RETURN;
	END IF;
	RETURN QUERY SELECT e.* FROM ar._dunning_effect_expected() e WHERE e.notice_id IN (SELECT unnest(ids));
END $$;

-- Folds the changes waiting in ar.dunning_effect_delta that this
-- transaction sees: the notices concerned recomputed, their old rows
-- replaced, the difference added to the per-day summary in key order.
-- Under the fold's lock (ar._dunning_effect_fold_if_free): one
-- fold at a time, each in statements whose snapshots see every fold
-- committed before.  When only notices inserted wait (a dunning run's
-- commit) and no allocation is dated in their windows, their rows are
-- the delta's figures with nothing paid, the notices not read again (the
-- figures are theirs at commit: a notice's level, date and amount never
-- change, a change of its status waits in a delta row without figures).
CREATE FUNCTION ar._dunning_effect_fold() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	k_notices bigint[];
	k_invoices bigint[];
	k_dates date[];
	k_company bigint[];
	k_id bigint[];
	f_level integer[];
	f_as_of date[];
	f_due numeric[];
	figures boolean;
	lo date;
	hi date;
	o_company bigint[];
	o_as_of date[];
	o_level integer[];
	o_due numeric[];
	o_paid numeric[];
	zero tid[];
BEGIN
	WITH gone AS (
		DELETE FROM ar.dunning_effect_delta x
		RETURNING x.company_id, x.notice_ids, x.invoice_ids, x.allocated_on, x.notice_levels, x.notice_as_of, x.notice_amounts_due)
	SELECT f.ids, p.invoice_ids, p.allocated_on, f.companies, f.levels, f.as_ofs, f.dues, f.figures, f.lo, f.hi
	  INTO k_notices, k_invoices, k_dates, k_company, f_level, f_as_of, f_due, figures, lo, hi
	  FROM (SELECT array_agg(u.i) AS invoice_ids, array_agg(u.d) AS allocated_on
	          FROM gone g, unnest(g.invoice_ids, g.allocated_on) u (i, d)) p,
	       -- (in key order: the order of the inserts below)
	       (SELECT array_agg(n.id) AS ids, array_agg(n.company_id) AS companies, array_agg(n.level) AS levels,
	               array_agg(n.as_of) AS as_ofs, array_agg(n.due) AS dues, bool_and(n.level IS NOT NULL) AS figures,
	               min(n.as_of) AS lo, max(n.as_of) + 15 AS hi
	          FROM (SELECT g.company_id, u.id, u.level, u.as_of, u.due
	                  FROM gone g, unnest(g.notice_ids, g.notice_levels, g.notice_as_of, g.notice_amounts_due) u (id, level, as_of, due)
	                 ORDER BY 1, 2) n) f;
	IF k_notices IS NULL AND k_invoices IS NULL THEN
		RETURN;
	END IF;
	IF k_invoices IS NOT NULL OR NOT figures
	   OR EXISTS (SELECT 1 FROM ar.allocation a WHERE a.allocated_on > lo AND a.allocated_on <= hi) THEN
		f_due := NULL;
		SELECT array_agg(a.company_id ORDER BY a.company_id, a.notice_id), array_agg(a.notice_id ORDER BY a.company_id, a.notice_id)
		  INTO k_company, k_id
		  FROM ar._dunning_effect_affected(k_notices, k_invoices, k_dates) a;
		IF k_id IS NULL THEN
			RETURN;
		END IF;
	ELSE
		k_id := k_notices;
	END IF;
	-- the old rows out first (the new ones take their keys; a notice
	-- inserted may have been folded already, by a fold whose statements saw
	-- it committed after its first statement took the delta rows)
	WITH old AS (
		DELETE FROM ar.dunning_effect_notice s
		 USING unnest(k_company, k_id) k (company_id, notice_id)
		 WHERE s.company_id = k.company_id AND s.notice_id = k.notice_id
		RETURNING s.company_id, s.as_of, s.level, s.amount_due, s.paid)
	SELECT array_agg(o.company_id), array_agg(o.as_of), array_agg(o.level), array_agg(o.amount_due), array_agg(o.paid)
	  INTO o_company, o_as_of, o_level, o_due, o_paid
	  FROM old o;
	WITH new AS (
		INSERT INTO ar.dunning_effect_notice (company_id, notice_id, level, as_of, amount_due, paid)
		SELECT c.* FROM ar._dunning_effect_compute(k_id) c WHERE f_due IS NULL
		UNION ALL
		-- (paid: the full computation's least(coalesce(sum(), 0), due) of no
		-- allocation, due > 0: a numeric 0 of scale 0)
		SELECT f.company_id, f.id, f.level, f.as_of, f.due, 0::numeric
		  FROM unnest(k_company, k_id, f_level, f_as_of, f_due) f (company_id, id, level, as_of, due)
		 WHERE f_due IS NOT NULL
		 ORDER BY 1, 2
		RETURNING *
	), up AS (
		INSERT INTO ar.dunning_effect_summary AS s (company_id, as_of, level, due_scale, paid_scale, notices, amount_due, paid)
		SELECT d.company_id, d.as_of, d.level, scale(d.amount_due), scale(d.paid), sum(d.n), sum(d.amount_due), sum(d.paid)
		  FROM (SELECT n.company_id, n.as_of, n.level, 1 AS n, n.amount_due, n.paid FROM new n
		        UNION ALL
		        SELECT o.company_id, o.as_of, o.level, -1, -o.amount_due, -o.paid
		          FROM unnest(o_company, o_as_of, o_level, o_due, o_paid) o (company_id, as_of, level, amount_due, paid)) d
		 -- a company deleted meanwhile took its rows with it
		 WHERE EXISTS (SELECT FROM ar.company c WHERE c.id = d.company_id)
		 GROUP BY 1, 2, 3, 4, 5
		HAVING sum(d.n) <> 0 OR sum(d.amount_due) <> 0 OR sum(d.paid) <> 0
		 ORDER BY 1, 2, 3, 4, 5
		ON CONFLICT (company_id, as_of, level, due_scale, paid_scale)
		DO UPDATE SET notices = s.notices + EXCLUDED.notices, amount_due = s.amount_due + EXCLUDED.amount_due,
		              paid = s.paid + EXCLUDED.paid
		RETURNING s.ctid, s.notices, s.amount_due, s.paid)
	SELECT array_agg(up.ctid) INTO zero FROM up WHERE up.notices = 0 AND up.amount_due = 0 AND up.paid = 0;
	IF zero IS NOT NULL THEN
		DELETE FROM ar.dunning_effect_summary s WHERE s.ctid = ANY (zero);
	END IF;
END $$;

-- At commit (ar._summary_fold_at_commit) and at each cycle of the worker
-- (ar._worker_age_summaries): folds what waits, unless another transaction
-- holds the fold's lock (then that is left for the next fold).  In READ
-- COMMITTED only: the fold's statements must see what committed before.
CREATE FUNCTION ar._dunning_effect_fold_if_free() RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed'
	   OR NOT EXISTS (SELECT 1 FROM ar.dunning_effect_delta)
	   OR NOT ar._take_lock('dunning_effect_fold', wait => false) THEN
		RETURN false;
	END IF;
	PERFORM ar._dunning_effect_fold();
	RETURN true;
END $$;

-- The same on a Citus worker (doc/scale_out.md, blocker 6): the local
-- shard delta_shard of the distributed ar.dunning_effect_delta folded into
-- the co-located shards of ar.dunning_effect_notice and
-- ar.dunning_effect_summary on the same node, the notices and allocations
-- read from their co-located shards, the companies from the node's shard
-- of ar.company: no query leaves the node, its statements run with their
-- names (EXECUTE).  One fold of a shard at a time: the lock (ar.lock_slot) is
-- the shard's (tried, never waited for, as on one node: what a commit
-- leaves waits for the next fold of that shard, readers meanwhile taking
-- the full computation).  The notices recomputed by one query (the full
-- computation's expression; on one node, ar._dunning_effect_compute).
CREATE FUNCTION ar._dunning_effect_fold_shard(delta_shard regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	notice_rel regclass := ar._summary_shard(delta_shard, 'ar.dunning_effect_delta', 'ar.dunning_notice');
	allocation_rel regclass := ar._summary_shard(delta_shard, 'ar.dunning_effect_delta', 'ar.allocation');
	effect_rel regclass := ar._summary_shard(delta_shard, 'ar.dunning_effect_delta', 'ar.dunning_effect_notice');
	summary_rel regclass := ar._summary_shard(delta_shard, 'ar.dunning_effect_delta', 'ar.dunning_effect_summary');
	company_rel regclass := ar._summary_shard(delta_shard, 'ar.dunning_effect_delta', 'ar.company');
	k_company bigint[];
	k_id bigint[];
	old ar.dunning_effect_notice[];
	zero tid[];
BEGIN
	IF NOT ar._take_lock('dunning_effect_fold', delta_shard::oid::bigint, wait => false) THEN
		RETURN;
	END IF;
	-- the notices the changes concern (ar._dunning_effect_affected's rules)
	EXECUTE format($q$WITH gone AS (
		DELETE FROM %1$s x RETURNING x.notice_ids, x.invoice_ids, x.allocated_on
	), e AS (
		SELECT DISTINCT u.i AS invoice_id, u.d AS allocated_on FROM gone g, unnest(g.invoice_ids, g.allocated_on) u (i, d)
	), a AS (
		SELECT n.company_id, n.id FROM %2$s n WHERE n.id = ANY (ARRAY(SELECT u FROM gone g, unnest(g.notice_ids) u))
		UNION
		SELECT n.company_id, n.id
		  FROM %2$s n CROSS JOIN LATERAL unnest(n.invoice_ids) u (invoice_id)
		  JOIN e ON e.invoice_id = u.invoice_id AND e.allocated_on > n.as_of AND e.allocated_on <= n.as_of + 15
		 WHERE n.as_of >= (SELECT min(e.allocated_on) - 15 FROM e) AND n.as_of < (SELECT max(e.allocated_on) FROM e))
	SELECT array_agg(a.company_id ORDER BY a.company_id, a.id), array_agg(a.id ORDER BY a.company_id, a.id) FROM a$q$,
	               delta_shard, notice_rel)
	  INTO k_company, k_id;
	IF k_id IS NULL THEN
		RETURN;
	END IF;
	-- their old rows out, their new rows in, the difference added per day
	EXECUTE format($q$WITH o AS (
		DELETE FROM %s s USING unnest($1, $2) k (company_id, notice_id)
		 WHERE s.company_id = k.company_id AND s.notice_id = k.notice_id RETURNING s.*)
	SELECT array_agg(o::ar.dunning_effect_notice) FROM o$q$, effect_rel)
	  INTO old USING k_company, k_id;
	EXECUTE format($q$WITH new AS (
		INSERT INTO %1$s (company_id, notice_id, level, as_of, amount_due, paid)
		SELECT n.company_id, n.id, n.level, n.as_of, n.amount_due, p.paid
		  FROM %2$s n
		 CROSS JOIN LATERAL (SELECT least(coalesce(sum(x.amount), 0), n.amount_due) AS paid
		                       FROM %3$s x
		                      WHERE x.invoice_id = ANY (n.invoice_ids) AND x.company_id = n.company_id
		                        AND x.allocated_on > n.as_of AND x.allocated_on <= n.as_of + 15 AND x.method NOT IN ('write_off', 'shortfall')) p
		 WHERE (n.company_id, n.id) IN (SELECT * FROM unnest($1, $2))
		   AND n.status NOT IN ('failed', 'cancelled') AND n.amount_due > 0
		 ORDER BY 1, 2
		RETURNING *
	), up AS (
		INSERT INTO %4$s AS s (company_id, as_of, level, due_scale, paid_scale, notices, amount_due, paid)
		SELECT d.company_id, d.as_of, d.level, scale(d.amount_due), scale(d.paid), sum(d.n), sum(d.amount_due), sum(d.paid)
		  FROM (SELECT n.company_id, n.as_of, n.level, 1 AS n, n.amount_due, n.paid FROM new n
		        UNION ALL
		        SELECT o.company_id, o.as_of, o.level, -1, -o.amount_due, -o.paid FROM unnest($3) o) d
		 WHERE EXISTS (SELECT FROM %5$s c WHERE c.id = d.company_id)
		 GROUP BY 1, 2, 3, 4, 5
		HAVING sum(d.n) <> 0 OR sum(d.amount_due) <> 0 OR sum(d.paid) <> 0
		 ORDER BY 1, 2, 3, 4, 5
		ON CONFLICT (company_id, as_of, level, due_scale, paid_scale)
		DO UPDATE SET notices = s.notices + EXCLUDED.notices, amount_due = s.amount_due + EXCLUDED.amount_due,
		              paid = s.paid + EXCLUDED.paid
		RETURNING s.ctid, s.notices, s.amount_due, s.paid)
	SELECT array_agg(up.ctid) FROM up WHERE up.notices = 0 AND up.amount_due = 0 AND up.paid = 0$q$,
	               effect_rel, notice_rel, allocation_rel, summary_rel, company_rel)
	  INTO zero USING k_company, k_id, old;
	IF zero IS NOT NULL THEN
		EXECUTE format('DELETE FROM %s s WHERE s.ctid = ANY ($1)', summary_rel) USING zero;
	END IF;
END $$;

-- Writes a statement's changes (rows of ar.dunning_effect_delta: company,
-- notice ids, invoice ids and dates) into ar.dunning_effect_delta, or on a
-- Citus worker into its shard delta_rel (registered for the fold at the
-- worker's commit, ar._summary_shard_written), and asks for the fold.
CREATE FUNCTION ar._dunning_effect_delta_add(delta_rel regclass, changes ar.dunning_effect_delta[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF changes IS NULL THEN
		RETURN;
	ELSIF delta_rel = 'ar.dunning_effect_delta'::regclass THEN
		INSERT INTO ar.dunning_effect_delta (company_id, notice_ids, invoice_ids, allocated_on, notice_levels, notice_as_of,
		                                     notice_amounts_due)
		SELECT c.company_id, c.notice_ids, c.invoice_ids, c.allocated_on, c.notice_levels, c.notice_as_of, c.notice_amounts_due
		  FROM unnest(changes) c;
	ELSE
		-- (the id from the node's own sequence of the table: its range, tools/citus_lib.sh)
		EXECUTE format('INSERT INTO %s (company_id, id, notice_ids, invoice_ids, allocated_on, notice_levels, notice_as_of,
		                                notice_amounts_due) OVERRIDING SYSTEM VALUE
		                SELECT c.company_id, nextval(%L), c.notice_ids, c.invoice_ids, c.allocated_on, c.notice_levels,
		                       c.notice_as_of, c.notice_amounts_due FROM unnest($1) c',
		               delta_rel, pg_get_serial_sequence('ar.dunning_effect_delta', 'id'))
		  USING changes;
		PERFORM ar._summary_shard_written(delta_rel);
	END IF;
	INSERT INTO ar.summary_fold_request DEFAULT VALUES ON CONFLICT DO NOTHING;
END $$;

-- The triggers: what changed, per statement and company, gathered by
-- queries that name no Citus table; on a shard of a distributed ledger
-- written into the co-located shard of ar.dunning_effect_delta
-- (ar._summary_shard: doc/scale_out.md, blocker 6).
CREATE FUNCTION ar._dunning_effect_notice_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off AS $$
DECLARE
	delta_rel regclass := 'ar.dunning_effect_delta';
	changes ar.dunning_effect_delta[];
BEGIN
	IF TG_RELID <> 'ar.dunning_notice'::regclass THEN
		delta_rel := ar._summary_shard(TG_RELID, 'ar.dunning_notice', 'ar.dunning_effect_delta');
	END IF;
	IF TG_OP = 'INSERT' THEN
		-- the notices that count, with their figures, as the row trigger
		-- kept them (a notice that does not count adds nothing: its status
		-- may only go on to failed or cancelled)
		SELECT array_agg((t.company_id, NULL, t.notice_ids, NULL, NULL, NULL, t.levels, t.as_ofs, t.amounts_due)::ar.dunning_effect_delta
		                 ORDER BY t.company_id)
		  INTO changes
		  FROM ar._dunning_effect_notices_taken(TG_RELID) t;
	ELSE
		SELECT array_agg((c.company_id, NULL, c.ids, NULL, NULL, NULL, NULL, NULL, NULL)::ar.dunning_effect_delta) INTO changes
		  FROM (SELECT n.company_id, array_agg(n.id) AS ids
		          FROM new_rows n JOIN old_rows o ON o.id = n.id AND o.company_id = n.company_id
		         WHERE (n.company_id, n.level, n.as_of, n.amount_due, n.invoice_ids, n.status IN ('failed', 'cancelled'))
		               IS DISTINCT FROM (o.company_id, o.level, o.as_of, o.amount_due, o.invoice_ids, o.status IN ('failed', 'cancelled'))
		         GROUP BY n.company_id) c;
	END IF;
	PERFORM ar._dunning_effect_delta_add(delta_rel, changes);
	RETURN NULL;
END $$;

-- The notices inserted: their company, id, level, date and amount due
-- kept by a row trigger in C (src/dunning_effect.c; for the fold, which
-- then need not read them back) and written per company by the statement
-- trigger,
-- not a transition table, which copied every row whole, letter included
-- (0.8 s and 110 MB at the 100,000 notices of a run: bench/README.md,
-- "fifth pass"); the row events of a statement fire before its statement
-- event.
CREATE FUNCTION ar._dunning_effect_notice_row() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'ar_dunning_effect_notice_row';
CREATE FUNCTION ar._dunning_effect_notices_taken(relid regclass)
RETURNS TABLE (company_id bigint, notice_ids bigint[], levels integer[], as_ofs date[], amounts_due numeric[])
LANGUAGE c VOLATILE STRICT ROWS 1 AS 'MODULE_PATHNAME', 'ar_dunning_effect_notices_taken';
CREATE TRIGGER dunning_notice_effect_row AFTER INSERT ON ar.dunning_notice
	FOR EACH ROW WHEN (NEW.status NOT IN ('failed', 'cancelled') AND NEW.amount_due > 0)
	EXECUTE FUNCTION ar._dunning_effect_notice_row();
CREATE TRIGGER dunning_notice_effect_insert AFTER INSERT ON ar.dunning_notice
	FOR EACH STATEMENT EXECUTE FUNCTION ar._dunning_effect_notice_changed();
CREATE TRIGGER dunning_notice_effect_update AFTER UPDATE ON ar.dunning_notice
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION ar._dunning_effect_notice_changed();

CREATE FUNCTION ar._dunning_effect_allocation_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	delta_rel regclass := 'ar.dunning_effect_delta';
	changes ar.dunning_effect_delta[];
BEGIN
	IF TG_RELID <> 'ar.allocation'::regclass THEN
		delta_rel := ar._summary_shard(TG_RELID, 'ar.allocation', 'ar.dunning_effect_delta');
	END IF;
	SELECT array_agg((c.company_id, NULL, NULL, c.ids, c.dates, NULL, NULL, NULL, NULL)::ar.dunning_effect_delta) INTO changes
	  FROM (SELECT c.company_id, array_agg(c.invoice_id) AS ids, array_agg(c.allocated_on) AS dates
	          FROM (SELECT DISTINCT c.company_id, c.invoice_id, c.allocated_on FROM changed c WHERE c.method NOT IN ('write_off', 'shortfall')) c
	         GROUP BY c.company_id) c;
	PERFORM ar._dunning_effect_delta_add(delta_rel, changes);
	RETURN NULL;
END $$;

CREATE TRIGGER allocation_effect_insert AFTER INSERT ON ar.allocation
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._dunning_effect_allocation_changed();
CREATE TRIGGER allocation_effect_delete AFTER DELETE ON ar.allocation
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._dunning_effect_allocation_changed();

-- ------------------------------------------------------------- companies

-- What the foreign key of ar.dunning_effect_notice to ar.company did, per
-- statement and company instead of per row: rows name companies that
-- exist (locked FOR KEY SHARE as the key's check locks them: a company
-- being deleted is waited for, then refused as missing; one deleted later
-- waits for this transaction and its trigger then sees these rows), a
-- company deleted takes its rows with it, and its id does not change under
-- them.  On a shard (Citus), the node's shards: the company's reference
-- shard here, the company's shard of the rows where it is on this node.

-- The relation holding the rows of company on this node: the table, or on
-- a Citus ledger where it is distributed, the company's shard when this
-- node holds it (else NULL).
CREATE FUNCTION ar._dunning_effect_notice_rel(company bigint) RETURNS regclass
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	shard regclass;
	distributed boolean := false;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		EXECUTE $q$SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition
		                           WHERE logicalrelid = 'ar.dunning_effect_notice'::regclass)$q$ INTO distributed;
	END IF;
	IF NOT distributed THEN
		RETURN 'ar.dunning_effect_notice'::regclass;
	END IF;
	EXECUTE $q$SELECT to_regclass(pg_catalog.shard_name('ar.dunning_effect_notice'::regclass,
	                   pg_catalog.get_shard_id_for_distribution_column('ar.dunning_effect_notice'::regclass, $1)))$q$
	   INTO shard USING company;
	RETURN shard;
END $$;

-- AFTER INSERT or UPDATE ... FOR EACH STATEMENT on
-- ar.dunning_effect_notice (new_rows: six narrow columns, not the notices'
-- letters).
CREATE FUNCTION ar._dunning_effect_notice_company() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	company_rel regclass := 'ar.company';
	companies bigint[];
	present bigint[];
	missing bigint;
BEGIN
	IF TG_RELID <> 'ar.dunning_effect_notice'::regclass THEN
		company_rel := ar._summary_shard(TG_RELID, 'ar.dunning_effect_notice', 'ar.company');
	END IF;
	SELECT array_agg(DISTINCT n.company_id ORDER BY n.company_id) INTO companies FROM new_rows n;
	EXECUTE format('SELECT array_agg(c.id) FROM (SELECT c.id FROM %s c WHERE c.id = ANY ($1) ORDER BY c.id FOR KEY SHARE) c',
	               company_rel)
	   INTO present USING companies;
	SELECT min(u.c) INTO missing FROM unnest(companies) u (c) WHERE u.c <> ALL (coalesce(present, '{}'));
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'company % of the dunning effectiveness summary does not exist', missing
			USING ERRCODE = 'foreign_key_violation',
			      DETAIL = 'ar.dunning_effect_notice holds the notices of existing companies (as a foreign key to ar.company would).';
	END IF;
	RETURN NULL;
END $$;

-- AFTER DELETE ... FOR EACH STATEMENT on ar.company (gone): the rows of
-- the companies deleted (the key's ON DELETE CASCADE).
CREATE FUNCTION ar._dunning_effect_company_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c bigint;
	rel regclass;
BEGIN
	FOR c IN SELECT g.id FROM gone g ORDER BY g.id LOOP
		rel := ar._dunning_effect_notice_rel(c);
		IF rel IS NOT NULL THEN
			EXECUTE format('DELETE FROM %s e WHERE e.company_id = $1', rel) USING c;
		END IF;
	END LOOP;
	RETURN NULL;
END $$;

-- BEFORE UPDATE OF id ON ar.company FOR EACH ROW: a company's id does not
-- change under its rows (the key's ON UPDATE NO ACTION).
CREATE FUNCTION ar._dunning_effect_company_rekey() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	rel regclass;
	named boolean := false;
BEGIN
	IF NEW.id IS DISTINCT FROM OLD.id THEN
		rel := ar._dunning_effect_notice_rel(OLD.id);
		IF rel IS NOT NULL THEN
			EXECUTE format('SELECT EXISTS (SELECT FROM %s e WHERE e.company_id = $1)', rel) INTO named USING OLD.id;
		END IF;
		IF named THEN
			RAISE EXCEPTION 'the id of company % cannot change: the dunning effectiveness summary names it', OLD.code
				USING ERRCODE = 'foreign_key_violation';
		END IF;
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER dunning_effect_notice_company AFTER INSERT ON ar.dunning_effect_notice
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION ar._dunning_effect_notice_company();
CREATE TRIGGER dunning_effect_notice_company_update AFTER UPDATE ON ar.dunning_effect_notice
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION ar._dunning_effect_notice_company();
CREATE TRIGGER company_dunning_effect_delete AFTER DELETE ON ar.company
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION ar._dunning_effect_company_deleted();
CREATE TRIGGER company_dunning_effect_rekey BEFORE UPDATE OF id ON ar.company
	FOR EACH ROW EXECUTE FUNCTION ar._dunning_effect_company_rekey();

-- ------------------------------------------------------------- recomputing

-- Recomputes both tables (ar.rebuild_summaries, which holds the locks that
-- keep notice and allocation writes out meanwhile, and the upgrade); on a
-- distributed ledger per company, routed (ar._summaries_insert).
CREATE FUNCTION ar._dunning_effect_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '256MB' AS $$
DECLARE
	n bigint;
BEGIN
	DELETE FROM ar.dunning_effect_delta;
	DELETE FROM ar.dunning_effect_summary;
	DELETE FROM ar.dunning_effect_notice;
	n := ar._summaries_insert('ar.dunning_effect_notice', 'SELECT * FROM ar._dunning_effect_expected() e ORDER BY 1, 2');
	PERFORM ar._summaries_insert('ar.dunning_effect_summary (company_id, as_of, level, due_scale, paid_scale, notices, amount_due, paid)',
	        $q$SELECT s.company_id, s.as_of, s.level, scale(s.amount_due), scale(s.paid), count(*), sum(s.amount_due), sum(s.paid)
	             FROM ar.dunning_effect_notice s /*where company s*/
	            GROUP BY 1, 2, 3, 4, 5
	            ORDER BY 1, 2, 3, 4, 5$q$);
	RETURN n;
END $$;

-- The rows of both tables that differ from a recomputation (ar.check_summaries):
-- each notice's row against the ledger (but those that changes waiting
-- concern: the caller's own transaction's), each per-day row against the
-- notices' rows.
CREATE FUNCTION ar._dunning_effect_differences()
RETURNS TABLE (summary text, company_id bigint, as_of date, stored numeric, expected numeric,
               stored_items integer, expected_items integer)
LANGUAGE sql STABLE AS $$
	WITH waiting AS (
		SELECT a.company_id, a.notice_id
		  FROM (SELECT array_agg(u) AS notice_ids FROM ar.dunning_effect_delta d, unnest(d.notice_ids) u /*where company d*/) waiting_n,
		       (SELECT array_agg(u.i) AS invoice_ids, array_agg(u.d) AS allocated_on
		          FROM ar.dunning_effect_delta d, unnest(d.invoice_ids, d.allocated_on) u (i, d) /*where company d*/) waiting_i,
		       ar._dunning_effect_affected(waiting_n.notice_ids, waiting_i.invoice_ids, waiting_i.allocated_on) a
	)
	SELECT format('dunning_effect_notice %s', coalesce(s.notice_id, e.notice_id)), coalesce(s.company_id, e.company_id),
	       coalesce(s.as_of, e.as_of), s.paid, e.paid, (s.notice_id IS NOT NULL)::integer, (e.notice_id IS NOT NULL)::integer
	  FROM (SELECT * FROM ar.dunning_effect_notice s /*where company s*/) s
	  FULL JOIN ar._dunning_effect_expected() e ON e.company_id = s.company_id AND e.notice_id = s.notice_id
	 WHERE (s.level, s.as_of, s.amount_due, s.paid, scale(s.amount_due), scale(s.paid))
	       IS DISTINCT FROM (e.level, e.as_of, e.amount_due, e.paid, scale(e.amount_due), scale(e.paid))
	   AND NOT EXISTS (SELECT FROM waiting w WHERE w.company_id = coalesce(s.company_id, e.company_id)
	                                          AND w.notice_id = coalesce(s.notice_id, e.notice_id))
	UNION ALL
	SELECT format('dunning_effect_summary level %s scales %s %s', coalesce(s.level, e.level),
	              coalesce(s.due_scale, e.due_scale), coalesce(s.paid_scale, e.paid_scale)),
	       coalesce(s.company_id, e.company_id), coalesce(s.as_of, e.as_of), s.paid, e.paid,
	       s.notices::integer, e.notices::integer
	  FROM (SELECT * FROM ar.dunning_effect_summary s /*where company s*/) s
	  FULL JOIN (SELECT n.company_id, n.as_of, n.level, scale(n.amount_due) AS due_scale, scale(n.paid) AS paid_scale,
	                    count(*) AS notices, sum(n.amount_due) AS amount_due, sum(n.paid) AS paid
	               FROM ar.dunning_effect_notice n /*where company n*/
	              GROUP BY 1, 2, 3, 4, 5) e
	         ON (e.company_id, e.as_of, e.level, e.due_scale, e.paid_scale)
	          = (s.company_id, s.as_of, s.level, s.due_scale, s.paid_scale)
	 WHERE (s.notices, s.amount_due, s.paid) IS DISTINCT FROM (e.notices, e.amount_due, e.paid)
$$;

-- ------------------------------------------------------------- reading

-- Whether ar.dunning_effectiveness answers from the summary: no change
-- waiting that the caller sees, on a ledger that keeps it (one node, or a
-- distributed ledger whose effectiveness tables are distributed with it:
-- their triggers then write the shards, doc/scale_out.md, blocker 6).
CREATE FUNCTION ar._dunning_effect_serves() RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF ar._ledger_distributed()
	   AND NOT ar._colocated_with_ledger(ARRAY['ar.dunning_notice'::regclass, 'ar.dunning_effect_notice'::regclass,
	                                           'ar.dunning_effect_summary'::regclass, 'ar.dunning_effect_delta'::regclass]) THEN
		RETURN false;
	END IF;
	PERFORM FROM ar.dunning_effect_delta LIMIT 1;
	RETURN NOT FOUND;
END $$;

-- ar.dunning_effectiveness' rows from the per-day summary: the sums at the
-- largest scale of the notices they sum, as the full computation's sums.
-- PL/pgSQL: its query names the summary, planned by Citus on a distributed
-- ledger (a SQL function inlined into its caller's query would read the
-- coordinator's own, empty, table there).
CREATE FUNCTION ar._dunning_effectiveness_summary(as_of date, period_days integer)
RETURNS TABLE (level integer, notices bigint, amount_due numeric, paid_within_15_days numeric, effectiveness_pct numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY
	SELECT x.level, x.notices, x.amount_due, x.paid, round(100 * x.paid / nullif(x.amount_due, 0), 2)
	  FROM (SELECT s.level, sum(s.notices)::bigint AS notices, round(sum(s.amount_due), max(s.due_scale)) AS amount_due,
	               round(sum(s.paid), max(s.paid_scale)) AS paid
	          FROM ar.dunning_effect_summary s
	         WHERE s.as_of > $1 - $2 AND s.as_of <= $1 - 15
	         GROUP BY s.level
	        HAVING sum(s.notices) > 0) x
	 ORDER BY x.level;
END $$;

-- ------------------------------------------------------------- checking

-- The rows of the dashboard summaries that differ from a recomputation, in
-- ar.check_summaries' columns (which orders them): ar.open_item_summary and
-- ar.aging_summary with the changes waiting that the caller sees, then the
-- KPI (86_kpi_summary.sql) and effectiveness summaries' differences.  Here,
-- after every summary's recomputation (a SQL function's body names what it
-- calls when it is created); on a distributed ledger ar.check_summaries
-- runs its text per company (ar._routed).  Without JIT, as the other
-- recomputations: the effectiveness recomputation inlined here is costed
-- high enough for JIT, whose compilation took longer than the query
-- (measured: 6.1 s against 1.4 s without, 39,000 notices).
CREATE FUNCTION ar._summary_differences()
RETURNS TABLE (summary text, company_id bigint, customer_id bigint, currency char(3), due_date date,
               credit_note boolean, stored numeric, expected numeric, stored_items integer, expected_items integer)
LANGUAGE sql STABLE SET jit = off AS $$
SELECT 'open_item_summary', coalesce(s.company_id, e.company_id), coalesce(s.customer_id, e.customer_id),
       coalesce(s.currency, e.currency), coalesce(s.due_date, e.due_date), coalesce(s.credit_note, e.credit_note),
       s.open_amount, e.open_amount, s.items, e.items
  FROM ar._open_item_summary_current() s
  FULL JOIN ar._open_item_summary_expected() e
         ON (e.company_id, e.customer_id, e.currency, e.due_date, e.credit_note)
          = (s.company_id, s.customer_id, s.currency, s.due_date, s.credit_note)
 WHERE s.open_amount IS DISTINCT FROM e.open_amount OR s.items IS DISTINCT FROM e.items
UNION ALL
SELECT 'aging_summary', coalesce(s.company_id, e.company_id), coalesce(s.customer_id, e.customer_id),
       coalesce(s.currency, e.currency), NULL, NULL,
       s.total, e.total,
       s.items, e.items
  FROM (SELECT a.company_id, a.customer_id, a.currency, sum(a.not_due) AS not_due, sum(a.d1_30) AS d1_30,
               sum(a.d31_60) AS d31_60, sum(a.d61_90) AS d61_90, sum(a.d91_plus) AS d91_plus, sum(a.total) AS total,
               sum(a.credit_notes) AS credit_notes, sum(a.items)::integer AS items,
               sum(a.credit_note_items)::integer AS credit_note_items, sum(a.moving_not_due) AS moving_not_due,
               sum(a.moving_d1_30) AS moving_d1_30, sum(a.moving_d31_60) AS moving_d31_60,
               sum(a.moving_d61_90) AS moving_d61_90, sum(a.moving_items)::integer AS moving_items
          FROM (SELECT s.company_id, s.customer_id, s.currency, s.not_due, s.d1_30, s.d31_60, s.d61_90, s.d91_plus,
                       s.total, s.credit_notes, s.items, s.credit_note_items, s.moving_not_due, s.moving_d1_30,
                       s.moving_d31_60, s.moving_d61_90, s.moving_items
                  FROM ar.aging_summary s /*where company s*/
                UNION ALL
                SELECT d.company_id, d.customer_id, d.currency,
                       CASE WHEN st.aged_on - d.due_date <= 0 THEN d.open_amount ELSE 0 END,
                       CASE WHEN st.aged_on - d.due_date BETWEEN 1 AND 30 THEN d.open_amount ELSE 0 END,
                       CASE WHEN st.aged_on - d.due_date BETWEEN 31 AND 60 THEN d.open_amount ELSE 0 END,
                       CASE WHEN st.aged_on - d.due_date BETWEEN 61 AND 90 THEN d.open_amount ELSE 0 END,
                       CASE WHEN st.aged_on - d.due_date > 90 THEN d.open_amount ELSE 0 END,
                       d.open_amount, CASE WHEN d.credit_note THEN d.open_amount ELSE 0 END,
                       d.items, CASE WHEN d.credit_note THEN d.items ELSE 0 END,
                       CASE WHEN d.due_date = st.aged_on THEN d.open_amount ELSE 0 END,
                       CASE WHEN d.due_date = st.aged_on - 30 THEN d.open_amount ELSE 0 END,
                       CASE WHEN d.due_date = st.aged_on - 60 THEN d.open_amount ELSE 0 END,
                       CASE WHEN d.due_date = st.aged_on - 90 THEN d.open_amount ELSE 0 END,
                       CASE WHEN d.due_date IN (st.aged_on, st.aged_on - 30, st.aged_on - 60, st.aged_on - 90) THEN d.items ELSE 0 END
                  FROM ar.summary_delta d CROSS JOIN ar.summary_state st /*where company d*/) a
         GROUP BY 1, 2, 3
        HAVING sum(a.items) <> 0 OR sum(a.total) <> 0 OR sum(a.not_due) <> 0 OR sum(a.d91_plus) <> 0) s
  FULL JOIN (SELECT x.* FROM ar.summary_state st, ar._aging_summary_expected(st.aged_on) x) e
         ON (e.company_id, e.customer_id, e.currency) = (s.company_id, s.customer_id, s.currency)
 WHERE (s.not_due, s.d1_30, s.d31_60, s.d61_90, s.d91_plus, s.total, s.credit_notes, s.items, s.credit_note_items,
        s.moving_not_due, s.moving_d1_30, s.moving_d31_60, s.moving_d61_90, s.moving_items)
       IS DISTINCT FROM (e.not_due, e.d1_30, e.d31_60, e.d61_90, e.d91_plus, e.total, e.credit_notes, e.items, e.credit_note_items,
                         e.moving_not_due, e.moving_d1_30, e.moving_d31_60, e.moving_d61_90, e.moving_items)
UNION ALL
-- ar.kpi_summary (86_kpi_summary.sql): the kind and its second date in
-- summary, its first date as due_date, not positive as credit_note
SELECT format('kpi_summary %s %s', k.kind, k.second_date), k.company_id, NULL::bigint, k.currency, k.first_date,
       NOT k.positive, k.stored, k.expected, k.stored_items::integer, k.expected_items::integer
  FROM ar._kpi_summary_differences() k
UNION ALL
-- the effectiveness summary (86_kpi_summary_dunning.sql): the notice or
-- level and scales in summary, the notice date as due_date, paid
-- amounts, notices as items
SELECT e.summary, e.company_id, NULL::bigint, NULL::char(3), e.as_of, NULL::boolean, e.stored, e.expected,
       e.stored_items, e.expected_items
  FROM ar._dunning_effect_differences() e
$$;

REVOKE ALL ON FUNCTION ar._dunning_effect_affected(bigint[], bigint[], date[]), ar._dunning_effect_compute(bigint[]),
                       ar._dunning_effect_fold(), ar._dunning_effect_fold_if_free(), ar._dunning_effect_notice_changed(),
                       ar._dunning_effect_allocation_changed(), ar._dunning_effect_rebuild(),
                       ar._dunning_effect_differences(), ar._dunning_effect_serves(), ar._dunning_effect_expected(),
                       ar._summary_differences(),
                       ar._dunning_effect_fold_shard(regclass), ar._dunning_effect_delta_add(regclass, ar.dunning_effect_delta[]),
                       ar._dunning_effectiveness_summary(date, integer),
                       ar._dunning_effect_notice_row(), ar._dunning_effect_notices_taken(regclass),
                       ar._dunning_effect_notice_rel(bigint), ar._dunning_effect_notice_company(),
                       ar._dunning_effect_company_deleted(), ar._dunning_effect_company_rekey()
	FROM PUBLIC;
GRANT SELECT ON ar.dunning_effect_notice, ar.dunning_effect_summary, ar.dunning_effect_delta TO ar_reader;
GRANT EXECUTE ON FUNCTION ar._dunning_effect_serves(), ar._dunning_effectiveness_summary(date, integer) TO ar_reader;
GRANT EXECUTE ON FUNCTION ar._dunning_effect_affected(bigint[], bigint[], date[]), ar._dunning_effect_compute(bigint[]),
                          ar._dunning_effect_differences(), ar._dunning_effect_expected(), ar._summary_differences()
	TO ar_admin;

-- Filled from the ledger there is (an upgrade from 0.1.0).
SELECT ar._dunning_effect_rebuild();
