/*-------------------------------------------------------------------------
 *
 * settings.h
 *		The ar_collect.* settings of the SQL side (settings.c).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_COLLECT_SETTINGS_H
#define AR_COLLECT_SETTINGS_H

/* ar_collect.restoring */
extern bool ar_restoring_on;

/* Defines the settings (from _PG_init, after the worker's). */
extern void ar_define_settings(void);

#endif							/* AR_COLLECT_SETTINGS_H */
