/*-------------------------------------------------------------------------
 *
 * compact_worker.c
 *	  Background workers that run queued compaction plans.
 *
 * compact() queues plans in the caller's transaction; when it commits,
 * dynamic background workers are started for the database (this needs no
 * shared_preload_libraries): one per plan, but no more than
 * segstore.max_compaction_workers minus the compaction workers already
 * running there or started by this backend and not yet running, since a
 * running worker takes the next plan when it is done with its own.  A
 * worker takes one of segstore.max_compaction_workers slots (session locks
 * on tags no SQL role can take, metadata/locks.c, so no shared memory is
 * needed), runs queued plans one at a time, manual ones first, until none
 * is left, and then, still holding its slot, collects garbage for a while
 * so that the sources' space comes back at once, taking any plan queued
 * meanwhile.  A worker that finds every slot taken exits at once: the slot
 * holders re-check the queue after they let go of their slot, so no plan is
 * left behind.  So at most max_compaction_workers compaction workers of a
 * database outlive their start, however many compactions are queued.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <sys/resource.h>

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "compaction/compaction.h"
#include "compaction/gc.h"
#include "metadata/locks.h"
#include "status/status.h"
#include "workers/workers.h"

/* Defaults of this module's settings (see SsCompactionWorkerInit). */
#define MAX_COMPACTION_WORKERS_DEFAULT 2
#define LOG_MIN_DURATION_DEFAULT 0

int			ss_max_compaction_workers = MAX_COMPACTION_WORKERS_DEFAULT;
int			ss_log_min_duration_ms = LOG_MIN_DURATION_DEFAULT;

/* After its plans, a worker retries garbage collection for up to 30 s. */
#define SS_GC_RETRIES 150
#define SS_GC_RETRY_MS 200

/*
 * What to do at commit, each with the subtransaction level that asked for
 * it: start workers for nplans plans, or interrupt worker pid, which runs a
 * cancelled plan.  A subtransaction's abort forgets what it asked for, its
 * commit hands it to the parent; PREPARE TRANSACTION refuses either, since
 * COMMIT PREPARED runs where no callback of this session can act.
 */
typedef struct PendingAction
{
	int			pid;			/* a worker to interrupt, or 0 */
	int			nplans;			/* plans to start workers for, if pid is 0 */
	int			nestlevel;
} PendingAction;

static List *pending = NIL;		/* PendingAction *, TopMemoryContext */
static List *launched = NIL;	/* BackgroundWorkerHandle *, TopMemoryContext */
static bool callback_registered = false;

/*
 * Compaction workers of this database: those running, and those this
 * backend started that do not show yet (forgetting the ones that ended).
 */
static int
CountWorkers(void)
{
	List	   *pids = SsLauncherWorkerPids(SS_COMPACTION_WORKER_TYPE);
	int			n = list_length(pids);
	ListCell   *lc;

	foreach(lc, launched)
	{
		BackgroundWorkerHandle *handle = lfirst(lc);
		pid_t		pid;

		switch (GetBackgroundWorkerPid(handle, &pid))
		{
			case BGWH_NOT_YET_STARTED:
				n++;
				break;
			case BGWH_STARTED:
				if (!list_member_int(pids, (int) pid))
					n++;
				break;
			default:
				launched = foreach_delete_current(launched, lc);
				pfree(handle);
				break;
		}
	}
	list_free(pids);
	return n;
}

/* Start a worker for the current database; false if none could start. */
bool
SsCompactionLaunchWorker(void)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	bool		ok;

	SsBackgroundWorkerInit(&worker, "SsCompactionWorkerMain", SS_COMPACTION_WORKER_TYPE,
						   BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "segstore compaction worker for database %u",
			 MyDatabaseId);
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	if (ok)
		launched = lappend(launched, handle);
	MemoryContextSwitchTo(old);
	return ok;
}

/* Forget every pending action. */
static void
ForgetPending(void)
{
	list_free_deep(pending);
	pending = NIL;
}

/*
 * At commit, start the requested workers, whose plans are now visible, and
 * interrupt the workers of cancelled plans, which will now see the cancel.
 */
