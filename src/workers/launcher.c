/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The launcher: one static background worker per cluster that keeps a
 *	  maintenance worker (worker.c) running in every database that has
 *	  segstore installed.
 *
 * The launcher reads pg_database (it connects to no database), gives each
 * connectable database a slot in shared memory and starts a worker for it.
 * A worker that finds no segstore in its database says so in its slot and
 * exits; the database is tried again after CREATE EXTENSION segstore or
 * CREATE DATABASE anywhere, which the utility hook reports at commit.  A
 * worker that dies any other way is started again after a short delay.
 * DROP DATABASE blocks its database's slot and stops segstore's processes
 * in it first, so the drop does not find them connected.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "data/stamp.h"
#include "format/files.h"
#include "metadata/catalog.h"
#include "status/status.h"
#include "workers/workers.h"

/* A worker that died is started again after this long. */
#define SS_RESTART_DELAY_MS 1000
/* pg_database is read again at least this often. */
#define SS_RESCAN_MS 60000
/* DROP DATABASE keeps its database's worker from starting for this long. */
#define SS_BLOCK_MS 10000

static BackgroundWorkerHandle *handles[SS_MAX_DATABASES];
static bool rescan_at_commit = false;
static bool callback_registered = false;

/*
 * Settings of a worker's database session: read committed whatever
 * default_transaction_isolation says, as autovacuum's, since each step
 * must see what writers have committed; and files stamped with virtual
 * transaction ids, since a worker never prepares a transaction.
 */
void
SsWorkerSetUpSession(void)
{
	SetConfigOption("default_transaction_isolation", "read committed",
					PGC_SUSET, PGC_S_OVERRIDE);
	SsFilesStampVirtualIds();
}

/*
 * Describe one of segstore's background workers: its entry point, its
 * type (the backend_type pg_stat_activity shows, which
 * SsLauncherStopWorkers looks for) and its restart time.
 */
void
SsBackgroundWorkerInit(BackgroundWorker *worker, const char *function, const char *type,
					   int restart_time)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = restart_time;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "segstore");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker->bgw_name, BGW_MAXLEN, "%s", type);
	snprintf(worker->bgw_type, BGW_MAXLEN, "%s", type);
}

/* Register the launcher; called from _PG_init while preloading. */
void
SsLauncherRegister(void)
{
	BackgroundWorker worker;

	SsBackgroundWorkerInit(&worker, "SsLauncherMain", "segstore launcher", 1);
	RegisterBackgroundWorker(&worker);
}

/* Start the maintenance worker of slot i; false if none could start. */
static bool
StartWorker(int i, Oid dboid)
{
	BackgroundWorker worker;

	SsBackgroundWorkerInit(&worker, "SsWorkerMain", "segstore worker", BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "segstore worker for database %u", dboid);
	worker.bgw_main_arg = Int32GetDatum(i);
	memcpy(worker.bgw_extra, &dboid, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&worker, &handles[i]);
}

/* Oids of the databases a worker can connect to (not templates). */
static int
ListDatabases(Oid *oids, int max)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			n = 0;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (!db->datallowconn || db->datistemplate)
			continue;
		if (n < max)
			oids[n] = db->oid;
		n++;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return n;
}

/*
 * Match the slots to pg_database: new databases get a slot, dropped ones
 * lose theirs.  After CREATE EXTENSION or CREATE DATABASE (reset), the
 * databases that had no segstore are tried again.
 */
static void
ScanDatabases(void)
{
	Oid			oids[SS_MAX_DATABASES];
	int			n = ListDatabases(oids, SS_MAX_DATABASES);
	bool		reset;
	int			i;
	int			d;

	if (n > SS_MAX_DATABASES)
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("segstore launcher looks after only %d of %d databases",
						SS_MAX_DATABASES, n)));
		n = SS_MAX_DATABASES;
	}

	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	reset = ss_shared->rescan;
	ss_shared->rescan = false;
	for (i = 0; i < SS_MAX_DATABASES; i++)
	{
		SsDatabaseSlot *slot = &ss_shared->databases[i];
		bool		exists = false;

		if (slot->state == SS_WORKER_FREE)
			continue;
		for (d = 0; d < n; d++)
			exists |= oids[d] == slot->dboid;
		if (!exists)
			slot->state = SS_WORKER_FREE;
		else if (reset && slot->state == SS_WORKER_NO_EXTENSION)
			slot->state = SS_WORKER_WANTED;
	}
	for (d = 0; d < n; d++)
	{
		bool		known = false;

		for (i = 0; i < SS_MAX_DATABASES; i++)
			known |= ss_shared->databases[i].state != SS_WORKER_FREE &&
				ss_shared->databases[i].dboid == oids[d];
		if (known)
			continue;
		/* a slot whose old worker has not yet been seen to exit is not reused */
		for (i = 0; i < SS_MAX_DATABASES; i++)
		{
			SsDatabaseSlot *slot = &ss_shared->databases[i];

			if (slot->state != SS_WORKER_FREE || handles[i] != NULL)
				continue;
			memset(slot, 0, sizeof(*slot));
			slot->dboid = oids[d];
			slot->state = SS_WORKER_WANTED;
			break;
		}
	}
	LWLockRelease(ss_shared->lock);
}

