/*-------------------------------------------------------------------------
 *
 * compact_exec.c
 *	  Executing one compaction plan: a streaming k-way merge of the source
 *	  segments' pk-sorted rows into target segments, then a short swap.
 *
 * A plan whose sources do not overlap in keys (always so for one source)
 * goes column by column and copies whole compressed blocks whose rows all
 * survive (CompactColumnWise).  Other plans merge: each source is read a chunk of rows at a time, sized so that
 * all chunks together stay under half of the plan's memory limit, and
 * targets are written through a streaming writer that holds about one
 * block per column; so memory does not grow with segment sizes.  A row
 * whose delete is older than the retention window is dropped; a younger
 * delete is kept, the row with it and the delete as a delta binlog of the
 * target, so the row stays there for time travel inside the window.  When one key appears in several sources (a
 * deleted row kept for retention and a later re-insert), only the live row
 * is kept, since a target's deletes are keyed by primary key alone.
 *
 * Targets are only files until the swap, so a plan holds no catalog lock
 * while it waits for one.  The swap takes the collection's state lock, so
 * no delete of a flushed row, seal or flush runs meanwhile (inserts and
 * deletes of growing rows do, which the swap does not touch); it registers the targets,
 * checks the sources are still flushed and moves every delete that reached
 * a source while the plan ran onto the target holding that key.  Targets,
 * moved deletes and the sources' new state commit together: no delete is
 * lost, and an error anywhere leaves the sources as they were and the
 * targets' files orphans for garbage collection.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "compaction/compaction.h"
#include "data/index.h"
#include "data/segment.h"
#include "format/binlog.h"
#include "status/status.h"

/* Per-row memory of CompactColumnWise: key, time, keep flag, kept key, target key. */
#define SS_COLUMNWISE_ROW_BYTES 33

/* Set when a plan stops for its timeout, to tell that from a cancel. */
bool		ss_plan_timed_out = false;

/* One source segment being merged. */
typedef struct Source
{
	SsSegment  *seg;
	SsBinlogReader *reader;
	int64		next;			/* first row not yet loaded */
	SsBatch    *chunk;			/* loaded rows */
	int64		pos;			/* next row within chunk */
	int64		last_key;		/* key of row next - 1, once next > 0 */
	MemoryContext cxt;			/* holds chunk */
	int64	   *del_keys;		/* deletes known when the plan started */
	TimestampTz *del_ts;
	int			ndel;
	int			del_pos;		/* NextDelete's cursor into del_keys */
	bool		purged;			/* every row goes: nothing to read */
} Source;

/* State of one plan's execution. */
typedef struct Merge
{
	SsCollection *coll;
	SsPlan	   *plan;
	SsPlanResult *result;
	Source	   *sources;
	int			nsources;
	int64		chunk_rows;
	TimestampTz cutoff;			/* deletes before this are purged */
	TimestampTz purged_until;	/* latest delete purged, by this plan or before */
	TimestampTz deadline;		/* 0: no timeout */
	MemoryContext cxt;			/* everything of the plan */
	SsSegmentWriter *target;	/* being written, or NULL */
	List	   *targets;		/* finished Targets */
	bool		has_index;		/* the collection has an index: */
	SsIndexDef	index_def;
	List	   *index_files;	/* targets' index files (SsIndexBuilt), unregistered */
	int64	   *kept_keys;		/* deletes kept for the current target */
	TimestampTz *kept_ts;
	int			nkept;
	int			kept_capacity;
} Merge;

/* Sample the plan's memory; the peak is part of the plan's record. */
static void
TrackMemory(Merge *m)
{
	int64		used = (int64) MemoryContextMemAllocated(m->cxt, true);

	m->result->peak_memory = Max(m->result->peak_memory, used);
}

/* A row deleted at ts is dropped: as_of before ts can no longer be answered. */
static void
Purge(Merge *m, TimestampTz ts)
{
	m->result->deleted_purged++;
	m->purged_until = Max(m->purged_until, ts);
}

/* Stop a plan that has run past its timeout. */
static void
CheckDeadline(Merge *m)
{
	CHECK_FOR_INTERRUPTS();
	if (m->deadline != 0 && GetCurrentTimestamp() > m->deadline)
	{
		ss_plan_timed_out = true;
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("compaction plan " INT64_FORMAT " timed out after %d s",
						m->plan->plan_id, m->plan->timeout_s),
				 errdetail("segstore.compaction_timeout bounds a plan.")));
	}
}

