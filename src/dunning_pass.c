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
 * The state is internal (one per account, in the aggregate's context): the
 * aggregate is only the step's, never parallel.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
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

typedef struct DunPassState
{
	bool		has_totals;		/* a row with a level was seen */
	DunTotalsState totals;
	DunLines   *lines;			/* NULL until a listed row */
	text	   *problem[DT_NLISTINGS];	/* least "number: problem" per invoice level */
} DunPassState;

PG_FUNCTION_INFO_V1(dunning_pass_transfn);
PG_FUNCTION_INFO_V1(dunning_pass_final);

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

/* "number: message", kept in *slot (in cxt) when less than what it holds. */
static void
dp_keep_problem(text **slot, text *number, const char *message, Oid collation, MemoryContext cxt)
{
	int			nlen = VARSIZE_ANY_EXHDR(number);
	int			mlen = strlen(message);
	text	   *candidate = palloc(VARHDRSZ + nlen + 2 + mlen);

	SET_VARSIZE(candidate, VARHDRSZ + nlen + 2 + mlen);
	memcpy(VARDATA(candidate), VARDATA_ANY(number), nlen);
	memcpy(VARDATA(candidate) + nlen, ": ", 2);
	memcpy(VARDATA(candidate) + nlen + 2, message, mlen);
	/* as min(text) keeps it: the new value unless the kept one sorts first */
	if (*slot != NULL &&
		varstr_cmp(VARDATA(*slot), VARSIZE(*slot) - VARHDRSZ, VARDATA(candidate), nlen + 2 + mlen, collation) < 0)
		return;
	if (*slot != NULL)
		pfree(*slot);
	*slot = MemoryContextAlloc(cxt, VARSIZE(candidate));
	memcpy(*slot, candidate, VARSIZE(candidate));
}

/*
 * ar._dunning_account_transfn(internal, level, invoice_id, number, due_date,
 * days_late, amount, open_amount, invoice_level, regime, amount, due_date,
 * as_of, payment_dates, payment_amounts, contract_rate, currency, claimable)
 */
Datum
dunning_pass_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	DunPassState *state;
	PenCase		c;
	PenResult	r;
	PenError	err;
	bool		computed;
	bool		claimable;
	int128		parts[DT_NSUMS] = {0};	/* interest, fee, total (DT_*) */
	bool		nulls[DT_NSUMS] = {false};
	int			scale = 2;		/* of the parts: 0.00 when not claimable */
	bool		has_problem = false;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ar._dunning_account_transfn called in a non-aggregate context")));
	if (PG_ARGISNULL(0))
		state = MemoryContextAllocZero(aggcxt, sizeof(DunPassState));
	else
		state = (DunPassState *) PG_GETARG_POINTER(0);

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

	if (!PG_ARGISNULL(DP_LEVEL))
	{
		int32		level = PG_GETARG_INT32(DP_LEVEL);
		int			l = dun_totals_listing(&state->totals, !state->has_totals, level);

		state->has_totals = true;
		if (l >= 0)
		{
			DunLine		line;
			text	   *number;
			DunLines   *grown;
			MemoryContext oldcxt;

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
				state->totals.problems[l]++;

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
			oldcxt = MemoryContextSwitchTo(aggcxt);
			if (state->lines == NULL)
				state->lines = dl_new(8 * DUN_LINE_SIZE(16));
			grown = dl_append(state->lines, &line, VARDATA_ANY(number));
			if (grown != state->lines)
				pfree(state->lines);
			state->lines = grown;
			MemoryContextSwitchTo(oldcxt);
		}
	}

	/* the first problem of the invoices at level 1 and up, and at level 0 */
	/* (a NULL number: a NULL text, which min() skipped) */
	if (has_problem && !PG_ARGISNULL(DP_INV_LEVEL) && PG_GETARG_INT32(DP_INV_LEVEL) >= 0 &&
		!PG_ARGISNULL(DP_NUMBER))
		dp_keep_problem(&state->problem[PG_GETARG_INT32(DP_INV_LEVEL) >= 1 ? DT_HIGH : DT_ZERO],
						PG_GETARG_TEXT_PP(DP_NUMBER), err.message, PG_GET_COLLATION(), aggcxt);
	PG_RETURN_POINTER(state);
}

/*
 * ar._dunning_account_final(internal) returns ar._dunning_account_result:
 * ar._dunning_totals_result's attributes (NULL when no row had a level),
 * the lines a notice lists (NULL when no row was listed) and the first
 * problem of the invoices at level 1 and up when R >= 1, else at level 0.
 * The state is only read.
 */
Datum
dunning_pass_final(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	DunPassState *state;
	Datum		values[DP_NRESULT];
	bool		nulls[DP_NRESULT];
	text	   *problem;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	tupdesc = agg_result_desc(fcinfo, "ar._dunning_account_result", DP_NRESULT);
	state = (DunPassState *) PG_GETARG_POINTER(0);
	if (state->has_totals)
		dun_totals_values(&state->totals, values, nulls);
	else
		for (int i = 0; i < DT_NRESULT; i++)
		{
			values[i] = (Datum) 0;
			nulls[i] = true;
		}
	nulls[DT_NRESULT] = state->lines == NULL;
	values[DT_NRESULT] = state->lines ? PointerGetDatum(dl_listing(state->lines)) : (Datum) 0;
	problem = state->problem[state->has_totals && state->totals.r >= 1 ? DT_HIGH : DT_ZERO];
	nulls[DT_NRESULT + 1] = problem == NULL;
	values[DT_NRESULT + 1] = PointerGetDatum(problem);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
