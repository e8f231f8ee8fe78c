-- ---------------------------------------------------------------------------
-- Accounting export (doc/accounting-export.md): the receivables' movements
-- of a period become balanced journal entries, once, and the French FEC.
--
-- What is journaled (in the company's currency; French PCG accounts by
-- default, each one a column of ar.accounting_config):
--   receipt          a payment allocation (bank line or recorded payment,
--                    and refunds of credit notes, negative): bank 512 /
--                    customer 411 (lettered with the invoice's number)
--   credit_receipt   money received and kept as customer credit
--                    (overpayment, unapplied payment): bank 512 / 411
--   write_off        a write-off (654) or a short payment written off (658);
--                    a credit note written off: 411 / 758
--   penalty_invoice  an invoice of late-payment penalties (ar.bill_penalty):
--                    411 / interest 763 and the fixed indemnity (40 EUR) 758
--   credit_release   customer credit refunded (411 / 512) or written off
--                    (411 / 758)
-- Set-offs (credit notes and customer credit applied to invoices) move
-- nothing between accounts: they are lettering only, not journaled.
--
-- ar.export_journal(company, from, to) journals a period once: each source
-- (kind, id) is compared with what earlier exports journaled for it; the
-- difference is a new entry.  An exported period is locked: a source
-- changed afterwards (an allocation reversed, a penalty invoice cancelled,
-- a payment dated back) gives a correcting entry in the next export, never
-- an edit.  Entries are numbered per journal and fiscal year without gaps
-- (exports of a company are serialised by a lock of its configuration
-- row), and are balanced (a deferred constraint trigger).
--
-- src/upgrade/0.1.0--0.2.0/86_accounting_export.sql is this piece (a symbolic
-- link); the row-level security of its tables comes from 96_company_rls.sql.
-- ---------------------------------------------------------------------------

-- ------------------------------------------------------------ configuration

CREATE TABLE ar.accounting_config (
	company_id                bigint PRIMARY KEY REFERENCES ar.company,
	bank_journal_code         text NOT NULL DEFAULT 'BQ',
	bank_journal_label        text NOT NULL DEFAULT 'Banque',
	sales_journal_code        text NOT NULL DEFAULT 'VT',
	sales_journal_label       text NOT NULL DEFAULT 'Ventes - pénalités de retard',
	write_off_journal_code    text NOT NULL DEFAULT 'OD',
	write_off_journal_label   text NOT NULL DEFAULT 'Opérations diverses - créances',
	bank_account              text NOT NULL DEFAULT '512000',
	bank_account_label        text NOT NULL DEFAULT 'Banque',
	customer_account          text NOT NULL DEFAULT '411000',
	customer_account_label    text NOT NULL DEFAULT 'Clients',
	auxiliary_accounts        boolean NOT NULL DEFAULT true,
	write_off_account         text NOT NULL DEFAULT '654000',
	write_off_account_label   text NOT NULL DEFAULT 'Pertes sur créances irrécouvrables',
	shortfall_account         text NOT NULL DEFAULT '658000',
	shortfall_account_label   text NOT NULL DEFAULT 'Charges diverses de gestion courante',
	credit_income_account     text NOT NULL DEFAULT '758000',
	credit_income_account_label text NOT NULL DEFAULT 'Produits divers de gestion courante',
	penalty_account           text NOT NULL DEFAULT '763000',
	penalty_account_label     text NOT NULL DEFAULT 'Revenus des autres créances',
	indemnity_account         text NOT NULL DEFAULT '758000',
	indemnity_account_label   text NOT NULL DEFAULT 'Produits divers de gestion courante',
	fiscal_year_end_month     integer NOT NULL DEFAULT 12 CHECK (fiscal_year_end_month BETWEEN 1 AND 12),
	updated_at                timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT accounting_config_journal_codes CHECK (
		bank_journal_code ~ '^[A-Z0-9]{1,8}$' AND sales_journal_code ~ '^[A-Z0-9]{1,8}$'
		AND write_off_journal_code ~ '^[A-Z0-9]{1,8}$'
		AND bank_journal_code <> sales_journal_code AND bank_journal_code <> write_off_journal_code
		AND sales_journal_code <> write_off_journal_code),
	-- the PCG class of each account: 5 treasury, 41 customers, 6 expenses, 7 income
	CONSTRAINT accounting_config_accounts CHECK (
		bank_account ~ '^5[0-9]{2,19}$' AND customer_account ~ '^41[0-9]{1,18}$'
		AND write_off_account ~ '^6[0-9]{2,19}$' AND shortfall_account ~ '^6[0-9]{2,19}$'
		AND credit_income_account ~ '^7[0-9]{2,19}$' AND penalty_account ~ '^7[0-9]{2,19}$'
		AND indemnity_account ~ '^7[0-9]{2,19}$'),
	-- the FEC's separator never in a label (the labels' bounds: ar.input_bound below)
	CONSTRAINT accounting_config_labels CHECK (
		position('|' IN bank_journal_label || sales_journal_label || write_off_journal_label || bank_account_label
		                    || customer_account_label || write_off_account_label || shortfall_account_label
		                    || credit_income_account_label || penalty_account_label || indemnity_account_label) = 0)
);
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars)
SELECT 'accounting_config', c, 'header_text', 100
  FROM unnest(ARRAY['bank_journal_label', 'sales_journal_label', 'write_off_journal_label', 'bank_account_label',
                    'customer_account_label', 'write_off_account_label', 'shortfall_account_label',
                    'credit_income_account_label', 'penalty_account_label', 'indemnity_account_label']) WITH ORDINALITY u(c, n)
 ORDER BY n;
