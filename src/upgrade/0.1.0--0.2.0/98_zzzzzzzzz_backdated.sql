-- 0.2.0: no allocation dated before its document or credit existed; a
-- written-off debt breaks its payment plan (ar._plan_broken_on, install piece
-- src/sql/80_dunning_3_exclusions.sql: a write-off is not a payment).
-- ar.apply_customer_credit uses only the credit and the invoices that existed
-- on applied_on; ar.apply_credit_note and ar.write_off_invoice refuse a date
-- before the issue date of their documents (ar._require_issued_by,
-- 98_zzzzzzzzz_backdated_0_issued_by.sql).  Their install piece
-- (src/sql/50_payments.sql) is not one of this upgrade's: the lines changed.
SELECT ar._upgrade_replace_in_function('ar.apply_customer_credit(bigint, date)',
$r$	-- every lock names the company (routed to its shard on Citus)
	FOR credit IN SELECT * FROM ar.customer_credit c
	               WHERE c.company_id = company AND c.customer_id = apply_customer_credit.customer_id AND c.remaining > 0
	               ORDER BY c.created_on, c.id FOR UPDATE LOOP
		left_over := credit.remaining;
		FOR inv IN SELECT * FROM ar.invoice i
		            WHERE i.company_id = credit.company_id AND i.customer_id = credit.customer_id AND i.currency = credit.currency
		              AND i.open_amount > 0 AND i.cancelled_on IS NULL$r$,
$r$	IF applied_on IS NULL THEN
		RAISE EXCEPTION 'applied_on must be given' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- every lock names the company (routed to its shard on Citus); only the
	-- credit and the invoices that existed on applied_on (ar._apply_open_credits'
	-- rule): an allocation dated before either would rewrite the past
	FOR credit IN SELECT * FROM ar.customer_credit c
	               WHERE c.company_id = company AND c.customer_id = apply_customer_credit.customer_id AND c.remaining > 0
	                 AND c.created_on <= applied_on
	               ORDER BY c.created_on, c.id FOR UPDATE LOOP
		left_over := credit.remaining;
		FOR inv IN SELECT * FROM ar.invoice i
		            WHERE i.company_id = credit.company_id AND i.customer_id = credit.customer_id AND i.currency = credit.currency
		              AND i.open_amount > 0 AND i.cancelled_on IS NULL AND i.issue_date <= applied_on$r$);
SELECT ar._upgrade_replace_in_function('ar.apply_credit_note(bigint, bigint, numeric, date)',
$r$		PERFORM ar._require_positive('credit note amount', amount);
	END IF;
$r$,
$r$		PERFORM ar._require_positive('credit note amount', amount);
	END IF;
	-- a set-off dated before either document was issued would rewrite the past
	PERFORM ar._require_issued_by(note, applied_on, 'applied'), ar._require_issued_by(inv, applied_on, 'applied');
$r$);
SELECT ar._upgrade_replace_in_function('ar.write_off_invoice(bigint, text, date)',
$r$write_off_invoice.invoice_id FOR UPDATE;
$r$,
$r$write_off_invoice.invoice_id FOR UPDATE;
	PERFORM ar._require_issued_by(inv, written_off_on, 'written off');
$r$);
SELECT ar._upgrade_replace_in_function('ar._plan_broken_on(bigint, date)',
$r$	   AND ar._plan_outstanding(p.id, s.due_on + p.grace_days) > p.total - s.paid_by_then$r$,
$r$	   AND ar._plan_outstanding(p.id, s.due_on + p.grace_days)
	       + coalesce((SELECT sum(a.amount) FROM ar.payment_plan_invoice pi JOIN ar.allocation a ON a.invoice_id = pi.invoice_id
	                    WHERE pi.plan_id = p.id AND a.method IN ('write_off', 'shortfall')
	                      AND a.allocated_on > coalesce(p.starts_on, p.created_at::date)
	                      AND a.allocated_on <= s.due_on + p.grace_days), 0)
	       > p.total - s.paid_by_then$r$);
