-- ---------------------------------------------------------------------------
-- Distribution keys: company_id in every key of company data
-- (doc/scale_out.md, plan step 2; issue 14).
--
-- Every table whose rows belong to one company carries company_id (the
-- distribution column a Citus cluster would shard by), and
--   - its primary key is (id, company_id): id first, so that every lookup
--     by id (PostgreSQL 15 has no skip scan) stays on the primary key's
--     index, and the pair is what a distributed table may be keyed by;
--   - every unique constraint and unique index includes company_id (the
--     other columns already name one company: an id, a customer, an
--     invoice, a statement, an export; what was unique stays unique);
--   - every foreign key between two company tables is
--     (x_id, company_id) REFERENCES ar.t (id, company_id): a row cannot
--     name another company's row, whatever the client writes (the set-wise
--     reference triggers that stand for foreign keys, 31_ledger_references.sql
--     and 73_reconcile_references.sql, check the same pair);
--   - foreign keys to ar.company and to configuration (penalty regimes,
--     dunning policies, e-invoice status codes) stay as they are: those
--     tables would be Citus reference tables.
-- (ar.gdpr_anonymisation, new in 0.2.0, is created with its key
-- (id, company_id), which ar.audit_redaction names: 87_gdpr.sql.)
-- (ar.reconcile_run gets its key (id, company_id), a row per company a run
-- decided for, which its decisions and proposals name by the pair, in
-- 97_reconcile_run_company.sql, with its rows of a 0.1.0 database.)
-- The audit trail too (ar.audit_log by (id, company_id), ar.audit_redaction
-- naming its row by the pair; ar.audit_seal unique on (company_id, seq)),
-- so that it distributes with the ledger (41_audit_chains_1_shards.sql).
-- Exception: the unique (company_id, id) constraints are kept as
-- per-company access paths.
-- test/pgtap/distribution_keys.sql checks all of it from the catalog.
--
-- The constraints keep their names.  Written as the tables are created by
-- the pieces before this one, and applied as they stand to an upgraded
-- database (src/upgrade/0.1.0--0.2.0/98_zz_distribution_keys.sql is this
-- file): first the foreign keys between company tables go, then the keys
-- get company_id, then the foreign keys come back through the pairs.
-- ---------------------------------------------------------------------------

