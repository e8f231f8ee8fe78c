/*-------------------------------------------------------------------------
 *
 * xact_state.c
 *		Private per-transaction state of the extension, kept in the backend
 *		where no SQL caller can set it (unlike a setting, which any role may
 *		SET, or a relation of pg_temp, which the caller owns):
 *
 *		ar._work_token()	a random token drawn once per transaction: the
 *							work tables SECURITY DEFINER code creates in
 *							pg_temp carry it in their names, so that a
 *							caller cannot create an object of that name
 *							first (src/sql/80_dunning_5_run.sql).
 *		ar._audit_seal_pending(), ar._audit_set_seal_pending(boolean)
 *							whether this transaction asked for its audit rows
 *							to be sealed at commit (src/sql/40_audit.sql;
 *							read directly by the audit trigger, audit.c).
 *		ar._xid_is_current(xid)
 *							whether a row's xmin is this transaction or one
 *							of its subtransactions: the guards' test that an
 *							anonymisation is running here, which works on a
 *							Citus shard too, where the node's transaction id
 *							is not the coordinator's (src/sql/87_gdpr.sql).
 *		ar._audit_shard_written(regclass), ar._audit_shards_written()
 *		ar._summary_shard_written(regclass), ar._summary_shards_written()
 *							on a Citus node, the shards of ar.audit_log (of
 *							the summaries' delta tables) this transaction
 *							wrote: the seal (the fold) at commit seals
 *							(folds) each (src/sql/41_audit_chains_1_shards.sql,
 *							86_dashboard_summary.sql).  Kept in settings
 *							before, which a caller could clear before COMMIT
 *							and leave its audit rows unsealed (its company's
 *							chain then reported broken for good) or its
 *							summary changes unfolded.
 *
 * Each value remembers the subtransaction that made it: a rolled-back
 * subtransaction forgets it (what it guarded was rolled back too), a
 * committed one hands it to its parent, and the end of the transaction
 * forgets everything.  The shards written are the exception: a
 * subtransaction rolled back keeps them, because a seal or a fold rolled
 * back with it fires again at commit and must find them; a shard named
 * without rows of this transaction is sealed or folded to no effect.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "port.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "xact_state.h"

PG_FUNCTION_INFO_V1(ar_work_token);
PG_FUNCTION_INFO_V1(ar_audit_seal_pending);
PG_FUNCTION_INFO_V1(ar_audit_set_seal_pending);
PG_FUNCTION_INFO_V1(ar_xid_is_current);
PG_FUNCTION_INFO_V1(ar_audit_shard_written);
PG_FUNCTION_INFO_V1(ar_audit_shards_written);
PG_FUNCTION_INFO_V1(ar_summary_shard_written);
PG_FUNCTION_INFO_V1(ar_summary_shards_written);

#define TOKEN_BYTES 8

/* one value of the state: set, and by which subtransaction */
typedef struct XactValue
{
	bool		set;
	SubTransactionId subid;
} XactValue;

static XactValue token_state;
static XactValue seal_state;
static char token[TOKEN_BYTES * 2 + 1];

/* relations written by this transaction, in TopTransactionContext */
typedef struct ShardsWritten
{
	Oid		   *relids;
	int			count;
	int			allocated;
} ShardsWritten;

static ShardsWritten audit_shards;
static ShardsWritten summary_shards;

static bool callbacks_registered = false;

static void
value_set(XactValue *v)
{
	v->set = true;
	v->subid = GetCurrentSubTransactionId();
}

static void
xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			token_state.set = false;
			seal_state.set = false;
			/* (their memory goes with TopTransactionContext) */
			memset(&audit_shards, 0, sizeof(audit_shards));
			memset(&summary_shards, 0, sizeof(summary_shards));
			break;
		default:
			break;
	}
}

static void
subxact_value(XactValue *v, SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid)
{
	if (!v->set || v->subid != mySubid)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		v->set = false;
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		v->subid = parentSubid;
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
				 void *arg pg_attribute_unused())
{
	subxact_value(&token_state, event, mySubid, parentSubid);
	subxact_value(&seal_state, event, mySubid, parentSubid);
}

