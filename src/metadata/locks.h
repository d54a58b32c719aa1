/*-------------------------------------------------------------------------
 *
 * locks.h
 *	  segstore's heavyweight locks: on tags that no SQL role can take, so
 *	  that no role can block writers, compaction, planning or garbage
 *	  collection by taking them first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_METADATA_LOCKS_H
#define SEGSTORE_METADATA_LOCKS_H

#include "storage/lockdefs.h"

#include "segstore.h"

extern void SsLockPlanning(int64 collection_id);
extern bool SsLockTryWorkerSlot(int slot);
extern void SsUnlockWorkerSlot(int slot);
extern bool SsLockGc(bool wait);
extern void SsLockCollection(int64 collection_id, LOCKMODE mode);
extern bool SsLockCollectionHeld(int64 collection_id, LOCKMODE mode);
extern bool SsLockState(int64 collection_id, bool wait);
extern void SsLockKey(int64 collection_id, int64 key);

#endif							/* SEGSTORE_METADATA_LOCKS_H */
