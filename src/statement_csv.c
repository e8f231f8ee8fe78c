/*
 * statement_csv.c
 *		The documented CSV layout of ar_collect for bank lines exported by
 *		tools that speak neither camt nor MT940.
 *
 * RFC 4180 text: the first record is a header naming the columns (any
 * order, case-insensitive); the separator is ',', ';' or a tab, whichever
 * the header uses most; fields may be quoted with '"' (a quote inside is
 * doubled) and then hold separators and line breaks.  Required columns:
 * account, booking_date, amount.  The rows of one account and statement_ref
 * (in any order) form one statement; opening_balance and closing_balance
 * (with their dates) may be given on any row of it.  Dates are YYYY-MM-DD,
 * DD.MM.YYYY or DD/MM/YYYY; amounts have one decimal mark ('.' or ','),
 * no thousands separator, and a sign unless a credit_debit column (C/D,
 * CRDT/DBIT, credit/debit) gives it.  doc/statements.md (The CSV layout)
 * lists every column.
 */
#include "postgres.h"

#include <stdarg.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "statement.h"

typedef enum CsvColumn
{
	COL_ACCOUNT,
	COL_STATEMENT_REF,
	COL_SEQUENCE_NO,
	COL_BOOKING_DATE,
	COL_VALUE_DATE,
	COL_AMOUNT,
	COL_CURRENCY,
	COL_CREDIT_DEBIT,
	COL_COUNTERPARTY_NAME,
	COL_COUNTERPARTY_ACCOUNT,
	COL_COUNTERPARTY_BIC,
	COL_REMITTANCE_INFO,
	COL_STRUCTURED_REFERENCE,
	COL_END_TO_END_ID,
	COL_BANK_REFERENCE,
	COL_CUSTOMER_REFERENCE,
	COL_MANDATE_ID,
	COL_CREDITOR_ID,
	COL_BANK_TX_CODE,
	COL_BOOKING_TEXT,
	COL_RETURN_REASON,
	COL_OPENING_DATE,
	COL_OPENING_BALANCE,
	COL_CLOSING_DATE,
	COL_CLOSING_BALANCE,
	NUM_CSV_COLUMNS
} CsvColumn;

/* Header names and their aliases. */
static const struct
{
	const char *name;
	CsvColumn	column;
}			csv_names[] = {
	{"account", COL_ACCOUNT}, {"account_iban", COL_ACCOUNT},
	{"statement_ref", COL_STATEMENT_REF}, {"statement_id", COL_STATEMENT_REF},
	{"sequence_no", COL_SEQUENCE_NO},
	{"booking_date", COL_BOOKING_DATE}, {"value_date", COL_VALUE_DATE},
	{"amount", COL_AMOUNT}, {"currency", COL_CURRENCY},
	{"credit_debit", COL_CREDIT_DEBIT},
	{"counterparty_name", COL_COUNTERPARTY_NAME},
	{"counterparty_iban", COL_COUNTERPARTY_ACCOUNT},
	{"counterparty_account", COL_COUNTERPARTY_ACCOUNT},
	{"counterparty_bic", COL_COUNTERPARTY_BIC},
	{"remittance_info", COL_REMITTANCE_INFO},
	{"structured_reference", COL_STRUCTURED_REFERENCE},
	{"end_to_end_id", COL_END_TO_END_ID},
	{"bank_reference", COL_BANK_REFERENCE},
	{"customer_reference", COL_CUSTOMER_REFERENCE},
	{"mandate_id", COL_MANDATE_ID}, {"creditor_id", COL_CREDITOR_ID},
	{"bank_tx_code", COL_BANK_TX_CODE}, {"booking_text", COL_BOOKING_TEXT},
	{"return_reason", COL_RETURN_REASON},
	{"opening_date", COL_OPENING_DATE}, {"opening_balance", COL_OPENING_BALANCE},
	{"closing_date", COL_CLOSING_DATE}, {"closing_balance", COL_CLOSING_BALANCE},
};

#define CSV_MAX_FIELDS		64

