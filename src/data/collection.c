/*-------------------------------------------------------------------------
 *
 * collection.c
 *	  Collections as a whole: who may act on them, creating, altering and
 *	  dropping them, granting and revoking their privileges, and keeping
 *	  them consistent with the views that stand for them.
 *
 * A collection's owner and ACL are those of its view segstore_data.<name>
 * (view.c).  segstore's privileges are table privileges on that view:
 *
 *	  read		SELECT		query, search, inspect, compaction state
 *	  insert	INSERT		insert
 *	  upsert	UPDATE		upsert (with insert, as INSERT ... ON CONFLICT
 *							DO UPDATE needs INSERT and UPDATE)
 *	  delete	DELETE		delete by key (by expression also needs read,
 *							as DELETE ... WHERE needs SELECT)
 *	  maintain	TRUNCATE	compact, trigger_compaction, cancel_compaction
 *
 * flush needs insert, delete or maintain; altering, dropping and the index
 * need ownership.  Superusers have every privilege, the owner has every
 * privilege its ACL gives it (all, unless it revoked some from itself, as
 * for a table) and the ownership rights.  A collection of an installation
 * still at 0.1's SQL has no view: its growing table segstore_data.<name>
 * plays that part, as in 0.1, until ALTER EXTENSION segstore UPDATE.
 *
 * A collection is resolved by name once.  An operation that changes it
 * checks the privilege (so that a role without it cannot block writers by
 * taking the lock), locks the collection of that id, and checks again
 * under the lock: a collection dropped and created again under the same
 * name meanwhile is never the one acted on, and a privilege revoked while
 * the caller waited is refused.  Writers of rows check the privilege here
 * and take their locks in write.c, as a table's writers check theirs when
 * their statement starts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "data/collection.h"
#include "data/growing.h"
#include "data/view.h"
#include "format/files.h"
#include "metadata/catalog_compaction.h"
#include "metadata/locks.h"
#include "metadata/schema.h"

#define RETENTION_DURATION_DEFAULT 0

/* segstore.retention_duration: the retention window of new collections */
static int	ss_retention_duration_s = RETENTION_DURATION_DEFAULT;

/* segstore's privileges and the table privileges on the view that hold them. */
typedef struct SsPrivilege
{
	const char *name;
	AclMode		mode;
	const char *sql;
} SsPrivilege;

static const SsPrivilege ss_privileges[] = {
	{"read", SS_PRIV_READ, "SELECT"},
	{"insert", SS_PRIV_INSERT, "INSERT"},
	{"upsert", SS_PRIV_UPSERT, "UPDATE"},
	{"delete", SS_PRIV_DELETE, "DELETE"},
	{"maintain", SS_PRIV_MAINTAIN, "TRUNCATE"},
};

/* The privileges of mode, by segstore's names: "read", "insert and upsert". */
static char *
PrivilegeNames(AclMode mode, const char *conjunction)
{
	StringInfoData buf;
	int			left = 0;
	int			i;

	for (i = 0; i < lengthof(ss_privileges); i++)
		if (mode & ss_privileges[i].mode)
			left++;
	initStringInfo(&buf);
	for (i = 0; i < lengthof(ss_privileges); i++)
	{
		if (!(mode & ss_privileges[i].mode))
			continue;
		left--;
		appendStringInfoString(&buf, ss_privileges[i].name);
		if (left > 1)
			appendStringInfoString(&buf, ", ");
		else if (left == 1)
			appendStringInfo(&buf, " %s ", conjunction);
	}
	return buf.data;
}

/* The relation whose owner and ACL are a collection's (see the file header). */
static Oid
PrivilegeRelation(SsCollection *coll)
{
	return OidIsValid(coll->viewid) ? coll->viewid : coll->relid;
}

/*
 * The privileges of mode the calling role holds on a collection.  A view
 * gone behind segstore's back (event triggers disabled while it was
 * dropped) leaves the collection to superusers.
 */
