/*
 * statement_sql.c
 *		The SQL face of the statement parsers: ar.parse_statement() returns
 *		what a file holds as rows (one per statement, one per line), and
 *		ar.detect_statement_format() names its format.  Storing, the balance
 *		check and idempotency are SQL (src/sql/70_statements.sql).
 *
 * The parsers work on the bytes of the text argument: MT940 and CSV in the
 * database encoding (their structure is ASCII), camt in UTF-8, as XML
 * wants (converted here when the database encoding differs, and back for
 * the values).  Every value is checked to be valid in the database
 * encoding before it becomes text.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "statement.h"

/* Columns of ar.parsed_statement_row, in order. */
enum
{
	PC_STATEMENT_NO,
	PC_LINE_NO,
	PC_SOURCE_LINE,
	PC_FORMAT,
	PC_ACCOUNT,
	PC_ACCOUNT_IBAN,
	PC_STATEMENT_REF,
	PC_SEQUENCE_NO,
	PC_MESSAGE_ID,
	PC_CURRENCY,
	PC_OPENING_DATE,
	PC_OPENING_BALANCE,
	PC_CLOSING_DATE,
	PC_CLOSING_BALANCE,
	PC_DECLARED_CREDITS,
	PC_DECLARED_DEBITS,
	PC_BOOKING_DATE,
	PC_VALUE_DATE,
	PC_AMOUNT,
	PC_COUNTERPARTY_NAME,
	PC_COUNTERPARTY_IBAN,
	PC_COUNTERPARTY_ACCOUNT,
	PC_COUNTERPARTY_BIC,
	PC_REMITTANCE_INFO,
	PC_STRUCTURED_REFERENCE,
	PC_END_TO_END_ID,
	PC_BANK_REFERENCE,
	PC_CUSTOMER_REFERENCE,
	PC_MANDATE_ID,
	PC_CREDITOR_ID,
	PC_BANK_TX_CODE,
	PC_BANK_TX_CODE_PROPRIETARY,
	PC_BOOKING_TEXT,
	PC_RETURN_REASON,
	PC_ADDITIONAL_INFO,
	PC_REVERSAL,
	PC_RAW,
	PC_NUM_COLUMNS
};

/* What turns the parsers' values into the columns of a row. */
typedef struct RowMaker
{
	const char *requested;		/* the format asked for, or NULL */
	bool		from_utf8;		/* values are UTF-8, not the database's */
} RowMaker;

static void
clear_row(Datum *values, bool *nulls)
{
	int			i;

	for (i = 0; i < PC_NUM_COLUMNS; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
	}
}

static void
set_text(const RowMaker *m, Datum *values, bool *nulls, int col, const char *v)
{
	int			len;

	if (v == NULL)
		return;
	len = strlen(v);
	if (m->from_utf8)
	{
		v = pg_any_to_server(v, len, PG_UTF8);
		len = strlen(v);
	}
	/* the parsers cut only at ASCII bytes; this is the safety net */
	pg_verifymbstr(v, len, false);
	values[col] = PointerGetDatum(cstring_to_text_with_len(v, len));
	nulls[col] = false;
}

