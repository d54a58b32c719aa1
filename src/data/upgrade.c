/*-------------------------------------------------------------------------
 *
 * upgrade.c
 *	  ALTER EXTENSION segstore UPDATE from 0.1: every collection moves to
 *	  0.2's objects.
 *
 * In 0.1 a collection's growing table was segstore_data.<name>, owned by
 * the role that created the collection, whose ACL was the collection's.
 * That role may have attached anything to it (triggers, rules, policies,
 * defaults, constraints, expression indexes, a changed column type) and
 * written it directly.  The update runs as a superuser, so the table is
 * never read in a way that could run such code: it is locked, then read
 * with a plain table scan of the heap (no executor: no rule, policy,
 * trigger or expression is evaluated; only detoasting runs), checked, and
 * its rows are written into a new growing table in segstore_internal that
 * belongs to the extension.  The old table is then dropped, which runs no
 * code either, and the collection's view takes its name, its owner and
 * its ACL (the privileges segstore honoured: SELECT, INSERT, UPDATE,
 * DELETE with their grant options; the owner also gets what 0.2 makes a
 * privilege of ownership rights, maintain).
 *
 * A table whose columns no longer have the collection's types, or whose
 * rows segstore would not have written (a null, a vector of the wrong
 * dimension or with a non-finite component, a key twice, a key also live
 * in a sealed segment), or on which another object depends, stops the
 * update with an error naming the collection and what to fix; nothing is
 * changed then, since the update is one transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "data/collection.h"
#include "data/growing.h"
#include "data/segment.h"
#include "data/upgrade.h"
#include "data/view.h"

/* The row timestamp column of a growing table, unquoted. */
#define TS_COLUMN_NAME "$ts"

/* Why a collection cannot be updated: an error that undoes the update. */
#define REFUSE(coll, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), \
			 errmsg("cannot update collection \"%s\" from segstore 0.1", (coll)->name), \
			 errdetail(__VA_ARGS__), \
			 errhint("Undo what was done to its growing table (as its owner or a superuser, with segstore 0.1's rules), or drop the collection, and run ALTER EXTENSION segstore UPDATE again.")))

/* Error context: which collection was being updated. */
static void
UpgradeErrorContext(void *arg)
{
	errcontext("updating collection \"%s\" from segstore 0.1", (const char *) arg);
}

/*
 * The attribute numbers of the growing table's columns for the fields and
 * "$ts", found by name, each checked to have the type and typmod segstore
 * gave it.
 */
static AttrNumber *
MapColumns(SsCollection *coll, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber *attnums = palloc(sizeof(AttrNumber) * (coll->nfields + 1));
	int			f;

	for (f = 0; f <= coll->nfields; f++)
	{
		const char *name = f < coll->nfields ? coll->fields[f].name : TS_COLUMN_NAME;
		Oid			type = TIMESTAMPTZOID;
		int32		typmod = -1;
		int			a;

		if (f < coll->nfields)
			SsViewColumnType(&coll->fields[f], &type, &typmod);
		attnums[f] = InvalidAttrNumber;
		for (a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);

			if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
				continue;
			if (att->atttypid != type || att->atttypmod != typmod)
				REFUSE(coll, "Column \"%s\" of its growing table %s has type %s, not %s.",
					   name, RelationGetRelationName(rel),
					   format_type_with_typemod(att->atttypid, att->atttypmod),
					   format_type_with_typemod(type, typmod));
			attnums[f] = att->attnum;
		}
		if (attnums[f] == InvalidAttrNumber)
			REFUSE(coll, "Its growing table %s has no column \"%s\".",
				   RelationGetRelationName(rel), name);
	}
	return attnums;
}

/* Check a vector as segstore's insert checks one. */
static void
CheckVector(SsCollection *coll, Datum d, int64 key)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	int			dim = coll->fields[coll->vec].typmod;
	float4	   *v;
	int			i;

	if (ARR_NDIM(arr) != 1 || ARR_DIMS(arr)[0] != dim || ARR_HASNULL(arr) ||
		ARR_ELEMTYPE(arr) != FLOAT4OID)
		REFUSE(coll, "The vector of key " INT64_FORMAT " in its growing table is not %d non-null float4 components.",
			   key, dim);
	v = (float4 *) ARR_DATA_PTR(arr);
	for (i = 0; i < dim; i++)
		if (isnan(v[i]) || isinf(v[i]))
			REFUSE(coll, "The vector of key " INT64_FORMAT " in its growing table has a non-finite component.",
				   key);
}

/*
 * Read every row of the old growing table with a heap scan under a fresh
 * snapshot (the table is locked, so it is complete), as datums copied out
 * of the table (detoasted: its TOAST table goes with it), one row after
 * another, fields then "$ts".  Keys go to *keys.
 */
static Datum *
ReadRows(SsCollection *coll, Relation rel, int64 *nrows, int64 **keys)
{
	AttrNumber *attnums = MapColumns(coll, rel);
	int			ncols = coll->nfields + 1;
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	int64		cap = 64;
	int64		n = 0;
	Datum	   *rows = palloc(sizeof(Datum) * ncols * cap);

	*keys = palloc(sizeof(int64) * cap);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		int			c;

		slot_getallattrs(slot);
		if (n == cap)
		{
			cap *= 2;
			rows = repalloc_huge(rows, sizeof(Datum) * ncols * cap);
			*keys = repalloc_huge(*keys, sizeof(int64) * cap);
		}
		for (c = 0; c < ncols; c++)
		{
			int			a = attnums[c] - 1;
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), a);
			Datum		d = slot->tts_values[a];

			if (slot->tts_isnull[a])
				REFUSE(coll, "A row of its growing table has a null \"%s\".",
					   c < coll->nfields ? coll->fields[c].name : TS_COLUMN_NAME);
			if (att->attlen == -1)
				d = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
			else
				d = datumCopy(d, att->attbyval, att->attlen);
			rows[n * ncols + c] = d;
		}
		(*keys)[n] = DatumGetInt64(rows[n * ncols + coll->pk]);
		CheckVector(coll, rows[n * ncols + coll->vec], (*keys)[n]);
		n++;
		CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	*nrows = n;
	return rows;
}

