/*-------------------------------------------------------------------------
 *
 * aggstate.h
 *		What the aggregates whose transition state is a fixed-size varlena
 *		type of our own share (ar.aging, ar.receivables_kpis,
 *		ar._dunning_totals): reading a state argument, the state to update,
 *		and the composite result descriptor of a final function.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_AGGSTATE_H
#define AR_AGGSTATE_H

#include "fmgr.h"
#include "access/tupdesc.h"

/* Checks the fields of a state of the right size; raises an error if bad. */
typedef void (*AggStateCheck) (const void *state);

extern void *agg_state_new(Size size);
extern void *agg_state_arg(FunctionCallInfo fcinfo, int argno, Size size, const char *typname,
						   AggStateCheck check);
extern void *agg_state_for_update(FunctionCallInfo fcinfo, Size size, const char *typname,
								  AggStateCheck check);
extern TupleDesc agg_result_desc(FunctionCallInfo fcinfo, const char *typname, int natts);

#endif							/* AR_AGGSTATE_H */
