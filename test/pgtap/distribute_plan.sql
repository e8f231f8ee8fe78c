-- pgTAP: what CALL ar.distribute() does with each table of the extension
-- (issue 14; src/sql/98_distribute.sql, doc/scale_out.md "How to
-- distribute").  ar._distribute_plan() classifies from the catalog (a table
-- with company_id distributed by it, one without a reference table) with
-- pinned exceptions; this pins the whole list, so that a new table of ar
-- fails here until someone decides what it becomes on Citus (and, when the
-- rule does not fit, adds it to the exceptions with the reason).  And what
-- the plan must never leave: a unique key of a distributed table without
-- company_id (Citus refuses it), a foreign key between a local table and a
-- Citus one (ar.distribute adds every key back).
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(8);

SELECT is((SELECT count(*) FROM ar._distribute_plan()),
          (SELECT count(*) FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
            WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ar_collect') AND c.relkind IN ('r', 'p')),
          'every table of the extension has its line in the plan');

SELECT results_eq($$SELECT table_name::text FROM ar._distribute_plan() WHERE kind = 'local' ORDER BY 1$$,
	$$VALUES ('ar.audit_legacy_chain'), ('ar.audit_seal_request'), ('ar.input_bound'), ('ar.lock_slot'),
	         ('ar.summary_fold_request'), ('ar.worker_run'), ('ar.worker_state')$$,
	'kept on each node, each for its reason: the worker''s state and runs, the commit requests, the legacy chain''s head, the input bounds, the locks');

SELECT results_eq($$SELECT table_name::text FROM ar._distribute_plan() WHERE kind = 'reference' ORDER BY 1$$,
	$$VALUES ('ar.company'), ('ar.company_member'), ('ar.dunning_level'), ('ar.dunning_policy'), ('ar.dunning_run'),
	         ('ar.dunning_segment_policy'), ('ar.dunning_template'), ('ar.einvoice_status_code'), ('ar.letter_text'),
	         ('ar.payment_model'), ('ar.penalty_regime'), ('ar.penalty_regime_fee'), ('ar.penalty_wording'),
	         ('ar.rate_series'), ('ar.reference_rate'), ('ar.segment_threshold'), ('ar.summary_state')$$,
	'the shared tables, reference tables (and the memberships, read by the policies on every node)');

SELECT results_eq($$SELECT table_name::text FROM ar._distribute_plan() WHERE kind = 'distributed' ORDER BY 1$$,
	$$VALUES ('ar.accounting_config'), ('ar.accounting_export'), ('ar.aging_summary'), ('ar.allocation'), ('ar.audit_log'),
	         ('ar.audit_redaction'), ('ar.audit_seal'), ('ar.bank_statement'), ('ar.bank_transaction'), ('ar.batch_problem'),
	         ('ar.collection_settings'), ('ar.communication'), ('ar.credit_release'), ('ar.customer'),
	         ('ar.customer_bank_account'), ('ar.customer_credit'), ('ar.customer_dunning_policy'),
	         ('ar.direct_debit_collection'), ('ar.direct_debit_line'), ('ar.direct_debit_line_invoice'), ('ar.dispute'),
	         ('ar.dunning_account'), ('ar.dunning_block'), ('ar.dunning_effect_delta'), ('ar.dunning_effect_notice'),
	         ('ar.dunning_effect_summary'), ('ar.dunning_notice'), ('ar.einvoice_outbox'), ('ar.einvoice_status'),
	         ('ar.gdpr_anonymisation'), ('ar.invoice'), ('ar.journal_entry'), ('ar.journal_entry_line'), ('ar.kpi_summary'),
	         ('ar.kpi_summary_delta'), ('ar.match_proposal'), ('ar.open_item_summary'), ('ar.order_block'),
	         ('ar.payment_plan'), ('ar.payment_plan_instalment'), ('ar.payment_plan_invoice'), ('ar.payment_promise'),
	         ('ar.penalty_claim'), ('ar.reconcile_adjustment'), ('ar.reconcile_config'), ('ar.reconcile_line'),
	         ('ar.reconcile_run'), ('ar.retention_policy'), ('ar.sepa_creditor'), ('ar.sepa_mandate'),
	         ('ar.small_balance_action'), ('ar.small_balance_config'), ('ar.statement_notice'), ('ar.summary_delta'),
	         ('ar.write_off_reversal')$$,
	'the company tables, distributed by company_id (the audit trail with them)');

SELECT is_empty($$
	SELECT p.table_name, i.indexrelid::regclass FROM ar._distribute_plan() p JOIN pg_index i ON i.indrelid = p.table_name
	 WHERE p.kind = 'distributed' AND i.indisunique
	   AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = p.table_name AND a.attname = 'company_id' AND a.attnum = ANY (i.indkey))$$,
	'every unique key of a distributed table includes company_id');

SELECT is_empty($$
	SELECT c.conname FROM pg_constraint c
	  JOIN ar._distribute_plan() a ON a.table_name = c.conrelid JOIN ar._distribute_plan() b ON b.table_name = c.confrelid
	 WHERE c.contype = 'f' AND (a.kind = 'local') <> (b.kind = 'local')$$,
	'no foreign key between a table kept local and a Citus table');

-- The function ar.distribute distributes (issue 14: the dunning run's
-- per-company work, delegated to the company's node) exists with the
-- signature it names, its first argument the company: the call is only
-- run with Citus, so a renamed or re-typed function would be missed there.
SELECT is((SELECT to_regprocedure(substring(p.prosrc from $r$create_distributed_function\('([^']+)'$r$))::text
             FROM pg_proc p WHERE p.oid = 'ar.distribute(integer)'::regprocedure),
          'ar._run_dunning_company(bigint,bigint[],date,boolean,boolean,jsonb)',
          'ar.distribute distributes the dunning run''s per-company function, as it is');
SELECT is((SELECT (p.proargnames)[1] || ' ' || format_type(p.proargtypes[0], NULL) || ' ' || p.prosecdef
                  || ' ' || has_function_privilege('public', p.oid, 'EXECUTE')::text || ' ' || ar._dunning_delegates()::text
             FROM pg_proc p WHERE p.oid = 'ar._run_dunning_company(bigint, bigint[], date, boolean, boolean, jsonb)'::regprocedure),
          'company bigint false false false',
          'its distribution argument the company (first, as ar.distribute names it); not SECURITY DEFINER (not API: run as ar_definer by its callers), not executable by PUBLIC; not delegated on one node');

SELECT * FROM finish();
ROLLBACK;