static void
set_numeric(Datum *values, bool *nulls, int col, const char *v)
{
	if (v == NULL)
		return;
	values[col] = DirectFunctionCall3(numeric_in, CStringGetDatum(v),
									  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	nulls[col] = false;
}

static void
set_date(Datum *values, bool *nulls, int col, const StmtDate *d)
{
	if (d->year == 0)
		return;
	Assert(stmt_valid_date(d->year, d->month, d->day));
	values[col] = DateADTGetDatum(date2j(d->year, d->month, d->day) - POSTGRES_EPOCH_JDATE);
	nulls[col] = false;
}

static void
set_int(Datum *values, bool *nulls, int col, int v)
{
	values[col] = Int32GetDatum(v);
	nulls[col] = false;
}

/* The row of a statement (line_no NULL), in the current memory context. */
static void
header_row(const RowMaker *m, int statement_no, const StmtHeader *h,
		   Datum *values, bool *nulls)
{
	/* camt.053 asked for, camt.054 given: say so rather than import it */
	if (m->requested != NULL && strcmp(m->requested, "camt") != 0 &&
		strncmp(m->requested, "camt", 4) == 0 && strcmp(m->requested, h->format) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the document is a %s message, not %s", h->format, m->requested)));

	clear_row(values, nulls);
	set_int(values, nulls, PC_STATEMENT_NO, statement_no);
	set_int(values, nulls, PC_SOURCE_LINE, h->source_line);
	set_text(m, values, nulls, PC_FORMAT, h->format);
	set_text(m, values, nulls, PC_ACCOUNT, h->account);
	set_text(m, values, nulls, PC_ACCOUNT_IBAN, stmt_account_iban(h->account));
	set_text(m, values, nulls, PC_STATEMENT_REF, h->statement_ref);
	set_text(m, values, nulls, PC_SEQUENCE_NO, h->sequence_no);
	set_text(m, values, nulls, PC_MESSAGE_ID, h->message_id);
	set_text(m, values, nulls, PC_CURRENCY, h->currency);
	set_date(values, nulls, PC_OPENING_DATE, &h->opening_date);
	set_numeric(values, nulls, PC_OPENING_BALANCE, h->opening_balance);
	set_date(values, nulls, PC_CLOSING_DATE, &h->closing_date);
	set_numeric(values, nulls, PC_CLOSING_BALANCE, h->closing_balance);
	set_numeric(values, nulls, PC_DECLARED_CREDITS, h->declared_credits);
	set_numeric(values, nulls, PC_DECLARED_DEBITS, h->declared_debits);
}

/* The row of a line of a statement, in the current memory context. */
static void
line_row(const RowMaker *m, int statement_no, int line_no, const StmtLine *l,
		 Datum *values, bool *nulls)
{
	clear_row(values, nulls);
	set_int(values, nulls, PC_STATEMENT_NO, statement_no);
	set_int(values, nulls, PC_LINE_NO, line_no);
	set_int(values, nulls, PC_SOURCE_LINE, l->source_line);
	set_text(m, values, nulls, PC_CURRENCY, l->currency);
	set_date(values, nulls, PC_BOOKING_DATE, &l->booking_date);
	set_date(values, nulls, PC_VALUE_DATE, &l->value_date);
	set_numeric(values, nulls, PC_AMOUNT, l->amount);
	set_text(m, values, nulls, PC_COUNTERPARTY_NAME, l->counterparty_name);
	set_text(m, values, nulls, PC_COUNTERPARTY_IBAN, stmt_iban_or_null(l->counterparty_account));
	set_text(m, values, nulls, PC_COUNTERPARTY_ACCOUNT, l->counterparty_account);
	set_text(m, values, nulls, PC_COUNTERPARTY_BIC, l->counterparty_bic);
	set_text(m, values, nulls, PC_REMITTANCE_INFO, l->remittance_info);
	set_text(m, values, nulls, PC_STRUCTURED_REFERENCE, l->structured_reference);
	set_text(m, values, nulls, PC_END_TO_END_ID, l->end_to_end_id);
	set_text(m, values, nulls, PC_BANK_REFERENCE, l->bank_reference);
	set_text(m, values, nulls, PC_CUSTOMER_REFERENCE, l->customer_reference);
	set_text(m, values, nulls, PC_MANDATE_ID, l->mandate_id);
	set_text(m, values, nulls, PC_CREDITOR_ID, l->creditor_id);
	set_text(m, values, nulls, PC_BANK_TX_CODE, l->bank_tx_code);
	set_text(m, values, nulls, PC_BANK_TX_CODE_PROPRIETARY, l->bank_tx_code_proprietary);
	set_text(m, values, nulls, PC_BOOKING_TEXT, l->booking_text);
	set_text(m, values, nulls, PC_RETURN_REASON, l->return_reason);
	set_text(m, values, nulls, PC_ADDITIONAL_INFO, l->additional_info);
	values[PC_REVERSAL] = BoolGetDatum(l->reversal);
	nulls[PC_REVERSAL] = false;
	set_text(m, values, nulls, PC_RAW, l->raw);
}

/* Does a parser's amount text ("-12.50", "0.00") say zero? */
static bool
amount_is_zero(const char *amount)
{
	const char *p;

	for (p = amount; *p; p++)
		if (*p != '0' && *p != '.' && *p != '-')
			return false;
	return true;
}

/* --- ar.parse_statement: every row into the tuplestore --- */

typedef struct TupleSink
{
	StmtSink	sink;
	RowMaker	maker;
	ReturnSetInfo *rsinfo;
	MemoryContext rowcxt;		/* one row's values, reset after it */
} TupleSink;

static void
tuple_statement(StmtSink *sink, int statement_no, const StmtHeader *h)
{
	TupleSink  *s = (TupleSink *) sink;
	Datum		values[PC_NUM_COLUMNS];
	bool		nulls[PC_NUM_COLUMNS];
	MemoryContext old = MemoryContextSwitchTo(s->rowcxt);

	header_row(&s->maker, statement_no, h, values, nulls);
	tuplestore_putvalues(s->rsinfo->setResult, s->rsinfo->setDesc, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->rowcxt);
}

static void
tuple_line(StmtSink *sink, int statement_no, int line_no, const StmtLine *l)
{
	TupleSink  *s = (TupleSink *) sink;
	Datum		values[PC_NUM_COLUMNS];
	bool		nulls[PC_NUM_COLUMNS];
	MemoryContext old = MemoryContextSwitchTo(s->rowcxt);

	line_row(&s->maker, statement_no, line_no, l, values, nulls);
	tuplestore_putvalues(s->rsinfo->setResult, s->rsinfo->setDesc, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->rowcxt);
}

/* The canonical format to parse with: given, else detected. */
static const char *
resolve_format(const char *content, int len, text *given)
{
	const char *format;

	if (given != NULL)
	{
		char	   *name = text_to_cstring(given);

		format = statement_format_name(name);
		if (format == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown statement format \"%s\"", name),
					 errhint("Formats: camt.053, camt.054, camt.052, mt940, mt942, csv; NULL detects it.")));
		return format;
	}
	format = statement_detect_format(content, len);
	if (format == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("cannot tell the format of the statement"),
				 errdetail("It is neither ISO 20022 camt XML, nor SWIFT MT940/MT942, nor CSV with a header naming amount and booking_date."),
				 errhint("Pass the format: camt.053, camt.054, mt940 or csv.")));
	return format;
}

