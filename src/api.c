/*-------------------------------------------------------------------------
 *
 * api.c
 *	  SQL-callable functions.  Each reads its arguments, opens a catalog
 *	  session, opens the collection with the privileges the operation needs
 *	  and calls the module that does the work.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "collection.h"
#include "files.h"
#include "gc.h"
#include "input.h"
#include "inspect.h"
#include "read.h"
#include "write.h"

PG_FUNCTION_INFO_V1(segstore_create_collection);
PG_FUNCTION_INFO_V1(segstore_drop_collection);
PG_FUNCTION_INFO_V1(segstore_has_collection);
PG_FUNCTION_INFO_V1(segstore_alter_collection);
PG_FUNCTION_INFO_V1(segstore_insert);
PG_FUNCTION_INFO_V1(segstore_upsert);
PG_FUNCTION_INFO_V1(segstore_delete_expr);
PG_FUNCTION_INFO_V1(segstore_delete_ids);
PG_FUNCTION_INFO_V1(segstore_flush);
PG_FUNCTION_INFO_V1(segstore_num_entities);
PG_FUNCTION_INFO_V1(segstore_query);
PG_FUNCTION_INFO_V1(segstore_segments);
PG_FUNCTION_INFO_V1(segstore_binlogs);
PG_FUNCTION_INFO_V1(segstore_collection_stats);
PG_FUNCTION_INFO_V1(segstore_gc);
PG_FUNCTION_INFO_V1(segstore_on_drop_extension);

/* Text argument as a C string; a null one is an error naming the argument. */
static char *
TextArg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* create_collection(name, fields, description) */
Datum
segstore_create_collection(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	char	   *fields = TextArg(fcinfo, 1, "field list");
	char	   *description = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	SsCatalogSession session;
	int64		id;

	SsCatalogOpen(&session, false);
	id = SsCollectionCreate(name, fields, description);
	SsCatalogClose(&session);
	PG_RETURN_INT64(id);
}

/* drop_collection(name, if_exists) */
Datum
segstore_drop_collection(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;

	SsCatalogOpen(&session, false);
	SsCollectionDrop(name, PG_GETARG_BOOL(1));
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* has_collection(name): true if it exists and the caller may read it */
Datum
segstore_has_collection(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;
	bool		found;

	SsCatalogOpen(&session, true);
	found = SsCatalogGetCollection(name, true, false) != NULL;
	SsCatalogClose(&session);
	PG_RETURN_BOOL(found);
}

/* alter_collection(name, auto_compaction, description) */
Datum
segstore_alter_collection(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	int			auto_compaction = PG_ARGISNULL(1) ? -1 : PG_GETARG_BOOL(1);
	char	   *description = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	SsCatalogSession session;

	SsCatalogOpen(&session, false);
	SsCollectionAlter(name, auto_compaction, description);
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* Shared body of insert() and upsert(). */
static Datum
InsertOrUpsert(FunctionCallInfo fcinfo, bool upsert)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;
	SsCollection *coll;
	int64		n;

	SsCatalogOpen(&session, false);
	coll = SsCollectionOpen(name, upsert ? ACL_INSERT | ACL_UPDATE : ACL_INSERT, true);
	n = SsWriteInsert(coll, SsInputBatch(coll, fcinfo, 1), upsert);
	SsCatalogClose(&session);
	PG_RETURN_INT64(n);
}

/* insert(collection, VARIADIC columns) */
Datum
segstore_insert(PG_FUNCTION_ARGS)
{
	return InsertOrUpsert(fcinfo, false);
}

/* upsert(collection, VARIADIC columns) */
Datum
segstore_upsert(PG_FUNCTION_ARGS)
{
	return InsertOrUpsert(fcinfo, true);
}

/* delete(collection, expr) */
Datum
segstore_delete_expr(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	char	   *expr = TextArg(fcinfo, 1, "expression");
	SsCatalogSession session;
	SsCollection *coll;
	int64		n;

	SsCatalogOpen(&session, false);
	coll = SsCollectionOpen(name, ACL_DELETE | ACL_SELECT, true);
	n = SsWriteDeleteExpr(coll, expr);
	SsCatalogClose(&session);
	PG_RETURN_INT64(n);
}

/* delete(collection, ids) */
Datum
segstore_delete_ids(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	SsCatalogSession session;
	SsCollection *coll;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int64	   *keys;
	int			nkeys = 0;
	int			i;
	int64		n;

	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &nelems);
	keys = palloc(sizeof(int64) * Max(nelems, 1));
	for (i = 0; i < nelems; i++)
		if (!nulls[i])
			keys[nkeys++] = DatumGetInt64(elems[i]);

	SsCatalogOpen(&session, false);
	coll = SsCollectionOpen(name, ACL_DELETE, true);
	n = SsWriteDeleteKeys(coll, keys, nkeys);
	SsCatalogClose(&session);
	PG_RETURN_INT64(n);
}

