-- Setting off open credits (issue 13), its own piece: the upgrade from 0.1.0
-- links it (src/upgrade/0.1.0--0.2.0/59_zz_apply_open_credits.sql).

-- Allocates the open credits of the given customers on as_of (their credit
-- notes and customer credit, oldest first: date, credit notes before
-- customer credit, id) to their oldest open invoices of the same company
-- and currency (due date, id) that are issued by as_of and not disputed,
-- in one statement: each credit covers the invoices its share of the
-- running total overlaps.  A credit note is set off as ar.apply_credit_note
-- does (two allocations of opposite sign, method credit_note), customer
-- credit as ar.apply_customer_credit does (method credit); the allocations
-- are dated as_of.  The customers' open invoices and credit notes are
-- locked in id order, then their credits in id order (the order of the
-- ledger's own triggers): concurrent calls serialise, and a later one sees
-- what the earlier one allocated.  Each customer served gets an entry in
-- the communications log.  Returns the allocations made.
CREATE FUNCTION ar._apply_open_credits(customer_ids bigint[], as_of date)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql AS $$
DECLARE
	companies constant bigint[] := ARRAY(SELECT DISTINCT c.company_id FROM ar.customer c WHERE c.id = ANY (customer_ids) ORDER BY 1);
BEGIN
	-- one statement per company, in company order (routed to its shard on Citus)
	FOR k IN 1 .. cardinality(companies) LOOP
		PERFORM 1 FROM ar.invoice i
		  WHERE i.company_id = companies[k] AND i.customer_id = ANY (customer_ids) AND i.open_amount <> 0
		  ORDER BY i.id FOR UPDATE;
	END LOOP;
	FOR k IN 1 .. cardinality(companies) LOOP
		PERFORM 1 FROM ar.customer_credit cc
		  WHERE cc.company_id = companies[k] AND cc.customer_id = ANY (customer_ids) AND cc.remaining > 0
		  ORDER BY cc.id FOR UPDATE;
	END LOOP;
	RETURN QUERY
	WITH inv AS (
		SELECT i.id, i.company_id, i.customer_id, i.currency, i.number,
		       sum(i.open_amount) OVER w - i.open_amount AS start_at, sum(i.open_amount) OVER w AS end_at
		  FROM ar.invoice i
		 WHERE i.customer_id = ANY (customer_ids) AND i.open_amount > 0 AND i.issue_date <= as_of AND NOT i.disputed
		WINDOW w AS (PARTITION BY i.company_id, i.customer_id, i.currency ORDER BY i.due_date, i.id)
	), cr AS (
		SELECT c.kind, c.id, c.company_id, c.customer_id, c.currency, c.number,
		       sum(c.available) OVER w - c.available AS start_at, sum(c.available) OVER w AS end_at
		  FROM (SELECT 'credit_note' AS kind, i.id, i.company_id, i.customer_id, i.currency, i.number,
		               i.issue_date AS credit_date, -i.open_amount AS available
		          FROM ar.invoice i
		         WHERE i.customer_id = ANY (customer_ids) AND i.open_amount < 0 AND i.issue_date <= as_of
		        UNION ALL
		        SELECT 'customer_credit', cc.id, cc.company_id, cc.customer_id, cc.currency, NULL, cc.created_on,
		               cc.remaining
		          FROM ar.customer_credit cc
		         WHERE cc.customer_id = ANY (customer_ids) AND cc.remaining > 0 AND cc.created_on <= as_of) c
		WINDOW w AS (PARTITION BY c.company_id, c.customer_id, c.currency
		             ORDER BY c.credit_date, c.kind, c.id)
	), pairs AS (
		SELECT cr.kind, cr.id AS credit_id, cr.number AS credit_number, inv.id AS invoice_id, inv.number,
		       inv.company_id, inv.customer_id, inv.currency, inv.start_at AS invoice_at, cr.start_at AS credit_at,
		       least(cr.end_at, inv.end_at) - greatest(cr.start_at, inv.start_at) AS take
		  FROM cr
		  JOIN inv ON inv.company_id = cr.company_id AND inv.customer_id = cr.customer_id AND inv.currency = cr.currency
		          AND inv.start_at < cr.end_at AND cr.start_at < inv.end_at
	), made AS (
		INSERT INTO ar.allocation (company_id, invoice_id, customer_credit_id, amount, allocated_on, method, note)
		SELECT p.company_id, r.invoice_id, r.customer_credit_id, r.amount, as_of, r.method, r.note
		  FROM pairs p
		 CROSS JOIN LATERAL (VALUES
		        (p.invoice_id, CASE WHEN p.kind = 'customer_credit' THEN p.credit_id END, p.take,
		         CASE WHEN p.kind = 'customer_credit' THEN 'credit' ELSE 'credit_note' END,
		         CASE WHEN p.kind = 'credit_note' THEN 'credit note ' || p.credit_number
		              ELSE 'customer credit ' || p.credit_id END || ' (open credits applied)'),
		        (p.credit_id, NULL, -p.take, 'credit_note', 'invoice ' || p.number || ' (open credits applied)'))
		        r(invoice_id, customer_credit_id, amount, method, note)
		 WHERE r.amount > 0 OR p.kind = 'credit_note'
		 ORDER BY p.customer_id, p.currency, p.invoice_at, p.credit_at, r.amount DESC
		RETURNING *
	), logged AS (
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, detail)
		SELECT p.company_id, p.customer_id, as_of, 'credits_applied', 'internal',
		       format('Open credits set off: %s against %s invoice(s)',
		              string_agg(ar.format_money(p.total, p.currency), ', ' ORDER BY p.currency),
		              sum(p.invoices)),
		       string_agg(p.detail, '; ' ORDER BY p.currency)
		  FROM (SELECT q.company_id, q.customer_id, q.currency, sum(q.take) AS total,
		               count(DISTINCT q.invoice_id) AS invoices,
		               string_agg(format('%s %s -> %s', coalesce('credit note ' || q.credit_number, 'customer credit ' || q.credit_id),
		                                 ar.format_money(q.take, q.currency), q.number),
		                          ', ' ORDER BY q.invoice_at, q.credit_at) AS detail
		          FROM pairs q GROUP BY q.company_id, q.customer_id, q.currency) p
		 GROUP BY p.company_id, p.customer_id
	)
	SELECT * FROM made ORDER BY made.id;
END $$;

-- ar._apply_open_credits for one customer, by a collector.
CREATE FUNCTION ar.apply_open_credits(customer_id bigint, as_of date DEFAULT current_date)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	company bigint;
BEGIN
	SELECT c.company_id INTO company FROM ar.customer c WHERE c.id = apply_open_credits.customer_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(customer_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(company, 'collector');
	IF as_of IS NULL OR NOT isfinite(as_of) THEN
		RAISE EXCEPTION 'open credits are applied on a finite date, not %', coalesce(as_of::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY SELECT * FROM ar._apply_open_credits(ARRAY[customer_id], as_of);
END $$;
COMMENT ON FUNCTION ar.apply_open_credits(bigint, date) IS
	'Allocates the customer''s open credit notes and unapplied customer credit (oldest first) to its oldest open, undisputed invoices of the same company and currency, dated as_of; returns the allocations made.';