typedef struct CsvRecord
{
	int			line;			/* physical line where it starts */
	int			start;			/* byte offsets in the file */
	int			end;
	int			nfields;
	char	   *fields[CSV_MAX_FIELDS];
} CsvRecord;

typedef struct CsvStatement
{
	char	   *key;			/* account, \x1F, statement_ref */
	StmtHeader	hdr;
	int			line_count;
} CsvStatement;

typedef struct CsvState
{
	const char *content;
	int			len;
	int			pos;
	int			line;			/* physical line at pos */
	char		sep;
	int			column_of[NUM_CSV_COLUMNS]; /* field index, or -1 */
	int			ncolumns;
	StmtSink   *sink;
	MemoryContext outer;		/* what lives as long as the parse */
	MemoryContext rowcxt;		/* one record's values, reset after it */

	/* statements in order of first appearance, found by a hash table */
	CsvStatement *stmts;
	int			nstmts;
	int			max_stmts;
	int		   *slots;			/* index + 1 into stmts, 0 = free */
	int			nslots;
} CsvState;

static void csv_error(CsvState *st, int line, const char *fmt,...) pg_attribute_printf(3, 4);

static void
csv_error(CsvState *st, int line, const char *fmt,...)
{
	char		what[512];
	va_list		args;

	(void) st;
	va_start(args, fmt);
	vsnprintf(what, sizeof(what), fmt, args);
	va_end(args);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed CSV statement at line %d: %s", line, what)));
}

/*
 * Reads the next record at st->pos; false at the end of the input.  Blank
 * lines are skipped.
 */
static bool
read_record(CsvState *st, CsvRecord *rec)
{
	const char *c = st->content;
	StringInfoData field;

	/* skip blank lines */
	for (;;)
	{
		if (st->pos >= st->len)
			return false;
		if (c[st->pos] == '\n')
		{
			st->pos++;
			st->line++;
		}
		else if (c[st->pos] == '\r')
		{
			st->pos += (st->pos + 1 < st->len && c[st->pos + 1] == '\n') ? 2 : 1;
			st->line++;
		}
		else
			break;
	}

	rec->line = st->line;
	rec->start = st->pos;
	rec->nfields = 0;
	initStringInfo(&field);
	for (;;)
	{
		bool		end_of_record = false;

		resetStringInfo(&field);
		if (st->pos < st->len && c[st->pos] == '"')
		{
			int			qline = st->line;

			st->pos++;
			for (;;)
			{
				if (st->pos >= st->len)
					csv_error(st, qline, "a quoted field is not closed");
				if (c[st->pos] == '"')
				{
					if (st->pos + 1 < st->len && c[st->pos + 1] == '"')
					{
						appendStringInfoChar(&field, '"');
						st->pos += 2;
						continue;
					}
					st->pos++;
					break;
				}
				if (c[st->pos] == '\n' || (c[st->pos] == '\r' &&
										   !(st->pos + 1 < st->len && c[st->pos + 1] == '\n')))
					st->line++;
				appendStringInfoChar(&field, c[st->pos]);
				st->pos++;
				if (field.len > STMT_MAX_FIELD)
					csv_error(st, qline, "a field is longer than %d bytes", STMT_MAX_FIELD);
			}
			if (st->pos < st->len && c[st->pos] != st->sep && c[st->pos] != '\n' &&
				c[st->pos] != '\r')
				csv_error(st, st->line, "text after the closing quote of field %d",
						  rec->nfields + 1);
		}
		else
		{
			while (st->pos < st->len && c[st->pos] != st->sep && c[st->pos] != '\n' &&
				   c[st->pos] != '\r')
				appendStringInfoChar(&field, c[st->pos++]);
			if (field.len > STMT_MAX_FIELD)
				csv_error(st, rec->line, "a field is longer than %d bytes", STMT_MAX_FIELD);
		}
		if (rec->nfields >= CSV_MAX_FIELDS)
			csv_error(st, rec->line, "more than %d fields", CSV_MAX_FIELDS);
		rec->fields[rec->nfields++] = stmt_trimmed(field.data, field.len);

		if (st->pos >= st->len)
			end_of_record = true;
		else if (c[st->pos] == st->sep)
			st->pos++;
		else
		{
			/* end of line */
			st->pos += (c[st->pos] == '\r' && st->pos + 1 < st->len && c[st->pos + 1] == '\n') ? 2 : 1;
			st->line++;
			end_of_record = true;
		}
		if (end_of_record)
			break;
	}
	rec->end = st->pos;
	pfree(field.data);
	return true;
}

