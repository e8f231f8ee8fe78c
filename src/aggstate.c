/*-------------------------------------------------------------------------
 *
 * aggstate.c
 *		Fixed-size aggregate states of our own (see aggstate.h).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aggstate.h"

#include "funcapi.h"
#include "utils/memutils.h"

/* A zeroed state of "size" bytes, varlena header set. */
void *
agg_state_new(Size size)
{
	struct varlena *state = palloc0(size);

	SET_VARSIZE(state, size);
	return state;
}

/*
 * Argument argno as a state of "size" bytes: detoasted only when needed (a
 * state is never compressed, but a packed copy might reach us), and its
 * size checked before check() reads its fields, since a state can come from
 * another server or another version.
 */
void *
agg_state_arg(FunctionCallInfo fcinfo, int argno, Size size, const char *typname,
			  AggStateCheck check)
{
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(argno);

	if (unlikely(VARATT_IS_EXTENDED(raw)))
		raw = pg_detoast_datum(raw);
	if (unlikely(VARSIZE(raw) != size))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid %s value", typname),
				 errdetail("The state has %u bytes, expected %u.",
						   (unsigned int) VARSIZE(raw), (unsigned int) size)));
	check(raw);
	return raw;
}

/*
 * The state argument 0 ready to be changed.  Inside an aggregate, the state
 * belongs to the aggregate and is updated in place (no copy per row).  A
 * new state is allocated in the current memory context: nodeAgg copies any
 * new pass-by-reference state into the aggregate context itself, so
 * allocating it there would leave a dead copy per group.  Outside an
 * aggregate (a direct call), the argument is never modified.
 */
void *
agg_state_for_update(FunctionCallInfo fcinfo, Size size, const char *typname,
					 AggStateCheck check)
{
	void	   *state;
	void	   *copy;

	if (PG_ARGISNULL(0))
		return agg_state_new(size);
	state = agg_state_arg(fcinfo, 0, size, typname, check);
	if (AggCheckCallContext(fcinfo, NULL))
		return state;
	copy = palloc(size);
	memcpy(copy, state, size);
	return copy;
}

/*
 * The composite result descriptor of a final function returning type
 * typname of natts attributes, looked up once per call site and kept in
 * fn_extra: the final function runs once per group.
 */
TupleDesc
agg_result_desc(FunctionCallInfo fcinfo, const char *typname, int natts)
{
	TupleDesc	tupdesc;
	MemoryContext oldcontext;

	if (fcinfo->flinfo->fn_extra != NULL)
		return (TupleDesc) fcinfo->flinfo->fn_extra;
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	if (tupdesc->natts != natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("type %s has %d attributes, expected %d", typname, tupdesc->natts, natts),
				 errhint("Reinstall the ar_collect extension.")));
	oldcontext = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
	MemoryContextSwitchTo(oldcontext);
	fcinfo->flinfo->fn_extra = tupdesc;
	return tupdesc;
}
