/*-------------------------------------------------------------------------
 *
 * dunning_lines.c
 *		ar._dunning_lines(level, invoice_id, number, due_date, days_late,
 *		amount, open_amount, interest, fixed_fee): per account, in one
 *		transition per invoice, the lines its notice lists.
 *
 * A notice lists the invoices that reached level 1 or more; when none did
 * (R = 0), those at level 0 (as ar._dunning_totals counts them).  The state
 * keeps every line with its level; the final function keeps the listing a
 * notice uses and puts it in table order: due date, invoice number (bytes),
 * invoice id.  Amounts are kept in cents, rounded half away from zero as
 * the letter prints them (up to 92,233,720,368,547,758.07: an error
 * beyond).  Rows with a NULL or negative level are not listed.
 *
 * Before, the lines were an array_agg of a composite type, built, copied,
 * deformed and sorted again for each notice: about a third of a first run
 * over a million invoices.  Here a line is appended to a flat state that
 * grows in place (doubling), with a text form and a combine function so
 * that the aggregate may run in parallel or across shards.
 *
 * Text form: {} or {(line)(line)...}, a line being
 *   (invoice_id,"number",due date YYYY-MM-DD,days_late,level,amount,
 *    open_amount,interest,fixed_fee)
 * amounts as plain decimals with two decimals, interest and fixed fee empty
 * when unknown, a double quote in the number doubled.  Example:
 *   {(17,"FA-17",2026-01-25,65,1,1200.00,800.00,12.34,40.00)}
 *
 * ar._dunning_lines_subset(lines, ids bigint[], keep boolean) returns the
 * lines whose invoice is in ids (keep) or not (not keep), in their order;
 * ar._dunning_lines_totals(lines) their figures as ar._dunning_totals
 * gives them (ar._dunning_totals_result, amounts in cents): a notice that
 * separates or leaves out the invoices never reminded before uses them.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "decimal128.h"
#include "dunning_lines.h"
#include "penalty.h"

/* Room for this many lines of 16-byte numbers in a new state. */
#define DUN_LINES_INITIAL	8

PG_FUNCTION_INFO_V1(dunning_lines_in);
PG_FUNCTION_INFO_V1(dunning_lines_out);
PG_FUNCTION_INFO_V1(dunning_lines_transfn);
PG_FUNCTION_INFO_V1(dunning_lines_pen_transfn);
PG_FUNCTION_INFO_V1(dunning_lines_combine);
PG_FUNCTION_INFO_V1(dunning_lines_final);
PG_FUNCTION_INFO_V1(dunning_lines_open_from);
PG_FUNCTION_INFO_V1(dunning_lines_subset);
PG_FUNCTION_INFO_V1(dunning_lines_totals);

static pg_noinline void
dl_corrupt(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid ar._dunning_lines value"),
			 errdetail("%s", detail)));
}

/* Checks that every line lies within the value and the count matches. */
void
dl_check(const DunLines *lines)
{
	int			offset = 0;
	int			n = 0;

	if (lines->nlines < 0 || lines->used < 0 ||
		lines->used > (int) VARSIZE(lines) - (int) sizeof(DunLines))
		dl_corrupt("Its header does not match its size.");
	while (offset < lines->used)
	{
		const DunLine *line = (const DunLine *) (DUN_LINES_DATA(lines) + offset);

		if (lines->used - offset < (int) sizeof(DunLine) ||
			lines->used - offset < (int) DUN_LINE_SIZE(line->number_len))
			dl_corrupt("A line runs past its end.");
		if (line->flags & ~DUN_LINE_FLAGS)
			dl_corrupt("A line has unknown flags.");
		offset += DUN_LINE_SIZE(line->number_len);
		n++;
	}
	if (n != lines->nlines)
		dl_corrupt("Its count does not match its lines.");
}

DunLines *
dun_lines_arg(FunctionCallInfo fcinfo, int argno)
{
	DunLines   *lines = (DunLines *) PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));

	if (VARSIZE(lines) < sizeof(DunLines))
		dl_corrupt("It is shorter than its header.");
	dl_check(lines);
	return lines;
}

/* An empty value with room for capacity bytes of lines. */
DunLines *
dl_new(int capacity)
{
	DunLines   *lines = palloc(sizeof(DunLines) + capacity);

	SET_VARSIZE(lines, sizeof(DunLines) + capacity);
	lines->nlines = 0;
	lines->used = 0;
	lines->pad = 0;
	return lines;
}

