-- pgTAP: a camt statement downloaded again is recognised even when the bank
-- gave the download another message id (GrpHdr/MsgId): the statement digest
-- leaves the message id out; it was stored a second time, its lines
-- doubled.  Statements stored before 0.2.0 (no statement digest) are still
-- recognised by their content digest.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(11);

CREATE FUNCTION pg_temp.camt(msg text, amount text) RETURNS text LANGUAGE sql AS $$
	SELECT format('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>%s</MsgId>'
	              '<CreDtTm>2026-11-21T08:00:00</CreDtTm></GrpHdr><Stmt><Id>STMT-2026-11-20</Id><Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id>'
	              '<Ccy>EUR</Ccy></Acct><Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
	              '<Dt><Dt>2026-11-20</Dt></Dt></Bal><Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">%s</Amt>'
	              '<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal><Ntry><Amt Ccy="EUR">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
	              '<Sts>BOOK</Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>', msg, amount, amount)
$$;

SELECT ar.import_statement(pg_temp.camt('MSG-1', '100.00')) AS first_id \gset
SELECT is((SELECT ar.import_statement(pg_temp.camt('MSG-1', '100.00'))), :first_id::bigint, 'the same file again: the same statement');
SELECT is((SELECT ar.import_statement(pg_temp.camt('MSG-2', '100.00'))), :first_id::bigint,
	'the same statement downloaded again under another message id: the same statement');
SELECT results_eq($$SELECT count(*), sum(movements) FROM ar.bank_statement$$, $$VALUES (1::bigint, 100.00::numeric)$$,
	'stored once: its money counted once');
-- the statement digest is the content digest's definition (ar._statement_digest) less the message id
SELECT is((SELECT s.statement_digest FROM ar.bank_statement s WHERE s.id = :first_id),
          (SELECT sha256(convert_to(jsonb_build_array(to_jsonb(h) - ARRAY['statement_no', 'line_no', 'source_line', 'raw', 'message_id'],
                                                      (SELECT jsonb_agg(to_jsonb(l) - ARRAY['statement_no', 'source_line', 'raw'] ORDER BY l.line_no)
                                                         FROM ar.parse_statement(pg_temp.camt('MSG-9', '100.00')) l WHERE l.line_no IS NOT NULL))::text,
                                    'UTF8'))
             FROM ar.parse_statement(pg_temp.camt('MSG-9', '100.00')) h WHERE h.line_no IS NULL),
	'the statement digest: the content digest''s text less the message id');
-- other content under the same reference: another statement (a correction?), stored and said
SELECT isnt((SELECT ar.import_statement(pg_temp.camt('MSG-3', '120.00'))), :first_id::bigint,
	'other content under the same statement reference: another statement');
-- a statement stored before 0.2.0 has no statement digest: its own file again is still recognised
UPDATE ar.bank_statement SET statement_digest = NULL WHERE id = :first_id;
SELECT is((SELECT ar.import_statement(pg_temp.camt('MSG-1', '100.00'))), :first_id::bigint,
	'a statement stored without a statement digest (before 0.2.0): its own file again, the same statement');
SELECT is((SELECT count(*) FROM ar.bank_statement), 2::bigint, 'nothing else stored');
-- downloaded again under another message id, it is recognised by its
-- account, reference and figures (not the other statement of the same
-- reference, whose figures differ), and takes its statement digest
UPDATE ar.bank_statement SET statement_digest = NULL;
SELECT is((SELECT ar.import_statement(pg_temp.camt('MSG-4', '100.00'))), :first_id::bigint,
	'a statement stored before 0.2.0, downloaded again under another message id: the same statement');
SELECT results_eq($$SELECT count(*), sum(line_count), count(statement_digest) FROM ar.bank_statement$$,
                  $$VALUES (2::bigint, 2::bigint, 1::bigint)$$,
	'nothing stored: it takes its statement digest, the other keeps none');
SELECT is((SELECT ar.import_statement(pg_temp.camt('MSG-5', '100.00'))), :first_id::bigint,
	'and is recognised by it the next time');
SELECT is((SELECT count(*) FROM ar.bank_transaction), 2::bigint, 'its lines stored once');

SELECT * FROM finish();
ROLLBACK;
