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
