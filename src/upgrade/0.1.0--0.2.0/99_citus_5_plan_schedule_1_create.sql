-- Issue 14 (doc/scale_out.md, blocker 2, the payment plans): the check of
-- the plans already active in ar.create_payment_plan names the company and
-- joins the plan's invoices with the plans and invoices on
-- (x_id, company_id) (on id alone Citus refused it: "the query contains a
-- join that requires repartitioning"), replaced in the definition as it
-- stands (80_dunning_3_exclusions.sql is not a piece of this upgrade).
SELECT ar._upgrade_replace_in_function('ar.create_payment_plan(bigint,bigint[],date[],numeric[],date,integer,text)',
	$o$	SELECT i.number INTO numbers
	  FROM ar.payment_plan_invoice pi JOIN ar.payment_plan p ON p.id = pi.plan_id JOIN ar.invoice i ON i.id = pi.invoice_id
	 WHERE pi.invoice_id = ANY (invoice_ids) AND p.status = 'active'
	 LIMIT 1;$o$,
	$n$	SELECT i.number INTO numbers
	  FROM ar.payment_plan_invoice pi
	  JOIN ar.payment_plan p ON p.id = pi.plan_id AND p.company_id = pi.company_id
	  JOIN ar.invoice i ON i.id = pi.invoice_id AND i.company_id = pi.company_id
	 WHERE pi.company_id = c.company_id AND pi.invoice_id = ANY (invoice_ids) AND p.status = 'active'
	 LIMIT 1;$n$);
