-- ---------------------------------------------------------------------------
-- Bank statement import: ISO 20022 camt.053 / camt.054 (and camt.052),
-- SWIFT MT940 / MT942, and the documented CSV layout.
--
-- The parsers are C (src/mt940.c, src/camt.c, src/statement_csv.c) and
-- return what a file holds as rows (ar.parse_statement); this piece stores
-- them: one ar.bank_statement per statement, one ar.bank_transaction per
-- booked line, after checking that each statement balances.  Importing the
-- same statement again (same account, statement reference and content) is
-- a no-op that returns the id stored the first time.
-- ---------------------------------------------------------------------------

-- The columns the matcher and the audit need are the ledger's
-- (30_ledger.sql); what they mean:
COMMENT ON COLUMN ar.bank_statement.format IS 'camt.052, camt.053, camt.054, mt940, mt942 or csv.';
COMMENT ON COLUMN ar.bank_statement.account_iban IS 'The statement''s account when it is a valid IBAN.';
COMMENT ON COLUMN ar.bank_statement.account_id IS 'The account: its compact IBAN, else the identification as the bank wrote it.';
COMMENT ON COLUMN ar.bank_statement.statement_ref IS 'The bank''s statement reference: camt Stmt/Id; MT940 :20:/:28C:; CSV statement_ref (else the booking date range).';
COMMENT ON COLUMN ar.bank_statement.balanced IS 'Opening balance + movements = closing balance (and the totals the bank states agree); NULL when the statement has no balances (camt.054, MT942).';
COMMENT ON COLUMN ar.bank_statement.content_sha256 IS 'SHA-256 of the parsed statement (header and lines, not their layout): with account and statement_ref, what makes an import idempotent.';
COMMENT ON COLUMN ar.bank_statement.statement_digest IS 'SHA-256 of the parsed statement less its message id (the envelope a bank renumbers at each download): with account and statement_ref, what recognises a statement downloaded again; NULL for statements imported before 0.2.0.';
COMMENT ON COLUMN ar.bank_statement.sequence_no IS 'Statement number: MT940 :28C:, camt ElctrncSeqNb or LglSeqNb.';
COMMENT ON COLUMN ar.bank_statement.message_id IS 'camt GrpHdr/MsgId of the file the statement came in.';
COMMENT ON COLUMN ar.bank_statement.line_count IS 'Lines stored (zero amounts, which move nothing, are not).';
COMMENT ON COLUMN ar.bank_statement.movements IS 'Sum of the lines'' amounts (credits positive).';
COMMENT ON COLUMN ar.bank_statement.balance_difference IS 'closing_balance - (opening_balance + movements): non-zero only on a statement imported with strict => false.';
COMMENT ON COLUMN ar.bank_statement.declared_credits IS 'Total of credits the bank states (MT942 :90C:, camt TxsSummry).';
COMMENT ON COLUMN ar.bank_statement.declared_debits IS 'Total of debits the bank states, negative (MT942 :90D:, camt TxsSummry).';
COMMENT ON COLUMN ar.bank_statement.source_line IS 'Line of the file where the statement starts.';
COMMENT ON COLUMN ar.bank_statement.imported_by IS 'Session user who imported it.';
COMMENT ON COLUMN ar.bank_statement.unbalanced_reason IS 'Why balanced is false (a statement imported with strict => false): the difference, the totals that disagree, or a balance missing or in another currency than the account.';
COMMENT ON COLUMN ar.bank_transaction.counterparty_iban IS 'The other party''s account when it is a valid IBAN (counterparty_account keeps what the bank wrote).';
COMMENT ON COLUMN ar.bank_transaction.counterparty_account IS 'The other party''s account as the bank wrote it (IBAN or not).';
COMMENT ON COLUMN ar.bank_transaction.counterparty_bic IS 'The other party''s bank (BIC, or German bank code).';
COMMENT ON COLUMN ar.bank_transaction.remittance_info IS 'Unstructured remittance: camt RmtInf/Ustrd (and referred document numbers), MT940 :86: purpose (SVWZ+, /REMI/ or free text).';
COMMENT ON COLUMN ar.bank_transaction.structured_reference IS 'Structured creditor reference: camt CdtrRefInf/Ref, or an ISO 11649 RF reference found in the text (stored compact).';
COMMENT ON COLUMN ar.bank_transaction.customer_reference IS 'Reference of the account owner: MT940 :61: customer reference or KREF+, camt InstrId.';
COMMENT ON COLUMN ar.bank_transaction.mandate_id IS 'SEPA direct-debit mandate (MREF+, /MARF/, MndtId).';
COMMENT ON COLUMN ar.bank_transaction.creditor_id IS 'SEPA creditor identifier (CRED+, /CSID/).';
COMMENT ON COLUMN ar.bank_transaction.bank_tx_code IS 'Bank transaction code: ISO domain-family-subfamily (PMNT-RCDT-ESCT), else the MT940 :61: type (NTRF).';
COMMENT ON COLUMN ar.bank_transaction.bank_tx_code_proprietary IS 'Proprietary code: German GVC (166), camt BkTxCd/Prtry/Cd.';
COMMENT ON COLUMN ar.bank_transaction.booking_text IS 'The bank''s booking text (German ?00, /TRTP/).';
COMMENT ON COLUMN ar.bank_transaction.return_reason IS 'ISO 20022 return reason of a returned or reversed payment (AM04, MD06...).';
COMMENT ON COLUMN ar.bank_transaction.additional_info IS 'Further text of the bank (camt AddtlTxInf/AddtlNtryInf, the whole MT940 :86:).';
COMMENT ON COLUMN ar.bank_transaction.reversal IS 'The bank marks the line as a reversal (camt RvslInd, MT940 RC/RD).';
COMMENT ON COLUMN ar.bank_transaction.source_line IS 'Line of the file where the line starts.';
COMMENT ON COLUMN ar.bank_transaction.raw IS 'The line as the file had it (MT940 :61: and :86:, the camt entry or transaction XML, the CSV record).';

