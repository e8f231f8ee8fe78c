/*-------------------------------------------------------------------------
 *
 * worker.c
 *		The ar_collect background worker: runs collections unattended.
 *
 * One worker serves one database.  Loaded through shared_preload_libraries,
 * the postmaster starts it for the database named by ar_collect.database;
 * without preloading, ar.start_worker() starts it as a dynamic background
 * worker for the current database.  It shows in pg_stat_activity with
 * backend_type "ar_collect worker".
 *
 * The worker sleeps on its latch and wakes up every ar_collect.naptime
 * seconds (or at once on SIGHUP).  A cycle is a sequence of units of work,
 * each in a transaction of its own, each calling one SQL function of the
 * extension (src/sql/80_dunning_8_worker.sql), so that the decisions live in SQL and
 * in the data, and this file only drives transactions and signals:
 *
 *   1. is the extension installed?  If not, wait for it;
 *   2. once per process: ar._worker_attach() (none on a Citus worker node,
 *      whose work the coordinator's worker does) makes the worker the only
 *      one of its database (the pid recorded, checked alive), marks the runs a
 *      previous process left "running" (crash, kill) as failed, records the
 *      worker in ar.worker_state;
 *   3. ar._worker_reconcile_due(): when ar.reconcile(boolean) exists and new
 *      bank lines came in, records a run (committed), then
 *      ar._worker_reconcile(run) reconciles and closes the run;
 *   4. ar._worker_dunning_due(dunning_at): once a day, after dunning_at, when
 *      no dunning has been run for today (by the worker or by hand), records
 *      a run, then ar._worker_dunning(run) runs ar.run_dunning(today).  After
 *      downtime this catches up exactly once: one run, for today.  On a
 *      distributed ledger (Citus) one company per transaction instead:
 *      ar._worker_dunning_company_due(run, previous) records each company's
 *      run, ar._worker_dunning(company's run) runs it, a failure recorded and
 *      the next company going on, and ar._worker_dunning_finish(run) records
 *      the date once every company has succeeded (dunning_companies);
 *   5. ar._worker_rates_check(): once a day, a WARNING in the server log
 *      listing the reference rates letters need and do not have yet;
 *   6. ar._worker_age_summaries(): once a day, the dashboard summaries
 *      re-aged on today (src/sql/86_dashboard_summary.sql);
 *   7. ar._worker_cycle_done() records the cycle in ar.worker_state.
 *
 * A unit that fails is rolled back, its error logged and recorded (run
 * marked failed, last error in ar.worker_state) in a new transaction, and it
 * is tried again at the next cycle: the process stays up, there is no crash
 * loop.  A notice is never queued twice whatever happens: ar.run_dunning is
 * idempotent per date (a run registry and unique keys of the outbox), and the
 * run and its notices commit or roll back together.
 *
 * Signals: SIGHUP reloads the settings (a changed ar_collect.database makes
 * the preloaded worker exit with code 1, and the postmaster starts it again
 * on the new database after AR_WORKER_RESTART_SECONDS); SIGTERM cancels the
 * unit in progress, if any, and exits cleanly with code 0 (the postmaster
 * does not restart it; ar.start_worker() or a server restart does); SIGINT
 * (pg_cancel_backend) cancels the unit in progress, which fails and is tried
 * again at the next cycle.  If the worker dies (SIGKILL, crash), the
 * postmaster reinitialises and starts it again; its leftover run is marked
 * failed when it attaches.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "worker.h"

/* seconds before the postmaster starts a worker that exited with code 1 */
#define AR_WORKER_RESTART_SECONDS	5
#define AR_WORKER_TYPE				"ar_collect worker"

PGDLLEXPORT void ar_collect_worker_main(Datum main_arg);

PG_FUNCTION_INFO_V1(ar_launch_worker);

/* Settings (ar_collect.*) */
static char *worker_database = NULL;
static int	worker_naptime = 60;
static char *worker_dunning_at = NULL;
static bool worker_enabled = true;

