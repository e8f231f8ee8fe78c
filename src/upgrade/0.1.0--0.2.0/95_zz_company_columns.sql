-- ---------------------------------------------------------------------------
-- company_id on the tables of company data that had none (0.1.0 read them
-- through the row they belong to): the customer's for
-- ar.customer_dunning_policy and ar.dunning_account, the plan's for
-- ar.payment_plan_invoice and ar.payment_plan_instalment, the bank line's
-- for ar.reconcile_adjustment.  Their policies become those of every table of
-- company data (96_company_rls.sql, next); their keys get company_id with
-- every other table's (98_zz_distribution_keys.sql).
-- ---------------------------------------------------------------------------
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['customer_dunning_policy', 'payment_plan_invoice',
	                         'payment_plan_instalment', 'reconcile_adjustment', 'dunning_account'] LOOP
		EXECUTE format('DROP POLICY company_read ON ar.%I', t);
		EXECUTE format('ALTER TABLE ar.%I NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY, ADD COLUMN company_id bigint', t);
	END LOOP;
END $$;

UPDATE ar.customer_dunning_policy x SET company_id = c.company_id FROM ar.customer c WHERE c.id = x.customer_id;
UPDATE ar.payment_plan_invoice x SET company_id = p.company_id FROM ar.payment_plan p WHERE p.id = x.plan_id;
UPDATE ar.payment_plan_instalment x SET company_id = p.company_id FROM ar.payment_plan p WHERE p.id = x.plan_id;
UPDATE ar.reconcile_adjustment x SET company_id = t.company_id FROM ar.bank_transaction t WHERE t.id = x.bank_transaction_id;
UPDATE ar.dunning_account x SET company_id = c.company_id FROM ar.customer c WHERE c.id = x.customer_id;

ALTER TABLE ar.customer_dunning_policy ALTER COLUMN company_id SET NOT NULL;
ALTER TABLE ar.payment_plan_invoice ALTER COLUMN company_id SET NOT NULL;
ALTER TABLE ar.payment_plan_instalment ALTER COLUMN company_id SET NOT NULL;
ALTER TABLE ar.reconcile_adjustment ALTER COLUMN company_id SET NOT NULL;
ALTER TABLE ar.dunning_account ALTER COLUMN company_id SET NOT NULL;
COMMENT ON COLUMN ar.reconcile_adjustment.company_id IS 'The company of the allocation and of the line.';

-- The functions that write these tables, or name a key by its columns (ON
-- CONFLICT), get the few lines that changed in their install pieces
-- (72_reconcile.sql, 80_dunning_3_exclusions.sql, 88_input_bounds.sql):
-- each definition as it stands, the old lines replaced by the new ones; an
-- old text not found is an error (test/t/upgrade.sh compares the result with
-- a fresh install).
DO $$
DECLARE
	f regprocedure;
	old_text text;
	new_text text;