/* Refuses a file beyond STMT_MAX_INPUT, before reading any of it. */
static void
check_size(int64 len)
{
	if (len > STMT_MAX_INPUT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the statement file is too large: " INT64_FORMAT " bytes, the limit is %d bytes (%d MB)",
						len, STMT_MAX_INPUT, STMT_MAX_INPUT / (1024 * 1024)),
				 errhint("Split it into files of whole statements and import each.")));
}

/*
 * The file's bytes and the format to parse it with, checked: the size
 * first, then the format asked for or detected.  "requested" is the format
 * asked for (NULL when detected).
 */
static const char *
file_of(FunctionCallInfo fcinfo, const char **data, int *len, const char **requested)
{
	text	   *content;
	const char *format;

	/* the size without detoasting a value that is too large */
	check_size(toast_raw_datum_size(PG_GETARG_DATUM(0)) - VARHDRSZ);
	content = PG_GETARG_TEXT_PP(0);
	*data = VARDATA_ANY(content);
	*len = VARSIZE_ANY_EXHDR(content);
	format = resolve_format(*data, *len, PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));
	*requested = PG_ARGISNULL(1) ? NULL : format;
	return format;
}

/* Runs the parser of the format over the file into the sink. */
static void
parse_file(const char *format, const char *data, int len, StmtSink *sink, RowMaker *maker)
{
	maker->from_utf8 = false;
	if (strncmp(format, "camt", 4) == 0)
	{
		if (GetDatabaseEncoding() != PG_UTF8)
		{
			data = pg_server_to_any(data, len, PG_UTF8);
			len = strlen(data);
			maker->from_utf8 = true;
		}
		camt_parse(data, len, sink);
	}
	else if (strcmp(format, "csv") == 0)
		statement_csv_parse(data, len, sink);
	else
		mt940_parse(data, len, sink);
}

PG_FUNCTION_INFO_V1(ar_parse_statement);
Datum
ar_parse_statement(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *data;
	int			len;
	const char *format;
	TupleSink	sink;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	memset(&sink, 0, sizeof(sink));
	format = file_of(fcinfo, &data, &len, &sink.maker.requested);
	sink.sink.statement = tuple_statement;
	sink.sink.line = tuple_line;
	sink.rsinfo = rsinfo;
	sink.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "parse_statement row",
										ALLOCSET_DEFAULT_SIZES);
	parse_file(format, data, len, &sink.sink, &sink.maker);
	MemoryContextDelete(sink.rowcxt);
	PG_RETURN_NULL();
}

/*
 * --- ar._statement_scan: what ar.import_statement decides on ---
 *
 * One row per statement of the file: its header (an ar.parsed_statement_row
 * as ar.parse_statement gives it), what its lines add up to, and the SHA-256
 * that makes an import idempotent, without keeping the lines: two passes
 * over the file.  The first collects the headers and the sums; the second
 * hashes each statement's canonical text, the one ar._statement_digest
 * defines,
 *   sha256(convert_to(jsonb_build_array(header, lines)::text, 'UTF8'))
 * with header = to_jsonb(header row) less statement_no, line_no,
 * source_line and raw, and lines = the jsonb array of to_jsonb(line row)
 * less statement_no, source_line and raw, in line order ('[]' when none):
 * the text is written here as jsonb's output writes it (keys shortest
 * first, then bytewise; ", " and ": " between items), piece by piece into
 * the hash.  And the statement digest, the same less the header's
 * message_id: a message envelope a bank renumbers at each download, not
 * content of the statement (an import recognises a statement downloaded
 * again by it; the first digest is 0.1.0's, kept for the statements stored
 * before).
 */