/* Process state */
static volatile sig_atomic_t got_sigterm = false;
static volatile sig_atomic_t in_unit = false;
static MemoryContext cycle_context = NULL;
static char *database_name = NULL;
static bool attached = false;
static bool settings_changed = false;
static bool waiting_logged = false;	/* "waiting for the extension" said */
static bool attach_wait_logged = false;	/* why it does not attach, said */
static bool dynamic_worker = false;

/* What one unit of work gave: its first column, or its error. */
typedef struct UnitResult
{
	bool		ok;				/* ran and committed */
	bool		isnull;			/* no row, or a NULL first column */
	int64		value;			/* the first column (bigint) otherwise */
	char	   *error;			/* error message when !ok, in cycle_context */
} UnitResult;

/*
 * Parses a time of day "H:MM", "HH:MM" or "HH:MM:SS" (00:00 to 23:59:59).
 */
static bool
parse_time_of_day(const char *s, int *seconds)
{
	int			h = 0;
	int			m = 0;
	int			sec = 0;
	int			n;
	const char *p = s;

	if (s == NULL)
		return false;
	for (n = 0; n < 2 && isdigit((unsigned char) *p); n++, p++)
		h = h * 10 + (*p - '0');
	if (n == 0 || *p != ':')
		return false;
	p++;
	for (n = 0; n < 2 && isdigit((unsigned char) *p); n++, p++)
		m = m * 10 + (*p - '0');
	if (n != 2)
		return false;
	if (*p == ':')
	{
		p++;
		for (n = 0; n < 2 && isdigit((unsigned char) *p); n++, p++)
			sec = sec * 10 + (*p - '0');
		if (n != 2)
			return false;
	}
	if (*p != '\0' || h > 23 || m > 59 || sec > 59)
		return false;
	*seconds = h * 3600 + m * 60 + sec;
	return true;
}

static bool
check_dunning_at(char **newval, void **extra pg_attribute_unused(), GucSource source pg_attribute_unused())
{
	int			seconds;

	if (!parse_time_of_day(*newval, &seconds))
	{
		GUC_check_errdetail("ar_collect.dunning_at takes a time of day, HH:MM or HH:MM:SS, from 00:00 to 23:59:59.");
		return false;
	}
	return true;
}

void
ar_worker_define_settings(void)
{
	DefineCustomStringVariable("ar_collect.database",
							   "Database the preloaded ar_collect worker serves.",
							   "Changing it makes the worker restart on the new database.",
							   &worker_database,
							   "postgres",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("ar_collect.naptime",
							"Seconds between two cycles of the ar_collect worker.",
							NULL,
							&worker_naptime,
							60, 1, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomStringVariable("ar_collect.dunning_at",
							   "Time of day (server time zone) after which the worker runs the day's dunning.",
							   NULL,
							   &worker_dunning_at,
							   "06:00",
							   PGC_SIGHUP,
							   0,
							   check_dunning_at, NULL, NULL);
	DefineCustomBoolVariable("ar_collect.enabled",
							 "Whether the ar_collect worker runs its cycles.",
							 "When off the worker stays connected and idle.",
							 &worker_enabled,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}

static void
fill_worker(BackgroundWorker *worker)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = AR_WORKER_RESTART_SECONDS;
	strlcpy(worker->bgw_library_name, "ar_collect", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, "ar_collect_worker_main", BGW_MAXLEN);
	strlcpy(worker->bgw_name, AR_WORKER_TYPE, BGW_MAXLEN);
	strlcpy(worker->bgw_type, AR_WORKER_TYPE, BGW_MAXLEN);
}

void
ar_worker_register(void)
{
	BackgroundWorker worker;

	fill_worker(&worker);
	worker.bgw_main_arg = ObjectIdGetDatum(InvalidOid);
	RegisterBackgroundWorker(&worker);
}

/*
 * The pid of a worker serving the current database, or 0.  Read from the
 * backends' status in C: ar.start_worker runs as ar_definer, which
 * pg_stat_activity does not show the backend type of another role's
 * backend.
 */
static pid_t
running_worker_pid(void)
{
	int			n = pgstat_fetch_stat_numbackends();

	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;
		const char *type;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_backendType != B_BG_WORKER || be->st_databaseid != MyDatabaseId || be->st_procpid == MyProcPid)
			continue;
		type = GetBackgroundWorkerTypeByPid(be->st_procpid);
		if (type != NULL && strcmp(type, AR_WORKER_TYPE) == 0)
			return be->st_procpid;
	}
	return 0;
}