/*
 * Notice workers that exited and start those that are wanted.  Returns how
 * long the launcher may sleep before something is due.
 */
static long
ManageWorkers(void)
{
	TimestampTz now = GetCurrentTimestamp();
	long		sleep_ms = SS_RESCAN_MS;
	int			i;

	for (i = 0; i < SS_MAX_DATABASES; i++)
	{
		SsDatabaseSlot *slot = &ss_shared->databases[i];
		pid_t		pid;
		TimestampTz due;
		Oid			dboid;

		if (handles[i] != NULL &&
			GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED)
		{
			pfree(handles[i]);
			handles[i] = NULL;
			LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
			slot->pid = 0;
			slot->latch = NULL;
			if (slot->state == SS_WORKER_RUNNING)
			{
				slot->state = SS_WORKER_WANTED;
				slot->restart_at = TimestampTzPlusMilliseconds(now, SS_RESTART_DELAY_MS);
				slot->restarts++;
			}
			LWLockRelease(ss_shared->lock);
		}

		LWLockAcquire(ss_shared->lock, LW_SHARED);
		dboid = slot->dboid;
		due = Max(slot->restart_at, slot->blocked_until);
		if (slot->state != SS_WORKER_WANTED || handles[i] != NULL)
			due = -1;
		LWLockRelease(ss_shared->lock);
		if (due < 0)
			continue;
		if (due > now)
		{
			sleep_ms = Min(sleep_ms, (long) ((due - now) / 1000) + 1);
			continue;
		}
		if (StartWorker(i, dboid))
		{
			LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
			if (slot->state == SS_WORKER_WANTED && slot->dboid == dboid)
				slot->state = SS_WORKER_RUNNING;
			LWLockRelease(ss_shared->lock);
		}
		else
		{
			/* no free background worker slot: try again later */
			LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
			slot->restart_at = TimestampTzPlusMilliseconds(now, 5 * SS_RESTART_DELAY_MS);
			LWLockRelease(ss_shared->lock);
			sleep_ms = Min(sleep_ms, 5 * SS_RESTART_DELAY_MS);
		}
	}
	return sleep_ms;
}

/* Entry point of the launcher. */
void
SsLauncherMain(Datum arg)
{
	TimestampTz last_scan = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_activity(STATE_RUNNING, "segstore launcher: starting database workers");

	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	ss_shared->launcher_pid = MyProcPid;
	ss_shared->launcher_latch = MyLatch;
	ss_shared->rescan = true;
	LWLockRelease(ss_shared->lock);

	for (;;)
	{
		bool		rescan;
		long		sleep_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		LWLockAcquire(ss_shared->lock, LW_SHARED);
		rescan = ss_shared->rescan;
		LWLockRelease(ss_shared->lock);
		if (rescan ||
			TimestampDifferenceExceeds(last_scan, GetCurrentTimestamp(), SS_RESCAN_MS))
		{
			ScanDatabases();
			last_scan = GetCurrentTimestamp();
		}
		sleep_ms = ManageWorkers();
		/* standbys learn how far the primary's clock has gone */
		SsStampLogClock();
		if (XLogStandbyInfoActive())
			sleep_ms = Min(sleep_ms, 1000);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* At commit, wake the launcher to read pg_database and extensions again. */
static void
RescanCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && rescan_at_commit && ss_shared != NULL)
	{
		LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
		ss_shared->rescan = true;
		if (ss_shared->launcher_latch != NULL)
			SetLatch(ss_shared->launcher_latch);
		LWLockRelease(ss_shared->lock);
	}
	/* after PREPARE, the launcher's periodic rescan finds what committed */
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE)
		rescan_at_commit = false;
}

/* CREATE EXTENSION segstore or CREATE DATABASE: tell the launcher at commit. */
void
SsLauncherRescanAtCommit(void)
{
	if (ss_shared == NULL)
		return;
	if (!callback_registered)
	{
		RegisterXactCallback(RescanCallback, NULL);
		callback_registered = true;
	}
	rescan_at_commit = true;
}

/*
 * Pids of segstore's background processes connected to dboid, other than
 * this process: all of them, or those of one bgw_type.
 */
static List *
SegstorePids(Oid dboid, const char *type)
{
	List	   *pids = NIL;
	int			n;
	int			i;

	pgstat_clear_backend_activity_snapshot();
	n = pgstat_fetch_stat_numbackends();
	for (i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;
		const char *t;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_backendType != B_BG_WORKER || be->st_procpid == MyProcPid ||
			be->st_databaseid != dboid)
			continue;
		t = GetBackgroundWorkerTypeByPid(be->st_procpid);
		if (t != NULL && (type != NULL ? strcmp(t, type) == 0 : strncmp(t, "segstore ", 9) == 0))
			pids = lappend_int(pids, be->st_procpid);
	}
	/* Activity is otherwise read once per transaction; callers poll. */
	pgstat_clear_backend_activity_snapshot();
	return pids;
}

