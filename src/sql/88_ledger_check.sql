-- ---------------------------------------------------------------------------
-- ar.check_ledger(), final text: every derived amount of the ledger
-- recomputed (open amounts, bank lines' allocated amounts, customer credits'
-- remaining amounts, 86_small_balances.sql's releases counted), and the
-- derived dates of ar.invoice (last_allocated_on, last_write_off_on,
-- 86_kpi_summary.sql).  After both pieces, which its body names.
--
-- src/upgrade/0.1.0--0.2.0/91_ledger_check.sql is this piece (a symbolic
-- link).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ar.check_ledger()
RETURNS TABLE (table_name text, id bigint, stored numeric, expected numeric)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	RETURN QUERY
	SELECT 'invoice'::text, i.id, i.open_amount,
	       CASE WHEN i.cancelled_on IS NOT NULL THEN 0 ELSE i.amount - coalesce(a.total, 0) END
	  FROM ar.invoice i
	  LEFT JOIN (SELECT al.invoice_id, al.company_id, sum(al.amount) AS total
	               FROM ar.allocation al GROUP BY al.invoice_id, al.company_id) a
	         ON a.invoice_id = i.id AND a.company_id = i.company_id
	 WHERE i.open_amount IS DISTINCT FROM
	       CASE WHEN i.cancelled_on IS NOT NULL THEN 0 ELSE i.amount - coalesce(a.total, 0) END
	UNION ALL
	SELECT 'bank_transaction', t.id, t.allocated_amount, coalesce(a.total, 0) + coalesce(c.total, 0)
	  FROM ar.bank_transaction t
	  LEFT JOIN (SELECT al.bank_transaction_id, al.company_id, sum(al.amount) AS total
	               FROM ar.allocation al GROUP BY 1, 2) a
	         ON a.bank_transaction_id = t.id AND a.company_id = t.company_id
	  LEFT JOIN (SELECT cc.bank_transaction_id, cc.company_id, sum(cc.amount) AS total
	               FROM ar.customer_credit cc GROUP BY 1, 2) c
	         ON c.bank_transaction_id = t.id AND c.company_id = t.company_id
	 WHERE t.allocated_amount <> coalesce(a.total, 0) + coalesce(c.total, 0)
	UNION ALL
	-- a credit is used by allocations and by releases (refunds, write-offs)
	SELECT 'customer_credit', c.id, c.remaining, c.amount - coalesce(a.total, 0) - coalesce(r.total, 0)
	  FROM ar.customer_credit c
	  LEFT JOIN (SELECT al.customer_credit_id, al.company_id, sum(al.amount) AS total
	               FROM ar.allocation al GROUP BY 1, 2) a
	         ON a.customer_credit_id = c.id AND a.company_id = c.company_id
	  LEFT JOIN (SELECT cr.customer_credit_id, cr.company_id, sum(cr.amount) AS total
	               FROM ar.credit_release cr GROUP BY 1, 2) r
	         ON r.customer_credit_id = c.id AND r.company_id = c.company_id
	 WHERE c.remaining <> c.amount - coalesce(a.total, 0) - coalesce(r.total, 0)
	UNION ALL
	-- the derived dates of ar._allocation_apply_rows (the KPI summaries read
	-- them): the latest allocation, the latest write-off; stored and
	-- expected as Julian day numbers (extract(julian FROM date)), NULL
	-- without one
	SELECT d.table_name, d.id, d.stored, d.expected
	  FROM ar.invoice i
	  LEFT JOIN (SELECT al.invoice_id, al.company_id, max(al.allocated_on) AS last_on,
	                    max(al.allocated_on) FILTER (WHERE al.method IN ('write_off', 'shortfall')) AS last_write_off_on
	               FROM ar.allocation al GROUP BY al.invoice_id, al.company_id) a
	         ON a.invoice_id = i.id AND a.company_id = i.company_id
	 CROSS JOIN LATERAL (VALUES ('invoice.last_allocated_on', i.id, extract(julian FROM i.last_allocated_on),
	                             extract(julian FROM a.last_on), i.last_allocated_on IS DISTINCT FROM a.last_on),
	                            ('invoice.last_write_off_on', i.id, extract(julian FROM i.last_write_off_on),
	                             extract(julian FROM a.last_write_off_on),
	                             i.last_write_off_on IS DISTINCT FROM a.last_write_off_on))
	       d (table_name, id, stored, expected, differs)
	 WHERE d.differs
	UNION ALL
	-- a credit note's set-off is two allocations of opposite amounts on
	-- documents of one customer and currency (ar.apply_credit_note): what
	-- they add up to per customer and currency is zero unless one half was
	-- deleted or changed alone
	SELECT 'customer.credit_note_set_offs', i.customer_id, sum(al.amount), 0
	  FROM ar.allocation al
	  JOIN ar.invoice i ON i.id = al.invoice_id AND i.company_id = al.company_id
	 WHERE al.method = 'credit_note'
	 GROUP BY i.company_id, i.customer_id, i.currency
	HAVING sum(al.amount) <> 0;
END $$;

COMMENT ON FUNCTION ar.check_ledger() IS
'The rows of the ledger whose derived values disagree with a recomputation: invoice (open_amount), bank_transaction (allocated_amount), customer_credit (remaining), invoice.last_allocated_on and invoice.last_write_off_on (their Julian day numbers); none unless triggers were bypassed. Also customer.credit_note_set_offs: a customer (id) whose credit notes'' set-offs do not add up to zero in a currency (one half of a set-off deleted or changed alone).';
