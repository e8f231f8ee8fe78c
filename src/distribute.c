/*
 * distribute.c
 *		What CALL ar.distribute() (src/sql/98_distribute.sql) asks of the
 *		server that PL/pgSQL cannot tell.
 *
 * ar.distribute commits between its steps (Citus refuses to copy the rows
 * of several tables into their shards in one transaction), which a
 * procedure can do only when CALLed outside a transaction block.  Its COMMIT
 * inside one fails with a bare "invalid transaction termination"; the
 * procedure asks first, before changing anything, and refuses with its own
 * message.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"

PG_FUNCTION_INFO_V1(ar_in_transaction_block);

/*
 * ar._in_transaction_block(): whether the current statement runs inside a
 * transaction block (BEGIN ... COMMIT, or several statements sent as one
 * query string: an implicit block).  A CALL sent on its own is not.
 */
Datum
ar_in_transaction_block(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(IsTransactionBlock());
}
