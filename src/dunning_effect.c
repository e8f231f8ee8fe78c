/*-------------------------------------------------------------------------
 *
 * dunning_effect.c
 *		The notices inserted, as the dunning effectiveness summary needs them
 *		(src/sql/86_kpi_summary_dunning.sql, doc/dashboards.md): their
 *		company and id, nothing else.
 *
 *		ar._dunning_effect_notice_row()
 *							AFTER INSERT ... FOR EACH ROW trigger of
 *							ar.dunning_notice (or of its shard): remembers
 *							the row's (table, company_id, id) in the
 *							backend, for this transaction.
 *		ar._dunning_effect_notices_taken(regclass)
 *							the pairs remembered for that table, handed over
 *							and forgotten: the statement trigger writes them
 *							into ar.dunning_effect_delta.
 *
 * Why: a statement trigger with a transition table copies each inserted row
 * whole into a tuplestore, letters included (about 110 MB and 0.8 s of CPU
 * for the 100,000 notices of a dunning run, bench/README.md "fifth pass"),
 * to read two columns of it.  An AFTER ROW event is a tuple id; the row is
 * read back in shared buffers when it fires, its two columns taken.
 *
 * The pairs live in TopTransactionContext: the end of the transaction
 * forgets them.  Pairs of a subtransaction rolled back before its statement
 * trigger ran may stay until a later statement on the same table takes
 * them: a notice id that does not exist, or exists, is only recomputed by
 * the fold, which reads the notices themselves, so an extra id changes
 * nothing; what matters, that every notice inserted is named, holds since
 * the row events of a statement fire before its statement event.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(ar_dunning_effect_notice_row);
PG_FUNCTION_INFO_V1(ar_dunning_effect_notices_taken);

typedef struct NoticeKey
{
	Oid			relid;
	int64		company_id;
	int64		id;
} NoticeKey;

static NoticeKey *keys = NULL;
static int	nkeys = 0;
static int	maxkeys = 0;
/* the transaction the array belongs to (its memory is gone after it) */
static LocalTransactionId keys_lxid = InvalidLocalTransactionId;

/* the columns' numbers in the last table seen (a shard's may differ) */
static Oid	cached_relid = InvalidOid;
static int	company_attnum = 0;
static int	id_attnum = 0;

static void
keys_current(void)
{
	if (keys_lxid != MyProc->lxid)
	{
		keys = NULL;
		nkeys = 0;
		maxkeys = 0;
		keys_lxid = MyProc->lxid;
	}
}

Datum
ar_dunning_effect_notice_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	bool		isnull_company,
				isnull_id;
	Datum		company,
				id;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event)
		|| !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ar._dunning_effect_notice_row() must be fired after insert for each row")));
	rel = trigdata->tg_relation;
	tuple = trigdata->tg_trigtuple;
	tupdesc = RelationGetDescr(rel);
	if (cached_relid != RelationGetRelid(rel))
	{
		company_attnum = SPI_fnumber(tupdesc, "company_id");
		id_attnum = SPI_fnumber(tupdesc, "id");
		if (company_attnum <= 0 || id_attnum <= 0
			|| TupleDescAttr(tupdesc, company_attnum - 1)->atttypid != INT8OID
			|| TupleDescAttr(tupdesc, id_attnum - 1)->atttypid != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the dashboard summaries of ar.dunning_notice cannot be maintained from %s",
							RelationGetRelationName(rel)),
					 errdetail("It has no bigint columns company_id and id.")));
		cached_relid = RelationGetRelid(rel);
	}
	company = heap_getattr(tuple, company_attnum, tupdesc, &isnull_company);
	id = heap_getattr(tuple, id_attnum, tupdesc, &isnull_id);
	if (isnull_company || isnull_id)
		return PointerGetDatum(NULL);	/* (both are NOT NULL in the notices) */

	keys_current();
	if (nkeys == maxkeys)
	{
		int			grown = maxkeys == 0 ? 1024 : maxkeys * 2;

		if ((Size) grown > MaxAllocHugeSize / sizeof(NoticeKey))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many dunning notices inserted in one statement")));
		keys = keys == NULL
			? MemoryContextAllocHuge(TopTransactionContext, grown * sizeof(NoticeKey))
			: repalloc_huge(keys, grown * sizeof(NoticeKey));
		maxkeys = grown;
	}
	keys[nkeys].relid = RelationGetRelid(rel);
	keys[nkeys].company_id = DatumGetInt64(company);
	keys[nkeys].id = DatumGetInt64(id);
	nkeys++;
	return PointerGetDatum(NULL);
}

/*
 * ar._dunning_effect_notices_taken(relid regclass, OUT company_ids bigint[],
 * OUT notice_ids bigint[]): the pairs remembered for relid, in insertion
 * order, removed from the backend's memory (NULLs when there are none).
 */
Datum
ar_dunning_effect_notices_taken(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {true, true};
	int			n = 0;
	int			kept = 0;
	Datum	   *companies;
	Datum	   *ids;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	keys_current();
	for (int i = 0; i < nkeys; i++)
		if (keys[i].relid == relid)
			n++;
	if (n > 0)
	{
		companies = palloc(n * sizeof(Datum));
		ids = palloc(n * sizeof(Datum));
		n = 0;
		for (int i = 0; i < nkeys; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (keys[i].relid == relid)
			{
				companies[n] = Int64GetDatum(keys[i].company_id);
				ids[n] = Int64GetDatum(keys[i].id);
				n++;
			}
			else
				keys[kept++] = keys[i];
		}
		nkeys = kept;
		values[0] = PointerGetDatum(construct_array(companies, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[1] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		nulls[0] = nulls[1] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
