/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  The shared memory of the launcher, the workers and compaction
 *	  progress; it exists only when segstore is preloaded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "status/status.h"

SsShared   *ss_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Ask for the space and the lock while the postmaster sizes shared memory. */
static void
SsShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SsShared)));
	RequestNamedLWLockTranche("segstore", 1);
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
		ss_shared->lock = &(GetNamedLWLockTranche("segstore"))->lock;
		ss_shared->rescan = true;
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
