-- ---------------------------------------------------------------------------
-- bench/reconcile_speed.sql: data and the straightforward SQL reconciliation
-- for bench/reconcile_speed.sh.  psql variables: invoices, lines, seed.
--
-- The ledger is loaded with the ledger's triggers off (session_replication_role
-- = replica) and its derived columns set as the triggers would set them:
-- half a million invoices through plpgsql triggers would take minutes and
-- measure nothing of the matching.  ar.reconcile() and the SQL version then
-- run with every trigger on, in two copies of that database.
-- ---------------------------------------------------------------------------

SET session_replication_role = replica;
SELECT setseed(:seed);

-- customers: ten invoices each on average, 80 % with an IBAN on file
INSERT INTO ar.customer (id, code, name)
SELECT g, 'S' || lpad(g::text, 7, '0'),
       (ARRAY['Transports', 'Boulangerie', 'Garage', 'Imprimerie', 'Logistik', 'Bau', 'Conseil', 'Négoce'])[1 + g % 8]
       || ' ' || (ARRAY['Martin', 'Durand', 'Müller', 'Rossi', 'García', 'Peeters', 'Smith', 'Lefèvre', 'Dubois', 'Weber'])[1 + (g / 8) % 10]
       || ' ' || g || ' ' || (ARRAY['SARL', 'SAS', 'GmbH', 'SA', 'BV'])[1 + g % 5]
  FROM generate_series(1, :invoices / 10) g;
SELECT setval(pg_get_serial_sequence('ar.customer', 'id'), :invoices / 10);

CREATE TABLE bench.iban_of (customer_id bigint PRIMARY KEY, iban text);
INSERT INTO bench.iban_of
SELECT g, 'FR' || lpad((98 - ((('1' || lpad(g::text, 22, '0') || '152700')::numeric) % 97))::int::text, 2, '0')
          || '1' || lpad(g::text, 22, '0')
  FROM generate_series(1, :invoices / 10) g;
INSERT INTO ar.customer_bank_account (customer_id, iban)
SELECT customer_id, iban::ar.iban FROM bench.iban_of WHERE customer_id % 5 <> 0;

-- open invoices: FA-2026-nnnnnn, a quarter with an ISO 11649 reference
INSERT INTO ar.invoice (id, customer_id, number, issue_date, due_date, amount, open_amount, status, payment_reference)
SELECT g, 1 + (g::bigint * 7919) % (:invoices / 10), 'FA-2026-' || lpad(g::text, 6, '0'),
       DATE '2026-01-01' + g % 80, DATE '2026-01-31' + g % 80, a, a, 'open',
       CASE WHEN g % 4 = 0 THEN ar.make_creditor_ref('FA2026' || lpad(g::text, 6, '0'))::text END
  FROM (SELECT g, round((20 + random() * 5000)::numeric, 2) AS a FROM generate_series(1, :invoices) g) x;
SELECT setval(pg_get_serial_sequence('ar.invoice', 'id'), :invoices);

-- bank lines: how payers pay, on distinct invoices
CREATE TABLE bench.line_plan AS
SELECT n, 1 + ((n::bigint * 104729) % :invoices) AS invoice_id, random() AS r, random() AS r2
  FROM generate_series(1, :lines) n;
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, counterparty_iban, remittance_info,
                                 end_to_end_id, bank_tx_code, status, allocated_amount)
SELECT DATE '2026-04-15',
       CASE WHEN p.r < 0.90 THEN i.amount
            WHEN p.r < 0.94 THEN round(i.amount * 0.5, 2)            -- partial
            WHEN p.r < 0.97 THEN round(i.amount * 0.98, 2)           -- discount
            ELSE round((10 + p.r2 * 900)::numeric, 2) END,           -- unrelated
       CASE WHEN p.r < 0.97 THEN upper(c.name) ELSE 'REMBOURSEMENT DIVERS' END,
       CASE WHEN p.r < 0.97 AND p.r2 < 0.8 THEN b.iban::ar.iban END,
       CASE WHEN p.r < 0.50 THEN 'Facture ' || i.number
            WHEN p.r < 0.60 THEN 'fact ' || lower(replace(i.number, '-', ''))
            WHEN p.r < 0.65 THEN replace(i.number, '-', ' ')
            WHEN p.r < 0.70 THEN 'FA 2026 ' || ltrim(substr(i.number, 9), '0')
            WHEN p.r < 0.75 THEN coalesce(i.payment_reference, i.number)
            WHEN p.r < 0.78 THEN overlay(i.number PLACING substr(i.number, 14, 1) || substr(i.number, 13, 1) FROM 13 FOR 2)
            WHEN p.r < 0.85 THEN 'VIREMENT'
            WHEN p.r < 0.97 THEN 'Paiement ' || i.number
            ELSE 'SUBVENTION DOSSIER ' || (p.n * 13)::text END,
       'NOTPROVIDED', 'PMNT-RCDT-ESCT', 'unmatched', 0
  FROM bench.line_plan p
  JOIN ar.invoice i ON i.id = p.invoice_id
  JOIN ar.customer c ON c.id = i.customer_id
  JOIN bench.iban_of b ON b.customer_id = c.id
 ORDER BY p.n;
RESET session_replication_role;
VACUUM ANALYZE;

