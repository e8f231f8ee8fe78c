/*-------------------------------------------------------------------------
 *
 * worker.h
 *		The ar_collect background worker (worker.c), as _PG_init sees it.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_COLLECT_WORKER_H
#define AR_COLLECT_WORKER_H

/* Defines the ar_collect.* settings of the worker. */
extern void ar_worker_define_settings(void);

/* Registers the worker with the postmaster (shared_preload_libraries only). */
extern void ar_worker_register(void);

#endif							/* AR_COLLECT_WORKER_H */
