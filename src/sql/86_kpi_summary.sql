-- ---------------------------------------------------------------------------
-- KPI summaries (issue 17, doc/dashboards.md): the sums ar.receivables_kpis
-- takes from every invoice, kept per company, currency and dates by
-- statement-level triggers on ar.invoice and ar.allocation, so that
-- ar.kpis on today's date reads a few thousand rows instead of every
-- invoice.  ar._kpi_figures_summary computes the 33 sums of the aggregate's
-- state (src/kpi.c, kpi_transfn) from them, at the scale the aggregate
-- would reach, and hands the state to the same final function: the figures
-- are those of the full computation (ar._kpi_figures_full) by construction.
-- The summaries answer for a date on or after the latest allocation and the
-- latest cancellation of the company and currency (ar._kpi_summary_serves);
-- earlier dates fall back to the full computation.
--
-- ar.kpi_summary, one row per company, currency, kind and key:
--   invoice     non-cancelled invoices by issue date (first_date), due date
--               (second_date), sign (positive) and scale (the larger of the
--               scales of amount and open amount): items, amount, open_amount;
--   cancelled   cancelled invoices by issue date and cancellation date
--               (second_date), sign and scale of the amount: items, amount;
--   settled     positive, non-cancelled, fully paid invoices paid on or after
--               their issue date, by the date of their latest allocation
--               (first_date, ar.invoice.last_allocated_on) and of their latest
--               write-off (second_date, ar.invoice.last_write_off_on,
--               -infinity without one): items, amount, amount_days (amount
--               times days from issue to payment);
--   flow        allocations by the later of their date and the invoice's
--               issue date (first_date): items, amount (negated: what they
--               take off the receivables on that day);
--   write_off   write-offs (methods write_off and shortfall) of positive invoices by the
--               invoice's due date (first_date) and their date (second_date):
--               items, amount;
--   activity    allocations by date (first_date): items.
-- Unused key columns hold -infinity, false, 0.
--
-- The invoice kinds follow the invoice rows (old rows subtracted, new rows
-- added); the allocation kinds follow the allocation rows, and are moved
-- when an invoice with allocations changes its issue or due date (its sign,
-- company and currency cannot change any more).  Changes go through
-- ar.kpi_summary_delta and are folded at commit with those of the aging
-- summaries (ar._summary_fold_at_commit), under the same rules.
--
-- src/upgrade/0.1.0--0.2.0/91_kpi_summary.sql is this piece (a symbolic
-- link).
-- ---------------------------------------------------------------------------

-- Derived columns of the ledger kept by ar._allocation_apply_rows
-- (30_ledger.sql) in the update it makes anyway.
ALTER TABLE ar.invoice ADD COLUMN last_allocated_on date, ADD COLUMN last_write_off_on date;
COMMENT ON COLUMN ar.invoice.last_allocated_on IS
'Date of the latest allocation of the invoice (payments, credits, write-offs), NULL without any; maintained by ar_collect.';
COMMENT ON COLUMN ar.invoice.last_write_off_on IS
'Date of the latest write-off (allocation of method write_off or shortfall) of the invoice, NULL without any; maintained by ar_collect.';
-- derived: an update that moves only them is not audited (the allocation
-- that moved them is), as for open_amount (40_audit.sql)
DROP TRIGGER invoice_audit ON ar.invoice;
CREATE TRIGGER invoice_audit AFTER INSERT OR UPDATE OR DELETE ON ar.invoice
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row('open_amount', 'written_off_amount', 'status',
	                                            'last_allocated_on', 'last_write_off_on');
-- (an upgrade: from the allocations there are; the maintenance trigger,
-- which refuses changes of derived columns, is off meanwhile)
ALTER TABLE ar.invoice DISABLE TRIGGER invoice_maintain;
UPDATE ar.invoice i
   SET last_allocated_on = a.last_on, last_write_off_on = a.last_write_off_on
  FROM (SELECT al.invoice_id, max(al.allocated_on) AS last_on,
               max(al.allocated_on) FILTER (WHERE al.method IN ('write_off', 'shortfall')) AS last_write_off_on
          FROM ar.allocation al GROUP BY al.invoice_id) a
 WHERE i.id = a.invoice_id;
ALTER TABLE ar.invoice ENABLE TRIGGER invoice_maintain;