-- One row per statement (line_no NULL) and one per line of a file.
CREATE TYPE ar.parsed_statement_row AS (
	statement_no              integer,
	line_no                   integer,
	source_line               integer,
	format                    text,
	account                   text,
	account_iban              text,
	statement_ref             text,
	sequence_no               text,
	message_id                text,
	currency                  text,
	opening_date              date,
	opening_balance           numeric,
	closing_date              date,
	closing_balance           numeric,
	declared_credits          numeric,
	declared_debits           numeric,
	booking_date              date,
	value_date                date,
	amount                    numeric,
	counterparty_name         text,
	counterparty_iban         text,
	counterparty_account      text,
	counterparty_bic          text,
	remittance_info           text,
	structured_reference      text,
	end_to_end_id             text,
	bank_reference            text,
	customer_reference        text,
	mandate_id                text,
	creditor_id               text,
	bank_tx_code              text,
	bank_tx_code_proprietary  text,
	booking_text              text,
	return_reason             text,
	additional_info           text,
	reversal                  boolean,
	raw                       text
);
COMMENT ON TYPE ar.parsed_statement_row IS 'What ar.parse_statement returns: a statement (line_no NULL, statement columns set) or one of its lines (line columns set).';

CREATE FUNCTION ar.parse_statement(content text, format text DEFAULT NULL)
RETURNS SETOF ar.parsed_statement_row
AS 'MODULE_PATHNAME', 'ar_parse_statement'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.parse_statement(text, text) IS
'Parses a bank statement file without storing it: one row per statement and one per line. Format camt.053, camt.054, camt.052, mt940, mt942 or csv; detected when NULL.';

CREATE FUNCTION ar.detect_statement_format(content text) RETURNS text
AS 'MODULE_PATHNAME', 'ar_detect_statement_format'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.detect_statement_format(text) IS
'The format of a statement file (camt.053, camt.054, camt.052, mt940, mt942, csv), or NULL when it is none of them.';

-- The canonical text of a parsed statement that its hash covers: every
-- value, not the layout (line breaks, indentation, position in the file).
-- ar._statement_scan computes the same hash in C while it streams the file
-- (test/pgtap/import_streaming.sql checks that they agree); this is its
-- definition.
CREATE FUNCTION ar._statement_digest(header ar.parsed_statement_row, lines jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT sha256(convert_to(jsonb_build_array(
		to_jsonb(header) - ARRAY['statement_no', 'line_no', 'source_line', 'raw'],
		coalesce(lines, '[]'))::text, 'UTF8'))
$$;

-- What ar.import_statement decides on, without holding the lines: one row
-- per statement of the file, its header as ar.parse_statement gives it,
-- what its lines add up to, and its digest (ar._statement_digest of the
-- header and its lines).  Two passes over the file in C (src/statement_sql.c).
CREATE FUNCTION ar._statement_scan(content text, format text DEFAULT NULL,
	OUT header ar.parsed_statement_row, OUT movements numeric, OUT stored_lines bigint,
	OUT credits numeric, OUT debits numeric, OUT first_date date, OUT last_date date,
	OUT digest bytea, OUT statement_digest bytea)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ar_statement_scan'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar._statement_scan(text, text) IS
'Internal to ar.import_statement: per statement of a file, its header, the sum of its lines (all, credits, debits), how many have an amount, their first and last booking dates, its digest, and its statement digest (the same less the message id).';

-- The lines of the statements ar.import_statement has just stored, read
-- from the file once more and inserted batch by batch (statement number
-- statement_nos[i] of the file is stored as statement_ids[i] of company
-- company_ids[i]; lines of zero amount are not stored).  Returns how many.
CREATE FUNCTION ar._statement_store_lines(content text, format text, statement_nos integer[],
	statement_ids bigint[], company_ids bigint[]) RETURNS bigint
AS 'MODULE_PATHNAME', 'ar_statement_store_lines'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ar._statement_store_lines(text, text, integer[], bigint[], bigint[]) IS
'Internal to ar.import_statement: stores the lines of the given statements of a file in ar.bank_transaction, in batches.';
REVOKE EXECUTE ON FUNCTION ar._statement_store_lines(text, text, integer[], bigint[], bigint[]) FROM PUBLIC;

-- The file is read three times (headers and sums; digests; the lines of the
-- statements stored now), never held as rows: its memory is the text
-- itself, at most 256 MB (larger files are refused, SQLSTATE 54000), and a
-- batch of lines.  Generic plans: a custom plan would hold the text once
-- more, as a constant of the plan.
CREATE FUNCTION ar.import_statement(content text, format text DEFAULT NULL, strict boolean DEFAULT true)
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
