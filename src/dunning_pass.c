/*-------------------------------------------------------------------------
 *
 * dunning_pass.c
 *		ar._dunning_account(level, invoice_id, number, due_date, days_late,
 *		amount, open_amount, invoice_level, regime, amount, due_date, as_of,
 *		payment_dates, payment_amounts, contract_rate, currency, claimable):
 *		per account, in one transition per dunnable invoice, what the pass
 *		over the invoices of ar.run_dunning (its step F) keeps of it.
 *
 * It is ar._dunning_totals_claimed, ar._dunning_lines_claimed and the two
 * FILTERed min(number || ': ' || problem) of the step fused, each invoice's
 * penalty computed inline by the penalty engine (pen_compute, the core of
 * ar._penalty_compute, arguments 9 to 16 as that function takes them, not
 * strict): no penalty row is built, no numeric made of its interest, fixed
 * fee and total, then read back by two aggregates (issue 17: the row, its
 * numerics and the two transitions were about 0.8 x the SELECT of the open
 * invoices).  The results are those of the three: the same sums (exact, at
 * the engine's display scale), the same lines (cents rounded half away
 * from zero), the same first problem (the least under the arguments'
 * collation), the same errors.  A penalty not claimable (claimable false
 * or NULL) counts 0.00 and no problem, as before; it is computed all the
 * same, so that an error of the engine is raised whether claimable or not.
 *
 * The state is a value of our own type, ar._dunning_account_state, with a
 * text form and a combine function (an aggregate's state never internal:
 * Citus and parallel workers ship partial states as text).  It is one flat
 * varlena (DunAccountState): the totals, the lines (a DunLines) with room
 * to grow, then the two first problems with room of their own, so a line
 * is appended and a first problem replaced in place; the value is rebuilt
 * (doubled) when either outgrows its room.
 *
 * Text form: (t;totals;"problem";"problem";lines), where t is t or f (a
 * row with a level was seen), totals the text form of
 * ar._dunning_totals_state, the problems those of the listings at level 1
 * and up and at level 0 (empty: none; double-quoted, a double quote in it
 * doubled) and lines the text form of ar._dunning_lines.  Example:
 *   (t;(1;1,0,f,800.00,12.34,40.00,52.34;0,0,f,,,,);;;{(17,"FA-17",2026-01-25,65,1,1200.00,800.00,12.34,40.00)})
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/varlena.h"

#include "aggstate.h"
#include "decimal128.h"
#include "dunning_lines.h"
#include "dunning_totals.h"
#include "penalty.h"

/* Arguments after the state. */
#define DP_LEVEL		1		/* the listing's level: 1 to 7 are a line */
#define DP_NUMBER		3
#define DP_INV_LEVEL	8		/* the level the invoice reached */
#define DP_PENALTY		9		/* 9 to 16: ar._penalty_compute's */
#define DP_CLAIMABLE	17

/* Attributes of ar._dunning_account_result: ar._dunning_totals_result's, lines, first_problem. */
#define DP_NRESULT		(DT_NRESULT + 2)

/* DunAccountState.flags */
#define DA_HAS_TOTALS	0x0001	/* a row with a level was seen */
#define DA_FLAGS		0x0001

/* Room for this many lines of 16-byte numbers in a new state. */
#define DA_LINES_INITIAL	8

/*
 * The state.  After it: the lines, a DunLines whose varlena size includes
 * room to grow; then problem_room bytes holding problem_len[DT_HIGH] then
 * problem_len[DT_ZERO] bytes of first problems (-1: none).  A first
 * problem replaced by one no longer than the room is written in place: an
 * account whose every invoice has a problem, in decreasing order of
 * numbers, would otherwise copy its whole state at every row.
 */
typedef struct DunAccountState
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		flags;
	int32		problem_len[DT_NLISTINGS];
	int32		problem_room;
	int32		pad;
	DunTotalsState totals;		/* its own header set: read as a value */
} DunAccountState;

/* A first problem: its bytes and length (-1: none). */
typedef struct DaProblem
{
	const char *data;
	int			len;
} DaProblem;

PG_FUNCTION_INFO_V1(dunning_account_state_in);
PG_FUNCTION_INFO_V1(dunning_account_state_out);
PG_FUNCTION_INFO_V1(dunning_pass_transfn);
PG_FUNCTION_INFO_V1(dunning_pass_combine);
PG_FUNCTION_INFO_V1(dunning_pass_final);