-- Two SQL reconciliations to compare with.
--
-- bench.naive_reconcile(sample): the straightforward one, as the issue puts
-- it: join each line on the normalised reference (the invoice number, or
-- its payment reference, found in the normalised remittance text), then on
-- the payer's IBAN and an open invoice of exactly that amount; apply what
-- is unique.  The reference join compares every line with every open
-- invoice, so it is timed on the first `sample` lines.
--
-- bench.sql_reconcile(apply): the same rules, set-based and tuned: the text
-- is cut into tokens which are joined (hash join) on the normalised
-- numbers.  With apply = false it stops after the decisions, to compare
-- with ar.reconcile_preview().
CREATE FUNCTION bench.naive_reconcile(sample integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	applied bigint;
BEGIN
	CREATE TEMP TABLE new_line ON COMMIT DROP AS
	SELECT t.*, upper(regexp_replace(coalesce(t.remittance_info, ''), '[^A-Za-z0-9]', '', 'g')) AS norm
	  FROM ar.bank_transaction t
	 WHERE t.status = 'unmatched' AND t.allocated_amount = 0 AND t.amount > 0
	 ORDER BY t.id LIMIT sample;
	CREATE TEMP TABLE open_invoice ON COMMIT DROP AS
	SELECT i.id, i.customer_id, i.open_amount,
	       upper(regexp_replace(i.number, '[^A-Za-z0-9]', '', 'g')) AS norm_number,
	       upper(regexp_replace(i.payment_reference, '[^A-Za-z0-9]', '', 'g')) AS norm_reference
	  FROM ar.invoice i WHERE i.open_amount > 0;

	CREATE TEMP TABLE decided ON COMMIT DROP AS
	WITH by_ref AS (
		SELECT t.id AS line_id, min(i.id) AS invoice_id, count(*) AS n
		  FROM new_line t
		  JOIN open_invoice i ON strpos(t.norm, i.norm_number) > 0 OR strpos(t.norm, i.norm_reference) > 0
		 GROUP BY t.id
	), by_amount AS (
		SELECT t.id AS line_id, min(i.id) AS invoice_id, count(*) AS n
		  FROM new_line t
		  JOIN ar.customer_bank_account a ON a.iban OPERATOR(ar.=) t.counterparty_iban
		  JOIN open_invoice i ON i.customer_id = a.customer_id AND i.open_amount = t.amount
		 WHERE NOT EXISTS (SELECT 1 FROM by_ref r WHERE r.line_id = t.id)
		 GROUP BY t.id
	)
	SELECT line_id, invoice_id, 'reference' AS method FROM by_ref WHERE n = 1
	UNION ALL
	SELECT line_id, invoice_id, 'amount' FROM by_amount WHERE n = 1;

	INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method, score)
	SELECT DISTINCT ON (i.id) t.company_id, i.id, t.id, least(t.amount, i.open_amount), t.booking_date, d.method, 1
	  FROM decided d JOIN new_line t ON t.id = d.line_id JOIN ar.invoice i ON i.id = d.invoice_id
	 ORDER BY i.id, t.id;
	GET DIAGNOSTICS applied = ROW_COUNT;
	RETURN applied;
END $$;

CREATE FUNCTION bench.sql_reconcile(apply boolean DEFAULT true) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	applied bigint;
BEGIN
	CREATE TEMP TABLE new_line ON COMMIT DROP AS
	SELECT t.* FROM ar.bank_transaction t
	 WHERE t.status = 'unmatched' AND t.allocated_amount = 0 AND t.amount > 0;
	ANALYZE new_line;			-- temporary tables have no statistics otherwise

	-- 1. the normalised reference
	CREATE TEMP TABLE by_ref ON COMMIT DROP AS
	SELECT x.line_id, min(x.invoice_id) AS invoice_id, count(DISTINCT x.invoice_id) AS n
	  FROM (SELECT t.id AS line_id, i.id AS invoice_id
	          FROM new_line t
	         CROSS JOIN LATERAL regexp_matches(t.remittance_info, '[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*', 'g') AS m(tok)
	          JOIN ar.invoice i
	            ON upper(regexp_replace(i.number, '[^A-Za-z0-9]', '', 'g')) = upper(regexp_replace(m.tok[1], '[^A-Za-z0-9]', '', 'g'))
	           AND i.open_amount > 0
	        UNION ALL
	        SELECT t.id, i.id
	          FROM new_line t
	          JOIN ar.invoice i
	            ON upper(regexp_replace(i.payment_reference, '[^A-Za-z0-9]', '', 'g')) = upper(regexp_replace(t.remittance_info, '[^A-Za-z0-9]', '', 'g'))
	           AND i.open_amount > 0) x
	 GROUP BY x.line_id;
	ANALYZE by_ref;

	-- 2. then the payer and the amount
	CREATE TEMP TABLE by_amount ON COMMIT DROP AS
	SELECT t.id AS line_id, min(i.id) AS invoice_id, count(*) AS n
	  FROM new_line t
	  JOIN ar.customer_bank_account a ON a.iban OPERATOR(ar.=) t.counterparty_iban
	  JOIN ar.invoice i ON i.customer_id = a.customer_id AND i.open_amount = t.amount
	 WHERE NOT EXISTS (SELECT 1 FROM by_ref r WHERE r.line_id = t.id)
	 GROUP BY t.id;

	IF NOT apply THEN
		RETURN (SELECT count(*) FROM by_ref WHERE n = 1) + (SELECT count(*) FROM by_amount WHERE n = 1);
	END IF;
	-- one line per invoice (the first), or the ledger would refuse the second
	INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method, score)
	SELECT DISTINCT ON (i.id) t.company_id, i.id, t.id, least(t.amount, i.open_amount), t.booking_date, m.method, 1
	  FROM (SELECT line_id, invoice_id, 'reference' AS method FROM by_ref WHERE n = 1
	        UNION ALL
	        SELECT line_id, invoice_id, 'amount' FROM by_amount WHERE n = 1) m
	  JOIN new_line t ON t.id = m.line_id
	  JOIN ar.invoice i ON i.id = m.invoice_id
	 ORDER BY i.id, t.id;
	GET DIAGNOSTICS applied = ROW_COUNT;
	RETURN applied;
END $$;
