/*-------------------------------------------------------------------------
 *
 * aging.h
 *		The sums of the ar.aging aggregate (aging.c), shared with the full
 *		computation of ar.aging_report (aging_report.c), which groups the
 *		open items itself and must give the aggregate's values exactly.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_AGING_H
#define AR_AGING_H

#include "fmgr.h"
#include "utils/date.h"

/* Buckets, in the order of ar.aging_buckets; the total follows them. */
#define AGING_NBUCKETS		5
#define AGING_NRESULT		(AGING_NBUCKETS + 1)

/*
 * The transition state (ar.aging_state).  sums[i] is the exact sum of
 * bucket i times 10^scale; scale only grows.  The fixed size lets the
 * transition function update it in place; a different size is rejected as
 * corrupt.
 */
typedef struct AgingState
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		scale;			/* largest display scale seen, 0..38 */
	int128		sums[AGING_NBUCKETS];
} AgingState;

/*
 * Adds amount to the bucket of as_of - due_date, as ar.aging's transition
 * function does (its errors included).
 */
extern void aging_add_row(AgingState *state, Datum amount, DateADT due_date, DateADT as_of);

/* The five buckets and their total as numerics (values[0..5]). */
extern void aging_values(const AgingState *state, Datum *values);

#endif							/* AR_AGING_H */