static pg_noinline void
da_corrupt(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid ar._dunning_account_state value"),
			 errdetail("%s", detail)));
}

static inline DunLines *
da_lines(const DunAccountState *state)
{
	return (DunLines *) ((char *) state + sizeof(DunAccountState));
}

static inline DaProblem
da_problem(const DunAccountState *state, int l)
{
	DaProblem	p;

	p.data = (const char *) state + sizeof(DunAccountState) + VARSIZE(da_lines(state)) +
		(l == DT_ZERO ? Max(state->problem_len[DT_HIGH], 0) : 0);
	p.len = state->problem_len[l];
	return p;
}

/*
 * A new state (current context): flags, totals (NULL: zeroes), the two
 * problems (room bytes for them at least), lines' lines (NULL: none) with
 * room for capacity bytes of lines at least.
 */
static DunAccountState *
da_build(int32 flags, const DunTotalsState *totals, const DaProblem *problems,
		 const DunLines *lines, Size capacity, Size room)
{
	DunAccountState *state;
	DunLines   *to;
	Size		used = lines ? lines->used : 0;
	Size		size;

	room = MAXALIGN(Max(room, (Size) Max(problems[DT_HIGH].len, 0) + Max(problems[DT_ZERO].len, 0)));
	capacity = MAXALIGN(Max(capacity, used));
	if (capacity + room > MaxAllocSize / 2 - sizeof(DunAccountState) - sizeof(DunLines))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many invoices in one dunning notice"),
				 errdetail("The lines of one account take more than %zu bytes.", used)));
	size = sizeof(DunAccountState) + sizeof(DunLines) + capacity + room;
	state = palloc0(size);
	SET_VARSIZE(state, size);
	state->flags = flags;
	if (totals)
		memcpy(&state->totals, totals, sizeof(DunTotalsState));
	SET_VARSIZE(&state->totals, sizeof(DunTotalsState));
	to = da_lines(state);
	SET_VARSIZE(to, sizeof(DunLines) + capacity);
	if (lines)
	{
		to->nlines = lines->nlines;
		to->used = lines->used;
		memcpy(DUN_LINES_DATA(to), DUN_LINES_DATA(lines), lines->used);
	}
	state->problem_room = room;
	for (int l = 0; l < DT_NLISTINGS; l++)
		state->problem_len[l] = problems[l].len;
	for (int l = 0; l < DT_NLISTINGS; l++)
		if (problems[l].len > 0)
			memcpy((char *) da_problem(state, l).data, problems[l].data, problems[l].len);
	return state;
}

/* state's own problems, for da_build. */
static void
da_problems(const DunAccountState *state, DaProblem *problems)
{
	for (int l = 0; l < DT_NLISTINGS; l++)
		problems[l] = da_problem(state, l);
}

/*
 * Checks a state's layout; full: every line too (a value from outside),
 * else the lines' header (the aggregate's own state, on every row: reading
 * every line again would be quadratic in the lines of an account).
 */
static void
da_check(const DunAccountState *state, bool full)
{
	Size		size = VARSIZE(state);
	DunLines   *lines;

	if (size < sizeof(DunAccountState) + sizeof(DunLines))
		da_corrupt("It is shorter than its header.");
	if (state->flags & ~DA_FLAGS)
		da_corrupt("It has unknown flags.");
	if (VARSIZE(&state->totals) != sizeof(DunTotalsState))
		da_corrupt("Its totals have the wrong size.");
	lines = da_lines(state);
	if (VARSIZE(lines) < sizeof(DunLines) || state->problem_room < 0 ||
		(Size) VARSIZE(lines) + state->problem_room != size - sizeof(DunAccountState))
		da_corrupt("Its lines and problems do not match its size.");
	if (lines->nlines < 0 || lines->used < 0 || lines->used > (int) (VARSIZE(lines) - sizeof(DunLines)))
		da_corrupt("Its lines' header does not match its size.");
	for (int l = 0; l < DT_NLISTINGS; l++)
		if (state->problem_len[l] < -1 || state->problem_len[l] > state->problem_room)
			da_corrupt("A problem's length does not match its size.");
	if ((int64) Max(state->problem_len[DT_HIGH], 0) + Max(state->problem_len[DT_ZERO], 0) > state->problem_room)
		da_corrupt("Its problems run past its end.");
	if (full)
	{
		dun_totals_check(&state->totals);
		dl_check(lines);
	}
}