COMMENT ON TABLE ar.accounting_config IS 'Per company: the journals and the accounts (French PCG by default) of the accounting export (ar.export_journal); no row: the defaults, stored by the first export.';
COMMENT ON COLUMN ar.accounting_config.company_id IS 'Company.';
COMMENT ON COLUMN ar.accounting_config.bank_journal_code IS 'Journal of receipts and refunds (default BQ).';
COMMENT ON COLUMN ar.accounting_config.bank_journal_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.sales_journal_code IS 'Journal of the penalty invoices (default VT).';
COMMENT ON COLUMN ar.accounting_config.sales_journal_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.write_off_journal_code IS 'Journal of write-offs and credit releases written off (default OD).';
COMMENT ON COLUMN ar.accounting_config.write_off_journal_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.bank_account IS 'Bank account (class 5, default 512000).';
COMMENT ON COLUMN ar.accounting_config.bank_account_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.customer_account IS 'Customer control account (41, default 411000).';
COMMENT ON COLUMN ar.accounting_config.customer_account_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.auxiliary_accounts IS 'true: customer lines carry the customer''s auxiliary account (FEC CompAuxNum = customer code).';
COMMENT ON COLUMN ar.accounting_config.write_off_account IS 'Irrecoverable receivables written off (class 6, default 654000).';
COMMENT ON COLUMN ar.accounting_config.write_off_account_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.shortfall_account IS 'Short payments written off within the reconcile limit (class 6, default 658000).';
COMMENT ON COLUMN ar.accounting_config.shortfall_account_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.credit_income_account IS 'Credit balances written off (class 7, default 758000).';
COMMENT ON COLUMN ar.accounting_config.credit_income_account_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.penalty_account IS 'Late-payment interest billed (class 7, default 763000).';
COMMENT ON COLUMN ar.accounting_config.penalty_account_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.indemnity_account IS 'Fixed recovery indemnity billed (40 EUR, class 7, default 758000).';
COMMENT ON COLUMN ar.accounting_config.indemnity_account_label IS 'Its label.';
COMMENT ON COLUMN ar.accounting_config.fiscal_year_end_month IS 'Last month of the fiscal year (12: calendar year): entry numbers restart with each fiscal year.';
COMMENT ON COLUMN ar.accounting_config.updated_at IS 'Last change.';

CREATE FUNCTION ar._accounting_config_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END $$;
CREATE TRIGGER accounting_config_touch BEFORE UPDATE ON ar.accounting_config
	FOR EACH ROW EXECUTE FUNCTION ar._accounting_config_touch();
CREATE TRIGGER accounting_config_audit AFTER INSERT OR UPDATE OR DELETE ON ar.accounting_config
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER accounting_config_no_truncate BEFORE TRUNCATE ON ar.accounting_config
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- ----------------------------------------------------------------- tables

CREATE TABLE ar.accounting_export (
	id                bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id        bigint NOT NULL REFERENCES ar.company,
	period_from       date NOT NULL,
	period_to         date NOT NULL,
	exported_on       date NOT NULL DEFAULT current_date,
	exported_at       timestamptz NOT NULL DEFAULT now(),
	exported_by       text NOT NULL DEFAULT session_user,
	entry_count       integer NOT NULL DEFAULT 0,
	correction_count  integer NOT NULL DEFAULT 0,
	total_debit       numeric(18,2) NOT NULL DEFAULT 0,
	total_credit      numeric(18,2) NOT NULL DEFAULT 0,
	CONSTRAINT accounting_export_period CHECK (period_to >= period_from),
	CONSTRAINT accounting_export_balanced CHECK (total_debit = total_credit),
	UNIQUE (company_id, period_from),
	UNIQUE (company_id, id)
);
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
	('accounting_export', 'period_from', 'date', NULL),
	('accounting_export', 'period_to', 'date', NULL);
COMMENT ON TABLE ar.accounting_export IS 'One row per exported period of a company (ar.export_journal): the period is locked; its entries are in ar.journal_entry.';
COMMENT ON COLUMN ar.accounting_export.id IS 'Export id (ar.fec_file, ar.fec_lines).';
COMMENT ON COLUMN ar.accounting_export.company_id IS 'Company.';
COMMENT ON COLUMN ar.accounting_export.period_from IS 'First day of the period.';
COMMENT ON COLUMN ar.accounting_export.period_to IS 'Last day of the period.';
COMMENT ON COLUMN ar.accounting_export.exported_on IS 'Day of the export: the validation date of its entries (FEC ValidDate).';
COMMENT ON COLUMN ar.accounting_export.exported_at IS 'When.';
COMMENT ON COLUMN ar.accounting_export.exported_by IS 'Who (session user).';
COMMENT ON COLUMN ar.accounting_export.entry_count IS 'Entries made.';
COMMENT ON COLUMN ar.accounting_export.correction_count IS 'Of which correcting entries (changes of sources of locked periods).';
COMMENT ON COLUMN ar.accounting_export.total_debit IS 'Sum of the debits of its entries.';
COMMENT ON COLUMN ar.accounting_export.total_credit IS 'Sum of the credits (equal to the debits).';

