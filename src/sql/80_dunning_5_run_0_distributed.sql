-- Dunning, ar.run_dunning on a distributed ledger (Citus, issue 14; one of
-- the 80_dunning_* pieces; src/upgrade/0.1.0--0.2.0/92_dunning_distributed.sql
-- is a link to it).  On a distributed ledger (ar._ledger_distributed()) the
-- run goes company after company: the company's rows of the company tables
-- it reads are first copied into work tables of their own (one statement
-- per table naming the company: routed to the company's shards), then each
-- statement of the run reads those copies instead of the tables (its text
-- rewritten by ar._dunning_reads), and only the writes reach the
-- distributed tables, each naming the company's rows.  Joins then run on
-- the coordinator between its own temporary tables and the reference
-- tables (the rules, templates, companies), which Citus cannot refuse; the
-- SQL functions over the ledger that the run's statements call and Citus
-- refuses ("could not create distributed plan") or reads the
-- coordinator's empty tables through are replaced by PL/pgSQL ones.  On one
-- node the run reads the tables, its statements unchanged (company NULL).

-- The company tables the run reads, as their copies are named (a work
-- table each: ar._dunning_work_name('ar_dun_c_' || name)).
CREATE FUNCTION ar._dunning_company_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT ARRAY['customer', 'invoice', 'allocation', 'dispute', 'payment_promise', 'payment_plan',
	             'payment_plan_invoice', 'dunning_block', 'customer_dunning_policy', 'dunning_account',
	             'dunning_notice', 'penalty_claim']
$$;

-- Copies the rows of the companies of every table of
-- ar._dunning_company_tables() into its work table (emptied and filled
-- again for the next companies): one company (routed to its shards), or
-- the companies of one node (its local shards, where the run is delegated).
-- Returns the number of rows copied.
CREATE FUNCTION ar._dunning_copy_company(companies bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	t text;
	copied bigint := 0;
BEGIN
	FOREACH t IN ARRAY ar._dunning_company_tables() LOOP
		copied := copied + ar._dunning_work_table(ar._dunning_work_name('ar_dun_c_' || t),
		                                          -- (the companies written in: Citus prunes the shards by them)
		                                          format('SELECT * FROM ar.%I WHERE company_id = ANY (%L::bigint[])', t, companies),
		                                          -- the customers read by id, once per letter
		                                          CASE WHEN t = 'customer' THEN 'id' END);
	END LOOP;
	-- the copies the run reads per account or per invoice indexed as their
	-- tables are (else a scan of the copy for each: an account's earlier
	-- notices took 8.7 s of a node's 2,400 letters); made with the copies,
	-- kept when they are filled again
	-- (looked up first: CREATE INDEX IF NOT EXISTS tells the client each time)
	IF to_regclass(format('pg_temp.%I', ar._dunning_work_name('ar_dun_i_notice'))) IS NULL THEN
		EXECUTE format('CREATE INDEX %I ON pg_temp.%I (customer_id, currency)',
		               ar._dunning_work_name('ar_dun_i_notice'), ar._dunning_work_name('ar_dun_c_dunning_notice'));
	END IF;
	IF to_regclass(format('pg_temp.%I', ar._dunning_work_name('ar_dun_i_allocation'))) IS NULL THEN
		EXECUTE format('CREATE INDEX %I ON pg_temp.%I (invoice_id)',
		               ar._dunning_work_name('ar_dun_i_allocation'), ar._dunning_work_name('ar_dun_c_allocation'));
	END IF;
	RETURN copied;
END $$;

-- A statement of the run as it reads company's copies: each table
-- of ar._dunning_company_tables() named ar.<table> becomes its work table,
-- ar._open_credits (SQL, inlined: on Citus it reads the coordinator's empty
-- tables) ar.open_credits (PL/pgSQL, planned by Citus), and
-- ar._account_balance_on, ar._open_on, ar._plan_outstanding and
-- ar._plan_broken_on (SQL, refused by Citus) their PL/pgSQL forms below
-- (<name>_distributed): ar._company_sql with these reads, which refuses a
-- statement reading any other company table (ar._company_tables()).  With
-- company NULL (one node): the statement as it is.  The run writes the tables
-- in statements of their own, never through this.
CREATE FUNCTION ar._dunning_reads(statement text, company bigint) RETURNS text
LANGUAGE sql AS $$
	SELECT CASE WHEN company IS NULL THEN statement ELSE ar._company_sql(statement, company::text,
	         (SELECT jsonb_object_agg(t, format('pg_temp.%I', ar._dunning_work_name('ar_dun_c_' || t)))
	            FROM unnest(ar._dunning_company_tables()) t)
	         || jsonb_build_object('_open_credits', 'ar.open_credits',
	                               '_account_balance_on', 'ar._account_balance_on_distributed',
	                               '_open_on', 'ar._open_on_distributed',
	                               '_plan_outstanding', 'ar._plan_outstanding_distributed',
	                               '_plan_broken_on', 'ar._plan_broken_on_distributed')) END
$$;

-- ar._account_balance_on as PL/pgSQL (what an account owes on a date):
-- each query planned by Citus with its values (the SQL form is refused
-- there, or inlined over the coordinator's empty tables).
CREATE FUNCTION ar._account_balance_on_distributed(customer_id bigint, currency char(3), on_date date) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN coalesce((SELECT sum(o.open_amount) FROM ar.open_items(on_date) o
	                  WHERE o.customer_id = _account_balance_on_distributed.customer_id
	                    AND o.currency = _account_balance_on_distributed.currency), 0)
	     - coalesce((SELECT sum(k.available) FROM ar.open_credits(on_date) k
	                  WHERE k.kind = 'customer_credit' AND k.customer_id = _account_balance_on_distributed.customer_id
	                    AND k.currency = _account_balance_on_distributed.currency), 0);
END $$;

-- ar._open_on, ar._plan_outstanding and ar._plan_broken_on as PL/pgSQL,
-- for the run's statements on a distributed ledger (the SQL forms, which
-- the work list and the cash forecast share, are refused there: "could not
-- create distributed plan").  Each reads the company of its invoice or
-- plan first (a plain read), then that company's rows (routed), the
-- functions it calls evaluated on the coordinator, never inside a query on
-- a shard.
CREATE FUNCTION ar._open_on_distributed(invoice_id bigint, on_date date) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
DECLARE
	company bigint;
	open_then numeric;
BEGIN
	SELECT i.company_id INTO company FROM ar.invoice i WHERE i.id = _open_on_distributed.invoice_id;
	SELECT CASE WHEN i.cancelled_on IS NOT NULL THEN CASE WHEN i.cancelled_on > on_date THEN i.amount ELSE 0 END
	            ELSE i.amount - coalesce((SELECT sum(a.amount) FROM ar.allocation a
	                                       WHERE a.company_id = company AND a.invoice_id = i.id AND a.allocated_on <= on_date), 0)
	       END INTO open_then
	  FROM ar.invoice i WHERE i.company_id = company AND i.id = _open_on_distributed.invoice_id;
	RETURN open_then;
END $$;

CREATE FUNCTION ar._plan_outstanding_distributed(plan_id bigint, on_date date) RETURNS numeric
LANGUAGE plpgsql STABLE AS $$
DECLARE
	company bigint;
	invoice bigint;
	owed numeric := 0;
BEGIN
	SELECT p.company_id INTO company FROM ar.payment_plan p WHERE p.id = _plan_outstanding_distributed.plan_id;
	FOR invoice IN SELECT pi.invoice_id FROM ar.payment_plan_invoice pi
	                WHERE pi.company_id = company AND pi.plan_id = _plan_outstanding_distributed.plan_id LOOP
		owed := owed + coalesce(ar._open_on_distributed(invoice, on_date), 0);
	END LOOP;
	RETURN owed;
END $$;

CREATE FUNCTION ar._plan_broken_on_distributed(plan_id bigint, as_of date) RETURNS date
LANGUAGE plpgsql STABLE AS $$
DECLARE
	company bigint;
	s record;
	invoices bigint[];
	written_off numeric;
BEGIN
	SELECT p.company_id INTO company FROM ar.payment_plan p WHERE p.id = _plan_broken_on_distributed.plan_id;
	invoices := ARRAY(SELECT pi.invoice_id FROM ar.payment_plan_invoice pi
	                   WHERE pi.company_id = company AND pi.plan_id = _plan_broken_on_distributed.plan_id);
	FOR s IN SELECT i.due_on + p.grace_days AS grace_end, p.total - i.paid_by_then AS may_owe,
	                coalesce(p.starts_on, p.created_at::date) AS started_on
	           FROM ar.payment_plan p
	           JOIN (SELECT i.plan_id, i.due_on, sum(i.amount) OVER (ORDER BY i.seq) AS paid_by_then
	                   FROM ar.payment_plan_instalment i
	                  WHERE i.company_id = company AND i.plan_id = _plan_broken_on_distributed.plan_id) i ON i.plan_id = p.id
	          WHERE p.company_id = company AND p.id = _plan_broken_on_distributed.plan_id
	            AND i.due_on + p.grace_days < as_of
	          ORDER BY 1 LOOP
		-- ar._plan_broken_on's rule: written off since the plan started is
		-- unpaid.  Read in a statement of its own: in one with the call
		-- below, Citus would push the call to the shard, where its own
		-- reads are refused ("cannot execute a distributed query from a
		-- query on a shard").
		SELECT coalesce(sum(a.amount), 0) INTO written_off FROM ar.allocation a
		 WHERE a.company_id = company AND a.invoice_id = ANY (invoices)
		   AND a.method IN ('write_off', 'shortfall') AND a.allocated_on > s.started_on AND a.allocated_on <= s.grace_end;
		IF ar._plan_outstanding_distributed(_plan_broken_on_distributed.plan_id, s.grace_end) + written_off > s.may_owe THEN
			RETURN s.grace_end + 1;
		END IF;
	END LOOP;
	RETURN NULL;
END $$;

-- Whether ar._run_dunning_company is a distributed function of Citus
-- (ar.distribute): a call of it outside a transaction block is then
-- delegated to the node holding its company.
CREATE FUNCTION ar._dunning_delegates() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	delegates boolean := false;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_object') IS NOT NULL THEN
		EXECUTE $q$SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_object o
		                          WHERE o.classid = 'pg_catalog.pg_proc'::regclass
		                            AND o.objid = to_regprocedure('ar._run_dunning_company(bigint, bigint[], date, boolean, boolean, jsonb)')
		                            AND o.distribution_argument_index IS NOT NULL)$q$ INTO delegates;
	END IF;
	RETURN delegates;
END $$;

-- (ar._dunning_company_tables(), immutable, is executable by PUBLIC as
-- every immutable function of ar: 90_roles.sql)
REVOKE ALL ON FUNCTION ar._dunning_copy_company(bigint[]), ar._dunning_reads(text, bigint), ar._dunning_delegates(),
                       ar._account_balance_on_distributed(bigint, char, date), ar._open_on_distributed(bigint, date),
                       ar._plan_outstanding_distributed(bigint, date), ar._plan_broken_on_distributed(bigint, date) FROM PUBLIC;