/*
 * ar._launch_worker(): starts a dynamic worker for the current database, as
 * the role of the session that asked (the outer user: not the owner of the
 * SECURITY DEFINER ar.start_worker calling this, a role that cannot log
 * in); returns its pid once it runs, or the pid of the worker already
 * serving the database.
 */
Datum
ar_launch_worker(PG_FUNCTION_ARGS)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;
	Oid			role = GetOuterUserId();

	pid = running_worker_pid();
	if (pid != 0)
		PG_RETURN_INT32((int32) pid);
	fill_worker(&worker);
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	StaticAssertStmt(sizeof(Oid) <= BGW_EXTRALEN, "bgw_extra too small");
	memcpy(worker.bgw_extra, &role, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start the ar_collect worker"),
				 errdetail("No background worker slot is free (max_worker_processes = %d).",
						   max_worker_processes),
				 errhint("Raise max_worker_processes, or stop another background worker.")));
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start the ar_collect worker: the postmaster died")));
	if (status != BGWH_STARTED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the ar_collect worker stopped as soon as it started"),
				 errhint("The server log says why.")));
	PG_RETURN_INT32((int32) pid);
}

/*
 * SIGTERM: exit cleanly.  A unit in progress is cancelled like a statement
 * (rolled back, recorded as failed); the main loop then exits with code 0.
 */
