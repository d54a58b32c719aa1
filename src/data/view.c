/*-------------------------------------------------------------------------
 *
 * view.c
 *	  The object that stands for a collection: a view segstore_data.<name>
 *	  whose columns are the collection's fields, in field order, and which
 *	  returns no rows.  It belongs to the collection's owner, and its ACL is
 *	  the collection's ACL, so PostgreSQL users manage collections with the
 *	  habits they have: GRANT and REVOKE on it, ALTER VIEW ... OWNER TO,
 *	  has_table_privilege(), and DROP ROLE, REASSIGN OWNED and DROP OWNED
 *	  through the shared dependencies PostgreSQL records for any relation.
 *
 * segstore never selects from the view or writes to it: it only reads its
 * owner and ACL from pg_class.  Whatever its owner attaches to it
 * (triggers, rules, defaults, another query) therefore runs only for
 * whoever uses the view directly, as for any relation of theirs.
 *
 * The view is no member of the extension (DROP OWNED and DROP VIEW must be
 * able to drop it, and its owner is an ordinary role) but depends on it
 * automatically, as ALTER ... DEPENDS ON EXTENSION records: DROP EXTENSION
 * drops it with the collection, without CASCADE.
 *
 * The statements that change the view (CREATE, DROP, ALTER OWNER, GRANT,
 * REVOKE) run as the role that called segstore, inside the catalog
 * session's pinned search_path and security-restricted operation, so that
 * PostgreSQL itself decides whether that role may do them, exactly as if
 * it had typed them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "data/view.h"
#include "metadata/schema.h"

/* The schema of the collections' views. */
Oid
SsViewNamespace(void)
{
	return get_namespace_oid(SS_VIEW_SCHEMA, false);
}

/* The SQL type and typmod of a field's column. */
void
SsViewColumnType(const SsField *field, Oid *type, int32 *typmod)
{
	*typmod = -1;
	switch (field->type)
	{
		case SS_TYPE_INT8:
			*type = INT8OID;
			break;
		case SS_TYPE_INT4:
			*type = INT4OID;
			break;
		case SS_TYPE_FLOAT4:
			*type = FLOAT4OID;
			break;
		case SS_TYPE_FLOAT8:
			*type = FLOAT8OID;
			break;
		case SS_TYPE_BOOL:
			*type = BOOLOID;
			break;
		case SS_TYPE_TEXT:
			*type = TEXTOID;
			break;
		case SS_TYPE_VARCHAR:
			*type = VARCHAROID;
			*typmod = field->typmod + VARHDRSZ;
			break;
		case SS_TYPE_JSONB:
			*type = JSONBOID;
			break;
		case SS_TYPE_VECTOR:
			*type = FLOAT4ARRAYOID;
			break;
	}
}

/* Schema-qualified, quoted name of a view as it is now. */
static char *
QualifiedName(Oid viewid)
{
	char	   *rel = get_rel_name(viewid);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("view %u of a collection does not exist", viewid)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(viewid)), rel);
}

/*
 * Run a utility statement about a view as role, within the catalog
 * session's restrictions.  An error restores the session's identity as the
 * transaction's or subtransaction's abort does.
 */
static void
RunAs(Oid role, const char *sql)
{
	Oid			save_userid;
	int			save_sec_context;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(role, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not run \"%s\"", sql);
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/*
 * Make the view depend on segstore automatically, and on no extension as
 * a member: a view created while an extension script runs (updating from
 * 0.1, or a script that creates collections) is recorded as a member of
 * that extension, and a GRANT there as its initial privileges.
 */
static void
SetDependencyOnExtension(Oid viewid)
{
	ObjectAddress view;
	ObjectAddress ext;

	(void) deleteDependencyRecordsForClass(RelationRelationId, viewid, ExtensionRelationId,
										   DEPENDENCY_EXTENSION);
	if (creating_extension)
		removeExtObjInitPriv(viewid, RelationRelationId);
	view.classId = RelationRelationId;
	view.objectId = viewid;
	view.objectSubId = 0;
	ext.classId = ExtensionRelationId;
	ext.objectId = get_extension_oid("segstore", false);
	ext.objectSubId = 0;
	recordDependencyOn(&view, &ext, DEPENDENCY_AUTO_EXTENSION);
	CommandCounterIncrement();
}

/*
 * Create the view of a new collection as role creator, who becomes its
 * owner (and whose default privileges in segstore_data apply, as for any
 * relation it creates there).  A relation of that name in segstore_data
 * is an error.
 */
Oid
SsViewCreate(const char *name, const SsField *fields, int nfields, Oid creator)
{
	StringInfoData sql;
	Oid			nsp = SsViewNamespace();
	Oid			viewid;
	int			i;

	if (OidIsValid(get_relname_relid(name, nsp)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s.%s\" already exists", SS_VIEW_SCHEMA, name),
				 errdetail("A collection's view in schema %s has the collection's name.",
						   SS_VIEW_SCHEMA)));
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE VIEW %s.%s AS SELECT ", SS_VIEW_SCHEMA, quote_identifier(name));
	for (i = 0; i < nfields; i++)
		appendStringInfo(&sql, "%sNULL::%s AS %s", i ? ", " : "",
						 SsFieldSqlType(&fields[i]), quote_identifier(fields[i].name));
	appendStringInfoString(&sql, " WHERE false");
	RunAs(creator, sql.data);
	CommandCounterIncrement();

	viewid = get_relname_relid(name, nsp);
	if (!OidIsValid(viewid))
		elog(ERROR, "view of collection \"%s\" was not created", name);
	SetDependencyOnExtension(viewid);
	return viewid;
}

