/*-------------------------------------------------------------------------
 *
 * stamps.c
 *	  The shared table of transactions writing into collections, with the
 *	  times their writes are stamped at or after (the policy is in
 *	  data/stamp.c).  On a primary writers register here; on a standby the
 *	  primary's registrations are replayed from the WAL, with readings of
 *	  the primary's clock that bound what it has not sent yet.
 *
 * An entry goes once no snapshot can see its transaction in progress
 * (the whole cluster's xmin horizon, which on a standby includes the
 * primary's transactions known to be running).  Entries are pruned when the
 * table is full; if none can go, the oldest is forgotten and remembered as
 * evicted, so that a reader that might have needed it refuses.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xlog.h"
#include "storage/procarray.h"
#include "utils/timestamp.h"

#include "status/status.h"

/*
 * A transaction id of the last 2^32 transactions (a horizon, a snapshot's
 * xmin) as a full one, so that it compares right with ids however old.
 */
FullTransactionId
SsRecentFullXid(TransactionId xid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	uint32		epoch = EpochFromFullTransactionId(next);

	if (xid > XidFromFullTransactionId(next) && epoch > 0)
		epoch--;
	return FullTransactionIdFromEpochAndXid(epoch, xid);
}

/*
 * Make room for one entry, the lock held exclusively; it is let go while
 * the horizon is computed, as ProcArrayLock is not taken under it.
 */
static void
MakeRoom(SsStamps *st)
{
	FullTransactionId horizon;
	int			n = 0;
	int			oldest = 0;
	int			i;

	if (st->n < SS_MAX_STAMPS)
		return;
	LWLockRelease(st->lock);
	horizon = SsRecentFullXid(GetOldestNonRemovableTransactionId(NULL));
	LWLockAcquire(st->lock, LW_EXCLUSIVE);
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
 * Register a writer of a collection at the current time, which is
 * returned; log, if given, is called under the lock, so that the WAL holds
 * registrations and clock readings in the order of their times.
 */
TimestampTz
SsStampsRegister(Oid dboid, int64 collection_id, FullTransactionId fxid,
				 void (*log) (const SsStampSlot *slot))
{
	SsStamps   *st = &ss_shared->stamps;
	SsStampSlot *slot;
	TimestampTz stamp;

	LWLockAcquire(st->lock, LW_EXCLUSIVE);
	MakeRoom(st);
	stamp = GetCurrentTimestamp();
	slot = &st->slots[st->n++];
	slot->dboid = dboid;
	slot->collection_id = collection_id;
	slot->fxid = fxid;
	slot->stamp = stamp;
	if (log)
		log(slot);
	LWLockRelease(st->lock);
	return stamp;
}

/*
 * Log a reading of the clock, under the lock: every registration after it
 * is stamped later.
 */
void
SsStampsClock(void (*log) (const SsStampSlot *slot))
{
	SsStamps   *st = &ss_shared->stamps;
	SsStampSlot slot;

	memset(&slot, 0, sizeof(slot));
	LWLockAcquire(st->lock, LW_EXCLUSIVE);
	slot.stamp = GetCurrentTimestamp();
	log(&slot);
	LWLockRelease(st->lock);
}

/* Replay a registration (collection_id 0: a clock reading) from the WAL. */
void
SsStampsReplay(const SsStampSlot *slot)
{
	SsStamps   *st;

	if (ss_shared == NULL)
		return;
	st = &ss_shared->stamps;
	LWLockAcquire(st->lock, LW_EXCLUSIVE);
	if (slot->collection_id != 0)
	{
		MakeRoom(st);
		st->slots[st->n++] = *slot;
	}
	st->bound = Max(st->bound, slot->stamp);
	LWLockRelease(st->lock);
}

/*
 * Copy the registrations into a collection at or before as_of into out
 * (room for SS_MAX_STAMPS) and return how many; *bound is a time every
 * registration not yet seen will be later than (the clock, or on a
 * standby the latest time replayed), *evicted the newest transaction
 * forgotten.
 */
int
SsStampsCollect(Oid dboid, int64 collection_id, TimestampTz as_of, SsStampSlot *out,
				TimestampTz *bound, FullTransactionId *evicted)
{
	SsStamps   *st = &ss_shared->stamps;
	int			n = 0;
	int			i;

	LWLockAcquire(st->lock, LW_SHARED);
	*bound = RecoveryInProgress() ? st->bound : GetCurrentTimestamp();
	*evicted = st->evicted;
	for (i = 0; i < st->n; i++)
		if (st->slots[i].dboid == dboid &&
			st->slots[i].collection_id == collection_id &&
			st->slots[i].stamp <= as_of)
			out[n++] = st->slots[i];
	LWLockRelease(st->lock);
	return n;
}
