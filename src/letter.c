/*-------------------------------------------------------------------------
 *
 * letter.c
 *		What goes into a dunning letter: placeholders filled in a template,
 *		amounts and dates as a letter prints them, the table of invoices.
 *
 * ar.run_dunning renders every notice at queue time, possibly a hundred
 * thousand notices listing a million invoices in one run, so these are C:
 * one pass over a template, no to_char() picture parsing per amount, one
 * call per notice for its whole invoice table.
 *
 * ar.render_template(template text, names text[], vals text[]) text
 *   A placeholder is "{{", 1 to 63 characters of [a-z0-9_], "}}".  One whose
 *   name is in names is replaced by the value at the same position of vals
 *   (NULL: the empty string); anything else, an unknown name or an unclosed
 *   "{{" included, is copied as it is.  Templates are checked against the
 *   known names when they are stored (ar.dunning_template).
 *
 * ar.format_money(amount numeric, currency text, language text) text
 *   Rounded to the cent, half away from zero: "1 234,56 EUR" in French (with
 *   no-break spaces in a UTF8 database), "1.234,56 EUR" in German,
 *   "1,234.56 EUR" in other languages.
 *
 * ar.format_date(d date, language text) text
 *   "1er mars 2026" in French, "1. März 2026" in German, "1 March 2026" in
 *   other languages.
 *
 * ar._compress_letter(body text) text
 *   The same text, compressed in line with LZ4 (when the server has it and
 *   that saves space).  A notice is written once and read a few times: its
 *   body stored compressed makes the outbox, and the WAL of a run queuing a
 *   hundred thousand letters, about half as big.  PostgreSQL compresses by
 *   itself only the values of rows larger than about 2 kB.
 *
 * ar._invoice_table(lines ar._dunning_lines, currency text, language text,
 *                   wide boolean)
 *   The invoice table of a notice: a header, a rule, one line per line in
 *   the order given (number, due date, amount, open amount, days late, and
 *   with wide the interest and fixed fee, amounts in currency); each column
 *   as wide as its longest cell, text to the left, numbers to the right.
 *
 * ar._line_ids(lines ar._dunning_lines) bigint[]
 *   The invoice ids of the lines, in the order given.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/toast_compression.h"
#include "access/toast_internals.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "decimal128.h"
#include "dunning_lines.h"

#define TEMPLATE_MAX_NAME	63
/* shorter letters are not worth compressing */
#define LETTER_COMPRESS_MIN	256

PG_FUNCTION_INFO_V1(ar_render_template);
PG_FUNCTION_INFO_V1(ar_format_money);
PG_FUNCTION_INFO_V1(ar_format_date);
PG_FUNCTION_INFO_V1(ar_invoice_table);
PG_FUNCTION_INFO_V1(ar_line_ids);
PG_FUNCTION_INFO_V1(ar_compress_letter);
PG_FUNCTION_INFO_V1(ar_dunning_letter);

/* Languages with rules of their own; every other language is written as English. */
typedef enum LetterLanguage
{
	LANG_EN,
	LANG_FR,
	LANG_DE
} LetterLanguage;

static LetterLanguage
letter_language(text *language)
{
	const char *s = VARDATA_ANY(language);
	int			len = VARSIZE_ANY_EXHDR(language);

	if (len < 2 || (len > 2 && s[2] != '-' && s[2] != '_'))
		return LANG_EN;
	if ((s[0] == 'f' || s[0] == 'F') && (s[1] == 'r' || s[1] == 'R'))
		return LANG_FR;
	if ((s[0] == 'd' || s[0] == 'D') && (s[1] == 'e' || s[1] == 'E'))
		return LANG_DE;
	return LANG_EN;
}

/* A UTF-8 literal in the database encoding (palloc'd, or the literal itself). */
static const char *
server_text(const char *utf8)
{
	return pg_any_to_server(utf8, strlen(utf8), PG_UTF8);
}

/* The no-break space in the database encoding, a plain space where it has none. */
static const char *
nbsp(void)
{
	static const char *cached = NULL;

	if (cached == NULL)
		cached = GetDatabaseEncoding() == PG_UTF8 || GetDatabaseEncoding() == PG_LATIN1 ||
			GetDatabaseEncoding() == PG_LATIN9 || GetDatabaseEncoding() == PG_WIN1252 ?
			MemoryContextStrdup(TopMemoryContext, server_text("\xC2\xA0")) : " ";
	return cached;
}

/* ------------------------------------------------------------- rendering */

/* A one-dimensional text array, deconstructed (elements stay in place). */
static int
text_array_elements(ArrayType *array, const char *what, Datum **elems, bool **nulls)
{
	int			count;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array, not %d-dimensional", what, ARR_NDIM(array))));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, elems, nulls, &count);
	return count;
}

