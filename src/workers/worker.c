/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The maintenance worker the launcher keeps running in each database
 *	  that has segstore.
 *
 * Every segstore.compaction_interval it goes through the collections, each
 * in its own transaction so that an error is recorded and the next
 * collection still gets its turn: it seals growing segments idle longer
 * than segstore.seal_idle_time, writes pending deletes out once there are
 * segstore.pending_delete_threshold of them, and applies the automatic
 * compaction rules, whose plans run in compaction workers
 * (compact_worker.c); then, in a transaction of its own, it builds the
 * index files that segments lack, k-means included, which writers leave
 * to it.  Then it collects garbage and prunes the compaction
 * history, and vacuums growing tables that seals have filled with dead
 * rows.  What it decided and why is kept in its slot for
 * segstore.worker_status.
 *
 * A writer whose transaction sealed a growing segment wakes it at commit
 * (SsShmemVacuumGrowingAtCommit): a growing table is vacuumed then, not an
 * interval later, since every search scans its pages.
 *
 * It never waits long for a lock: a collection busy with a writer is left
 * for the next run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/table.h"
#include "access/xact.h"
#include "commands/extension.h"
#include "commands/vacuum.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "compaction/compaction.h"
#include "compaction/gc.h"
#include "data/growing.h"
#include "data/index.h"
#include "data/segment.h"
#include "data/write.h"
#include "metadata/catalog.h"
#include "status/status.h"
#include "workers/workers.h"

/* Defaults of this module's settings (see SsWorkerInit). */
#define COMPACTION_INTERVAL_DEFAULT 60
#define SEAL_IDLE_TIME_DEFAULT 600
#define PENDING_DELETE_THRESHOLD_DEFAULT 10000
#define HISTORY_RETENTION_DEFAULT (7 * 24 * 3600)

int			ss_compaction_interval_s = COMPACTION_INTERVAL_DEFAULT;
int			ss_seal_idle_time_s = SEAL_IDLE_TIME_DEFAULT;
int			ss_pending_delete_threshold = PENDING_DELETE_THRESHOLD_DEFAULT;
int			ss_history_retention_s = HISTORY_RETENTION_DEFAULT;

static SsDatabaseSlot *my_slot;
static MemoryContext worker_cxt;		/* reset after each run */

/* Record in the slot that the database has no segstore, and exit. */
static void
ExitWithoutExtension(void)
{
	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	my_slot->state = SS_WORKER_NO_EXTENSION;
	my_slot->pid = 0;
	my_slot->latch = NULL;
	LWLockRelease(ss_shared->lock);
	proc_exit(0);
}

/* Start a transaction with a snapshot and a catalog session. */
static void
BeginWork(SsCatalogSession *session, const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, activity);
	if (!OidIsValid(get_extension_oid("segstore", true)))
	{
		CommitTransactionCommand();
		ExitWithoutExtension();
	}
	PushActiveSnapshot(GetTransactionSnapshot());
	SsCatalogOpen(session, false);
	SsCatalogLockForWorker();
}

