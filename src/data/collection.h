/*-------------------------------------------------------------------------
 *
 * collection.h
 *	  Creating, opening (with privilege checks), altering and dropping
 *	  collections; their privileges and the views that stand for them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_COLLECTION_H
#define SEGSTORE_DATA_COLLECTION_H

#include "utils/acl.h"

#include "metadata/catalog.h"

/* segstore's privileges: table privileges on the collection's view. */
#define SS_PRIV_READ ACL_SELECT
#define SS_PRIV_INSERT ACL_INSERT
#define SS_PRIV_UPSERT ACL_UPDATE
#define SS_PRIV_DELETE ACL_DELETE
#define SS_PRIV_MAINTAIN ACL_TRUNCATE

/* Pass as mode to require ownership instead of a privilege. */
#define SS_OWNER ((AclMode) 0)

extern void SsCollectionCheckPrivilege(SsCollection *coll, AclMode mode);
extern SsCollection *SsCollectionOpen(const char *name, AclMode mode, bool lock);
extern SsCollection *SsCollectionRecheck(SsCollection *coll, SsCollection *locked, AclMode mode,
										 bool flush);
extern SsCollection *SsCollectionOpenForFlush(const char *name);
extern SsCollection *SsCollectionOpenCompaction(int64 compaction_id, AclMode mode);
extern int64 SsCollectionCreate(const char *name, const char *fields, const char *description);
extern void SsCollectionDrop(const char *name, bool if_exists);
extern void SsCollectionInit(void);
extern void SsCollectionAlter(const char *name, int auto_compaction, const char *description,
							  const char *new_owner, int retention_s);
extern void SsCollectionGrant(const char *name, List *privileges, const char *role, bool is_grant,
							  bool grant_option, bool cascade);
extern void SsCollectionDropForViews(void);
extern void SsCollectionViewsAltered(void);

#endif							/* SEGSTORE_DATA_COLLECTION_H */
