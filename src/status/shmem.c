/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  The shared memory of the launcher, the workers, compaction progress
 *	  and growing data sizes; it exists only when segstore is preloaded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "status/status.h"

SsShared   *ss_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool vacuum_at_commit = false;
static bool vacuum_callback_registered = false;

/* Ask for the space and the lock while the postmaster sizes shared memory. */
static void
SsShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SsShared)));
	RequestNamedLWLockTranche("segstore", 2);
}

/* Attach to (or, first, initialise) the shared state. */
static void
SsShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ss_shared = ShmemInitStruct("segstore", sizeof(SsShared), &found);
	if (!found)
	{
		memset(ss_shared, 0, sizeof(SsShared));
		ss_shared->lock = &(GetNamedLWLockTranche("segstore"))[0].lock;
		ss_shared->stamps.lock = &(GetNamedLWLockTranche("segstore"))[1].lock;
		ss_shared->rescan = true;
		ConditionVariableInit(&ss_shared->plan_ended);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init while shared_preload_libraries is being processed. */
void
SsShmemInstallHooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = SsShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = SsShmemStartup;
}

/* At commit, pass a pending vacuum request to the database's worker. */
static void
VacuumGrowingCallback(XactEvent event, void *arg)
{
	int			i;

	if (!vacuum_at_commit)
		return;
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	vacuum_at_commit = false;
	/* a prepared seal is left to the worker's next regular run */
	if (event != XACT_EVENT_COMMIT)
		return;
	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < SS_MAX_DATABASES; i++)
	{
		SsDatabaseSlot *slot = &ss_shared->databases[i];

		if (slot->dboid == MyDatabaseId && slot->state == SS_WORKER_RUNNING &&
			slot->latch != NULL)
		{
			slot->vacuum_growing = true;
			SetLatch(slot->latch);
		}
	}
	LWLockRelease(ss_shared->lock);
}

/*
 * Ask this database's maintenance worker to vacuum the growing tables once
 * the transaction commits.  A seal deletes every row it moved into a
 * segment, and until vacuum reclaims their pages every search scans them.
 */
void
SsShmemVacuumGrowingAtCommit(void)
{
	if (ss_shared == NULL)
		return;
	if (!vacuum_callback_registered)
	{
		RegisterXactCallback(VacuumGrowingCallback, NULL);
		vacuum_callback_registered = true;
	}
	vacuum_at_commit = true;
}

/*
 * Add bytes (negative: take them off) to the count of a collection's
 * growing data in this database and return the new count, never below
 * zero.  Collections share the table by hash; when every slot is taken,
 * the one at the hash position is given to this collection, whose count
 * then starts again from what is added now.
 */
int64
SsShmemGrowingAdd(int64 collection_id, int64 bytes)
{
	uint32		start;
	SsGrowingSlot *slot = NULL;
	int64		result;
	int			i;

	if (ss_shared == NULL)
		return 0;
	start = (uint32) ((uint64) collection_id * 2654435761u ^ MyDatabaseId) % SS_MAX_GROWING;
	LWLockAcquire(ss_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < SS_MAX_GROWING; i++)
	{
		SsGrowingSlot *s = &ss_shared->growing[(start + i) % SS_MAX_GROWING];

		if (s->dboid == MyDatabaseId && s->collection_id == collection_id)
		{
			slot = s;
			break;
		}
		/* slots are never freed: a probe ends at the first free one */
		if (s->dboid == InvalidOid)
		{
			slot = s;
			break;
		}
	}
	if (slot == NULL)
		slot = &ss_shared->growing[start];
	if (slot->dboid != MyDatabaseId || slot->collection_id != collection_id)
	{
		slot->dboid = MyDatabaseId;
		slot->collection_id = collection_id;
		slot->bytes = 0;
	}
	slot->bytes = Max(slot->bytes + bytes, 0);
	result = slot->bytes;
	LWLockRelease(ss_shared->lock);
	return result;
}
