-- ---------------------------------------------------------------------------
-- The collector's day (doc/worklist.md): who collects which account
-- (ar.customer.collector, ar.assign_collector), the settings of each company
-- (ar.collection_settings), the work list (ar.worklist, ar.worklist_today),
-- disputes classified and aged by the cash they block (ar.classify_dispute,
-- ar.dispute_aging), and credit control: "can we ship?"
-- (ar.customer_credit_status, ar.set_order_block, ar.credit_limit_alerts).
--
-- Everything that reads is SECURITY INVOKER: row-level security and the
-- grants decide what the caller sees.  The functions that write are
-- SECURITY DEFINER and check the company of the row they touch.
--
-- The columns this piece relies on (ar.customer.collector, ar.dispute's
-- category, owner and due_on) are defined with their tables (30_ledger.sql,
-- 80_dunning_3_exclusions.sql); an upgraded database gets them from
-- src/upgrade/0.1.0--0.2.0/80_worklist_columns.sql.
-- src/upgrade/0.1.0--0.2.0/81_worklist.sql is a copy of this piece.
-- ---------------------------------------------------------------------------

-- ------------------------------------------------------- new columns

-- ar.customer.collector and ar.dispute's owner and due_on, defined with
-- their tables, are bounded like every header text and date (the tables'
-- constraints are built at the end of a fresh install; on upgrade, at the
-- end of this piece).
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
	('customer', 'collector', 'header_text', 63),
	('dispute', 'owner', 'header_text', 63),
	('dispute', 'due_on', 'date', NULL);

-- ------------------------------------------------------------- settings

CREATE TABLE ar.collection_settings (
	company_id                   bigint PRIMARY KEY REFERENCES ar.company ON DELETE CASCADE,
	dispute_waiting_days         integer NOT NULL DEFAULT 30
		CONSTRAINT collection_settings_dispute_waiting_days CHECK (dispute_waiting_days BETWEEN 0 AND 3660),
	large_overdue_amount         numeric NOT NULL DEFAULT 10000
		CONSTRAINT collection_settings_large_overdue_amount CHECK (large_overdue_amount > 0),
	large_overdue_lookback_days  integer NOT NULL DEFAULT 7
		CONSTRAINT collection_settings_large_overdue_lookback_days CHECK (large_overdue_lookback_days BETWEEN 1 AND 366),
	credit_alert_percent         numeric NOT NULL DEFAULT 90
		CONSTRAINT collection_settings_credit_alert_percent
		CHECK (credit_alert_percent > 0 AND credit_alert_percent <= 100 AND credit_alert_percent = round(credit_alert_percent, 2)),
	order_block_overdue_days     integer NOT NULL DEFAULT 60
		CONSTRAINT collection_settings_order_block_overdue_days CHECK (order_block_overdue_days BETWEEN 0 AND 3660),
	updated_at                   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
	('collection_settings', 'large_overdue_amount', 'amount', NULL);
COMMENT ON TABLE ar.collection_settings IS 'Settings of the work list and of credit control, one row per company (ar_admin sets them). No row: the defaults (ar.collection_settings_effective).';
COMMENT ON COLUMN ar.collection_settings.company_id IS 'Company.';
COMMENT ON COLUMN ar.collection_settings.dispute_waiting_days IS 'An open dispute older than this many days is a task of the work list (default 30).';
COMMENT ON COLUMN ar.collection_settings.large_overdue_amount IS 'A customer whose invoices falling overdue in the last large_overdue_lookback_days days owe at least this (in their currency) is a task (default 10000).';
COMMENT ON COLUMN ar.collection_settings.large_overdue_lookback_days IS 'How many days back "new" overdue amounts are looked for (default 7).';
COMMENT ON COLUMN ar.collection_settings.credit_alert_percent IS 'ar.credit_limit_alerts lists the customers whose exposure reaches this percentage of their credit limit (default 90).';
COMMENT ON COLUMN ar.collection_settings.order_block_overdue_days IS 'An invoice overdue by more than this many days blocks new orders (ar.customer_credit_status; default 60).';
COMMENT ON COLUMN ar.collection_settings.updated_at IS 'Last change.';

CREATE FUNCTION ar._collection_settings_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END $$;
CREATE TRIGGER collection_settings_touch BEFORE UPDATE ON ar.collection_settings
	FOR EACH ROW EXECUTE FUNCTION ar._collection_settings_touch();
CREATE TRIGGER collection_settings_audit AFTER INSERT OR UPDATE OR DELETE ON ar.collection_settings
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER collection_settings_no_truncate BEFORE TRUNCATE ON ar.collection_settings
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- The settings in force for each company: its row, else the defaults (the
-- same values as the table's column defaults; test/pgtap/worklist.sql
-- checks that they agree).
CREATE VIEW ar.collection_settings_effective WITH (security_invoker = true) AS
SELECT c.id AS company_id, c.code AS company_code, c.currency,
       coalesce(s.dispute_waiting_days, 30) AS dispute_waiting_days,
       coalesce(s.large_overdue_amount, 10000) AS large_overdue_amount,
       coalesce(s.large_overdue_lookback_days, 7) AS large_overdue_lookback_days,
       coalesce(s.credit_alert_percent, 90) AS credit_alert_percent,
       coalesce(s.order_block_overdue_days, 60) AS order_block_overdue_days,
       s.company_id IS NOT NULL AS configured
  FROM ar.company c
  LEFT JOIN ar.collection_settings s ON s.company_id = c.id;
COMMENT ON VIEW ar.collection_settings_effective IS 'The work list and credit control settings in force for each company the caller reads: its ar.collection_settings row, else the defaults.';
COMMENT ON COLUMN ar.collection_settings_effective.company_id IS 'ar.company.id';
COMMENT ON COLUMN ar.collection_settings_effective.company_code IS 'Company code.';
COMMENT ON COLUMN ar.collection_settings_effective.currency IS 'The company''s currency: the currency of credit limits.';
COMMENT ON COLUMN ar.collection_settings_effective.dispute_waiting_days IS 'See ar.collection_settings.';
COMMENT ON COLUMN ar.collection_settings_effective.large_overdue_amount IS 'See ar.collection_settings.';
COMMENT ON COLUMN ar.collection_settings_effective.large_overdue_lookback_days IS 'See ar.collection_settings.';
COMMENT ON COLUMN ar.collection_settings_effective.credit_alert_percent IS 'See ar.collection_settings.';
COMMENT ON COLUMN ar.collection_settings_effective.order_block_overdue_days IS 'See ar.collection_settings.';
COMMENT ON COLUMN ar.collection_settings_effective.configured IS 'Whether the company has a row (false: the defaults).';

-- ------------------------------------------------------------ collectors

-- May role r collect for company c?  The rule of ar._access() applied to
-- another role than the caller: a member of ar_collector (or ar_admin)
-- with a membership of the company at collector level or above, or with no
-- membership at all in a database of one company.
CREATE FUNCTION ar._role_may_collect(r oid, company_id bigint) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
	SELECT pg_catalog.pg_has_role(r, 'ar_collector', 'USAGE')
	   AND (EXISTS (SELECT 1 FROM ar.company_member m
	                 WHERE m.company_id = _role_may_collect.company_id AND ar._access_rank(m.access) >= 2
	                   AND pg_catalog.pg_has_role(r, m.member, 'USAGE'))
	        OR (NOT EXISTS (SELECT 1 FROM ar.company_member m WHERE pg_catalog.pg_has_role(r, m.member, 'USAGE'))
	            AND (SELECT count(*) FROM ar.company) = 1))
$$;

-- Puts a customer in the work list of a collector (a role), or takes it
-- out of everyone's (collector NULL: unassigned).  Admins of the customer's
-- company only; the change is in the audit trail (ar.customer is audited)
-- and in the customer's timeline.
CREATE FUNCTION ar.assign_collector(customer bigint, collector name)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	r oid;
BEGIN
	c := ar._customer_or_error(customer);
	PERFORM ar._require_company(c.company_id, 'admin');
	IF collector IS NOT NULL THEN
		SELECT x.oid INTO r FROM pg_catalog.pg_roles x WHERE x.rolname = collector;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'role "%" does not exist', ar._visible(collector) USING ERRCODE = 'undefined_object';
		END IF;
		IF NOT ar._role_may_collect(r, c.company_id) THEN
			RAISE EXCEPTION 'role "%" may not collect for company "%"', collector,
				(SELECT x.code FROM ar.company x WHERE x.id = c.company_id)
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = 'A collector is a member of ar_collector with collector (or admin) access to the customer''s company.',
				      HINT = 'Grant it with ar.grant_company_access(role, company, ''collector'').';
		END IF;
	END IF;
	IF c.collector IS NOT DISTINCT FROM assign_collector.collector THEN
		RETURN;
	END IF;
	UPDATE ar.customer x SET collector = assign_collector.collector WHERE x.company_id = c.company_id AND x.id = c.id;
	INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary)
	VALUES (c.company_id, c.id, 'collector', 'internal',
	        CASE WHEN collector IS NULL THEN format('Collector %s unassigned', c.collector)
	             WHEN c.collector IS NULL THEN format('Collector %s assigned', collector)
	             ELSE format('Collector %s assigned (was %s)', collector, c.collector) END);