/* Argument argno, detoasted and checked in full (never modified). */
static DunAccountState *
da_state_arg(FunctionCallInfo fcinfo, int argno)
{
	DunAccountState *state = (DunAccountState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));

	da_check(state, true);
	return state;
}

/*
 * The state argument 0 ready to be changed: the aggregate's own state is
 * changed in place; outside an aggregate (a direct call), a copy.  NULL:
 * a new state.  A new value is allocated in the current context: nodeAgg
 * copies a new state into its own context.
 */
static DunAccountState *
da_state_for_update(FunctionCallInfo fcinfo)
{
	DunAccountState *state;
	DaProblem	problems[DT_NLISTINGS];

	if (PG_ARGISNULL(0))
	{
		problems[DT_HIGH].len = problems[DT_ZERO].len = -1;
		return da_build(0, NULL, problems, NULL, DA_LINES_INITIAL * DUN_LINE_SIZE(16), 0);
	}
	if (AggCheckCallContext(fcinfo, NULL))
	{
		state = (DunAccountState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
		da_check(state, false);
		return state;
	}
	state = da_state_arg(fcinfo, 0);
	da_problems(state, problems);
	return da_build(state->flags, &state->totals, problems, da_lines(state), 0, 0);
}

/* line and its number appended to state's lines: state, or a larger copy. */
static DunAccountState *
da_append(DunAccountState *state, const DunLine *line, const char *number)
{
	DunLines   *lines = da_lines(state);
	int			capacity = VARSIZE(lines) - sizeof(DunLines);

	if (lines->used + (int) DUN_LINE_SIZE(line->number_len) > capacity)
	{
		DaProblem	problems[DT_NLISTINGS];

		da_problems(state, problems);
		state = da_build(state->flags, &state->totals, problems, lines,
						 (Size) 2 * capacity + DUN_LINE_SIZE(line->number_len), state->problem_room);
		lines = da_lines(state);
	}
	/* (room made above: dl_append appends in place) */
	if (dl_append(lines, line, number) != lines)
		elog(ERROR, "dunning line appended out of place");
	return state;
}

/*
 * The collation problems compare under: the aggregate's (its text
 * arguments'), or the database's default when the call has none, as min()
 * of a text of the default collation would: the state type has no
 * collation, so a combine called directly, or by Citus's coordinator for
 * states shipped as text, gets none (varstr_cmp then raised "could not
 * determine which collation to use").
 */
static inline Oid
da_collation(Oid collation)
{
	return OidIsValid(collation) ? collation : DEFAULT_COLLATION_OID;
}

/* The first of two problems under collation (as min(text)): a when equal. */
static bool
da_problem_less(DaProblem a, DaProblem b, Oid collation)
{
	if (b.len < 0)
		return a.len >= 0;
	if (a.len < 0)
		return false;
	return varstr_cmp(a.data, a.len, b.data, b.len, da_collation(collation)) <= 0;
}

/*
 * value * 10^-scale in cents as dl_cents gives it for the same numeric: at
 * scale 2 the value itself; else (and for its errors) through the numeric.
 */
static int64
dp_cents(int128 value, int scale, const char *what)
{
	if (scale == 2 && value >= PG_INT64_MIN && value <= PG_INT64_MAX)
		return (int64) value;
	return dl_cents(dec128_to_numeric(value, scale), what);
}

/* ------------------------------------------------------------ text form */

static pg_noinline void
da_bad_text(const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type ar._dunning_account_state: \"%s\"", text),
			 errdetail("%s", detail),
			 errhint("The form is (t;totals;\"problem\";\"problem\";lines), as the type's output prints it.")));
}

static void
da_expect(const char *text, const char **p, char c, const char *detail)
{
	if (**p != c)
		da_bad_text(text, detail);
	(*p)++;
}

/* A first problem at *p: empty (none) or double-quoted, into buf. */
static DaProblem
da_parse_problem(const char *text, const char **p, StringInfo buf)
{
	DaProblem	problem = {NULL, -1};

	if (**p != '"')
		return problem;
	if (!dl_scan_quoted(p, buf))
		da_bad_text(text, "A problem must be double-quoted, a double quote in it doubled.");
	problem.data = buf->data;
	problem.len = buf->len;
	return problem;
}

