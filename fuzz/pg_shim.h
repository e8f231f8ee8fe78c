/*
 * pg_shim.h
 *		The fuzz harness's stand-in for the backend (pg_shim.c).
 */
#ifndef AR_PG_SHIM_H
#define AR_PG_SHIM_H

/* Frees every palloc'd block of the run. */
extern void shim_free_all(void);

/* The message of the last ereport(ERROR). */
extern const char *shim_last_message(void);

/* ERRORs raised since the start (each run catches its own). */
extern int	shim_errors;

#endif							/* AR_PG_SHIM_H */