/* Load the next chunk of a source; false when it is exhausted. */
static bool
LoadChunk(Merge *m, Source *src)
{
	int64		count = Min(m->chunk_rows, src->seg->num_rows - src->next);
	MemoryContext old;
	int			c;

	MemoryContextReset(src->cxt);
	src->chunk = NULL;
	src->pos = 0;
	if (count <= 0)
		return false;
	old = MemoryContextSwitchTo(src->cxt);
	src->chunk = SsBatchCreate(m->coll->fields, m->coll->nfields, count);
	for (c = 0; c < src->chunk->ncols; c++)
		SsBinlogReadRange(src->reader, c, src->next, count, &src->chunk->cols[c]);
	MemoryContextSwitchTo(old);
	SsSegmentCheckKeys(src->seg->insert_path, src->seg->pk_min, src->seg->pk_max,
					   (const int64 *) src->chunk->cols[m->coll->pk].values, src->next, count,
					   src->last_key);
	src->last_key = ((const int64 *) src->chunk->cols[m->coll->pk].values)[count - 1];
	src->next += count;
	SsProgressAdvance(count, src->seg->size_bytes * count / Max(src->seg->num_rows, 1));
	TrackMemory(m);
	CheckDeadline(m);
	return true;
}

/* Current key of a source, or false if it has no rows left. */
static bool
CurrentKey(Merge *m, Source *src, int64 *key)
{
	if (src->purged)
		return false;
	if (src->chunk == NULL || src->pos >= src->chunk->nrows)
	{
		if (!LoadChunk(m, src))
			return false;
	}
	*key = SsBatchKey(src->chunk, m->coll->pk, src->pos);
	return true;
}

/* Index of a key among a source's deletes at the start, or -1. */
static int
FindDelete(const Source *src, int64 key)
{
	return (int) SsSortedFind(src->del_keys, src->ndel, key);
}

/*
 * FindDelete for the rows of a source read front to back: their keys come
 * in ascending order, so a cursor walks the sorted deletes once instead of
 * a binary search per row.
 */
static int
NextDelete(Source *src, int64 key)
{
	while (src->del_pos < src->ndel && src->del_keys[src->del_pos] < key)
		src->del_pos++;
	if (src->del_pos < src->ndel && src->del_keys[src->del_pos] == key)
		return src->del_pos;
	return -1;
}

/* A finished target: its files are written, its catalog rows wait for the swap. */
typedef struct Target
{
	SsSegmentWriter *writer;
	int64	   *kept_keys;		/* deletes kept for retention */
	TimestampTz *kept_ts;
	int			nkept;
} Target;

/* Finish the current target's files. */
static void
FinishTarget(Merge *m)
{
	SsSegmentWriter *w = m->target;
	Target	   *t;

	if (w == NULL)
		return;
	m->target = NULL;
	if (SsSegmentWriterRows(w) == 0)
	{
		SsSegmentWriterAbort(w);
		return;
	}
	SsSegmentWriterClose(w);
	t = palloc0(sizeof(Target));
	t->writer = w;
	t->nkept = m->nkept;
	if (m->nkept > 0)
	{
		t->kept_keys = palloc(sizeof(int64) * m->nkept);
		t->kept_ts = palloc(sizeof(TimestampTz) * m->nkept);
		memcpy(t->kept_keys, m->kept_keys, sizeof(int64) * m->nkept);
		memcpy(t->kept_ts, m->kept_ts, sizeof(TimestampTz) * m->nkept);
	}
	m->result->rows_out += SsSegmentWriterRows(w);
	m->nkept = 0;
	m->targets = lappend(m->targets, t);
	TrackMemory(m);
}

/*
 * Make sure a target is open with room for more rows: under the maximum
 * segment size, and with its keys (kept for its stats) within half the
 * plan's memory limit.
 */
static void
EnsureTarget(Merge *m)
{
	if (m->target != NULL &&
		(SsSegmentWriterRawBytes(m->target) >= m->plan->max_segment_size ||
		 SsSegmentWriterRows(m->target) * (int64) sizeof(int64) >= m->plan->memory_limit / 2))
		FinishTarget(m);
	if (m->target == NULL)
		m->target = SsSegmentWriterBegin(m->coll, SsCatalogNextId("segment_id_seq"));
}