-- the foreign keys between company tables (the one of ar.direct_debit_line_invoice on
-- invoice_id alone is dropped for good: (invoice_id, company_id) covers it)
ALTER TABLE ar.allocation DROP CONSTRAINT allocation_customer_credit_id_fkey;
ALTER TABLE ar.audit_redaction DROP CONSTRAINT audit_redaction_audit_id_fkey;
ALTER TABLE ar.bank_transaction DROP CONSTRAINT bank_transaction_statement_id_fkey;
ALTER TABLE ar.credit_release DROP CONSTRAINT credit_release_company_id_customer_id_fkey;
ALTER TABLE ar.credit_release DROP CONSTRAINT credit_release_customer_credit_id_fkey;
ALTER TABLE ar.customer_bank_account DROP CONSTRAINT customer_bank_account_company_id_customer_id_fkey;
ALTER TABLE ar.customer_credit DROP CONSTRAINT customer_credit_bank_transaction_id_fkey;
ALTER TABLE ar.customer_credit DROP CONSTRAINT customer_credit_company_id_customer_id_fkey;
ALTER TABLE ar.customer_credit DROP CONSTRAINT customer_credit_invoice_id_fkey;
ALTER TABLE ar.customer_dunning_policy DROP CONSTRAINT customer_dunning_policy_customer_id_fkey;
ALTER TABLE ar.direct_debit_line DROP CONSTRAINT direct_debit_line_company_id_collection_id_fkey;
ALTER TABLE ar.direct_debit_line DROP CONSTRAINT direct_debit_line_company_id_customer_id_fkey;
ALTER TABLE ar.direct_debit_line DROP CONSTRAINT direct_debit_line_mandate_id_fkey;
ALTER TABLE ar.direct_debit_line DROP CONSTRAINT direct_debit_line_return_transaction_id_fkey;
ALTER TABLE ar.direct_debit_line DROP CONSTRAINT direct_debit_line_settlement_transaction_id_fkey;
ALTER TABLE ar.direct_debit_line_invoice DROP CONSTRAINT direct_debit_line_invoice_company_id_invoice_id_fkey;
ALTER TABLE ar.direct_debit_line_invoice DROP CONSTRAINT direct_debit_line_invoice_invoice_id_fkey;
ALTER TABLE ar.direct_debit_line_invoice DROP CONSTRAINT direct_debit_line_invoice_line_id_fkey;
ALTER TABLE ar.dispute DROP CONSTRAINT dispute_invoice_id_fkey;
ALTER TABLE ar.dunning_block DROP CONSTRAINT dunning_block_customer_id_fkey;
ALTER TABLE ar.einvoice_outbox DROP CONSTRAINT einvoice_outbox_company_id_invoice_id_fkey;
ALTER TABLE ar.einvoice_status DROP CONSTRAINT einvoice_status_company_id_invoice_id_fkey;
ALTER TABLE ar.einvoice_status DROP CONSTRAINT einvoice_status_dispute_id_fkey;
ALTER TABLE ar.gdpr_anonymisation DROP CONSTRAINT gdpr_anonymisation_company_id_customer_id_fkey;
ALTER TABLE ar.invoice DROP CONSTRAINT invoice_company_id_customer_id_fkey;
ALTER TABLE ar.journal_entry DROP CONSTRAINT journal_entry_company_id_export_id_fkey;
ALTER TABLE ar.journal_entry_line DROP CONSTRAINT journal_entry_line_entry_id_fkey;
ALTER TABLE ar.match_proposal DROP CONSTRAINT match_proposal_bank_transaction_id_fkey;
ALTER TABLE ar.order_block DROP CONSTRAINT order_block_company_id_customer_id_fkey;
ALTER TABLE ar.payment_plan DROP CONSTRAINT payment_plan_customer_id_fkey;
ALTER TABLE ar.payment_plan_instalment DROP CONSTRAINT payment_plan_instalment_plan_id_fkey;
ALTER TABLE ar.payment_plan_invoice DROP CONSTRAINT payment_plan_invoice_invoice_id_fkey;
ALTER TABLE ar.payment_plan_invoice DROP CONSTRAINT payment_plan_invoice_plan_id_fkey;
ALTER TABLE ar.payment_promise DROP CONSTRAINT payment_promise_invoice_id_fkey;
ALTER TABLE ar.penalty_claim DROP CONSTRAINT penalty_claim_invoice_id_fkey;
ALTER TABLE ar.penalty_claim DROP CONSTRAINT penalty_claim_penalty_invoice_id_fkey;
ALTER TABLE ar.reconcile_adjustment DROP CONSTRAINT reconcile_adjustment_allocation_id_fkey;
ALTER TABLE ar.reconcile_adjustment DROP CONSTRAINT reconcile_adjustment_bank_transaction_id_fkey;
ALTER TABLE ar.sepa_mandate DROP CONSTRAINT sepa_mandate_company_id_customer_id_fkey;
ALTER TABLE ar.small_balance_action DROP CONSTRAINT small_balance_action_company_id_customer_id_fkey;
ALTER TABLE ar.small_balance_action DROP CONSTRAINT small_balance_action_customer_credit_id_fkey;
ALTER TABLE ar.small_balance_action DROP CONSTRAINT small_balance_action_invoice_id_fkey;
ALTER TABLE ar.statement_notice DROP CONSTRAINT statement_notice_company_id_customer_id_fkey;
ALTER TABLE ar.write_off_reversal DROP CONSTRAINT write_off_reversal_invoice_id_fkey;

