-- ---------------------------------------------------------------------------
-- ar.import_statement, in a piece of its own: the upgrade from 0.1.0 links
-- it (src/upgrade/0.1.0--0.2.0/72_statements_final.sql), so that both
-- install the one definition.
-- ---------------------------------------------------------------------------

-- The file is read three times (headers and sums; digests; the lines of the
-- statements stored now), never held as rows: its memory is the text
-- itself, at most 256 MB (larger files are refused, SQLSTATE 54000), and a
-- batch of lines.  Generic plans: a custom plan would hold the text once
-- more, as a constant of the plan.
CREATE OR REPLACE FUNCTION ar.import_statement(content text, format text DEFAULT NULL, strict boolean DEFAULT true)
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
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
	new_companies bigint[] := '{}';
	all_ids bigint[] := '{}';
	dup record;
BEGIN
	IF content IS NULL THEN
		RAISE EXCEPTION 'the statement content is NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;

	-- CSV rows of one account and statement reference form one statement
	-- whatever their order; two such groups from other files are kept apart
	-- by their content.
	FOR st IN
		SELECT s.header, s.movements, s.stored_lines, coalesce(s.credits, 0) AS credits,
		       coalesce(s.debits, 0) AS debits, s.first_date, s.last_date, s.digest, s.statement_digest
		  FROM ar._statement_scan(content, format) s
		 ORDER BY (s.header).statement_no
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

		digest := st.digest;
		company := coalesce((SELECT c.id FROM ar.company c WHERE c.iban = h.account_iban::ar.iban ORDER BY c.id LIMIT 1),
		                    ar.default_company());
		PERFORM ar._require_company(company, 'collector');
		-- a statement stored before 0.2.0 keeps no statement digest (its
		-- parsed lines are not kept to compute one): downloaded again under
		-- another message id, it is recognised by its account, reference and
		-- figures (balances and their dates, lines stored and their sum), and
		-- takes its statement digest for the next time
		-- (single-table statements: on Citus, under this function's generic
		-- plans, a subquery could not be planned)
		sid := NULL;
		PERFORM 1 FROM ar.bank_statement d
		  WHERE d.company_id = company AND d.account_id = account AND d.statement_ref = ref
		    AND d.statement_digest = st.statement_digest
		  LIMIT 1;
		IF NOT FOUND AND st.statement_digest IS NOT NULL THEN
			SELECT o.id INTO sid FROM ar.bank_statement o
			 WHERE o.company_id = company AND o.account_id = account AND o.statement_ref = ref
			   AND o.statement_digest IS NULL AND o.format = h.format AND o.currency = h.currency
			   AND o.opening_date IS NOT DISTINCT FROM h.opening_date
			   AND o.opening_balance IS NOT DISTINCT FROM h.opening_balance
			   AND o.closing_date IS NOT DISTINCT FROM h.closing_date
			   AND o.closing_balance IS NOT DISTINCT FROM h.closing_balance
			   AND o.line_count = st.stored_lines AND o.movements = coalesce(st.movements, 0)
			 ORDER BY o.id LIMIT 1;
		END IF;
		IF sid IS NOT NULL THEN
			UPDATE ar.bank_statement s SET statement_digest = st.statement_digest
			 WHERE s.company_id = company AND s.id = sid;
			all_ids := all_ids || sid;
			CONTINUE;
		END IF;
		INSERT INTO ar.bank_statement AS s
		       (company_id, format, account_iban, account_id, statement_ref, currency,
		        opening_date, opening_balance, closing_date, closing_balance, balanced, content_sha256,
		        sequence_no, message_id, line_count, movements, balance_difference,
		        declared_credits, declared_debits, source_line, unbalanced_reason, statement_digest)
		VALUES (company, h.format, h.account_iban::ar.iban, account, ref, h.currency,
		        h.opening_date, h.opening_balance, h.closing_date, h.closing_balance, balanced, digest,
		        h.sequence_no, h.message_id, st.stored_lines, coalesce(st.movements, 0), difference,
		        h.declared_credits, h.declared_debits, h.source_line, reason, st.statement_digest)
		-- (either key: the same file, or the same statement downloaded again
		-- under another message id)
		ON CONFLICT DO NOTHING
		RETURNING s.id INTO sid;
		IF sid IS NULL THEN
			-- imported before (or just now by another session): the same id
			SELECT s.id INTO sid FROM ar.bank_statement s
			 WHERE s.company_id = company AND s.account_id = account AND s.statement_ref = ref
			   AND (s.content_sha256 = digest OR s.statement_digest = st.statement_digest)
			 ORDER BY s.id LIMIT 1;
		ELSIF NOT (sid = ANY (all_ids)) THEN
			new_nos := new_nos || h.statement_no;
			new_ids := new_ids || sid;
			new_companies := new_companies || company;
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

	-- the lines of the statements stored now (zero amounts move nothing),
	-- streamed from the file in batches
	IF cardinality(new_ids) > 0 THEN
		PERFORM ar._statement_store_lines(content, format, new_nos, new_ids, new_companies);
	END IF;

	RETURN QUERY SELECT unnest(all_ids);
END $$;
COMMENT ON FUNCTION ar.import_statement(text, text, boolean) IS
'Parses and stores bank statements (camt.053, camt.054, mt940, csv; detected when format is NULL): one id per statement of the file. Importing the same statement again changes nothing and returns the same id. A statement whose opening balance plus movements differs from its closing balance (or a camt.053 statement without both balances in the account''s currency) is refused when strict, else stored with balanced = false and the reason in unbalanced_reason. Files up to 256 MB (SQLSTATE 54000 beyond), imported in bounded memory.';

GRANT EXECUTE ON FUNCTION ar.import_statement(text, text, boolean) TO ar_collector;