CREATE TABLE ar.journal_entry (
	id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id       bigint NOT NULL,
	export_id        bigint NOT NULL,
	journal_code     text NOT NULL,
	journal_label    text NOT NULL,
	fiscal_year_end  date NOT NULL,
	entry_no         integer NOT NULL CHECK (entry_no > 0),
	entry_date       date NOT NULL,
	label            text NOT NULL,
	piece_ref        text NOT NULL,
	piece_date       date NOT NULL,
	source_kind      text NOT NULL
		CHECK (source_kind IN ('receipt', 'credit_receipt', 'write_off', 'penalty_invoice', 'credit_release')),
	source_id        bigint NOT NULL,
	source_detail    text,
	source_amount    numeric(18,2) NOT NULL,
	correction       boolean NOT NULL,
	currency         char(3) NOT NULL,
	UNIQUE (company_id, journal_code, fiscal_year_end, entry_no),
	UNIQUE (export_id, source_kind, source_id),
	FOREIGN KEY (company_id, export_id) REFERENCES ar.accounting_export (company_id, id)
);
CREATE INDEX journal_entry_source ON ar.journal_entry (company_id, source_kind, source_id);
COMMENT ON TABLE ar.journal_entry IS 'Journal entries of the accounting exports: one per source movement and export (a later change of the source: a correcting entry of a later export). Never changed.';
COMMENT ON COLUMN ar.journal_entry.company_id IS 'Company.';
COMMENT ON COLUMN ar.journal_entry.export_id IS 'The export that made it.';
COMMENT ON COLUMN ar.journal_entry.journal_code IS 'Journal (FEC JournalCode).';
COMMENT ON COLUMN ar.journal_entry.journal_label IS 'Its label (JournalLib).';
COMMENT ON COLUMN ar.journal_entry.fiscal_year_end IS 'Last day of the fiscal year of entry_date: numbering restarts each year.';
COMMENT ON COLUMN ar.journal_entry.entry_no IS 'Number in the journal and fiscal year, without gaps (EcritureNum).';
COMMENT ON COLUMN ar.journal_entry.entry_date IS 'Date (EcritureDate): the movement''s date, or for a correction a date of the export''s period.';
COMMENT ON COLUMN ar.journal_entry.label IS 'Label (EcritureLib).';
COMMENT ON COLUMN ar.journal_entry.piece_ref IS 'Supporting document (PieceRef): the invoice number, else the credit.';
COMMENT ON COLUMN ar.journal_entry.piece_date IS 'Its date (PieceDate).';
COMMENT ON COLUMN ar.journal_entry.source_kind IS 'receipt, credit_receipt, write_off (allocations, customer credit), penalty_invoice (invoice), credit_release.';
COMMENT ON COLUMN ar.journal_entry.source_id IS 'Id of the source row (allocation, customer credit, invoice, credit release).';
COMMENT ON COLUMN ar.journal_entry.source_detail IS 'The allocation''s method, the customer credit''s source or the credit release''s kind.';
COMMENT ON COLUMN ar.journal_entry.source_amount IS 'Change of the source''s amount the entry books (the sum over a source''s entries is its current amount).';
COMMENT ON COLUMN ar.journal_entry.correction IS 'A correction of a source already journaled or dated in a locked period.';
COMMENT ON COLUMN ar.journal_entry.currency IS 'Currency (the company''s).';

CREATE TABLE ar.journal_entry_line (
	id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id      bigint NOT NULL,
	entry_id        bigint NOT NULL REFERENCES ar.journal_entry,
	line_no         integer NOT NULL CHECK (line_no > 0),
	account         text NOT NULL,
	account_label   text NOT NULL,
	customer_id     bigint,
	label           text NOT NULL,
	debit           numeric(18,2) NOT NULL DEFAULT 0,
	credit          numeric(18,2) NOT NULL DEFAULT 0,
	lettering       text,
	CONSTRAINT journal_entry_line_one_side CHECK (debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)),
	UNIQUE (entry_id, line_no)
);
COMMENT ON TABLE ar.journal_entry_line IS 'Lines of the journal entries: one side each; every entry balances (constraint trigger). Never changed.';
COMMENT ON COLUMN ar.journal_entry_line.company_id IS 'Company.';
COMMENT ON COLUMN ar.journal_entry_line.entry_id IS 'The entry.';
COMMENT ON COLUMN ar.journal_entry_line.line_no IS 'Line number in the entry.';
COMMENT ON COLUMN ar.journal_entry_line.account IS 'General account (CompteNum).';
COMMENT ON COLUMN ar.journal_entry_line.account_label IS 'Its label (CompteLib).';
COMMENT ON COLUMN ar.journal_entry_line.customer_id IS 'Customer of a customer line with auxiliary accounts (CompAuxNum: its code).';
COMMENT ON COLUMN ar.journal_entry_line.label IS 'Line label (EcritureLib).';
COMMENT ON COLUMN ar.journal_entry_line.debit IS 'Debit (0 or positive).';
COMMENT ON COLUMN ar.journal_entry_line.credit IS 'Credit (0 or positive).';
COMMENT ON COLUMN ar.journal_entry_line.lettering IS 'Lettering reference of a customer line: the invoice''s number (EcritureLet).';

CREATE FUNCTION ar._journal_entry_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	e bigint := coalesce(NEW.entry_id, OLD.entry_id);
	d numeric;
	c numeric;
	n integer;
BEGIN
	SELECT coalesce(sum(l.debit), 0), coalesce(sum(l.credit), 0), count(*) INTO d, c, n
	  FROM ar.journal_entry_line l WHERE l.entry_id = e;
	IF d <> c OR n = 1 THEN
		RAISE EXCEPTION 'journal entry % is not balanced: debit %, credit %, % lines', e, d, c, n
			USING ERRCODE = 'check_violation';
	END IF;
	RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER journal_entry_line_balanced AFTER INSERT OR UPDATE OR DELETE ON ar.journal_entry_line
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._journal_entry_balanced();

