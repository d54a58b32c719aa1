/*-------------------------------------------------------------------------
 *
 * status.h
 *	  The shared memory of segstore's background machinery (shmem.c): one
 *	  slot per database for its maintenance worker, which the launcher
 *	  fills and worker_status reads, one slot per running compaction plan
 *	  for its live progress (progress.c), the size of each collection's
 *	  growing data, and the writers in progress with their time stamps.
 *
 * It exists only with shared_preload_libraries: without it ss_shared is
 * NULL, the progress functions do nothing and the views are empty.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_STATUS_STATUS_H
#define SEGSTORE_STATUS_STATUS_H

#include "funcapi.h"
#include "access/transam.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

/* Databases the launcher can look after, and plans that can report progress. */
#define SS_MAX_DATABASES 128
#define SS_MAX_PROGRESS 128
#define SS_MAX_GROWING 1024
#define SS_MAX_STAMPS 4096
#define SS_DECISION_LEN 1024
#define SS_ERROR_LEN 256

typedef enum SsWorkerState
{
	SS_WORKER_FREE = 0,			/* slot unused */
	SS_WORKER_WANTED,			/* the launcher should start a worker */
	SS_WORKER_RUNNING,			/* a worker was started (it may have died) */
	SS_WORKER_NO_EXTENSION		/* the database has no segstore: wait for
								 * CREATE EXTENSION */
} SsWorkerState;

/* One database's maintenance worker, as the launcher and the view see it. */
typedef struct SsDatabaseSlot
{
	Oid			dboid;
	SsWorkerState state;
	int			pid;			/* 0 when no worker runs */
	Latch	   *latch;			/* the running worker's, else NULL */
	bool		vacuum_growing; /* a seal asked for the growing tables' vacuum */
	TimestampTz started_at;
	TimestampTz last_run_at;	/* end of the last run */
	int64		last_run_ms;
	int64		runs;
	TimestampTz next_run_at;
	TimestampTz blocked_until;	/* DROP DATABASE in progress: do not start */
	TimestampTz restart_at;		/* a worker died: start again then */
	int			restarts;
	char		decision[SS_DECISION_LEN];
	char		last_error[SS_ERROR_LEN];
} SsDatabaseSlot;

/* One running compaction plan's progress. */
typedef struct SsProgressSlot
{
	int			pid;			/* 0 when free */
	Oid			dboid;
	int64		compaction_id;
	int64		plan_id;
	char		collection[NAMEDATALEN];
	char		phase[16];
	int64		rows_done;
	int64		rows_total;
	int64		bytes_done;
	int64		bytes_total;
	TimestampTz started_at;
} SsProgressSlot;

/*
 * Bytes that arrived in a collection's growing table since its last seal,
 * by estimate: writers add what they insert, a seal takes off what was
 * counted when it began.  Rows of a writer that aborts count until the
 * next seal; the count starts at zero after a restart, when the worker's
 * seal of idle growing data covers what was there.
 */
typedef struct SsGrowingSlot
{
	Oid			dboid;			/* InvalidOid when free */
	int64		collection_id;
	int64		bytes;
} SsGrowingSlot;

/*
 * A transaction that writes into a collection, with the time its rows and
 * deletes there are stamped at or after (data/stamp.c); kept until no
 * snapshot can see the transaction as in progress.
 */
typedef struct SsStampSlot
{
	Oid			dboid;
	int64		collection_id;
	FullTransactionId fxid;
	TimestampTz stamp;
} SsStampSlot;

typedef struct SsStamps
{
	LWLock	   *lock;			/* protects the rest */
	int			n;
	FullTransactionId evicted;	/* newest transaction forgotten for want of room */
	TimestampTz bound;			/* standby: latest registration or clock replayed */
	SsStampSlot slots[SS_MAX_STAMPS];
} SsStamps;

typedef struct SsShared
{
	SsStamps	stamps;			/* under its own lock */
	ConditionVariable plan_ended;	/* a compaction plan's end committed */
	LWLock	   *lock;			/* protects everything below */
	int			launcher_pid;
	Latch	   *launcher_latch;
	bool		rescan;			/* databases or extensions changed */
	SsDatabaseSlot databases[SS_MAX_DATABASES];
	SsProgressSlot progress[SS_MAX_PROGRESS];
	SsGrowingSlot growing[SS_MAX_GROWING];
} SsShared;

/* shmem.c */
extern SsShared *ss_shared;
extern void SsShmemInstallHooks(void);
extern void SsShmemVacuumGrowingAtCommit(void);
extern int64 SsShmemGrowingAdd(int64 collection_id, int64 bytes);

/* stamps.c */
extern FullTransactionId SsRecentFullXid(TransactionId xid);
extern TimestampTz SsStampsRegister(Oid dboid, int64 collection_id, FullTransactionId fxid,
									void (*log) (const SsStampSlot *slot));
extern void SsStampsClock(void (*log) (const SsStampSlot *slot));
extern void SsStampsReplay(const SsStampSlot *slot);
extern int	SsStampsCollect(Oid dboid, int64 collection_id, TimestampTz as_of,
							SsStampSlot *out, TimestampTz *bound, FullTransactionId *evicted);

/* progress.c */
extern void SsProgressBegin(int64 compaction_id, int64 plan_id, const char *collection,
							int64 rows_total, int64 bytes_total);
extern void SsProgressPhase(const char *phase);
extern void SsProgressAdvance(int64 rows, int64 bytes);
extern void SsProgressEnd(void);
extern void SsProgressPlanEnded(void);
extern void SsProgressPrepareWait(void);
extern void SsProgressWait(long timeout_ms);
extern void SsProgressCancelWait(void);
extern void SsProgressList(Tuplestorestate *store, TupleDesc desc);

#endif							/* SEGSTORE_STATUS_STATUS_H */
