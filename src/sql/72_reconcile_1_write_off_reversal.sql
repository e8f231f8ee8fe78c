-- Its own piece (issue 14), so that the upgrade from 0.1.0 installs the same
-- text: src/upgrade/0.1.0--0.2.0/69_zz_record_write_off_reversal.sql links it.

-- Records the reversal of the write-offs among these allocations, with a
-- reason, before they are deleted (ar._allocation_write_off_deleted, the
-- delete trigger of 72_reconcile.sql, records those deleted without one).
-- PL/pgSQL: Citus refuses a SQL function over distributed tables called
-- with parameters (doc/scale_out.md, blocker 2).
CREATE FUNCTION ar._record_write_off_reversal(allocation_ids bigint[], reason text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ar.write_off_reversal (allocation_id, company_id, invoice_id, bank_transaction_id, amount,
	                                   written_off_on, kind, reason, decided_by, decided_at, reversal_reason)
	SELECT a.id, a.company_id, a.invoice_id, r.bank_transaction_id,
	       a.amount, a.allocated_on, a.method, a.note, a.created_by, a.created_at, _record_write_off_reversal.reason
	  FROM ar.allocation a
	  LEFT JOIN ar.reconcile_adjustment r ON r.allocation_id = a.id AND r.company_id = a.company_id
	 WHERE a.id = ANY (allocation_ids) AND a.method IN ('write_off', 'shortfall')
	ON CONFLICT (allocation_id, company_id) DO NOTHING;
END $$;