/* The value being read, in the context of an error of its parts' input. */
static void
da_input_context(void *arg)
{
	errcontext("in ar._dunning_account_state value \"%s\"", (const char *) arg);
}

Datum
dunning_account_state_in(PG_FUNCTION_ARGS)
{
	const char *text = PG_GETARG_CSTRING(0);
	const char *p = text;
	const char *fields = "Five fields separated by \";\" in parentheses are expected.";
	const char *end;
	int32		flags;
	char	   *part;
	DunTotalsState *totals;
	DunLines   *lines;
	StringInfoData buf[DT_NLISTINGS];
	DaProblem	problems[DT_NLISTINGS];
	ErrorContextCallback context;

	da_expect(text, &p, '(', "It must start with \"(\".");
	if (*p != 't' && *p != 'f')
		da_bad_text(text, "Its first field must be t or f (a row with a level was seen).");
	flags = *p++ == 't' ? DA_HAS_TOTALS : 0;
	da_expect(text, &p, ';', fields);
	if (*p != '(' || (end = strchr(p, ')')) == NULL)
		da_bad_text(text, "Its second field must be the totals, in parentheses.");
	part = pnstrdup(p, end + 1 - p);
	p = end + 1;

	/* the parts read by their own types' input, this value named */
	context.callback = da_input_context;
	context.arg = (void *) text;
	context.previous = error_context_stack;
	error_context_stack = &context;
	totals = (DunTotalsState *) DatumGetPointer(DirectFunctionCall1(dunning_totals_state_in, CStringGetDatum(part)));
	error_context_stack = context.previous;

	for (int l = 0; l < DT_NLISTINGS; l++)
	{
		da_expect(text, &p, ';', fields);
		initStringInfo(&buf[l]);
		problems[l] = da_parse_problem(text, &p, &buf[l]);
	}
	da_expect(text, &p, ';', fields);
	end = text + strlen(text);
	if (end == p || end[-1] != ')')
		da_bad_text(text, "It must end with \")\" after the lines.");
	part = pnstrdup(p, end - 1 - p);
	error_context_stack = &context;
	lines = (DunLines *) DatumGetPointer(DirectFunctionCall1(dunning_lines_in, CStringGetDatum(part)));
	error_context_stack = context.previous;
	PG_RETURN_POINTER(da_build(flags, totals, problems, lines, 0, 0));
}

/* A first problem, double-quoted (a double quote doubled), or nothing. */
static void
da_print_problem(StringInfo buf, DaProblem problem)
{
	if (problem.len < 0)
		return;
	appendStringInfoChar(buf, '"');
	for (int i = 0; i < problem.len; i++)
	{
		if (problem.data[i] == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, problem.data[i]);
	}
	appendStringInfoChar(buf, '"');
}

Datum
dunning_account_state_out(PG_FUNCTION_ARGS)
{
	DunAccountState *state = da_state_arg(fcinfo, 0);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "(%c;%s", state->flags & DA_HAS_TOTALS ? 't' : 'f',
					 DatumGetCString(DirectFunctionCall1(dunning_totals_state_out, PointerGetDatum(&state->totals))));
	for (int l = 0; l < DT_NLISTINGS; l++)
	{
		appendStringInfoChar(&buf, ';');
		da_print_problem(&buf, da_problem(state, l));
	}
	appendStringInfo(&buf, ";%s)",
					 DatumGetCString(DirectFunctionCall1(dunning_lines_out, PointerGetDatum(da_lines(state)))));
	PG_RETURN_CSTRING(buf.data);
}

/* ------------------------------------------------------------ aggregate */

/*
 * "number: message" as the first problem of listing l when it sorts before
 * the one kept (as min(text) keeps it): written in state's room when it
 * fits, else in a new state with twice the room needed; state otherwise.
 */
