/*-------------------------------------------------------------------------
 *
 * dunning_effect.c
 *		The notices inserted, as the dunning effectiveness summary needs them
 *		(src/sql/86_kpi_summary_dunning.sql, doc/dashboards.md): their
 *		company, id, level, date and amount due, nothing else.
 *
 *		ar._dunning_effect_notice_row()
 *							AFTER INSERT ... FOR EACH ROW trigger of
 *							ar.dunning_notice (or of its shard): remembers
 *							the row's table, company_id, id, level, as_of and
 *							amount_due in the backend, for this transaction.
 *		ar._dunning_effect_notices_taken(regclass)
 *							those remembered for that table, handed over and
 *							forgotten: the statement trigger writes them into
 *							ar.dunning_effect_delta.
 *
 * Why: a statement trigger with a transition table copies each inserted row
 * whole into a tuplestore, letters included (about 110 MB and 0.8 s of CPU
 * for the 100,000 notices of a dunning run, bench/README.md "fifth pass"),
 * to read a few columns of it.  An AFTER ROW event is a tuple id; the row is
 * read back in shared buffers when it fires, its columns taken.  The fold at
 * commit adds the notices from these figures, without reading them again,
 * when nothing else waits (bench/README.md "the fold at commit, second
 * pass"): the figures are what the notices hold at commit, since a notice is
 * never deleted and only its status changes (ar._dunning_notice_guard), and
 * a change of status writes a delta row of its own, which makes the fold
 * read the notices.
 *
 * What is remembered lives in TopTransactionContext: the end of the
 * transaction forgets it.  Each entry remembers its subtransaction: one
 * rolled back forgets what it and its children inserted (their rows are
 * gone; the fold would otherwise add notices that do not exist), even when
 * the statement failed between the row events and its statement event.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/numeric.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(ar_dunning_effect_notice_row);
PG_FUNCTION_INFO_V1(ar_dunning_effect_notices_taken);

typedef struct NoticeKey
{
	Oid			relid;
	SubTransactionId subid;		/* the subtransaction that inserted it */
	int32		level;
	DateADT		as_of;
	int64		company_id;
	int64		id;
	Numeric		amount_due;		/* in TopTransactionContext */
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
static int	level_attnum = 0;
static int	as_of_attnum = 0;
static int	amount_attnum = 0;
static bool subxact_callback_registered = false;

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

/*
 * A subtransaction rolled back: what it and its children inserted is gone.
 * Subtransaction ids grow within a transaction and, while one is open, all
 * those started after it are its children: the entries from its id on.
 */
static void
keys_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid pg_attribute_unused(),
					  void *arg pg_attribute_unused())
{
	int			kept = 0;

	if (event != SUBXACT_EVENT_ABORT_SUB || keys_lxid != MyProc->lxid)
		return;
	for (int i = 0; i < nkeys; i++)
	{
		if (keys[i].subid < mySubid)
			keys[kept++] = keys[i];
		else
			pfree(keys[i].amount_due);
	}
	nkeys = kept;
}

static int
notice_attnum(Relation rel, const char *name, Oid type)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			attnum = SPI_fnumber(tupdesc, name);

	if (attnum <= 0 || TupleDescAttr(tupdesc, attnum - 1)->atttypid != type)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the dashboard summaries of ar.dunning_notice cannot be maintained from %s",
						RelationGetRelationName(rel)),
				 errdetail("It has no column %s of type %s.", name, format_type_be(type))));
	return attnum;
}

