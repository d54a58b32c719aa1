/*-------------------------------------------------------------------------
 *
 * collection.h
 *	  Creating, opening (with privilege checks), altering and dropping
 *	  collections.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_COLLECTION_H
#define SEGSTORE_DATA_COLLECTION_H

#include "utils/acl.h"

#include "metadata/catalog.h"

/* Pass as mode to require ownership instead of a privilege. */
#define SS_OWNER ((AclMode) 0)

extern void SsCollectionCheckPrivilege(SsCollection *coll, AclMode mode);
extern SsCollection *SsCollectionOpen(const char *name, AclMode mode, bool lock);
extern SsCollection *SsCollectionOpenCompaction(int64 compaction_id, AclMode mode);
extern int64 SsCollectionCreate(const char *name, const char *fields, const char *description);
extern void SsCollectionDrop(const char *name, bool if_exists);
extern void SsCollectionAlter(const char *name, int auto_compaction, const char *description);

#endif							/* SEGSTORE_DATA_COLLECTION_H */