/*
 * lines with room for "more" bytes more: itself when there is room, else a
 * copy twice as large in the current memory context (nodeAgg copies a new
 * state into the aggregate context and frees the old one).
 */
static DunLines *
dl_reserve(DunLines *lines, int more)
{
	int			capacity = VARSIZE(lines) - sizeof(DunLines);
	DunLines   *grown;

	if (lines->used + more <= capacity)
		return lines;
	if ((Size) lines->used + more > MaxAllocSize / 2 - sizeof(DunLines))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many invoices in one dunning notice"),
				 errdetail("The lines of one account take more than %d bytes.", lines->used)));
	grown = dl_new(Max(2 * capacity, lines->used + more));
	grown->nlines = lines->nlines;
	grown->used = lines->used;
	memcpy(DUN_LINES_DATA(grown), DUN_LINES_DATA(lines), lines->used);
	return grown;
}

/* Appends a line and its number, growing lines as needed. */
DunLines *
dl_append(DunLines *lines, const DunLine *line, const char *number)
{
	int			size = DUN_LINE_SIZE(line->number_len);
	char	   *at;

	lines = dl_reserve(lines, size);
	at = DUN_LINES_DATA(lines) + lines->used;
	memset(at, 0, size);
	memcpy(at, line, sizeof(DunLine));
	memcpy(at + sizeof(DunLine), number, line->number_len);
	lines->used += size;
	lines->nlines++;
	return lines;
}

/* The amount in cents; NaN, infinities and amounts too large are errors. */
int64
dl_cents(Datum amount, const char *what)
{
	int128		cents;

	if (!dec128_round_cents(amount, &cents) || cents < PG_INT64_MIN || cents > PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s %s cannot be printed in a dunning letter", what,
						DatumGetCString(DirectFunctionCall1(numeric_out, amount))),
				 errdetail("Letters print finite amounts to the cent, up to 92,233,720,368,547,758.07.")));
	return (int64) cents;
}

/* ------------------------------------------------------------ text form */

static pg_noinline void
dl_bad_text(const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type ar._dunning_lines: \"%s\"", text),
			 errdetail("%s", detail),
			 errhint("The form is {} or {(invoice_id,\"number\",YYYY-MM-DD,days_late,level,amount,open_amount,interest,fixed_fee)...}.")));
}

static void
dl_text_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("value out of range in ar._dunning_lines input")));
}

static void
dl_expect(const char *text, const char **p, char c, const char *detail)
{
	if (**p != c)
		dl_bad_text(text, detail);
	(*p)++;
}

/* An integer in [min, max] at *p; with cents, a decimal with two decimals. */
static int64
dl_parse_number(const char *text, const char **p, bool cents, int64 min, int64 max, const char *detail)
{
	int128		value;
	int			scale;

	if (!dec128_parse(p, DEC128_MAX_SCALE, &value, &scale, dl_text_overflow) ||
		scale != (cents ? 2 : 0) || value < min || value > max)
		dl_bad_text(text, detail);
	return (int64) value;
}

static DateADT
dl_parse_date(const char *text, const char **p)
{
	const char *detail = "A due date must be a date such as 2026-01-25.";
	int			year = (int) dl_parse_number(text, p, false, -4713, 5874897, detail);
	int			month;
	int			day;
	int			y,
				m,
				d;
	int			julian;

	dl_expect(text, p, '-', detail);
	month = (int) dl_parse_number(text, p, false, 1, 12, detail);
	dl_expect(text, p, '-', detail);
	day = (int) dl_parse_number(text, p, false, 1, 31, detail);
	julian = date2j(year, month, day);
	j2date(julian, &y, &m, &d);
	if (y != year || m != month || d != day || !IS_VALID_DATE(julian - POSTGRES_EPOCH_JDATE))
		dl_bad_text(text, detail);
	return julian - POSTGRES_EPOCH_JDATE;
}

/*
 * The double-quoted text at *p (a double quote in it doubled) into buf,
 * advancing *p past it; false when it does not start with a double quote
 * or is not closed.  The dunning pass's state (dunning_pass.c) reads its
 * problems with it too.
 */
bool
dl_scan_quoted(const char **p, StringInfo buf)
{
	resetStringInfo(buf);
	if (**p != '"')
		return false;
	(*p)++;
	for (;;)
	{
		if (**p == '\0')
			return false;
		if (**p == '"')
		{
			if ((*p)[1] != '"')
				break;
			(*p)++;
		}
		appendStringInfoChar(buf, **p);
		(*p)++;
	}
	(*p)++;
	return true;
}