/* Remember a kept (young) delete of a row just written to the target. */
static void
KeepDelete(Merge *m, int64 key, TimestampTz ts)
{
	if (m->nkept == m->kept_capacity)
	{
		m->kept_capacity *= 2;
		m->kept_keys = repalloc_huge(m->kept_keys, sizeof(int64) * m->kept_capacity);
		m->kept_ts = repalloc_huge(m->kept_ts, sizeof(TimestampTz) * m->kept_capacity);
	}
	m->kept_keys[m->nkept] = key;
	m->kept_ts[m->nkept++] = ts;
	m->result->deletes_kept++;
}

/* Is key past the limit of a run? */
static inline bool
PastLimit(int64 key, int64 limit, bool inclusive)
{
	return key > limit || (key == limit && !inclusive);
}

/*
 * Copy rows of src's chunk from pos while their keys are within limit,
 * dropping purged rows, in runs of at most 4096 rows so that a target
 * overshoots its size by little.
 */
static void
CopyRun(Merge *m, Source *src, int64 limit, bool inclusive)
{
	SsBatch    *chunk = src->chunk;
	int			pk = m->coll->pk;

	while (src->pos < chunk->nrows)
	{
		int64		key = SsBatchKey(chunk, pk, src->pos);
		int			d = NextDelete(src, key);
		int64		start;
		int64		end;

		if (PastLimit(key, limit, inclusive))
			return;
		if (d >= 0 && src->del_ts[d] < m->cutoff)
		{
			Purge(m, src->del_ts[d]);
			src->pos++;
			continue;
		}
		EnsureTarget(m);
		start = end = src->pos;
		while (end < chunk->nrows && end - start < 4096)
		{
			key = SsBatchKey(chunk, pk, end);
			if (PastLimit(key, limit, inclusive))
				break;
			d = NextDelete(src, key);
			if (d >= 0 && src->del_ts[d] < m->cutoff)
				break;
			if (d >= 0)
				KeepDelete(m, key, src->del_ts[d]);
			end++;
		}
		SsSegmentWriterAppend(m->target, chunk, start, end - start);
		src->pos = end;
		CheckDeadline(m);
	}
}

/*
 * Several sources hold the same key: keep the live row (there is at most
 * one), drop the deleted copies.
 */
static void
MergeDuplicates(Merge *m, int64 key, Source **dups, int ndups)
{
	int			i;

	for (i = 0; i < ndups; i++)
	{
		Source	   *src = dups[i];
		int			d = NextDelete(src, key);

		if (d >= 0)
		{
			Purge(m, src->del_ts[d]);
			src->pos++;
		}
		else
			CopyRun(m, src, key, true);
	}
}

/* The k-way merge of all sources into targets. */
static void
MergeSources(Merge *m)
{
	Source	  **dups = palloc(sizeof(Source *) * m->nsources);
	int			i;

	/* A source whose rows are all purged is never read. */
	for (i = 0; i < m->nsources; i++)
		if (m->sources[i].purged)
		{
			m->result->deleted_purged += m->sources[i].seg->num_rows;
			SsProgressAdvance(m->sources[i].seg->num_rows, m->sources[i].seg->size_bytes);
		}

	for (;;)
	{
		int64		min_key = 0;
		int64		second = PG_INT64_MAX;
		int			nmin = 0;

		for (i = 0; i < m->nsources; i++)
		{
			int64		key;

			if (!CurrentKey(m, &m->sources[i], &key))
				continue;
			if (nmin == 0 || key < min_key)
			{
				if (nmin > 0)
					second = Min(second, min_key);
				min_key = key;
				dups[0] = &m->sources[i];
				nmin = 1;
			}
			else if (key == min_key)
				dups[nmin++] = &m->sources[i];
			else
				second = Min(second, key);
		}
		if (nmin == 0)
			break;
		if (nmin > 1)
			MergeDuplicates(m, min_key, dups, nmin);
		else if (second == PG_INT64_MAX)
			CopyRun(m, dups[0], PG_INT64_MAX, true);
		else
			CopyRun(m, dups[0], second, false);
	}
	FinishTarget(m);
}

/* Order of sources by their smallest key. */
static int
SourceByFirstKey(const void *a, const void *b)
{
	const Source *x = *(Source *const *) a;
	const Source *y = *(Source *const *) b;

	return x->seg->pk_min < y->seg->pk_min ? -1 : x->seg->pk_min > y->seg->pk_min ? 1 : 0;
}

