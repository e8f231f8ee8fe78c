-- ---------------------------------------------------------------------------
-- Dashboard summaries (issue 17, doc/dashboards.md): the open amounts of the
-- ledger summed per company, customer, currency and due date, maintained
-- by statement-level triggers on ar.invoice as the ledger changes, so that
-- ar.aging_report and the aging views answer from a few rows per customer
-- instead of every open invoice.
--
--   ar.open_item_summary   today's open amounts per company, customer,
--                          currency, due date and kind (invoice or credit
--                          note), with the number of open items;
--   ar.aging_summary       the same per company, customer and currency in
--                          the five aging buckets as of one date, the
--                          summaries' aging date (ar.summary_state), moved
--                          forward by ar.age_summaries() (daily);
--   ar.summary_state       that date.
--
-- The aging on a date near the aging date is ar.aging_summary, plus the
-- rows of ar.open_item_summary whose bucket differs between the two dates
-- (due dates in four windows as long as the distance between them), plus
-- the invoices whose open amount on the date differs from today's: issued
-- after it, with allocations dated after it, cancelled after it (the
-- parts of ar.open_items, through the same indexes).  Equal to the cent,
-- row for row, to the full computation (ar._aging_report_full), which
-- answers for dates further away.
--
-- Every invoice change goes through ar.invoice (allocations update the
-- open amounts there), so three triggers there keep both tables exact;
-- they write as ar_definer (SECURITY DEFINER): no role may write the
-- summaries, readers read them through row-level security like the ledger.
-- They are not dumped: a restore replays the ledger through the same
-- triggers.  ar.check_summaries() compares them with a recomputation,
-- ar.rebuild_summaries() recomputes them.
--
-- src/upgrade/0.1.0--0.2.0/91_dashboard_summary.sql is this piece (a
-- symbolic link).
-- ---------------------------------------------------------------------------

CREATE TABLE ar.open_item_summary (
	company_id   bigint NOT NULL REFERENCES ar.company,
	customer_id  bigint NOT NULL,
	currency     char(3) NOT NULL,
	due_date     date NOT NULL,
	credit_note  boolean NOT NULL,
	open_amount  numeric NOT NULL,
	items        integer NOT NULL,
	PRIMARY KEY (company_id, customer_id, currency, due_date, credit_note)
);
CREATE INDEX open_item_summary_due ON ar.open_item_summary (due_date);
COMMENT ON TABLE ar.open_item_summary IS
'Open amounts of the ledger today (ar.invoice.open_amount, cancelled invoices none) per company, customer, currency, due date and kind: maintained by the triggers of ar.invoice, read by ar.aging_report; rows without open items are removed.';
COMMENT ON COLUMN ar.open_item_summary.company_id IS 'Company of the invoices.';
COMMENT ON COLUMN ar.open_item_summary.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.open_item_summary.currency IS 'Currency of the invoices.';
COMMENT ON COLUMN ar.open_item_summary.due_date IS 'Due date of the invoices.';
COMMENT ON COLUMN ar.open_item_summary.credit_note IS 'true: credit notes (negative amounts), false: invoices.';
COMMENT ON COLUMN ar.open_item_summary.open_amount IS 'Sum of their open amounts today.';
COMMENT ON COLUMN ar.open_item_summary.items IS 'How many of them are open today.';

CREATE TABLE ar.aging_summary (
	company_id         bigint NOT NULL REFERENCES ar.company,
	customer_id        bigint NOT NULL,
	currency           char(3) NOT NULL,
	not_due            numeric NOT NULL,
	d1_30              numeric NOT NULL,
	d31_60             numeric NOT NULL,
	d61_90             numeric NOT NULL,
	d91_plus           numeric NOT NULL,
	total              numeric NOT NULL,
	credit_notes       numeric NOT NULL,
	items              integer NOT NULL,
	credit_note_items  integer NOT NULL,
	-- the parts of four buckets that move to the next one the day after
	-- the aging date: due on it, 30, 60 and 90 days before it
	moving_not_due     numeric NOT NULL,
	moving_d1_30       numeric NOT NULL,
	moving_d31_60      numeric NOT NULL,
	moving_d61_90      numeric NOT NULL,
	moving_items       integer NOT NULL,
	PRIMARY KEY (company_id, customer_id, currency)
);
COMMENT ON TABLE ar.aging_summary IS
'Open amounts of the ledger today per company, customer and currency in the aging buckets as of ar.summary_state.aged_on: maintained by the triggers of ar.invoice, re-aged by ar.age_summaries(), read by ar.aging_report.';
COMMENT ON COLUMN ar.aging_summary.company_id IS 'Company of the invoices.';
COMMENT ON COLUMN ar.aging_summary.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.aging_summary.currency IS 'Currency of the invoices.';
COMMENT ON COLUMN ar.aging_summary.not_due IS 'Open amount not due on the aging date.';
COMMENT ON COLUMN ar.aging_summary.d1_30 IS 'Open amount 1 to 30 days past due on the aging date.';
COMMENT ON COLUMN ar.aging_summary.d31_60 IS 'Open amount 31 to 60 days past due on the aging date.';
COMMENT ON COLUMN ar.aging_summary.d61_90 IS 'Open amount 61 to 90 days past due on the aging date.';
COMMENT ON COLUMN ar.aging_summary.d91_plus IS 'Open amount 91 days or more past due on the aging date.';
COMMENT ON COLUMN ar.aging_summary.total IS 'Open amount in all buckets.';
COMMENT ON COLUMN ar.aging_summary.credit_notes IS 'Open credit notes (negative), also in the buckets.';
COMMENT ON COLUMN ar.aging_summary.items IS 'Open invoices and credit notes.';
COMMENT ON COLUMN ar.aging_summary.credit_note_items IS 'Of which credit notes.';
COMMENT ON COLUMN ar.aging_summary.moving_not_due IS 'Of not_due, the open amount due on the aging date (1 day past due the day after).';
COMMENT ON COLUMN ar.aging_summary.moving_d1_30 IS 'Of d1_30, the open amount due 30 days before the aging date (31 days past due the day after).';
COMMENT ON COLUMN ar.aging_summary.moving_d31_60 IS 'Of d31_60, the open amount due 60 days before the aging date (61 days past due the day after).';
COMMENT ON COLUMN ar.aging_summary.moving_d61_90 IS 'Of d61_90, the open amount due 90 days before the aging date (91 days past due the day after).';
COMMENT ON COLUMN ar.aging_summary.moving_items IS 'Open items due on the aging date, 30, 60 or 90 days before it (0: the four moving amounts are 0).';

CREATE TABLE ar.summary_state (
	singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	aged_on    date NOT NULL
);
INSERT INTO ar.summary_state (aged_on) VALUES (current_date);
COMMENT ON TABLE ar.summary_state IS 'One row: the date ar.aging_summary is aged on (ar.age_summaries()).';
COMMENT ON COLUMN ar.summary_state.singleton IS 'Always true: the table has one row.';
COMMENT ON COLUMN ar.summary_state.aged_on IS 'ar.aging_summary holds the buckets as of this date.';