-- exported entries are never edited: corrections are new entries
CREATE FUNCTION ar._journal_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% rows cannot be changed or deleted (row %)', TG_TABLE_NAME, OLD.id
		USING ERRCODE = 'object_not_in_prerequisite_state',
		      HINT = 'An exported period is locked: a change of the ledger is journaled by a correcting entry of the next export.';
END $$;
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['accounting_export', 'journal_entry', 'journal_entry_line'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON ar.%I FOR EACH ROW EXECUTE FUNCTION ar._journal_immutable()',
		               t || '_immutable', t);
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ar.%I FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate()',
		               t || '_no_truncate', t);
	END LOOP;
END $$;
-- the export's totals are written once, by the export, in its transaction
CREATE FUNCTION ar._accounting_export_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF (NEW.id, NEW.company_id, NEW.period_from, NEW.period_to, NEW.exported_on, NEW.exported_at, NEW.exported_by)
	   IS DISTINCT FROM (OLD.id, OLD.company_id, OLD.period_from, OLD.period_to, OLD.exported_on, OLD.exported_at,
	                     OLD.exported_by)
	   OR OLD.exported_at <> now() THEN
		RAISE EXCEPTION 'accounting export % cannot be changed', OLD.id
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER accounting_export_update BEFORE UPDATE ON ar.accounting_export
	FOR EACH ROW EXECUTE FUNCTION ar._accounting_export_update();
CREATE TRIGGER journal_entry_immutable_update BEFORE UPDATE ON ar.journal_entry
	FOR EACH ROW EXECUTE FUNCTION ar._journal_immutable();
CREATE TRIGGER journal_entry_line_immutable_update BEFORE UPDATE ON ar.journal_entry_line
	FOR EACH ROW EXECUTE FUNCTION ar._journal_immutable();

CREATE TRIGGER accounting_export_audit AFTER INSERT OR UPDATE OR DELETE ON ar.accounting_export
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER journal_entry_audit AFTER INSERT ON ar.journal_entry
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ar._audit_rows();
CREATE TRIGGER journal_entry_line_audit AFTER INSERT ON ar.journal_entry_line
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ar._audit_rows();

-- ---------------------------------------------------------------- sources

-- The movements the export journals, as they stand on upto: each source
-- with its date and its current amount (0 once cancelled), in the
-- company's currency.  Set-offs (methods credit, credit_note) are not
-- sources: they move nothing between accounts.
CREATE FUNCTION ar._accounting_sources(company_id bigint, upto date)
RETURNS TABLE (source_kind text, source_id bigint, source_date date, amount numeric, detail text,
               customer_id bigint, piece_ref text, lettering text, fee numeric)
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN a.method IN ('write_off', 'shortfall') THEN 'write_off' ELSE 'receipt' END,
	       a.id, a.allocated_on, a.amount, a.method, i.customer_id, i.number, i.number, NULL::numeric
	  FROM ar.allocation a
	  JOIN ar.invoice i ON i.id = a.invoice_id
	  JOIN ar.company co ON co.id = a.company_id
	 WHERE a.company_id = _accounting_sources.company_id AND a.allocated_on <= upto
	   AND a.customer_credit_id IS NULL AND a.method NOT IN ('credit', 'credit_note')
	   AND i.currency = co.currency
	UNION ALL
	SELECT 'credit_receipt', cc.id, cc.created_on, cc.amount, cc.source, cc.customer_id,
	       coalesce(i.number, 'CREDIT-' || cc.id), NULL, NULL
	  FROM ar.customer_credit cc
	  JOIN ar.company co ON co.id = cc.company_id
	  LEFT JOIN ar.invoice i ON i.id = cc.invoice_id
	 WHERE cc.company_id = _accounting_sources.company_id AND cc.created_on <= upto
	   AND cc.source IN ('overpayment', 'unapplied_payment') AND cc.currency = co.currency
	UNION ALL
	SELECT 'penalty_invoice', i.id, i.issue_date,
	       CASE WHEN i.cancelled_on <= upto THEN 0 ELSE i.amount END, NULL, i.customer_id, i.number, i.number,
	       least(coalesce(pc.fixed_fee, 0), i.amount)
	  FROM ar.penalty_claim pc
	  JOIN ar.invoice i ON i.id = pc.penalty_invoice_id
	  JOIN ar.company co ON co.id = i.company_id
	 WHERE i.company_id = _accounting_sources.company_id AND i.issue_date <= upto AND i.currency = co.currency
	UNION ALL
	SELECT 'credit_release', r.id, r.released_on, r.amount, r.kind, r.customer_id,
	       coalesce(i.number, 'CREDIT-' || r.customer_credit_id), NULL, NULL
	  FROM ar.credit_release r
	  JOIN ar.customer_credit cc ON cc.id = r.customer_credit_id
	  JOIN ar.company co ON co.id = r.company_id
	  LEFT JOIN ar.invoice i ON i.id = cc.invoice_id
	 WHERE r.company_id = _accounting_sources.company_id AND r.released_on <= upto AND r.currency = co.currency
$$;

-- The lines of a source's amount (positive: debit, negative: credit), the
-- customer's line first.
CREATE FUNCTION ar._accounting_lines(cfg ar.accounting_config, source_kind text, detail text, amount numeric,
                                     fee numeric, customer_id bigint, lettering text)