CREATE TABLE ar.kpi_summary (
	company_id   bigint NOT NULL REFERENCES ar.company ON DELETE CASCADE,
	currency     char(3) NOT NULL,
	kind         text NOT NULL CHECK (kind IN ('invoice', 'cancelled', 'settled', 'flow', 'write_off', 'activity')),
	first_date   date NOT NULL,
	second_date  date NOT NULL,
	positive     boolean NOT NULL,
	scale        integer NOT NULL,
	items        bigint NOT NULL,
	amount       numeric NOT NULL,
	open_amount  numeric NOT NULL,
	amount_days  numeric NOT NULL,
	PRIMARY KEY (company_id, currency, kind, first_date, second_date, positive, scale)
);
COMMENT ON TABLE ar.kpi_summary IS
'Sums of the ledger that ar.kpis reads on dates after the latest allocation and cancellation (see doc/dashboards.md for each kind): maintained by the triggers of ar.invoice and ar.allocation; rows without items are removed.';
COMMENT ON COLUMN ar.kpi_summary.company_id IS 'Company of the invoices.';
COMMENT ON COLUMN ar.kpi_summary.currency IS 'Currency of the invoices.';
COMMENT ON COLUMN ar.kpi_summary.kind IS 'invoice, cancelled, settled, flow, write_off or activity: what the row sums.';
COMMENT ON COLUMN ar.kpi_summary.first_date IS 'invoice, cancelled: issue date; settled: latest allocation; flow: day; write_off: due date; activity: allocation date.';
COMMENT ON COLUMN ar.kpi_summary.second_date IS 'invoice: due date; cancelled: cancellation date; settled: latest write-off; write_off: its date; else -infinity.';
COMMENT ON COLUMN ar.kpi_summary.positive IS 'invoice, cancelled: amount > 0; settled, write_off: true; else false.';
COMMENT ON COLUMN ar.kpi_summary.scale IS 'invoice: greatest(scale(amount), scale(open_amount)); cancelled: scale(amount); else 0.';
COMMENT ON COLUMN ar.kpi_summary.items IS 'How many invoices (allocations for flow, write_off, activity) the row sums.';
COMMENT ON COLUMN ar.kpi_summary.amount IS 'Sum of their amounts (flow: negated allocations).';
COMMENT ON COLUMN ar.kpi_summary.open_amount IS 'invoice: sum of their open amounts; else 0.';
COMMENT ON COLUMN ar.kpi_summary.amount_days IS 'settled: sum of amount times days from issue to the latest allocation; else 0.';