/* A double-quoted invoice number at *p into buf. */
static void
dl_parse_quoted(const char *text, const char **p, StringInfo buf)
{
	if (!dl_scan_quoted(p, buf))
		dl_bad_text(text, "An invoice number must be double-quoted, a double quote in it doubled.");
	if (buf->len > DUN_LINE_MAX_NUMBER)
		dl_bad_text(text, "An invoice number is longer than 65535 bytes.");
}

Datum
dunning_lines_in(PG_FUNCTION_ARGS)
{
	const char *text = PG_GETARG_CSTRING(0);
	const char *p = text;
	const char *field = "Nine comma-separated fields per line are expected.";
	const char *amount = "An amount must be a decimal number with two decimals, such as 120.00.";
	DunLines   *lines = dl_new(0);
	StringInfoData number;

	initStringInfo(&number);
	dl_expect(text, &p, '{', "It must start with \"{\".");
	while (*p == '(')
	{
		DunLine		line = {0};

		p++;
		line.invoice_id = dl_parse_number(text, &p, false, PG_INT64_MIN, PG_INT64_MAX,
										  "An invoice id must be an integer.");
		dl_expect(text, &p, ',', field);
		dl_parse_quoted(text, &p, &number);
		line.number_len = number.len;
		dl_expect(text, &p, ',', field);
		line.due_date = dl_parse_date(text, &p);
		dl_expect(text, &p, ',', field);
		line.days_late = (int32) dl_parse_number(text, &p, false, PG_INT32_MIN, PG_INT32_MAX,
												 "Days late must be an integer.");
		dl_expect(text, &p, ',', field);
		line.level = (int32) dl_parse_number(text, &p, false, 0, PG_INT32_MAX,
											 "A level must be a non-negative integer.");
		dl_expect(text, &p, ',', field);
		line.amount = dl_parse_number(text, &p, true, PG_INT64_MIN, PG_INT64_MAX, amount);
		dl_expect(text, &p, ',', field);
		line.open_amount = dl_parse_number(text, &p, true, PG_INT64_MIN, PG_INT64_MAX, amount);
		dl_expect(text, &p, ',', field);
		if (*p != ',')
		{
			line.interest = dl_parse_number(text, &p, true, PG_INT64_MIN, PG_INT64_MAX, amount);
			line.flags |= DUN_LINE_INTEREST;
		}
		dl_expect(text, &p, ',', field);
		if (*p != ')')
		{
			line.fixed_fee = dl_parse_number(text, &p, true, PG_INT64_MIN, PG_INT64_MAX, amount);
			line.flags |= DUN_LINE_FEE;
		}
		dl_expect(text, &p, ')', "A line must end with \")\" after its ninth field.");
		lines = dl_append(lines, &line, number.data);
	}
	dl_expect(text, &p, '}', "Lines must be in parentheses, and the whole end with \"}\".");
	if (*p != '\0')
		dl_bad_text(text, "Junk follows the closing \"}\".");
	PG_RETURN_POINTER(lines);
}

static void
dl_append_cents(StringInfo buf, int64 cents)
{
	char		number[DEC128_BUFLEN];

	dec128_format(cents, 2, number);
	appendStringInfoString(buf, number);
}

