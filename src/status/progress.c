/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  Live progress of running compaction plans, for
 *	  segstore.compaction_progress.
 *
 * A compaction worker takes a slot in shared memory for the plan it runs
 * and updates it as it goes; the slot is given back when the plan ends,
 * and on process exit whatever happened.  When a plan's end has committed
 * the worker broadcasts a condition variable, on which the sessions in
 * wait_for_compaction() sleep.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/builtins.h"

#include "status/status.h"

static SsProgressSlot *my_slot = NULL;
static bool exit_callback_registered = false;

/* Give the slot back; also the exit callback, so a dead plan never lingers. */
static void
ReleaseSlot(int code, Datum arg)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	my_slot->pid = 0;
	LWLockRelease(ss_shared->lock);
	my_slot = NULL;
}

/* Start reporting a plan's progress. */
void
SsProgressBegin(int64 compaction_id, int64 plan_id, const char *collection,
				int64 rows_total, int64 bytes_total)
{
	int			i;

	if (ss_shared == NULL)
		return;
	if (!exit_callback_registered)
	{
		before_shmem_exit(ReleaseSlot, 0);
		exit_callback_registered = true;
	}
	ReleaseSlot(0, 0);
	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < SS_MAX_PROGRESS; i++)
	{
		SsProgressSlot *slot = &ss_shared->progress[i];

		if (slot->pid != 0)
			continue;
		memset(slot, 0, sizeof(*slot));
		slot->pid = MyProcPid;
		slot->dboid = MyDatabaseId;
		slot->compaction_id = compaction_id;
		slot->plan_id = plan_id;
		strlcpy(slot->collection, collection, NAMEDATALEN);
		strlcpy(slot->phase, "reading", sizeof(slot->phase));
		slot->rows_total = rows_total;
		slot->bytes_total = bytes_total;
		slot->started_at = GetCurrentTimestamp();
		my_slot = slot;
		break;
	}
	LWLockRelease(ss_shared->lock);
}

/* Enter a phase: reading, writing, indexing or swapping. */
void
SsProgressPhase(const char *phase)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	strlcpy(my_slot->phase, phase, sizeof(my_slot->phase));
	LWLockRelease(ss_shared->lock);
}

/* Count rows and bytes of the sources as done. */
void
SsProgressAdvance(int64 rows, int64 bytes)
{
	if (my_slot == NULL)
		return;
	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	my_slot->rows_done = Min(my_slot->rows_done + rows, my_slot->rows_total);
	my_slot->bytes_done = Min(my_slot->bytes_done + bytes, my_slot->bytes_total);
	LWLockRelease(ss_shared->lock);
}

/* The plan ended, whichever way. */
void
SsProgressEnd(void)
{
	ReleaseSlot(0, 0);
}

/*
 * The end of a plan is committed (completed or failed): wake the sessions
 * in wait_for_compaction(), so that they need not poll to see it soon.
 */
void
SsProgressPlanEnded(void)
{
	if (ss_shared != NULL)
		ConditionVariableBroadcast(&ss_shared->plan_ended);
}

/*
 * Before a waiter first checks whether its compaction has ended: from here
 * on no SsProgressPlanEnded() is missed by its SsProgressWait().
 */
void
SsProgressPrepareWait(void)
{
	if (ss_shared != NULL)
		ConditionVariablePrepareToSleep(&ss_shared->plan_ended);
}

/*
 * Sleep until a plan ends or timeout_ms has passed; without shared memory
 * (segstore not preloaded) only the timeout wakes the waiter.
 */
void
SsProgressWait(long timeout_ms)
{
	if (ss_shared != NULL)
		(void) ConditionVariableTimedSleep(&ss_shared->plan_ended, timeout_ms,
										   PG_WAIT_EXTENSION);
	else
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* The waiter is done waiting. */
void
SsProgressCancelWait(void)
{
	if (ss_shared != NULL)
		ConditionVariableCancelSleep();
}

/* Rows of segstore.compaction_progress: every running plan of the cluster. */
void
SsProgressList(Tuplestorestate *store, TupleDesc desc)
{
	SsProgressSlot *copy;
	int			n = 0;
	int			i;

	if (ss_shared == NULL)
		return;
	copy = palloc(sizeof(SsProgressSlot) * SS_MAX_PROGRESS);
	LWLockAcquire(ss_shared->lock, LW_SHARED);
	for (i = 0; i < SS_MAX_PROGRESS; i++)
		if (ss_shared->progress[i].pid != 0)
			copy[n++] = ss_shared->progress[i];
	LWLockRelease(ss_shared->lock);

	for (i = 0; i < n; i++)
	{
		Datum		values[11];
		bool		nulls[11] = {0};

		values[0] = Int32GetDatum(copy[i].pid);
		values[1] = ObjectIdGetDatum(copy[i].dboid);
		values[2] = CStringGetTextDatum(copy[i].collection);
		values[3] = Int64GetDatum(copy[i].compaction_id);
		values[4] = Int64GetDatum(copy[i].plan_id);
		values[5] = CStringGetTextDatum(copy[i].phase);
		values[6] = Int64GetDatum(copy[i].rows_done);
		values[7] = Int64GetDatum(copy[i].rows_total);
		values[8] = Int64GetDatum(copy[i].bytes_done);
		values[9] = Int64GetDatum(copy[i].bytes_total);
		values[10] = TimestampTzGetDatum(copy[i].started_at);
		tuplestore_putvalues(store, desc, values, nulls);
	}
}