typedef struct ScanStatement
{
	bool		seen;			/* its header was reported */
	Datum	   *values;			/* the header row */
	bool	   *nulls;
	Numeric		movements;		/* sums of the lines' amounts, NULL when */
	Numeric		credits;		/* there is nothing to add */
	Numeric		debits;
	int64		stored_lines;	/* lines with an amount (zero moves nothing) */
	DateADT		first_date;		/* booking dates, when have_dates */
	DateADT		last_date;
	bool		have_dates;
	pg_cryptohash_ctx *hash;	/* second pass */
	pg_cryptohash_ctx *content_hash;	/* the same less the message id */
	int64		lines_hashed;
} ScanStatement;

typedef struct ScanSink
{
	StmtSink	sink;
	RowMaker	maker;
	int			pass;			/* 1: headers and sums, 2: hashes */
	MemoryContext cxt;			/* the statements */
	MemoryContext rowcxt;		/* one row, reset after it */
	ScanStatement *stmts;		/* by statement_no - 1 */
	int			nstmts;
	int			maxstmts;
	TupleDesc	rowdesc;		/* ar.parsed_statement_row */
	int			keys[PC_NUM_COLUMNS];	/* columns in jsonb key order */
	int			nkeys;
	StringInfoData json;
} ScanSink;

static ScanStatement *
scan_statement(ScanSink *s, int statement_no)
{
	if (statement_no < 1 || (s->pass == 2 && statement_no > s->nstmts))
		elog(ERROR, "statement %d out of range", statement_no);
	while (statement_no > s->maxstmts)
	{
		int			n = Max(8, s->maxstmts * 2);

		s->stmts = s->stmts
			? repalloc_huge(s->stmts, sizeof(ScanStatement) * n)
			: MemoryContextAllocHuge(s->cxt, sizeof(ScanStatement) * n);
		memset(s->stmts + s->maxstmts, 0, sizeof(ScanStatement) * (n - s->maxstmts));
		s->maxstmts = n;
	}
	s->nstmts = Max(s->nstmts, statement_no);
	return &s->stmts[statement_no - 1];
}

/* *sum += v, in the statements' context, the old sum freed. */
static void
add_to(ScanSink *s, Numeric *sum, Datum v)
{
	MemoryContext old = MemoryContextSwitchTo(s->cxt);
	Numeric		prev = *sum;

	*sum = prev == NULL ? DatumGetNumericCopy(v)
		: DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(prev), v));
	if (prev != NULL)
		pfree(prev);
	MemoryContextSwitchTo(old);
}

/* The hash takes the text in UTF-8, as convert_to(..., 'UTF8') gives it. */
static void
hash_text(pg_cryptohash_ctx *hash, const char *text, int len)
{
	const char *utf8 = text;

	if (GetDatabaseEncoding() != PG_UTF8)
	{
		utf8 = pg_server_to_any(text, len, PG_UTF8);
		if (utf8 != text)
			len = strlen(utf8);
	}
	if (pg_cryptohash_update(hash, (const uint8 *) utf8, len) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(hash));
}

static pg_cryptohash_ctx *
sha256_begun(void)
{
	pg_cryptohash_ctx *hash = pg_cryptohash_create(PG_SHA256);

	if (hash == NULL || pg_cryptohash_init(hash) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(hash));
	return hash;
}

/* The digest of the text hashed, closed by "]]" (the end of the array), as bytea. */
static Datum
sha256_ended(pg_cryptohash_ctx **hash)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	bytea	   *d = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	hash_text(*hash, "]]", 2);
	if (pg_cryptohash_final(*hash, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(*hash));
	pg_cryptohash_free(*hash);
	*hash = NULL;
	SET_VARSIZE(d, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(d), digest, PG_SHA256_DIGEST_LENGTH);
	return PointerGetDatum(d);
}

/*
 * Appends the jsonb text of a row (less the columns the digest leaves out;
 * with message_id false, less the message id too: the statement digest).
 */
