/*-------------------------------------------------------------------------
 *
 * compact_plan.c
 *	  Turning a collection's segments into compaction plans.
 *
 * Manual compact(): a merge plan for each group of small segments that
 * fits under segstore.max_segment_size, and a delete plan for every other
 * segment with deletes.  Full compaction: the whole collection in plans of
 * at most max_segment_size worth of live data each (beyond what one plan
 * can hold in memory, more plans).  Automatic rules (trigger_compaction):
 * a delete plan where the deleted share or the delta binlogs pass their
 * thresholds, merge plans when there are more small segments than
 * segstore.merge_min_segments.  Segments already in a queued or running
 * plan are left out, so two plans never rewrite the same segment; a plan
 * left running by a worker that died (a crash) is marked failed first, so
 * that its segments are free again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "lib/stringinfo.h"
#include "utils/guc.h"

#include "compaction/compaction.h"
#include "data/segment.h"
#include "data/write.h"
#include "metadata/locks.h"

/* Defaults of this module's settings (see SsCompactionInit). */
#define ENABLE_COMPACTION_DEFAULT true
#define DELETE_RATIO_THRESHOLD_DEFAULT 0.2
#define DELTA_SIZE_THRESHOLD_DEFAULT (10 * 1024)
#define MERGE_MIN_SEGMENTS_DEFAULT 10
#define SMALL_SEGMENT_PROPORTION_DEFAULT 0.5
#define COMPACTION_MEMORY_LIMIT_DEFAULT (256 * 1024)
#define COMPACTION_TIMEOUT_DEFAULT 3600

bool		ss_enable_compaction = ENABLE_COMPACTION_DEFAULT;
double		ss_delete_ratio_threshold = DELETE_RATIO_THRESHOLD_DEFAULT;
int			ss_delta_size_threshold_kb = DELTA_SIZE_THRESHOLD_DEFAULT;
int			ss_merge_min_segments = MERGE_MIN_SEGMENTS_DEFAULT;
double		ss_small_segment_proportion = SMALL_SEGMENT_PROPORTION_DEFAULT;
int			ss_compaction_memory_limit_kb = COMPACTION_MEMORY_LIMIT_DEFAULT;
int			ss_compaction_timeout_s = COMPACTION_TIMEOUT_DEFAULT;

/* See compaction.h. */
int64
SsPlanFixedMemory(int ncols, int nsources)
{
	return (int64) ncols * 3 * SS_BLOCK_BYTES + (int64) nsources * ncols * SS_BLOCK_BYTES +
		(int64) SsBinlogCompressMemory(ss_compression_level, SS_BLOCK_BYTES) +
		(int64) nsources * SsBinlogDecompressMemory();
}

/* Estimated uncompressed bytes of a segment's live rows. */
static int64
LiveBytes(const SsSegment *seg)
{
	int64		deleted = seg->delta_rows + seg->pending_rows;

	if (seg->num_rows <= 0)
		return 0;
	return seg->insert_raw_bytes * (seg->num_rows - deleted) / seg->num_rows;
}

/*
 * Most segments one plan merges: its fixed costs and a minimal chunk of 64
 * rows per source must fit in half its memory limit, the other half being
 * for chunks and the target's keys.
 */
static int
MaxSourcesPerPlan(SsCollection *coll, List *segments)
{
	int			ncols = coll->nfields + 1;
	int64		half = (int64) ss_compaction_memory_limit_kb * 1024 / 2;
	int64		row_bytes = 1;
	int64		n;
	ListCell   *lc;

	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);

		if (seg->num_rows > 0)
			row_bytes = Max(row_bytes, seg->insert_raw_bytes / seg->num_rows);
	}
	n = (half - SsPlanFixedMemory(ncols, 0)) / (ncols * SS_BLOCK_BYTES + 64 * row_bytes);
	return (int) Max(Min(n, 1000), 2);
}

/*
 * The settings a plan queued now is run with: this session's, but the
 * retention window, which is the collection's.
 */
static void
GetPlanSettings(SsCollection *coll, SsPlanSettings *settings)
{
	settings->max_segment_size = (int64) ss_max_segment_size_mb * 1024 * 1024;
	settings->memory_limit = (int64) ss_compaction_memory_limit_kb * 1024;
	settings->retention_s = coll->retention_s;
	settings->timeout_s = ss_compaction_timeout_s;
}

