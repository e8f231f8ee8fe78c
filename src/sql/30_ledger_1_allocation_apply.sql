-- The allocations' set-wise statement trigger (issue 14: its own piece, so
-- that the upgrade installs the same text: src/upgrade/0.1.0--0.2.0 links it).

-- ar.reconcile()'s own allocation statement (src/reconcile_write.c): a
-- stage of the backend in C memory, set by the engine around that one
-- statement and reset on error, which no caller can set (no setting,
-- table or search_path reaches it).  The claim succeeds once, for the
-- statement trigger that statement fires itself (not a nested one); the
-- row triggers of the invoices and bank lines skip the rows the claimed
-- apply writes (97_reconcile_write.sql).  Grants: 97_reconcile_write.sql.
CREATE FUNCTION ar._reconcile_apply_claim() RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_reconcile_apply_claim' LANGUAGE C VOLATILE;
CREATE FUNCTION ar._reconcile_apply_done() RETURNS void
	AS 'MODULE_PATHNAME', 'ar_reconcile_apply_done' LANGUAGE C VOLATILE;
CREATE FUNCTION ar._reconcile_applying() RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_reconcile_applying' LANGUAGE C VOLATILE;

-- Applies (direction = 1) or reverses (direction = -1) a set of allocations,
-- the rows of one INSERT, COPY or DELETE on ar.allocation (the transition
-- table "changed" of the statement triggers below).  Rows are locked in a
-- fixed order: the invoices, then the bank lines, then the customer credits,
-- each company after company and in id order within a company, so that
-- concurrent sessions serialise instead of over-allocating or deadlocking.
-- Every statement that reads or locks a company table names one company
-- (company_id = company) and the allocations of that company (an array of
-- them, "rows"), never the transition table: Citus routes it to the shard of
-- that company, the only place where it can lock rows (doc/scale_out.md,
-- blocker 5).  Each check names the first offending invoice (then bank line,
-- then credit) in id order, whatever its company; the invoice checks follow
-- the statement's allocations one by one (in id order), the bank line and
-- credit checks their sums.  The summed deltas are then applied with one
-- UPDATE per table and company, in id order (rows near each other on disk
-- and in the indexes, as they were locked).
-- (jit off: the estimates of transition tables are rough, and compiling
-- would cost more than these short statements; work_mem for the sorts and
-- aggregates of ten thousands of rows.)
CREATE OR REPLACE FUNCTION ar._allocation_apply_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	direction integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
	bad record;
	-- the first offending row of all companies and its sort key
	first record;
	first_key bigint[];
	-- the allocations in (company_id, id) order; those of companies[k] are
	-- everything[starts[k] : starts[k + 1] - 1]
	everything ar.allocation[];
	companies bigint[];
	starts integer[];
	has_lines boolean;
	has_credits boolean;
	company bigint;
	rows ar.allocation[];
	all_found boolean;
