/*-------------------------------------------------------------------------
 *
 * compaction.h
 *	  Compaction: planning (compact_plan.c) and executing a plan
 *	  (compact_exec.c).  The catalog of compactions and plans is
 *	  metadata/catalog_compaction.h; the workers that run plans are in
 *	  workers/.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_COMPACTION_COMPACTION_H
#define SEGSTORE_COMPACTION_COMPACTION_H

#include "lib/stringinfo.h"

#include "metadata/catalog_compaction.h"

/*
 * Memory a plan spends whatever its chunk sizes (compact_plan.c): the
 * target's writer holds a block, its compressed copy and scratch per
 * column and zstd's compression state; each source's reader decompresses
 * a block per column at a time with a zstd decompression state.
 */
#define SS_BLOCK_BYTES ((int64) 1024 * 1024)
extern int64 SsPlanFixedMemory(int ncols, int nsources);

/* compact_plan.c */
extern int64 SsCompactionPlan(SsCollection *coll, SsTrigger trigger, StringInfo why);

/* compact_exec.c */
extern bool ss_plan_timed_out;
extern void SsCompactionReserveIds(SsPlan *plan);
extern void SsCompactionExecute(SsPlan *plan, SsPlanResult *result);

/* Settings (compact_plan.c) */
extern bool	ss_enable_compaction;
extern double ss_delete_ratio_threshold;
extern int	ss_delta_size_threshold_kb;
extern int	ss_merge_min_segments;
extern double ss_small_segment_proportion;
extern int	ss_compaction_memory_limit_kb;
extern int	ss_compaction_timeout_s;
extern void SsCompactionInit(void);

#endif							/* SEGSTORE_COMPACTION_COMPACTION_H */
