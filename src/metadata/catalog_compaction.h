/*-------------------------------------------------------------------------
 *
 * catalog_compaction.h
 *	  The catalog of compactions and their plans (segstore.compaction,
 *	  segstore.compaction_plan): queuing, claiming and finishing plans,
 *	  their state for SQL, the segments a swap retires, and the locks of
 *	  planning and of the compaction workers' slots.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_METADATA_CATALOG_COMPACTION_H
#define SEGSTORE_METADATA_CATALOG_COMPACTION_H

#include "nodes/pg_list.h"
#include "utils/tuplestore.h"

#include "metadata/catalog.h"

typedef enum SsTrigger
{
	SS_TRIGGER_MANUAL,
	SS_TRIGGER_FULL,
	SS_TRIGGER_AUTO
} SsTrigger;

/*
 * The settings that shape a plan, stored with it: the queuing session's,
 * since the worker that runs the plan has its own.
 */
typedef struct SsPlanSettings
{
	int64		max_segment_size;	/* bytes */
	int64		memory_limit;	/* bytes */
	int			retention_s;
	int			timeout_s;
} SsPlanSettings;

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

/* A compacted segment whose files may go, and the swap that made it so. */
typedef struct SsDroppableSegment
{
	int64		segment_id;
	TransactionId compacted_xid;
} SsDroppableSegment;

extern int64 SsCatalogInsertCompaction(int64 collection_id, SsTrigger trigger, const char *reason);
extern void SsCatalogInsertPlan(int64 compaction_id, int64 collection_id, SsTrigger trigger,
								const char *plan_type, const int64 *sources, int nsources,
								const SsPlanSettings *settings);
extern List *SsCatalogBusySegments(int64 collection_id);
extern int64 SsCatalogCompactionCollection(int64 compaction_id);
extern void SsCatalogCompactionState(int64 compaction_id, SsCompactionState *state);
extern void SsCatalogCompactionPlans(int64 compaction_id, Tuplestorestate *store, TupleDesc desc);
extern List *SsCatalogCancelCompaction(int64 compaction_id);
extern bool SsCatalogPlansPending(void);
extern bool SsCatalogCompactionQueuedHere(int64 compaction_id);
extern bool SsCatalogCompactionCollectionLockedHere(int64 compaction_id);
extern int64 SsCatalogClaimPlan(void);
extern SsPlan *SsCatalogGetPlan(int64 plan_id);
extern void SsCatalogFinishPlan(int64 plan_id, const char *state, const SsPlanResult *result,
								const char *error);
extern bool SsCatalogCompactionCancelRequested(int64 plan_id);
extern void SsCatalogFailOrphanedPlans(void);
extern bool SsCatalogPlanOrphaned(int64 plan_id, int pid);
extern void SsCatalogMarkCompacted(const int64 *segments, int n, int retention_s);
extern void SsCatalogSetPurgedUntil(const int64 *segments, int n, TimestampTz purged_until);
extern void SsCatalogRaiseHistoryFrom(int64 collection_id, TimestampTz purged_until);
extern List *SsCatalogDroppableSegments(void);
extern bool SsCatalogCloseCompaction(int64 compaction_id, SsCompactionSummary *summary);
extern int64 SsCatalogPruneHistory(int retention_s);
extern bool SsCatalogDropSegment(int64 segment_id);
extern bool SsCatalogCompactedSegmentsExist(void);

#endif							/* SEGSTORE_METADATA_CATALOG_COMPACTION_H */
