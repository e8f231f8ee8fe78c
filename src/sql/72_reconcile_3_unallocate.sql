-- ---------------------------------------------------------------------------
-- ar.unallocate: reverses a payment allocation, or a credit note's set-off
-- (both of its halves).  Its own piece, linked by the upgrade
-- (src/upgrade/0.1.0--0.2.0/99_d_unallocate_set_off.sql, after
-- the pieces that edit the 0.1.0 function).
-- ---------------------------------------------------------------------------

-- The other half of a credit note's set-off a: ar.apply_credit_note and
-- ar.apply_open_credits write a set-off as two allocations of method
-- credit_note, of opposite amounts and the same date, on the invoice and on
-- the credit note (of one customer and currency), one after the other in
-- one statement, each noting the other's number.  The nearest such row.
CREATE OR REPLACE FUNCTION ar._set_off_other_half(a ar.allocation) RETURNS ar.allocation
LANGUAGE sql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
	SELECT x.*
	  FROM ar.invoice mine
	  JOIN ar.invoice other ON other.company_id = mine.company_id AND other.customer_id = mine.customer_id
	                       AND other.currency = mine.currency AND sign(other.amount) = -sign(mine.amount)
	  JOIN ar.allocation x ON x.company_id = other.company_id AND x.invoice_id = other.id
	 CROSS JOIN LATERAL (SELECT CASE WHEN x.amount < 0 THEN 'invoice ' ELSE 'credit note ' END || mine.number,
	                            CASE WHEN a.amount < 0 THEN 'invoice ' ELSE 'credit note ' END || other.number) p (x_names, a_names)
	 WHERE mine.company_id = a.company_id AND mine.id = a.invoice_id
	   AND x.method = 'credit_note' AND x.amount = -a.amount AND x.allocated_on = a.allocated_on
	   -- each note names the other's document: "invoice <number>" or
	   -- "credit note <number>", alone or followed by a space
	   AND (x.note = p.x_names OR starts_with(x.note, p.x_names || ' '))
	   AND (a.note = p.a_names OR starts_with(a.note, p.a_names || ' '))
	 ORDER BY abs(x.id - a.id), x.id
	 LIMIT 1
$$;
REVOKE ALL ON FUNCTION ar._set_off_other_half(ar.allocation) FROM PUBLIC;
COMMENT ON FUNCTION ar._set_off_other_half(ar.allocation) IS
	'Internal to ar.unallocate: the other allocation of a credit note''s set-off (method credit_note, opposite amount, same date, the counterpart''s number in its note), or NULL.';

CREATE OR REPLACE FUNCTION ar.unallocate(allocation_id bigint)
RETURNS numeric
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	a ar.allocation;
	other ar.allocation;
	deleted integer;
	line ar.bank_transaction;
BEGIN
	SELECT * INTO a FROM ar.allocation x WHERE x.id = allocation_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'allocation % does not exist', allocation_id USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(a.company_id, 'collector');
	IF a.method = 'credit_note' THEN
		-- a set-off is reversed whole: its two halves, never one alone (the
		-- credit note would be open again while the invoice stayed settled)
		other := ar._set_off_other_half(a);
		IF other.id IS NULL THEN
			RAISE EXCEPTION 'allocation % is half of a credit note''s set-off whose other half was not found', a.id
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      DETAIL = format('Its note: "%s"; no allocation of method credit_note of %s on %s names its document.',
				                      a.note, -a.amount, to_char(a.allocated_on, 'YYYY-MM-DD')),
				      HINT = 'See ar.check_ledger() (customer.credit_note_set_offs).';
		END IF;
		PERFORM 1 FROM ar.invoice i WHERE i.company_id = a.company_id AND i.id IN (a.invoice_id, other.invoice_id)
		 ORDER BY i.id FOR UPDATE;
		DELETE FROM ar.allocation x WHERE x.company_id = a.company_id AND x.id IN (a.id, other.id);
		GET DIAGNOSTICS deleted = ROW_COUNT;
		IF deleted <> 2 THEN
			-- (reversed meanwhile by another transaction, whose commit the
			-- invoices' locks waited for)
			RAISE EXCEPTION 'allocation % does not exist', allocation_id USING ERRCODE = 'no_data_found';
		END IF;
		RETURN abs(a.amount);
	END IF;
	IF a.method IN ('write_off', 'credit', 'shortfall') THEN
		RAISE EXCEPTION 'allocation % is a %, not a payment', allocation_id, a.method
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = CASE a.method WHEN 'shortfall' THEN 'It goes with the payment it completes: unallocate that one.'
			                           WHEN 'write_off' THEN 'Reverse it with ar.reverse_write_off(), giving a reason.'
			                           ELSE 'Delete it as ar_admin if it must be reversed (the customer credit is restored).' END;
	END IF;
	PERFORM 1 FROM ar.invoice i WHERE i.company_id = a.company_id AND i.id = a.invoice_id FOR UPDATE;
	IF a.bank_transaction_id IS NOT NULL THEN
		line := ar._review_line(a.bank_transaction_id);
		-- the shortfall this payment completed on the same invoice goes with it
		PERFORM ar._record_write_off_reversal(
			ARRAY(SELECT r.allocation_id FROM ar.reconcile_adjustment r
			       WHERE r.bank_transaction_id = a.bank_transaction_id AND r.invoice_id = a.invoice_id),
			format('the payment it completed (allocation %s) was unallocated', a.id));
		DELETE FROM ar.allocation x
		 USING ar.reconcile_adjustment r
		 WHERE r.allocation_id = x.id AND r.company_id = x.company_id AND x.company_id = a.company_id
		   AND r.bank_transaction_id = a.bank_transaction_id AND r.invoice_id = a.invoice_id;
	END IF;
	DELETE FROM ar.allocation x WHERE x.company_id = a.company_id AND x.id = a.id;
	IF line.id IS NOT NULL THEN
		SELECT * INTO line FROM ar.bank_transaction t WHERE t.company_id = a.company_id AND t.id = line.id;
		PERFORM ar._review_decided(line, 'manual', NULL, NULL);
	END IF;
	RETURN a.amount;
END $$;
COMMENT ON FUNCTION ar.unallocate(bigint) IS
'Reverses one payment allocation (and the shortfall it closed), or a credit note''s set-off (its two allocations): the invoice reopens, the line''s money or the credit note is free again. Returns the amount reversed. No later run re-matches the line by itself.';
GRANT EXECUTE ON FUNCTION ar.unallocate(bigint) TO ar_collector;