-- What the triggers add, until the transaction that wrote it commits: the
-- summary rows are locked only then, for a moment (ar._summary_fold), so
-- that writers never wait for one another's open transactions over them
-- (ar.reconcile skips what others hold, it does not wait).  Readers add the
-- rows they see (their own transaction's) to the summaries.  A transaction
-- in REPEATABLE READ or SERIALIZABLE leaves its rows committed here (its
-- snapshot may not update rows changed since it began); the next fold
-- takes them.  No foreign key: a row lives as long as a transaction, and
-- its company cannot go while the company's invoices are there.
CREATE TABLE ar.summary_delta (
	company_id   bigint NOT NULL,
	customer_id  bigint NOT NULL,
	currency     char(3) NOT NULL,
	due_date     date NOT NULL,
	credit_note  boolean NOT NULL,
	open_amount  numeric NOT NULL,
	items        integer NOT NULL,
	txid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);
COMMENT ON TABLE ar.summary_delta IS
'Changes of ar.open_item_summary written by a transaction and not folded into the summaries yet (at its commit, ar._summary_fold): readers of the summaries add the rows they see.';
COMMENT ON COLUMN ar.summary_delta.company_id IS 'Company of the invoices.';
COMMENT ON COLUMN ar.summary_delta.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.summary_delta.currency IS 'Currency of the invoices.';
COMMENT ON COLUMN ar.summary_delta.due_date IS 'Due date of the invoices.';
COMMENT ON COLUMN ar.summary_delta.credit_note IS 'true: credit notes, false: invoices.';
COMMENT ON COLUMN ar.summary_delta.open_amount IS 'Change of the sum of their open amounts.';
COMMENT ON COLUMN ar.summary_delta.items IS 'Change of the number of open items.';
COMMENT ON COLUMN ar.summary_delta.txid IS 'The transaction that wrote it.';

-- One row per transaction that wrote summary changes: its deferred
-- constraint trigger folds them at commit.
CREATE TABLE ar.summary_fold_request (
	txid  xid8 PRIMARY KEY DEFAULT pg_current_xact_id()
);
COMMENT ON TABLE ar.summary_fold_request IS 'Transactions whose summary changes (ar.summary_delta) are folded into the summaries at their commit.';
COMMENT ON COLUMN ar.summary_fold_request.txid IS 'The transaction.';

-- the invoices open today and issued after a date (the aging of a date
-- takes them out)
CREATE INDEX invoice_open_issue ON ar.invoice (issue_date) WHERE open_amount <> 0;

-- Adds per-key deltas of open amounts and open items to both summaries, in
-- key order (concurrent writers lock the rows they share in the same
-- order), and removes the rows left without open items.  The aging
-- buckets are those of the aging date, read after the lock on
-- ar.aging_summary that ar.age_summaries() waits for.
CREATE FUNCTION ar._summary_add(k_company bigint[], k_customer bigint[], k_currency text[], k_due date[],
                                k_credit boolean[], k_amount numeric[], k_items integer[])
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	aged date;
	zero tid[];
BEGIN
	LOCK TABLE ar.aging_summary IN ROW EXCLUSIVE MODE;
	IF current_setting('transaction_isolation') = 'read committed' THEN
		SELECT s.aged_on INTO aged FROM ar.summary_state s;
	ELSE
		-- a snapshot older than a re-aging that committed since fails here
		SELECT s.aged_on INTO aged FROM ar.summary_state s FOR SHARE;
	END IF;

	WITH up AS (
		INSERT INTO ar.open_item_summary AS s (company_id, customer_id, currency, due_date, credit_note, open_amount, items)
		SELECT d.company_id, d.customer_id, d.currency, d.due_date, d.credit_note, d.amount, d.items
		  FROM unnest(k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items)
		       AS d(company_id, customer_id, currency, due_date, credit_note, amount, items)
		 ORDER BY 1, 2, 3, 4, 5
		ON CONFLICT (company_id, customer_id, currency, due_date, credit_note)
		DO UPDATE SET open_amount = s.open_amount + EXCLUDED.open_amount, items = s.items + EXCLUDED.items
		RETURNING s.ctid, s.open_amount, s.items)
	SELECT array_agg(up.ctid) INTO zero FROM up WHERE up.items = 0 AND up.open_amount = 0;
	-- the rows left without open items, by their place (this transaction
	-- holds them since the upsert: nobody moved them)
	IF zero IS NOT NULL THEN
		DELETE FROM ar.open_item_summary s WHERE s.ctid = ANY (zero);
	END IF;

	WITH up AS (
		-- an empty bucket adds a zero at the scale of the others (sum - sum),
		-- so that the five buckets and the total of a row share one scale,
		-- as the ar.aging aggregate gives them; numeric sums, not ar.aging:
		-- a ledger write never fails because of the summary (ar.aging sums
		-- at most 38 digits, an amount planted beyond the bounds has more)
		INSERT INTO ar.aging_summary AS s (company_id, customer_id, currency, not_due, d1_30, d31_60, d61_90, d91_plus,
		                                   total, credit_notes, items, credit_note_items,
		                                   moving_not_due, moving_d1_30, moving_d31_60, moving_d61_90, moving_items)
		SELECT d.company_id, d.customer_id, d.currency,
		       coalesce(sum(d.amount) FILTER (WHERE aged - d.due_date <= 0), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE aged - d.due_date BETWEEN 1 AND 30), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE aged - d.due_date BETWEEN 31 AND 60), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE aged - d.due_date BETWEEN 61 AND 90), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE aged - d.due_date > 90), sum(d.amount) - sum(d.amount)),
		       sum(d.amount),
		       coalesce(sum(d.amount) FILTER (WHERE d.credit_note), 0),
		       sum(d.items), coalesce(sum(d.items) FILTER (WHERE d.credit_note), 0),
		       coalesce(sum(d.amount) FILTER (WHERE d.due_date = aged), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE d.due_date = aged - 30), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE d.due_date = aged - 60), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE d.due_date = aged - 90), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.items) FILTER (WHERE d.due_date IN (aged, aged - 30, aged - 60, aged - 90)), 0)
		  FROM unnest(k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items)
		       AS d(company_id, customer_id, currency, due_date, credit_note, amount, items)
		 GROUP BY 1, 2, 3
		 ORDER BY 1, 2, 3
		ON CONFLICT (company_id, customer_id, currency)
		DO UPDATE SET not_due = s.not_due + EXCLUDED.not_due, d1_30 = s.d1_30 + EXCLUDED.d1_30,
		              d31_60 = s.d31_60 + EXCLUDED.d31_60, d61_90 = s.d61_90 + EXCLUDED.d61_90,
		              d91_plus = s.d91_plus + EXCLUDED.d91_plus, total = s.total + EXCLUDED.total,
		              credit_notes = s.credit_notes + EXCLUDED.credit_notes,
		              items = s.items + EXCLUDED.items, credit_note_items = s.credit_note_items + EXCLUDED.credit_note_items,
		              moving_not_due = s.moving_not_due + EXCLUDED.moving_not_due,
		              moving_d1_30 = s.moving_d1_30 + EXCLUDED.moving_d1_30,
		              moving_d31_60 = s.moving_d31_60 + EXCLUDED.moving_d31_60,
		              moving_d61_90 = s.moving_d61_90 + EXCLUDED.moving_d61_90,
		              moving_items = s.moving_items + EXCLUDED.moving_items
		RETURNING s.ctid, s.*)
	SELECT array_agg(up.ctid) INTO zero
	  FROM up
	 WHERE up.items = 0 AND up.not_due = 0 AND up.d1_30 = 0 AND up.d31_60 = 0 AND up.d61_90 = 0
	   AND up.d91_plus = 0 AND up.total = 0 AND up.credit_notes = 0
	   AND up.moving_not_due = 0 AND up.moving_d1_30 = 0 AND up.moving_d31_60 = 0 AND up.moving_d61_90 = 0
	   AND up.moving_items = 0;
	IF zero IS NOT NULL THEN
		DELETE FROM ar.aging_summary s WHERE s.ctid = ANY (zero);
	END IF;
END $$;

-- The same on a Citus worker, into the co-located shards open_rel and
-- aging_rel of ar.open_item_summary and ar.aging_summary, the aging date
-- read from state_rel, the node's shard of ar.summary_state
-- (ar._summary_fold_shard): the statements of ar._summary_add run with
-- those names (EXECUTE).  Kept apart from it: on one node its statements
-- keep their cached plans (through EXECUTE, planned at every commit, a
-- transaction writing one invoice then one allocation took up to 2.3 x
-- as long).
CREATE FUNCTION ar._summary_add_shard(k_company bigint[], k_customer bigint[], k_currency text[], k_due date[],
                                      k_credit boolean[], k_amount numeric[], k_items integer[],
                                      open_rel regclass, aging_rel regclass, state_rel regclass)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	aged date;
	zero tid[];