Datum
dunning_lines_out(PG_FUNCTION_ARGS)
{
	DunLines   *lines = dun_lines_arg(fcinfo, 0);
	StringInfoData buf;
	int			offset = 0;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	while (offset < lines->used)
	{
		const DunLine *line = dun_lines_next(lines, &offset);
		const char *number = DUN_LINE_NUMBER(line);
		int			year,
					month,
					day;

		appendStringInfo(&buf, "(" INT64_FORMAT ",\"", line->invoice_id);
		for (int i = 0; i < line->number_len; i++)
		{
			if (number[i] == '"')
				appendStringInfoChar(&buf, '"');
			appendStringInfoChar(&buf, number[i]);
		}
		j2date(line->due_date + POSTGRES_EPOCH_JDATE, &year, &month, &day);
		appendStringInfo(&buf, "\",%04d-%02d-%02d,%d,%d,", year, month, day, line->days_late, line->level);
		dl_append_cents(&buf, line->amount);
		appendStringInfoChar(&buf, ',');
		dl_append_cents(&buf, line->open_amount);
		appendStringInfoChar(&buf, ',');
		if (line->flags & DUN_LINE_INTEREST)
			dl_append_cents(&buf, line->interest);
		appendStringInfoChar(&buf, ',');
		if (line->flags & DUN_LINE_FEE)
			dl_append_cents(&buf, line->fixed_fee);
		appendStringInfoChar(&buf, ')');
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_CSTRING(buf.data);
}

/* ------------------------------------------------------------------------
 * Aggregate support functions (not strict)
 * ------------------------------------------------------------------------
 */

/*
 * The state argument 0 ready to be appended to: inside an aggregate, the
 * aggregate's own state (changed in place); else a copy.
 */
static DunLines *
dl_state_for_update(FunctionCallInfo fcinfo)
{
	DunLines   *state;
	DunLines   *copy;

	if (PG_ARGISNULL(0))
		return dl_new(DUN_LINES_INITIAL * DUN_LINE_SIZE(16));
	if (AggCheckCallContext(fcinfo, NULL))
	{
		/*
		 * The aggregate's own state, which this file built: its header is
		 * checked, not every line again on every row (that would be
		 * quadratic in the lines of an account).
		 */
		state = (DunLines *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
		if (VARSIZE(state) < sizeof(DunLines) || state->used < 0 ||
			state->used > (int) (VARSIZE(state) - sizeof(DunLines)))
			dl_corrupt("Its header does not match its size.");
		return state;
	}
	state = dun_lines_arg(fcinfo, 0);
	copy = dl_new(state->used);
	copy->nlines = state->nlines;
	copy->used = state->used;
	memcpy(DUN_LINES_DATA(copy), DUN_LINES_DATA(state), state->used);
	return copy;
}

static void
dl_require(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a dunning line needs its %s", what)));
}

/*
 * The line of arguments first to first + 6 (level, invoice_id, number,
 * due_date, days_late, amount, open_amount) without interest and fixed
 * fee, checked; *number its invoice number.  The level is not NULL.
 */
void
dl_line_from_args(FunctionCallInfo fcinfo, int first, DunLine *line, text **number)
{
	memset(line, 0, sizeof(*line));
	dl_require(fcinfo, first + 1, "invoice id");
	dl_require(fcinfo, first + 2, "invoice number");
	dl_require(fcinfo, first + 3, "due date");
	dl_require(fcinfo, first + 4, "days late");
	dl_require(fcinfo, first + 5, "amount");
	dl_require(fcinfo, first + 6, "open amount");
	line->level = PG_GETARG_INT32(first);
	line->invoice_id = PG_GETARG_INT64(first + 1);
	*number = PG_GETARG_TEXT_PP(first + 2);
	line->due_date = PG_GETARG_DATEADT(first + 3);
	if (DATE_NOT_FINITE(line->due_date))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a dunning line needs a finite due date, not %s",
						DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(line->due_date))))));
	line->days_late = PG_GETARG_INT32(first + 4);
	line->amount = dl_cents(PG_GETARG_DATUM(first + 5), "amount");
	line->open_amount = dl_cents(PG_GETARG_DATUM(first + 6), "open amount");
	if (VARSIZE_ANY_EXHDR(*number) > DUN_LINE_MAX_NUMBER)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invoice number of invoice " INT64_FORMAT " is too long for a dunning line", line->invoice_id),
				 errdetail("It has %d bytes; at most %d are printed.",
						   (int) VARSIZE_ANY_EXHDR(*number), DUN_LINE_MAX_NUMBER)));
	line->number_len = VARSIZE_ANY_EXHDR(*number);
}

/*
 * One invoice into the state (argument 0): level, invoice_id, number,
 * due_date, days_late, amount, open_amount (arguments 1 to 7), its interest
 * and fixed fee (NULL: not known).
 */
static Datum
dl_transition(FunctionCallInfo fcinfo, Datum interest, bool interest_null, Datum fixed_fee, bool fee_null)
{
	DunLine		line;
	text	   *number;
	DunLines   *state;

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 0)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	dl_line_from_args(fcinfo, 1, &line, &number);
	if (!interest_null)
	{
		line.interest = dl_cents(interest, "interest");
		line.flags |= DUN_LINE_INTEREST;
	}
	if (!fee_null)
	{
		line.fixed_fee = dl_cents(fixed_fee, "fixed fee");
		line.flags |= DUN_LINE_FEE;
	}
	state = dl_state_for_update(fcinfo);
	PG_RETURN_POINTER(dl_append(state, &line, VARDATA_ANY(number)));
}

/* ar._dunning_lines_combine(state, state): the lines of both. */
/*
 * ar._dunning_lines_transfn(state, level, invoice_id, number, due_date,
 * days_late, amount, open_amount, interest, fixed_fee).
 */
