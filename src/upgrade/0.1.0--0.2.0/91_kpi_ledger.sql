-- Issue 17 (ar.kpis from the KPI summaries, 91_kpi_summary.sql next):
-- the ledger keeps two more derived columns of ar.invoice (last_allocated_on,
-- last_write_off_on, added by that piece) in the update the allocation
-- trigger makes anyway, refuses direct changes of them, and flags date
-- changes of invoices with allocations; ar._kpi_figures becomes the full
-- computation ar._kpi_figures_full, ar._kpi_figures chooses.  Final text
-- (no later piece re-creates them): copies of the definitions in
-- src/sql/30_ledger.sql and src/sql/75_analytics.sql.

CREATE OR REPLACE FUNCTION ar._invoice_maintain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.open_amount := CASE WHEN NEW.cancelled_on IS NULL THEN NEW.amount ELSE NEW.amount - NEW.amount END;
		NEW.written_off_amount := 0;
		NEW.last_allocated_on := NULL;
		NEW.last_write_off_on := NULL;
	ELSE
		IF pg_trigger_depth() = 1 THEN
			IF NEW.open_amount IS DISTINCT FROM OLD.open_amount THEN
				PERFORM ar._derived_column_error('invoice', 'open_amount');
			ELSIF NEW.written_off_amount IS DISTINCT FROM OLD.written_off_amount THEN
				PERFORM ar._derived_column_error('invoice', 'written_off_amount');
			ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
				PERFORM ar._derived_column_error('invoice', 'status');
			ELSIF NEW.last_allocated_on IS DISTINCT FROM OLD.last_allocated_on THEN
				PERFORM ar._derived_column_error('invoice', 'last_allocated_on');
			ELSIF NEW.last_write_off_on IS DISTINCT FROM OLD.last_write_off_on THEN
				PERFORM ar._derived_column_error('invoice', 'last_write_off_on');
			END IF;
		END IF;
		IF OLD.open_amount <> OLD.amount OR OLD.written_off_amount <> 0 THEN
			IF NEW.currency IS DISTINCT FROM OLD.currency OR NEW.company_id IS DISTINCT FROM OLD.company_id THEN
				RAISE EXCEPTION 'invoice % already has allocations', OLD.number
					USING ERRCODE = 'object_not_in_prerequisite_state',
					      DETAIL = 'Its currency and company cannot change any more.';
			END IF;
			IF NEW.cancelled_on IS NOT NULL AND OLD.cancelled_on IS NULL THEN
				RAISE EXCEPTION 'invoice % cannot be cancelled: it already has allocations', OLD.number
					USING ERRCODE = 'object_not_in_prerequisite_state',
					      HINT = 'Issue a credit note instead.';
			END IF;
		END IF;
		IF NEW.cancelled_on IS NOT NULL THEN
			NEW.open_amount := NEW.amount - NEW.amount;  -- zero at the amount's scale
		ELSIF OLD.cancelled_on IS NOT NULL THEN
			NEW.open_amount := NEW.amount;
		ELSE
			-- a corrected amount moves the open amount by the same difference;
			-- invoice_not_over_allocated refuses a correction below what was paid
			NEW.open_amount := NEW.open_amount + (NEW.amount - OLD.amount);
		END IF;
		-- the KPI summaries key the allocations by their invoice's dates:
		-- the statement trigger moves them (86_kpi_summary.sql)
		IF OLD.last_allocated_on IS NOT NULL
		   AND (NEW.issue_date, NEW.due_date) IS DISTINCT FROM (OLD.issue_date, OLD.due_date) THEN
			PERFORM set_config('ar_collect.kpi_rekey', 'on', true);
		END IF;
		NEW.updated_at := now();
	END IF;
	IF NEW.open_amount NOT BETWEEN least(NEW.amount, 0) AND greatest(NEW.amount, 0) THEN
		RAISE EXCEPTION 'invoice % cannot have amount %: % of it is already allocated',
			NEW.number, NEW.amount, NEW.amount - NEW.open_amount
			USING ERRCODE = 'check_violation';
	END IF;
	NEW.status := ar.invoice_status(NEW.amount, NEW.open_amount, NEW.written_off_amount,
	                                NEW.disputed, NEW.cancelled_on IS NOT NULL);
	RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION ar._allocation_apply_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	direction integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
	bad record;