/* Pids of segstore's processes of this bgw_type in this database but this one. */
List *
SsLauncherWorkerPids(const char *type)
{
	return SegstorePids(MyDatabaseId, type);
}

/* Does one of segstore's processes of this bgw_type run in this database? */
bool
SsLauncherWorkerRunning(const char *type)
{
	List	   *pids = SegstorePids(MyDatabaseId, type);
	bool		running = pids != NIL;

	list_free(pids);
	return running;
}

/*
 * Stop segstore's workers in a database and wait (up to 10 s) until they
 * are gone.  With block, the launcher does not start the database's worker
 * again for a while (DROP DATABASE); otherwise it restarts it as after any
 * exit, and the new worker waits for the caller's locks.
 */
void
SsLauncherStopWorkers(Oid dboid, bool block)
{
	List	   *pids;
	ListCell   *lc;
	int			i;
	int			waited;

	if (block && ss_shared != NULL)
	{
		LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
		for (i = 0; i < SS_MAX_DATABASES; i++)
			if (ss_shared->databases[i].state != SS_WORKER_FREE &&
				ss_shared->databases[i].dboid == dboid)
				ss_shared->databases[i].blocked_until =
					TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SS_BLOCK_MS);
		LWLockRelease(ss_shared->lock);
	}

	pids = SegstorePids(dboid, NULL);
	foreach(lc, pids)
		if (BackendPidGetProc(lfirst_int(lc)) != NULL)
			(void) kill(lfirst_int(lc), SIGTERM);
	for (waited = 0; waited < 10000; waited += 10)
	{
		bool		alive = false;

		foreach(lc, pids)
			alive |= BackendPidGetProc(lfirst_int(lc)) != NULL;
		if (!alive)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	list_free(pids);
}

/*
 * Before DROP EXTENSION segstore: stop this database's workers and wait
 * until they are gone, since a worker holds locks on the tables the drop
 * is about to drop and would deadlock with it.  Then lock the catalog, so
 * that workers that start from now on wait at their first catalog access
 * until the drop has committed.
 */
void
SsLauncherStopForDropExtension(void)
{
	SsCatalogSession session;

	SsLauncherStopWorkers(MyDatabaseId, false);
	SsCatalogOpen(&session, false);
	SsCatalogLockAllForDrop();
	SsCatalogClose(&session);
}

/* Name of a slot state for segstore.worker_status. */
static const char *
StateName(const SsDatabaseSlot *slot)
{
	switch (slot->state)
	{
		case SS_WORKER_WANTED:
			return slot->restarts > 0 ? "restarting" : "starting";
		case SS_WORKER_RUNNING:
			return slot->pid != 0 ? "running" : "starting";
		case SS_WORKER_NO_EXTENSION:
			return "no extension";
		default:
			return "free";
	}
}

/* Rows of segstore.worker_status: each database's maintenance worker. */
void
SsWorkerStatusList(Tuplestorestate *store, TupleDesc desc)
{
	SsDatabaseSlot *copy;
	int			n = 0;
	int			i;

	if (ss_shared == NULL)
		return;
	copy = palloc(sizeof(SsDatabaseSlot) * SS_MAX_DATABASES);
	LWLockAcquire(ss_shared->lock, LW_SHARED);
	for (i = 0; i < SS_MAX_DATABASES; i++)
		if (ss_shared->databases[i].state != SS_WORKER_FREE)
			copy[n++] = ss_shared->databases[i];
	LWLockRelease(ss_shared->lock);

	for (i = 0; i < n; i++)
	{
		SsDatabaseSlot *s = &copy[i];
		Datum		values[11];
		bool		nulls[11] = {0};

		values[0] = ObjectIdGetDatum(s->dboid);
		values[1] = Int32GetDatum(s->pid);
		nulls[1] = s->pid == 0;
		values[2] = CStringGetTextDatum(StateName(s));
		values[3] = TimestampTzGetDatum(s->started_at);
		nulls[3] = s->started_at == 0;
		values[4] = Int64GetDatum(s->runs);
		values[5] = TimestampTzGetDatum(s->last_run_at);
		nulls[5] = s->last_run_at == 0;
		values[6] = Float8GetDatum(s->last_run_ms / 1000.0);
		nulls[6] = s->last_run_at == 0;
		values[7] = CStringGetTextDatum(s->decision);
		nulls[7] = s->decision[0] == '\0';
		values[8] = CStringGetTextDatum(s->last_error);
		nulls[8] = s->last_error[0] == '\0';
		values[9] = TimestampTzGetDatum(s->next_run_at);
		nulls[9] = s->next_run_at == 0 || s->pid == 0;
		values[10] = Int32GetDatum(s->restarts);
		tuplestore_putvalues(store, desc, values, nulls);
	}
}