/*
 * Can the plan go column by column: do its sources' key ranges not overlap
 * (so that their rows, one source after the other, are in key order), does
 * what survives fit one target, and does the per-row state fit half the
 * memory limit?  Sources come back in key order.
 */
static bool
InKeyOrder(Merge *m, Source **ordered)
{
	int64		rows = 0;
	int64		bytes = 0;
	int			i;

	for (i = 0; i < m->nsources; i++)
	{
		SsSegment  *seg = m->sources[i].seg;

		ordered[i] = &m->sources[i];
		rows += seg->num_rows;
		if (seg->num_rows > 0)
			bytes += seg->insert_raw_bytes / seg->num_rows *
				(seg->num_rows - m->sources[i].ndel);
	}
	qsort(ordered, m->nsources, sizeof(Source *), SourceByFirstKey);
	for (i = 1; i < m->nsources; i++)
		if (ordered[i - 1]->seg->pk_max >= ordered[i]->seg->pk_min)
			return false;
	return bytes <= m->plan->max_segment_size &&
		rows * SS_COLUMNWISE_ROW_BYTES <= m->plan->memory_limit / 2;
}

/*
 * Decide which rows of a source survive (keep[r]), gathering their keys,
 * their time range and the deletes kept for retention.
 */
static void
ChooseRows(Merge *m, Source *src, bool *keep, int64 *keys, int64 *nkeys,
		   TimestampTz *ts_min, TimestampTz *ts_max)
{
	SsCollection *coll = m->coll;
	SsColumn	pkcol;
	SsColumn	tscol;
	int64		r;

	SsBinlogReadColumn(src->reader, coll->pk, &pkcol);
	SsBinlogReadColumn(src->reader, coll->nfields, &tscol);
	SsSegmentCheckKeys(src->seg->insert_path, src->seg->pk_min, src->seg->pk_max,
					   (const int64 *) pkcol.values, 0, pkcol.nrows, 0);
	for (r = 0; r < src->seg->num_rows; r++)
	{
		int64		key = ((int64 *) pkcol.values)[r];
		TimestampTz ts = ((TimestampTz *) tscol.values)[r];
		int			d = NextDelete(src, key);

		keep[r] = !(d >= 0 && src->del_ts[d] < m->cutoff);
		if (!keep[r])
		{
			Purge(m, src->del_ts[d]);
			continue;
		}
		if (d >= 0)
			KeepDelete(m, key, src->del_ts[d]);
		if (*nkeys == 0 || ts < *ts_min)
			*ts_min = ts;
		if (*nkeys == 0 || ts > *ts_max)
			*ts_max = ts;
		keys[(*nkeys)++] = key;
	}
	pfree(pkcol.values);
	pfree(tscol.values);
}

/* Append the surviving rows of one column of one source to the target. */
static void
CopyColumn(Merge *m, Source *src, const bool *keep, int c)
{
	int			nblocks = SsBinlogNumBlocks(src->reader, c);
	int			b;

	for (b = 0; b < nblocks; b++)
	{
		int64		first;
		int64		count;
		int64		n = 0;
		int64		r;

		SsBinlogBlockRows(src->reader, c, b, &first, &count);
		for (r = first; r < first + count; r++)
			n += keep[r];
		if (n == count)
			SsSegmentWriterCopyBlock(m->target, c, src->reader, b);
		else if (n > 0)
		{
			MemoryContext old = MemoryContextSwitchTo(src->cxt);
			SsColumn	col;
			int64		run = first;

			SsBinlogReadRange(src->reader, c, first, count, &col);
			MemoryContextSwitchTo(old);
			while (run < first + count)
			{
				int64		end = run;

				while (end < first + count && keep[end])
					end++;
				if (end > run)
					SsSegmentWriterAppendColumn(m->target, c, &col, run - first, end - run);
				run = end + 1;
			}
			TrackMemory(m);
			MemoryContextReset(src->cxt);
		}
		/* each column's pass counts for its share of the rows */
		SsProgressAdvance(count / (m->coll->nfields + 1),
						  src->seg->size_bytes * count / Max(src->seg->num_rows, 1) /
						  (m->coll->nfields + 1));
		CheckDeadline(m);
	}
}