/*
 * Queue plans for groups of segments: consecutive segments are packed into
 * one plan while their live data fits under max_segment_size and the plan
 * stays within its source limit.  A group of one gets a delete plan if it
 * has deletes (or always, with force_single), else nothing.
 */
static int
QueueGroups(int64 compaction_id, SsCollection *coll, SsTrigger trigger,
			List *segments, const char *merge_type, bool force_single)
{
	SsPlanSettings settings;
	int			max_sources = MaxSourcesPerPlan(coll, segments);
	int64	   *group = palloc(sizeof(int64) * Max(list_length(segments), 1));
	int			ngroup = 0;
	int64		bytes = 0;
	bool		has_deletes = false;
	int			nplans = 0;
	int			i;

	GetPlanSettings(coll, &settings);
	for (i = 0; i <= list_length(segments); i++)
	{
		SsSegment  *seg = i < list_length(segments) ? list_nth(segments, i) : NULL;
		bool		close = seg == NULL ||
			(ngroup > 0 && (bytes + LiveBytes(seg) > settings.max_segment_size ||
							 ngroup >= max_sources));

		if (close && ngroup > 0)
		{
			if (ngroup > 1)
			{
				SsCatalogInsertPlan(compaction_id, coll->id, trigger, merge_type,
									group, ngroup, &settings);
				nplans++;
			}
			else if (has_deletes || force_single)
			{
				SsCatalogInsertPlan(compaction_id, coll->id, trigger,
									force_single ? merge_type : "delete", group, 1, &settings);
				nplans++;
			}
			ngroup = 0;
			bytes = 0;
			has_deletes = false;
		}
		if (seg == NULL)
			break;
		group[ngroup++] = seg->segment_id;
		bytes += LiveBytes(seg);
		has_deletes |= seg->delta_rows + seg->pending_rows > 0;
	}
	return nplans;
}

/* Is a segment listed among busy ones? */
static bool
IsBusy(List *busy, int64 segment_id)
{
	ListCell   *lc;

	foreach(lc, busy)
		if (*(int64 *) lfirst(lc) == segment_id)
			return true;
	return false;
}

/* Does a segment pass an automatic delete-compaction threshold? */
static bool
DeleteRuleFires(const SsSegment *seg)
{
	int64		deleted = seg->delta_rows + seg->pending_rows;

	if (deleted == 0)
		return false;
	return deleted >= ss_delete_ratio_threshold * seg->num_rows ||
		seg->delta_bytes >= (int64) ss_delta_size_threshold_kb * 1024;
}

/* Why no automatic rule fired: how close the collection is to each. */
static void
ExplainNoRule(StringInfo why, List *all, int nsmall)
{
	double		max_share = 0;
	int64		max_delta = 0;
	ListCell   *lc;

	foreach(lc, all)
	{
		SsSegment  *seg = lfirst(lc);

		if (seg->num_rows > 0)
			max_share = Max(max_share,
							(double) (seg->delta_rows + seg->pending_rows) / seg->num_rows);
		max_delta = Max(max_delta, seg->delta_bytes);
	}
	appendStringInfo(why, "no rule fired: %d small segments (merge above %d), "
					 "most deleted %.0f%% of a segment (delete at %.0f%%), "
					 "largest delta " INT64_FORMAT " kB (delete at %d kB)",
					 nsmall, ss_merge_min_segments, max_share * 100,
					 ss_delete_ratio_threshold * 100, max_delta / 1024,
					 ss_delta_size_threshold_kb);
}

/*
 * Plan a compaction of a collection and queue its plans.  Returns the
 * compaction's id; for the automatic trigger, 0 when no rule fires or
 * automatic compaction is off (segstore.enable_compaction, or the
 * collection's auto_compaction); a manual or full compaction with nothing
 * to do is recorded, Completed at once, as Milvus does.  For the automatic
 * trigger, why (if given) gets the rules that fired, or how far the
 * collection is from each.
 */
