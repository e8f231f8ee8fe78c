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

-- ar.import_statement: 70_statements_1_import.sql