-- primary keys and unique constraints
ALTER TABLE ar.accounting_export DROP CONSTRAINT accounting_export_pkey, ADD CONSTRAINT accounting_export_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.allocation DROP CONSTRAINT allocation_pkey, ADD CONSTRAINT allocation_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.audit_log DROP CONSTRAINT audit_log_pkey, ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.audit_redaction DROP CONSTRAINT audit_redaction_pkey, ADD CONSTRAINT audit_redaction_pkey PRIMARY KEY (audit_id, anonymisation_id, company_id);
ALTER TABLE ar.bank_statement DROP CONSTRAINT bank_statement_pkey, ADD CONSTRAINT bank_statement_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.bank_transaction DROP CONSTRAINT bank_transaction_pkey, ADD CONSTRAINT bank_transaction_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.bank_transaction DROP CONSTRAINT bank_transaction_statement_line, ADD CONSTRAINT bank_transaction_statement_line UNIQUE (statement_id, line_no, company_id);
ALTER TABLE ar.batch_problem DROP CONSTRAINT batch_problem_batch_object_table_object_id_column_name_key, ADD CONSTRAINT batch_problem_batch_object_table_object_id_column_name_key UNIQUE NULLS NOT DISTINCT (batch, object_table, object_id, column_name, company_id);
ALTER TABLE ar.batch_problem DROP CONSTRAINT batch_problem_pkey, ADD CONSTRAINT batch_problem_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.communication DROP CONSTRAINT communication_pkey, ADD CONSTRAINT communication_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.credit_release DROP CONSTRAINT credit_release_pkey, ADD CONSTRAINT credit_release_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.customer DROP CONSTRAINT customer_pkey, ADD CONSTRAINT customer_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.customer_bank_account DROP CONSTRAINT customer_bank_account_customer_id_iban_key, ADD CONSTRAINT customer_bank_account_customer_id_iban_key UNIQUE (customer_id, iban, company_id);
ALTER TABLE ar.customer_bank_account DROP CONSTRAINT customer_bank_account_pkey, ADD CONSTRAINT customer_bank_account_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.customer_credit DROP CONSTRAINT customer_credit_pkey, ADD CONSTRAINT customer_credit_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.customer_dunning_policy DROP CONSTRAINT customer_dunning_policy_pkey, ADD CONSTRAINT customer_dunning_policy_pkey PRIMARY KEY (customer_id, company_id);
ALTER TABLE ar.direct_debit_collection DROP CONSTRAINT direct_debit_collection_pkey, ADD CONSTRAINT direct_debit_collection_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.direct_debit_line DROP CONSTRAINT direct_debit_line_pkey, ADD CONSTRAINT direct_debit_line_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.direct_debit_line_invoice DROP CONSTRAINT direct_debit_line_invoice_pkey, ADD CONSTRAINT direct_debit_line_invoice_pkey PRIMARY KEY (line_id, invoice_id, company_id);
ALTER TABLE ar.dispute DROP CONSTRAINT dispute_pkey, ADD CONSTRAINT dispute_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.dunning_block DROP CONSTRAINT dunning_block_pkey, ADD CONSTRAINT dunning_block_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.dunning_notice DROP CONSTRAINT dunning_notice_once_per_run_date, ADD CONSTRAINT dunning_notice_once_per_run_date UNIQUE (customer_id, currency, as_of, company_id);
ALTER TABLE ar.dunning_notice DROP CONSTRAINT dunning_notice_pkey, ADD CONSTRAINT dunning_notice_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.dunning_account DROP CONSTRAINT dunning_account_pkey, ADD CONSTRAINT dunning_account_pkey PRIMARY KEY (customer_id, currency, company_id);
ALTER TABLE ar.einvoice_outbox DROP CONSTRAINT einvoice_outbox_once, ADD CONSTRAINT einvoice_outbox_once UNIQUE (allocation_id, kind, company_id);
ALTER TABLE ar.einvoice_outbox DROP CONSTRAINT einvoice_outbox_pkey, ADD CONSTRAINT einvoice_outbox_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.einvoice_status DROP CONSTRAINT einvoice_status_once, ADD CONSTRAINT einvoice_status_once UNIQUE (invoice_id, code, status_at, company_id);
ALTER TABLE ar.einvoice_status DROP CONSTRAINT einvoice_status_pkey, ADD CONSTRAINT einvoice_status_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.invoice DROP CONSTRAINT invoice_pkey, ADD CONSTRAINT invoice_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.journal_entry DROP CONSTRAINT journal_entry_export_id_source_kind_source_id_key, ADD CONSTRAINT journal_entry_export_id_source_kind_source_id_key UNIQUE (export_id, source_kind, source_id, company_id);
ALTER TABLE ar.journal_entry DROP CONSTRAINT journal_entry_pkey, ADD CONSTRAINT journal_entry_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.journal_entry_line DROP CONSTRAINT journal_entry_line_entry_id_line_no_key, ADD CONSTRAINT journal_entry_line_entry_id_line_no_key UNIQUE (entry_id, line_no, company_id);
ALTER TABLE ar.journal_entry_line DROP CONSTRAINT journal_entry_line_pkey, ADD CONSTRAINT journal_entry_line_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.match_proposal DROP CONSTRAINT match_proposal_pkey, ADD CONSTRAINT match_proposal_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.order_block DROP CONSTRAINT order_block_pkey, ADD CONSTRAINT order_block_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.payment_plan DROP CONSTRAINT payment_plan_pkey, ADD CONSTRAINT payment_plan_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.payment_plan_instalment DROP CONSTRAINT payment_plan_instalment_id_key, ADD CONSTRAINT payment_plan_instalment_id_key UNIQUE (id, company_id);
ALTER TABLE ar.payment_plan_instalment DROP CONSTRAINT payment_plan_instalment_pkey, ADD CONSTRAINT payment_plan_instalment_pkey PRIMARY KEY (plan_id, seq, company_id);
ALTER TABLE ar.payment_plan_invoice DROP CONSTRAINT payment_plan_invoice_id_key, ADD CONSTRAINT payment_plan_invoice_id_key UNIQUE (id, company_id);
ALTER TABLE ar.payment_plan_invoice DROP CONSTRAINT payment_plan_invoice_pkey, ADD CONSTRAINT payment_plan_invoice_pkey PRIMARY KEY (plan_id, invoice_id, company_id);
ALTER TABLE ar.payment_promise DROP CONSTRAINT payment_promise_pkey, ADD CONSTRAINT payment_promise_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.penalty_claim DROP CONSTRAINT penalty_claim_invoice_id_key, ADD CONSTRAINT penalty_claim_invoice_id_key UNIQUE (invoice_id, company_id);
ALTER TABLE ar.penalty_claim DROP CONSTRAINT penalty_claim_penalty_invoice_id_key, ADD CONSTRAINT penalty_claim_penalty_invoice_id_key UNIQUE (penalty_invoice_id, company_id);
ALTER TABLE ar.penalty_claim DROP CONSTRAINT penalty_claim_pkey, ADD CONSTRAINT penalty_claim_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.reconcile_adjustment DROP CONSTRAINT reconcile_adjustment_pkey, ADD CONSTRAINT reconcile_adjustment_pkey PRIMARY KEY (allocation_id, company_id);
ALTER TABLE ar.reconcile_line DROP CONSTRAINT reconcile_line_pkey, ADD CONSTRAINT reconcile_line_pkey PRIMARY KEY (bank_transaction_id, company_id);
ALTER TABLE ar.sepa_mandate DROP CONSTRAINT sepa_mandate_pkey, ADD CONSTRAINT sepa_mandate_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.small_balance_action DROP CONSTRAINT small_balance_action_pkey, ADD CONSTRAINT small_balance_action_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.statement_notice DROP CONSTRAINT statement_notice_pkey, ADD CONSTRAINT statement_notice_pkey PRIMARY KEY (id, company_id);
ALTER TABLE ar.write_off_reversal DROP CONSTRAINT write_off_reversal_pkey, ADD CONSTRAINT write_off_reversal_pkey PRIMARY KEY (allocation_id, company_id);