static void
worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	if (in_unit)
	{
		QueryCancelPending = true;
		InterruptPending = true;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * Runs one SQL statement in a transaction of its own and returns the first
 * column of its first row (which must be a bigint), or the error it raised:
 * the error is logged, the transaction rolled back, and the worker goes on.
 */
static UnitResult
run_unit(const char *what, const char *sql, int nargs, Oid *argtypes, Datum *args, const char *nulls)
{
	UnitResult	result;
	volatile bool ok = false;
	volatile bool isnull = true;
	volatile int64 value = 0;
	char	   *volatile error = NULL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	in_unit = true;
	PG_TRY();
	{
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, sql);
		if (SPI_execute_with_args(sql, nargs, argtypes, args, nulls, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "ar_collect worker: unexpected result of \"%s\"", sql);
		if (SPI_processed > 0)
		{
			bool		null;
			Datum		d;

			if (SPI_gettypeid(SPI_tuptable->tupdesc, 1) != INT8OID)
				elog(ERROR, "ar_collect worker: \"%s\" does not return a bigint", sql);
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null);
			isnull = null;
			if (!null)
				value = DatumGetInt64(d);
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		ok = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cycle_context);
		/* the whole report, context included, goes to the server log */
		EmitErrorReport();
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		error = pstrdup(edata->message);
		ereport(LOG,
				(errmsg("ar_collect worker: %s failed; it will be tried again at the next cycle", what)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	in_unit = false;
	/* a SIGTERM that came just after the unit must not cancel anything else */
	if (got_sigterm)
		QueryCancelPending = false;
	MemoryContextSwitchTo(cycle_context);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);

	result.ok = ok;
	result.isnull = isnull;
	result.value = value;
	result.error = error;
	return result;
}

static UnitResult
run_simple_unit(const char *what, const char *sql)
{
	return run_unit(what, sql, 0, NULL, NULL, NULL);
}

/* Runs sql($1 = run id) and, when it fails, records the failure of the run. */
static bool
run_recorded_unit(const char *what, const char *sql, int64 run_id, char **error)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		args[2];
	UnitResult	r;

	args[0] = Int64GetDatum(run_id);
	r = run_unit(what, sql, 1, types, args, NULL);
	if (r.ok)
		return true;
	*error = r.error;
	args[1] = CStringGetTextDatum(r.error);
	(void) run_unit("recording a failed run", "SELECT ar._worker_run_failed($1, $2)", 2, types, args, NULL);
	return false;
}

/*
 * Whether the function ar.<name>() exists and returns 1: how the worker
 * learns that the ledger is distributed by company (a Citus coordinator,
 * 89_worker_*.sql), so that it reconciles and runs the dunning one company
 * per transaction.  Not there in a database before ALTER EXTENSION ...
 * UPDATE.
 */
static bool
per_company(const char *what, const char *name)
{
	char	   *query = psprintf("SELECT (to_regprocedure('ar.%s()') IS NOT NULL)::int::bigint", name);
	UnitResult	r = run_simple_unit(what, query);

	if (!r.ok || r.isnull || r.value != 1)
		return false;
	r = run_simple_unit(what, psprintf("SELECT ar.%s()", name));
	return r.ok && !r.isnull && r.value == 1;
}

/*
 * One run per company with new bank lines, each in its own transaction and
 * recorded in ar.worker_run; a company's failure is recorded and the next
 * company goes on.  The watermark moves on when every company succeeded.
 */
static bool
reconcile_companies(char **error)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		args[2];
	char		nulls[2] = {'n', ' '};
	UnitResult	r;
	int64		up_to_line;
	bool		ok = true;

	r = run_simple_unit("checking for new bank lines", "SELECT ar._worker_reconcile_newest()");
	if (!r.ok)
	{
		*error = r.error;
		return false;
	}
	if (r.isnull)
		return true;
	up_to_line = r.value;
	args[0] = (Datum) 0;
	args[1] = Int64GetDatum(up_to_line);
	while (!got_sigterm)
	{
		r = run_unit("checking for the next company to reconcile", "SELECT ar._worker_reconcile_company_due($1, $2)",
					 2, types, args, nulls);
		if (!r.ok)
		{
			*error = r.error;
			return false;
		}
		if (r.isnull)
			break;
		if (!run_recorded_unit("reconciliation of a company", "SELECT ar._worker_reconcile($1)", r.value, error))
			ok = false;
		args[0] = Int64GetDatum(r.value);
		nulls[0] = ' ';
		CHECK_FOR_INTERRUPTS();
	}
	if (ok && !got_sigterm)
	{
		r = run_unit("moving the watermark", "SELECT ar._worker_reconcile_advance($1)", 1, types + 1, args + 1, NULL);
		if (!r.ok)
		{
			*error = r.error;
			return false;
		}
	}
	return ok;
}

/*
 * The day's dunning (its run day_run) one company at a time, each in its
 * own transaction and recorded in ar.worker_run; a company's failure is
 * recorded and the next company goes on.  The date is recorded as run, and
 * the day's run succeeded, when every company succeeded; else the day's run
 * is recorded failed, and the next cycle takes the companies left.
 */