BEGIN
	EXECUTE format('LOCK TABLE %s IN ROW EXCLUSIVE MODE', aging_rel);
	IF current_setting('transaction_isolation') = 'read committed' THEN
		EXECUTE format('SELECT s.aged_on FROM %s s', state_rel) INTO aged;
	ELSE
		-- a snapshot older than a re-aging that committed since fails here
		EXECUTE format('SELECT s.aged_on FROM %s s FOR SHARE', state_rel) INTO aged;
	END IF;

	EXECUTE format($q$WITH up AS (
		INSERT INTO %s AS s (company_id, customer_id, currency, due_date, credit_note, open_amount, items)
		SELECT d.company_id, d.customer_id, d.currency, d.due_date, d.credit_note, d.amount, d.items
		  FROM unnest($1, $2, $3, $4, $5, $6, $7)
		       AS d(company_id, customer_id, currency, due_date, credit_note, amount, items)
		 ORDER BY 1, 2, 3, 4, 5
		ON CONFLICT (company_id, customer_id, currency, due_date, credit_note)
		DO UPDATE SET open_amount = s.open_amount + EXCLUDED.open_amount, items = s.items + EXCLUDED.items
		RETURNING s.ctid, s.open_amount, s.items)
	SELECT array_agg(up.ctid) FROM up WHERE up.items = 0 AND up.open_amount = 0$q$, open_rel)
	  INTO zero USING k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items;
	-- the rows left without open items, by their place (this transaction
	-- holds them since the upsert: nobody moved them)
	IF zero IS NOT NULL THEN
		EXECUTE format('DELETE FROM %s s WHERE s.ctid = ANY ($1)', open_rel) USING zero;
	END IF;

	EXECUTE format($q$WITH up AS (
		-- an empty bucket adds a zero at the scale of the others (sum - sum),
		-- so that the five buckets and the total of a row share one scale,
		-- as the ar.aging aggregate gives them; numeric sums, not ar.aging:
		-- a ledger write never fails because of the summary (ar.aging sums
		-- at most 38 digits, an amount planted beyond the bounds has more)
		INSERT INTO %s AS s (company_id, customer_id, currency, not_due, d1_30, d31_60, d61_90, d91_plus,
		                                   total, credit_notes, items, credit_note_items,
		                                   moving_not_due, moving_d1_30, moving_d31_60, moving_d61_90, moving_items)
		SELECT d.company_id, d.customer_id, d.currency,
		       coalesce(sum(d.amount) FILTER (WHERE $8 - d.due_date <= 0), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE $8 - d.due_date BETWEEN 1 AND 30), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE $8 - d.due_date BETWEEN 31 AND 60), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE $8 - d.due_date BETWEEN 61 AND 90), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE $8 - d.due_date > 90), sum(d.amount) - sum(d.amount)),
		       sum(d.amount),
		       coalesce(sum(d.amount) FILTER (WHERE d.credit_note), 0),
		       sum(d.items), coalesce(sum(d.items) FILTER (WHERE d.credit_note), 0),
		       coalesce(sum(d.amount) FILTER (WHERE d.due_date = $8), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE d.due_date = $8 - 30), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE d.due_date = $8 - 60), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.amount) FILTER (WHERE d.due_date = $8 - 90), sum(d.amount) - sum(d.amount)),
		       coalesce(sum(d.items) FILTER (WHERE d.due_date IN ($8, $8 - 30, $8 - 60, $8 - 90)), 0)
		  FROM unnest($1, $2, $3, $4, $5, $6, $7)
		       AS d(company_id, customer_id, currency, due_date, credit_note, amount, items)
		 GROUP BY 1, 2, 3
		 ORDER BY 1, 2, 3
		ON CONFLICT (company_id, customer_id, currency)
		DO UPDATE SET not_due = s.not_due + EXCLUDED.not_due, d1_30 = s.d1_30 + EXCLUDED.d1_30,
		              d31_60 = s.d31_60 + EXCLUDED.d31_60, d61_90 = s.d61_90 + EXCLUDED.d61_90,
		              d91_plus = s.d91_plus + EXCLUDED.d91_plus, total = s.total + EXCLUDED.total,
		              credit_notes = s.credit_notes + EXCLUDED.credit_notes,
		              items = s.items + EXCLUDED.items, credit_note_items = s.credit_note_items + EXCLUDED.credit_note_items,
		              moving_not_due = s.moving_not_due + EXCLUDED.moving_not_due,
		              moving_d1_30 = s.moving_d1_30 + EXCLUDED.moving_d1_30,
		              moving_d31_60 = s.moving_d31_60 + EXCLUDED.moving_d31_60,
		              moving_d61_90 = s.moving_d61_90 + EXCLUDED.moving_d61_90,
		              moving_items = s.moving_items + EXCLUDED.moving_items
		RETURNING s.ctid, s.*)
	SELECT array_agg(up.ctid)
	  FROM up
	 WHERE up.items = 0 AND up.not_due = 0 AND up.d1_30 = 0 AND up.d31_60 = 0 AND up.d61_90 = 0
	   AND up.d91_plus = 0 AND up.total = 0 AND up.credit_notes = 0
	   AND up.moving_not_due = 0 AND up.moving_d1_30 = 0 AND up.moving_d31_60 = 0 AND up.moving_d61_90 = 0
	   AND up.moving_items = 0$q$, aging_rel)
	  INTO zero USING k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items, aged;
	IF zero IS NOT NULL THEN
		EXECUTE format('DELETE FROM %s s WHERE s.ctid = ANY ($1)', aging_rel) USING zero;
	END IF;
END $$;

-- Folds the changes waiting in ar.summary_delta that this transaction sees
-- (its own, and those committed by transactions that could not fold them)
-- into the summaries, and removes them; those another fold holds are left
-- to it.  The lock on ar.aging_summary comes first: ar.age_summaries,
-- which holds it, then finds no fold halfway.
CREATE FUNCTION ar._summary_fold() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	k_company bigint[];
	k_customer bigint[];
	k_currency text[];
	k_due date[];
	k_credit boolean[];
	k_amount numeric[];
	k_items integer[];
BEGIN
	LOCK TABLE ar.aging_summary IN ROW EXCLUSIVE MODE;
	WITH gone AS (
		DELETE FROM ar.summary_delta x
		 WHERE x.ctid = ANY (ARRAY(SELECT y.ctid FROM ar.summary_delta y FOR UPDATE SKIP LOCKED))
		RETURNING x.*)
	SELECT array_agg(d.company_id), array_agg(d.customer_id), array_agg(d.currency), array_agg(d.due_date),
	       array_agg(d.credit_note), array_agg(d.amount), array_agg(d.items)
	  INTO k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items
	  FROM (SELECT g.company_id, g.customer_id, g.currency::text AS currency, g.due_date, g.credit_note,
	               sum(g.open_amount) AS amount, sum(g.items)::integer AS items
	          FROM gone g
	         GROUP BY 1, 2, 3, 4, 5
	        HAVING sum(g.open_amount) <> 0 OR sum(g.items) <> 0) d;
	IF k_company IS NOT NULL THEN
		PERFORM ar._summary_add(k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items);
	END IF;
END $$;