int64
SsCompactionPlan(SsCollection *coll, SsTrigger trigger, StringInfo why)
{
	List	   *busy;
	List	   *segments;
	List	   *small = NIL;
	List	   *large = NIL;
	List	   *all = NIL;
	int64		small_limit = (int64) (ss_small_segment_proportion *
									   ss_max_segment_size_mb * 1024 * 1024);
	int64		id;
	ListCell   *lc;
	StringInfoData reason;

	if (trigger == SS_TRIGGER_AUTO && !(ss_enable_compaction && coll->auto_compaction))
		return 0;

	/*
	 * Planners of one collection take turns, so that two never plan the
	 * same segments; writers are not held up, as the swap checks that
	 * sources are still flushed.
	 */
	SsLockPlanning(coll->id);
	SsCatalogFailOrphanedPlans();
	busy = SsCatalogBusySegments(coll->id);
	segments = SsCatalogSegments(coll->id, true);
	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);

		if (IsBusy(busy, seg->segment_id))
			continue;
		all = lappend(all, seg);
		if (seg->insert_raw_bytes < small_limit)
			small = lappend(small, seg);
		else
			large = lappend(large, seg);
	}

	initStringInfo(&reason);
	if (trigger == SS_TRIGGER_AUTO)
	{
		List	   *deletes = NIL;

		foreach(lc, all)
			if (DeleteRuleFires(lfirst(lc)))
				deletes = lappend(deletes, lfirst(lc));
		if (list_length(small) > ss_merge_min_segments)
			appendStringInfo(&reason, "%d small segments (more than %d)",
							 list_length(small), ss_merge_min_segments);
		if (deletes != NIL)
			appendStringInfo(&reason, "%s%d segments with deletes over the thresholds",
							 reason.len ? "; " : "", list_length(deletes));
		if (reason.len == 0)
		{
			if (why)
				ExplainNoRule(why, all, list_length(small));
			return 0;
		}
		if (why)
			appendStringInfoString(why, reason.data);
		id = SsCatalogInsertCompaction(coll->id, trigger, reason.data);
		if (list_length(small) > ss_merge_min_segments)
		{
			QueueGroups(id, coll, trigger, small, "merge", false);
			foreach(lc, deletes)
				if (((SsSegment *) lfirst(lc))->insert_raw_bytes >= small_limit)
					QueueGroups(id, coll, trigger, list_make1(lfirst(lc)), "merge", false);
		}
		else
			foreach(lc, deletes)
				QueueGroups(id, coll, trigger, list_make1(lfirst(lc)), "merge", false);
		return id;
	}

	id = SsCatalogInsertCompaction(coll->id, trigger, NULL);
	if (trigger == SS_TRIGGER_FULL)
		QueueGroups(id, coll, trigger, all, "full", true);
	else
	{
		QueueGroups(id, coll, trigger, small, "merge", false);
		foreach(lc, large)
			QueueGroups(id, coll, trigger, list_make1(lfirst(lc)), "merge", false);
	}
	return id;
}

/* Define this module's settings; called from _PG_init. */
void
SsCompactionInit(void)
{
	DefineCustomBoolVariable("segstore.enable_compaction",
							 "Lets the automatic trigger rules queue compactions.",
							 "Manual segstore.compact() works either way.",
							 &ss_enable_compaction, ENABLE_COMPACTION_DEFAULT,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("segstore.delete_ratio_threshold",
							 "A segment whose deleted rows reach this fraction of its rows gets a delete compaction.",
							 NULL, &ss_delete_ratio_threshold, DELETE_RATIO_THRESHOLD_DEFAULT, 0.0, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.delta_size_threshold",
							"A segment whose delta binlogs reach this size gets a delete compaction.",
							NULL, &ss_delta_size_threshold_kb, DELTA_SIZE_THRESHOLD_DEFAULT, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.merge_min_segments",
							"Small segments are merged when there are more of them than this.",
							NULL, &ss_merge_min_segments, MERGE_MIN_SEGMENTS_DEFAULT, 1, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("segstore.small_segment_proportion",
							 "A segment smaller than this fraction of segstore.max_segment_size is small.",
							 NULL, &ss_small_segment_proportion, SMALL_SEGMENT_PROPORTION_DEFAULT, 0.0, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.compaction_memory_limit",
							"Memory one compaction plan may use, whatever the segment sizes.",
							NULL, &ss_compaction_memory_limit_kb, COMPACTION_MEMORY_LIMIT_DEFAULT, 32 * 1024, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.compaction_timeout",
							"A compaction plan running longer than this fails with state timeout; 0 disables.",
							NULL, &ss_compaction_timeout_s, COMPACTION_TIMEOUT_DEFAULT, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}
