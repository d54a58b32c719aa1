/*-------------------------------------------------------------------------
 *
 * view.h
 *	  The view segstore_data.<name> that stands for a collection: its owner
 *	  is the collection's owner, its ACL the collection's ACL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_VIEW_H
#define SEGSTORE_DATA_VIEW_H

#include "utils/acl.h"

#include "segstore.h"

/* The schema of the collections' views. */
#define SS_VIEW_SCHEMA "segstore_data"

extern Oid	SsViewNamespace(void);
extern void SsViewColumnType(const SsField *field, Oid *type, int32 *typmod);
extern Oid	SsViewCreate(const char *name, const SsField *fields, int nfields, Oid creator);
extern void SsViewDrop(Oid viewid, Oid role);
extern void SsViewSetOwner(Oid viewid, const char *new_owner, Oid role);
extern void SsViewGrant(Oid viewid, bool is_grant, const char *privileges, const char *grantee,
						bool grant_option, bool cascade, Oid role);
extern Oid	SsViewOwner(Oid viewid);
extern char *SsViewCheck(Oid viewid, const char *collection, const SsField *fields, int nfields);
extern void SsViewSetAcl(Oid viewid, Acl *acl);

#endif							/* SEGSTORE_DATA_VIEW_H */