/*
 * Length of the placeholder name starting at p (just after "{{") when it is
 * followed by "}}" before end, else -1.
 */
static int
placeholder_name_length(const char *p, const char *end)
{
	int			len = 0;

	while (p + len < end && len <= TEMPLATE_MAX_NAME)
	{
		char		c = p[len];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
		{
			len++;
			continue;
		}
		if (c == '}' && len > 0 && p + len + 1 < end && p[len + 1] == '}')
			return len;
		return -1;
	}
	return -1;
}

/*
 * Appends the value of the placeholder name (len bytes) and returns true, or
 * returns false when the name is not known.
 */
typedef bool (*PlaceholderValue) (StringInfo out, const char *name, int len, void *arg);

/* Appends the template between p and end, its known placeholders replaced. */
static void
render_into(StringInfo out, const char *p, const char *end, PlaceholderValue value, void *arg)
{
	enlargeStringInfo(out, end - p);
	while (p < end)
	{
		const char *open = NULL;
		const char *q;
		int			len;

		/* copy up to the next "{{" */
		for (q = p; q + 1 < end; q++)
		{
			if (q[0] == '{' && q[1] == '{')
			{
				open = q;
				break;
			}
		}
		if (open == NULL)
		{
			appendBinaryStringInfo(out, p, end - p);
			break;
		}
		appendBinaryStringInfo(out, p, open - p);
		len = placeholder_name_length(open + 2, end);
		if (len > 0 && value(out, open + 2, len, arg))
		{
			p = open + 2 + len + 2;
			continue;
		}
		/* not a known placeholder: keep one brace, look again after it */
		appendStringInfoChar(out, '{');
		p = open + 1;
	}
}

/* The names and values of ar.render_template's call. */
typedef struct NamedValues
{
	Datum	   *names;
	Datum	   *values;
	bool	   *value_nulls;
	int			count;
} NamedValues;

static bool
named_value(StringInfo out, const char *name, int len, void *arg)
{
	NamedValues *nv = (NamedValues *) arg;

	for (int i = 0; i < nv->count; i++)
	{
		text	   *n = DatumGetTextPP(nv->names[i]);

		if ((int) VARSIZE_ANY_EXHDR(n) == len && memcmp(VARDATA_ANY(n), name, len) == 0)
		{
			if (!nv->value_nulls[i])
			{
				text	   *v = DatumGetTextPP(nv->values[i]);

				appendBinaryStringInfo(out, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
			}
			return true;
		}
	}
	return false;
}

Datum
ar_render_template(PG_FUNCTION_ARGS)
{
	text	   *template;
	NamedValues nv;
	bool	   *name_nulls;
	int			nvalues;
	StringInfoData out;
	int			i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("placeholder names and values must not be NULL")));

	template = PG_GETARG_TEXT_PP(0);
	nv.count = text_array_elements(PG_GETARG_ARRAYTYPE_P(1), "names", &nv.names, &name_nulls);
	nvalues = text_array_elements(PG_GETARG_ARRAYTYPE_P(2), "vals", &nv.values, &nv.value_nulls);
	if (nv.count != nvalues)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%d placeholder names but %d values", nv.count, nvalues)));
	for (i = 0; i < nv.count; i++)
	{
		if (name_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("placeholder name %d is NULL", i + 1)));
	}

	initStringInfo(&out);
	render_into(&out, VARDATA_ANY(template), VARDATA_ANY(template) + VARSIZE_ANY_EXHDR(template), named_value, &nv);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}

/* ------------------------------------------------------------ formatting */

/*
 * Appends a plain decimal (as numeric_out prints it) with two decimals and
 * the language's separators.
 */
static void
append_grouped(StringInfo out, const char *digits, LetterLanguage lang)
{
	const char *p = digits;
	const char *point = strchr(digits, '.');
	int			intlen;
	int			i;

	if (*p == '-')
	{
		appendStringInfoChar(out, '-');
		p++;
	}
	intlen = point ? point - p : (int) strlen(p);
	for (i = 0; i < intlen; i++)
	{
		if (i > 0 && (intlen - i) % 3 == 0)
			appendStringInfoString(out, lang == LANG_FR ? nbsp() : lang == LANG_DE ? "." : ",");
		appendStringInfoChar(out, p[i]);
	}
	appendStringInfoChar(out, lang == LANG_EN ? '.' : ',');
	for (i = 0, p = point ? point + 1 : ""; i < 2; i++)
		appendStringInfoChar(out, *p ? *p++ : '0');
}

static void
append_cents(StringInfo out, int128 cents, LetterLanguage lang)
{
	char		digits[DEC128_BUFLEN];

	dec128_format(cents, 2, digits);
	append_grouped(out, digits, lang);
}