static bool
dunning_companies(int64 day_run, char **error)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		args[2];
	char		nulls[2] = {' ', 'n'};
	UnitResult	r;
	bool		ok = true;

	args[0] = Int64GetDatum(day_run);
	args[1] = (Datum) 0;
	types[1] = INT8OID;
	while (!got_sigterm)
	{
		r = run_unit("checking for the next company to dun", "SELECT ar._worker_dunning_company_due($1, $2)",
					 2, types, args, nulls);
		if (!r.ok)
		{
			*error = r.error;
			ok = false;
			break;
		}
		if (r.isnull)
			break;
		if (!run_recorded_unit("dunning of a company", "SELECT ar._worker_dunning($1)", r.value, error))
			ok = false;
		args[1] = Int64GetDatum(r.value);
		nulls[1] = ' ';
		CHECK_FOR_INTERRUPTS();
	}
	if (ok && !got_sigterm)
		return run_recorded_unit("the day's dunning", "SELECT ar._worker_dunning_finish($1)", day_run, error);
	/* the day's run failed (or was stopped): the next cycle takes the companies left */
	types[1] = TEXTOID;
	args[1] = CStringGetTextDatum(got_sigterm ? "stopped" : "a company's dunning failed");
	(void) run_unit("recording a failed run", "SELECT ar._worker_run_failed($1, $2)", 2, types, args, NULL);
	return ok;
}

/* The settings as three arguments: naptime, dunning_at, enabled. */
static void
settings_args(Oid *types, Datum *args)
{
	types[0] = INT4OID;
	types[1] = TEXTOID;
	types[2] = BOOLOID;
	args[0] = Int32GetDatum(worker_naptime);
	args[1] = CStringGetTextDatum(worker_dunning_at);
	args[2] = BoolGetDatum(worker_enabled);
}

/*
 * The worker does not attach (why: what serves the database instead): a
 * dynamic worker exits, the preloaded one waits and says why once.
 */
static void
not_attaching(const char *why)
{
	if (dynamic_worker)
	{
		ereport(LOG, (errmsg("ar_collect worker: %s; exiting", why)));
		proc_exit(0);
	}
	if (!attach_wait_logged)
		ereport(LOG, (errmsg("ar_collect worker: %s; waiting", why)));
	attach_wait_logged = true;
}

static void
worker_cycle(void)
{
	Oid			types[3];
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	UnitResult	r;
	bool		ok = true;
	char	   *error = NULL;

	r = run_simple_unit("looking for the extension",
						"SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'ar_collect'");
	if (!r.ok)
		return;
	if (r.value == 0)
	{
		if (!waiting_logged)
			ereport(LOG,
					(errmsg("ar_collect worker: extension ar_collect is not installed in database \"%s\"; waiting for it",
							database_name)));
		waiting_logged = true;
		attached = false;
		return;
	}
	waiting_logged = false;

	if (!attached)
	{
		settings_args(types, args);
		r = run_unit("attaching", "SELECT ar._worker_attach($1, $2, $3)", 3, types, args, NULL);
		if (!r.ok)
			return;
		if (r.value < 0)
		{
			/* the coordinator's worker runs the cluster's work */
			not_attaching(psprintf("database \"%s\" is on a Citus worker node, the coordinator's worker serves it",
								   database_name));
			return;
		}
		if (r.value == 0)
		{
			not_attaching(psprintf("another worker already serves database \"%s\"", database_name));
			return;
		}
		ereport(LOG, (errmsg("ar_collect worker: serving database \"%s\"", database_name)));
		attached = true;
		attach_wait_logged = false;
		settings_changed = false;
	}
	else if (settings_changed)
	{
		settings_args(types, args);
		r = run_unit("recording the settings", "SELECT ar._worker_settings($1, $2, $3)", 3, types, args, NULL);
		if (r.ok)
			settings_changed = false;
	}
	if (!worker_enabled || got_sigterm)
		return;

	if (per_company("checking how to reconcile", "_worker_reconcile_per_company"))
		ok = reconcile_companies(&error);
	else
	{
		r = run_simple_unit("checking for new bank lines", "SELECT ar._worker_reconcile_due()");
		if (!r.ok)
		{
			ok = false;
			error = r.error;
		}
		else if (!r.isnull && !got_sigterm)
			ok = run_recorded_unit("reconciliation", "SELECT ar._worker_reconcile($1)", r.value, &error);
	}
	if (got_sigterm)
		return;

	types[0] = TEXTOID;
	args[0] = CStringGetTextDatum(worker_dunning_at);
	r = run_unit("checking whether dunning is due", "SELECT ar._worker_dunning_due($1)", 1, types, args, NULL);
	if (!r.ok)
	{
		ok = false;
		error = r.error;
	}
	else if (!r.isnull && !got_sigterm)
	{
		if (per_company("checking how to run the dunning", "_worker_dunning_per_company"))
		{
			if (!dunning_companies(r.value, &error))
				ok = false;
		}
		else if (!run_recorded_unit("dunning", "SELECT ar._worker_dunning($1)", r.value, &error))
			ok = false;
	}
	if (got_sigterm)
		return;

	/* once a day, the reference rates letters need and do not have */
	r = run_simple_unit("checking for the rates check",
						"SELECT (to_regprocedure('ar._worker_rates_check()') IS NOT NULL)::int::bigint");
	if (r.ok && !r.isnull && r.value == 1)
		(void) run_simple_unit("checking the reference rates", "SELECT ar._worker_rates_check()");
	if (got_sigterm)
		return;

	/* once a day, the dashboard summaries aged on today */
	r = run_simple_unit("checking for the dashboard summaries",
						"SELECT (to_regprocedure('ar._worker_age_summaries()') IS NOT NULL)::int::bigint");
	if (r.ok && !r.isnull && r.value == 1)
		(void) run_simple_unit("re-aging the dashboard summaries", "SELECT ar._worker_age_summaries()");
	if (got_sigterm)
		return;

	types[0] = BOOLOID;
	types[1] = TEXTOID;
	args[0] = BoolGetDatum(ok);
	nulls[1] = error ? ' ' : 'n';
	args[1] = error ? CStringGetTextDatum(error) : (Datum) 0;
	(void) run_unit("recording the cycle", "SELECT ar._worker_cycle_done($1, $2)", 2, types, args, nulls);
}

