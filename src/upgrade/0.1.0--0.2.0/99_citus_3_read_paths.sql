-- Issue 14, blocker 2 (the rest) and the reconciliation's decisions on
-- Citus (doc/scale_out.md): the lines that changed in functions whose install
-- piece is not a piece of this upgrade, replaced in each definition as it
-- stands (an old text not found is an error; test/t/upgrade.sh compares the
-- result with a fresh install).
DO $$
DECLARE
	f regprocedure;
	old_text text;
	new_text text;
BEGIN
	FOR f, old_text, new_text IN VALUES
		-- 72_reconcile.sql: INSERT ... SELECT (Citus refuses a subquery in
		-- an INSERT's VALUES), the line and its proposals by company
		('ar._review_decided(ar.bank_transaction,text,text,bigint)',
		 $o$	VALUES (line.id, line.company_id, decided_outcome, decided_method, decided_customer,
	        coalesce((SELECT array_agg(DISTINCT a.invoice_id) FROM ar.allocation a WHERE a.bank_transaction_id = line.id), '{}'),
	        (SELECT array_agg(a.id ORDER BY a.id) FROM ar.allocation a WHERE a.bank_transaction_id = line.id))$o$,
		 $n$	SELECT line.id, line.company_id, decided_outcome, decided_method, decided_customer,
	       coalesce(array_agg(DISTINCT a.invoice_id), '{}'), array_agg(a.id ORDER BY a.id)
	  FROM ar.allocation a
	 WHERE a.company_id = line.company_id AND a.bank_transaction_id = line.id$n$),
		('ar._review_decided(ar.bank_transaction,text,text,bigint)',
		 $o$	       decided_at = now();$o$, $n$	       decided_at = EXCLUDED.decided_at;$n$),
		('ar._review_decided(ar.bank_transaction,text,text,bigint)',
		 $o$	IF (SELECT t.allocated_amount = t.amount FROM ar.bank_transaction t WHERE t.id = line.id) THEN
		UPDATE ar.match_proposal p SET status = 'superseded', decided_by = session_user, decided_at = now()
		 WHERE p.bank_transaction_id = line.id AND p.status = 'pending';$o$,
		 $n$	IF (SELECT t.allocated_amount = t.amount FROM ar.bank_transaction t
	     WHERE t.company_id = line.company_id AND t.id = line.id) THEN
		UPDATE ar.match_proposal p SET status = 'superseded', decided_by = session_user, decided_at = now()
		 WHERE p.company_id = line.company_id AND p.bank_transaction_id = line.id AND p.status = 'pending';$n$),
		-- ar.unallocate's deletes and its reread of the line by company
		('ar.unallocate(bigint)',
		 $o$		 WHERE r.allocation_id = x.id AND r.bank_transaction_id = a.bank_transaction_id
		   AND r.invoice_id = a.invoice_id;$o$,
		 $n$		 WHERE r.allocation_id = x.id AND r.company_id = x.company_id AND x.company_id = a.company_id
		   AND r.bank_transaction_id = a.bank_transaction_id AND r.invoice_id = a.invoice_id;$n$),
		('ar.unallocate(bigint)',
		 $o$	DELETE FROM ar.allocation x WHERE x.id = a.id;$o$,
		 $n$	DELETE FROM ar.allocation x WHERE x.company_id = a.company_id AND x.id = a.id;$n$),
		('ar.unallocate(bigint)',
		 $o$		SELECT * INTO line FROM ar.bank_transaction t WHERE t.id = line.id;$o$,
		 $n$		SELECT * INTO line FROM ar.bank_transaction t WHERE t.company_id = a.company_id AND t.id = line.id;$n$)
	LOOP
		PERFORM ar._upgrade_replace_in_function(f, old_text, new_text);
	END LOOP;
END $$;