/* The separator the header line uses most, outside quotes. */
static char
detect_separator(const char *c, int len, int pos)
{
	int			counts[3] = {0, 0, 0};
	const char	seps[3] = {',', ';', '\t'};
	bool		quoted = false;
	int			best = 0;
	int			i;

	while (pos < len && (c[pos] == '\n' || c[pos] == '\r'))
		pos++;
	for (; pos < len && (quoted || (c[pos] != '\n' && c[pos] != '\r')); pos++)
	{
		if (c[pos] == '"')
			quoted = !quoted;
		else if (!quoted)
			for (i = 0; i < 3; i++)
				if (c[pos] == seps[i])
					counts[i]++;
	}
	for (i = 1; i < 3; i++)
		if (counts[i] > counts[best])
			best = i;
	return seps[best];
}

static void
read_header(CsvState *st)
{
	CsvRecord	rec;
	int			i;
	int			j;

	for (i = 0; i < NUM_CSV_COLUMNS; i++)
		st->column_of[i] = -1;
	if (!read_record(st, &rec))
		csv_error(st, 1, "the input is empty (a header line is expected)");
	for (i = 0; i < rec.nfields; i++)
	{
		char	   *given = rec.fields[i] ? rec.fields[i] : "";
		char	   *name = pstrdup(given);
		char	   *p;
		bool		known = false;

		for (p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = *p - 'A' + 'a';
		for (j = 0; j < (int) lengthof(csv_names); j++)
			if (strcmp(name, csv_names[j].name) == 0)
			{
				if (st->column_of[csv_names[j].column] >= 0)
					csv_error(st, rec.line, "column \"%s\" is given twice", given);
				st->column_of[csv_names[j].column] = i;
				known = true;
			}
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("malformed CSV statement at line %d: unknown column \"%s\"",
							rec.line, stmt_excerpt(given, strlen(given))),
					 errhint("Columns: account, statement_ref, sequence_no, booking_date, value_date, amount, currency, credit_debit, counterparty_name, counterparty_iban, counterparty_bic, remittance_info, structured_reference, end_to_end_id, bank_reference, customer_reference, mandate_id, creditor_id, bank_tx_code, booking_text, return_reason, opening_date, opening_balance, closing_date, closing_balance.")));
	}
	st->ncolumns = rec.nfields;
	if (st->column_of[COL_ACCOUNT] < 0)
		csv_error(st, rec.line, "the header has no \"account\" column");
	if (st->column_of[COL_BOOKING_DATE] < 0)
		csv_error(st, rec.line, "the header has no \"booking_date\" column");
	if (st->column_of[COL_AMOUNT] < 0)
		csv_error(st, rec.line, "the header has no \"amount\" column");
}

static char *
value(CsvState *st, CsvRecord *rec, CsvColumn col)
{
	int			i = st->column_of[col];

	return i < 0 ? NULL : rec->fields[i];
}

/* YYYY-MM-DD, DD.MM.YYYY or DD/MM/YYYY. */
static void
read_date(CsvState *st, CsvRecord *rec, CsvColumn col, const char *name, StmtDate *d)
{
	char	   *v = value(st, rec, col);
	size_t		n = v ? strlen(v) : 0;

	if (n == 10 && stmt_parse_iso_date(v, 10, d))
		return;
	if (n == 10 && (v[2] == '.' || v[2] == '/') && v[5] == v[2])
	{
		d->day = stmt_digits(v, 2);
		d->month = stmt_digits(v + 3, 2);
		d->year = stmt_digits(v + 6, 4);
		if (d->day >= 0 && d->month >= 0 && d->year >= 0 &&
			stmt_valid_date(d->year, d->month, d->day))
			return;
	}
	csv_error(st, rec->line, "%s \"%s\" is not a date (YYYY-MM-DD, DD.MM.YYYY or DD/MM/YYYY)",
			  name, v ? stmt_excerpt(v, n) : "");
}