static void
LaunchCallback(XactEvent event, void *arg)
{
	ListCell   *lc;
	int			nplans = 0;
	int			i;
	int			n;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			foreach(lc, pending)
			{
				PendingAction *a = lfirst(lc);

				if (a->pid != 0)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("cannot prepare a transaction that cancelled a segstore compaction")));
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that queued a segstore compaction")));
			}
			break;
		case XACT_EVENT_COMMIT:
			foreach(lc, pending)
			{
				PendingAction *a = lfirst(lc);

				if (a->pid == 0)
					nplans += a->nplans;
				else if (BackendPidGetProc(a->pid) != NULL)
					(void) kill(a->pid, SIGINT);
			}
			n = nplans > 0 ?
				Min(nplans, ss_max_compaction_workers - CountWorkers()) : 0;
			for (i = 0; i < n; i++)
				if (!SsCompactionLaunchWorker())
				{
					if (i == 0)
						ereport(WARNING,
								(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
								 errmsg("could not start a segstore compaction worker"),
								 errhint("Raise max_worker_processes; queued plans run when segstore.wait_for_compaction() is called or a worker starts.")));
					break;
				}
			ForgetPending();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			ForgetPending();
			break;
		default:
			break;
	}
}

/*
 * A subtransaction's abort forgets the actions it asked for; its commit
 * hands them to its parent.
 */
