/*-------------------------------------------------------------------------
 *
 * write.c
 *	  Insert, upsert, delete and flush.
 *
 * A key is live in at most one place: the growing table or one sealed
 * segment.  Writers of one collection run side by side, ordered as a
 * unique index orders writers of a table (locks.c):
 *
 * - A write of a few keys locks each key, so that two writers of one key
 *	 take turns, and the second acts on what the first committed.  A write
 *	 of many keys, or a transaction past its share of key locks, locks the
 *	 whole collection instead (ShareRowExclusiveLock), waiting for the
 *	 writers in progress and keeping others out until it ends.
 * - Once it holds its locks, a writer checks and changes the state as it
 *	 now is (the latest snapshot, SsCatalogUseLatest): what its locks keep
 *	 still is which keys are live, so a writer in REPEATABLE READ does not
 *	 fail because others wrote other keys meanwhile.
 * - Rows move from the growing table into segments only by seals, which
 *	 take the committed rows that no writer in progress deletes
 *	 (SsGrowingTake).  A writer that meets a row a seal is moving waits
 *	 for the seal and finds the key in its new segment.
 * - Whatever changes the flushed state (a seal, a pending delete on a
 *	 segment or a delta binlog written for it at once, a new segment, an
 *	 index file) takes the collection's state lock until the transaction
 *	 ends (SsCatalogGetCollectionById with lock).  Writers that only add
 *	 rows to the growing table, or delete growing rows, never take it.  A
 *	 writer that brings the growing table to its limit seals it only if
 *	 the state lock is free; if not, the next writer or the maintenance
 *	 worker does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "data/collection.h"
#include "data/growing.h"
#include "data/index.h"
#include "data/input.h"
#include "data/read.h"
#include "data/segment.h"
#include "data/stamp.h"
#include "data/write.h"
#include "expr/expr.h"
#include "metadata/locks.h"
#include "status/status.h"

/* Defaults of this module's settings (see SsWriteInit). */
#define INSERT_DIRECT_THRESHOLD_DEFAULT 4096
#define SEAL_PROPORTION_DEFAULT 0.25
#define GROWING_MAX_SIZE_KB_DEFAULT 2048

int			ss_insert_direct_threshold = INSERT_DIRECT_THRESHOLD_DEFAULT;
double		ss_seal_proportion = SEAL_PROPORTION_DEFAULT;
int			ss_growing_max_size_kb = GROWING_MAX_SIZE_KB_DEFAULT;

/* Keys of some set that are live in one segment. */
typedef struct LiveKeys
{
	int64		segment_id;
	int64	   *keys;
	int			nkeys;
} LiveKeys;

/* Key locks this backend's transaction (key_locks_lxid) has taken. */
static LocalTransactionId key_locks_lxid = InvalidLocalTransactionId;
static int	key_locks = 0;

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
 * Take the locks a write of the given sorted, distinct keys needs (see the
 * file header) and return the collection as it now is, checking again that
 * the caller has the privileges mode, as a table's writer that waited for
 * its lock sees a REVOKE that committed meanwhile.  A transaction
 * takes at most 2 × max_locks_per_transaction key locks (the shared lock
 * table is sized for max_locks_per_transaction per backend, and a
 * transaction may take more while others take fewer); past that, or for a
 * write of many keys, it locks the collection.  From here on the catalog session works in the latest
 * snapshot.
 */
static SsCollection *
LockForWrite(SsCollection *coll, AclMode mode, const int64 *keys, int nkeys, bool many)
{
	SsCollection *now;
	int			i;

	if (MyProc->lxid != key_locks_lxid)
	{
		key_locks_lxid = MyProc->lxid;
		key_locks = 0;
	}
	if (many || key_locks + nkeys > 2 * max_locks_per_xact ||
		SsLockCollectionHeld(coll->id, ShareRowExclusiveLock))
		now = SsCatalogLockCollection(coll->id, ShareRowExclusiveLock);
	else
	{
		now = SsCatalogLockCollection(coll->id, RowExclusiveLock);
		for (i = 0; i < nkeys; i++)
			SsLockKey(coll->id, keys[i]);
		key_locks += nkeys;
	}
	return SsCollectionRecheck(coll, now, mode, false);
}

/*
 * The keys of the sorted array that are live in the collection's sealed
 * segments, as (segment, keys) pairs in segment order.
 */
