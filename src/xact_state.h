/*-------------------------------------------------------------------------
 *
 * xact_state.h
 *		The extension's private per-transaction state (xact_state.c), as
 *		_PG_init sees it.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_COLLECT_XACT_STATE_H
#define AR_COLLECT_XACT_STATE_H

/* Registers the transaction callbacks that keep the state (once). */
extern void ar_xact_state_init(void);

/* This transaction asked for its audit rows to be sealed at commit. */
extern bool ar_audit_seal_is_pending(void);

#endif							/* AR_COLLECT_XACT_STATE_H */