-- unique indexes
DROP INDEX ar.direct_debit_line_invoice_pending;
CREATE UNIQUE INDEX direct_debit_line_invoice_pending ON ar.direct_debit_line_invoice (invoice_id, company_id) WHERE pending;
DROP INDEX ar.dispute_one_open;
CREATE UNIQUE INDEX dispute_one_open ON ar.dispute (invoice_id, company_id) WHERE resolved_at IS NULL;
DROP INDEX ar.dunning_notice_level_once_per_cycle;
CREATE UNIQUE INDEX dunning_notice_level_once_per_cycle ON ar.dunning_notice (customer_id, currency, cycle, level, company_id) WHERE status = ANY (ARRAY['queued'::text, 'sent'::text]);
DROP INDEX ar.gdpr_anonymisation_customer;
CREATE UNIQUE INDEX gdpr_anonymisation_customer ON ar.gdpr_anonymisation (customer_id, company_id);
DROP INDEX ar.order_block_one_active;
CREATE UNIQUE INDEX order_block_one_active ON ar.order_block (customer_id, company_id) WHERE lifted_at IS NULL;
DROP INDEX ar.statement_notice_once_per_period;
CREATE UNIQUE INDEX statement_notice_once_per_period ON ar.statement_notice (customer_id, from_date, to_date, company_id) WHERE status = ANY (ARRAY['queued'::text, 'sent'::text]);

