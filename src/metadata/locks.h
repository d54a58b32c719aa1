/*-------------------------------------------------------------------------
 *
 * locks.h
 *	  segstore's heavyweight locks: on tags that no SQL role can take, so
 *	  that no role can block compaction, planning or garbage collection by
 *	  taking them first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_METADATA_LOCKS_H
#define SEGSTORE_METADATA_LOCKS_H

#include "segstore.h"

extern void SsLockPlanning(int64 collection_id);
extern bool SsLockTryWorkerSlot(int slot);
extern void SsUnlockWorkerSlot(int slot);
extern bool SsLockGc(bool wait);

#endif							/* SEGSTORE_METADATA_LOCKS_H */