RETURNS TABLE (ord integer, account text, account_label text, customer_id bigint, lettering text, amount numeric)
LANGUAGE sql IMMUTABLE AS $$
	WITH c(cust, cust_label, aux) AS (
		SELECT cfg.customer_account, cfg.customer_account_label,
		       CASE WHEN cfg.auxiliary_accounts THEN _accounting_lines.customer_id END
	)
	SELECT x.* FROM c, LATERAL (
		-- receipts and refunds: bank / customer
		SELECT 1, c.cust, c.cust_label, c.aux, _accounting_lines.lettering, -amount
		 WHERE source_kind IN ('receipt', 'credit_receipt')
		UNION ALL
		SELECT 2, cfg.bank_account, cfg.bank_account_label, NULL::bigint, NULL::text, amount
		 WHERE source_kind IN ('receipt', 'credit_receipt')
		-- write-offs: loss (or income for a credit note) / customer
		UNION ALL
		SELECT 1, c.cust, c.cust_label, c.aux, _accounting_lines.lettering, -amount
		 WHERE source_kind = 'write_off'
		UNION ALL
		SELECT 2, CASE WHEN amount < 0 THEN cfg.credit_income_account
		               WHEN detail = 'shortfall' THEN cfg.shortfall_account ELSE cfg.write_off_account END,
		          CASE WHEN amount < 0 THEN cfg.credit_income_account_label
		               WHEN detail = 'shortfall' THEN cfg.shortfall_account_label ELSE cfg.write_off_account_label END,
		       NULL, NULL, amount
		 WHERE source_kind = 'write_off'
		-- penalty invoices: customer / interest and indemnity
		UNION ALL
		SELECT 1, c.cust, c.cust_label, c.aux, _accounting_lines.lettering, amount
		 WHERE source_kind = 'penalty_invoice'
		UNION ALL
		SELECT 2, cfg.penalty_account, cfg.penalty_account_label, NULL, NULL,
		       -(amount - sign(amount) * least(abs(amount), coalesce(fee, 0)))
		 WHERE source_kind = 'penalty_invoice'
		UNION ALL
		SELECT 3, cfg.indemnity_account, cfg.indemnity_account_label, NULL, NULL,
		       -(sign(amount) * least(abs(amount), coalesce(fee, 0)))
		 WHERE source_kind = 'penalty_invoice'
		-- customer credit used up: customer / bank (refund) or income (written off)
		UNION ALL
		SELECT 1, c.cust, c.cust_label, c.aux, _accounting_lines.lettering, amount
		 WHERE source_kind = 'credit_release'
		UNION ALL
		SELECT 2, CASE detail WHEN 'refund' THEN cfg.bank_account ELSE cfg.credit_income_account END,
		          CASE detail WHEN 'refund' THEN cfg.bank_account_label ELSE cfg.credit_income_account_label END,
		       NULL, NULL, -amount
		 WHERE source_kind = 'credit_release'
	) x
$$;