static AclMode
HeldPrivileges(SsCollection *coll, AclMode mode)
{
	Oid			caller = SsCatalogCaller();
	bool		missing = false;
	AclMode		held;

	held = pg_class_aclmask_ext(PrivilegeRelation(coll), caller, mode, ACLMASK_ALL, &missing);
	if (missing)
		held = superuser_arg(caller) ? mode : 0;
	return held & mode;
}

/* Does the calling role own a collection (or is it a superuser)? */
static bool
IsOwner(SsCollection *coll)
{
	Oid			owner = SsViewOwner(PrivilegeRelation(coll));

	return superuser_arg(SsCatalogCaller()) ||
		(OidIsValid(owner) && has_privs_of_role(SsCatalogCaller(), owner));
}

/*
 * Check the calling role's right to act on a collection: every privilege
 * of mode, or ownership (SS_OWNER).  A refusal is 42501 naming the
 * collection and what is missing.
 */
void
SsCollectionCheckPrivilege(SsCollection *coll, AclMode mode)
{
	AclMode		missing;

	if (mode == SS_OWNER)
	{
		if (!IsOwner(coll))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of collection \"%s\"", coll->name)));
		return;
	}
	missing = mode & ~HeldPrivileges(coll, mode);
	if (missing != 0)
	{
		bool		several = (missing & (missing - 1)) != 0;

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for collection \"%s\"", coll->name),
				 several ?
				 errdetail("The %s privileges of the collection are missing.",
						   PrivilegeNames(missing, "and")) :
				 errdetail("The %s privilege of the collection is missing.",
						   PrivilegeNames(missing, "and"))));
	}
}

/* Flushing needs one of insert, delete and maintain. */
static void
CheckFlushPrivilege(SsCollection *coll)
{
	AclMode		any = SS_PRIV_INSERT | SS_PRIV_DELETE | SS_PRIV_MAINTAIN;

	if (HeldPrivileges(coll, any) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for collection \"%s\"", coll->name),
				 errdetail("Flushing needs the %s privilege of the collection.",
						   PrivilegeNames(any, "or"))));
}

/*
 * Check again, once a lock on the collection resolved by name as coll was
 * granted, what was checked before the wait: locked is the collection as
 * read under the lock (NULL if it was dropped meanwhile), mode the
 * privileges as for SsCollectionCheckPrivilege (flush: the flush rule).
 * Invalidations are read first, so that a privilege revoked by the
 * transaction that held the lock is seen.
 */
SsCollection *
SsCollectionRecheck(SsCollection *coll, SsCollection *locked, AclMode mode, bool flush)
{
	if (locked == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("collection \"%s\" does not exist", coll->name),
				 errdetail("It was dropped while this transaction waited for it.")));
	AcceptInvalidationMessages();
	if (flush)
		CheckFlushPrivilege(locked);
	else
		SsCollectionCheckPrivilege(locked, mode);
	return locked;
}

/* Take the state lock of the collection resolved as coll and check again (SsCollectionRecheck). */
static SsCollection *
LockAndRecheck(SsCollection *coll, AclMode mode, bool flush)
{
	return SsCollectionRecheck(coll, SsCatalogGetCollectionById(coll->id, true, true), mode, flush);
}

/*
 * Look up a collection the caller may act on with the given privileges.
 * With lock, also take the collection's state lock (metadata/locks.c).
 */
SsCollection *
SsCollectionOpen(const char *name, AclMode mode, bool lock)
{
	SsCollection *coll = SsCatalogGetCollection(name, false, false);

	SsCollectionCheckPrivilege(coll, mode);
	if (lock)
		coll = LockAndRecheck(coll, mode, false);
	return coll;
}

/* Look up and lock a collection the caller may flush. */
SsCollection *
SsCollectionOpenForFlush(const char *name)
{
	SsCollection *coll = SsCatalogGetCollection(name, false, false);

	CheckFlushPrivilege(coll);
	return LockAndRecheck(coll, 0, true);
}

/*
 * Look up the collection of a compaction, by id, which the caller may act
 * on with the given privileges; an unknown compaction id is an error.
 */