/* No key twice, and none also live in a sealed segment. */
static void
CheckKeys(SsCollection *coll, int64 *keys, int64 nrows)
{
	int			n = (int) nrows;
	List	   *segments;
	ListCell   *lc;
	int			i;

	SsSortKeys(keys, &n, false);
	for (i = 1; i < n; i++)
		if (keys[i] == keys[i - 1])
			REFUSE(coll, "Key " INT64_FORMAT " is in its growing table twice.", keys[i]);
	segments = SsCatalogSegments(coll->id, true);
	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);
		int			nlive;
		int64	   *live = SsSegmentLiveKeys(coll, seg, keys, n, &nlive);

		if (nlive > 0)
			REFUSE(coll, "Key " INT64_FORMAT " is in its growing table and live in sealed segment " INT64_FORMAT ".",
				   live[0], seg->segment_id);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The ACL of the view from the old table's: what segstore 0.1 honoured
 * (SELECT, INSERT, UPDATE, DELETE, with their grant options) for every
 * grantee, and for the owner also the rights 0.2 makes privileges of
 * ownership ones (TRUNCATE is maintain) and those a relation's owner has
 * by default.  A default (null) ACL stays the default.
 */
static Acl *
CarriedAcl(Acl *old, Oid owner)
{
	AclMode		honoured = SS_PRIV_READ | SS_PRIV_INSERT | SS_PRIV_UPSERT | SS_PRIV_DELETE;
	AclMode		owner_rights = SS_PRIV_MAINTAIN | ACL_REFERENCES | ACL_TRIGGER;
	Acl		   *acl;
	AclItem		item;
	int			i;

	if (old == NULL)
		return NULL;
	acl = make_empty_acl();
	for (i = 0; i < ACL_NUM(old); i++)
	{
		AclMode		privs;
		AclMode		goptions;

		item = ACL_DAT(old)[i];
		privs = ACLITEM_GET_PRIVS(item) & honoured;
		goptions = ACLITEM_GET_GOPTIONS(item) & honoured;
		if (privs == 0 && goptions == 0)
			continue;
		ACLITEM_SET_PRIVS_GOPTIONS(item, privs, goptions);
		acl = aclupdate(acl, &item, ACL_MODECHG_ADD, owner, DROP_RESTRICT);
	}
	item.ai_grantee = owner;
	item.ai_grantor = owner;
	ACLITEM_SET_PRIVS_GOPTIONS(item, owner_rights, ACL_NO_RIGHTS);
	return aclupdate(acl, &item, ACL_MODECHG_ADD, owner, DROP_RESTRICT);
}

/* Move one collection from its 0.1 growing table to 0.2's objects. */
static void
UpgradeCollection(int64 collection_id)
{
	SsCollection *coll = SsCatalogGetCollectionById(collection_id, false, true);
	ErrorContextCallback context;
	Oid			old = coll->relid;
	HeapTuple	tup;
	Form_pg_class form;
	Oid			owner;
	Acl		   *acl = NULL;
	Datum		acl_datum;
	bool		isnull;
	Relation	rel;
	Datum	   *rows;
	int64	   *keys;
	int64		nrows;

	context.callback = UpgradeErrorContext;
	context.arg = coll->name;
	context.previous = error_context_stack;
	error_context_stack = &context;

	LockRelationOid(old, AccessExclusiveLock);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(old));
	if (!HeapTupleIsValid(tup))
		REFUSE(coll, "Its growing table (relation %u) does not exist.", old);
	form = (Form_pg_class) GETSTRUCT(tup);
	if (form->relkind != RELKIND_RELATION)
		REFUSE(coll, "Its growing table %s is no longer a table.", NameStr(form->relname));
	owner = form->relowner;
	acl_datum = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relacl, &isnull);
	if (!isnull)
		acl = DatumGetAclPCopy(acl_datum);
	ReleaseSysCache(tup);

	rel = table_open(old, NoLock);
	rows = ReadRows(coll, rel, &nrows, &keys);
	table_close(rel, NoLock);
	CheckKeys(coll, keys, nrows);

	SsGrowingDropRelation(old);
	coll->relid = SsGrowingCreate(coll->id, coll->fields, coll->nfields);
	SsGrowingInsertDatums(coll, rows, nrows);
	coll->viewid = SsViewCreate(coll->name, coll->fields, coll->nfields, GetUserId());
	SsViewSetOwner(coll->viewid, GetUserNameFromId(owner, false), GetUserId());
	SsViewSetAcl(coll->viewid, CarriedAcl(acl, owner));
	SsCatalogSetCollectionRelations(coll->id, coll->relid, coll->viewid);

	error_context_stack = context.previous;
}

/* Move every collection made by 0.1 to 0.2's objects (see the file header). */
void
SsUpgradeFrom01(void)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore upgrade",
											  ALLOCSET_DEFAULT_SIZES);
	ListCell   *lc;

	foreach(lc, SsCatalogCollectionIds())
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		UpgradeCollection(*(int64 *) lfirst(lc));
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
	}
	MemoryContextDelete(cxt);
}