static void
row_json(ScanSink *s, StringInfo out, Datum *values, bool *nulls, bool header, bool message_id)
{
	bool		first = true;
	int			k;

	appendStringInfoChar(out, '{');
	for (k = 0; k < s->nkeys; k++)
	{
		int			i = s->keys[k];
		Form_pg_attribute att = TupleDescAttr(s->rowdesc, i);

		if (i == PC_STATEMENT_NO || i == PC_SOURCE_LINE || i == PC_RAW ||
			(header && i == PC_LINE_NO) || (!message_id && i == PC_MESSAGE_ID))
			continue;
		if (!first)
			appendBinaryStringInfo(out, ", ", 2);
		first = false;
		escape_json(out, NameStr(att->attname));
		appendBinaryStringInfo(out, ": ", 2);
		if (nulls[i])
		{
			appendBinaryStringInfo(out, "null", 4);
			continue;
		}
		switch (att->atttypid)
		{
			case INT4OID:
				appendStringInfo(out, "%d", DatumGetInt32(values[i]));
				break;
			case NUMERICOID:
				appendStringInfoString(out, DatumGetCString(DirectFunctionCall1(numeric_out, values[i])));
				break;
			case DATEOID:
				{
					char		buf[MAXDATELEN + 1];

					escape_json(out, JsonEncodeDateTime(buf, values[i], DATEOID, NULL));
					break;
				}
			case BOOLOID:
				appendStringInfoString(out, DatumGetBool(values[i]) ? "true" : "false");
				break;
			case TEXTOID:
				escape_json(out, TextDatumGetCString(values[i]));
				break;
			default:
				elog(ERROR, "unexpected type %u in ar.parsed_statement_row", att->atttypid);
		}
	}
	appendStringInfoChar(out, '}');
}

static void
scan_statement_cb(StmtSink *sink, int statement_no, const StmtHeader *h)
{
	ScanSink   *s = (ScanSink *) sink;
	ScanStatement *st = scan_statement(s, statement_no);
	Datum		values[PC_NUM_COLUMNS];
	bool		nulls[PC_NUM_COLUMNS];
	MemoryContext old;
	int			i;

	if (s->pass != 1)
		return;
	old = MemoryContextSwitchTo(s->rowcxt);
	header_row(&s->maker, statement_no, h, values, nulls);
	MemoryContextSwitchTo(s->cxt);
	st->values = palloc(sizeof(Datum) * PC_NUM_COLUMNS);
	st->nulls = palloc(sizeof(bool) * PC_NUM_COLUMNS);
	for (i = 0; i < PC_NUM_COLUMNS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(s->rowdesc, i);

		st->nulls[i] = nulls[i];
		st->values[i] = nulls[i] ? (Datum) 0
			: datumCopy(values[i], att->attbyval, att->attlen);
	}
	st->seen = true;
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->rowcxt);
}

static void
scan_line_cb(StmtSink *sink, int statement_no, int line_no, const StmtLine *l)
{
	ScanSink   *s = (ScanSink *) sink;
	ScanStatement *st = scan_statement(s, statement_no);
	Datum		values[PC_NUM_COLUMNS];
	bool		nulls[PC_NUM_COLUMNS];
	MemoryContext old = MemoryContextSwitchTo(s->rowcxt);

	line_row(&s->maker, statement_no, line_no, l, values, nulls);
	if (s->pass == 1)
	{
		Datum		amount = values[PC_AMOUNT];
		DateADT		booked = DatumGetDateADT(values[PC_BOOKING_DATE]);

		/* as sum(amount) and count(*) FILTER (WHERE amount <> 0) */
		if (!nulls[PC_AMOUNT])
			add_to(s, &st->movements, amount);
		if (!nulls[PC_AMOUNT] && !amount_is_zero(l->amount))
		{
			st->stored_lines++;
			add_to(s, l->amount[0] == '-' ? &st->debits : &st->credits, amount);
		}
		if (!nulls[PC_BOOKING_DATE])
		{
			if (!st->have_dates || booked < st->first_date)
				st->first_date = booked;
			if (!st->have_dates || booked > st->last_date)
				st->last_date = booked;
			st->have_dates = true;
		}
	}
	else
	{
		resetStringInfo(&s->json);
		if (st->lines_hashed++ > 0)
			appendBinaryStringInfo(&s->json, ", ", 2);
		row_json(s, &s->json, values, nulls, false, true);
		hash_text(st->hash, s->json.data, s->json.len);
		hash_text(st->content_hash, s->json.data, s->json.len);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->rowcxt);
}

/* The columns of ar.parsed_statement_row in the order jsonb keeps keys. */
static void
sort_keys(ScanSink *s)
{
	int			i;
	int			j;

	s->nkeys = 0;
	for (i = 0; i < s->rowdesc->natts; i++)
	{
		const char *name = NameStr(TupleDescAttr(s->rowdesc, i)->attname);
		int			len = strlen(name);

		/* insertion sort: shorter first, then bytewise */
		for (j = s->nkeys; j > 0; j--)
		{
			const char *other = NameStr(TupleDescAttr(s->rowdesc, s->keys[j - 1])->attname);
			int			olen = strlen(other);

			if (olen < len || (olen == len && memcmp(other, name, len) < 0))
				break;
			s->keys[j] = s->keys[j - 1];
		}
		s->keys[j] = i;
		s->nkeys++;
	}
}