/* Appends amount rounded to the cent with the language's separators. */
static void
append_money(StringInfo out, Numeric amount, LetterLanguage lang)
{
	int128		cents;

	if (dec128_round_cents(NumericGetDatum(amount), &cents))
		append_cents(out, cents, lang);
	else if (numeric_is_nan(amount) || numeric_is_inf(amount))
		appendStringInfoString(out, DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(amount))));
	else
		append_grouped(out, DatumGetCString(DirectFunctionCall1(numeric_out,
																DirectFunctionCall2(numeric_round,
																					NumericGetDatum(amount),
																					Int32GetDatum(2)))),
					   lang);
}

static void
append_money_currency(StringInfo out, Numeric amount, const char *currency, LetterLanguage lang)
{
	append_money(out, amount, lang);
	appendStringInfoString(out, lang == LANG_FR ? nbsp() : " ");
	appendStringInfoString(out, currency);
}

Datum
ar_format_money(PG_FUNCTION_ARGS)
{
	StringInfoData out;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	initStringInfo(&out);
	append_money_currency(&out, PG_GETARG_NUMERIC(0), text_to_cstring(PG_GETARG_TEXT_PP(1)),
						  PG_ARGISNULL(2) ? LANG_EN : letter_language(PG_GETARG_TEXT_PP(2)));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}