static List *
LiveInSegments(SsCollection *coll, const int64 *keys, int nkeys, int64 *nlive)
{
	List	   *result = NIL;
	List	   *segments;
	ListCell   *lc;

	*nlive = 0;
	if (nkeys == 0)
		return NIL;
	segments = SsCatalogSegmentsOverlapping(coll->id, keys[0], keys[nkeys - 1]);
	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);
		int			n;
		int64	   *live = SsSegmentLiveKeys(coll, seg, keys, nkeys, &n);

		if (n > 0)
		{
			LiveKeys *lk = palloc(sizeof(LiveKeys));

			lk->segment_id = seg->segment_id;
			lk->keys = live;
			lk->nkeys = n;
			result = lappend(result, lk);
			*nlive += n;
		}
		CHECK_FOR_INTERRUPTS();
	}
	return result;
}

/* Where keys were live in a REPEATABLE READ writer's snapshot. */
typedef struct SnapshotView
{
	Snapshot	snapshot;
	int64	   *growing;		/* keys in the growing table, sorted */
	int			ngrowing;
	List	   *live;			/* LiveKeys of segments */
} SnapshotView;

/* Where the sorted keys are live in the transaction's snapshot. */
static void
TakeSnapshotView(SsCollection *coll, const int64 *keys, int nkeys, SnapshotView *view)
{
	int64		nlive;
	Snapshot	prev;

	view->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	view->growing = SsGrowingFind(coll, keys, nkeys, view->snapshot, &view->ngrowing);
	prev = SsCatalogSetSnapshot(view->snapshot);
	view->live = LiveInSegments(coll, keys, nkeys, &nlive);
	(void) SsCatalogSetSnapshot(prev);
}

/* Where key is live: in a segment of live (LiveKeys), in the growing table (-1), nowhere (0). */
static int64
Location(int64 key, const int64 *growing, int ngrowing, List *live)
{
	ListCell   *lc;

	if (SsSortedContains(growing, ngrowing, key))
		return -1;
	foreach(lc, live)
	{
		LiveKeys   *lk = lfirst(lc);

		if (SsSortedContains(lk->keys, lk->nkeys, key))
			return lk->segment_id;
	}
	return 0;
}

/*
 * In REPEATABLE READ and SERIALIZABLE a writer deletes keys where they are
 * live now, while its reads keep its snapshot.  Had a key moved since the
 * snapshot (a seal or a compaction of another session's), been deleted,
 * replaced or inserted, its reads would not show what it did: that is
 * refused, as PostgreSQL refuses to change a row changed since the
 * snapshot.  view is where the keys were in the snapshot the reads see
 * (TakeSnapshotView, before the deletes); the deletes took from the
 * growing table deleted, of which agreed are the rows that snapshot sees, and from segments live (LiveKeys, not yet recorded,
 * so that the check runs before a pending delete refers to a segment the
 * snapshot lacks); sealed, if not 0, is the segment this writer's own seal
 * moved its growing rows into.
 */
static void
CheckSnapshotAgrees(SsCollection *coll, const SnapshotView *view, const int64 *keys, int nkeys,
					const int64 *deleted, int ndeleted, const int64 *agreed, int nagreed,
					List *live, int64 sealed)
{
	int			i;

	for (i = 0; i < nkeys; i++)
	{
		int64		was = Location(keys[i], view->growing, view->ngrowing, view->live);
		int64		now = Location(keys[i], deleted, ndeleted, live);

		if (now == -1 && !SsSortedContains(agreed, nagreed, keys[i]))
			now = -2;			/* a growing row the snapshot does not see */
		if (now == sealed && sealed != 0)
			now = -1;
		if (was != now)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent change of collection \"%s\"",
							coll->name),
					 errdetail("Key " INT64_FORMAT " was moved, deleted, replaced or inserted by another transaction since this transaction's snapshot was taken.",
							   keys[i]),
					 errhint("The transaction might succeed if retried.")));
	}
}

/*
 * Delete the given sorted, distinct keys wherever they are live: rows of
 * the growing table are deleted, keys of sealed segments recorded as
 * pending deletes, or written as a delta binlog for a segment that loses
 * insert_direct_threshold keys or more, under the state lock.  Returns how
 * many were live.
 */
