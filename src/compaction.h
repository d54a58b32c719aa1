/*-------------------------------------------------------------------------
 *
 * compaction.h
 *	  Compaction: planning (compact_plan.c), executing a plan
 *	  (compact_exec.c), the workers that run plans (compact_worker.c) and
 *	  the catalog of compactions and plans (catalog_compaction.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_COMPACTION_H
#define SEGSTORE_COMPACTION_H

#include "lib/stringinfo.h"
#include "postmaster/bgworker.h"
#include "utils/tuplestore.h"

#include "catalog.h"

typedef enum SsTrigger
{
	SS_TRIGGER_MANUAL,
	SS_TRIGGER_FULL,
	SS_TRIGGER_AUTO
} SsTrigger;

/* A plan as the executor sees it. */
typedef struct SsPlan
{
	int64		plan_id;
	int64		compaction_id;
	int64		collection_id;
	char	   *plan_type;
	int64	   *sources;
	int			nsources;
	int64		max_segment_size;
	int64		memory_limit;
	int			retention_s;
	int			timeout_s;
} SsPlan;

/* What executing a plan did. */
typedef struct SsPlanResult
{
	int64	   *targets;
	int			ntargets;
	int64		rows_in;
	int64		rows_out;
	int64		deleted_purged;
	int64		deletes_kept;
	int64		bytes_in;
	int64		bytes_out;
	int64		peak_memory;
} SsPlanResult;

/* compaction_state() */
typedef struct SsCompactionState
{
	int64		compaction_id;
	const char *state;
	int			executing;
	int			completed;
	int			failed;
	int			timeout;
	int			total;
} SsCompactionState;

/* A finished compaction, for its log line. */
typedef struct SsCompactionSummary
{
	int64		compaction_id;
	char	   *collection;
	char	   *trigger;
	int			plans;
	int			failed;
	int64		rows_in;
	int64		rows_out;
	int64		bytes_in;
	int64		bytes_out;
	int64		duration_ms;
} SsCompactionSummary;

/*
 * Memory a plan spends whatever its chunk sizes: the target's writer holds
 * a block, its compressed copy and scratch per column; each source's
 * reader decompresses a block per column at a time.
 */
#define SS_BLOCK_BYTES ((int64) 1024 * 1024)
#define SsPlanFixedMemory(ncols, nsources) \
	((int64) (ncols) * 3 * SS_BLOCK_BYTES + (int64) (nsources) * (ncols) * SS_BLOCK_BYTES)

/* compact_plan.c */
extern int64 SsCompactionPlan(SsCollection *coll, SsTrigger trigger, StringInfo why);

/* compact_exec.c */
extern bool ss_plan_timed_out;
extern void SsCompactionExecute(SsPlan *plan, SsPlanResult *result);

/* compact_worker.c */
extern void SsCompactionLaunchAtCommit(void);
extern void SsCompactionCancelAtCommit(List *pids);
extern bool SsCompactionLaunchWorker(void);
extern PGDLLEXPORT void SsCompactionWorkerMain(Datum arg);

/* catalog_compaction.c */
extern int64 SsCatalogInsertCompaction(int64 collection_id, SsTrigger trigger, const char *reason);
extern void SsCatalogInsertPlan(int64 compaction_id, int64 collection_id, SsTrigger trigger,
								const char *plan_type, const int64 *sources, int nsources);
extern void SsCatalogLockPlanning(int64 collection_id);
extern List *SsCatalogBusySegments(int64 collection_id);
extern int64 SsCatalogCompactionCollection(int64 compaction_id);
extern void SsCatalogCompactionState(int64 compaction_id, SsCompactionState *state);
extern void SsCatalogCompactionPlans(int64 compaction_id, Tuplestorestate *store, TupleDesc desc);
extern List *SsCatalogCancelCompaction(int64 compaction_id);
extern bool SsCatalogPlansPending(void);
extern bool SsCatalogCompactionQueuedHere(int64 compaction_id);
extern int64 SsCatalogClaimPlan(void);
extern SsPlan *SsCatalogGetPlan(int64 plan_id);
extern void SsCatalogFinishPlan(int64 plan_id, const char *state, const SsPlanResult *result,
								const char *error);
extern bool SsCatalogCompactionCancelRequested(int64 plan_id);
extern void SsCatalogFailOrphanedPlans(void);
extern void SsCatalogMarkCompacted(const int64 *segments, int n, int retention_s);
extern List *SsCatalogDroppableSegments(void);
extern bool SsCatalogCloseCompaction(int64 compaction_id, SsCompactionSummary *summary);
extern int64 SsCatalogPruneHistory(int retention_s);
extern bool SsCatalogDropSegment(int64 segment_id);

#endif
