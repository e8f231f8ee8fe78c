-- ar.reconcile finds an invoice's customer, and an IBAN's, by customer id:
-- through an array when the ids are dense, a hash index when they are not
-- (src/reconcile.c, index_customer_ids).  Both give the same decisions:
-- here the payer is known by its IBAN alone and pays one open invoice of
-- that amount, with ids dense, then spread over the whole bigint range.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(4);

-- an IBAN per seed: FR, its check digits, then 23 digits
CREATE FUNCTION pg_temp.iban(n int) RETURNS text LANGUAGE sql AS $$
	SELECT 'FR' || lpad((98 - ((('1' || lpad(n::text, 22, '0') || '152700')::numeric) % 97))::int::text, 2, '0')
	       || '1' || lpad(n::text, 22, '0') $$;
-- customers with the given ids (numbered from first + 1), an account and an
-- open invoice each, and a line from each account for its invoice's amount,
-- without a reference
CREATE FUNCTION pg_temp.setup(ids bigint[], first int) RETURNS void LANGUAGE sql AS $$
	INSERT INTO ar.customer (id, code, name)
	SELECT id, 'CID' || n, 'Client ' || n || ' SARL' FROM (SELECT id, n::int + first AS n FROM unnest(ids) WITH ORDINALITY u(id, n)) u;
	INSERT INTO ar.customer_bank_account (customer_id, iban)
	SELECT id, pg_temp.iban(n) FROM (SELECT id, n::int + first AS n FROM unnest(ids) WITH ORDINALITY u(id, n)) u;
	INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
	SELECT id, 'CID-2026-' || lpad(n::text, 4, '0'), '2026-03-01', '2026-03-31', 100.00 + n FROM (SELECT id, n::int + first AS n FROM unnest(ids) WITH ORDINALITY u(id, n)) u;
	INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_iban, remittance_info)
	SELECT '2026-04-02', 100.00 + n, pg_temp.iban(n), 'VIREMENT' FROM (SELECT id, n::int + first AS n FROM unnest(ids) WITH ORDINALITY u(id, n)) u;
$$;
-- each line applied to its own customer's invoice
CREATE VIEW pg_temp.decided AS
SELECT count(*) FILTER (WHERE p.applied AND p.invoice_ids = ARRAY[i.id])::int AS right_ones, count(*)::int AS lines
  FROM ar.reconcile_preview() p
  JOIN ar.bank_transaction t ON t.id = p.bank_transaction_id
  JOIN ar.customer_bank_account a ON a.iban::text = t.counterparty_iban::text
  JOIN ar.invoice i ON i.customer_id = a.customer_id;

SELECT pg_temp.setup(ARRAY[1000, 1001, 1003, 1004]::bigint[], 0);
SELECT is((SELECT lines FROM pg_temp.decided), 4, 'dense customer ids: a decision per line');
SELECT is((SELECT right_ones FROM pg_temp.decided), 4, 'dense customer ids: each line applied to its payer''s invoice');

-- the smallest and the largest ids there are: far too sparse for the array
SELECT pg_temp.setup(ARRAY[-9223372036854775807, 9223372036854775807, 2, 5000000000]::bigint[], 4);
SELECT is((SELECT lines FROM pg_temp.decided), 8, 'sparse customer ids: a decision per line');
SELECT is((SELECT right_ones FROM pg_temp.decided), 8, 'sparse customer ids: each line applied to its payer''s invoice');

SELECT * FROM finish();
ROLLBACK;
