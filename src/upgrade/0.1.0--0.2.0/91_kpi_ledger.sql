-- Issue 17 (ar.kpis from the KPI summaries, 91_kpi_summary.sql next):
-- the ledger keeps two more derived columns of ar.invoice (last_allocated_on,
-- last_write_off_on, added by that piece) in the update the allocation
-- trigger makes anyway (ar._allocation_apply_rows, 70_recfix_writeoff.sql);
-- ar._invoice_maintain refuses direct changes of them; ar._kpi_figures becomes the full
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
			-- nor its customer: the credit and payments allocated are the
			-- first customer's (they would pay another's invoice)
			IF NEW.currency IS DISTINCT FROM OLD.currency OR NEW.company_id IS DISTINCT FROM OLD.company_id
			   OR NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN
				RAISE EXCEPTION 'invoice % already has allocations', OLD.number
					USING ERRCODE = 'object_not_in_prerequisite_state',
					      DETAIL = 'Its currency, company and customer cannot change any more.',
					      HINT = 'Issue a credit note and invoice the other customer.';
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

ALTER FUNCTION ar._kpi_figures(date, integer) RENAME TO _kpi_figures_full;

-- The figures ar.kpis and ar.dso report: from the KPI summaries on a date
-- they serve (no allocation or cancellation dated after it), else the full
-- computation (on a distributed ledger its query routed to the default
-- company's shards); the same figures either way.
CREATE FUNCTION ar._kpi_figures(as_of date, period_days integer)
RETURNS ar.kpi_figures
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF ar._kpi_summary_serves(as_of) THEN
		RETURN ar._kpi_figures_summary(as_of, period_days);
	ELSIF ar._ledger_distributed() THEN
		RETURN ar._kpi_figures_routed(as_of, period_days);  -- 86_kpi_summary.sql
	END IF;
	RETURN ar._kpi_figures_full(as_of, period_days);
END $$;
REVOKE ALL ON FUNCTION ar._kpi_figures(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._kpi_figures(date, integer) TO ar_reader;