/* [+-]digits[.,digits]; negative also when "negative" says so. */
static char *
read_amount(CsvState *st, CsvRecord *rec, const char *v, const char *name, bool signed_ok,
			bool negative)
{
	StringInfoData buf;
	const char *p = v;

	if (v == NULL)
		csv_error(st, rec->line, "%s is empty", name);
	if (*p == '-' || *p == '+')
	{
		if (!signed_ok)
			csv_error(st, rec->line, "%s \"%s\" has a sign and a credit_debit column",
					  name, stmt_excerpt(v, strlen(v)));
		negative = *p == '-';
		p++;
	}
	initStringInfo(&buf);
	if (!stmt_parse_decimal(p, strlen(p), ".,", negative, &buf))
		csv_error(st, rec->line, "%s \"%s\" is not an amount (one decimal mark, no thousands separator)",
				  name, stmt_excerpt(v, strlen(v)));
	return buf.data;
}

/* C, CR, CRDT, CREDIT, + / D, DR, DBIT, DEBIT, -. */
static bool
read_debit(CsvState *st, CsvRecord *rec, const char *v)
{
	static const char *const credit[] = {"c", "cr", "crdt", "credit", "+"};
	static const char *const debit[] = {"d", "dr", "dbit", "debit", "-"};
	char		buf[8];
	int			i;

	if (v == NULL || strlen(v) >= sizeof(buf))
		csv_error(st, rec->line, "credit_debit \"%s\" is neither C nor D",
				  v ? stmt_excerpt(v, strlen(v)) : "");
	for (i = 0; v[i]; i++)
		buf[i] = (v[i] >= 'A' && v[i] <= 'Z') ? v[i] - 'A' + 'a' : v[i];
	buf[i] = '\0';
	for (i = 0; i < (int) lengthof(credit); i++)
		if (strcmp(buf, credit[i]) == 0)
			return false;
	for (i = 0; i < (int) lengthof(debit); i++)
		if (strcmp(buf, debit[i]) == 0)
			return true;
	csv_error(st, rec->line, "credit_debit \"%s\" is neither C nor D", stmt_excerpt(v, strlen(v)));
	return false;				/* not reached */
}

static uint32
key_hash(const char *key)
{
	uint32		h = 2166136261u;

	for (; *key; key++)
		h = (h ^ (unsigned char) *key) * 16777619u;
	return h;
}

/* The statement of account and ref, created at its first row. */
static CsvStatement *
statement_of(CsvState *st, CsvRecord *rec, char *account, char *ref, char *currency)
{
	char	   *key = psprintf("%s\x1F%s", account, ref ? ref : "");
	uint32		h = key_hash(key);
	int			i;
	CsvStatement *s;

	for (i = h % st->nslots; st->slots[i] != 0; i = (i + 1) % st->nslots)
	{
		s = &st->stmts[st->slots[i] - 1];
		if (strcmp(s->key, key) == 0)
		{
			if (strcmp(s->hdr.currency, currency) != 0)
				csv_error(st, rec->line, "currency %s differs from the statement's currency %s",
						  currency, s->hdr.currency);
			return s;
		}
	}
	if (st->nstmts == st->max_stmts)
	{
		st->max_stmts *= 2;
		st->stmts = repalloc(st->stmts, sizeof(CsvStatement) * st->max_stmts);
	}
	s = &st->stmts[st->nstmts++];
	memset(s, 0, sizeof(*s));
	/* the row's values go with the row: the statement keeps copies */
	s->key = MemoryContextStrdup(st->outer, key);
	s->hdr.source_line = rec->line;
	s->hdr.format = "csv";
	s->hdr.account = MemoryContextStrdup(st->outer, account);
	s->hdr.statement_ref = ref ? MemoryContextStrdup(st->outer, ref) : NULL;
	s->hdr.currency = MemoryContextStrdup(st->outer, currency);
	st->slots[i] = st->nstmts;

	/* keep the table at most half full */
	if (st->nstmts * 2 > st->nslots)
	{
		int			n = st->nslots * 2;
		int		   *slots = MemoryContextAllocZero(st->outer, sizeof(int) * n);
		int			k;

		for (k = 0; k < st->nstmts; k++)
		{
			int			j;

			for (j = key_hash(st->stmts[k].key) % n; slots[j] != 0; j = (j + 1) % n)
				;
			slots[j] = k + 1;
		}
		pfree(st->slots);
		st->slots = slots;
		st->nslots = n;
	}
	return s;
}

