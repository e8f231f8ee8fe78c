-- ---------------------------------------------------------------------------
-- Statement of account (relevé de compte): per customer and period, the
-- opening balance, every movement of the account in date order with the
-- running balance, the closing balance, and the open items on the last day
-- of the period with their ageing; rendered as text and HTML in the
-- customer's language (FR, EN, DE: the fragments are rows of
-- ar.letter_text, keys soa.*), and queued once per customer and period in
-- an outbox of its own (ar.statement_notice, NOTIFY ar_statement).
--
-- What moves the balance of an account (doc/statement-of-account.md):
--   invoices, penalty invoices and credit notes   on their issue date
--   cancellations                                 on cancelled_on
--   payments: the allocations of a bank line      one line per bank line and date
--             a payment recorded without a bank   one line per allocation
--             line (ar.record_payment)
--   payments on account: customer credit born     on its created_on
--             from an overpayment or an unapplied
--             payment; credit granted (manual)
--   write-offs (write_off, shortfall) and         on their date
--   refunds of credit notes
--   refunds and write-offs of customer credit     on their date (ar.credit_release)
-- Setting a credit note or customer credit off against an invoice moves
-- nothing (it is lettering: both items shrink by the same amount) and is no
-- line.  A bank line not matched to the customer is not on its account.
-- An event dated before the item it concerns counts from the item's own
-- date (an invoice is not an open item before its issue date, as the KPI
-- rule of doc/contract.md says), so that the balance on any day is exactly
-- the sum of the open items then, as ar.aging_report(day).net_balance
-- gives it.
--
-- src/upgrade/0.1.0--0.2.0/82_statement_of_account.sql is this piece (a
-- symbolic link).
-- ---------------------------------------------------------------------------