/*
 * Sources whose key ranges do not overlap need no merge: one after the
 * other they are in key order.  So the plan goes column by column, and
 * blocks whose rows all survive are copied as they are on disk, blocks
 * with none are skipped, and only the others are decoded and re-encoded.
 * With clustered deletes this is mostly a file copy.
 */
static void
CompactColumnWise(Merge *m, Source **ordered)
{
	SsCollection *coll = m->coll;
	bool	  **keep = palloc(sizeof(bool *) * m->nsources);
	int64		rows = 0;
	int64	   *keys;
	int64		nkeys = 0;
	TimestampTz ts_min = 0;
	TimestampTz ts_max = 0;
	int			i;
	int			c;

	for (i = 0; i < m->nsources; i++)
		rows += ordered[i]->seg->num_rows;
	keys = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(rows, 1));
	for (i = 0; i < m->nsources; i++)
	{
		keep[i] = MemoryContextAllocHuge(CurrentMemoryContext,
										 Max(ordered[i]->seg->num_rows, 1));
		ChooseRows(m, ordered[i], keep[i], keys, &nkeys, &ts_min, &ts_max);
	}
	TrackMemory(m);
	if (nkeys == 0)
		return;

	SsProgressPhase("writing");
	m->target = SsSegmentWriterBegin(coll, SsCatalogNextId("segment_id_seq"));
	SsSegmentWriterSetKeys(m->target, keys, nkeys, ts_min, ts_max);
	pfree(keys);
	for (c = 0; c <= coll->nfields; c++)
		for (i = 0; i < m->nsources; i++)
			CopyColumn(m, ordered[i], keep[i], c);
	FinishTarget(m);
}

/* Target holding a key, or NULL (the row was purged). */
static Target *
TargetOf(Merge *m, int64 key)
{
	ListCell   *lc;

	foreach(lc, m->targets)
	{
		Target	   *t = lfirst(lc);
		int64		n;
		const int64 *keys = SsSegmentWriterKeys(t->writer, &n);

		if (SsSortedFind(keys, n, key) >= 0)
			return t;
	}
	return NULL;
}

/*
 * Take the collection's state lock for the swap.  A writer may hold it for
 * long; the plan's timeout bounds the wait too, through lock_timeout.
 */
static void
LockForSwap(Merge *m)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (m->deadline != 0)
	{
		int64		ms = (m->deadline - GetCurrentTimestamp()) / 1000;

		CheckDeadline(m);
		(void) set_config_option("lock_timeout", psprintf(INT64_FORMAT, Max(ms, 1)),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
								 true, 0, false);
	}
	PG_TRY();
	{
		(void) SsCatalogGetCollectionById(m->coll->id, false, true);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE || m->deadline == 0)
			PG_RE_THROW();
		FlushErrorState();
		ss_plan_timed_out = true;
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("compaction plan " INT64_FORMAT " timed out after %d s waiting to swap",
						m->plan->plan_id, m->plan->timeout_s),
				 errdetail("A transaction held the collection's state lock; segstore.compaction_timeout bounds a plan.")));
	}
	PG_END_TRY();
}

/*
 * The swap: under the collection's state lock, check the sources are
 * still flushed, carry deletes that arrived meanwhile onto the targets,
 * and swap the sources out.
 */