void
ar_xact_state_init(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
	callbacks_registered = true;
}

/*
 * ar._work_token() RETURNS text: 16 hexadecimal digits drawn from the
 * strong random source once per transaction (again after the
 * subtransaction that drew them rolled back, since the work tables named
 * with it are gone then, and a caller who listed them could now take their
 * names).
 */
Datum
ar_work_token(PG_FUNCTION_ARGS pg_attribute_unused())
{
	if (!token_state.set)
	{
		uint8		buf[TOKEN_BYTES];

		if (!pg_strong_random(buf, sizeof(buf)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random work table token")));
		for (int i = 0; i < TOKEN_BYTES; i++)
			snprintf(token + 2 * i, 3, "%02x", buf[i]);
		value_set(&token_state);
	}
	PG_RETURN_TEXT_P(cstring_to_text(token));
}

bool
ar_audit_seal_is_pending(void)
{
	return seal_state.set;
}

/* ar._audit_seal_pending() RETURNS boolean */
Datum
ar_audit_seal_pending(PG_FUNCTION_ARGS pg_attribute_unused())
{
	PG_RETURN_BOOL(seal_state.set);
}

/*
 * ar._audit_set_seal_pending(pending boolean) RETURNS void: true once the
 * transaction's seal request is written (ar._audit_request_seal), false
 * once its rows are sealed (ar._audit_seal).
 */
Datum
ar_audit_set_seal_pending(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the seal state must be true or false, not NULL")));
	if (PG_GETARG_BOOL(0))
		value_set(&seal_state);
	else
		seal_state.set = false;
	PG_RETURN_VOID();
}

/* ar._xid_is_current(xid) RETURNS boolean (STRICT) */
Datum
ar_xid_is_current(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(TransactionIdIsCurrentTransactionId(DatumGetTransactionId(PG_GETARG_DATUM(0))));
}

static void
shard_remember(ShardsWritten *shards, Oid relid)
{
	for (int i = 0; i < shards->count; i++)
		if (shards->relids[i] == relid)
			return;
	if (shards->count == shards->allocated)
	{
		int			grown = shards->allocated == 0 ? 8 : shards->allocated * 2;

		shards->relids = shards->relids == NULL
			? MemoryContextAlloc(TopTransactionContext, grown * sizeof(Oid))
			: repalloc(shards->relids, grown * sizeof(Oid));
		shards->allocated = grown;
	}
	shards->relids[shards->count++] = relid;
}

static ArrayType *
shards_array(const ShardsWritten *shards)
{
	Datum	   *elems = palloc(Max(shards->count, 1) * sizeof(Datum));

	for (int i = 0; i < shards->count; i++)
		elems[i] = ObjectIdGetDatum(shards->relids[i]);
	return construct_array(elems, shards->count, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT);
}

/* ar._audit_shard_written(log_rel regclass) RETURNS void (STRICT) */
Datum
ar_audit_shard_written(PG_FUNCTION_ARGS)
{
	shard_remember(&audit_shards, PG_GETARG_OID(0));
	PG_RETURN_VOID();
}

/* ar._audit_shards_written() RETURNS regclass[]: in the order first written */
Datum
ar_audit_shards_written(PG_FUNCTION_ARGS pg_attribute_unused())
{
	PG_RETURN_ARRAYTYPE_P(shards_array(&audit_shards));
}

/* ar._summary_shard_written(delta_rel regclass) RETURNS void (STRICT) */
Datum
ar_summary_shard_written(PG_FUNCTION_ARGS)
{
	shard_remember(&summary_shards, PG_GETARG_OID(0));
	PG_RETURN_VOID();
}

/* ar._summary_shards_written() RETURNS regclass[]: in the order first written */
Datum
ar_summary_shards_written(PG_FUNCTION_ARGS pg_attribute_unused())
{
	PG_RETURN_ARRAYTYPE_P(shards_array(&summary_shards));
}