static DunAccountState *
da_keep_problem(DunAccountState *state, int l, text *number, const char *message, Oid collation)
{
	int			nlen = VARSIZE_ANY_EXHDR(number);
	int			mlen = strlen(message);
	char	   *candidate = palloc(nlen + 2 + mlen);
	DaProblem	problems[DT_NLISTINGS];
	DunAccountState *kept;
	Size		needed;
	char	   *area;
	char	   *joined;

	memcpy(candidate, VARDATA_ANY(number), nlen);
	memcpy(candidate + nlen, ": ", 2);
	memcpy(candidate + nlen + 2, message, mlen);
	da_problems(state, problems);
	if (problems[l].len >= 0 &&
		varstr_cmp(problems[l].data, problems[l].len, candidate, nlen + 2 + mlen, da_collation(collation)) < 0)
	{
		pfree(candidate);
		return state;
	}
	problems[l].data = candidate;
	problems[l].len = nlen + 2 + mlen;
	needed = (Size) Max(problems[DT_HIGH].len, 0) + Max(problems[DT_ZERO].len, 0);
	if (needed > (Size) state->problem_room)
	{
		kept = da_build(state->flags, &state->totals, problems, da_lines(state), 0, 2 * needed);
		pfree(candidate);
		return kept;
	}
	/* both problems joined apart first: the other one may move */
	joined = palloc(Max(needed, 1));
	memcpy(joined, problems[DT_HIGH].data, Max(problems[DT_HIGH].len, 0));
	memcpy(joined + Max(problems[DT_HIGH].len, 0), problems[DT_ZERO].data, Max(problems[DT_ZERO].len, 0));
	area = (char *) state + sizeof(DunAccountState) + VARSIZE(da_lines(state));
	memcpy(area, joined, needed);
	state->problem_len[l] = problems[l].len;
	pfree(joined);
	pfree(candidate);
	return state;
}

/*
 * ar._dunning_account_transfn(ar._dunning_account_state, level,
 * invoice_id, number, due_date, days_late, amount, open_amount,
 * invoice_level, regime, amount, due_date, as_of, payment_dates,
 * payment_amounts, contract_rate, currency, claimable)
 */
Datum
dunning_pass_transfn(PG_FUNCTION_ARGS)
{
	DunAccountState *state;
	PenCase		c;
	PenResult	r;
	PenError	err;
	bool		computed;
	bool		claimable;
	int128		parts[DT_NSUMS] = {0};	/* interest, fee, total (DT_*) */
	bool		nulls[DT_NSUMS] = {false};
	int			scale = 2;		/* of the parts: 0.00 when not claimable */
	bool		has_problem = false;

	/* the penalty, as ar._penalty_compute(..., strict => false) */
	pen_case_from_args(fcinfo, DP_PENALTY, &c);
	computed = pen_compute(&c, &r, false, &err);
	claimable = !PG_ARGISNULL(DP_CLAIMABLE) && PG_GETARG_BOOL(DP_CLAIMABLE);
	if (computed)
	{
		int128		total = pen_add(r.interest, r.fee);

		if (claimable)
		{
			parts[DT_INTEREST] = r.interest;
			parts[DT_FEE] = r.fee;
			parts[DT_TOTAL] = total;
			scale = c.regime->out_scale;
		}
	}
	else if (claimable)
	{
		/* the fixed fee needs no rate: known even when a rate is not */
		nulls[DT_INTEREST] = nulls[DT_TOTAL] = true;
		nulls[DT_FEE] = !r.fee_known;
		parts[DT_FEE] = r.fee_known ? r.fee : 0;
		scale = c.regime->out_scale;
		has_problem = true;
	}

	state = da_state_for_update(fcinfo);
	if (!PG_ARGISNULL(DP_LEVEL))
	{
		int32		level = PG_GETARG_INT32(DP_LEVEL);
		int			l = dun_totals_listing(&state->totals, !(state->flags & DA_HAS_TOTALS), level);

		state->flags |= DA_HAS_TOTALS;
		if (l >= 0)
		{
			DunLine		line;
			text	   *number;

			/* the figures of its listing */
			if (!PG_ARGISNULL(7))
				dun_totals_add_numeric(&state->totals, l, DT_OPEN, PG_GETARG_DATUM(7));
			for (int i = DT_INTEREST; i <= DT_TOTAL; i++)
				if (!nulls[i])
					dun_totals_add(&state->totals, l, i, parts[i], scale);
			if (nulls[DT_TOTAL])
				state->totals.unknown[l] |= DT_UNKNOWN_TOTAL;
			if (nulls[DT_FEE])
				state->totals.unknown[l] |= DT_UNKNOWN_FEE;
			if (has_problem)
				dun_totals_problem(&state->totals, l);

			/* its line */
			dl_line_from_args(fcinfo, DP_LEVEL, &line, &number);
			if (!nulls[DT_INTEREST])
			{
				line.interest = dp_cents(parts[DT_INTEREST], scale, "interest");
				line.flags |= DUN_LINE_INTEREST;
			}
			if (!nulls[DT_FEE])
			{
				line.fixed_fee = dp_cents(parts[DT_FEE], scale, "fixed fee");
				line.flags |= DUN_LINE_FEE;
			}
			state = da_append(state, &line, VARDATA_ANY(number));
		}
	}

	/* the first problem of the invoices at level 1 and up, and at level 0 */
	/* (a NULL number: a NULL text, which min() skipped) */
	if (has_problem && !PG_ARGISNULL(DP_INV_LEVEL) && PG_GETARG_INT32(DP_INV_LEVEL) >= 0 &&
		!PG_ARGISNULL(DP_NUMBER))
		state = da_keep_problem(state, PG_GETARG_INT32(DP_INV_LEVEL) >= 1 ? DT_HIGH : DT_ZERO,
								PG_GETARG_TEXT_PP(DP_NUMBER), err.message, PG_GET_COLLATION());
	PG_RETURN_POINTER(state);
}