static void
Swap(Merge *m)
{
	List	   *now;
	ListCell   *lc;
	int64	   *targets;
	int			ntargets = 0;
	int			i;

	LockForSwap(m);

	/*
	 * The targets appear, with the deletes they keep for retention and how
	 * far back time travel may look into them; with none, the collection
	 * says so.
	 */
	targets = palloc(sizeof(int64) * Max(list_length(m->targets), 1));
	foreach(lc, m->targets)
	{
		Target	   *t = lfirst(lc);

		SsSegmentWriterRegister(t->writer, m->plan->sources, m->plan->nsources);
		targets[ntargets++] = SsSegmentWriterSegmentId(t->writer);
		if (t->nkept > 0)
			SsSegmentWriteDelta(m->coll, SsSegmentWriterSegmentId(t->writer),
								t->kept_keys, t->kept_ts, t->nkept);
	}
	if (!TIMESTAMP_IS_NOBEGIN(m->purged_until))
	{
		if (ntargets > 0)
			SsCatalogSetPurgedUntil(targets, ntargets, m->purged_until);
		else
			SsCatalogRaiseHistoryFrom(m->coll->id, m->purged_until);
	}

	now = SsCatalogSegments(m->coll->id, true);
	for (i = 0; i < m->nsources; i++)
	{
		Source	   *src = &m->sources[i];
		SsSegment  *cur = NULL;
		int64	   *keys;
		TimestampTz *ts;
		int			n;
		int			j;

		foreach(lc, now)
			if (((SsSegment *) lfirst(lc))->segment_id == src->seg->segment_id)
				cur = lfirst(lc);
		if (cur == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("source segment " INT64_FORMAT " is no longer flushed",
							src->seg->segment_id),
					 errdetail("Something else rewrote or dropped it while the plan ran.")));

		SsSegmentDeletes(cur, &keys, &ts, &n);
		for (j = 0; j < n; j++)
		{
			Target	   *t;

			if (FindDelete(src, keys[j]) >= 0)
				continue;
			t = TargetOf(m, keys[j]);
			if (t == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("delete of key " INT64_FORMAT " has no target in compaction plan " INT64_FORMAT,
								keys[j], m->plan->plan_id)));
			SsCatalogInsertPendingDeletes(m->coll->id, SsSegmentWriterSegmentId(t->writer),
										  &keys[j], &ts[j], 1);
		}
	}
	SsCatalogMarkCompacted(m->plan->sources, m->plan->nsources, m->plan->retention_s);
	(void) SsIndexAttach(m->coll, m->index_files);
}

/* Collection of a plan, by id: a collection renamed meanwhile is still it. */
static SsCollection *
PlanCollection(SsPlan *plan)
{
	SsCollection *coll = SsCatalogGetCollectionById(plan->collection_id, true, false);

	if (coll == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("collection of compaction plan " INT64_FORMAT " was dropped",
						plan->plan_id)));
	return coll;
}

/*
 * Take, in the caller's transaction, the ids the plan's targets will need
 * (SsCatalogReserveIds), so that the merge allocates none: a target is
 * finished at the maximum segment size or when its keys fill half the
 * memory limit (EnsureTarget), and has an insert, a stats and an index
 * file.  Should the bound fall short, ids come from nextval as before.
 */
void
SsCompactionReserveIds(SsPlan *plan)
{
	int64		raw_bytes = 0;
	int64		rows = 0;
	int64		targets;
	ListCell   *lc;
	int			i;

	foreach(lc, SsCatalogSegments(plan->collection_id, true))
	{
		SsSegment  *seg = lfirst(lc);

		for (i = 0; i < plan->nsources; i++)
			if (seg->segment_id == plan->sources[i])
			{
				raw_bytes += seg->insert_raw_bytes;
				rows += seg->num_rows;
			}
	}
	targets = raw_bytes / Max(plan->max_segment_size, 1) +
		rows * (int64) sizeof(int64) / Max(plan->memory_limit / 2, 1) + 2;
	targets = Min(targets, 10000);
	SsCatalogReserveIds("segment_id_seq", (int) targets);
	SsCatalogReserveIds("file_id_seq", (int) targets * 3);
}

/*
 * Execute a plan inside the caller's transaction and catalog session; on
 * success the caller commits, which publishes the targets.
 *
 * The caller's active snapshot serves to read the sources; the merge and
 * the index builds then run with none, and with no xid (ids reserved
 * beforehand, files stamped with the worker's virtual id), so that a plan
 * holds back no horizon while it works; the swap takes a new snapshot,
 * which is active when this returns.
 */