-- The same on a Citus worker: the local shard delta_shard of the
-- distributed ar.summary_delta folded into the co-located shards of the
-- summaries on the same node (no query leaves the node: doc/scale_out.md,
-- blocker 6), its statements run with their names (EXECUTE).
CREATE FUNCTION ar._summary_fold_shard(delta_shard regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	delta_rel regclass := delta_shard;
	open_rel regclass := ar._summary_shard(delta_shard, 'ar.summary_delta', 'ar.open_item_summary');
	aging_rel regclass := ar._summary_shard(delta_shard, 'ar.summary_delta', 'ar.aging_summary');
	state_rel regclass := ar._summary_shard(delta_shard, 'ar.summary_delta', 'ar.summary_state');
	k_company bigint[];
	k_customer bigint[];
	k_currency text[];
	k_due date[];
	k_credit boolean[];
	k_amount numeric[];
	k_items integer[];
BEGIN
	EXECUTE format('LOCK TABLE %s IN ROW EXCLUSIVE MODE', aging_rel);
	EXECUTE format($q$WITH gone AS (
		DELETE FROM %1$s x
		 WHERE x.ctid = ANY (ARRAY(SELECT y.ctid FROM %1$s y FOR UPDATE SKIP LOCKED))
		RETURNING x.*)
	SELECT array_agg(d.company_id), array_agg(d.customer_id), array_agg(d.currency), array_agg(d.due_date),
	       array_agg(d.credit_note), array_agg(d.amount), array_agg(d.items)
	  FROM (SELECT g.company_id, g.customer_id, g.currency::text AS currency, g.due_date, g.credit_note,
	               sum(g.open_amount) AS amount, sum(g.items)::integer AS items
	          FROM gone g
	         GROUP BY 1, 2, 3, 4, 5
	        HAVING sum(g.open_amount) <> 0 OR sum(g.items) <> 0) d$q$, delta_rel)
	  INTO k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items;
	IF k_company IS NOT NULL THEN
		PERFORM ar._summary_add_shard(k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items,
		                              open_rel, aging_rel, state_rel);
	END IF;
END $$;

-- At commit (deferred constraint trigger of ar.summary_fold_request): the
-- transaction's changes are folded; in REPEATABLE READ or SERIALIZABLE
-- they are left committed in ar.summary_delta for the next fold.  The
-- effectiveness summary's fold runs when no other commit is folding it
-- (86_kpi_summary_dunning.sql).
CREATE FUNCTION ar._summary_fold_at_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	shards regclass[] := ar._summary_shards_written();
	shard regclass;
BEGIN
	DELETE FROM ar.summary_fold_request WHERE txid = NEW.txid;
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		NULL;
	ELSIF cardinality(shards) = 0 THEN
		PERFORM ar._summary_fold();
		PERFORM ar._kpi_summary_fold();  -- 86_kpi_summary.sql
		PERFORM ar._dunning_effect_fold_if_free();  -- 86_kpi_summary_dunning.sql
	ELSE
		-- on a Citus worker: the shards of the delta tables this transaction
		-- wrote (ar._summary_shard_written), each folded on this node.  First
		-- the lock that ar.age_summaries and ar.rebuild_summaries take on the
		-- coordinator (SHARE ROW EXCLUSIVE on ar.aging_summary), which Citus
		-- takes on each node's ar.aging_summary, not on its shards: the folds
		-- wait here until they commit, then read the new aging date, as
		-- ar._summary_fold does on one node
		PERFORM pg_catalog.lock_relation_if_exists('ar.aging_summary', 'ROW EXCLUSIVE');
		FOREACH shard IN ARRAY shards LOOP
			CASE ar._logical_table_name(shard)
			WHEN 'summary_delta' THEN
				PERFORM ar._summary_fold_shard(shard);
			WHEN 'kpi_summary_delta' THEN
				PERFORM ar._kpi_summary_fold_shard(shard);  -- 86_kpi_summary.sql
			WHEN 'dunning_effect_delta' THEN
				PERFORM ar._dunning_effect_fold_shard(shard);  -- 86_kpi_summary_dunning.sql
			END CASE;
		END LOOP;
	END IF;
	RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER summary_fold AFTER INSERT ON ar.summary_fold_request
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._summary_fold_at_commit();

-- On a copy of the table (Citus, doc/scale_out.md "blocker 6"): with
-- citus.enable_unsafe_triggers the summary triggers fire on the shards of a
-- distributed ledger table, inside the shard query on the worker that holds
-- them, where the summary tables by their names are Citus's shell tables
-- (a query on them would be planned by Citus, leave the node, or fail at
-- the worker's commit).  When the summary tables are distributed with the
-- ledger (co-located by company_id, ar.summary_state a reference table:
-- tools/citus_lib.sh), the trigger writes the co-located shard of the
-- delta table on the same node instead, and the fold at the worker's commit
-- folds that shard into the co-located shards of the summaries there.
-- This returns that shard of target for the shard fired_on of summarised
-- (the shard of the same hash range; the local shard of a reference
-- table), or refuses, in the statement, when fired_on is neither
-- summarised nor a shard of it whose co-located shard of target is on this
-- node: nothing written, nothing lost at commit.
CREATE FUNCTION ar._summary_shard(fired_on regclass, summarised regclass, target regclass) RETURNS regclass
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$  -- (relations named with their schema)
DECLARE
	shard regclass := ar._colocated_shard(fired_on, summarised, target);  -- (41_audit_chains_1_shards.sql)
BEGIN
	IF shard IS NULL THEN
		RAISE EXCEPTION 'the dashboard summaries of % cannot be maintained from %', summarised, fired_on
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = format('The summary trigger fired on %s, not on %s, and %s has no co-located shard of %s on this node (a shard of a distributed table whose summaries are not distributed with it?): what it wrote would be lost or fail at commit; nothing was written.', fired_on, summarised, fired_on, target),
			      HINT = 'On a distributed ledger, distribute the summary tables with it (tools/citus_lib.sh) or disable the summary triggers (doc/scale_out.md, blocker 6).';
	END IF;
	RETURN shard;
END $$;
REVOKE ALL ON FUNCTION ar._summary_shard(regclass, regclass, regclass) FROM PUBLIC;

-- The shards of the delta tables (ar.summary_delta, ar.kpi_summary_delta,
-- ar.dunning_effect_delta) written on this Citus worker by this
-- transaction, for the fold at commit (ar._summary_fold_at_commit): kept in
-- the backend (src/xact_state.c), where the caller cannot clear them before
-- COMMIT to leave its changes unfolded.
CREATE FUNCTION ar._summary_shard_written(delta_rel regclass) RETURNS void
LANGUAGE c STRICT VOLATILE AS 'MODULE_PATHNAME', 'ar_summary_shard_written';
CREATE FUNCTION ar._summary_shards_written() RETURNS regclass[]
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'ar_summary_shards_written';
REVOKE ALL ON FUNCTION ar._summary_shard_written(regclass), ar._summary_shards_written() FROM PUBLIC;

-- Writes the grouped changes of a statement into ar.summary_delta, or on a
-- Citus worker into its shard delta_rel (registered for the fold at commit
-- by ar._summary_shard_written), and asks for
-- the fold at commit.
CREATE FUNCTION ar._summary_delta_add(delta_rel regclass, k_company bigint[], k_customer bigint[], k_currency text[],
                                      k_due date[], k_credit boolean[], k_amount numeric[], k_items integer[])
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF k_company IS NULL THEN
		RETURN;
	ELSIF delta_rel = 'ar.summary_delta'::regclass THEN
		INSERT INTO ar.summary_delta (company_id, customer_id, currency, due_date, credit_note, open_amount, items)
		SELECT * FROM unnest(k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items);
	ELSE
		EXECUTE format('INSERT INTO %s (company_id, customer_id, currency, due_date, credit_note, open_amount, items)
		                SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7)', delta_rel)
		  USING k_company, k_customer, k_currency, k_due, k_credit, k_amount, k_items;
		PERFORM ar._summary_shard_written(delta_rel);
	END IF;
	INSERT INTO ar.summary_fold_request DEFAULT VALUES ON CONFLICT DO NOTHING;
END $$;

-- The triggers: one call per statement (ar.reconcile updates tens of
-- thousands of invoices at once), the changed rows summed per key into
-- ar.summary_delta, folded at commit.  Transition tables: new_rows
-- (INSERT, UPDATE), old_rows (UPDATE, DELETE).
CREATE FUNCTION ar._summary_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	delta_rel regclass := 'ar.summary_delta';
BEGIN
	IF TG_RELID <> 'ar.invoice'::regclass THEN
		delta_rel := ar._summary_shard(TG_RELID, 'ar.invoice', 'ar.summary_delta');
	END IF;
	-- (the changes gathered in arrays by queries that name no Citus table)
	IF TG_OP = 'INSERT' THEN
		PERFORM ar._summary_delta_add(delta_rel, array_agg(c.company_id), array_agg(c.customer_id), array_agg(c.currency),
		                              array_agg(c.due_date), array_agg(c.credit_note), array_agg(c.amount), array_agg(c.items))
		  FROM (SELECT n.company_id, n.customer_id, n.currency::text AS currency, n.due_date, n.amount < 0 AS credit_note,
		               sum(n.open_amount) AS amount, count(*)::integer AS items
		          FROM new_rows n WHERE n.open_amount <> 0
		         GROUP BY 1, 2, 3, 4, 5) c;
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM ar._summary_delta_add(delta_rel, array_agg(c.company_id), array_agg(c.customer_id), array_agg(c.currency),
		                              array_agg(c.due_date), array_agg(c.credit_note), array_agg(c.amount), array_agg(c.items))
		  FROM (SELECT o.company_id, o.customer_id, o.currency::text AS currency, o.due_date, o.amount < 0 AS credit_note,
		               -sum(o.open_amount) AS amount, -count(*)::integer AS items
		          FROM old_rows o WHERE o.open_amount <> 0
		         GROUP BY 1, 2, 3, 4, 5) c;
	ELSE
		PERFORM ar._summary_delta_add(delta_rel, array_agg(g.company_id), array_agg(g.customer_id), array_agg(g.currency),
		                              array_agg(g.due_date), array_agg(g.credit_note), array_agg(g.amount), array_agg(g.items))
		  FROM (SELECT c.company_id, c.customer_id, c.currency::text AS currency, c.due_date, c.credit_note,
		               sum(c.amount) AS amount, sum(c.items)::integer AS items
		          FROM (SELECT n.company_id, n.customer_id, n.currency, n.due_date, n.amount < 0 AS credit_note,
		                       n.open_amount AS amount, 1 AS items
		                  FROM new_rows n WHERE n.open_amount <> 0
		                UNION ALL
		                SELECT o.company_id, o.customer_id, o.currency, o.due_date, o.amount < 0, -o.open_amount, -1
		                  FROM old_rows o WHERE o.open_amount <> 0) c
		         GROUP BY 1, 2, 3, 4, 5
		        HAVING sum(c.amount) <> 0 OR sum(c.items) <> 0) g;
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER invoice_summary_insert AFTER INSERT ON ar.invoice
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION ar._summary_apply();
CREATE TRIGGER invoice_summary_update AFTER UPDATE ON ar.invoice
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION ar._summary_apply();
CREATE TRIGGER invoice_summary_delete AFTER DELETE ON ar.invoice
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION ar._summary_apply();

-- ------------------------------------------------------------- recomputing

-- The recomputations are SQL functions, inlined into the queries of the
-- check and the rebuild on one node.  On a distributed ledger Citus refuses
-- a SQL function over distributed tables called from a query
-- (doc/scale_out.md, blocker 2): there the same queries run per company
-- from their texts, every table read filtered on the company (the comments
-- /*and company x*/ and /*where company x*/ of their bodies made
-- conditions), so that Citus routes each whole to the company's shards
-- (doc/scale_out.md, blocker 6).

-- The query q for company co alone (a literal): each call of a SQL
-- function of ar whose body reads tables of ar replaced by its body, routed the same way (a subquery, LATERAL
-- when it has arguments, its columns named as the function's); each
-- comment /*and company x*/ or /*where company x*/ made the condition
-- "and x.company_id = co" or "where x.company_id = co".  An error when the
-- result reads no table filtered on the company: Citus would run it on
-- every shard, not the company's.
CREATE FUNCTION ar._routed(q text, co bigint) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT ar._company_sql(q, co::text)
$$;

-- Runs INSERT INTO target query (target: a table, with its columns or
-- not): on one node once (the comments of the
-- query left as they are), on a distributed ledger once per company, routed
-- (ar._routed); returns the rows written.
CREATE FUNCTION ar._summaries_insert(target text, query text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	co bigint;
	n bigint;
	total bigint := 0;
BEGIN
	IF NOT ar._ledger_distributed() THEN
		EXECUTE format('INSERT INTO %s %s', target, query);
		GET DIAGNOSTICS total = ROW_COUNT;
		RETURN total;
	END IF;
	FOR co IN SELECT c.id FROM ar.company c ORDER BY c.id LOOP
		EXECUTE format('INSERT INTO %s %s', target, ar._routed(query, co));
		GET DIAGNOSTICS n = ROW_COUNT;
		total := total + n;
	END LOOP;
	RETURN total;
END $$;

-- What both summaries should hold, from the ledger (ar.invoice) and the
-- aging date given.
CREATE FUNCTION ar._open_item_summary_expected()
RETURNS TABLE (company_id bigint, customer_id bigint, currency char(3), due_date date, credit_note boolean,
               open_amount numeric, items integer)
LANGUAGE sql STABLE AS $$
	SELECT i.company_id, i.customer_id, i.currency, i.due_date, i.amount < 0, sum(i.open_amount), count(*)::integer
	  FROM ar.invoice i
	 WHERE i.open_amount <> 0 /*and company i*/
	 GROUP BY 1, 2, 3, 4, 5
$$;

-- ar.open_item_summary with the changes waiting in ar.summary_delta that
-- the caller sees: what it holds once they are folded.
CREATE FUNCTION ar._open_item_summary_current()
RETURNS TABLE (company_id bigint, customer_id bigint, currency char(3), due_date date, credit_note boolean,
               open_amount numeric, items integer)
LANGUAGE sql STABLE AS $$
	SELECT u.company_id, u.customer_id, u.currency, u.due_date, u.credit_note, sum(u.open_amount), sum(u.items)::integer
	  FROM (SELECT s.company_id, s.customer_id, s.currency, s.due_date, s.credit_note, s.open_amount, s.items
	          FROM ar.open_item_summary s /*where company s*/
	        UNION ALL
	        SELECT d.company_id, d.customer_id, d.currency, d.due_date, d.credit_note, d.open_amount, d.items
	          FROM ar.summary_delta d /*where company d*/) u
	 GROUP BY 1, 2, 3, 4, 5
	HAVING sum(u.items) <> 0 OR sum(u.open_amount) <> 0
$$;

CREATE FUNCTION ar._aging_summary_expected(aged date)
RETURNS TABLE (company_id bigint, customer_id bigint, currency char(3), not_due numeric, d1_30 numeric,
               d31_60 numeric, d61_90 numeric, d91_plus numeric, total numeric, credit_notes numeric, items integer,
               credit_note_items integer, moving_not_due numeric, moving_d1_30 numeric, moving_d31_60 numeric,
               moving_d61_90 numeric, moving_items integer)
LANGUAGE sql STABLE AS $$
	SELECT d.company_id, d.customer_id, d.currency,
	       coalesce(sum(d.open_amount) FILTER (WHERE aged - d.due_date <= 0), sum(d.open_amount) - sum(d.open_amount)),
	       coalesce(sum(d.open_amount) FILTER (WHERE aged - d.due_date BETWEEN 1 AND 30), sum(d.open_amount) - sum(d.open_amount)),
	       coalesce(sum(d.open_amount) FILTER (WHERE aged - d.due_date BETWEEN 31 AND 60), sum(d.open_amount) - sum(d.open_amount)),
	       coalesce(sum(d.open_amount) FILTER (WHERE aged - d.due_date BETWEEN 61 AND 90), sum(d.open_amount) - sum(d.open_amount)),
	       coalesce(sum(d.open_amount) FILTER (WHERE aged - d.due_date > 90), sum(d.open_amount) - sum(d.open_amount)),
	       sum(d.open_amount),
	       coalesce(sum(d.open_amount) FILTER (WHERE d.credit_note), 0),
	       sum(d.items)::integer, coalesce(sum(d.items) FILTER (WHERE d.credit_note), 0)::integer,
	       coalesce(sum(d.open_amount) FILTER (WHERE d.due_date = aged), sum(d.open_amount) - sum(d.open_amount)),
	       coalesce(sum(d.open_amount) FILTER (WHERE d.due_date = aged - 30), sum(d.open_amount) - sum(d.open_amount)),
	       coalesce(sum(d.open_amount) FILTER (WHERE d.due_date = aged - 60), sum(d.open_amount) - sum(d.open_amount)),
	       coalesce(sum(d.open_amount) FILTER (WHERE d.due_date = aged - 90), sum(d.open_amount) - sum(d.open_amount)),
	       coalesce(sum(d.items) FILTER (WHERE d.due_date IN (aged, aged - 30, aged - 60, aged - 90)), 0)::integer
	  FROM ar._open_item_summary_current() d
	 GROUP BY 1, 2, 3
$$;

-- Re-ages ar.aging_summary on as_of, for ar.age_summaries() and the worker
-- (both SECURITY DEFINER, each checking its caller in its own way: this one
-- runs as they do and checks nothing).
CREATE FUNCTION ar._age_summaries(as_of date) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '256MB' AS $$
DECLARE
	n bigint;
	expected text;
BEGIN
	IF as_of IS NULL OR as_of NOT BETWEEN DATE '1900-01-01' AND DATE '2200-12-31' THEN
		RAISE EXCEPTION 'as_of must be a date between 1900-01-01 and 2200-12-31, not %', coalesce(as_of::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	LOCK TABLE ar.aging_summary IN SHARE ROW EXCLUSIVE MODE;
	IF ar._ledger_distributed() THEN
		-- per company, routed (ar._routed), from ar.open_item_summary alone:
		-- the changes a commit left in a shard of ar.summary_delta (REPEATABLE
		-- READ) go into both summaries at the next fold of that shard, on the
		-- worker (ar._summary_fold_shard), bucketed on the new date
		-- (the call replaced must be in the body: else the waiting changes
		-- would be counted twice, silently)
		expected := ar._sql_body('ar._aging_summary_expected(date)', ARRAY[quote_literal(as_of) || '::date']);
		IF strpos(expected, 'ar._open_item_summary_current() d') = 0 THEN
			RAISE EXCEPTION 'ar._aging_summary_expected no longer reads ar._open_item_summary_current() d'
				USING ERRCODE = 'internal_error', DETAIL = 'The re-aging on a distributed ledger replaces that call; nothing was changed.';
		END IF;
		UPDATE ar.summary_state SET aged_on = as_of;
		DELETE FROM ar.aging_summary;
		RETURN ar._summaries_insert('ar.aging_summary',
		       replace(expected, 'ar._open_item_summary_current() d', '(SELECT * FROM ar.open_item_summary s /*where company s*/) d')
		       || ' ORDER BY 1, 2, 3');
	END IF;
	PERFORM ar._summary_fold();
	UPDATE ar.summary_state SET aged_on = as_of;
	DELETE FROM ar.aging_summary;
	INSERT INTO ar.aging_summary SELECT * FROM ar._aging_summary_expected(as_of) ORDER BY 1, 2, 3;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;

-- Re-ages ar.aging_summary on as_of (default today): recomputed from
-- ar.open_item_summary under a lock that waits for the transactions
-- writing invoices and holds back new ones until it commits.  Run daily
-- (the aging of a date far from the aging date falls back to the full
-- computation).  Returns the number of rows written.
CREATE FUNCTION ar.age_summaries(as_of date DEFAULT current_date) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	PERFORM ar._require_all_companies('admin');  -- the summaries are rewritten whole
	RETURN ar._age_summaries(as_of);
END $$;

-- The background worker, each cycle: re-ages the summaries once the day
-- has changed (a derived table, the same whoever asks: no company check);
-- returns the rows written, 0 when they are aged on today already.
CREATE FUNCTION ar._worker_age_summaries() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	-- and folds the changes of the effectiveness summary that commits left
	-- (86_kpi_summary_dunning.sql)
	PERFORM ar._dunning_effect_fold_if_free();
	IF (SELECT s.aged_on FROM ar.summary_state s) >= current_date THEN
		RETURN 0;
	END IF;
	RETURN ar._age_summaries(current_date);
END $$;

COMMENT ON FUNCTION ar.age_summaries(date) IS
'Re-ages the dashboard summary on as_of (default today; administrators of every company): ar.aging_summary recomputed from ar.open_item_summary, ar.summary_state.aged_on set; holds back invoice writes while it runs. The background worker does it once a day; ar.aging_report answers from the summaries for dates within 31 days of the aging date. Returns the rows written.';

-- Recomputes both summaries from the ledger (ar.invoice, read under a lock
-- that keeps invoice writes out meanwhile), aged on as_of.
CREATE FUNCTION ar.rebuild_summaries(as_of date DEFAULT current_date) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '256MB' AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM ar._require_all_companies('admin');  -- the summaries are rewritten whole
	LOCK TABLE ar.invoice IN SHARE MODE;
	LOCK TABLE ar.aging_summary IN SHARE ROW EXCLUSIVE MODE;
	-- the effectiveness summary: no fold meanwhile (they leave their changes
	-- for the next one, which recomputes them from the ledger this rebuild
	-- leaves); a fold committing now is waited for
	PERFORM ar._take_lock('dunning_effect_fold');
	DELETE FROM ar.summary_delta;
	DELETE FROM ar.open_item_summary;
	-- (on a distributed ledger per company, routed: ar._summaries_insert)
	n := ar._summaries_insert('ar.open_item_summary', 'SELECT * FROM ar._open_item_summary_expected() e ORDER BY 1, 2, 3, 4, 5');
	PERFORM ar._kpi_summary_rebuild();  -- 86_kpi_summary.sql
	PERFORM ar._dunning_effect_rebuild();  -- 86_kpi_summary_dunning.sql
	PERFORM ar._age_summaries(as_of);
	RETURN n;
END $$;

COMMENT ON FUNCTION ar.rebuild_summaries(date) IS
'Recomputes the dashboard summaries from the ledger (administrators of every company), aged on as_of (default today); holds back invoice writes while it runs. Returns the rows of ar.open_item_summary written.';

-- The rows of the summaries that differ from a recomputation: none, unless
-- the triggers were bypassed (session_replication_role = replica, a
-- trigger disabled).  Each company's rows as the caller sees them: on one
-- node the query of ar._summary_differences (86_kpi_summary_dunning.sql,
-- after the KPI and effectiveness summaries' own), on a distributed ledger
-- its text per company, routed (ar._routed), the rows gathered and ordered
-- here.
CREATE FUNCTION ar.check_summaries()
RETURNS TABLE (summary text, company_id bigint, customer_id bigint, currency char(3), due_date date,
               credit_note boolean, stored numeric, expected numeric, stored_items integer, expected_items integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	co bigint;
	part jsonb;
	found_rows jsonb := '[]';
BEGIN
	IF NOT ar._ledger_distributed() THEN
		RETURN QUERY SELECT * FROM ar._summary_differences() d ORDER BY 1, 2, 3, 4, 5, 6;
		RETURN;
	END IF;
	FOR co IN SELECT c.id FROM ar.company c ORDER BY c.id LOOP
		EXECUTE format('SELECT jsonb_agg(d) FROM (%s) d', ar._routed('SELECT * FROM ar._summary_differences() d', co)) INTO part;
		found_rows := found_rows || coalesce(part, '[]');
	END LOOP;
	RETURN QUERY
	SELECT * FROM jsonb_to_recordset(found_rows)
	    AS d (summary text, company_id bigint, customer_id bigint, currency char(3), due_date date, credit_note boolean,
	          stored numeric, expected numeric, stored_items integer, expected_items integer)
	 ORDER BY 1, 2, 3, 4, 5, 6;
END
$$;

COMMENT ON FUNCTION ar.check_summaries() IS
'The rows of the dashboard summaries (ar.open_item_summary, ar.aging_summary, ar.kpi_summary, ar.dunning_effect_notice, ar.dunning_effect_summary) that differ from a recomputation from the ledger: none, unless their triggers were bypassed (then run ar.rebuild_summaries()). stored / expected: open amounts (aging_summary: the bucket total; kpi_summary: amount, the row named by summary = kpi_summary kind second_date, due_date = first_date), items: open items (kpi_summary: items).';

-- ------------------------------------------------------------- reading

-- ar.aging_report's rows on $1 (as_of) from the summaries aged on $2,
-- before the customers' columns and the order: the query
-- ar._aging_report_summary runs (planned for the dates given: the windows
-- of due dates read through open_item_summary_due, the movements through
-- the ledger's indexes) when ar.aging_report chooses the summaries; any
-- date gives the full computation's rows, the cost grows with its distance
-- from the aging date and with the movements after it.  routed: the same
-- query for one company, $3, every table read filtered on it (the comments
-- /*and company x*/, /*where company x*/ made conditions; ar.open_credits'
-- customer credit written out with its tables), which Citus routes to that
-- company's shards whole (a distributed ledger, its summaries co-located
-- with it: doc/scale_out.md, blocker 6).
CREATE FUNCTION ar._aging_report_summary_query(routed boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT CASE WHEN routed
	THEN regexp_replace(replace(q.q, 'ar._open_credits($1) k', $c$
	             -- ar.open_credits' customer credit on $1 (86_small_balances.sql),
	             -- its tables named here, where Citus routes them (a SQL
	             -- function over distributed tables is refused: blocker 2)
	             (SELECT 'customer_credit' AS kind, cc.customer_id, cc.currency, k.available
	                FROM ar.customer_credit cc
	               CROSS JOIN LATERAL (
	                     SELECT cc.remaining
	                            + coalesce((SELECT sum(a.amount) FROM ar.allocation a
	                                         WHERE a.customer_credit_id = cc.id AND a.allocated_on > $1 /*and company a*/), 0)
	                            + coalesce((SELECT sum(r.amount) FROM ar.credit_release r
	                                         WHERE r.customer_credit_id = cc.id AND r.released_on > $1 /*and company r*/), 0)
	                            AS available) k
	               WHERE cc.created_on <= $1 /*and company cc*/
	                 AND (cc.remaining > 0
	                      OR cc.id IN (SELECT a.customer_credit_id FROM ar.allocation a
	                                    WHERE a.customer_credit_id IS NOT NULL AND a.allocated_on > $1 /*and company a*/)
	                      OR cc.id IN (SELECT r.customer_credit_id FROM ar.credit_release r
	                                    WHERE r.released_on > $1 /*and company r*/))
	                 AND k.available > 0) k$c$),
	        E'/\\*(and|where) company (\\w+)\\*/', E'\\1 \\2.company_id = $3', 'g')
	ELSE q.q END
  FROM (SELECT $q$
	WITH moved AS (
		-- rows of the summary whose bucket on $1 is not the one of aged:
		-- due dates in [lo - b, hi - b) for the bucket limits b = 0, 30, 60, 90
		-- (the day after the aging date: in ar.aging_summary's own rows, below)
		SELECT d.company_id, d.customer_id, d.currency, d.open_amount AS amount,
		       $1 - d.due_date AS days_now, $2 - d.due_date AS days_then
		  FROM ar.open_item_summary d
		 WHERE $1 <> $2 AND $1 <> $2 + 1
		   AND (   d.due_date >= least($1, $2) AND d.due_date < greatest($1, $2)
		        OR d.due_date >= least($1, $2) - 30 AND d.due_date < greatest($1, $2) - 30
		        OR d.due_date >= least($1, $2) - 60 AND d.due_date < greatest($1, $2) - 60
		        OR d.due_date >= least($1, $2) - 90 AND d.due_date < greatest($1, $2) - 90)
		   /*and company d*/
	), changed AS (
		-- invoices whose open amount on $1 is not today's: issued after
		-- $1 and open today, with allocations dated after $1, cancelled
		-- after $1
		SELECT i.company_id, i.customer_id, i.currency, i.due_date, i.amount < 0 AS credit_note,
		       i.open_amount AS open_today, i.amount - i.amount AS zero,
		       CASE WHEN i.issue_date > $1 THEN 0
		            WHEN i.cancelled_on IS NOT NULL THEN CASE WHEN i.cancelled_on > $1 THEN i.amount ELSE 0 END
		            ELSE i.open_amount + coalesce((SELECT sum(a.amount) FROM ar.allocation a
		                                            WHERE a.invoice_id = i.id AND a.allocated_on > $1 /*and company a*/), 0)
		       END AS open_then
		  FROM ar.invoice i
		 WHERE i.id = ANY (ARRAY(SELECT x.id FROM ar.invoice x WHERE x.open_amount <> 0 AND x.issue_date > $1 /*and company x*/
		                         UNION
		                         SELECT a.invoice_id FROM ar.allocation a WHERE a.allocated_on > $1 /*and company a*/
		                         UNION
		                         SELECT x.id FROM ar.invoice x WHERE x.cancelled_on > $1 /*and company x*/))
		   /*and company i*/
	), corr AS (
		SELECT m.customer_id, m.currency,
		       -- zeros at the amount's scale (amount - amount): the buckets of a
		       -- row keep one scale, as ar.aging gives them
		       CASE WHEN m.days_now <= 0 THEN m.amount ELSE m.amount - m.amount END
		         - CASE WHEN m.days_then <= 0 THEN m.amount ELSE m.amount - m.amount END AS not_due,
		       CASE WHEN m.days_now BETWEEN 1 AND 30 THEN m.amount ELSE m.amount - m.amount END
		         - CASE WHEN m.days_then BETWEEN 1 AND 30 THEN m.amount ELSE m.amount - m.amount END AS d1_30,
		       CASE WHEN m.days_now BETWEEN 31 AND 60 THEN m.amount ELSE m.amount - m.amount END
		         - CASE WHEN m.days_then BETWEEN 31 AND 60 THEN m.amount ELSE m.amount - m.amount END AS d31_60,
		       CASE WHEN m.days_now BETWEEN 61 AND 90 THEN m.amount ELSE m.amount - m.amount END
		         - CASE WHEN m.days_then BETWEEN 61 AND 90 THEN m.amount ELSE m.amount - m.amount END AS d61_90,
		       CASE WHEN m.days_now > 90 THEN m.amount ELSE m.amount - m.amount END
		         - CASE WHEN m.days_then > 90 THEN m.amount ELSE m.amount - m.amount END AS d91_plus,
		       m.amount - m.amount AS total, 0 AS credit_notes, 0 AS items, 0 AS credit_note_items
		  FROM moved m
		UNION ALL
		SELECT c.customer_id, c.currency,
		       CASE WHEN $1 - c.due_date <= 0 THEN c.open_then - c.open_today ELSE c.zero END,
		       CASE WHEN $1 - c.due_date BETWEEN 1 AND 30 THEN c.open_then - c.open_today ELSE c.zero END,
		       CASE WHEN $1 - c.due_date BETWEEN 31 AND 60 THEN c.open_then - c.open_today ELSE c.zero END,
		       CASE WHEN $1 - c.due_date BETWEEN 61 AND 90 THEN c.open_then - c.open_today ELSE c.zero END,
		       CASE WHEN $1 - c.due_date > 90 THEN c.open_then - c.open_today ELSE c.zero END,
		       c.open_then - c.open_today,
		       CASE WHEN c.credit_note THEN c.open_then - c.open_today ELSE 0 END,
		       (c.open_then <> 0)::integer - (c.open_today <> 0)::integer,
		       CASE WHEN c.credit_note THEN (c.open_then <> 0)::integer - (c.open_today <> 0)::integer ELSE 0 END
		  FROM changed c
		 WHERE c.open_then <> c.open_today
		UNION ALL
		-- changes not folded yet (this transaction's), at their due date
		SELECT x.customer_id, x.currency,
		       CASE WHEN $1 - x.due_date <= 0 THEN x.open_amount ELSE x.open_amount - x.open_amount END,
		       CASE WHEN $1 - x.due_date BETWEEN 1 AND 30 THEN x.open_amount ELSE x.open_amount - x.open_amount END,
		       CASE WHEN $1 - x.due_date BETWEEN 31 AND 60 THEN x.open_amount ELSE x.open_amount - x.open_amount END,
		       CASE WHEN $1 - x.due_date BETWEEN 61 AND 90 THEN x.open_amount ELSE x.open_amount - x.open_amount END,
		       CASE WHEN $1 - x.due_date > 90 THEN x.open_amount ELSE x.open_amount - x.open_amount END,
		       x.open_amount, CASE WHEN x.credit_note THEN x.open_amount ELSE 0 END,
		       x.items, CASE WHEN x.credit_note THEN x.items ELSE 0 END
		  FROM ar.summary_delta x /*where company x*/
	), corr_sum AS (
		SELECT c.customer_id, c.currency, sum(c.not_due) AS not_due, sum(c.d1_30) AS d1_30, sum(c.d31_60) AS d31_60,
		       sum(c.d61_90) AS d61_90, sum(c.d91_plus) AS d91_plus, sum(c.total) AS total, sum(c.credit_notes) AS credit_notes,
		       sum(c.items) AS items, sum(c.credit_note_items) AS credit_note_items
		  FROM corr c
		 GROUP BY c.customer_id, c.currency
	), aged AS (
		-- the summary; the day after its aging date (the first reports of a
		-- day before the worker re-ages it), the amounts due on the bucket
		-- boundaries moved to the next bucket, from the row itself (no read
		-- of the boundaries' rows of ar.open_item_summary, scattered over
		-- its pages), in the rows with items there (an integer test per
		-- row; numeric arithmetic on every row would cost what the read saves)
		SELECT s.customer_id, s.currency, s.total, s.credit_notes, s.items, s.credit_note_items,
		       CASE WHEN $1 = $2 + 1 AND s.moving_items <> 0 THEN s.not_due - s.moving_not_due ELSE s.not_due END AS not_due,
		       CASE WHEN $1 = $2 + 1 AND s.moving_items <> 0 THEN s.d1_30 + s.moving_not_due - s.moving_d1_30
		            ELSE s.d1_30 END AS d1_30,
		       CASE WHEN $1 = $2 + 1 AND s.moving_items <> 0 THEN s.d31_60 + s.moving_d1_30 - s.moving_d31_60
		            ELSE s.d31_60 END AS d31_60,
		       CASE WHEN $1 = $2 + 1 AND s.moving_items <> 0 THEN s.d61_90 + s.moving_d31_60 - s.moving_d61_90
		            ELSE s.d61_90 END AS d61_90,
		       CASE WHEN $1 = $2 + 1 AND s.moving_items <> 0 THEN s.d91_plus + s.moving_d61_90 ELSE s.d91_plus END AS d91_plus
		  FROM ar.aging_summary s /*where company s*/
	), g AS (
		-- the summary, corrected (usually by nothing: a join, no aggregate,
		-- no arithmetic)
		SELECT coalesce(s.customer_id, k.customer_id) AS customer_id, coalesce(s.currency, k.currency::char(3)) AS currency,
		       CASE WHEN k.customer_id IS NULL THEN s.not_due ELSE coalesce(s.not_due, 0) + k.not_due END AS not_due,
		       CASE WHEN k.customer_id IS NULL THEN s.d1_30 ELSE coalesce(s.d1_30, 0) + k.d1_30 END AS d1_30,
		       CASE WHEN k.customer_id IS NULL THEN s.d31_60 ELSE coalesce(s.d31_60, 0) + k.d31_60 END AS d31_60,
		       CASE WHEN k.customer_id IS NULL THEN s.d61_90 ELSE coalesce(s.d61_90, 0) + k.d61_90 END AS d61_90,
		       CASE WHEN k.customer_id IS NULL THEN s.d91_plus ELSE coalesce(s.d91_plus, 0) + k.d91_plus END AS d91_plus,
		       CASE WHEN k.customer_id IS NULL THEN s.total ELSE coalesce(s.total, 0) + k.total END AS total,
		       CASE WHEN k.customer_id IS NULL THEN s.credit_notes ELSE coalesce(s.credit_notes, 0) + k.credit_notes END AS credit_notes,
		       CASE WHEN k.customer_id IS NULL THEN s.credit_note_items
		            ELSE coalesce(s.credit_note_items, 0) + k.credit_note_items END AS credit_note_items
		  FROM aged s
		  FULL JOIN corr_sum k ON k.customer_id = s.customer_id AND k.currency = s.currency
		 WHERE coalesce(s.items, 0) + coalesce(k.items, 0) > 0
	)
	-- one row per customer and currency: ar._aging_report_summary joins
	-- the customers and orders the rows (src/aging_report.c)
	SELECT coalesce(r.customer_id, u.customer_id), coalesce(r.currency, u.currency),
	       coalesce(r.not_due, 0), coalesce(r.d1_30, 0), coalesce(r.d31_60, 0), coalesce(r.d61_90, 0),
	       coalesce(r.d91_plus, 0), coalesce(r.total, 0),
	       CASE WHEN r.credit_note_items > 0 THEN r.credit_notes ELSE 0 END, coalesce(u.available, 0),
	       CASE WHEN u.available IS NULL THEN r.total ELSE coalesce(r.total, 0) - u.available END
	  FROM g r
	  FULL JOIN (SELECT k.customer_id, k.currency, sum(k.available) AS available
	               FROM ar._open_credits($1) k
	              WHERE k.kind = 'customer_credit'
	              GROUP BY k.customer_id, k.currency) u
	         ON u.customer_id = r.customer_id AND u.currency = r.currency
$q$::text) q (q) $f$;

-- ar.aging_report's rows from the summaries: the query above, planned for
-- the dates given (as_of and the aging date), its rows joined with the
-- customers and ordered by code and currency as the full computation's
-- (C, src/aging_report.c: the customers read in the order of their unique
-- index on (company_id, code), no join or sort of the rows).  Parallel
-- restricted: the leader runs it, while the full computation in the other
-- branch of ar.aging_report may still use workers.
CREATE FUNCTION ar._aging_report_summary(as_of date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text,
               not_due numeric, d1_30 numeric, d31_60 numeric, d61_90 numeric, d91_plus numeric, total numeric,
               currency char(3), company_id bigint, credit_notes numeric, unapplied_credit numeric,
               net_balance numeric)
LANGUAGE C STABLE PARALLEL RESTRICTED SET jit = off
AS 'MODULE_PATHNAME', 'aging_report_summary';

-- Whether the ledger is distributed by Citus (ar.invoice in Citus's
-- catalog; false without Citus).  The summaries are not maintained there
-- (their triggers refuse to run on a shard, doc/scale_out.md, blocker 6):
-- the readers then take the full computation, which answers or fails,
-- rather than read summary tables left empty.
CREATE FUNCTION ar._ledger_distributed() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	distributed boolean := false;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
		EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = ''ar.invoice''::regclass)'
		   INTO distributed;
	END IF;
	RETURN distributed;
END $$;

-- Whether the aging summaries are maintained with the ledger: always on
-- one node; on a distributed ledger when ar.open_item_summary,
-- ar.aging_summary and ar.summary_delta are distributed co-located with
-- ar.invoice and ar.summary_state is a reference table (tools/citus_lib.sh:
-- their triggers then write the shards, doc/scale_out.md, blocker 6).
CREATE FUNCTION ar._summaries_with_ledger() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	kept boolean := true;
BEGIN
	IF ar._ledger_distributed() THEN
		EXECUTE $q$SELECT count(*) = 4
		             FROM pg_catalog.pg_dist_partition p, pg_catalog.pg_dist_partition l
		            WHERE l.logicalrelid = 'ar.invoice'::regclass
		              AND (p.logicalrelid IN ('ar.open_item_summary'::regclass, 'ar.aging_summary'::regclass,
		                                      'ar.summary_delta'::regclass)
		                   AND p.colocationid = l.colocationid
		                   AND pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) = 'company_id'
		                   OR p.logicalrelid = 'ar.summary_state'::regclass AND p.partmethod = 'n')$q$
		   INTO kept;
	END IF;
	RETURN kept;
END $$;

-- Whether the tables given are distributed co-located with ar.invoice by
-- company_id (the KPI and effectiveness summaries on a distributed ledger:
-- their triggers then write the shards, doc/scale_out.md, blocker 6).  Call
-- it on a distributed ledger only (ar._ledger_distributed()).
CREATE FUNCTION ar._colocated_with_ledger(tables regclass[]) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	kept boolean;
BEGIN
	EXECUTE $q$SELECT count(*) = pg_catalog.cardinality($1)
	             FROM pg_catalog.pg_dist_partition p, pg_catalog.pg_dist_partition l
	            WHERE l.logicalrelid = 'ar.invoice'::regclass AND p.logicalrelid = ANY ($1)
	              AND p.colocationid = l.colocationid
	              AND pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) = 'company_id'$q$
	   INTO kept USING tables;
	RETURN kept;
END $$;

-- Whether ar.aging_report answers from the summaries on as_of: within 31
-- days of their aging date, on a ledger that keeps them.
CREATE FUNCTION ar._summary_serves(as_of date) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce((SELECT as_of BETWEEN s.aged_on - 31 AND s.aged_on + 31 FROM ar.summary_state s), false)
	   AND ar._summaries_with_ledger()
$$;

REVOKE ALL ON FUNCTION ar._summary_add(bigint[], bigint[], text[], date[], boolean[], numeric[], integer[]),
                       ar._summary_add_shard(bigint[], bigint[], text[], date[], boolean[], numeric[], integer[], regclass, regclass, regclass),
                       ar._summary_fold_shard(regclass),
                       ar._summary_delta_add(regclass, bigint[], bigint[], text[], date[], boolean[], numeric[], integer[]),
                       ar._summary_apply(), ar._summary_fold(), ar._summary_fold_at_commit(),
                       ar._open_item_summary_expected(), ar._open_item_summary_current(),
                       ar._aging_summary_expected(date), ar._age_summaries(date), ar._worker_age_summaries(),
                       ar.age_summaries(date), ar.rebuild_summaries(date),
                       ar.check_summaries(), ar._aging_report_summary(date), ar._summary_serves(date),
                       ar._sql_body(regprocedure, text[]), ar._routed(text, bigint), ar._summaries_insert(text, text),
                       ar._aging_report_full(date), ar._ledger_distributed(), ar._summaries_with_ledger(),
                       ar._colocated_with_ledger(regclass[])
	FROM PUBLIC;
GRANT SELECT ON ar.open_item_summary, ar.aging_summary, ar.summary_state, ar.summary_delta TO ar_reader;
GRANT EXECUTE ON FUNCTION ar._aging_report_summary(date), ar._summary_serves(date), ar._aging_report_full(date),
                          ar._ledger_distributed(), ar._summaries_with_ledger(), ar._colocated_with_ledger(regclass[])
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar._worker_age_summaries() TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.age_summaries(date), ar.rebuild_summaries(date), ar.check_summaries(),
                          ar._open_item_summary_expected(), ar._open_item_summary_current(), ar._aging_summary_expected(date),
                          ar._sql_body(regprocedure, text[]), ar._routed(text, bigint)
	TO ar_admin;

-- Filled from the ledger there is (an upgrade from 0.1.0), aged today.
INSERT INTO ar.open_item_summary SELECT * FROM ar._open_item_summary_expected() ORDER BY 1, 2, 3, 4, 5;
INSERT INTO ar.aging_summary SELECT * FROM ar._aging_summary_expected(current_date) ORDER BY 1, 2, 3;
