-- ar_collect install script, assembled from src/sql/*.sql in name order.
\echo Use "CREATE EXTENSION ar_collect" to load this file. \quit

-- The schema "ar" is created by CREATE EXTENSION (control file: schema = ar).
COMMENT ON SCHEMA ar IS 'ar_collect: accounts receivable ledger, reconciliation, penalties, dunning and analytics';

-- Settings read by the triggers below, documented in the README:
--   ar_collect.restoring = on   while pg_restore reloads a dump (keeps the
--                               dumped audit trail instead of re-auditing).
-- ---------------------------------------------------------------------------
-- Roles (cluster-wide, created once, kept by DROP EXTENSION):
--   ar_reader     reads the ledger, the views and the reports; writes nothing
--   ar_collector  ar_reader + records payments and applies credits (and, as
--                 they land: reconciles, runs dunning, logs disputes)
--   ar_admin      ar_collector + loads and corrects data, configuration,
--                 write-offs and cancellations, reads the audit trail
-- Writing functions are SECURITY DEFINER with a pinned search_path, so the
-- roles need EXECUTE on them rather than write access to the tables.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['ar_reader', 'ar_collector', 'ar_admin'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END $$;

GRANT ar_reader TO ar_collector;
GRANT ar_collector TO ar_admin;

GRANT USAGE ON SCHEMA ar TO ar_reader;
-- 10_identifiers.sql: the validated identifier types ar.iban (ISO 13616)
-- and ar.creditor_ref (ISO 11649).  Both store the compact upper-case text;
-- they share the C output, send, comparison and hash functions
-- (src/identifier.c), declared here once per type.

--------------------------------------------------------------------------
-- ar.iban
--------------------------------------------------------------------------
CREATE TYPE ar.iban;

CREATE FUNCTION ar.iban_in(cstring) RETURNS ar.iban
	AS 'MODULE_PATHNAME', 'ar_iban_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_out(ar.iban) RETURNS cstring
	AS 'MODULE_PATHNAME', 'ar_ident_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_recv(internal) RETURNS ar.iban
	AS 'MODULE_PATHNAME', 'ar_iban_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_send(ar.iban) RETURNS bytea
	AS 'MODULE_PATHNAME', 'ar_ident_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STORAGE extended lets values use 1-byte varlena headers on disk; at 34
-- bytes at most they are never compressed nor moved out of line.
CREATE TYPE ar.iban (
	INPUT = ar.iban_in,
	OUTPUT = ar.iban_out,
	RECEIVE = ar.iban_recv,
	SEND = ar.iban_send,
	INTERNALLENGTH = VARIABLE,
	STORAGE = extended
);

COMMENT ON TYPE ar.iban IS
'validated IBAN (ISO 13616): registry country, length and BBAN format, mod 97; stored compact and upper case';
COMMENT ON FUNCTION ar.iban_in(cstring) IS 'text input of ar.iban: validates, strips spaces, "-" and ".", upper-cases';
COMMENT ON FUNCTION ar.iban_out(ar.iban) IS 'text output of ar.iban: compact, upper case';
COMMENT ON FUNCTION ar.iban_recv(internal) IS 'binary input of ar.iban: validated like text input';
COMMENT ON FUNCTION ar.iban_send(ar.iban) IS 'binary output of ar.iban: the compact text';

CREATE FUNCTION ar.iban_eq(ar.iban, ar.iban) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_ne(ar.iban, ar.iban) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_lt(ar.iban, ar.iban) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_le(ar.iban, ar.iban) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_gt(ar.iban, ar.iban) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_ge(ar.iban, ar.iban) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_cmp(ar.iban, ar.iban) RETURNS integer
	AS 'MODULE_PATHNAME', 'ar_ident_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_hash(ar.iban) RETURNS integer
	AS 'MODULE_PATHNAME', 'ar_ident_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.iban_hash_extended(ar.iban, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ar_ident_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION ar.iban_eq(ar.iban, ar.iban) IS 'implementation of = for ar.iban';
COMMENT ON FUNCTION ar.iban_ne(ar.iban, ar.iban) IS 'implementation of <> for ar.iban';
COMMENT ON FUNCTION ar.iban_lt(ar.iban, ar.iban) IS 'implementation of < for ar.iban';
COMMENT ON FUNCTION ar.iban_le(ar.iban, ar.iban) IS 'implementation of <= for ar.iban';
COMMENT ON FUNCTION ar.iban_gt(ar.iban, ar.iban) IS 'implementation of > for ar.iban';
COMMENT ON FUNCTION ar.iban_ge(ar.iban, ar.iban) IS 'implementation of >= for ar.iban';
COMMENT ON FUNCTION ar.iban_cmp(ar.iban, ar.iban) IS 'btree comparison of ar.iban: -1, 0 or 1';
COMMENT ON FUNCTION ar.iban_hash(ar.iban) IS 'hash of ar.iban';
COMMENT ON FUNCTION ar.iban_hash_extended(ar.iban, bigint) IS 'seeded 64-bit hash of ar.iban';

CREATE OPERATOR ar.= (
	LEFTARG = ar.iban, RIGHTARG = ar.iban, FUNCTION = ar.iban_eq,
	COMMUTATOR = OPERATOR(ar.=), NEGATOR = OPERATOR(ar.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR ar.<> (
	LEFTARG = ar.iban, RIGHTARG = ar.iban, FUNCTION = ar.iban_ne,
	COMMUTATOR = OPERATOR(ar.<>), NEGATOR = OPERATOR(ar.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR ar.< (
	LEFTARG = ar.iban, RIGHTARG = ar.iban, FUNCTION = ar.iban_lt,
	COMMUTATOR = OPERATOR(ar.>), NEGATOR = OPERATOR(ar.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR ar.<= (
	LEFTARG = ar.iban, RIGHTARG = ar.iban, FUNCTION = ar.iban_le,
	COMMUTATOR = OPERATOR(ar.>=), NEGATOR = OPERATOR(ar.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR ar.> (
	LEFTARG = ar.iban, RIGHTARG = ar.iban, FUNCTION = ar.iban_gt,
	COMMUTATOR = OPERATOR(ar.<), NEGATOR = OPERATOR(ar.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR ar.>= (
	LEFTARG = ar.iban, RIGHTARG = ar.iban, FUNCTION = ar.iban_ge,
	COMMUTATOR = OPERATOR(ar.<=), NEGATOR = OPERATOR(ar.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

-- Equal values are byte-identical, hence btequalimage: btree deduplication.
CREATE OPERATOR CLASS ar.iban_ops
	DEFAULT FOR TYPE ar.iban USING btree AS
		OPERATOR 1 ar.<,
		OPERATOR 2 ar.<=,
		OPERATOR 3 ar.=,
		OPERATOR 4 ar.>=,
		OPERATOR 5 ar.>,
		FUNCTION 1 ar.iban_cmp(ar.iban, ar.iban),
		FUNCTION 4 btequalimage(oid);

CREATE OPERATOR CLASS ar.iban_hash_ops
	DEFAULT FOR TYPE ar.iban USING hash AS
		OPERATOR 1 ar.=,
		FUNCTION 1 ar.iban_hash(ar.iban),
		FUNCTION 2 ar.iban_hash_extended(ar.iban, bigint);

CREATE CAST (text AS ar.iban) WITH INOUT AS ASSIGNMENT;
CREATE CAST (ar.iban AS text) WITH INOUT AS ASSIGNMENT;

CREATE FUNCTION ar.iban_country(ar.iban) RETURNS text
	AS 'MODULE_PATHNAME', 'ar_iban_country'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.iban_country(ar.iban) IS
'ISO 3166 country code of an IBAN (its first two letters)';

CREATE FUNCTION ar.iban_format(ar.iban) RETURNS text
	AS 'MODULE_PATHNAME', 'ar_ident_format'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.iban_format(ar.iban) IS
'paper format of an IBAN: groups of four characters separated by spaces';

CREATE FUNCTION ar.is_valid_iban(text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_is_valid_iban'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.is_valid_iban(text) IS
'true when the text is accepted by ar.iban, false instead of an error';

--------------------------------------------------------------------------
-- ar.creditor_ref
--------------------------------------------------------------------------
CREATE TYPE ar.creditor_ref;

CREATE FUNCTION ar.creditor_ref_in(cstring) RETURNS ar.creditor_ref
	AS 'MODULE_PATHNAME', 'ar_creditor_ref_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_out(ar.creditor_ref) RETURNS cstring
	AS 'MODULE_PATHNAME', 'ar_ident_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_recv(internal) RETURNS ar.creditor_ref
	AS 'MODULE_PATHNAME', 'ar_creditor_ref_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_send(ar.creditor_ref) RETURNS bytea
	AS 'MODULE_PATHNAME', 'ar_ident_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE ar.creditor_ref (
	INPUT = ar.creditor_ref_in,
	OUTPUT = ar.creditor_ref_out,
	RECEIVE = ar.creditor_ref_recv,
	SEND = ar.creditor_ref_send,
	INTERNALLENGTH = VARIABLE,
	STORAGE = extended
);

COMMENT ON TYPE ar.creditor_ref IS
'validated ISO 11649 structured creditor reference (RF + 2 check digits + 1 to 21 letters or digits); stored compact and upper case';
COMMENT ON FUNCTION ar.creditor_ref_in(cstring) IS 'text input of ar.creditor_ref: validates, strips spaces, "-" and ".", upper-cases';
COMMENT ON FUNCTION ar.creditor_ref_out(ar.creditor_ref) IS 'text output of ar.creditor_ref: compact, upper case';
COMMENT ON FUNCTION ar.creditor_ref_recv(internal) IS 'binary input of ar.creditor_ref: validated like text input';
COMMENT ON FUNCTION ar.creditor_ref_send(ar.creditor_ref) IS 'binary output of ar.creditor_ref: the compact text';

CREATE FUNCTION ar.creditor_ref_eq(ar.creditor_ref, ar.creditor_ref) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_ne(ar.creditor_ref, ar.creditor_ref) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_lt(ar.creditor_ref, ar.creditor_ref) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_le(ar.creditor_ref, ar.creditor_ref) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_gt(ar.creditor_ref, ar.creditor_ref) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_ge(ar.creditor_ref, ar.creditor_ref) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_ident_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_cmp(ar.creditor_ref, ar.creditor_ref) RETURNS integer
	AS 'MODULE_PATHNAME', 'ar_ident_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_hash(ar.creditor_ref) RETURNS integer
	AS 'MODULE_PATHNAME', 'ar_ident_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.creditor_ref_hash_extended(ar.creditor_ref, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ar_ident_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION ar.creditor_ref_eq(ar.creditor_ref, ar.creditor_ref) IS 'implementation of = for ar.creditor_ref';
COMMENT ON FUNCTION ar.creditor_ref_ne(ar.creditor_ref, ar.creditor_ref) IS 'implementation of <> for ar.creditor_ref';
COMMENT ON FUNCTION ar.creditor_ref_lt(ar.creditor_ref, ar.creditor_ref) IS 'implementation of < for ar.creditor_ref';
COMMENT ON FUNCTION ar.creditor_ref_le(ar.creditor_ref, ar.creditor_ref) IS 'implementation of <= for ar.creditor_ref';
COMMENT ON FUNCTION ar.creditor_ref_gt(ar.creditor_ref, ar.creditor_ref) IS 'implementation of > for ar.creditor_ref';
COMMENT ON FUNCTION ar.creditor_ref_ge(ar.creditor_ref, ar.creditor_ref) IS 'implementation of >= for ar.creditor_ref';
COMMENT ON FUNCTION ar.creditor_ref_cmp(ar.creditor_ref, ar.creditor_ref) IS 'btree comparison of ar.creditor_ref: -1, 0 or 1';
COMMENT ON FUNCTION ar.creditor_ref_hash(ar.creditor_ref) IS 'hash of ar.creditor_ref';
COMMENT ON FUNCTION ar.creditor_ref_hash_extended(ar.creditor_ref, bigint) IS 'seeded 64-bit hash of ar.creditor_ref';

CREATE OPERATOR ar.= (
	LEFTARG = ar.creditor_ref, RIGHTARG = ar.creditor_ref, FUNCTION = ar.creditor_ref_eq,
	COMMUTATOR = OPERATOR(ar.=), NEGATOR = OPERATOR(ar.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR ar.<> (
	LEFTARG = ar.creditor_ref, RIGHTARG = ar.creditor_ref, FUNCTION = ar.creditor_ref_ne,
	COMMUTATOR = OPERATOR(ar.<>), NEGATOR = OPERATOR(ar.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR ar.< (
	LEFTARG = ar.creditor_ref, RIGHTARG = ar.creditor_ref, FUNCTION = ar.creditor_ref_lt,
	COMMUTATOR = OPERATOR(ar.>), NEGATOR = OPERATOR(ar.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR ar.<= (
	LEFTARG = ar.creditor_ref, RIGHTARG = ar.creditor_ref, FUNCTION = ar.creditor_ref_le,
	COMMUTATOR = OPERATOR(ar.>=), NEGATOR = OPERATOR(ar.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR ar.> (
	LEFTARG = ar.creditor_ref, RIGHTARG = ar.creditor_ref, FUNCTION = ar.creditor_ref_gt,
	COMMUTATOR = OPERATOR(ar.<), NEGATOR = OPERATOR(ar.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR ar.>= (
	LEFTARG = ar.creditor_ref, RIGHTARG = ar.creditor_ref, FUNCTION = ar.creditor_ref_ge,
	COMMUTATOR = OPERATOR(ar.<=), NEGATOR = OPERATOR(ar.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS ar.creditor_ref_ops
	DEFAULT FOR TYPE ar.creditor_ref USING btree AS
		OPERATOR 1 ar.<,
		OPERATOR 2 ar.<=,
		OPERATOR 3 ar.=,
		OPERATOR 4 ar.>=,
		OPERATOR 5 ar.>,
		FUNCTION 1 ar.creditor_ref_cmp(ar.creditor_ref, ar.creditor_ref),
		FUNCTION 4 btequalimage(oid);

CREATE OPERATOR CLASS ar.creditor_ref_hash_ops
	DEFAULT FOR TYPE ar.creditor_ref USING hash AS
		OPERATOR 1 ar.=,
		FUNCTION 1 ar.creditor_ref_hash(ar.creditor_ref),
		FUNCTION 2 ar.creditor_ref_hash_extended(ar.creditor_ref, bigint);

CREATE CAST (text AS ar.creditor_ref) WITH INOUT AS ASSIGNMENT;
CREATE CAST (ar.creditor_ref AS text) WITH INOUT AS ASSIGNMENT;

CREATE FUNCTION ar.make_creditor_ref(payload text) RETURNS ar.creditor_ref
	AS 'MODULE_PATHNAME', 'ar_make_creditor_ref'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.make_creditor_ref(text) IS
'ISO 11649 creditor reference for a payload of 1 to 21 letters or digits (separators " ", "-", "." ignored), e.g. an invoice number';

CREATE FUNCTION ar.creditor_ref_format(ar.creditor_ref) RETURNS text
	AS 'MODULE_PATHNAME', 'ar_ident_format'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.creditor_ref_format(ar.creditor_ref) IS
'paper format of a creditor reference: groups of four characters separated by spaces';

CREATE FUNCTION ar.is_valid_creditor_ref(text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ar_is_valid_creditor_ref'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.is_valid_creditor_ref(text) IS
'true when the text is accepted by ar.creditor_ref, false instead of an error';
-- 20_aging.sql: the ar.aging(amount, due_date, as_of) aggregate
-- (src/aging.c).  Its transition state is a type of its own, ar.aging_state,
-- with text and binary I/O rather than "internal", so that partial states
-- can be combined across parallel workers and shipped between nodes.

CREATE TYPE ar.aging_buckets AS (
	not_due numeric,
	d1_30 numeric,
	d31_60 numeric,
	d61_90 numeric,
	d91_plus numeric,
	total numeric
);

COMMENT ON TYPE ar.aging_buckets IS
'amounts by days past due (as_of - due_date): not_due (<= 0), 1-30, 31-60, 61-90, 91+, and their total';

--------------------------------------------------------------------------
-- ar.aging_state: exact per-bucket sums and their scale
--------------------------------------------------------------------------
CREATE TYPE ar.aging_state;

CREATE FUNCTION ar.aging_state_in(cstring) RETURNS ar.aging_state
	AS 'MODULE_PATHNAME', 'aging_state_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.aging_state_out(ar.aging_state) RETURNS cstring
	AS 'MODULE_PATHNAME', 'aging_state_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.aging_state_recv(internal) RETURNS ar.aging_state
	AS 'MODULE_PATHNAME', 'aging_state_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.aging_state_send(ar.aging_state) RETURNS bytea
	AS 'MODULE_PATHNAME', 'aging_state_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- 88 bytes, aligned for the int128 sums; STORAGE plain keeps the 4-byte
-- varlena header the C code updates in place.
CREATE TYPE ar.aging_state (
	INPUT = ar.aging_state_in,
	OUTPUT = ar.aging_state_out,
	RECEIVE = ar.aging_state_recv,
	SEND = ar.aging_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);

COMMENT ON TYPE ar.aging_state IS
'transition state of ar.aging: exact sums of the five buckets; text form (not_due,d1_30,d31_60,d61_90,d91_plus) as plain decimals at one scale';
COMMENT ON FUNCTION ar.aging_state_in(cstring) IS 'text input of ar.aging_state: (not_due,d1_30,d31_60,d61_90,d91_plus), strictly validated';
COMMENT ON FUNCTION ar.aging_state_out(ar.aging_state) IS 'text output of ar.aging_state: the five sums as plain decimals at the state''s scale';
COMMENT ON FUNCTION ar.aging_state_recv(internal) IS 'binary input of ar.aging_state: scale (int4), then each sum as a 128-bit integer';
COMMENT ON FUNCTION ar.aging_state_send(ar.aging_state) IS 'binary output of ar.aging_state: scale (int4), then each sum as a 128-bit integer';

--------------------------------------------------------------------------
-- The aggregate.  The support functions are not strict: a row with a NULL
-- input is skipped by the transition function, and a NULL state stands for
-- "no row yet" everywhere.
--------------------------------------------------------------------------
CREATE FUNCTION ar.aging_transfn(ar.aging_state, numeric, date, date)
	RETURNS ar.aging_state
	AS 'MODULE_PATHNAME', 'aging_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar.aging_combine(ar.aging_state, ar.aging_state)
	RETURNS ar.aging_state
	AS 'MODULE_PATHNAME', 'aging_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar.aging_final(ar.aging_state) RETURNS ar.aging_buckets
	AS 'MODULE_PATHNAME', 'aging_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE ar.aging(amount numeric, due_date date, as_of date) (
	SFUNC = ar.aging_transfn,
	STYPE = ar.aging_state,
	SSPACE = 88,
	FINALFUNC = ar.aging_final,
	COMBINEFUNC = ar.aging_combine,
	PARALLEL = SAFE
);

COMMENT ON FUNCTION ar.aging_transfn(ar.aging_state, numeric, date, date) IS
'transition function of ar.aging: adds the amount to the bucket of as_of - due_date; rows with a NULL input are skipped';
COMMENT ON FUNCTION ar.aging_combine(ar.aging_state, ar.aging_state) IS
'combine function of ar.aging: the state of the union of two row sets (parallel workers, shards)';
COMMENT ON FUNCTION ar.aging_final(ar.aging_state) IS
'final function of ar.aging: the buckets and their total as numerics at the largest scale seen; zeros for no rows';
COMMENT ON AGGREGATE ar.aging(numeric, date, date) IS
'sums amounts by days past due (as_of - due_date) into ar.aging_buckets: not_due (<= 0), d1_30, d31_60, d61_90, d91_plus, total; NULL inputs ignored, exact, parallel safe';
-- ---------------------------------------------------------------------------
-- The receivables ledger: companies, customers, invoices, bank lines and the
-- allocations between them.  Every row carries company_id so that several
-- legal entities, row-level security and distribution by key stay possible;
-- single-company users never mention it (the default company fills it).
--
-- Derived columns (invoice.open_amount and status, bank_transaction.
-- allocated_amount and status, customer_credit.remaining) are maintained by
-- the triggers of this file only, under row locks, and CHECK constraints
-- make over-allocation impossible whatever the client does.
-- ---------------------------------------------------------------------------

CREATE TABLE ar.company (
	id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	code        text NOT NULL UNIQUE,
	name        text NOT NULL,
	country     text NOT NULL DEFAULT 'FR',
	currency    char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
	iban        ar.iban,
	is_default  boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX company_single_default ON ar.company (is_default) WHERE is_default;
INSERT INTO ar.company (code, name, is_default) VALUES ('DEFAULT', 'Default company', true);

CREATE FUNCTION ar.default_company() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT id FROM ar.company WHERE is_default $$;

CREATE TABLE ar.customer (
	id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id    bigint NOT NULL DEFAULT ar.default_company() REFERENCES ar.company,
	code          text NOT NULL,
	name          text NOT NULL,
	country       text NOT NULL DEFAULT 'FR',
	email         text,
	phone         text,
	language      text NOT NULL DEFAULT 'fr',
	segment       text CHECK (segment IN ('punctual', 'occasional_late', 'chronic_late', 'high_risk')),
	credit_limit  numeric CHECK (credit_limit >= 0),
	created_at    timestamptz NOT NULL DEFAULT now(),
	UNIQUE (company_id, code),
	UNIQUE (company_id, id)
);

CREATE TABLE ar.customer_bank_account (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint NOT NULL DEFAULT ar.default_company(),
	customer_id  bigint NOT NULL,
	iban         ar.iban NOT NULL,
	holder_name  text,
	created_at   timestamptz NOT NULL DEFAULT now(),
	UNIQUE (customer_id, iban),
	FOREIGN KEY (company_id, customer_id) REFERENCES ar.customer (company_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_bank_account_iban ON ar.customer_bank_account (iban);

CREATE TABLE ar.invoice (
	id                  bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id          bigint NOT NULL DEFAULT ar.default_company(),
	customer_id         bigint NOT NULL,
	number              text NOT NULL,
	issue_date          date NOT NULL,
	due_date            date NOT NULL,
	amount              numeric NOT NULL,
	currency            char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
	payment_reference   text,
	open_amount         numeric NOT NULL,
	written_off_amount  numeric NOT NULL DEFAULT 0,
	status              text NOT NULL DEFAULT 'open',
	disputed            boolean NOT NULL DEFAULT false,
	cancelled_on        date,
	created_at          timestamptz NOT NULL DEFAULT now(),
	updated_at          timestamptz,
	UNIQUE (company_id, number),
	UNIQUE (company_id, id),
	FOREIGN KEY (company_id, customer_id) REFERENCES ar.customer (company_id, id),
	CONSTRAINT invoice_due_after_issue CHECK (due_date >= issue_date),
	CONSTRAINT invoice_amount_finite CHECK (amount NOT IN ('NaN', 'Infinity', '-Infinity')),
	-- the heart of the ledger: never more allocated than the invoice's amount
	CONSTRAINT invoice_not_over_allocated
		CHECK (open_amount BETWEEN least(amount, 0) AND greatest(amount, 0)),
	CONSTRAINT invoice_status_known
		CHECK (status IN ('open', 'partially_paid', 'paid', 'disputed', 'written_off', 'cancelled'))
);
CREATE INDEX invoice_customer ON ar.invoice (customer_id, due_date);
-- payments name the invoice by number alone (unique per company)
CREATE INDEX invoice_number ON ar.invoice (number);
CREATE INDEX invoice_open_due ON ar.invoice (due_date) WHERE open_amount <> 0;
CREATE INDEX invoice_payment_reference ON ar.invoice (payment_reference) WHERE payment_reference IS NOT NULL;

CREATE TABLE ar.bank_statement (
	id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id       bigint NOT NULL DEFAULT ar.default_company() REFERENCES ar.company,
	format           text NOT NULL,
	account_iban     ar.iban,
	account_id       text NOT NULL,
	statement_ref    text NOT NULL,
	currency         char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
	opening_date     date,
	opening_balance  numeric,
	closing_date     date,
	closing_balance  numeric,
	balanced         boolean,
	content_sha256   bytea NOT NULL,
	imported_at      timestamptz NOT NULL DEFAULT now(),
	UNIQUE (company_id, account_id, statement_ref, content_sha256)
);

CREATE TABLE ar.bank_transaction (
	id                    bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id            bigint NOT NULL DEFAULT ar.default_company() REFERENCES ar.company,
	statement_id          bigint REFERENCES ar.bank_statement,
	line_no               integer,
	booking_date          date NOT NULL,
	value_date            date,
	amount                numeric NOT NULL,
	currency              char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
	counterparty_name     text,
	counterparty_iban     ar.iban,
	counterparty_account  text,
	remittance_info       text,
	structured_reference  text,
	end_to_end_id         text,
	bank_reference        text,
	bank_tx_code          text,
	return_reason         text,
	allocated_amount      numeric NOT NULL DEFAULT 0,
	status                text NOT NULL DEFAULT 'unmatched',
	created_at            timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT bank_transaction_amount_nonzero
		CHECK (amount <> 0 AND amount NOT IN ('NaN', 'Infinity', '-Infinity')),
	-- a bank line never allocates more than its own amount
	CONSTRAINT bank_transaction_not_over_allocated
		CHECK (allocated_amount BETWEEN least(amount, 0) AND greatest(amount, 0)),
	CONSTRAINT bank_transaction_status_known
		CHECK (status IN ('unmatched', 'matched', 'partially_matched', 'proposed', 'ignored'))
);
CREATE INDEX bank_transaction_statement ON ar.bank_transaction (statement_id);
CREATE INDEX bank_transaction_unmatched ON ar.bank_transaction (booking_date) WHERE status = 'unmatched';

-- Money a customer paid beyond what it owed (or credit granted): consumed by
-- later invoices through allocations that name it.
CREATE TABLE ar.customer_credit (
	id                   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id           bigint NOT NULL DEFAULT ar.default_company(),
	customer_id          bigint NOT NULL,
	currency             char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
	amount               numeric NOT NULL CHECK (amount > 0 AND amount NOT IN ('NaN', 'Infinity')),
	remaining            numeric NOT NULL,
	source               text NOT NULL DEFAULT 'overpayment'
		CHECK (source IN ('overpayment', 'unapplied_payment', 'manual')),
	bank_transaction_id  bigint REFERENCES ar.bank_transaction,
	invoice_id           bigint REFERENCES ar.invoice,
	created_on           date NOT NULL DEFAULT current_date,
	note                 text,
	created_at           timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (company_id, customer_id) REFERENCES ar.customer (company_id, id),
	CONSTRAINT customer_credit_not_overspent CHECK (remaining BETWEEN 0 AND amount)
);
CREATE INDEX customer_credit_available ON ar.customer_credit (customer_id, currency) WHERE remaining > 0;

CREATE TABLE ar.allocation (
	id                   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id           bigint NOT NULL DEFAULT ar.default_company(),
	invoice_id           bigint NOT NULL REFERENCES ar.invoice,
	bank_transaction_id  bigint REFERENCES ar.bank_transaction,
	customer_credit_id   bigint REFERENCES ar.customer_credit,
	amount               numeric NOT NULL,
	allocated_on         date NOT NULL DEFAULT current_date,
	method               text NOT NULL DEFAULT 'manual' CHECK (method ~ '^[a-z][a-z0-9_]*$'),
	payment_means        text,
	score                real,
	note                 text,
	created_by           text NOT NULL DEFAULT session_user,
	created_at           timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT allocation_amount_nonzero
		CHECK (amount <> 0 AND amount NOT IN ('NaN', 'Infinity', '-Infinity')),
	CONSTRAINT allocation_single_source
		CHECK (bank_transaction_id IS NULL OR customer_credit_id IS NULL)
);
CREATE INDEX allocation_invoice ON ar.allocation (invoice_id, allocated_on);
CREATE INDEX allocation_bank_transaction ON ar.allocation (bank_transaction_id) WHERE bank_transaction_id IS NOT NULL;
CREATE INDEX allocation_customer_credit ON ar.allocation (customer_credit_id) WHERE customer_credit_id IS NOT NULL;
CREATE INDEX allocation_allocated_on ON ar.allocation (allocated_on);

-- ---------------------------------------------------------------------------
-- Derived columns.  Client statements run at trigger depth 1; the ledger's
-- own maintenance updates run from the allocation triggers at depth 2 or
-- more, which is how the guards below tell the two apart.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ar.invoice_status(amount numeric, open_amount numeric, written_off_amount numeric,
                                  disputed boolean, cancelled boolean)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN cancelled THEN 'cancelled'
		WHEN open_amount = 0 AND written_off_amount <> 0 THEN 'written_off'
		WHEN open_amount = 0 THEN 'paid'
		WHEN disputed THEN 'disputed'
		WHEN open_amount <> amount THEN 'partially_paid'
		ELSE 'open'
	END
$$;

CREATE FUNCTION ar._derived_column_error(tbl text, col text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'column %.% is maintained by ar_collect', tbl, col
		USING ERRCODE = 'insufficient_privilege',
		      DETAIL = 'It follows the allocation ledger and cannot be set directly.',
		      HINT = 'Record payments with ar.record_payment() or insert into ar.allocation.';
END $$;

CREATE FUNCTION ar._invoice_maintain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.open_amount := CASE WHEN NEW.cancelled_on IS NULL THEN NEW.amount ELSE NEW.amount - NEW.amount END;
		NEW.written_off_amount := 0;
	ELSE
		IF pg_trigger_depth() = 1 THEN
			IF NEW.open_amount IS DISTINCT FROM OLD.open_amount THEN
				PERFORM ar._derived_column_error('invoice', 'open_amount');
			ELSIF NEW.written_off_amount IS DISTINCT FROM OLD.written_off_amount THEN
				PERFORM ar._derived_column_error('invoice', 'written_off_amount');
			ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
				PERFORM ar._derived_column_error('invoice', 'status');
			END IF;
		END IF;
		IF OLD.open_amount <> OLD.amount OR OLD.written_off_amount <> 0 THEN
			IF NEW.currency IS DISTINCT FROM OLD.currency OR NEW.company_id IS DISTINCT FROM OLD.company_id THEN
				RAISE EXCEPTION 'invoice % already has allocations', OLD.number
					USING ERRCODE = 'object_not_in_prerequisite_state',
					      DETAIL = 'Its currency and company cannot change any more.';
			END IF;
			IF NEW.cancelled_on IS NOT NULL AND OLD.cancelled_on IS NULL THEN
				RAISE EXCEPTION 'invoice % cannot be cancelled: it already has allocations', OLD.number
					USING ERRCODE = 'object_not_in_prerequisite_state',
					      HINT = 'Issue a credit note instead.';
			END IF;
		END IF;
		IF NEW.cancelled_on IS NOT NULL THEN
			NEW.open_amount := NEW.amount - NEW.amount;  -- zero at the amount's scale
		ELSIF OLD.cancelled_on IS NOT NULL THEN
			NEW.open_amount := NEW.amount;
		ELSE
			-- a corrected amount moves the open amount by the same difference;
			-- invoice_not_over_allocated refuses a correction below what was paid
			NEW.open_amount := NEW.open_amount + (NEW.amount - OLD.amount);
		END IF;
		NEW.updated_at := now();
	END IF;
	IF NEW.open_amount NOT BETWEEN least(NEW.amount, 0) AND greatest(NEW.amount, 0) THEN
		RAISE EXCEPTION 'invoice % cannot have amount %: % of it is already allocated',
			NEW.number, NEW.amount, NEW.amount - NEW.open_amount
			USING ERRCODE = 'check_violation';
	END IF;
	NEW.status := ar.invoice_status(NEW.amount, NEW.open_amount, NEW.written_off_amount,
	                                NEW.disputed, NEW.cancelled_on IS NOT NULL);
	RETURN NEW;
END $$;

CREATE TRIGGER invoice_maintain BEFORE INSERT OR UPDATE ON ar.invoice
	FOR EACH ROW EXECUTE FUNCTION ar._invoice_maintain();

CREATE FUNCTION ar._bank_transaction_maintain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.allocated_amount := 0;
	ELSIF pg_trigger_depth() = 1 THEN
		IF NEW.allocated_amount IS DISTINCT FROM OLD.allocated_amount THEN
			PERFORM ar._derived_column_error('bank_transaction', 'allocated_amount');
		END IF;
		IF OLD.allocated_amount <> 0 AND (NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency) THEN
			RAISE EXCEPTION 'bank transaction % already has allocations', OLD.id
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
	END IF;
	-- matched / partially_matched follow the money; with nothing allocated
	-- the line keeps the review state it was given (unmatched, proposed, ignored)
	NEW.status := CASE
		WHEN NEW.allocated_amount = NEW.amount THEN 'matched'
		WHEN NEW.allocated_amount <> 0 THEN 'partially_matched'
		WHEN NEW.status IN ('matched', 'partially_matched') THEN 'unmatched'
		ELSE NEW.status
	END;
	RETURN NEW;
END $$;

CREATE TRIGGER bank_transaction_maintain BEFORE INSERT OR UPDATE ON ar.bank_transaction
	FOR EACH ROW EXECUTE FUNCTION ar._bank_transaction_maintain();

CREATE FUNCTION ar._customer_credit_maintain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.remaining := NEW.amount;
		IF NEW.bank_transaction_id IS NOT NULL THEN
			-- credit born from a bank line uses up that line like an allocation
			PERFORM ar._bank_transaction_take(NEW.bank_transaction_id, NEW.amount, NEW.currency,
			                                  'customer credit');
		END IF;
	ELSIF pg_trigger_depth() = 1 THEN
		IF NEW.remaining IS DISTINCT FROM OLD.remaining THEN
			PERFORM ar._derived_column_error('customer_credit', 'remaining');
		END IF;
		IF NEW.amount <> OLD.amount OR NEW.customer_id <> OLD.customer_id OR NEW.currency <> OLD.currency
		   OR NEW.bank_transaction_id IS DISTINCT FROM OLD.bank_transaction_id THEN
			RAISE EXCEPTION 'customer credit % cannot be changed', OLD.id
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'Credits are part of the ledger: record a new one instead.';
		END IF;
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER customer_credit_maintain BEFORE INSERT OR UPDATE ON ar.customer_credit
	FOR EACH ROW EXECUTE FUNCTION ar._customer_credit_maintain();

-- Adds delta to a bank line's allocated amount under a row lock, after the
-- checks that give a clear error instead of a bare constraint violation.
CREATE FUNCTION ar._bank_transaction_take(bank_transaction_id bigint, delta numeric,
                                          in_currency char(3), what text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	line ar.bank_transaction;
BEGIN
	SELECT * INTO line FROM ar.bank_transaction WHERE id = bank_transaction_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'bank transaction % does not exist', bank_transaction_id
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	IF line.currency <> in_currency THEN
		RAISE EXCEPTION 'bank transaction % is in %, the % is in %', line.id, line.currency, what, in_currency
			USING ERRCODE = 'check_violation';
	END IF;
	-- a line may carry allocations of both signs (a payment net of a credit
	-- note) but their sum stays between zero and the line's amount
	IF abs(line.allocated_amount + delta) > abs(line.amount) OR sign(line.allocated_amount + delta) = -sign(line.amount) THEN
		RAISE EXCEPTION 'bank transaction % would allocate % of its %', line.id, line.allocated_amount + delta, line.amount
			USING ERRCODE = 'check_violation',
			      DETAIL = format('%s is already allocated; a bank line never allocates more than its amount.', line.allocated_amount);
	END IF;
	UPDATE ar.bank_transaction SET allocated_amount = allocated_amount + delta WHERE id = line.id;
END $$;

-- Applies (direction = 1) or reverses (direction = -1) a set of allocations,
-- the rows of one INSERT, COPY or DELETE on ar.allocation (the transition
-- table "changed" of the statement triggers below).  Rows are locked in a
-- fixed order: the invoices in id order, then the bank lines in id order,
-- then the customer credits in id order, so that concurrent sessions
-- serialise instead of over-allocating or deadlocking.  Each check names the
-- first offending invoice (then bank line, then credit) in id order; the
-- invoice checks follow the statement's allocations one by one (in id order),
-- the bank line and credit checks their sums.  The summed deltas are then
-- applied with one UPDATE per table, in id order (rows near each other on
-- disk and in the indexes, as they were locked).
-- (jit off: the estimates of transition tables are rough, and compiling
-- would cost more than these short statements; work_mem for the sorts and
-- aggregates of ten thousands of rows.)
CREATE FUNCTION ar._allocation_apply_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	direction integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
	bad record;
BEGIN
	-- invoices
	PERFORM 1 FROM ar.invoice i WHERE i.id IN (SELECT c.invoice_id FROM changed c) ORDER BY i.id FOR UPDATE OF i;
	SELECT a.id, a.amount, a.company_id, a.invoice_id, o.open_before, i.id AS found, i.number,
	       i.company_id AS invoice_company, i.cancelled_on, i.amount AS invoice_amount
	  INTO bad
	  FROM (SELECT c.id, c.amount, c.company_id, c.invoice_id,
	               coalesce(sum(c.amount) OVER (PARTITION BY c.invoice_id ORDER BY c.id
	                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS done
	          FROM changed c) a
	  LEFT JOIN ar.invoice i ON i.id = a.invoice_id
	  CROSS JOIN LATERAL (SELECT i.open_amount - a.done * direction AS open_before) o
	 WHERE i.id IS NULL
	    OR i.company_id <> a.company_id
	    OR (direction = 1 AND (i.cancelled_on IS NOT NULL OR sign(a.amount) <> sign(i.amount)))
	    OR abs(o.open_before - a.amount * direction) > abs(i.amount)
	    OR sign(o.open_before - a.amount * direction) = -sign(i.amount)
	 ORDER BY a.invoice_id, a.id
	 LIMIT 1;
	IF FOUND THEN
		IF bad.found IS NULL THEN
			RAISE EXCEPTION 'invoice % does not exist', bad.invoice_id USING ERRCODE = 'foreign_key_violation';
		ELSIF bad.invoice_company <> bad.company_id THEN
			RAISE EXCEPTION 'invoice % belongs to company %, the allocation to company %', bad.number, bad.invoice_company, bad.company_id
				USING ERRCODE = 'check_violation';
		ELSIF direction = 1 AND bad.cancelled_on IS NOT NULL THEN
			RAISE EXCEPTION 'invoice % is cancelled', bad.number USING ERRCODE = 'check_violation';
		ELSIF direction = 1 AND sign(bad.amount) <> sign(bad.invoice_amount) THEN
			RAISE EXCEPTION 'allocation of % to invoice % of % has the wrong sign', bad.amount, bad.number, bad.invoice_amount
				USING ERRCODE = 'check_violation',
				      DETAIL = 'Allocations to an invoice are positive, to a credit note negative.';
		ELSE
			RAISE EXCEPTION 'allocation of % exceeds the open amount % of invoice %', bad.amount, bad.open_before, bad.number
				USING ERRCODE = 'check_violation',
				      DETAIL = 'An invoice is never allocated more than its amount.',
				      HINT = 'Allocate the open amount and record the rest as customer credit.';
		END IF;
	END IF;
	UPDATE ar.invoice i
	   SET open_amount = i.open_amount - d.delta,
	       written_off_amount = i.written_off_amount + d.written_off
	  FROM (SELECT c.invoice_id, sum(c.amount) * direction AS delta,
	               coalesce(sum(c.amount) FILTER (WHERE c.method = 'write_off'), 0) * direction AS written_off
	          FROM changed c GROUP BY c.invoice_id ORDER BY c.invoice_id) d
	 WHERE i.id = d.invoice_id;

	-- bank lines
	PERFORM 1 FROM ar.bank_transaction t WHERE t.id IN (SELECT c.bank_transaction_id FROM changed c)
	 ORDER BY t.id FOR UPDATE OF t;
	SELECT t.id, t.currency, i.currency AS invoice_currency, t.amount, t.allocated_amount, s.delta, (t.id IS NULL) AS missing,
	       s.bank_transaction_id
	  INTO bad
	  FROM (SELECT c.bank_transaction_id, sum(c.amount) * direction AS delta,
	               min(c.invoice_id) FILTER (WHERE c.currency <> c.line_currency) AS foreign_invoice
	          FROM (SELECT c.*, inv.currency, l.currency AS line_currency
	                  FROM changed c JOIN ar.invoice inv ON inv.id = c.invoice_id
	                  LEFT JOIN ar.bank_transaction l ON l.id = c.bank_transaction_id
	                 WHERE c.bank_transaction_id IS NOT NULL) c
	         GROUP BY c.bank_transaction_id) s
	  LEFT JOIN ar.bank_transaction t ON t.id = s.bank_transaction_id
	  LEFT JOIN ar.invoice i ON i.id = s.foreign_invoice
	 WHERE t.id IS NULL OR s.foreign_invoice IS NOT NULL
	    OR abs(t.allocated_amount + s.delta) > abs(t.amount) OR sign(t.allocated_amount + s.delta) = -sign(t.amount)
	 ORDER BY s.bank_transaction_id
	 LIMIT 1;
	IF FOUND THEN
		IF bad.missing THEN
			RAISE EXCEPTION 'bank transaction % does not exist', bad.bank_transaction_id
				USING ERRCODE = 'foreign_key_violation';
		ELSIF bad.invoice_currency IS NOT NULL THEN
			RAISE EXCEPTION 'bank transaction % is in %, the % is in %', bad.id, bad.currency, 'allocation', bad.invoice_currency
				USING ERRCODE = 'check_violation';
		ELSE
			RAISE EXCEPTION 'bank transaction % would allocate % of its %', bad.id, bad.allocated_amount + bad.delta, bad.amount
				USING ERRCODE = 'check_violation',
				      DETAIL = format('%s is already allocated; a bank line never allocates more than its amount.', bad.allocated_amount);
		END IF;
	END IF;
	UPDATE ar.bank_transaction t
	   SET allocated_amount = t.allocated_amount + d.delta
	  FROM (SELECT c.bank_transaction_id, sum(c.amount) * direction AS delta
	          FROM changed c WHERE c.bank_transaction_id IS NOT NULL
	         GROUP BY c.bank_transaction_id ORDER BY c.bank_transaction_id) d
	 WHERE t.id = d.bank_transaction_id;

	-- customer credits
	PERFORM 1 FROM ar.customer_credit cr WHERE cr.id IN (SELECT c.customer_credit_id FROM changed c)
	 ORDER BY cr.id FOR UPDATE OF cr;
	SELECT cr.id, cr.remaining, s.delta, i.number AS foreign_invoice
	  INTO bad
	  FROM (SELECT c.customer_credit_id, sum(c.amount) * direction AS delta,
	               min(c.invoice_id) FILTER (WHERE inv.customer_id <> cr.customer_id OR inv.currency <> cr.currency)
	                 AS foreign_invoice
	          FROM changed c JOIN ar.invoice inv ON inv.id = c.invoice_id
	          JOIN ar.customer_credit cr ON cr.id = c.customer_credit_id
	         GROUP BY c.customer_credit_id) s
	  JOIN ar.customer_credit cr ON cr.id = s.customer_credit_id
	  LEFT JOIN ar.invoice i ON i.id = s.foreign_invoice
	 WHERE s.foreign_invoice IS NOT NULL OR cr.remaining - s.delta < 0 OR cr.remaining - s.delta > cr.amount
	 ORDER BY s.customer_credit_id
	 LIMIT 1;
	IF FOUND THEN
		IF bad.foreign_invoice IS NOT NULL THEN
			RAISE EXCEPTION 'customer credit % cannot pay invoice %', bad.id, bad.foreign_invoice
				USING ERRCODE = 'check_violation',
				      DETAIL = 'A credit pays only invoices of its own customer and currency.';
		END IF;
		RAISE EXCEPTION 'customer credit % has % left, not %', bad.id, bad.remaining, bad.delta
			USING ERRCODE = 'check_violation';
	END IF;
	UPDATE ar.customer_credit cr
	   SET remaining = cr.remaining - d.delta
	  FROM (SELECT c.customer_credit_id, sum(c.amount) * direction AS delta
	          FROM changed c WHERE c.customer_credit_id IS NOT NULL
	         GROUP BY c.customer_credit_id ORDER BY c.customer_credit_id) d
	 WHERE cr.id = d.customer_credit_id;
	RETURN NULL;
END $$;

-- Allocations are immutable: only their note, score and payment means may
-- be completed.
CREATE FUNCTION ar._allocation_maintain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF (NEW.invoice_id, NEW.bank_transaction_id, NEW.customer_credit_id, NEW.amount, NEW.allocated_on,
	    NEW.method, NEW.company_id)
	   IS DISTINCT FROM
	   (OLD.invoice_id, OLD.bank_transaction_id, OLD.customer_credit_id, OLD.amount, OLD.allocated_on,
	    OLD.method, OLD.company_id) THEN
		RAISE EXCEPTION 'allocations cannot be changed'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('Allocation %s is part of the ledger.', OLD.id),
			      HINT = 'Delete it (the reversal is audited) and allocate again.';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER allocation_maintain BEFORE UPDATE ON ar.allocation
	FOR EACH ROW EXECUTE FUNCTION ar._allocation_maintain();
-- one call per statement, whatever the number of rows (ar.reconcile inserts
-- tens of thousands at once); named to fire before allocation_audit_*
CREATE TRIGGER allocation_apply_insert AFTER INSERT ON ar.allocation
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._allocation_apply_rows();
CREATE TRIGGER allocation_apply_delete AFTER DELETE ON ar.allocation
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._allocation_apply_rows();

-- TRUNCATE would bypass both the invariants and the audit trail.
CREATE FUNCTION ar._refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'ar.% cannot be truncated', TG_TABLE_NAME
		USING ERRCODE = 'feature_not_supported',
		      DETAIL = 'Ledger changes must go through the audit trail.',
		      HINT = 'DROP EXTENSION ar_collect removes the whole ledger.';
END $$;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['company', 'customer', 'customer_bank_account', 'invoice', 'bank_statement',
	                         'bank_transaction', 'customer_credit', 'allocation'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ar.%I FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate()',
		               t || '_no_truncate', t);
	END LOOP;
END $$;
-- ---------------------------------------------------------------------------
-- Append-only audit trail, chained by SHA-256.
--
-- Triggers write one audit row per insert, update and delete of a ledger
-- row (updates that only move derived columns are skipped: the allocation
-- that moved them is audited; a bank line's status is derived when it
-- follows its allocated amount): ar._audit_row() per row, in C (src/audit.c),
-- and ar._audit_rows() per statement from its transition table, for
-- ar.allocation whose inserts come by the ten thousand.  The chain is sealed at commit by a deferred
-- trigger that takes one advisory lock, so writers never hold a global lock
-- while they work (no deadlocks between long transactions), and the chain
-- order is the commit order.
--   row_hash = sha256(prev_hash || ar.audit_row_content(row, seq))
-- computed in C at commit for the whole transaction (src/audit.c).
-- ---------------------------------------------------------------------------

CREATE TABLE ar.audit_log (
	id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	seq         bigint UNIQUE,
	logged_at   timestamptz NOT NULL DEFAULT now(),
	txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
	actor       text NOT NULL DEFAULT session_user,
	role        text NOT NULL DEFAULT current_setting('role'),
	table_name  text NOT NULL,
	operation   text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
	row_id      bigint,
	old_row     jsonb,
	new_row     jsonb,
	prev_hash   bytea,
	row_hash    bytea
);
-- (txid, id): the sealing reads a transaction's rows in id order
CREATE INDEX audit_log_unsealed ON ar.audit_log (txid, id) WHERE seq IS NULL;

-- One row per transaction that wrote audit rows, whose deferred trigger
-- seals them at commit: one sealing call per transaction, not per row.
CREATE TABLE ar.audit_seal_request (
	txid  xid8 PRIMARY KEY DEFAULT pg_current_xact_id()
);
CREATE INDEX audit_log_row ON ar.audit_log (table_name, row_id);

CREATE FUNCTION ar.audit_genesis_hash() RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT sha256(convert_to('ar_collect audit chain', 'UTF8')) $$;

-- What the hash covers: every column but the hashes, in a text form that
-- does not depend on the session (time as UTC microseconds, jsonb's
-- canonical output).  The one definition shared by the sealing (which
-- passes the sequence number it is about to give) and the verification.
-- (STABLE as its body, so that it is inlined into the sealing query.)
CREATE FUNCTION ar.audit_row_content(r ar.audit_log, at_seq bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT convert_to(jsonb_build_array(
		at_seq, r.id, (extract(epoch FROM r.logged_at) * 1000000)::bigint, r.txid::text,
		r.actor, r.role, r.table_name, r.operation, r.row_id, r.old_row, r.new_row)::text, 'UTF8')
$$;

CREATE FUNCTION ar.audit_row_hash(r ar.audit_log, prev_hash bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT sha256(prev_hash || ar.audit_row_content(r, r.seq)) $$;

-- Asks for this transaction's rows to be sealed at commit (once: the
-- transaction-local flag is undone with a rolled-back subtransaction,
-- together with the request it guards).
CREATE FUNCTION ar._audit_request_seal() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF current_setting('ar_collect.audit_seal_requested', true) IS DISTINCT FROM 'on' THEN
		INSERT INTO ar.audit_seal_request DEFAULT VALUES ON CONFLICT DO NOTHING;
		PERFORM set_config('ar_collect.audit_seal_requested', 'on', true);
	END IF;
END $$;

-- AFTER ... FOR EACH ROW: one audit row, unless only the derived columns
-- named as arguments (and updated_at) changed.  It writes as its owner
-- (like SECURITY DEFINER, without the cost of a per-call search_path).
CREATE FUNCTION ar._audit_row() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'ar_audit_row';

-- AFTER INSERT or AFTER DELETE ... FOR EACH STATEMENT with the transition
-- table "changed" (NEW TABLE, or OLD TABLE for deletes): the same audit rows
-- as ar._audit_row(), in id order, with one INSERT.
CREATE FUNCTION ar._audit_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
BEGIN
	IF current_setting('ar_collect.restoring', true) = 'on' THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.audit_log (table_name, operation, row_id, old_row, new_row)
	SELECT TG_TABLE_NAME, TG_OP, (j.r->>'id')::bigint,
	       CASE WHEN TG_OP = 'DELETE' THEN j.r END, CASE WHEN TG_OP = 'INSERT' THEN j.r END
	  FROM (SELECT to_jsonb(c) AS r, c.id FROM changed c) j
	 ORDER BY j.id;
	IF FOUND THEN
		PERFORM ar._audit_request_seal();
	END IF;
	RETURN NULL;
END $$;

-- Chains this transaction's unsealed rows after (last_seq, last_hash) in id
-- order with one UPDATE; returns how many (src/audit.c).
-- The rows are read through audit_log_unsealed, which gives them in id order
-- (no sort of whole rows, with their jsonb, that would spill to disk).
CREATE FUNCTION ar._audit_seal_rows(last_seq bigint, last_hash bytea) RETURNS bigint
LANGUAGE c STRICT SET jit = off SET enable_bitmapscan = off SET enable_sort = off
AS 'MODULE_PATHNAME', 'ar_audit_seal_rows';

-- Seals this transaction's audit rows at commit, in id order.
CREATE FUNCTION ar._audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	last_seq bigint;
	last_hash bytea;
BEGIN
	DELETE FROM ar.audit_seal_request WHERE txid = NEW.txid;
	PERFORM set_config('ar_collect.audit_seal_requested', 'off', true);
	PERFORM pg_advisory_xact_lock(hashtext('ar_collect.audit_chain'));
	SELECT a.seq, a.row_hash INTO last_seq, last_hash
	  FROM ar.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;
	PERFORM ar._audit_seal_rows(coalesce(last_seq, 0), coalesce(last_hash, ar.audit_genesis_hash()));
	RETURN NULL;
END $$;

-- Only the triggers above write the audit trail, and nothing rewrites it.
CREATE FUNCTION ar._audit_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF current_setting('ar_collect.restoring', true) = 'on' THEN
			RETURN NEW;  -- pg_restore reloading a dumped trail as it was
		END IF;
		IF pg_trigger_depth() < 2 THEN
			RAISE EXCEPTION 'ar.audit_log is written by ar_collect only' USING ERRCODE = 'insufficient_privilege';
		END IF;
		NEW.seq := NULL; NEW.prev_hash := NULL; NEW.row_hash := NULL;
		RETURN NEW;
	END IF;
	IF TG_OP = 'UPDATE' AND pg_trigger_depth() >= 2 AND OLD.seq IS NULL
	   AND (to_jsonb(NEW) - '{seq,prev_hash,row_hash}'::text[]) = (to_jsonb(OLD) - '{seq,prev_hash,row_hash}'::text[]) THEN
		RETURN NEW;  -- sealing
	END IF;
	RAISE EXCEPTION 'ar.audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

-- The WHEN clauses let through, without a call, what the guard would let
-- through anyway: rows written by the triggers (trigger depth 1 or more in
-- the WHEN clause, 2 or more in the function) with no seal, and the sealing
-- update of an unsealed row that changes nothing but the seal.
CREATE TRIGGER audit_log_guard BEFORE INSERT ON ar.audit_log
	FOR EACH ROW
	WHEN (pg_trigger_depth() < 1 OR NEW.seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.row_hash IS NOT NULL)
	EXECUTE FUNCTION ar._audit_guard();
CREATE TRIGGER audit_log_guard_update BEFORE UPDATE ON ar.audit_log
	FOR EACH ROW
	WHEN (pg_trigger_depth() < 1 OR OLD.seq IS NOT NULL
	      OR (OLD.id, OLD.logged_at, OLD.txid, OLD.actor, OLD.role, OLD.table_name, OLD.operation,
	          OLD.row_id, OLD.old_row, OLD.new_row)
	         IS DISTINCT FROM
	         (NEW.id, NEW.logged_at, NEW.txid, NEW.actor, NEW.role, NEW.table_name, NEW.operation,
	          NEW.row_id, NEW.old_row, NEW.new_row))
	EXECUTE FUNCTION ar._audit_guard();
CREATE TRIGGER audit_log_guard_delete BEFORE DELETE ON ar.audit_log
	FOR EACH ROW EXECUTE FUNCTION ar._audit_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON ar.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();
CREATE CONSTRAINT TRIGGER audit_log_seal AFTER INSERT ON ar.audit_seal_request
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._audit_seal();

CREATE FUNCTION ar.verify_audit_chain()
RETURNS TABLE (valid boolean, rows_checked bigint, first_broken_seq bigint, first_broken_id bigint, problem text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r ar.audit_log;
	expected_seq bigint := 1;
	expected_prev bytea := ar.audit_genesis_hash();
BEGIN
	rows_checked := 0;
	FOR r IN SELECT * FROM ar.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq LOOP
		rows_checked := rows_checked + 1;
		problem := CASE
			WHEN r.seq <> expected_seq THEN format('rows %s to %s are missing', expected_seq, r.seq - 1)
			WHEN r.prev_hash IS DISTINCT FROM expected_prev THEN 'prev_hash does not match the previous row'
			WHEN r.row_hash IS DISTINCT FROM ar.audit_row_hash(r, r.prev_hash) THEN 'row content does not match its hash'
		END;
		IF problem IS NOT NULL THEN
			valid := false; first_broken_seq := r.seq; first_broken_id := r.id;
			RETURN NEXT;
			RETURN;
		END IF;
		expected_seq := r.seq + 1;
		expected_prev := r.row_hash;
	END LOOP;
	valid := true;
	RETURN NEXT;
END $$;

CREATE FUNCTION ar.audit_chain_head(OUT seq bigint, OUT row_hash bytea)
LANGUAGE sql STABLE
AS $$ SELECT a.seq, a.row_hash FROM ar.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1 $$;

DO $$
DECLARE
	t text;
	derived text;
BEGIN
	FOR t, derived IN VALUES ('company', ''), ('customer', ''), ('customer_bank_account', ''),
	                          ('invoice', 'open_amount,written_off_amount,status'),
	                          ('bank_statement', ''), ('customer_credit', 'remaining') LOOP
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON ar.%I FOR EACH ROW EXECUTE FUNCTION ar._audit_row(%s)',
		               t || '_audit', t,
		               (SELECT string_agg(quote_literal(c), ', ') FROM unnest(string_to_array(derived, ',')) c));
	END LOOP;
END $$;

-- ar.allocation: inserts and deletes come by the ten thousand from
-- ar.reconcile: audited per statement, after allocation_apply_* (triggers of
-- one event fire in name order).  A bank line's status follows its
-- allocated amount (matched, partially_matched, unmatched again): derived
-- when the allocated amount moved, audited when a client sets it.
CREATE TRIGGER allocation_audit AFTER UPDATE ON ar.allocation
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER allocation_audit_insert AFTER INSERT ON ar.allocation
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._audit_rows();
CREATE TRIGGER allocation_audit_delete AFTER DELETE ON ar.allocation
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._audit_rows();
CREATE TRIGGER bank_transaction_audit AFTER INSERT OR UPDATE OR DELETE ON ar.bank_transaction
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row('allocated_amount', 'status:allocated_amount');
-- ---------------------------------------------------------------------------
-- Payments known outside bank statements, customer credit, credit notes,
-- write-offs and cancellations.  All of them go through ar.allocation, so
-- the invariants and the audit trail of the ledger apply.
-- ---------------------------------------------------------------------------

-- The invoice of that number, locked; the number must name one invoice.
CREATE FUNCTION ar._invoice_by_number(invoice_number text) RETURNS ar.invoice
LANGUAGE plpgsql AS $$
DECLARE
	inv ar.invoice;
	found_count integer;
BEGIN
	SELECT count(*) INTO found_count FROM ar.invoice WHERE number = invoice_number;
	IF found_count = 0 THEN
		RAISE EXCEPTION 'invoice "%" does not exist', invoice_number USING ERRCODE = 'no_data_found';
	ELSIF found_count > 1 THEN
		RAISE EXCEPTION 'invoice number "%" exists in % companies', invoice_number, found_count
			USING ERRCODE = 'cardinality_violation',
			      HINT = 'Insert into ar.allocation with the invoice id instead.';
	END IF;
	SELECT * INTO inv FROM ar.invoice WHERE number = invoice_number FOR UPDATE;
	RETURN inv;
END $$;

CREATE FUNCTION ar._require_positive(what text, value numeric) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF value IS NULL OR value <= 0 OR value IN ('NaN', 'Infinity') THEN  -- NaN sorts above every number
		RAISE EXCEPTION '% must be a positive amount, not %', what, coalesce(value::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;

CREATE FUNCTION ar.record_payment(invoice_number text, amount numeric, paid_on date,
                                  method text DEFAULT 'transfer')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	applied numeric;
	allocation_id bigint;
BEGIN
	PERFORM ar._require_positive('payment', amount);
	IF paid_on IS NULL THEN
		RAISE EXCEPTION 'paid_on must be given' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	inv := ar._invoice_by_number(invoice_number);
	IF inv.amount < 0 THEN
		RAISE EXCEPTION 'invoice "%" is a credit note', invoice_number
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use ar.apply_credit_note() to set it against an invoice.';
	END IF;
	IF inv.cancelled_on IS NOT NULL THEN
		RAISE EXCEPTION 'invoice "%" is cancelled', invoice_number USING ERRCODE = 'invalid_parameter_value';
	END IF;
	applied := least(amount, inv.open_amount);
	IF applied > 0 THEN
		INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, payment_means)
		VALUES (inv.company_id, inv.id, applied, paid_on, 'manual', method)
		RETURNING id INTO allocation_id;
	END IF;
	IF amount > applied THEN
		INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, invoice_id, created_on, note)
		VALUES (inv.company_id, inv.customer_id, inv.currency, amount - applied, 'overpayment', inv.id, paid_on,
		        format('%s payment of %s on invoice %s', method, amount, inv.number));
	END IF;
	RETURN allocation_id;
END $$;

-- Spends the customer's available credit on its oldest open invoices of the
-- same currency (due date, then id).  Returns the allocations made.
CREATE FUNCTION ar.apply_customer_credit(customer_id bigint, applied_on date DEFAULT current_date)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	credit ar.customer_credit;
	inv ar.invoice;
	take numeric;
	left_over numeric;
	result ar.allocation;
BEGIN
	FOR credit IN SELECT * FROM ar.customer_credit c
	               WHERE c.customer_id = apply_customer_credit.customer_id AND c.remaining > 0
	               ORDER BY c.created_on, c.id FOR UPDATE LOOP
		left_over := credit.remaining;
		FOR inv IN SELECT * FROM ar.invoice i
		            WHERE i.customer_id = credit.customer_id AND i.currency = credit.currency
		              AND i.open_amount > 0 AND i.cancelled_on IS NULL
		            ORDER BY i.due_date, i.id FOR UPDATE LOOP
			EXIT WHEN left_over = 0;
			take := least(left_over, inv.open_amount);
			INSERT INTO ar.allocation (company_id, invoice_id, customer_credit_id, amount, allocated_on, method)
			VALUES (inv.company_id, inv.id, credit.id, take, applied_on, 'credit')
			RETURNING * INTO result;
			left_over := left_over - take;
			RETURN NEXT result;
		END LOOP;
	END LOOP;
END $$;

-- Sets a credit note (negative invoice) against an invoice of the same
-- customer: two allocations of opposite sign, method 'credit_note'.
CREATE FUNCTION ar.apply_credit_note(credit_note_id bigint, invoice_id bigint, amount numeric DEFAULT NULL,
                                     applied_on date DEFAULT current_date)
RETURNS numeric
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	note ar.invoice;
	inv ar.invoice;
	take numeric;
BEGIN
	-- lock in id order so two calls on the same pair cannot deadlock
	PERFORM 1 FROM ar.invoice i WHERE i.id IN (credit_note_id, invoice_id) ORDER BY i.id FOR UPDATE;
	SELECT * INTO note FROM ar.invoice i WHERE i.id = credit_note_id;
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = apply_credit_note.invoice_id;
	IF note.id IS NULL OR note.amount >= 0 THEN
		RAISE EXCEPTION 'invoice % is not a credit note', coalesce(note.number, credit_note_id::text)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF inv.id IS NULL OR inv.amount <= 0 THEN
		RAISE EXCEPTION 'invoice % is not an invoice with a positive amount', coalesce(inv.number, invoice_id::text)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF (note.customer_id, note.currency) IS DISTINCT FROM (inv.customer_id, inv.currency) THEN
		RAISE EXCEPTION 'credit note % and invoice % belong to different customers or currencies', note.number, inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF amount IS NOT NULL THEN
		PERFORM ar._require_positive('credit note amount', amount);
	END IF;
	take := least(coalesce(amount, 'Infinity'), -note.open_amount, inv.open_amount);
	IF take <= 0 THEN
		RETURN 0;
	END IF;
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
	VALUES (inv.company_id, inv.id, take, applied_on, 'credit_note', 'credit note ' || note.number),
	       (note.company_id, note.id, -take, applied_on, 'credit_note', 'invoice ' || inv.number);
	RETURN take;
END $$;

CREATE FUNCTION ar.write_off_invoice(invoice_id bigint, reason text, written_off_on date DEFAULT current_date)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	allocation_id bigint;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'a write-off needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = write_off_invoice.invoice_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
	IF inv.open_amount = 0 THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
	VALUES (inv.company_id, inv.id, inv.open_amount, written_off_on, 'write_off', reason)
	RETURNING id INTO allocation_id;
	RETURN allocation_id;
END $$;

CREATE FUNCTION ar.cancel_invoice(invoice_id bigint, cancelled_on date DEFAULT current_date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	UPDATE ar.invoice i SET cancelled_on = cancel_invoice.cancelled_on WHERE i.id = cancel_invoice.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
END $$;
-- ---------------------------------------------------------------------------
-- Reading the ledger: open items on any date, aging, views for BI tools and
-- a consistency check of the derived columns.
-- ---------------------------------------------------------------------------

-- Open items on as_of: invoices issued on or before as_of with a non-zero
-- open amount then.  The open amount on a past date is today's open amount
-- plus the allocations dated after it, so only recent allocations are read.
CREATE FUNCTION ar.open_items(as_of date DEFAULT current_date)
RETURNS TABLE (invoice_id bigint, company_id bigint, customer_id bigint, number text, currency char(3),
               issue_date date, due_date date, amount numeric, open_amount numeric, days_past_due integer)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT i.id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
	       o.open_amount, as_of - i.due_date
	  FROM ar.invoice i
	  LEFT JOIN (SELECT a.invoice_id, sum(a.amount) AS amount
	               FROM ar.allocation a
	              WHERE a.allocated_on > as_of
	              GROUP BY a.invoice_id) later ON later.invoice_id = i.id
	 CROSS JOIN LATERAL (SELECT CASE
	                             -- a cancelled invoice never had allocations
	                             WHEN i.cancelled_on IS NOT NULL AND i.cancelled_on > as_of THEN i.amount
	                             WHEN i.cancelled_on IS NOT NULL THEN 0
	                             ELSE i.open_amount + coalesce(later.amount, 0)
	                            END AS open_amount) o
	 WHERE i.issue_date <= as_of
	   AND o.open_amount <> 0
$$;

CREATE FUNCTION ar.aging_bucket(days_past_due integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN days_past_due IS NULL THEN NULL
		WHEN days_past_due <= 0 THEN 'not_due'
		WHEN days_past_due <= 30 THEN 'd1_30'
		WHEN days_past_due <= 60 THEN 'd31_60'
		WHEN days_past_due <= 90 THEN 'd61_90'
		ELSE 'd91_plus'
	END
$$;

CREATE FUNCTION ar.aging_report(as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text,
               not_due numeric, d1_30 numeric, d31_60 numeric, d61_90 numeric, d91_plus numeric, total numeric,
               currency char(3), company_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT c.id, c.code, c.name,
	       (g.buckets).not_due, (g.buckets).d1_30, (g.buckets).d31_60, (g.buckets).d61_90,
	       (g.buckets).d91_plus, (g.buckets).total,
	       g.currency, c.company_id
	  FROM (SELECT o.customer_id, o.currency, ar.aging(o.open_amount, o.due_date, as_of) AS buckets
	          FROM ar.open_items(as_of) o
	         GROUP BY o.customer_id, o.currency) g
	  JOIN ar.customer c ON c.id = g.customer_id
	 ORDER BY c.code, g.currency
$$;

CREATE VIEW ar.receivables AS
SELECT i.id AS invoice_id, i.company_id, i.customer_id, c.code AS customer_code, c.name AS customer_name,
       i.number, i.currency, i.issue_date, i.due_date, i.amount, i.open_amount,
       current_date - i.due_date AS days_past_due,
       ar.aging_bucket(current_date - i.due_date) AS aging_bucket,
       i.status, i.payment_reference
  FROM ar.invoice i
  JOIN ar.customer c ON c.id = i.customer_id
 WHERE i.open_amount <> 0
   AND i.issue_date <= current_date;

COMMENT ON VIEW ar.receivables IS 'Open items today: every invoice or credit note issued by today with a non-zero open amount.';
COMMENT ON COLUMN ar.receivables.invoice_id IS 'ar.invoice.id';
COMMENT ON COLUMN ar.receivables.company_id IS 'Company whose receivable it is.';
COMMENT ON COLUMN ar.receivables.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.receivables.customer_code IS 'Customer code (the ERP''s account number).';
COMMENT ON COLUMN ar.receivables.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.receivables.number IS 'Invoice number; credit notes have a negative amount.';
COMMENT ON COLUMN ar.receivables.currency IS 'ISO 4217 currency of the amounts; never sum across currencies.';
COMMENT ON COLUMN ar.receivables.issue_date IS 'Issue date.';
COMMENT ON COLUMN ar.receivables.due_date IS 'Due date.';
COMMENT ON COLUMN ar.receivables.amount IS 'Invoice total including tax (negative for a credit note).';
COMMENT ON COLUMN ar.receivables.open_amount IS 'Amount still open today: amount less allocations.';
COMMENT ON COLUMN ar.receivables.days_past_due IS 'Today minus the due date; zero or negative when not yet due.';
COMMENT ON COLUMN ar.receivables.aging_bucket IS 'not_due, d1_30, d31_60, d61_90 or d91_plus.';
COMMENT ON COLUMN ar.receivables.status IS 'open, partially_paid or disputed.';
COMMENT ON COLUMN ar.receivables.payment_reference IS 'Reference the customer should quote when paying (free or ISO 11649).';

CREATE VIEW ar.aging_by_customer AS
SELECT * FROM ar.aging_report(current_date);

COMMENT ON VIEW ar.aging_by_customer IS 'Aging of open amounts per customer and currency today (ar.aging_report(current_date)).';
COMMENT ON COLUMN ar.aging_by_customer.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.aging_by_customer.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.aging_by_customer.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.aging_by_customer.not_due IS 'Open amount not yet due (0 days or fewer past due).';
COMMENT ON COLUMN ar.aging_by_customer.d1_30 IS 'Open amount 1 to 30 days past due.';
COMMENT ON COLUMN ar.aging_by_customer.d31_60 IS 'Open amount 31 to 60 days past due.';
COMMENT ON COLUMN ar.aging_by_customer.d61_90 IS 'Open amount 61 to 90 days past due.';
COMMENT ON COLUMN ar.aging_by_customer.d91_plus IS 'Open amount 91 days or more past due.';
COMMENT ON COLUMN ar.aging_by_customer.total IS 'Total open amount (credit notes included, negative).';
COMMENT ON COLUMN ar.aging_by_customer.currency IS 'Currency of the row: one row per customer and currency.';
COMMENT ON COLUMN ar.aging_by_customer.company_id IS 'Company whose receivable it is.';

CREATE VIEW ar.customer_credit_balance AS
SELECT c.company_id, c.customer_id, c.currency, sum(c.remaining) AS available
  FROM ar.customer_credit c
 WHERE c.remaining > 0
 GROUP BY c.company_id, c.customer_id, c.currency;

COMMENT ON VIEW ar.customer_credit_balance IS 'Customer credit (overpayments) not yet used, per customer and currency.';
COMMENT ON COLUMN ar.customer_credit_balance.company_id IS 'Company owing the credit.';
COMMENT ON COLUMN ar.customer_credit_balance.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_credit_balance.currency IS 'Currency of the credit.';
COMMENT ON COLUMN ar.customer_credit_balance.available IS 'Credit available to pay later invoices (ar.apply_customer_credit).';

-- Recomputes every derived amount from the allocation ledger; returns the
-- rows that disagree (none, unless the triggers were bypassed).
CREATE FUNCTION ar.check_ledger()
RETURNS TABLE (table_name text, id bigint, stored numeric, expected numeric)
LANGUAGE sql STABLE
AS $$
	SELECT 'invoice', i.id, i.open_amount,
	       CASE WHEN i.cancelled_on IS NOT NULL THEN 0 ELSE i.amount - coalesce(a.total, 0) END
	  FROM ar.invoice i
	  LEFT JOIN (SELECT invoice_id, sum(amount) AS total FROM ar.allocation GROUP BY invoice_id) a
	         ON a.invoice_id = i.id
	 WHERE i.open_amount IS DISTINCT FROM
	       CASE WHEN i.cancelled_on IS NOT NULL THEN 0 ELSE i.amount - coalesce(a.total, 0) END
	UNION ALL
	SELECT 'bank_transaction', t.id, t.allocated_amount, coalesce(a.total, 0) + coalesce(c.total, 0)
	  FROM ar.bank_transaction t
	  LEFT JOIN (SELECT bank_transaction_id, sum(amount) AS total FROM ar.allocation GROUP BY 1) a
	         ON a.bank_transaction_id = t.id
	  LEFT JOIN (SELECT bank_transaction_id, sum(amount) AS total FROM ar.customer_credit GROUP BY 1) c
	         ON c.bank_transaction_id = t.id
	 WHERE t.allocated_amount <> coalesce(a.total, 0) + coalesce(c.total, 0)
	UNION ALL
	SELECT 'customer_credit', c.id, c.remaining, c.amount - coalesce(a.total, 0)
	  FROM ar.customer_credit c
	  LEFT JOIN (SELECT customer_credit_id, sum(amount) AS total FROM ar.allocation GROUP BY 1) a
	         ON a.customer_credit_id = c.id
	 WHERE c.remaining <> c.amount - coalesce(a.total, 0)
$$;
-- ---------------------------------------------------------------------------
-- Late-payment penalties and payment-terms compliance.
--
-- The law is data: ar.penalty_regime holds one row per legal regime (its
-- legal reference, the reference-rate series it reads and on which date,
-- whether that rate is fixed for the whole delay, the margin, the day
-- basis, the rounding, the lawful floor of a contractual rate, the maximum
-- payment terms), ar.penalty_regime_fee its fixed fees, ar.reference_rate
-- the official rate histories.  The engine (src/penalty.c) applies them
-- exactly:
--   interest = sum over late days d of outstanding(d) * rate(d) / 100 / basis,
-- rounded once.  A day whose rate is not known is an error naming the series
-- and the date, never a zero.
--
-- Shipped rows (shipped = true) are recreated by CREATE EXTENSION and cannot
-- be changed; users add rows of their own, which pg_dump keeps.  A rate row
-- of the user's with the same series and date replaces the shipped one.
-- ---------------------------------------------------------------------------

-- The result row of ar.late_penalty and ar.invoice_penalty (contract).
CREATE TYPE ar.penalty AS (
	days_late  integer,
	interest   numeric,
	fixed_fee  numeric,
	total      numeric
);
COMMENT ON TYPE ar.penalty IS 'Late-payment penalty: days late, interest (rounded once), fixed recovery fee, total.';

-- ---------------------------------------------------------------- rate series

CREATE TABLE ar.rate_series (
	series      text PRIMARY KEY CHECK (series ~ '^[A-Z][A-Z0-9_]*$'),
	name        text NOT NULL,
	publisher   text NOT NULL,
	changes     text NOT NULL DEFAULT 'any_day' CHECK (changes IN ('any_day', 'half_year', 'year')),
	description text,
	shipped     boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ar.rate_series IS 'Reference-rate series (ECB main refinancing rate, French legal interest rates, German Basiszinssatz, Bank of England Bank Rate, ...). changes: when the rate may change (any day, on 1 January and 1 July, on 1 January).';

CREATE TABLE ar.reference_rate (
	id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	series             text NOT NULL REFERENCES ar.rate_series,
	effective_from     date NOT NULL CHECK (isfinite(effective_from)),
	rate               numeric NOT NULL CHECK (rate BETWEEN -100 AND 1000 AND rate = round(rate, 6)),
	status             text NOT NULL DEFAULT 'published'
		CHECK (status IN ('published', 'derived', 'provisional', 'unverified')),
	confirmed_through  date,
	source             text NOT NULL CHECK (btrim(source) <> ''),
	shipped            boolean NOT NULL DEFAULT false,
	created_at         timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT reference_rate_confirmed_after_start CHECK (confirmed_through >= effective_from)
);
-- one shipped row and at most one row of the user's per series and date;
-- the user's wins
CREATE UNIQUE INDEX reference_rate_shipped_key ON ar.reference_rate (series, effective_from) WHERE shipped;
CREATE UNIQUE INDEX reference_rate_user_key ON ar.reference_rate (series, effective_from) WHERE NOT shipped;
COMMENT ON TABLE ar.reference_rate IS 'Rate histories: rate (percent a year) in force from effective_from until the next row of the series. status: published, derived (by the rule of the law from published rates), provisional (entered before the official publication; used, and flagged in schedules), unverified (never used: a day that falls on it is an error). confirmed_through: last day the rate is known to be still in force; a series is known through the latest confirmed_through (or effective_from) of its rows.';

-- Half-yearly and yearly series are fixed for their period: a new row is
-- known through the end of it unless said otherwise.
CREATE FUNCTION ar._reference_rate_defaults() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	period text;
BEGIN
	IF NEW.confirmed_through IS NULL THEN
		SELECT s.changes INTO period FROM ar.rate_series s WHERE s.series = NEW.series;
		NEW.confirmed_through := CASE period
			WHEN 'half_year' THEN (date_trunc('month', NEW.effective_from)
			                       + make_interval(months => 6 - (extract(month FROM NEW.effective_from)::int - 1) % 6)
			                       - interval '1 day')::date
			WHEN 'year' THEN make_date(extract(year FROM NEW.effective_from)::int, 12, 31)
		END;
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER reference_rate_defaults BEFORE INSERT ON ar.reference_rate
	FOR EACH ROW EXECUTE FUNCTION ar._reference_rate_defaults();

-- ------------------------------------------------------------------- regimes

CREATE TABLE ar.penalty_regime (
	regime             text PRIMARY KEY CHECK (regime ~ '^[A-Z][A-Z0-9_]*$'),
	name               text NOT NULL,
	legal_reference    text NOT NULL,
	country            text NOT NULL,
	currency           char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	rate_series        text REFERENCES ar.rate_series,
	rate_date          text CHECK (rate_date IN ('day', 'half_year_start', 'previous_half_year_end')),
	rate_fixed         boolean NOT NULL DEFAULT false,
	margin             numeric NOT NULL DEFAULT 0 CHECK (margin BETWEEN -100 AND 1000 AND margin = round(margin, 6)),
	day_basis          integer NOT NULL DEFAULT 365 CHECK (day_basis BETWEEN 1 AND 1000),
	rounding_scale     integer NOT NULL DEFAULT 2 CHECK (rounding_scale BETWEEN 0 AND 6),
	rounding_mode      text NOT NULL DEFAULT 'half_away_from_zero'
		CHECK (rounding_mode IN ('half_away_from_zero', 'half_even', 'truncate')),
	floor_series       text REFERENCES ar.rate_series,
	floor_multiplier   numeric CHECK (floor_multiplier > 0 AND floor_multiplier <= 1000 AND floor_multiplier = round(floor_multiplier, 6)),
	max_term_days      integer CHECK (max_term_days > 0),
	max_term_eom_days  integer CHECK (max_term_eom_days > 0),
	default_term_days  integer CHECK (default_term_days > 0),
	terms_rule         text,
	terms_reference    text,
	shipped            boolean NOT NULL DEFAULT false,
	created_at         timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT penalty_regime_rate_rule CHECK ((rate_series IS NULL) = (rate_date IS NULL)),
	CONSTRAINT penalty_regime_fixed_needs_series CHECK (NOT rate_fixed OR rate_series IS NOT NULL),
	CONSTRAINT penalty_regime_floor_rule CHECK ((floor_series IS NULL) = (floor_multiplier IS NULL)),
	CONSTRAINT penalty_regime_eom_needs_max CHECK (max_term_eom_days IS NULL OR max_term_days IS NOT NULL)
);
COMMENT ON TABLE ar.penalty_regime IS 'Legal late-payment regimes as data. rate(d) = rate of rate_series on the day rate_date says (day: d itself; half_year_start: 1 January / 1 July of d''s half-year; previous_half_year_end: 31 December / 30 June before it), taken at the first late day for the whole delay when rate_fixed, + margin; no rate_series: the contractual rate of the invoice or customer. Interest = sum of outstanding * rate / 100 / day_basis, rounded once to rounding_scale by rounding_mode. A rate below floor_multiplier x floor_series is refused. max_term_days / max_term_eom_days / default_term_days: the payment terms the law allows (ar.check_payment_terms).';

CREATE TABLE ar.penalty_regime_fee (
	id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	regime      text NOT NULL REFERENCES ar.penalty_regime ON DELETE CASCADE,
	currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	min_amount  numeric NOT NULL DEFAULT 0 CHECK (min_amount >= 0 AND min_amount < 1e15 AND min_amount = round(min_amount, 6)),
	fee         numeric NOT NULL CHECK (fee >= 0 AND fee < 1e12 AND fee = round(fee, 6)),
	shipped     boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now(),
	UNIQUE (regime, currency, min_amount)
);
COMMENT ON TABLE ar.penalty_regime_fee IS 'Fixed recovery fee of a regime, per currency and tier: the fee of the highest min_amount not above the late debt (the amount still unpaid on the first late day), once per invoice paid late. A regime with no row charges no fee; a regime with rows but none in the invoice''s currency is an error (no currency conversion).';

-- ----------------------------------------------------------- shipped data

ALTER TABLE ar.rate_series ALTER COLUMN shipped SET DEFAULT true;
ALTER TABLE ar.reference_rate ALTER COLUMN shipped SET DEFAULT true;
ALTER TABLE ar.penalty_regime ALTER COLUMN shipped SET DEFAULT true;
ALTER TABLE ar.penalty_regime_fee ALTER COLUMN shipped SET DEFAULT true;

INSERT INTO ar.rate_series (series, name, publisher, changes, description) VALUES
	('ECB_MRO', 'ECB main refinancing operations rate', 'European Central Bank', 'any_day',
	 'Fixed rate of the main refinancing operations (minimum bid rate during the variable rate tenders of 28 Jun 2000 - 14 Oct 2008), from the day it applies to operations; percent a year.'),
	('FR_LEGAL_PRO', 'French legal interest rate, other cases (creditor acting for professional needs)', 'Ministère de l''Économie (arrêté), Banque de France',
	 'half_year', 'Taux de l''intérêt légal, « autres cas » (C. mon. fin. L313-2, D313-1-A); one yearly rate for both kinds of creditor before 2015.'),
	('FR_LEGAL_PRIVATE', 'French legal interest rate, creditor a natural person not acting for professional needs', 'Ministère de l''Économie (arrêté), Banque de France',
	 'half_year', 'Taux de l''intérêt légal for private creditors (C. mon. fin. L313-2, D313-1-A); one yearly rate for both kinds of creditor before 2015.'),
	('DE_BASISZINSSATZ', 'German base rate (Basiszinssatz)', 'Deutsche Bundesbank', 'half_year',
	 'BGB 247: changes on 1 January and 1 July by the change of the ECB main refinancing rate since the last change.'),
	('UK_BANK_RATE', 'Bank of England Bank Rate', 'Bank of England', 'any_day',
	 'Official Bank Rate from the day it was changed.');

INSERT INTO ar.penalty_regime (regime, name, legal_reference, country, currency, rate_series, rate_date, rate_fixed,
                               margin, floor_series, floor_multiplier, max_term_days, max_term_eom_days,
                               default_term_days, terms_rule, terms_reference) VALUES
	('FR_LME', 'French commercial late-payment penalties (LME)',
	 'Code de commerce L441-10 II (ECB rate in force on 1 January / 1 July + 10 points); D441-5 (40 EUR recovery indemnity per invoice)',
	 'FR', 'EUR', 'ECB_MRO', 'half_year_start', false, 10, NULL, NULL, 60, 45, 30,
	 'at most 60 days from the issue date, or 45 days end of month',
	 'Code de commerce L441-10 I'),
	('EU_2011_7', 'EU late payment directive, statutory interest',
	 'Directive 2011/7/EU art. 2(6) and 2(8) (ECB rate on 1 January / 1 July + 8 points), art. 6 (40 EUR compensation)',
	 'EU', 'EUR', 'ECB_MRO', 'half_year_start', false, 8, NULL, NULL, 60, NULL, 30,
	 'at most 60 days, unless expressly agreed and not grossly unfair to the creditor',
	 'Directive 2011/7/EU art. 3(3) and 3(5)'),
	('DE_B2B', 'German commercial default interest (no consumer party)',
	 'BGB 288(2) (Basiszinssatz + 9 points), 288(5) (40 EUR Pauschale), 247 (Basiszinssatz)',
	 'DE', 'EUR', 'DE_BASISZINSSATZ', 'day', false, 9, NULL, NULL, 60, NULL, 30,
	 'at most 60 days, unless expressly agreed and not grossly unfair to the creditor',
	 'BGB 271a(1), 286(3)'),
	('DE_B2C', 'German default interest with a consumer party',
	 'BGB 288(1) (Basiszinssatz + 5 points), 247; no fixed fee (288(5) excludes consumers)',
	 'DE', 'EUR', 'DE_BASISZINSSATZ', 'day', false, 5, NULL, NULL, NULL, NULL, 30,
	 NULL,
	 'BGB 286(3)'),
	('UK_LPA', 'UK statutory interest on commercial debts',
	 'Late Payment of Commercial Debts (Interest) Act 1998 s.4, s.5A; Late Payment of Commercial Debts (Rate of Interest) (No. 3) Order 2002 (SI 2002/1675): Bank Rate on the 31 December / 30 June before interest starts + 8 points, fixed for the whole delay; fixed sums GBP 40 / 70 / 100',
	 'GB', 'GBP', 'UK_BANK_RATE', 'previous_half_year_end', true, 8, NULL, NULL, 60, NULL, 30,
	 'at most 60 days, unless expressly agreed and not grossly unfair to the supplier',
	 'Late Payment of Commercial Debts (Interest) Act 1998 s.4(3), s.4(5) (Late Payment of Commercial Debts Regulations 2013)'),
	('FR_PUBLIC', 'French public procurement default interest (intérêts moratoires)',
	 'Code de la commande publique L2192-13, R2192-31 (ECB rate in force on the first day of the half-year in which interest starts + 8 points, for the whole delay), D2192-35 (40 EUR indemnity)',
	 'FR', 'EUR', 'ECB_MRO', 'half_year_start', true, 8, NULL, NULL, 30, NULL, 30,
	 'at most 30 days for the State, local authorities and their public establishments (50 days for public hospitals, 60 for public companies: define a regime of your own)',
	 'Code de la commande publique R2192-10, R2192-11'),
	('DE_B2B_2002', 'German commercial default interest, contracts concluded before 29 July 2014',
	 'BGB 288(2) in its 2002 version (Basiszinssatz + 8 points), 247; no Pauschale (288(5) applies to contracts from 29 July 2014)',
	 'DE', 'EUR', 'DE_BASISZINSSATZ', 'day', false, 8, NULL, NULL, NULL, NULL, 30,
	 NULL,
	 'BGB 286(3)'),
	('CONTRACT', 'Contractual late-payment rate (France)',
	 'Code de commerce L441-10 II (a contractual rate may not be below three times the legal interest rate); D441-5 (40 EUR recovery indemnity)',
	 'FR', 'EUR', NULL, NULL, false, 0, 'FR_LEGAL_PRO', 3, 60, 45, 30,
	 'at most 60 days from the issue date, or 45 days end of month',
	 'Code de commerce L441-10 I');

INSERT INTO ar.penalty_regime_fee (regime, currency, min_amount, fee) VALUES
	('FR_LME', 'EUR', 0, 40.00),
	('EU_2011_7', 'EUR', 0, 40.00),
	('DE_B2B', 'EUR', 0, 40.00),
	('UK_LPA', 'GBP', 0, 40.00),
	('UK_LPA', 'GBP', 1000, 70.00),
	('UK_LPA', 'GBP', 10000, 100.00),
	('FR_PUBLIC', 'EUR', 0, 40.00),
	('CONTRACT', 'EUR', 0, 40.00);

-- Official histories, generated from the series collected in the project's
-- shared data (rates/, each row with its source).  Rows marked unverified
-- there are shipped as unverified: never used, a day on them is an error.
INSERT INTO ar.reference_rate (series, effective_from, rate, status, confirmed_through, source) VALUES
	('ECB_MRO', '1999-01-01', 3.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table'),
	('ECB_MRO', '1999-04-09', 2.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table'),
	('ECB_MRO', '1999-11-05', 3.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table'),
	('ECB_MRO', '2000-02-09', 3.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; MRO rate from the operation settled 2000-02-09 (decision effective 2000-02-04 for the facilities)'),
	('ECB_MRO', '2000-03-22', 3.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; MRO rate from the operation settled 2000-03-22 (decision effective 2000-03-17 for the facilities)'),
	('ECB_MRO', '2000-05-04', 3.75, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; MRO rate from the operation settled 2000-05-04 (decision effective 2000-04-28 for the facilities)'),
	('ECB_MRO', '2000-06-15', 4.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; MRO rate from the operation settled 2000-06-15 (decision effective 2000-06-09 for the facilities)'),
	('ECB_MRO', '2000-09-01', 4.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2000-10-06', 4.75, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2001-05-11', 4.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2001-08-31', 4.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2001-09-18', 3.75, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2001-11-09', 3.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2002-12-06', 2.75, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2003-03-07', 2.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2003-06-06', 2.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2005-12-06', 2.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2006-03-08', 2.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2006-06-15', 2.75, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2006-08-09', 3.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2006-10-11', 3.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2006-12-13', 3.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2007-03-14', 3.75, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2007-06-13', 4.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2008-07-09', 4.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; variable rate tenders: minimum bid rate'),
	('ECB_MRO', '2008-10-15', 3.75, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates'),
	('ECB_MRO', '2008-11-12', 3.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates'),
	('ECB_MRO', '2008-12-10', 2.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates'),
	('ECB_MRO', '2009-01-21', 2.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates'),
	('ECB_MRO', '2009-03-11', 1.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates'),
	('ECB_MRO', '2009-04-08', 1.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates'),
	('ECB_MRO', '2009-05-13', 1.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates'),
	('ECB_MRO', '2011-04-13', 1.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2011-07-13', 1.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2011-11-09', 1.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2011-12-14', 1.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2012-07-11', 0.75, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2013-05-08', 0.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2013-11-13', 0.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2014-06-11', 0.15, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2014-09-10', 0.05, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2016-03-16', 0.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2022-07-27', 0.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2022-09-14', 1.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2022-11-02', 2.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2022-12-21', 2.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2023-02-08', 3.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2023-03-22', 3.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2023-05-10', 3.75, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2023-06-21', 4.00, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2023-08-02', 4.25, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2023-09-20', 4.50, 'published', NULL,
	 'ECB key interest rates: Banka Slovenije ECB rates table; Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2024-06-12', 4.25, 'published', NULL,
	 'ECB key interest rates: Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2024-09-18', 3.65, 'published', NULL,
	 'ECB key interest rates: Banque de France key ECB rates; ECB SDW key rates; forexlive 12 Sep 2024'),
	('ECB_MRO', '2024-10-23', 3.40, 'published', NULL,
	 'ECB key interest rates: Banque de France key ECB rates; ECB SDW key rates'),
	('ECB_MRO', '2024-12-18', 3.15, 'published', NULL,
	 'ECB key interest rates: public code excerpt (cross-check); fxstreet Dec 2024'),
	('ECB_MRO', '2025-02-05', 2.90, 'published', NULL,
	 'ECB key interest rates: public code excerpt (cross-check); post-truth.eu 30 Jan 2025'),
	('ECB_MRO', '2025-03-12', 2.65, 'published', NULL,
	 'ECB key interest rates: public code excerpt (cross-check); todaytimeslive / equalsmoney'),
	('ECB_MRO', '2025-04-23', 2.40, 'published', NULL,
	 'ECB key interest rates: public code excerpt (cross-check)'),
	('ECB_MRO', '2025-06-11', 2.15, 'published', '2026-02-05',
	 'ECB key interest rates: public code excerpt (cross-check); alchempro.com / cordmagazine.com; unchanged through the decisions of 24 Jul, 11 Sep, 30 Oct, 18 Dec 2025 and 5 Feb 2026 (aa.com.tr, finanzmarktnachrichten.de, brusselstimes.com)');

INSERT INTO ar.reference_rate (series, effective_from, rate, status, confirmed_through, source) VALUES
	('DE_BASISZINSSATZ', '2002-01-01', 2.57, 'published', '2002-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): BGB §247 footnote (English translation via godoku.de): public notice 2001-12-28, Fed. Gazette 2002 no. 3 p. 98'),
	('DE_BASISZINSSATZ', '2002-07-01', 2.47, 'published', '2002-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2002-06-25, Fed. Gazette no. 118 p. 14537'),
	('DE_BASISZINSSATZ', '2003-01-01', 1.97, 'published', '2003-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2002-12-30'),
	('DE_BASISZINSSATZ', '2003-07-01', 1.22, 'published', '2003-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2003-06-24'),
	('DE_BASISZINSSATZ', '2004-01-01', 1.14, 'published', '2004-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2003-12-30'),
	('DE_BASISZINSSATZ', '2004-07-01', 1.13, 'published', '2004-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2004-07-03'),
	('DE_BASISZINSSATZ', '2005-01-01', 1.21, 'published', '2005-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2004-12-30'),
	('DE_BASISZINSSATZ', '2005-07-01', 1.17, 'published', '2005-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2005-06-28'),
	('DE_BASISZINSSATZ', '2006-01-01', 1.37, 'published', '2006-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2005-12-29'),
	('DE_BASISZINSSATZ', '2006-07-01', 1.95, 'published', '2006-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2006-06-27; rechtslupe.de ''beträgt jetzt 1,95 %'''),
	('DE_BASISZINSSATZ', '2007-01-01', 2.70, 'published', '2007-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): same footnote: notice 2006-12-28'),
	('DE_BASISZINSSATZ', '2007-07-01', 3.19, 'unverified', '2007-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): researcher memory; not found in the sources consulted'),
	('DE_BASISZINSSATZ', '2008-01-01', 3.32, 'unverified', '2008-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): researcher memory; not found in the sources consulted'),
	('DE_BASISZINSSATZ', '2008-07-01', 3.19, 'unverified', '2008-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): researcher memory; not found in the sources consulted'),
	('DE_BASISZINSSATZ', '2009-01-01', 1.62, 'published', '2009-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): Bundesbank press release title ''Anpassung des Basiszinssatzes zum 1. Januar 2009 auf 1,62 %'' (lifepr.de)'),
	('DE_BASISZINSSATZ', '2009-07-01', 0.12, 'derived', '2009-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): §247 rule from ECB MRO (1.62 - 1.50); derived by the BGB 247 rule from the ECB MRO rate 1.00'),
	('DE_BASISZINSSATZ', '2010-01-01', 0.12, 'derived', '2010-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 1.00'),
	('DE_BASISZINSSATZ', '2010-07-01', 0.12, 'derived', '2010-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 1.00'),
	('DE_BASISZINSSATZ', '2011-01-01', 0.12, 'derived', '2011-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 1.00'),
	('DE_BASISZINSSATZ', '2011-07-01', 0.37, 'derived', '2011-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 1.25'),
	('DE_BASISZINSSATZ', '2012-01-01', 0.12, 'derived', '2012-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 1.00'),
	('DE_BASISZINSSATZ', '2012-07-01', 0.12, 'derived', '2012-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 1.00'),
	('DE_BASISZINSSATZ', '2013-01-01', -0.13, 'derived', '2013-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.75'),
	('DE_BASISZINSSATZ', '2013-07-01', -0.38, 'derived', '2013-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.50'),
	('DE_BASISZINSSATZ', '2014-01-01', -0.63, 'derived', '2014-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.25'),
	('DE_BASISZINSSATZ', '2014-07-01', -0.73, 'derived', '2014-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.15'),
	('DE_BASISZINSSATZ', '2015-01-01', -0.83, 'derived', '2015-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.05'),
	('DE_BASISZINSSATZ', '2015-07-01', -0.83, 'derived', '2015-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.05'),
	('DE_BASISZINSSATZ', '2016-01-01', -0.83, 'derived', '2016-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.05'),
	('DE_BASISZINSSATZ', '2016-07-01', -0.88, 'published', '2016-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): stb-bruns.com: ''seit dem 1.7.2016 ... -0,88 %'''),
	('DE_BASISZINSSATZ', '2017-01-01', -0.88, 'derived', '2017-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.00'),
	('DE_BASISZINSSATZ', '2017-07-01', -0.88, 'derived', '2017-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.00'),
	('DE_BASISZINSSATZ', '2018-01-01', -0.88, 'derived', '2018-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.00'),
	('DE_BASISZINSSATZ', '2018-07-01', -0.88, 'derived', '2018-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.00'),
	('DE_BASISZINSSATZ', '2019-01-01', -0.88, 'derived', '2019-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.00'),
	('DE_BASISZINSSATZ', '2019-07-01', -0.88, 'published', '2019-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): Bundesbank press release title ''Basiszinssatz bleibt unverändert bei -0,88 %'' 1 Jul 2019 (lifepr.de)'),
	('DE_BASISZINSSATZ', '2020-01-01', -0.88, 'derived', '2020-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.00'),
	('DE_BASISZINSSATZ', '2020-07-01', -0.88, 'published', '2020-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): Bundesbank press release title, 1 Jul 2020 (lifepr.de)'),
	('DE_BASISZINSSATZ', '2021-01-01', -0.88, 'published', '2021-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): Bundesbank press release title, 1 Jan 2021 (lifepr.de)'),
	('DE_BASISZINSSATZ', '2021-07-01', -0.88, 'derived', '2021-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.00'),
	('DE_BASISZINSSATZ', '2022-01-01', -0.88, 'derived', '2022-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 0.00'),
	('DE_BASISZINSSATZ', '2022-07-01', -0.88, 'derived', '2022-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): MRO raised only on 27 Jul 2022; derived by the BGB 247 rule from the ECB MRO rate 0.00'),
	('DE_BASISZINSSATZ', '2023-01-01', 1.62, 'published', '2023-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): stb-bruns.com: ''Zum 1.1.2023 ... auf 1,62 % erhöht'''),
	('DE_BASISZINSSATZ', '2023-07-01', 3.12, 'derived', '2023-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 4.00'),
	('DE_BASISZINSSATZ', '2024-01-01', 3.62, 'published', '2024-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): §247 BGB text ''Der Basiszinssatz beträgt 3,62 Prozent'' (rechtsportal.de, Stand 01.02.2024)'),
	('DE_BASISZINSSATZ', '2024-07-01', 3.37, 'derived', '2024-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 4.25'),
	('DE_BASISZINSSATZ', '2025-01-01', 2.27, 'derived', '2025-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): derived by the BGB 247 rule from the ECB MRO rate 3.15'),
	('DE_BASISZINSSATZ', '2025-07-01', 1.27, 'published', '2025-12-31',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): finanzmarktnachrichten.de: unchanged since 1 Jul 2025'),
	('DE_BASISZINSSATZ', '2026-01-01', 1.27, 'published', '2026-06-30',
	 'Deutsche Bundesbank Basiszinssatz (BGB 247): Bundesbank notice reported by finanzmarktnachrichten.de / state-of.biz / digitalverkehr.com: unchanged at 1,27 %, Bundesanzeiger 24 Dec 2025; MRO of 22 Dec 2025 = 2,15 %');

INSERT INTO ar.reference_rate (series, effective_from, rate, status, confirmed_through, source) VALUES
	('FR_LEGAL_PRO', '2008-01-01', 3.99, 'published', '2008-12-31',
	 'taux de l''intérêt légal 2008 (JO 23.02.2008): caboche-avocat.fr (source Banque de France)'),
	('FR_LEGAL_PRO', '2009-01-01', 3.79, 'published', '2009-12-31',
	 'taux de l''intérêt légal 2009 (JO 9.02.2009): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRO', '2010-01-01', 0.65, 'published', '2010-12-31',
	 'taux de l''intérêt légal 2010 (JO 11.02.2010): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRO', '2011-01-01', 0.38, 'published', '2011-12-31',
	 'taux de l''intérêt légal 2011 (JO 1.02.2011): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRO', '2012-01-01', 0.71, 'published', '2012-12-31',
	 'taux de l''intérêt légal 2012 (JO 7.02.2012): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRO', '2013-01-01', 0.04, 'published', '2013-12-31',
	 'taux de l''intérêt légal 2013 (JO 27.02.2013): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRO', '2014-01-01', 0.04, 'published', '2014-12-31',
	 'taux de l''intérêt légal 2014 (JO 6.02.2014): caboche-avocat.fr; aeccompta.com; lexing.law'),
	('FR_LEGAL_PRO', '2015-01-01', 0.93, 'published', '2015-06-30',
	 'taux de l''intérêt légal 2015-S1 (arrêté (JO fin déc. 2014)): caboche-avocat.fr table (source Banque de France); aeccompta.com'),
	('FR_LEGAL_PRO', '2015-07-01', 0.99, 'published', '2015-12-31',
	 'taux de l''intérêt légal 2015-S2 (arrêté du 24 juin 2015): affairesjuridiques.aphp.fr; caboche-avocat.fr'),
	('FR_LEGAL_PRO', '2016-01-01', 1.01, 'published', '2016-06-30',
	 'taux de l''intérêt légal 2016-S1 (arrêté du 23 déc. 2015, JO 27 déc. 2015 p. 24148): onb-france.com; infopro-le-moniteur; paperblog.fr'),
	('FR_LEGAL_PRO', '2016-07-01', 0.93, 'published', '2016-12-31',
	 'taux de l''intérêt légal 2016-S2 (arrêté (JO juin 2016)): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRO', '2017-01-01', 0.90, 'published', '2017-06-30',
	 'taux de l''intérêt légal 2017-S1 (arrêté (JO déc. 2016)): efl.fr (S2-2017 article: ''au lieu de 4,16 %'', ''maintenu à 0,90 %''); aeccompta.com'),
	('FR_LEGAL_PRO', '2017-07-01', 0.90, 'published', '2017-12-31',
	 'taux de l''intérêt légal 2017-S2 (arrêté du 26 juin 2017, JO n°152 30 juin 2017): lextimes.fr; efl.fr'),
	('FR_LEGAL_PRO', '2018-01-01', 0.89, 'published', '2018-06-30',
	 'taux de l''intérêt légal 2018-S1 (arrêté du 28 déc. 2017, JORF n°0304 30 déc. 2017): bpifrance-creation.fr news 09/01/2018; francetransactions.com  [CONFLICT: aeccompta.com and bpifrance ''boîte à outils'' history table print 0,88]'),
	('FR_LEGAL_PRO', '2018-07-01', 0.88, 'published', '2018-12-31',
	 'taux de l''intérêt légal 2018-S2 (arrêté du 27 juin 2018, JO 28 juin 2018): veegee.fr; agence7.fr'),
	('FR_LEGAL_PRO', '2019-01-01', 0.86, 'published', '2019-06-30',
	 'taux de l''intérêt légal 2019-S1 (arrêté du 21 déc. 2018, JO n°0302 30 déc. 2018): legifiscal.fr; eyschen-avocat.fr; francetransactions.com  [CONFLICT: aeccompta.com and bpifrance history table print 0,76]'),
	('FR_LEGAL_PRO', '2019-07-01', 0.87, 'published', '2019-12-31',
	 'taux de l''intérêt légal 2019-S2 (arrêté semestriel): francetransactions.com; bpifrance-creation.fr table; aeccompta.com'),
	('FR_LEGAL_PRO', '2020-01-01', 0.87, 'published', '2020-06-30',
	 'taux de l''intérêt légal 2020-S1 (arrêté semestriel): francetransactions.com; bpifrance-creation.fr table; aeccompta.com'),
	('FR_LEGAL_PRO', '2020-07-01', 0.84, 'published', '2020-12-31',
	 'taux de l''intérêt légal 2020-S2 (arrêté semestriel): francetransactions.com; bpifrance-creation.fr table'),
	('FR_LEGAL_PRO', '2021-01-01', 0.79, 'published', '2021-06-30',
	 'taux de l''intérêt légal 2021-S1 (arrêté semestriel): dandrel-avocats.fr; dormane.fr (0,79 %)'),
	('FR_LEGAL_PRO', '2021-07-01', 0.76, 'published', '2021-12-31',
	 'taux de l''intérêt légal 2021-S2 (arrêté semestriel): dandrel-avocats.fr'),
	('FR_LEGAL_PRO', '2022-01-01', 0.76, 'published', '2022-06-30',
	 'taux de l''intérêt légal 2022-S1 (arrêté semestriel): francetransactions.com; bpifrance-creation.fr table'),
	('FR_LEGAL_PRO', '2022-07-01', 0.77, 'published', '2022-12-31',
	 'taux de l''intérêt légal 2022-S2 (arrêté semestriel): notaires2normandie.com (Lefebvre Dalloz); bpifrance table'),
	('FR_LEGAL_PRO', '2023-01-01', 2.06, 'published', '2023-06-30',
	 'taux de l''intérêt légal 2023-S1 (arrêté semestriel): notaires2normandie.com; bpifrance table'),
	('FR_LEGAL_PRO', '2023-07-01', 4.22, 'published', '2023-12-31',
	 'taux de l''intérêt légal 2023-S2 (arrêté ECOT2317028A du 27 juin 2023, JO 30 juin 2023): notaires2normandie.com; bpifrance table  [CONFLICT: francetransactions.com prints 6,83]'),
	('FR_LEGAL_PRO', '2024-01-01', 5.07, 'published', '2024-06-30',
	 'taux de l''intérêt légal 2024-S1 (arrêté semestriel): bpifrance-creation.fr table; francetransactions.com'),
	('FR_LEGAL_PRO', '2024-07-01', 4.92, 'published', '2024-12-31',
	 'taux de l''intérêt légal 2024-S2 (arrêté semestriel): bpifrance-creation.fr table and taux-penalites page (3 x 4,92 = 14,76 %)'),
	('FR_LEGAL_PRO', '2025-01-01', 3.71, 'published', '2025-06-30',
	 'taux de l''intérêt légal 2025-S1 (arrêté du 17 déc. 2024): bpifrance-creation.fr; cna2c.fr; lexisveille.fr'),
	('FR_LEGAL_PRO', '2025-07-01', 2.76, 'published', '2025-12-31',
	 'taux de l''intérêt légal 2025-S2 (arrêté ECOT2516925A du 19 juin 2025, JO 24 juin 2025): cna2c.fr (Lefebvre Dalloz); votrexpert.com (majoré +5: 11,65 / 7,76)'),
	('FR_LEGAL_PRO', '2026-01-01', 2.62, 'published', '2026-06-30',
	 'taux de l''intérêt légal 2026-S1 (arrêté du 15 déc. 2025, JORF n°0302 26 déc. 2025): juriblio.fr (full text of the arrêté); avocat-plagnol.com'),
	('FR_LEGAL_PRIVATE', '2008-01-01', 3.99, 'published', '2008-12-31',
	 'taux de l''intérêt légal 2008 (JO 23.02.2008): caboche-avocat.fr (source Banque de France)'),
	('FR_LEGAL_PRIVATE', '2009-01-01', 3.79, 'published', '2009-12-31',
	 'taux de l''intérêt légal 2009 (JO 9.02.2009): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2010-01-01', 0.65, 'published', '2010-12-31',
	 'taux de l''intérêt légal 2010 (JO 11.02.2010): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2011-01-01', 0.38, 'published', '2011-12-31',
	 'taux de l''intérêt légal 2011 (JO 1.02.2011): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2012-01-01', 0.71, 'published', '2012-12-31',
	 'taux de l''intérêt légal 2012 (JO 7.02.2012): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2013-01-01', 0.04, 'published', '2013-12-31',
	 'taux de l''intérêt légal 2013 (JO 27.02.2013): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2014-01-01', 0.04, 'published', '2014-12-31',
	 'taux de l''intérêt légal 2014 (JO 6.02.2014): caboche-avocat.fr; aeccompta.com; lexing.law'),
	('FR_LEGAL_PRIVATE', '2015-01-01', 4.06, 'published', '2015-06-30',
	 'taux de l''intérêt légal 2015-S1 (arrêté (JO fin déc. 2014)): caboche-avocat.fr table (source Banque de France); aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2015-07-01', 4.29, 'published', '2015-12-31',
	 'taux de l''intérêt légal 2015-S2 (arrêté du 24 juin 2015): affairesjuridiques.aphp.fr; caboche-avocat.fr'),
	('FR_LEGAL_PRIVATE', '2016-01-01', 4.54, 'published', '2016-06-30',
	 'taux de l''intérêt légal 2016-S1 (arrêté du 23 déc. 2015, JO 27 déc. 2015 p. 24148): onb-france.com; infopro-le-moniteur; paperblog.fr'),
	('FR_LEGAL_PRIVATE', '2016-07-01', 4.35, 'published', '2016-12-31',
	 'taux de l''intérêt légal 2016-S2 (arrêté (JO juin 2016)): caboche-avocat.fr; aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2017-01-01', 4.16, 'published', '2017-06-30',
	 'taux de l''intérêt légal 2017-S1 (arrêté (JO déc. 2016)): efl.fr (S2-2017 article: ''au lieu de 4,16 %'', ''maintenu à 0,90 %''); aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2017-07-01', 3.94, 'published', '2017-12-31',
	 'taux de l''intérêt légal 2017-S2 (arrêté du 26 juin 2017, JO n°152 30 juin 2017): lextimes.fr; efl.fr'),
	('FR_LEGAL_PRIVATE', '2018-01-01', 3.73, 'published', '2018-06-30',
	 'taux de l''intérêt légal 2018-S1 (arrêté du 28 déc. 2017, JORF n°0304 30 déc. 2017): bpifrance-creation.fr news 09/01/2018; francetransactions.com  [CONFLICT: aeccompta.com and bpifrance ''boîte à outils'' history table print 0,88]'),
	('FR_LEGAL_PRIVATE', '2018-07-01', 3.60, 'published', '2018-12-31',
	 'taux de l''intérêt légal 2018-S2 (arrêté du 27 juin 2018, JO 28 juin 2018): veegee.fr; agence7.fr'),
	('FR_LEGAL_PRIVATE', '2019-01-01', 3.40, 'published', '2019-06-30',
	 'taux de l''intérêt légal 2019-S1 (arrêté du 21 déc. 2018, JO n°0302 30 déc. 2018): legifiscal.fr; eyschen-avocat.fr; francetransactions.com  [CONFLICT: aeccompta.com and bpifrance history table print 0,76]'),
	('FR_LEGAL_PRIVATE', '2019-07-01', 3.26, 'published', '2019-12-31',
	 'taux de l''intérêt légal 2019-S2 (arrêté semestriel): francetransactions.com; bpifrance-creation.fr table; aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2020-01-01', 3.15, 'published', '2020-06-30',
	 'taux de l''intérêt légal 2020-S1 (arrêté semestriel): francetransactions.com; bpifrance-creation.fr table; aeccompta.com'),
	('FR_LEGAL_PRIVATE', '2020-07-01', 3.11, 'published', '2020-12-31',
	 'taux de l''intérêt légal 2020-S2 (arrêté semestriel): francetransactions.com; bpifrance-creation.fr table'),
	('FR_LEGAL_PRIVATE', '2021-01-01', 3.14, 'published', '2021-06-30',
	 'taux de l''intérêt légal 2021-S1 (arrêté semestriel): dandrel-avocats.fr; dormane.fr (0,79 %)'),
	('FR_LEGAL_PRIVATE', '2021-07-01', 3.12, 'published', '2021-12-31',
	 'taux de l''intérêt légal 2021-S2 (arrêté semestriel): dandrel-avocats.fr'),
	('FR_LEGAL_PRIVATE', '2022-01-01', 3.13, 'published', '2022-06-30',
	 'taux de l''intérêt légal 2022-S1 (arrêté semestriel): francetransactions.com; bpifrance-creation.fr table'),
	('FR_LEGAL_PRIVATE', '2022-07-01', 3.15, 'published', '2022-12-31',
	 'taux de l''intérêt légal 2022-S2 (arrêté semestriel): notaires2normandie.com (Lefebvre Dalloz); bpifrance table'),
	('FR_LEGAL_PRIVATE', '2023-01-01', 4.47, 'published', '2023-06-30',
	 'taux de l''intérêt légal 2023-S1 (arrêté semestriel): notaires2normandie.com; bpifrance table'),
	('FR_LEGAL_PRIVATE', '2023-07-01', 6.82, 'published', '2023-12-31',
	 'taux de l''intérêt légal 2023-S2 (arrêté ECOT2317028A du 27 juin 2023, JO 30 juin 2023): notaires2normandie.com; bpifrance table  [CONFLICT: francetransactions.com prints 6,83]'),
	('FR_LEGAL_PRIVATE', '2024-01-01', 8.01, 'published', '2024-06-30',
	 'taux de l''intérêt légal 2024-S1 (arrêté semestriel): bpifrance-creation.fr table; francetransactions.com'),
	('FR_LEGAL_PRIVATE', '2024-07-01', 8.16, 'published', '2024-12-31',
	 'taux de l''intérêt légal 2024-S2 (arrêté semestriel): bpifrance-creation.fr table and taux-penalites page (3 x 4,92 = 14,76 %)'),
	('FR_LEGAL_PRIVATE', '2025-01-01', 7.21, 'published', '2025-06-30',
	 'taux de l''intérêt légal 2025-S1 (arrêté du 17 déc. 2024): bpifrance-creation.fr; cna2c.fr; lexisveille.fr'),
	('FR_LEGAL_PRIVATE', '2025-07-01', 6.65, 'published', '2025-12-31',
	 'taux de l''intérêt légal 2025-S2 (arrêté ECOT2516925A du 19 juin 2025, JO 24 juin 2025): cna2c.fr (Lefebvre Dalloz); votrexpert.com (majoré +5: 11,65 / 7,76)'),
	('FR_LEGAL_PRIVATE', '2026-01-01', 6.67, 'published', '2026-06-30',
	 'taux de l''intérêt légal 2026-S1 (arrêté du 15 déc. 2025, JORF n°0302 26 déc. 2025): juriblio.fr (full text of the arrêté); avocat-plagnol.com');

INSERT INTO ar.reference_rate (series, effective_from, rate, status, confirmed_through, source) VALUES
	('UK_BANK_RATE', '1997-05-06', 6.25, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1997-06-06', 6.50, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1997-07-10', 6.75, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1997-08-07', 7.00, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1997-11-06', 7.25, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1998-06-04', 7.50, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1998-10-08', 7.25, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1998-11-05', 6.75, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1998-12-10', 6.25, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1999-01-07', 6.00, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1999-02-04', 5.50, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1999-04-08', 5.25, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1999-06-10', 5.00, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1999-09-08', 5.25, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '1999-11-04', 5.50, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2000-01-13', 5.75, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2000-02-10', 6.00, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2001-02-08', 5.75, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2001-04-05', 5.50, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2001-05-10', 5.25, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2001-08-02', 5.00, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2001-09-18', 4.75, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2001-10-04', 4.50, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2001-11-08', 4.00, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2003-02-06', 3.75, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2003-07-10', 3.50, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2003-11-06', 3.75, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2004-02-05', 4.00, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2004-05-06', 4.25, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2004-06-10', 4.50, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2004-08-05', 4.75, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2005-08-04', 4.50, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2006-08-03', 4.75, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2006-11-09', 5.00, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2007-01-11', 5.25, 'unverified', NULL,
	 'Bank of England Bank Rate: unverified (researcher memory; uk_bank_rate_pre2007_UNVERIFIED.csv)'),
	('UK_BANK_RATE', '2007-05-10', 5.50, 'published', NULL,
	 'Bank of England Bank Rate: theguardian.com timeline (11 May 2007 article: ''six-year high of 5.5%''); is4profit.com'),
	('UK_BANK_RATE', '2007-07-05', 5.75, 'published', NULL,
	 'Bank of England Bank Rate: theguardian.com timeline'),
	('UK_BANK_RATE', '2007-12-06', 5.50, 'unverified', NULL,
	 'Bank of England Bank Rate: researcher memory'),
	('UK_BANK_RATE', '2008-02-07', 5.25, 'published', NULL,
	 'Bank of England Bank Rate: is4profit.com (''Feb 2008: 5.25%'')'),
	('UK_BANK_RATE', '2008-04-10', 5.00, 'published', NULL,
	 'Bank of England Bank Rate: is4profit.com (''Apr 2008: 5.0%'')'),
	('UK_BANK_RATE', '2008-10-08', 4.50, 'published', NULL,
	 'Bank of England Bank Rate: bbc.com/news/10612477'),
	('UK_BANK_RATE', '2008-11-06', 3.00, 'published', NULL,
	 'Bank of England Bank Rate: bbc.com; which.co.uk; oldham-chronicle.co.uk'),
	('UK_BANK_RATE', '2008-12-04', 2.00, 'published', NULL,
	 'Bank of England Bank Rate: bbc.com; mortgages.ie (BoE statement text)'),
	('UK_BANK_RATE', '2009-01-08', 1.50, 'published', NULL,
	 'Bank of England Bank Rate: bbc.com'),
	('UK_BANK_RATE', '2009-02-05', 1.00, 'published', NULL,
	 'Bank of England Bank Rate: bbc.com; is4profit.com'),
	('UK_BANK_RATE', '2009-03-05', 0.50, 'published', NULL,
	 'Bank of England Bank Rate: bbc.com; public code excerpt in BoE ''DD Mon YY'' format (code corpus id 23523349811)'),
	('UK_BANK_RATE', '2016-08-04', 0.25, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811; theguardian.com'),
	('UK_BANK_RATE', '2017-11-02', 0.50, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2018-08-02', 0.75, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2020-03-11', 0.25, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811; thetimes.co.uk'),
	('UK_BANK_RATE', '2020-03-19', 0.10, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2021-12-16', 0.25, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2022-02-03', 0.50, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2022-03-17', 0.75, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2022-05-05', 1.00, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2022-06-16', 1.25, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2022-08-04', 1.75, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2022-09-22', 2.25, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2022-11-03', 3.00, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2022-12-15', 3.50, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2023-02-02', 4.00, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2023-03-23', 4.25, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2023-05-11', 4.50, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2023-06-22', 5.00, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811'),
	('UK_BANK_RATE', '2023-08-03', 5.25, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811; focus-economics (end-2023 5.25)'),
	('UK_BANK_RATE', '2024-08-01', 5.00, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811; londondevelopmentsites.com'),
	('UK_BANK_RATE', '2024-11-07', 4.75, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811; focus-economics (end-2024 4.75)'),
	('UK_BANK_RATE', '2025-02-06', 4.50, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811; londondevelopmentsites.com (MPC vote 5 Feb, announced 6 Feb)'),
	('UK_BANK_RATE', '2025-05-08', 4.25, 'published', NULL,
	 'Bank of England Bank Rate: code excerpt 23523349811; gdafinancialpartners.com'),
	('UK_BANK_RATE', '2025-08-07', 4.00, 'published', NULL,
	 'Bank of England Bank Rate: tradingeconomics.com; focus-economics.com'),
	('UK_BANK_RATE', '2025-12-01', 4.00, 'unverified', NULL,
	 'Bank of England Bank Rate: 4.00 % until the December 2025 cut, whose day is not confirmed (researcher memory: 18 Dec 2025)'),
	('UK_BANK_RATE', '2025-12-18', 3.75, 'unverified', NULL,
	 'Bank of England Bank Rate: cut to 3.75 % in December 2025 (focus-economics.com, by month); the day is researcher memory'),
	('UK_BANK_RATE', '2025-12-31', 3.75, 'published', '2026-02-05',
	 'Bank of England Bank Rate in force on 31 Dec 2025: focus-economics.com (cuts of 150 bp from August 2024 to December 2025, held at 3.75 % in Feb 2026); 2026-H1 statutory rate 8 + 3.75 = 11.75 % (paymentcheck.co.uk, usewolfx.com, accounting.events)');

ALTER TABLE ar.rate_series ALTER COLUMN shipped SET DEFAULT false;
ALTER TABLE ar.reference_rate ALTER COLUMN shipped SET DEFAULT false;
ALTER TABLE ar.penalty_regime ALTER COLUMN shipped SET DEFAULT false;
ALTER TABLE ar.penalty_regime_fee ALTER COLUMN shipped SET DEFAULT false;

-- ------------------------------------------------ guards of the rule tables

-- Shipped rows come with the extension and stay as shipped.
CREATE FUNCTION ar._penalty_shipped_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NEW.shipped THEN
			RAISE EXCEPTION 'rows of ar.% with shipped = true come with ar_collect only', TG_TABLE_NAME
				USING ERRCODE = 'insufficient_privilege';
		END IF;
		RETURN NEW;
	END IF;
	IF OLD.shipped OR (TG_OP = 'UPDATE' AND NEW.shipped) THEN
		RAISE EXCEPTION 'this row of ar.% is shipped with ar_collect and cannot be changed', TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = format('Row: %s.', to_jsonb(OLD) - 'created_at' - 'shipped'),
			      HINT = 'Insert a row of your own: a reference rate with the same series and effective_from replaces the shipped one; a regime of your own takes another code.';
	END IF;
	RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;

-- Statement trigger: the engine's cache of the rules is dropped in every
-- backend (src/penalty.c).
CREATE FUNCTION ar._penalty_rules_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'penalty_rules_changed' LANGUAGE C;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['rate_series', 'reference_rate', 'penalty_regime', 'penalty_regime_fee'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON ar.%I FOR EACH ROW EXECUTE FUNCTION ar._penalty_shipped_guard()',
		               t || '_shipped_guard', t);
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ar.%I FOR EACH STATEMENT EXECUTE FUNCTION ar._penalty_rules_changed()',
		               t || '_rules_changed', t);
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ar.%I FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate()',
		               t || '_no_truncate', t);
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON ar.%I FOR EACH ROW EXECUTE FUNCTION ar._audit_row()',
		               t || '_audit', t);
	END LOOP;
END $$;

-- ---------------------------------------- regime overrides of customers and invoices

ALTER TABLE ar.customer
	ADD COLUMN penalty_regime text REFERENCES ar.penalty_regime,
	ADD COLUMN penalty_rate numeric
		CONSTRAINT customer_penalty_rate_valid CHECK (penalty_rate > 0 AND penalty_rate <= 1000 AND penalty_rate = round(penalty_rate, 6));
ALTER TABLE ar.invoice
	ADD COLUMN penalty_regime text REFERENCES ar.penalty_regime,
	ADD COLUMN penalty_rate numeric
		CONSTRAINT invoice_penalty_rate_valid CHECK (penalty_rate > 0 AND penalty_rate <= 1000 AND penalty_rate = round(penalty_rate, 6));

COMMENT ON COLUMN ar.customer.penalty_regime IS 'Late-payment regime of the customer''s invoices (ar.penalty_regime); NULL: FR_LME.';
COMMENT ON COLUMN ar.customer.penalty_rate IS 'Contractual late-payment rate, percent a year, for regimes without a rate series (CONTRACT).';
COMMENT ON COLUMN ar.invoice.penalty_regime IS 'Late-payment regime of this invoice; NULL: its customer''s, else FR_LME.';
COMMENT ON COLUMN ar.invoice.penalty_rate IS 'Contractual late-payment rate of this invoice (percent a year); NULL: its customer''s.';

-- A contractual rate below the lawful floor on the invoice's issue date is
-- refused when it is entered (and again, day by day, when penalties are
-- computed, as the floor moves every half-year).
CREATE FUNCTION ar._invoice_penalty_rate_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	applied_regime text := coalesce(NEW.penalty_regime,
	                                (SELECT c.penalty_regime FROM ar.customer c WHERE c.id = NEW.customer_id), 'FR_LME');
	lawful numeric;
BEGIN
	BEGIN
		lawful := ar.penalty_rate_floor(applied_regime, NEW.issue_date);
	EXCEPTION WHEN no_data_found THEN
		RETURN NEW;				-- floor not known on that date yet: checked when computed
	END;
	IF NEW.penalty_rate < lawful THEN
		RAISE EXCEPTION 'penalty rate % of invoice % is below the lawful minimum of % on %',
			NEW.penalty_rate, NEW.number, lawful, NEW.issue_date
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = (SELECT format('Regime %s: at least %s times %s (%s).', r.regime, r.floor_multiplier,
			                              r.floor_series, r.legal_reference)
			                  FROM ar.penalty_regime r WHERE r.regime = applied_regime);
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER invoice_penalty_rate_check BEFORE INSERT OR UPDATE OF penalty_rate, penalty_regime, issue_date ON ar.invoice
	FOR EACH ROW WHEN (NEW.penalty_rate IS NOT NULL) EXECUTE FUNCTION ar._invoice_penalty_rate_check();

-- ------------------------------------------------------------------ the engine

CREATE FUNCTION ar.reference_rate_at(series text, on_date date) RETURNS numeric
AS 'MODULE_PATHNAME', 'penalty_reference_rate_at' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.reference_rate_at(text, date) IS 'Rate of the series in force on that date (percent a year); an error naming the series and the date when it is not known or not verified.';

CREATE FUNCTION ar.penalty_rate(regime text, late_day date, first_late_day date DEFAULT NULL,
                                contract_rate numeric DEFAULT NULL) RETURNS numeric
AS 'MODULE_PATHNAME', 'penalty_rate' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.penalty_rate(text, date, date, numeric) IS 'Yearly rate (percent) the regime applies on late_day of a delay whose first late day is first_late_day (default: late_day).';

CREATE FUNCTION ar.penalty_rate_floor(regime text, on_date date) RETURNS numeric
AS 'MODULE_PATHNAME', 'penalty_rate_floor' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.penalty_rate_floor(text, date) IS 'Lowest lawful rate of the regime on that date (e.g. 3 x the French legal interest rate for CONTRACT), NULL when it has no floor.';

CREATE FUNCTION ar.late_penalty(amount numeric, due_date date, paid_on date, regime text DEFAULT 'FR_LME')
RETURNS ar.penalty
AS 'MODULE_PATHNAME', 'penalty_late' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.late_penalty(numeric, date, date, text) IS 'Late-payment interest and fixed fee of an amount due on due_date and paid on paid_on, under a regime, from the stored rate histories.';

CREATE FUNCTION ar.late_penalty(amount numeric, due_date date, paid_on date, regime text, contract_rate numeric)
RETURNS ar.penalty
AS 'MODULE_PATHNAME', 'penalty_late_contract' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.late_penalty(numeric, date, date, text, numeric) IS 'The same with a contractual rate (percent a year) for regimes without a rate series (CONTRACT).';

-- The core of ar.invoice_penalty, for set-based callers: late days run from
-- due_date + 1 to the day the payments (dated up to as_of) cover the
-- amount, or to as_of.  strict = false returns NULL amounts and the
-- reason in "problem" instead of raising it.  A named row type, so that a
-- subquery may return it (ar.run_dunning).
CREATE TYPE ar._penalty_computed AS (days_late integer, interest numeric, fixed_fee numeric,
                                     total numeric, settled_on date, problem text);
CREATE FUNCTION ar._penalty_compute(regime text, amount numeric, due_date date, as_of date,
                                    payment_dates date[], payment_amounts numeric[],
                                    contract_rate numeric, currency text, strict boolean)
RETURNS ar._penalty_computed
AS 'MODULE_PATHNAME', 'penalty_compute' LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION ar._penalty_schedule(regime text, amount numeric, due_date date, as_of date,
                                     payment_dates date[], payment_amounts numeric[],
                                     contract_rate numeric, currency text)
RETURNS TABLE (line integer, period_start date, period_end date, days integer, outstanding numeric,
               rate numeric, interest numeric, rate_basis text)
AS 'MODULE_PATHNAME', 'penalty_schedule' LANGUAGE C STABLE PARALLEL SAFE ROWS 4;

-- Decisions about the penalties of an invoice: billed (an invoice of their
-- own was issued), waived (with a reason) or written off.  Amounts are the
-- penalty as computed on decided_on.
CREATE TABLE ar.penalty_claim (
	id                  bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id          bigint NOT NULL DEFAULT ar.default_company(),
	invoice_id          bigint NOT NULL UNIQUE REFERENCES ar.invoice,
	decision            text NOT NULL CHECK (decision IN ('billed', 'waived', 'written_off')),
	decided_on          date NOT NULL DEFAULT current_date,
	days_late           integer,
	interest            numeric,
	fixed_fee           numeric,
	total               numeric,
	penalty_invoice_id  bigint UNIQUE REFERENCES ar.invoice,
	reason              text,
	decided_by          text NOT NULL DEFAULT session_user,
	created_at          timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT penalty_claim_reason CHECK (decision = 'billed' OR btrim(reason) <> ''),
	CONSTRAINT penalty_claim_billed CHECK ((decision = 'billed') <= (penalty_invoice_id IS NOT NULL))
);
COMMENT ON TABLE ar.penalty_claim IS 'Decisions about an invoice''s late-payment penalties: billed (penalty_invoice_id), waived or written off (with a reason); amounts as computed on decided_on.';

CREATE TRIGGER penalty_claim_audit AFTER INSERT OR UPDATE OR DELETE ON ar.penalty_claim
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER penalty_claim_no_truncate BEFORE TRUNCATE ON ar.penalty_claim
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- Records the assumption that every rate history is unchanged since its
-- last known day, through a date: provisional rows (used, and flagged in
-- schedules), one per series not known that far, never from an unverified
-- value.  For demos, tests and forecasts; insert published rates for real.
CREATE FUNCTION ar.assume_rates_unchanged(through date, note text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	s record;
	extended integer := 0;
BEGIN
	IF through IS NULL OR NOT isfinite(through) THEN
		RAISE EXCEPTION 'through must be a finite date' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF coalesce(btrim(note), '') = '' THEN
		RAISE EXCEPTION 'an assumption needs a note saying why' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR s IN SELECT h.series, h.known, l.rate, l.status
	           FROM (SELECT r.series, max(coalesce(r.confirmed_through, r.effective_from)) AS known
	                   FROM ar.reference_rate r GROUP BY r.series) h
	           CROSS JOIN LATERAL (SELECT r.rate, r.status FROM ar.reference_rate r
	                                WHERE r.series = h.series AND r.effective_from <= h.known
	                                ORDER BY r.effective_from DESC, r.shipped LIMIT 1) l
	          WHERE h.known < through AND l.status <> 'unverified'
	          ORDER BY h.series LOOP
		INSERT INTO ar.reference_rate (series, effective_from, rate, status, confirmed_through, source)
		VALUES (s.series, s.known + 1, s.rate, 'provisional', through, note);
		extended := extended + 1;
	END LOOP;
	RETURN extended;
END $$;
COMMENT ON FUNCTION ar.assume_rates_unchanged(date, text) IS 'Extends every rate history not known through that date with a provisional row of its last known rate (flagged in schedules; never from an unverified value). Returns the number of series extended.';

-- What the engine needs to know about each invoice: its regime (its own,
-- else its customer's, else FR_LME), contractual rate, and whether it can
-- bear penalties at all (a credit note, a cancelled invoice or an invoice
-- billing penalties, ar.penalty_claim.penalty_invoice_id, cannot).
CREATE VIEW ar._penalty_basis AS
SELECT i.id AS invoice_id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
       coalesce(i.penalty_regime, c.penalty_regime, 'FR_LME') AS regime,
       coalesce(i.penalty_rate, c.penalty_rate) AS contract_rate,
       i.amount > 0 AND i.cancelled_on IS NULL
       AND NOT EXISTS (SELECT 1 FROM ar.penalty_claim pc WHERE pc.penalty_invoice_id = i.id) AS liable
  FROM ar.invoice i
  JOIN ar.customer c ON c.id = i.customer_id;

COMMENT ON VIEW ar._penalty_basis IS 'What the penalty engine reads of each invoice: its regime and contractual rate (its own, else its customer''s, else FR_LME) and whether it can bear penalties.';
COMMENT ON COLUMN ar._penalty_basis.invoice_id IS 'ar.invoice.id';
COMMENT ON COLUMN ar._penalty_basis.company_id IS 'Company of the invoice.';
COMMENT ON COLUMN ar._penalty_basis.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar._penalty_basis.number IS 'Invoice number.';
COMMENT ON COLUMN ar._penalty_basis.currency IS 'Currency of the invoice, and of its fixed fee.';
COMMENT ON COLUMN ar._penalty_basis.issue_date IS 'Issue date.';
COMMENT ON COLUMN ar._penalty_basis.due_date IS 'Due date: late days start the day after.';
COMMENT ON COLUMN ar._penalty_basis.amount IS 'Invoice amount including tax.';
COMMENT ON COLUMN ar._penalty_basis.regime IS 'Regime applied: the invoice''s, else its customer''s, else FR_LME.';
COMMENT ON COLUMN ar._penalty_basis.contract_rate IS 'Contractual rate (percent a year): the invoice''s, else its customer''s.';
COMMENT ON COLUMN ar._penalty_basis.liable IS 'False for credit notes, cancelled invoices and invoices billing penalties: they bear none.';

CREATE FUNCTION ar._penalty_basis_of(invoice_id bigint) RETURNS ar._penalty_basis
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	basis ar._penalty_basis;
BEGIN
	IF invoice_id IS NULL THEN
		RAISE EXCEPTION 'invoice_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO basis FROM ar._penalty_basis b WHERE b.invoice_id = _penalty_basis_of.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN basis;
END $$;

CREATE FUNCTION ar.invoice_penalty(invoice_id bigint, as_of date DEFAULT current_date)
RETURNS ar.penalty
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	basis ar._penalty_basis;
	result ar.penalty;
BEGIN
	basis := ar._penalty_basis_of(invoice_id);
	IF as_of IS NULL THEN
		RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT basis.liable THEN
		-- nothing was owed: zeros at the regime's scale
		RETURN ar.late_penalty(0, basis.due_date, basis.due_date, basis.regime);
	END IF;
	SELECT p.days_late, p.interest, p.fixed_fee, p.total INTO result
	  FROM ar._penalty_compute(basis.regime, basis.amount, basis.due_date, as_of,
	                           (SELECT array_agg(a.allocated_on ORDER BY a.allocated_on, a.id) FROM ar.allocation a
	                             WHERE a.invoice_id = basis.invoice_id AND a.allocated_on <= as_of),
	                           (SELECT array_agg(a.amount ORDER BY a.allocated_on, a.id) FROM ar.allocation a
	                             WHERE a.invoice_id = basis.invoice_id AND a.allocated_on <= as_of),
	                           basis.contract_rate, basis.currency, true) p;
	RETURN result;
END $$;
COMMENT ON FUNCTION ar.invoice_penalty(bigint, date) IS 'Penalty of an invoice as of a date, honouring its payments and credit notes (interest on each outstanding balance for its own days), under its regime, else its customer''s, else FR_LME.';

CREATE FUNCTION ar.penalty_schedule(invoice_id bigint, as_of date DEFAULT current_date)
RETURNS TABLE (line integer, period_start date, period_end date, days integer, outstanding numeric,
               rate numeric, interest numeric, rate_basis text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	basis ar._penalty_basis;
BEGIN
	basis := ar._penalty_basis_of(invoice_id);
	IF as_of IS NULL THEN
		RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF basis.liable THEN
		RETURN QUERY
		SELECT s.* FROM ar._penalty_schedule(basis.regime, basis.amount, basis.due_date, as_of,
		                    (SELECT array_agg(a.allocated_on ORDER BY a.allocated_on, a.id) FROM ar.allocation a
		                      WHERE a.invoice_id = basis.invoice_id AND a.allocated_on <= as_of),
		                    (SELECT array_agg(a.amount ORDER BY a.allocated_on, a.id) FROM ar.allocation a
		                      WHERE a.invoice_id = basis.invoice_id AND a.allocated_on <= as_of),
		                    basis.contract_rate, basis.currency) s;
	END IF;
END $$;
COMMENT ON FUNCTION ar.penalty_schedule(bigint, date) IS 'Breakdown of an invoice''s interest as a formal notice prints it: one line per period of constant outstanding amount and rate; the lines add up to ar.invoice_penalty''s interest.';

CREATE FUNCTION ar.penalty_schedule(amount numeric, due_date date, paid_on date, regime text DEFAULT 'FR_LME')
RETURNS TABLE (line integer, period_start date, period_end date, days integer, outstanding numeric,
               rate numeric, interest numeric, rate_basis text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT * FROM ar._penalty_schedule(regime, amount, due_date, paid_on, NULL, NULL, NULL, NULL)
$$;
COMMENT ON FUNCTION ar.penalty_schedule(numeric, date, date, text) IS 'The breakdown of ar.late_penalty(amount, due_date, paid_on, regime).';

-- ------------------------------------------------------------ penalty claims

CREATE FUNCTION ar.penalty_claims_on(as_of date)
RETURNS TABLE (invoice_id bigint, company_id bigint, customer_id bigint, customer_code text, number text,
               currency char(3), regime text, due_date date, settled_on date, days_late integer,
               interest numeric, fixed_fee numeric, total numeric, status text, claimed numeric,
               collected numeric, outstanding numeric, penalty_invoice_id bigint, decided_on date,
               reason text, problem text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT b.invoice_id, b.company_id, b.customer_id, c.code, b.number, b.currency, b.regime, b.due_date,
	       r.settled_on, r.days_late, r.interest, r.fixed_fee, r.total, s.status,
	       CASE WHEN d.decision = 'billed' THEN pi.amount ELSE r.total END,
	       coalesce(pc.paid, r.total - r.total, 0),
	       CASE s.status
	            WHEN 'billed' THEN pi.amount - coalesce(pc.paid, 0)
	            WHEN 'accruing' THEN r.total
	            WHEN 'open' THEN r.total
	            ELSE r.total - r.total
	       END,
	       d.penalty_invoice_id, d.decided_on, d.reason, r.problem
	  FROM ar._penalty_basis b
	  JOIN ar.customer c ON c.id = b.customer_id
	  LEFT JOIN LATERAL (SELECT array_agg(a.allocated_on ORDER BY a.allocated_on, a.id) AS dates,
	                            array_agg(a.amount ORDER BY a.allocated_on, a.id) AS amounts,
	                            max(a.allocated_on) AS last_on, sum(a.amount) AS paid,
	                            bool_or(a.method = 'write_off') AS written_off
	                       FROM ar.allocation a
	                      WHERE a.invoice_id = b.invoice_id AND a.allocated_on <= as_of) p ON true
	  CROSS JOIN LATERAL ar._penalty_compute(b.regime, b.amount, b.due_date, as_of, p.dates, p.amounts,
	                                         b.contract_rate, b.currency, false) r
	  LEFT JOIN ar.penalty_claim d ON d.invoice_id = b.invoice_id AND d.decided_on <= as_of
	  LEFT JOIN ar.invoice pi ON pi.id = d.penalty_invoice_id
	  LEFT JOIN LATERAL (SELECT sum(a.amount) AS paid FROM ar.allocation a
	                      WHERE a.invoice_id = d.penalty_invoice_id AND a.allocated_on <= as_of
	                        AND a.method <> 'write_off') pc ON true
	  LEFT JOIN LATERAL (SELECT bool_or(a.method = 'write_off') AS written_off FROM ar.allocation a
	                      WHERE a.invoice_id = d.penalty_invoice_id AND a.allocated_on <= as_of) pw ON true
	 CROSS JOIN LATERAL (SELECT CASE
	         WHEN d.decision = 'waived' THEN 'waived'
	         WHEN d.decision = 'written_off' THEN 'written_off'
	         WHEN d.decision = 'billed' AND coalesce(pc.paid, 0) >= pi.amount THEN 'collected'
	         WHEN d.decision = 'billed' AND pw.written_off THEN 'written_off'
	         WHEN d.decision = 'billed' THEN 'billed'
	         WHEN p.written_off THEN 'written_off'
	         WHEN r.settled_on IS NULL THEN 'accruing'
	         ELSE 'open'
	       END AS status) s
	 WHERE b.liable
	   AND b.issue_date <= as_of
	   AND b.due_date < as_of
	   AND (coalesce(p.paid, 0) < b.amount OR p.last_on > b.due_date)
	   AND (r.days_late > 0 OR r.problem IS NOT NULL)
$$;
COMMENT ON FUNCTION ar.penalty_claims_on(date) IS 'Late-payment penalty claims as they stood on as_of: every invoice with a late day, its penalty and the claim''s status (accruing, open, billed, collected, waived, written_off).';

CREATE VIEW ar.penalty_claims AS
SELECT * FROM ar.penalty_claims_on(current_date);

COMMENT ON VIEW ar.penalty_claims IS 'Late-payment penalty claims today: one row per invoice with at least one late day. A claim stays until collected, waived or written off.';
COMMENT ON COLUMN ar.penalty_claims.invoice_id IS 'The late invoice (ar.invoice.id).';
COMMENT ON COLUMN ar.penalty_claims.company_id IS 'Company whose claim it is.';
COMMENT ON COLUMN ar.penalty_claims.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.penalty_claims.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.penalty_claims.number IS 'Number of the late invoice.';
COMMENT ON COLUMN ar.penalty_claims.currency IS 'Currency of the invoice and of its penalty.';
COMMENT ON COLUMN ar.penalty_claims.regime IS 'Regime applied: the invoice''s, else its customer''s, else FR_LME.';
COMMENT ON COLUMN ar.penalty_claims.due_date IS 'Due date of the invoice; penalties run from the next day.';
COMMENT ON COLUMN ar.penalty_claims.settled_on IS 'Day the invoice was fully paid (penalties final); NULL while it is still open (accruing).';
COMMENT ON COLUMN ar.penalty_claims.days_late IS 'Late days so far: to settled_on, or to today.';
COMMENT ON COLUMN ar.penalty_claims.interest IS 'Late-payment interest, rounded once; NULL when a rate is not known (see problem).';
COMMENT ON COLUMN ar.penalty_claims.fixed_fee IS 'Fixed recovery fee of the regime (e.g. 40 EUR).';
COMMENT ON COLUMN ar.penalty_claims.total IS 'interest + fixed_fee.';
COMMENT ON COLUMN ar.penalty_claims.status IS 'accruing (invoice still open), open (invoice paid late, penalty not yet claimed), billed (penalty invoice issued, not fully paid), collected, waived, written_off.';
COMMENT ON COLUMN ar.penalty_claims.claimed IS 'Amount claimed: the penalty invoice''s amount when billed, else total.';
COMMENT ON COLUMN ar.penalty_claims.collected IS 'Paid on the penalty invoice.';
COMMENT ON COLUMN ar.penalty_claims.outstanding IS 'Still claimable: total while accruing or open, the penalty invoice''s unpaid part when billed, 0 once collected, waived or written off.';
COMMENT ON COLUMN ar.penalty_claims.penalty_invoice_id IS 'Invoice billing the penalty (ar.bill_penalty).';
COMMENT ON COLUMN ar.penalty_claims.decided_on IS 'Date of the decision (billed, waived, written off).';
COMMENT ON COLUMN ar.penalty_claims.reason IS 'Reason of a waiver or write-off.';
COMMENT ON COLUMN ar.penalty_claims.problem IS 'Why the amounts are NULL (e.g. no known rate for a series on a date); NULL when computed.';

-- The penalty of an invoice as of a date, for a decision's snapshot (never
-- raises for an unknown rate: the amounts are then NULL).
CREATE FUNCTION ar._penalty_snapshot(basis ar._penalty_basis, as_of date)
RETURNS TABLE (days_late integer, interest numeric, fixed_fee numeric, total numeric, settled_on date, problem text)
LANGUAGE sql STABLE AS $$
	SELECT r.* FROM ar._penalty_compute(basis.regime, basis.amount, basis.due_date, as_of,
	                 (SELECT array_agg(a.allocated_on ORDER BY a.allocated_on, a.id) FROM ar.allocation a
	                   WHERE a.invoice_id = basis.invoice_id AND a.allocated_on <= as_of),
	                 (SELECT array_agg(a.amount ORDER BY a.allocated_on, a.id) FROM ar.allocation a
	                   WHERE a.invoice_id = basis.invoice_id AND a.allocated_on <= as_of),
	                 basis.contract_rate, basis.currency, false) r
$$;

-- The invoice, locked, and its claim decision if any.
CREATE FUNCTION ar._penalty_claim_target(invoice_id bigint, OUT basis ar._penalty_basis, OUT claim ar.penalty_claim)
LANGUAGE plpgsql AS $$
BEGIN
	basis := ar._penalty_basis_of(invoice_id);
	PERFORM 1 FROM ar.invoice i WHERE i.id = invoice_id FOR UPDATE;
	IF NOT basis.liable THEN
		RAISE EXCEPTION 'invoice % bears no late-payment penalties', basis.number
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'Credit notes, cancelled invoices and invoices billing penalties bear none.';
	END IF;
	SELECT * INTO claim FROM ar.penalty_claim c WHERE c.invoice_id = _penalty_claim_target.invoice_id FOR UPDATE;
END $$;

CREATE FUNCTION ar.waive_penalty(invoice_id bigint, reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	target record;
	snap record;
	penalty_invoice ar.invoice;
	claim_id bigint;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'waiving penalties needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	target := ar._penalty_claim_target(invoice_id);
	IF (target.claim).id IS NOT NULL THEN
		IF (target.claim).decision <> 'billed' THEN
			RAISE EXCEPTION 'the penalties of invoice % are already %', (target.basis).number,
				replace((target.claim).decision, '_', ' ')
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
		SELECT * INTO penalty_invoice FROM ar.invoice i WHERE i.id = (target.claim).penalty_invoice_id FOR UPDATE;
		IF penalty_invoice.open_amount <> penalty_invoice.amount THEN
			RAISE EXCEPTION 'the penalties of invoice % are billed on invoice % and partly collected', (target.basis).number, penalty_invoice.number
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'Issue a credit note for the part you give up.';
		END IF;
		PERFORM ar.cancel_invoice(penalty_invoice.id, current_date);
		UPDATE ar.penalty_claim c SET decision = 'waived', decided_on = current_date, reason = waive_penalty.reason,
		                              decided_by = session_user
		 WHERE c.id = (target.claim).id
		RETURNING c.id INTO claim_id;
		RETURN claim_id;
	END IF;
	SELECT * INTO snap FROM ar._penalty_snapshot(target.basis, current_date);
	INSERT INTO ar.penalty_claim (company_id, invoice_id, decision, days_late, interest, fixed_fee, total, reason)
	VALUES ((target.basis).company_id, (target.basis).invoice_id, 'waived', snap.days_late, snap.interest,
	        snap.fixed_fee, snap.total, reason)
	RETURNING id INTO claim_id;
	RETURN claim_id;
END $$;
COMMENT ON FUNCTION ar.waive_penalty(bigint, text) IS 'Waives the late-payment penalties of an invoice, with a reason (cancels the penalty invoice if billed and unpaid). Returns the ar.penalty_claim id.';

CREATE FUNCTION ar.bill_penalty(invoice_id bigint, issued_on date DEFAULT current_date) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	target record;
	snap record;
	new_id bigint;
BEGIN
	IF issued_on IS NULL THEN
		RAISE EXCEPTION 'issued_on must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	target := ar._penalty_claim_target(invoice_id);
	IF (target.claim).id IS NOT NULL THEN
		RAISE EXCEPTION 'the penalties of invoice % are already %', (target.basis).number,
			replace((target.claim).decision, '_', ' ')
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	SELECT * INTO snap FROM ar._penalty_snapshot(target.basis, issued_on);
	IF snap.problem IS NOT NULL THEN
		PERFORM ar.invoice_penalty(invoice_id, issued_on);  -- raises the problem with its detail
	END IF;
	IF snap.settled_on IS NULL THEN
		RAISE EXCEPTION 'invoice % is still open on %: its penalties are still accruing', (target.basis).number, issued_on
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Bill the penalties once the invoice is paid; dunning states them meanwhile.';
	END IF;
	IF snap.total <= 0 THEN
		RAISE EXCEPTION 'invoice % was not paid late: no penalty to bill', (target.basis).number
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, currency)
	VALUES ((target.basis).company_id, (target.basis).customer_id, 'PEN-' || (target.basis).number, issued_on, issued_on,
	        snap.total, (target.basis).currency)
	RETURNING id INTO new_id;
	INSERT INTO ar.penalty_claim (company_id, invoice_id, decision, decided_on, days_late, interest, fixed_fee, total,
	                              penalty_invoice_id)
	VALUES ((target.basis).company_id, (target.basis).invoice_id, 'billed', issued_on, snap.days_late, snap.interest,
	        snap.fixed_fee, snap.total, new_id);
	RETURN new_id;
END $$;
COMMENT ON FUNCTION ar.bill_penalty(bigint, date) IS 'Issues an invoice (number PEN-<number>, due at once) for the penalties of an invoice paid late; payments of it collect the claim. Returns its id.';

CREATE FUNCTION ar.write_off_penalty(invoice_id bigint, reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	target record;
	snap record;
	claim_id bigint;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'a write-off needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	target := ar._penalty_claim_target(invoice_id);
	IF (target.claim).id IS NOT NULL THEN
		IF (target.claim).decision <> 'billed' THEN
			RAISE EXCEPTION 'the penalties of invoice % are already %', (target.basis).number,
				replace((target.claim).decision, '_', ' ')
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
		PERFORM ar.write_off_invoice((target.claim).penalty_invoice_id, reason, current_date);
		UPDATE ar.penalty_claim c SET decision = 'written_off', decided_on = current_date,
		                              reason = write_off_penalty.reason, decided_by = session_user
		 WHERE c.id = (target.claim).id
		RETURNING c.id INTO claim_id;
		RETURN claim_id;
	END IF;
	SELECT * INTO snap FROM ar._penalty_snapshot(target.basis, current_date);
	INSERT INTO ar.penalty_claim (company_id, invoice_id, decision, days_late, interest, fixed_fee, total, reason)
	VALUES ((target.basis).company_id, (target.basis).invoice_id, 'written_off', snap.days_late, snap.interest,
	        snap.fixed_fee, snap.total, reason)
	RETURNING id INTO claim_id;
	RETURN claim_id;
END $$;
COMMENT ON FUNCTION ar.write_off_penalty(bigint, text) IS 'Writes off the late-payment penalties of an invoice (the penalty invoice too when billed), with a reason. Returns the ar.penalty_claim id.';

-- -------------------------------------------------------- payment terms

CREATE FUNCTION ar._penalty_regime_row(regime text) RETURNS ar.penalty_regime
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	r ar.penalty_regime;
BEGIN
	IF regime IS NULL THEN
		RAISE EXCEPTION 'regime must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO r FROM ar.penalty_regime p WHERE p.regime = _penalty_regime_row.regime;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown penalty regime "%"', regime
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'The regimes are the rows of ar.penalty_regime.';
	END IF;
	RETURN r;
END $$;

-- Last day of the month of d.
CREATE FUNCTION ar._end_of_month(d date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (date_trunc('month', d) + interval '1 month - 1 day')::date
$$;

CREATE FUNCTION ar.latest_lawful_due_date(issue_date date, regime text DEFAULT 'FR_LME') RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	r ar.penalty_regime := ar._penalty_regime_row(regime);
BEGIN
	IF issue_date IS NULL THEN
		RAISE EXCEPTION 'issue_date must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF r.max_term_days IS NULL THEN
		RETURN NULL;
	END IF;
	-- "45 days end of month" is read both ways the administration accepts:
	-- end of the month of issue + 45 days, or issue + 45 days then end of month
	RETURN greatest(issue_date + r.max_term_days,
	                ar._end_of_month(issue_date + r.max_term_eom_days),
	                ar._end_of_month(issue_date) + r.max_term_eom_days);
END $$;
COMMENT ON FUNCTION ar.latest_lawful_due_date(date, text) IS 'Latest due date the regime allows for an invoice issued that day (FR_LME: the later of 60 days and 45 days end of month, either reading); NULL when the law sets no maximum.';

CREATE FUNCTION ar.default_due_date(issue_date date, regime text DEFAULT 'FR_LME') RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	r ar.penalty_regime := ar._penalty_regime_row(regime);
BEGIN
	IF issue_date IS NULL THEN
		RAISE EXCEPTION 'issue_date must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN issue_date + r.default_term_days;
END $$;
COMMENT ON FUNCTION ar.default_due_date(date, text) IS 'Due date when nothing was agreed (FR_LME: 30 days; counted here from the issue date, the law counts from receipt of the goods or service).';

CREATE FUNCTION ar.check_payment_terms(issue_date date, due_date date, regime text DEFAULT 'FR_LME') RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	r ar.penalty_regime := ar._penalty_regime_row(regime);
	latest date;
BEGIN
	IF issue_date IS NULL THEN
		RAISE EXCEPTION 'issue_date must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF due_date IS NULL THEN
		RETURN NULL;	-- nothing agreed: the default term applies (ar.default_due_date)
	END IF;
	IF due_date < issue_date THEN
		RETURN format('due date %s is before the issue date %s', due_date, issue_date);
	END IF;
	latest := ar.latest_lawful_due_date(issue_date, regime);
	IF latest IS NULL OR due_date <= latest THEN
		RETURN NULL;
	END IF;
	RETURN format('payment term of %s days (issued %s, due %s) exceeds the maximum of %s (%s: %s); latest lawful due date %s',
	              due_date - issue_date, issue_date, due_date, r.regime, r.terms_reference, r.terms_rule, latest);
END $$;
COMMENT ON FUNCTION ar.check_payment_terms(date, date, text) IS 'The violation of the payment-terms law by an invoice issued on issue_date and due on due_date (French LME: at most 60 days from issue or 45 days end of month), or NULL when the terms are lawful.';

CREATE VIEW ar.payment_term_violations AS
SELECT b.invoice_id, b.company_id, b.customer_id, c.code AS customer_code, c.name AS customer_name,
       b.number, b.regime, b.issue_date, b.due_date, b.due_date - b.issue_date AS term_days,
       ar.latest_lawful_due_date(b.issue_date, b.regime) AS latest_lawful_due_date,
       i.currency, i.open_amount,
       ar.check_payment_terms(b.issue_date, b.due_date, b.regime) AS violation
  FROM ar._penalty_basis b
  JOIN ar.invoice i ON i.id = b.invoice_id
  JOIN ar.customer c ON c.id = b.customer_id
 WHERE b.liable
   AND i.open_amount <> 0
   AND ar.check_payment_terms(b.issue_date, b.due_date, b.regime) IS NOT NULL;

COMMENT ON VIEW ar.payment_term_violations IS 'Open invoices whose payment terms break the law of their regime (ar.check_payment_terms).';
COMMENT ON COLUMN ar.payment_term_violations.invoice_id IS 'ar.invoice.id';
COMMENT ON COLUMN ar.payment_term_violations.company_id IS 'Company issuing the invoice.';
COMMENT ON COLUMN ar.payment_term_violations.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.payment_term_violations.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.payment_term_violations.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.payment_term_violations.number IS 'Invoice number.';
COMMENT ON COLUMN ar.payment_term_violations.regime IS 'Regime of the invoice (its own, else its customer''s, else FR_LME).';
COMMENT ON COLUMN ar.payment_term_violations.issue_date IS 'Issue date.';
COMMENT ON COLUMN ar.payment_term_violations.due_date IS 'Agreed due date.';
COMMENT ON COLUMN ar.payment_term_violations.term_days IS 'Agreed term: due date minus issue date, in days.';
COMMENT ON COLUMN ar.payment_term_violations.latest_lawful_due_date IS 'Latest due date the law allows (ar.latest_lawful_due_date).';
COMMENT ON COLUMN ar.payment_term_violations.currency IS 'Currency of the invoice.';
COMMENT ON COLUMN ar.payment_term_violations.open_amount IS 'Amount still open.';
COMMENT ON COLUMN ar.payment_term_violations.violation IS 'What the terms break (ar.check_payment_terms).';

-- ------------------------------------------------------------- D441-6 report

CREATE FUNCTION ar.d441_report(closing_date date, revenue numeric, company_id bigint)
RETURNS TABLE (section text, line text, invoice_count bigint, amount numeric, share_of_revenue numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	co ar.company;
BEGIN
	IF closing_date IS NULL THEN
		RAISE EXCEPTION 'closing_date must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF revenue IS NULL OR revenue <= 0 OR revenue = 'NaN' OR revenue = 'Infinity' THEN
		RAISE EXCEPTION 'revenue must be a positive amount, not %', coalesce(revenue::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass the revenue of the financial year including tax, as the amounts of the table are.';
	END IF;
	SELECT * INTO co FROM ar.company c WHERE c.id = d441_report.company_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'company % does not exist', company_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN QUERY
	WITH unpaid AS (
		SELECT o.open_amount, closing_date - o.due_date AS days_late, i.disputed, o.currency = co.currency AS in_currency
		  FROM ar.open_items(closing_date) o
		  JOIN ar.invoice i ON i.id = o.invoice_id
		 WHERE o.company_id = co.id AND o.amount > 0
	), lines(ord, section, line, lo, hi) AS (
		VALUES (1, 'A', '0 days (indicative: not yet due)', NULL::int, 0),
		       (2, 'A', '1 to 30 days', 1, 30),
		       (3, 'A', '31 to 60 days', 31, 60),
		       (4, 'A', '61 to 90 days', 61, 90),
		       (5, 'A', '91 days or more', 91, NULL),
		       (6, 'A', 'total (1 day or more)', 1, NULL)
	), report AS (
		SELECT l.ord, l.section, l.line, count(u.*) AS invoice_count, coalesce(sum(u.open_amount), 0) AS amount,
		       round(coalesce(sum(u.open_amount), 0) * 100 / revenue, 2) AS share_of_revenue
		  FROM lines l
		  LEFT JOIN unpaid u ON u.in_currency AND NOT u.disputed
		                    AND u.days_late >= coalesce(l.lo, u.days_late) AND u.days_late <= coalesce(l.hi, u.days_late)
		 GROUP BY l.ord, l.section, l.line
		UNION ALL
		SELECT 7, 'B', 'excluded: disputed invoices', count(*), coalesce(sum(u.open_amount), 0), NULL
		  FROM unpaid u WHERE u.in_currency AND u.disputed
		UNION ALL
		SELECT 8, 'B', format('not included: invoices in currencies other than %s (not converted)', co.currency),
		       count(*), NULL, NULL
		  FROM unpaid u WHERE NOT u.in_currency
		UNION ALL
		SELECT 9, 'C', 'reference payment terms: the contractual due dates of the invoices; amounts including tax',
		       NULL, NULL, NULL
	)
	SELECT r.section, r.line, r.invoice_count, r.amount, r.share_of_revenue FROM report r ORDER BY r.ord;
END $$;
COMMENT ON FUNCTION ar.d441_report(date, numeric, bigint) IS 'Code de commerce D441-6 I 2° (annex 4-1 table): invoices issued and unpaid at the closing date, by days past due (count, amount including tax, share of the year''s revenue including tax), disputed invoices excluded and counted apart.';

CREATE FUNCTION ar.d441_report(closing_date date, revenue numeric)
RETURNS TABLE (section text, line text, invoice_count bigint, amount numeric, share_of_revenue numeric)
LANGUAGE sql STABLE AS $$
	SELECT * FROM ar.d441_report(closing_date, revenue, ar.default_company())
$$;
COMMENT ON FUNCTION ar.d441_report(date, numeric) IS 'ar.d441_report for the default company.';

-- -------------------------------------------------------------------- grants

GRANT SELECT ON ar.rate_series, ar.reference_rate, ar.penalty_regime, ar.penalty_regime_fee, ar.penalty_claim,
                ar.penalty_claims, ar.payment_term_violations, ar._penalty_basis
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.reference_rate_at(text, date), ar.penalty_rate(text, date, date, numeric),
                          ar.penalty_rate_floor(text, date),
                          ar.late_penalty(numeric, date, date, text), ar.late_penalty(numeric, date, date, text, numeric),
                          ar._penalty_compute(text, numeric, date, date, date[], numeric[], numeric, text, boolean),
                          ar._penalty_schedule(text, numeric, date, date, date[], numeric[], numeric, text),
                          ar._penalty_basis_of(bigint), ar.invoice_penalty(bigint, date),
                          ar.penalty_schedule(bigint, date), ar.penalty_schedule(numeric, date, date, text),
                          ar.penalty_claims_on(date), ar._penalty_regime_row(text),
                          ar.latest_lawful_due_date(date, text), ar.default_due_date(date, text),
                          ar.check_payment_terms(date, date, text),
                          ar.d441_report(date, numeric), ar.d441_report(date, numeric, bigint)
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.waive_penalty(bigint, text), ar.bill_penalty(bigint, date) TO ar_collector;
GRANT INSERT, UPDATE, DELETE ON ar.rate_series, ar.reference_rate, ar.penalty_regime, ar.penalty_regime_fee,
                                ar.penalty_claim
	TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.write_off_penalty(bigint, text), ar.assume_rates_unchanged(date, text) TO ar_admin;

-- pg_dump keeps the rows of the user's (shipped ones come with CREATE EXTENSION).
SELECT pg_catalog.pg_extension_config_dump('ar.rate_series', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ar.reference_rate', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ar.penalty_regime', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ar.penalty_regime_fee', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('ar.penalty_claim', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.reference_rate', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.penalty_regime_fee', 'id')::regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.penalty_claim', 'id')::regclass, '');
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

-- What the matcher and the audit need beyond the foundation's columns.
ALTER TABLE ar.bank_statement
	ADD COLUMN sequence_no         text,
	ADD COLUMN message_id          text,
	ADD COLUMN line_count          integer,
	ADD COLUMN movements           numeric,
	ADD COLUMN balance_difference  numeric,
	ADD COLUMN declared_credits    numeric,
	ADD COLUMN declared_debits     numeric,
	ADD COLUMN source_line         integer,
	ADD COLUMN imported_by         text NOT NULL DEFAULT session_user;

ALTER TABLE ar.bank_transaction
	ADD COLUMN counterparty_bic          text,
	ADD COLUMN customer_reference        text,
	ADD COLUMN mandate_id                text,
	ADD COLUMN creditor_id               text,
	ADD COLUMN bank_tx_code_proprietary  text,
	ADD COLUMN booking_text              text,
	ADD COLUMN additional_info           text,
	ADD COLUMN reversal                  boolean NOT NULL DEFAULT false,
	ADD COLUMN source_line               integer,
	ADD COLUMN raw                       text,
	ADD CONSTRAINT bank_transaction_statement_line UNIQUE (statement_id, line_no);

COMMENT ON COLUMN ar.bank_statement.format IS 'camt.052, camt.053, camt.054, mt940, mt942 or csv.';
COMMENT ON COLUMN ar.bank_statement.account_iban IS 'The statement''s account when it is a valid IBAN.';
COMMENT ON COLUMN ar.bank_statement.account_id IS 'The account: its compact IBAN, else the identification as the bank wrote it.';
COMMENT ON COLUMN ar.bank_statement.statement_ref IS 'The bank''s statement reference: camt Stmt/Id; MT940 :20:/:28C:; CSV statement_ref (else the booking date range).';
COMMENT ON COLUMN ar.bank_statement.balanced IS 'Opening balance + movements = closing balance (and the totals the bank states agree); NULL when the statement has no balances (camt.054, MT942).';
COMMENT ON COLUMN ar.bank_statement.content_sha256 IS 'SHA-256 of the parsed statement (header and lines, not their layout): with account and statement_ref, what makes an import idempotent.';
COMMENT ON COLUMN ar.bank_statement.sequence_no IS 'Statement number: MT940 :28C:, camt ElctrncSeqNb or LglSeqNb.';
COMMENT ON COLUMN ar.bank_statement.message_id IS 'camt GrpHdr/MsgId of the file the statement came in.';
COMMENT ON COLUMN ar.bank_statement.line_count IS 'Lines stored (zero amounts, which move nothing, are not).';
COMMENT ON COLUMN ar.bank_statement.movements IS 'Sum of the lines'' amounts (credits positive).';
COMMENT ON COLUMN ar.bank_statement.balance_difference IS 'closing_balance - (opening_balance + movements): non-zero only on a statement imported with strict => false.';
COMMENT ON COLUMN ar.bank_statement.declared_credits IS 'Total of credits the bank states (MT942 :90C:, camt TxsSummry).';
COMMENT ON COLUMN ar.bank_statement.declared_debits IS 'Total of debits the bank states, negative (MT942 :90D:, camt TxsSummry).';
COMMENT ON COLUMN ar.bank_statement.source_line IS 'Line of the file where the statement starts.';
COMMENT ON COLUMN ar.bank_statement.imported_by IS 'Session user who imported it.';
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
CREATE FUNCTION ar._statement_digest(header ar.parsed_statement_row, lines jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT sha256(convert_to(jsonb_build_array(
		to_jsonb(header) - ARRAY['statement_no', 'line_no', 'source_line', 'raw'],
		coalesce(lines, '[]'))::text, 'UTF8'))
$$;

CREATE FUNCTION ar.import_statement(content text, format text DEFAULT NULL, strict boolean DEFAULT true)
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp
AS $$
DECLARE
	parsed ar.parsed_statement_row[];
	st record;
	h ar.parsed_statement_row;
	ref text;
	account text;
	company bigint;
	digest bytea;
	balanced boolean;
	difference numeric;
	sid bigint;
	new_nos integer[] := '{}';
	new_ids bigint[] := '{}';
	all_ids bigint[] := '{}';
	dup record;
BEGIN
	IF content IS NULL THEN
		RAISE EXCEPTION 'the statement content is NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	parsed := ARRAY(SELECT p FROM ar.parse_statement(content, format) p);

	-- CSV rows of one account and statement reference form one statement
	-- whatever their order; two such groups from other files are kept apart
	-- by their content.
	FOR st IN
		WITH p AS (SELECT * FROM unnest(parsed)),
		     l AS (SELECT p.statement_no,
		                  sum(p.amount) AS movements,
		                  count(*) FILTER (WHERE p.amount <> 0) AS stored_lines,
		                  sum(p.amount) FILTER (WHERE p.amount > 0) AS credits,
		                  sum(p.amount) FILTER (WHERE p.amount < 0) AS debits,
		                  min(p.booking_date) AS first_date, max(p.booking_date) AS last_date,
		                  jsonb_agg(to_jsonb(p) - ARRAY['statement_no', 'source_line', 'raw'] ORDER BY p.line_no) AS lines
		             FROM p WHERE p.line_no IS NOT NULL GROUP BY p.statement_no)
		SELECT s AS header, l.movements, coalesce(l.stored_lines, 0) AS stored_lines,
		       coalesce(l.credits, 0) AS credits, coalesce(l.debits, 0) AS debits,
		       l.first_date, l.last_date, l.lines
		  FROM p s LEFT JOIN l USING (statement_no)
		 WHERE s.line_no IS NULL
		 ORDER BY s.statement_no
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

		-- the figures the bank states must agree with its lines
		balanced := CASE WHEN difference IS NULL AND h.declared_credits IS NULL AND h.declared_debits IS NULL
		                 THEN NULL
		                 ELSE coalesce(difference = 0, true)
		                      AND coalesce(h.declared_credits = st.credits, true)
		                      AND coalesce(h.declared_debits = st.debits, true) END;
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

		digest := ar._statement_digest(h, st.lines);
		company := coalesce((SELECT c.id FROM ar.company c WHERE c.iban = h.account_iban::ar.iban ORDER BY c.id LIMIT 1),
		                    ar.default_company());
		INSERT INTO ar.bank_statement AS s
		       (company_id, format, account_iban, account_id, statement_ref, currency,
		        opening_date, opening_balance, closing_date, closing_balance, balanced, content_sha256,
		        sequence_no, message_id, line_count, movements, balance_difference,
		        declared_credits, declared_debits, source_line)
		VALUES (company, h.format, h.account_iban::ar.iban, account, ref, h.currency,
		        h.opening_date, h.opening_balance, h.closing_date, h.closing_balance, balanced, digest,
		        h.sequence_no, h.message_id, st.stored_lines, coalesce(st.movements, 0), difference,
		        h.declared_credits, h.declared_debits, h.source_line)
		ON CONFLICT (company_id, account_id, statement_ref, content_sha256) DO NOTHING
		RETURNING s.id INTO sid;
		IF sid IS NULL THEN
			-- imported before (or just now by another session): the same id
			SELECT s.id INTO STRICT sid FROM ar.bank_statement s
			 WHERE s.company_id = company AND s.account_id = account AND s.statement_ref = ref
			   AND s.content_sha256 = digest;
		ELSIF NOT (sid = ANY (all_ids)) THEN
			new_nos := new_nos || h.statement_no;
			new_ids := new_ids || sid;
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

	-- the lines of the statements stored now (zero amounts move nothing)
	INSERT INTO ar.bank_transaction
	       (company_id, statement_id, line_no, booking_date, value_date, amount, currency,
	        counterparty_name, counterparty_iban, counterparty_account, counterparty_bic,
	        remittance_info, structured_reference, end_to_end_id, bank_reference, customer_reference,
	        mandate_id, creditor_id, bank_tx_code, bank_tx_code_proprietary, booking_text,
	        return_reason, additional_info, reversal, source_line, raw)
	SELECT s.company_id, s.id, p.line_no, p.booking_date, p.value_date, p.amount, p.currency,
	       p.counterparty_name, p.counterparty_iban::ar.iban, p.counterparty_account, p.counterparty_bic,
	       p.remittance_info, p.structured_reference, p.end_to_end_id, p.bank_reference, p.customer_reference,
	       p.mandate_id, p.creditor_id, p.bank_tx_code, p.bank_tx_code_proprietary, p.booking_text,
	       p.return_reason, p.additional_info, p.reversal, p.source_line, p.raw
	  FROM unnest(parsed) p
	  JOIN unnest(new_nos, new_ids) AS n(statement_no, id) ON n.statement_no = p.statement_no
	  JOIN ar.bank_statement s ON s.id = n.id
	 WHERE p.line_no IS NOT NULL AND p.amount <> 0
	 ORDER BY s.id, p.line_no;

	RETURN QUERY SELECT unnest(all_ids);
END $$;
COMMENT ON FUNCTION ar.import_statement(text, text, boolean) IS
'Parses and stores bank statements (camt.053, camt.054, mt940, csv; detected when format is NULL): one id per statement of the file. Importing the same statement again changes nothing and returns the same id. A statement whose opening balance plus movements differs from its closing balance is refused when strict, else stored with balanced = false.';

-- What a credit manager checks after an import.
CREATE VIEW ar.bank_statement_summary AS
SELECT s.id AS statement_id,
       s.company_id,
       s.format,
       s.account_id,
       s.statement_ref,
       s.sequence_no,
       s.currency,
       s.opening_date,
       s.opening_balance,
       s.movements,
       s.closing_date,
       s.closing_balance,
       s.balanced,
       s.balance_difference,
       count(t.id) AS lines,
       count(t.id) FILTER (WHERE t.amount > 0) AS credit_lines,
       coalesce(sum(t.amount) FILTER (WHERE t.amount > 0), 0) AS credits,
       count(t.id) FILTER (WHERE t.amount < 0) AS debit_lines,
       coalesce(sum(t.amount) FILTER (WHERE t.amount < 0), 0) AS debits,
       count(t.id) FILTER (WHERE t.status IN ('unmatched', 'proposed')) AS open_lines,
       s.imported_at,
       s.imported_by
  FROM ar.bank_statement s
  LEFT JOIN ar.bank_transaction t ON t.statement_id = s.id
 GROUP BY s.id;
COMMENT ON VIEW ar.bank_statement_summary IS 'One row per imported bank statement: balances, whether they agree with the lines, lines by direction and how many still wait for reconciliation.';
COMMENT ON COLUMN ar.bank_statement_summary.statement_id IS 'ar.bank_statement.id';
COMMENT ON COLUMN ar.bank_statement_summary.company_id IS 'Company whose account it is.';
COMMENT ON COLUMN ar.bank_statement_summary.format IS 'camt.052, camt.053, camt.054, mt940, mt942 or csv.';
COMMENT ON COLUMN ar.bank_statement_summary.account_id IS 'The account: compact IBAN, else as the bank wrote it.';
COMMENT ON COLUMN ar.bank_statement_summary.statement_ref IS 'The bank''s statement reference.';
COMMENT ON COLUMN ar.bank_statement_summary.sequence_no IS 'Statement number (MT940 :28C:, camt ElctrncSeqNb).';
COMMENT ON COLUMN ar.bank_statement_summary.currency IS 'Currency of the account (ISO 4217).';
COMMENT ON COLUMN ar.bank_statement_summary.opening_date IS 'Date of the opening balance.';
COMMENT ON COLUMN ar.bank_statement_summary.opening_balance IS 'Opening balance (negative: overdrawn).';
COMMENT ON COLUMN ar.bank_statement_summary.movements IS 'Sum of the lines (credits positive).';
COMMENT ON COLUMN ar.bank_statement_summary.closing_date IS 'Date of the closing balance.';
COMMENT ON COLUMN ar.bank_statement_summary.closing_balance IS 'Closing balance.';
COMMENT ON COLUMN ar.bank_statement_summary.balanced IS 'Opening + movements = closing; false: imported with strict => false although it does not balance; NULL: no balances.';
COMMENT ON COLUMN ar.bank_statement_summary.balance_difference IS 'Closing balance less (opening balance + movements).';
COMMENT ON COLUMN ar.bank_statement_summary.lines IS 'Lines stored.';
COMMENT ON COLUMN ar.bank_statement_summary.credit_lines IS 'Lines that brought money in.';
COMMENT ON COLUMN ar.bank_statement_summary.credits IS 'Their total.';
COMMENT ON COLUMN ar.bank_statement_summary.debit_lines IS 'Lines that took money out.';
COMMENT ON COLUMN ar.bank_statement_summary.debits IS 'Their total (negative).';
COMMENT ON COLUMN ar.bank_statement_summary.open_lines IS 'Lines still unmatched or only proposed.';
COMMENT ON COLUMN ar.bank_statement_summary.imported_at IS 'When the statement was imported.';
COMMENT ON COLUMN ar.bank_statement_summary.imported_by IS 'Who imported it.';

GRANT SELECT ON ar.bank_statement_summary TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.import_statement(text, text, boolean) TO ar_collector;
-- ---------------------------------------------------------------------------
-- Reconciliation: matching bank lines to open invoices (ar.reconcile, in C:
-- src/reconcile.c, src/reconcile_match.c, src/match_*.c), the review tools
-- of what it does not apply by itself, and the anomalies a credit manager
-- looks at.  Money still moves only through ar.allocation and
-- ar.customer_credit, whose triggers keep the ledger's invariants.
-- ---------------------------------------------------------------------------

-- Reference keys: letters and digits, upper case, O read as 0.  The index
-- finds paid invoices named by a payment (duplicate payments).
CREATE FUNCTION ar.reference_key(reference text) RETURNS text
	AS 'MODULE_PATHNAME', 'ar_reference_key'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.reference_key(text) IS
'Compact key of a reference as ar.reconcile compares them: ASCII letters and digits, upper case, the letter O read as 0 (''fa-2O26/000123'' -> ''FA2026000123'').';

CREATE FUNCTION ar.name_key(name text) RETURNS text
	AS 'MODULE_PATHNAME', 'ar_name_key'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.name_key(text) IS
'Tokens of a payer or customer name as ar.reconcile compares them: accents folded, upper case, legal forms, titles and small words dropped (''Établissements Lefèvre SARL'' -> ''LEFEVRE'').';

CREATE INDEX invoice_reference_key ON ar.invoice (ar.reference_key(number));

-- ------------------------------------------------------------ settings

CREATE TABLE ar.reconcile_config (
	company_id                  bigint PRIMARY KEY REFERENCES ar.company ON DELETE CASCADE,
	auto_apply_min_score        real NOT NULL DEFAULT 0.95 CHECK (auto_apply_min_score BETWEEN 0.5 AND 1),
	propose_min_score           real NOT NULL DEFAULT 0.30 CHECK (propose_min_score BETWEEN 0 AND 1),
	ambiguity_margin            real NOT NULL DEFAULT 0.05 CHECK (ambiguity_margin BETWEEN 0 AND 0.5),
	max_proposals               integer NOT NULL DEFAULT 3 CHECK (max_proposals BETWEEN 1 AND 10),
	shortfall_abs               numeric NOT NULL DEFAULT 15.00 CHECK (shortfall_abs >= 0 AND shortfall_abs < 1e9),
	shortfall_pct               numeric NOT NULL DEFAULT 3.0 CHECK (shortfall_pct BETWEEN 0 AND 20),
	close_shortfall             boolean NOT NULL DEFAULT true,
	max_combination             integer NOT NULL DEFAULT 5 CHECK (max_combination BETWEEN 2 AND 12),
	max_combination_candidates  integer NOT NULL DEFAULT 20 CHECK (max_combination_candidates BETWEEN 2 AND 60),
	name_min_similarity         real NOT NULL DEFAULT 0.80 CHECK (name_min_similarity BETWEEN 0.5 AND 1),
	issue_grace_days            integer NOT NULL DEFAULT 7 CHECK (issue_grace_days BETWEEN 0 AND 366),
	learn_ibans                 boolean NOT NULL DEFAULT true,
	unmatched_alert_days        integer NOT NULL DEFAULT 10 CHECK (unmatched_alert_days >= 0),
	updated_at                  timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT reconcile_config_thresholds CHECK (propose_min_score < auto_apply_min_score)
);
COMMENT ON TABLE ar.reconcile_config IS
'Tolerances and thresholds of ar.reconcile, one row per company (created with the defaults by the first run; ar_admin may change them).';
COMMENT ON COLUMN ar.reconcile_config.company_id IS 'Company the settings apply to.';
COMMENT ON COLUMN ar.reconcile_config.auto_apply_min_score IS 'A match is applied without review when its score reaches this (and nothing else comes within ambiguity_margin).';
COMMENT ON COLUMN ar.reconcile_config.propose_min_score IS 'Candidates scoring below this are not even proposed.';
COMMENT ON COLUMN ar.reconcile_config.ambiguity_margin IS 'A best candidate with a rival within this margin is only proposed.';
COMMENT ON COLUMN ar.reconcile_config.max_proposals IS 'Proposals kept per line, best first.';
COMMENT ON COLUMN ar.reconcile_config.shortfall_abs IS 'A payment short of the open amount by at most this (bank charges) still settles the invoice.';
COMMENT ON COLUMN ar.reconcile_config.shortfall_pct IS 'Or short by at most this percentage of the open amount (early-payment discount).';
COMMENT ON COLUMN ar.reconcile_config.close_shortfall IS 'Close a tolerated shortfall with an allocation of method shortfall (else the invoice stays partially paid).';
COMMENT ON COLUMN ar.reconcile_config.max_combination IS 'Most invoices one payment may settle together without naming them (subset-sum).';
COMMENT ON COLUMN ar.reconcile_config.max_combination_candidates IS 'Oldest open invoices of the payer the subset-sum looks at.';
COMMENT ON COLUMN ar.reconcile_config.name_min_similarity IS 'Least similarity (0-1, token Dice) of a counterparty name to a customer name to count as a close name.';
COMMENT ON COLUMN ar.reconcile_config.issue_grace_days IS 'Invoices issued more than this many days after the payment are not matched by amount.';
COMMENT ON COLUMN ar.reconcile_config.learn_ibans IS 'Identify payers also by the IBANs they paid from in the last two years.';
COMMENT ON COLUMN ar.reconcile_config.unmatched_alert_days IS 'Lines left unmatched for longer than this appear in ar.reconcile_anomaly.';
COMMENT ON COLUMN ar.reconcile_config.updated_at IS 'Last change.';

CREATE FUNCTION ar._reconcile_config_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END $$;
CREATE TRIGGER reconcile_config_touch BEFORE UPDATE ON ar.reconcile_config
	FOR EACH ROW EXECUTE FUNCTION ar._reconcile_config_touch();

-- ------------------------------------------------------- runs and lines

CREATE TABLE ar.reconcile_run (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint,
	auto_apply   boolean NOT NULL,
	run_by       text NOT NULL DEFAULT session_user,
	started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at  timestamptz,
	lines        integer,
	applied      integer,
	proposed     integer,
	unmatched    integer,
	ignored      integer,
	returns      integer,
	deferred     integer,
	load_ms      double precision,
	match_ms     double precision,
	write_ms     double precision
);
COMMENT ON TABLE ar.reconcile_run IS 'One row per ar.reconcile() call: what it looked at, what it did, how long each phase took.';
COMMENT ON COLUMN ar.reconcile_run.id IS 'Run id, quoted in the notes of the allocations it made.';
COMMENT ON COLUMN ar.reconcile_run.company_id IS 'Company it was limited to (ar.reconcile_company), NULL for all.';
COMMENT ON COLUMN ar.reconcile_run.auto_apply IS 'Whether confident matches were applied (false: everything proposed).';
COMMENT ON COLUMN ar.reconcile_run.run_by IS 'Session user.';
COMMENT ON COLUMN ar.reconcile_run.started_at IS 'Start.';
COMMENT ON COLUMN ar.reconcile_run.finished_at IS 'End (before commit).';
COMMENT ON COLUMN ar.reconcile_run.lines IS 'New lines considered (credits and debits).';
COMMENT ON COLUMN ar.reconcile_run.applied IS 'Lines matched and applied.';
COMMENT ON COLUMN ar.reconcile_run.proposed IS 'Lines left with proposals.';
COMMENT ON COLUMN ar.reconcile_run.unmatched IS 'Credit lines with no candidate.';
COMMENT ON COLUMN ar.reconcile_run.ignored IS 'Debits that are not direct-debit returns.';
COMMENT ON COLUMN ar.reconcile_run.returns IS 'Direct-debit returns handled.';
COMMENT ON COLUMN ar.reconcile_run.deferred IS 'Lines left for the next run: an invoice they need was busy or had changed.';
COMMENT ON COLUMN ar.reconcile_run.load_ms IS 'Milliseconds spent loading lines, invoices, customers.';
COMMENT ON COLUMN ar.reconcile_run.match_ms IS 'Milliseconds spent matching, in C.';
COMMENT ON COLUMN ar.reconcile_run.write_ms IS 'Milliseconds spent writing (ledger triggers included, commit excluded).';

-- What ar.reconcile decided for each line it looked at: a line is "new"
-- until it has a row here, and a later run never looks at it again.
CREATE TABLE ar.reconcile_line (
	bank_transaction_id  bigint PRIMARY KEY REFERENCES ar.bank_transaction ON DELETE CASCADE,
	company_id           bigint NOT NULL,
	run_id               bigint REFERENCES ar.reconcile_run,
	outcome              text NOT NULL CHECK (outcome IN ('applied', 'proposed', 'unmatched', 'ignored',
	                                                      'return', 'returned', 'accepted', 'manual')),
	method               text,
	score                real,
	customer_id          bigint,
	payer                text,
	flags                text[] NOT NULL DEFAULT '{}',
	invoice_ids          bigint[] NOT NULL DEFAULT '{}',
	allocation_ids       bigint[],
	returned_by          bigint REFERENCES ar.bank_transaction,
	explanation          jsonb,
	decided_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ar.reconcile_line IS 'Decision taken for each bank line: by a run (applied, proposed, unmatched, ignored, return, returned) or by a person (accepted, manual).';
COMMENT ON COLUMN ar.reconcile_line.bank_transaction_id IS 'The bank line.';
COMMENT ON COLUMN ar.reconcile_line.company_id IS 'Company of the line.';
COMMENT ON COLUMN ar.reconcile_line.run_id IS 'Run that decided, NULL for a decision of a person.';
COMMENT ON COLUMN ar.reconcile_line.outcome IS 'applied, proposed, unmatched, ignored (a debit), return (a direct-debit return), returned (a collection undone by a return), accepted (a proposal accepted), manual (ar.allocate / ar.unallocate).';
COMMENT ON COLUMN ar.reconcile_line.method IS 'Method of the applied match or best proposal.';
COMMENT ON COLUMN ar.reconcile_line.score IS 'Its score (0-1).';
COMMENT ON COLUMN ar.reconcile_line.customer_id IS 'Customer it concerns.';
COMMENT ON COLUMN ar.reconcile_line.payer IS 'How the payer was identified: iban, iban_history, name, close_name, reference, none.';
COMMENT ON COLUMN ar.reconcile_line.flags IS 'Anomalies seen: unknown_payer, duplicate_payment, amount_mismatch, overpayment.';
COMMENT ON COLUMN ar.reconcile_line.invoice_ids IS 'Invoices of the applied match or best proposal.';
COMMENT ON COLUMN ar.reconcile_line.allocation_ids IS 'Allocations a run made from this line (what a direct-debit return may undo).';
COMMENT ON COLUMN ar.reconcile_line.returned_by IS 'The return line that undid this collection.';
COMMENT ON COLUMN ar.reconcile_line.explanation IS 'Machine-readable explanation (see the reference documentation).';
COMMENT ON COLUMN ar.reconcile_line.decided_at IS 'When.';

CREATE TABLE ar.match_proposal (
	id                      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id              bigint NOT NULL,
	run_id                  bigint REFERENCES ar.reconcile_run,
	bank_transaction_id     bigint NOT NULL REFERENCES ar.bank_transaction ON DELETE CASCADE,
	rank                    integer NOT NULL CHECK (rank >= 1),
	score                   real NOT NULL CHECK (score BETWEEN 0 AND 1),
	method                  text NOT NULL,
	customer_id             bigint,
	invoice_ids             bigint[] NOT NULL DEFAULT '{}',
	amounts                 numeric[] NOT NULL DEFAULT '{}',
	shortfalls              numeric[],
	credit_amount           numeric NOT NULL DEFAULT 0 CHECK (credit_amount >= 0),
	credit_source           text CHECK (credit_source IN ('overpayment', 'unapplied_payment')),
	reverse_allocation_ids  bigint[],
	payment_means           text,
	explanation             jsonb NOT NULL,
	status                  text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'accepted', 'rejected', 'superseded', 'stale')),
	decided_by              text,
	decided_at              timestamptz,
	reason                  text,
	created_at              timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT match_proposal_arrays CHECK (cardinality(invoice_ids) = cardinality(amounts)
	                                        AND (shortfalls IS NULL OR cardinality(shortfalls) = cardinality(amounts)))
);
CREATE INDEX match_proposal_pending ON ar.match_proposal (bank_transaction_id) WHERE status = 'pending';
COMMENT ON TABLE ar.match_proposal IS 'Matches ar.reconcile did not apply by itself, ranked by score, for review: ar.accept_proposal(id) applies one, ar.reject_proposal(id) discards it.';
COMMENT ON COLUMN ar.match_proposal.id IS 'Proposal id.';
COMMENT ON COLUMN ar.match_proposal.company_id IS 'Company of the line.';
COMMENT ON COLUMN ar.match_proposal.run_id IS 'Run that proposed it.';
COMMENT ON COLUMN ar.match_proposal.bank_transaction_id IS 'The bank line.';
COMMENT ON COLUMN ar.match_proposal.rank IS '1 = best proposal for the line.';
COMMENT ON COLUMN ar.match_proposal.score IS 'Score (0-1): how sure the engine is.';
COMMENT ON COLUMN ar.match_proposal.method IS 'reference, reference_partial, reference_shortfall, reference_overpayment, reference_combination, amount, amount_shortfall, combination, amount_only, partial, on_account, duplicate, return.';
COMMENT ON COLUMN ar.match_proposal.customer_id IS 'Customer it concerns.';
COMMENT ON COLUMN ar.match_proposal.invoice_ids IS 'Invoices to allocate to (for a return: the invoices reopened).';
COMMENT ON COLUMN ar.match_proposal.amounts IS 'Amount allocated to each (negative for a credit note; for a return, the amounts taken back).';
COMMENT ON COLUMN ar.match_proposal.shortfalls IS 'Shortfall closed on each invoice (bank charges, discount), or NULL.';
COMMENT ON COLUMN ar.match_proposal.credit_amount IS 'Part of the line that becomes customer credit.';
COMMENT ON COLUMN ar.match_proposal.credit_source IS 'overpayment or unapplied_payment.';
COMMENT ON COLUMN ar.match_proposal.reverse_allocation_ids IS 'For a direct-debit return: the allocations it undoes.';
COMMENT ON COLUMN ar.match_proposal.payment_means IS 'payment_means of the allocations it would make.';
COMMENT ON COLUMN ar.match_proposal.explanation IS 'Machine-readable explanation; explanation->>''summary'' is one sentence for people.';
COMMENT ON COLUMN ar.match_proposal.status IS 'pending, accepted, rejected, superseded (another decision settled the line), stale (line sent back to matching).';
COMMENT ON COLUMN ar.match_proposal.decided_by IS 'Who accepted or rejected it.';
COMMENT ON COLUMN ar.match_proposal.decided_at IS 'When.';
COMMENT ON COLUMN ar.match_proposal.reason IS 'Reason given when rejecting.';
COMMENT ON COLUMN ar.match_proposal.created_at IS 'When it was proposed.';

-- Shortfalls closed by a run or an accepted proposal, tied to the line
-- that paid the rest: ar.unallocate() of that payment reopens them too.
CREATE TABLE ar.reconcile_adjustment (
	allocation_id        bigint PRIMARY KEY REFERENCES ar.allocation ON DELETE CASCADE,
	bank_transaction_id  bigint NOT NULL REFERENCES ar.bank_transaction ON DELETE CASCADE,
	invoice_id           bigint NOT NULL,
	kind                 text NOT NULL CHECK (kind IN ('shortfall'))
);
CREATE INDEX reconcile_adjustment_line ON ar.reconcile_adjustment (bank_transaction_id);
COMMENT ON TABLE ar.reconcile_adjustment IS 'Allocations of method shortfall and the bank line whose payment they complete.';
COMMENT ON COLUMN ar.reconcile_adjustment.allocation_id IS 'The shortfall allocation.';
COMMENT ON COLUMN ar.reconcile_adjustment.bank_transaction_id IS 'The line that paid the rest of the invoice.';
COMMENT ON COLUMN ar.reconcile_adjustment.invoice_id IS 'The invoice.';
COMMENT ON COLUMN ar.reconcile_adjustment.kind IS 'shortfall.';

CREATE TRIGGER match_proposal_audit AFTER INSERT OR UPDATE OR DELETE ON ar.match_proposal
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER reconcile_config_audit AFTER INSERT OR UPDATE OR DELETE ON ar.reconcile_config
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();

-- ------------------------------------------------------------ matching

CREATE FUNCTION ar.reconcile(auto_apply boolean DEFAULT true)
RETURNS TABLE (bank_transaction_id bigint, invoice_ids bigint[], amounts numeric[], score real, method text,
               applied boolean)
	AS 'MODULE_PATHNAME', 'ar_reconcile'
	LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp;
COMMENT ON FUNCTION ar.reconcile(boolean) IS
'Matches every new unmatched bank line to open invoices; applies confident matches to ar.allocation, keeps the rest in ar.match_proposal. One row per credit line considered and per direct-debit return.';

CREATE FUNCTION ar.reconcile_company(company_id bigint, auto_apply boolean DEFAULT true)
RETURNS TABLE (bank_transaction_id bigint, invoice_ids bigint[], amounts numeric[], score real, method text,
               applied boolean)
	AS 'MODULE_PATHNAME', 'ar_reconcile_company'
	LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp;
COMMENT ON FUNCTION ar.reconcile_company(bigint, boolean) IS
'ar.reconcile limited to the lines and invoices of one company.';

CREATE FUNCTION ar.reconcile_preview(company_id bigint DEFAULT NULL)
RETURNS TABLE (bank_transaction_id bigint, invoice_ids bigint[], amounts numeric[], score real, method text,
               applied boolean)
	AS 'MODULE_PATHNAME', 'ar_reconcile_preview'
	LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp;
COMMENT ON FUNCTION ar.reconcile_preview(bigint) IS
'What ar.reconcile() would decide now for the new credit lines (of one company, or all), without writing or locking anything: applied says whether the match would be applied. Direct-debit returns are not previewed.';

-- Locks a bank line for a review decision, with clear errors.
CREATE FUNCTION ar._review_line(line_id bigint) RETURNS ar.bank_transaction
LANGUAGE plpgsql AS $$
DECLARE
	line ar.bank_transaction;
BEGIN
	SELECT * INTO line FROM ar.bank_transaction t WHERE t.id = line_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'bank transaction % does not exist', line_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN line;
END $$;

-- Records a person's decision on a line, so that no run revisits it.
CREATE FUNCTION ar._review_decided(line ar.bank_transaction, decided_outcome text, decided_method text,
                                   decided_customer bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, outcome, method, customer_id, invoice_ids,
	                                    allocation_ids)
	VALUES (line.id, line.company_id, decided_outcome, decided_method, decided_customer,
	        coalesce((SELECT array_agg(DISTINCT a.invoice_id) FROM ar.allocation a WHERE a.bank_transaction_id = line.id), '{}'),
	        (SELECT array_agg(a.id ORDER BY a.id) FROM ar.allocation a WHERE a.bank_transaction_id = line.id))
	ON CONFLICT (bank_transaction_id) DO UPDATE
	   SET outcome = EXCLUDED.outcome,
	       method = coalesce(EXCLUDED.method, r.method),
	       customer_id = coalesce(EXCLUDED.customer_id, r.customer_id),
	       invoice_ids = EXCLUDED.invoice_ids,
	       allocation_ids = EXCLUDED.allocation_ids,
	       decided_at = now();
	-- a line fully settled has nothing left to review
	IF (SELECT t.allocated_amount = t.amount FROM ar.bank_transaction t WHERE t.id = line.id) THEN
		UPDATE ar.match_proposal p SET status = 'superseded', decided_by = session_user, decided_at = now()
		 WHERE p.bank_transaction_id = line.id AND p.status = 'pending';
	END IF;
END $$;

CREATE FUNCTION ar.accept_proposal(proposal_id bigint)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.match_proposal;
	line ar.bank_transaction;
	x record;
	a ar.allocation;
	n integer;
	net numeric[];
	left_over numeric;
	take numeric;
	big integer;
BEGIN
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.id = proposal_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'proposal % does not exist', proposal_id USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status <> 'pending' THEN
		RAISE EXCEPTION 'proposal % is %, not pending', proposal_id, p.status
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	-- invoices first, then the line: the order the ledger's triggers lock them in
	PERFORM 1 FROM ar.invoice i WHERE i.id = ANY (p.invoice_ids) ORDER BY i.id FOR UPDATE;
	line := ar._review_line(p.bank_transaction_id);

	IF p.method = 'return' THEN
		-- undo the collection: its allocations go, the invoices reopen
		SELECT count(*) INTO n FROM ar.allocation al WHERE al.id = ANY (p.reverse_allocation_ids);
		IF n <> cardinality(p.reverse_allocation_ids) THEN
			RAISE EXCEPTION 'proposal %: some allocations it would reverse no longer exist', proposal_id
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'Reject it and reverse what is left with ar.unallocate().';
		END IF;
		PERFORM ar._reverse_collection(p.reverse_allocation_ids, line.id, p.run_id);
		UPDATE ar.reconcile_line r SET outcome = 'return', decided_at = now() WHERE r.bank_transaction_id = line.id;
	ELSE
		IF line.allocated_amount <> 0 THEN
			RAISE EXCEPTION 'bank transaction % already allocates %', line.id, line.allocated_amount
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      DETAIL = format('Proposal %s was made when nothing was allocated.', proposal_id),
				      HINT = 'Reject it, or undo the allocations with ar.unallocate() first.';
		END IF;
		-- credit notes are set against the invoices first (largest first), so
		-- that the line only ever allocates positive amounts within its own
		net := p.amounts;
		FOR k IN 1 .. cardinality(p.amounts) LOOP
			CONTINUE WHEN p.amounts[k] >= 0;
			left_over := -p.amounts[k];
			net[k] := 0;
			WHILE left_over > 0 LOOP
				SELECT j INTO big FROM generate_subscripts(net, 1) j WHERE net[j] > 0 ORDER BY net[j] DESC, j LIMIT 1;
				EXIT WHEN big IS NULL;
				take := least(left_over, net[big]);
				PERFORM ar.apply_credit_note(p.invoice_ids[k], p.invoice_ids[big], take, line.booking_date);
				left_over := left_over - take;
				net[big] := net[big] - take;
			END LOOP;
		END LOOP;
		FOR x IN
			SELECT i.id, i.company_id, u.amount, u.shortfall
			  FROM unnest(p.invoice_ids, net, coalesce(p.shortfalls, array_fill(0::numeric, ARRAY[cardinality(p.amounts)])))
			       WITH ORDINALITY AS u(invoice_id, amount, shortfall, ord)
			  JOIN ar.invoice i ON i.id = u.invoice_id
			 WHERE u.amount > 0
			 ORDER BY u.ord
		LOOP
			INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method,
			                           payment_means, score, note)
			VALUES (x.company_id, x.id, line.id, x.amount, line.booking_date, p.method,
			        coalesce(p.payment_means, 'transfer'), p.score, format('proposal %s accepted', p.id))
			RETURNING * INTO a;
			RETURN NEXT a;
			IF x.shortfall > 0 THEN
				-- the shortfall tolerated (bank charges, discount) closes the invoice
				INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
				VALUES (x.company_id, x.id, x.shortfall, line.booking_date, 'shortfall',
				        format('shortfall of bank transaction %s within tolerance (proposal %s)', line.id, p.id))
				RETURNING * INTO a;
				INSERT INTO ar.reconcile_adjustment (allocation_id, bank_transaction_id, invoice_id, kind)
				VALUES (a.id, line.id, x.id, 'shortfall');
				RETURN NEXT a;
			END IF;
		END LOOP;
		IF p.credit_amount > 0 THEN
			IF p.customer_id IS NULL THEN
				RAISE EXCEPTION 'proposal % credits a customer but names none', proposal_id
					USING ERRCODE = 'object_not_in_prerequisite_state';
			END IF;
			INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, bank_transaction_id,
			                                invoice_id, created_on, note)
			VALUES (line.company_id, p.customer_id, line.currency, p.credit_amount,
			        coalesce(p.credit_source, 'unapplied_payment'), line.id, p.invoice_ids[1], line.booking_date,
			        format('%s of bank transaction %s (proposal %s accepted)',
			               coalesce(p.credit_source, 'unapplied_payment'), line.id, p.id));
		END IF;
	END IF;

	UPDATE ar.match_proposal mp SET status = 'accepted', decided_by = session_user, decided_at = now()
	 WHERE mp.id = p.id;
	UPDATE ar.match_proposal mp SET status = 'superseded', decided_by = session_user, decided_at = now()
	 WHERE mp.bank_transaction_id = p.bank_transaction_id AND mp.status = 'pending';
	IF p.method <> 'return' THEN
		PERFORM ar._review_decided(line, 'accepted', p.method, p.customer_id);
	END IF;
END $$;
COMMENT ON FUNCTION ar.accept_proposal(bigint) IS
'Applies a pending proposal: its allocations, shortfall closures and customer credit (or, for a direct-debit return, the reversal); the line''s other proposals are superseded. Returns the allocations made.';

CREATE FUNCTION ar.reject_proposal(proposal_id bigint, reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.match_proposal;
BEGIN
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.id = proposal_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'proposal % does not exist', proposal_id USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status <> 'pending' THEN
		RAISE EXCEPTION 'proposal % is %, not pending', proposal_id, p.status
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	PERFORM ar._review_line(p.bank_transaction_id);
	UPDATE ar.match_proposal mp
	   SET status = 'rejected', decided_by = session_user, decided_at = now(), reason = reject_proposal.reason
	 WHERE mp.id = p.id;
	-- nothing left to review: the line is unmatched again (and no run proposes it again)
	IF NOT EXISTS (SELECT 1 FROM ar.match_proposal mp
	                WHERE mp.bank_transaction_id = p.bank_transaction_id AND mp.status = 'pending') THEN
		UPDATE ar.bank_transaction t SET status = 'unmatched'
		 WHERE t.id = p.bank_transaction_id AND t.status = 'proposed';
	END IF;
END $$;
COMMENT ON FUNCTION ar.reject_proposal(bigint, text) IS
'Discards a pending proposal (with an optional reason); when none is left for the line, the line is unmatched again. Later runs do not propose it again (see ar.rematch).';

CREATE FUNCTION ar.allocate(bank_transaction_id bigint, invoice_id bigint, amount numeric DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	line ar.bank_transaction;
	inv ar.invoice;
	take numeric := amount;
	allocation_id bigint;
BEGIN
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = allocate.invoice_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
	line := ar._review_line(bank_transaction_id);
	IF line.amount < 0 THEN
		RAISE EXCEPTION 'bank transaction % is a debit of %', line.id, line.amount
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Only credits pay invoices; a direct-debit return is handled by ar.reconcile().';
	END IF;
	IF take IS NULL THEN
		-- the most both allow (for a credit note: as much as the line can net)
		take := CASE WHEN inv.open_amount >= 0 THEN least(line.amount - line.allocated_amount, inv.open_amount)
		             ELSE greatest(-line.allocated_amount, inv.open_amount) END;
		IF take = 0 THEN
			RAISE EXCEPTION 'nothing left to allocate from bank transaction % to invoice %', line.id, inv.number
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = format('The line has %s unallocated, the invoice %s open.',
				                      line.amount - line.allocated_amount, inv.open_amount);
		END IF;
	ELSIF take = 0 OR take IN ('NaN', 'Infinity', '-Infinity') THEN
		RAISE EXCEPTION 'allocation amount must be a non-zero finite amount, not %', take
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the ledger's triggers check currencies, signs and open amounts
	INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method,
	                           payment_means, note)
	VALUES (inv.company_id, inv.id, line.id, take, line.booking_date, 'manual', 'transfer', 'ar.allocate')
	RETURNING id INTO allocation_id;
	PERFORM ar._review_decided(line, 'manual', 'manual', inv.customer_id);
	RETURN allocation_id;
END $$;
COMMENT ON FUNCTION ar.allocate(bigint, bigint, numeric) IS
'Allocates money of a bank line to an invoice by hand (method manual, dated the booking date); amount defaults to the most both allow. No later run changes the line.';

CREATE FUNCTION ar.unallocate(allocation_id bigint)
RETURNS numeric
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	a ar.allocation;
	line ar.bank_transaction;
BEGIN
	SELECT * INTO a FROM ar.allocation x WHERE x.id = allocation_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'allocation % does not exist', allocation_id USING ERRCODE = 'no_data_found';
	END IF;
	IF a.method IN ('write_off', 'credit', 'credit_note', 'shortfall') THEN
		RAISE EXCEPTION 'allocation % is a %, not a payment', allocation_id, a.method
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = CASE a.method WHEN 'shortfall' THEN 'It goes with the payment it completes: unallocate that one.'
			                           ELSE 'Delete it as ar_admin if it must be reversed.' END;
	END IF;
	PERFORM 1 FROM ar.invoice i WHERE i.id = a.invoice_id FOR UPDATE;
	IF a.bank_transaction_id IS NOT NULL THEN
		line := ar._review_line(a.bank_transaction_id);
		-- the shortfall this payment completed on the same invoice goes with it
		DELETE FROM ar.allocation x
		 USING ar.reconcile_adjustment r
		 WHERE r.allocation_id = x.id AND r.bank_transaction_id = a.bank_transaction_id
		   AND r.invoice_id = a.invoice_id;
	END IF;
	DELETE FROM ar.allocation x WHERE x.id = a.id;
	IF line.id IS NOT NULL THEN
		SELECT * INTO line FROM ar.bank_transaction t WHERE t.id = line.id;
		PERFORM ar._review_decided(line, 'manual', NULL, NULL);
	END IF;
	RETURN a.amount;
END $$;
COMMENT ON FUNCTION ar.unallocate(bigint) IS
'Reverses one payment allocation (and the shortfall it closed): the invoice reopens, the line''s money is free again. Returns the amount reversed. No later run re-matches the line by itself.';

CREATE FUNCTION ar.rematch(bank_transaction_id bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	line ar.bank_transaction;
BEGIN
	line := ar._review_line(bank_transaction_id);
	IF line.allocated_amount <> 0 THEN
		RAISE EXCEPTION 'bank transaction % allocates %', line.id, line.allocated_amount
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Undo its allocations with ar.unallocate() first.';
	END IF;
	UPDATE ar.match_proposal p SET status = 'stale', decided_by = session_user, decided_at = now()
	 WHERE p.bank_transaction_id = line.id AND p.status = 'pending';
	DELETE FROM ar.reconcile_line r WHERE r.bank_transaction_id = line.id;
	UPDATE ar.bank_transaction t SET status = 'unmatched' WHERE t.id = line.id AND t.status <> 'unmatched';
END $$;
COMMENT ON FUNCTION ar.rematch(bigint) IS
'Sends a line with nothing allocated back to matching: its pending proposals become stale and the next ar.reconcile() considers it as new (for instance once the invoice it pays has been entered).';

-- ------------------------------------------------- direct-debit returns

-- Deletes the allocations of a collection a return undoes (and the
-- shortfalls they closed), marks both lines and records the return.
CREATE FUNCTION ar._reverse_collection(allocation_ids bigint[], return_line bigint, by_run bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	original bigint;
BEGIN
	SELECT DISTINCT a.bank_transaction_id INTO original FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
	PERFORM 1 FROM ar.invoice i
	 WHERE i.id IN (SELECT a.invoice_id FROM ar.allocation a WHERE a.id = ANY (allocation_ids))
	 ORDER BY i.id FOR UPDATE;
	DELETE FROM ar.allocation x
	 USING ar.reconcile_adjustment r
	 WHERE r.allocation_id = x.id AND r.bank_transaction_id = original;
	DELETE FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
	UPDATE ar.bank_transaction t SET status = 'ignored'
	 WHERE t.id IN (original, return_line) AND t.allocated_amount = 0 AND t.status <> 'ignored';
	INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, run_id, outcome, flags)
	SELECT t.id, t.company_id, by_run, 'returned', '{}' FROM ar.bank_transaction t WHERE t.id = original
	ON CONFLICT (bank_transaction_id) DO UPDATE SET outcome = 'returned', decided_at = now();
	UPDATE ar.reconcile_line r SET returned_by = return_line WHERE r.bank_transaction_id = original;
END $$;

-- Direct-debit returns and reversals (negative lines with a return reason,
-- or marked as a reversal by the bank, handed over by ar.reconcile): find
-- the collection each one undoes, by
-- end-to-end id, else by counterparty IBAN and amount, and reverse it when
-- a run applied it and nothing else changed it since; otherwise propose.
CREATE FUNCTION ar._reconcile_returns(run_id bigint, line_ids bigint[], auto_apply boolean)
RETURNS TABLE (bank_transaction_id bigint, invoice_ids bigint[], amounts numeric[], score real, method text,
               applied boolean)
LANGUAGE plpgsql AS $$
DECLARE
	r ar.bank_transaction;
	orig ar.bank_transaction;
	candidates integer;
	by_e2e boolean;
	decided ar.reconcile_line;
	allocs bigint[];
	invs bigint[];
	amts numeric[];
	safe boolean;
	s real;
	expl jsonb;
	e2e_known boolean;
	cust bigint;
BEGIN
	FOR r IN SELECT * FROM ar.bank_transaction t WHERE t.id = ANY (line_ids) ORDER BY t.booking_date, t.id LOOP
		orig := NULL;
		e2e_known := coalesce(btrim(r.end_to_end_id), '') NOT IN ('', 'NOTPROVIDED');
		-- the collection: same company, currency and amount, booked before, with allocations,
		-- not already returned; by end-to-end id, else by IBAN
		WITH c AS (
			SELECT t.*, (e2e_known AND t.end_to_end_id = r.end_to_end_id) AS e2e
			  FROM ar.bank_transaction t
			 WHERE t.company_id = r.company_id AND t.currency = r.currency AND t.amount = -r.amount
			   AND t.id <> r.id AND t.booking_date <= r.booking_date AND t.allocated_amount <> 0
			   AND NOT EXISTS (SELECT 1 FROM ar.reconcile_line x WHERE x.bank_transaction_id = t.id AND x.returned_by IS NOT NULL)
			   AND ((e2e_known AND t.end_to_end_id = r.end_to_end_id)
			        OR (r.counterparty_iban IS NOT NULL AND t.counterparty_iban = r.counterparty_iban))
		)
		SELECT count(*) FILTER (WHERE c.e2e) > 0, CASE WHEN count(*) FILTER (WHERE c.e2e) > 0
		                                             THEN count(*) FILTER (WHERE c.e2e) ELSE count(*) END
		  INTO by_e2e, candidates FROM c;
		IF candidates = 1 THEN
			SELECT t.* INTO orig
			  FROM ar.bank_transaction t
			 WHERE t.company_id = r.company_id AND t.currency = r.currency AND t.amount = -r.amount
			   AND t.id <> r.id AND t.booking_date <= r.booking_date AND t.allocated_amount <> 0
			   AND NOT EXISTS (SELECT 1 FROM ar.reconcile_line x WHERE x.bank_transaction_id = t.id AND x.returned_by IS NOT NULL)
			   AND ((by_e2e AND t.end_to_end_id = r.end_to_end_id)
			        OR (NOT by_e2e AND r.counterparty_iban IS NOT NULL AND t.counterparty_iban = r.counterparty_iban))
			   FOR UPDATE OF t SKIP LOCKED;
		END IF;

		IF orig.id IS NULL AND candidates = 0 THEN
			-- a collection recorded without a bank line (ar.record_payment(..., 'direct_debit')):
			-- found by the invoice number in the return's text, it is only ever proposed
			SELECT array_agg(a.id ORDER BY a.id), array_agg(a.invoice_id ORDER BY a.id), array_agg(-a.amount ORDER BY a.id),
			       count(*), min(i.customer_id)
			  INTO allocs, invs, amts, candidates, cust
			  FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
			 WHERE a.bank_transaction_id IS NULL AND a.customer_credit_id IS NULL AND a.payment_means = 'direct_debit'
			   AND a.company_id = r.company_id AND i.currency = r.currency AND a.amount = -r.amount
			   -- (an ERP may date the collection at its settlement, a few days late)
			   AND a.allocated_on BETWEEN r.booking_date - 180 AND r.booking_date + 10
			   AND strpos(ar.reference_key(concat_ws(' ', r.remittance_info, r.structured_reference)),
			              ar.reference_key(i.number)) > 0
			   AND NOT EXISTS (SELECT 1 FROM ar.match_proposal p
			                    WHERE p.status IN ('pending', 'accepted') AND a.id = ANY (p.reverse_allocation_ids));
			IF candidates = 1 THEN
				expl := jsonb_build_object(
					'method', 'return', 'score', 0.90, 'return_reason', coalesce(r.return_reason, 'reversal'), 'applied', false,
					'collection', NULL, 'matched_on', 'invoice_number_and_amount', 'allocations', allocs, 'invoice_ids', invs,
					'collection_decided_by', 'recorded_without_bank_line',
					'summary', format('direct-debit return (%s) of a collection recorded without a bank line on invoice %s; review it',
					                  coalesce(r.return_reason, 'reversal'), (SELECT i.number FROM ar.invoice i WHERE i.id = invs[1])));
				INSERT INTO ar.match_proposal (company_id, run_id, bank_transaction_id, rank, score, method, customer_id,
				                               invoice_ids, amounts, reverse_allocation_ids, explanation)
				VALUES (r.company_id, run_id, r.id, 1, 0.90, 'return', cust, invs, amts, allocs, expl);
				INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, run_id, outcome, method, score, customer_id,
				                               payer, flags, invoice_ids, explanation)
				VALUES (r.id, r.company_id, run_id, 'proposed', 'return', 0.90, cust, 'reference', '{}', invs, expl);
				UPDATE ar.bank_transaction t SET status = 'proposed' WHERE t.id = r.id AND t.status = 'unmatched';
				bank_transaction_id := r.id; invoice_ids := invs; amounts := amts; score := 0.90; method := 'return';
				applied := false;
				RETURN NEXT;
				CONTINUE;
			END IF;
		END IF;

		IF orig.id IS NULL THEN
			INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, run_id, outcome, method, payer, flags, explanation)
			VALUES (r.id, r.company_id, run_id, 'unmatched', 'return', 'none', '{unmatched_return}',
			        jsonb_build_object('method', 'return', 'applied', false, 'return_reason', coalesce(r.return_reason, 'reversal'),
			                           'collections_found', candidates,
			                           'summary', format('direct-debit return (%s): %s', coalesce(r.return_reason, 'reversal'),
			                                             CASE WHEN candidates = 0 THEN 'the collection it undoes was not found'
			                                                  ELSE 'several collections could be the one it undoes' END)));
			bank_transaction_id := r.id; invoice_ids := '{}'; amounts := '{}'; score := NULL;
			method := 'return'; applied := false;
			RETURN NEXT;
			CONTINUE;
		END IF;

		SELECT array_agg(a.id ORDER BY a.id), array_agg(a.invoice_id ORDER BY a.id), array_agg(-a.amount ORDER BY a.id)
		  INTO allocs, invs, amts
		  FROM ar.allocation a WHERE a.bank_transaction_id = orig.id;
		SELECT * INTO decided FROM ar.reconcile_line x WHERE x.bank_transaction_id = orig.id;
		-- only what a run applied, untouched since, with no credit born from it
		safe := decided.outcome = 'applied' AND decided.allocation_ids = allocs
		        AND NOT EXISTS (SELECT 1 FROM ar.customer_credit c WHERE c.bank_transaction_id = orig.id);
		s := CASE WHEN by_e2e THEN 0.99 ELSE 0.90 END;
		expl := jsonb_build_object(
			'method', 'return', 'score', s, 'return_reason', coalesce(r.return_reason, 'reversal'),
			'collection', orig.id, 'matched_on', CASE WHEN by_e2e THEN 'end_to_end_id' ELSE 'iban_and_amount' END,
			'allocations', allocs, 'invoice_ids', invs,
			'collection_decided_by', coalesce(decided.outcome, 'unknown'),
			'summary', format('direct-debit return (%s) of bank transaction %s, matched on %s; reopens %s invoice(s)%s',
			                  coalesce(r.return_reason, 'reversal'), orig.id, CASE WHEN by_e2e THEN 'end-to-end id' ELSE 'IBAN and amount' END,
			                  cardinality(invs),
			                  CASE WHEN safe THEN '' ELSE '; the collection was allocated by a person, review it' END));
		-- the invoices to reopen, without waiting for a person working on them
		IF safe THEN
			SELECT count(*) = (SELECT count(DISTINCT u) FROM unnest(invs) u) INTO safe
			  FROM (SELECT 1 FROM ar.invoice i WHERE i.id = ANY (invs) FOR UPDATE SKIP LOCKED) l;
		END IF;
		IF auto_apply AND safe THEN
			PERFORM ar._reverse_collection(allocs, r.id, run_id);
			INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, run_id, outcome, method, score, customer_id,
			                               payer, flags, invoice_ids, explanation)
			VALUES (r.id, r.company_id, run_id, 'return', 'return', s, decided.customer_id, 'reference', '{}', invs,
			        expl || jsonb_build_object('applied', true));
			applied := true;
		ELSE
			INSERT INTO ar.match_proposal (company_id, run_id, bank_transaction_id, rank, score, method, customer_id,
			                               invoice_ids, amounts, reverse_allocation_ids, explanation)
			VALUES (r.company_id, run_id, r.id, 1, s, 'return', decided.customer_id, invs, amts, allocs,
			        expl || jsonb_build_object('applied', false));
			INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, run_id, outcome, method, score, customer_id,
			                               payer, flags, invoice_ids, explanation)
			VALUES (r.id, r.company_id, run_id, 'proposed', 'return', s, decided.customer_id, 'reference', '{}', invs,
			        expl || jsonb_build_object('applied', false));
			UPDATE ar.bank_transaction t SET status = 'proposed' WHERE t.id = r.id AND t.status = 'unmatched';
			applied := false;
		END IF;
		bank_transaction_id := r.id; invoice_ids := invs; amounts := amts; score := s; method := 'return';
		RETURN NEXT;
	END LOOP;
END $$;

-- ----------------------------------------------------------- reporting

CREATE VIEW ar.review_queue AS
SELECT p.id AS proposal_id, p.company_id, p.bank_transaction_id, p.rank, p.score, p.method,
       t.booking_date, t.amount, t.currency, t.counterparty_name, t.counterparty_iban, t.remittance_info,
       p.customer_id, c.code AS customer_code, c.name AS customer_name,
       p.invoice_ids,
       (SELECT array_agg(i.number ORDER BY u.ord)
          FROM unnest(p.invoice_ids) WITH ORDINALITY AS u(id, ord) JOIN ar.invoice i ON i.id = u.id) AS invoice_numbers,
       p.amounts, p.credit_amount, p.explanation ->> 'summary' AS summary, p.explanation, p.created_at
  FROM ar.match_proposal p
  JOIN ar.bank_transaction t ON t.id = p.bank_transaction_id
  LEFT JOIN ar.customer c ON c.id = p.customer_id
 WHERE p.status = 'pending';
COMMENT ON VIEW ar.review_queue IS 'Pending proposals with their bank line, customer and explanation: what a credit manager reviews (best first: ORDER BY score DESC, bank_transaction_id, rank).';
COMMENT ON COLUMN ar.review_queue.proposal_id IS 'ar.match_proposal.id, for ar.accept_proposal / ar.reject_proposal.';
COMMENT ON COLUMN ar.review_queue.company_id IS 'Company of the line.';
COMMENT ON COLUMN ar.review_queue.bank_transaction_id IS 'The bank line.';
COMMENT ON COLUMN ar.review_queue.rank IS '1 = best proposal for the line.';
COMMENT ON COLUMN ar.review_queue.score IS 'Score (0-1).';
COMMENT ON COLUMN ar.review_queue.method IS 'How the match was found.';
COMMENT ON COLUMN ar.review_queue.booking_date IS 'Booking date of the line.';
COMMENT ON COLUMN ar.review_queue.amount IS 'Amount of the line.';
COMMENT ON COLUMN ar.review_queue.currency IS 'Currency of the line.';
COMMENT ON COLUMN ar.review_queue.counterparty_name IS 'Who paid, as the bank wrote it.';
COMMENT ON COLUMN ar.review_queue.counterparty_iban IS 'Account it was paid from.';
COMMENT ON COLUMN ar.review_queue.remittance_info IS 'What the payer wrote.';
COMMENT ON COLUMN ar.review_queue.customer_id IS 'Customer the proposal concerns.';
COMMENT ON COLUMN ar.review_queue.customer_code IS 'Its code.';
COMMENT ON COLUMN ar.review_queue.customer_name IS 'Its name.';
COMMENT ON COLUMN ar.review_queue.invoice_ids IS 'Invoices it would allocate to.';
COMMENT ON COLUMN ar.review_queue.invoice_numbers IS 'Their numbers.';
COMMENT ON COLUMN ar.review_queue.amounts IS 'Amount to each.';
COMMENT ON COLUMN ar.review_queue.credit_amount IS 'Part that would become customer credit.';
COMMENT ON COLUMN ar.review_queue.summary IS 'One sentence: why.';
COMMENT ON COLUMN ar.review_queue.explanation IS 'Machine-readable explanation.';
COMMENT ON COLUMN ar.review_queue.created_at IS 'When it was proposed.';

CREATE FUNCTION ar.reconcile_anomalies(unmatched_days integer DEFAULT NULL, as_of date DEFAULT current_date)
RETURNS TABLE (kind text, company_id bigint, bank_transaction_id bigint, customer_id bigint, invoice_id bigint,
               booking_date date, amount numeric, currency char(3), days_unmatched integer, detail text)
LANGUAGE sql STABLE
AS $$
	-- credits nobody could be identified as paying
	SELECT 'unknown_payer', t.company_id, t.id, NULL::bigint, NULL::bigint, t.booking_date, t.amount - t.allocated_amount,
	       t.currency, as_of - t.booking_date,
	       format('%s %s from %s (%s): no customer recognised', t.amount, t.currency,
	              coalesce(t.counterparty_name, 'unnamed payer'), coalesce(t.counterparty_iban::text, 'no IBAN'))
	  FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	 WHERE 'unknown_payer' = ANY (r.flags) AND t.amount > 0 AND t.allocated_amount < t.amount AND t.status <> 'ignored'
	UNION ALL
	-- money paid beyond what was owed, still on account
	SELECT 'overpayment', c.company_id, c.bank_transaction_id, c.customer_id, c.invoice_id, c.created_on, c.remaining,
	       c.currency, NULL::integer,
	       format('%s %s paid beyond what was owed, on account of customer %s', c.remaining, c.currency, cu.code)
	  FROM ar.customer_credit c
	  JOIN ar.customer cu ON cu.id = c.customer_id
	 WHERE c.source = 'overpayment' AND c.bank_transaction_id IS NOT NULL AND c.remaining > 0
	UNION ALL
	-- payments naming an invoice that was already paid
	SELECT 'duplicate_payment', t.company_id, t.id, r.customer_id, NULL::bigint, t.booking_date, t.amount, t.currency,
	       as_of - t.booking_date, coalesce(r.explanation ->> 'summary', 'names an invoice already paid')
	  FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	 WHERE 'duplicate_payment' = ANY (r.flags) AND t.allocated_amount < t.amount AND t.status <> 'ignored'
	UNION ALL
	-- payments of a referenced invoice for another amount, while the invoice is still open
	SELECT 'amount_mismatch', t.company_id, t.id, r.customer_id, i.id, t.booking_date, t.amount, t.currency,
	       as_of - t.booking_date, format('paid %s for invoice %s of %s, %s still open', t.amount, i.number, i.amount, i.open_amount)
	  FROM ar.reconcile_line r
	  JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	  JOIN ar.invoice i ON i.id = r.invoice_ids[1]
	 WHERE 'amount_mismatch' = ANY (r.flags) AND i.open_amount <> 0
	UNION ALL
	-- collections undone by a direct-debit return, while the invoice is open again
	SELECT 'direct_debit_return', t.company_id, t.id, r.customer_id, i.id, t.booking_date, t.amount, t.currency,
	       as_of - t.booking_date, format('direct debit returned (%s): invoice %s open again', coalesce(t.return_reason, 'reversal'), i.number)
	  FROM ar.reconcile_line r
	  JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
	  JOIN ar.invoice i ON i.id = ANY (r.invoice_ids)
	 WHERE r.outcome = 'return' AND i.open_amount <> 0
	UNION ALL
	-- credits left unmatched too long
	SELECT 'unmatched', t.company_id, t.id, NULL::bigint, NULL::bigint, t.booking_date, t.amount - t.allocated_amount,
	       t.currency, as_of - t.booking_date,
	       format('%s %s of %s not allocated after %s days (%s)', t.amount - t.allocated_amount, t.currency, t.amount,
	              as_of - t.booking_date, t.status)
	  FROM ar.bank_transaction t
	  JOIN ar.reconcile_config cfg ON cfg.company_id = t.company_id
	 WHERE t.amount > 0 AND t.allocated_amount < t.amount
	   AND t.status IN ('unmatched', 'proposed', 'partially_matched')
	   AND as_of - t.booking_date > coalesce(unmatched_days, cfg.unmatched_alert_days)
	   AND NOT EXISTS (SELECT 1 FROM ar.customer_credit c WHERE c.bank_transaction_id = t.id)
$$;
COMMENT ON FUNCTION ar.reconcile_anomalies(integer, date) IS
'What needs a credit manager''s eye: unknown payers, overpayments on account, duplicate payments, amount mismatches, direct-debit returns, credits left unmatched for more than unmatched_days (default: the company''s unmatched_alert_days).';

CREATE VIEW ar.reconcile_anomaly AS
SELECT * FROM ar.reconcile_anomalies();
COMMENT ON VIEW ar.reconcile_anomaly IS 'ar.reconcile_anomalies() today, with each company''s unmatched_alert_days.';
COMMENT ON COLUMN ar.reconcile_anomaly.kind IS 'unknown_payer, overpayment, duplicate_payment, amount_mismatch, direct_debit_return, unmatched.';
COMMENT ON COLUMN ar.reconcile_anomaly.company_id IS 'Company.';
COMMENT ON COLUMN ar.reconcile_anomaly.bank_transaction_id IS 'The bank line concerned.';
COMMENT ON COLUMN ar.reconcile_anomaly.customer_id IS 'Customer concerned, when known.';
COMMENT ON COLUMN ar.reconcile_anomaly.invoice_id IS 'Invoice concerned, when one.';
COMMENT ON COLUMN ar.reconcile_anomaly.booking_date IS 'Booking date of the line (of the credit for an overpayment).';
COMMENT ON COLUMN ar.reconcile_anomaly.amount IS 'Amount at stake: unallocated part, credit remaining, or the payment.';
COMMENT ON COLUMN ar.reconcile_anomaly.currency IS 'Currency.';
COMMENT ON COLUMN ar.reconcile_anomaly.days_unmatched IS 'Days since the booking date.';
COMMENT ON COLUMN ar.reconcile_anomaly.detail IS 'One sentence for people.';

CREATE VIEW ar.reconcile_summary AS
SELECT r.company_id, t.currency, r.outcome, coalesce(r.method, 'none') AS method, count(*) AS lines,
       sum(t.amount) AS amount, avg(r.score)::real AS avg_score
  FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
 GROUP BY r.company_id, t.currency, r.outcome, coalesce(r.method, 'none');
COMMENT ON VIEW ar.reconcile_summary IS 'Bank lines by decision and method, per company and currency: the match rate.';
COMMENT ON COLUMN ar.reconcile_summary.company_id IS 'Company.';
COMMENT ON COLUMN ar.reconcile_summary.currency IS 'Currency of the lines.';
COMMENT ON COLUMN ar.reconcile_summary.outcome IS 'Decision (see ar.reconcile_line.outcome).';
COMMENT ON COLUMN ar.reconcile_summary.method IS 'Method of the match or best proposal, none when nothing was found.';
COMMENT ON COLUMN ar.reconcile_summary.lines IS 'Number of lines.';
COMMENT ON COLUMN ar.reconcile_summary.amount IS 'Their total amount.';
COMMENT ON COLUMN ar.reconcile_summary.avg_score IS 'Average score.';

-- ----------------------------------------------------- grants and dump

GRANT SELECT ON ar.reconcile_config, ar.reconcile_run, ar.reconcile_line, ar.match_proposal,
                ar.reconcile_adjustment, ar.review_queue, ar.reconcile_anomaly, ar.reconcile_summary
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.reconcile_anomalies(integer, date) TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.reconcile(boolean), ar.reconcile_company(bigint, boolean), ar.reconcile_preview(bigint),
                          ar.accept_proposal(bigint), ar.reject_proposal(bigint, text),
                          ar.allocate(bigint, bigint, numeric), ar.unallocate(bigint), ar.rematch(bigint)
	TO ar_collector;
GRANT INSERT, UPDATE ON ar.reconcile_config TO ar_admin;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['reconcile_config', 'reconcile_run', 'reconcile_line', 'match_proposal',
	                         'reconcile_adjustment'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('ar.' || t)::regclass, '');
	END LOOP;
	FOREACH t IN ARRAY ARRAY['reconcile_run', 'match_proposal'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.' || t, 'id')::regclass, '');
	END LOOP;
END $$;
-- ---------------------------------------------------------------------------
-- Collections analytics: DSO and receivables KPIs (C aggregate, src/kpi.c),
-- payer behaviour and segments, late-payment prediction trained and run in
-- the database (src/payment_model.c), cash forecast, customer risk, and the
-- views BI tools read.
--
-- Amounts are never summed across currencies: the company-level figures
-- (DSO, KPIs, cash forecast) cover the default company's invoices in its
-- own currency; per-customer figures are in the company currency too, with
-- a count of the open items left out.
-- ---------------------------------------------------------------------------

--------------------------------------------------------------------------
-- The KPI aggregate
--------------------------------------------------------------------------
CREATE TYPE ar.kpi_figures AS (
	as_of date,
	period_days integer,
	receivables numeric,
	overdue numeric,
	sales numeric,
	dso_standard numeric,
	dso_countback numeric,
	best_possible_dso numeric,
	average_days_delinquent numeric,
	cei_pct numeric,
	collection_rate_pct numeric,
	share_overdue_pct numeric,
	average_days_to_pay numeric,
	average_days_past_due numeric,
	amount_due numeric,
	amount_collected numeric
);
COMMENT ON TYPE ar.kpi_figures IS
'receivables KPIs on as_of over the period (as_of - period_days, as_of]: see ar.kpis';

CREATE TYPE ar.kpi_state;
CREATE FUNCTION ar.kpi_state_in(cstring) RETURNS ar.kpi_state
	AS 'MODULE_PATHNAME', 'kpi_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.kpi_state_out(ar.kpi_state) RETURNS cstring
	AS 'MODULE_PATHNAME', 'kpi_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ar.kpi_state (
	INPUT = ar.kpi_state_in,
	OUTPUT = ar.kpi_state_out,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE ar.kpi_state IS
'transition state of ar.receivables_kpis: exact sums (AR on as_of and on the period start, current AR, sales of the period and of 24 calendar months, amounts due and collected, amounts paid and their days); text form (as_of,period_days,sum,...)';
COMMENT ON FUNCTION ar.kpi_state_in(cstring) IS 'text input of ar.kpi_state, strictly validated';
COMMENT ON FUNCTION ar.kpi_state_out(ar.kpi_state) IS 'text output of ar.kpi_state: (as_of,period_days,33 plain decimal sums at one scale)';

CREATE FUNCTION ar.kpi_transfn(ar.kpi_state, numeric, date, date, numeric, numeric, numeric, date, date, integer)
	RETURNS ar.kpi_state AS 'MODULE_PATHNAME', 'kpi_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar.kpi_combine(ar.kpi_state, ar.kpi_state)
	RETURNS ar.kpi_state AS 'MODULE_PATHNAME', 'kpi_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar.kpi_final(ar.kpi_state)
	RETURNS ar.kpi_figures AS 'MODULE_PATHNAME', 'kpi_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE ar.receivables_kpis(amount numeric, issue_date date, due_date date, open_end numeric,
                                     open_start numeric, written_off numeric, settled_on date,
                                     as_of date, period_days integer) (
	SFUNC = ar.kpi_transfn,
	STYPE = ar.kpi_state,
	SSPACE = 544,
	FINALFUNC = ar.kpi_final,
	COMBINEFUNC = ar.kpi_combine,
	PARALLEL = SAFE
);
COMMENT ON FUNCTION ar.kpi_transfn(ar.kpi_state, numeric, date, date, numeric, numeric, numeric, date, date, integer) IS
'transition function of ar.receivables_kpis; rows with a NULL amount, date, as_of or period are skipped';
COMMENT ON FUNCTION ar.kpi_combine(ar.kpi_state, ar.kpi_state) IS
'combine function of ar.receivables_kpis: the state of the union of two row sets (parallel workers, shards)';
COMMENT ON FUNCTION ar.kpi_final(ar.kpi_state) IS
'final function of ar.receivables_kpis: the KPIs as ar.kpi_figures; ratios with a zero or negative denominator are NULL';
COMMENT ON AGGREGATE ar.receivables_kpis(numeric, date, date, numeric, numeric, numeric, date, date, integer) IS
'every receivables KPI that scans invoices, in one pass: one row per invoice with its amount (0 if cancelled by as_of), issue and due dates, open amounts on as_of and on as_of - period_days, amount written off in the period, day it was fully paid; exact, parallel safe';

-- The company whose figures the company-level KPIs report, and its currency.
CREATE FUNCTION ar._kpi_company_currency() RETURNS char(3)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT currency FROM ar.company WHERE is_default $$;

-- One pass of the aggregate over the default company's invoices in its
-- currency.  The open amount on a past day is today's plus the allocations
-- dated after it, so only the allocations of the period are read.
CREATE FUNCTION ar._kpi_figures(as_of date, period_days integer)
RETURNS ar.kpi_figures
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT ar.receivables_kpis(
	           CASE WHEN i.cancelled_on <= as_of THEN 0 ELSE i.amount END,
	           i.issue_date, i.due_date,
	           CASE WHEN i.cancelled_on IS NULL THEN i.open_amount + coalesce(a.after_end, 0)
	                WHEN i.cancelled_on > as_of THEN i.amount ELSE 0 END,
	           CASE WHEN i.cancelled_on IS NULL THEN i.open_amount + coalesce(a.after_start, 0)
	                WHEN i.cancelled_on > as_of - period_days THEN i.amount ELSE 0 END,
	           a.written_off,
	           CASE WHEN i.cancelled_on IS NULL AND i.open_amount + coalesce(a.after_end, 0) = 0
	                     AND coalesce(a.written_off, 0) = 0 THEN a.last_on END,
	           as_of, period_days)
	  FROM ar.invoice i
	  LEFT JOIN (SELECT al.invoice_id,
	                    sum(al.amount) FILTER (WHERE al.allocated_on > as_of) AS after_end,
	                    sum(al.amount) AS after_start,
	                    sum(al.amount) FILTER (WHERE al.method = 'write_off' AND al.allocated_on <= as_of) AS written_off,
	                    max(al.allocated_on) FILTER (WHERE al.allocated_on <= as_of) AS last_on
	               FROM ar.allocation al
	              WHERE al.allocated_on > as_of - period_days
	              GROUP BY al.invoice_id) a ON a.invoice_id = i.id
	  JOIN ar.company c ON c.id = i.company_id AND c.currency = i.currency AND c.is_default
	 WHERE i.issue_date <= as_of
$$;

CREATE FUNCTION ar._check_kpi_args(as_of date, period_days integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF period_days IS NULL OR period_days < 1 OR period_days > 3660 THEN
		RAISE EXCEPTION 'period_days must be between 1 and 3660, not %', coalesce(period_days::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF as_of IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'as_of must be a finite date, not %', as_of USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;

CREATE FUNCTION ar.dso(as_of date DEFAULT current_date, period_days integer DEFAULT 90,
                       method text DEFAULT 'countback')
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	f ar.kpi_figures;
BEGIN
	IF method IS NULL OR method NOT IN ('standard', 'countback') THEN
		RAISE EXCEPTION 'unknown DSO method "%"', coalesce(method, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''standard'' or ''countback''.';
	END IF;
	IF as_of IS NULL THEN
		RETURN NULL;
	END IF;
	PERFORM ar._check_kpi_args(as_of, period_days);
	f := ar._kpi_figures(as_of, period_days);
	IF f.as_of IS NULL THEN   -- no invoice at all: nothing is owed
		RETURN CASE WHEN method = 'countback' THEN 0 END;
	END IF;
	RETURN CASE method WHEN 'standard' THEN f.dso_standard ELSE f.dso_countback END;
END $$;

COMMENT ON FUNCTION ar.dso(date, integer, text) IS
'Days sales outstanding on as_of (default company, its currency). standard: AR(as_of) / sales(as_of - period_days + 1 .. as_of) * period_days, NULL without positive sales. countback: AR exhausted against the sales of the month to date (its days: the day of month) then of each earlier full month (its length); months without positive sales add their days; NULL when 24 months do not exhaust AR; 0 when nothing is owed. Exact (not rounded).';

-- Dunning effectiveness, where dunning has landed (ar.dunning_notice): for
-- the notices queued in (as_of - period_days, as_of - 15], the share of the
-- amount they claimed that was paid within 15 days after them.
CREATE FUNCTION ar.dunning_effectiveness(as_of date DEFAULT current_date, period_days integer DEFAULT 90)
RETURNS TABLE (level integer, notices bigint, amount_due numeric, paid_within_15_days numeric, effectiveness_pct numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM ar._check_kpi_args(as_of, period_days);
	IF to_regclass('ar.dunning_notice') IS NULL THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE $q$
		SELECT n.level::integer, count(*), sum(n.amount_due), sum(p.paid),
		       round(100 * sum(p.paid) / nullif(sum(n.amount_due), 0), 2)
		  FROM ar.dunning_notice n
		 CROSS JOIN LATERAL (
		       SELECT least(coalesce(sum(a.amount), 0), n.amount_due) AS paid
		         FROM ar.allocation a
		        WHERE a.invoice_id = ANY (n.invoice_ids)
		          AND a.allocated_on > n.as_of AND a.allocated_on <= n.as_of + 15
		          AND a.method <> 'write_off') p
		 WHERE n.as_of > $1 - $2 AND n.as_of <= $1 - 15
		   AND n.status NOT IN ('failed', 'cancelled')
		   AND n.amount_due > 0
		 GROUP BY n.level
		 ORDER BY n.level $q$
	USING as_of, period_days;
END $$;

COMMENT ON FUNCTION ar.dunning_effectiveness(date, integer) IS
'Per dunning level: notices queued in (as_of - period_days, as_of - 15] (not failed or cancelled), the amount they claimed, the part paid within 15 days after the notice (allocations other than write-offs, capped at the amount claimed) and its share in percent. No rows when dunning (ar.dunning_notice) is not installed.';

CREATE FUNCTION ar.kpis(as_of date DEFAULT current_date, period_days integer DEFAULT 90)
RETURNS TABLE (as_of date, period_days integer, currency char(3),
               receivables numeric, overdue numeric, sales numeric,
               dso_standard numeric, dso_countback numeric, best_possible_dso numeric,
               average_days_delinquent numeric, cei_pct numeric, collection_rate_pct numeric,
               share_overdue_pct numeric, average_days_to_pay numeric, average_days_past_due numeric,
               amount_due numeric, amount_collected numeric, dunning_effectiveness_pct numeric)
LANGUAGE sql STABLE AS $$
	SELECT kpis.as_of, kpis.period_days, ar._kpi_company_currency(),
	       coalesce(f.receivables, 0), coalesce(f.overdue, 0), coalesce(f.sales, 0),
	       f.dso_standard, CASE WHEN f.as_of IS NULL THEN 0 ELSE f.dso_countback END, f.best_possible_dso,
	       f.average_days_delinquent, f.cei_pct, f.collection_rate_pct,
	       f.share_overdue_pct, f.average_days_to_pay, f.average_days_past_due,
	       coalesce(f.amount_due, 0), coalesce(f.amount_collected, 0),
	       (SELECT round(100 * sum(d.paid_within_15_days) / nullif(sum(d.amount_due), 0), 2)
	          FROM ar.dunning_effectiveness(kpis.as_of, kpis.period_days) d)
	  FROM (SELECT ar._check_kpi_args(kpis.as_of, kpis.period_days)) chk
	 CROSS JOIN LATERAL ar._kpi_figures(kpis.as_of, kpis.period_days) f
$$;

COMMENT ON FUNCTION ar.kpis(date, integer) IS
'The receivables KPIs on as_of over the period (as_of - period_days, as_of], one row, default company in its currency, exact (not rounded): see the Analytics chapter of README.md for every definition.';

-- The last months month-ends on or before as_of.
CREATE FUNCTION ar.kpi_history(as_of date DEFAULT current_date, months integer DEFAULT 24, period_days integer DEFAULT 90)
RETURNS TABLE (as_of date, period_days integer, currency char(3),
               receivables numeric, overdue numeric, sales numeric,
               dso_standard numeric, dso_countback numeric, best_possible_dso numeric,
               average_days_delinquent numeric, cei_pct numeric, collection_rate_pct numeric,
               share_overdue_pct numeric, average_days_to_pay numeric, average_days_past_due numeric,
               amount_due numeric, amount_collected numeric, dunning_effectiveness_pct numeric)
LANGUAGE sql STABLE AS $$
	SELECT k.*
	  FROM generate_series(1, least(greatest(months, 0), 240)) g
	 CROSS JOIN LATERAL (SELECT (date_trunc('month', kpi_history.as_of + 1) - make_interval(months => g - 1) - interval '1 day')::date AS month_end) m
	 CROSS JOIN LATERAL ar.kpis(m.month_end, kpi_history.period_days) k
	 ORDER BY m.month_end
$$;
COMMENT ON FUNCTION ar.kpi_history(date, integer, integer) IS
'ar.kpis on each of the last months month-ends on or before as_of (as_of itself when it is a month end), oldest first.';

CREATE VIEW ar.kpi_monthly AS
SELECT k.as_of AS month_end, k.currency, k.receivables, k.overdue, k.sales,
       round(k.dso_standard, 2) AS dso_standard, round(k.dso_countback, 2) AS dso_countback,
       round(k.best_possible_dso, 2) AS best_possible_dso, round(k.average_days_delinquent, 2) AS average_days_delinquent,
       round(k.cei_pct, 2) AS cei_pct, round(k.collection_rate_pct, 2) AS collection_rate_pct,
       round(k.share_overdue_pct, 2) AS share_overdue_pct, round(k.average_days_to_pay, 2) AS average_days_to_pay,
       round(k.average_days_past_due, 2) AS average_days_past_due, k.dunning_effectiveness_pct
  FROM ar.kpi_history(current_date, 24, 90) k;

COMMENT ON VIEW ar.kpi_monthly IS 'Receivables KPIs at each of the last 24 month-ends (90-day period), default company in its currency, rounded to 2 decimals for display.';
COMMENT ON COLUMN ar.kpi_monthly.month_end IS 'The month-end the figures stand on.';
COMMENT ON COLUMN ar.kpi_monthly.currency IS 'Currency of every amount of the row (the default company''s).';
COMMENT ON COLUMN ar.kpi_monthly.receivables IS 'Open amounts on the month-end (credit notes included).';
COMMENT ON COLUMN ar.kpi_monthly.overdue IS 'Part of the receivables past due on the month-end.';
COMMENT ON COLUMN ar.kpi_monthly.sales IS 'Invoices less credit notes issued in the 90 days up to the month-end.';
COMMENT ON COLUMN ar.kpi_monthly.dso_standard IS 'Standard DSO: receivables / 90-day sales * 90.';
COMMENT ON COLUMN ar.kpi_monthly.dso_countback IS 'Countback DSO (month to date, then earlier full months).';
COMMENT ON COLUMN ar.kpi_monthly.best_possible_dso IS 'Receivables not yet due / 90-day sales * 90.';
COMMENT ON COLUMN ar.kpi_monthly.average_days_delinquent IS 'Standard DSO minus best possible DSO.';
COMMENT ON COLUMN ar.kpi_monthly.cei_pct IS 'Collection effectiveness index, percent: (AR at start + sales - AR at end) / (AR at start + sales - current AR at end).';
COMMENT ON COLUMN ar.kpi_monthly.collection_rate_pct IS 'Percent of the amount falling due in the 90 days that was settled by the month-end (write-offs excluded).';
COMMENT ON COLUMN ar.kpi_monthly.share_overdue_pct IS 'Overdue / receivables, percent.';
COMMENT ON COLUMN ar.kpi_monthly.average_days_to_pay IS 'Days from issue to full payment of the invoices paid in the 90 days, weighted by amount.';
COMMENT ON COLUMN ar.kpi_monthly.average_days_past_due IS 'Days past due of the overdue open amounts, weighted by amount.';
COMMENT ON COLUMN ar.kpi_monthly.dunning_effectiveness_pct IS 'Share of the amount claimed by dunning notices paid within 15 days after them, percent; NULL without dunning.';

--------------------------------------------------------------------------
-- Payer behaviour and segments
--------------------------------------------------------------------------

-- Thresholds of the segments (documented in the Analytics chapter of README.md).
CREATE TABLE ar.segment_threshold (
	name         text PRIMARY KEY,
	value        numeric NOT NULL,
	description  text NOT NULL,
	shipped      boolean NOT NULL DEFAULT false
);
INSERT INTO ar.segment_threshold (name, value, description, shipped) VALUES
('occasional_late_mean_days', 3, 'amount-weighted mean days late at or above which a customer is occasional_late', true),
('chronic_late_mean_days', 15, 'amount-weighted mean days late at or above which a customer is chronic_late', true),
('high_risk_mean_days', 75, 'amount-weighted mean days late at or above which a customer is high_risk', true),
('high_risk_open_days_past_due', 120, 'an open invoice more than this many days past due makes the customer high_risk', true),
('occasional_late_on_time_share', 0.5, 'below this share of invoices paid on time (with at least 4 due), a punctual customer is occasional_late', true);
COMMENT ON TABLE ar.segment_threshold IS 'Thresholds of the payer segments computed by ar.refresh_segments(); shipped rows may be updated by ar_admin.';

CREATE FUNCTION ar._segment_limit(threshold_name text) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT value FROM ar.segment_threshold WHERE name = threshold_name
$$;

-- Per customer over the 12 months up to as_of: the invoices that fell due
-- then (issued and not cancelled by as_of), paid or not.
CREATE FUNCTION ar.customer_behaviour_on(as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text, invoices_due integer,
               share_on_time numeric, mean_days_late numeric, spread_days_late numeric,
               trend_days_late numeric, open_exposure numeric, overdue_exposure numeric,
               max_days_past_due integer, currency char(3), other_currency_open_items integer, segment text)
LANGUAGE sql STABLE AS $$
	WITH due AS (
		SELECT i.customer_id, i.amount, i.due_date,
		       greatest(0, coalesce(s.settled_on, as_of) - i.due_date) AS days_late,
		       s.settled_on IS NOT NULL AND s.settled_on <= i.due_date AS on_time
		  FROM ar.invoice i
		  LEFT JOIN LATERAL (
		        SELECT max(a.allocated_on) AS settled_on
		          FROM ar.allocation a
		         WHERE a.invoice_id = i.id AND a.allocated_on <= as_of
		        HAVING sum(a.amount) = i.amount
		           AND NOT bool_or(a.method = 'write_off')) s ON true
		 WHERE i.amount > 0
		   AND i.due_date > as_of - 365 AND i.due_date <= as_of
		   AND i.issue_date <= as_of
		   AND (i.cancelled_on IS NULL OR i.cancelled_on > as_of)
	), stats AS (
		SELECT d.customer_id, count(*)::integer AS invoices_due,
		       avg(d.on_time::integer) AS share_on_time,
		       sum(d.amount * d.days_late) / sum(d.amount) AS mean_days_late,
		       sqrt(greatest(sum(d.amount * d.days_late * d.days_late) / sum(d.amount)
		                     - (sum(d.amount * d.days_late) / sum(d.amount)) ^ 2, 0)) AS spread_days_late,
		       sum(d.amount * d.days_late) FILTER (WHERE d.due_date > as_of - 91)
		         / nullif(sum(d.amount) FILTER (WHERE d.due_date > as_of - 91), 0)
		       - sum(d.amount * d.days_late) FILTER (WHERE d.due_date <= as_of - 91)
		         / nullif(sum(d.amount) FILTER (WHERE d.due_date <= as_of - 91), 0) AS trend_days_late
		  FROM due d
		 GROUP BY d.customer_id
	), exposure AS (
		SELECT o.customer_id,
		       sum(o.open_amount) FILTER (WHERE o.currency = ar._kpi_company_currency()) AS open_exposure,
		       sum(o.open_amount) FILTER (WHERE o.currency = ar._kpi_company_currency() AND o.days_past_due > 0) AS overdue_exposure,
		       max(o.days_past_due) FILTER (WHERE o.amount > 0 AND o.days_past_due > 0) AS max_days_past_due,
		       count(*) FILTER (WHERE o.currency <> ar._kpi_company_currency())::integer AS other_items
		  FROM ar.open_items(as_of) o
		 GROUP BY o.customer_id
	)
	SELECT c.id, c.code, c.name, coalesce(s.invoices_due, 0),
	       round(s.share_on_time, 4), round(s.mean_days_late, 2), round(s.spread_days_late, 2),
	       round(s.trend_days_late, 2), coalesce(e.open_exposure, 0), coalesce(e.overdue_exposure, 0),
	       coalesce(e.max_days_past_due, 0), ar._kpi_company_currency(), coalesce(e.other_items, 0),
	       CASE
	         WHEN s.invoices_due IS NULL AND coalesce(e.max_days_past_due, 0) = 0 THEN NULL
	         WHEN coalesce(s.mean_days_late, 0) >= ar._segment_limit('high_risk_mean_days')
	           OR coalesce(e.max_days_past_due, 0) > ar._segment_limit('high_risk_open_days_past_due') THEN 'high_risk'
	         WHEN s.mean_days_late >= ar._segment_limit('chronic_late_mean_days') THEN 'chronic_late'
	         WHEN s.mean_days_late >= ar._segment_limit('occasional_late_mean_days')
	           OR (s.invoices_due >= 4 AND s.share_on_time < ar._segment_limit('occasional_late_on_time_share')) THEN 'occasional_late'
	         ELSE 'punctual'
	       END
	  FROM ar.customer c
	  LEFT JOIN stats s ON s.customer_id = c.id
	  LEFT JOIN exposure e ON e.customer_id = c.id
	 ORDER BY c.code
$$;

COMMENT ON FUNCTION ar.customer_behaviour_on(date) IS
'Payment behaviour of each customer over the 12 months up to as_of (invoices falling due in (as_of - 365, as_of]) and the segment it gives; see the view ar.customer_behaviour.';

CREATE VIEW ar.customer_behaviour AS
SELECT * FROM ar.customer_behaviour_on(current_date);

COMMENT ON VIEW ar.customer_behaviour IS 'Payment behaviour of each customer over the last 12 months and its segment (what ar.refresh_segments() stores in ar.customer.segment).';
COMMENT ON COLUMN ar.customer_behaviour.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_behaviour.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.customer_behaviour.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.customer_behaviour.invoices_due IS 'Invoices that fell due in the last 12 months (paid or not).';
COMMENT ON COLUMN ar.customer_behaviour.share_on_time IS 'Share of them fully paid on or before their due date (0 to 1).';
COMMENT ON COLUMN ar.customer_behaviour.mean_days_late IS 'Amount-weighted mean days late (payment day, or today if unpaid, minus due date; 0 when on time).';
COMMENT ON COLUMN ar.customer_behaviour.spread_days_late IS 'Amount-weighted standard deviation of the days late.';
COMMENT ON COLUMN ar.customer_behaviour.trend_days_late IS 'Mean days late of the invoices due in the last 3 months minus that of the 9 months before (positive: paying later).';
COMMENT ON COLUMN ar.customer_behaviour.open_exposure IS 'Open amount today in the company currency (credit notes included).';
COMMENT ON COLUMN ar.customer_behaviour.overdue_exposure IS 'Part of the open exposure past due.';
COMMENT ON COLUMN ar.customer_behaviour.max_days_past_due IS 'Days past due of the oldest overdue open invoice (0 if none).';
COMMENT ON COLUMN ar.customer_behaviour.currency IS 'Currency of the exposure columns (the company''s).';
COMMENT ON COLUMN ar.customer_behaviour.other_currency_open_items IS 'Open items in other currencies, left out of the exposure columns.';
COMMENT ON COLUMN ar.customer_behaviour.segment IS 'punctual, occasional_late, chronic_late or high_risk (thresholds in ar.segment_threshold); NULL without history.';

CREATE FUNCTION ar.refresh_segments(as_of date DEFAULT current_date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	changed integer;
BEGIN
	IF as_of IS NULL THEN
		RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	UPDATE ar.customer c SET segment = b.segment
	  FROM ar.customer_behaviour_on(as_of) b
	 WHERE b.customer_id = c.id AND c.segment IS DISTINCT FROM b.segment;
	GET DIAGNOSTICS changed = ROW_COUNT;
	RETURN changed;
END $$;

COMMENT ON FUNCTION ar.refresh_segments(date) IS
'Stores in ar.customer.segment the segment of each customer on as_of (ar.customer_behaviour_on); returns how many changed (each change is audited).';

--------------------------------------------------------------------------
-- Late-payment prediction
--------------------------------------------------------------------------
CREATE TABLE ar.payment_model (
	version              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	trained_at           timestamptz NOT NULL DEFAULT now(),
	trained_by           text NOT NULL DEFAULT session_user,
	as_of                date NOT NULL,
	algorithm            text NOT NULL,
	training_from        date,
	training_to          date,
	training_invoices    integer NOT NULL,
	training_paid        integer NOT NULL,
	holdout_from         date,
	holdout_invoices     integer NOT NULL DEFAULT 0,
	auc                  double precision,
	auc_late_30          double precision,
	accuracy             double precision,
	brier                double precision,
	mae_days             double precision,
	baseline_auc         double precision,
	baseline_mae_days    double precision,
	baseline_brier       double precision,
	feature_names        text[] NOT NULL,
	feature_mean         double precision[] NOT NULL,
	feature_scale        double precision[] NOT NULL,
	coef_late            double precision[] NOT NULL,
	coef_late_30         double precision[] NOT NULL,
	coef_delay_q10       double precision[] NOT NULL,
	coef_delay_q50       double precision[] NOT NULL,
	coef_delay_q90       double precision[] NOT NULL
);
COMMENT ON TABLE ar.payment_model IS 'Payment models trained by ar.train_payment_model(): coefficients (over standardized features, intercept first), training window and the metrics of a temporal holdout. The latest version is used.';
COMMENT ON COLUMN ar.payment_model.version IS 'Model version; predictions use the highest.';
COMMENT ON COLUMN ar.payment_model.as_of IS 'Outcomes known on this day (settled before it, or already late on it) were learnt.';
COMMENT ON COLUMN ar.payment_model.training_from IS 'Issue date of the oldest invoice learnt.';
COMMENT ON COLUMN ar.payment_model.training_to IS 'Issue date of the newest invoice learnt.';
COMMENT ON COLUMN ar.payment_model.training_invoices IS 'Invoices with a known late / not late outcome on as_of.';
COMMENT ON COLUMN ar.payment_model.training_paid IS 'Of which paid before as_of (the delay regressions learn from these).';
COMMENT ON COLUMN ar.payment_model.holdout_from IS 'Temporal holdout: the same training on what was known on this day, scored on the invoices settled from it to as_of.';
COMMENT ON COLUMN ar.payment_model.holdout_invoices IS 'Invoices settled in the holdout window.';
COMMENT ON COLUMN ar.payment_model.auc IS 'Holdout AUC of p_late.';
COMMENT ON COLUMN ar.payment_model.auc_late_30 IS 'Holdout AUC of p_late_30.';
COMMENT ON COLUMN ar.payment_model.accuracy IS 'Holdout accuracy of p_late >= 0.5.';
COMMENT ON COLUMN ar.payment_model.brier IS 'Holdout Brier score of p_late.';
COMMENT ON COLUMN ar.payment_model.mae_days IS 'Holdout mean absolute error of the expected payment date, days.';
COMMENT ON COLUMN ar.payment_model.baseline_auc IS 'Holdout AUC of the naive baseline (the customer''s past average delay as score).';
COMMENT ON COLUMN ar.payment_model.baseline_mae_days IS 'Holdout MAE of the naive baseline (due date + the customer''s past average delay).';
COMMENT ON COLUMN ar.payment_model.baseline_brier IS 'Holdout Brier score of the customer''s past share of late invoices (Laplace-smoothed).';

CREATE FUNCTION ar._payment_model_fit(as_of date, holdout_days integer,
	OUT feature_names text[], OUT feature_mean float8[], OUT feature_scale float8[],
	OUT coef_late float8[], OUT coef_late_30 float8[],
	OUT coef_delay_q10 float8[], OUT coef_delay_q50 float8[], OUT coef_delay_q90 float8[],
	OUT training_from date, OUT training_to date, OUT training_invoices integer, OUT training_paid integer,
	OUT holdout_from date, OUT holdout_invoices integer,
	OUT auc float8, OUT auc_late_30 float8, OUT accuracy float8, OUT brier float8, OUT mae_days float8,
	OUT baseline_auc float8, OUT baseline_mae_days float8, OUT baseline_brier float8)
	AS 'MODULE_PATHNAME', 'payment_model_fit' LANGUAGE C STABLE;
COMMENT ON FUNCTION ar._payment_model_fit(date, integer) IS
'internal: fits the payment models on the outcomes known on as_of (src/payment_model.c)';

CREATE FUNCTION ar._payment_scores(invoice_ids bigint[], feature_mean float8[], feature_scale float8[],
	coef_late float8[], coef_late_30 float8[], coef_delay_q10 float8[], coef_delay_q50 float8[],
	coef_delay_q90 float8[])
RETURNS TABLE (invoice_id bigint, due_date date, p_late float8, p_late_30 float8, delay_q10 float8,
               delay_q50 float8, delay_q90 float8, baseline_delay float8, baseline_p_late float8, settled_on date)
	AS 'MODULE_PATHNAME', 'payment_scores' LANGUAGE C STABLE;
COMMENT ON FUNCTION ar._payment_scores(bigint[], float8[], float8[], float8[], float8[], float8[], float8[], float8[]) IS
'internal: scores invoices with one model''s coefficients, from what was known on each one''s issue date (src/payment_model.c)';

CREATE FUNCTION ar.train_payment_model(as_of date DEFAULT current_date)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	fit record;
	new_version bigint;
BEGIN
	IF as_of IS NULL OR as_of IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'as_of must be a finite date, not %', coalesce(as_of::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO fit FROM ar._payment_model_fit(as_of, 91);
	INSERT INTO ar.payment_model (as_of, algorithm, training_from, training_to, training_invoices, training_paid,
	                              holdout_from, holdout_invoices, auc, auc_late_30, accuracy, brier, mae_days,
	                              baseline_auc, baseline_mae_days, baseline_brier,
	                              feature_names, feature_mean, feature_scale, coef_late, coef_late_30,
	                              coef_delay_q10, coef_delay_q50, coef_delay_q90)
	VALUES (as_of, 'logistic regression (L2, Newton) for p_late and p_late_30; linear quantile regression (IRLS) of the delay at 10/50/90%',
	        fit.training_from, fit.training_to, fit.training_invoices, fit.training_paid,
	        fit.holdout_from, fit.holdout_invoices, fit.auc, fit.auc_late_30, fit.accuracy, fit.brier, fit.mae_days,
	        fit.baseline_auc, fit.baseline_mae_days, fit.baseline_brier,
	        fit.feature_names, fit.feature_mean, fit.feature_scale, fit.coef_late, fit.coef_late_30,
	        fit.coef_delay_q10, fit.coef_delay_q50, fit.coef_delay_q90)
	RETURNING version INTO new_version;
	RETURN new_version;
END $$;

COMMENT ON FUNCTION ar.train_payment_model(date) IS
'Learns payment behaviour from the invoices whose outcome is known on as_of (settled before it, or already late on it), from features known on each invoice''s issue date only; stores the model with its training window and temporal-holdout metrics; returns its version.';

CREATE FUNCTION ar._payment_model(model_version bigint DEFAULT NULL) RETURNS ar.payment_model
LANGUAGE plpgsql STABLE AS $$
DECLARE
	m ar.payment_model;
BEGIN
	IF model_version IS NULL THEN
		SELECT * INTO m FROM ar.payment_model ORDER BY version DESC LIMIT 1;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'no payment model has been trained'
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'Run ar.train_payment_model() first.';
		END IF;
	ELSE
		SELECT * INTO m FROM ar.payment_model WHERE version = model_version;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'payment model version % does not exist', model_version USING ERRCODE = 'no_data_found';
		END IF;
	END IF;
	RETURN m;
END $$;

-- Scores of a set of invoices with the latest (or a given) model.
CREATE FUNCTION ar.payment_scores(invoice_ids bigint[], model_version bigint DEFAULT NULL)
RETURNS TABLE (invoice_id bigint, due_date date, p_late float8, p_late_30 float8, delay_q10 float8,
               delay_q50 float8, delay_q90 float8, baseline_delay float8, baseline_p_late float8, settled_on date)
LANGUAGE sql STABLE AS $$
	SELECT s.*
	  FROM (SELECT (ar._payment_model(model_version)).*) m
	 CROSS JOIN LATERAL ar._payment_scores(invoice_ids, m.feature_mean, m.feature_scale, m.coef_late,
	                                       m.coef_late_30, m.coef_delay_q10, m.coef_delay_q50, m.coef_delay_q90) s
$$;
COMMENT ON FUNCTION ar.payment_scores(bigint[], bigint) IS
'Model outputs for many invoices at once (latest model unless model_version): p_late, p_late_30, delay quantiles in days after the due date (q50 is the expected payment date), and the naive baseline (the customer''s past average delay and share late), all from what was known on each invoice''s issue date; settled_on is the day it was fully paid, if it was.';

CREATE FUNCTION ar.predict_payment(invoice_id bigint)
RETURNS TABLE (p_late real, p_late_30 real, expected_payment_date date)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	inv ar.invoice;
BEGIN
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = predict_payment.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', coalesce(predict_payment.invoice_id::text, 'NULL')
			USING ERRCODE = 'no_data_found';
	END IF;
	IF inv.amount <= 0 THEN
		RAISE EXCEPTION 'invoice % is a credit note: there is no payment to predict', inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	SELECT s.p_late::real, s.p_late_30::real, s.due_date + round(s.delay_q50)::integer
	  FROM ar.payment_scores(ARRAY[inv.id]) s;
END $$;

COMMENT ON FUNCTION ar.predict_payment(bigint) IS
'With the latest model, from what was known on the invoice''s issue date: the probability it is paid after its due date, more than 30 days after it, and the expected payment date (due date + the predicted median delay).';

-- Metrics on the invoices fully paid (not written off) in [from_date, to_date].
CREATE FUNCTION ar.evaluate_payment_model(from_date date, to_date date, model_version bigint DEFAULT NULL)
RETURNS TABLE (version bigint, invoices integer, late_share numeric,
               auc numeric, auc_late_30 numeric, accuracy numeric, brier numeric, mae_days numeric,
               baseline_auc numeric, baseline_accuracy numeric, baseline_brier numeric, baseline_mae_days numeric,
               mae_improvement_pct numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	m ar.payment_model;
BEGIN
	IF from_date IS NULL OR to_date IS NULL OR from_date > to_date THEN
		RAISE EXCEPTION 'evaluation window % to % is not a range of dates', coalesce(from_date::text, 'NULL'),
		                coalesce(to_date::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	m := ar._payment_model(evaluate_payment_model.model_version);
	RETURN QUERY
	WITH candidate AS (
		SELECT array_agg(i.id) AS ids
		  FROM ar.invoice i
		 WHERE i.amount > 0 AND i.open_amount = 0 AND i.written_off_amount = 0 AND i.cancelled_on IS NULL
		   AND EXISTS (SELECT 1 FROM ar.allocation a
		                WHERE a.invoice_id = i.id AND a.allocated_on BETWEEN from_date AND to_date)
	), scored AS (
		SELECT s.*, (s.settled_on > s.due_date)::integer AS late, (s.settled_on > s.due_date + 30)::integer AS late_30,
		       s.settled_on - s.due_date AS delay
		  FROM candidate c
		 CROSS JOIN LATERAL ar._payment_scores(c.ids, m.feature_mean, m.feature_scale, m.coef_late,
		                                       m.coef_late_30, m.coef_delay_q10, m.coef_delay_q50, m.coef_delay_q90) s
		 WHERE s.settled_on BETWEEN from_date AND to_date
	), ranked AS (
		SELECT s.*,
		       rank() OVER (ORDER BY s.p_late) + (count(*) OVER (PARTITION BY s.p_late) - 1) / 2.0 AS r,
		       rank() OVER (ORDER BY s.p_late_30) + (count(*) OVER (PARTITION BY s.p_late_30) - 1) / 2.0 AS r30,
		       rank() OVER (ORDER BY s.baseline_delay) + (count(*) OVER (PARTITION BY s.baseline_delay) - 1) / 2.0 AS rb
		  FROM scored s
	), t AS (
		SELECT count(*) AS n, sum(late) AS pos, sum(late_30) AS pos30,
		       sum(r) FILTER (WHERE late = 1) AS rank_sum, sum(r30) FILTER (WHERE late_30 = 1) AS rank_sum30,
		       sum(rb) FILTER (WHERE late = 1) AS rank_sumb,
		       avg(((p_late >= 0.5)::integer = late)::integer) AS acc,
		       avg((p_late - late) ^ 2) AS brier,
		       avg(abs(delay - round(delay_q50))) AS mae,
		       avg(((baseline_delay > 0)::integer = late)::integer) AS bacc,
		       avg((baseline_p_late - late) ^ 2) AS bbrier,
		       avg(abs(delay - round(baseline_delay))) AS bmae
		  FROM ranked
	)
	SELECT m.version, t.n::integer, round(t.pos::numeric / nullif(t.n, 0), 4),
	       round(((t.rank_sum - t.pos * (t.pos + 1) / 2.0) / nullif(t.pos * (t.n - t.pos), 0))::numeric, 4),
	       round(((t.rank_sum30 - t.pos30 * (t.pos30 + 1) / 2.0) / nullif(t.pos30 * (t.n - t.pos30), 0))::numeric, 4),
	       round(t.acc::numeric, 4), round(t.brier::numeric, 4), round(t.mae::numeric, 2),
	       round(((t.rank_sumb - t.pos * (t.pos + 1) / 2.0) / nullif(t.pos * (t.n - t.pos), 0))::numeric, 4),
	       round(t.bacc::numeric, 4), round(t.bbrier::numeric, 4), round(t.bmae::numeric, 2),
	       round((100 * (1 - t.mae / nullif(t.bmae, 0)))::numeric, 1)
	  FROM t;
END $$;

COMMENT ON FUNCTION ar.evaluate_payment_model(date, date, bigint) IS
'Scores the invoices fully paid in [from_date, to_date] with the latest model (or model_version) and returns AUC (p_late, p_late_30), accuracy, Brier score and mean absolute error of the expected payment date in days, next to the naive baseline (each customer''s past average delay as of the issue date; its past share late for the Brier score), and the MAE improvement over the baseline in percent.';

--------------------------------------------------------------------------
-- Cash forecast
--------------------------------------------------------------------------

-- Payment-day scenarios of an open invoice, from its delay quantiles: 20
-- equally likely days at the quantile levels 2.5%, 7.5%, ... 97.5% of a
-- piecewise linear quantile function through q10, q50 and q90 (extended
-- by the same slopes below q10 and above q90), keeping those after
-- from_date (it is not paid yet then); when none is left, the invoice is
-- later than the model has seen and is spread evenly over the 90 days
-- after from_date.
CREATE FUNCTION ar._payment_scenarios(due_date date, q10 float8, q50 float8, q90 float8, from_date date)
RETURNS TABLE (pay_on date, probability float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	WITH s AS (
		SELECT due_date + round(CASE
		           WHEN u < 0.1 THEN q10 - (0.1 - u) / 0.4 * (q50 - q10)
		           WHEN u < 0.5 THEN q10 + (u - 0.1) / 0.4 * (q50 - q10)
		           WHEN u < 0.9 THEN q50 + (u - 0.5) / 0.4 * (q90 - q50)
		           ELSE q90 + (u - 0.9) / 0.4 * (q90 - q50) END)::integer AS pay_on
		  FROM (SELECT (k + 0.5) / 20.0 AS u FROM generate_series(0, 19) k) g
	), kept AS (
		SELECT s.pay_on FROM s WHERE s.pay_on > from_date
	)
	SELECT k.pay_on, 1.0 / count(*) OVER () FROM kept k
	UNION ALL
	SELECT from_date + 1 + (k * 90) / 20, 1.0 / 20
	  FROM generate_series(0, 19) k
	 WHERE NOT EXISTS (SELECT 1 FROM kept)
$$;

CREATE FUNCTION ar.cash_forecast(from_date date DEFAULT current_date, horizon_days integer DEFAULT 90,
                                 granularity text DEFAULT 'week')
RETURNS TABLE (period_start date, expected numeric, low numeric, high numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF granularity IS NULL OR granularity NOT IN ('day', 'week', 'month') THEN
		RAISE EXCEPTION 'unknown granularity "%"', coalesce(granularity, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''day'', ''week'' or ''month''.';
	END IF;
	IF horizon_days IS NULL OR horizon_days < 1 OR horizon_days > 3660 THEN
		RAISE EXCEPTION 'horizon_days must be between 1 and 3660, not %', coalesce(horizon_days::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF from_date IS NULL OR from_date IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'from_date must be a finite date' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._payment_model();   -- a clear error when there is none
	RETURN QUERY
	WITH open_item AS (
		SELECT o.invoice_id, o.customer_id, o.open_amount
		  FROM ar.open_items(from_date) o
		 WHERE o.amount > 0 AND o.open_amount > 0
		   AND o.company_id = ar.default_company() AND o.currency = ar._kpi_company_currency()
	), scored AS (
		SELECT o.customer_id, o.open_amount, s.*
		  FROM (SELECT array_agg(oi.invoice_id) AS ids FROM open_item oi) a
		 CROSS JOIN LATERAL ar.payment_scores(a.ids) s
		  JOIN open_item o ON o.invoice_id = s.invoice_id
	), periods AS (
		SELECT p::date AS period_start,
		       least((p + ('1 ' || granularity)::interval)::date - 1, from_date + horizon_days) AS period_end
		  FROM generate_series(date_trunc(granularity, (from_date + 1)::timestamp),
		                       (from_date + horizon_days)::timestamp, ('1 ' || granularity)::interval) p
	), per_invoice AS (
		SELECT p.period_start, s.customer_id, s.open_amount, least(sum(sc.probability), 1.0) AS probability
		  FROM scored s
		 CROSS JOIN LATERAL ar._payment_scenarios(s.due_date, s.delay_q10, s.delay_q50, s.delay_q90, from_date) sc
		  JOIN periods p ON sc.pay_on BETWEEN greatest(p.period_start, from_date + 1) AND p.period_end
		 GROUP BY p.period_start, s.invoice_id, s.customer_id, s.open_amount
	), per_customer AS (
		-- invoices of one customer tend to be paid together: their spreads add up
		SELECT i.period_start,
		       sum(i.open_amount * i.probability::numeric) AS expected,
		       sum(i.open_amount * sqrt(greatest(i.probability * (1 - i.probability), 0))::numeric) AS spread,
		       sum(i.open_amount) AS exposure
		  FROM per_invoice i
		 GROUP BY i.period_start, i.customer_id
	), total AS (
		SELECT c.period_start, sum(c.expected) AS expected, sqrt(sum(c.spread ^ 2)) AS spread,
		       sum(c.exposure) AS exposure
		  FROM per_customer c
		 GROUP BY c.period_start
	)
	SELECT p.period_start,
	       round(coalesce(t.expected, 0), 2),
	       round(greatest(coalesce(t.expected, 0) - 1.2816 * coalesce(t.spread, 0), 0), 2),
	       round(least(coalesce(t.expected, 0) + 1.2816 * coalesce(t.spread, 0), coalesce(t.exposure, 0)), 2)
	  FROM periods p
	  LEFT JOIN total t ON t.period_start = p.period_start
	 ORDER BY p.period_start;
END $$;

COMMENT ON FUNCTION ar.cash_forecast(date, integer, text) IS
'Expected collections per day, week or month (calendar periods; the first and last may be partial) over (from_date, from_date + horizon_days], from the predicted payment days of the invoices open on from_date (default company, its currency): expected = sum of open amount x probability of payment in the period; low / high = an 80% band (1.28 standard deviations, invoices of one customer taken as paying together), within 0 and the amount open. Rounded to the cent.';

CREATE VIEW ar.cash_forecast_weekly AS
SELECT * FROM ar.cash_forecast(current_date, 91, 'week');
COMMENT ON VIEW ar.cash_forecast_weekly IS 'Expected collections per week for the next 13 weeks (ar.cash_forecast), default company in its currency; needs a trained payment model.';
COMMENT ON COLUMN ar.cash_forecast_weekly.period_start IS 'First day of the week (Monday; the first week starts tomorrow).';
COMMENT ON COLUMN ar.cash_forecast_weekly.expected IS 'Expected collections in the week.';
COMMENT ON COLUMN ar.cash_forecast_weekly.low IS 'Low end of the 80% band.';
COMMENT ON COLUMN ar.cash_forecast_weekly.high IS 'High end of the 80% band.';

--------------------------------------------------------------------------
-- Customer risk
--------------------------------------------------------------------------
CREATE FUNCTION ar.customer_risk_on(as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text, segment text, currency char(3),
               exposure numeric, overdue numeric, open_items integer, p_late numeric, p_late_30 numeric,
               expected_late_amount numeric, credit_limit numeric, credit_limit_use_pct numeric, risk_score numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	has_model boolean := EXISTS (SELECT 1 FROM ar.payment_model);
BEGIN
	RETURN QUERY
	WITH open_item AS (
		SELECT o.invoice_id, o.customer_id, o.amount, o.open_amount, o.days_past_due
		  FROM ar.open_items(as_of) o
		 WHERE o.company_id = ar.default_company() AND o.currency = ar._kpi_company_currency()
	), scored AS (
		SELECT s.invoice_id, s.p_late, s.p_late_30
		  FROM (SELECT array_agg(invoice_id) FILTER (WHERE amount > 0) AS ids FROM open_item) a
		 CROSS JOIN LATERAL ar.payment_scores(a.ids) s
		 WHERE has_model AND a.ids IS NOT NULL
	), per_customer AS (
		SELECT o.customer_id, sum(o.open_amount) AS exposure,
		       coalesce(sum(o.open_amount) FILTER (WHERE o.days_past_due > 0), 0) AS overdue,
		       count(*)::integer AS items,
		       sum(o.open_amount * s.p_late::numeric) FILTER (WHERE o.amount > 0) AS late_amount,
		       sum(o.open_amount * s.p_late_30::numeric) FILTER (WHERE o.amount > 0) AS late_30_amount,
		       sum(o.open_amount) FILTER (WHERE o.amount > 0) AS invoiced_open
		  FROM open_item o
		  LEFT JOIN scored s ON s.invoice_id = o.invoice_id
		 GROUP BY o.customer_id
	)
	SELECT c.id, c.code, c.name, c.segment, ar._kpi_company_currency(),
	       p.exposure, p.overdue, p.items,
	       round(p.late_amount / nullif(p.invoiced_open, 0), 4),
	       round(p.late_30_amount / nullif(p.invoiced_open, 0), 4),
	       round(p.late_amount, 2),
	       c.credit_limit,
	       round(100 * p.exposure / nullif(c.credit_limit, 0), 2),
	       round(CASE WHEN has_model THEN coalesce(p.late_30_amount, 0) ELSE p.overdue END, 2)
	  FROM per_customer p
	  JOIN ar.customer c ON c.id = p.customer_id
	 WHERE p.exposure > 0
	 ORDER BY 14 DESC, p.overdue DESC, c.code;
END $$;

COMMENT ON FUNCTION ar.customer_risk_on(date) IS
'Customers with a positive open exposure on as_of (default company, its currency), riskiest first: see the view ar.customer_risk.';

CREATE VIEW ar.customer_risk AS
SELECT * FROM ar.customer_risk_on(current_date);

COMMENT ON VIEW ar.customer_risk IS 'Customers with money open today, riskiest first: exposure, overdue, predicted lateness of their open invoices (latest payment model) and credit limit use; default company in its currency.';
COMMENT ON COLUMN ar.customer_risk.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_risk.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.customer_risk.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.customer_risk.segment IS 'Stored segment (ar.refresh_segments()).';
COMMENT ON COLUMN ar.customer_risk.currency IS 'Currency of the amounts (the company''s).';
COMMENT ON COLUMN ar.customer_risk.exposure IS 'Open amount today (credit notes included).';
COMMENT ON COLUMN ar.customer_risk.overdue IS 'Part of it past due.';
COMMENT ON COLUMN ar.customer_risk.open_items IS 'Open invoices and credit notes.';
COMMENT ON COLUMN ar.customer_risk.p_late IS 'Amount-weighted probability that the open invoices are paid after their due date (0 to 1); NULL without a model.';
COMMENT ON COLUMN ar.customer_risk.p_late_30 IS 'The same for more than 30 days after the due date.';
COMMENT ON COLUMN ar.customer_risk.expected_late_amount IS 'Open invoice amounts times their p_late.';
COMMENT ON COLUMN ar.customer_risk.credit_limit IS 'ar.customer.credit_limit.';
COMMENT ON COLUMN ar.customer_risk.credit_limit_use_pct IS 'Exposure / credit limit, percent; NULL without a limit.';
COMMENT ON COLUMN ar.customer_risk.risk_score IS 'The ordering key: open invoice amounts times p_late_30 with a model, else the overdue amount.';

--------------------------------------------------------------------------
-- More views for BI tools
--------------------------------------------------------------------------
CREATE VIEW ar.aging_by_bucket AS
SELECT b.bucket, b.ord AS bucket_order, r.currency,
       sum(CASE b.bucket WHEN 'not_due' THEN r.not_due WHEN 'd1_30' THEN r.d1_30 WHEN 'd31_60' THEN r.d31_60
                         WHEN 'd61_90' THEN r.d61_90 ELSE r.d91_plus END) AS amount
  FROM ar.aging_report(current_date) r
 CROSS JOIN (VALUES ('not_due', 1), ('d1_30', 2), ('d31_60', 3), ('d61_90', 4), ('d91_plus', 5)) b(bucket, ord)
 GROUP BY b.bucket, b.ord, r.currency;

COMMENT ON VIEW ar.aging_by_bucket IS 'Open amounts today by aging bucket and currency (a bar chart''s data).';
COMMENT ON COLUMN ar.aging_by_bucket.bucket IS 'not_due, d1_30, d31_60, d61_90 or d91_plus.';
COMMENT ON COLUMN ar.aging_by_bucket.bucket_order IS '1 to 5, for sorting buckets from not due to oldest.';
COMMENT ON COLUMN ar.aging_by_bucket.currency IS 'Currency of the amount.';
COMMENT ON COLUMN ar.aging_by_bucket.amount IS 'Open amount in the bucket.';

CREATE VIEW ar.payment_model_latest AS
SELECT version, trained_at, as_of, training_from, training_to, training_invoices, training_paid,
       holdout_from, holdout_invoices, auc, auc_late_30, accuracy, brier, mae_days,
       baseline_auc, baseline_mae_days, baseline_brier
  FROM ar.payment_model
 ORDER BY version DESC
 LIMIT 1;

COMMENT ON VIEW ar.payment_model_latest IS 'The model predictions use, with its training window and holdout metrics.';
COMMENT ON COLUMN ar.payment_model_latest.version IS 'Model version.';
COMMENT ON COLUMN ar.payment_model_latest.trained_at IS 'When it was trained.';
COMMENT ON COLUMN ar.payment_model_latest.as_of IS 'Outcomes known on this day were learnt.';
COMMENT ON COLUMN ar.payment_model_latest.training_from IS 'Issue date of the oldest invoice learnt.';
COMMENT ON COLUMN ar.payment_model_latest.training_to IS 'Issue date of the newest invoice learnt.';
COMMENT ON COLUMN ar.payment_model_latest.training_invoices IS 'Invoices with a known late / not late outcome.';
COMMENT ON COLUMN ar.payment_model_latest.training_paid IS 'Of which paid.';
COMMENT ON COLUMN ar.payment_model_latest.holdout_from IS 'Start of the temporal holdout window (it ends on as_of).';
COMMENT ON COLUMN ar.payment_model_latest.holdout_invoices IS 'Invoices settled in the holdout window.';
COMMENT ON COLUMN ar.payment_model_latest.auc IS 'Holdout AUC of p_late.';
COMMENT ON COLUMN ar.payment_model_latest.auc_late_30 IS 'Holdout AUC of p_late_30.';
COMMENT ON COLUMN ar.payment_model_latest.accuracy IS 'Holdout accuracy of p_late >= 0.5.';
COMMENT ON COLUMN ar.payment_model_latest.brier IS 'Holdout Brier score of p_late.';
COMMENT ON COLUMN ar.payment_model_latest.mae_days IS 'Holdout MAE of the expected payment date, days.';
COMMENT ON COLUMN ar.payment_model_latest.baseline_auc IS 'The same AUC for the naive baseline.';
COMMENT ON COLUMN ar.payment_model_latest.baseline_mae_days IS 'The same MAE for the naive baseline.';
COMMENT ON COLUMN ar.payment_model_latest.baseline_brier IS 'The same Brier score for the naive baseline.';

--------------------------------------------------------------------------
-- Grants and pg_dump registration
--------------------------------------------------------------------------
GRANT SELECT ON ar.kpi_monthly, ar.customer_behaviour, ar.customer_risk, ar.cash_forecast_weekly,
                ar.aging_by_bucket, ar.payment_model_latest, ar.payment_model, ar.segment_threshold
	TO ar_reader;
GRANT UPDATE (value) ON ar.segment_threshold TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.dso(date, integer, text), ar.kpis(date, integer), ar.kpi_history(date, integer, integer),
                          ar._kpi_figures(date, integer), ar._kpi_company_currency(),
                          ar.dunning_effectiveness(date, integer),
                          ar.customer_behaviour_on(date), ar._segment_limit(text),
                          ar.customer_risk_on(date), ar.cash_forecast(date, integer, text),
                          ar.predict_payment(bigint), ar.payment_scores(bigint[], bigint), ar._payment_model(bigint),
                          ar._payment_scores(bigint[], float8[], float8[], float8[], float8[], float8[], float8[], float8[]),
                          ar.evaluate_payment_model(date, date, bigint)
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.refresh_segments(date) TO ar_collector;
GRANT EXECUTE ON FUNCTION ar.train_payment_model(date) TO ar_admin;

SELECT pg_catalog.pg_extension_config_dump('ar.payment_model', '');
SELECT pg_catalog.pg_extension_config_dump('ar.segment_threshold', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.payment_model', 'version')::regclass, '');
-- ---------------------------------------------------------------------------
-- Dunning: policies, levels and templates as data; disputes, promises to
-- pay, payment plans and blocks; the escalation rule (ar.run_dunning) and
-- its transactional outbox (ar.dunning_notice, NOTIFY ar_dunning); the
-- communications log; the SQL side of the background worker (src/worker.c).
--
-- The escalation rule of the contract is applied per dunning account: a
-- customer and a currency (amounts in different currencies are never
-- summed; a customer owing in one currency, the usual case, has one
-- account).  Its state is ar.dunning_account: the cycle, the level C of its
-- last notice not failed or cancelled in the cycle, and the run date of its
-- last such notice of any cycle.
--
-- Exclusions carry optional dates.  Without them (the contract's calls), a
-- dispute counts on every run date while it is open, a promise on every run
-- date up to its promised date, a block on every run date before its end;
-- with them they hold from that date, and a resolved dispute, a lifted block
-- or a cancelled plan stops counting from the date given (from every date
-- when none is given).  This keeps simulated timelines (runs on past dates)
-- and the worker's daily runs consistent.
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------- formatting

CREATE FUNCTION ar.format_money(amount numeric, currency text, language text DEFAULT 'en')
RETURNS text
AS 'MODULE_PATHNAME', 'ar_format_money'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.format_money(numeric, text, text) IS
	'An amount as a letter prints it, rounded to the cent (half away from zero): 1 234,56 EUR (fr, no-break spaces), 1,234.56 EUR (other languages).';

CREATE FUNCTION ar.format_date(d date, language text DEFAULT 'en')
RETURNS text
AS 'MODULE_PATHNAME', 'ar_format_date'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.format_date(date, text) IS
	'A date as a letter prints it: 1er mars 2026 (fr), 1 March 2026 (other languages).';

-- What ar.run_dunning needs of an account besides its lines, in one
-- transition per invoice (src/dunning_totals.c): R, and the count, sums and
-- problems of the listing a notice uses (the invoices at level 1 and up, or
-- those at level 0 when R = 0); interest, indemnity and penalties are NULL
-- when a penalty of the listing is unknown.
CREATE TYPE ar._dunning_totals_result AS (
	r             integer,
	invoice_count bigint,
	amount_due    numeric,
	interest      numeric,
	indemnity     numeric,
	penalties     numeric,
	problems      bigint
);
COMMENT ON TYPE ar._dunning_totals_result IS
	'Result of ar._dunning_totals: R and the figures of the listing a notice uses';

CREATE TYPE ar._dunning_totals_state;
CREATE FUNCTION ar._dunning_totals_state_in(cstring) RETURNS ar._dunning_totals_state
	AS 'MODULE_PATHNAME', 'dunning_totals_state_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar._dunning_totals_state_out(ar._dunning_totals_state) RETURNS cstring
	AS 'MODULE_PATHNAME', 'dunning_totals_state_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- 216 bytes; STORAGE plain keeps the 4-byte header the C code updates in place
CREATE TYPE ar._dunning_totals_state (
	INPUT = ar._dunning_totals_state_in,
	OUTPUT = ar._dunning_totals_state_out,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE ar._dunning_totals_state IS
	'transition state of ar._dunning_totals; text form (r;count,problems,unknown,open,interest,fee,total;...) for level 1 and up, then level 0, sums as plain decimals (empty: none)';

CREATE FUNCTION ar._dunning_totals_transfn(ar._dunning_totals_state, integer, numeric, numeric, numeric, numeric, text)
	RETURNS ar._dunning_totals_state
	AS 'MODULE_PATHNAME', 'dunning_totals_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_totals_combine(ar._dunning_totals_state, ar._dunning_totals_state)
	RETURNS ar._dunning_totals_state
	AS 'MODULE_PATHNAME', 'dunning_totals_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_totals_final(ar._dunning_totals_state) RETURNS ar._dunning_totals_result
	AS 'MODULE_PATHNAME', 'dunning_totals_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ar._dunning_totals(level integer, open_amount numeric, interest numeric, fixed_fee numeric,
                                    total numeric, problem text) (
	SFUNC = ar._dunning_totals_transfn,
	STYPE = ar._dunning_totals_state,
	SSPACE = 216,
	FINALFUNC = ar._dunning_totals_final,
	COMBINEFUNC = ar._dunning_totals_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar._dunning_totals(integer, numeric, numeric, numeric, numeric, text) IS
	'Per account, over its dunnable invoices (level, open amount on the run date, interest, fixed fee, penalty total, problem): R and the count, sums and problems of the listing a notice uses';

-- The lines a notice lists, in one flat value (src/dunning_lines.c): built
-- per account by the aggregate ar._dunning_lines in one transition per
-- invoice, in table order (due date, number, id), amounts in cents as the
-- letter prints them.  Text form {(invoice_id,"number",due_date,days_late,
-- level,amount,open_amount,interest,fixed_fee)...}: the state can cross
-- servers as text (parallel workers, shards).
CREATE TYPE ar._dunning_lines;
CREATE FUNCTION ar._dunning_lines_in(cstring) RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar._dunning_lines_out(ar._dunning_lines) RETURNS cstring
	AS 'MODULE_PATHNAME', 'dunning_lines_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ar._dunning_lines (
	INPUT = ar._dunning_lines_in,
	OUTPUT = ar._dunning_lines_out,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE ar._dunning_lines IS
	'the invoices a dunning notice lists, amounts in cents; text form {(invoice_id,"number",YYYY-MM-DD,days_late,level,amount,open_amount,interest,fixed_fee)...}';

CREATE FUNCTION ar._dunning_lines_transfn(ar._dunning_lines, integer, bigint, text, date, integer,
                                          numeric, numeric, numeric, numeric)
	RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_lines_combine(ar._dunning_lines, ar._dunning_lines)
	RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_lines_final(ar._dunning_lines) RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- SSPACE: the planner's guess of a state (an account's lines, 16-byte
-- numbers, grown from 8), so that hashing accounts is costed as it runs
CREATE AGGREGATE ar._dunning_lines(level integer, invoice_id bigint, number text, due_date date,
                                   days_late integer, amount numeric, open_amount numeric,
                                   interest numeric, fixed_fee numeric) (
	SFUNC = ar._dunning_lines_transfn,
	STYPE = ar._dunning_lines,
	SSPACE = 640,
	FINALFUNC = ar._dunning_lines_final,
	COMBINEFUNC = ar._dunning_lines_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar._dunning_lines(integer, bigint, text, date, integer, numeric, numeric, numeric, numeric) IS
	'Per account, over its dunnable invoices: the lines its notice lists (level 1 and up, else level 0) in table order';

-- The invoice table of a notice, and the invoice ids of its lines (src/letter.c).
CREATE FUNCTION ar._invoice_table(lines ar._dunning_lines, currency text, language text, wide boolean)
RETURNS text
AS 'MODULE_PATHNAME', 'ar_invoice_table'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION ar._line_ids(lines ar._dunning_lines)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'ar_line_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- A letter's text, compressed in line (LZ4) when the server has it: the
-- outbox stores a hundred thousand letters of a first run in half the space
-- (and half the WAL); PostgreSQL compresses only rows over about 2 kB.
CREATE FUNCTION ar._compress_letter(body text)
RETURNS text
AS 'MODULE_PATHNAME', 'ar_compress_letter'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ar.render_template(template text, names text[], vals text[])
RETURNS text
AS 'MODULE_PATHNAME', 'ar_render_template'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar.render_template(text, text[], text[]) IS
	'Replaces each {{name}} of the template by the value of the same position in vals (NULL: empty); other text is kept.';

-- The placeholders a dunning template may use (see ar.run_dunning).
CREATE FUNCTION ar.dunning_placeholders() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT ARRAY['customer_name', 'customer_code', 'company_name', 'company_iban', 'as_of', 'invoice_table',
	             'invoice_count', 'amount_due', 'currency', 'interest', 'indemnity', 'penalties', 'total_due',
	             'fee', 'reply_by', 'reply_days', 'previous_notices', 'level', 'level_name']
$$;

CREATE FUNCTION ar.template_placeholders(template text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT coalesce(array_agg(DISTINCT m[1] ORDER BY m[1]), '{}')
	  FROM regexp_matches(template, '\{\{([a-z0-9_]{1,63})\}\}', 'g') m
$$;

-- ------------------------------------------------------------ configuration

CREATE TABLE ar.dunning_policy (
	id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	code               text NOT NULL UNIQUE CHECK (code ~ '^[A-Z][A-Z0-9_]{0,62}$'),
	name               text NOT NULL,
	description        text,
	active             boolean NOT NULL DEFAULT true,
	is_default         boolean NOT NULL DEFAULT false,
	min_days_between   integer NOT NULL DEFAULT 7 CHECK (min_days_between >= 0),
	fallback_language  text NOT NULL DEFAULT 'en' CHECK (fallback_language ~ '^[a-z]{2}$'),
	templates_from     bigint REFERENCES ar.dunning_policy,
	shipped            boolean NOT NULL DEFAULT false,
	created_at         timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT dunning_policy_templates_not_self CHECK (templates_from <> id)
);
-- a user's own default policy takes precedence over the shipped one
CREATE UNIQUE INDEX dunning_policy_single_default ON ar.dunning_policy (shipped) WHERE is_default;

CREATE TABLE ar.dunning_level (
	policy_id        bigint NOT NULL REFERENCES ar.dunning_policy ON DELETE CASCADE,
	level            integer NOT NULL CHECK (level BETWEEN 0 AND 99),
	name             text NOT NULL,
	offset_days      integer NOT NULL CHECK (offset_days BETWEEN -366 AND 3660),
	channel          text NOT NULL CHECK (channel IN ('email', 'sms', 'letter', 'registered_letter', 'task')),
	min_amount       numeric NOT NULL DEFAULT 0 CHECK (min_amount >= 0 AND min_amount <> 'Infinity'),
	fee              numeric NOT NULL DEFAULT 0 CHECK (fee >= 0 AND fee <> 'Infinity'),
	state_penalties  boolean NOT NULL DEFAULT false,
	reply_days       integer CHECK (reply_days >= 0),
	delivery_days    integer NOT NULL DEFAULT 0 CHECK (delivery_days >= 0),
	shipped          boolean NOT NULL DEFAULT false,
	PRIMARY KEY (policy_id, level)
);

CREATE TABLE ar.dunning_template (
	id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	policy_id   bigint NOT NULL,
	level       integer NOT NULL,
	language    text NOT NULL CHECK (language ~ '^[a-z]{2}$'),
	segment     text CHECK (segment IN ('punctual', 'occasional_late', 'chronic_late', 'high_risk')),
	channel     text CHECK (channel IN ('email', 'sms', 'letter', 'registered_letter', 'task')),
	subject     text,
	body        text NOT NULL,
	shipped     boolean NOT NULL DEFAULT false,
	created_at  timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (policy_id, level) REFERENCES ar.dunning_level ON DELETE CASCADE
);
CREATE UNIQUE INDEX dunning_template_key
	ON ar.dunning_template (policy_id, level, language, coalesce(segment, ''), coalesce(channel, ''));

CREATE TABLE ar.dunning_segment_policy (
	segment    text PRIMARY KEY CHECK (segment IN ('punctual', 'occasional_late', 'chronic_late', 'high_risk')),
	policy_id  bigint NOT NULL REFERENCES ar.dunning_policy
);

CREATE TABLE ar.customer_dunning_policy (
	customer_id  bigint PRIMARY KEY REFERENCES ar.customer ON DELETE CASCADE,
	policy_id    bigint NOT NULL REFERENCES ar.dunning_policy,
	set_at       timestamptz NOT NULL DEFAULT now(),
	set_by       text NOT NULL DEFAULT session_user
);

-- Templates may only use known placeholders.
CREATE FUNCTION ar._dunning_template_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	unknown text[];
BEGIN
	SELECT array_agg(p ORDER BY p) INTO unknown
	  FROM unnest(ar.template_placeholders(coalesce(NEW.subject, '') || ' ' || NEW.body)) p
	 WHERE p <> ALL (ar.dunning_placeholders());
	IF unknown IS NOT NULL THEN
		RAISE EXCEPTION 'dunning template uses unknown placeholder(s) %', array_to_string(unknown, ', ')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Known placeholders: ' || array_to_string(ar.dunning_placeholders(), ', ') || '.';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER dunning_template_check BEFORE INSERT OR UPDATE ON ar.dunning_template
	FOR EACH ROW EXECUTE FUNCTION ar._dunning_template_check();

-- A policy is usable when its levels are 0 or 1, 2, 3... without a gap
-- (a level is never skipped), each later than the previous one, and each
-- has a template for every segment and channel in the fallback language.
CREATE FUNCTION ar._check_dunning_policy(policy_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	p ar.dunning_policy;
	lv record;
	prev_level integer;
	prev_offset integer;
	missing integer;
BEGIN
	SELECT * INTO p FROM ar.dunning_policy d WHERE d.id = _check_dunning_policy.policy_id;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	FOR lv IN SELECT l.level, l.offset_days FROM ar.dunning_level l WHERE l.policy_id = p.id ORDER BY l.level LOOP
		IF prev_level IS NULL AND lv.level NOT IN (0, 1) THEN
			RAISE EXCEPTION 'dunning policy % starts at level %', p.code, lv.level
				USING ERRCODE = 'check_violation', HINT = 'Levels start at 0 (before the due date) or 1.';
		ELSIF prev_level IS NOT NULL AND lv.level <> prev_level + 1 THEN
			RAISE EXCEPTION 'dunning policy % has no level %', p.code, prev_level + 1
				USING ERRCODE = 'check_violation', HINT = 'Levels follow each other without a gap: a level is never skipped.';
		ELSIF prev_level IS NOT NULL AND lv.offset_days <= prev_offset THEN
			RAISE EXCEPTION 'dunning policy %: level % comes % days after the due date, not later than level % (% days)',
				p.code, lv.level, lv.offset_days, prev_level, prev_offset
				USING ERRCODE = 'check_violation';
		END IF;
		prev_level := lv.level;
		prev_offset := lv.offset_days;
	END LOOP;
	SELECT min(l.level) INTO missing
	  FROM ar.dunning_level l
	 WHERE l.policy_id = p.id
	   AND NOT EXISTS (SELECT 1 FROM ar.dunning_template t
	                    WHERE t.policy_id IN (p.id, p.templates_from) AND t.level = l.level
	                      AND t.language = p.fallback_language AND t.segment IS NULL AND t.channel IS NULL);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'dunning policy % has no template for level % in its fallback language %', p.code, missing, p.fallback_language
			USING ERRCODE = 'check_violation',
			      HINT = 'Each level needs a template without segment and channel in the fallback language (its own or its templates_from policy''s).';
	END IF;
END $$;

CREATE FUNCTION ar._dunning_policy_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	changed bigint;
BEGIN
	IF current_setting('ar_collect.restoring', true) = 'on' THEN
		RETURN NULL;  -- pg_restore reloads each table in its own transaction
	END IF;
	IF TG_TABLE_NAME = 'dunning_policy' THEN
		IF TG_OP = 'DELETE' THEN RETURN NULL; END IF;
		changed := NEW.id;
	ELSIF TG_OP = 'DELETE' THEN
		changed := OLD.policy_id;
	ELSE
		changed := NEW.policy_id;
	END IF;
	PERFORM ar._check_dunning_policy(changed);
	-- policies that borrow this one's templates
	PERFORM ar._check_dunning_policy(d.id) FROM ar.dunning_policy d WHERE d.templates_from = changed;
	RETURN NULL;
END $$;

-- checked at commit, so that levels and templates can be changed together
CREATE CONSTRAINT TRIGGER dunning_policy_valid AFTER INSERT OR UPDATE ON ar.dunning_policy
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._dunning_policy_changed();
CREATE CONSTRAINT TRIGGER dunning_level_valid AFTER INSERT OR UPDATE OR DELETE ON ar.dunning_level
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._dunning_policy_changed();
CREATE CONSTRAINT TRIGGER dunning_template_valid AFTER INSERT OR UPDATE OR DELETE ON ar.dunning_template
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._dunning_policy_changed();

-- The policy of each customer: its own, else its segment's, else the
-- default one (a user's own default before the shipped FR_STANDARD).
CREATE VIEW ar.customer_policy AS
SELECT c.id AS customer_id, c.code AS customer_code, p.id AS policy_id, p.code AS policy_code,
       CASE WHEN cp.policy_id IS NOT NULL THEN 'customer'
            WHEN sp.policy_id IS NOT NULL THEN 'segment'
            WHEN p.id IS NOT NULL THEN 'default' END AS source,
       coalesce(p.active, false) AS active
  FROM ar.customer c
  LEFT JOIN ar.customer_dunning_policy cp ON cp.customer_id = c.id
  LEFT JOIN ar.dunning_segment_policy sp ON sp.segment = c.segment
  LEFT JOIN (SELECT d.id FROM ar.dunning_policy d
              WHERE d.is_default AND d.active ORDER BY d.shipped, d.id LIMIT 1) dp ON true
  LEFT JOIN ar.dunning_policy p ON p.id = coalesce(cp.policy_id, sp.policy_id, dp.id);

COMMENT ON VIEW ar.customer_policy IS 'The dunning policy that applies to each customer and why.';
COMMENT ON COLUMN ar.customer_policy.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_policy.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.customer_policy.policy_id IS 'ar.dunning_policy.id; NULL when no active default policy exists.';
COMMENT ON COLUMN ar.customer_policy.policy_code IS 'Code of the policy (FR_STANDARD unless configured otherwise).';
COMMENT ON COLUMN ar.customer_policy.source IS 'customer (ar.set_dunning_policy), segment (ar.dunning_segment_policy) or default.';
COMMENT ON COLUMN ar.customer_policy.active IS 'False when the policy is inactive: the customer is not dunned (its state is kept).';

-- ------------------------------------------------- FR_STANDARD (shipped)

INSERT INTO ar.dunning_policy (code, name, description, is_default, min_days_between, fallback_language, shipped)
VALUES ('FR_STANDARD', 'Relances standard (France)',
        'Courtesy e-mail 5 days before the due date, reminders at +3 and +15 days, final reminder stating the '
        'LME penalties at +30, mise en demeure by registered letter at +45, handoff for an injonction de payer at +60.',
        true, 7, 'en', true);

INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel, state_penalties, reply_days, delivery_days, shipped)
SELECT p.id, v.level, v.name, v.offset_days, v.channel, v.state_penalties, v.reply_days, v.delivery_days, true
  FROM ar.dunning_policy p,
       (VALUES (0, 'courtesy reminder', -5, 'email', false, NULL, 0),
               (1, 'first reminder', 3, 'email', false, NULL, 0),
               (2, 'second reminder', 15, 'email', false, 8, 0),
               (3, 'final reminder, penalties stated', 30, 'letter', true, 8, 2),
               (4, 'formal notice (mise en demeure)', 45, 'registered_letter', true, 8, 3),
               (5, 'legal handoff (injonction de payer)', 60, 'task', true, NULL, 0))
       v(level, name, offset_days, channel, state_penalties, reply_days, delivery_days)
 WHERE p.code = 'FR_STANDARD';

INSERT INTO ar.dunning_template (policy_id, level, language, segment, subject, body, shipped)
SELECT p.id, v.level, v.language, v.segment, v.subject, v.body, true
  FROM ar.dunning_policy p, (VALUES
-- level 0: courtesy reminder before the due date
(0, 'fr', NULL, 'Échéance prochaine de vos factures {{company_name}}',
$t$Madame, Monsieur,

Nous nous permettons de vous rappeler que les factures ci-dessous arrivent prochainement à échéance :

{{invoice_table}}

Montant total : {{amount_due}}

Vous pouvez les régler par virement sur notre compte IBAN {{company_iban}}, en indiquant les numéros de factures en référence.

Si votre règlement est déjà programmé, nous vous en remercions et vous prions de ne pas tenir compte de ce message.

Nous restons à votre disposition pour toute question.

Bien cordialement,

Le service clients
{{company_name}}$t$),
(0, 'en', NULL, 'Upcoming due date of your {{company_name}} invoices',
$t$Dear Sir or Madam,

This is a friendly reminder that the following invoices will soon fall due:

{{invoice_table}}

Total: {{amount_due}}

Payment can be made by bank transfer to our account IBAN {{company_iban}}, quoting the invoice numbers as reference.

If your payment is already scheduled, thank you, and please disregard this message.

Please do not hesitate to contact us with any question.

Kind regards,

Customer accounts
{{company_name}}$t$),
-- level 1: first reminder
(1, 'fr', NULL, 'Relance : factures échues non réglées ({{customer_code}})',
$t$Madame, Monsieur,

Sauf erreur ou omission de notre part, nous n'avons pas reçu à ce jour le règlement des factures suivantes, arrivées à échéance :

{{invoice_table}}

Montant restant dû : {{amount_due}}

Il s'agit probablement d'un simple oubli. Nous vous remercions de bien vouloir procéder à leur règlement dans les meilleurs délais, par virement sur notre compte IBAN {{company_iban}}, en rappelant les numéros de factures.

Si votre paiement nous est parvenu entre-temps, merci de ne pas tenir compte de ce courriel. Si l'une de ces factures appelle une observation de votre part, n'hésitez pas à nous contacter : nous l'examinerons avec vous sans délai.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

Le service comptabilité clients
{{company_name}}$t$),
(1, 'en', NULL, 'Reminder: overdue invoices ({{customer_code}})',
$t$Dear Sir or Madam,

According to our records, we have not yet received payment of the following invoices, which are now overdue:

{{invoice_table}}

Amount outstanding: {{amount_due}}

This is probably an oversight. We would be grateful if you could arrange payment at your earliest convenience by bank transfer to our account IBAN {{company_iban}}, quoting the invoice numbers.

If your payment has crossed with this e-mail, please disregard it. If you have any query about these invoices, please contact us so that we can look into it with you straight away.

Yours faithfully,

Accounts receivable
{{company_name}}$t$),
(1, 'fr', 'punctual', 'Vos factures échues ({{customer_code}})',
$t$Madame, Monsieur,

Vos règlements nous parviennent habituellement à bonne date, et nous vous en remercions. C'est pourquoi nous nous permettons de vous signaler que les factures suivantes, arrivées à échéance, n'apparaissent pas encore comme réglées dans nos comptes :

{{invoice_table}}

Montant restant dû : {{amount_due}}

Il s'agit sans doute d'un simple décalage. Pourriez-vous vérifier ce point et, le cas échéant, procéder au virement sur notre compte IBAN {{company_iban}} ?

Si le règlement est déjà parti, merci de ne pas tenir compte de ce message.

Bien cordialement,

Le service comptabilité clients
{{company_name}}$t$),
(1, 'en', 'punctual', 'Your invoices now due ({{customer_code}})',
$t$Dear Sir or Madam,

Your payments usually reach us on time, for which we thank you. This is why we wanted to let you know that the following invoices, now due, do not yet appear as paid in our books:

{{invoice_table}}

Amount outstanding: {{amount_due}}

It is probably just a timing difference. Could you please check and, if needed, arrange the transfer to our account IBAN {{company_iban}}?

If the payment is already on its way, please disregard this message.

Kind regards,

Accounts receivable
{{company_name}}$t$),
-- level 2: second reminder
(2, 'fr', NULL, 'Deuxième relance : factures impayées ({{customer_code}})',
$t$Madame, Monsieur,

Malgré notre relance du {{previous_notices}}, les factures suivantes restent impayées à ce jour :

{{invoice_table}}

Montant restant dû : {{amount_due}}

Nous vous demandons de bien vouloir régulariser cette situation sous {{reply_days}} jours, soit au plus tard le {{reply_by}}, par virement sur notre compte IBAN {{company_iban}}.

Nous vous rappelons que, conformément à l'article L441-10 du Code de commerce et à nos conditions générales de vente, tout retard de paiement rend exigibles de plein droit, sans qu'un rappel soit nécessaire, des pénalités de retard au taux de la Banque centrale européenne majoré de 10 points, ainsi qu'une indemnité forfaitaire pour frais de recouvrement de 40 euros par facture.

Si vous rencontrez une difficulté, contactez-nous avant cette date : nous pouvons convenir ensemble d'un échéancier.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

Le service comptabilité clients
{{company_name}}$t$),
(2, 'en', NULL, 'Second reminder: unpaid invoices ({{customer_code}})',
$t$Dear Sir or Madam,

Despite our reminder of {{previous_notices}}, the following invoices remain unpaid:

{{invoice_table}}

Amount outstanding: {{amount_due}}

Please settle this amount within {{reply_days}} days, that is by {{reply_by}} at the latest, by bank transfer to our account IBAN {{company_iban}}.

We would remind you that under Article L441-10 of the French Commercial Code and our terms of sale, any late payment automatically incurs, without any reminder being required, late-payment interest at the European Central Bank rate plus 10 percentage points and a fixed compensation for recovery costs of EUR 40 per invoice.

If you are facing any difficulty, please contact us before that date: we can agree on a payment schedule together.

Yours faithfully,

Accounts receivable
{{company_name}}$t$),
(2, 'fr', 'high_risk', 'Deuxième relance : factures impayées ({{customer_code}})',
$t$Madame, Monsieur,

Malgré notre relance du {{previous_notices}}, les factures suivantes restent impayées à ce jour :

{{invoice_table}}

Montant restant dû : {{amount_due}}

Nous vous demandons de régulariser cette situation sous {{reply_days}} jours, soit au plus tard le {{reply_by}}, par virement sur notre compte IBAN {{company_iban}}. À défaut, nous nous verrons contraints de suspendre toute nouvelle livraison ainsi que l'exécution de vos commandes en cours jusqu'au complet règlement.

Nous vous rappelons que, conformément à l'article L441-10 du Code de commerce et à nos conditions générales de vente, tout retard de paiement rend exigibles de plein droit des pénalités de retard au taux de la Banque centrale européenne majoré de 10 points, ainsi qu'une indemnité forfaitaire pour frais de recouvrement de 40 euros par facture.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

Le service comptabilité clients
{{company_name}}$t$),
(2, 'en', 'high_risk', 'Second reminder: unpaid invoices ({{customer_code}})',
$t$Dear Sir or Madam,

Despite our reminder of {{previous_notices}}, the following invoices remain unpaid:

{{invoice_table}}

Amount outstanding: {{amount_due}}

Please settle this amount within {{reply_days}} days, that is by {{reply_by}} at the latest, by bank transfer to our account IBAN {{company_iban}}. Failing this, we will have to suspend any further delivery and the performance of your pending orders until payment in full.

We would remind you that under Article L441-10 of the French Commercial Code and our terms of sale, any late payment automatically incurs late-payment interest at the European Central Bank rate plus 10 percentage points and a fixed compensation for recovery costs of EUR 40 per invoice.

Yours faithfully,

Accounts receivable
{{company_name}}$t$),
-- level 3: final reminder, penalties stated
(3, 'fr', NULL, 'Dernière relance avant mise en demeure ({{customer_code}})',
$t${{company_name}}

                                        {{customer_name}}
                                        Code client : {{customer_code}}

Le {{as_of}}

Objet : dernière relance avant mise en demeure

Madame, Monsieur,

Nos relances des {{previous_notices}} sont restées sans effet. À ce jour, les factures suivantes demeurent impayées :

{{invoice_table}}

Principal restant dû : {{amount_due}}
Pénalités de retard arrêtées au {{as_of}} : {{interest}}
Indemnités forfaitaires pour frais de recouvrement : {{indemnity}}
Total dû : {{total_due}}

Ces pénalités, calculées au taux de la Banque centrale européenne majoré de 10 points, et l'indemnité forfaitaire de 40 euros par facture sont dues de plein droit en application des articles L441-10 et D441-5 du Code de commerce. Les pénalités continuent de courir jusqu'au complet paiement.

Nous vous demandons de nous régler l'intégralité de ces sommes au plus tard le {{reply_by}}, par virement sur notre compte IBAN {{company_iban}}. À défaut, nous vous adresserons une mise en demeure par lettre recommandée avec demande d'avis de réception, préalable à une action en justice.

Si un règlement est intervenu entre-temps, nous vous prions de ne pas tenir compte de la présente.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

Le service recouvrement
{{company_name}}$t$),
(3, 'en', NULL, 'Final reminder before formal notice ({{customer_code}})',
$t${{company_name}}

                                        {{customer_name}}
                                        Customer code: {{customer_code}}

{{as_of}}

Re: final reminder before formal notice

Dear Sir or Madam,

Our reminders of {{previous_notices}} have remained unanswered. The following invoices are still unpaid:

{{invoice_table}}

Principal outstanding: {{amount_due}}
Late-payment interest as at {{as_of}}: {{interest}}
Fixed compensation for recovery costs: {{indemnity}}
Total due: {{total_due}}

This interest, at the European Central Bank rate plus 10 percentage points, and the fixed compensation of EUR 40 per invoice are due by operation of law under Articles L441-10 and D441-5 of the French Commercial Code. Interest keeps running until payment in full.

Please pay these amounts in full by {{reply_by}} at the latest, by bank transfer to our account IBAN {{company_iban}}. Failing this, we will send you a formal notice to pay by registered letter with acknowledgement of receipt, before taking legal action.

If payment has been made in the meantime, please disregard this letter.

Yours faithfully,

Credit control
{{company_name}}$t$),
-- level 4: formal notice (mise en demeure)
(4, 'fr', NULL, 'Mise en demeure de payer ({{customer_code}})',
$t${{company_name}}

                                        {{customer_name}}
                                        Code client : {{customer_code}}

LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION

Le {{as_of}}

Objet : mise en demeure de payer

Madame, Monsieur,

Malgré nos relances des {{previous_notices}}, vous restez redevable envers notre société des sommes suivantes :

{{invoice_table}}

Principal : {{amount_due}}
Pénalités de retard arrêtées au {{as_of}} : {{interest}}
Indemnités forfaitaires pour frais de recouvrement : {{indemnity}}
Total dû : {{total_due}}

En application de l'article L441-10 du Code de commerce, ces factures produisent de plein droit, depuis le lendemain de leur échéance, des pénalités de retard au taux de la Banque centrale européenne majoré de 10 points, ainsi qu'une indemnité forfaitaire pour frais de recouvrement de 40 euros par facture (article D441-5 du même code). Les pénalités continuent de courir jusqu'au complet paiement.

Par la présente, nous vous mettons en demeure de nous régler la somme de {{total_due}} dans un délai de {{reply_days}} jours à compter de la réception de ce courrier, par virement sur notre compte IBAN {{company_iban}}.

À défaut de règlement intégral au {{reply_by}}, nous saisirons sans autre avis le président du tribunal de commerce compétent d'une requête en injonction de payer (articles 1405 et suivants du Code de procédure civile), les frais de la procédure pouvant être mis à votre charge, sans préjudice de tous autres dommages et intérêts.

La présente vaut mise en demeure au sens de l'article 1344 du Code civil.

Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.

Pour {{company_name}},
Le service recouvrement$t$),
(4, 'en', NULL, 'Formal notice to pay ({{customer_code}})',
$t${{company_name}}

                                        {{customer_name}}
                                        Customer code: {{customer_code}}

REGISTERED LETTER WITH ACKNOWLEDGEMENT OF RECEIPT

{{as_of}}

Re: formal notice to pay (mise en demeure)

Dear Sir or Madam,

Despite our reminders of {{previous_notices}}, you still owe our company the following amounts:

{{invoice_table}}

Principal: {{amount_due}}
Late-payment interest as at {{as_of}}: {{interest}}
Fixed compensation for recovery costs: {{indemnity}}
Total due: {{total_due}}

Under Article L441-10 of the French Commercial Code, these invoices bear by operation of law, from the day after their due date, late-payment interest at the European Central Bank rate plus 10 percentage points, and a fixed compensation for recovery costs of EUR 40 per invoice (Article D441-5 of the same Code). Interest keeps running until payment in full.

We hereby give you formal notice to pay us the sum of {{total_due}} within {{reply_days}} days of receipt of this letter, by bank transfer to our account IBAN {{company_iban}}.

Failing payment in full by {{reply_by}}, we will, without further notice, apply to the President of the competent Commercial Court for an order for payment (injonction de payer, Articles 1405 et seq. of the French Code of Civil Procedure); the costs of the proceedings may be charged to you, without prejudice to any other damages.

This letter constitutes formal notice (mise en demeure) within the meaning of Article 1344 of the French Civil Code.

Yours faithfully,

For {{company_name}},
Credit control$t$),
-- level 5: legal handoff (a task for the collector)
(5, 'fr', NULL, 'Injonction de payer à engager : {{customer_name}} ({{customer_code}})',
$t$Dossier à transmettre pour une requête en injonction de payer.

Client : {{customer_name}} (code {{customer_code}})
Relances restées sans effet : {{previous_notices}}
Date : {{as_of}}

{{invoice_table}}

Principal : {{amount_due}}
Pénalités de retard arrêtées au {{as_of}} : {{interest}}
Indemnités forfaitaires pour frais de recouvrement : {{indemnity}}
Total réclamé : {{total_due}}

À faire :
1. Vérifier qu'aucun règlement, avoir ou litige n'est intervenu depuis la mise en demeure.
2. Réunir les pièces : factures, bons de commande ou contrat, bons de livraison signés, conditions générales de vente acceptées, relances et mise en demeure avec l'avis de réception.
3. Déposer la requête en injonction de payer au greffe du tribunal de commerce du siège du débiteur (articles 1405 et suivants du Code de procédure civile), ou la confier à l'avocat ou à la société de recouvrement.
4. Consigner chaque démarche dans l'historique du client (ar.log_interaction).

L'historique complet des échanges avec le client figure dans ar.customer_timeline.$t$),
(5, 'en', NULL, 'Order for payment to apply for: {{customer_name}} ({{customer_code}})',
$t$File to hand over for an application for an order for payment (injonction de payer).

Customer: {{customer_name}} (code {{customer_code}})
Reminders left unanswered: {{previous_notices}}
Date: {{as_of}}

{{invoice_table}}

Principal: {{amount_due}}
Late-payment interest as at {{as_of}}: {{interest}}
Fixed compensation for recovery costs: {{indemnity}}
Total claimed: {{total_due}}

To do:
1. Check that no payment, credit note or dispute has come in since the formal notice.
2. Gather the evidence: invoices, purchase orders or contract, signed delivery notes, accepted terms of sale, reminders and the formal notice with its acknowledgement of receipt.
3. File the application for an injonction de payer with the registry of the Commercial Court of the debtor's registered office (Articles 1405 et seq. of the French Code of Civil Procedure), or hand it over to the lawyer or the collection agency.
4. Record each step in the customer's history (ar.log_interaction).

The full history of exchanges with the customer is in ar.customer_timeline.$t$)
) v(level, language, segment, subject, body)
 WHERE p.code = 'FR_STANDARD';

-- ------------------------------------------------------- communications log

-- One timeline per customer: every notice and its delivery, every dispute,
-- promise, payment plan, block and policy change, and the calls, letters
-- and e-mails a collector records.  Append-only.
CREATE TABLE ar.communication (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint NOT NULL DEFAULT ar.default_company(),
	customer_id  bigint NOT NULL,
	occurred_at  timestamptz NOT NULL DEFAULT now(),
	as_of        date,
	kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,62}$'),
	direction    text CHECK (direction IN ('inbound', 'outbound', 'internal')),
	channel      text,
	summary      text NOT NULL,
	detail       text,
	proof_ref    text,
	invoice_id   bigint,
	notice_id    bigint,
	dispute_id   bigint,
	promise_id   bigint,
	plan_id      bigint,
	block_id     bigint,
	actor        text NOT NULL DEFAULT session_user,
	role         text NOT NULL DEFAULT current_setting('role'),
	via          text DEFAULT nullif(current_setting('application_name', true), ''),
	recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX communication_customer ON ar.communication (customer_id, occurred_at);

CREATE FUNCTION ar._communication_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'ar.communication is append-only'
		USING ERRCODE = 'insufficient_privilege',
		      HINT = 'Record a correction as a new entry with ar.log_interaction().';
END $$;

CREATE TRIGGER communication_append_only BEFORE UPDATE OR DELETE ON ar.communication
	FOR EACH ROW EXECUTE FUNCTION ar._communication_guard();
CREATE TRIGGER communication_no_truncate BEFORE TRUNCATE ON ar.communication
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

CREATE FUNCTION ar._customer_or_error(customer_id bigint) RETURNS ar.customer
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c ar.customer;
BEGIN
	SELECT * INTO c FROM ar.customer x WHERE x.id = _customer_or_error.customer_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(customer_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	RETURN c;
END $$;

CREATE FUNCTION ar._require_text(what text, value text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF coalesce(btrim(value), '') = '' THEN
		RAISE EXCEPTION '% is required', what USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;

-- A call, letter, e-mail, meeting or note, recorded by a collector.
CREATE FUNCTION ar.log_interaction(customer_id bigint, kind text, summary text,
                                   direction text DEFAULT NULL, proof_ref text DEFAULT NULL,
                                   occurred_at timestamptz DEFAULT now(), invoice_id bigint DEFAULT NULL,
                                   detail text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	entry_id bigint;
BEGIN
	c := ar._customer_or_error(customer_id);
	IF kind IS NULL OR kind NOT IN ('call', 'email', 'letter', 'registered_letter', 'sms', 'meeting', 'visit', 'note') THEN
		RAISE EXCEPTION 'unknown interaction kind "%"', coalesce(kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use call, email, letter, registered_letter, sms, meeting, visit or note.';
	END IF;
	PERFORM ar._require_text('a summary', summary);
	IF direction IS NOT NULL AND direction NOT IN ('inbound', 'outbound', 'internal') THEN
		RAISE EXCEPTION 'direction must be inbound, outbound or internal, not "%"', direction
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF occurred_at IS NULL OR NOT isfinite(occurred_at) THEN
		RAISE EXCEPTION 'occurred_at must be a finite time, not %', coalesce(occurred_at::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF invoice_id IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM ar.invoice i WHERE i.id = log_interaction.invoice_id AND i.customer_id = c.id) THEN
		RAISE EXCEPTION 'invoice % is not an invoice of customer %',
			coalesce((SELECT i.number FROM ar.invoice i WHERE i.id = log_interaction.invoice_id), invoice_id::text), c.code
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	INSERT INTO ar.communication (company_id, customer_id, occurred_at, as_of, kind, direction, channel, summary,
	                              detail, proof_ref, invoice_id)
	VALUES (c.company_id, c.id, log_interaction.occurred_at, log_interaction.occurred_at::date, log_interaction.kind,
	        log_interaction.direction, log_interaction.kind, log_interaction.summary, log_interaction.detail,
	        log_interaction.proof_ref, log_interaction.invoice_id)
	RETURNING id INTO entry_id;
	RETURN entry_id;
END $$;

-- -------------------------------------------------------------- exclusions

CREATE TABLE ar.dispute (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint NOT NULL DEFAULT ar.default_company(),
	invoice_id   bigint NOT NULL REFERENCES ar.invoice,
	customer_id  bigint NOT NULL,
	reason       text NOT NULL,
	opened_on    date,           -- NULL: counts on every run date while open
	opened_at    timestamptz NOT NULL DEFAULT now(),
	opened_by    text NOT NULL DEFAULT session_user,
	resolution   text,
	resolved_on  date,           -- NULL once resolved: counts on no run date any more
	resolved_at  timestamptz,
	resolved_by  text,
	CONSTRAINT dispute_resolved_after_opened CHECK (resolved_on >= opened_on)
);
CREATE UNIQUE INDEX dispute_one_open ON ar.dispute (invoice_id) WHERE resolved_at IS NULL;
CREATE INDEX dispute_invoice ON ar.dispute (invoice_id);

CREATE TABLE ar.payment_promise (
	id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id       bigint NOT NULL DEFAULT ar.default_company(),
	invoice_id       bigint NOT NULL REFERENCES ar.invoice,
	customer_id      bigint NOT NULL,
	promised_on      date NOT NULL,
	amount           numeric NOT NULL CHECK (amount > 0 AND amount <> 'Infinity'),
	made_on          date,        -- NULL: counts on every run date up to promised_on
	open_at_promise  numeric NOT NULL,
	status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'kept', 'broken')),
	settled_on       date,        -- run date that found it kept or broken
	made_at          timestamptz NOT NULL DEFAULT now(),
	made_by          text NOT NULL DEFAULT session_user,
	CONSTRAINT payment_promise_after_made CHECK (promised_on >= made_on)
);
CREATE INDEX payment_promise_invoice ON ar.payment_promise (invoice_id);
CREATE INDEX payment_promise_pending ON ar.payment_promise (promised_on) WHERE status = 'pending';

CREATE TABLE ar.payment_plan (
	id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id     bigint NOT NULL DEFAULT ar.default_company(),
	customer_id    bigint NOT NULL REFERENCES ar.customer,
	currency       char(3) NOT NULL,
	total          numeric NOT NULL CHECK (total > 0),
	starts_on      date,          -- NULL: covers its invoices on every run date
	grace_days     integer NOT NULL DEFAULT 0 CHECK (grace_days >= 0),
	note           text,
	status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'broken', 'cancelled')),
	status_on      date,
	created_at     timestamptz NOT NULL DEFAULT now(),
	created_by     text NOT NULL DEFAULT session_user,
	cancelled_at   timestamptz,
	cancelled_on   date,
	cancel_reason  text
);

CREATE TABLE ar.payment_plan_invoice (
	plan_id     bigint NOT NULL REFERENCES ar.payment_plan ON DELETE CASCADE,
	invoice_id  bigint NOT NULL REFERENCES ar.invoice,
	id          bigint GENERATED BY DEFAULT AS IDENTITY UNIQUE,
	PRIMARY KEY (plan_id, invoice_id)
);
CREATE INDEX payment_plan_invoice_invoice ON ar.payment_plan_invoice (invoice_id);

CREATE TABLE ar.payment_plan_instalment (
	plan_id  bigint NOT NULL REFERENCES ar.payment_plan ON DELETE CASCADE,
	seq      integer NOT NULL CHECK (seq > 0),
	due_on   date NOT NULL,
	amount   numeric NOT NULL CHECK (amount > 0 AND amount <> 'Infinity'),
	id       bigint GENERATED BY DEFAULT AS IDENTITY UNIQUE,
	PRIMARY KEY (plan_id, seq)
);

CREATE TABLE ar.dunning_block (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint NOT NULL DEFAULT ar.default_company(),
	customer_id  bigint NOT NULL REFERENCES ar.customer,
	from_on      date,            -- NULL: every run date before until
	until        date NOT NULL,
	reason       text NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	created_by   text NOT NULL DEFAULT session_user,
	lifted_at    timestamptz,
	lifted_on    date,            -- NULL once lifted: blocks no run date any more
	lifted_by    text,
	lift_reason  text,
	CONSTRAINT dunning_block_period CHECK (until > from_on)
);
CREATE INDEX dunning_block_customer ON ar.dunning_block (customer_id);

-- open amount of an invoice on a date (allocations dated after it not counted)
CREATE FUNCTION ar._open_on(invoice_id bigint, on_date date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN i.cancelled_on IS NOT NULL THEN CASE WHEN i.cancelled_on > on_date THEN i.amount ELSE 0 END
	            ELSE i.amount - coalesce((SELECT sum(a.amount) FROM ar.allocation a
	                                       WHERE a.invoice_id = i.id AND a.allocated_on <= on_date), 0)
	       END
	  FROM ar.invoice i WHERE i.id = _open_on.invoice_id
$$;

-- what the invoices of a plan still owe on a date
CREATE FUNCTION ar._plan_outstanding(plan_id bigint, on_date date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT coalesce(sum(ar._open_on(pi.invoice_id, on_date)), 0)
	  FROM ar.payment_plan_invoice pi WHERE pi.plan_id = _plan_outstanding.plan_id
$$;

-- The first day a plan counts as broken, as seen on run date as_of: the day
-- after the grace period of the first instalment that, once its grace
-- period was over, left more owed than the instalments still to come.
-- NULL while every instalment due so far is paid.
CREATE FUNCTION ar._plan_broken_on(plan_id bigint, as_of date) RETURNS date
LANGUAGE sql STABLE AS $$
	SELECT min(s.due_on + p.grace_days + 1)
	  FROM ar.payment_plan p
	  JOIN (SELECT i.plan_id, i.due_on, sum(i.amount) OVER (ORDER BY i.seq) AS paid_by_then
	          FROM ar.payment_plan_instalment i WHERE i.plan_id = _plan_broken_on.plan_id) s ON s.plan_id = p.id
	 WHERE p.id = _plan_broken_on.plan_id
	   AND s.due_on + p.grace_days < as_of
	   AND ar._plan_outstanding(p.id, s.due_on + p.grace_days) > p.total - s.paid_by_then
$$;

-- Each instalment of a plan and where it stands on as_of.
CREATE FUNCTION ar.payment_plan_schedule(plan_id bigint, as_of date DEFAULT current_date)
RETURNS TABLE (seq integer, due_on date, amount numeric, cumulative numeric, may_still_owe numeric,
               owed_after_grace numeric, state text)
LANGUAGE sql STABLE AS $$
	SELECT s.seq, s.due_on, s.amount, s.cumulative, p.total - s.cumulative,
	       CASE WHEN s.due_on + p.grace_days < as_of THEN ar._plan_outstanding(p.id, s.due_on + p.grace_days) END,
	       CASE WHEN s.due_on + p.grace_days >= as_of THEN 'due'
	            WHEN ar._plan_outstanding(p.id, s.due_on + p.grace_days) > p.total - s.cumulative THEN 'missed'
	            ELSE 'paid' END
	  FROM ar.payment_plan p
	  JOIN (SELECT i.plan_id, i.seq, i.due_on, i.amount, sum(i.amount) OVER (ORDER BY i.seq) AS cumulative
	          FROM ar.payment_plan_instalment i WHERE i.plan_id = payment_plan_schedule.plan_id) s ON s.plan_id = p.id
	 WHERE p.id = payment_plan_schedule.plan_id
	 ORDER BY s.seq
$$;

CREATE FUNCTION ar._invoice_or_error(invoice_id bigint, for_update boolean DEFAULT true) RETURNS ar.invoice
LANGUAGE plpgsql AS $$
DECLARE
	inv ar.invoice;
BEGIN
	IF for_update THEN
		SELECT * INTO inv FROM ar.invoice i WHERE i.id = _invoice_or_error.invoice_id FOR UPDATE;
	ELSE
		SELECT * INTO inv FROM ar.invoice i WHERE i.id = _invoice_or_error.invoice_id;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', coalesce(invoice_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	RETURN inv;
END $$;

CREATE FUNCTION ar.open_dispute(invoice_id bigint, reason text, opened_on date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	open_one ar.dispute;
	dispute_id bigint;
BEGIN
	PERFORM ar._require_text('a reason', reason);
	inv := ar._invoice_or_error(invoice_id);
	IF inv.amount <= 0 THEN
		RAISE EXCEPTION 'invoice % is a credit note: there is nothing to dispute', inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF inv.cancelled_on IS NOT NULL THEN
		RAISE EXCEPTION 'invoice % is cancelled', inv.number USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	SELECT * INTO open_one FROM ar.dispute d WHERE d.invoice_id = inv.id AND d.resolved_at IS NULL;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice % is already disputed', inv.number
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('Dispute %s is open since %s: %s', open_one.id,
			                      coalesce(open_one.opened_on::text, open_one.opened_at::date::text), open_one.reason);
	END IF;
	INSERT INTO ar.dispute (company_id, invoice_id, customer_id, reason, opened_on)
	VALUES (inv.company_id, inv.id, inv.customer_id, reason, open_dispute.opened_on)
	RETURNING id INTO dispute_id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, dispute_id)
	VALUES (inv.company_id, inv.customer_id, open_dispute.opened_on, 'dispute_opened', 'inbound',
	        format('Invoice %s disputed: %s', inv.number, reason), inv.id, dispute_id);
	-- the flag the ERP and ar.invoice.status show (its trigger sees the open dispute)
	UPDATE ar.invoice i SET disputed = true WHERE i.id = inv.id AND NOT i.disputed;
	RETURN dispute_id;
END $$;

CREATE FUNCTION ar.resolve_dispute(invoice_id bigint, resolution text, resolved_on date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	d ar.dispute;
BEGIN
	PERFORM ar._require_text('a resolution', resolution);
	inv := ar._invoice_or_error(invoice_id);
	SELECT * INTO d FROM ar.dispute x WHERE x.invoice_id = inv.id AND x.resolved_at IS NULL FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % is not disputed', inv.number USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF resolved_on < d.opened_on THEN
		RAISE EXCEPTION 'dispute % was opened on %, it cannot be resolved on %', d.id, d.opened_on, resolved_on
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE ar.dispute x
	   SET resolution = resolve_dispute.resolution, resolved_on = resolve_dispute.resolved_on,
	       resolved_at = now(), resolved_by = session_user
	 WHERE x.id = d.id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, dispute_id)
	VALUES (inv.company_id, inv.customer_id, resolve_dispute.resolved_on, 'dispute_resolved', 'internal',
	        format('Dispute on invoice %s resolved: %s', inv.number, resolution), inv.id, d.id);
	UPDATE ar.invoice i SET disputed = false WHERE i.id = inv.id AND i.disputed;
	RETURN d.id;
END $$;

-- ar.invoice.disputed set or cleared directly (by an ERP) opens or resolves
-- the dispute, so that dunning and the timeline see it as well.
CREATE FUNCTION ar._invoice_dispute_flag() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	d ar.dispute;
BEGIN
	IF current_setting('ar_collect.restoring', true) = 'on' THEN
		RETURN NULL;  -- pg_restore reloads the disputes as they were
	END IF;
	IF NEW.disputed AND NOT EXISTS (SELECT 1 FROM ar.dispute x WHERE x.invoice_id = NEW.id AND x.resolved_at IS NULL) THEN
		INSERT INTO ar.dispute (company_id, invoice_id, customer_id, reason)
		VALUES (NEW.company_id, NEW.id, NEW.customer_id, 'flagged as disputed on ar.invoice')
		RETURNING * INTO d;
		INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary, invoice_id, dispute_id)
		VALUES (NEW.company_id, NEW.customer_id, 'dispute_opened', 'inbound',
		        format('Invoice %s flagged as disputed', NEW.number), NEW.id, d.id);
	ELSIF NOT NEW.disputed THEN
		FOR d IN UPDATE ar.dispute x
		            SET resolution = 'flag cleared on ar.invoice', resolved_at = now(), resolved_by = session_user
		          WHERE x.invoice_id = NEW.id AND x.resolved_at IS NULL
		      RETURNING * LOOP
			INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary, invoice_id, dispute_id)
			VALUES (NEW.company_id, NEW.customer_id, 'dispute_resolved', 'internal',
			        format('Dispute flag of invoice %s cleared', NEW.number), NEW.id, d.id);
		END LOOP;
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER invoice_dispute_flag_insert AFTER INSERT ON ar.invoice
	FOR EACH ROW WHEN (NEW.disputed) EXECUTE FUNCTION ar._invoice_dispute_flag();
CREATE TRIGGER invoice_dispute_flag_update AFTER UPDATE OF disputed ON ar.invoice
	FOR EACH ROW WHEN (OLD.disputed IS DISTINCT FROM NEW.disputed) EXECUTE FUNCTION ar._invoice_dispute_flag();

CREATE FUNCTION ar.promise_to_pay(invoice_id bigint, promised_on date, amount numeric, made_on date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	open_then numeric;
	promise_id bigint;
BEGIN
	inv := ar._invoice_or_error(invoice_id);
	IF promised_on IS NULL OR NOT isfinite(promised_on) THEN
		RAISE EXCEPTION 'a promise needs a finite promised date, not %', coalesce(promised_on::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF made_on > promised_on THEN
		RAISE EXCEPTION 'a promise made on % cannot be for %', made_on, promised_on USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._require_positive('promised amount', amount);
	IF inv.amount <= 0 OR inv.cancelled_on IS NOT NULL THEN
		RAISE EXCEPTION 'invoice % is a credit note or cancelled: nothing is owed on it', inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	open_then := CASE WHEN made_on IS NULL THEN inv.open_amount ELSE ar._open_on(inv.id, made_on) END;
	IF open_then <= 0 THEN
		RAISE EXCEPTION 'invoice % is already paid', inv.number USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF amount > open_then THEN
		RAISE EXCEPTION 'a promise of % exceeds the open amount % of invoice %', amount, open_then, inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO ar.payment_promise (company_id, invoice_id, customer_id, promised_on, amount, made_on, open_at_promise)
	VALUES (inv.company_id, inv.id, inv.customer_id, promise_to_pay.promised_on, promise_to_pay.amount,
	        promise_to_pay.made_on, open_then)
	RETURNING id INTO promise_id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, promise_id)
	VALUES (inv.company_id, inv.customer_id, made_on, 'promise', 'inbound',
	        format('Promise to pay %s on invoice %s by %s', ar.format_money(amount, inv.currency), inv.number, promised_on),
	        inv.id, promise_id);
	RETURN promise_id;
END $$;

-- A payment plan: instalments (due dates and amounts; amounts NULL: equal
-- shares to the cent, the last one taking the remainder) covering open
-- invoices of one customer and currency.  The instalments must add up to
-- what the invoices owe.
CREATE FUNCTION ar.create_payment_plan(customer_id bigint, invoice_ids bigint[], due_dates date[],
                                       amounts numeric[] DEFAULT NULL, starts_on date DEFAULT NULL,
                                       grace_days integer DEFAULT 0, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	n integer := cardinality(due_dates);
	total numeric;
	currencies text[];
	share numeric;
	bad record;
	plan_id bigint;
	numbers text;
BEGIN
	c := ar._customer_or_error(customer_id);
	IF coalesce(cardinality(invoice_ids), 0) = 0 THEN
		RAISE EXCEPTION 'a payment plan covers at least one invoice' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF coalesce(n, 0) = 0 THEN
		RAISE EXCEPTION 'a payment plan has at least one instalment' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_position(invoice_ids, NULL) IS NOT NULL OR array_position(due_dates, NULL) IS NOT NULL
	   OR (amounts IS NOT NULL AND array_position(amounts, NULL) IS NOT NULL) THEN
		RAISE EXCEPTION 'invoice ids, due dates and amounts cannot contain NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF grace_days IS NULL OR grace_days < 0 THEN
		RAISE EXCEPTION 'grace_days must be zero or more, not %', coalesce(grace_days::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR i IN 2..n LOOP
		IF due_dates[i] <= due_dates[i - 1] THEN
			RAISE EXCEPTION 'instalment % is due on %, not after instalment % (%)', i, due_dates[i], i - 1, due_dates[i - 1]
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
	IF starts_on > due_dates[1] THEN
		RAISE EXCEPTION 'the plan starts on %, after its first instalment (%)', starts_on, due_dates[1]
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- lock the invoices, in id order
	PERFORM 1 FROM ar.invoice i WHERE i.id = ANY (invoice_ids) ORDER BY i.id FOR UPDATE;
	SELECT u.id AS invoice_id, i.number, i.customer_id, i.amount, i.open_amount, i.cancelled_on INTO bad
	  FROM unnest(invoice_ids) u(id) LEFT JOIN ar.invoice i ON i.id = u.id
	 WHERE i.id IS NULL OR i.customer_id <> c.id OR i.amount <= 0 OR i.open_amount <= 0 OR i.cancelled_on IS NOT NULL
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice % cannot be in a payment plan of customer %', coalesce(bad.number, bad.invoice_id::text), c.code
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = CASE WHEN bad.number IS NULL THEN 'It does not exist.'
			                    WHEN bad.customer_id <> c.id THEN 'It belongs to another customer.'
			                    ELSE 'Only open invoices (not credit notes, not cancelled) can be.' END;
	END IF;
	IF (SELECT count(DISTINCT u) FROM unnest(invoice_ids) u) <> cardinality(invoice_ids) THEN
		RAISE EXCEPTION 'an invoice is listed twice in the payment plan' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT i.number INTO numbers
	  FROM ar.payment_plan_invoice pi JOIN ar.payment_plan p ON p.id = pi.plan_id JOIN ar.invoice i ON i.id = pi.invoice_id
	 WHERE pi.invoice_id = ANY (invoice_ids) AND p.status = 'active'
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice % is already in an active payment plan', numbers
			USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Cancel that plan first (ar.cancel_payment_plan).';
	END IF;
	SELECT sum(i.open_amount), array_agg(DISTINCT i.currency::text), string_agg(i.number, ', ' ORDER BY i.due_date, i.number)
	  INTO total, currencies, numbers
	  FROM ar.invoice i WHERE i.id = ANY (invoice_ids);
	IF cardinality(currencies) > 1 THEN
		RAISE EXCEPTION 'a payment plan covers invoices of one currency, not %', array_to_string(currencies, ', ')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF amounts IS NULL THEN
		share := trunc(total / n, 2);
		amounts := array_fill(share, ARRAY[n]);
		amounts[n] := total - share * (n - 1);
	ELSIF cardinality(amounts) <> n THEN
		RAISE EXCEPTION '% due dates but % amounts', n, cardinality(amounts) USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR i IN 1..n LOOP
		PERFORM ar._require_positive(format('instalment %s', i), amounts[i]);
	END LOOP;
	IF (SELECT sum(a) FROM unnest(amounts) a) <> total THEN
		RAISE EXCEPTION 'the instalments add up to %, the invoices owe %', (SELECT sum(a) FROM unnest(amounts) a), total
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO ar.payment_plan (company_id, customer_id, currency, total, starts_on, grace_days, note)
	VALUES (c.company_id, c.id, currencies[1], total, create_payment_plan.starts_on, create_payment_plan.grace_days,
	        create_payment_plan.note)
	RETURNING id INTO plan_id;
	INSERT INTO ar.payment_plan_invoice (plan_id, invoice_id) SELECT plan_id, u FROM unnest(invoice_ids) u;
	INSERT INTO ar.payment_plan_instalment (plan_id, seq, due_on, amount)
	SELECT plan_id, s, due_dates[s], amounts[s] FROM generate_series(1, n) s;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, detail, plan_id)
	VALUES (c.company_id, c.id, starts_on, 'plan_created', 'internal',
	        format('Payment plan of %s instalment(s) for %s, from %s to %s', n, ar.format_money(total, currencies[1]),
	               due_dates[1], due_dates[n]),
	        format('Invoices: %s', numbers), plan_id);
	RETURN plan_id;
END $$;

CREATE FUNCTION ar.cancel_payment_plan(plan_id bigint, reason text, cancelled_on date DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.payment_plan;
BEGIN
	PERFORM ar._require_text('a reason', reason);
	SELECT * INTO p FROM ar.payment_plan x WHERE x.id = cancel_payment_plan.plan_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'payment plan % does not exist', coalesce(plan_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status = 'cancelled' THEN
		RAISE EXCEPTION 'payment plan % is already cancelled', p.id USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	UPDATE ar.payment_plan x
	   SET status = 'cancelled', status_on = cancel_payment_plan.cancelled_on, cancelled_at = now(),
	       cancelled_on = cancel_payment_plan.cancelled_on, cancel_reason = reason
	 WHERE x.id = p.id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, plan_id)
	VALUES (p.company_id, p.customer_id, cancelled_on, 'plan_cancelled', 'internal',
	        format('Payment plan %s cancelled: %s', p.id, reason), p.id);
END $$;

CREATE FUNCTION ar.block_dunning(customer_id bigint, until date, reason text, from_on date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	block_id bigint;
BEGIN
	c := ar._customer_or_error(customer_id);
	IF until IS NULL THEN
		RAISE EXCEPTION 'a block needs an end date (until); use ''infinity'' for an open-ended one'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._require_text('a reason', reason);
	IF from_on >= until THEN
		RAISE EXCEPTION 'a block from % must end after it, not on %', from_on, until USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO ar.dunning_block (company_id, customer_id, from_on, until, reason)
	VALUES (c.company_id, c.id, block_dunning.from_on, block_dunning.until, block_dunning.reason)
	RETURNING id INTO block_id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, block_id)
	VALUES (c.company_id, c.id, from_on, 'block', 'internal',
	        format('Dunning blocked%s until %s: %s', ' from ' || from_on, until, reason), block_id);
	RETURN block_id;
END $$;

CREATE FUNCTION ar.unblock_dunning(customer_id bigint, reason text, lifted_on date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	b ar.dunning_block;
	lifted integer := 0;
BEGIN
	c := ar._customer_or_error(customer_id);
	PERFORM ar._require_text('a reason', reason);
	FOR b IN UPDATE ar.dunning_block x
	            SET lifted_at = now(), lifted_on = unblock_dunning.lifted_on, lifted_by = session_user,
	                lift_reason = unblock_dunning.reason
	          WHERE x.customer_id = c.id AND x.lifted_at IS NULL
	            AND (unblock_dunning.lifted_on IS NULL OR x.until > unblock_dunning.lifted_on)
	      RETURNING * LOOP
		lifted := lifted + 1;
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, block_id)
		VALUES (c.company_id, c.id, lifted_on, 'block_lifted', 'internal',
		        format('Dunning block %s lifted%s: %s', b.id, ' on ' || lifted_on, reason), b.id);
	END LOOP;
	RETURN lifted;
END $$;

CREATE FUNCTION ar.set_dunning_policy(customer_id bigint, policy_code text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	p ar.dunning_policy;
BEGIN
	c := ar._customer_or_error(customer_id);
	IF policy_code IS NULL THEN
		DELETE FROM ar.customer_dunning_policy x WHERE x.customer_id = c.id;
	ELSE
		SELECT * INTO p FROM ar.dunning_policy d WHERE d.code = policy_code;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'dunning policy "%" does not exist', policy_code USING ERRCODE = 'no_data_found';
		END IF;
		INSERT INTO ar.customer_dunning_policy (customer_id, policy_id) VALUES (c.id, p.id)
		ON CONFLICT ON CONSTRAINT customer_dunning_policy_pkey
		DO UPDATE SET policy_id = EXCLUDED.policy_id, set_at = now(), set_by = session_user;
	END IF;
	INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary)
	VALUES (c.company_id, c.id, 'policy', 'internal',
	        coalesce('Dunning policy set to ' || policy_code, 'Own dunning policy removed (segment or default policy applies)'));
END $$;

-- ------------------------------------------------------------------- outbox

-- The transactional outbox: one row per notice queued, rendered at queue
-- time; the sender reads the queued ones (or LISTENs to ar_dunning) and
-- reports delivery with ar.mark_notice.  The contract's columns come first.
CREATE TABLE ar.dunning_notice (
	id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	customer_id    bigint NOT NULL,
	level          integer NOT NULL,
	level_name     text NOT NULL,
	channel        text NOT NULL CHECK (channel IN ('email', 'sms', 'letter', 'registered_letter', 'task')),
	subject        text,
	body           text NOT NULL,
	invoice_ids    bigint[] NOT NULL,
	amount_due     numeric NOT NULL,
	penalties      numeric,
	status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
	as_of          date NOT NULL,
	created_at     timestamptz NOT NULL DEFAULT now(),
	company_id     bigint NOT NULL,
	currency       char(3) NOT NULL,
	policy_id      bigint NOT NULL,
	cycle          integer NOT NULL,
	language       text NOT NULL,
	recipient      text,
	interest       numeric,
	indemnity      numeric,
	fee            numeric NOT NULL DEFAULT 0,
	reply_by       date,
	status_at      timestamptz,
	provider_ref   text,
	status_detail  text,
	-- idempotency from the data: one notice per account and run date, one
	-- notice of each level per cycle that is not failed or cancelled
	CONSTRAINT dunning_notice_once_per_run_date UNIQUE (customer_id, currency, as_of)
);
CREATE UNIQUE INDEX dunning_notice_level_once_per_cycle ON ar.dunning_notice (customer_id, currency, cycle, level)
	WHERE status IN ('queued', 'sent');
CREATE INDEX dunning_notice_queued ON ar.dunning_notice (id) WHERE status = 'queued';
-- letters are queued compressed (ar._compress_letter); those of rows over
-- about 2 kB PostgreSQL compresses itself: with LZ4 too, where it has it
DO $$
BEGIN
	ALTER TABLE ar.dunning_notice ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	NULL;
END $$;
-- run dates follow insertion order: a BRIN index costs next to nothing to keep
CREATE INDEX dunning_notice_as_of ON ar.dunning_notice USING brin (as_of);

-- Escalation state of each dunning account (customer and currency).
CREATE TABLE ar.dunning_account (
	customer_id     bigint NOT NULL,
	currency        char(3) NOT NULL,
	cycle           integer NOT NULL DEFAULT 1,
	level           integer,       -- C: level of the last notice of the cycle not failed or cancelled
	last_notice_id  bigint,        -- last notice of any cycle not failed or cancelled
	last_notice_on  date,          -- its run date
	changed_on      date,          -- run date that last changed it (a notice, a new cycle)
	updated_at      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (customer_id, currency)
) WITH (fillfactor = 70);   -- room for the HOT updates of each notice

-- One row per run date queued for real: a second run for the same date
-- queues nothing.
CREATE TABLE ar.dunning_run (
	as_of          date PRIMARY KEY,
	started_at     timestamptz NOT NULL,
	finished_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
	run_by         text NOT NULL DEFAULT session_user,
	run_role       text NOT NULL DEFAULT current_setting('role'),
	via            text DEFAULT nullif(current_setting('application_name', true), ''),
	accounts       integer NOT NULL,
	notices        integer NOT NULL,
	cycles_closed  integer NOT NULL
);

-- Level C and last notice of an account, recomputed from its notices (after
-- a notice is marked failed or cancelled).
CREATE FUNCTION ar._dunning_account_refresh(customer_id bigint, currency char(3)) RETURNS void
LANGUAGE sql AS $$
	UPDATE ar.dunning_account a
	   SET level = (SELECT n.level FROM ar.dunning_notice n
	                 WHERE n.customer_id = a.customer_id AND n.currency = a.currency AND n.cycle = a.cycle
	                   AND n.status IN ('queued', 'sent')
	                 ORDER BY n.as_of DESC, n.id DESC LIMIT 1),
	       (last_notice_id, last_notice_on) =
	           (SELECT n.id, n.as_of FROM ar.dunning_notice n
	             WHERE n.customer_id = a.customer_id AND n.currency = a.currency AND n.status IN ('queued', 'sent')
	             ORDER BY n.as_of DESC, n.id DESC LIMIT 1),
	       updated_at = now()
	 WHERE a.customer_id = _dunning_account_refresh.customer_id AND a.currency = _dunning_account_refresh.currency
$$;

-- ------------------------------------------------------------- the rule

-- The open invoices of each dunning account in order, with what a run reads
-- of them: ar.run_dunning reads them account by account from the index
-- alone (where the visibility map allows), without sorting a million rows.
CREATE INDEX invoice_open_account ON ar.invoice (customer_id, currency, due_date)
	INCLUDE (id, number, amount, open_amount, issue_date, cancelled_on, penalty_regime, penalty_rate)
	WHERE open_amount <> 0;

-- The work tables of ar.run_dunning: created once per transaction (ON COMMIT
-- DROP), emptied and filled again by a later run in the same transaction,
-- so that simulating many run dates in one transaction does not pile up
-- locks on temporary relations.  With key, the table is created with a
-- unique index on that column (a join knowing the key unique needs no
-- mark and restore).  Returns the number of rows written.
CREATE FUNCTION ar._dunning_work_table(name text, query text, key text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	written bigint;
BEGIN
	IF to_regclass('pg_temp.' || name) IS NULL THEN
		EXECUTE format('CREATE TEMP TABLE %I ON COMMIT DROP AS %s', name, query);
		GET DIAGNOSTICS written = ROW_COUNT;
		IF key IS NOT NULL THEN
			EXECUTE format('CREATE UNIQUE INDEX ON pg_temp.%I (%I)', name, key);
		END IF;
	ELSE
		EXECUTE format('TRUNCATE pg_temp.%I', name);
		EXECUTE format('INSERT INTO pg_temp.%I %s', name, query);
		GET DIAGNOSTICS written = ROW_COUNT;
	END IF;
	RETURN written;
END $$;

-- Applies the escalation rule of the contract on run date as_of to every
-- dunning account, and queues (unless dry_run) the notices it decides:
--  0. customers blocked on as_of, or whose policy is inactive, are skipped
--     (their state is kept);
--  1. dunnable invoices: positive open amount on as_of (issued by then,
--     allocations dated after as_of not counted), not disputed, promised or
--     covered by a payment plan in force on as_of;
--  2. R: highest level whose offset <= as_of - due_date over them;
--  3. C: level of the last notice of the cycle not failed or cancelled; a
--     new cycle starts (C none) on a run date where R is none (an account
--     whose state was changed by a later run date is left alone: runs go
--     forward in time);
--  4. N = 0 when R = 0, else min(R, max(C, 0) + 1);
--  5. queued when N > C, the last notice of any cycle (not failed or
--     cancelled) was queued at least min_days_between (7) days before
--     as_of, and the amount due reaches the level's min_amount.  It lists
--     the dunnable invoices that reached level 1 (level 0 for a level 0
--     notice) with their open amounts and the penalties accrued on as_of
--     (ar.invoice_penalty, when installed).
-- Each queued notice is a row of ar.dunning_notice, an entry of the
-- communications log and a NOTIFY ar_dunning carrying its id, in the
-- transaction of the run.  A second run for the same date queues nothing.
CREATE FUNCTION ar.run_dunning(as_of date DEFAULT current_date, dry_run boolean DEFAULT false)
RETURNS SETOF ar.dunning_notice
LANGUAGE plpgsql SECURITY DEFINER
-- a batch of set-based statements over work tables: compiling each one
-- costs more than it saves (work_mem: see run_work_mem)
SET search_path = pg_catalog, ar, pg_temp SET jit = off
-- the work tables are analyzed from a small sample, enough for join plans;
-- no nested loops over work tables whose size the planner may misjudge
SET default_statistics_target = 10 SET enable_nestloop = off
AS $$
#variable_conflict use_column
DECLARE
	x constant date := run_dunning.as_of;
	real_run constant boolean := NOT run_dunning.dry_run;
	started constant timestamptz := clock_timestamp();
	-- how penalties are computed: by the penalty engine for every listed
	-- invoice in one statement (the set-based core of ar.invoice_penalty),
	-- else by ar.invoice_penalty, else not at all (NULL)
	penalty_mode constant text := CASE
		WHEN to_regprocedure('ar._penalty_compute(text,numeric,date,date,date[],numeric[],numeric,text,boolean)') IS NOT NULL
		     AND to_regclass('ar.penalty_claim') IS NOT NULL THEN 'engine'
		WHEN to_regprocedure('ar.invoice_penalty(bigint,date)') IS NOT NULL THEN 'function'
		ELSE 'none' END;
	-- the sorts and hashes of the run in memory (at least 256 MB), the rows
	-- it returns within the caller's work_mem, as any set-returning
	-- function's (beyond it they spill to a temporary file): set locally,
	-- the caller's value restored before returning
	caller_work_mem constant text := current_setting('work_mem');
	run_work_mem constant text := CASE WHEN pg_size_bytes(caller_work_mem) < pg_size_bytes('256MB')
	                                   THEN '256MB' ELSE caller_work_mem END;
	caller_enable_sort constant text := current_setting('enable_sort');
	claims boolean := false;        -- penalty decisions exist (ar.penalty_claim)
	paid_since boolean;             -- allocations dated after x exist
	cancelled_since boolean;        -- invoices cancelled after x exist
	lead_days integer;
	closed integer := 0;
	accounts integer;
	queued integer;
	problems bigint;
	first_problem text;
	missing record;
	out_query text;
	step_at timestamptz := clock_timestamp();    -- step timings, at DEBUG1
BEGIN
	IF x IS NULL OR NOT isfinite(x) THEN
		RAISE EXCEPTION 'run_dunning needs a finite as_of date, not %', coalesce(x::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF run_dunning.dry_run IS NULL THEN
		RAISE EXCEPTION 'dry_run must be true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF real_run THEN
		-- runs queue one after the other; a date already run queues nothing
		PERFORM pg_advisory_xact_lock(hashtext('ar_collect.run_dunning'));
		IF EXISTS (SELECT 1 FROM ar.dunning_run r WHERE r.as_of = x) THEN
			RETURN;
		END IF;
	END IF;
	PERFORM set_config('work_mem', run_work_mem, true);
	IF real_run THEN
		-- promises whose date has passed: kept or broken
		WITH settled AS (
			UPDATE ar.payment_promise pr
			   SET status = CASE WHEN ar._open_on(pr.invoice_id, pr.promised_on) <= pr.open_at_promise - pr.amount
			                     THEN 'kept' ELSE 'broken' END,
			       settled_on = x
			 WHERE pr.status = 'pending' AND pr.promised_on < x
			RETURNING pr.*
		)
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, promise_id)
		SELECT s.company_id, s.customer_id, x, 'promise_' || s.status, 'internal',
		       format('Promise to pay %s by %s on invoice %s %s', ar.format_money(s.amount, i.currency), s.promised_on,
		              i.number, CASE s.status WHEN 'kept' THEN 'kept' ELSE 'broken: the invoice is dunned again' END),
		       s.invoice_id, s.id
		  FROM settled s JOIN ar.invoice i ON i.id = s.invoice_id;
		-- payment plans: a missed instalment breaks the plan, full payment completes it
		WITH changed AS (
			UPDATE ar.payment_plan p
			   SET status = c.status, status_on = c.status_on
			  FROM (SELECT q.id, CASE WHEN b.broken_on IS NOT NULL THEN 'broken' ELSE 'completed' END AS status,
			               coalesce(b.broken_on, x) AS status_on
			          FROM ar.payment_plan q
			         CROSS JOIN LATERAL (SELECT ar._plan_broken_on(q.id, x) AS broken_on) b
			         WHERE q.status = 'active'
			           AND (b.broken_on IS NOT NULL OR ar._plan_outstanding(q.id, x) = 0)) c
			 WHERE p.id = c.id
			RETURNING p.*
		)
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, plan_id)
		SELECT c.company_id, c.customer_id, x, 'plan_' || c.status, 'internal',
		       CASE c.status
		            WHEN 'broken' THEN format('Payment plan %s broken on %s: an instalment was not paid; its invoices are dunned again',
		                                      c.id, c.status_on)
		            ELSE format('Payment plan %s completed', c.id) END,
		       c.id
		  FROM changed c;
	END IF;

	RAISE DEBUG 'run_dunning exclusions updated: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- active policies, their levels as arrays: the level an invoice reached
	-- is levels[width_bucket(days late, offsets)]
	PERFORM ar._dunning_work_table('ar_dun_policy', format($w$
	SELECT p.id AS policy_id, p.code, p.min_days_between, p.fallback_language, p.templates_from,
	       array_agg(l.offset_days ORDER BY l.level) AS offsets, array_agg(l.level ORDER BY l.level) AS levels
	  FROM ar.dunning_policy p JOIN ar.dunning_level l ON l.policy_id = p.id
	 WHERE p.active
	 GROUP BY p.id
	$w$, x, lead_days));
	SELECT greatest(0, -min(o)) INTO lead_days FROM ar_dun_policy, unnest(offsets) o;
	lead_days := coalesce(lead_days, 0);

	-- 0. customers blocked on x
	PERFORM ar._dunning_work_table('ar_dun_blocked', format($w$
	SELECT DISTINCT b.customer_id
	  FROM ar.dunning_block b
	 WHERE (b.from_on IS NULL OR b.from_on <= %1$L::date) AND %1$L::date < b.until
	   AND (b.lifted_at IS NULL OR (b.lifted_on IS NOT NULL AND %1$L::date < b.lifted_on))
	$w$, x, lead_days));

	-- invoices left out on x: disputed, promised, in a payment plan in force
	PERFORM ar._dunning_work_table('ar_dun_excluded', format($w$
	SELECT d.invoice_id
	  FROM ar.dispute d
	 WHERE (d.opened_on IS NULL OR d.opened_on <= %1$L::date)
	   AND (d.resolved_at IS NULL OR (d.resolved_on IS NOT NULL AND %1$L::date < d.resolved_on))
	UNION
	SELECT pr.invoice_id
	  FROM ar.payment_promise pr
	 WHERE (pr.made_on IS NULL OR pr.made_on <= %1$L::date) AND %1$L::date <= pr.promised_on
	UNION
	SELECT pi.invoice_id
	  FROM ar.payment_plan p JOIN ar.payment_plan_invoice pi ON pi.plan_id = p.id
	 WHERE (p.starts_on IS NULL OR p.starts_on <= %1$L::date)
	   AND (p.cancelled_at IS NULL OR (p.cancelled_on IS NOT NULL AND %1$L::date < p.cancelled_on))
	   AND NOT (p.status IN ('completed', 'broken') AND p.status_on <= %1$L::date)
	   AND ar._plan_broken_on(p.id, %1$L::date) IS NULL
	$w$, x, lead_days));

	RAISE DEBUG 'run_dunning policies, blocks, exclusions: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- customers dunned on x: not blocked, with an active policy and its
	-- levels (and, for the penalty engine, the regime of their invoices: the
	-- customer's, else FR_LME, as ar.invoice_penalty does); indexed, for
	-- the merge with the invoices in account order
	PERFORM ar._dunning_work_table('ar_dun_customer', format($q$
	SELECT c.id AS customer_id, p.policy_id, p.offsets, p.levels %s
	  FROM ar.customer c
	  LEFT JOIN ar.customer_dunning_policy cp ON cp.customer_id = c.id
	  LEFT JOIN ar.dunning_segment_policy sp ON sp.segment = c.segment
	  LEFT JOIN (SELECT d.id FROM ar.dunning_policy d
	              WHERE d.is_default AND d.active ORDER BY d.shipped, d.id LIMIT 1) dp ON true
	  JOIN ar_dun_policy p ON p.policy_id = coalesce(cp.policy_id, sp.policy_id, dp.id)
	 WHERE NOT EXISTS (SELECT 1 FROM ar_dun_blocked b WHERE b.customer_id = c.id)
	$q$, CASE WHEN penalty_mode = 'engine'
	          THEN ', coalesce(c.penalty_regime, ''FR_LME'') AS regime, c.penalty_rate AS contract_rate' ELSE '' END),
	'customer_id');
	ANALYZE ar_dun_customer (customer_id, policy_id);

	RAISE DEBUG 'run_dunning customers: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();
	IF penalty_mode = 'engine' THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM ar.penalty_claim)' INTO claims;
	END IF;
	paid_since := EXISTS (SELECT 1 FROM ar.allocation a WHERE a.allocated_on > x);
	cancelled_since := EXISTS (SELECT 1 FROM ar.invoice i WHERE i.cancelled_on > x);
	RAISE DEBUG 'run_dunning claims, payments and cancellations since: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- 1, 2. In one pass over the dunnable invoices on x, account by account
	-- (the index invoice_open_account, merged with the customers: no sort
	-- of a million rows, which the planner would choose from its estimates
	-- of the filters here; a sort remains when invoices paid or cancelled
	-- since x are added): the level each reached, R of its account, and
	-- per account what a notice would list: the invoices that reached level
	-- 1 (all of them, at level 0, when R = 0), in due date order, with their
	-- open amounts on x (today's plus the allocations dated after x; the
	-- invoices paid or cancelled since x are looked up only when there are
	-- any) and the penalties accrued on x.  An invoice whose penalty cannot
	-- be computed (a rate not known) leaves the account's penalties NULL,
	-- never a silent zero; penalties already billed, waived or written off
	-- (ar.penalty_claim) are not claimed again.
	PERFORM set_config('enable_sort', 'off', true);
	accounts := ar._dunning_work_table('ar_dun_acct', format($q$
	WITH later AS (
		SELECT a.invoice_id, sum(a.amount) AS amount
		  FROM ar.allocation a WHERE a.allocated_on > %1$L GROUP BY a.invoice_id
	), open_on_x AS (
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on,
		       %4$s AS open_on_x %3$s
		  FROM ar.invoice i %5$s
		 WHERE i.open_amount <> 0 AND i.amount > 0 AND i.issue_date <= %1$L AND i.due_date <= %2$L
		%9$s
		), dunnable AS (
		SELECT o.*, c.policy_id, c.levels[width_bucket(%1$L::date - o.due_date, c.offsets)] AS inv_level %6$s
		  FROM open_on_x o
		  JOIN ar_dun_customer c ON c.customer_id = o.customer_id
		 WHERE o.open_on_x > 0
		   AND width_bucket(%1$L::date - o.due_date, c.offsets) > 0
		   -- a filter on a hashed list keeps the account order (the ids are never NULL)
		   AND o.id NOT IN (SELECT e.invoice_id FROM ar_dun_excluded e)
	)
	-- per account: R, and what a notice would list (the invoices at level 1
	-- and up, or those at level 0 when R = 0): counts and sums in one C
	-- aggregate (ar._dunning_totals, exact int128 sums), the lines in table
	-- order in another (ar._dunning_lines), one transition per invoice
	-- each; the first problem twice, FILTERed by listing.
	SELECT g.customer_id, g.currency, g.policy_id, (g.t).r,
	       (g.t).invoice_count, (g.t).amount_due, (g.t).interest, (g.t).indemnity, (g.t).penalties,
	       g.lines, (g.t).problems,
	       CASE WHEN (g.t).r >= 1 THEN g.problem1 ELSE g.problem0 END AS first_problem
	  FROM (SELECT q.customer_id, q.currency, min(q.policy_id) AS policy_id,
	               -- R, counts and sums (NULL penalties when any is unknown)
	               ar._dunning_totals(q.inv_level, q.open_on_x, q.interest, q.fixed_fee, q.total, q.problem) AS t,
	               ar._dunning_lines(q.inv_level, q.id, q.number, q.due_date, %1$L::date - q.due_date, q.amount,
	                                 q.open_on_x, q.interest, q.fixed_fee) AS lines,
	               -- (filtered on the problem first: no text built for the others)
	               min(q.number || ': ' || q.problem) FILTER (WHERE q.problem IS NOT NULL AND q.inv_level >= 1) AS problem1,
	               min(q.number || ': ' || q.problem) FILTER (WHERE q.problem IS NOT NULL AND q.inv_level = 0) AS problem0
	          FROM (SELECT p.*, %7$s
	                  FROM (SELECT d.*, %8$s FROM dunnable d ORDER BY d.customer_id, d.currency OFFSET 0) p) q
	         GROUP BY q.customer_id, q.currency) g
	$q$, x, x + lead_days,
	-- %3$s: what the penalty engine needs of the invoice
	CASE WHEN penalty_mode = 'engine' THEN ', i.penalty_regime, i.penalty_rate' ELSE '' END,
	-- %4$s, %5$s: the open amount on x, from today's and the allocations dated after x
	CASE WHEN paid_since THEN 'i.open_amount + coalesce(l.amount, 0)' ELSE 'i.open_amount' END,
	CASE WHEN paid_since THEN 'LEFT JOIN later l ON l.invoice_id = i.id' ELSE '' END,
	-- %6$s: the regime each invoice runs under
	CASE WHEN penalty_mode = 'engine'
	     THEN ', coalesce(o.penalty_regime, c.regime) AS regime, coalesce(o.penalty_rate, c.contract_rate) AS contract_rate,
	             o.cancelled_on IS NULL AS liable'
	     ELSE '' END,
	-- %7$s: the penalty columns, from pen
	CASE penalty_mode
	     WHEN 'engine' THEN
	         'CASE WHEN p.claimable THEN (p.pen).interest ELSE 0.00 END AS interest,
	          CASE WHEN p.claimable THEN (p.pen).fixed_fee ELSE 0.00 END AS fixed_fee,
	          CASE WHEN p.claimable THEN (p.pen).total ELSE 0.00 END AS total,
	          CASE WHEN p.claimable THEN (p.pen).problem END AS problem'
	     WHEN 'function' THEN
	         '(p.pen).interest, (p.pen).fixed_fee, (p.pen).total, NULL::text AS problem'
	     ELSE 'NULL::numeric AS interest, NULL::numeric AS fixed_fee, NULL::numeric AS total, NULL::text AS problem' END,
	-- %8$s: pen, computed once per listed invoice, with the payments made by
	-- x of the invoices partly paid on x (read through allocation_invoice,
	-- in one subquery)
	CASE penalty_mode
	     WHEN 'engine' THEN format(
	         'd.liable AND %1$s AS claimable,
	          CASE WHEN d.open_on_x <> d.amount
	               THEN (SELECT ar._penalty_compute(d.regime, d.amount, d.due_date, %2$L, array_agg(a.allocated_on),
	                                                array_agg(a.amount), d.contract_rate, d.currency, false)
	                       FROM ar.allocation a WHERE a.invoice_id = d.id AND a.allocated_on <= %2$L::date)
	               ELSE ar._penalty_compute(d.regime, d.amount, d.due_date, %2$L, NULL, NULL,
	                                        d.contract_rate, d.currency, false) END AS pen',
	         -- penalties billed, waived or written off by x, and invoices billing penalties: none claimed
	         CASE WHEN claims THEN 'NOT EXISTS (SELECT 1 FROM ar.penalty_claim pc
	                                             WHERE (pc.invoice_id = d.id AND pc.decided_on <= ' || quote_literal(x) || ')
	                                                OR pc.penalty_invoice_id = d.id)'
	              ELSE 'true' END, x)
	     WHEN 'function' THEN format('ar.invoice_penalty(d.id, %L) AS pen', x)
	     ELSE 'NULL::integer AS pen' END,
	-- %9$s: the invoices paid since x, and cancelled since x
	CASE WHEN paid_since THEN format($b$
		UNION ALL
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on, l.amount %s
		  FROM later l JOIN ar.invoice i ON i.id = l.invoice_id
		 WHERE i.open_amount = 0 AND i.cancelled_on IS NULL AND i.amount > 0 AND i.issue_date <= %L
		   AND i.due_date <= %L$b$,
		CASE WHEN penalty_mode = 'engine' THEN ', i.penalty_regime, i.penalty_rate' ELSE '' END,
		x, x + lead_days) ELSE '' END
	|| CASE WHEN cancelled_since THEN format($b$
		UNION ALL
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on, i.amount %s
		  FROM ar.invoice i
		 WHERE i.cancelled_on > %L AND i.amount > 0 AND i.issue_date <= %L AND i.due_date <= %L$b$,
		CASE WHEN penalty_mode = 'engine' THEN ', i.penalty_regime, i.penalty_rate' ELSE '' END,
		x, x, x + lead_days) ELSE '' END));
	PERFORM set_config('enable_sort', caller_enable_sort, true);
	ANALYZE ar_dun_acct (customer_id, currency, policy_id, r);
	RAISE DEBUG 'run_dunning dunnable invoices, listings and penalties: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- 3. a run date where R is none starts a new cycle (not for skipped customers)
	IF real_run THEN
		WITH reset AS (
			UPDATE ar.dunning_account a
			   SET cycle = a.cycle + 1, level = NULL, changed_on = x, updated_at = now()
			 WHERE a.level IS NOT NULL AND (a.changed_on IS NULL OR a.changed_on <= x)
			   AND NOT EXISTS (SELECT 1 FROM ar_dun_acct d WHERE d.customer_id = a.customer_id AND d.currency = a.currency)
			   AND EXISTS (SELECT 1 FROM ar_dun_customer c WHERE c.customer_id = a.customer_id)
			RETURNING a.customer_id, a.currency, a.cycle
		), logged AS (
			INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary)
			SELECT c.company_id, r.customer_id, x, 'cycle_closed', 'internal',
			       format('Dunning cycle %s (%s) closed: nothing left to remind', r.cycle - 1, r.currency)
			  FROM reset r JOIN ar.customer c ON c.id = r.customer_id
			RETURNING 1
		)
		SELECT count(*) INTO closed FROM logged;
	END IF;

	-- 4, 5. decisions: N, queued when N > C, the last notice is at least
	-- min_days_between days old, and the amount due reaches the level's
	-- minimum (else the account waits).  A real run numbers its notices
	-- here, in account order (customer, currency), from the outbox's
	-- identity (the sort carries the decisions only; the customers' details
	-- are joined after): the notices, the accounts' state and the
	-- notifications are then written from this table without reading the
	-- outbox back.
	PERFORM ar._dunning_work_table('ar_dun_dec', format($w$
	SELECT n.id, n.customer_id, n.currency, n.policy_id, n.r, n.cycle, n.c, n.level, n.known, n.problems, n.first_problem,
	       n.level_name, n.fee, n.state_penalties, n.reply_days, n.delivery_days,
	       c.company_id, c.code AS customer_code, c.name AS customer_name,
	       coalesce(nullif(lower(left(btrim(c.language), 2)), ''), 'fr') AS language, coalesce(c.segment, '') AS segment,
	       ch.channel,
	       CASE ch.channel WHEN 'email' THEN c.email WHEN 'sms' THEN c.phone END AS recipient
	  FROM (SELECT CASE WHEN %3$L::boolean THEN nextval(%4$L::regclass) END AS id, k.*
	          FROM (
	SELECT d.customer_id, d.currency, d.policy_id, d.r, d.cycle, d.c, d.level, d.known, d.problems, d.first_problem,
	       l.name AS level_name, l.fee, l.state_penalties, l.reply_days, l.delivery_days, l.channel AS level_channel
	  FROM (SELECT d.customer_id, d.currency, d.policy_id, d.r, d.amount_due, d.problems, d.first_problem,
	               coalesce(a.cycle, 1) AS cycle,
	               a.level AS c, a.customer_id IS NOT NULL AS known,
	               CASE WHEN d.r = 0 THEN 0 ELSE least(d.r, greatest(coalesce(a.level, 0), 0) + 1) END AS level
	          FROM ar_dun_acct d
	          JOIN ar_dun_policy p ON p.policy_id = d.policy_id
	          LEFT JOIN ar.dunning_account a ON a.customer_id = d.customer_id AND a.currency = d.currency
	         WHERE (a.last_notice_on IS NULL OR a.last_notice_on <= %1$L::date - p.min_days_between)
	           AND (a.changed_on IS NULL OR a.changed_on <= %1$L::date)   -- a state newer than x is left alone
	           AND CASE WHEN d.r = 0 THEN 0 ELSE least(d.r, greatest(coalesce(a.level, 0), 0) + 1) END
	               > coalesce(a.level, -1)
	        OFFSET 0) d
	  JOIN ar.dunning_level l ON l.policy_id = d.policy_id AND l.level = d.level
	 WHERE d.amount_due >= l.min_amount
	   AND NOT EXISTS (SELECT 1 FROM ar.dunning_notice dn
	                    WHERE dn.customer_id = d.customer_id AND dn.currency = d.currency AND dn.as_of = %1$L::date)
	 ORDER BY d.customer_id, d.currency COLLATE "C") k) n
	  JOIN ar.customer c ON c.id = n.customer_id
	 CROSS JOIN LATERAL (SELECT CASE WHEN n.level_channel = 'email' AND coalesce(btrim(c.email), '') = '' THEN 'letter'
	                                 WHEN n.level_channel = 'sms' AND coalesce(btrim(c.phone), '') = '' THEN 'letter'
	                                 ELSE n.level_channel END AS channel) ch
	$w$, x, lead_days, real_run, pg_get_serial_sequence('ar.dunning_notice', 'id')));
	ANALYZE ar_dun_dec (customer_id, currency, policy_id, level, language, segment, channel);
	SELECT sum(n.problems), min(n.first_problem) INTO problems, first_problem
	  FROM ar_dun_dec n
	 WHERE n.problems > 0;
	IF problems > 0 THEN
		RAISE WARNING 'penalties of % invoice(s) could not be computed on %; their notices state no penalties', problems, x
			USING DETAIL = 'First: ' || first_problem;
	END IF;
	RAISE DEBUG 'run_dunning decisions: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- the template of each notice: the customer's language, else the
	-- policy's fallback language; the customer's segment, else any; the
	-- channel, else any; the policy's own, else its templates_from policy's
	PERFORM ar._dunning_work_table('ar_dun_tpl', format($w$
	SELECT DISTINCT ON (k.policy_id, k.level, k.language, k.segment, k.channel)
	       k.policy_id, k.level, k.language, k.segment, k.channel,
	       t.id AS template_id, t.language AS render_language, t.subject, t.body
	  FROM (SELECT DISTINCT policy_id, level, language, segment, channel FROM ar_dun_dec) k
	  JOIN ar_dun_policy p ON p.policy_id = k.policy_id
	  LEFT JOIN ar.dunning_template t
	         ON t.policy_id IN (k.policy_id, p.templates_from) AND t.level = k.level
	        AND (t.segment IS NULL OR t.segment = k.segment)
	        AND (t.channel IS NULL OR t.channel = k.channel)
	        AND t.language IN (k.language, p.fallback_language)
	 ORDER BY k.policy_id, k.level, k.language, k.segment, k.channel,
	          t.language = k.language DESC, t.policy_id = k.policy_id DESC,
	          t.segment IS NOT NULL DESC, t.channel IS NOT NULL DESC, t.id
	$w$, x, lead_days));
	ANALYZE ar_dun_tpl;
	SELECT t.*, p.code INTO missing FROM ar_dun_tpl t JOIN ar_dun_policy p USING (policy_id) WHERE t.template_id IS NULL LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'dunning policy % has no template for level % in language % or its fallback language',
			missing.code, missing.level, missing.language
			USING ERRCODE = 'undefined_object';
	END IF;

	-- dates of the reminders (level 1 and up) already queued in the cycle,
	-- as the letter prints them
	PERFORM ar._dunning_work_table('ar_dun_prev', format($w$
	SELECT n.customer_id, n.currency,
	       array_agg(ar.format_date(dn.as_of, t.render_language) ORDER BY dn.as_of, dn.id) AS dates,
	       min(t.render_language) AS language
	  FROM ar_dun_dec n
	  JOIN ar_dun_tpl t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	                   AND t.segment = n.segment AND t.channel = n.channel
	  JOIN ar.dunning_notice dn ON dn.customer_id = n.customer_id AND dn.currency = n.currency AND dn.cycle = n.cycle
	 WHERE dn.status IN ('queued', 'sent') AND dn.level >= 1 AND dn.as_of < %1$L::date
	 GROUP BY n.customer_id, n.currency
	$w$, x, lead_days));
	ANALYZE ar_dun_prev (customer_id, currency);

	RAISE DEBUG 'run_dunning templates, previous notices: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- the notices, rendered in the language of their template, as rows of
	-- ar.dunning_notice without id, status and dates
	out_query := format($q$
	SELECT n.id, n.customer_id, n.level, n.level_name, n.channel,
	       ar.render_template(t.subject, ar.dunning_placeholders(), v.vals) AS subject,
	       ar.render_template(t.body, ar.dunning_placeholders(), v.vals) AS body,
	       ar._line_ids(s.lines) AS invoice_ids, s.amount_due, s.penalties, %1$L::date AS as_of, n.company_id, n.currency, n.policy_id,
	       n.cycle, t.render_language AS language, n.recipient, s.interest, s.indemnity, n.fee, k.reply_by
	  FROM ar_dun_dec n
	  JOIN ar_dun_acct s ON s.customer_id = n.customer_id AND s.currency = n.currency
	  JOIN ar_dun_tpl t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	                   AND t.segment = n.segment AND t.channel = n.channel
	  JOIN (SELECT co.id, co.name, ar.iban_format(co.iban) AS iban FROM ar.company co) co ON co.id = n.company_id
	  LEFT JOIN ar_dun_prev pv ON pv.customer_id = n.customer_id AND pv.currency = n.currency
	 CROSS JOIN LATERAL (SELECT CASE WHEN t.render_language = 'fr' THEN 'non calculé' ELSE 'not computed' END AS unknown,
	                            %1$L::date + n.delivery_days + n.reply_days AS reply_by) k
	 CROSS JOIN LATERAL (SELECT ARRAY[
	        n.customer_name, n.customer_code, co.name,
	        coalesce(co.iban, CASE WHEN t.render_language = 'fr' THEN 'indiqué sur nos factures'
	                               ELSE 'shown on our invoices' END),
	        ar.format_date(%1$L, t.render_language),
	        ar._invoice_table(s.lines, n.currency, t.render_language, n.state_penalties AND s.penalties IS NOT NULL),
	        s.invoice_count::text,
	        ar.format_money(s.amount_due, n.currency, t.render_language), n.currency::text,
	        coalesce(ar.format_money(s.interest, n.currency, t.render_language), k.unknown),
	        coalesce(ar.format_money(s.indemnity, n.currency, t.render_language), k.unknown),
	        coalesce(ar.format_money(s.penalties, n.currency, t.render_language), k.unknown),
	        ar.format_money(s.amount_due + coalesce(s.penalties, 0), n.currency, t.render_language),
	        ar.format_money(n.fee, n.currency, t.render_language),
	        ar.format_date(k.reply_by, t.render_language), n.reply_days::text,
	        CASE WHEN cardinality(pv.dates) > 1
	             THEN array_to_string(pv.dates[1:cardinality(pv.dates) - 1], ', ')
	                  || CASE WHEN pv.language = 'fr' THEN ' et ' ELSE ' and ' END || pv.dates[cardinality(pv.dates)]
	             ELSE coalesce(pv.dates[1], '') END,
	        n.level::text, n.level_name] AS vals) v
	$q$, x);

	-- the store of the rows returned is opened (by this empty RETURN QUERY)
	-- under the caller's work_mem; the statements filling it run with the
	-- run's
	PERFORM set_config('work_mem', caller_work_mem, true);
	RETURN QUERY SELECT * FROM ar.dunning_notice WHERE false;
	PERFORM set_config('work_mem', run_work_mem, true);

	IF NOT real_run THEN
		RETURN QUERY EXECUTE format($q$
		SELECT NULL::bigint, o.customer_id, o.level, o.level_name, o.channel, o.subject, o.body, o.invoice_ids,
		       o.amount_due, o.penalties, 'queued'::text, o.as_of, now(), o.company_id, o.currency, o.policy_id,
		       o.cycle, o.language, o.recipient, o.interest, o.indemnity, o.fee, o.reply_by,
		       NULL::timestamptz, NULL::text, NULL::text
		  FROM (%s) o
		 ORDER BY o.customer_id, o.currency
		$q$, out_query);
		RAISE DEBUG 'run_dunning rendered: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
		PERFORM set_config('work_mem', caller_work_mem, true);
		RETURN;
	END IF;

	-- queue: the notices (numbered by the decisions), each announced by
	-- NOTIFY ar_dunning with its id, and the accounts' new state (an update
	-- of the known accounts, an insert of the new ones).  The rows returned
	-- are those the INSERT wrote (the worker, which does not use them,
	-- turns them off: ar._worker_dunning).  The timeline
	-- (ar.customer_timeline) shows each queued notice from the outbox itself.
	-- No ON CONFLICT: the decisions exclude what the unique keys of the
	-- outbox forbid, under the run lock; a duplicate would be an error.
	out_query := format($q$
	INSERT INTO ar.dunning_notice AS dn (id, customer_id, level, level_name, channel, subject, body, invoice_ids,
	                                     amount_due, penalties, as_of, company_id, currency, policy_id, cycle,
	                                     language, recipient, interest, indemnity, fee, reply_by)
	SELECT o.id, o.customer_id, o.level, o.level_name, o.channel, o.subject, ar._compress_letter(o.body), o.invoice_ids, o.amount_due,
	       o.penalties, o.as_of, o.company_id, o.currency, o.policy_id, o.cycle, o.language, o.recipient,
	       o.interest, o.indemnity, o.fee, o.reply_by
	  FROM (%s) o
	$q$, out_query);
	IF coalesce(current_setting('ar_collect.dunning_return_rows', true), '') <> 'off' THEN
		RETURN QUERY EXECUTE out_query || ' RETURNING dn.*';
	ELSE
		EXECUTE out_query;
	END IF;
	SELECT count(*) INTO queued FROM ar_dun_dec;
	UPDATE ar.dunning_account a
	   SET cycle = d.cycle, level = d.level, last_notice_id = d.id, last_notice_on = x, changed_on = x, updated_at = now()
	  FROM ar_dun_dec d
	 WHERE d.known AND a.customer_id = d.customer_id AND a.currency = d.currency;
	INSERT INTO ar.dunning_account (customer_id, currency, cycle, level, last_notice_id, last_notice_on, changed_on)
	SELECT d.customer_id, d.currency, d.cycle, d.level, d.id, x, x FROM ar_dun_dec d WHERE NOT d.known;
	PERFORM pg_notify('ar_dunning', d.id::text) FROM ar_dun_dec d ORDER BY d.id;
	RAISE DEBUG 'run_dunning rendered, queued and notified: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	INSERT INTO ar.dunning_run (as_of, started_at, accounts, notices, cycles_closed)
	VALUES (x, started, accounts, queued, closed);
	PERFORM set_config('work_mem', caller_work_mem, true);
END $$;

-- ---------------------------------------------------------------- delivery

-- Only the delivery columns of a notice change, along the allowed paths:
-- queued -> sent | failed | cancelled, sent -> failed (bounced, returned).
CREATE FUNCTION ar._dunning_notice_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'dunning notice % cannot be deleted', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'Notices are part of the customer''s history: mark it cancelled with ar.mark_notice().';
	END IF;
	IF (to_jsonb(NEW) - '{status,status_at,provider_ref,status_detail}'::text[])
	   IS DISTINCT FROM (to_jsonb(OLD) - '{status,status_at,provider_ref,status_detail}'::text[]) THEN
		RAISE EXCEPTION 'dunning notice % cannot be changed', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Only its status, provider_ref and status_detail change, through ar.mark_notice().';
	END IF;
	IF NEW.status IS DISTINCT FROM OLD.status THEN
		IF (OLD.status, NEW.status) NOT IN (('queued', 'sent'), ('queued', 'failed'), ('queued', 'cancelled'),
		                                    ('sent', 'failed')) THEN
			RAISE EXCEPTION 'dunning notice % cannot go from % to %', OLD.id, OLD.status, NEW.status
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'queued -> sent, failed or cancelled; sent -> failed.';
		END IF;
		NEW.status_at := now();
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER dunning_notice_guard BEFORE UPDATE OR DELETE ON ar.dunning_notice
	FOR EACH ROW EXECUTE FUNCTION ar._dunning_notice_guard();
CREATE TRIGGER dunning_notice_no_truncate BEFORE TRUNCATE ON ar.dunning_notice
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- A status change is logged; a failed or cancelled notice no longer counts
-- as escalation (the level is tried again at the next run).
CREATE FUNCTION ar._dunning_notice_status_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, channel, summary, detail,
	                              proof_ref, notice_id)
	VALUES (NEW.company_id, NEW.customer_id, NEW.as_of, 'notice_' || NEW.status,
	        CASE WHEN NEW.channel = 'task' THEN 'internal' ELSE 'outbound' END, NEW.channel,
	        format('Level %s, %s, %s (%s)', NEW.level, NEW.level_name,
	               CASE NEW.status WHEN 'sent' THEN 'sent' WHEN 'failed' THEN 'not delivered' ELSE 'cancelled' END,
	               NEW.channel),
	        NEW.status_detail, NEW.provider_ref, NEW.id);
	IF NEW.status IN ('failed', 'cancelled') THEN
		PERFORM ar._dunning_account_refresh(NEW.customer_id, NEW.currency);
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER dunning_notice_status_changed AFTER UPDATE OF status ON ar.dunning_notice
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION ar._dunning_notice_status_changed();

-- What the external sender reports: sent (with its reference: message id,
-- registered letter number), failed (with the reason), or cancelled.
-- Marking a notice again with the status it has changes nothing.
CREATE FUNCTION ar.mark_notice(notice_id bigint, status text, provider_ref text DEFAULT NULL, detail text DEFAULT NULL)
RETURNS ar.dunning_notice
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	n ar.dunning_notice;
BEGIN
	IF status IS NULL OR status NOT IN ('sent', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'a notice is marked sent, failed or cancelled, not %', coalesce('"' || status || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF status = 'failed' AND coalesce(btrim(detail), '') = '' THEN
		RAISE EXCEPTION 'a failed delivery needs its reason in detail' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO n FROM ar.dunning_notice d WHERE d.id = mark_notice.notice_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'dunning notice % does not exist', coalesce(notice_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	IF n.status = mark_notice.status
	   AND (mark_notice.provider_ref IS NULL OR mark_notice.provider_ref IS NOT DISTINCT FROM n.provider_ref)
	   AND (mark_notice.detail IS NULL OR mark_notice.detail IS NOT DISTINCT FROM n.status_detail) THEN
		RETURN n;
	END IF;
	UPDATE ar.dunning_notice d
	   SET status = mark_notice.status,
	       provider_ref = coalesce(mark_notice.provider_ref, d.provider_ref),
	       status_detail = coalesce(mark_notice.detail, d.status_detail)
	 WHERE d.id = n.id
	RETURNING * INTO n;
	RETURN n;
END $$;

-- ------------------------------------------------------------------- views

-- One timeline per customer: the communications log, and each notice queued
-- (from the outbox itself: the notice row is the record of its queuing,
-- the run that queued it says by whom).
CREATE VIEW ar.customer_timeline AS
SELECT m.id, m.customer_id, c.code AS customer_code, c.name AS customer_name, m.occurred_at, m.as_of, m.kind,
       m.direction, m.channel, m.summary, m.detail, m.proof_ref, m.invoice_id, i.number AS invoice_number,
       m.notice_id, n.level AS notice_level, m.dispute_id, m.promise_id, m.plan_id, m.block_id,
       m.actor, m.role, m.via, m.recorded_at
  FROM ar.communication m
  JOIN ar.customer c ON c.id = m.customer_id
  LEFT JOIN ar.invoice i ON i.id = m.invoice_id
  LEFT JOIN ar.dunning_notice n ON n.id = m.notice_id
UNION ALL
SELECT NULL, n.customer_id, c.code, c.name, n.created_at, n.as_of, 'notice_queued',
       CASE WHEN n.channel = 'task' THEN 'internal' ELSE 'outbound' END, n.channel,
       'Level ' || n.level || ', ' || n.level_name || ', queued (' || n.channel || '): '
       || cardinality(n.invoice_ids) || ' invoice(s), ' || ar.format_money(n.amount_due, n.currency),
       n.subject, NULL, NULL, NULL, n.id, n.level, NULL, NULL, NULL, NULL,
       coalesce(r.run_by, 'unknown'), coalesce(r.run_role, 'none'), r.via, n.created_at
  FROM ar.dunning_notice n
  JOIN ar.customer c ON c.id = n.customer_id
  LEFT JOIN ar.dunning_run r ON r.as_of = n.as_of;

COMMENT ON VIEW ar.customer_timeline IS
	'Everything that happened with a customer in collections, one row per event: notices and their delivery, disputes, promises, payment plans, blocks, policy changes, and calls, letters and e-mails recorded by collectors. Order by occurred_at, id.';
COMMENT ON COLUMN ar.customer_timeline.id IS 'ar.communication.id (entries are append-only); NULL for a queued notice (see notice_id).';
COMMENT ON COLUMN ar.customer_timeline.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_timeline.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.customer_timeline.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.customer_timeline.occurred_at IS 'When it happened (for a recorded call: when the call took place).';
COMMENT ON COLUMN ar.customer_timeline.as_of IS 'Business date: run date of a notice, date given to a dispute, promise, plan or block.';
COMMENT ON COLUMN ar.customer_timeline.kind IS 'notice_queued, notice_sent, notice_failed, notice_cancelled, dispute_opened, dispute_resolved, promise, promise_kept, promise_broken, plan_created, plan_broken, plan_completed, plan_cancelled, block, block_lifted, policy, cycle_closed, or a manual kind (call, email, letter, registered_letter, sms, meeting, visit, note).';
COMMENT ON COLUMN ar.customer_timeline.direction IS 'inbound (from the customer), outbound (to the customer) or internal.';
COMMENT ON COLUMN ar.customer_timeline.channel IS 'email, sms, letter, registered_letter, task, call, meeting...';
COMMENT ON COLUMN ar.customer_timeline.summary IS 'One line saying what happened.';
COMMENT ON COLUMN ar.customer_timeline.detail IS 'More: subject of a queued notice, failure reason, invoices of a plan, notes of a call.';
COMMENT ON COLUMN ar.customer_timeline.proof_ref IS 'Proof reference: provider message id, registered letter number, document reference.';
COMMENT ON COLUMN ar.customer_timeline.invoice_id IS 'Invoice concerned, if one.';
COMMENT ON COLUMN ar.customer_timeline.invoice_number IS 'Its number.';
COMMENT ON COLUMN ar.customer_timeline.notice_id IS 'ar.dunning_notice.id, for notice events.';
COMMENT ON COLUMN ar.customer_timeline.notice_level IS 'Level of that notice.';
COMMENT ON COLUMN ar.customer_timeline.dispute_id IS 'ar.dispute.id, for dispute events.';
COMMENT ON COLUMN ar.customer_timeline.promise_id IS 'ar.payment_promise.id, for promise events.';
COMMENT ON COLUMN ar.customer_timeline.plan_id IS 'ar.payment_plan.id, for payment plan events.';
COMMENT ON COLUMN ar.customer_timeline.block_id IS 'ar.dunning_block.id, for block events.';
COMMENT ON COLUMN ar.customer_timeline.actor IS 'Database user who recorded it (session user).';
COMMENT ON COLUMN ar.customer_timeline.role IS 'Role in force (SET ROLE), none if none.';
COMMENT ON COLUMN ar.customer_timeline.via IS 'application_name of the session: "ar_collect worker" for the background worker.';
COMMENT ON COLUMN ar.customer_timeline.recorded_at IS 'When it was recorded.';

CREATE VIEW ar.dunning_summary AS
SELECT n.as_of, n.level, n.level_name, n.channel, n.status, n.currency,
       count(*) AS notices, count(DISTINCT n.customer_id) AS customers, sum(n.amount_due) AS amount_due,
       sum(n.penalties) AS penalties
  FROM ar.dunning_notice n
 GROUP BY n.as_of, n.level, n.level_name, n.channel, n.status, n.currency;

COMMENT ON VIEW ar.dunning_summary IS 'Notices per run date, level, channel, status and currency.';
COMMENT ON COLUMN ar.dunning_summary.as_of IS 'Run date that queued them.';
COMMENT ON COLUMN ar.dunning_summary.level IS 'Dunning level (0 courtesy reminder ... 5 legal handoff in FR_STANDARD).';
COMMENT ON COLUMN ar.dunning_summary.level_name IS 'Name of the level.';
COMMENT ON COLUMN ar.dunning_summary.channel IS 'email, sms, letter, registered_letter or task.';
COMMENT ON COLUMN ar.dunning_summary.status IS 'queued, sent, failed or cancelled.';
COMMENT ON COLUMN ar.dunning_summary.currency IS 'Currency of the amounts (never summed across currencies).';
COMMENT ON COLUMN ar.dunning_summary.notices IS 'Number of notices.';
COMMENT ON COLUMN ar.dunning_summary.customers IS 'Number of customers they went to.';
COMMENT ON COLUMN ar.dunning_summary.amount_due IS 'Sum of the open amounts they listed.';
COMMENT ON COLUMN ar.dunning_summary.penalties IS 'Sum of the penalties accrued on the run date that they listed.';

-- ------------------------------------------------------------------ worker

-- What the background worker (src/worker.c) records: its state, one row,
-- and the history of its runs.
CREATE TABLE ar.worker_state (
	id                    boolean PRIMARY KEY DEFAULT true CHECK (id),
	pid                   integer,
	backend_start         timestamptz,
	attached_at           timestamptz,
	naptime               integer,
	dunning_at            text,
	enabled               boolean,
	last_cycle_at         timestamptz,
	cycles                bigint NOT NULL DEFAULT 0,
	failed_cycles         bigint NOT NULL DEFAULT 0,
	last_error            text,
	last_error_at         timestamptz,
	last_dunning_on       date,
	last_dunning_notices  integer,
	last_reconcile_at     timestamptz,
	reconciled_lines      bigint NOT NULL DEFAULT 0,
	reconcile_watermark   bigint NOT NULL DEFAULT 0
);

CREATE TABLE ar.worker_run (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	kind         text NOT NULL CHECK (kind IN ('dunning', 'reconcile')),
	as_of        date,
	status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
	started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at  timestamptz,
	pid          integer NOT NULL DEFAULT pg_backend_pid(),
	result       jsonb,
	error        text
);
CREATE INDEX worker_run_running ON ar.worker_run (id) WHERE status = 'running';
CREATE INDEX worker_run_kind ON ar.worker_run (kind, started_at);

-- The worker starts serving the database: one worker per database (a
-- session advisory lock); runs left "running" by a previous process that
-- died are marked failed.  Returns 1, or 0 when another worker serves it.
CREATE FUNCTION ar._worker_attach(naptime integer, dunning_at text, enabled boolean) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF NOT pg_try_advisory_lock(hashtext('ar_collect.worker')) THEN
		RETURN 0;
	END IF;
	UPDATE ar.worker_run r
	   SET status = 'failed', finished_at = now(),
	       error = format('the worker (pid %s) stopped before the end of the run: crash, kill or shutdown; nothing of the run was kept', r.pid)
	 WHERE r.status = 'running';
	INSERT INTO ar.worker_state AS s (id, pid, backend_start, attached_at, naptime, dunning_at, enabled)
	SELECT true, pg_backend_pid(), a.backend_start, now(), _worker_attach.naptime, _worker_attach.dunning_at,
	       _worker_attach.enabled
	  FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()
	ON CONFLICT (id) DO UPDATE
	   SET pid = EXCLUDED.pid, backend_start = EXCLUDED.backend_start, attached_at = EXCLUDED.attached_at,
	       naptime = EXCLUDED.naptime, dunning_at = EXCLUDED.dunning_at, enabled = EXCLUDED.enabled;
	RETURN 1;
END $$;

CREATE FUNCTION ar._worker_settings(naptime integer, dunning_at text, enabled boolean) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	UPDATE ar.worker_state s
	   SET naptime = _worker_settings.naptime, dunning_at = _worker_settings.dunning_at, enabled = _worker_settings.enabled
	 WHERE s.pid = pg_backend_pid();
	SELECT 1::bigint;
$$;

-- A reconcile run when ar.reconcile(boolean) exists and unmatched bank lines
-- came in since the last one; NULL otherwise.
CREATE FUNCTION ar._worker_reconcile_due() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	newest bigint;
	run_id bigint;
BEGIN
	IF to_regprocedure('ar.reconcile(boolean)') IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT max(t.id) INTO newest
	  FROM ar.bank_transaction t
	 WHERE t.status = 'unmatched' AND t.id > coalesce((SELECT s.reconcile_watermark FROM ar.worker_state s), 0);
	IF newest IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.worker_run (kind, status, result) VALUES ('reconcile', 'running', jsonb_build_object('up_to_line', newest))
	RETURNING id INTO run_id;
	RETURN run_id;
END $$;

-- A run the worker started, locked, or an error when it is no longer running.
CREATE FUNCTION ar._worker_run_running(run_id bigint) RETURNS ar.worker_run
LANGUAGE plpgsql AS $$
DECLARE
	r ar.worker_run;
BEGIN
	SELECT * INTO r FROM ar.worker_run w WHERE w.id = run_id AND w.status = 'running' FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'worker run % is not running', run_id USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	RETURN r;
END $$;

CREATE FUNCTION ar._worker_reconcile(run_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	r ar.worker_run;
	lines bigint;
	applied bigint;
BEGIN
	r := ar._worker_run_running(run_id);
	EXECUTE 'SELECT count(*), count(*) FILTER (WHERE applied) FROM ar.reconcile(true)' INTO lines, applied;
	UPDATE ar.worker_run w
	   SET status = 'succeeded', finished_at = clock_timestamp(),
	       result = w.result || jsonb_build_object('lines', lines, 'applied', applied)
	 WHERE w.id = r.id;
	UPDATE ar.worker_state s
	   SET last_reconcile_at = now(), reconciled_lines = s.reconciled_lines + applied,
	       reconcile_watermark = greatest(s.reconcile_watermark, (r.result->>'up_to_line')::bigint);
	RETURN applied;
END $$;

-- A dunning run for today once the time of day is past dunning_at, when no
-- dunning has been run for today yet (by the worker or by hand); NULL
-- otherwise.  After downtime this is one run, for today.
CREATE FUNCTION ar._worker_dunning_due(dunning_at text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	run_id bigint;
BEGIN
	IF localtime < dunning_at::time OR EXISTS (SELECT 1 FROM ar.dunning_run d WHERE d.as_of = current_date) THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.worker_run (kind, as_of, status) VALUES ('dunning', current_date, 'running')
	RETURNING id INTO run_id;
	RETURN run_id;
END $$;

-- The run and its notices commit together.
CREATE FUNCTION ar._worker_dunning(run_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	r ar.worker_run;
	queued bigint;
	per_level jsonb;
BEGIN
	r := ar._worker_run_running(run_id);
	-- the notices stay in the outbox: no need to read them back
	PERFORM set_config('ar_collect.dunning_return_rows', 'off', true);
	PERFORM ar.run_dunning(r.as_of);
	PERFORM set_config('ar_collect.dunning_return_rows', 'on', true);
	SELECT coalesce(sum(c), 0), coalesce(jsonb_object_agg(level, c), '{}')
	  INTO queued, per_level
	  FROM (SELECT n.level, count(*) AS c FROM ar.dunning_notice n
	         WHERE n.as_of = r.as_of AND n.created_at = now() GROUP BY n.level) l;
	UPDATE ar.worker_run w
	   SET status = 'succeeded', finished_at = clock_timestamp(),
	       result = jsonb_build_object('notices', queued, 'per_level', per_level)
	 WHERE w.id = r.id;
	UPDATE ar.worker_state s SET last_dunning_on = r.as_of, last_dunning_notices = queued;
	RETURN queued;
END $$;

CREATE FUNCTION ar._worker_run_failed(run_id bigint, error text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	UPDATE ar.worker_run w SET status = 'failed', finished_at = clock_timestamp(), error = _worker_run_failed.error
	 WHERE w.id = run_id AND w.status = 'running';
	SELECT 1::bigint;
$$;

CREATE FUNCTION ar._worker_cycle_done(ok boolean, error text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	UPDATE ar.worker_state s
	   SET last_cycle_at = now(), cycles = s.cycles + 1,
	       failed_cycles = s.failed_cycles + CASE WHEN ok THEN 0 ELSE 1 END,
	       last_error = coalesce(_worker_cycle_done.error, s.last_error),
	       last_error_at = CASE WHEN _worker_cycle_done.error IS NOT NULL THEN now() ELSE s.last_error_at END
	 WHERE s.pid = pg_backend_pid()
	RETURNING s.cycles;
$$;

CREATE FUNCTION ar._launch_worker() RETURNS integer
AS 'MODULE_PATHNAME', 'ar_launch_worker'
LANGUAGE C VOLATILE STRICT;

-- Starts the worker for this database without shared_preload_libraries (a
-- dynamic background worker, e.g. on hosted PostgreSQL).  Returns its pid;
-- the pid of the running one when a worker already serves the database.
CREATE FUNCTION ar.start_worker() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	running integer;
BEGIN
	SELECT a.pid INTO running FROM pg_stat_activity a
	 WHERE a.backend_type = 'ar_collect worker' AND a.datname = current_database()
	 ORDER BY a.backend_start LIMIT 1;
	IF running IS NOT NULL THEN
		RETURN running;
	END IF;
	RETURN ar._launch_worker();
END $$;

CREATE VIEW ar.worker_status AS
SELECT a.pid IS NOT NULL AS running, a.pid, a.backend_start AS started_at,
       coalesce(a.preloaded, false) AS preloaded, s.enabled, s.naptime, s.dunning_at,
       s.last_cycle_at, s.cycles, s.failed_cycles, s.last_error, s.last_error_at,
       s.last_dunning_on, s.last_dunning_notices,
       (SELECT max(d.as_of) FROM ar.dunning_run d) AS last_run_date,
       s.last_reconcile_at, s.reconciled_lines,
       (SELECT count(*) FROM ar.worker_run w WHERE w.status = 'succeeded') AS runs_succeeded,
       (SELECT count(*) FROM ar.worker_run w WHERE w.status = 'failed') AS runs_failed,
       (SELECT count(*) FROM ar.worker_run w WHERE w.status = 'running') AS runs_running
  FROM (SELECT 1) one
  LEFT JOIN ar.worker_state s ON true
  LEFT JOIN LATERAL (SELECT x.pid, x.backend_start,
                            current_setting('shared_preload_libraries') ~ '(^|[\s,])ar_collect([\s,]|$)' AS preloaded
                       FROM pg_stat_activity x
                      WHERE x.backend_type = 'ar_collect worker' AND x.datname = current_database()
                      ORDER BY x.backend_start LIMIT 1) a ON true;

COMMENT ON VIEW ar.worker_status IS 'The background worker of this database: is it running, its settings, its last cycle, dunning and error, and its run counts.';
COMMENT ON COLUMN ar.worker_status.running IS 'A worker is connected to this database now.';
COMMENT ON COLUMN ar.worker_status.pid IS 'Its process id (pg_stat_activity, backend_type "ar_collect worker").';
COMMENT ON COLUMN ar.worker_status.started_at IS 'When that process started.';
COMMENT ON COLUMN ar.worker_status.preloaded IS 'ar_collect is in shared_preload_libraries (else the worker was started by ar.start_worker()).';
COMMENT ON COLUMN ar.worker_status.enabled IS 'ar_collect.enabled as the worker last read it.';
COMMENT ON COLUMN ar.worker_status.naptime IS 'ar_collect.naptime (seconds between cycles) as the worker last read it.';
COMMENT ON COLUMN ar.worker_status.dunning_at IS 'ar_collect.dunning_at (time of day of the daily dunning) as the worker last read it.';
COMMENT ON COLUMN ar.worker_status.last_cycle_at IS 'End of its last cycle.';
COMMENT ON COLUMN ar.worker_status.cycles IS 'Cycles run since the extension was installed.';
COMMENT ON COLUMN ar.worker_status.failed_cycles IS 'Cycles in which a unit of work failed (tried again at the next cycle).';
COMMENT ON COLUMN ar.worker_status.last_error IS 'Last error of a unit of work (the server log has the details).';
COMMENT ON COLUMN ar.worker_status.last_error_at IS 'When it happened.';
COMMENT ON COLUMN ar.worker_status.last_dunning_on IS 'Run date of the last dunning the worker ran.';
COMMENT ON COLUMN ar.worker_status.last_dunning_notices IS 'Notices that run queued.';
COMMENT ON COLUMN ar.worker_status.last_run_date IS 'Last run date in ar.dunning_run, by the worker or by hand.';
COMMENT ON COLUMN ar.worker_status.last_reconcile_at IS 'Last reconciliation the worker ran.';
COMMENT ON COLUMN ar.worker_status.reconciled_lines IS 'Bank lines the worker''s reconciliations applied.';
COMMENT ON COLUMN ar.worker_status.runs_succeeded IS 'Runs in ar.worker_run that succeeded.';
COMMENT ON COLUMN ar.worker_status.runs_failed IS 'Runs in ar.worker_run that failed (error, or the worker died during the run).';
COMMENT ON COLUMN ar.worker_status.runs_running IS 'Runs in progress.';

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
                ar.receivables, ar.aging_by_customer, ar.customer_credit_balance
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.default_company(), ar.open_items(date), ar.aging_report(date)
	TO ar_reader;

GRANT EXECUTE ON FUNCTION ar.record_payment(text, numeric, date, text),
                          ar.apply_customer_credit(bigint, date),
                          ar.apply_credit_note(bigint, bigint, numeric, date)
	TO ar_collector;

GRANT INSERT, UPDATE, DELETE ON ar.company, ar.customer, ar.customer_bank_account, ar.invoice,
                                ar.bank_statement, ar.bank_transaction, ar.customer_credit, ar.allocation
	TO ar_admin;
GRANT SELECT ON ar.audit_log TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.write_off_invoice(bigint, text, date), ar.cancel_invoice(bigint, date),
                          ar.check_ledger(), ar.verify_audit_chain(), ar.audit_chain_head()
	TO ar_admin;

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