END $$;
COMMENT ON FUNCTION ar.assign_collector(bigint, name) IS
'Assigns a customer to a collector (a role that may collect for its company), or unassigns it (NULL). Admins of the customer''s company; audited, and logged in the customer''s timeline.';

-- -------------------------------------------------------------- disputes

-- Category, owner and follow-up date of an open dispute.
CREATE FUNCTION ar.classify_dispute(dispute bigint, category text, owner name DEFAULT NULL, due_on date DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	d ar.dispute;
	company bigint;
BEGIN
	-- the company read first, the lock naming it (routed to its shard on
	-- Citus, doc/scale_out.md blocker 5)
	SELECT x.company_id INTO company FROM ar.dispute x WHERE x.id = classify_dispute.dispute;
	IF FOUND THEN
		PERFORM ar._require_company(company, 'collector');
	END IF;
	SELECT * INTO d FROM ar.dispute x WHERE x.company_id = company AND x.id = classify_dispute.dispute FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'dispute % does not exist', coalesce(dispute::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	IF d.resolved_at IS NOT NULL THEN
		RAISE EXCEPTION 'dispute % is resolved', d.id USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF category IS NULL OR category NOT IN ('price', 'quantity', 'quality', 'delivery', 'not_received', 'other') THEN
		RAISE EXCEPTION 'a dispute''s category is price, quantity, quality, delivery, not_received or other, not %',
			coalesce('"' || ar._visible(category) || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.rolname = owner) THEN
		RAISE EXCEPTION 'role "%" does not exist', ar._visible(owner) USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM ar._check_date('due_on', due_on);
	IF due_on < d.opened_on THEN
		RAISE EXCEPTION 'dispute % was opened on %, its follow-up cannot be due on %', d.id, d.opened_on, due_on
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE ar.dispute x
	   SET category = classify_dispute.category, owner = classify_dispute.owner, due_on = classify_dispute.due_on
	 WHERE x.company_id = d.company_id AND x.id = d.id;   -- (routed as its lock: see above)
	INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary, invoice_id, dispute_id)
	SELECT d.company_id, d.customer_id, 'dispute_classified', 'internal',
	       format('Dispute on invoice %s classified: %s%s%s', i.number, category, ', owner ' || owner,
	              ', follow-up due on ' || due_on),
	       d.invoice_id, d.id
	  FROM ar.invoice i WHERE i.id = d.invoice_id;
END $$;
COMMENT ON FUNCTION ar.classify_dispute(bigint, text, name, date) IS
'Sets the category (price, quantity, quality, delivery, not_received, other), owner (a role) and follow-up date of an open dispute. Collectors of its company; audited, and logged in the customer''s timeline.';

CREATE FUNCTION ar._age_bucket(days integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN days <= 30 THEN 'd0_30' WHEN days <= 60 THEN 'd31_60' WHEN days <= 90 THEN 'd61_90' ELSE 'd91_plus' END $$;

-- The disputes open on as_of, by company, currency, category and age, with
-- the cash they block: the open amounts, on as_of, of the disputed invoices
-- (ar._open_on's rule, its allocations summed by a LATERAL subquery).
-- PL/pgSQL, every join on (x_id, company_id) and grouped by company, so that
-- Citus runs its query on each shard (as SQL it was refused: "parameterized
-- queries for SQL functions referencing distributed tables are not
-- supported"; doc/scale_out.md, blocker 2).
CREATE FUNCTION ar.dispute_aging_on(as_of date DEFAULT current_date)
RETURNS TABLE (company_id bigint, company_code text, currency char(3), category text, age_bucket text,
               disputes bigint, customers bigint, blocked_amount numeric, oldest_days integer,
               follow_up_overdue bigint, without_owner bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	SELECT d.company_id, co.code, i.currency, coalesce(d.category, 'unclassified'), ar._age_bucket(d.age),
	       count(*), count(DISTINCT d.customer_id),
	       sum(CASE WHEN i.cancelled_on IS NOT NULL
	                THEN CASE WHEN i.cancelled_on > dispute_aging_on.as_of THEN i.amount ELSE 0 END
	                ELSE i.amount - coalesce(paid.amount, 0) END),
	       max(d.age), count(*) FILTER (WHERE d.due_on < dispute_aging_on.as_of), count(*) FILTER (WHERE d.owner IS NULL)
	  FROM (SELECT x.*, dispute_aging_on.as_of - coalesce(x.opened_on, x.opened_at::date) AS age
	          FROM ar.dispute x
	         WHERE (x.resolved_at IS NULL OR x.resolved_on > dispute_aging_on.as_of)
	           AND coalesce(x.opened_on, x.opened_at::date) <= dispute_aging_on.as_of) d
	  JOIN ar.invoice i ON i.id = d.invoice_id AND i.company_id = d.company_id
	  LEFT JOIN LATERAL (SELECT sum(a.amount) AS amount FROM ar.allocation a
	                      WHERE a.invoice_id = i.id AND a.company_id = i.company_id
	                        AND a.allocated_on <= dispute_aging_on.as_of) paid ON true
	  JOIN ar.company co ON co.id = d.company_id
	 GROUP BY d.company_id, co.code, i.currency, coalesce(d.category, 'unclassified'), ar._age_bucket(d.age)
	 ORDER BY co.code, i.currency, coalesce(d.category, 'unclassified'), ar._age_bucket(d.age);
END $$;
COMMENT ON FUNCTION ar.dispute_aging_on(date) IS
'The disputes open on as_of by company, currency, category (unclassified: none yet) and age bucket (d0_30, d31_60, d61_90, d91_plus days since opened), with the open amount of the disputed invoices on as_of (the cash they block).';

CREATE VIEW ar.dispute_aging WITH (security_invoker = true) AS
SELECT * FROM ar.dispute_aging_on(current_date);
COMMENT ON VIEW ar.dispute_aging IS 'ar.dispute_aging_on(current_date): open disputes by category and age, with the cash they block.';
COMMENT ON COLUMN ar.dispute_aging.company_id IS 'ar.company.id';
COMMENT ON COLUMN ar.dispute_aging.company_code IS 'Company code.';
COMMENT ON COLUMN ar.dispute_aging.currency IS 'Currency of the disputed invoices.';
COMMENT ON COLUMN ar.dispute_aging.category IS 'price, quantity, quality, delivery, not_received, other, or unclassified (ar.classify_dispute not called yet).';
COMMENT ON COLUMN ar.dispute_aging.age_bucket IS 'Days since the dispute was opened: d0_30, d31_60, d61_90, d91_plus.';
COMMENT ON COLUMN ar.dispute_aging.disputes IS 'Open disputes.';
COMMENT ON COLUMN ar.dispute_aging.customers IS 'Customers concerned.';
COMMENT ON COLUMN ar.dispute_aging.blocked_amount IS 'Open amount of the disputed invoices: the cash the disputes block.';
COMMENT ON COLUMN ar.dispute_aging.oldest_days IS 'Age of the oldest, in days.';
COMMENT ON COLUMN ar.dispute_aging.follow_up_overdue IS 'Disputes whose follow-up date (due_on) has passed.';
COMMENT ON COLUMN ar.dispute_aging.without_owner IS 'Disputes without an owner.';

-- -------------------------------------------------------- credit control

-- Manual order blocks: one active block per customer; lifting keeps the row.
CREATE TABLE ar.order_block (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint NOT NULL,
	customer_id  bigint NOT NULL,
	reason       text NOT NULL CONSTRAINT order_block_reason_required CHECK (btrim(reason) <> ''),
	blocked_at   timestamptz NOT NULL DEFAULT now(),
	blocked_by   text NOT NULL DEFAULT session_user,
	lifted_at    timestamptz,
	lifted_by    text,
	lift_reason  text CONSTRAINT order_block_lift_reason_required CHECK (btrim(lift_reason) <> ''),
	FOREIGN KEY (company_id, customer_id) REFERENCES ar.customer (company_id, id),
	CONSTRAINT order_block_lifted_with_reason CHECK ((lifted_at IS NULL) = (lift_reason IS NULL))
);
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
	('order_block', 'reason', 'header_text', 500),
	('order_block', 'lift_reason', 'header_text', 500);
CREATE UNIQUE INDEX order_block_one_active ON ar.order_block (customer_id) WHERE lifted_at IS NULL;
COMMENT ON TABLE ar.order_block IS 'Manual order blocks (ar.set_order_block): while a row is not lifted, ar.customer_credit_status says the customer''s orders are blocked.';
COMMENT ON COLUMN ar.order_block.company_id IS 'Company.';
COMMENT ON COLUMN ar.order_block.customer_id IS 'Customer.';
COMMENT ON COLUMN ar.order_block.reason IS 'Why orders are blocked.';
COMMENT ON COLUMN ar.order_block.blocked_at IS 'When.';
COMMENT ON COLUMN ar.order_block.blocked_by IS 'Who (the role acting, ar._caller()).';
COMMENT ON COLUMN ar.order_block.lifted_at IS 'When the block was lifted (NULL: active).';
COMMENT ON COLUMN ar.order_block.lifted_by IS 'Who lifted it.';
COMMENT ON COLUMN ar.order_block.lift_reason IS 'Why.';

CREATE TRIGGER order_block_audit AFTER INSERT OR UPDATE OR DELETE ON ar.order_block
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER order_block_no_truncate BEFORE TRUNCATE ON ar.order_block
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- Blocks (blocked true: collectors) or lets through again (false: admins)
-- the orders of a customer.  Returns the block's id; NULL when lifting
-- finds no active block.  Blocking a blocked customer keeps its block.
CREATE FUNCTION ar.set_order_block(customer bigint, blocked boolean, reason text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	b ar.order_block;
BEGIN
	IF blocked IS NULL THEN
		RAISE EXCEPTION 'blocked must be true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM ar._require_text('a reason', reason);
	PERFORM ar._check_header_text('reason', reason, 500);
	c := ar._customer_or_error(customer);
	PERFORM ar._require_company(c.company_id, CASE WHEN blocked THEN 'collector' ELSE 'admin' END);
	PERFORM 1 FROM ar.customer x WHERE x.company_id = c.company_id AND x.id = c.id FOR UPDATE;
	SELECT * INTO b FROM ar.order_block x WHERE x.customer_id = c.id AND x.lifted_at IS NULL;
	IF blocked THEN
		IF FOUND THEN
			RAISE NOTICE 'orders of customer % are already blocked (since %): %', c.code, b.blocked_at, b.reason;
			RETURN b.id;
		END IF;
		INSERT INTO ar.order_block (company_id, customer_id, reason, blocked_by)
		VALUES (c.company_id, c.id, set_order_block.reason, ar._caller()::text)
		RETURNING * INTO b;
		INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary)
		VALUES (c.company_id, c.id, 'order_block', 'internal', format('Orders blocked: %s', reason));
		RETURN b.id;
	END IF;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	UPDATE ar.order_block x SET lifted_at = now(), lifted_by = ar._caller()::text, lift_reason = set_order_block.reason
	 WHERE x.company_id = b.company_id AND x.id = b.id;
	INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary)
	VALUES (c.company_id, c.id, 'order_block_lifted', 'internal', format('Order block %s lifted: %s', b.id, reason));
	RETURN b.id;
END $$;
COMMENT ON FUNCTION ar.set_order_block(bigint, boolean, text) IS
'Blocks a customer''s orders (blocked true: collectors of its company) or lifts the block (false: admins), with a reason; audited, logged in the timeline. Returns the block''s id (NULL: nothing to lift).';

-- What each customer (all, or those listed) owes on as_of in its company's
-- currency, the currency of credit limits: exposure = open invoices and
-- credit notes less unapplied customer credit; the overdue part and the
-- age of the oldest overdue invoice.  Items in other currencies are not
-- counted (ar_collect has no exchange rates).
-- The query is a text, as_of $1, the customers $2 (NULL: all) and the
-- company $3 (NULL: all), with the open items' and open credits' query texts
-- in it (ar._open_items_query(), ar._open_credits_query(), their tables read
-- for company $3: ar._for_company), every join on (customer_id, company_id):
-- routed to the company's shard where $3 is given; the
-- functions that read it run it (EXECUTE), so that the statement names the
-- tables and Citus plans it (as SQL over ar._open_items and ar._open_credits
-- it was refused: "parameterized queries for SQL functions referencing
-- distributed tables are not supported"; doc/scale_out.md, blocker 2).  On
-- one node its plan is the one the inlined SQL function had.
CREATE FUNCTION ar._for_company(query text, param integer) RETURNS text
LANGUAGE sql STABLE AS $f$
	SELECT ar._company_sql(query, '$' || param)
$f$;
COMMENT ON FUNCTION ar._for_company(text, integer) IS
'The text of a query of ar_collect with each company table it reads (ar._company_tables()) read through a subquery of company $param (every company when NULL): ar._company_sql with a parameter. On one node the subquery is pulled up (the same plan, the condition folded away when NULL); on Citus the query is routed to the company''s shard.';

CREATE FUNCTION ar._credit_exposure_query() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $f$
	SELECT format($q$
	SELECT c.id, c.company_id, co.currency, c.credit_limit,
	       coalesce(o.open_total, 0) - coalesce(k.available, 0), coalesce(o.overdue, 0), o.oldest
	  FROM ar.customer c
	  JOIN ar.company co ON co.id = c.company_id
	  LEFT JOIN (SELECT oi.customer_id, oi.company_id, oi.currency, sum(oi.open_amount) AS open_total,
	                    sum(oi.open_amount) FILTER (WHERE oi.days_past_due > 0 AND oi.open_amount > 0) AS overdue,
	                    max(oi.days_past_due) FILTER (WHERE oi.days_past_due > 0 AND oi.open_amount > 0) AS oldest
	               FROM (%s) oi (invoice_id, company_id, customer_id, number, currency, issue_date, due_date, amount,
	                            open_amount, days_past_due)
	              WHERE $2 IS NULL OR oi.customer_id = ANY ($2)
	              GROUP BY oi.customer_id, oi.company_id, oi.currency) o
	         ON o.customer_id = c.id AND o.company_id = c.company_id AND o.currency = co.currency
	  LEFT JOIN (SELECT k.customer_id, k.company_id, k.currency, sum(k.available) AS available
	               FROM (%s) k (kind, credit_id, company_id, customer_id, currency, number, credit_date, amount,
	                           available, note)
	              WHERE k.kind = 'customer_credit' AND ($2 IS NULL OR k.customer_id = ANY ($2))
	              GROUP BY k.customer_id, k.company_id, k.currency) k
	         ON k.customer_id = c.id AND k.company_id = c.company_id AND k.currency = co.currency
	 WHERE ($2 IS NULL OR c.id = ANY ($2)) AND ($3::bigint IS NULL OR c.company_id = $3)$q$,
	       ar._for_company(ar._open_items_query(), 3), ar._for_company(ar._open_credits_query(), 3))
$f$;

CREATE FUNCTION ar._credit_exposure(as_of date, customer_ids bigint[] DEFAULT NULL, company bigint DEFAULT NULL)
RETURNS TABLE (customer_id bigint, company_id bigint, currency char(3), credit_limit numeric, exposure numeric,
               overdue_amount numeric, oldest_overdue_days integer)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY EXECUTE ar._credit_exposure_query() USING as_of, customer_ids, company;
END $$;

-- Can we ship to this customer?  Its credit limit, exposure, what is left,
-- what is overdue, and whether its orders are blocked, with every reason:
-- a manual block, the limit exceeded, an invoice overdue beyond the
-- company's order_block_overdue_days, the account handed to legal (a
-- notice of a task level, the last levels of a policy, in its current
-- dunning cycle).
CREATE FUNCTION ar.customer_credit_status(customer bigint, as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, company_id bigint, currency char(3), credit_limit numeric,
               exposure numeric, available numeric, overdue_amount numeric, oldest_overdue_days integer,
               order_blocked boolean, reasons text[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c ar.customer;
	e record;
	s ar.collection_settings_effective;
	why text[] := '{}';
	b ar.order_block;
	handoff record;
BEGIN
	SELECT * INTO c FROM ar.customer x WHERE x.id = customer_credit_status.customer;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(customer::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	IF as_of IS NULL THEN
		RAISE EXCEPTION 'as_of cannot be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM ar._check_date('as_of', as_of);
	SELECT * INTO e FROM ar._credit_exposure(as_of, ARRAY[c.id], c.company_id);
	SELECT * INTO s FROM ar.collection_settings_effective x WHERE x.company_id = c.company_id;
	SELECT * INTO b FROM ar.order_block x WHERE x.company_id = c.company_id AND x.customer_id = c.id AND x.lifted_at IS NULL;
	IF FOUND THEN
		why := why || format('manual block since %s: %s', to_char(b.blocked_at, 'YYYY-MM-DD'), b.reason);
	END IF;
	IF e.exposure > c.credit_limit THEN
		why := why || format('credit limit exceeded: exposure %s over the limit %s', ar.format_money(e.exposure, e.currency),
		                     ar.format_money(c.credit_limit, e.currency));
	END IF;
	IF e.oldest_overdue_days > s.order_block_overdue_days THEN
		why := why || format('overdue beyond %s days: %s overdue, the oldest invoice by %s days', s.order_block_overdue_days,
		                     ar.format_money(e.overdue_amount, e.currency), e.oldest_overdue_days);
	END IF;
	SELECT n.id, n.as_of, n.level_name, n.currency INTO handoff
	  FROM ar.dunning_notice n
	  JOIN ar.dunning_account a ON a.customer_id = n.customer_id AND a.currency = n.currency AND a.cycle = n.cycle
	                           AND a.company_id = n.company_id
	 WHERE n.company_id = c.company_id AND n.customer_id = c.id AND n.channel = 'task' AND n.status IN ('queued', 'sent') AND n.as_of <= customer_credit_status.as_of
	 ORDER BY n.as_of DESC, n.id DESC LIMIT 1;
	IF FOUND THEN
		why := why || format('legal handoff: %s on %s (notice %s)', handoff.level_name, to_char(handoff.as_of, 'YYYY-MM-DD'), handoff.id);
	END IF;
	RETURN QUERY SELECT c.id, c.code, c.company_id, e.currency, c.credit_limit, e.exposure,
	                    c.credit_limit - e.exposure, e.overdue_amount, e.oldest_overdue_days,
	                    cardinality(why) > 0, why;
END $$;
COMMENT ON FUNCTION ar.customer_credit_status(bigint, date) IS
'Can we ship? A customer''s credit limit, exposure (open receivables in the company''s currency less unapplied credit), available (limit - exposure; NULL without a limit), overdue amount, oldest overdue days, and whether its orders are blocked with every reason (manual block, limit exceeded, overdue beyond order_block_overdue_days, legal handoff).';

-- Customers whose exposure reaches the company's credit_alert_percent of
-- their credit limit on as_of: exceeded (over it) or near.  PL/pgSQL: the
-- settings of the companies the caller reads first (a statement of their
-- own), then one query naming the tables, the exposure's text in it, every
-- join on (x_id, company_id), so that Citus plans it (as SQL it was refused:
-- "parameterized queries for SQL functions referencing distributed tables
-- are not supported"; doc/scale_out.md, blocker 2): on one node once for
-- every company, on a distributed ledger once per company in code order,
-- each routed to the company's shard.
CREATE FUNCTION ar.credit_limit_alerts_on(as_of date DEFAULT current_date)
RETURNS TABLE (company_id bigint, company_code text, customer_id bigint, customer_code text, customer_name text,
               collector name, currency char(3), credit_limit numeric, exposure numeric, available numeric,
               used_percent numeric, alert text, order_blocked boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	companies bigint[];
	codes text[];
	percents numeric[];
	co bigint;
BEGIN
	SELECT array_agg(s.company_id ORDER BY s.company_code), array_agg(s.company_code ORDER BY s.company_code),
	       array_agg(s.credit_alert_percent ORDER BY s.company_code)
	  INTO companies, codes, percents
	  FROM ar.collection_settings_effective s;
	FOREACH co IN ARRAY CASE WHEN ar._ledger_distributed() THEN coalesce(companies, '{}') ELSE ARRAY[NULL::bigint] END LOOP
		RETURN QUERY EXECUTE format($q$
		SELECT c.company_id, s.company_code, c.id, c.code, c.name, c.collector, e.currency, e.credit_limit, e.exposure,
		       e.credit_limit - e.exposure,
		       CASE WHEN e.credit_limit > 0 THEN round(e.exposure * 100 / e.credit_limit, 1) END,
		       CASE WHEN e.exposure > e.credit_limit THEN 'exceeded' ELSE 'near' END,
		       b.id IS NOT NULL
		  FROM (%s) e (customer_id, company_id, currency, credit_limit, exposure, overdue_amount, oldest_overdue_days)
		  JOIN ar.customer c ON c.id = e.customer_id AND c.company_id = e.company_id
		 CROSS JOIN LATERAL (SELECT $5[k.i] AS company_code, $6[k.i] AS credit_alert_percent
		                       FROM (SELECT array_position($4, c.company_id) AS i) k WHERE k.i IS NOT NULL) s
		  LEFT JOIN ar.order_block b ON b.customer_id = c.id AND b.company_id = c.company_id AND b.lifted_at IS NULL
		                              AND ($3::bigint IS NULL OR b.company_id = $3)
		 WHERE ($3::bigint IS NULL OR c.company_id = $3) AND e.credit_limit IS NOT NULL AND e.exposure > 0
		   AND e.exposure >= e.credit_limit * s.credit_alert_percent / 100
		 ORDER BY s.company_code, e.exposure - e.credit_limit DESC, c.code$q$, ar._credit_exposure_query())
		USING as_of, NULL::bigint[], co, coalesce(companies, '{}'::bigint[]), coalesce(codes, '{}'::text[]),
		      coalesce(percents, '{}'::numeric[]);
	END LOOP;
END $$;
COMMENT ON FUNCTION ar.credit_limit_alerts_on(date) IS
'Customers whose exposure on as_of reaches credit_alert_percent (ar.collection_settings, default 90) of their credit limit: alert exceeded (over the limit) or near; the largest excess first.';

CREATE VIEW ar.credit_limit_alerts WITH (security_invoker = true) AS
SELECT * FROM ar.credit_limit_alerts_on(current_date);
COMMENT ON VIEW ar.credit_limit_alerts IS 'ar.credit_limit_alerts_on(current_date): customers over or near their credit limit.';
COMMENT ON COLUMN ar.credit_limit_alerts.company_id IS 'ar.company.id';
COMMENT ON COLUMN ar.credit_limit_alerts.company_code IS 'Company code.';
COMMENT ON COLUMN ar.credit_limit_alerts.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.credit_limit_alerts.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.credit_limit_alerts.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.credit_limit_alerts.collector IS 'Its collector (NULL: unassigned).';
COMMENT ON COLUMN ar.credit_limit_alerts.currency IS 'The company''s currency (of the limit and the exposure).';
COMMENT ON COLUMN ar.credit_limit_alerts.credit_limit IS 'ar.customer.credit_limit.';
COMMENT ON COLUMN ar.credit_limit_alerts.exposure IS 'Open invoices and credit notes less unapplied customer credit, in the company''s currency.';
COMMENT ON COLUMN ar.credit_limit_alerts.available IS 'credit_limit - exposure (negative: exceeded).';
COMMENT ON COLUMN ar.credit_limit_alerts.used_percent IS 'exposure / credit_limit in percent, to 0.1 (NULL for a limit of 0).';
COMMENT ON COLUMN ar.credit_limit_alerts.alert IS 'exceeded (exposure over the limit) or near (at least credit_alert_percent of it).';
COMMENT ON COLUMN ar.credit_limit_alerts.order_blocked IS 'Whether its orders are blocked by hand (ar.set_order_block).';

-- ------------------------------------------------------------- work list

-- One row per task on as_of, most urgent first (see doc/worklist.md for
-- each kind):
--   1 promise_broken    a promise whose date passed, still not paid, no newer promise
--   1 plan_missed       an active (or broken) payment plan behind schedule
--   2 call              a dunning notice of a task level (the channel "task") still queued
--   2 promise_due       a promise falling due on as_of, not yet paid
--   2 notice_bounced    a notice marked failed, not followed by another, its invoices still open
--   2 credit_limit      exposure over the credit limit
--   3 large_overdue     invoices falling overdue in the last lookback days owing at least the
--                       threshold (not disputed, not in an active payment plan)
--   3 dispute_follow_up an open dispute whose follow-up date (due_on) passed
--   4 dispute_waiting   an open dispute older than dispute_waiting_days
--                       (disputes of invoices paid since: no cash at stake, not a task)
-- Within a priority: the larger amount first, then company, customer,
-- kind and related id (a deterministic order).
-- The work list's query, as_of $1, the company $3 (NULL: every company),
-- the customers of the collector $9 with a credit limit $2 (read first: the
-- exposure is computed for them only), the settings of the companies the
-- caller reads as arrays in company code order ($4 ids, $5 codes, $6
-- dispute_waiting_days, $7 large_overdue_amount, $8
-- large_overdue_lookback_days): a text, the exposure's, the open items' and
-- the plans' texts in it, every join between company tables on
-- (x_id, company_id), the open amounts on as_of summed by LATERAL
-- subqueries (ar._open_on's rule), every ledger table read for company $3
-- (ar._for_company): routed whole to the company's shard on Citus.  As SQL
-- over ar._open_on, ar._plan_outstanding, ar.payment_plan_schedule and
-- ar._credit_exposure it was refused there ("parameterized queries for SQL
-- functions referencing distributed tables are not supported";
-- doc/scale_out.md, blocker 2).
CREATE FUNCTION ar._worklist_query() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $f$
	SELECT ar._for_company(format($q$
	WITH cust AS (
		SELECT c.id, c.company_id, c.code, c.name, c.collector, c.credit_limit, $5[k.i] AS company_code,
		       $6[k.i] AS dispute_waiting_days, $7[k.i] AS large_overdue_amount, $8[k.i] AS large_overdue_lookback_days
		  FROM ar.customer c
		 CROSS JOIN LATERAL (SELECT array_position($4, c.company_id) AS i) k
		 WHERE k.i IS NOT NULL AND ($9::name IS NULL OR c.collector = $9)
	), task AS (
		-- broken promises, promises due today
		SELECT p.customer_id, p.company_id,
		       CASE WHEN p.promised_on < $1 THEN 'promise_broken' ELSE 'promise_due' END AS kind,
		       CASE WHEN p.promised_on < $1 THEN 1 ELSE 2 END AS priority,
		       CASE WHEN p.promised_on < $1
		            THEN format('Promise to pay %%s on invoice %%s by %%s not kept: %%s still missing',
		                        ar.format_money(p.amount, p.currency), p.number, to_char(p.promised_on, 'YYYY-MM-DD'),
		                        ar.format_money(least(p.owed, p.amount), p.currency))
		            ELSE format('Promise to pay %%s on invoice %%s falls due today: %%s not received yet',
		                        ar.format_money(p.amount, p.currency), p.number,
		                        ar.format_money(least(p.owed, p.amount), p.currency)) END AS reason,
		       least(p.owed, p.amount) AS amount, p.currency, p.promised_on AS since,
		       CASE WHEN p.promised_on < $1
		            THEN 'Call the customer: get the payment or a new promise (ar.promise_to_pay), else let dunning resume'
		            ELSE 'Check the payment arrives today; call the customer if it does not' END AS next_action,
		       'payment_promise' AS related_table, p.id AS related_id
		  FROM (SELECT x.id, x.customer_id, x.company_id, x.amount, x.promised_on, i.number, i.currency,
		               CASE WHEN i.cancelled_on IS NOT NULL THEN CASE WHEN i.cancelled_on > $1 THEN i.amount ELSE 0 END
		                    ELSE i.amount - coalesce(paid.amount, 0) END - (x.open_at_promise - x.amount) AS owed
		          FROM ar.payment_promise x
		          JOIN ar.invoice i ON i.id = x.invoice_id AND i.company_id = x.company_id
		          LEFT JOIN LATERAL (SELECT sum(a.amount) AS amount FROM ar.allocation a
		                              WHERE a.invoice_id = i.id AND a.company_id = i.company_id AND a.allocated_on <= $1) paid ON true
		         WHERE (x.customer_id, x.company_id) IN (SELECT cust.id, cust.company_id FROM cust)
		           AND x.status <> 'kept' AND x.promised_on <= $1 AND (x.made_on IS NULL OR x.made_on <= $1)
		           AND NOT EXISTS (SELECT 1 FROM ar.payment_promise y
		                            WHERE y.invoice_id = x.invoice_id AND y.company_id = x.company_id AND y.id > x.id
		                              AND (y.made_on IS NULL OR y.made_on <= $1))) p
		 WHERE p.owed > 0
		UNION ALL
		-- payment plans behind schedule: what the instalments due (grace
		-- period over) should have left owed, against what is owed
		SELECT p.customer_id, p.company_id, 'plan_missed', 1,
		       format('Payment plan %%s: %%s instalment(s) missed since %%s; %%s behind schedule', p.plan_id, p.missed,
		              to_char(p.first_missed, 'YYYY-MM-DD'), ar.format_money(o.owed - p.should_owe, p.currency)),
		       o.owed - p.should_owe, p.currency, p.first_missed,
		       'Call the customer to catch up the plan; a broken plan puts its invoices back into dunning',
		       'payment_plan', p.plan_id
		  FROM (SELECT s.plan_id, s.company_id, s.customer_id, s.currency,
		               count(*) FILTER (WHERE s.settle_on < $1 AND s.owed > s.total - s.cumulative) AS missed,
		               min(s.due_on) FILTER (WHERE s.settle_on < $1 AND s.owed > s.total - s.cumulative) AS first_missed,
		               min(s.total) - sum(s.amount) FILTER (WHERE s.settle_on < $1) AS should_owe
		          FROM (%s) s
		         WHERE (s.customer_id, s.company_id) IN (SELECT cust.id, cust.company_id FROM cust)
		           AND s.status IN ('active', 'broken') AND (s.starts_on IS NULL OR s.starts_on <= $1)
		         GROUP BY s.plan_id, s.company_id, s.customer_id, s.currency) p
		 CROSS JOIN LATERAL (SELECT coalesce(sum(CASE WHEN v.cancelled_on IS NOT NULL
		                                              THEN CASE WHEN v.cancelled_on > $1 THEN v.amount ELSE 0 END
		                                              ELSE v.amount - coalesce(paid.amount, 0) END), 0) AS owed
		                       FROM ar.payment_plan_invoice pi
		                       JOIN ar.invoice v ON v.id = pi.invoice_id AND v.company_id = pi.company_id
		                       LEFT JOIN LATERAL (SELECT sum(a.amount) AS amount FROM ar.allocation a
		                                           WHERE a.invoice_id = v.id AND a.company_id = v.company_id
		                                             AND a.allocated_on <= $1) paid ON true
		                      WHERE pi.plan_id = p.plan_id AND pi.company_id = p.company_id) o
		 WHERE o.owed - p.should_owe > 0 AND p.missed > 0
		UNION ALL
		-- dunning levels whose channel is a task: a call to make (or an
		-- account to hand over) until the notice is marked sent
		SELECT n.customer_id, n.company_id, 'call', 2,
		       format('Dunning level %%s (%%s) reached on %%s: %%s claimed on %%s invoice(s)', n.level, n.level_name, to_char(n.as_of, 'YYYY-MM-DD'),
		              ar.format_money(n.amount_due, n.currency), cardinality(n.invoice_ids)),
		       n.amount_due, n.currency, n.as_of,
		       format('Call the customer and act as the level says (%%s), then mark the task done: ar.mark_notice(%%s, ''sent'')',
		              n.level_name, n.id),
		       'dunning_notice', n.id
		  FROM ar.dunning_notice n
		 WHERE n.channel = 'task' AND n.status = 'queued' AND n.as_of <= $1
		   AND (n.customer_id, n.company_id) IN (SELECT cust.id, cust.company_id FROM cust)
		UNION ALL
		-- notices not delivered, not followed by another of the account, their invoices still open
		SELECT n.customer_id, n.company_id, 'notice_bounced', 2,
		       format('%%s of level %%s (%%s) of %%s not delivered: %%s', initcap(replace(n.channel, '_', ' ')), n.level,
		              n.level_name, n.as_of, coalesce(n.status_detail, 'no detail')),
		       o.still_open, n.currency, n.as_of,
		       CASE WHEN n.channel IN ('email', 'sms') THEN 'Check the customer''s e-mail address and phone number, then reach the customer another way'
		            ELSE 'Check the customer''s postal address, then reach the customer another way' END,
		       'dunning_notice', n.id
		  FROM ar.dunning_notice n
		 CROSS JOIN LATERAL (SELECT sum(CASE WHEN v.cancelled_on IS NOT NULL
		                                     THEN CASE WHEN v.cancelled_on > $1 THEN v.amount ELSE 0 END
		                                     ELSE v.amount - coalesce(paid.amount, 0) END) AS still_open
		                       FROM ar.invoice v
		                       LEFT JOIN LATERAL (SELECT sum(a.amount) AS amount FROM ar.allocation a
		                                           WHERE a.invoice_id = v.id AND a.company_id = v.company_id
		                                             AND a.allocated_on <= $1) paid ON true
		                      WHERE v.id = ANY (n.invoice_ids) AND v.company_id = n.company_id) o
		 WHERE n.status = 'failed' AND n.channel <> 'task' AND n.as_of <= $1
		   AND (n.customer_id, n.company_id) IN (SELECT cust.id, cust.company_id FROM cust)
		   AND o.still_open > 0
		   AND NOT EXISTS (SELECT 1 FROM ar.dunning_notice y
		                    WHERE y.customer_id = n.customer_id AND y.company_id = n.company_id AND y.currency = n.currency
		                      AND y.status IN ('queued', 'sent') AND y.as_of <= $1 AND (y.as_of, y.id) > (n.as_of, n.id))
		UNION ALL
		-- credit limits exceeded
		SELECT e.customer_id, e.company_id, 'credit_limit', 2,
		       format('Exposure %%s over the credit limit %%s by %%s', ar.format_money(e.exposure, e.currency),
		              ar.format_money(e.credit_limit, e.currency), ar.format_money(e.exposure - e.credit_limit, e.currency)),
		       e.exposure - e.credit_limit, e.currency, NULL::date,
		       CASE WHEN b.id IS NULL THEN 'Hold new orders (ar.set_order_block) until paid down, or review the limit'
		            ELSE format('Orders blocked since %%s: get the account paid down below the limit, then lift the block',
		                        to_char(b.blocked_at, 'YYYY-MM-DD')) END,
		       'customer', e.customer_id
		  FROM (%s) e (customer_id, company_id, currency, credit_limit, exposure, overdue_amount, oldest_overdue_days)
		  LEFT JOIN ar.order_block b ON b.customer_id = e.customer_id AND b.company_id = e.company_id AND b.lifted_at IS NULL
		 WHERE e.exposure > e.credit_limit
		UNION ALL
		-- large new overdue amounts
		SELECT g.customer_id, g.company_id, 'large_overdue', 3,
		       format('%%s fell overdue in the last %%s days (%%s invoice(s), the largest %%s)', ar.format_money(g.total, g.currency),
		              g.lookback, g.invoices, g.largest_number),
		       g.total, g.currency, g.first_due,
		       'Call the customer before the next reminder',
		       'invoice', g.largest_id
		  FROM (SELECT oi.customer_id, oi.company_id, oi.currency, cu.large_overdue_lookback_days AS lookback,
		               sum(oi.open_amount) AS total, count(*) AS invoices, min(oi.due_date) AS first_due, cu.large_overdue_amount,
		               (array_agg(oi.invoice_id ORDER BY oi.open_amount DESC, oi.invoice_id))[1] AS largest_id,
		               (array_agg(oi.number ORDER BY oi.open_amount DESC, oi.invoice_id))[1] AS largest_number
		          FROM (%s) oi (invoice_id, company_id, customer_id, number, currency, issue_date, due_date, amount, open_amount,
		                        days_past_due)
		          JOIN cust cu ON cu.id = oi.customer_id AND cu.company_id = oi.company_id
		         WHERE oi.open_amount > 0 AND oi.days_past_due BETWEEN 1 AND cu.large_overdue_lookback_days
		           -- not those the other tasks follow: disputed, or in a payment plan
		           AND NOT EXISTS (SELECT 1 FROM ar.dispute x
		                            WHERE x.invoice_id = oi.invoice_id AND x.company_id = oi.company_id
		                              AND (x.resolved_at IS NULL OR x.resolved_on > $1))
		           AND NOT EXISTS (SELECT 1 FROM ar.payment_plan_invoice pi
		                             JOIN ar.payment_plan pp ON pp.id = pi.plan_id AND pp.company_id = pi.company_id
		                            WHERE pi.invoice_id = oi.invoice_id AND pi.company_id = oi.company_id AND pp.status = 'active')
		         GROUP BY oi.customer_id, oi.company_id, oi.currency, cu.large_overdue_lookback_days, cu.large_overdue_amount) g
		 WHERE g.total >= g.large_overdue_amount
		UNION ALL
		-- disputes: follow-up date passed, or open for too long
		SELECT d.customer_id, d.company_id, CASE WHEN d.due_on < $1 THEN 'dispute_follow_up' ELSE 'dispute_waiting' END,
		       CASE WHEN d.due_on < $1 THEN 3 ELSE 4 END,
		       format('Dispute (%%s) on invoice %%s open for %%s days%%s: %%s', coalesce(d.category, 'unclassified'), i.number, d.age,
		              CASE WHEN d.due_on < $1 THEN format(', follow-up due on %%s', to_char(d.due_on, 'YYYY-MM-DD'))
		                   ELSE format(' (more than %%s)', d.dispute_waiting_days) END,
		              d.reason),
		       o.open_amount, i.currency, coalesce(d.opened_on, d.opened_at::date),
		       CASE WHEN d.owner IS NULL THEN 'Classify the dispute and give it an owner (ar.classify_dispute), then get it resolved (ar.resolve_dispute)'
		            ELSE format('Ask %%s for the resolution, then resolve it (ar.resolve_dispute)', d.owner) END,
		       'dispute', d.id
		  FROM (SELECT x.*, $1 - coalesce(x.opened_on, x.opened_at::date) AS age, cu.dispute_waiting_days
		          FROM ar.dispute x JOIN cust cu ON cu.id = x.customer_id AND cu.company_id = x.company_id
		         WHERE (x.resolved_at IS NULL OR x.resolved_on > $1)) d
		  JOIN ar.invoice i ON i.id = d.invoice_id AND i.company_id = d.company_id
		  LEFT JOIN LATERAL (SELECT sum(a.amount) AS amount FROM ar.allocation a
		                      WHERE a.invoice_id = i.id AND a.company_id = i.company_id AND a.allocated_on <= $1) paid ON true
		 CROSS JOIN LATERAL (SELECT CASE WHEN i.cancelled_on IS NOT NULL THEN CASE WHEN i.cancelled_on > $1 THEN i.amount ELSE 0 END
		                                 ELSE i.amount - coalesce(paid.amount, 0) END AS open_amount) o
		 WHERE d.age >= 0 AND (d.due_on < $1 OR d.age > d.dispute_waiting_days)
		   AND o.open_amount > 0
	)
	SELECT cu.company_id, cu.company_code, t.customer_id, cu.code, cu.name, cu.collector, t.kind, t.priority, t.reason,
	       t.amount, t.currency, t.since, t.next_action, t.related_table, t.related_id
	  FROM task t
	  JOIN cust cu ON cu.id = t.customer_id AND cu.company_id = t.company_id$q$,
	  ar._plan_instalments_query(3), ar._credit_exposure_query(), ar._open_items_query()), 3)
$f$;

-- The rows of the work list, unordered: the settings of the companies the
-- caller reads (of company alone when given) first, then the query once for
-- every company on one node, once per company on a distributed ledger
-- (each routed to the company's shard); the customers with a credit limit
-- read first by a query of their own.
CREATE FUNCTION ar._worklist_rows(as_of date, collector name, company bigint)
RETURNS TABLE (company_id bigint, company_code text, customer_id bigint, customer_code text, customer_name text,
               assigned_to name, kind text, priority integer, reason text, amount numeric, currency char(3), since date,
               next_action text, related_table text, related_id bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	companies bigint[];
	codes text[];
	waiting integer[];
	large numeric[];
	lookback integer[];
	co bigint;
	limited bigint[];
BEGIN
	SELECT coalesce(array_agg(s.company_id ORDER BY s.company_code), '{}'),
	       coalesce(array_agg(s.company_code ORDER BY s.company_code), '{}'),
	       coalesce(array_agg(s.dispute_waiting_days ORDER BY s.company_code), '{}'),
	       coalesce(array_agg(s.large_overdue_amount ORDER BY s.company_code), '{}'),
	       coalesce(array_agg(s.large_overdue_lookback_days ORDER BY s.company_code), '{}')
	  INTO companies, codes, waiting, large, lookback
	  FROM ar.collection_settings_effective s
	 WHERE _worklist_rows.company IS NULL OR s.company_id = _worklist_rows.company;
	FOREACH co IN ARRAY CASE WHEN ar._ledger_distributed() THEN companies ELSE ARRAY[_worklist_rows.company] END LOOP
		EXECUTE 'SELECT coalesce(array_agg(c.id), ''{}'') FROM ar.customer c
		          WHERE c.credit_limit IS NOT NULL AND ($1::name IS NULL OR c.collector = $1) AND c.company_id = ANY ($2)
		            AND ($3::bigint IS NULL OR c.company_id = $3)'
		   INTO limited USING _worklist_rows.collector, companies, co;
		RETURN QUERY EXECUTE ar._worklist_query()
		       USING _worklist_rows.as_of, limited, co, companies, codes, waiting, large, lookback, _worklist_rows.collector;
	END LOOP;
END $$;

CREATE FUNCTION ar.worklist(as_of date DEFAULT current_date, collector name DEFAULT NULL, company bigint DEFAULT NULL)
RETURNS TABLE (company_id bigint, company_code text, customer_id bigint, customer_code text, customer_name text,
               assigned_to name, kind text, priority integer, reason text, amount numeric, currency char(3), since date,
               next_action text, related_table text, related_id bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY
	SELECT w.* FROM ar._worklist_rows(worklist.as_of, worklist.collector, worklist.company) w
	 ORDER BY w.priority, w.amount DESC NULLS LAST, w.company_code, w.customer_code, w.kind, w.related_id;
END $$;

COMMENT ON FUNCTION ar.worklist(date, name, bigint) IS
'The collectors'' tasks on as_of (all, one collector''s, one company''s), one row per task, most urgent first: broken promises and payment plans behind schedule, calls (dunning levels of channel task), promises due today, notices not delivered, credit limits exceeded, large new overdue amounts, disputes past their follow-up date or open too long; each with why, the amount at stake, the next action and the related row. Reads as the caller (row-level security).';

-- The role the work list is for (ar._caller() by name) and the companies
-- it administers (which see the unassigned tasks too).  PL/pgSQL: the
-- tenancy functions are created later in the install script.
CREATE FUNCTION ar._worklist_me() RETURNS name
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	RETURN (SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid = ar._caller());
END $$;

CREATE FUNCTION ar._worklist_admin_companies() RETURNS bigint[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	RETURN ar._company_ids('admin');
END $$;

CREATE VIEW ar.worklist_today WITH (security_invoker = true) AS
SELECT w.*
  FROM ar.worklist(current_date) w
 WHERE w.assigned_to = ar._worklist_me()
    OR (w.assigned_to IS NULL AND w.company_id = ANY (ar._worklist_admin_companies()));
COMMENT ON VIEW ar.worklist_today IS 'Today''s tasks (ar.worklist(current_date)) of the customers assigned to the current role (ar._caller()); an admin of a company also sees its unassigned customers'' tasks, to dispatch them (ar.assign_collector). The whole list: ar.worklist().';
COMMENT ON COLUMN ar.worklist_today.company_id IS 'ar.company.id';
COMMENT ON COLUMN ar.worklist_today.company_code IS 'Company code.';
COMMENT ON COLUMN ar.worklist_today.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.worklist_today.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.worklist_today.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.worklist_today.assigned_to IS 'The customer''s collector (NULL: unassigned).';
COMMENT ON COLUMN ar.worklist_today.kind IS 'promise_broken, plan_missed, call, promise_due, notice_bounced, credit_limit, large_overdue, dispute_follow_up, dispute_waiting.';
COMMENT ON COLUMN ar.worklist_today.priority IS '1 (most urgent) to 4.';
COMMENT ON COLUMN ar.worklist_today.reason IS 'Why, in words.';
COMMENT ON COLUMN ar.worklist_today.amount IS 'The amount at stake (what is missing, behind, claimed, over the limit, disputed).';
COMMENT ON COLUMN ar.worklist_today.currency IS 'Its currency.';
COMMENT ON COLUMN ar.worklist_today.since IS 'Since when (the promised date, first missed instalment, notice date, first due date, dispute opened); NULL for a credit limit.';
COMMENT ON COLUMN ar.worklist_today.next_action IS 'What to do next.';
COMMENT ON COLUMN ar.worklist_today.related_table IS 'Table of the related row: payment_promise, payment_plan, dunning_notice, customer, invoice, dispute.';
COMMENT ON COLUMN ar.worklist_today.related_id IS 'Its id.';

-- ---------------------------------------------------------------- grants

REVOKE ALL ON FUNCTION ar._collection_settings_touch(), ar._role_may_collect(oid, bigint), ar.assign_collector(bigint, name),
                       ar.classify_dispute(bigint, text, name, date), ar.dispute_aging_on(date),
                       ar.set_order_block(bigint, boolean, text), ar._credit_exposure(date, bigint[], bigint),
                       ar._credit_exposure_query(), ar._for_company(text, integer),
                       ar.customer_credit_status(bigint, date), ar.credit_limit_alerts_on(date),
                       ar.worklist(date, name, bigint), ar._worklist_me(), ar._worklist_admin_companies(),
                       ar._worklist_query(), ar._worklist_rows(date, name, bigint)
	FROM PUBLIC;
GRANT SELECT ON ar.collection_settings, ar.collection_settings_effective, ar.order_block, ar.dispute_aging,
                ar.credit_limit_alerts, ar.worklist_today
	TO ar_reader;
-- what the work list reads on behalf of a reader (ar._open_on and
-- ar._plan_outstanding: also what ar.payment_plan_schedule, granted to
-- readers, calls)
GRANT EXECUTE ON FUNCTION ar.dispute_aging_on(date), ar._credit_exposure(date, bigint[], bigint), ar._credit_exposure_query(),
                          ar._for_company(text, integer),
                          ar.customer_credit_status(bigint, date), ar.credit_limit_alerts_on(date),
                          ar.worklist(date, name, bigint), ar._worklist_me(), ar._worklist_admin_companies(),
                          ar._worklist_query(), ar._worklist_rows(date, name, bigint),
                          ar._open_on(bigint, date), ar._plan_outstanding(bigint, date)
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.classify_dispute(bigint, text, name, date), ar.set_order_block(bigint, boolean, text)
	TO ar_collector;
GRANT EXECUTE ON FUNCTION ar.assign_collector(bigint, name) TO ar_admin;
GRANT INSERT, UPDATE, DELETE ON ar.collection_settings TO ar_admin;
SELECT pg_catalog.pg_extension_config_dump('ar.collection_settings', '');
SELECT pg_catalog.pg_extension_config_dump('ar.order_block', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.order_block', 'id')::regclass, '');