/* Commit what BeginWork started. */
static void
EndWork(SsCatalogSession *session)
{
	SsCatalogClose(session);
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(worker_cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Abort after an error and say what happened, for the decision.  A lock
 * not granted in time means a writer is busy: the work is left for the
 * next run, which is no error.  Other errors go to the log and the slot.
 */
static char *
AbortWork(void)
{
	ErrorData  *error;

	MemoryContextSwitchTo(worker_cxt);
	error = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	MemoryContextSwitchTo(worker_cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	if (error->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		return "busy, left for the next run";
	ereport(LOG,
			(errmsg("segstore worker: %s", error->message)));
	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	strlcpy(my_slot->last_error, error->message, SS_ERROR_LEN);
	LWLockRelease(ss_shared->lock);
	return psprintf("error: %s", error->message);
}

/* Seal, write deletes out and apply the compaction rules for one collection. */
static void
MaintainCollection(SsCollectionActivity *activity, StringInfo decision)
{
	bool		write_deletes = activity->pending_deletes > 0 &&
		(activity->idle || activity->pending_deletes >= ss_pending_delete_threshold);
	bool		full = SsShmemGrowingAdd(activity->id, 0) >= SsWriteGrowingLimit();
	bool		seal;
	SsCollection *coll;
	StringInfoData why;
	int64		id;

	appendStringInfo(decision, "%s%s: ", decision->len > 0 ? "; " : "", activity->name);
	coll = SsCatalogGetCollectionById(activity->id, true, false);
	seal = coll != NULL && (full || activity->idle) && SsGrowingCount(coll) > 0;
	if (coll != NULL && (seal || write_deletes))
		coll = SsCatalogGetCollectionById(activity->id, true, true);
	if (coll == NULL)
	{
		appendStringInfoString(decision, "dropped meanwhile");
		return;
	}
	if (seal)
	{
		SsWriteSeal(coll);
		appendStringInfo(decision, "sealed the growing segment (%s), ",
						 full ? "over its size limit" : "idle");
	}
	if (write_deletes)
	{
		SsWriteFlushDeletes(coll);
		appendStringInfo(decision, "wrote " INT64_FORMAT " pending deletes out, ",
						 activity->pending_deletes);
	}

	if (!ss_enable_compaction)
	{
		appendStringInfoString(decision, "automatic compaction off (segstore.enable_compaction)");
		return;
	}
	if (!coll->auto_compaction)
	{
		appendStringInfoString(decision, "automatic compaction off for the collection");
		return;
	}
	initStringInfo(&why);
	if ((id = SsCompactionPlan(coll, SS_TRIGGER_AUTO, &why)) != 0)
	{
		appendStringInfo(decision, "queued a compaction: %s", why.data);
		SsCompactionLaunchAtCommit(id);
	}
	else
		appendStringInfoString(decision, why.data);
}

/*
 * Build the index files a collection's segments lack, in a transaction of
 * its own that holds no lock writers need until the files are registered
 * (SsIndexBuildMissing): a segment that cannot be built is recorded as
 * failed and tried again after a back-off, and holds up nothing else.
 */
static void
BuildIndexFiles(SsCollectionActivity *activity, StringInfo decision)
{
	SsCollection *coll = SsCatalogGetCollectionById(activity->id, true, false);
	int			nbuilt;

	if (coll == NULL)
		return;
	nbuilt = SsIndexBuildMissing(coll, false, LOG);
	if (nbuilt > 0)
		appendStringInfo(decision, "; %s: built %d missing index files", activity->name, nbuilt);
}

/* Start a compaction worker for plans left queued, e.g. by a crash. */
static void
RunLeftoverPlans(void)
{
	if (SsCatalogPlansPending() && !SsLauncherWorkerRunning(SS_COMPACTION_WORKER_TYPE))
		SsCompactionLaunchAtCommit(0);
}

/* Copy the collections' activity out of the catalog session's memory. */
static List *
CopyActivity(List *list)
{
	MemoryContext old = MemoryContextSwitchTo(worker_cxt);
	List	   *copy = NIL;
	ListCell   *lc;

	foreach(lc, list)
	{
		SsCollectionActivity *a = palloc(sizeof(SsCollectionActivity));

		*a = *(SsCollectionActivity *) lfirst(lc);
		a->name = pstrdup(a->name);
		copy = lappend(copy, a);
	}
	MemoryContextSwitchTo(old);
	return copy;
}

/*
 * Growing tables that have grown past twice the size at which they are
 * sealed: what makes them grow is the rows that seals moved into segments
 * and deleted, which every search of the collection would scan until
 * vacuum reclaims them.  NIL after an error (logged by AbortWork).
 */
static List *
GrowingToVacuum(void)
{
	SsCatalogSession session;
	List	   *volatile relids = NIL;

	PG_TRY();
	{
		List	   *growing;
		ListCell   *lc;

		BeginWork(&session, "segstore worker: looking for growing tables to vacuum");
		growing = SsCatalogGrowingRelids();
		foreach(lc, growing)
		{
			Oid			relid = lfirst_oid(lc);
			Relation	rel = try_table_open(relid, AccessShareLock);

			if (rel == NULL)
				continue;
			if ((int64) RelationGetNumberOfBlocks(rel) * BLCKSZ > 2 * SsWriteGrowingLimit())
			{
				MemoryContext old = MemoryContextSwitchTo(worker_cxt);

				relids = lappend_oid(relids, relid);
				MemoryContextSwitchTo(old);
			}
			table_close(rel, AccessShareLock);
		}
		EndWork(&session);
	}
	PG_CATCH();
	{
		(void) AbortWork();
		relids = NIL;
	}
	PG_END_TRY();
	return relids;
}

/*
 * Vacuum one growing table as VACUUM would, in transactions of its own
 * (vacuum() commits the one it is called in and starts a new one at the
 * end); an error is logged by AbortWork.
 */
static void
VacuumOne(Oid relid, BufferAccessStrategy strategy)
{
	VacuumParams params;

	memset(&params, 0, sizeof(params));
	params.options = VACOPT_VACUUM | VACOPT_SKIP_LOCKED;
	params.freeze_min_age = -1;
	params.freeze_table_age = -1;
	params.multixact_freeze_min_age = -1;
	params.multixact_freeze_table_age = -1;
	params.log_min_duration = -1;
	params.index_cleanup = VACOPTVALUE_AUTO;
	params.truncate = VACOPTVALUE_ENABLED;
	params.nworkers = -1;
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		pgstat_report_activity(STATE_RUNNING, "segstore worker: vacuuming a growing table");
		vacuum(list_make1(makeVacuumRelation(NULL, relid, NIL)), &params, strategy, true);
		CommitTransactionCommand();
		MemoryContextSwitchTo(worker_cxt);
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_CATCH();
	{
		(void) AbortWork();
	}
	PG_END_TRY();
}

/* Vacuum the growing tables that need it (GrowingToVacuum). */
static void
VacuumGrowing(void)
{
	List	   *relids = GrowingToVacuum();
	BufferAccessStrategy strategy;
	ListCell   *lc;

	if (relids == NIL)
		return;
	/* vacuum() ends the transaction it is called in: this must outlive it */
	MemoryContextSwitchTo(worker_cxt);
	strategy = GetAccessStrategy(BAS_VACUUM);
	foreach(lc, relids)
	{
		CHECK_FOR_INTERRUPTS();
		VacuumOne(lfirst_oid(lc), strategy);
	}
}

/* One run over the database. */
static void
RunOnce(void)
{
	SsCatalogSession session;
	StringInfoData decision;
	List	   *collections = NIL;
	ListCell   *lc;
	TimestampTz start = GetCurrentTimestamp();
	bool		failed = false;
	int			files = 0;
	int64		bytes = 0;
	int64		pruned = 0;

	initStringInfo(&decision);

	PG_TRY();
	{
		BeginWork(&session, "segstore worker: listing collections");
		collections = CopyActivity(SsCatalogCollectionActivity(ss_seal_idle_time_s));
		EndWork(&session);
	}
	PG_CATCH();
	{
		appendStringInfoString(&decision, AbortWork());
		failed = true;
	}
	PG_END_TRY();

	foreach(lc, collections)
	{
		SsCollectionActivity *activity = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		PG_TRY();
		{
			BeginWork(&session, psprintf("segstore worker: maintaining collection %s",
										 activity->name));
			MaintainCollection(activity, &decision);
			EndWork(&session);
		}
		PG_CATCH();
		{
			appendStringInfoString(&decision, AbortWork());
			failed = true;
		}
		PG_END_TRY();
		PG_TRY();
		{
			BeginWork(&session, psprintf("segstore worker: building index files of collection %s",
										 activity->name));
			BuildIndexFiles(activity, &decision);
			EndWork(&session);
		}
		PG_CATCH();
		{
			appendStringInfo(&decision, "; %s: index files: %s", activity->name, AbortWork());
			failed = true;
		}
		PG_END_TRY();
	}
	if (collections == NIL && !failed)
		appendStringInfoString(&decision, "no collections");

	PG_TRY();
	{
		BeginWork(&session, "segstore worker: collecting garbage");
		RunLeftoverPlans();
		SsGcRun(false, &files, &bytes);
		if (ss_history_retention_s > 0)
			pruned = SsCatalogPruneHistory(ss_history_retention_s);
		EndWork(&session);
	}
	PG_CATCH();
	{
		appendStringInfo(&decision, "; garbage collection: %s", AbortWork());
		failed = true;
	}
	PG_END_TRY();
	if (files > 0)
		appendStringInfo(&decision, "; removed %d files (" INT64_FORMAT " bytes)", files, bytes);
	if (pruned > 0)
		appendStringInfo(&decision, "; pruned " INT64_FORMAT " compactions from the history",
						 pruned);

	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	my_slot->runs++;
	my_slot->last_run_at = GetCurrentTimestamp();
	my_slot->last_run_ms = (my_slot->last_run_at - start) / 1000;
	strlcpy(my_slot->decision, decision.data, SS_DECISION_LEN);
	if (!failed)
		my_slot->last_error[0] = '\0';
	LWLockRelease(ss_shared->lock);
}

/* Entry point of a database's maintenance worker; arg is its slot. */
void
SsWorkerMain(Datum arg)
{
	int			slotno = DatumGetInt32(arg);
	Oid			dboid;
	TimestampTz next_run;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	SsWorkerSetUpSession();

	my_slot = &ss_shared->databases[slotno];
	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	if (my_slot->dboid != dboid || my_slot->state != SS_WORKER_RUNNING)
	{
		/* the database was dropped and the slot reused meanwhile */
		LWLockRelease(ss_shared->lock);
		proc_exit(0);
	}
	my_slot->pid = MyProcPid;
	my_slot->latch = MyLatch;
	my_slot->started_at = GetCurrentTimestamp();
	LWLockRelease(ss_shared->lock);

	/* Waiting for a writer's lock would hold up every other collection. */
	SetConfigOption("lock_timeout", "1000", PGC_SUSET, PGC_S_OVERRIDE);

	worker_cxt = AllocSetContextCreate(TopMemoryContext, "segstore worker",
									   ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(worker_cxt);

	/* The first run comes one interval after start, as every later one. */
	next_run = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   (int64) ss_compaction_interval_s * 1000);
	for (;;)
	{
		TimestampTz now;
		long		sleep_ms;
		bool		vacuum_growing;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			SetConfigOption("lock_timeout", "1000", PGC_SUSET, PGC_S_OVERRIDE);
			next_run = Min(next_run,
						   TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   (int64) ss_compaction_interval_s * 1000));
		}
		LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
		my_slot->next_run_at = next_run;
		LWLockRelease(ss_shared->lock);

		LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
		vacuum_growing = my_slot->vacuum_growing;
		my_slot->vacuum_growing = false;
		LWLockRelease(ss_shared->lock);
		if (vacuum_growing)
		{
			VacuumGrowing();
			MemoryContextReset(worker_cxt);
		}

		now = GetCurrentTimestamp();
		if (now >= next_run)
		{
			RunOnce();
			VacuumGrowing();
			MemoryContextReset(worker_cxt);
			next_run = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												   (int64) ss_compaction_interval_s * 1000);
			continue;
		}
		sleep_ms = (long) Min((next_run - now) / 1000 + 1, 60 * 60 * 1000);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* Define this module's settings; called from _PG_init. */
void
SsWorkerInit(void)
{
	DefineCustomIntVariable("segstore.compaction_interval",
							"Time between runs of the maintenance worker in each database.",
							NULL, &ss_compaction_interval_s, COMPACTION_INTERVAL_DEFAULT, 1, 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.seal_idle_time",
							"The maintenance worker seals a growing segment not written for this long.",
							NULL, &ss_seal_idle_time_s, SEAL_IDLE_TIME_DEFAULT, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.pending_delete_threshold",
							"The maintenance worker writes a collection's pending deletes out once there are this many.",
							NULL, &ss_pending_delete_threshold, PENDING_DELETE_THRESHOLD_DEFAULT, 1, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.history_retention",
							"Finished compactions older than this are pruned from the history; 0 keeps them.",
							NULL, &ss_history_retention_s, HISTORY_RETENTION_DEFAULT, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}