-- The balance movements of a customer's account, every one, dated (the
-- effective date: see above); amount > 0 is a debit (the customer owes
-- more).  Set-offs are summed per currency and day and appear only when
-- they do not cancel out (adjustment).  PL/pgSQL, every table it reads
-- filtered on the customer's company and every join on (x_id, company_id),
-- so that Citus routes its query whole to the company's shard (as SQL,
-- called from ar.statement_of_account's query, it was refused:
-- "parameterized queries for SQL functions referencing distributed tables
-- are not supported"; doc/scale_out.md, blocker 2).
CREATE FUNCTION ar._account_movements(company_id bigint, customer_id bigint)
RETURNS TABLE (currency char(3), entry_date date, kind text, rank integer, document text, detail text,
               due_date date, amount numeric, source text, source_id bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	WITH inv AS (
		SELECT i.*, (pc.penalty_invoice_id IS NOT NULL) AS penalty
		  FROM ar.invoice i
		  LEFT JOIN ar.penalty_claim pc ON pc.penalty_invoice_id = i.id AND pc.company_id = i.company_id
		 WHERE i.company_id = _account_movements.company_id AND i.customer_id = _account_movements.customer_id
	), alloc AS (
		SELECT a.*, i.currency, i.number, greatest(a.allocated_on, i.issue_date) AS d
		  FROM ar.allocation a JOIN inv i ON i.id = a.invoice_id AND i.company_id = a.company_id
		 WHERE a.company_id = _account_movements.company_id
	), cred AS (
		SELECT cc.* FROM ar.customer_credit cc
		 WHERE cc.company_id = _account_movements.company_id AND cc.customer_id = _account_movements.customer_id
	)
	-- invoices, penalty invoices, credit notes
	SELECT i.currency, i.issue_date, CASE WHEN i.penalty THEN 'penalty_invoice' WHEN i.amount < 0 THEN 'credit_note'
	                                      ELSE 'invoice' END,
	       1, i.number, NULL::text, i.due_date, i.amount, 'invoice'::text, i.id
	  FROM inv i
	UNION ALL
	SELECT i.currency, greatest(i.cancelled_on, i.issue_date), 'cancellation', 2, i.number, NULL, NULL, -i.amount,
	       'invoice', i.id
	  FROM inv i WHERE i.cancelled_on IS NOT NULL
	UNION ALL
	-- payments through a bank line: one line per bank line and date
	SELECT a.currency, a.d, 'payment', 3,
	       coalesce(nullif(t.end_to_end_id, 'NOTPROVIDED'), t.bank_reference, t.structured_reference, '#' || t.id),
	       string_agg(DISTINCT a.number, ', '), NULL, -sum(a.amount), 'bank_transaction', t.id
	  FROM alloc a JOIN ar.bank_transaction t ON t.id = a.bank_transaction_id AND t.company_id = a.company_id
	 WHERE a.customer_credit_id IS NULL AND a.method NOT IN ('write_off', 'shortfall', 'credit_note', 'refund')
	   AND t.company_id = _account_movements.company_id
	 GROUP BY a.currency, a.d, t.id, t.company_id
	UNION ALL
	-- payments known outside bank statements, write-offs, refunds of credit notes
	SELECT a.currency, a.d,
	       CASE WHEN a.method IN ('write_off', 'shortfall') THEN 'write_off' WHEN a.method = 'refund' THEN 'refund'
	            ELSE 'payment' END,
	       CASE WHEN a.method IN ('write_off', 'shortfall', 'refund') THEN 5 ELSE 3 END,
	       a.number, CASE WHEN a.method IN ('write_off', 'shortfall', 'refund') THEN a.note
	                      ELSE coalesce(a.payment_means, a.method) END,
	       NULL, -a.amount, 'allocation', a.id
	  FROM alloc a
	 WHERE a.customer_credit_id IS NULL AND a.method <> 'credit_note'
	   AND (a.bank_transaction_id IS NULL OR a.method IN ('write_off', 'shortfall', 'refund'))
	UNION ALL
	-- customer credit: a payment on account (overpayment, unapplied payment) or credit granted
	SELECT c.currency, c.created_on, CASE WHEN c.source = 'manual' THEN 'credit_granted' ELSE 'payment_on_account' END, 3,
	       coalesce(nullif(t.end_to_end_id, 'NOTPROVIDED'), t.bank_reference, t.structured_reference,
	                '#' || t.id, i.number), c.note, NULL, -c.amount, 'customer_credit', c.id
	  FROM cred c
	  LEFT JOIN ar.bank_transaction t ON t.id = c.bank_transaction_id AND t.company_id = c.company_id
	  LEFT JOIN ar.invoice i ON i.id = c.invoice_id AND i.company_id = c.company_id
	UNION ALL
	-- refunds and write-offs of customer credit
	SELECT c.currency, greatest(r.released_on, c.created_on), r.kind, CASE r.kind WHEN 'refund' THEN 5 ELSE 5 END,
	       NULL, r.reason, NULL, r.amount, 'credit_release', r.id
	  FROM cred c JOIN ar.credit_release r ON r.customer_credit_id = c.id AND r.company_id = c.company_id
	 WHERE r.company_id = _account_movements.company_id
	UNION ALL
	-- set-offs (credit notes and customer credit against invoices): nothing, unless they do not cancel out on a day
	SELECT s.currency, s.d, 'adjustment', 4, NULL, NULL, NULL, sum(s.amount), NULL, NULL
	  FROM (SELECT a.currency, a.d, -a.amount AS amount FROM alloc a
	         WHERE a.customer_credit_id IS NOT NULL OR a.method = 'credit_note'
	        UNION ALL
	        SELECT c.currency, greatest(a.allocated_on, c.created_on), a.amount
	          FROM ar.allocation a JOIN cred c ON c.id = a.customer_credit_id AND c.company_id = a.company_id
	         WHERE a.company_id = _account_movements.company_id) s
	 GROUP BY s.currency, s.d
	HAVING sum(s.amount) <> 0;
END $$;
COMMENT ON FUNCTION ar._account_movements(bigint, bigint) IS
	'Every movement of a customer''s balance (company, customer), with its effective date (amount > 0: a debit); what ar.statement_of_account lists.';

-- A customer's open items on a day, as ar.open_items and ar.open_credits
-- state them: invoices and credit notes issued by then with a non-zero open
-- amount then, and customer credit created by then and not yet used,
-- refunded or written off then (negative).  PL/pgSQL, routed as
-- ar._account_movements.
CREATE FUNCTION ar._account_open_items(company_id bigint, customer_id bigint, as_of date)
RETURNS TABLE (currency char(3), kind text, document text, item_date date, due_date date, amount numeric,
               source text, source_id bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
	-- (what was allocated or released after as_of summed by LATERAL
	-- subqueries over the tables: Citus refuses a correlated subquery under a
	-- FROM-less one, "correlated subqueries are not supported when the FROM
	-- clause contains a subquery without FROM")
	RETURN QUERY
	SELECT o.currency, o.kind, o.number, o.issue_date, o.due_date, o.open_amount, 'invoice'::text, o.id
	  FROM (SELECT i.currency, i.number, i.issue_date, i.due_date, i.id,
	               CASE WHEN EXISTS (SELECT 1 FROM ar.penalty_claim pc
	                                  WHERE pc.penalty_invoice_id = i.id AND pc.company_id = i.company_id)
	                    THEN 'penalty_invoice' WHEN i.amount < 0 THEN 'credit_note' ELSE 'invoice' END AS kind,
	               CASE WHEN i.cancelled_on IS NOT NULL AND i.cancelled_on > _account_open_items.as_of THEN i.amount
	                    WHEN i.cancelled_on IS NOT NULL THEN 0
	                    ELSE i.open_amount + coalesce(later.amount, 0) END AS open_amount
	          FROM ar.invoice i
	          LEFT JOIN LATERAL (SELECT sum(a.amount) AS amount FROM ar.allocation a
	                              WHERE a.invoice_id = i.id AND a.company_id = i.company_id
	                                AND a.allocated_on > _account_open_items.as_of) later ON true
	         WHERE i.company_id = _account_open_items.company_id AND i.customer_id = _account_open_items.customer_id
	           AND i.issue_date <= _account_open_items.as_of) o
	 WHERE o.open_amount <> 0
	UNION ALL
	SELECT o.currency, 'customer_credit', NULL, o.created_on, NULL, -o.available, 'customer_credit', o.id
	  FROM (SELECT c.currency, c.created_on, c.id, c.remaining + coalesce(la.amount, 0) + coalesce(lr.amount, 0) AS available
	          FROM ar.customer_credit c
	          LEFT JOIN LATERAL (SELECT sum(a.amount) AS amount FROM ar.allocation a
	                              WHERE a.customer_credit_id = c.id AND a.company_id = c.company_id
	                                AND a.allocated_on > _account_open_items.as_of) la ON true
	          LEFT JOIN LATERAL (SELECT sum(r.amount) AS amount FROM ar.credit_release r
	                              WHERE r.customer_credit_id = c.id AND r.company_id = c.company_id
	                                AND r.released_on > _account_open_items.as_of) lr ON true
	         WHERE c.company_id = _account_open_items.company_id AND c.customer_id = _account_open_items.customer_id
	           AND c.created_on <= _account_open_items.as_of) o
	 WHERE o.available <> 0;
END $$;

-- The language a statement is written in: the one asked, else the
-- customer's; two lower-case letters.
CREATE FUNCTION ar._statement_language(customer_id bigint, language text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	lang text := lower(btrim(coalesce(language, (SELECT c.language FROM ar.customer c WHERE c.id = customer_id))));
BEGIN
	IF lang IS NULL OR lang !~ '^[a-z]{2}([-_][a-z0-9]+)?$' THEN
		RAISE EXCEPTION 'language "%" is not a language code', coalesce(language, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Two letters (ISO 639-1), e.g. fr, en, de.';
	END IF;
	RETURN left(lang, 2);
END $$;

CREATE FUNCTION ar.statement_of_account(customer_id bigint, from_date date, to_date date, language text DEFAULT NULL)
RETURNS TABLE (line_no integer, currency char(3), section text, kind text, entry_date date, document text,
               description text, detail text, due_date date, amount numeric, debit numeric, credit numeric,
               balance numeric, days_past_due integer, source text, source_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	cust ar.customer;
	lang text;
	company_currency char(3);
BEGIN
	SELECT * INTO cust FROM ar.customer c WHERE c.id = statement_of_account.customer_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(customer_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(cust.company_id, 'reader');
	IF from_date IS NULL OR to_date IS NULL OR NOT isfinite(from_date) OR NOT isfinite(to_date) THEN
		RAISE EXCEPTION 'a statement of account covers finite dates, not % to %',
			coalesce(from_date::text, 'NULL'), coalesce(to_date::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._check_date('ar.statement_of_account: from_date', from_date),
	        ar._check_date('ar.statement_of_account: to_date', to_date);
	IF from_date > to_date THEN
		RAISE EXCEPTION 'a statement of account from % to % ends before it starts', from_date, to_date
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	lang := ar._statement_language(cust.id, language);
	-- read apart: the statement's query below names no table of the ledger, its
	-- functions' queries do (each routed to the company's shard on Citus)
	SELECT co.currency INTO company_currency FROM ar.company co WHERE co.id = cust.company_id;
	RETURN QUERY
	WITH mv AS (
		SELECT m.* FROM ar._account_movements(cust.company_id, cust.id) m WHERE m.entry_date <= to_date
	), oi AS (
		SELECT o.*, to_date - o.due_date AS late,
		       coalesce(ar.aging_bucket(to_date - o.due_date), 'unapplied_credit') AS bucket
		  FROM ar._account_open_items(cust.company_id, cust.id, to_date) o
	), cur AS (
		SELECT DISTINCT x.currency FROM (SELECT m.currency FROM mv m UNION ALL SELECT o.currency FROM oi o) x
		UNION
		-- an account without any movement yet: its balance, nil, in the company's currency
		SELECT company_currency WHERE NOT EXISTS (SELECT 1 FROM mv) AND NOT EXISTS (SELECT 1 FROM oi)
	), opening AS (
		SELECT c.currency, coalesce((SELECT sum(m.amount) FROM mv m WHERE m.currency = c.currency
		                                                             AND m.entry_date < from_date), 0) AS amount
		  FROM cur c
	), lines AS (
		-- opening balance
		SELECT o.currency, 1 AS sec, 0::bigint AS ord, 'opening' AS section, 'opening_balance' AS kind, from_date AS d,
		       NULL::text AS document, NULL::text AS detail, NULL::date AS due, o.amount, o.amount AS balance,
		       NULL::integer AS late, NULL::text AS source, NULL::bigint AS source_id
		  FROM opening o
		UNION ALL
		-- movements with the running balance
		SELECT m.currency, 2, row_number() OVER w, 'movement', m.kind, m.entry_date, m.document, m.detail, m.due_date,
		       m.amount, o.amount + sum(m.amount) OVER w, NULL, m.source, m.source_id
		  FROM mv m JOIN opening o ON o.currency = m.currency
		 WHERE m.entry_date >= from_date
		WINDOW w AS (PARTITION BY m.currency ORDER BY m.entry_date, m.rank, m.document, m.source, m.source_id
		             ROWS UNBOUNDED PRECEDING)
		UNION ALL
		-- closing balance
		SELECT o.currency, 3, 0, 'closing', 'closing_balance', to_date, NULL, NULL, NULL,
		       o.amount + coalesce((SELECT sum(m.amount) FROM mv m WHERE m.currency = o.currency
		                                                            AND m.entry_date >= from_date), 0),
		       o.amount + coalesce((SELECT sum(m.amount) FROM mv m WHERE m.currency = o.currency
		                                                            AND m.entry_date >= from_date), 0),
		       NULL, NULL, NULL
		  FROM opening o
		UNION ALL
		-- the open items on to_date, oldest due first (customer credit last)
		SELECT o.currency, 4, row_number() OVER (PARTITION BY o.currency ORDER BY o.due_date NULLS LAST, o.item_date,
		                                                                         o.document, o.source_id),
		       'open_item', o.kind, o.item_date, o.document, NULL, o.due_date, o.amount,
		       sum(o.amount) OVER (PARTITION BY o.currency ORDER BY o.due_date NULLS LAST, o.item_date, o.document,
		                                                            o.source_id ROWS UNBOUNDED PRECEDING),
		       o.late, o.source, o.source_id
		  FROM oi o
		UNION ALL
		-- their ageing on to_date, and the total (= the closing balance)
		SELECT c.currency, 5, b.n, 'ageing', b.bucket, to_date, NULL, NULL, NULL,
		       coalesce((SELECT sum(o.amount) FROM oi o WHERE o.currency = c.currency
		                                                  AND (o.bucket = b.bucket OR b.bucket = 'total')), 0),
		       NULL, NULL, NULL, NULL
		  FROM cur c
		 CROSS JOIN (VALUES (1, 'not_due'), (2, 'd1_30'), (3, 'd31_60'), (4, 'd61_90'), (5, 'd91_plus'),
		                    (6, 'unapplied_credit'), (7, 'total')) b(n, bucket)
	)
	SELECT (row_number() OVER (ORDER BY l.currency, l.sec, l.ord))::integer, l.currency, l.section, l.kind, l.d,
	       l.document, ar.letter_text('soa.kind.' || l.kind, lang), l.detail, l.due, l.amount,
	       CASE WHEN l.section = 'movement' AND l.amount > 0 THEN l.amount END,
	       CASE WHEN l.section = 'movement' AND l.amount < 0 THEN -l.amount END,
	       l.balance, l.late, l.source, l.source_id
	  FROM lines l
	 ORDER BY l.currency, l.sec, l.ord;
END $$;
COMMENT ON FUNCTION ar.statement_of_account(bigint, date, date, text) IS
	'Statement of account of a customer from from_date to to_date, per currency: the opening balance (section opening), every movement in date order with the running balance (movement: invoices, penalty invoices, credit notes, cancellations, payments, payments on account, write-offs, refunds), the closing balance (closing), the open items on to_date (open_item) and their ageing (ageing, whose total is the closing balance). description is in the language (default: the customer''s).';

-- ------------------------------------------------------------- rendering

-- A statement's amount in a table cell (empty for NULL).
CREATE FUNCTION ar._soa_money(amount numeric, currency text, language text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT coalesce(ar.format_money(amount, currency, language), '')
$$;

-- A date in a table cell: the short form of the language (soa.date_format).
CREATE FUNCTION ar._soa_date(d date, language text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce(to_char(d, ar.letter_text('soa.date_format', language)), '')
$$;

-- What a statement prints about its account before the tables: title,
-- customer, period; and the sentence under the closing balance.  PL/pgSQL:
-- the customer read by a statement of its own (as SQL, inlined into its
-- caller's query after Citus planned it, it read the coordinator's own,
-- empty, ar.customer: doc/scale_out.md blocker 2).
CREATE FUNCTION ar._soa_heading(customer_id bigint, from_date date, to_date date, language text)
RETURNS TABLE (title text, customer_line text, period_line text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c record;
BEGIN
	SELECT cu.code, cu.name INTO c FROM ar.customer cu WHERE cu.id = _soa_heading.customer_id;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	title := ar.letter_text('soa.title', _soa_heading.language);
	customer_line := ar.render_template(ar.letter_text('soa.customer', _soa_heading.language), ARRAY['code', 'name'],
	                                    ARRAY[c.code, c.name]);
	period_line := ar.render_template(ar.letter_text('soa.period', _soa_heading.language), ARRAY['from', 'to'],
	                                  ARRAY[ar.format_date(from_date, _soa_heading.language),
	                                        ar.format_date(to_date, _soa_heading.language)]);
	RETURN NEXT;
END $$;

CREATE FUNCTION ar._soa_conclusion(closing numeric, currency text, to_date date, language text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT ar.render_template(ar.letter_text(CASE WHEN closing > 0 THEN 'soa.owed' WHEN closing < 0 THEN 'soa.credit'
	                                              ELSE 'soa.settled' END, language),
	                          ARRAY['amount', 'date'],
	                          ARRAY[ar.format_money(abs(closing), currency, language), ar.format_date(to_date, language)])
$$;

-- Plain text, fixed-width columns.
CREATE FUNCTION ar.statement_of_account_text(customer_id bigint, from_date date, to_date date, language text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	lang text;
	cust ar.customer;
	h record;
	cur record;
	r record;
	out text[] := '{}';
	L text := E'\n';
BEGIN
	-- checks the caller's access, the dates and the language first
	PERFORM 1 FROM ar.statement_of_account(customer_id, from_date, to_date, language) LIMIT 1;
	SELECT * INTO cust FROM ar.customer c WHERE c.id = statement_of_account_text.customer_id;
	lang := ar._statement_language(cust.id, language);
	SELECT * INTO h FROM ar._soa_heading(cust.id, from_date, to_date, lang);
	out := out || coalesce(ar.letter_sender(cust.company_id, lang), '')
	           || coalesce(ar.letter_recipient(cust.id, lang), '')
	           || (h.title || L || h.customer_line || L || h.period_line);
	FOR cur IN SELECT DISTINCT s.currency FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s ORDER BY 1 LOOP
		out := out || (ar.letter_text('soa.currency', lang) || ' ' || cur.currency || L
		               || rpad(ar.letter_text('soa.col.date', lang), 11) || rpad(ar.letter_text('soa.col.document', lang), 21)
		               || rpad(ar.letter_text('soa.col.description', lang), 27)
		               || lpad(ar.letter_text('soa.col.debit', lang), 17) || lpad(ar.letter_text('soa.col.credit', lang), 17)
		               || lpad(ar.letter_text('soa.col.balance', lang), 17) || L
		               || (SELECT string_agg(rpad(ar._soa_date(s.entry_date, lang), 11)
		                                 || rpad(left(coalesce(s.document, ''), 20), 21)
		                                 || rpad(left(s.description, 26), 27)
		                                 || lpad(ar._soa_money(s.debit, s.currency, lang), 17)
		                                 || lpad(ar._soa_money(s.credit, s.currency, lang), 17)
		                                 || lpad(ar._soa_money(s.balance, s.currency, lang), 17), L ORDER BY s.line_no)
		                 FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s
		                WHERE s.currency = cur.currency AND s.section IN ('opening', 'movement', 'closing')));
		SELECT * INTO r FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s
		 WHERE s.currency = cur.currency AND s.section = 'closing';
		out := out || ar._soa_conclusion(r.balance, cur.currency, to_date, lang);
		out := out || (ar.render_template(ar.letter_text('soa.open_items', lang), ARRAY['date'],
		                                  ARRAY[ar.format_date(to_date, lang)]) || L
		               || coalesce((SELECT string_agg(rpad(coalesce(s.document, ''), 21) || rpad(left(s.description, 29), 30)
		                                              || rpad(ar._soa_date(s.entry_date, lang), 11)
		                                              || rpad(ar._soa_date(s.due_date, lang), 11)
		                                              || lpad(coalesce(s.days_past_due::text, ''), 6)
		                                              || lpad(ar._soa_money(s.amount, s.currency, lang), 17), L
		                                              ORDER BY s.line_no)
		                              FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s
		                             WHERE s.currency = cur.currency AND s.section = 'open_item'),
		                           ar.letter_text('soa.no_open_items', lang)));
		out := out || (ar.letter_text('soa.ageing', lang) || L
		               || (SELECT string_agg(rpad(s.description, 30) || lpad(ar._soa_money(s.amount, s.currency, lang), 17),
		                                     L ORDER BY s.line_no)
		                     FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s
		                    WHERE s.currency = cur.currency AND s.section = 'ageing'));
	END LOOP;
	out := out || coalesce(ar.letter_legal_mentions(cust.company_id, lang), '');
	RETURN array_to_string(array_remove(out, ''), L || L) || L;
END $$;
COMMENT ON FUNCTION ar.statement_of_account_text(bigint, date, date, text) IS
	'The statement of account as plain text: letterhead, customer address, movements with running balance, closing balance, open items and their ageing, legal mentions; in the language (default: the customer''s).';

-- HTML (one document, every value escaped).
CREATE FUNCTION ar.statement_of_account_html(customer_id bigint, from_date date, to_date date, language text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	lang text;
	cust ar.customer;
	h record;
	cur record;
	r record;
	out text;
	L text := E'\n';
BEGIN
	PERFORM 1 FROM ar.statement_of_account(customer_id, from_date, to_date, language) LIMIT 1;
	SELECT * INTO cust FROM ar.customer c WHERE c.id = statement_of_account_html.customer_id;
	lang := ar._statement_language(cust.id, language);
	SELECT * INTO h FROM ar._soa_heading(cust.id, from_date, to_date, lang);
	out := '<!DOCTYPE html>' || L || '<html lang="' || ar.html_escape(lang) || '">' || L
	       || '<head><meta charset="utf-8"><title>' || ar.html_escape(h.title || ' - ' || cust.code) || '</title></head>' || L
	       || '<body>' || L
	       || '<address class="sender">' || replace(ar.html_escape(coalesce(ar.letter_sender(cust.company_id, lang), '')), L, '<br>')
	       || '</address>' || L
	       || '<address class="recipient">' || replace(ar.html_escape(coalesce(ar.letter_recipient(cust.id, lang), '')), L, '<br>')
	       || '</address>' || L
	       || '<h1>' || ar.html_escape(h.title) || '</h1>' || L
	       || '<p>' || ar.html_escape(h.customer_line) || '<br>' || ar.html_escape(h.period_line) || '</p>' || L;
	FOR cur IN SELECT DISTINCT s.currency FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s ORDER BY 1 LOOP
		out := out || '<h2>' || ar.html_escape(ar.letter_text('soa.currency', lang) || ' ' || cur.currency) || '</h2>' || L
		       || '<table class="movements">' || L || '<tr><th>' || ar.html_escape(ar.letter_text('soa.col.date', lang))
		       || '</th><th>' || ar.html_escape(ar.letter_text('soa.col.document', lang))
		       || '</th><th>' || ar.html_escape(ar.letter_text('soa.col.description', lang))
		       || '</th><th>' || ar.html_escape(ar.letter_text('soa.col.debit', lang))
		       || '</th><th>' || ar.html_escape(ar.letter_text('soa.col.credit', lang))
		       || '</th><th>' || ar.html_escape(ar.letter_text('soa.col.balance', lang)) || '</th></tr>' || L
		       || (SELECT string_agg('<tr class="' || s.section || '"><td>' || ar.html_escape(ar._soa_date(s.entry_date, lang))
		                             || '</td><td>' || ar.html_escape(coalesce(s.document, ''))
		                             || '</td><td>' || ar.html_escape(s.description)
		                             || coalesce(' <small>' || ar.html_escape(s.detail) || '</small>', '')
		                             || '</td><td class="amount">' || ar.html_escape(ar._soa_money(s.debit, s.currency, lang))
		                             || '</td><td class="amount">' || ar.html_escape(ar._soa_money(s.credit, s.currency, lang))
		                             || '</td><td class="amount">' || ar.html_escape(ar._soa_money(s.balance, s.currency, lang))
		                             || '</td></tr>', L ORDER BY s.line_no)
		             FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s
		            WHERE s.currency = cur.currency AND s.section IN ('opening', 'movement', 'closing'))
		       || L || '</table>' || L;
		SELECT * INTO r FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s
		 WHERE s.currency = cur.currency AND s.section = 'closing';
		out := out || '<p class="conclusion">' || ar.html_escape(ar._soa_conclusion(r.balance, cur.currency, to_date, lang))
		       || '</p>' || L
		       || '<h3>' || ar.html_escape(ar.render_template(ar.letter_text('soa.open_items', lang), ARRAY['date'],
		                                                      ARRAY[ar.format_date(to_date, lang)])) || '</h3>' || L
		       || coalesce('<table class="open-items">' || L
		                   || (SELECT string_agg('<tr><td>' || ar.html_escape(coalesce(s.document, ''))
		                                         || '</td><td>' || ar.html_escape(s.description)
		                                         || '</td><td>' || ar.html_escape(ar._soa_date(s.entry_date, lang))
		                                         || '</td><td>' || ar.html_escape(ar._soa_date(s.due_date, lang))
		                                         || '</td><td class="amount">' || coalesce(s.days_past_due::text, '')
		                                         || '</td><td class="amount">' || ar.html_escape(ar._soa_money(s.amount, s.currency, lang))
		                                         || '</td></tr>', L ORDER BY s.line_no)
		                         FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s
		                        WHERE s.currency = cur.currency AND s.section = 'open_item')
		                   || L || '</table>' || L,
		                   '<p>' || ar.html_escape(ar.letter_text('soa.no_open_items', lang)) || '</p>' || L)
		       || '<h3>' || ar.html_escape(ar.letter_text('soa.ageing', lang)) || '</h3>' || L
		       || '<table class="ageing">' || L
		       || (SELECT string_agg('<tr><td>' || ar.html_escape(s.description) || '</td><td class="amount">'
		                             || ar.html_escape(ar._soa_money(s.amount, s.currency, lang)) || '</td></tr>', L
		                             ORDER BY s.line_no)
		             FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s
		            WHERE s.currency = cur.currency AND s.section = 'ageing')
		       || L || '</table>' || L;
	END LOOP;
	out := out || '<footer>' || ar.html_escape(coalesce(ar.letter_legal_mentions(cust.company_id, lang), '')) || '</footer>' || L
	       || '</body>' || L || '</html>' || L;
	RETURN out;
END $$;
COMMENT ON FUNCTION ar.statement_of_account_html(bigint, date, date, text) IS
	'The statement of account as an HTML document (every value escaped): letterhead, customer address, movements with running balance, closing balance, open items and their ageing, legal mentions; in the language (default: the customer''s).';

-- ----------------------------------------------------------------- outbox

-- Statements queued for sending: one per customer and period (unless it
-- failed or was cancelled), rendered at queue time; the sender reads the
-- queued ones (or LISTENs to ar_statement, which carries the id) and reports
-- delivery with ar.mark_statement_notice, as for dunning notices.
CREATE TABLE ar.statement_notice (
	id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id     bigint NOT NULL,
	customer_id    bigint NOT NULL,
	from_date      date NOT NULL,
	to_date        date NOT NULL,
	language       text NOT NULL,
	channel        text NOT NULL CHECK (channel IN ('email', 'letter')),
	recipient      text,
	subject        text NOT NULL,
	body           text NOT NULL,
	body_html      text NOT NULL,
	closing_balances jsonb NOT NULL,
	status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
	created_at     timestamptz NOT NULL DEFAULT now(),
	created_by     text NOT NULL DEFAULT session_user,
	status_at      timestamptz,
	provider_ref   text,
	status_detail  text,
	FOREIGN KEY (company_id, customer_id) REFERENCES ar.customer (company_id, id),
	CONSTRAINT statement_notice_period CHECK (from_date <= to_date)
);
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
	('statement_notice', 'from_date', 'date', NULL),
	('statement_notice', 'to_date', 'date', NULL),
	('statement_notice', 'subject', 'header_text', 300);
CREATE UNIQUE INDEX statement_notice_once_per_period ON ar.statement_notice (customer_id, from_date, to_date)
	WHERE status IN ('queued', 'sent');
CREATE INDEX statement_notice_queued ON ar.statement_notice (id) WHERE status = 'queued';
COMMENT ON TABLE ar.statement_notice IS 'Statements of account queued for sending (ar.queue_statement_of_account): one per customer and period that is not failed or cancelled; the sender reports delivery with ar.mark_statement_notice().';
COMMENT ON COLUMN ar.statement_notice.company_id IS 'Company sending it.';
COMMENT ON COLUMN ar.statement_notice.customer_id IS 'Customer it goes to.';
COMMENT ON COLUMN ar.statement_notice.from_date IS 'First day of the period.';
COMMENT ON COLUMN ar.statement_notice.to_date IS 'Last day of the period (the open items and their ageing are those of that day).';
COMMENT ON COLUMN ar.statement_notice.language IS 'Language it is written in (the customer''s).';
COMMENT ON COLUMN ar.statement_notice.channel IS 'email when the customer has an e-mail address, else letter.';
COMMENT ON COLUMN ar.statement_notice.recipient IS 'E-mail address (NULL for a letter: the address is in the body).';
COMMENT ON COLUMN ar.statement_notice.subject IS 'Subject of the message.';
COMMENT ON COLUMN ar.statement_notice.body IS 'The statement as text (ar.statement_of_account_text).';
COMMENT ON COLUMN ar.statement_notice.body_html IS 'The statement as HTML (ar.statement_of_account_html).';
COMMENT ON COLUMN ar.statement_notice.closing_balances IS 'Closing balance per currency, e.g. {"EUR": 1234.56}.';
COMMENT ON COLUMN ar.statement_notice.status IS 'queued, sent, failed or cancelled (queued -> sent, failed or cancelled; sent -> failed).';
COMMENT ON COLUMN ar.statement_notice.created_at IS 'When it was queued.';
COMMENT ON COLUMN ar.statement_notice.created_by IS 'Who queued it (session user).';
COMMENT ON COLUMN ar.statement_notice.status_at IS 'When its status last changed.';
COMMENT ON COLUMN ar.statement_notice.provider_ref IS 'Reference of the sender (message id, letter number).';
COMMENT ON COLUMN ar.statement_notice.status_detail IS 'Why it failed or was cancelled.';

-- Only the delivery columns change, along the paths of ar.dunning_notice
-- (and the personal data, inside ar.anonymise_customer).
CREATE FUNCTION ar._statement_notice_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'statement notice % cannot be deleted', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'Mark it cancelled with ar.mark_statement_notice().';
	END IF;
	IF NEW.status IS NOT DISTINCT FROM OLD.status AND ar._gdpr_redacting(TG_RELID) THEN
		RETURN NEW;  -- ar.anonymise_customer (doc/gdpr.md)
	END IF;
	IF (to_jsonb(NEW) - '{status,status_at,provider_ref,status_detail}'::text[])
	   IS DISTINCT FROM (to_jsonb(OLD) - '{status,status_at,provider_ref,status_detail}'::text[]) THEN
		RAISE EXCEPTION 'statement notice % cannot be changed', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Only its status, provider_ref and status_detail change, through ar.mark_statement_notice().';
	END IF;
	IF NEW.status IS DISTINCT FROM OLD.status THEN
		IF (OLD.status, NEW.status) NOT IN (('queued', 'sent'), ('queued', 'failed'), ('queued', 'cancelled'),
		                                    ('sent', 'failed')) THEN
			RAISE EXCEPTION 'statement notice % cannot go from % to %', OLD.id, OLD.status, NEW.status
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'queued -> sent, failed or cancelled; sent -> failed.';
		END IF;
		NEW.status_at := now();
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER statement_notice_guard BEFORE UPDATE OR DELETE ON ar.statement_notice
	FOR EACH ROW EXECUTE FUNCTION ar._statement_notice_guard();
CREATE TRIGGER statement_notice_audit AFTER INSERT OR UPDATE OR DELETE ON ar.statement_notice
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER statement_notice_no_truncate BEFORE TRUNCATE ON ar.statement_notice
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- Queues the statement of a customer and period once: a second call for the
-- same customer and period returns the notice already queued or sent.
CREATE FUNCTION ar.queue_statement_of_account(customer_id bigint, from_date date, to_date date)
RETURNS ar.statement_notice
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	cust ar.customer;
	n ar.statement_notice;
	lang text;
BEGIN
	SELECT * INTO cust FROM ar.customer c WHERE c.id = queue_statement_of_account.customer_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(customer_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(cust.company_id, 'collector');
	-- one at a time per customer: the customer row is the lock
	PERFORM 1 FROM ar.customer c WHERE c.company_id = cust.company_id AND c.id = cust.id FOR UPDATE;
	SELECT * INTO n FROM ar.statement_notice s
	 WHERE s.company_id = cust.company_id AND s.customer_id = cust.id AND s.from_date = queue_statement_of_account.from_date
	   AND s.to_date = queue_statement_of_account.to_date AND s.status IN ('queued', 'sent');
	IF FOUND THEN
		RETURN n;
	END IF;
	lang := ar._statement_language(cust.id, NULL);
	INSERT INTO ar.statement_notice (company_id, customer_id, from_date, to_date, language, channel, recipient, subject,
	                                 body, body_html, closing_balances)
	SELECT cust.company_id, cust.id, from_date, to_date, lang, CASE WHEN cust.email IS NULL THEN 'letter' ELSE 'email' END,
	       cust.email,
	       ar.render_template(ar.letter_text('soa.subject', lang), ARRAY['date', 'code', 'company'],
	                          ARRAY[ar.format_date(to_date, lang), cust.code,
	                                (SELECT coalesce(co.legal_name, co.name) FROM ar.company co WHERE co.id = cust.company_id)]),
	       ar.statement_of_account_text(cust.id, from_date, to_date, lang),
	       ar.statement_of_account_html(cust.id, from_date, to_date, lang),
	       (SELECT jsonb_object_agg(s.currency, s.balance ORDER BY s.currency)
	          FROM ar.statement_of_account(cust.id, from_date, to_date, lang) s WHERE s.section = 'closing')
	RETURNING * INTO n;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, channel, summary, detail)
	VALUES (cust.company_id, cust.id, to_date, 'statement_queued', 'outbound', n.channel,
	        format('Statement of account %s to %s queued (%s)', to_char(from_date, 'YYYY-MM-DD'), to_char(to_date, 'YYYY-MM-DD'), n.channel), n.subject);
	PERFORM pg_notify('ar_statement', n.id::text);
	RETURN n;
END $$;
COMMENT ON FUNCTION ar.queue_statement_of_account(bigint, date, date) IS
	'Queues the statement of account of the customer for the period in ar.statement_notice (text and HTML, in the customer''s language; e-mail when it has an address, else letter), logs it and NOTIFYs ar_statement with its id. Once per customer and period: a second call returns the notice already queued or sent.';

-- What the sender reports (as ar.mark_notice for dunning notices).
CREATE FUNCTION ar.mark_statement_notice(notice_id bigint, status text, provider_ref text DEFAULT NULL,
                                         detail text DEFAULT NULL)
RETURNS ar.statement_notice
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	n ar.statement_notice;
	company bigint;
BEGIN
	IF status IS NULL OR status NOT IN ('sent', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'a statement notice is marked sent, failed or cancelled, not %', coalesce('"' || status || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF status = 'failed' AND coalesce(btrim(detail), '') = '' THEN
		RAISE EXCEPTION 'a failed delivery needs its reason in detail' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._check_header_text('ar.mark_statement_notice: provider_ref', provider_ref, 200);
	-- the company read first, the lock naming it (routed to its shard on
	-- Citus, doc/scale_out.md blocker 5)
	SELECT s.company_id INTO company FROM ar.statement_notice s WHERE s.id = mark_statement_notice.notice_id;
	IF FOUND THEN
		PERFORM ar._require_company(company, 'collector');
	END IF;
	SELECT * INTO n FROM ar.statement_notice s WHERE s.company_id = company AND s.id = mark_statement_notice.notice_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'statement notice % does not exist', coalesce(notice_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	-- the same status again changes nothing; with another proof or reason
	-- it is refused (the communications log keeps the first report)
	IF n.status = mark_statement_notice.status THEN
		PERFORM ar._check_report_again('statement notice', n.id, n.status, n.provider_ref, mark_statement_notice.provider_ref,
		                               n.status_detail, mark_statement_notice.detail,
		                               'Two senders delivered it? Run one sender of statements (doc/statement-of-account.md).');
		RETURN n;
	END IF;
	UPDATE ar.statement_notice s
	   SET status = mark_statement_notice.status,
	       provider_ref = coalesce(mark_statement_notice.provider_ref, s.provider_ref),
	       status_detail = coalesce(mark_statement_notice.detail, s.status_detail)
	 WHERE s.company_id = n.company_id AND s.id = n.id
	RETURNING * INTO n;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, channel, summary, detail, proof_ref)
	VALUES (n.company_id, n.customer_id, n.to_date, 'statement_' || n.status, 'outbound', n.channel,
	        format('Statement of account %s to %s %s (%s)', to_char(n.from_date, 'YYYY-MM-DD'), to_char(n.to_date, 'YYYY-MM-DD'),
	               CASE n.status WHEN 'failed' THEN 'not delivered' ELSE n.status END, n.channel),
	        n.status_detail, n.provider_ref);
	RETURN n;
END $$;
COMMENT ON FUNCTION ar.mark_statement_notice(bigint, text, text, text) IS
	'What the sender of statements reports: sent (with its reference), failed (with the reason) or cancelled; logged in the communications log. The same status again changes nothing; with another reference or reason it is refused (55000). A failed or cancelled statement may be queued again.';

-- (the texts, keys soa.*: 84_letter_texts.sql, with the other shipped texts, so
-- that they are not audited as changes of the user's)

-- ----------------------------------------------------------------- grants

REVOKE ALL ON FUNCTION ar._account_movements(bigint, bigint), ar._account_open_items(bigint, bigint, date),
                       ar._statement_language(bigint, text),
                       ar.statement_of_account(bigint, date, date, text), ar._soa_date(date, text),
                       ar._soa_heading(bigint, date, date, text), ar._soa_conclusion(numeric, text, date, text),
                       ar.statement_of_account_text(bigint, date, date, text),
                       ar.statement_of_account_html(bigint, date, date, text), ar._statement_notice_guard(),
                       ar.queue_statement_of_account(bigint, date, date),
                       ar.mark_statement_notice(bigint, text, text, text)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._soa_money(numeric, text, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION ar.statement_of_account(bigint, date, date, text),
                          ar.statement_of_account_text(bigint, date, date, text),
                          ar.statement_of_account_html(bigint, date, date, text),
                          ar._statement_language(bigint, text), ar._soa_date(date, text),
                          ar._soa_heading(bigint, date, date, text), ar._soa_conclusion(numeric, text, date, text)
	TO ar_reader;
GRANT SELECT ON ar.statement_notice TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.queue_statement_of_account(bigint, date, date),
                          ar.mark_statement_notice(bigint, text, text, text)
	TO ar_collector;
SELECT pg_catalog.pg_extension_config_dump('ar.statement_notice', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.statement_notice', 'id')::regclass, '');