BEGIN
	FOR f, old_text, new_text IN VALUES
		('ar._review_decided(ar.bank_transaction,text,text,bigint)',
		 'ON CONFLICT (bank_transaction_id) DO UPDATE', 'ON CONFLICT (bank_transaction_id, company_id) DO UPDATE'),
		('ar._reverse_collection(bigint[],bigint,bigint)',
		 'ON CONFLICT (bank_transaction_id) DO UPDATE', 'ON CONFLICT (bank_transaction_id, company_id) DO UPDATE'),
		('ar._allocation_write_off_deleted()',
		 'ON CONFLICT (allocation_id) DO NOTHING', 'ON CONFLICT (allocation_id, company_id) DO NOTHING'),
		('ar.accept_proposal(bigint)',
		 E'INSERT INTO ar.reconcile_adjustment (allocation_id, bank_transaction_id, invoice_id, kind)\n\t\t\t\tVALUES (a.id, line.id, x.id, ''shortfall'');',
		 E'INSERT INTO ar.reconcile_adjustment (allocation_id, bank_transaction_id, invoice_id, kind, company_id)\n\t\t\t\tVALUES (a.id, line.id, x.id, ''shortfall'', x.company_id);'),
		('ar.create_payment_plan(bigint,bigint[],date[],numeric[],date,integer,text)',
		 E'INSERT INTO ar.payment_plan_invoice (plan_id, invoice_id) SELECT plan_id, u FROM unnest(invoice_ids) u;\n\tINSERT INTO ar.payment_plan_instalment (plan_id, seq, due_on, amount)\n\tSELECT plan_id, s, due_dates[s], amounts[s] FROM generate_series(1, n) s;',
		 E'INSERT INTO ar.payment_plan_invoice (plan_id, invoice_id, company_id)\n\tSELECT plan_id, u, c.company_id FROM unnest(invoice_ids) u;\n\tINSERT INTO ar.payment_plan_instalment (plan_id, seq, due_on, amount, company_id)\n\tSELECT plan_id, s, due_dates[s], amounts[s], c.company_id FROM generate_series(1, n) s;'),
		('ar.set_dunning_policy(bigint,text)',
		 'INSERT INTO ar.customer_dunning_policy (customer_id, policy_id) VALUES (c.id, p.id)',
		 'INSERT INTO ar.customer_dunning_policy (customer_id, policy_id, company_id) VALUES (c.id, p.id, c.company_id)'),
		('ar._batch_quarantine(text,text[],bigint,date,boolean)',
		 'ON CONFLICT (batch, object_table, object_id, column_name) DO UPDATE',
		 'ON CONFLICT (batch, object_table, object_id, column_name, company_id) DO UPDATE'),
		-- and the row locks that name their company, routed to one shard on
		-- Citus (issue 14, blocker 5: doc/scale_out.md)
		('ar.accept_proposal(bigint)',
		 $o$	big integer;$o$,
		 $n$	big integer;
	company bigint;$n$),
		('ar.accept_proposal(bigint)',
		 $o$BEGIN
	PERFORM ar._require_company(mp.company_id, 'collector') FROM ar.match_proposal mp WHERE mp.id = proposal_id;
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.id = proposal_id FOR UPDATE;$o$,
		 $n$BEGIN
	-- its company first, then the locks name it (routed to its shard on Citus)
	SELECT mp.company_id INTO company FROM ar.match_proposal mp WHERE mp.id = proposal_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.company_id = company AND mp.id = proposal_id FOR UPDATE;$n$),
		('ar.accept_proposal(bigint)',
		 $o$	-- invoices first, then the line: the order the ledger's triggers lock them in
	PERFORM 1 FROM ar.invoice i WHERE i.id = ANY (p.invoice_ids) ORDER BY i.id FOR UPDATE;$o$,
		 $n$	-- invoices first, then the line: the order the ledger's triggers lock them in
	PERFORM 1 FROM ar.invoice i WHERE i.company_id = p.company_id AND i.id = ANY (p.invoice_ids) ORDER BY i.id FOR UPDATE;$n$),
		('ar._reverse_collection(bigint[],bigint,bigint)',
		 $o$	original bigint;$o$,
		 $n$	original bigint;
	company bigint;
	ids bigint[];$n$),
		('ar._reverse_collection(bigint[],bigint,bigint)',
		 $o$	SELECT DISTINCT a.bank_transaction_id INTO original FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
	PERFORM 1 FROM ar.invoice i
	 WHERE i.id IN (SELECT a.invoice_id FROM ar.allocation a WHERE a.id = ANY (allocation_ids))
	 ORDER BY i.id FOR UPDATE;$o$,
		 $n$	SELECT DISTINCT a.bank_transaction_id INTO original FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
	-- the invoices of each company in id order, one statement per company
	-- (routed to its shard on Citus)
	FOR company, ids IN SELECT a.company_id, array_agg(a.invoice_id) FROM ar.allocation a WHERE a.id = ANY (allocation_ids)
	                     GROUP BY a.company_id ORDER BY a.company_id LOOP
		PERFORM 1 FROM ar.invoice i WHERE i.company_id = company AND i.id = ANY (ids) ORDER BY i.id FOR UPDATE;
	END LOOP;$n$),
		('ar._reconcile_returns(bigint,bigint[],boolean)',
		 $o$			SELECT count(*) = (SELECT count(DISTINCT u) FROM unnest(invs) u) INTO safe
			  FROM (SELECT 1 FROM ar.invoice i WHERE i.id = ANY (invs) FOR UPDATE SKIP LOCKED) l;$o$,
		 $n$			SELECT count(*) = (SELECT count(DISTINCT u) FROM unnest(invs) u) INTO safe
			  FROM (SELECT 1 FROM ar.invoice i WHERE i.company_id = r.company_id AND i.id = ANY (invs) FOR UPDATE SKIP LOCKED) l;$n$),
		('ar.resolve_dispute(bigint,text,date)',
		 $o$	inv := ar._invoice_or_error(invoice_id);
	SELECT * INTO d FROM ar.dispute x WHERE x.invoice_id = inv.id AND x.resolved_at IS NULL FOR UPDATE;$o$,
		 $n$	inv := ar._invoice_or_error(invoice_id);
	SELECT * INTO d FROM ar.dispute x WHERE x.company_id = inv.company_id AND x.invoice_id = inv.id AND x.resolved_at IS NULL FOR UPDATE;$n$),
		('ar.resolve_dispute(bigint,text,date)',
		 $o$	 WHERE x.id = d.id;$o$,
		 $n$	 WHERE x.company_id = d.company_id AND x.id = d.id;$n$),
		('ar.create_payment_plan(bigint,bigint[],date[],numeric[],date,integer,text)',
		 $o$	-- lock the invoices, in id order
	PERFORM 1 FROM ar.invoice i WHERE i.id = ANY (invoice_ids) ORDER BY i.id FOR UPDATE;$o$,
		 $n$	-- lock the invoices, in id order
	PERFORM 1 FROM ar.invoice i WHERE i.company_id = c.company_id AND i.id = ANY (invoice_ids) ORDER BY i.id FOR UPDATE;$n$)
	LOOP
		PERFORM ar._upgrade_replace_in_function(f, old_text, new_text);
	END LOOP;
END $$;