SsCollection *
SsCollectionOpenCompaction(int64 compaction_id, AclMode mode)
{
	SsCollection *coll;

	coll = SsCatalogGetCollectionById(SsCatalogCompactionCollection(compaction_id), false, false);
	SsCollectionCheckPrivilege(coll, mode);
	return coll;
}

/*
 * Create a collection: its growing table (the extension's), and its view
 * (the caller's, which needs the CREATE privilege on schema
 * segstore_data); returns its id.
 */
int64
SsCollectionCreate(const char *name, const char *fields, const char *description)
{
	SsCollection coll;
	int			i;

	SsSchemaCheckName(name);
	if (pg_namespace_aclcheck(SsViewNamespace(), SsCatalogCaller(), ACL_CREATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create collection \"%s\"", name),
				 errhint("Creating collections needs the CREATE privilege on schema %s.",
						 SS_VIEW_SCHEMA)));
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
	coll.retention_s = ss_retention_duration_s;
	if (SsCatalogLegacy())
		coll.relid = SsGrowingCreateLegacy(name, coll.fields, coll.nfields, SsCatalogCaller());
	else
	{
		coll.relid = SsGrowingCreate(coll.id, coll.fields, coll.nfields);
		coll.viewid = SsViewCreate(name, coll.fields, coll.nfields, SsCatalogCaller());
	}
	SsCatalogInsertCollection(&coll, description);
	return coll.id;
}

/*
 * Drop what a collection has besides its view: its growing table, its
 * catalog rows and, once the drop commits, its files.  The caller holds
 * its collection lock in AccessExclusiveLock, which waits for every writer
 * in progress, and its state lock.
 */
static void
DropData(SsCollection *coll)
{
	SsGrowingDrop(coll);
	SsCatalogDeleteCollection(coll->id);
	SsFilesRemoveAtCommit(SsFilesCollectionDir(MyDatabaseId, coll->id));
}

/*
 * Drop a collection and its view; its files go when the drop commits.  The
 * view is locked first, as DROP VIEW locks it before the event trigger
 * locks the collection, so that the two never wait for each other.
 */
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
	SsCollectionCheckPrivilege(coll, SS_OWNER);
	if (OidIsValid(coll->viewid))
		LockRelationOid(coll->viewid, AccessExclusiveLock);
	SsLockCollection(coll->id, AccessExclusiveLock);
	coll = LockAndRecheck(coll, SS_OWNER, false);
	DropData(coll);
	if (OidIsValid(coll->viewid) && OidIsValid(SsViewOwner(coll->viewid)))
		SsViewDrop(coll->viewid, SsCatalogCaller());
}

/*
 * Change a collection's settings (auto_compaction or retention_s < 0:
 * unchanged) and, with new_owner, give it to another role as ALTER VIEW
 * ... OWNER TO does, under PostgreSQL's rules for that.  A new retention
 * window waits for the collection's writers in progress, which chose how
 * to delete by the old one, and holds off new ones until it commits.
 */
void
SsCollectionAlter(const char *name, int auto_compaction, const char *description,
				  const char *new_owner, int retention_s)
{
	SsCollection *coll = SsCollectionOpen(name, SS_OWNER, false);

	if ((new_owner != NULL || retention_s >= 0) && !OidIsValid(coll->viewid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("collection owners and retention can be changed only once segstore is updated"),
				 errhint("Run ALTER EXTENSION segstore UPDATE.")));
	if (retention_s >= 0)
		SsLockCollection(coll->id, ShareLock);
	coll = LockAndRecheck(coll, SS_OWNER, false);
	SsCatalogAlterCollection(coll->id, auto_compaction, description, retention_s);
	if (new_owner != NULL)
		SsViewSetOwner(coll->viewid, new_owner, SsCatalogCaller());
}