PG_FUNCTION_INFO_V1(ar_statement_scan);
Datum
ar_statement_scan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *data;
	int			len;
	const char *format;
	ScanSink	sink;
	Oid			rowtype;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the statement content is NULL")));
	memset(&sink, 0, sizeof(sink));
	format = file_of(fcinfo, &data, &len, &sink.maker.requested);
	sink.sink.statement = scan_statement_cb;
	sink.sink.line = scan_line_cb;
	sink.cxt = AllocSetContextCreate(CurrentMemoryContext, "statement scan",
									 ALLOCSET_DEFAULT_SIZES);
	sink.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "statement scan row",
										ALLOCSET_DEFAULT_SIZES);
	rowtype = TupleDescAttr(rsinfo->setDesc, 0)->atttypid;
	sink.rowdesc = lookup_rowtype_tupdesc_copy(rowtype, -1);
	if (sink.rowdesc->natts != PC_NUM_COLUMNS)
		elog(ERROR, "ar.parsed_statement_row has %d columns, expected %d",
			 sink.rowdesc->natts, PC_NUM_COLUMNS);
	sort_keys(&sink);
	initStringInfo(&sink.json);

	/* first pass: the headers and what the lines add up to */
	sink.pass = 1;
	parse_file(format, data, len, &sink.sink, &sink.maker);

	/* second pass: each statement's digest, its header first */
	for (i = 0; i < sink.nstmts; i++)
	{
		ScanStatement *st = &sink.stmts[i];

		if (!st->seen)
			elog(ERROR, "statement %d of the file has lines but no header", i + 1);
		st->hash = sha256_begun();
		st->content_hash = sha256_begun();
		resetStringInfo(&sink.json);
		appendStringInfoChar(&sink.json, '[');
		row_json(&sink, &sink.json, st->values, st->nulls, true, true);
		appendBinaryStringInfo(&sink.json, ", [", 3);
		hash_text(st->hash, sink.json.data, sink.json.len);
		resetStringInfo(&sink.json);
		appendStringInfoChar(&sink.json, '[');
		row_json(&sink, &sink.json, st->values, st->nulls, true, false);
		appendBinaryStringInfo(&sink.json, ", [", 3);
		hash_text(st->content_hash, sink.json.data, sink.json.len);
	}
	sink.pass = 2;
	parse_file(format, data, len, &sink.sink, &sink.maker);

	for (i = 0; i < sink.nstmts; i++)
	{
		ScanStatement *st = &sink.stmts[i];
		Datum		values[9];
		bool		nulls[9];

		memset(nulls, 0, sizeof(nulls));
		values[0] = HeapTupleGetDatum(heap_form_tuple(sink.rowdesc, st->values, st->nulls));
		values[1] = NumericGetDatum(st->movements);
		nulls[1] = st->movements == NULL;
		values[2] = Int64GetDatum(st->stored_lines);
		values[3] = NumericGetDatum(st->credits);
		nulls[3] = st->credits == NULL;
		values[4] = NumericGetDatum(st->debits);
		nulls[4] = st->debits == NULL;
		values[5] = DateADTGetDatum(st->first_date);
		values[6] = DateADTGetDatum(st->last_date);
		nulls[5] = nulls[6] = !st->have_dates;
		values[7] = sha256_ended(&st->hash);
		values[8] = sha256_ended(&st->content_hash);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(sink.rowcxt);
	MemoryContextDelete(sink.cxt);
	PG_RETURN_NULL();
}

/*
 * --- ar._statement_store_lines: the lines, into ar.bank_transaction ---
 *
 * A third pass over the file: the lines of the statements ar.import_statement
 * has just stored (statement number i of the file is stored as statement_ids
 * i of company company_ids i), those with an amount, inserted in batches of
 * at most STORE_BATCH_ROWS lines or STORE_BATCH_BYTES bytes of text, each
 * batch one execution of INSERT ... SELECT FROM unnest(arrays), its memory
 * freed after it.  Returns the number of lines stored.
 */

#define STORE_BATCH_ROWS	1000
#define STORE_BATCH_BYTES	(8 * 1024 * 1024)
#define STORE_COLUMNS		26

typedef struct StoreSink
{
	StmtSink	sink;
	RowMaker	maker;
	int			nstmts;			/* statement_no -> index + 1, 0 = skip */
	int		   *target;
	int64	   *statement_ids;
	int64	   *company_ids;
	const char *insert;			/* INSERT ... SELECT FROM unnest($1, ...) */
	Oid			argtypes[STORE_COLUMNS];
	MemoryContext batchcxt;
	Datum	   *values[STORE_COLUMNS];	/* one array per column */
	bool	   *nulls[STORE_COLUMNS];
	int			nrows;
	Size		bytes;
	int64		stored;
} StoreSink;