/* flush(collection) */
Datum
segstore_flush(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;
	SsCollection *coll;

	SsCatalogOpen(&session, false);
	coll = SsCatalogGetCollection(name, false, false);
	if (pg_class_aclmask(coll->relid, SsCatalogCaller(), ACL_INSERT | ACL_DELETE,
						 ACLMASK_ANY) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for collection \"%s\"", name),
				 errdetail("Flushing needs the INSERT or DELETE privilege.")));
	coll = SsCatalogGetCollection(name, false, true);
	SsWriteFlush(coll);
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* num_entities(collection) */
Datum
segstore_num_entities(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;
	int64		n;

	SsCatalogOpen(&session, true);
	n = SsReadNumEntities(SsCollectionOpen(name, ACL_SELECT, false));
	SsCatalogClose(&session);
	PG_RETURN_INT64(n);
}

/* query(collection, expr, output_fields, lim) */
Datum
segstore_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "collection name");
	char	   *expr = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	List	   *output = NIL;
	int64		limit = -1;
	SsCatalogSession session;

	if (!PG_ARGISNULL(2))
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (i = 0; i < n; i++)
			if (!nulls[i])
				output = lappend(output, TextDatumGetCString(elems[i]));
	}
	if (!PG_ARGISNULL(3))
	{
		limit = PG_GETARG_INT32(3);
		if (limit < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("query limit must not be negative")));
	}

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SsCatalogOpen(&session, true);
	SsReadQuery(SsCollectionOpen(name, ACL_SELECT, false), expr, output, limit,
				rsinfo->setResult, rsinfo->setDesc);
	SsCatalogClose(&session);
	return (Datum) 0;
}

/* segments(collection) */
Datum
segstore_segments(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;

	InitMaterializedSRF(fcinfo, 0);
	SsCatalogOpen(&session, true);
	SsInspectSegments(SsCollectionOpen(name, ACL_SELECT, false),
					  rsinfo->setResult, rsinfo->setDesc);
	SsCatalogClose(&session);
	return (Datum) 0;
}

/* binlogs(collection) */
Datum
segstore_binlogs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;

	InitMaterializedSRF(fcinfo, 0);
	SsCatalogOpen(&session, true);
	SsInspectBinlogs(SsCollectionOpen(name, ACL_SELECT, false),
					 rsinfo->setResult, rsinfo->setDesc);
	SsCatalogClose(&session);
	return (Datum) 0;
}

/* collection_stats(collection) */
Datum
segstore_collection_stats(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;
	TupleDesc	desc;
	HeapTuple	tuple;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	SsCatalogOpen(&session, true);
	tuple = SsInspectStats(SsCollectionOpen(name, ACL_SELECT, false), desc);
	SsCatalogClose(&session);
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

/* gc(): remove files no committed catalog row references */
Datum
segstore_gc(PG_FUNCTION_ARGS)
{
	SsCatalogSession session;
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int			files;
	int64		bytes;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	SsCatalogOpen(&session, false);
	SsGcRun(&files, &bytes);
	SsCatalogClose(&session);
	values[0] = Int32GetDatum(files);
	values[1] = Int64GetDatum(bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* Event trigger: DROP EXTENSION segstore removes the database's files at commit. */
Datum
segstore_on_drop_extension(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	DropStmt   *stmt;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!IsA(trigdata->parsetree, DropStmt))
		PG_RETURN_VOID();
	stmt = (DropStmt *) trigdata->parsetree;
	if (stmt->removeType != OBJECT_EXTENSION)
		PG_RETURN_VOID();
	foreach(lc, stmt->objects)
		if (strcmp(strVal(lfirst(lc)), "segstore") == 0)
			SsFilesRemoveAtCommit(MyDatabaseId, 0);
	PG_RETURN_VOID();
}