Datum
dunning_lines_transfn(PG_FUNCTION_ARGS)
{
	return dl_transition(fcinfo, PG_ARGISNULL(8) ? (Datum) 0 : PG_GETARG_DATUM(8), PG_ARGISNULL(8),
						 PG_ARGISNULL(9) ? (Datum) 0 : PG_GETARG_DATUM(9), PG_ARGISNULL(9));
}

/*
 * ar._dunning_lines_pen_transfn(state, level, invoice_id, number, due_date,
 * days_late, amount, open_amount, penalty ar._penalty_computed,
 * claimable boolean): the same with the interest and fixed fee taken from
 * the penalty row when claimable, else 0.00 (pen_claimed_parts).
 */
Datum
dunning_lines_pen_transfn(PG_FUNCTION_ARGS)
{
	PenClaimed	parts;

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 0)
		return dl_transition(fcinfo, (Datum) 0, true, (Datum) 0, true);	/* not listed */
	pen_claimed_parts(fcinfo, 8, 9, &parts);
	return dl_transition(fcinfo, parts.interest, parts.interest_null, parts.fixed_fee, parts.fee_null);
}

Datum
dunning_lines_combine(PG_FUNCTION_ARGS)
{
	DunLines   *state;
	DunLines   *other;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	other = dun_lines_arg(fcinfo, 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(other);
	state = dl_reserve(dl_state_for_update(fcinfo), other->used);
	memcpy(DUN_LINES_DATA(state) + state->used, DUN_LINES_DATA(other), other->used);
	state->used += other->used;
	state->nlines += other->nlines;
	PG_RETURN_POINTER(state);
}

/* Table order: due date, invoice number (bytes), invoice id. */
static int
dl_line_compare(const void *a, const void *b)
{
	const DunLine *x = *(const DunLine *const *) a;
	const DunLine *y = *(const DunLine *const *) b;
	int			c;

	if (x->due_date != y->due_date)
		return x->due_date < y->due_date ? -1 : 1;
	c = memcmp(DUN_LINE_NUMBER(x), DUN_LINE_NUMBER(y), Min(x->number_len, y->number_len));
	if (c != 0)
		return c;
	if (x->number_len != y->number_len)
		return x->number_len < y->number_len ? -1 : 1;
	if (x->invoice_id != y->invoice_id)
		return x->invoice_id < y->invoice_id ? -1 : 1;
	return 0;
}

/*
 * ar._dunning_lines_final(state): the lines a notice lists (level 1 and up,
 * or level 0 when no line reached level 1) in table order; NULL without
 * any line.  The state is only read.
 */
Datum
dunning_lines_final(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_POINTER(dl_listing(dun_lines_arg(fcinfo, 0)));
}

/*
 * The lines of state a notice lists (level 1 and up, or level 0 when no
 * line reached level 1) in table order, as a new value.
 */
DunLines *
dl_listing(const DunLines *state)
{
	DunLines   *result;
	const DunLine **listed;
	int			nlisted = 0;
	int			size = 0;
	bool		high = false;
	int			offset = 0;

	listed = palloc(sizeof(DunLine *) * Max(state->nlines, 1));
	while (offset < state->used)
		high |= dun_lines_next(state, &offset)->level >= 1;
	for (offset = 0; offset < state->used;)
	{
		const DunLine *line = dun_lines_next(state, &offset);

		if (high ? line->level >= 1 : line->level == 0)
		{
			listed[nlisted++] = line;
			size += DUN_LINE_SIZE(line->number_len);
		}
	}
	if (nlisted > 1)
		qsort(listed, nlisted, sizeof(DunLine *), dl_line_compare);
	result = dl_new(size);
	for (int i = 0; i < nlisted; i++)
	{
		int			line_size = DUN_LINE_SIZE(listed[i]->number_len);

		memcpy(DUN_LINES_DATA(result) + result->used, listed[i], line_size);
		result->used += line_size;
	}
	result->nlines = nlisted;
	pfree(listed);
	return result;
}

/*
 * ar._lines_open_from(lines, level): the open amounts of the lines that
 * reached level or more, summed (numeric, two decimals; 0.00 without any).
 * What ar.run_dunning compares with a level's minimum percentage.
 */
Datum
dunning_lines_open_from(PG_FUNCTION_ARGS)
{
	DunLines   *lines = dun_lines_arg(fcinfo, 0);
	int32		level = PG_GETARG_INT32(1);
	int64		sum = 0;
	int			offset = 0;

	for (int i = 0; i < lines->nlines; i++)
	{
		const DunLine *line = dun_lines_next(lines, &offset);

		if (line->level >= level && pg_add_s64_overflow(sum, line->open_amount, &sum))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the open amounts of a dunning notice add up beyond the range of a dunning line")));
	}
	PG_RETURN_NUMERIC(int64_div_fast_to_numeric(sum, 2));
}

/* True when id is among the n sorted ids. */
static bool
dl_id_in(int64 id, const int64 *ids, int n)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid] == id)
			return true;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

