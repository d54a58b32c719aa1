/*-------------------------------------------------------------------------
 *
 * compact_wait.c
 *	  A client session's wait for a compaction to end
 *	  (wait_for_compaction()).
 *
 * The wait reads the compaction's state, each time in a new catalog
 * session whose statements see what committed since, until no plan of it
 * is queued or running or the deadline has passed: each time a plan's end
 * commits (the worker wakes the waiters, status/progress.c), and at least
 * every 10 ms.  A wait that
 * could only time out is refused at once: for a compaction queued by the
 * waiting transaction (its plans start when it commits), or while the
 * waiting transaction holds the collection's state lock (every plan needs
 * it for its swap).  Plans left
 * queued with no worker to run them (no free worker slot when compact()
 * committed, a server restart) would never end, so while none runs the
 * wait starts a compaction worker, at most once a second.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"

#include "data/collection.h"
#include "metadata/catalog_compaction.h"
#include "status/status.h"
#include "workers/workers.h"

/*
 * Wait until a compaction has ended or timeout has passed, and return its
 * state then.
 */
const char *
SsCompactionWait(int64 compaction_id, Interval *timeout)
{
	TimestampTz deadline;
	TimestampTz last_launch = GetCurrentTimestamp();	/* commit launched one */
	SsCompactionState st;

	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("wait_for_compaction cannot run in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errdetail("Its snapshot would never see the compaction end.")));
	deadline = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													   TimestampTzGetDatum(GetCurrentTimestamp()),
													   IntervalPGetDatum(timeout)));
	SsProgressPrepareWait();
	for (;;)
	{
		SsCatalogSession session;
		bool		need_worker;

		SsCatalogOpen(&session, false);
		(void) SsCollectionOpenCompaction(compaction_id, ACL_SELECT);
		if (SsCatalogCompactionQueuedHere(compaction_id))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("compaction " INT64_FORMAT " was queued by this transaction", compaction_id),
					 errhint("Commit first: plans run after the transaction that queued them commits.")));
		SsCatalogCompactionState(compaction_id, &st);
		if (strcmp(st.state, "Executing") == 0 &&
			SsCatalogCompactionCollectionLockedHere(compaction_id))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("compaction " INT64_FORMAT " cannot end while this transaction holds the write lock of its collection",
							compaction_id),
					 errdetail("Each plan swaps its segments in under that lock, which this transaction took when it changed the collection's flushed segments."),
					 errhint("Commit or roll back first, or wait in another session.")));
		need_worker = strcmp(st.state, "Executing") == 0 &&
			!SsLauncherWorkerRunning(SS_COMPACTION_WORKER_TYPE);
		SsCatalogClose(&session);

		if (strcmp(st.state, "Executing") != 0 || GetCurrentTimestamp() >= deadline)
			break;

		/*
		 * Plans left queued (no free worker slot at commit, a restart): start
		 * a worker, at most once a second while none shows up.
		 */
		if (need_worker &&
			TimestampDifferenceExceeds(last_launch, GetCurrentTimestamp(), 1000))
		{
			(void) SsCompactionLaunchWorker();
			last_launch = GetCurrentTimestamp();
		}
		SsProgressWait(10);
		CHECK_FOR_INTERRUPTS();
	}
	SsProgressCancelWait();
	return st.state;
}