/* The columns of ar.parsed_statement_row stored, after the two ids. */
static const int store_columns[STORE_COLUMNS - 2] = {
	PC_LINE_NO, PC_BOOKING_DATE, PC_VALUE_DATE, PC_AMOUNT, PC_CURRENCY,
	PC_COUNTERPARTY_NAME, PC_COUNTERPARTY_IBAN, PC_COUNTERPARTY_ACCOUNT,
	PC_COUNTERPARTY_BIC, PC_REMITTANCE_INFO, PC_STRUCTURED_REFERENCE,
	PC_END_TO_END_ID, PC_BANK_REFERENCE, PC_CUSTOMER_REFERENCE, PC_MANDATE_ID,
	PC_CREDITOR_ID, PC_BANK_TX_CODE, PC_BANK_TX_CODE_PROPRIETARY, PC_BOOKING_TEXT,
	PC_RETURN_REASON, PC_ADDITIONAL_INFO, PC_REVERSAL, PC_SOURCE_LINE, PC_RAW,
};

static Oid
store_type(int k)
{
	if (k < 2)
		return INT8OID;
	switch (store_columns[k - 2])
	{
		case PC_LINE_NO:
		case PC_SOURCE_LINE:
			return INT4OID;
		case PC_BOOKING_DATE:
		case PC_VALUE_DATE:
			return DATEOID;
		case PC_AMOUNT:
			return NUMERICOID;
		case PC_REVERSAL:
			return BOOLOID;
		default:
			return TEXTOID;
	}
}

static void
store_flush(StoreSink *s)
{
	Datum		args[STORE_COLUMNS];
	int			dims[1];
	int			lbs[1] = {1};
	int			k;
	int			rc;
	MemoryContext old;

	if (s->nrows == 0)
		return;
	old = MemoryContextSwitchTo(s->batchcxt);
	dims[0] = s->nrows;
	for (k = 0; k < STORE_COLUMNS; k++)
	{
		Oid			type = store_type(k);
		int16		typlen;
		bool		typbyval;
		char		typalign;

		get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
		args[k] = PointerGetDatum(construct_md_array(s->values[k], s->nulls[k], 1, dims, lbs,
													 type, typlen, typbyval, typalign));
	}
	/*
	 * One-shot: planned with this batch's arrays as values.  On Citus a
	 * generic plan of an INSERT ... SELECT into a distributed table with
	 * parameters cannot be planned ("could not create distributed plan"),
	 * and ar.import_statement asks for generic plans; planning once per
	 * batch of up to STORE_BATCH_ROWS lines costs nothing measurable.
	 */
	rc = SPI_execute_with_args(s->insert, STORE_COLUMNS, s->argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "storing the statement lines failed: %s", SPI_result_code_string(rc));
	s->stored += SPI_processed;
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->batchcxt);
	s->nrows = 0;
	s->bytes = 0;
	for (k = 0; k < STORE_COLUMNS; k++)
	{
		s->values[k] = MemoryContextAlloc(s->batchcxt, sizeof(Datum) * STORE_BATCH_ROWS);
		s->nulls[k] = MemoryContextAlloc(s->batchcxt, sizeof(bool) * STORE_BATCH_ROWS);
	}
}

static void
store_statement_cb(StmtSink *sink, int statement_no, const StmtHeader *h)
{
	(void) sink;
	(void) statement_no;
	(void) h;
}

static void
store_line_cb(StmtSink *sink, int statement_no, int line_no, const StmtLine *l)
{
	StoreSink  *s = (StoreSink *) sink;
	Datum		values[PC_NUM_COLUMNS];
	bool		nulls[PC_NUM_COLUMNS];
	MemoryContext old;
	int			t;
	int			k;

	if (statement_no < 1 || statement_no > s->nstmts || s->target[statement_no - 1] == 0)
		return;					/* not stored now (imported before) */
	if (l->amount == NULL || amount_is_zero(l->amount))
		return;					/* moves nothing */
	t = s->target[statement_no - 1] - 1;
	old = MemoryContextSwitchTo(s->batchcxt);
	line_row(&s->maker, statement_no, line_no, l, values, nulls);
	s->values[0][s->nrows] = Int64GetDatum(s->company_ids[t]);
	s->nulls[0][s->nrows] = false;
	s->values[1][s->nrows] = Int64GetDatum(s->statement_ids[t]);
	s->nulls[1][s->nrows] = false;
	for (k = 2; k < STORE_COLUMNS; k++)
	{
		int			c = store_columns[k - 2];

		s->values[k][s->nrows] = values[c];
		s->nulls[k][s->nrows] = nulls[c];
		if (!nulls[c] && store_type(k) == TEXTOID)
			s->bytes += VARSIZE_ANY(DatumGetPointer(values[c]));
	}
	MemoryContextSwitchTo(old);
	s->nrows++;
	if (s->nrows >= STORE_BATCH_ROWS || s->bytes >= STORE_BATCH_BYTES)
		store_flush(s);
}

