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
	def text;
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
		def := pg_catalog.pg_get_functiondef(f);
		IF pg_catalog.strpos(def, old_text) = 0 THEN
			RAISE EXCEPTION 'upgrade: % does not contain the text it replaces', f;
		END IF;
		EXECUTE pg_catalog.replace(def, old_text, new_text);
	END LOOP;
END $$;

-- The reconciliation's views join the company tables on (x_id, company_id),
-- so that Citus runs them on each shard: copies of their final text in
-- src/sql/72_reconcile.sql.
-- CREATE OR REPLACE drops the views' options: security_invoker set again,
-- as 20_tenancy.sql does.
CREATE OR REPLACE VIEW ar.review_queue AS
SELECT p.id AS proposal_id, p.company_id, p.bank_transaction_id, p.rank, p.score, p.method,
       t.booking_date, t.amount, t.currency, t.counterparty_name, t.counterparty_iban, t.remittance_info,
       p.customer_id, c.code AS customer_code, c.name AS customer_name,
       p.invoice_ids,
       (SELECT array_agg(i.number ORDER BY u.ord)
          FROM unnest(p.invoice_ids) WITH ORDINALITY AS u(id, ord)
          JOIN ar.invoice i ON i.id = u.id AND i.company_id = p.company_id) AS invoice_numbers,
       p.amounts, p.credit_amount, p.explanation ->> 'summary' AS summary, p.explanation, p.created_at
  FROM ar.match_proposal p
  JOIN ar.bank_transaction t ON t.id = p.bank_transaction_id AND t.company_id = p.company_id
  LEFT JOIN ar.customer c ON c.id = p.customer_id AND c.company_id = p.company_id
 WHERE p.status = 'pending';
CREATE OR REPLACE VIEW ar.reconcile_summary AS
SELECT r.company_id, t.currency, r.outcome, coalesce(r.method, 'none') AS method, count(*) AS lines,
       sum(t.amount) AS amount, avg(r.score)::real AS avg_score
  FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id AND t.company_id = r.company_id
 GROUP BY r.company_id, t.currency, r.outcome, coalesce(r.method, 'none');
CREATE OR REPLACE VIEW ar.write_off_report AS
SELECT a.id AS allocation_id, a.company_id, i.customer_id, c.code AS customer_code, c.name AS customer_name,
       a.invoice_id, i.number AS invoice_number, i.amount AS invoice_amount, i.currency, a.amount,
       a.allocated_on AS written_off_on, a.method AS kind, a.note AS reason, a.created_by AS decided_by,
       a.created_at AS decided_at, adj.bank_transaction_id, 'active'::text AS status,
       NULL::timestamptz AS reversed_at, NULL::text AS reversed_by, NULL::text AS reversal_reason
  FROM ar.allocation a
  JOIN ar.invoice i ON i.id = a.invoice_id AND i.company_id = a.company_id
  JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = i.company_id
  LEFT JOIN ar.reconcile_adjustment adj ON adj.allocation_id = a.id AND adj.company_id = a.company_id
 WHERE a.method IN ('write_off', 'shortfall')
UNION ALL
SELECT w.allocation_id, w.company_id, i.customer_id, c.code, c.name, w.invoice_id, i.number, i.amount, i.currency,
       w.amount, w.written_off_on, w.kind, w.reason, w.decided_by, w.decided_at, w.bank_transaction_id, 'reversed',
       w.reversed_at, w.reversed_by, w.reversal_reason
  FROM ar.write_off_reversal w
  JOIN ar.invoice i ON i.id = w.invoice_id AND i.company_id = w.company_id
  JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = i.company_id;
ALTER VIEW ar.review_queue SET (security_invoker = true);
ALTER VIEW ar.reconcile_summary SET (security_invoker = true);
ALTER VIEW ar.write_off_report SET (security_invoker = true);