/* Table privileges (SQL, comma separated) for segstore privilege names. */
static char *
PrivilegeSql(List *names, AclMode *mode)
{
	StringInfoData buf;
	ListCell   *lc;
	int			i;

	*mode = 0;
	if (names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no collection privilege given")));
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		bool		found = false;

		for (i = 0; i < lengthof(ss_privileges); i++)
			if (pg_strcasecmp(name, ss_privileges[i].name) == 0 ||
				pg_strcasecmp(name, "all") == 0 ||
				(pg_strcasecmp(name, "compact") == 0 &&
				 ss_privileges[i].mode == SS_PRIV_MAINTAIN))
			{
				*mode |= ss_privileges[i].mode;
				found = true;
			}
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized collection privilege \"%s\"", name),
					 errhint("The privileges are read, insert, upsert, delete and maintain (or compact), or all of them.")));
	}
	initStringInfo(&buf);
	for (i = 0; i < lengthof(ss_privileges); i++)
		if (*mode & ss_privileges[i].mode)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", ss_privileges[i].sql);
	return buf.data;
}

/*
 * GRANT (is_grant) or REVOKE privileges of a collection, named as segstore
 * names them, to or from a role ("public": PUBLIC): the GRANT or REVOKE on
 * its view, run as the caller, so PostgreSQL's rules apply (grant options,
 * grantors, dependent privileges).  A caller that may grant none of them
 * is refused here, with the collection named.
 */
void
SsCollectionGrant(const char *name, List *privileges, const char *role, bool is_grant,
				  bool grant_option, bool cascade)
{
	SsCollection *coll = SsCatalogGetCollection(name, false, false);
	AclMode		mode;
	char	   *sql = PrivilegeSql(privileges, &mode);
	bool		missing = false;

	if (!IsOwner(coll) &&
		pg_class_aclmask_ext(coll->viewid, SsCatalogCaller(), ACL_GRANT_OPTION_FOR(mode),
							 ACLMASK_ANY, &missing) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s privileges of collection \"%s\"",
						is_grant ? "grant" : "revoke", name),
				 errdetail("Only its owner and roles holding the %s privilege with grant option may %s it.",
						   PrivilegeNames(mode, "or"), is_grant ? "grant" : "revoke")));
	SsViewGrant(coll->viewid, is_grant, sql, role, grant_option, cascade, SsCatalogCaller());
}

/*
 * In a sql_drop event trigger: drop the collections whose views the
 * command dropped (DROP VIEW, DROP OWNED, a DROP ... CASCADE reaching
 * them).  PostgreSQL checked the right to drop the view; dropping the
 * collection goes with it, as a table's data goes with the table.
 */
void
SsCollectionDropForViews(void)
{
	ListCell   *lc;

	foreach(lc, SsCatalogDroppedViews())
	{
		SsCollection *coll = SsCatalogCollectionByView(lfirst_oid(lc));

		if (coll == NULL)
			continue;
		SsLockCollection(coll->id, AccessExclusiveLock);
		coll = SsCatalogGetCollectionById(coll->id, true, true);
		if (coll != NULL)
			DropData(coll);
	}
}

/*
 * In a ddl_command_end event trigger: for every collection whose view the
 * command changed, check the view still stands for it (SsViewCheck
 * refuses a move out of segstore_data and changed columns), and follow a
 * rename: ALTER VIEW ... RENAME TO renames the collection, to a name that
 * must be a valid collection name.
 */
void
SsCollectionViewsAltered(void)
{
	ListCell   *lc;

	foreach(lc, SsCatalogAlteredRelations())
	{
		SsCollection *coll = SsCatalogCollectionByView(lfirst_oid(lc));
		char	   *name;

		if (coll == NULL)
			continue;
		name = SsViewCheck(coll->viewid, coll->name, coll->fields, coll->nfields);
		if (strcmp(name, coll->name) == 0)
			continue;
		SsSchemaCheckName(name);
		coll = SsCatalogGetCollectionById(coll->id, false, true);
		SsCatalogRenameCollection(coll->id, name);
	}
}

/* Define this module's setting. */
void
SsCollectionInit(void)
{
	DefineCustomIntVariable("segstore.retention_duration",
							"Retention window of new collections: deletes younger than this are kept by compaction, for time travel.",
							"A collection's own window is changed with segstore.alter_collection(retention => ...).",
							&ss_retention_duration_s, RETENTION_DURATION_DEFAULT, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}
