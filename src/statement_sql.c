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

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

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

typedef struct SqlSink
{
	StmtSink	sink;
	ReturnSetInfo *rsinfo;
	const char *requested;		/* the format asked for, or NULL */
	bool		from_utf8;		/* values are UTF-8, not the database's */
} SqlSink;

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
set_text(SqlSink *s, Datum *values, bool *nulls, int col, const char *v)
{
	int			len;

	if (v == NULL)
		return;
	len = strlen(v);
	if (s->from_utf8)
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

static void
sql_statement(StmtSink *sink, int statement_no, const StmtHeader *h)
{
	SqlSink    *s = (SqlSink *) sink;
	Datum		values[PC_NUM_COLUMNS];
	bool		nulls[PC_NUM_COLUMNS];

	/* camt.053 asked for, camt.054 given: say so rather than import it */
	if (s->requested != NULL && strcmp(s->requested, "camt") != 0 &&
		strncmp(s->requested, "camt", 4) == 0 && strcmp(s->requested, h->format) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the document is a %s message, not %s", h->format, s->requested)));

	clear_row(values, nulls);
	set_int(values, nulls, PC_STATEMENT_NO, statement_no);
	set_int(values, nulls, PC_SOURCE_LINE, h->source_line);
	set_text(s, values, nulls, PC_FORMAT, h->format);
	set_text(s, values, nulls, PC_ACCOUNT, h->account);
	set_text(s, values, nulls, PC_ACCOUNT_IBAN, stmt_account_iban(h->account));
	set_text(s, values, nulls, PC_STATEMENT_REF, h->statement_ref);
	set_text(s, values, nulls, PC_SEQUENCE_NO, h->sequence_no);
	set_text(s, values, nulls, PC_MESSAGE_ID, h->message_id);
	set_text(s, values, nulls, PC_CURRENCY, h->currency);
	set_date(values, nulls, PC_OPENING_DATE, &h->opening_date);
	set_numeric(values, nulls, PC_OPENING_BALANCE, h->opening_balance);
	set_date(values, nulls, PC_CLOSING_DATE, &h->closing_date);
	set_numeric(values, nulls, PC_CLOSING_BALANCE, h->closing_balance);
	set_numeric(values, nulls, PC_DECLARED_CREDITS, h->declared_credits);
	set_numeric(values, nulls, PC_DECLARED_DEBITS, h->declared_debits);
	tuplestore_putvalues(s->rsinfo->setResult, s->rsinfo->setDesc, values, nulls);
}

static void
sql_line(StmtSink *sink, int statement_no, int line_no, const StmtLine *l)
{
	SqlSink    *s = (SqlSink *) sink;
	Datum		values[PC_NUM_COLUMNS];
	bool		nulls[PC_NUM_COLUMNS];

	clear_row(values, nulls);
	set_int(values, nulls, PC_STATEMENT_NO, statement_no);
	set_int(values, nulls, PC_LINE_NO, line_no);
	set_int(values, nulls, PC_SOURCE_LINE, l->source_line);
	set_text(s, values, nulls, PC_CURRENCY, l->currency);
	set_date(values, nulls, PC_BOOKING_DATE, &l->booking_date);
	set_date(values, nulls, PC_VALUE_DATE, &l->value_date);
	set_numeric(values, nulls, PC_AMOUNT, l->amount);
	set_text(s, values, nulls, PC_COUNTERPARTY_NAME, l->counterparty_name);
	set_text(s, values, nulls, PC_COUNTERPARTY_IBAN, stmt_iban_or_null(l->counterparty_account));
	set_text(s, values, nulls, PC_COUNTERPARTY_ACCOUNT, l->counterparty_account);
	set_text(s, values, nulls, PC_COUNTERPARTY_BIC, l->counterparty_bic);
	set_text(s, values, nulls, PC_REMITTANCE_INFO, l->remittance_info);
	set_text(s, values, nulls, PC_STRUCTURED_REFERENCE, l->structured_reference);
	set_text(s, values, nulls, PC_END_TO_END_ID, l->end_to_end_id);
	set_text(s, values, nulls, PC_BANK_REFERENCE, l->bank_reference);
	set_text(s, values, nulls, PC_CUSTOMER_REFERENCE, l->customer_reference);
	set_text(s, values, nulls, PC_MANDATE_ID, l->mandate_id);
	set_text(s, values, nulls, PC_CREDITOR_ID, l->creditor_id);
	set_text(s, values, nulls, PC_BANK_TX_CODE, l->bank_tx_code);
	set_text(s, values, nulls, PC_BANK_TX_CODE_PROPRIETARY, l->bank_tx_code_proprietary);
	set_text(s, values, nulls, PC_BOOKING_TEXT, l->booking_text);
	set_text(s, values, nulls, PC_RETURN_REASON, l->return_reason);
	set_text(s, values, nulls, PC_ADDITIONAL_INFO, l->additional_info);
	values[PC_REVERSAL] = BoolGetDatum(l->reversal);
	nulls[PC_REVERSAL] = false;
	set_text(s, values, nulls, PC_RAW, l->raw);
	tuplestore_putvalues(s->rsinfo->setResult, s->rsinfo->setDesc, values, nulls);
	(void) statement_no;
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

PG_FUNCTION_INFO_V1(ar_parse_statement);
Datum
ar_parse_statement(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *content;
	const char *data;
	int			len;
	const char *format;
	SqlSink		sink;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	content = PG_GETARG_TEXT_PP(0);
	data = VARDATA_ANY(content);
	len = VARSIZE_ANY_EXHDR(content);
	format = resolve_format(data, len, PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));

	memset(&sink, 0, sizeof(sink));
	sink.sink.statement = sql_statement;
	sink.sink.line = sql_line;
	sink.rsinfo = rsinfo;
	sink.requested = PG_ARGISNULL(1) ? NULL : format;

	if (strncmp(format, "camt", 4) == 0)
	{
		if (GetDatabaseEncoding() != PG_UTF8)
		{
			data = pg_server_to_any(data, len, PG_UTF8);
			len = strlen(data);
			sink.from_utf8 = true;
		}
		camt_parse(data, len, &sink.sink);
	}
	else if (strcmp(format, "csv") == 0)
		statement_csv_parse(data, len, &sink.sink);
	else
		mt940_parse(data, len, &sink.sink);

	PG_RETURN_NULL();
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