/* A statement-level value given on a row: the same on every row that has it. */
static void
set_once(CsvState *st, CsvRecord *rec, char **field, char *v, const char *name)
{
	if (v == NULL)
		return;
	if (*field == NULL)
		*field = MemoryContextStrdup(st->outer, v);
	else if (strcmp(*field, v) != 0)
		csv_error(st, rec->line, "%s \"%s\" differs from \"%s\" given earlier for this statement",
				  name, stmt_excerpt(v, strlen(v)), stmt_excerpt(*field, strlen(*field)));
}

static void
set_date_once(CsvState *st, CsvRecord *rec, CsvColumn col, const char *name, StmtDate *field)
{
	StmtDate	d;

	if (value(st, rec, col) == NULL)
		return;
	read_date(st, rec, col, name, &d);
	if (field->year == 0)
		*field = d;
	else if (memcmp(field, &d, sizeof(d)) != 0)
		csv_error(st, rec->line, "%s differs from the one given earlier for this statement", name);
}

static void
read_row(CsvState *st, CsvRecord *rec)
{
	char	   *account = value(st, rec, COL_ACCOUNT);
	char	   *ref = value(st, rec, COL_STATEMENT_REF);
	char	   *currency = value(st, rec, COL_CURRENCY);
	char	   *dc = value(st, rec, COL_CREDIT_DEBIT);
	CsvStatement *stmt;
	StmtLine	line;
	char	   *v;

	if (rec->nfields != st->ncolumns)
		csv_error(st, rec->line, "the row has %d fields, the header %d", rec->nfields, st->ncolumns);
	if (account == NULL)
		csv_error(st, rec->line, "account is empty");
	if (currency == NULL)
		currency = "EUR";
	else if (strlen(currency) != 3 || currency[0] < 'A' || currency[0] > 'Z' ||
			 currency[1] < 'A' || currency[1] > 'Z' || currency[2] < 'A' || currency[2] > 'Z')
		csv_error(st, rec->line, "currency \"%s\" is not an ISO 4217 code (3 capital letters)",
				  stmt_excerpt(currency, strlen(currency)));

	stmt = statement_of(st, rec, account, ref, currency);
	set_once(st, rec, &stmt->hdr.sequence_no, value(st, rec, COL_SEQUENCE_NO), "sequence_no");
	if ((v = value(st, rec, COL_OPENING_BALANCE)) != NULL)
		set_once(st, rec, &stmt->hdr.opening_balance,
				 read_amount(st, rec, v, "opening_balance", true, false), "opening_balance");
	if ((v = value(st, rec, COL_CLOSING_BALANCE)) != NULL)
		set_once(st, rec, &stmt->hdr.closing_balance,
				 read_amount(st, rec, v, "closing_balance", true, false), "closing_balance");
	set_date_once(st, rec, COL_OPENING_DATE, "opening_date", &stmt->hdr.opening_date);
	set_date_once(st, rec, COL_CLOSING_DATE, "closing_date", &stmt->hdr.closing_date);

	memset(&line, 0, sizeof(line));
	line.source_line = rec->line;
	read_date(st, rec, COL_BOOKING_DATE, "booking_date", &line.booking_date);
	if (value(st, rec, COL_VALUE_DATE) != NULL)
		read_date(st, rec, COL_VALUE_DATE, "value_date", &line.value_date);
	if (dc != NULL || st->column_of[COL_CREDIT_DEBIT] >= 0)
		line.amount = read_amount(st, rec, value(st, rec, COL_AMOUNT), "amount", false,
								  read_debit(st, rec, dc));
	else
		line.amount = read_amount(st, rec, value(st, rec, COL_AMOUNT), "amount", true, false);
	line.currency = currency;
	line.counterparty_name = value(st, rec, COL_COUNTERPARTY_NAME);
	line.counterparty_account = value(st, rec, COL_COUNTERPARTY_ACCOUNT);
	line.counterparty_bic = value(st, rec, COL_COUNTERPARTY_BIC);
	line.remittance_info = stmt_squeeze(value(st, rec, COL_REMITTANCE_INFO));
	line.structured_reference = value(st, rec, COL_STRUCTURED_REFERENCE);
	line.structured_reference = stmt_structured_reference(line.structured_reference, line.remittance_info);
	line.end_to_end_id = value(st, rec, COL_END_TO_END_ID);
	line.bank_reference = value(st, rec, COL_BANK_REFERENCE);
	line.customer_reference = value(st, rec, COL_CUSTOMER_REFERENCE);
	line.mandate_id = value(st, rec, COL_MANDATE_ID);
	line.creditor_id = value(st, rec, COL_CREDITOR_ID);
	line.bank_tx_code = value(st, rec, COL_BANK_TX_CODE);
	line.booking_text = value(st, rec, COL_BOOKING_TEXT);
	line.return_reason = value(st, rec, COL_RETURN_REASON);
	if (line.return_reason != NULL &&
		!stmt_is_return_reason(line.return_reason, strlen(line.return_reason)))
		csv_error(st, rec->line, "return_reason \"%s\" is not an ISO 20022 return reason code",
				  stmt_excerpt(line.return_reason, strlen(line.return_reason)));
	line.raw = pnstrdup(st->content + rec->start, rec->end - rec->start);
	/* the record without its line break */
	{
		int			n = strlen(line.raw);

		while (n > 0 && (line.raw[n - 1] == '\n' || line.raw[n - 1] == '\r'))
			line.raw[--n] = '\0';
	}
	st->sink->line(st->sink, stmt - st->stmts + 1, ++stmt->line_count, &line);
}

