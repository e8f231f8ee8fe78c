-- ---------------------------------------------------------------------------
-- Grants of the foundation's objects and pg_dump registration.  The roles
-- are created first (05_roles.sql); each later piece grants its own objects
-- to them and registers its own tables.  This piece runs last: it takes
-- EXECUTE away from PUBLIC on every function of the schema, then gives back
-- what any user of the types needs.
-- ---------------------------------------------------------------------------

-- Nothing in ar is executable by PUBLIC but what any user of the types needs.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ar FROM PUBLIC;

DO $$
DECLARE
	f regprocedure;
BEGIN
	-- type support, operators, aggregates and pure helpers stay public
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
	          WHERE p.pronamespace = 'ar'::regnamespace AND p.provolatile = 'i' LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f);
	END LOOP;
END $$;

GRANT SELECT ON ar.company, ar.customer, ar.customer_bank_account, ar.invoice, ar.bank_statement,
                ar.bank_transaction, ar.customer_credit, ar.allocation,
                ar.receivables, ar.aging_by_customer, ar.customer_credit_balance, ar.open_credit_items
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.default_company(), ar.open_items(date), ar.aging_report(date), ar.open_credits(date)
	TO ar_reader;

GRANT EXECUTE ON FUNCTION ar.record_payment(text, numeric, date, text),
                          ar.apply_customer_credit(bigint, date),
                          ar.apply_credit_note(bigint, bigint, numeric, date),
                          ar.apply_open_credits(bigint, date)
	TO ar_collector;

GRANT INSERT, UPDATE, DELETE ON ar.company, ar.customer, ar.customer_bank_account, ar.invoice,
                                ar.bank_statement, ar.bank_transaction, ar.customer_credit, ar.allocation
	TO ar_admin;
GRANT SELECT ON ar.audit_log, ar.audit_legacy_chain, ar.audit_seal TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.write_off_invoice(bigint, text, date), ar.cancel_invoice(bigint, date),
                          ar.check_ledger(), ar.verify_audit_chain(), ar.audit_chain_head(),
                          ar.audit_row_content(ar.audit_log, bigint),
                          ar.verify_audit_chain(bigint), ar.verify_audit_chains(), ar.audit_chain_head(bigint),
                          ar.audit_chain_heads(), ar.audit_genesis_hash(bigint), ar._audit_legacy_seq(),
                          ar._audit_verify(text, bigint, boolean), ar._audit_row_problem(ar.audit_log, bytea),
                          ar._audit_chains_here(), ar._audit_heads_here(), ar._audit_trail_on_nodes(),
                          ar._audit_trail_distributed(),
                          ar._audit_run_on_nodes(text), ar._audit_verify_on_nodes(text),
                          ar.audit_row_hash(ar.audit_log, bytea),
                          ar.audit_seal_content(ar.audit_seal), ar.audit_seal_hash(ar.audit_seal, bytea),
                          ar._audit_link(ar.audit_log),
                          ar._gdpr_manifest(bigint)  -- the chained manifests the verification checks
	TO ar_admin;
-- the setting the triggers of every role read (ar_collect.restoring)
GRANT EXECUTE ON FUNCTION ar._restoring() TO PUBLIC;
-- and the error of the guards of derived columns (30_ledger.sql): a role
-- writing one is told why, not that it may not call the error
GRANT EXECUTE ON FUNCTION ar._derived_column_error(text, text) TO PUBLIC;
-- and the test of the guards of the shipped tables (64_shipped_guard.sql)
GRANT EXECUTE ON FUNCTION ar._privileged_shard_copy(boolean) TO PUBLIC;
-- and the table a trigger fired for, a Citus shard's being its table's
-- (06_logical_table_name.sql)
GRANT EXECUTE ON FUNCTION ar._logical_table_name(regclass) TO PUBLIC;

-- pg_dump keeps the user data of the extension's tables (not the default
-- company, which CREATE EXTENSION makes again).
SELECT pg_catalog.pg_extension_config_dump('ar.company', 'WHERE NOT is_default');
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['customer', 'customer_bank_account', 'invoice', 'bank_statement', 'bank_transaction',
	                         'customer_credit', 'allocation', 'audit_log'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('ar.' || t)::regclass, '');
	END LOOP;
	FOREACH t IN ARRAY ARRAY['company', 'customer', 'customer_bank_account', 'invoice', 'bank_statement',
	                         'bank_transaction', 'customer_credit', 'allocation', 'audit_log'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.' || t, 'id')::regclass, '');
	END LOOP;
END $$;