CREATE FUNCTION ar._accounting_label(source_kind text, detail text, amount numeric, piece_ref text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE source_kind
		WHEN 'receipt' THEN CASE WHEN amount < 0 THEN 'Remboursement ' ELSE 'Règlement ' END
		WHEN 'credit_receipt' THEN 'Règlement non affecté '
		WHEN 'write_off' THEN CASE WHEN amount < 0 THEN 'Avoir abandonné '
		                           WHEN detail = 'shortfall' THEN 'Écart de règlement '
		                           ELSE 'Créance irrécouvrable ' END
		WHEN 'penalty_invoice' THEN 'Pénalités de retard '
		WHEN 'credit_release' THEN CASE detail WHEN 'refund' THEN 'Remboursement avoir ' ELSE 'Solde créditeur abandonné ' END
	END || piece_ref
$$;

CREATE FUNCTION ar._fiscal_year_end(day date, end_month integer) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (make_date(extract(year FROM day)::integer + CASE WHEN extract(month FROM day) > end_month THEN 1 ELSE 0 END,
	                  end_month, 1) + interval '1 month' - interval '1 day')::date
$$;

-- ----------------------------------------------------------------- export

CREATE FUNCTION ar.export_journal(company text, period_from date, period_to date)
RETURNS ar.accounting_export
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.company;
	cfg ar.accounting_config;
	ex ar.accounting_export;
	prev ar.accounting_export;
	baseline date;
	src record;
	entry_day date;
	journal text;
	journal_lib text;
	fy date;
	num integer;
	eid bigint;
	fix_day date;
BEGIN
	c := ar._company_by_code(company);
	PERFORM ar._require_company(c.id, 'admin');
	IF period_from IS NULL OR period_to IS NULL OR period_to < period_from THEN
		RAISE EXCEPTION 'invalid export period % .. %', coalesce(period_from::text, 'NULL'), coalesce(period_to::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._check_date('ar.export_journal: period_from', period_from),
	        ar._check_date('ar.export_journal: period_to', period_to);
	-- an exported period is locked: exported before its end, the movements
	-- of its remaining days would be journaled as corrections of the next
	-- period (of the next fiscal year, for its last month)
	IF period_to >= current_date THEN
		RAISE EXCEPTION 'the period % .. % of company "%" has not ended yet',
			to_char(period_from, 'YYYY-MM-DD'), to_char(period_to, 'YYYY-MM-DD'), c.code
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('Today is %s. An exported period is locked: movements dated in its remaining days would become correcting entries of the next period.',
			                      to_char(current_date, 'YYYY-MM-DD')),
			      HINT = 'Export a period once it has ended.';
	END IF;
	-- one export at a time per company: its configuration row, locked
	INSERT INTO ar.accounting_config (company_id) VALUES (c.id) ON CONFLICT DO NOTHING;
	SELECT * INTO cfg FROM ar.accounting_config x WHERE x.company_id = c.id FOR UPDATE;
	-- a FEC covers one fiscal year (its name is the year's closing date, its
	-- entries are numbered per year): a period does not cross its end
	IF ar._fiscal_year_end(period_from, cfg.fiscal_year_end_month) <> ar._fiscal_year_end(period_to, cfg.fiscal_year_end_month) THEN
		RAISE EXCEPTION 'the period % .. % of company "%" crosses the end of its fiscal year on %',
			to_char(period_from, 'YYYY-MM-DD'), to_char(period_to, 'YYYY-MM-DD'), c.code,
			to_char(ar._fiscal_year_end(period_from, cfg.fiscal_year_end_month), 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Export the end of the fiscal year and the start of the next one as two periods.';
	END IF;
	SELECT * INTO ex FROM ar.accounting_export x
	 WHERE x.company_id = c.id AND x.period_from = export_journal.period_from AND x.period_to = export_journal.period_to;
	IF FOUND THEN
		RETURN ex;  -- a period is exported once
	END IF;
	SELECT * INTO prev FROM ar.accounting_export x WHERE x.company_id = c.id ORDER BY x.period_to DESC LIMIT 1;
	IF prev.id IS NOT NULL AND period_from <> prev.period_to + 1 THEN
		RAISE EXCEPTION 'the export of company "%" must start on %, the day after its last export (% .. %)',
			c.code, to_char(prev.period_to + 1, 'YYYY-MM-DD'), to_char(prev.period_from, 'YYYY-MM-DD'), to_char(prev.period_to, 'YYYY-MM-DD')
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('Asked: %s .. %s. Exported periods are locked; changes of them go to the next period.',
			                      to_char(period_from, 'YYYY-MM-DD'), to_char(period_to, 'YYYY-MM-DD'));
	END IF;
	SELECT min(x.period_from) INTO baseline FROM ar.accounting_export x WHERE x.company_id = c.id;
	baseline := coalesce(baseline, period_from);
	-- the date of the corrections: the period's last day (it has ended)
	fix_day := period_to;
	INSERT INTO ar.accounting_export (company_id, period_from, period_to)
	VALUES (c.id, period_from, period_to) RETURNING * INTO ex;
	FOR src IN
		WITH cur AS (
			SELECT s.* FROM ar._accounting_sources(c.id, period_to) s WHERE s.source_date >= baseline
		), done AS (
			SELECT e.source_kind, e.source_id, sum(e.source_amount) AS amount, min(e.piece_ref) AS piece_ref,
			       min(e.piece_date) AS piece_date,
			       min(e.journal_code) AS journal_code, min(e.source_detail) AS detail
			  FROM ar.journal_entry e WHERE e.company_id = c.id
			 GROUP BY e.source_kind, e.source_id
		)
		SELECT coalesce(cur.source_kind, done.source_kind) AS source_kind,
		       coalesce(cur.source_id, done.source_id) AS source_id,
		       coalesce(cur.source_date, done.piece_date) AS source_date,
		       coalesce(cur.detail, done.detail) AS detail, cur.customer_id, cur.fee, cur.lettering,
		       coalesce(cur.piece_ref, done.piece_ref) AS piece_ref, done.journal_code AS done_journal,
		       coalesce(cur.amount, 0) AS cur_amount, coalesce(done.amount, 0) AS done_amount,
		       done.source_id IS NOT NULL OR cur.source_date < period_from AS is_correction
		  FROM cur FULL JOIN done ON (done.source_kind, done.source_id) = (cur.source_kind, cur.source_id)
		 WHERE coalesce(cur.amount, 0) <> coalesce(done.amount, 0)
		 ORDER BY CASE WHEN done.source_id IS NOT NULL OR cur.source_date < period_from THEN fix_day
		               ELSE cur.source_date END, 1, 2
	LOOP
		entry_day := CASE WHEN src.is_correction THEN fix_day ELSE src.source_date END;
		journal := coalesce(src.done_journal,
		                    CASE WHEN src.source_kind = 'penalty_invoice' THEN cfg.sales_journal_code
		                         WHEN src.source_kind = 'write_off'
		                              OR (src.source_kind = 'credit_release' AND src.detail = 'write_off')
		                              THEN cfg.write_off_journal_code
		                         ELSE cfg.bank_journal_code END);
		journal_lib := CASE journal WHEN cfg.sales_journal_code THEN cfg.sales_journal_label
		                            WHEN cfg.write_off_journal_code THEN cfg.write_off_journal_label
		                            ELSE cfg.bank_journal_label END;
		fy := ar._fiscal_year_end(entry_day, cfg.fiscal_year_end_month);
		SELECT coalesce(max(e.entry_no), 0) + 1 INTO num FROM ar.journal_entry e
		 WHERE e.company_id = c.id AND e.journal_code = journal AND e.fiscal_year_end = fy;
		INSERT INTO ar.journal_entry (company_id, export_id, journal_code, journal_label, fiscal_year_end, entry_no,
		                              entry_date, label, piece_ref, piece_date, source_kind, source_id, source_detail,
		                              source_amount, correction, currency)
		VALUES (c.id, ex.id, journal, journal_lib, fy, num, entry_day,
		        CASE WHEN src.cur_amount = 0 THEN 'Annulation ' WHEN src.is_correction THEN 'Correction ' ELSE '' END
		        || ar._accounting_label(src.source_kind, coalesce(src.detail, ''),
		                                CASE WHEN src.cur_amount = 0 THEN src.done_amount ELSE src.cur_amount END,
		                                src.piece_ref),
		        src.piece_ref, src.source_date, src.source_kind, src.source_id, src.detail, src.cur_amount - src.done_amount,
		        src.is_correction, c.currency)
		RETURNING id INTO eid;
		-- the lines: what the source is now, less what was journaled of it
		INSERT INTO ar.journal_entry_line (company_id, entry_id, line_no, account, account_label, customer_id, label,
		                                   debit, credit, lettering)
		SELECT c.id, eid, row_number() OVER (ORDER BY n.ord, n.account, n.customer_id, n.lettering),
		       n.account, n.account_label, n.customer_id,
		       (SELECT e.label FROM ar.journal_entry e WHERE e.id = eid),
		       greatest(n.amount, 0), greatest(-n.amount, 0), n.lettering
		  FROM (SELECT min(x.ord) AS ord, x.account, min(x.account_label) AS account_label, x.customer_id, x.lettering,
		               sum(x.amount) AS amount
		          FROM (SELECT l.ord, l.account, l.account_label, l.customer_id, l.lettering, l.amount
		                  FROM ar._accounting_lines(cfg, src.source_kind, src.detail, src.cur_amount, src.fee,
		                                            src.customer_id, src.lettering) l
		                 WHERE src.cur_amount <> 0
		                UNION ALL
		                SELECT l.line_no, l.account, l.account_label, l.customer_id, l.lettering, l.credit - l.debit
		                  FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
		                 WHERE e.company_id = c.id AND e.source_kind = src.source_kind AND e.source_id = src.source_id) x
		         GROUP BY x.account, x.customer_id, x.lettering) n
		 WHERE n.amount <> 0;
	END LOOP;
	SELECT count(*), count(*) FILTER (WHERE e.correction) INTO ex.entry_count, ex.correction_count
	  FROM ar.journal_entry e WHERE e.export_id = ex.id;
	SELECT coalesce(sum(l.debit), 0), coalesce(sum(l.credit), 0) INTO ex.total_debit, ex.total_credit
	  FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id WHERE e.export_id = ex.id;
	UPDATE ar.accounting_export x
	   SET entry_count = ex.entry_count, correction_count = ex.correction_count,
	       total_debit = ex.total_debit, total_credit = ex.total_credit
	 WHERE x.company_id = ex.company_id AND x.id = ex.id;
	RETURN ex;
END $$;
COMMENT ON FUNCTION ar.export_journal(text, date, date) IS
'Journals the receivables'' movements of a company (by code) from period_from to period_to, once: receipts, write-offs, penalty invoices, customer credit received, refunded or written off become balanced entries (ar.journal_entry), numbered per journal and fiscal year without gaps; the changes since of earlier, locked periods become correcting entries dated in this one. A period starts the day after the last export. Calling it again for the same period returns the same export. ar_admin of the company.';

-- ------------------------------------------------------------------- FEC

-- A text in ISO 8859-15, the FEC's encoding (doc/accounting-export.md): a
-- character outside it is transliterated as for SEPA (Ł → L, ź → z, ’ →
-- ', ½ → 1/2), and what has no transliteration in it becomes '?'.  The characters of
-- ISO 8859-15: ASCII, U+00A0 to U+00FF but the eight it replaced (¤ ¦ ¨ ´ ¸
-- ¼ ½ ¾), and those eight's replacements (€ Š š Ž ž Œ œ Ÿ).
CREATE FUNCTION ar._fec_latin9(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT CASE WHEN value !~ c.outside THEN value
	       ELSE regexp_replace((SELECT string_agg(CASE WHEN x.ch ~ c.outside THEN coalesce(nullif(translate(ar.sepa_transliterate(x.ch), '⁄', '/'), ''), ' ')
	                                                   ELSE x.ch END, '' ORDER BY x.n)
	                              FROM regexp_split_to_table(value, '') WITH ORDINALITY x (ch, n)),
	                           c.outside, '?', 'g') END
	  FROM (VALUES (E'[^\\x01-\\x7e\\xa0-\\xa3\\xa5\\xa7\\xa9-\\xb3\\xb5-\\xb7\\xb9-\\xbb\\xbf-\\xff\\u20ac\\u0160\\u0161\\u017d\\u017e\\u0152\\u0153\\u0178]')) c (outside)
$$;

-- A field of the FEC: no separator nor control character, in ISO 8859-15.
CREATE FUNCTION ar._fec_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT ar._fec_latin9(btrim(regexp_replace(coalesce(value, ''), E'\\s*[|[:cntrl:]][|[:cntrl:][:space:]]*', ' ', 'g')))
$$;

CREATE FUNCTION ar._fec_amount(value numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT replace(to_char(round(value, 2), 'FM99999999999999990.00'), '.', ',')
$$;

CREATE FUNCTION ar.fec_lines(export_id bigint)
RETURNS TABLE (journalcode text, journallib text, ecriturenum text, ecrituredate date, comptenum text,
               comptelib text, compauxnum text, compauxlib text, pieceref text, piecedate date, ecriturelib text,
               debit numeric, credit numeric, ecriturelet text, datelet date, validdate date, montantdevise numeric,
               idevise text)
LANGUAGE sql STABLE AS $$
	SELECT e.journal_code, e.journal_label, e.entry_no::text, e.entry_date, l.account, l.account_label,
	       cu.code, cu.name, e.piece_ref, e.piece_date, l.label, l.debit, l.credit,
	       l.lettering, CASE WHEN l.lettering IS NOT NULL THEN e.entry_date END, x.exported_on,
	       NULL::numeric, NULL::text
	  FROM ar.accounting_export x
	  JOIN ar.journal_entry e ON e.export_id = x.id
	  JOIN ar.journal_entry_line l ON l.entry_id = e.id
	  LEFT JOIN ar.customer cu ON cu.id = l.customer_id
	 WHERE x.id = fec_lines.export_id
	 ORDER BY e.entry_date, e.journal_code, e.entry_no, l.line_no
$$;
COMMENT ON FUNCTION ar.fec_lines(bigint) IS
'The lines of an accounting export as the 18 fields of the French FEC (article A47 A-1 of the LPF), in order: entries by date, journal and number.';

CREATE FUNCTION ar.fec_file(export_id bigint, separator text DEFAULT '|') RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF separator IS NULL OR separator NOT IN ('|', E'\t') THEN
		RAISE EXCEPTION 'the FEC separator is a tab or a vertical bar, not "%"', coalesce(separator, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM ar.accounting_export x WHERE x.id = fec_file.export_id) THEN
		RAISE EXCEPTION 'accounting export % does not exist', coalesce(export_id::text, 'NULL')
			USING ERRCODE = 'no_data_found';
	END IF;
	RETURN array_to_string(ARRAY['JournalCode', 'JournalLib', 'EcritureNum', 'EcritureDate', 'CompteNum', 'CompteLib',
	                             'CompAuxNum', 'CompAuxLib', 'PieceRef', 'PieceDate', 'EcritureLib', 'Debit', 'Credit',
	                             'EcritureLet', 'DateLet', 'ValidDate', 'Montantdevise', 'Idevise'], separator) || E'\r\n'
	    || coalesce(string_agg(array_to_string(ARRAY[
	           ar._fec_text(f.journalcode), ar._fec_text(f.journallib), f.ecriturenum, to_char(f.ecrituredate, 'YYYYMMDD'),
	           f.comptenum, ar._fec_text(f.comptelib), ar._fec_text(f.compauxnum), ar._fec_text(f.compauxlib),
	           ar._fec_text(f.pieceref), to_char(f.piecedate, 'YYYYMMDD'), ar._fec_text(f.ecriturelib),
	           ar._fec_amount(f.debit), ar._fec_amount(f.credit), ar._fec_text(f.ecriturelet),
	           coalesce(to_char(f.datelet, 'YYYYMMDD'), ''), to_char(f.validdate, 'YYYYMMDD'),
	           coalesce(ar._fec_amount(f.montantdevise), ''), coalesce(f.idevise, '')], separator, '') || E'\r\n', ''),
	       '')
	  FROM ar.fec_lines(export_id) f;
END $$;
COMMENT ON FUNCTION ar.fec_file(bigint, text) IS
'The French FEC of an accounting export: a header line and one line per journal line, the 18 fields separated by a vertical bar (or a tab), dates YYYYMMDD, amounts with a decimal comma, lines ended by CR LF.';

CREATE FUNCTION ar.fec_file_name(export_id bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	x ar.accounting_export;
	c ar.company;
	fy_month integer;
BEGIN
	SELECT * INTO x FROM ar.accounting_export e WHERE e.id = fec_file_name.export_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'accounting export % does not exist', coalesce(export_id::text, 'NULL')
			USING ERRCODE = 'no_data_found';
	END IF;
	SELECT * INTO c FROM ar.company co WHERE co.id = x.company_id;
	IF coalesce(c.siren, '') !~ '^[0-9]{9}$' THEN
		RAISE EXCEPTION 'company "%" has no SIREN (9 digits): %', c.code, coalesce(c.siren, 'NULL')
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Set ar.company.siren: the FEC''s name starts with it.';
	END IF;
	SELECT a.fiscal_year_end_month INTO fy_month FROM ar.accounting_config a WHERE a.company_id = c.id;
	RETURN c.siren || 'FEC' || to_char(ar._fiscal_year_end(x.period_to, coalesce(fy_month, 12)), 'YYYYMMDD') || '.txt';
END $$;
COMMENT ON FUNCTION ar.fec_file_name(bigint) IS
'The FEC''s file name of an accounting export: the company''s SIREN, FEC, the closing date of the fiscal year of the period''s end (YYYYMMDD), .txt.';

-- ------------------------------------------------------------ grants, dump

REVOKE ALL ON FUNCTION ar._accounting_config_touch(), ar._journal_entry_balanced(), ar._journal_immutable(),
                       ar._accounting_export_update(), ar._accounting_sources(bigint, date),
                       ar.export_journal(text, date, date), ar.fec_lines(bigint), ar.fec_file(bigint, text),
                       ar.fec_file_name(bigint)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar.fec_lines(bigint), ar.fec_file(bigint, text), ar.fec_file_name(bigint) TO ar_reader;
GRANT SELECT ON ar.accounting_config, ar.accounting_export, ar.journal_entry, ar.journal_entry_line TO ar_reader;
GRANT INSERT, UPDATE ON ar.accounting_config TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.export_journal(text, date, date) TO ar_admin;
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['accounting_config', 'accounting_export', 'journal_entry', 'journal_entry_line'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('ar.' || t)::regclass, '');
	END LOOP;
	FOREACH t IN ARRAY ARRAY['accounting_export', 'journal_entry', 'journal_entry_line'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.' || t, 'id')::regclass, '');
	END LOOP;
END $$;