Datum
ar_dunning_effect_notice_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	bool		isnull_company,
				isnull_id,
				isnull_level,
				isnull_as_of,
				isnull_amount;
	Datum		company,
				id,
				level,
				as_of,
				amount;
	MemoryContext oldcontext;

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
		company_attnum = notice_attnum(rel, "company_id", INT8OID);
		id_attnum = notice_attnum(rel, "id", INT8OID);
		level_attnum = notice_attnum(rel, "level", INT4OID);
		as_of_attnum = notice_attnum(rel, "as_of", DATEOID);
		amount_attnum = notice_attnum(rel, "amount_due", NUMERICOID);
		cached_relid = RelationGetRelid(rel);
	}
	if (!subxact_callback_registered)
	{
		RegisterSubXactCallback(keys_subxact_callback, NULL);
		subxact_callback_registered = true;
	}
	company = heap_getattr(tuple, company_attnum, tupdesc, &isnull_company);
	id = heap_getattr(tuple, id_attnum, tupdesc, &isnull_id);
	level = heap_getattr(tuple, level_attnum, tupdesc, &isnull_level);
	as_of = heap_getattr(tuple, as_of_attnum, tupdesc, &isnull_as_of);
	amount = heap_getattr(tuple, amount_attnum, tupdesc, &isnull_amount);
	if (isnull_company || isnull_id || isnull_level || isnull_as_of || isnull_amount)
		return PointerGetDatum(NULL);	/* (all are NOT NULL in the notices) */

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
	keys[nkeys].subid = GetCurrentSubTransactionId();
	keys[nkeys].level = DatumGetInt32(level);
	keys[nkeys].as_of = DatumGetDateADT(as_of);
	keys[nkeys].company_id = DatumGetInt64(company);
	keys[nkeys].id = DatumGetInt64(id);
	oldcontext = MemoryContextSwitchTo(TopTransactionContext);
	keys[nkeys].amount_due = DatumGetNumericCopy(amount);
	MemoryContextSwitchTo(oldcontext);
	nkeys++;
	return PointerGetDatum(NULL);
}

/* qsort: by company, then in insertion order (the keys' positions) */
static int
notice_key_cmp(const void *a, const void *b)
{
	const NoticeKey *ka = *(NoticeKey *const *) a;
	const NoticeKey *kb = *(NoticeKey *const *) b;

	if (ka->company_id != kb->company_id)
		return ka->company_id < kb->company_id ? -1 : 1;
	return ka < kb ? -1 : (ka > kb ? 1 : 0);
}

/*
 * ar._dunning_effect_notices_taken(relid regclass) RETURNS TABLE (company_id
 * bigint, notice_ids bigint[], levels integer[], as_ofs date[], amounts_due
 * numeric[]): the notices remembered for relid, one row per company in
 * company order, each company's notices pairwise in insertion order; removed
 * from the backend's memory.  Grouped here, not by the statement trigger in
 * SQL: an unnest and four array_agg of a run's hundred thousand notices cost
 * about 0.2 s (bench/README.md, "tenth pass").
 */
Datum
ar_dunning_effect_notices_taken(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NoticeKey **taken;
	Datum	   *ids;
	Datum	   *levels;
	Datum	   *as_ofs;
	Datum	   *amounts;
	int			n = 0;
	int			kept = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != 5)
		elog(ERROR, "ar._dunning_effect_notices_taken: %d result columns, 5 expected", rsinfo->setDesc->natts);
	keys_current();
	for (int i = 0; i < nkeys; i++)
		if (keys[i].relid == relid)
			n++;
	if (n == 0)
		PG_RETURN_NULL();

	taken = palloc(n * sizeof(NoticeKey *));
	n = 0;
	for (int i = 0; i < nkeys; i++)
		if (keys[i].relid == relid)
			taken[n++] = &keys[i];
	qsort(taken, n, sizeof(NoticeKey *), notice_key_cmp);

	ids = palloc(n * sizeof(Datum));
	levels = palloc(n * sizeof(Datum));
	as_ofs = palloc(n * sizeof(Datum));
	amounts = palloc(n * sizeof(Datum));
	for (int first = 0, next; first < n; first = next)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		int			count;

		for (next = first; next < n && taken[next]->company_id == taken[first]->company_id; next++)
		{
			CHECK_FOR_INTERRUPTS();
			ids[next - first] = Int64GetDatum(taken[next]->id);
			levels[next - first] = Int32GetDatum(taken[next]->level);
			as_ofs[next - first] = DateADTGetDatum(taken[next]->as_of);
			amounts[next - first] = NumericGetDatum(taken[next]->amount_due);
		}
		count = next - first;
		values[0] = Int64GetDatum(taken[first]->company_id);
		values[1] = PointerGetDatum(construct_array(ids, count, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[2] = PointerGetDatum(construct_array(levels, count, INT4OID, 4, true, TYPALIGN_INT));
		values[3] = PointerGetDatum(construct_array(as_ofs, count, DATEOID, 4, true, TYPALIGN_INT));
		values[4] = PointerGetDatum(construct_array(amounts, count, NUMERICOID, -1, false, TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	/* forgotten: the transaction's copies of the amounts go (the rows hold theirs) */
	for (int i = 0; i < nkeys; i++)
	{
		if (keys[i].relid == relid)
			pfree(keys[i].amount_due);
		else
			keys[kept++] = keys[i];
	}
	nkeys = kept;
	PG_RETURN_NULL();
}
