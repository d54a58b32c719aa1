/*-------------------------------------------------------------------------
 *
 * write.c
 *	  Insert, upsert, delete and flush.
 *
 * Callers hold the collection's write lock (SsCatalogGetCollection with
 * lock), so the checks here, such as "this key is not live anywhere", stay
 * true until the transaction ends.  A key is live in at most one place:
 * the growing table or one sealed segment.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "data/growing.h"
#include "data/index.h"
#include "data/read.h"
#include "data/segment.h"
#include "data/write.h"
#include "expr/expr.h"
#include "status/status.h"

/* Defaults of this module's settings (see SsWriteInit). */
#define INSERT_DIRECT_THRESHOLD_DEFAULT 4096
#define SEAL_PROPORTION_DEFAULT 0.25
#define RETENTION_DURATION_DEFAULT 0
#define GROWING_MAX_SIZE_KB_DEFAULT 2048

int			ss_insert_direct_threshold = INSERT_DIRECT_THRESHOLD_DEFAULT;
double		ss_seal_proportion = SEAL_PROPORTION_DEFAULT;
int			ss_retention_duration_s = RETENTION_DURATION_DEFAULT;
int			ss_growing_max_size_kb = GROWING_MAX_SIZE_KB_DEFAULT;

/*
 * Bytes of data at which a growing segment is sealed.  Every search scans
 * the growing rows exactly, so their size, not only a fraction of the
 * segment size, bounds what a search costs while rows arrive.
 */
int64
SsWriteGrowingLimit(void)
{
	return Min((int64) (ss_seal_proportion * ss_max_segment_size_mb * 1024 * 1024),
			   (int64) ss_growing_max_size_kb * 1024);
}

/*
 * Delete the given sorted, distinct keys wherever they are live: rows of
 * the growing table are deleted, keys of sealed segments recorded as
 * pending deletes.  Returns how many were live.
 */
static int64
DeleteLiveKeys(SsCollection *coll, const int64 *keys, int nkeys, TimestampTz ts)
{
	int			ngrowing;
	int64	   *in_growing;
	int64	   *rest = palloc(sizeof(int64) * Max(nkeys, 1));
	int			nrest = 0;
	int64		deleted;
	TimestampTz *times = palloc(sizeof(TimestampTz) * Max(nkeys, 1));
	List	   *segments;
	ListCell   *lc;
	int			i;

	for (i = 0; i < nkeys; i++)
		times[i] = ts;

	/*
	 * Within a retention window a delete must stay visible to time travel
	 * (search's as_of), but a growing row is deleted outright: so the rows
	 * still growing are sealed first, and their deletes recorded with their
	 * time like any other.
	 */
	if (ss_retention_duration_s > 0)
	{
		(void) SsGrowingFind(coll, keys, nkeys, &ngrowing);
		if (ngrowing > 0)
			SsWriteSeal(coll);
	}
	in_growing = SsGrowingDelete(coll, keys, nkeys, &ngrowing);
	deleted = ngrowing;

	for (i = 0; i < nkeys; i++)
		if (!SsSortedContains(in_growing, ngrowing, keys[i]))
			rest[nrest++] = keys[i];
	if (nrest == 0)
		return deleted;

	segments = SsCatalogSegmentsOverlapping(coll->id, rest[0], rest[nrest - 1]);
	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);
		int64	   *live;
		int			nlive;

		live = SsSegmentLiveKeys(coll, seg, rest, nrest, &nlive);
		SsCatalogInsertPendingDeletes(coll->id, seg->segment_id, live, times, nlive);
		deleted += nlive;
		CHECK_FOR_INTERRUPTS();
	}
	return deleted;
}

/* First key of the sorted array that is live somewhere, if any. */
static bool
FindLiveKey(SsCollection *coll, const int64 *keys, int nkeys, int64 *found)
{
	int			n;
	int64	   *in_growing = SsGrowingFind(coll, keys, nkeys, &n);
	List	   *segments;
	ListCell   *lc;

	if (n > 0)
	{
		*found = in_growing[0];
		return true;
	}
	segments = SsCatalogSegmentsOverlapping(coll->id, keys[0], keys[nkeys - 1]);
	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);
		int64	   *live;

		live = SsSegmentLiveKeys(coll, seg, keys, nkeys, &n);
		if (n > 0)
		{
			*found = live[0];
			return true;
		}
	}
	return false;
}

/* Seal the growing table's rows into new segments. */
void
SsWriteSeal(SsCollection *coll)
{
	SsBatch    *batch = SsGrowingRead(coll, true);

	if (batch->nrows == 0)
		return;
	SsSegmentWriteBatch(coll, coll->growing_segment_id, batch);
	SsGrowingClear(coll);
	SsCatalogSetGrowing(coll, SsCatalogNextId("segment_id_seq"), 0);
	SsShmemVacuumGrowingAtCommit();
	SsIndexBuildMissing(coll);
}

/*
 * Insert (or with upsert, replace) a validated batch.  Large batches go
 * straight into new sealed segments; small ones into the growing table,
 * which is sealed when it passes its size limit.  Returns the row count.
 */