-- Changes not folded yet (ar.summary_delta's rules, 86_dashboard_summary.sql).
CREATE TABLE ar.kpi_summary_delta (
	company_id   bigint NOT NULL,
	currency     char(3) NOT NULL,
	kind         text NOT NULL,
	first_date   date NOT NULL,
	second_date  date NOT NULL,
	positive     boolean NOT NULL,
	scale        integer NOT NULL,
	items        bigint NOT NULL,
	amount       numeric NOT NULL,
	open_amount  numeric NOT NULL,
	amount_days  numeric NOT NULL,
	txid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);
COMMENT ON TABLE ar.kpi_summary_delta IS
'Changes of ar.kpi_summary written by a transaction and not folded into it yet (at its commit, ar._kpi_summary_fold): readers add the rows they see.';
COMMENT ON COLUMN ar.kpi_summary_delta.company_id IS 'Company of the invoices.';
COMMENT ON COLUMN ar.kpi_summary_delta.currency IS 'Currency of the invoices.';
COMMENT ON COLUMN ar.kpi_summary_delta.kind IS 'As ar.kpi_summary.kind.';
COMMENT ON COLUMN ar.kpi_summary_delta.first_date IS 'As ar.kpi_summary.first_date.';
COMMENT ON COLUMN ar.kpi_summary_delta.second_date IS 'As ar.kpi_summary.second_date.';
COMMENT ON COLUMN ar.kpi_summary_delta.positive IS 'As ar.kpi_summary.positive.';
COMMENT ON COLUMN ar.kpi_summary_delta.scale IS 'As ar.kpi_summary.scale.';
COMMENT ON COLUMN ar.kpi_summary_delta.items IS 'Change of items.';
COMMENT ON COLUMN ar.kpi_summary_delta.amount IS 'Change of amount.';
COMMENT ON COLUMN ar.kpi_summary_delta.open_amount IS 'Change of open_amount.';
COMMENT ON COLUMN ar.kpi_summary_delta.amount_days IS 'Change of amount_days.';
COMMENT ON COLUMN ar.kpi_summary_delta.txid IS 'The transaction that wrote it.';

-- What the allocation triggers read of the allocations' invoices.
CREATE TYPE ar._kpi_invoice_dates AS (id bigint, company_id bigint, currency char(3), issue_date date, due_date date,
                                     amount numeric);
COMMENT ON TYPE ar._kpi_invoice_dates IS 'The columns of an invoice the KPI summary''s allocation triggers read (ar._kpi_summary_allocation_apply).';

-- The keys of one invoice row (the invoice kinds), and of one allocation
-- of an invoice (the allocation kinds).  Inlined where they are used.
CREATE FUNCTION ar._kpi_invoice_keys(i ar.invoice)
RETURNS TABLE (kind text, first_date date, second_date date, positive boolean, scale integer, items bigint,
               amount numeric, open_amount numeric, amount_days numeric)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT k.kind, k.first_date, k.second_date, k.positive, k.scale, 1::bigint, k.amount, k.open_amount, k.amount_days
	  FROM (VALUES (CASE WHEN i.cancelled_on IS NULL THEN 'invoice' ELSE 'cancelled' END,
	                i.issue_date, coalesce(i.cancelled_on, i.due_date), i.amount > 0,
	                CASE WHEN i.cancelled_on IS NULL THEN greatest(scale(i.amount), scale(i.open_amount)) ELSE scale(i.amount) END,
	                i.amount, CASE WHEN i.cancelled_on IS NULL THEN i.open_amount ELSE 0 END, 0::numeric),
	               (CASE WHEN i.cancelled_on IS NULL AND i.amount > 0 AND i.open_amount = 0 AND i.last_allocated_on >= i.issue_date
	                     THEN 'settled' END,
	                i.last_allocated_on, coalesce(i.last_write_off_on, '-infinity'), true, 0,
	                i.amount, 0,
	                CASE WHEN i.last_allocated_on >= i.issue_date AND isfinite(i.last_allocated_on)
	                     THEN i.amount * (i.last_allocated_on - i.issue_date) END)
	       ) k (kind, first_date, second_date, positive, scale, amount, open_amount, amount_days)
	 WHERE k.kind IS NOT NULL
	   -- the aggregate skips invoices with an infinite date (planted past the
	   -- input bounds); a ledger write never fails because of the summary
	   AND isfinite(i.issue_date) AND isfinite(i.due_date)
	   AND (k.kind <> 'settled' OR isfinite(i.last_allocated_on))
$$;

CREATE FUNCTION ar._kpi_allocation_keys(allocated_on date, amount numeric, method text,
                                        issue_date date, due_date date, invoice_amount numeric)
RETURNS TABLE (kind text, first_date date, second_date date, positive boolean, scale integer, items bigint,
               amount numeric, open_amount numeric, amount_days numeric)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT k.kind, k.first_date, k.second_date, k.positive, 0, 1::bigint, k.amount, 0::numeric, 0::numeric
	  FROM (VALUES ('flow', greatest(allocated_on, issue_date), '-infinity'::date, false, -amount),
	               (CASE WHEN method IN ('write_off', 'shortfall') AND invoice_amount > 0 THEN 'write_off' END,
	                due_date, allocated_on, true, amount),
	               ('activity', allocated_on, '-infinity', false, 0)
	       ) k (kind, first_date, second_date, positive, amount)
	 WHERE k.kind IS NOT NULL
$$;

-- Folds the changes waiting in ar.kpi_summary_delta that this transaction
-- sees (ar._summary_fold's rules): one upsert in key order, then the rows
-- left without items removed.
CREATE FUNCTION ar._kpi_summary_fold() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	zero tid[];
BEGIN
	WITH gone AS (
		DELETE FROM ar.kpi_summary_delta x
		 WHERE x.ctid = ANY (ARRAY(SELECT y.ctid FROM ar.kpi_summary_delta y FOR UPDATE SKIP LOCKED))
		RETURNING x.*
	), up AS (
		INSERT INTO ar.kpi_summary AS s (company_id, currency, kind, first_date, second_date, positive, scale,
		                                 items, amount, open_amount, amount_days)
		SELECT g.company_id, g.currency, g.kind, g.first_date, g.second_date, g.positive, g.scale,
		       sum(g.items), sum(g.amount), sum(g.open_amount), sum(g.amount_days)
		  FROM gone g
		 -- a company deleted meanwhile took its rows with it (its ledger was
		 -- empty: its changes sum to nothing)
		 WHERE EXISTS (SELECT FROM ar.company c WHERE c.id = g.company_id)
		 GROUP BY 1, 2, 3, 4, 5, 6, 7
		HAVING sum(g.items) <> 0 OR sum(g.amount) <> 0 OR sum(g.open_amount) <> 0 OR sum(g.amount_days) <> 0
		 ORDER BY 1, 2, 3, 4, 5, 6, 7
		ON CONFLICT (company_id, currency, kind, first_date, second_date, positive, scale)
		DO UPDATE SET items = s.items + EXCLUDED.items, amount = s.amount + EXCLUDED.amount,
		              open_amount = s.open_amount + EXCLUDED.open_amount, amount_days = s.amount_days + EXCLUDED.amount_days
		RETURNING s.ctid, s.items, s.amount, s.open_amount, s.amount_days)
	SELECT array_agg(up.ctid) INTO zero
	  FROM up WHERE up.items = 0 AND up.amount = 0 AND up.open_amount = 0 AND up.amount_days = 0;
	IF zero IS NOT NULL THEN
		DELETE FROM ar.kpi_summary s WHERE s.ctid = ANY (zero);
	END IF;
END $$;

-- The same on a Citus worker: the local shard delta_shard of the
-- distributed ar.kpi_summary_delta folded into the co-located shard of
-- ar.kpi_summary on the same node, the companies read from the node's
-- shard of ar.company (a reference table): no query leaves the node
-- (doc/scale_out.md, blocker 6), its statements run with their names
-- (EXECUTE).  Kept apart from ar._kpi_summary_fold, whose statements keep
-- their cached plans on one node.
CREATE FUNCTION ar._kpi_summary_fold_shard(delta_shard regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	summary_rel regclass := ar._summary_shard(delta_shard, 'ar.kpi_summary_delta', 'ar.kpi_summary');
	company_rel regclass := ar._summary_shard(delta_shard, 'ar.kpi_summary_delta', 'ar.company');
	zero tid[];
BEGIN
	EXECUTE format($q$WITH gone AS (
		DELETE FROM %1$s x WHERE x.ctid = ANY (ARRAY(SELECT y.ctid FROM %1$s y FOR UPDATE SKIP LOCKED))
		RETURNING x.*
	), up AS (
		INSERT INTO %2$s AS s (company_id, currency, kind, first_date, second_date, positive, scale,
		                       items, amount, open_amount, amount_days)
		SELECT g.company_id, g.currency, g.kind, g.first_date, g.second_date, g.positive, g.scale,
		       sum(g.items), sum(g.amount), sum(g.open_amount), sum(g.amount_days)
		  FROM gone g WHERE EXISTS (SELECT FROM %3$s c WHERE c.id = g.company_id)
		 GROUP BY 1, 2, 3, 4, 5, 6, 7
		HAVING sum(g.items) <> 0 OR sum(g.amount) <> 0 OR sum(g.open_amount) <> 0 OR sum(g.amount_days) <> 0
		 ORDER BY 1, 2, 3, 4, 5, 6, 7
		ON CONFLICT (company_id, currency, kind, first_date, second_date, positive, scale)
		DO UPDATE SET items = s.items + EXCLUDED.items, amount = s.amount + EXCLUDED.amount,
		              open_amount = s.open_amount + EXCLUDED.open_amount, amount_days = s.amount_days + EXCLUDED.amount_days
		RETURNING s.ctid, s.items, s.amount, s.open_amount, s.amount_days)
	SELECT array_agg(up.ctid) FROM up
	 WHERE up.items = 0 AND up.amount = 0 AND up.open_amount = 0 AND up.amount_days = 0$q$,
	               delta_shard, summary_rel, company_rel)
	  INTO zero;
	IF zero IS NOT NULL THEN
		EXECUTE format('DELETE FROM %s s WHERE s.ctid = ANY ($1)', summary_rel) USING zero;
	END IF;
END $$;

-- Writes a statement's changes into ar.kpi_summary_delta, or on a Citus
-- worker into its shard delta_rel (registered for the fold at the worker's
-- commit, ar._summary_shard_written), and asks for the fold at commit.
CREATE FUNCTION ar._kpi_delta_add(delta_rel regclass, changes ar.kpi_summary[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF changes IS NULL THEN
		RETURN;
	ELSIF delta_rel = 'ar.kpi_summary_delta'::regclass THEN
		INSERT INTO ar.kpi_summary_delta (company_id, currency, kind, first_date, second_date, positive, scale,
		                                  items, amount, open_amount, amount_days)
		SELECT * FROM unnest(changes);
	ELSE
		EXECUTE format('INSERT INTO %s (company_id, currency, kind, first_date, second_date, positive, scale,
		                               items, amount, open_amount, amount_days)
		                SELECT * FROM unnest($1)', delta_rel) USING changes;
		PERFORM ar._summary_shard_written(delta_rel);
	END IF;
	INSERT INTO ar.summary_fold_request DEFAULT VALUES ON CONFLICT DO NOTHING;
END $$;

-- The invoice triggers: old rows subtracted, new rows added, summed per
-- key.  An update that moves the issue or due date of an invoice with
-- allocations also moves the keys of its allocations (the old and new rows
-- joined by id: a hash join, a few ms per 100,000 rows).  The changes are
-- gathered by queries that name no Citus table (on a shard of a
-- distributed ledger, ar.kpi_summary_delta and ar.allocation by their
-- names are Citus's): on a shard, the co-located shards of
-- ar.kpi_summary_delta and ar.allocation on the node (ar._summary_shard)
-- are written and read instead (doc/scale_out.md, blocker 6).
CREATE FUNCTION ar._kpi_summary_invoice_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	delta_rel regclass := 'ar.kpi_summary_delta';
	allocation_rel regclass := 'ar.allocation';
	changes ar.kpi_summary[];
	moved ar.kpi_summary[];
BEGIN
	IF TG_RELID <> 'ar.invoice'::regclass THEN
		delta_rel := ar._summary_shard(TG_RELID, 'ar.invoice', 'ar.kpi_summary_delta');
		allocation_rel := ar._summary_shard(TG_RELID, 'ar.invoice', 'ar.allocation');
	END IF;
	IF TG_OP = 'INSERT' THEN
		SELECT array_agg(c::ar.kpi_summary) INTO changes
		  FROM (SELECT n.company_id, n.currency, k.kind, k.first_date, k.second_date, k.positive, k.scale,
		               sum(k.items)::bigint, sum(k.amount), sum(k.open_amount), sum(k.amount_days)
		          FROM new_rows n CROSS JOIN LATERAL ar._kpi_invoice_keys(n) k
		         GROUP BY 1, 2, 3, 4, 5, 6, 7) c;
	ELSIF TG_OP = 'DELETE' THEN
		SELECT array_agg(c::ar.kpi_summary) INTO changes
		  FROM (SELECT o.company_id, o.currency, k.kind, k.first_date, k.second_date, k.positive, k.scale,
		               -sum(k.items)::bigint, -sum(k.amount), -sum(k.open_amount), -sum(k.amount_days)
		          FROM old_rows o CROSS JOIN LATERAL ar._kpi_invoice_keys(o) k
		         GROUP BY 1, 2, 3, 4, 5, 6, 7) c;
	ELSE
		SELECT array_agg(g::ar.kpi_summary) INTO changes
		  FROM (SELECT c.company_id, c.currency, c.kind, c.first_date, c.second_date, c.positive, c.scale,
		               sum(c.items)::bigint, sum(c.amount), sum(c.open_amount), sum(c.amount_days)
		          FROM (SELECT n.company_id, n.currency, k.*
		                  FROM new_rows n CROSS JOIN LATERAL ar._kpi_invoice_keys(n) k
		                UNION ALL
		                SELECT o.company_id, o.currency, k.kind, k.first_date, k.second_date, k.positive, k.scale,
		                       -k.items, -k.amount, -k.open_amount, -k.amount_days
		                  FROM old_rows o CROSS JOIN LATERAL ar._kpi_invoice_keys(o) k) c
		         GROUP BY 1, 2, 3, 4, 5, 6, 7
		        HAVING sum(c.items) <> 0 OR sum(c.amount) <> 0 OR sum(c.open_amount) <> 0 OR sum(c.amount_days) <> 0) g;
		-- the allocations of the invoices whose dates moved (seldom: EXECUTE,
		-- with the allocations' relation): their old keys out, their new
		-- keys in
		IF EXISTS (SELECT FROM new_rows n JOIN old_rows o ON o.id = n.id AND o.company_id = n.company_id
		            WHERE (n.issue_date, n.due_date) IS DISTINCT FROM (o.issue_date, o.due_date)
		              AND o.last_allocated_on IS NOT NULL) THEN
			EXECUTE format($q$SELECT array_agg(g::ar.kpi_summary)
			  FROM (SELECT i.company_id, i.currency, k.kind, k.first_date, k.second_date, k.positive, k.scale,
			               sum(k.items * i.sign)::bigint, sum(k.amount * i.sign), sum(k.open_amount), sum(k.amount_days)
			          FROM (SELECT n.id, n.company_id, n.currency, x.sign, x.issue_date, x.due_date, x.amount
			                  FROM new_rows n JOIN old_rows o ON o.id = n.id AND o.company_id = n.company_id
			                 CROSS JOIN LATERAL (VALUES (1, n.issue_date, n.due_date, n.amount),
			                                            (-1, o.issue_date, o.due_date, o.amount)) x (sign, issue_date, due_date, amount)
			                 WHERE (n.issue_date, n.due_date) IS DISTINCT FROM (o.issue_date, o.due_date)
			                   AND o.last_allocated_on IS NOT NULL) i
			          JOIN %s a ON a.invoice_id = i.id AND a.company_id = i.company_id
			         CROSS JOIN LATERAL ar._kpi_allocation_keys(a.allocated_on, a.amount, a.method, i.issue_date, i.due_date, i.amount) k
			         WHERE k.kind <> 'activity'
			         GROUP BY 1, 2, 3, 4, 5, 6, 7) g$q$, allocation_rel)
			  INTO moved;
			changes := changes || moved;
		END IF;
	END IF;
	PERFORM ar._kpi_delta_add(delta_rel, changes);
	RETURN NULL;
END $$;

CREATE TRIGGER invoice_kpi_summary_insert AFTER INSERT ON ar.invoice
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION ar._kpi_summary_invoice_apply();
CREATE TRIGGER invoice_kpi_summary_update AFTER UPDATE ON ar.invoice
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION ar._kpi_summary_invoice_apply();
CREATE TRIGGER invoice_kpi_summary_delete AFTER DELETE ON ar.invoice
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION ar._kpi_summary_invoice_apply();

-- The allocation triggers: the allocations' keys, from their invoices'
-- dates and sign, added (INSERT) or subtracted (DELETE).  The invoices are
-- read first, by a query naming ar.invoice on one node and the co-located
-- shard of ar.invoice on a shard (ar._summary_shard, doc/scale_out.md,
-- blocker 6); the keys are computed by a query that names no Citus table.
CREATE FUNCTION ar._kpi_summary_allocation_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	direction integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
	delta_rel regclass := 'ar.kpi_summary_delta';
	invoices ar._kpi_invoice_dates[];
	changes ar.kpi_summary[];
BEGIN
	IF TG_RELID = 'ar.allocation'::regclass THEN
		SELECT array_agg((i.id, i.company_id, i.currency, i.issue_date, i.due_date, i.amount)::ar._kpi_invoice_dates) INTO invoices
		  FROM ar.invoice i WHERE (i.id, i.company_id) IN (SELECT c.invoice_id, c.company_id FROM changed c);
	ELSE
		delta_rel := ar._summary_shard(TG_RELID, 'ar.allocation', 'ar.kpi_summary_delta');
		EXECUTE format('SELECT array_agg((i.id, i.company_id, i.currency, i.issue_date, i.due_date, i.amount)::ar._kpi_invoice_dates)
		                  FROM %s i WHERE (i.id, i.company_id) IN (SELECT c.invoice_id, c.company_id FROM changed c)',
		               ar._summary_shard(TG_RELID, 'ar.allocation', 'ar.invoice'))
		  INTO invoices;
	END IF;
	SELECT array_agg(g::ar.kpi_summary) INTO changes
	  FROM (SELECT i.company_id, i.currency, k.kind, k.first_date, k.second_date, k.positive, k.scale,
	               sum(k.items)::bigint * direction, sum(k.amount) * direction, 0::numeric, 0::numeric
	          FROM changed c
	          JOIN unnest(invoices) i ON i.id = c.invoice_id AND i.company_id = c.company_id
	         CROSS JOIN LATERAL ar._kpi_allocation_keys(c.allocated_on, c.amount, c.method, i.issue_date, i.due_date, i.amount) k
	         GROUP BY 1, 2, 3, 4, 5, 6, 7) g;
	PERFORM ar._kpi_delta_add(delta_rel, changes);
	RETURN NULL;
END $$;

CREATE TRIGGER allocation_kpi_summary_insert AFTER INSERT ON ar.allocation
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._kpi_summary_allocation_apply();
CREATE TRIGGER allocation_kpi_summary_delete AFTER DELETE ON ar.allocation
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._kpi_summary_allocation_apply();

-- ------------------------------------------------------------- recomputing

-- What ar.kpi_summary should hold, from the ledger.
CREATE FUNCTION ar._kpi_summary_expected()
RETURNS TABLE (company_id bigint, currency char(3), kind text, first_date date, second_date date, positive boolean,
               scale integer, items bigint, amount numeric, open_amount numeric, amount_days numeric)
LANGUAGE sql STABLE AS $$
	SELECT k.company_id, k.currency, k.kind, k.first_date, k.second_date, k.positive, k.scale,
	       sum(k.items)::bigint, sum(k.amount), sum(k.open_amount), sum(k.amount_days)
	  FROM (SELECT i.company_id, i.currency, k.*
	          FROM ar.invoice i CROSS JOIN LATERAL ar._kpi_invoice_keys(ROW(i.*)::ar.invoice) k /*where company i*/
	        UNION ALL
	        SELECT i.company_id, i.currency, k.*
	          FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
	         CROSS JOIN LATERAL ar._kpi_allocation_keys(a.allocated_on, a.amount, a.method, i.issue_date, i.due_date, i.amount) k
	         /*where company a*/ /*and company i*/) k
	 GROUP BY 1, 2, 3, 4, 5, 6, 7
$$;

-- ar.kpi_summary with the changes waiting that the caller sees.
CREATE FUNCTION ar._kpi_summary_current()
RETURNS TABLE (company_id bigint, currency char(3), kind text, first_date date, second_date date, positive boolean,
               scale integer, items bigint, amount numeric, open_amount numeric, amount_days numeric)
LANGUAGE sql STABLE AS $$
	SELECT u.company_id, u.currency, u.kind, u.first_date, u.second_date, u.positive, u.scale,
	       sum(u.items)::bigint, sum(u.amount), sum(u.open_amount), sum(u.amount_days)
	  FROM (SELECT s.company_id, s.currency, s.kind, s.first_date, s.second_date, s.positive, s.scale,
	               s.items, s.amount, s.open_amount, s.amount_days
	          FROM ar.kpi_summary s /*where company s*/
	        UNION ALL
	        SELECT d.company_id, d.currency, d.kind, d.first_date, d.second_date, d.positive, d.scale,
	               d.items, d.amount, d.open_amount, d.amount_days
	          FROM ar.kpi_summary_delta d /*where company d*/) u
	 GROUP BY 1, 2, 3, 4, 5, 6, 7
	HAVING sum(u.items) <> 0 OR sum(u.amount) <> 0 OR sum(u.open_amount) <> 0 OR sum(u.amount_days) <> 0
$$;

-- The rows that differ (ar.check_summaries reports them).
CREATE FUNCTION ar._kpi_summary_differences()
RETURNS TABLE (company_id bigint, currency char(3), kind text, first_date date, second_date date, positive boolean,
               scale integer, stored numeric, expected numeric, stored_items bigint, expected_items bigint)
LANGUAGE sql STABLE AS $$
	SELECT coalesce(s.company_id, e.company_id), coalesce(s.currency, e.currency), coalesce(s.kind, e.kind),
	       coalesce(s.first_date, e.first_date), coalesce(s.second_date, e.second_date),
	       coalesce(s.positive, e.positive), coalesce(s.scale, e.scale),
	       s.amount, e.amount, s.items, e.items
	  FROM ar._kpi_summary_current() s
	  FULL JOIN ar._kpi_summary_expected() e
	         ON (e.company_id, e.currency, e.kind, e.first_date, e.second_date, e.positive, e.scale)
	          = (s.company_id, s.currency, s.kind, s.first_date, s.second_date, s.positive, s.scale)
	 WHERE (s.items, s.amount, s.open_amount, s.amount_days) IS DISTINCT FROM (e.items, e.amount, e.open_amount, e.amount_days)
$$;

-- Recomputes ar.kpi_summary (ar.rebuild_summaries, which holds the lock on
-- ar.invoice that keeps every ledger write out meanwhile); on a distributed
-- ledger per company, routed (ar._summaries_insert).
CREATE FUNCTION ar._kpi_summary_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '256MB' AS $$
BEGIN
	DELETE FROM ar.kpi_summary_delta;
	DELETE FROM ar.kpi_summary;
	RETURN ar._summaries_insert('ar.kpi_summary', 'SELECT * FROM ar._kpi_summary_expected() e ORDER BY 1, 2, 3, 4, 5, 6, 7');
END $$;

-- ------------------------------------------------------------- reading

-- Whether the summaries give ar.kpis on as_of (default company, its
-- currency): no allocation and no cancellation dated after it, on a ledger
-- that keeps them (one node, or a distributed ledger whose KPI summary
-- tables are distributed with it).  PL/pgSQL, the company read first and
-- bound: on Citus the query is routed to the company's shards.
CREATE FUNCTION ar._kpi_summary_serves(as_of date) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
	co bigint;
	cur char(3);
BEGIN
	IF as_of NOT BETWEEN DATE '1900-01-01' AND DATE '2200-12-31'
	   OR ar._ledger_distributed()
	      AND NOT ar._colocated_with_ledger(ARRAY['ar.kpi_summary'::regclass, 'ar.kpi_summary_delta'::regclass]) THEN
		RETURN false;
	END IF;
	SELECT c.id, c.currency INTO co, cur FROM ar.company c WHERE c.is_default;
	RETURN NOT EXISTS (
	       SELECT 1
	         FROM (SELECT s.kind, s.first_date, s.second_date, s.positive, s.scale, s.items
	                 FROM ar.kpi_summary s
	                WHERE s.company_id = co AND s.currency = cur
	                  AND ((s.kind = 'activity' AND s.first_date > as_of) OR (s.kind = 'cancelled' AND s.second_date > as_of))
	               UNION ALL
	               SELECT d.kind, d.first_date, d.second_date, d.positive, d.scale, d.items
	                 FROM ar.kpi_summary_delta d
	                WHERE d.company_id = co AND d.currency = cur
	                  AND ((d.kind = 'activity' AND d.first_date > as_of) OR (d.kind = 'cancelled' AND d.second_date > as_of))) x
	        GROUP BY x.kind, x.first_date, x.second_date, x.positive, x.scale
	       HAVING sum(x.items) > 0);
END $$;

-- ar.receivables_kpis' figures on as_of over period_days from the
-- summaries, for a date they serve: the 33 sums of kpi_transfn (src/kpi.c)
-- at the scale it would reach (the largest scale of the amounts it would
-- read: amount, open amounts on as_of and on the period start, write-offs),
-- as a state in its text form, through the same final function.  PL/pgSQL,
-- the company read first and bound (routed on Citus, as above).
CREATE FUNCTION ar._kpi_figures_summary(as_of date, period_days integer)
RETURNS ar.kpi_figures
LANGUAGE plpgsql STABLE AS $$
DECLARE
	co bigint;
	cur char(3);
	f record;
BEGIN
	SELECT c.id, c.currency INTO co, cur FROM ar.company c WHERE c.is_default;
	WITH r AS (
		SELECT s.kind, s.first_date, s.second_date, s.positive, s.scale, s.items, s.amount, s.open_amount, s.amount_days
		  FROM ar.kpi_summary s
		 WHERE s.company_id = co AND s.currency = cur AND s.kind <> 'activity'
		UNION ALL
		SELECT d.kind, d.first_date, d.second_date, d.positive, d.scale, d.items, d.amount, d.open_amount, d.amount_days
		  FROM ar.kpi_summary_delta d
		 WHERE d.company_id = co AND d.currency = cur AND d.kind <> 'activity'
	), p AS (
		SELECT as_of AS t, as_of - period_days AS s,
		       extract(year FROM as_of)::integer * 12 + extract(month FROM as_of)::integer AS t_month
	), sums AS (
		SELECT sum(r.open_amount) FILTER (WHERE r.kind = 'invoice' AND r.first_date <= p.t) AS ar_end,
		       sum(r.open_amount) FILTER (WHERE r.kind = 'invoice' AND r.first_date <= p.t AND r.second_date >= p.t) AS ar_current_end,
		       coalesce(sum(r.amount) FILTER (WHERE r.kind = 'invoice' AND r.first_date <= p.s), 0)
		         + coalesce(sum(r.amount) FILTER (WHERE r.kind = 'cancelled' AND r.first_date <= p.s AND r.second_date > p.s), 0)
		         + coalesce(sum(r.amount) FILTER (WHERE r.kind = 'flow' AND r.first_date <= p.s), 0) AS ar_start,
		       sum(r.amount) FILTER (WHERE r.kind = 'invoice' AND r.first_date > p.s AND r.first_date <= p.t) AS sales,
		       sum(r.amount) FILTER (WHERE r.kind = 'invoice' AND r.positive AND r.second_date > p.s AND r.second_date <= p.t) AS due,
		       coalesce(sum(r.amount - r.open_amount) FILTER (WHERE r.kind = 'invoice' AND r.positive
		                                                          AND r.second_date > p.s AND r.second_date <= p.t), 0)
		         - coalesce(sum(r.amount) FILTER (WHERE r.kind = 'write_off' AND r.first_date > p.s AND r.first_date <= p.t
		                                            AND r.second_date > p.s), 0) AS collected,
		       sum(r.amount) FILTER (WHERE r.kind = 'settled' AND r.first_date > p.s AND r.first_date <= p.t
		                               AND r.second_date <= p.s) AS settled,
		       sum(r.amount_days) FILTER (WHERE r.kind = 'settled' AND r.first_date > p.s AND r.first_date <= p.t
		                                    AND r.second_date <= p.s) AS settled_days,
		       sum(r.open_amount * (p.t - r.second_date)) FILTER (WHERE r.kind = 'invoice' AND r.first_date <= p.t
		                                                            AND r.second_date < p.t) AS overdue_days,
		       sum(r.items) FILTER (WHERE r.kind IN ('invoice', 'cancelled') AND r.first_date <= p.t) AS invoices
		  FROM r CROSS JOIN p
	), months AS (
		SELECT array_agg(coalesce(m.amount, 0) ORDER BY g.m) AS amounts
		  FROM generate_series(0, 23) g (m)
		  LEFT JOIN (SELECT p.t_month - (extract(year FROM r.first_date)::integer * 12 + extract(month FROM r.first_date)::integer) AS m,
		                    sum(r.amount) AS amount
		               FROM r CROSS JOIN p
		              WHERE r.kind = 'invoice' AND r.first_date <= p.t AND r.first_date > (p.t - 800)
		              GROUP BY 1) m ON m.m = g.m
	), sc AS (
		-- the scales present (items left under the key) among the rows the
		-- aggregate reads: non-cancelled invoices issued by as_of, invoices
		-- cancelled in the period (their amount is their open amount on its
		-- start)
		SELECT coalesce(max(x.scale), 0) AS scale
		  FROM (SELECT r.scale
		          FROM r CROSS JOIN p
		         WHERE r.first_date <= p.t
		           AND (r.kind = 'invoice' OR r.kind = 'cancelled' AND r.second_date > p.s)
		         GROUP BY r.kind, r.scale
		        HAVING sum(r.items) > 0) x
	)
	SELECT ar.kpi_final(CASE WHEN coalesce(s.invoices, 0) > 0 THEN
	           format('(%s,%s,%s)', to_char(as_of, 'YYYY-MM-DD'), period_days,
	                  (SELECT string_agg(round(v.x, sc.scale)::text, ',' ORDER BY v.o)
	                     FROM unnest(ARRAY[s.ar_end, s.ar_current_end, s.ar_start, s.sales, s.due, s.collected,
	                                       s.settled, s.settled_days, s.overdue_days] || months.amounts)
	                          WITH ORDINALITY v0 (x0, o)
	                    CROSS JOIN LATERAL (SELECT coalesce(v0.x0, 0) AS x, v0.o) v))::ar.kpi_state END) AS figures
	  INTO f
	  FROM sums s CROSS JOIN months CROSS JOIN sc;
	RETURN f.figures;
END $$;

-- The full computation on a distributed ledger (ar._kpi_figures, when
-- ar._ledger_distributed()): the query of ar._kpi_figures_full (its text,
-- a SQL function's: refused by Citus as it is, doc/scale_out.md, blocker 2)
-- run from here with the arguments bound and every company table it reads
-- restricted to the default company by ar._company_sql, so that Citus
-- routes it whole to the company's shards; the same figures.
CREATE FUNCTION ar._kpi_figures_routed(as_of date, period_days integer) RETURNS ar.kpi_figures
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	co bigint;
	q text := (SELECT p.prosrc FROM pg_catalog.pg_proc p
	            WHERE p.oid = 'ar._kpi_figures_full(pg_catalog.date, pg_catalog.int4)'::pg_catalog.regprocedure);
	f record;
BEGIN
	-- no default company: company 0, which owns nothing (the full
	-- computation's join with the default company finds no row either)
	SELECT coalesce(max(c.id), 0) INTO co FROM ar.company c WHERE c.is_default;
	q := regexp_replace(regexp_replace(q, E'\\mas_of\\M', '$1', 'g'), E'\\mperiod_days\\M', '$2', 'g');
	EXECUTE format('SELECT q.figures FROM (%s) q (figures)', ar._company_sql(q, co::text)) INTO f USING as_of, period_days;
	RETURN f.figures;
END $$;

REVOKE ALL ON FUNCTION ar._kpi_summary_fold(), ar._kpi_summary_fold_shard(regclass), ar._kpi_delta_add(regclass, ar.kpi_summary[]),
                       ar._kpi_figures_routed(date, integer),
                       ar._kpi_summary_invoice_apply(), ar._kpi_summary_allocation_apply(),
                       ar._kpi_summary_expected(), ar._kpi_summary_current(), ar._kpi_summary_differences(),
                       ar._kpi_summary_rebuild(), ar._kpi_summary_serves(date), ar._kpi_figures_summary(date, integer)
	FROM PUBLIC;
GRANT SELECT ON ar.kpi_summary, ar.kpi_summary_delta TO ar_reader;
GRANT EXECUTE ON FUNCTION ar._kpi_summary_serves(date), ar._kpi_figures_summary(date, integer), ar._kpi_figures_routed(date, integer)
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar._kpi_summary_expected(), ar._kpi_summary_current(), ar._kpi_summary_differences()
	TO ar_admin;

-- Filled from the ledger there is (an upgrade from 0.1.0).
INSERT INTO ar.kpi_summary SELECT * FROM ar._kpi_summary_expected() ORDER BY 1, 2, 3, 4, 5, 6, 7;