/* An int4[] or int8[] argument without NULLs, as int64 values. */
static int64 *
int_array(ArrayType *a, const char *name, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int64	   *out;
	int			i;
	Oid			type = ARR_ELEMTYPE(a);
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (type != INT4OID && type != INT8OID)
		elog(ERROR, "%s is not an integer array", name);
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(a, type, typlen, typbyval, typalign, &elems, &nulls, n);
	out = palloc(sizeof(int64) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		if (nulls[i])
			elog(ERROR, "%s holds a NULL", name);
		out[i] = type == INT4OID ? DatumGetInt32(elems[i]) : DatumGetInt64(elems[i]);
	}
	return out;
}

PG_FUNCTION_INFO_V1(ar_statement_store_lines);
Datum
ar_statement_store_lines(PG_FUNCTION_ARGS)
{
	const char *data;
	int			len;
	const char *format;
	StoreSink	sink;
	int64	   *nos;
	int			n;
	int			n_ids;
	int			n_companies;
	int			i;
	int			k;
	StringInfoData query;

	for (i = 0; i < 5; i++)
		if (PG_ARGISNULL(i) && i != 1)
			elog(ERROR, "argument %d of ar._statement_store_lines is NULL", i + 1);
	memset(&sink, 0, sizeof(sink));
	format = file_of(fcinfo, &data, &len, &sink.maker.requested);
	nos = int_array(PG_GETARG_ARRAYTYPE_P(2), "statement_nos", &n);
	sink.statement_ids = int_array(PG_GETARG_ARRAYTYPE_P(3), "statement_ids", &n_ids);
	sink.company_ids = int_array(PG_GETARG_ARRAYTYPE_P(4), "company_ids", &n_companies);
	if (n_ids != n || n_companies != n)
		elog(ERROR, "ar._statement_store_lines: the arrays differ in length");
	for (i = 0; i < n; i++)
		sink.nstmts = Max(sink.nstmts, (int) Min(nos[i], PG_INT32_MAX));
	sink.target = palloc0(sizeof(int) * Max(sink.nstmts, 1));
	for (i = 0; i < n; i++)
		if (nos[i] >= 1)
			sink.target[nos[i] - 1] = i + 1;
	if (n == 0)
		PG_RETURN_INT64(0);

	sink.sink.statement = store_statement_cb;
	sink.sink.line = store_line_cb;
	sink.batchcxt = AllocSetContextCreate(CurrentMemoryContext, "statement lines batch",
										  ALLOCSET_DEFAULT_SIZES);
	for (k = 0; k < STORE_COLUMNS; k++)
	{
		sink.values[k] = MemoryContextAlloc(sink.batchcxt, sizeof(Datum) * STORE_BATCH_ROWS);
		sink.nulls[k] = MemoryContextAlloc(sink.batchcxt, sizeof(bool) * STORE_BATCH_ROWS);
	}

	initStringInfo(&query);
	appendStringInfoString(&query,
						   "INSERT INTO ar.bank_transaction"
						   " (company_id, statement_id, line_no, booking_date, value_date, amount, currency,"
						   " counterparty_name, counterparty_iban, counterparty_account, counterparty_bic,"
						   " remittance_info, structured_reference, end_to_end_id, bank_reference,"
						   " customer_reference, mandate_id, creditor_id, bank_tx_code,"
						   " bank_tx_code_proprietary, booking_text, return_reason, additional_info,"
						   " reversal, source_line, raw)"
						   " SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9::ar.iban, c10, c11, c12, c13, c14,"
						   " c15, c16, c17, c18, c19, c20, c21, c22, c23, c24, c25, c26"
						   " FROM unnest(");
	for (k = 0; k < STORE_COLUMNS; k++)
	{
		sink.argtypes[k] = get_array_type(store_type(k));
		appendStringInfo(&query, "%s$%d", k > 0 ? ", " : "", k + 1);
	}
	appendStringInfoString(&query, ") AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13,"
						   " c14, c15, c16, c17, c18, c19, c20, c21, c22, c23, c24, c25, c26)");

	sink.insert = query.data;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PG_TRY();
	{
		parse_file(format, data, len, &sink.sink, &sink.maker);
		store_flush(&sink);
	}
	PG_FINALLY();
	{
		MemoryContextDelete(sink.batchcxt);
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64(sink.stored);
}

PG_FUNCTION_INFO_V1(ar_detect_statement_format);
Datum
ar_detect_statement_format(PG_FUNCTION_ARGS)
{
	text	   *content = PG_GETARG_TEXT_PP(0);
	const char *format = statement_detect_format(VARDATA_ANY(content),
												 VARSIZE_ANY_EXHDR(content));

	if (format == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(format));
}