BEGIN
	-- whoever writes or deletes them (directly or through any function), the
	-- caller must collect for the companies of the allocations
	PERFORM ar._require_company(c.company_id, 'collector')
	   FROM (SELECT DISTINCT c.company_id FROM changed c) c
	  WHERE NOT (c.company_id = ANY ((SELECT ar._company_ids('collector'))::bigint[]))
	  ORDER BY c.company_id;
	-- ar.reconcile()'s statement: every invoice and bank line already locked
	-- and checked by the engine; applied in one statement, the derived
	-- columns set as the row triggers it skips would (30_ledger.sql), and
	-- every row found or the statement refused.  CHECK constraints still
	-- refuse an over-allocation.  (Not on a shard of Citus: there the
	-- statement runs per company, below.)
	IF direction = 1 AND TG_RELID = 'ar.allocation'::regclass AND ar._reconcile_apply_claim() THEN
		WITH d AS (SELECT c.company_id, c.invoice_id, sum(c.amount) AS delta,
		                  coalesce(sum(c.amount) FILTER (WHERE c.method IN ('write_off', 'shortfall')), 0) AS written_off,
		                  max(c.allocated_on) AS last_on,
		                  max(c.allocated_on) FILTER (WHERE c.method IN ('write_off', 'shortfall')) AS last_write_off_on,
		                  min(sign(c.amount)) AS low, max(sign(c.amount)) AS high,
		                  bool_and(c.bank_transaction_id IS NOT NULL AND c.customer_credit_id IS NULL) AS from_line
		             FROM changed c GROUP BY c.company_id, c.invoice_id ORDER BY c.company_id, c.invoice_id),
		     inv AS (UPDATE ar.invoice i
		                SET open_amount = i.open_amount - d.delta,
		                    written_off_amount = i.written_off_amount + d.written_off,
		                    last_allocated_on = greatest(i.last_allocated_on, d.last_on),
		                    last_write_off_on = greatest(i.last_write_off_on, d.last_write_off_on),
		                    status = ar.invoice_status(i.amount, i.open_amount - d.delta, i.written_off_amount + d.written_off,
		                                               i.disputed, false),
		                    updated_at = now()
		               FROM d
		              WHERE i.company_id = d.company_id AND i.id = d.invoice_id AND d.from_line
		                AND i.cancelled_on IS NULL AND d.low = sign(i.amount) AND d.high = sign(i.amount)
		             RETURNING i.company_id, i.id, i.currency),
		     l AS (SELECT c.company_id, c.bank_transaction_id, sum(c.amount) AS delta,
		                  min(i.currency) AS low, max(i.currency) AS high
		             FROM changed c JOIN inv i ON i.company_id = c.company_id AND i.id = c.invoice_id
		            GROUP BY c.company_id, c.bank_transaction_id),
		     line AS (UPDATE ar.bank_transaction t
		                 SET allocated_amount = t.allocated_amount + l.delta,
		                     status = CASE WHEN t.allocated_amount + l.delta = t.amount THEN 'matched'
		                                   WHEN t.allocated_amount + l.delta <> 0 THEN 'partially_matched'
		                                   WHEN t.status IN ('matched', 'partially_matched') THEN 'unmatched'
		                                   ELSE t.status END
		                FROM l
		               WHERE t.company_id = l.company_id AND t.id = l.bank_transaction_id
		                 AND t.currency = l.low AND t.currency = l.high
		              RETURNING t.id)
		SELECT (SELECT count(*) FROM d) = (SELECT count(*) FROM inv)
		   AND (SELECT count(DISTINCT c.bank_transaction_id) FROM changed c) = (SELECT count(*) FROM line)
		  INTO all_found;
		IF NOT all_found THEN
			RAISE EXCEPTION 'ar.reconcile''s allocations do not fit the invoices and bank lines it locked'
				USING ERRCODE = 'check_violation',
				      DETAIL = 'An invoice or bank line is missing, of another company, cancelled, of the other sign or currency.';
		END IF;
		PERFORM ar._reconcile_apply_done();
		RETURN NULL;
	END IF;
	SELECT array_agg(c ORDER BY c.company_id, c.id), bool_or(c.bank_transaction_id IS NOT NULL),
	       bool_or(c.customer_credit_id IS NOT NULL)
	  INTO everything, has_lines, has_credits
	  FROM changed c;
	IF everything IS NULL THEN
		RETURN NULL;  -- no row
	END IF;
	SELECT array_agg(b.company_id ORDER BY b.company_id), array_agg(b.start ORDER BY b.company_id) || (cardinality(everything) + 1)
	  INTO companies, starts
	  FROM (SELECT e.company_id, min(e.ordinality)::integer AS start
	          FROM unnest(everything) WITH ORDINALITY e GROUP BY e.company_id) b;

	-- invoices
	FOR k IN 1 .. cardinality(companies) LOOP
		company := companies[k];
		rows := everything[starts[k] : starts[k + 1] - 1];
		PERFORM 1 FROM ar.invoice i
		 WHERE i.company_id = company AND i.id IN (SELECT c.invoice_id FROM unnest(rows) c)
		 ORDER BY i.id FOR UPDATE OF i;
		SELECT a.id, a.amount, a.company_id, a.invoice_id, o.open_before, i.id AS found, i.number,
		       i.cancelled_on, i.amount AS invoice_amount
		  INTO bad
		  FROM (SELECT c.id, c.amount, c.company_id, c.invoice_id,
		               coalesce(sum(c.amount) OVER (PARTITION BY c.invoice_id ORDER BY c.id
		                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS done
		          FROM unnest(rows) c) a
		  LEFT JOIN ar.invoice i ON i.company_id = company AND i.id = a.invoice_id
		  CROSS JOIN LATERAL (SELECT i.open_amount - a.done * direction AS open_before) o
		 WHERE i.id IS NULL
		    OR (direction = 1 AND (i.cancelled_on IS NOT NULL OR sign(a.amount) <> sign(i.amount)))
		    OR abs(o.open_before - a.amount * direction) > abs(i.amount)
		    OR sign(o.open_before - a.amount * direction) = -sign(i.amount)
		 ORDER BY a.invoice_id, a.id
		 LIMIT 1;
		IF FOUND AND (first_key IS NULL OR ARRAY[bad.invoice_id, bad.id] < first_key) THEN
			first := bad;
			first_key := ARRAY[bad.invoice_id, bad.id];
		END IF;
	END LOOP;
	IF first_key IS NOT NULL THEN
		bad := first;
		IF bad.found IS NULL THEN
			-- not an invoice of the allocation's company: of another one?
			SELECT i.company_id INTO company FROM ar.invoice i WHERE i.id = bad.invoice_id ORDER BY i.company_id LIMIT 1;
			IF NOT FOUND THEN
				RAISE EXCEPTION 'invoice % does not exist', bad.invoice_id USING ERRCODE = 'foreign_key_violation';
			END IF;
			RAISE EXCEPTION 'invoice % belongs to company %, the allocation to company %',
				(SELECT i.number FROM ar.invoice i WHERE i.company_id = company AND i.id = bad.invoice_id), company, bad.company_id
				USING ERRCODE = 'check_violation';
		ELSIF direction = 1 AND bad.cancelled_on IS NOT NULL THEN
			RAISE EXCEPTION 'invoice % is cancelled', bad.number USING ERRCODE = 'check_violation';
		ELSIF direction = 1 AND sign(bad.amount) <> sign(bad.invoice_amount) THEN
			RAISE EXCEPTION 'allocation of % to invoice % of % has the wrong sign', bad.amount, bad.number, bad.invoice_amount
				USING ERRCODE = 'check_violation',
				      DETAIL = 'Allocations to an invoice are positive, to a credit note negative.';
		ELSE
			RAISE EXCEPTION 'allocation of % exceeds the open amount % of invoice %', bad.amount, bad.open_before, bad.number
				USING ERRCODE = 'check_violation',
				      DETAIL = 'An invoice is never allocated more than its amount.',
				      HINT = 'Allocate the open amount and record the rest as customer credit.';
		END IF;
	END IF;
	-- written off: what closes an invoice without a payment, by a person
	-- (write_off) or within the write-off limit of the reconciliation (shortfall);
	-- the dates of the latest allocation and write-off (ar.kpis' summaries):
	-- moved forward by new ones, looked up again when allocations go
	FOR k IN 1 .. cardinality(companies) LOOP
		company := companies[k];
		rows := everything[starts[k] : starts[k + 1] - 1];
		UPDATE ar.invoice i
		   SET open_amount = i.open_amount - d.delta,
		       written_off_amount = i.written_off_amount + d.written_off,
		       last_allocated_on = CASE WHEN direction = 1 THEN greatest(i.last_allocated_on, d.last_on)
		                                ELSE (SELECT max(a.allocated_on) FROM ar.allocation a
		                                       WHERE a.company_id = company AND a.invoice_id = i.id) END,
		       last_write_off_on = CASE WHEN direction = 1 THEN greatest(i.last_write_off_on, d.last_write_off_on)
		                                WHEN d.last_write_off_on IS NULL THEN i.last_write_off_on
		                                ELSE (SELECT max(a.allocated_on) FROM ar.allocation a
		                                       WHERE a.company_id = company AND a.invoice_id = i.id AND a.method IN ('write_off', 'shortfall')) END
		  FROM (SELECT c.invoice_id, sum(c.amount) * direction AS delta,
		               coalesce(sum(c.amount) FILTER (WHERE c.method IN ('write_off', 'shortfall')), 0) * direction AS written_off,
		               max(c.allocated_on) AS last_on, max(c.allocated_on) FILTER (WHERE c.method IN ('write_off', 'shortfall')) AS last_write_off_on
		          FROM unnest(rows) c GROUP BY c.invoice_id ORDER BY c.invoice_id) d
		 WHERE i.company_id = company AND i.id = d.invoice_id;
	END LOOP;

	-- bank lines
	FOR k IN 1 .. CASE WHEN has_lines THEN cardinality(companies) ELSE 0 END LOOP
		company := companies[k];
		rows := everything[starts[k] : starts[k + 1] - 1];
		PERFORM 1 FROM ar.bank_transaction t
		 WHERE t.company_id = company AND t.id IN (SELECT c.bank_transaction_id FROM unnest(rows) c)
		 ORDER BY t.id FOR UPDATE OF t;
		SELECT t.id, t.currency, i.currency AS invoice_currency, t.amount, t.allocated_amount, s.delta, (t.id IS NULL) AS missing,
		       s.bank_transaction_id
		  INTO bad
		  FROM (SELECT c.bank_transaction_id, sum(c.amount) * direction AS delta,
		               min(c.invoice_id) FILTER (WHERE c.currency <> c.line_currency) AS foreign_invoice
		          FROM (SELECT c.*, inv.currency, l.currency AS line_currency
		                  FROM unnest(rows) c JOIN ar.invoice inv ON inv.company_id = company AND inv.id = c.invoice_id
		                  LEFT JOIN ar.bank_transaction l ON l.company_id = company AND l.id = c.bank_transaction_id
		                 WHERE c.bank_transaction_id IS NOT NULL) c
		         GROUP BY c.bank_transaction_id) s
		  LEFT JOIN ar.bank_transaction t ON t.company_id = company AND t.id = s.bank_transaction_id
		  LEFT JOIN ar.invoice i ON i.company_id = company AND i.id = s.foreign_invoice
		 WHERE t.id IS NULL OR s.foreign_invoice IS NOT NULL
		    OR abs(t.allocated_amount + s.delta) > abs(t.amount) OR sign(t.allocated_amount + s.delta) = -sign(t.amount)
		 ORDER BY s.bank_transaction_id
		 LIMIT 1;
		IF FOUND AND (first_key IS NULL OR ARRAY[bad.bank_transaction_id] < first_key) THEN
			first := bad;
			first_key := ARRAY[bad.bank_transaction_id];
		END IF;
	END LOOP;
	IF first_key IS NOT NULL THEN
		bad := first;
		IF bad.missing THEN
			-- not a line of the allocation's company: of another one?
			PERFORM FROM ar.bank_transaction t WHERE t.id = bad.bank_transaction_id;
			IF NOT FOUND THEN
				RAISE EXCEPTION 'bank transaction % does not exist', bad.bank_transaction_id
					USING ERRCODE = 'foreign_key_violation';
			END IF;
			RAISE EXCEPTION 'bank transaction % belongs to another company than the allocation', bad.bank_transaction_id
				USING ERRCODE = 'check_violation';
		ELSIF bad.invoice_currency IS NOT NULL THEN
			RAISE EXCEPTION 'bank transaction % is in %, the % is in %', bad.id, bad.currency, 'allocation', bad.invoice_currency
				USING ERRCODE = 'check_violation';
		ELSE
			RAISE EXCEPTION 'bank transaction % would allocate % of its %', bad.id, bad.allocated_amount + bad.delta, bad.amount
				USING ERRCODE = 'check_violation',
				      DETAIL = format('%s is already allocated; a bank line never allocates more than its amount.', bad.allocated_amount);
		END IF;
	END IF;
	FOR k IN 1 .. CASE WHEN has_lines THEN cardinality(companies) ELSE 0 END LOOP
		company := companies[k];
		rows := everything[starts[k] : starts[k + 1] - 1];
		UPDATE ar.bank_transaction t
		   SET allocated_amount = t.allocated_amount + d.delta
		  FROM (SELECT c.bank_transaction_id, sum(c.amount) * direction AS delta
		          FROM unnest(rows) c WHERE c.bank_transaction_id IS NOT NULL
		         GROUP BY c.bank_transaction_id ORDER BY c.bank_transaction_id) d
		 WHERE t.company_id = company AND t.id = d.bank_transaction_id;
	END LOOP;

	-- customer credits (of the allocation's company: the foreign key)
	FOR k IN 1 .. CASE WHEN has_credits THEN cardinality(companies) ELSE 0 END LOOP
		company := companies[k];
		rows := everything[starts[k] : starts[k + 1] - 1];
		PERFORM 1 FROM ar.customer_credit cr
		 WHERE cr.company_id = company AND cr.id IN (SELECT c.customer_credit_id FROM unnest(rows) c)
		 ORDER BY cr.id FOR UPDATE OF cr;
		SELECT cr.id, cr.remaining, s.delta, i.number AS foreign_invoice
		  INTO bad
		  FROM (SELECT c.customer_credit_id, sum(c.amount) * direction AS delta,
		               min(c.invoice_id) FILTER (WHERE inv.customer_id <> cr.customer_id OR inv.currency <> cr.currency)
		                 AS foreign_invoice
		          FROM unnest(rows) c JOIN ar.invoice inv ON inv.company_id = company AND inv.id = c.invoice_id
		          JOIN ar.customer_credit cr ON cr.company_id = company AND cr.id = c.customer_credit_id
		         GROUP BY c.customer_credit_id) s
		  JOIN ar.customer_credit cr ON cr.company_id = company AND cr.id = s.customer_credit_id
		  LEFT JOIN ar.invoice i ON i.company_id = company AND i.id = s.foreign_invoice
		 WHERE s.foreign_invoice IS NOT NULL OR cr.remaining - s.delta < 0 OR cr.remaining - s.delta > cr.amount
		 ORDER BY s.customer_credit_id
		 LIMIT 1;
		IF FOUND AND (first_key IS NULL OR ARRAY[bad.id] < first_key) THEN
			first := bad;
			first_key := ARRAY[bad.id];
		END IF;
	END LOOP;
	IF first_key IS NOT NULL THEN
		bad := first;
		IF bad.foreign_invoice IS NOT NULL THEN
			RAISE EXCEPTION 'customer credit % cannot pay invoice %', bad.id, bad.foreign_invoice
				USING ERRCODE = 'check_violation',
				      DETAIL = 'A credit pays only invoices of its own customer and currency.';
		END IF;
		RAISE EXCEPTION 'customer credit % has % left, not %', bad.id, bad.remaining, bad.delta
			USING ERRCODE = 'check_violation';
	END IF;
	FOR k IN 1 .. CASE WHEN has_credits THEN cardinality(companies) ELSE 0 END LOOP
		company := companies[k];
		rows := everything[starts[k] : starts[k + 1] - 1];
		UPDATE ar.customer_credit cr
		   SET remaining = cr.remaining - d.delta
		  FROM (SELECT c.customer_credit_id, sum(c.amount) * direction AS delta
		          FROM unnest(rows) c WHERE c.customer_credit_id IS NOT NULL
		         GROUP BY c.customer_credit_id ORDER BY c.customer_credit_id) d
		 WHERE cr.company_id = company AND cr.id = d.customer_credit_id;
	END LOOP;
	RETURN NULL;
END $$;
