/*
 * ar_collect.c
 *		Module entry point of the ar_collect extension.
 *
 * Each concept lives in a file of its own under src/ (identifiers, aging,
 * the background worker, ...); this file marks the library as a PostgreSQL
 * module and, when it is loaded, defines its settings and (preloaded through
 * shared_preload_libraries only) registers the background worker.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "settings.h"
#include "worker.h"
#include "xact_state.h"

PG_MODULE_MAGIC;

extern PGDLLEXPORT void _PG_init(void);

void
_PG_init(void)
{
	ar_worker_define_settings();
	ar_define_settings();
	ar_xact_state_init();
	if (process_shared_preload_libraries_in_progress)
		ar_worker_register();
}