static int
dl_id_compare(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/*
 * ar._dunning_lines_subset(lines, ids bigint[], keep boolean): the lines
 * whose invoice id is in ids (keep) or is not (not keep), in their order.
 * NULL lines: NULL; NULL ids: none; NULL elements of ids are ignored.
 */
Datum
dunning_lines_subset(PG_FUNCTION_ARGS)
{
	DunLines   *lines;
	DunLines   *result;
	int64	   *ids = NULL;
	int			nids = 0;
	bool		keep;
	int			offset = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	lines = dun_lines_arg(fcinfo, 0);
	keep = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	if (!PG_ARGISNULL(1))
	{
		ArrayType  *array = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *elems;
		bool	   *nulls;
		int			count;

		if (ARR_NDIM(array) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("ids must be a one-dimensional array, not %d-dimensional", ARR_NDIM(array))));
		deconstruct_array(array, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &count);
		ids = palloc(sizeof(int64) * Max(count, 1));
		for (int i = 0; i < count; i++)
			if (!nulls[i])
				ids[nids++] = DatumGetInt64(elems[i]);
		qsort(ids, nids, sizeof(int64), dl_id_compare);
	}
	result = dl_new(lines->used);
	while (offset < lines->used)
	{
		const DunLine *line = dun_lines_next(lines, &offset);
		int			size = DUN_LINE_SIZE(line->number_len);

		if (dl_id_in(line->invoice_id, ids, nids) != keep)
			continue;
		memcpy(DUN_LINES_DATA(result) + result->used, line, size);
		result->used += size;
		result->nlines++;
	}
	PG_RETURN_POINTER(result);
}

/*
 * ar._dunning_lines_totals(lines) returns ar._dunning_totals_result: the
 * highest level of the lines, their count, the sums of their open amounts,
 * interest, fixed fees and penalties (interest and penalties NULL when an
 * interest is not known, the fixed fees NULL when a fee is not), and how
 * many lines have no known interest.  NULL lines: NULL.
 */
Datum
dunning_lines_totals(PG_FUNCTION_ARGS)
{
	DunLines   *lines;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {0};
	int128		open = 0,
				interest = 0,
				fee = 0;
	bool		interest_known = true,
				fee_known = true;
	int32		r = -1;
	int64		problems = 0;
	int			offset = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	lines = dun_lines_arg(fcinfo, 0);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE || tupdesc->natts != 7)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ar._dunning_lines_totals must return ar._dunning_totals_result")));
	/*
	 * Unchecked on purpose: a value (at most 1 GB, lines of 48 bytes or
	 * more) holds fewer than 2^25 lines, so int128 sums of int64 cents
	 * cannot overflow.
	 */
	while (offset < lines->used)
	{
		const DunLine *line = dun_lines_next(lines, &offset);

		r = Max(r, line->level);
		open += line->open_amount;
		if (line->flags & DUN_LINE_INTEREST)
			interest += line->interest;
		else
		{
			interest_known = false;
			problems++;
		}
		if (line->flags & DUN_LINE_FEE)
			fee += line->fixed_fee;
		else
			fee_known = false;
	}
	values[0] = Int32GetDatum(r);
	values[1] = Int64GetDatum(lines->nlines);
	nulls[2] = lines->nlines == 0;
	values[2] = nulls[2] ? (Datum) 0 : dec128_to_numeric(open, 2);
	nulls[3] = nulls[5] = lines->nlines == 0 || !interest_known || !fee_known;
	nulls[4] = lines->nlines == 0 || !fee_known;
	values[3] = nulls[3] ? (Datum) 0 : dec128_to_numeric(interest, 2);
	values[4] = nulls[4] ? (Datum) 0 : dec128_to_numeric(fee, 2);
	values[5] = nulls[5] ? (Datum) 0 : dec128_to_numeric(interest + fee, 2);
	values[6] = Int64GetDatum(problems);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