static const char *const months_en[12] = {
	"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"
};
static const char *const months_fr[12] = {
	"janvier", "f\xC3\xA9vrier", "mars", "avril", "mai", "juin", "juillet", "ao\xC3\xBBt",
	"septembre", "octobre", "novembre", "d\xC3\xA9" "cembre"
};
static const char *const months_de[12] = {
	"Januar", "Februar", "M\xC3\xA4rz", "April", "Mai", "Juni", "Juli", "August",
	"September", "Oktober", "November", "Dezember"
};
static const char *const months_short[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* Appends the long form of a date: 1er mars 2026, 1. März 2026, 1 March 2026. */
static void
append_long_date(StringInfo out, DateADT d, LetterLanguage lang)
{
	int			y,
				m,
				day;

	if (DATE_NOT_FINITE(d))
	{
		appendStringInfoString(out, DATE_IS_NOBEGIN(d) ? "-infinity" : "infinity");
		return;
	}
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	if (lang == LANG_FR)
		appendStringInfo(out, "%d%s %s %d", day, day == 1 ? "er" : "", server_text(months_fr[m - 1]), y);
	else if (lang == LANG_DE)
		appendStringInfo(out, "%d. %s %d", day, server_text(months_de[m - 1]), y);
	else
		appendStringInfo(out, "%d %s %d", day, months_en[m - 1], y);
}

/*
 * Appends the short form of a date, as the invoice table prints it: built in
 * a local buffer and appended once (the invoice tables of a run print about
 * a million of them).
 */
static void
append_short_date(StringInfo out, DateADT d, LetterLanguage lang)
{
	int			y,
				m,
				day;
	char		b[16];
	int			n = 0;

	if (DATE_NOT_FINITE(d))
	{
		appendStringInfoString(out, DATE_IS_NOBEGIN(d) ? "-infinity" : "infinity");
		return;
	}
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	if (y < 1 || y > 9999)
	{
		appendStringInfo(out, "%d-%02d-%02d", y, m, day);
		return;
	}
	b[n++] = '0' + day / 10;
	b[n++] = '0' + day % 10;
	if (lang != LANG_EN)
	{
		char		sep = lang == LANG_FR ? '/' : '.';

		b[n++] = sep;
		b[n++] = '0' + m / 10;
		b[n++] = '0' + m % 10;
		b[n++] = sep;
	}
	else
	{
		b[n++] = ' ';
		memcpy(b + n, months_short[m - 1], 3);
		n += 3;
		b[n++] = ' ';
	}
	b[n++] = '0' + y / 1000;
	b[n++] = '0' + y / 100 % 10;
	b[n++] = '0' + y / 10 % 10;
	b[n++] = '0' + y % 10;
	appendBinaryStringInfo(out, b, n);
}

Datum
ar_format_date(PG_FUNCTION_ARGS)
{
	StringInfoData out;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	initStringInfo(&out);
	append_long_date(&out, PG_GETARG_DATEADT(0), PG_ARGISNULL(1) ? LANG_EN : letter_language(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}

/* ----------------------------------------------------------- invoice table */

/* Columns of the table, in order; the last two only when wide. */
enum
{
	COL_NUMBER,
	COL_DUE,
	COL_AMOUNT,
	COL_OPEN,
	COL_LATE,
	COL_INTEREST,
	COL_FEE,
	NCOLUMNS
};

static const char *const headers_en[NCOLUMNS] = {
	"Invoice", "Due date", "Amount", "Outstanding", "Days late", "Interest", "Fixed fee"
};
static const char *const headers_fr[NCOLUMNS] = {
	"Facture", "\xC3\x89" "ch\xC3\xA9" "ance", "Montant TTC", "Reste d\xC3\xBB", "Retard",
	"P\xC3\xA9" "nalit\xC3\xA9s", "Indemnit\xC3\xA9"
};
static const char *const headers_de[NCOLUMNS] = {
	"Rechnung", "F\xC3\xA4lligkeit", "Betrag", "Offen", "Verzug", "Zinsen", "Pauschale"
};

/* A cell: where its text is in the cells buffer, and its width in characters. */
typedef struct Cell
{
	int			offset;
	int			len;			/* in bytes */
	int			width;
} Cell;

/*
 * Characters in len bytes of server text: in UTF-8 (utf8, the database
 * encoding, looked up once per table), the bytes that start one.
 */
static int
text_width(const char *s, int len, bool utf8)
{
	int			width = 0;

	if (!utf8)
		return pg_mbstrlen_with_len(s, len);
	for (int i = 0; i < len; i++)
		width += ((unsigned char) s[i] & 0xC0) != 0x80;
	return width;
}

/* Ends the cell that started at *start in buf. */
static Cell
end_cell(StringInfo buf, int *start, bool utf8)
{
	Cell		c;

	c.offset = *start;
	c.len = buf->len - *start;
	c.width = text_width(buf->data + *start, c.len, utf8);
	appendStringInfoChar(buf, '\0');
	*start = buf->len;
	return c;
}

/* Bytes of one line of the table as put_row() writes it. */
static int
row_bytes(const Cell *row, const int *widths, int ncolumns)
{
	int			bytes = 2 * (ncolumns - 1);

	for (int col = 0; col < ncolumns; col++)
		bytes += widths[col] - row[col].width + row[col].len;
	return bytes;
}

/*
 * Writes one line of the table at p, text columns left, numbers right, each
 * padded with spaces to its column's width (in characters) and two spaces
 * between columns; returns the end.
 */
static char *
put_row(char *p, const char *cells, const Cell *row, const int *widths, int ncolumns)
{
	for (int col = 0; col < ncolumns; col++)
	{
		const Cell *c = &row[col];
		int			pad = widths[col] - c->width;

		if (col > 0)
		{
			*p++ = ' ';
			*p++ = ' ';
		}
		if (col >= COL_AMOUNT)
		{
			memset(p, ' ', pad);
			p += pad;
		}
		memcpy(p, cells + c->offset, c->len);
		p += c->len;
		if (col < COL_AMOUNT)
		{
			memset(p, ' ', pad);
			p += pad;
		}
	}
	return p;
}

/*
 * Appends cents and the currency code, as a money cell prints them: what
 * append_cents() and the currency would append, built in a local buffer and
 * appended once.  sep is the group separator of the language and between
 * is what separates the amount from the currency (both server text).
 */
static void
append_cents_currency(StringInfo out, int64 cents, const char *currency, int currency_len,
					  LetterLanguage lang, const char *sep, int sep_len, const char *between, int between_len)
{
	/*
	 * at most: the sign, 18 digits before the point and their 5 separators
	 * (of 1 or 2 bytes: nbsp()), the point, 2 digits and between (2 bytes)
	 */
	char		b[128];
	char		digits[24];
	int			ndigits = 0;
	uint64		magnitude = cents < 0 ? -(uint64) cents : (uint64) cents;
	int			n = 0;
	int			intlen;

	Assert(sep_len <= 4 && between_len <= 8);
	/* least significant first; at least one digit before the point */
	for (; magnitude != 0 || ndigits <= 2; magnitude /= 10)
		digits[ndigits++] = '0' + (char) (magnitude % 10);
	if (cents < 0)
		b[n++] = '-';
	intlen = ndigits - 2;
	for (int i = 0; i < intlen; i++)
	{
		if (i > 0 && (intlen - i) % 3 == 0)
		{
			memcpy(b + n, sep, sep_len);
			n += sep_len;
		}
		b[n++] = digits[ndigits - 1 - i];
	}
	b[n++] = lang == LANG_EN ? '.' : ',';
	b[n++] = digits[1];
	b[n++] = digits[0];
	memcpy(b + n, between, between_len);
	n += between_len;
	appendBinaryStringInfo(out, b, n);
	appendBinaryStringInfo(out, currency, currency_len);
}

Datum
ar_line_ids(PG_FUNCTION_ARGS)
{
	DunLines   *lines = dun_lines_arg(fcinfo, 0);
	Datum	   *ids = palloc(sizeof(Datum) * Max(lines->nlines, 1));
	int			offset = 0;
	int			dims[1];
	int			lbs[1] = {1};

	for (int i = 0; i < lines->nlines; i++)
		ids[i] = Int64GetDatum(dun_lines_next(lines, &offset)->invoice_id);
	dims[0] = lines->nlines;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(ids, NULL, lines->nlines > 0 ? 1 : 0, dims, lbs, INT8OID, 8,
											 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * Appends the invoice table of lines (currency NULL: none), written in place
 * at the end of out once its exact size is known.
 */
static void
append_invoice_table(StringInfo out, const DunLines *lines, const char *currency, LetterLanguage lang, bool wide)
{
	int			ncolumns = wide ? NCOLUMNS : COL_INTEREST;
	int			widths[NCOLUMNS];
	Cell	   *cells;
	Cell		header[NCOLUMNS];
	StringInfoData buf;
	char	   *p;
	int64		size;
	int			offset = 0;
	int			i;
	int			col;
	int			total;
	int			start;
	const char *sep = lang == LANG_FR ? nbsp() : lang == LANG_DE ? "." : ",";
	int			sep_len = strlen(sep);
	const char *between = lang == LANG_FR ? nbsp() : " ";
	int			between_len = strlen(between);
	int			currency_len;
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;

	if (currency == NULL)
		currency = "";
	currency_len = strlen(currency);

	/* every cell's text, NUL-terminated, in one buffer */
	initStringInfo(&buf);
	start = 0;
	for (col = 0; col < ncolumns; col++)
	{
		appendStringInfoString(&buf, server_text(lang == LANG_FR ? headers_fr[col] :
												 lang == LANG_DE ? headers_de[col] : headers_en[col]));
		header[col] = end_cell(&buf, &start, utf8);
		widths[col] = header[col].width;
	}

	cells = palloc(sizeof(Cell) * NCOLUMNS * Max(lines->nlines, 1));
	for (i = 0; i < lines->nlines; i++)
	{
		const DunLine *line = dun_lines_next(lines, &offset);
		Cell	   *row = &cells[i * NCOLUMNS];

		appendBinaryStringInfo(&buf, DUN_LINE_NUMBER(line), line->number_len);
		row[COL_NUMBER] = end_cell(&buf, &start, utf8);
		append_short_date(&buf, line->due_date, lang);
		row[COL_DUE] = end_cell(&buf, &start, utf8);
		append_cents_currency(&buf, line->amount, currency, currency_len, lang, sep, sep_len, between, between_len);
		row[COL_AMOUNT] = end_cell(&buf, &start, utf8);
		append_cents_currency(&buf, line->open_amount, currency, currency_len, lang, sep, sep_len, between, between_len);
		row[COL_OPEN] = end_cell(&buf, &start, utf8);
		if (line->days_late <= 0)
			appendStringInfoChar(&buf, '-');
		else
		{
			char		number[12];

			pg_ltoa(line->days_late, number);
			appendStringInfoString(&buf, number);
			appendStringInfoString(&buf, lang == LANG_FR ? " j" : lang == LANG_DE ? " T." : " d");
		}
		row[COL_LATE] = end_cell(&buf, &start, utf8);
		if (wide)
		{
			if (line->flags & DUN_LINE_INTEREST)
				append_cents_currency(&buf, line->interest, currency, currency_len, lang, sep, sep_len, between, between_len);
			row[COL_INTEREST] = end_cell(&buf, &start, utf8);
			if (line->flags & DUN_LINE_FEE)
				append_cents_currency(&buf, line->fixed_fee, currency, currency_len, lang, sep, sep_len, between, between_len);
			row[COL_FEE] = end_cell(&buf, &start, utf8);
		}
		for (col = 0; col < ncolumns; col++)
			widths[col] = Max(widths[col], row[col].width);
	}

	total = 2 * (ncolumns - 1);
	for (col = 0; col < ncolumns; col++)
		total += widths[col];
	/* the whole table written in place at the end of out, at its exact size */
	size = row_bytes(header, widths, ncolumns) + 1 + total;
	for (i = 0; i < lines->nlines; i++)
		size += 1 + row_bytes(&cells[i * NCOLUMNS], widths, ncolumns);
	if (size > (int64) (MaxAllocSize - 1) - out->len)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invoice table too large"),
				 errdetail("It would take %lld bytes.", (long long) size)));
	enlargeStringInfo(out, size);
	p = put_row(out->data + out->len, buf.data, header, widths, ncolumns);
	*p++ = '\n';
	memset(p, '-', total);
	p += total;
	for (i = 0; i < lines->nlines; i++)
	{
		*p++ = '\n';
		p = put_row(p, buf.data, &cells[i * NCOLUMNS], widths, ncolumns);
	}
	Assert(p == out->data + out->len + size);
	out->len += size;
	*p = '\0';
	pfree(buf.data);
	pfree(cells);
}

Datum
ar_invoice_table(PG_FUNCTION_ARGS)
{
	StringInfoData out;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	/* the text's header first: the table is written in place after it */
	initStringInfo(&out);
	appendStringInfoSpaces(&out, VARHDRSZ);
	append_invoice_table(&out, dun_lines_arg(fcinfo, 0), PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)),
						 PG_ARGISNULL(2) ? LANG_EN : letter_language(PG_GETARG_TEXT_PP(2)),
						 !PG_ARGISNULL(3) && PG_GETARG_BOOL(3));
	SET_VARSIZE(out.data, out.len);
	PG_RETURN_TEXT_P((text *) out.data);
}

/* ---------------------------------------------------------- dunning letter */

/* The arguments of ar._dunning_letter, in order. */
enum
{
	DL_TEMPLATE,
	DL_LANGUAGE,
	DL_CURRENCY,
	DL_AS_OF,
	DL_CUSTOMER_NAME,
	DL_CUSTOMER_CODE,
	DL_COMPANY_NAME,
	DL_COMPANY_IBAN,
	DL_LINES,
	DL_WIDE,
	DL_CREDITS,
	DL_DEDUCTION_LABEL,
	DL_INVOICE_COUNT,
	DL_AMOUNT_DUE,
	DL_INTEREST,
	DL_INDEMNITY,
	DL_PENALTIES,
	DL_NOT_COMPUTED,
	DL_FEE,
	DL_REPLY_BY,
	DL_REPLY_DAYS,
	DL_PREVIOUS_DATES,
	DL_WORD_AND,
	DL_LEVEL,
	DL_LEVEL_NAME,
	DL_SENDER_ADDRESS,
	DL_SENDER_LEGAL,
	DL_CUSTOMER_ADDRESS,
	DL_PENALTY_TERMS,
	DL_RECENT_LINES,
	DL_RECENT_HEADING,
	DL_NOTICE_LAW,
	DL_NARGS
};

/*
 * The placeholders of a dunning template, in the order of
 * ar.dunning_placeholders() (a test compares the two), each with the
 * argument it prints as it is, or -1: a value formatted by dunning_value().
 */
typedef enum DunningPlaceholder
{
	PH_CUSTOMER_NAME, PH_CUSTOMER_CODE, PH_COMPANY_NAME, PH_COMPANY_IBAN, PH_AS_OF, PH_INVOICE_TABLE,
	PH_INVOICE_COUNT, PH_AMOUNT_DUE, PH_CURRENCY, PH_INTEREST, PH_INDEMNITY, PH_PENALTIES, PH_TOTAL_DUE,
	PH_FEE, PH_REPLY_BY, PH_REPLY_DAYS, PH_PREVIOUS_NOTICES, PH_LEVEL, PH_LEVEL_NAME,
	PH_SENDER_ADDRESS, PH_SENDER_LEGAL, PH_CUSTOMER_ADDRESS, PH_PENALTY_TERMS, PH_RECENT_INVOICES,
	PH_NOTICE_LAW, PH_COUNT
} DunningPlaceholder;

static const struct
{
	const char *name;
	int			text_arg;
}			dunning_placeholders[PH_COUNT] = {
	{"customer_name", DL_CUSTOMER_NAME}, {"customer_code", DL_CUSTOMER_CODE},
	{"company_name", DL_COMPANY_NAME}, {"company_iban", DL_COMPANY_IBAN}, {"as_of", -1},
	{"invoice_table", -1}, {"invoice_count", -1}, {"amount_due", -1}, {"currency", DL_CURRENCY},
	{"interest", -1}, {"indemnity", -1}, {"penalties", -1}, {"total_due", -1}, {"fee", -1},
	{"reply_by", -1}, {"reply_days", -1}, {"previous_notices", -1}, {"level", -1},
	{"level_name", DL_LEVEL_NAME}, {"sender_address", DL_SENDER_ADDRESS},
	{"sender_legal", DL_SENDER_LEGAL}, {"customer_address", DL_CUSTOMER_ADDRESS},
	{"penalty_terms", DL_PENALTY_TERMS}, {"recent_invoices", -1}, {"notice_law", DL_NOTICE_LAW}
};

/* One notice's arguments, what the placeholders print made on demand. */
typedef struct DunningLetter
{
	FunctionCallInfo fcinfo;
	LetterLanguage lang;
	const char *currency;		/* NULL: none */
} DunningLetter;

/* Appends text argument argno (NULL: nothing). */
static void
append_text_arg(StringInfo out, FunctionCallInfo fcinfo, int argno)
{
	if (!PG_ARGISNULL(argno))
	{
		text	   *t = PG_GETARG_TEXT_PP(argno);

		appendBinaryStringInfo(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
}

/* Appends integer argument argno (int8 or int4) as ::text prints it (NULL: nothing). */
static void
append_int_arg(StringInfo out, FunctionCallInfo fcinfo, int argno, bool int8)
{
	char		number[MAXINT8LEN + 1];

	if (PG_ARGISNULL(argno))
		return;
	if (int8)
		pg_lltoa(PG_GETARG_INT64(argno), number);
	else
		pg_ltoa(PG_GETARG_INT32(argno), number);
	appendStringInfoString(out, number);
}

/* Appends numeric argument argno as ar.format_money prints it (NULL: nothing). */
static void
append_money_arg(StringInfo out, DunningLetter *l, int argno)
{
	if (!l->fcinfo->args[argno].isnull && l->currency != NULL)
		append_money_currency(out, DatumGetNumeric(l->fcinfo->args[argno].value), l->currency, l->lang);
}

/*
 * Appends the invoice table of lines argument argno (NULL: nothing); the
 * wide table when the template states the penalties.
 */
static void
append_table_arg(StringInfo out, DunningLetter *l, int argno)
{
	FunctionCallInfo fcinfo = l->fcinfo;

	if (!PG_ARGISNULL(argno))
		append_invoice_table(out, dun_lines_arg(fcinfo, argno), l->currency, l->lang,
							 !PG_ARGISNULL(DL_WIDE) && PG_GETARG_BOOL(DL_WIDE));
}

static bool
dunning_value(StringInfo out, const char *name, int len, void *arg)
{
	DunningLetter *l = (DunningLetter *) arg;
	FunctionCallInfo fcinfo = l->fcinfo;
	int			which;

	for (which = 0; which < PH_COUNT; which++)
	{
		if (strncmp(dunning_placeholders[which].name, name, len) == 0 && dunning_placeholders[which].name[len] == '\0')
			break;
	}
	if (which == PH_COUNT)
		return false;
	if (dunning_placeholders[which].text_arg >= 0)
	{
		append_text_arg(out, fcinfo, dunning_placeholders[which].text_arg);
		return true;
	}
	switch ((DunningPlaceholder) which)
	{
		case PH_AS_OF:
			if (!PG_ARGISNULL(DL_AS_OF))
				append_long_date(out, PG_GETARG_DATEADT(DL_AS_OF), l->lang);
			break;
		case PH_INVOICE_TABLE:
			{
				/*
				 * the table, then the credits set off under it (as the SQL
				 * wrote it: no deduction line when its label or the currency
				 * is NULL)
				 */
				bool		deduct = false;

				if (PG_ARGISNULL(DL_LINES))
					break;
				if (!PG_ARGISNULL(DL_CREDITS) && !PG_ARGISNULL(DL_DEDUCTION_LABEL) && l->currency != NULL)
					deduct = DatumGetInt32(DirectFunctionCall2(numeric_cmp, PG_GETARG_DATUM(DL_CREDITS),
															   DirectFunctionCall1(int4_numeric, Int32GetDatum(0)))) > 0;
				append_table_arg(out, l, DL_LINES);
				if (deduct)
				{
					appendStringInfoChar(out, '\n');
					append_text_arg(out, fcinfo, DL_DEDUCTION_LABEL);
					append_money_currency(out, DatumGetNumeric(DirectFunctionCall1(numeric_uminus,
																				   PG_GETARG_DATUM(DL_CREDITS))),
										  l->currency, l->lang);
				}
			}
			break;
		case PH_INVOICE_COUNT:
			append_int_arg(out, fcinfo, DL_INVOICE_COUNT, true);
			break;
		case PH_AMOUNT_DUE:
			append_money_arg(out, l, DL_AMOUNT_DUE);
			break;
		case PH_INTEREST:
		case PH_INDEMNITY:
		case PH_PENALTIES:	/* else: not computed */
			{
				int			argno = which == PH_INTEREST ? DL_INTEREST : which == PH_INDEMNITY ? DL_INDEMNITY : DL_PENALTIES;

				if (!PG_ARGISNULL(argno) && l->currency != NULL)
					append_money_arg(out, l, argno);
				else
					append_text_arg(out, fcinfo, DL_NOT_COMPUTED);
			}
			break;
		case PH_TOTAL_DUE:	/* amount_due and the penalties */
			if (!PG_ARGISNULL(DL_AMOUNT_DUE) && l->currency != NULL)
			{
				Datum		total = PG_GETARG_DATUM(DL_AMOUNT_DUE);

				if (!PG_ARGISNULL(DL_PENALTIES))
					total = DirectFunctionCall2(numeric_add, total, PG_GETARG_DATUM(DL_PENALTIES));
				append_money_currency(out, DatumGetNumeric(total), l->currency, l->lang);
			}
			break;
		case PH_FEE:
			append_money_arg(out, l, DL_FEE);
			break;
		case PH_REPLY_BY:
			if (!PG_ARGISNULL(DL_REPLY_BY))
				append_long_date(out, PG_GETARG_DATEADT(DL_REPLY_BY), l->lang);
			break;
		case PH_REPLY_DAYS:
			append_int_arg(out, fcinfo, DL_REPLY_DAYS, false);
			break;
		case PH_PREVIOUS_NOTICES:	/* "d1, d2 and d3" */
			if (!PG_ARGISNULL(DL_PREVIOUS_DATES))
			{
				Datum	   *dates;
				bool	   *nulls;
				int			n = text_array_elements(PG_GETARG_ARRAYTYPE_P(DL_PREVIOUS_DATES), "previous dates",
													&dates, &nulls);
				bool		first = true;

				/* a NULL last date or word, like the SQL's ||: nothing */
				if (n == 0 || nulls[n - 1] || (n > 1 && PG_ARGISNULL(DL_WORD_AND)))
					break;
				for (int i = 0; i < n - 1; i++)
				{
					text	   *d;

					if (nulls[i])
						continue;	/* (array_to_string skips them) */
					if (!first)
						appendStringInfoString(out, ", ");
					d = DatumGetTextPP(dates[i]);
					appendBinaryStringInfo(out, VARDATA_ANY(d), VARSIZE_ANY_EXHDR(d));
					first = false;
				}
				if (n > 1)
					append_text_arg(out, fcinfo, DL_WORD_AND);
				appendBinaryStringInfo(out, VARDATA_ANY(DatumGetTextPP(dates[n - 1])),
									   VARSIZE_ANY_EXHDR(DatumGetTextPP(dates[n - 1])));
			}
			break;
		case PH_LEVEL:
			append_int_arg(out, fcinfo, DL_LEVEL, false);
			break;
		case PH_RECENT_INVOICES:	/* their own table, under a heading */
			if (!PG_ARGISNULL(DL_RECENT_LINES) && !PG_ARGISNULL(DL_RECENT_HEADING))
			{
				DunLines   *recent = dun_lines_arg(fcinfo, DL_RECENT_LINES);

				if (recent->nlines == 0)
					break;
				appendStringInfoChar(out, '\n');
				append_text_arg(out, fcinfo, DL_RECENT_HEADING);
				appendStringInfoString(out, "\n\n");
				append_invoice_table(out, recent, l->currency, l->lang,
									 !PG_ARGISNULL(DL_WIDE) && PG_GETARG_BOOL(DL_WIDE));
				appendStringInfoChar(out, '\n');
			}
			break;
		default:
			/* (the plain text ones, above) */
			break;
	}
	return true;
}

/*
 * ar._dunning_letter(template, ...) text: the template of a notice rendered
 * as ar.render_template with the values the run composed in SQL before
 * (80_dunning_5_run_function.sql), each formatted here only if the template
 * uses it: no array of 25 values per notice, no call per value.
 */
Datum
ar_dunning_letter(PG_FUNCTION_ARGS)
{
	DunningLetter l;
	text	   *template;
	StringInfoData out;

	if (PG_NARGS() != DL_NARGS)
		elog(ERROR, "ar._dunning_letter called with %d arguments, not %d", PG_NARGS(), DL_NARGS);
	if (PG_ARGISNULL(DL_TEMPLATE))
		PG_RETURN_NULL();
	template = PG_GETARG_TEXT_PP(DL_TEMPLATE);
	l.fcinfo = fcinfo;
	l.lang = PG_ARGISNULL(DL_LANGUAGE) ? LANG_EN : letter_language(PG_GETARG_TEXT_PP(DL_LANGUAGE));
	l.currency = PG_ARGISNULL(DL_CURRENCY) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(DL_CURRENCY));
	/*
	 * the text written in place after its header, in a buffer about the size
	 * of a letter (its invoice table makes it about twice its template)
	 */
	initStringInfo(&out);
	enlargeStringInfo(&out, VARHDRSZ + 2 * VARSIZE_ANY_EXHDR(template));
	appendStringInfoSpaces(&out, VARHDRSZ);
	render_into(&out, VARDATA_ANY(template), VARDATA_ANY(template) + VARSIZE_ANY_EXHDR(template), dunning_value, &l);
	SET_VARSIZE(out.data, out.len);
	PG_RETURN_TEXT_P((text *) out.data);
}

Datum
ar_compress_letter(PG_FUNCTION_ARGS)
{
	struct varlena *body = PG_GETARG_RAW_VARLENA_P(0);

#ifdef USE_LZ4
	/* only a plain in-line value (not short, compressed or toasted already) */
	if (!VARATT_IS_EXTENDED(body) && VARSIZE(body) - VARHDRSZ >= LETTER_COMPRESS_MIN)
	{
		Datum		compressed = toast_compress_datum(PointerGetDatum(body), TOAST_LZ4_COMPRESSION);

		if (DatumGetPointer(compressed) != NULL)
			PG_RETURN_DATUM(compressed);
	}
#endif
	PG_RETURN_POINTER(body);
}