static int64
DeleteLiveKeys(SsCollection *coll, const int64 *keys, int nkeys, TimestampTz ts)
{
	int			ngrowing;
	int64	   *in_growing;
	int64	   *seen = NULL;
	int			nseen = 0;
	int64	   *rest = palloc(sizeof(int64) * Max(nkeys, 1));
	int			nrest = 0;
	int64		deleted;
	int64		nlive = 0;
	List	   *live = NIL;
	int64		sealed = 0;
	bool		many;
	SnapshotView view = {0};
	ListCell   *lc;
	int			i;

	if (IsolationUsesXactSnapshot())
		TakeSnapshotView(coll, keys, nkeys, &view);

	/*
	 * Within a retention window a delete must stay visible to time travel
	 * (search's as_of), but a growing row is deleted outright: so the rows
	 * still growing are sealed first, and their deletes recorded with their
	 * time like any other.
	 */
	if (coll->retention_s > 0)
	{
		(void) SsGrowingFind(coll, keys, nkeys, NULL, &ngrowing);
		if (ngrowing > 0)
		{
			coll = SsCatalogGetCollectionById(coll->id, false, true);
			sealed = coll->growing_segment_id;
			SsWriteSeal(coll);
		}
	}
	in_growing = SsGrowingDelete(coll, keys, nkeys, view.snapshot, &ngrowing, &seen, &nseen);
	deleted = ngrowing;

	for (i = 0; i < nkeys; i++)
		if (!SsSortedContains(in_growing, ngrowing, keys[i]))
			rest[nrest++] = keys[i];

	/*
	 * Under the state lock no compaction swaps a segment out from under the
	 * deletes recorded against it: look again once it is held, unless it is
	 * taken at once for a delete of many keys.
	 */
	many = nrest >= ss_insert_direct_threshold;
	if (nrest > 0 && !many)
		(void) LiveInSegments(coll, rest, nrest, &nlive);
	if (many || nlive > 0)
	{
		coll = SsCatalogGetCollectionById(coll->id, false, true);
		live = LiveInSegments(coll, rest, nrest, &nlive);
	}

	/* before the deletes are recorded: a snapshot without their segment */
	if (view.snapshot != NULL)
	{
		CheckSnapshotAgrees(coll, &view, keys, nkeys, in_growing, ngrowing, seen, nseen,
							live, sealed);
		UnregisterSnapshot(view.snapshot);
	}
	foreach(lc, live)
	{
		LiveKeys   *lk = lfirst(lc);
		TimestampTz *times = palloc(sizeof(TimestampTz) * lk->nkeys);

		for (i = 0; i < lk->nkeys; i++)
			times[i] = ts;

		/*
		 * Many deletes of one segment go straight into a delta binlog, as
		 * many rows go straight into a segment: a catalog row per key would
		 * cost more than the file, and flush would only move them there.
		 */
		if (lk->nkeys >= ss_insert_direct_threshold)
			SsSegmentWriteDelta(coll, lk->segment_id, lk->keys, times, lk->nkeys);
		else
			SsCatalogInsertPendingDeletes(coll->id, lk->segment_id, lk->keys, times, lk->nkeys);
	}
	return deleted + nlive;
}

/* First key of the sorted array that is live somewhere, if any. */
static bool
FindLiveKey(SsCollection *coll, const int64 *keys, int nkeys, int64 *found)
{
	int			n;
	int64	   *in_growing = SsGrowingFind(coll, keys, nkeys, NULL, &n);
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

/*
 * Seal the growing table's rows into a new segment.  The caller holds the
 * state lock, and coll is the collection as read under it.
 */
void
SsWriteSeal(SsCollection *coll)
{
	/* what this seal takes off the count: the rows counted so far */
	int64		counted = SsShmemGrowingAdd(coll->id, 0);
	SsBatch    *batch;

	SsCatalogUseLatest();
	batch = SsGrowingTake(coll);
	(void) SsShmemGrowingAdd(coll->id, -counted);
	if (batch->nrows == 0)
		return;
	SsSegmentWriteBatch(coll, coll->growing_segment_id, batch);
	SsCatalogSetGrowing(coll, SsCatalogNextId("segment_id_seq"));
	SsShmemVacuumGrowingAtCommit();
	SsIndexBuildCheap(coll);
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
	bool		direct = batch->nrows >= ss_insert_direct_threshold;

	if (batch->nrows == 0)
		return 0;
	keys = SsBatchKeys(batch, coll->pk);
	SsSortKeys(keys, &nkeys, true);
	coll = LockForWrite(coll, upsert ? SS_PRIV_INSERT | SS_PRIV_UPSERT : SS_PRIV_INSERT,
						keys, nkeys, direct);

	if (upsert)
		DeleteLiveKeys(coll, keys, nkeys, SsBatchKey(batch, coll->nfields, 0));
	else if (FindLiveKey(coll, keys, nkeys, &dup))
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("duplicate primary key " INT64_FORMAT " in collection \"%s\"",
						dup, coll->name),
				 errdetail("An entity with this key already exists."),
				 errhint("Use segstore.upsert() to replace entities.")));

	if (direct)
	{
		coll = SsCatalogGetCollectionById(coll->id, false, true);
		SsBatchSortByKey(batch, coll->pk);
		SsSegmentWriteBatch(coll, 0, batch);
		SsIndexBuildCheap(coll);
	}
	else
	{
		int64		bytes = 0;
		int64		r;

		SsGrowingInsert(coll, batch);
		for (r = 0; r < batch->nrows; r++)
			bytes += SsBatchRowBytes(batch, r);
		if (SsShmemGrowingAdd(coll->id, bytes) >= SsWriteGrowingLimit() &&
			SsLockState(coll->id, false))
			SsWriteSeal(SsCatalogGetCollectionById(coll->id, false, true));
	}
	return batch->nrows;
}