/* Drop a collection's view, as the role that called segstore. */
void
SsViewDrop(Oid viewid, Oid role)
{
	RunAs(role, psprintf("DROP VIEW %s", QualifiedName(viewid)));
}

/*
 * Give a collection's view to another role, as the role that called
 * segstore: PostgreSQL's rules for ALTER VIEW ... OWNER TO apply.
 */
void
SsViewSetOwner(Oid viewid, const char *new_owner, Oid role)
{
	RunAs(role, psprintf("ALTER VIEW %s OWNER TO %s", QualifiedName(viewid),
						 quote_identifier(new_owner)));
}

/*
 * GRANT (is_grant) or REVOKE table privileges (SQL names, comma
 * separated) on a collection's view to or from grantee ("public" for
 * PUBLIC), as the role that called segstore.
 */
void
SsViewGrant(Oid viewid, bool is_grant, const char *privileges, const char *grantee,
			bool grant_option, bool cascade, Oid role)
{
	const char *who = pg_strcasecmp(grantee, "public") == 0 ? "PUBLIC" : quote_identifier(grantee);
	char	   *sql;

	if (is_grant)
		sql = psprintf("GRANT %s ON %s TO %s%s", privileges, QualifiedName(viewid), who,
					   grant_option ? " WITH GRANT OPTION" : "");
	else
		sql = psprintf("REVOKE %s%s ON %s FROM %s%s", grant_option ? "GRANT OPTION FOR " : "",
					   privileges, QualifiedName(viewid), who, cascade ? " CASCADE" : "");
	RunAs(role, sql);
}

/* Owner of a collection's view; InvalidOid if it is gone. */
Oid
SsViewOwner(Oid viewid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(viewid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * After a command changed a collection's view: check it is still what
 * stands for the collection and return its name, which the collection
 * follows.  A view moved to another schema, or whose columns no longer are
 * the collection's fields in field order, is an error, which undoes the
 * command.
 */
char *
SsViewCheck(Oid viewid, const char *collection, const SsField *fields, int nfields)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(viewid));
	Form_pg_class rel;
	char	   *name;
	bool		columns_ok;
	int			natts;
	int			i;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", viewid);
	rel = (Form_pg_class) GETSTRUCT(tup);
	name = pstrdup(NameStr(rel->relname));
	if (rel->relnamespace != SsViewNamespace() || rel->relkind != RELKIND_VIEW)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot move the view of collection \"%s\" out of schema %s",
						collection, SS_VIEW_SCHEMA),
				 errdetail("A collection's view stays in schema %s; its name is the collection's.",
						   SS_VIEW_SCHEMA)));
	natts = rel->relnatts;
	ReleaseSysCache(tup);

	columns_ok = natts == nfields;
	for (i = 0; columns_ok && i < nfields; i++)
	{
		HeapTuple	att = SearchSysCache2(ATTNUM, ObjectIdGetDatum(viewid), Int16GetDatum(i + 1));
		Form_pg_attribute a;
		Oid			type;
		int32		typmod;

		if (!HeapTupleIsValid(att))
			elog(ERROR, "cache lookup failed for attribute %d of relation %u", i + 1, viewid);
		a = (Form_pg_attribute) GETSTRUCT(att);
		SsViewColumnType(&fields[i], &type, &typmod);
		columns_ok = !a->attisdropped && strcmp(NameStr(a->attname), fields[i].name) == 0 &&
			a->atttypid == type && a->atttypmod == typmod;
		ReleaseSysCache(att);
	}
	if (!columns_ok)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot change the columns of the view of collection \"%s\"", collection),
				 errdetail("The view's columns are the collection's fields, in field order.")));
	return name;
}

/*
 * Set a view's ACL (updating from 0.1, which carries a growing table's ACL
 * over), recording the roles it names as PostgreSQL records them for a
 * GRANT.
 */
void
SsViewSetAcl(Oid viewid, Acl *acl)
{
	Relation	pg_class = table_open(RelationRelationId, RowExclusiveLock);
	HeapTuple	tup = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(viewid));
	Datum		values[Natts_pg_class] = {0};
	bool		nulls[Natts_pg_class] = {0};
	bool		replace[Natts_pg_class] = {0};
	HeapTuple	newtup;
	Datum		old;
	bool		isnull;
	Oid		   *oldmembers = NULL;
	Oid		   *newmembers = NULL;
	int			noldmembers = 0;
	int			nnewmembers = 0;
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", viewid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	old = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relacl, &isnull);
	if (!isnull)
		noldmembers = aclmembers(DatumGetAclP(old), &oldmembers);
	if (acl != NULL)
		nnewmembers = aclmembers(acl, &newmembers);

	replace[Anum_pg_class_relacl - 1] = true;
	values[Anum_pg_class_relacl - 1] = PointerGetDatum(acl);
	nulls[Anum_pg_class_relacl - 1] = acl == NULL;
	newtup = heap_modify_tuple(tup, RelationGetDescr(pg_class), values, nulls, replace);
	CatalogTupleUpdate(pg_class, &newtup->t_self, newtup);
	updateAclDependencies(RelationRelationId, viewid, 0, owner,
						  noldmembers, oldmembers, nnewmembers, newmembers);
	table_close(pg_class, RowExclusiveLock);
	CommandCounterIncrement();
}