/*
 * ar._dunning_account_combine(state, state): both row sets together.  The
 * lines are concatenated (the final function puts them in table order),
 * each first problem the lesser under the aggregate's collation.
 */
Datum
dunning_pass_combine(PG_FUNCTION_ARGS)
{
	DunAccountState *a;
	DunAccountState *b;
	DunTotalsState totals;
	DaProblem	problems[DT_NLISTINGS];
	DunAccountState *result;
	DunLines   *lines;
	DunLines   *more;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = da_state_arg(fcinfo, 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(b);
	a = da_state_arg(fcinfo, 0);

	/* R and the counts of a side without a row with a level are not its */
	if (!(b->flags & DA_HAS_TOTALS))
		totals = a->totals;
	else if (!(a->flags & DA_HAS_TOTALS))
		totals = b->totals;
	else
	{
		totals = a->totals;
		dun_totals_combine(&totals, &b->totals);
	}
	for (int l = 0; l < DT_NLISTINGS; l++)
	{
		DaProblem	pa = da_problem(a, l);
		DaProblem	pb = da_problem(b, l);

		problems[l] = da_problem_less(pa, pb, PG_GET_COLLATION()) ? pa : pb;
	}
	lines = da_lines(a);
	more = da_lines(b);
	result = da_build(a->flags | b->flags, &totals, problems, lines, (Size) lines->used + more->used, 0);
	lines = da_lines(result);
	memcpy(DUN_LINES_DATA(lines) + lines->used, DUN_LINES_DATA(more), more->used);
	lines->used += more->used;
	lines->nlines += more->nlines;
	PG_RETURN_POINTER(result);
}

/*
 * ar._dunning_account_final(state) returns ar._dunning_account_result:
 * ar._dunning_totals_result's attributes (NULL when no row had a level),
 * the lines a notice lists (NULL when no row was listed) and the first
 * problem of the invoices at level 1 and up when R >= 1, else at level 0.
 * The state is only read.
 */
Datum
dunning_pass_final(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	DunAccountState *state;
	Datum		values[DP_NRESULT];
	bool		nulls[DP_NRESULT];
	DunLines   *lines;
	DaProblem	problem;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	tupdesc = agg_result_desc(fcinfo, "ar._dunning_account_result", DP_NRESULT);
	state = da_state_arg(fcinfo, 0);
	if (state->flags & DA_HAS_TOTALS)
		dun_totals_values(&state->totals, values, nulls);
	else
		for (int i = 0; i < DT_NRESULT; i++)
		{
			values[i] = (Datum) 0;
			nulls[i] = true;
		}
	lines = da_lines(state);
	nulls[DT_NRESULT] = lines->nlines == 0;
	values[DT_NRESULT] = lines->nlines > 0 ? PointerGetDatum(dl_listing(lines)) : (Datum) 0;
	problem = da_problem(state, (state->flags & DA_HAS_TOTALS) && state->totals.r >= 1 ? DT_HIGH : DT_ZERO);
	nulls[DT_NRESULT + 1] = problem.len < 0;
	values[DT_NRESULT + 1] = problem.len >= 0 ? PointerGetDatum(cstring_to_text_with_len(problem.data, problem.len)) : (Datum) 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