int64
SsWriteInsert(SsCollection *coll, SsBatch *batch, bool upsert)
{
	int64	   *keys;
	int			nkeys = (int) batch->nrows;
	int64		dup;

	if (batch->nrows == 0)
		return 0;
	keys = SsBatchKeys(batch, coll->pk);
	SsSortKeys(keys, &nkeys, true);

	if (upsert)
		DeleteLiveKeys(coll, keys, nkeys, SsBatchKey(batch, coll->nfields, 0));
	else if (FindLiveKey(coll, keys, nkeys, &dup))
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("duplicate primary key " INT64_FORMAT " in collection \"%s\"",
						dup, coll->name),
				 errdetail("An entity with this key already exists."),
				 errhint("Use segstore.upsert() to replace entities.")));

	if (batch->nrows >= ss_insert_direct_threshold)
	{
		SsBatchSortByKey(batch, coll->pk);
		SsSegmentWriteBatch(coll, 0, batch);
		SsIndexBuildMissing(coll);
	}
	else
	{
		int64		bytes = coll->growing_bytes;
		int64		r;

		SsGrowingInsert(coll, batch);
		for (r = 0; r < batch->nrows; r++)
			bytes += SsBatchRowBytes(batch, r);
		SsCatalogSetGrowing(coll, coll->growing_segment_id, bytes);
		if (bytes >= SsWriteGrowingLimit())
			SsWriteSeal(coll);
	}
	return batch->nrows;
}

/* Delete entities by primary key; returns how many were live. */
int64
SsWriteDeleteKeys(SsCollection *coll, int64 *keys, int nkeys)
{
	SsSortKeys(keys, &nkeys, true);
	return DeleteLiveKeys(coll, keys, nkeys, GetCurrentStatementStartTimestamp());
}

/* Delete the live entities an expression matches; returns how many. */
int64
SsWriteDeleteExpr(SsCollection *coll, const char *text)
{
	SsExpr	   *expr = SsExprParse(text, coll->fields, coll->nfields);
	int64	   *keys;
	int			nkeys;

	Bitmapset  *fields = SsExprFields(expr);

	/*
	 * "id in [...]" and the like need no scan: when the expression reads
	 * only the primary key, its candidate keys are filtered by evaluating it
	 * on each of them.
	 */
	if (bms_num_members(fields) == 1 && bms_is_member(coll->pk, fields) &&
		SsExprKeyList(expr, coll->pk, &keys, &nkeys))
	{
		SsValue    *row = palloc0(sizeof(SsValue) * coll->nfields);
		int			n = 0;
		int			i;

		for (i = 0; i < nkeys; i++)
		{
			row[coll->pk].i = keys[i];
			if (SsExprEval(expr, row))
				keys[n++] = keys[i];
		}
		nkeys = n;
	}
	else
		keys = SsReadMatchingKeys(coll, expr, &nkeys);
	return SsWriteDeleteKeys(coll, keys, nkeys);
}

/* Write pending deletes out as delta binlogs, one per segment that has any. */
void
SsWriteFlushDeletes(SsCollection *coll)
{
	List	   *segments = SsCatalogPendingSegments(coll->id);
	ListCell   *lc;

	foreach(lc, segments)
	{
		int64		segment_id = *(int64 *) lfirst(lc);
		int64	   *pks;
		TimestampTz *ts;
		int			n;

		SsCatalogPendingForSegment(segment_id, &pks, &ts, &n);
		SsSegmentWriteDelta(coll, segment_id, pks, ts, n);
		CHECK_FOR_INTERRUPTS();
	}
	if (segments != NIL)
		SsCatalogClearPendingDeletes(coll->id);
}

/* flush(): seal the growing segment and write pending deletes out. */
void
SsWriteFlush(SsCollection *coll)
{
	SsWriteSeal(coll);
	SsWriteFlushDeletes(coll);
}

/* Define this module's settings; called from _PG_init. */
void
SsWriteInit(void)
{
	/*
	 * Superuser-only: it decides how many segments a collection is split
	 * into, for every writer and reader of it.
	 */
	DefineCustomIntVariable("segstore.insert_direct_threshold",
							"Inserts of at least this many rows are written straight into a new sealed segment.",
							NULL, &ss_insert_direct_threshold, INSERT_DIRECT_THRESHOLD_DEFAULT, 1, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("segstore.seal_proportion",
							 "A growing segment is sealed when its data reaches this fraction of segstore.max_segment_size.",
							 NULL, &ss_seal_proportion, SEAL_PROPORTION_DEFAULT, 0.0001, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.retention_duration",
							"Deletes younger than this are kept by compaction, for time travel.",
							NULL, &ss_retention_duration_s, RETENTION_DURATION_DEFAULT, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.growing_max_size",
							"A growing segment is sealed when its data reaches this size.",
							"Searches scan growing rows exactly: this bounds their cost.",
							&ss_growing_max_size_kb, GROWING_MAX_SIZE_KB_DEFAULT, 64, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
}
