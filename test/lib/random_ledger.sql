-- A random ledger for the pgTAP tests of reports on a date (open_items.sql,
-- dashboard_summary.sql), included with \ir after the psql variables
-- rl_prefix (customer codes and numbers; the second company is
-- <prefix>_B, created here), rl_name, rl_customers, rl_invoices (per
-- customer), rl_first_day (invoices issued over the 540 days from it),
-- rl_credits_from and rl_credits_days (when open credits are applied) and
-- rl_seed.  Two companies, three currencies; invoices and credit notes;
-- payments (whole, partial, in two parts, dated before the invoice too),
-- bank allocations, credit notes set off, customer credit spent,
-- write-offs and their reversal (allocations removed again),
-- cancellations, all at random dates.
INSERT INTO ar.company (code, name) VALUES (:'rl_prefix' || '_B', 'Company B');
SELECT set_config('ar_test.prefix', :'rl_prefix', true) AS rl_1, set_config('ar_test.name', :'rl_name', true) AS rl_2,
       set_config('ar_test.customers', :'rl_customers', true) AS rl_3, set_config('ar_test.invoices', :'rl_invoices', true) AS rl_4,
       set_config('ar_test.first_day', :'rl_first_day', true) AS rl_5, set_config('ar_test.credits_from', :'rl_credits_from', true) AS rl_6,
       set_config('ar_test.credits_days', :'rl_credits_days', true) AS rl_7, setseed(:'rl_seed') AS rl_8 \gset
DO $$
DECLARE
	co bigint;
	c bigint;
	i integer;
	inv ar.invoice;
	cn ar.invoice;
	d date;
	t bigint;
	amt numeric;
	w bigint;
	prefix constant text := current_setting('ar_test.prefix');
	first_day constant date := current_setting('ar_test.first_day')::date;
	credits_from constant date := current_setting('ar_test.credits_from')::date;
	credits_days constant integer := current_setting('ar_test.credits_days')::integer;
BEGIN
	FOR co, c IN INSERT INTO ar.customer (company_id, code, name)
	             SELECT CASE WHEN g % 3 = 0 THEN (SELECT id FROM ar.company WHERE code = prefix || '_B') ELSE ar.default_company() END,
	                    prefix || g, current_setting('ar_test.name') || ' ' || g
	               FROM generate_series(1, current_setting('ar_test.customers')::integer) g
	             RETURNING company_id, id LOOP
		FOR i IN 1 .. current_setting('ar_test.invoices')::integer LOOP
			d := first_day + (random() * 540)::int;
			INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, currency)
			VALUES (co, c, prefix || c || '-' || i, d, d + (random() * 75)::int,
			        CASE WHEN random() < 0.2 THEN -1 ELSE 1 END * round((1 + random() * 3000)::numeric, 2),
			        CASE WHEN random() < 0.15 THEN 'USD' WHEN random() < 0.1 THEN 'CHF' ELSE 'EUR' END);
		END LOOP;
		FOR inv IN SELECT * FROM ar.invoice WHERE customer_id = c ORDER BY id LOOP
			SELECT * INTO inv FROM ar.invoice x WHERE x.id = inv.id;
			d := inv.issue_date + (random() * 150)::int - 10;
			CASE (random() * 9)::int
			WHEN 0 THEN
				IF inv.open_amount = inv.amount THEN PERFORM ar.cancel_invoice(inv.id, d); END IF;
			WHEN 1 THEN
				IF inv.amount > 0 THEN PERFORM ar.record_payment(inv.number, round(inv.amount * (0.3 + random())::numeric, 2), d, 'transfer'); END IF;
			WHEN 2 THEN
				INSERT INTO ar.bank_transaction (company_id, booking_date, amount, currency) VALUES (co, d, inv.amount, inv.currency) RETURNING id INTO t;
				amt := round(inv.amount * random()::numeric, 2);
				IF amt <> 0 THEN
					INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method)
					VALUES (co, inv.id, t, amt, d, 'reference');
				END IF;
			WHEN 3 THEN PERFORM ar.write_off_invoice(inv.id, 'random', greatest(d, inv.issue_date));
			WHEN 4 THEN
				SELECT * INTO cn FROM ar.invoice x
				 WHERE x.customer_id = c AND x.currency = inv.currency AND x.open_amount < 0 AND x.id <> inv.id ORDER BY x.id LIMIT 1;
				IF FOUND AND inv.amount > 0 AND inv.open_amount > 0 THEN PERFORM ar.apply_credit_note(cn.id, inv.id, NULL, greatest(d, inv.issue_date, cn.issue_date)); END IF;
			WHEN 5 THEN
				-- paid in two parts, the second later
				IF inv.amount > 0 THEN
					PERFORM ar.record_payment(inv.number, round(inv.amount / 3, 2), d, 'transfer');
					PERFORM ar.record_payment(inv.number, inv.amount, d + (random() * 90)::int, 'transfer');
				END IF;
			WHEN 6 THEN
				-- written off, then the write-off reversed: the allocation is gone
				IF inv.amount > 0 AND inv.open_amount > 0 THEN
					w := ar.write_off_invoice(inv.id, 'random', greatest(d, inv.issue_date));
					IF w IS NOT NULL AND random() < 0.5 THEN PERFORM ar.reverse_write_off(w, 'random reversal'); END IF;
				END IF;
			ELSE NULL;
			END CASE;
		END LOOP;
		INSERT INTO ar.customer_credit (company_id, customer_id, amount, source, created_on, currency)
		VALUES (co, c, round((1 + random() * 500)::numeric, 2), 'manual', first_day + (random() * 540)::int, 'EUR');
		PERFORM ar.apply_customer_credit(c, first_day + (random() * 540)::int);
		PERFORM ar.apply_open_credits(c, credits_from + (random() * credits_days)::int);
	END LOOP;
END $$;
