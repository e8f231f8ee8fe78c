-- 0.2.0 (issue 13): camt.054 entries without a booking or value date are
-- dated by the notification's creation date (src/camt.c, no schema
-- change); a camt.053 statement without both balances in the account's
-- currency is refused when strict, else stored flagged with the reason.
ALTER TABLE ar.bank_statement ADD COLUMN unbalanced_reason text;
COMMENT ON COLUMN ar.bank_statement.unbalanced_reason IS 'Why balanced is false (a statement imported with strict => false): the difference, the totals that disagree, or a balance missing or in another currency than the account.';

CREATE OR REPLACE FUNCTION ar.import_statement(content text, format text DEFAULT NULL, strict boolean DEFAULT true)
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp
AS $$
DECLARE
	parsed ar.parsed_statement_row[];
	st record;
	h ar.parsed_statement_row;
	ref text;
	account text;
	company bigint;
	digest bytea;
	balanced boolean;
	difference numeric;
	problem text;
	reason text;
	sid bigint;
	new_nos integer[] := '{}';
	new_ids bigint[] := '{}';
	all_ids bigint[] := '{}';
	dup record;
BEGIN
	IF content IS NULL THEN
		RAISE EXCEPTION 'the statement content is NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	parsed := ARRAY(SELECT p FROM ar.parse_statement(content, format) p);

	-- CSV rows of one account and statement reference form one statement
	-- whatever their order; two such groups from other files are kept apart
	-- by their content.
	FOR st IN
		WITH p AS (SELECT * FROM unnest(parsed)),
		     l AS (SELECT p.statement_no,
		                  sum(p.amount) AS movements,
		                  count(*) FILTER (WHERE p.amount <> 0) AS stored_lines,
		                  sum(p.amount) FILTER (WHERE p.amount > 0) AS credits,
		                  sum(p.amount) FILTER (WHERE p.amount < 0) AS debits,
		                  min(p.booking_date) AS first_date, max(p.booking_date) AS last_date,
		                  jsonb_agg(to_jsonb(p) - ARRAY['statement_no', 'source_line', 'raw'] ORDER BY p.line_no) AS lines
		             FROM p WHERE p.line_no IS NOT NULL GROUP BY p.statement_no)
		SELECT s AS header, l.movements, coalesce(l.stored_lines, 0) AS stored_lines,
		       coalesce(l.credits, 0) AS credits, coalesce(l.debits, 0) AS debits,
		       l.first_date, l.last_date, l.lines
		  FROM p s LEFT JOIN l USING (statement_no)
		 WHERE s.line_no IS NULL
		 ORDER BY s.statement_no
	LOOP
		h := st.header;
		-- what the parser leaves NULL in a fragment, a statement must have
		IF h.account IS NULL OR h.currency IS NULL
		   OR (h.format = 'mt940' AND (h.opening_balance IS NULL OR h.closing_balance IS NULL)) THEN
			RAISE EXCEPTION 'malformed % statement at line %: %', upper(h.format), h.source_line,
				CASE WHEN h.account IS NULL THEN 'the statement has no account identification (:25:)'
				     WHEN h.currency IS NULL THEN 'the statement states no currency'
				     WHEN h.opening_balance IS NULL THEN 'the statement has no opening balance (:60F: or :60M:)'
				     ELSE 'the statement has no closing balance (:62F: or :62M:)' END
				USING ERRCODE = 'invalid_text_representation';
		END IF;
		account := coalesce(h.account_iban, h.account);
		ref := coalesce(nullif(h.statement_ref, ''),
		                h.format || ':' || coalesce(st.first_date::text || '..' || st.last_date::text,
		                                            h.closing_date::text, h.opening_date::text, 'empty'));
		difference := h.closing_balance - (h.opening_balance + coalesce(st.movements, 0));
		-- a camt.053 statement has both balances, a camt.052 report both or
		-- none, in the account's currency (the parser leaves out a balance in
		-- another currency)
		problem := CASE
			WHEN h.format NOT IN ('camt.053', 'camt.052') THEN NULL
			WHEN h.opening_balance IS NULL AND (h.format = 'camt.053' OR h.closing_balance IS NOT NULL)
				THEN format('the statement has no opening balance in %s, the account''s currency (Bal of type OPBD or PRCD)', h.currency)
			WHEN h.closing_balance IS NULL AND (h.format = 'camt.053' OR h.opening_balance IS NOT NULL)
				THEN format('the statement has no closing balance in %s, the account''s currency (Bal of type CLBD)', h.currency)
		END;
		IF problem IS NOT NULL AND coalesce(strict, true) THEN
			RAISE EXCEPTION 'malformed % statement at line %: %', h.format, h.source_line, problem
				USING ERRCODE = 'invalid_text_representation',
				      HINT = 'Import it with strict => false to store it flagged (balanced = false).';
		END IF;

		-- the figures the bank states must agree with its lines
		balanced := CASE WHEN problem IS NOT NULL THEN false
		                 WHEN difference IS NULL AND h.declared_credits IS NULL AND h.declared_debits IS NULL
		                 THEN NULL
		                 ELSE coalesce(difference = 0, true)
		                      AND coalesce(h.declared_credits = st.credits, true)
		                      AND coalesce(h.declared_debits = st.debits, true) END;
		reason := CASE
			WHEN problem IS NOT NULL THEN problem
			WHEN difference <> 0 THEN format('opening balance %s + movements %s = %s, but the closing balance is %s',
			                                 h.opening_balance, coalesce(st.movements, 0),
			                                 h.opening_balance + coalesce(st.movements, 0), h.closing_balance)
			WHEN NOT balanced THEN format('its lines total %s in credits and %s in debits, the bank states %s and %s',
			                              st.credits, st.debits, coalesce(h.declared_credits::text, 'nothing'),
			                              coalesce(h.declared_debits::text, 'nothing'))
		END;
		IF NOT balanced AND coalesce(strict, true) THEN
			IF difference <> 0 THEN
				RAISE EXCEPTION 'statement "%" of account % does not balance: opening balance % + movements % = %, but the closing balance is %',
					ref, account, h.opening_balance, coalesce(st.movements, 0),
					h.opening_balance + coalesce(st.movements, 0), h.closing_balance
					USING ERRCODE = 'data_exception',
					      DETAIL = format('The difference is %s (statement starting at line %s of the file).',
					                      difference, h.source_line),
					      HINT = 'Import it with strict => false to store it flagged (balanced = false).';
			END IF;
			RAISE EXCEPTION 'statement "%" of account % does not add up: its lines total % in credits and % in debits, the bank states % and %',
				ref, account, st.credits, st.debits, coalesce(h.declared_credits::text, 'nothing'),
				coalesce(h.declared_debits::text, 'nothing')
				USING ERRCODE = 'data_exception',
				      HINT = 'Import it with strict => false to store it flagged (balanced = false).';
		END IF;

		digest := ar._statement_digest(h, st.lines);
		company := coalesce((SELECT c.id FROM ar.company c WHERE c.iban = h.account_iban::ar.iban ORDER BY c.id LIMIT 1),
		                    ar.default_company());
		PERFORM ar._require_company(company, 'collector');
		INSERT INTO ar.bank_statement AS s
		       (company_id, format, account_iban, account_id, statement_ref, currency,
		        opening_date, opening_balance, closing_date, closing_balance, balanced, content_sha256,
		        sequence_no, message_id, line_count, movements, balance_difference,
		        declared_credits, declared_debits, source_line, unbalanced_reason)
		VALUES (company, h.format, h.account_iban::ar.iban, account, ref, h.currency,
		        h.opening_date, h.opening_balance, h.closing_date, h.closing_balance, balanced, digest,
		        h.sequence_no, h.message_id, st.stored_lines, coalesce(st.movements, 0), difference,
		        h.declared_credits, h.declared_debits, h.source_line, reason)
		ON CONFLICT (company_id, account_id, statement_ref, content_sha256) DO NOTHING
		RETURNING s.id INTO sid;
		IF sid IS NULL THEN
			-- imported before (or just now by another session): the same id
			SELECT s.id INTO STRICT sid FROM ar.bank_statement s
			 WHERE s.company_id = company AND s.account_id = account AND s.statement_ref = ref
			   AND s.content_sha256 = digest;
		ELSIF NOT (sid = ANY (all_ids)) THEN
			new_nos := new_nos || h.statement_no;
			new_ids := new_ids || sid;
			-- the same reference with other content is another statement
			-- (a correction the bank sent?): stored, and said
			SELECT s.id, s.imported_at INTO dup FROM ar.bank_statement s
			 WHERE s.company_id = company AND s.account_id = account AND s.statement_ref = ref AND s.id <> sid
			 ORDER BY s.id LIMIT 1;
			IF FOUND THEN
				RAISE NOTICE 'statement "%" of account % was already imported with other content', ref, account
					USING HINT = 'Both are stored; check that the bank did not send a correction of the first.';
			END IF;
		END IF;
		all_ids := all_ids || sid;
	END LOOP;

	-- the lines of the statements stored now (zero amounts move nothing)
	INSERT INTO ar.bank_transaction
	       (company_id, statement_id, line_no, booking_date, value_date, amount, currency,
	        counterparty_name, counterparty_iban, counterparty_account, counterparty_bic,
	        remittance_info, structured_reference, end_to_end_id, bank_reference, customer_reference,
	        mandate_id, creditor_id, bank_tx_code, bank_tx_code_proprietary, booking_text,
	        return_reason, additional_info, reversal, source_line, raw)
	SELECT s.company_id, s.id, p.line_no, p.booking_date, p.value_date, p.amount, p.currency,
	       p.counterparty_name, p.counterparty_iban::ar.iban, p.counterparty_account, p.counterparty_bic,
	       p.remittance_info, p.structured_reference, p.end_to_end_id, p.bank_reference, p.customer_reference,
	       p.mandate_id, p.creditor_id, p.bank_tx_code, p.bank_tx_code_proprietary, p.booking_text,
	       p.return_reason, p.additional_info, p.reversal, p.source_line, p.raw
	  FROM unnest(parsed) p
	  JOIN unnest(new_nos, new_ids) AS n(statement_no, id) ON n.statement_no = p.statement_no
	  JOIN ar.bank_statement s ON s.id = n.id
	 WHERE p.line_no IS NOT NULL AND p.amount <> 0
	 ORDER BY s.id, p.line_no;

	RETURN QUERY SELECT unnest(all_ids);
END $$;

COMMENT ON FUNCTION ar.import_statement(text, text, boolean) IS
'Parses and stores bank statements (camt.053, camt.054, mt940, csv; detected when format is NULL): one id per statement of the file. Importing the same statement again changes nothing and returns the same id. A statement whose opening balance plus movements differs from its closing balance (or a camt.053 statement without both balances in the account''s currency) is refused when strict, else stored with balanced = false and the reason in unbalanced_reason.';

-- the owner of the SECURITY DEFINER functions (ar_definer) gets what the
-- objects added above need (19_definer.sql)
SELECT ar._grant_definer();
