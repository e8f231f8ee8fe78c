/*-------------------------------------------------------------------------
 *
 * dunning_totals.h
 *		The state of ar._dunning_totals (dunning_totals.c) and what the
 *		dunning pass (dunning_pass.c), which keeps one per account, does
 *		with it.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_DUNNING_TOTALS_H
#define AR_DUNNING_TOTALS_H

#include "fmgr.h"

/* The two listings: invoices at level >= 1, and at level 0. */
#define DT_HIGH			0
#define DT_ZERO			1
#define DT_NLISTINGS	2

/* What is summed per listing, in argument order after the level. */
#define DT_OPEN			0
#define DT_INTEREST		1
#define DT_FEE			2
#define DT_TOTAL		3

/* What a listing does not know: a total (so its penalties), a fixed fee. */
#define DT_UNKNOWN_TOTAL	1
#define DT_UNKNOWN_FEE		2
#define DT_NSUMS		4

/* Result attributes of ar._dunning_totals_result. */
#define DT_NRESULT		7

typedef struct DunTotalsState
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		r;				/* highest level seen */
	int64		count[DT_NLISTINGS];
	int64		problems[DT_NLISTINGS];
	int32		scale[DT_NLISTINGS][DT_NSUMS];
	uint8		seen[DT_NLISTINGS][DT_NSUMS];	/* a non-NULL value summed */
	uint8		unknown[DT_NLISTINGS];	/* DT_UNKNOWN_* bits */
	uint8		pad[6];
	int128		sums[DT_NLISTINGS][DT_NSUMS];
} DunTotalsState;

extern int	dun_totals_listing(DunTotalsState *state, bool first, int32 level);
extern void dun_totals_add(DunTotalsState *state, int l, int i, int128 value, int scale);
extern void dun_totals_add_numeric(DunTotalsState *state, int l, int i, Datum amount);
extern void dun_totals_problem(DunTotalsState *state, int l);
/* the type's text input and output (dunning_totals.c) */
extern Datum dunning_totals_state_in(PG_FUNCTION_ARGS);
extern Datum dunning_totals_state_out(PG_FUNCTION_ARGS);
extern void dun_totals_check(const void *state);
extern void dun_totals_combine(DunTotalsState *state, const DunTotalsState *other);
extern void dun_totals_values(const DunTotalsState *state, Datum *values, bool *nulls);

#endif							/* AR_DUNNING_TOTALS_H */
