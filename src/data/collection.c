/*-------------------------------------------------------------------------
 *
 * collection.c
 *	  Collections as a whole.  A collection's privileges are those of its
 *	  growing table: SELECT to read, INSERT to insert, UPDATE with INSERT to
 *	  upsert, DELETE (with SELECT, as for a table) to delete; the owner may
 *	  alter, compact and drop it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"

#include "data/collection.h"
#include "data/growing.h"
#include "format/files.h"
#include "metadata/catalog_compaction.h"
#include "metadata/schema.h"

/* Check the calling role's right to act on a collection. */
void
SsCollectionCheckPrivilege(SsCollection *coll, AclMode mode)
{
	Oid			caller = SsCatalogCaller();

	if (mode == SS_OWNER)
	{
		if (!pg_class_ownercheck(coll->relid, caller))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of collection \"%s\"", coll->name)));
	}
	else if (pg_class_aclmask(coll->relid, caller, mode, ACLMASK_ALL) != mode)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for collection \"%s\"", coll->name)));
}

/*
 * Look up a collection the caller may act on with the given privileges.
 * With lock, also take the collection's write lock; privileges are checked
 * first so that a role without them cannot block writers.
 */
SsCollection *
SsCollectionOpen(const char *name, AclMode mode, bool lock)
{
	SsCollection *coll = SsCatalogGetCollection(name, false, false);

	SsCollectionCheckPrivilege(coll, mode);
	if (lock)
		coll = SsCatalogGetCollection(name, false, true);
	return coll;
}

/*
 * Look up the collection of a compaction, which the caller may act on with
 * the given privileges; an unknown compaction id is an error.
 */
SsCollection *
SsCollectionOpenCompaction(int64 compaction_id, AclMode mode)
{
	char	   *name = SsCatalogCollectionName(SsCatalogCompactionCollection(compaction_id));

	return SsCollectionOpen(name, mode, false);
}

/* Create a collection and its growing table; returns its id. */
int64
SsCollectionCreate(const char *name, const char *fields, const char *description)
{
	SsCollection coll;
	Oid			nsp = get_namespace_oid("segstore_data", false);
	int			i;

	SsSchemaCheckName(name);
	if (pg_namespace_aclcheck(nsp, SsCatalogCaller(), ACL_CREATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create collection \"%s\"", name),
				 errhint("Creating collections needs the CREATE privilege on schema segstore_data.")));
	memset(&coll, 0, sizeof(coll));
	coll.name = (char *) name;
	coll.fields = SsSchemaParse(fields, &coll.nfields);
	if (SsCatalogGetCollection(name, true, false) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("collection \"%s\" already exists", name)));
	for (i = 0; i < coll.nfields; i++)
		if (coll.fields[i].type == SS_TYPE_VECTOR)
			coll.dim = coll.fields[i].typmod;
	coll.id = SsCatalogNextId("collection_id_seq");
	coll.growing_segment_id = SsCatalogNextId("segment_id_seq");
	coll.relid = SsGrowingCreate(name, coll.fields, coll.nfields, SsCatalogCaller());
	SsCatalogInsertCollection(&coll, description);
	return coll.id;
}

/* Drop a collection; its files go when the drop commits. */
void
SsCollectionDrop(const char *name, bool if_exists)
{
	SsCollection *coll = SsCatalogGetCollection(name, true, false);

	if (coll == NULL)
	{
		if (!if_exists)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("collection \"%s\" does not exist", name)));
		ereport(NOTICE,
				(errmsg("collection \"%s\" does not exist, skipping", name)));
		return;
	}
	coll = SsCollectionOpen(name, SS_OWNER, true);
	SsGrowingDrop(coll);
	SsCatalogDeleteCollection(coll->id);
	SsFilesRemoveAtCommit(SsFilesCollectionDir(MyDatabaseId, coll->id));
}

/* Change a collection's settings (auto_compaction < 0: unchanged). */
void
SsCollectionAlter(const char *name, int auto_compaction, const char *description)
{
	SsCollection *coll = SsCollectionOpen(name, SS_OWNER, true);

	SsCatalogAlterCollection(coll->id, auto_compaction, description);
}