-- the foreign keys, through (x_id, company_id)
ALTER TABLE ar.allocation ADD CONSTRAINT allocation_customer_credit_id_fkey FOREIGN KEY (customer_credit_id, company_id) REFERENCES ar.customer_credit (id, company_id);
ALTER TABLE ar.audit_redaction ADD CONSTRAINT audit_redaction_audit_id_fkey FOREIGN KEY (audit_id, company_id) REFERENCES ar.audit_log (id, company_id);
ALTER TABLE ar.bank_transaction ADD CONSTRAINT bank_transaction_statement_id_fkey FOREIGN KEY (statement_id, company_id) REFERENCES ar.bank_statement (id, company_id);
ALTER TABLE ar.credit_release ADD CONSTRAINT credit_release_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.credit_release ADD CONSTRAINT credit_release_customer_credit_id_fkey FOREIGN KEY (customer_credit_id, company_id) REFERENCES ar.customer_credit (id, company_id);
ALTER TABLE ar.customer_bank_account ADD CONSTRAINT customer_bank_account_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id) ON DELETE CASCADE;
ALTER TABLE ar.customer_credit ADD CONSTRAINT customer_credit_bank_transaction_id_fkey FOREIGN KEY (bank_transaction_id, company_id) REFERENCES ar.bank_transaction (id, company_id);
ALTER TABLE ar.customer_credit ADD CONSTRAINT customer_credit_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.customer_credit ADD CONSTRAINT customer_credit_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.customer_dunning_policy ADD CONSTRAINT customer_dunning_policy_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id) ON DELETE CASCADE;
ALTER TABLE ar.direct_debit_line ADD CONSTRAINT direct_debit_line_company_id_collection_id_fkey FOREIGN KEY (collection_id, company_id) REFERENCES ar.direct_debit_collection (id, company_id);
ALTER TABLE ar.direct_debit_line ADD CONSTRAINT direct_debit_line_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.direct_debit_line ADD CONSTRAINT direct_debit_line_mandate_id_fkey FOREIGN KEY (mandate_id, company_id) REFERENCES ar.sepa_mandate (id, company_id);
ALTER TABLE ar.direct_debit_line ADD CONSTRAINT direct_debit_line_return_transaction_id_fkey FOREIGN KEY (return_transaction_id, company_id) REFERENCES ar.bank_transaction (id, company_id);
ALTER TABLE ar.direct_debit_line ADD CONSTRAINT direct_debit_line_settlement_transaction_id_fkey FOREIGN KEY (settlement_transaction_id, company_id) REFERENCES ar.bank_transaction (id, company_id);
ALTER TABLE ar.direct_debit_line_invoice ADD CONSTRAINT direct_debit_line_invoice_company_id_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.direct_debit_line_invoice ADD CONSTRAINT direct_debit_line_invoice_line_id_fkey FOREIGN KEY (line_id, company_id) REFERENCES ar.direct_debit_line (id, company_id);
ALTER TABLE ar.dispute ADD CONSTRAINT dispute_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.dunning_block ADD CONSTRAINT dunning_block_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.einvoice_outbox ADD CONSTRAINT einvoice_outbox_company_id_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.einvoice_status ADD CONSTRAINT einvoice_status_company_id_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.einvoice_status ADD CONSTRAINT einvoice_status_dispute_id_fkey FOREIGN KEY (dispute_id, company_id) REFERENCES ar.dispute (id, company_id);
ALTER TABLE ar.gdpr_anonymisation ADD CONSTRAINT gdpr_anonymisation_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.invoice ADD CONSTRAINT invoice_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.journal_entry ADD CONSTRAINT journal_entry_company_id_export_id_fkey FOREIGN KEY (export_id, company_id) REFERENCES ar.accounting_export (id, company_id);
ALTER TABLE ar.journal_entry_line ADD CONSTRAINT journal_entry_line_entry_id_fkey FOREIGN KEY (entry_id, company_id) REFERENCES ar.journal_entry (id, company_id);
ALTER TABLE ar.match_proposal ADD CONSTRAINT match_proposal_bank_transaction_id_fkey FOREIGN KEY (bank_transaction_id, company_id) REFERENCES ar.bank_transaction (id, company_id) ON DELETE CASCADE;
ALTER TABLE ar.order_block ADD CONSTRAINT order_block_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.payment_plan ADD CONSTRAINT payment_plan_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.payment_plan_instalment ADD CONSTRAINT payment_plan_instalment_plan_id_fkey FOREIGN KEY (plan_id, company_id) REFERENCES ar.payment_plan (id, company_id) ON DELETE CASCADE;
ALTER TABLE ar.payment_plan_invoice ADD CONSTRAINT payment_plan_invoice_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.payment_plan_invoice ADD CONSTRAINT payment_plan_invoice_plan_id_fkey FOREIGN KEY (plan_id, company_id) REFERENCES ar.payment_plan (id, company_id) ON DELETE CASCADE;
ALTER TABLE ar.payment_promise ADD CONSTRAINT payment_promise_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.penalty_claim ADD CONSTRAINT penalty_claim_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.penalty_claim ADD CONSTRAINT penalty_claim_penalty_invoice_id_fkey FOREIGN KEY (penalty_invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.reconcile_adjustment ADD CONSTRAINT reconcile_adjustment_allocation_id_fkey FOREIGN KEY (allocation_id, company_id) REFERENCES ar.allocation (id, company_id) ON DELETE CASCADE;
ALTER TABLE ar.reconcile_adjustment ADD CONSTRAINT reconcile_adjustment_bank_transaction_id_fkey FOREIGN KEY (bank_transaction_id, company_id) REFERENCES ar.bank_transaction (id, company_id) ON DELETE CASCADE;
ALTER TABLE ar.sepa_mandate ADD CONSTRAINT sepa_mandate_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.small_balance_action ADD CONSTRAINT small_balance_action_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.small_balance_action ADD CONSTRAINT small_balance_action_customer_credit_id_fkey FOREIGN KEY (customer_credit_id, company_id) REFERENCES ar.customer_credit (id, company_id);
ALTER TABLE ar.small_balance_action ADD CONSTRAINT small_balance_action_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id);
ALTER TABLE ar.statement_notice ADD CONSTRAINT statement_notice_company_id_customer_id_fkey FOREIGN KEY (customer_id, company_id) REFERENCES ar.customer (id, company_id);
ALTER TABLE ar.write_off_reversal ADD CONSTRAINT write_off_reversal_invoice_id_fkey FOREIGN KEY (invoice_id, company_id) REFERENCES ar.invoice (id, company_id) ON DELETE CASCADE;
