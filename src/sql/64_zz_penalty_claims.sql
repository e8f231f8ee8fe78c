-- ---------------------------------------------------------------------------
-- ar.penalty_claims_on(as_of), final text: before 65_penalties.sql, whose
-- view ar.penalty_claims reads it (its body names objects of that piece:
-- PL/pgSQL, resolved when it runs).  PL/pgSQL with one query naming the
-- tables (the view ar._penalty_basis, expanded before planning), its joins
-- on (x_id, company_id): Citus plans it, the ledger distributed by
-- company_id (doc/scale_out.md, blocker 2).
--
-- src/upgrade/0.1.0--0.2.0/99_citus_2_penalty_claims.sql is this piece (a
-- symbolic link).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ar.penalty_claims_on(as_of date)
RETURNS TABLE (invoice_id bigint, company_id bigint, customer_id bigint, customer_code text, number text,
               currency char(3), regime text, due_date date, settled_on date, days_late integer,
               interest numeric, fixed_fee numeric, total numeric, status text, claimed numeric,
               collected numeric, outstanding numeric, penalty_invoice_id bigint, decided_on date,
               reason text, problem text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
	-- what each claim needs of the ledger, read by one query Citus runs on
	-- the shards (MATERIALIZED: its rows come back to the coordinator); the
	-- penalties computed from them where the rules are (ar._penalty_compute
	-- reads the rate and regime tables, which a query on a shard may not)
	RETURN QUERY
	WITH claim AS MATERIALIZED (
		SELECT b.invoice_id, b.company_id, b.customer_id, c.code, b.number, b.currency, b.regime, b.due_date,
		       b.issue_date, b.amount, b.contract_rate, p.dates, p.amounts, p.written_off, p.in_bounds,
		       d.decision, d.penalty_invoice_id, d.decided_on, d.reason, pi.amount AS penalty_amount,
		       pc.paid AS penalty_paid, pw.written_off AS penalty_written_off
		  FROM ar._penalty_basis b
		  JOIN ar.customer c ON c.id = b.customer_id AND c.company_id = b.company_id
		  LEFT JOIN LATERAL (SELECT array_agg(a.allocated_on ORDER BY a.allocated_on, a.id) AS dates,
		                            array_agg(a.amount ORDER BY a.allocated_on, a.id) AS amounts,
		                            max(a.allocated_on) AS last_on, sum(a.amount) AS paid,
		                            bool_or(a.method = 'write_off') AS written_off,
		                            bool_and(ar.date_in_bounds(a.allocated_on) AND ar.amount_in_bounds(a.amount)) AS in_bounds
		                       FROM ar.allocation a
		                      WHERE a.invoice_id = b.invoice_id AND a.company_id = b.company_id
		                        AND a.allocated_on <= as_of) p ON true
		  LEFT JOIN ar.penalty_claim d ON d.invoice_id = b.invoice_id AND d.company_id = b.company_id
		                              AND d.decided_on <= as_of
		  LEFT JOIN ar.invoice pi ON pi.id = d.penalty_invoice_id AND pi.company_id = d.company_id
		  LEFT JOIN LATERAL (SELECT sum(a.amount) AS paid FROM ar.allocation a
		                      WHERE a.invoice_id = d.penalty_invoice_id AND a.company_id = d.company_id
		                        AND a.allocated_on <= as_of AND a.method <> 'write_off') pc ON true
		  LEFT JOIN LATERAL (SELECT bool_or(a.method = 'write_off') AS written_off FROM ar.allocation a
		                      WHERE a.invoice_id = d.penalty_invoice_id AND a.company_id = d.company_id
		                        AND a.allocated_on <= as_of) pw ON true
		 WHERE b.liable
		   AND b.issue_date <= as_of
		   AND b.due_date < as_of
		   AND (coalesce(p.paid, 0) < b.amount OR p.last_on > b.due_date)
	)
	SELECT x.invoice_id, x.company_id, x.customer_id, x.code, x.number, x.currency, x.regime, x.due_date,
	       r.settled_on, r.days_late, r.interest, r.fixed_fee, r.total, s.status,
	       CASE WHEN x.decision = 'billed' THEN x.penalty_amount ELSE r.total END,
	       coalesce(x.penalty_paid, r.total - r.total, 0),
	       CASE s.status
	            WHEN 'billed' THEN x.penalty_amount - coalesce(x.penalty_paid, 0)
	            WHEN 'accruing' THEN r.total
	            WHEN 'open' THEN r.total
	            ELSE r.total - r.total
	       END,
	       x.penalty_invoice_id, x.decided_on, x.reason,
	       CASE WHEN g.ok THEN r.problem
	            ELSE 'not computed: the invoice or a payment is beyond the input bounds (doc/input-bounds.md)' END
	  FROM claim x
	  -- an invoice or payment beyond the input bounds (its constraint was
	  -- bypassed) is not computed: its row says so, the others are computed
	  CROSS JOIN LATERAL (SELECT ar.amount_in_bounds(x.amount) AND ar.date_in_bounds(x.issue_date)
	                             AND ar.date_in_bounds(x.due_date) AND coalesce(x.in_bounds, true) AS ok) g
	  LEFT JOIN LATERAL (SELECT y.* FROM ar._penalty_compute(x.regime, x.amount, x.due_date, as_of, x.dates, x.amounts,
	                                                         x.contract_rate, x.currency, false) y
	                      WHERE g.ok OFFSET 0) r ON true
	 CROSS JOIN LATERAL (SELECT CASE
	         WHEN x.decision = 'waived' THEN 'waived'
	         WHEN x.decision = 'written_off' THEN 'written_off'
	         WHEN x.decision = 'billed' AND coalesce(x.penalty_paid, 0) >= x.penalty_amount THEN 'collected'
	         WHEN x.decision = 'billed' AND x.penalty_written_off THEN 'written_off'
	         WHEN x.decision = 'billed' THEN 'billed'
	         WHEN x.written_off THEN 'written_off'
	         WHEN r.settled_on IS NULL THEN 'accruing'
	         ELSE 'open'
	       END AS status) s
	 WHERE r.days_late > 0 OR r.problem IS NOT NULL OR NOT g.ok;
END $$;
COMMENT ON FUNCTION ar.penalty_claims_on(date) IS 'Late-payment penalty claims as they stood on as_of: every invoice with a late day, its penalty and the claim''s status (accruing, open, billed, collected, waived, written_off).';