/*
 * insert_from(): insert (with upsert, replace) the rows a query returns,
 * streamed in chunks of at most 64MB of vectors, each written as
 * insert() would write it (a chunk of insert_direct_threshold rows or
 * more is a segment of its own).  The query runs as the caller, outside
 * any catalog session, in a cursor whose snapshot is taken once; each
 * chunk is written in a catalog session of its own.  Returns the row
 * count.
 */
int64
SsWriteInsertQuery(const char *name, const char *query, bool upsert)
{
	SsCatalogSession session;
	SsCollection *coll;
	Portal		portal;
	int64		chunk;
	int64		total = 0;

	SsCatalogOpen(&session, false);
	coll = SsCollectionOpen(name, upsert ? SS_PRIV_INSERT | SS_PRIV_UPSERT : SS_PRIV_INSERT, false);
	chunk = Max(64 * 1024 * 1024 / ((int64) coll->dim * 4 + 64), 1024);
	SsCatalogClose(&session);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL, query, 0, NULL, NULL, NULL, false, 0);
	for (;;)
	{
		SPITupleTable *rows;
		uint64		nrows;

		SPI_cursor_fetch(portal, true, chunk);
		/* the catalog session's statements replace SPI_tuptable */
		rows = SPI_tuptable;
		nrows = SPI_processed;
		if (nrows == 0)
			break;
		SsCatalogOpen(&session, false);
		coll = SsCollectionOpen(name, upsert ? SS_PRIV_INSERT | SS_PRIV_UPSERT : SS_PRIV_INSERT,
								false);
		total += SsWriteInsert(coll, SsInputBatchFromRows(coll, rows->tupdesc, rows->vals,
														  (int64) nrows),
							   upsert);
		SsCatalogClose(&session);
		SPI_freetuptable(rows);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	return total;
}

/* Delete keys for a caller with the privileges mode; returns how many were live. */
static int64
DeleteKeys(SsCollection *coll, AclMode mode, int64 *keys, int nkeys)
{
	SsSortKeys(keys, &nkeys, true);
	if (nkeys == 0)
		return 0;
	coll = LockForWrite(coll, mode, keys, nkeys, nkeys >= ss_insert_direct_threshold);
	return DeleteLiveKeys(coll, keys, nkeys, SsStampForWrite(coll->id));
}

/* Delete entities by primary key; returns how many were live. */
int64
SsWriteDeleteKeys(SsCollection *coll, int64 *keys, int nkeys)
{
	return DeleteKeys(coll, SS_PRIV_DELETE, keys, nkeys);
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
	return DeleteKeys(coll, SS_PRIV_DELETE | SS_PRIV_READ, keys, nkeys);
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

/*
 * flush(): seal the growing segment and write pending deletes out.  The
 * caller holds the state lock; rows of writers still in progress stay
 * growing.
 */
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
							"Inserts of at least this many rows are written straight into a new sealed segment, deletes of at least this many keys of a segment straight into a delta binlog.",
							NULL, &ss_insert_direct_threshold, INSERT_DIRECT_THRESHOLD_DEFAULT, 1, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("segstore.seal_proportion",
							 "A growing segment is sealed when its data reaches this fraction of segstore.max_segment_size.",
							 NULL, &ss_seal_proportion, SEAL_PROPORTION_DEFAULT, 0.0001, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.growing_max_size",
							"A growing segment is sealed when its data reaches this size.",
							"Searches scan growing rows exactly: this bounds their cost.",
							&ss_growing_max_size_kb, GROWING_MAX_SIZE_KB_DEFAULT, 64, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
}
