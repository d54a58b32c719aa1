/*-------------------------------------------------------------------------
 *
 * stamp.c
 *	  The times rows and deletes are stamped with, chosen so that a search
 *	  as of a time gives an answer that no later commit can change.
 *
 * A row or a delete carries the time it was written, and search's as_of
 * shows what was written at or before that time.  Such an answer is final
 * only if every transaction that may still stamp a time at or before as_of
 * into the collection is visible to the search's snapshot.  So, before its
 * first write into a collection, a transaction registers itself in shared
 * memory with the current time, read under the table's lock
 * (status/stamps.c), and stamps its writes there with that time or later
 * (SsStampForWrite).  A search as of T (SsStampCheckAsOf) reads the clock
 * under the same lock and refuses T unless T is earlier than that reading
 * and every transaction registered with a time at or before T is visible
 * to its snapshot or aborted: one that registers after the search read the
 * clock stamps later than T, and one that registered before is still in
 * the table (an entry goes only once no snapshot can see its transaction
 * in progress).
 *
 * With wal_level replica or higher, registrations are WAL-logged under the
 * lock, and the launcher logs a reading of the clock every second while
 * the WAL advances (SsStampLogClock).  A hot standby replays both into its
 * own table, and the latest time replayed takes the clock's place: every
 * registration it has not yet replayed is stamped later.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "data/stamp.h"
#include "format/filewal.h"
#include "status/status.h"

/* How often the launcher logs the clock while the WAL advances. */
#define CLOCK_INTERVAL_MS 1000

/* A collection this backend's transaction registered in, with its time. */
typedef struct LocalStamp
{
	int64		collection_id;
	TimestampTz stamp;
} LocalStamp;

/* Registrations of the transaction local_lxid, in TopTransactionContext. */
static LocalTransactionId local_lxid = InvalidLocalTransactionId;
static List *local_stamps = NIL;

/*
 * The time stamp of what this statement writes into a collection: the
 * statement's start, or the time this transaction registered as a writer
 * of the collection if that is later.
 */
TimestampTz
SsStampForWrite(int64 collection_id)
{
	TimestampTz start = GetCurrentStatementStartTimestamp();
	TimestampTz stamp;
	LocalStamp *ls;
	MemoryContext old;
	ListCell   *lc;

	if (ss_shared == NULL || RecoveryInProgress())
		return start;
	if (MyProc->lxid != local_lxid)
	{
		local_lxid = MyProc->lxid;
		local_stamps = NIL;
	}
	foreach(lc, local_stamps)
	{
		ls = lfirst(lc);
		if (ls->collection_id == collection_id)
			return Max(start, ls->stamp);
	}

	stamp = SsStampsRegister(MyDatabaseId, collection_id, GetTopFullTransactionId(),
							 XLogStandbyInfoActive() ? SsFileWalLogStamp : NULL);
	old = MemoryContextSwitchTo(TopTransactionContext);
	ls = palloc(sizeof(LocalStamp));
	ls->collection_id = collection_id;
	ls->stamp = stamp;
	local_stamps = lappend(local_stamps, ls);
	MemoryContextSwitchTo(old);
	return Max(start, stamp);
}

/*
 * Log a reading of the clock for standbys, at most every second and only
 * if something else was logged since the last one (an idle server logs
 * nothing).  Called by the launcher on a primary.
 */
void
SsStampLogClock(void)
{
	static XLogRecPtr last_end = InvalidXLogRecPtr;
	static TimestampTz last_at = 0;

	if (ss_shared == NULL || RecoveryInProgress() || !XLogStandbyInfoActive())
		return;
	if (!TimestampDifferenceExceeds(last_at, GetCurrentTimestamp(), CLOCK_INTERVAL_MS) ||
		GetXLogInsertRecPtr() == last_end)
		return;
	SsStampsClock(SsFileWalLogStamp);
	last_end = XactLastRecEnd;
	last_at = GetCurrentTimestamp();
}

/*
 * Refuse a search as of a time that a transaction this statement's
 * snapshot does not see may still write at, so that the answer it gets is
 * the answer every later search as of that time gets.
 */
void
SsStampCheckAsOf(const char *collection, int64 collection_id, TimestampTz as_of)
{
	Snapshot	snapshot = GetActiveSnapshot();
	FullTransactionId xmin;
	FullTransactionId evicted;
	SsStampSlot *found;
	TimestampTz bound;
	int			nfound;
	int			i;

	/* without the preloaded library nothing is written anywhere */
	if (ss_shared == NULL)
		return;
	found = palloc(sizeof(SsStampSlot) * SS_MAX_STAMPS);
	nfound = SsStampsCollect(MyDatabaseId, collection_id, as_of, found, &bound, &evicted);

	if (as_of >= bound && RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("as_of %s is too recent for this standby",
						pstrdup(timestamptz_to_str(as_of))),
				 errdetail("It has replayed the primary's writes up to %s; later ones could change the answer.",
						   bound == 0 ? "no time yet" : pstrdup(timestamptz_to_str(bound))),
				 errhint("Search as of an earlier time, or on the primary.")));
	if (as_of >= bound)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of %s is not in the past", pstrdup(timestamptz_to_str(as_of))),
				 errdetail("Writes from now until then would change the answer.")));
	xmin = SsRecentFullXid(snapshot->xmin);
	if (FullTransactionIdIsValid(evicted) && !FullTransactionIdPrecedes(evicted, xmin))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("as_of %s cannot be answered in this snapshot",
						pstrdup(timestamptz_to_str(as_of))),
				 errdetail("More than %d transactions wrote into collections since it was taken, and which of them wrote before as_of is no longer known.",
						   SS_MAX_STAMPS),
				 errhint("Retry in a new transaction.")));
	for (i = 0; i < nfound; i++)
	{
		TransactionId xid = XidFromFullTransactionId(found[i].fxid);

		if (FullTransactionIdPrecedes(found[i].fxid, xmin) ||
			TransactionIdIsCurrentTransactionId(xid) ||
			!XidInMVCCSnapshot(xid, snapshot) ||
			TransactionIdDidAbort(xid))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("as_of %s is too recent for collection \"%s\"",
						pstrdup(timestamptz_to_str(as_of)), collection),
				 errdetail("A transaction that began writing into it at %s is in progress for this statement's snapshot; its writes would change the answer once it commits.",
						   pstrdup(timestamptz_to_str(found[i].stamp))),
				 errhint("Retry once that transaction has ended, or search as of an earlier time.")));
	}
	pfree(found);
}