static void
LaunchSubCallback(SubXactEvent event, SubTransactionId mySubid,
				  SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	List	   *keep = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (pending == NIL ||
		(event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	foreach(lc, pending)
	{
		PendingAction *a = lfirst(lc);

		if (a->nestlevel >= level && event == SUBXACT_EVENT_ABORT_SUB)
		{
			pfree(a);
			continue;
		}
		if (a->nestlevel >= level)
			a->nestlevel = level - 1;
		keep = lappend(keep, a);
	}
	list_free(pending);
	pending = keep;
	MemoryContextSwitchTo(old);
}

/* Remember an action for commit, and register the callbacks once. */
static void
AddPending(int pid, int nplans)
{
	PendingAction *a = MemoryContextAlloc(TopMemoryContext, sizeof(PendingAction));
	MemoryContext old;

	a->pid = pid;
	a->nplans = nplans;
	a->nestlevel = GetCurrentTransactionNestLevel();
	old = MemoryContextSwitchTo(TopMemoryContext);
	pending = lappend(pending, a);
	MemoryContextSwitchTo(old);
	if (!callback_registered)
	{
		RegisterXactCallback(LaunchCallback, NULL);
		RegisterSubXactCallback(LaunchSubCallback, NULL);
		callback_registered = true;
	}
}

/*
 * Interrupt the workers running a cancelled compaction's plans once the
 * cancel commits: signalled earlier, a worker could look for the cancel
 * before it is visible and record a plain failure.
 */
void
SsCompactionCancelAtCommit(List *pids)
{
	ListCell   *lc;

	foreach(lc, pids)
		AddPending(lfirst_int(lc), 0);
}

/*
 * Ask for workers for a compaction's plans when this transaction commits:
 * as many as it has plans, at most the limit.  compaction_id 0 stands for
 * plans of unknown number already queued.  Runs in a catalog session.
 */
void
SsCompactionLaunchAtCommit(int64 compaction_id)
{
	int			nplans = ss_max_compaction_workers;

	if (compaction_id != 0)
	{
		SsCompactionState st;

		SsCatalogCompactionState(compaction_id, &st);
		nplans = st.total;
	}
	if (nplans > 0)
		AddPending(0, nplans);
}

/* Run fn inside a transaction and a catalog session. */
static void
InTransaction(void (*fn) (void *arg), void *arg)
{
	SsCatalogSession session;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (!OidIsValid(get_extension_oid("segstore", true)))
	{
		CommitTransactionCommand();
		proc_exit(0);			/* the extension was dropped meanwhile */
	}
	PushActiveSnapshot(GetTransactionSnapshot());
	SsCatalogOpen(&session, false);
	SsCatalogLockForWorker();
	fn(arg);
	SsCatalogClose(&session);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* Try to take a worker slot; *slot becomes its number, or -1. */
static void
AcquireSlot(void *arg)
{
	int		   *slot = arg;
	int			i;

	*slot = -1;
	for (i = 0; i < ss_max_compaction_workers; i++)
		if (SsLockTryWorkerSlot(i))
		{
			*slot = i;
			return;
		}
}

/* Give a slot back. */
static void
ReleaseSlot(void *arg)
{
	SsUnlockWorkerSlot(*(int *) arg);
}

/* Claim the next queued plan into *(int64 *) arg, failing orphaned ones first. */
static void
ClaimPlan(void *arg)
{
	SsCatalogFailOrphanedPlans();
	*(int64 *) arg = SsCatalogClaimPlan();
}

/* Are plans queued? */
static void
CheckPending(void *arg)
{
	*(bool *) arg = SsCatalogPlansPending();
}

/*
 * Collect garbage: swapped-out sources and orphaned files.  Sets *(bool *)
 * arg when compacted segments remain, held by a snapshot or the retention
 * window.
 */
static void
CollectGarbage(void *arg)
{
	int			files;
	int64		bytes;

	SsGcRun(false, &files, &bytes);
	if (files > 0)
		ereport(LOG,
				(errmsg("segstore: garbage collection removed %d files, " INT64_FORMAT " bytes",
						files, bytes)));
	*(bool *) arg = SsCatalogCompactedSegmentsExist();
}

/*
 * Once a compaction's last plan has ended, log one line for it, as
 * autovacuum does, when it took at least segstore.log_min_duration.
 */
static void
LogIfFinished(void *arg)
{
	SsCompactionSummary s;

	if (!SsCatalogCloseCompaction(*(int64 *) arg, &s))
		return;
	if (ss_log_min_duration_ms < 0 || s.duration_ms < ss_log_min_duration_ms)
		return;
	ereport(LOG,
			(errmsg("segstore: %s compaction " INT64_FORMAT " of collection \"%s\" finished: "
					"%d plans%s, rows " INT64_FORMAT " -> " INT64_FORMAT
					", bytes " INT64_FORMAT " -> " INT64_FORMAT ", reclaimed " INT64_FORMAT
					" bytes, %.3f s",
					s.trigger, s.compaction_id, s.collection, s.plans,
					s.failed > 0 ? psprintf(" (%d failed)", s.failed) : "",
					s.rows_in, s.rows_out, s.bytes_in, s.bytes_out,
					s.bytes_in - s.bytes_out, s.duration_ms / 1000.0)));
}

/* How a failed plan's error classifies it. */
typedef struct PlanOutcome
{
	int64		plan_id;
	ErrorData  *error;
} PlanOutcome;

/* Record a failed plan's state and error. */
static void
RecordFailure(void *arg)
{
	PlanOutcome *outcome = arg;
	const char *state = "failed";

	if (outcome->error->sqlerrcode == ERRCODE_QUERY_CANCELED)
	{
		if (ss_plan_timed_out)
			state = "timeout";
		else if (SsCatalogCompactionCancelRequested(outcome->plan_id))
			state = "cancelled";
	}
	SsCatalogFinishPlan(outcome->plan_id, state, NULL, outcome->error->message);
	ereport(LOG,
			(errmsg("segstore: compaction plan " INT64_FORMAT " %s: %s",
					outcome->plan_id, state, outcome->error->message)));
}

/* Take the ids a plan's targets need, in a transaction of their own. */
static void
ReserveIds(void *arg)
{
	SsCompactionReserveIds(SsCatalogGetPlan(*(int64 *) arg));
}

/*
 * Run one plan in its own transaction.  On error the transaction, and so
 * every catalog change of the plan, is rolled back; the targets' files are
 * left to garbage collection, and the plan is marked with its error.  The
 * ids it needs are taken before, so that the plan's transaction gets an
 * xid only at the swap.
 */
static void
RunPlan(int64 plan_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	SsCatalogSession session;
	volatile int64 compaction_id = 0;

	ss_plan_timed_out = false;
	PG_TRY();
	{
		SsPlan	   *plan;
		SsPlanResult result;
		TimestampTz start = GetCurrentTimestamp();
		long		secs;
		int			usecs;
		struct rusage usage;

		InTransaction(ReserveIds, &plan_id);
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		SsCatalogOpen(&session, false);
		SsCatalogLockForWorker();
		plan = SsCatalogGetPlan(plan_id);
		compaction_id = plan->compaction_id;
		pgstat_report_activity(STATE_RUNNING,
							   psprintf("segstore: compaction " INT64_FORMAT " plan " INT64_FORMAT " (%s of %d segments)",
										plan->compaction_id, plan_id, plan->plan_type, plan->nsources));
		SsCompactionExecute(plan, &result);
		SsCatalogFinishPlan(plan_id, "completed", &result, NULL);
		/* the plan lives in SPI's memory, which the session's end frees */
		plan = memcpy(MemoryContextAlloc(cxt, sizeof(SsPlan)), plan, sizeof(SsPlan));
		plan->plan_type = MemoryContextStrdup(cxt, plan->plan_type);
		SsCatalogClose(&session);
		PopActiveSnapshot();
		CommitTransactionCommand();
		SsProgressEnd();
		SsProgressPlanEnded();
		TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
		/* the process's peak resident size: what the plan really cost */
		if (getrusage(RUSAGE_SELF, &usage) != 0)
			usage.ru_maxrss = -1;
		ereport(DEBUG1,
				(errmsg("segstore: compaction " INT64_FORMAT " plan " INT64_FORMAT " (%s) completed: rows " INT64_FORMAT " -> " INT64_FORMAT ", " INT64_FORMAT " deleted rows purged, bytes " INT64_FORMAT " -> " INT64_FORMAT ", %ld.%03d s, peak memory " INT64_FORMAT " kB, worker peak RSS %ld kB",
						plan->compaction_id, plan_id, plan->plan_type, result.rows_in,
						result.rows_out, result.deleted_purged, result.bytes_in,
						result.bytes_out, secs, usecs / 1000, result.peak_memory / 1024,
						usage.ru_maxrss)));
	}
	PG_CATCH();
	{
		PlanOutcome outcome;

		MemoryContextSwitchTo(cxt);
		SsProgressEnd();
		outcome.plan_id = plan_id;
		outcome.error = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		InTransaction(RecordFailure, &outcome);
		SsProgressPlanEnded();
		FreeErrorData(outcome.error);
	}
	PG_END_TRY();
	SsCatalogReleaseIds();
	pgstat_report_activity(STATE_IDLE, NULL);
	if (compaction_id != 0)
	{
		int64		id = compaction_id;

		InTransaction(LogIfFinished, &id);
	}
}

/*
 * Run queued plans until none is left, then collect garbage.  Sources are
 * held while a snapshot that saw them flushed is open, typically the
 * client waiting for this very compaction: garbage collection is retried
 * for a while, so that their space comes back as soon as it lets go, and
 * plans queued meanwhile are taken between the retries.
 */
static void
RunQueue(MemoryContext cxt)
{
	int			retries = 0;

	for (;;)
	{
		int64		plan_id;
		bool		remaining;

		InTransaction(ClaimPlan, &plan_id);
		if (plan_id != 0)
		{
			RunPlan(plan_id);
			MemoryContextReset(cxt);
			retries = 0;
			continue;
		}
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		InTransaction(CollectGarbage, &remaining);
		if (!remaining || ++retries >= SS_GC_RETRIES)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 SS_GC_RETRY_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Entry point of a compaction worker; the argument is the database's oid. */
void
SsCompactionWorkerMain(Datum arg)
{
	MemoryContext cxt;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	SsWorkerSetUpSession();
	cxt = AllocSetContextCreate(TopMemoryContext, "segstore compaction worker",
								ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);

	for (;;)
	{
		int			slot;
		bool		pending;

		InTransaction(AcquireSlot, &slot);
		if (slot < 0)
			break;				/* the slot holders run the queue */
		RunQueue(cxt);
		InTransaction(ReleaseSlot, &slot);
		InTransaction(CheckPending, &pending);
		if (!pending)
			break;
	}
	proc_exit(0);
}

/* Define this module's settings; called from _PG_init. */
void
SsCompactionWorkerInit(void)
{
	DefineCustomIntVariable("segstore.max_compaction_workers",
							"Most compaction plans running at once in a database.",
							NULL, &ss_max_compaction_workers, MAX_COMPACTION_WORKERS_DEFAULT, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.log_min_duration",
							"Compactions that take at least this long are logged; -1 disables, 0 logs all.",
							NULL, &ss_log_min_duration_ms, LOG_MIN_DURATION_DEFAULT, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}
