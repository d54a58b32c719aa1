/*-------------------------------------------------------------------------
 *
 * locks.c
 *	  segstore's heavyweight locks.
 *
 * They are advisory lock tags (the lock manager's user lock method, which
 * pg_locks shows as locktype "advisory") whose fourth field is
 * SS_LOCKTAG_CLASS.  The SQL advisory lock functions only ever build tags
 * with 1 or 2 there, so no role can take, wait for or release these: a
 * role that holds pg_advisory_lock(k) for any k blocks nothing of
 * segstore's.  Field 1 is the database, field 2 the kind of lock, field 3
 * the object (the low 32 bits of a collection id; two collections whose
 * ids differ only above that share a tag, which can only make one wait
 * for the other, never let two in at once).
 *
 * A collection's writers take three kinds of lock on it, all held until
 * the transaction ends:
 *
 * - The collection lock, in one of the table lock modes: RowExclusiveLock
 *	 for a writer of a few keys, ShareRowExclusiveLock for one of many keys
 *	 (it waits for the others and keeps them out, so that it needs no lock
 *	 per key), AccessExclusiveLock to drop the collection.
 * - A key lock per primary key a writer of a few keys inserts, upserts or
 *	 deletes, which orders writers of one key as a unique index does.  Its
 *	 tag holds the whole key in fields 2 and 3 (the high half mixed with
 *	 the collection id) and SS_KEYTAG_CLASS in field 4.
 * - The state lock, for whatever changes the collection's flushed state:
 *	 segments and their pending deletes, index files, the catalog row.
 *	 Writers that only add to or delete from the growing table never take
 *	 it, so that they run side by side.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lock.h"

#include "metadata/locks.h"

/* Fourth field of segstore's tags; "SS", and "SK" for key locks. */
#define SS_LOCKTAG_CLASS 0x5353
#define SS_KEYTAG_CLASS 0x534B

/* What a lock protects, in the second field of its tag. */
typedef enum SsLockKind
{
	SS_LOCK_PLANNING = 1,		/* planning a collection's compaction */
	SS_LOCK_WORKER_SLOT = 2,	/* one of max_compaction_workers slots */
	SS_LOCK_GC = 3,				/* garbage collection of a database */
	SS_LOCK_COLLECTION = 4,		/* writing a collection, or dropping it */
	SS_LOCK_STATE = 5			/* changing a collection's flushed state */
} SsLockKind;

/* The tag of one of segstore's locks in the current database. */
static void
SetTag(LOCKTAG *tag, SsLockKind kind, int64 object)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) kind, (uint32) object,
						 SS_LOCKTAG_CLASS);
}

/*
 * Wait for and take the planning lock of a collection until the
 * transaction ends, so that two planners never plan the same segments.
 */
void
SsLockPlanning(int64 collection_id)
{
	LOCKTAG		tag;

	SetTag(&tag, SS_LOCK_PLANNING, collection_id);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * Take a compaction worker slot for the session if it is free.  A session
 * lock: it outlives the worker's transactions and goes with its process.
 */
bool
SsLockTryWorkerSlot(int slot)
{
	LOCKTAG		tag;

	SetTag(&tag, SS_LOCK_WORKER_SLOT, slot);
	return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

/* Give a worker slot back. */
void
SsUnlockWorkerSlot(int slot)
{
	LOCKTAG		tag;

	SetTag(&tag, SS_LOCK_WORKER_SLOT, slot);
	(void) LockRelease(&tag, ExclusiveLock, true);
}

/*
 * Take the database's garbage collection lock until the transaction ends:
 * one collection at a time per database.  With wait false, returns false
 * at once if another holds it.  A transaction lock is released after the
 * commit callbacks have removed the files that the collection dropped, so
 * the next one never sees them half gone.
 */
bool
SsLockGc(bool wait)
{
	LOCKTAG		tag;

	SetTag(&tag, SS_LOCK_GC, 0);
	return LockAcquire(&tag, ExclusiveLock, false, !wait) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * Take the collection lock in mode until the transaction ends (see the
 * file header for the modes).
 */
void
SsLockCollection(int64 collection_id, LOCKMODE mode)
{
	LOCKTAG		tag;

	SetTag(&tag, SS_LOCK_COLLECTION, collection_id);
	(void) LockAcquire(&tag, mode, false, false);
}

/* Whether this transaction holds the collection lock in mode. */
bool
SsLockCollectionHeld(int64 collection_id, LOCKMODE mode)
{
	LOCKTAG		tag;

	SetTag(&tag, SS_LOCK_COLLECTION, collection_id);
	return LockHeldByMe(&tag, mode);
}

/*
 * Take the collection's state lock until the transaction ends.  With wait
 * false, returns false at once if another transaction holds it.
 */
bool
SsLockState(int64 collection_id, bool wait)
{
	LOCKTAG		tag;

	SetTag(&tag, SS_LOCK_STATE, collection_id);
	return LockAcquire(&tag, ExclusiveLock, false, !wait) != LOCKACQUIRE_NOT_AVAIL;
}

/* Take the lock of one primary key of a collection until the transaction ends. */
void
SsLockKey(int64 collection_id, int64 key)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId,
						 (uint32) ((uint64) key >> 32) ^ (uint32) collection_id,
						 (uint32) key, SS_KEYTAG_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}
