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

#endif							/* AR_COLLECT_XACT_STATE_H */