void
SsCompactionExecute(SsPlan *plan, SsPlanResult *result)
{
	Merge		m;
	Source	  **ordered;
	List	   *segments;
	int64		row_bytes = 0;
	ListCell   *lc;
	int			i;

	memset(&m, 0, sizeof(m));
	memset(result, 0, sizeof(*result));
	m.plan = plan;
	m.result = result;
	m.coll = PlanCollection(plan);
	/* read here, in the order DROP EXTENSION locks the catalog */
	m.has_index = SsIndexGetDef(m.coll, &m.index_def);
	m.cxt = CurrentMemoryContext;
	m.cutoff = GetCurrentTimestamp() - (TimestampTz) plan->retention_s * USECS_PER_SEC;
	TIMESTAMP_NOBEGIN(m.purged_until);
	m.deadline = plan->timeout_s > 0 ?
		GetCurrentTimestamp() + (TimestampTz) plan->timeout_s * USECS_PER_SEC : 0;
	m.kept_capacity = 1024;
	m.kept_keys = palloc(sizeof(int64) * m.kept_capacity);
	m.kept_ts = palloc(sizeof(TimestampTz) * m.kept_capacity);

	segments = SsCatalogSegments(m.coll->id, true);
	m.sources = palloc0(sizeof(Source) * plan->nsources);
	for (i = 0; i < plan->nsources; i++)
	{
		Source	   *src = &m.sources[i];

		foreach(lc, segments)
			if (((SsSegment *) lfirst(lc))->segment_id == plan->sources[i])
				src->seg = lfirst(lc);
		if (src->seg == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("source segment " INT64_FORMAT " is no longer flushed",
							plan->sources[i])));
		SsSegmentDeletes(src->seg, &src->del_keys, &src->del_ts, &src->ndel);
		if (src->ndel == src->seg->num_rows)
		{
			int			d;

			src->purged = true;
			for (d = 0; d < src->ndel; d++)
				src->purged &= src->del_ts[d] < m.cutoff;
			for (d = 0; src->purged && d < src->ndel; d++)
				m.purged_until = Max(m.purged_until, src->del_ts[d]);
		}
		m.purged_until = Max(m.purged_until, src->seg->purged_until);
		src->reader = SsSegmentOpenInsert(m.coll, src->seg->insert_path,
										  src->seg->segment_id, src->seg->num_rows);
		src->cxt = AllocSetContextCreate(m.cxt, "segstore compaction source",
										 ALLOCSET_DEFAULT_SIZES);
		result->rows_in += src->seg->num_rows;
		result->bytes_in += src->seg->size_bytes;
		if (src->seg->num_rows > 0)
			row_bytes = Max(row_bytes, src->seg->insert_raw_bytes / src->seg->num_rows);
	}
	m.nsources = plan->nsources;
	PopActiveSnapshot();
	InvalidateCatalogSnapshot();
	SsProgressBegin(plan->compaction_id, plan->plan_id, m.coll->name,
					result->rows_in, result->bytes_in);

	/*
	 * All sources' chunks together get half the memory limit less the fixed
	 * costs; the other half is for the target's keys (EnsureTarget).
	 */
	m.chunk_rows = (plan->memory_limit / 2 -
					SsPlanFixedMemory(m.coll->nfields + 1, plan->nsources)) /
		Max(plan->nsources, 1) / Max(row_bytes, 1);
	m.chunk_rows = Max(Min(m.chunk_rows, 65536), 64);

	ordered = palloc(sizeof(Source *) * m.nsources);
	if (InKeyOrder(&m, ordered))
		CompactColumnWise(&m, ordered);
	else
	{
		SsProgressPhase("writing");
		MergeSources(&m);
	}

	/* Targets' index files are built before the swap, outside its lock. */
	if (m.has_index)
		SsProgressPhase("indexing");
	foreach(lc, m.targets)
	{
		SsSegmentWriter *w = ((Target *) lfirst(lc))->writer;
		int64		used = (int64) MemoryContextMemAllocated(m.cxt, true);
		SsIndexBuilt *built;

		if (!m.has_index)
			continue;
		/* the build's memory is gone when it returns: add its own peak */
		built = SsIndexPrepare(m.coll, &m.index_def, SsSegmentWriterSegmentId(w),
							   SsSegmentWriterPath(w), SsSegmentWriterRows(w),
							   Max(plan->memory_limit - used, 0));
		result->peak_memory = Max(result->peak_memory, used + built->peak_memory);
		m.index_files = lappend(m.index_files, built);
	}
	SsProgressPhase("swapping");
	PushActiveSnapshot(GetTransactionSnapshot());
	Swap(&m);
	TrackMemory(&m);

	result->ntargets = list_length(m.targets);
	result->targets = palloc(sizeof(int64) * Max(result->ntargets, 1));
	i = 0;
	foreach(lc, m.targets)
		result->targets[i++] = SsSegmentWriterSegmentId(((Target *) lfirst(lc))->writer);
	foreach(lc, SsCatalogSegments(m.coll->id, true))
	{
		SsSegment  *seg = lfirst(lc);
		int			t;

		for (t = 0; t < result->ntargets; t++)
			if (seg->segment_id == result->targets[t])
				result->bytes_out += seg->size_bytes;
	}
	for (i = 0; i < m.nsources; i++)
		SsBinlogClose(m.sources[i].reader);
	TrackMemory(&m);
}
