/*
 * ar_collect.c
 *		Module entry point of the ar_collect extension.
 *
 * Each concept lives in a file of its own under src/ (identifiers, aging,
 * ...); this file only marks the library as a PostgreSQL module.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