void
statement_csv_parse(const char *content, int len, StmtSink *sink)
{
	CsvState	st;
	CsvRecord  *rec = palloc(sizeof(CsvRecord));
	int			i;

	memset(&st, 0, sizeof(st));
	st.content = content;
	st.len = len;
	st.line = 1;
	st.sink = sink;
	if (len >= 3 && memcmp(content, "\xEF\xBB\xBF", 3) == 0)
		st.pos = 3;
	st.max_stmts = 8;
	st.stmts = palloc(sizeof(CsvStatement) * st.max_stmts);
	st.nslots = 16;
	st.slots = palloc0(sizeof(int) * st.nslots);
	st.sep = detect_separator(content, len, st.pos);
	read_header(&st);
	st.outer = CurrentMemoryContext;
	st.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "CSV statement row",
									  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		bool		more;

		CHECK_FOR_INTERRUPTS();
		/* a row's fields, its line and what the sink makes of it */
		MemoryContextSwitchTo(st.rowcxt);
		more = read_record(&st, rec);
		if (more)
			read_row(&st, rec);
		MemoryContextSwitchTo(st.outer);
		MemoryContextReset(st.rowcxt);
		if (!more)
			break;
	}
	MemoryContextDelete(st.rowcxt);
	if (st.nstmts == 0)
		csv_error(&st, st.line, "the file has a header but no rows");
	for (i = 0; i < st.nstmts; i++)
		sink->statement(sink, i + 1, &st.stmts[i].hdr);
}
