-- ---------------------------------------------------------------------------
-- ar.reconcile_anomalies, in a piece of its own: the upgrade from 0.1.0
-- links it (src/upgrade/0.1.0--0.2.0/70_recfix_writeoff_0_anomalies.sql),
-- so that both install the one definition.  Before 72_reconcile.sql, whose
-- view ar.reconcile_anomaly reads it (the body's tables are resolved when
-- it runs: an extension script does not check function bodies).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ar.reconcile_anomalies(unmatched_days integer DEFAULT NULL, as_of date DEFAULT current_date)
RETURNS TABLE (kind text, company_id bigint, bank_transaction_id bigint, customer_id bigint, invoice_id bigint,
               booking_date date, amount numeric, currency char(3), days_unmatched integer, detail text)
LANGUAGE sql STABLE
AS $$
	-- credits nobody could be identified as paying
	SELECT 'unknown_payer', t.company_id, t.id, NULL::bigint, NULL::bigint, t.booking_date, t.amount - t.allocated_amount,
	       t.currency, as_of - t.booking_date,
	       format('%s %s from %s (%s): no customer recognised', t.amount, t.currency,
	              coalesce(t.counterparty_name, 'unnamed payer'), coalesce(t.counterparty_iban::text, 'no IBAN'))
	  FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	 WHERE 'unknown_payer' = ANY (r.flags) AND t.amount > 0 AND t.allocated_amount < t.amount AND t.status <> 'ignored'
	UNION ALL
	-- money paid beyond what was owed, still on account
	SELECT 'overpayment', c.company_id, c.bank_transaction_id, c.customer_id, c.invoice_id, c.created_on, c.remaining,
	       c.currency, NULL::integer,
	       format('%s %s paid beyond what was owed, on account of customer %s', c.remaining, c.currency, cu.code)
	  FROM ar.customer_credit c
	  JOIN ar.customer cu ON cu.id = c.customer_id
	 WHERE c.source = 'overpayment' AND c.bank_transaction_id IS NOT NULL AND c.remaining > 0
	UNION ALL
	-- payments naming an invoice that was already paid
	SELECT 'duplicate_payment', t.company_id, t.id, r.customer_id, NULL::bigint, t.booking_date, t.amount, t.currency,
	       as_of - t.booking_date, coalesce(r.explanation ->> 'summary', 'names an invoice already paid')
	  FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	 WHERE 'duplicate_payment' = ANY (r.flags) AND t.allocated_amount < t.amount AND t.status <> 'ignored'
	UNION ALL
	-- payments of a referenced invoice for another amount (a short payment left
	-- open included), while the invoice is still open
	SELECT 'amount_mismatch', t.company_id, t.id, r.customer_id, i.id, t.booking_date, t.amount, t.currency,
	       as_of - t.booking_date, format('paid %s for invoice %s of %s, %s still open', t.amount, i.number, i.amount, i.open_amount)
	  FROM ar.reconcile_line r
	  JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	  JOIN ar.invoice i ON i.id = ANY (r.invoice_ids)
	 WHERE 'amount_mismatch' = ANY (r.flags) AND i.open_amount <> 0
	UNION ALL
	-- amounts closed without a payment: write-offs, by a person or within the write-off limit
	SELECT 'write_off', a.company_id, adj.bank_transaction_id, i.customer_id, i.id, a.allocated_on, a.amount, i.currency,
	       NULL::integer,
	       format('%s %s of invoice %s written off on %s by %s: %s', a.amount, i.currency, i.number,
	              to_char(a.allocated_on, 'YYYY-MM-DD'), a.created_by, coalesce(a.note, 'no reason given'))
	  FROM ar.allocation a
	  JOIN ar.invoice i ON i.id = a.invoice_id
	  LEFT JOIN ar.reconcile_adjustment adj ON adj.allocation_id = a.id
	 WHERE a.method IN ('write_off', 'shortfall') AND a.allocated_on <= as_of
	UNION ALL
	-- collections undone by a direct-debit return, while the invoice is open again
	SELECT 'direct_debit_return', t.company_id, t.id, r.customer_id, i.id, t.booking_date, t.amount, t.currency,
	       as_of - t.booking_date, format('direct debit returned (%s): invoice %s open again', coalesce(t.return_reason, 'reversal'), i.number)
	  FROM ar.reconcile_line r
	  JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	  JOIN ar.invoice i ON i.id = ANY (r.invoice_ids)
	 WHERE r.outcome = 'return' AND i.open_amount <> 0
	UNION ALL
	-- returns and reversals whose collection was not found: the invoice it
	-- paid still shows paid although the money went back, until a person
	-- traces it (ar.unallocate) and sets the line aside (ar.ignore_bank_line)
	SELECT 'unmatched_return', t.company_id, t.id, r.customer_id, NULL::bigint, t.booking_date, t.amount, t.currency,
	       as_of - t.booking_date, coalesce(r.explanation ->> 'summary', 'a return whose collection was not found')
	  FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	 WHERE 'unmatched_return' = ANY (r.flags) AND r.outcome = 'unmatched' AND t.status <> 'ignored'
	UNION ALL
	-- direct-debit returns of money the ledger could not take back: part of
	-- the settlement's leftover credit was refunded or written off before
	-- (the debtor has it twice: a person decides what the customer owes)
	SELECT 'direct_debit_return_unrecovered', t.company_id, t.id, dl.customer_id, NULL::bigint, t.booking_date,
	       (r.explanation ->> 'unrecovered')::numeric, t.currency, as_of - t.booking_date,
	       coalesce(r.explanation ->> 'summary', 'a direct debit returned after its leftover credit was released')
	  FROM ar.reconcile_line r
	  JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	  LEFT JOIN ar.direct_debit_line dl ON dl.company_id = t.company_id AND dl.return_transaction_id = t.id
	 WHERE 'direct_debit_return_unrecovered' = ANY (r.flags) AND r.outcome = 'return'
	UNION ALL
	-- credits left unmatched too long
	SELECT 'unmatched', t.company_id, t.id, NULL::bigint, NULL::bigint, t.booking_date, t.amount - t.allocated_amount,
	       t.currency, as_of - t.booking_date,
	       format('%s %s of %s not allocated after %s days (%s)', t.amount - t.allocated_amount, t.currency, t.amount,
	              as_of - t.booking_date, t.status)
	  FROM ar.bank_transaction t
	  JOIN ar.reconcile_config cfg ON cfg.company_id = t.company_id
	 WHERE t.amount > 0 AND t.allocated_amount < t.amount
	   AND t.status IN ('unmatched', 'proposed', 'partially_matched')
	   AND as_of - t.booking_date > coalesce(unmatched_days, cfg.unmatched_alert_days)
	   AND NOT EXISTS (SELECT 1 FROM ar.customer_credit c WHERE c.bank_transaction_id = t.id)
$$;
COMMENT ON FUNCTION ar.reconcile_anomalies(integer, date) IS
'What needs a credit manager''s eye: unknown payers, overpayments on account, duplicate payments, amount mismatches (short payments left open included), direct-debit returns (and the part of one the ledger could not take back), returns whose collection was not found, write-offs (amounts closed without a payment, until reversed), credits left unmatched for more than unmatched_days (default: the company''s unmatched_alert_days).';
