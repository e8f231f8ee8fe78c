-- ---------------------------------------------------------------------------
-- Every UPDATE and DELETE of a company table names its company in its WHERE
-- (routed to one shard on Citus, as the row lock its transaction took
-- before: a statement over every shard runs on other connections, which
-- wait on that lock; doc/scale_out.md "Row locks routed per company",
-- test/pgtap/routed_writes.sql).  The install pieces of these functions are
-- not pieces of this upgrade: each definition as it stands, the old lines
-- replaced by the new ones (an old text not found is an error).
-- ---------------------------------------------------------------------------

-- the account's refresh takes its company (from the notice's trigger): the
-- old form dropped here, the new one created by the install piece that
-- follows (98_zzzzz_routed_writes_1_account_refresh.sql)
DROP FUNCTION ar._dunning_account_refresh(bigint, char(3));

DO $$
DECLARE
	f regprocedure;
	old_text text;
	new_text text;
BEGIN
	FOR f, old_text, new_text IN VALUES
		('ar.accept_proposal(bigint)',
		 $o$UPDATE ar.reconcile_line r SET outcome = 'return', decided_at = now() WHERE r.bank_transaction_id = line.id;$o$,
		 $n$UPDATE ar.reconcile_line r SET outcome = 'return', decided_at = now()
		 WHERE r.company_id = p.company_id AND r.bank_transaction_id = line.id;$n$),
		('ar.accept_proposal(bigint)',
		 $o$	 WHERE mp.id = p.id;$o$,
		 $n$	 WHERE mp.company_id = p.company_id AND mp.id = p.id;$n$),
		('ar.accept_proposal(bigint)',
		 $o$	 WHERE mp.bank_transaction_id = p.bank_transaction_id AND mp.status = 'pending';$o$,
		 $n$	 WHERE mp.company_id = p.company_id AND mp.bank_transaction_id = p.bank_transaction_id AND mp.status = 'pending';$n$),
		('ar.reject_proposal(bigint,text)',
		 $o$	 WHERE mp.id = p.id;$o$,
		 $n$	 WHERE mp.company_id = p.company_id AND mp.id = p.id;$n$),
		('ar.reject_proposal(bigint,text)',
		 $o$		 WHERE t.id = p.bank_transaction_id AND t.status = 'proposed';$o$,
		 $n$		 WHERE t.company_id = p.company_id AND t.id = p.bank_transaction_id AND t.status = 'proposed';$n$),
		('ar.rematch(bigint)',
		 $o$	 WHERE p.bank_transaction_id = line.id AND p.status = 'pending';$o$,
		 $n$	 WHERE p.company_id = line.company_id AND p.bank_transaction_id = line.id AND p.status = 'pending';$n$),
		('ar.ignore_bank_line(bigint,text)',
		 $o$	 WHERE p.bank_transaction_id = line.id AND p.status = 'pending';$o$,
		 $n$	 WHERE p.company_id = line.company_id AND p.bank_transaction_id = line.id AND p.status = 'pending';$n$),
		('ar.rematch(bigint)',
		 $o$DELETE FROM ar.reconcile_line r WHERE r.bank_transaction_id = line.id;$o$,
		 $n$DELETE FROM ar.reconcile_line r WHERE r.company_id = line.company_id AND r.bank_transaction_id = line.id;$n$),
		('ar.unignore_bank_line(bigint)',
		 $o$DELETE FROM ar.reconcile_line r WHERE r.bank_transaction_id = line.id;$o$,
		 $n$DELETE FROM ar.reconcile_line r WHERE r.company_id = line.company_id AND r.bank_transaction_id = line.id;$n$),
		('ar.rematch(bigint)',
		 $o$UPDATE ar.bank_transaction t SET status = 'unmatched' WHERE t.id = line.id AND t.status <> 'unmatched';$o$,
		 $n$UPDATE ar.bank_transaction t SET status = 'unmatched'
	 WHERE t.company_id = line.company_id AND t.id = line.id AND t.status <> 'unmatched';$n$),
		('ar.ignore_bank_line(bigint,text)',
		 $o$UPDATE ar.bank_transaction t SET status = 'ignored', ignored_reason = ignore_bank_line.reason WHERE t.id = line.id;$o$,
		 $n$UPDATE ar.bank_transaction t SET status = 'ignored', ignored_reason = ignore_bank_line.reason
	 WHERE t.company_id = line.company_id AND t.id = line.id;$n$),
		('ar.unignore_bank_line(bigint)',
		 $o$UPDATE ar.bank_transaction t SET status = 'unmatched', ignored_reason = NULL WHERE t.id = line.id;$o$,
		 $n$UPDATE ar.bank_transaction t SET status = 'unmatched', ignored_reason = NULL
	 WHERE t.company_id = line.company_id AND t.id = line.id;$n$),
		('ar._reverse_collection(bigint[],bigint,bigint)',
		 $o$	ids bigint[];
BEGIN
$o$,
		 $n$	ids bigint[];
	line_company bigint;
BEGIN
$n$),
		('ar._reverse_collection(bigint[],bigint,bigint)',
		 $o$	SELECT DISTINCT a.bank_transaction_id INTO original FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
$o$,
		 $n$	SELECT DISTINCT a.bank_transaction_id INTO original FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
	-- the return's company, the collection's (ar._reconcile_returns looks there):
	-- the writes below name it (routed to its shard on Citus)
	SELECT t.company_id INTO line_company FROM ar.bank_transaction t WHERE t.id = return_line;
$n$),
		('ar._reverse_collection(bigint[],bigint,bigint)',
		 $o$	 WHERE r.allocation_id = x.id AND r.bank_transaction_id = original;
	DELETE FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
	UPDATE ar.bank_transaction t SET status = 'ignored'
	 WHERE t.id IN (original, return_line)$o$,
		 $n$	 WHERE x.company_id = line_company AND r.company_id = line_company
	   AND r.allocation_id = x.id AND r.bank_transaction_id = original;
	DELETE FROM ar.allocation a WHERE a.company_id = line_company AND a.id = ANY (allocation_ids);
	UPDATE ar.bank_transaction t SET status = 'ignored'
	 WHERE t.company_id = line_company AND t.id IN (original, return_line)$n$),
		('ar._reverse_collection(bigint[],bigint,bigint)',
		 $o$UPDATE ar.reconcile_line r SET returned_by = return_line WHERE r.bank_transaction_id = original;$o$,
		 $n$UPDATE ar.reconcile_line r SET returned_by = return_line
	 WHERE r.company_id = line_company AND r.bank_transaction_id = original;$n$),
		('ar._reconcile_returns(bigint,bigint[],boolean)',
		 $o$UPDATE ar.bank_transaction t SET status = 'proposed' WHERE t.id = r.id AND t.status = 'unmatched';$o$,
		 $n$UPDATE ar.bank_transaction t SET status = 'proposed' WHERE t.company_id = r.company_id AND t.id = r.id AND t.status = 'unmatched';$n$),
		('ar.cancel_invoice(bigint,date)',
		 $o$BEGIN
	PERFORM ar._require_company(i.company_id, 'admin') FROM ar.invoice i WHERE i.id = cancel_invoice.invoice_id;
	UPDATE ar.invoice i SET cancelled_on = cancel_invoice.cancelled_on WHERE i.id = cancel_invoice.invoice_id;
$o$,
		 $n$DECLARE
	company bigint;
BEGIN
	-- the company read first, the update naming it (routed to its shard on Citus)
	SELECT i.company_id INTO company FROM ar.invoice i WHERE i.id = cancel_invoice.invoice_id;
	PERFORM ar._require_company(company, 'admin') WHERE company IS NOT NULL;
	UPDATE ar.invoice i SET cancelled_on = cancel_invoice.cancelled_on
	 WHERE i.company_id = company AND i.id = cancel_invoice.invoice_id;
$n$),
		('ar.cancel_payment_plan(bigint,text,date)',
		 $o$	 WHERE x.id = p.id;$o$,
		 $n$	 WHERE x.company_id = p.company_id AND x.id = p.id;$n$),
		('ar.open_dispute(bigint,text,date)',
		 $o$UPDATE ar.invoice i SET disputed = true WHERE i.id = inv.id AND NOT i.disputed;$o$,
		 $n$UPDATE ar.invoice i SET disputed = true WHERE i.company_id = inv.company_id AND i.id = inv.id AND NOT i.disputed;$n$),
		('ar.resolve_dispute(bigint,text,date)',
		 $o$UPDATE ar.invoice i SET disputed = false WHERE i.id = inv.id AND i.disputed;$o$,
		 $n$UPDATE ar.invoice i SET disputed = false WHERE i.company_id = inv.company_id AND i.id = inv.id AND i.disputed;$n$),
		('ar.set_dunning_policy(bigint,text)',
		 $o$DELETE FROM ar.customer_dunning_policy x WHERE x.customer_id = c.id;$o$,
		 $n$DELETE FROM ar.customer_dunning_policy x WHERE x.company_id = c.company_id AND x.customer_id = c.id;$n$),
		('ar.unblock_dunning(bigint,text,date)',
		 $o$	          WHERE x.customer_id = c.id AND x.lifted_at IS NULL
$o$,
		 $n$	          WHERE x.company_id = c.company_id AND x.customer_id = c.id AND x.lifted_at IS NULL
$n$),
		('ar.mark_notice(bigint,text,text,text)',
		 $o$	 WHERE d.id = n.id
$o$,
		 $n$	 WHERE d.company_id = n.company_id AND d.id = n.id
$n$),
		('ar._dunning_notice_status_changed()',
		 $o$PERFORM ar._dunning_account_refresh(NEW.customer_id, NEW.currency);$o$,
		 $n$PERFORM ar._dunning_account_refresh(NEW.company_id, NEW.customer_id, NEW.currency);$n$),
		('ar.waive_penalty(bigint,text)',
		 $o$		 WHERE c.id = (target.claim).id
$o$,
		 $n$		 WHERE c.company_id = (target.basis).company_id AND c.id = (target.claim).id
$n$),
		('ar.write_off_penalty(bigint,text)',
		 $o$		 WHERE c.id = (target.claim).id
$o$,
		 $n$		 WHERE c.company_id = (target.basis).company_id AND c.id = (target.claim).id
$n$),
		-- and the upserts of a routed write: the time and role of their
		-- defaults (Citus refuses a volatile function in DO UPDATE SET)
		('ar.ignore_bank_line(bigint,text)',
		 $o$	       decided_at = now();
$o$,
		 $n$	       decided_at = EXCLUDED.decided_at;  -- now(), its default (Citus refuses now() here)
$n$),
		('ar._reverse_collection(bigint[],bigint,bigint)',
		 $o$DO UPDATE SET outcome = 'returned', decided_at = now();$o$,
		 $n$DO UPDATE SET outcome = 'returned', decided_at = EXCLUDED.decided_at;  -- now(), its default (Citus refuses now() here)$n$),
		('ar.set_dunning_policy(bigint,text)',
		 $o$DO UPDATE SET policy_id = EXCLUDED.policy_id, set_at = now(), set_by = session_user;$o$,
		 $n$DO UPDATE SET policy_id = EXCLUDED.policy_id, set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by;  -- their defaults (Citus refuses now() here)$n$)
	LOOP
		PERFORM ar._upgrade_replace_in_function(f, old_text, new_text);
	END LOOP;
END $$;
