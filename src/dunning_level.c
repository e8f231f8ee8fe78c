/*-------------------------------------------------------------------------
 *
 * dunning_level.c
 *		ar._dunning_level(days_late integer, offsets integer[],
 *		levels integer[]) integer: the level of a policy an invoice reached
 *		days_late days after its due date, levels[width_bucket(days_late,
 *		offsets)] (NULL before the first offset).
 *
 * The pass over the open invoices of ar.run_dunning (its step F) asks it
 * once per invoice.  In SQL, each of the two array arguments of a row was
 * copied out of its short on-disk header (detoasted), then width_bucket
 * compared through the type's comparison function and the subscript read
 * the copy again: about 0.2 s for a million invoices (bench/README.md,
 * "tenth pass").  Here the small arrays are read in place of a copy on the
 * stack, and compared as integers.  The offsets of a policy increase
 * strictly with its levels (ar._check_dunning_policy); as width_bucket
 * does for any sorted thresholds, the result is the position of the last
 * offset at or below days_late.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

PG_FUNCTION_INFO_V1(ar_dunning_level);

/* Arrays up to this size (a policy's few levels) are read from the stack. */
#define LEVEL_ARRAY_BUFFER	256

/*
 * The array of an integer[] argument with a 4-byte header: a short inline
 * one (as stored in a row) copied into buf, any other one detoasted.
 */
static ArrayType *
int_array_arg(FunctionCallInfo fcinfo, int argno, const char *name, char *buf)
{
	Datum		datum = PG_GETARG_DATUM(argno);
	struct varlena *packed = (struct varlena *) DatumGetPointer(datum);
	ArrayType  *array;

	/*
	 * A TOAST pointer (on disk, expanded: a PL/pgSQL variable) has a 1-byte
	 * header too, with no size in it: only a short inline value is copied.
	 */
	if (VARATT_IS_SHORT(packed) && !VARATT_IS_EXTERNAL(packed) &&
		VARSIZE_SHORT(packed) - VARHDRSZ_SHORT + VARHDRSZ <= LEVEL_ARRAY_BUFFER)
	{
		Size		data_size = VARSIZE_SHORT(packed) - VARHDRSZ_SHORT;

		memcpy(buf + VARHDRSZ, VARDATA_SHORT(packed), data_size);
		SET_VARSIZE(buf, data_size + VARHDRSZ);
		array = (ArrayType *) buf;
	}
	else
		array = DatumGetArrayTypeP(datum);
	if (ARR_NDIM(array) > 1 || ARR_ELEMTYPE(array) != INT4OID || ARR_HASNULL(array))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s of a dunning policy must be a one-dimensional integer array without nulls", name)));
	return array;
}

Datum
ar_dunning_level(PG_FUNCTION_ARGS)
{
	/* (aligned for the array header and its integers) */
	union
	{
		char		data[LEVEL_ARRAY_BUFFER];
		double		align;
	}			offsets_buf, levels_buf;
	int32		days_late = PG_GETARG_INT32(0);
	ArrayType  *offsets = int_array_arg(fcinfo, 1, "offsets", offsets_buf.data);
	ArrayType  *levels = int_array_arg(fcinfo, 2, "levels", levels_buf.data);
	int			noffsets = ARR_NDIM(offsets) == 0 ? 0 : ARR_DIMS(offsets)[0];
	int			nlevels = ARR_NDIM(levels) == 0 ? 0 : ARR_DIMS(levels)[0];
	const int32 *offset = (const int32 *) ARR_DATA_PTR(offsets);
	int			bucket = 0;

	while (bucket < noffsets && offset[bucket] <= days_late)
		bucket++;
	/* levels[bucket], the array's lower bound as a subscript honours it */
	bucket -= ARR_NDIM(levels) == 0 ? 1 : ARR_LBOUND(levels)[0];
	if (bucket < 0 || bucket >= nlevels)
		PG_RETURN_NULL();
	PG_RETURN_INT32(((const int32 *) ARR_DATA_PTR(levels))[bucket]);
}
