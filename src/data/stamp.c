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
 * memory with the current time, read under a lock, and stamps its writes
 * there with that time or later (SsStampForWrite).  A search as of T
 * (SsStampCheckAsOf) reads the clock under the same lock and refuses T
 * unless T is earlier than that reading and every transaction registered
 * with a time at or before T is visible to its snapshot or aborted: one
 * that registers after the search read the clock stamps later than T, and
 * one that registered before is still in the table, because an entry is
 * forgotten only once no snapshot can see its transaction in progress (the
 * xmin horizon of the whole cluster).  If the table is full even so, the
 * oldest entry is forgotten and a search whose snapshot might not see its
 * transaction is refused.
 *
 * Entries are not WAL-logged, so a hot standby does not know which of the
 * primary's writers are in progress: as_of is refused there.
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
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "data/stamp.h"
#include "metadata/catalog.h"
#include "status/status.h"

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
 * Forget the entries of transactions older than horizon, and if that frees
 * nothing, the oldest entry.  The lock is held exclusively.
 */
static void
Prune(SsStamps *st, FullTransactionId horizon)
{
	int			n = 0;
	int			oldest = 0;
	int			i;

	for (i = 0; i < st->n; i++)
		if (!FullTransactionIdPrecedes(st->slots[i].fxid, horizon))
			st->slots[n++] = st->slots[i];
	st->n = n;
	if (st->n < SS_MAX_STAMPS)
		return;
	for (i = 1; i < st->n; i++)
		if (FullTransactionIdPrecedes(st->slots[i].fxid, st->slots[oldest].fxid))
			oldest = i;
	if (!FullTransactionIdIsValid(st->evicted) ||
		FullTransactionIdPrecedes(st->evicted, st->slots[oldest].fxid))
		st->evicted = st->slots[oldest].fxid;
	st->slots[oldest] = st->slots[--st->n];
}

/*
 * The time stamp of what this statement writes into a collection: the
 * statement's start, or the time this transaction registered as a writer
 * of the collection if that is later.
 */
TimestampTz
SsStampForWrite(int64 collection_id)
{
	TimestampTz start = GetCurrentStatementStartTimestamp();
	SsStamps   *st;
	FullTransactionId fxid;
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

	fxid = GetTopFullTransactionId();
	st = &ss_shared->stamps;
	LWLockAcquire(st->lock, LW_EXCLUSIVE);
	if (st->n == SS_MAX_STAMPS)
	{
		FullTransactionId horizon;

		/* ProcArrayLock is not taken under this lock */
		LWLockRelease(st->lock);
		horizon = SsCatalogRecentFullXid(GetOldestNonRemovableTransactionId(NULL));
		LWLockAcquire(st->lock, LW_EXCLUSIVE);
		Prune(st, horizon);
	}
	stamp = GetCurrentTimestamp();
	st->slots[st->n].dboid = MyDatabaseId;
	st->slots[st->n].collection_id = collection_id;
	st->slots[st->n].fxid = fxid;
	st->slots[st->n].stamp = stamp;
	st->n++;
	LWLockRelease(st->lock);

	old = MemoryContextSwitchTo(TopTransactionContext);
	ls = palloc(sizeof(LocalStamp));
	ls->collection_id = collection_id;
	ls->stamp = stamp;
	local_stamps = lappend(local_stamps, ls);
	MemoryContextSwitchTo(old);
	return Max(start, stamp);
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
	SsStamps   *st;
	SsStampSlot *found;
	FullTransactionId evicted;
	TimestampTz now;
	int			nfound = 0;
	int			i;

	/* without the preloaded library nothing is written anywhere */
	if (ss_shared == NULL)
		return;
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("as_of is not supported on a hot standby"),
				 errdetail("A standby does not know which of the primary's writes are still in progress, so it cannot tell whether an answer as of a time is final."),
				 errhint("Search as of a time on the primary.")));

	st = &ss_shared->stamps;
	found = palloc(sizeof(SsStampSlot) * SS_MAX_STAMPS);
	LWLockAcquire(st->lock, LW_SHARED);
	now = GetCurrentTimestamp();
	evicted = st->evicted;
	for (i = 0; i < st->n; i++)
		if (st->slots[i].dboid == MyDatabaseId &&
			st->slots[i].collection_id == collection_id &&
			st->slots[i].stamp <= as_of)
			found[nfound++] = st->slots[i];
	LWLockRelease(st->lock);

	if (as_of >= now)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of %s is not in the past", pstrdup(timestamptz_to_str(as_of))),
				 errdetail("Writes from now until then would change the answer.")));
	xmin = SsCatalogRecentFullXid(snapshot->xmin);
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