void
ar_collect_worker_main(Datum main_arg)
{
	Oid			database = DatumGetObjectId(main_arg);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	BackgroundWorkerUnblockSignals();

	dynamic_worker = OidIsValid(database);
	if (dynamic_worker)
	{
		Oid			role;

		memcpy(&role, MyBgworkerEntry->bgw_extra, sizeof(Oid));
		BackgroundWorkerInitializeConnectionByOid(database, role, 0);
	}
	else
		BackgroundWorkerInitializeConnection(worker_database, NULL, 0);

	/* entries of the communications log say who wrote them */
	SetConfigOption("application_name", AR_WORKER_TYPE, PGC_USERSET, PGC_S_SESSION);

	StartTransactionCommand();
	database_name = MemoryContextStrdup(TopMemoryContext, get_database_name(MyDatabaseId));
	CommitTransactionCommand();

	cycle_context = AllocSetContextCreate(TopMemoryContext, "ar_collect worker cycle", ALLOCSET_DEFAULT_SIZES);
	ereport(LOG,
			(errmsg("ar_collect worker started for database \"%s\"%s", database_name,
					dynamic_worker ? " by ar.start_worker()" : "")));

	while (!got_sigterm)
	{
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (!dynamic_worker && strcmp(worker_database, database_name) != 0)
			{
				ereport(LOG,
						(errmsg("ar_collect worker: ar_collect.database changed from \"%s\" to \"%s\"; restarting",
								database_name, worker_database)));
				proc_exit(1);
			}
			settings_changed = true;
		}

		MemoryContextReset(cycle_context);
		MemoryContextSwitchTo(cycle_context);
		worker_cycle();
		MemoryContextSwitchTo(TopMemoryContext);
		if (got_sigterm)
			break;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 worker_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		/* a cancel request while idle has nothing to cancel */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
	}

	ereport(LOG, (errmsg("ar_collect worker for database \"%s\" shutting down", database_name)));
	proc_exit(0);
}
