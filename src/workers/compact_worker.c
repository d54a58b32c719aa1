/*-------------------------------------------------------------------------
 *
 * compact_worker.c
 *	  Background workers that run queued compaction plans.
 *
 * compact() queues plans in the caller's transaction; when it commits, a
 * dynamic background worker is started for the database (this needs no
 * shared_preload_libraries).  A worker takes one of
 * segstore.max_compaction_workers slots (session locks on tags no SQL role
 * can take, metadata/locks.c, so no shared memory is needed), runs queued plans one at a time, manual ones
 * first, until none is left, and then collects garbage so that the
 * sources' space comes back at once.  A worker that finds every slot
 * taken exits: the slot holders re-check the queue after they let go of
 * their slot, so no plan is left behind.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
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
 * What to do at commit: start workers if launch_level > 0 (the lowest
 * subtransaction level that asked), and interrupt the workers of cancelled
 * plans (PendingCancel, in TopMemoryContext).  A subtransaction's abort
 * forgets what it asked for; PREPARE TRANSACTION refuses either, since
 * COMMIT PREPARED runs where no callback of this session can act.
 */
typedef struct PendingCancel
{
	int			pid;
	int			nestlevel;
} PendingCancel;

static int	launch_level = 0;
static List *cancel_at_commit = NIL;
static bool callback_registered = false;

/* Start a worker for the current database; false if none could start. */
bool
SsCompactionLaunchWorker(void)
{
	BackgroundWorker worker;

	SsBackgroundWorkerInit(&worker, "SsCompactionWorkerMain", SS_COMPACTION_WORKER_TYPE,
						   BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "segstore compaction worker for database %u",
			 MyDatabaseId);
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	return RegisterDynamicBackgroundWorker(&worker, NULL);
}

/* Forget every pending action. */
static void
ForgetPending(void)
{
	launch_level = 0;
	list_free_deep(cancel_at_commit);
	cancel_at_commit = NIL;
}

/*
 * At commit, start the requested workers, whose plans are now visible, and
 * interrupt the workers of cancelled plans, which will now see the cancel.
 */
static void
LaunchCallback(XactEvent event, void *arg)
{
	ListCell   *lc;
	int			i;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (cancel_at_commit != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that cancelled a segstore compaction")));
			if (launch_level > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that queued a segstore compaction")));
			break;
		case XACT_EVENT_COMMIT:
			foreach(lc, cancel_at_commit)
			{
				int			pid = ((PendingCancel *) lfirst(lc))->pid;

				if (BackendPidGetProc(pid) != NULL)
					(void) kill(pid, SIGINT);
			}
			for (i = 0; launch_level > 0 && i < ss_max_compaction_workers; i++)
				if (!SsCompactionLaunchWorker())
				{
					if (i == 0)
						ereport(WARNING,
								(errmsg("could not start a segstore compaction worker"),
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

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	if (launch_level >= level)
		launch_level = event == SUBXACT_EVENT_ABORT_SUB ? 0 : level - 1;
	old = MemoryContextSwitchTo(TopMemoryContext);
	foreach(lc, cancel_at_commit)
	{
		PendingCancel *c = lfirst(lc);

		if (c->nestlevel >= level && event == SUBXACT_EVENT_ABORT_SUB)
		{
			pfree(c);
			continue;
		}
		if (c->nestlevel >= level)
			c->nestlevel = level - 1;
		keep = lappend(keep, c);
	}
	list_free(cancel_at_commit);
	cancel_at_commit = keep;
	MemoryContextSwitchTo(old);
}

/* Register the commit callbacks once per backend. */
static void
RegisterCallback(void)
{
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
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	ListCell   *lc;

	foreach(lc, pids)
	{
		PendingCancel *c = palloc(sizeof(PendingCancel));

		c->pid = lfirst_int(lc);
		c->nestlevel = GetCurrentTransactionNestLevel();
		cancel_at_commit = lappend(cancel_at_commit, c);
	}
	MemoryContextSwitchTo(old);
	RegisterCallback();
}

/* Ask for workers (as many as plans, at most the limit) when this transaction commits. */
void
SsCompactionLaunchAtCommit(void)
{
	int			level = GetCurrentTransactionNestLevel();

	if (launch_level == 0 || level < launch_level)
		launch_level = level;
	RegisterCallback();
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

/*
 * Run one plan in its own transaction.  On error the transaction, and so
 * every catalog change of the plan, is rolled back; the targets' files are
 * left to garbage collection, and the plan is marked with its error.
 */
static void
RunPlan(int64 plan_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	SsCatalogSession session;
	volatile int64 compaction_id = 0;

	ss_plan_timed_out = false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		SsPlan	   *plan;
		SsPlanResult result;
		TimestampTz start = GetCurrentTimestamp();
		long		secs;
		int			usecs;

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
		TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
		ereport(DEBUG1,
				(errmsg("segstore: compaction " INT64_FORMAT " plan " INT64_FORMAT " (%s) completed: rows " INT64_FORMAT " -> " INT64_FORMAT ", " INT64_FORMAT " deleted rows purged, bytes " INT64_FORMAT " -> " INT64_FORMAT ", %ld.%03d s",
						plan->compaction_id, plan_id, plan->plan_type, result.rows_in,
						result.rows_out, result.deleted_purged, result.bytes_in,
						result.bytes_out, secs, usecs / 1000)));
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
		FreeErrorData(outcome.error);
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	if (compaction_id != 0)
	{
		int64		id = compaction_id;

		InTransaction(LogIfFinished, &id);
	}
}

/* Entry point of a compaction worker; the argument is the database's oid. */
void
SsCompactionWorkerMain(Datum arg)
{
	MemoryContext cxt;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	cxt = AllocSetContextCreate(TopMemoryContext, "segstore compaction worker",
								ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);

	for (;;)
	{
		int			slot;
		bool		pending;

		InTransaction(AcquireSlot, &slot);
		if (slot < 0)
			break;
		for (;;)
		{
			int64		plan_id;

			InTransaction(ClaimPlan, &plan_id);
			if (plan_id == 0)
				break;
			RunPlan(plan_id);
			MemoryContextReset(cxt);
		}
		InTransaction(ReleaseSlot, &slot);
		InTransaction(CheckPending, &pending);
		if (!pending)
			break;
	}

	/*
	 * Sources are held while a snapshot that saw them flushed is open,
	 * typically the client waiting for this very compaction: retry for a
	 * while, so that their space comes back as soon as it lets go.
	 */
	for (int i = 0; i < SS_GC_RETRIES; i++)
	{
		bool		remaining;

		InTransaction(CollectGarbage, &remaining);
		if (!remaining)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 SS_GC_RETRY_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
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
