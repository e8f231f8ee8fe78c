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
 *
 * Each value remembers the subtransaction that made it: a rolled-back
 * subtransaction forgets it (what it guarded was rolled back too), a
 * committed one hands it to its parent, and the end of the transaction
 * forgets everything.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "port.h"
#include "utils/builtins.h"

#include "xact_state.h"

PG_FUNCTION_INFO_V1(ar_work_token);
PG_FUNCTION_INFO_V1(ar_audit_seal_pending);
PG_FUNCTION_INFO_V1(ar_audit_set_seal_pending);
PG_FUNCTION_INFO_V1(ar_xid_is_current);

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