BEGIN
	-- whoever writes or deletes them (directly or through any function), the
	-- caller must collect for the companies of the allocations
	PERFORM ar._require_company(c.company_id, 'collector')
	   FROM (SELECT DISTINCT c.company_id FROM changed c) c
	  WHERE NOT (c.company_id = ANY ((SELECT ar._company_ids('collector'))::bigint[]))
	  ORDER BY c.company_id;
	-- invoices
	PERFORM 1 FROM ar.invoice i WHERE i.id IN (SELECT c.invoice_id FROM changed c) ORDER BY i.id FOR UPDATE OF i;
	SELECT a.id, a.amount, a.company_id, a.invoice_id, o.open_before, i.id AS found, i.number,
	       i.company_id AS invoice_company, i.cancelled_on, i.amount AS invoice_amount
	  INTO bad
	  FROM (SELECT c.id, c.amount, c.company_id, c.invoice_id,
	               coalesce(sum(c.amount) OVER (PARTITION BY c.invoice_id ORDER BY c.id
	                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS done
	          FROM changed c) a
	  LEFT JOIN ar.invoice i ON i.id = a.invoice_id
	  CROSS JOIN LATERAL (SELECT i.open_amount - a.done * direction AS open_before) o
	 WHERE i.id IS NULL
	    OR i.company_id <> a.company_id
	    OR (direction = 1 AND (i.cancelled_on IS NOT NULL OR sign(a.amount) <> sign(i.amount)))
	    OR abs(o.open_before - a.amount * direction) > abs(i.amount)
	    OR sign(o.open_before - a.amount * direction) = -sign(i.amount)
	 ORDER BY a.invoice_id, a.id
	 LIMIT 1;
	IF FOUND THEN
		IF bad.found IS NULL THEN
			RAISE EXCEPTION 'invoice % does not exist', bad.invoice_id USING ERRCODE = 'foreign_key_violation';
		ELSIF bad.invoice_company <> bad.company_id THEN
			RAISE EXCEPTION 'invoice % belongs to company %, the allocation to company %', bad.number, bad.invoice_company, bad.company_id
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
	UPDATE ar.invoice i
	   SET open_amount = i.open_amount - d.delta,
	       written_off_amount = i.written_off_amount + d.written_off,
	       last_allocated_on = CASE WHEN direction = 1 THEN greatest(i.last_allocated_on, d.last_on)
	                                ELSE (SELECT max(a.allocated_on) FROM ar.allocation a WHERE a.invoice_id = i.id) END,
	       last_write_off_on = CASE WHEN direction = 1 THEN greatest(i.last_write_off_on, d.last_write_off_on)
	                                WHEN d.last_write_off_on IS NULL THEN i.last_write_off_on
	                                ELSE (SELECT max(a.allocated_on) FROM ar.allocation a
	                                       WHERE a.invoice_id = i.id AND a.method = 'write_off') END
	  FROM (SELECT c.invoice_id, sum(c.amount) * direction AS delta,
	               coalesce(sum(c.amount) FILTER (WHERE c.method IN ('write_off', 'shortfall')), 0) * direction AS written_off,
	               max(c.allocated_on) AS last_on, max(c.allocated_on) FILTER (WHERE c.method = 'write_off') AS last_write_off_on
	          FROM changed c GROUP BY c.invoice_id ORDER BY c.invoice_id) d
	 WHERE i.id = d.invoice_id;

	-- bank lines
	PERFORM 1 FROM ar.bank_transaction t WHERE t.id IN (SELECT c.bank_transaction_id FROM changed c)
	 ORDER BY t.id FOR UPDATE OF t;
	SELECT t.id, t.currency, i.currency AS invoice_currency, t.amount, t.allocated_amount, s.delta, (t.id IS NULL) AS missing,
	       s.bank_transaction_id, s.other_company
	  INTO bad
	  FROM (SELECT c.bank_transaction_id, sum(c.amount) * direction AS delta,
	               min(c.invoice_id) FILTER (WHERE c.currency <> c.line_currency) AS foreign_invoice,
	               bool_or(c.company_id <> c.line_company) AS other_company
	          FROM (SELECT c.*, inv.currency, l.currency AS line_currency, l.company_id AS line_company
	                  FROM changed c JOIN ar.invoice inv ON inv.id = c.invoice_id
	                  LEFT JOIN ar.bank_transaction l ON l.id = c.bank_transaction_id
	                 WHERE c.bank_transaction_id IS NOT NULL) c
	         GROUP BY c.bank_transaction_id) s
	  LEFT JOIN ar.bank_transaction t ON t.id = s.bank_transaction_id
	  LEFT JOIN ar.invoice i ON i.id = s.foreign_invoice
	 WHERE t.id IS NULL OR s.foreign_invoice IS NOT NULL OR s.other_company
	    OR abs(t.allocated_amount + s.delta) > abs(t.amount) OR sign(t.allocated_amount + s.delta) = -sign(t.amount)
	 ORDER BY s.bank_transaction_id
	 LIMIT 1;
	IF FOUND THEN
		IF bad.missing THEN
			RAISE EXCEPTION 'bank transaction % does not exist', bad.bank_transaction_id
				USING ERRCODE = 'foreign_key_violation';
		ELSIF bad.other_company THEN
			RAISE EXCEPTION 'bank transaction % belongs to another company than the allocation', bad.id
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
	UPDATE ar.bank_transaction t
	   SET allocated_amount = t.allocated_amount + d.delta
	  FROM (SELECT c.bank_transaction_id, sum(c.amount) * direction AS delta
	          FROM changed c WHERE c.bank_transaction_id IS NOT NULL
	         GROUP BY c.bank_transaction_id ORDER BY c.bank_transaction_id) d
	 WHERE t.id = d.bank_transaction_id;

	-- customer credits
	PERFORM 1 FROM ar.customer_credit cr WHERE cr.id IN (SELECT c.customer_credit_id FROM changed c)
	 ORDER BY cr.id FOR UPDATE OF cr;
	SELECT cr.id, cr.remaining, s.delta, i.number AS foreign_invoice
	  INTO bad
	  FROM (SELECT c.customer_credit_id, sum(c.amount) * direction AS delta,
	               min(c.invoice_id) FILTER (WHERE inv.customer_id <> cr.customer_id OR inv.currency <> cr.currency)
	                 AS foreign_invoice
	          FROM changed c JOIN ar.invoice inv ON inv.id = c.invoice_id
	          JOIN ar.customer_credit cr ON cr.id = c.customer_credit_id
	         GROUP BY c.customer_credit_id) s
	  JOIN ar.customer_credit cr ON cr.id = s.customer_credit_id
	  LEFT JOIN ar.invoice i ON i.id = s.foreign_invoice
	 WHERE s.foreign_invoice IS NOT NULL OR cr.remaining - s.delta < 0 OR cr.remaining - s.delta > cr.amount
	 ORDER BY s.customer_credit_id
	 LIMIT 1;
	IF FOUND THEN
		IF bad.foreign_invoice IS NOT NULL THEN
			RAISE EXCEPTION 'customer credit % cannot pay invoice %', bad.id, bad.foreign_invoice
				USING ERRCODE = 'check_violation',
				      DETAIL = 'A credit pays only invoices of its own customer and currency.';
		END IF;
		RAISE EXCEPTION 'customer credit % has % left, not %', bad.id, bad.remaining, bad.delta
			USING ERRCODE = 'check_violation';
	END IF;
	UPDATE ar.customer_credit cr
	   SET remaining = cr.remaining - d.delta
	  FROM (SELECT c.customer_credit_id, sum(c.amount) * direction AS delta
	          FROM changed c WHERE c.customer_credit_id IS NOT NULL
	         GROUP BY c.customer_credit_id ORDER BY c.customer_credit_id) d
	 WHERE cr.id = d.customer_credit_id;
	RETURN NULL;
END $$;

ALTER FUNCTION ar._kpi_figures(date, integer) RENAME TO _kpi_figures_full;

-- The figures ar.kpis and ar.dso report: from the KPI summaries on a date
-- they serve (no allocation or cancellation dated after it), else the full
-- computation; the same figures either way.
CREATE FUNCTION ar._kpi_figures(as_of date, period_days integer)
RETURNS ar.kpi_figures
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF ar._kpi_summary_serves(as_of) THEN
		RETURN ar._kpi_figures_summary(as_of, period_days);
	END IF;
	RETURN ar._kpi_figures_full(as_of, period_days);
END $$;
REVOKE ALL ON FUNCTION ar._kpi_figures(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._kpi_figures(date, integer) TO ar_reader;
