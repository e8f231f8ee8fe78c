-- ---------------------------------------------------------------------------
-- Legal archiving and GDPR (doc/gdpr.md).
--
-- ar.anonymise_customer(customer, reason) replaces a customer's personal
-- data, in the live tables and in the row images of the audit trail, once
-- no item of the customer is open and the legal retention of its accounting
-- documents has run out (ar.retention_policy: 10 years by default, Code de
-- commerce L123-22, from the end of the fiscal year of the customer's last
-- accounting document).  ar.retention_report(as_of) tells who may be
-- anonymised when, and what blocks the others.
--
-- The audit chain keeps verifying: a sealed audit row whose images are
-- redacted keeps its row_hash (the chain links do not move); an
-- ar.audit_redaction record per redacted row keeps the SHA-256 of its
-- content before and after, and the anonymisation's own row
-- (ar.gdpr_anonymisation, audited and so chained after every row it
-- redacted) carries manifest_sha256, the digest of all its records.
-- ar.verify_audit_chain() checks a redacted row's content against its latest
-- record, and every anonymisation's records against the manifest of its
-- chained audit image.
-- ---------------------------------------------------------------------------

-- --------------------------------------------------------------- retention

CREATE TABLE ar.retention_policy (
	company_id             bigint PRIMARY KEY REFERENCES ar.company ON DELETE CASCADE,
	accounting_years       integer NOT NULL DEFAULT 10
		CONSTRAINT retention_policy_years CHECK (accounting_years BETWEEN 1 AND 100),
	fiscal_year_end_month  integer NOT NULL DEFAULT 12
		CONSTRAINT retention_policy_month CHECK (fiscal_year_end_month BETWEEN 1 AND 12),
	updated_at             timestamptz NOT NULL DEFAULT now(),
	updated_by             text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE ar.retention_policy IS 'Legal retention of a company''s accounting documents (doc/gdpr.md); a company without a row: 10 years from the end of a fiscal year ending in December (Code de commerce L123-22).';
COMMENT ON COLUMN ar.retention_policy.company_id IS 'The company.';
COMMENT ON COLUMN ar.retention_policy.accounting_years IS 'Years the accounting documents are kept, counted from the end of the fiscal year of the last one.';
COMMENT ON COLUMN ar.retention_policy.fiscal_year_end_month IS 'Month whose last day ends the company''s fiscal year (12: the calendar year).';
COMMENT ON COLUMN ar.retention_policy.updated_at IS 'When the row was written.';
COMMENT ON COLUMN ar.retention_policy.updated_by IS 'Session user who wrote it.';

-- The last day of the fiscal year (ending with month fy_month) containing day.
CREATE FUNCTION ar.fiscal_year_end(day date, fy_month integer) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT (make_date(extract(year FROM day)::integer + CASE WHEN extract(month FROM day) > fy_month THEN 1 ELSE 0 END,
	                  fy_month, 1) + interval '1 month' - interval '1 day')::date
$$;
COMMENT ON FUNCTION ar.fiscal_year_end(date, integer) IS 'The last day of the fiscal year that ends with month fy_month and contains day.';

-- Where a customer stands: its last accounting document, until when the law
-- keeps it, what is still open.  Invoker's rights: the caller's row-level
-- security applies (the SECURITY DEFINER caller acts for every company).
CREATE FUNCTION ar._gdpr_status(customer_id bigint, as_of date,
                                OUT last_document_on date, OUT retention_until date,
                                OUT open_items text[], OUT legal_basis text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c ar.customer;
	p ar.retention_policy;
	n bigint;
	amt text;
BEGIN
	SELECT * INTO c FROM ar.customer x WHERE x.id = _gdpr_status.customer_id;
	SELECT * INTO p FROM ar.retention_policy r WHERE r.company_id = c.company_id;
	p.accounting_years := coalesce(p.accounting_years, 10);
	p.fiscal_year_end_month := coalesce(p.fiscal_year_end_month, 12);
	legal_basis := format('accounting documents kept %s years from the end of the fiscal year (ending in month %s) of the last one (Code de commerce L123-22)',
	                      p.accounting_years, p.fiscal_year_end_month);
	SELECT max(d) INTO last_document_on FROM (
		SELECT greatest(i.issue_date, i.cancelled_on) FROM ar.invoice i
		 WHERE i.customer_id = c.id AND i.company_id = c.company_id
		UNION ALL
		SELECT a.allocated_on FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id AND i.company_id = a.company_id
		 WHERE i.customer_id = c.id AND i.company_id = c.company_id
		UNION ALL
		SELECT t.booking_date FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id AND i.company_id = a.company_id
		  JOIN ar.bank_transaction t ON t.id = a.bank_transaction_id AND t.company_id = a.company_id
		 WHERE i.customer_id = c.id AND i.company_id = c.company_id
		UNION ALL
		SELECT cc.created_on FROM ar.customer_credit cc WHERE cc.customer_id = c.id AND cc.company_id = c.company_id
		UNION ALL
		SELECT t.booking_date FROM ar.customer_credit cc
		  JOIN ar.bank_transaction t ON t.id = cc.bank_transaction_id AND t.company_id = cc.company_id
		 WHERE cc.customer_id = c.id AND cc.company_id = c.company_id
		UNION ALL
		-- a credit refunded or written off
		SELECT r.released_on FROM ar.credit_release r WHERE r.customer_id = c.id AND r.company_id = c.company_id
		UNION ALL
		-- small balances refunded, written off or reversed
		SELECT greatest(s.refunded_on, s.reversed_at::date) FROM ar.small_balance_action s
		 WHERE s.customer_id = c.id AND s.company_id = c.company_id
		UNION ALL
		-- a write-off reversed (its allocation gone): the write-off, the reversal, the line
		SELECT greatest(w.written_off_on, w.reversed_at::date, t.booking_date) FROM ar.write_off_reversal w
		  JOIN ar.invoice i ON i.id = w.invoice_id AND i.company_id = w.company_id
		  LEFT JOIN ar.bank_transaction t ON t.id = w.bank_transaction_id AND t.company_id = w.company_id
		 WHERE i.customer_id = c.id AND i.company_id = c.company_id
		UNION ALL
		-- its direct debits: settled, returned, and the bank line of the return
		SELECT greatest(d.settled_on, d.returned_on, t.booking_date) FROM ar.direct_debit_line d
		  LEFT JOIN ar.bank_transaction t ON t.id = d.return_transaction_id AND t.company_id = d.company_id
		 WHERE d.customer_id = c.id AND d.company_id = c.company_id
		UNION ALL
		-- the entries of the accounting exports on its account
		SELECT e.entry_date FROM ar.journal_entry_line l
		  JOIN ar.journal_entry e ON e.id = l.entry_id AND e.company_id = l.company_id
		 WHERE l.customer_id = c.id AND l.company_id = c.company_id
	) docs(d);
	IF last_document_on IS NOT NULL THEN
		retention_until := (ar.fiscal_year_end(last_document_on, p.fiscal_year_end_month)
		                    + make_interval(years => p.accounting_years))::date;
		-- a fiscal year ending in February ends on its last day, in leap years too
		retention_until := (date_trunc('month', retention_until) + interval '1 month' - interval '1 day')::date;
	END IF;
	open_items := '{}';
	SELECT count(*), string_agg(DISTINCT i.currency || ' ' || i.open_amount, ', ') INTO n, amt
	  FROM ar.invoice i
	 WHERE i.customer_id = c.id AND i.company_id = c.company_id AND i.open_amount <> 0 AND i.status <> 'cancelled';
	IF n > 0 THEN open_items := open_items || format('%s open invoice(s)', n); END IF;
	SELECT count(*) INTO n FROM ar.customer_credit cc
	 WHERE cc.customer_id = c.id AND cc.company_id = c.company_id AND cc.remaining > 0;
	IF n > 0 THEN open_items := open_items || format('%s unused credit(s)', n); END IF;
	SELECT count(*) INTO n FROM ar.payment_promise pp
	 WHERE pp.customer_id = c.id AND pp.company_id = c.company_id AND pp.status = 'pending';
	IF n > 0 THEN open_items := open_items || format('%s pending payment promise(s)', n); END IF;
	SELECT count(*) INTO n FROM ar.dispute d
	 WHERE d.customer_id = c.id AND d.company_id = c.company_id AND d.resolved_at IS NULL;
	IF n > 0 THEN open_items := open_items || format('%s open dispute(s)', n); END IF;
	SELECT count(*) INTO n FROM ar.payment_plan pl
	 WHERE pl.customer_id = c.id AND pl.company_id = c.company_id AND pl.status = 'active';
	IF n > 0 THEN open_items := open_items || format('%s active payment plan(s)', n); END IF;
	SELECT count(*) INTO n FROM ar.dunning_notice dn
	 WHERE dn.customer_id = c.id AND dn.company_id = c.company_id AND dn.status = 'queued';
	IF n > 0 THEN open_items := open_items || format('%s queued dunning notice(s)', n); END IF;
	SELECT count(*) INTO n FROM ar.match_proposal mp
	 WHERE mp.customer_id = c.id AND mp.company_id = c.company_id AND mp.status = 'pending';
	IF n > 0 THEN open_items := open_items || format('%s pending match proposal(s)', n); END IF;
	-- SEPA direct debits sent and not yet settled or returned
	SELECT count(*) INTO n FROM ar.direct_debit_line d
	 WHERE d.customer_id = c.id AND d.company_id = c.company_id AND d.status = 'pending';
	IF n > 0 THEN open_items := open_items || format('%s pending direct debit(s)', n); END IF;
END $$;

-- ar.retention_report reads every customer's documents, one customer at a
-- time: its credit releases and journal lines by customer
CREATE INDEX credit_release_customer ON ar.credit_release (customer_id);
CREATE INDEX journal_entry_line_customer ON ar.journal_entry_line (customer_id) WHERE customer_id IS NOT NULL;

-- ------------------------------------------------------- anonymisations

CREATE TABLE ar.gdpr_anonymisation (
	id                   bigint GENERATED BY DEFAULT AS IDENTITY,
	company_id           bigint NOT NULL,
	customer_id          bigint NOT NULL,
	customer_code        text NOT NULL,
	reason               text NOT NULL CONSTRAINT gdpr_anonymisation_reason
		CHECK (char_length(btrim(reason)) BETWEEN 1 AND 500 AND reason !~ E'[\\x01-\\x1f\\x7f-\\x9f\\u2028\\u2029]'),
	status               text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
	anonymised_at        timestamptz NOT NULL DEFAULT now(),
	anonymised_by        text NOT NULL,
	txid                 xid8 NOT NULL DEFAULT pg_current_xact_id(),
	last_document_on     date,
	retention_until      date,
	live_rows            bigint,
	audit_rows_redacted  bigint,
	manifest_sha256      bytea,
	PRIMARY KEY (id, company_id),   -- with its company, as every key of company data
	FOREIGN KEY (company_id, customer_id) REFERENCES ar.customer (company_id, id)
);
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
	('gdpr_anonymisation', 'last_document_on', 'date', NULL);
CREATE UNIQUE INDEX gdpr_anonymisation_customer ON ar.gdpr_anonymisation (customer_id);
CREATE INDEX gdpr_anonymisation_running ON ar.gdpr_anonymisation (txid) WHERE status = 'running';
COMMENT ON TABLE ar.gdpr_anonymisation IS 'One row per anonymised customer (ar.anonymise_customer, doc/gdpr.md); audited, and so chained after every audit row it redacted.';
COMMENT ON COLUMN ar.gdpr_anonymisation.id IS 'The anonymisation.';
COMMENT ON COLUMN ar.gdpr_anonymisation.company_id IS 'The customer''s company.';
COMMENT ON COLUMN ar.gdpr_anonymisation.customer_id IS 'The anonymised customer (its row, its code and its books stay).';
COMMENT ON COLUMN ar.gdpr_anonymisation.customer_code IS 'The customer''s code (a reference, kept).';
COMMENT ON COLUMN ar.gdpr_anonymisation.reason IS 'Why (e.g. the request''s reference and date): no personal data here.';
COMMENT ON COLUMN ar.gdpr_anonymisation.status IS 'running inside ar.anonymise_customer, done once committed.';
COMMENT ON COLUMN ar.gdpr_anonymisation.anonymised_at IS 'When.';
COMMENT ON COLUMN ar.gdpr_anonymisation.anonymised_by IS 'The admin role that anonymised (ar._caller()).';
COMMENT ON COLUMN ar.gdpr_anonymisation.txid IS 'Its transaction: the audit rows it redacted may change only there.';
COMMENT ON COLUMN ar.gdpr_anonymisation.last_document_on IS 'Date of the customer''s last accounting document at the time.';
COMMENT ON COLUMN ar.gdpr_anonymisation.retention_until IS 'End of the legal retention of those documents (past on the day of the anonymisation).';
COMMENT ON COLUMN ar.gdpr_anonymisation.live_rows IS 'Rows of the live tables changed or deleted.';
COMMENT ON COLUMN ar.gdpr_anonymisation.audit_rows_redacted IS 'Sealed audit rows whose images were redacted (each with an ar.audit_redaction record).';
COMMENT ON COLUMN ar.gdpr_anonymisation.manifest_sha256 IS 'sha256 of its ar.audit_redaction records (audit_id:row_hash:original:redacted, hex, one line each, in audit_id order).';

CREATE TABLE ar.audit_redaction (
	audit_id          bigint NOT NULL REFERENCES ar.audit_log,
	anonymisation_id  bigint NOT NULL,
	original_sha256   bytea NOT NULL,
	redacted_sha256   bytea NOT NULL,
	company_id        bigint NOT NULL,
	PRIMARY KEY (audit_id, anonymisation_id),
	FOREIGN KEY (anonymisation_id, company_id) REFERENCES ar.gdpr_anonymisation (id, company_id)
);
CREATE INDEX audit_redaction_anonymisation ON ar.audit_redaction (anonymisation_id);
COMMENT ON TABLE ar.audit_redaction IS 'One row per sealed audit row an anonymisation redacted: the digests that let ar.verify_audit_chain() check it (doc/gdpr.md).';
COMMENT ON COLUMN ar.audit_redaction.audit_id IS 'The redacted ar.audit_log row (its row_hash is unchanged).';
COMMENT ON COLUMN ar.audit_redaction.anonymisation_id IS 'The ar.gdpr_anonymisation that redacted it.';
COMMENT ON COLUMN ar.audit_redaction.company_id IS 'The company of that anonymisation (and of the customer whose rows were redacted).';
COMMENT ON COLUMN ar.audit_redaction.original_sha256 IS 'sha256(ar.audit_row_content(row, seq)) before the redaction: who holds the original can prove it.';
COMMENT ON COLUMN ar.audit_redaction.redacted_sha256 IS 'sha256(ar.audit_row_content(row, seq)) after it: what the row holds now.';

CREATE FUNCTION ar._audit_redaction_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'ar.audit_redaction is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_redaction_append_only BEFORE UPDATE OR DELETE ON ar.audit_redaction
	FOR EACH ROW EXECUTE FUNCTION ar._audit_redaction_guard();
CREATE TRIGGER audit_redaction_no_truncate BEFORE TRUNCATE ON ar.audit_redaction
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- Only ar.anonymise_customer writes the anonymisation log.
CREATE FUNCTION ar._gdpr_anonymisation_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.status = 'running' AND ar._gdpr_redacting(TG_RELID)
	   AND (NEW.id, NEW.company_id, NEW.customer_id, NEW.txid) = (OLD.id, OLD.company_id, OLD.customer_id, OLD.txid) THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'ar.gdpr_anonymisation is written by ar.anonymise_customer() only'
		USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER gdpr_anonymisation_guard BEFORE UPDATE OR DELETE ON ar.gdpr_anonymisation
	FOR EACH ROW EXECUTE FUNCTION ar._gdpr_anonymisation_guard();
CREATE TRIGGER gdpr_anonymisation_no_truncate BEFORE TRUNCATE ON ar.gdpr_anonymisation
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- The table target as a trigger firing on the table fired_on reads it:
-- target itself on one node; from a shard of a distributed table, the shard
-- of target co-located with it on this node (Citus: a query on a shard
-- may reach co-located shards only, and this distributed transaction's
-- rows of the company are there), NULL when there is none here.
CREATE FUNCTION ar._colocated_here(fired_on regclass, target regclass) RETURNS regclass
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	logical regclass := to_regclass(format('ar.%I', ar._logical_table_name(fired_on)));
BEGIN
	IF logical = fired_on THEN
		RETURN target;
	END IF;
	RETURN ar._colocated_shard(fired_on, logical, target);
END $$;

-- Is an anonymisation running in this transaction (inside
-- ar.anonymise_customer)?  The append-only guards of the audit trail, the
-- communications log and the notices, firing on fired_on, let its
-- redaction through.  Its row 'running', inserted by this transaction:
-- the row's xmin, not its txid, because on a shard the node's transaction
-- is not the coordinator's (a row 'running' is never committed: the
-- function marks it done before it returns, and nothing else writes it).
CREATE FUNCTION ar._gdpr_redacting(fired_on regclass) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	anonymisations regclass := ar._colocated_here(fired_on, 'ar.gdpr_anonymisation');
	running boolean := false;
BEGIN
	IF anonymisations IS NOT NULL THEN
		EXECUTE format('SELECT EXISTS (SELECT FROM %s g WHERE g.status = ''running'' AND ar._xid_is_current(g.xmin))',
		               anonymisations)
		   INTO running;
	END IF;
	RETURN running;
END $$;

-- Whether a row's xmin is this transaction or one of its subtransactions
-- (src/xact_state.c).
CREATE FUNCTION ar._xid_is_current(xid) RETURNS boolean
LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'ar_xid_is_current';

-- The hash an audit row keeps when ar.anonymise_customer redacts its
-- images (before: the row, after: its new version, as jsonb), asked by the
-- guard firing on log_rel (ar.audit_log, or its shard on a node of a
-- distributed trail: whether a row is sealed depends on that node's
-- transaction, and the record goes into the co-located shard).  A row of
-- this transaction not sealed yet is hashed again, as written; a sealed one
-- keeps its hash, and its ar.audit_redaction record (its digests before and
-- after) names the anonymisation running here.
CREATE FUNCTION ar._gdpr_redacted_row_hash(log_rel regclass, before jsonb, after jsonb) RETURNS bytea
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	old_version ar.audit_log := jsonb_populate_record(NULL::ar.audit_log, before);
	new_version ar.audit_log := jsonb_populate_record(NULL::ar.audit_log, after);
	seal_rel regclass := ar._colocated_here(log_rel, 'ar.audit_seal');
	sealed boolean := old_version.seq IS NOT NULL OR old_version.txid <> pg_current_xact_id();
	g record;
BEGIN
	IF NOT sealed THEN
		EXECUTE format('SELECT EXISTS (SELECT FROM %s s WHERE s.txid = $1 AND s.company_id = $2 AND $3 BETWEEN s.first_id AND s.last_id)',
		               seal_rel)
		   INTO sealed USING old_version.txid, old_version.company_id, old_version.id;
	END IF;
	IF NOT sealed THEN
		RETURN sha256(ar.audit_row_content(new_version, NULL));
	END IF;
	EXECUTE format('SELECT g.id, g.company_id FROM %s g WHERE g.status = ''running'' AND ar._xid_is_current(g.xmin)',
	               ar._colocated_here(log_rel, 'ar.gdpr_anonymisation'))
	   INTO g;
	EXECUTE format('INSERT INTO %s (audit_id, anonymisation_id, original_sha256, redacted_sha256, company_id)
	                VALUES ($1, $2, $3, $4, $5)', ar._colocated_here(log_rel, 'ar.audit_redaction'))
	  USING old_version.id, g.id, sha256(ar.audit_row_content(old_version, old_version.seq)),
	        sha256(ar.audit_row_content(new_version, old_version.seq)), g.company_id;
	RETURN old_version.row_hash;
END $$;

-- What holds personal data, and how it is replaced.  link: how a row belongs
-- to the customer (self: its id; customer: customer_id; invoice: invoice_id
-- among the customer's invoices; line: its id among the customer's bank
-- lines; line_ref: bank_transaction_id among them).  action: pseudonym
-- (the customer's name), null, text ('[anonymised]' where not NULL),
-- delete (the row goes).  sweep: the column's values are personal values
-- searched and replaced in every free text and row image of the company.
-- Rows naming a table or column that does not exist are skipped.
CREATE FUNCTION ar.gdpr_personal_columns()
RETURNS TABLE (table_name text, column_name text, link text, action text, sweep boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT * FROM (VALUES
		('customer', 'name', 'self', 'pseudonym', true),
		('customer', 'email', 'self', 'null', true),
		('customer', 'phone', 'self', 'null', true),
		('customer', 'address_line1', 'self', 'null', true),
		('customer', 'address_line2', 'self', 'null', true),
		('customer', 'postcode', 'self', 'null', false),
		('customer', 'city', 'self', 'null', false),
		('customer_bank_account', 'iban', 'customer', 'delete', true),
		('customer_bank_account', 'holder_name', 'customer', 'delete', true),
		('bank_transaction', 'counterparty_name', 'line', 'null', true),
		('bank_transaction', 'counterparty_iban', 'line', 'null', true),
		('bank_transaction', 'counterparty_account', 'line', 'null', true),
		('bank_transaction', 'counterparty_bic', 'line', 'null', false),
		('bank_transaction', 'remittance_info', 'line', 'null', false),
		('bank_transaction', 'booking_text', 'line', 'null', false),
		('bank_transaction', 'additional_info', 'line', 'null', false),
		('bank_transaction', 'raw', 'line', 'null', false),
		('reconcile_line', 'payer', 'line_ref', 'null', true),
		('match_proposal', 'reason', 'line_ref', 'text', false),
		('communication', 'summary', 'customer', 'text', false),
		('communication', 'detail', 'customer', 'text', false),
		('dunning_notice', 'subject', 'customer', 'text', false),
		('dunning_notice', 'body', 'customer', 'text', false),
		('dunning_notice', 'recipient', 'customer', 'null', true),
		('dunning_notice', 'status_detail', 'customer', 'null', false),
		('statement_notice', 'subject', 'customer', 'text', false),
		('statement_notice', 'body', 'customer', 'text', false),
		('statement_notice', 'body_html', 'customer', 'text', false),
		('statement_notice', 'recipient', 'customer', 'null', true),
		('statement_notice', 'status_detail', 'customer', 'null', false),
		('dispute', 'reason', 'customer', 'text', false),
		('dispute', 'resolution', 'customer', 'text', false),
		('dunning_block', 'reason', 'customer', 'text', false),
		('dunning_block', 'lift_reason', 'customer', 'text', false),
		('payment_plan', 'note', 'customer', 'text', false),
		('payment_plan', 'cancel_reason', 'customer', 'text', false),
		('customer_credit', 'note', 'customer', 'text', false),
		('allocation', 'note', 'invoice', 'text', false),
		('penalty_claim', 'reason', 'invoice', 'text', false),
		('write_off_reversal', 'reason', 'invoice', 'text', false),
		('write_off_reversal', 'reversal_reason', 'invoice', 'text', false),
		-- SEPA direct debit mandates
		('sepa_mandate', 'debtor_name', 'customer', 'pseudonym', true),
		('sepa_mandate', 'debtor_iban', 'customer', 'null', true),
		('sepa_mandate', 'debtor_bic', 'customer', 'null', false),
		('sepa_mandate', 'original_debtor_iban', 'customer', 'null', true)
	) v(table_name, column_name, link, action, sweep)
$$;
COMMENT ON FUNCTION ar.gdpr_personal_columns() IS 'The columns ar.anonymise_customer() replaces in the customer''s rows (and in their audit images): how a row belongs to the customer, what replaces the value, whether the value is searched in every free text (doc/gdpr.md).';

-- The personal columns with their type and whether they may be NULL.
CREATE FUNCTION ar._gdpr_columns()
RETURNS TABLE (table_name text, column_name text, link text, action text, sweep boolean, not_null boolean,
               column_type regtype)
LANGUAGE sql STABLE
AS $$
	SELECT p.table_name, p.column_name, p.link, p.action, p.sweep, a.attnotnull, a.atttypid::regtype
	  FROM ar.gdpr_personal_columns() p
	  JOIN pg_catalog.pg_attribute a
	    ON a.attrelid = to_regclass('ar.' || quote_ident(p.table_name)) AND a.attname = p.column_name
	   AND a.attnum > 0 AND NOT a.attisdropped
$$;

-- What replaces a personal value (NULL: NULL): a column that cannot be
-- NULL gets '[anonymised]', or an IBAN that is valid but designates no
-- account (FR76, then zeros).
CREATE FUNCTION ar._gdpr_replacement(action text, not_null boolean, column_type regtype, pseudonym text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN action = 'pseudonym' THEN pseudonym
		WHEN action = 'text' OR not_null THEN
			CASE WHEN column_type = 'ar.iban'::regtype THEN 'FR7600000000000000000000000' ELSE '[anonymised]' END
	END
$$;

-- How a row (its jsonb image) belongs to the customer.
CREATE FUNCTION ar._gdpr_belongs(link text, image jsonb, customer_id bigint, invoices bigint[], lines bigint[])
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE link
		WHEN 'self' THEN image->>'id' = customer_id::text
		WHEN 'customer' THEN image->>'customer_id' = customer_id::text
		WHEN 'invoice' THEN (image->>'invoice_id')::bigint = ANY (invoices)
		WHEN 'line' THEN (image->>'id')::bigint = ANY (lines)
		WHEN 'line_ref' THEN (image->>'bank_transaction_id')::bigint = ANY (lines)
		ELSE false
	END
$$;

-- The same condition on a live table, for its alias t; $1 customer id,
-- $2 its invoices, $3 its bank lines.
CREATE FUNCTION ar._gdpr_link_sql(link text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE link
		WHEN 'self' THEN 't.id = $1'
		WHEN 'customer' THEN 't.customer_id = $1'
		WHEN 'invoice' THEN 't.invoice_id = ANY ($2)'
		WHEN 'line' THEN 't.id = ANY ($3)'
		WHEN 'line_ref' THEN 't.bank_transaction_id = ANY ($3)'
	END
$$;

-- Every value of vals (longest first) replaced in value where it stands as
-- a whole: not where it is part of a longer word or number ("Person 17"
-- must not alter "Person 170"; "Lyon" must not alter "Lyonnaise").
CREATE FUNCTION ar._gdpr_scrub(value text, vals text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	v text;
BEGIN
	IF value IS NULL THEN
		RETURN NULL;
	END IF;
	FOREACH v IN ARRAY vals LOOP
		CONTINUE WHEN strpos(value, v) = 0;
		value := regexp_replace(value,
		                        '(?<![[:alnum:]_])' || regexp_replace(v, '([^[:alnum:][:space:]])', E'\\\\\\1', 'g') || '(?![[:alnum:]_])',
		                        '[anonymised]', 'g');
	END LOOP;
	RETURN value;
END $$;

-- The forms a personal value takes in the texts ar_collect and the banks
-- write: as written, brought to the SEPA character set (ar.sepa_transliterate:
-- the pain.008 files) or with German umlauts spelled out (ü -> ue: a
-- bank's counterparty name), each also upper-cased (as banks print names),
-- and each escaped for HTML (the statements' body_html) and for XML text.
-- Those of at least 4 characters, the replacements themselves excepted.
CREATE FUNCTION ar._gdpr_value_forms(vals text[], pseudonym text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT coalesce(array_agg(DISTINCT e.f), '{}')
	  FROM unnest(vals) v,
	       LATERAL (VALUES (v), (ar.sepa_transliterate(v)),
	                       (ar.sepa_transliterate(replace(replace(replace(replace(replace(replace(v,
	                            'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'Ä', 'Ae'), 'Ö', 'Oe'), 'Ü', 'Ue')))) t(f),
	       LATERAL (VALUES (t.f), (upper(t.f))) u(f),
	       LATERAL (VALUES (u.f), (ar.html_escape(u.f)),
	                       (replace(replace(replace(u.f, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'))) e(f)
	 WHERE char_length(btrim(e.f)) >= 4 AND btrim(e.f) NOT IN (pseudonym, upper(pseudonym), '[anonymised]', '[ANONYMISED]')
$$;
COMMENT ON FUNCTION ar._gdpr_value_forms(text[], text) IS 'The personal values with the forms they are written in elsewhere (SEPA-transliterated, umlauts spelled out, upper-case, HTML- and XML-escaped), for ar.anonymise_customer() (doc/gdpr.md).';

-- Columns and keys that are references, codes or states: never searched for
-- personal values; and the tables the search leaves alone (their personal
-- columns are the customer's own rows, replaced by rule; the company's own
-- data; the anonymisation's own records).
CREATE FUNCTION ar._gdpr_kept_columns() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT '{id,company_id,customer_id,code,number,status,kind,channel,currency,language,country,method,format,
	         payment_reference,statement_ref,structured_reference,end_to_end_id,bank_reference,mandate_id,
	         creditor_id,umr}'::text[]
$$;
CREATE FUNCTION ar._gdpr_kept_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT '{audit_log,audit_redaction,gdpr_anonymisation,retention_policy,company,company_member,customer,
	         customer_bank_account}'::text[]
$$;

-- The personal values replaced in an XML value, parsed back as what it was
-- (a document or content: never the session's xmloption, so that the
-- result depends on its arguments only).
CREATE FUNCTION ar._gdpr_scrub_xml(value xml, vals text[]) RETURNS xml
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	IF value IS DOCUMENT THEN
		RETURN xmlparse(DOCUMENT ar._gdpr_scrub(value::text, vals));
	END IF;
	RETURN xmlparse(CONTENT ar._gdpr_scrub(value::text, vals));
END $$;

-- The personal values replaced in the string values of a jsonb document
-- (never in its keys, numbers, or the values of the kept keys).
CREATE FUNCTION ar._gdpr_scrub_jsonb(doc jsonb, vals text[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	RETURN CASE jsonb_typeof(doc)
		WHEN 'string' THEN to_jsonb(ar._gdpr_scrub(doc #>> '{}', vals))
		WHEN 'object' THEN (SELECT coalesce(jsonb_object_agg(e.key, CASE WHEN e.key = ANY (ar._gdpr_kept_columns()) THEN e.value
		                                                                  ELSE ar._gdpr_scrub_jsonb(e.value, vals) END), '{}')
		                      FROM jsonb_each(doc) e)
		WHEN 'array' THEN (SELECT coalesce(jsonb_agg(ar._gdpr_scrub_jsonb(e.value, vals) ORDER BY e.n), '[]')
		                     FROM jsonb_array_elements(doc) WITH ORDINALITY e(value, n))
		ELSE doc END;
END $$;

-- A row image of table tbl with the customer's personal data replaced: the
-- personal columns of the customer's rows as in the live tables, then every
-- personal value in its other string values, as the search of the live
-- tables does.
CREATE FUNCTION ar._gdpr_redact_image(tbl text, image jsonb, customer_id bigint, invoices bigint[],
                                      lines bigint[], pseudonym text, vals text[])
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
	col record;
BEGIN
	IF image IS NULL THEN
		RETURN NULL;
	END IF;
	FOR col IN SELECT * FROM ar._gdpr_columns() p WHERE p.table_name = tbl LOOP
		IF image ? col.column_name AND ar._gdpr_belongs(col.link, image, customer_id, invoices, lines)
		   AND jsonb_typeof(image -> col.column_name) <> 'null' THEN
			image := jsonb_set(image, ARRAY[col.column_name],
			                   coalesce(to_jsonb(ar._gdpr_replacement(col.action, col.not_null, col.column_type, pseudonym)),
			                            'null'::jsonb));
		END IF;
	END LOOP;
	IF tbl <> ALL (ar._gdpr_kept_tables()) THEN
		image := ar._gdpr_scrub_jsonb(image, vals);
	END IF;
	RETURN image;
END $$;

-- The values of the personal columns marked sweep in the customer's live rows.
CREATE FUNCTION ar._gdpr_live_values(customer_id bigint, invoices bigint[], lines bigint[]) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r record;
	found_vals text[];
	result text[] := '{}';
BEGIN
	FOR r IN SELECT p.table_name, p.link, string_agg(format('t.%I::text', p.column_name), ', ') AS cols
	           FROM ar._gdpr_columns() p WHERE p.sweep GROUP BY p.table_name, p.link ORDER BY 1, 2 LOOP
		EXECUTE format('SELECT coalesce(array_agg(v), ''{}'') FROM ar.%I t, LATERAL unnest(ARRAY[%s]) v WHERE %s AND v IS NOT NULL',
		               r.table_name, r.cols, ar._gdpr_link_sql(r.link))
			INTO found_vals USING customer_id, invoices, lines;
		result := result || found_vals;
	END LOOP;
	RETURN result;
END $$;

-- The digest of an anonymisation's redaction records, bound to the chain by
-- the row_hash of each redacted row.  (PL/pgSQL naming the company in
-- every table: the query routed to the company's node on a distributed
-- audit trail, doc/scale_out.md.)
CREATE FUNCTION ar._gdpr_manifest(anonymisation_id bigint) RETURNS bytea
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	company bigint := (SELECT n.company_id FROM ar.gdpr_anonymisation n WHERE n.id = _gdpr_manifest.anonymisation_id);
	digest bytea;
BEGIN
	SELECT sha256(convert_to(coalesce(string_agg(format('%s:%s:%s:%s', x.audit_id, encode(a.row_hash, 'hex'),
	                                                    encode(x.original_sha256, 'hex'), encode(x.redacted_sha256, 'hex')),
	                                             E'\n' ORDER BY x.audit_id), ''), 'UTF8'))
	  INTO digest
	  FROM ar.audit_redaction x JOIN ar.audit_log a ON a.id = x.audit_id AND a.company_id = x.company_id
	 WHERE x.anonymisation_id = _gdpr_manifest.anonymisation_id AND x.company_id = company;
	RETURN digest;
END $$;

-- Anonymises a customer (doc/gdpr.md).  Returns the ar.gdpr_anonymisation id
-- (the existing one, with a notice, when the customer was anonymised
-- before).
CREATE FUNCTION ar.anonymise_customer(customer_id bigint, reason text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	st record;
	g ar.gdpr_anonymisation;
	invoices bigint[];
	lines bigint[];
	ibans text[];
	pseudonym text;
	vals text[];
	raw_pats text[];
	pats text[];
	r record;
	cond text;
	sets text;
	changed text;
	n bigint;
	live bigint := 0;
	ids bigint[];
	olds jsonb[];
	news jsonb[];
	redacted bigint;
	manifest bytea;
	gdpr_tables text[] := ARRAY(SELECT DISTINCT p.table_name FROM ar._gdpr_columns() p);
BEGIN
	-- the company read first, the lock naming it (routed to its shard on
	-- Citus, doc/scale_out.md blocker 5)
	SELECT * INTO c FROM ar.customer x WHERE x.id = anonymise_customer.customer_id;
	SELECT * INTO c FROM ar.customer x WHERE x.company_id = c.company_id AND x.id = anonymise_customer.customer_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(anonymise_customer.customer_id::text, 'NULL')
			USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(c.company_id, 'admin');
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'anonymising customer % (id %): a reason is required', c.code, c.id
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Give the request''s reference and date, without personal data.';
	END IF;
	-- on a distributed ledger whose trail was left on the nodes
	-- (doc/scale_out.md, blocker 8), the images of the customer's rows are
	-- in the trail of the node holding the company's shard, which this
	-- node's ar.audit_log does not show: anonymising from here would leave
	-- them, and say it had not.  (With the trail distributed with the
	-- ledger, every statement below names the company: routed to its node,
	-- where the guards decide.)
	IF ar._ledger_distributed() AND ar._audit_trail_on_nodes() THEN
		RAISE EXCEPTION 'cannot anonymise customer % (id %) while the audit trail is left on the nodes', c.code, c.id
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = format('The audit rows of company %s''s ledger are written on the node holding its shard, outside this node''s ar.audit_log: they would keep the personal data; nothing was changed.', c.company_id),
			      HINT = 'Distribute ar.audit_log with the ledger (doc/scale_out.md), then anonymise.';
	END IF;
	SELECT * INTO g FROM ar.gdpr_anonymisation a WHERE a.company_id = c.company_id AND a.customer_id = c.id;
	IF FOUND THEN
		RAISE NOTICE 'customer % (id %) was already anonymised on % (anonymisation %)',
			c.code, c.id, to_char(g.anonymised_at, 'YYYY-MM-DD'), g.id;
		RETURN g.id;
	END IF;

	st := ar._gdpr_status(c.id, current_date);
	IF cardinality(st.open_items) > 0 THEN
		RAISE EXCEPTION 'customer % (id %) has open items and cannot be anonymised', c.code, c.id
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'Open: ' || array_to_string(st.open_items, ', ') || '.',
			      HINT = 'Settle, cancel or resolve them first; ar.retention_report() lists what blocks each customer.';
	END IF;
	IF st.retention_until >= current_date THEN
		RAISE EXCEPTION 'customer % (id %) cannot be anonymised before %: the legal retention of its accounting documents runs until %',
			c.code, c.id, st.retention_until + 1, st.retention_until
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('Its last accounting document is dated %s; %s.', st.last_document_on, st.legal_basis),
			      HINT = 'The company''s retention is set in ar.retention_policy.';
	END IF;

	INSERT INTO ar.gdpr_anonymisation (company_id, customer_id, customer_code, reason, anonymised_by,
	                                   last_document_on, retention_until)
	VALUES (c.company_id, c.id, c.code, reason, ar._caller()::text, st.last_document_on, st.retention_until)
	RETURNING * INTO g;

	-- the customer's invoices and bank lines
	SELECT coalesce(array_agg(i.id ORDER BY i.id), '{}') INTO invoices
	  FROM ar.invoice i WHERE i.company_id = c.company_id AND i.customer_id = c.id;
	-- its IBANs: its accounts and its mandates', as they are and as the
	-- audit trail saw them (an account deleted, a mandate's IBAN amended)
	SELECT coalesce(array_agg(DISTINCT x.iban), '{}') INTO ibans
	  FROM (SELECT b.iban::text FROM ar.customer_bank_account b WHERE b.company_id = c.company_id AND b.customer_id = c.id
	        UNION ALL
	        SELECT unnest(ARRAY[m.debtor_iban::text, m.original_debtor_iban::text]) FROM ar.sepa_mandate m
	         WHERE m.company_id = c.company_id AND m.customer_id = c.id
	        UNION ALL
	        SELECT img.value ->> k.key FROM ar.audit_log a, LATERAL (VALUES (a.old_row), (a.new_row)) img(value),
	               LATERAL unnest(ARRAY['iban', 'debtor_iban', 'original_debtor_iban']) k(key)
	         WHERE a.company_id = c.company_id AND a.table_name IN ('customer_bank_account', 'sepa_mandate')
	           AND img.value ->> 'customer_id' = c.id::text) x(iban)
	 WHERE x.iban IS NOT NULL;
	SELECT coalesce(array_agg(DISTINCT t.id), '{}') INTO lines
	  FROM ar.bank_transaction t
	 WHERE t.company_id = c.company_id
	   AND (t.id IN (SELECT a.bank_transaction_id FROM ar.allocation a WHERE a.company_id = c.company_id AND a.invoice_id = ANY (invoices))
	        OR t.id IN (SELECT cc.bank_transaction_id FROM ar.customer_credit cc WHERE cc.company_id = c.company_id AND cc.customer_id = c.id)
	        OR t.id IN (SELECT rl.bank_transaction_id FROM ar.reconcile_line rl WHERE rl.company_id = c.company_id AND rl.customer_id = c.id)
	        -- the returns of its direct debits (their reconcile_line names no customer)
	        OR t.id IN (SELECT d.return_transaction_id FROM ar.direct_debit_line d WHERE d.company_id = c.company_id AND d.customer_id = c.id)
	        OR t.counterparty_iban::text = ANY (ibans));
	pseudonym := 'Anonymised customer #' || c.id;

	-- the personal values: from the live rows and from the audit images of
	-- the customer's rows (two statements: on Citus a query on the
	-- company's shards cannot also run the live rows' queries)
	vals := ar._gdpr_live_values(c.id, invoices, lines);
	SELECT coalesce(array_agg(DISTINCT btrim(v.value)), '{}') INTO vals
	  FROM (SELECT x.v AS value
	          FROM ar._gdpr_columns() p,
	               LATERAL (SELECT img.value ->> p.column_name AS v
	                          FROM ar.audit_log a, LATERAL (VALUES (a.old_row), (a.new_row)) img(value)
	                         WHERE a.company_id = c.company_id AND a.table_name = p.table_name
	                           AND (CASE WHEN p.link IN ('self', 'line') THEN a.row_id = ANY (CASE p.link WHEN 'self' THEN ARRAY[c.id] ELSE lines END)
	                                     ELSE ar._gdpr_belongs(p.link, img.value, c.id, invoices, lines) END)) x
	         WHERE p.sweep
	        UNION ALL
	        SELECT unnest(vals)) v
	 WHERE char_length(btrim(v.value)) >= 4 AND btrim(v.value) NOT IN (pseudonym, '[anonymised]');
	-- with the other forms they are written in (transliterated, upper-case, escaped)
	vals := ar._gdpr_value_forms(vals, pseudonym);
	-- (LIKE patterns of each value as written and as escaped in JSON text)
	SELECT coalesce(array_agg(v ORDER BY char_length(v) DESC, v), '{}'),
	       coalesce(array_agg('%' || replace(replace(replace(v, E'\\', E'\\\\'), '%', E'\\%'), '_', E'\\_') || '%'), '{}'),
	       coalesce(array_agg('%' || replace(replace(replace(substr(to_jsonb(v)::text, 2, char_length(to_jsonb(v)::text) - 2),
	                                                         E'\\', E'\\\\'), '%', E'\\%'), '_', E'\\_') || '%'), '{}')
	  INTO vals, raw_pats, pats FROM unnest(vals) v;

	-- 1. the live rows of the customer (compared as text: on Citus the
	-- statement is printed for the node without this search_path, where
	-- the operators of ar's types would not be found)
	FOR r IN SELECT p.table_name, p.link, bool_or(p.action = 'delete') AS del,
	                string_agg(format('%I = %s', p.column_name, p.expr), ', ') AS sets,
	                string_agg(format('t.%I::text', p.column_name), ', ') AS cols,
	                string_agg(p.expr || '::text', ', ') AS vals
	           FROM (SELECT q.*, format('CASE WHEN t.%I IS NULL THEN NULL ELSE %L::%s END', q.column_name,
	                                    ar._gdpr_replacement(q.action, q.not_null, q.column_type, pseudonym), q.column_type) AS expr
	                   FROM ar._gdpr_columns() q) p
	          GROUP BY p.table_name, p.link ORDER BY p.table_name LOOP
		IF r.del THEN
			EXECUTE format('DELETE FROM ar.%I t WHERE t.company_id = $4 AND %s', r.table_name, ar._gdpr_link_sql(r.link))
				USING c.id, invoices, lines, c.company_id;
		ELSE
			EXECUTE format('UPDATE ar.%I t SET %s WHERE t.company_id = $4 AND %s AND ROW(%s, NULL) IS DISTINCT FROM ROW(%s, NULL)',
			               r.table_name, r.sets, ar._gdpr_link_sql(r.link), r.cols, r.vals)
				USING c.id, invoices, lines, c.company_id;
		END IF;
		GET DIAGNOSTICS n = ROW_COUNT;
		live := live + n;
	END LOOP;

	-- 2. the personal values in every free text of the company's rows
	IF cardinality(vals) > 0 THEN
		FOR r IN SELECT x.relname, string_agg(format('%I = %s', x.attname, x.expr), ', ') AS sets,
		                string_agg(format('t.%I::text', x.attname), ', ') AS cols,
		                string_agg(x.expr || '::text', ', ') AS exprs,
		                string_agg(format('coalesce(t.%I::text, '''')', x.attname), E' || E''\\n'' || ') AS haystack
		           FROM (SELECT cl.relname, a.attname, CASE
		                    WHEN a.atttypid = 'jsonb'::regtype THEN format('ar._gdpr_scrub_jsonb(t.%I, $2)', a.attname)
		                    WHEN a.atttypid = 'xml'::regtype THEN format('ar._gdpr_scrub_xml(t.%I, $2)', a.attname)
		                    -- an IBAN column holding one of the values (a bank line
		                    -- from an IBAN of the customer's not linked to it otherwise)
		                    WHEN a.atttypid = 'ar.iban'::regtype THEN format('CASE WHEN t.%I::text = ANY ($2) THEN NULL ELSE t.%I END',
		                                                                     a.attname, a.attname)
		                    ELSE format('ar._gdpr_scrub(t.%I, $2)', a.attname) END AS expr
		           FROM pg_catalog.pg_class cl
		           JOIN pg_catalog.pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped
		          WHERE cl.relnamespace = 'ar'::regnamespace AND cl.relkind IN ('r', 'p')
		            AND cl.relname <> ALL (ar._gdpr_kept_tables())
		            AND (a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'jsonb'::regtype, 'xml'::regtype)
		                 OR (a.atttypid = 'ar.iban'::regtype AND NOT a.attnotnull))
		            AND a.attname <> ALL (ar._gdpr_kept_columns())
		            AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute k
		                         WHERE k.attrelid = cl.oid AND k.attname = 'company_id' AND NOT k.attisdropped)) x
		          GROUP BY x.relname ORDER BY x.relname LOOP
			-- LIKE finds the candidates in the columns' text (a value as
			-- written, or escaped as in a jsonb column); only rows where a
			-- value stands whole change.  (Immutable expressions only: Citus
			-- refuses a stable one over columns in an UPDATE.)
			EXECUTE format('UPDATE ar.%I t SET %s WHERE t.company_id = $1 AND (%s LIKE ANY ($3) OR %s LIKE ANY ($4))
			                   AND ROW(%s, NULL) IS DISTINCT FROM ROW(%s, NULL)',
			               r.relname, r.sets, r.haystack, r.haystack, r.cols, r.exprs)
				USING c.company_id, vals, raw_pats, pats;
			GET DIAGNOSTICS n = ROW_COUNT;
			live := live + n;
		END LOOP;
	END IF;

	-- 3. the audit images: those of the customer's rows, and those naming a
	-- personal value, of the company (the anonymisation log excepted).  The
	-- guard, on the node holding each row, keeps the hash of a sealed row
	-- and records its redaction, and hashes again a row of this transaction
	-- not sealed yet (ar._gdpr_redacted_row_hash).
	SELECT coalesce(array_agg(x.id ORDER BY x.id), '{}'), coalesce(array_agg(x.o ORDER BY x.id), '{}'),
	       coalesce(array_agg(x.n ORDER BY x.id), '{}')
	  INTO ids, olds, news
	  FROM (SELECT a.id, a.old_row, a.new_row,
	               ar._gdpr_redact_image(a.table_name, a.old_row, c.id, invoices, lines, pseudonym, vals) AS o,
	               ar._gdpr_redact_image(a.table_name, a.new_row, c.id, invoices, lines, pseudonym, vals) AS n
	          FROM ar.audit_log a
	         WHERE a.company_id = c.company_id AND a.table_name <> 'gdpr_anonymisation'
	           AND (a.table_name = ANY (gdpr_tables) OR a.old_row::text LIKE ANY (pats) OR a.new_row::text LIKE ANY (pats))) x
	 WHERE x.o IS DISTINCT FROM x.old_row OR x.n IS DISTINCT FROM x.new_row;
	UPDATE ar.audit_log a SET old_row = u.o, new_row = u.n
	  FROM unnest(ids, olds, news) u(id, o, n)
	 WHERE a.company_id = c.company_id AND a.id = u.id;
	SELECT count(*) INTO redacted FROM ar.audit_redaction x WHERE x.company_id = c.company_id AND x.anonymisation_id = g.id;

	manifest := ar._gdpr_manifest(g.id);
	UPDATE ar.gdpr_anonymisation a
	   SET status = 'done', live_rows = live, audit_rows_redacted = redacted, manifest_sha256 = manifest
	 WHERE a.company_id = c.company_id AND a.id = g.id;
	RETURN g.id;
END $$;
COMMENT ON FUNCTION ar.anonymise_customer(bigint, text) IS 'Replaces the customer''s personal data in the live tables and in the audit trail''s row images, books and chain intact; refused (55000) while items are open or the legal retention runs; admins of the customer''s company only (doc/gdpr.md).';

-- Who may be anonymised when: per customer (of the companies the caller
-- reads), its last accounting document, the end of their legal retention,
-- the first day it may be anonymised (NULL while items are open), and what
-- blocks it on as_of.  Open items are those of today; as_of moves the
-- retention clock only.
CREATE FUNCTION ar.retention_report(as_of date DEFAULT current_date)
RETURNS TABLE (company_id bigint, customer_id bigint, customer_code text, last_document_on date,
               retention_until date, anonymise_from date, may_anonymise boolean, blocking text[],
               anonymised_on date)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
	-- the customers read first (MATERIALIZED: on Citus, a query on the
	-- shards whose rows come back to the coordinator); each one's status
	-- then computed by ar._gdpr_status's own queries, each on the
	-- customer's company (routed to its shard on Citus, doc/scale_out.md)
	RETURN QUERY
	WITH cust AS MATERIALIZED (SELECT x.company_id, x.id, x.code FROM ar.customer x)
	SELECT c.company_id, c.id, c.code, s.last_document_on, s.retention_until,
	       CASE WHEN g.id IS NULL AND cardinality(s.open_items) = 0 THEN coalesce(s.retention_until + 1, as_of) END,
	       g.id IS NULL AND cardinality(s.open_items) = 0 AND (s.retention_until IS NULL OR s.retention_until < as_of),
	       CASE WHEN g.id IS NOT NULL THEN '{}'::text[]
	            ELSE s.open_items || CASE WHEN s.retention_until >= as_of
	                                      THEN ARRAY[format('legal retention until %s (last accounting document %s)',
	                                                        s.retention_until, s.last_document_on)]
	                                      ELSE '{}'::text[] END END,
	       g.anonymised_at::date
	  FROM cust c
	  CROSS JOIN LATERAL ar._gdpr_status(c.id, as_of) s
	  LEFT JOIN ar.gdpr_anonymisation g ON g.customer_id = c.id AND g.company_id = c.company_id AND g.status = 'done'
	 ORDER BY c.company_id, c.code;
END $$;

COMMENT ON FUNCTION ar.retention_report(date) IS 'Per customer: last accounting document, end of its legal retention, first day it may be anonymised (NULL while items are open), whether it may be on as_of and what blocks it (doc/gdpr.md).';

-- ------------------------------------------------- audit, grants, dump

CREATE TRIGGER retention_policy_audit AFTER INSERT OR UPDATE OR DELETE ON ar.retention_policy
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER retention_policy_no_truncate BEFORE TRUNCATE ON ar.retention_policy
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();
CREATE TRIGGER gdpr_anonymisation_audit AFTER INSERT OR UPDATE OR DELETE ON ar.gdpr_anonymisation
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();

GRANT SELECT ON ar.retention_policy, ar.gdpr_anonymisation TO ar_reader;
GRANT INSERT, UPDATE, DELETE ON ar.retention_policy TO ar_admin;
GRANT SELECT ON ar.audit_redaction TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.retention_report(date), ar._gdpr_status(bigint, date) TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.anonymise_customer(bigint, text) TO ar_admin;

SELECT pg_catalog.pg_extension_config_dump('ar.retention_policy', '');
SELECT pg_catalog.pg_extension_config_dump('ar.gdpr_anonymisation', '');
SELECT pg_catalog.pg_extension_config_dump('ar.audit_redaction', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.gdpr_anonymisation', 'id')::regclass, '');
