-- Dunning, audit and grants (one of the 80_dunning_* pieces).

-- ------------------------------------------------------ audit and grants

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['dunning_policy', 'dunning_level', 'dunning_template', 'dunning_segment_policy',
	                         'customer_dunning_policy', 'dispute', 'payment_promise', 'payment_plan',
	                         'payment_plan_invoice', 'payment_plan_instalment', 'dunning_block'] LOOP
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON ar.%I FOR EACH ROW EXECUTE FUNCTION ar._audit_row()',
		               t || '_audit', t);
	END LOOP;
	-- notices are recorded at queue time by the communications log; their
	-- delivery updates go to the audit trail
	CREATE TRIGGER dunning_notice_audit AFTER UPDATE OR DELETE ON ar.dunning_notice
		FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
	FOREACH t IN ARRAY ARRAY['dispute', 'payment_promise', 'payment_plan', 'payment_plan_invoice',
	                         'payment_plan_instalment', 'dunning_block', 'dunning_run'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ar.%I FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate()',
		               t || '_no_truncate', t);
	END LOOP;
END $$;

-- open invoices of the past cancelled since a run date
CREATE INDEX invoice_cancelled_on ON ar.invoice (cancelled_on) WHERE cancelled_on IS NOT NULL;

GRANT SELECT ON ar.dunning_policy, ar.dunning_level, ar.dunning_template, ar.dunning_segment_policy,
                ar.customer_dunning_policy, ar.customer_policy, ar.dunning_notice, ar.dunning_account, ar.dunning_run,
                ar.dispute, ar.payment_promise, ar.payment_plan, ar.payment_plan_invoice, ar.payment_plan_instalment,
                ar.dunning_block, ar.communication, ar.customer_timeline, ar.dunning_summary,
                ar.worker_state, ar.worker_run, ar.worker_status
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.payment_plan_schedule(bigint, date) TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.run_dunning(date, boolean), ar.mark_notice(bigint, text, text, text),
                          ar.open_dispute(bigint, text, date), ar.resolve_dispute(bigint, text, date),
                          ar.promise_to_pay(bigint, date, numeric, date),
                          ar.create_payment_plan(bigint, bigint[], date[], numeric[], date, integer, text),
                          ar.cancel_payment_plan(bigint, text, date),
                          ar.block_dunning(bigint, date, text, date), ar.unblock_dunning(bigint, text, date),
                          ar.log_interaction(bigint, text, text, text, text, timestamptz, bigint, text)
	TO ar_collector;
GRANT INSERT, UPDATE, DELETE ON ar.dunning_policy, ar.dunning_level, ar.dunning_template, ar.dunning_segment_policy
	TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.set_dunning_policy(bigint, text), ar.start_worker() TO ar_admin;

-- pg_dump keeps the configuration users add (not the shipped FR_STANDARD,
-- which CREATE EXTENSION makes again) and every record of collections.
SELECT pg_catalog.pg_extension_config_dump('ar.dunning_policy', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ar.dunning_level', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ar.dunning_template', 'WHERE NOT shipped');
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['dunning_segment_policy', 'customer_dunning_policy', 'dispute', 'payment_promise',
	                         'payment_plan', 'payment_plan_invoice', 'payment_plan_instalment', 'dunning_block',
	                         'dunning_notice', 'dunning_account', 'dunning_run', 'communication'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('ar.' || t)::regclass, '');
	END LOOP;
	FOREACH t IN ARRAY ARRAY['dunning_policy', 'dunning_template', 'dispute', 'payment_promise', 'payment_plan',
	                         'payment_plan_invoice', 'payment_plan_instalment', 'dunning_block', 'dunning_notice',
	                         'communication'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.' || t, 'id')::regclass, '');
	END LOOP;
END $$;
