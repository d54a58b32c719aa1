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

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "compaction/compaction.h"
#include "compaction/gc.h"
#include "data/collection.h"
#include "data/index.h"
#include "data/input.h"
#include "data/inspect.h"
#include "data/read.h"
#include "data/upgrade.h"
#include "data/verify.h"
#include "data/write.h"
#include "format/files.h"
#include "format/filewal.h"
#include "search/search.h"
#include "status/status.h"
#include "workers/workers.h"

PG_FUNCTION_INFO_V1(segstore_create_collection);
PG_FUNCTION_INFO_V1(segstore_drop_collection);
PG_FUNCTION_INFO_V1(segstore_has_collection);
PG_FUNCTION_INFO_V1(segstore_alter_collection);
PG_FUNCTION_INFO_V1(segstore_grant);
PG_FUNCTION_INFO_V1(segstore_revoke);
PG_FUNCTION_INFO_V1(segstore_insert);
PG_FUNCTION_INFO_V1(segstore_insert_from);
PG_FUNCTION_INFO_V1(segstore_upsert);
PG_FUNCTION_INFO_V1(segstore_delete_expr);
PG_FUNCTION_INFO_V1(segstore_delete_ids);
PG_FUNCTION_INFO_V1(segstore_flush);
PG_FUNCTION_INFO_V1(segstore_num_entities);
PG_FUNCTION_INFO_V1(segstore_query);
PG_FUNCTION_INFO_V1(segstore_segments);
PG_FUNCTION_INFO_V1(segstore_binlogs);
PG_FUNCTION_INFO_V1(segstore_verify);
PG_FUNCTION_INFO_V1(segstore_collection_stats);
PG_FUNCTION_INFO_V1(segstore_gc);
PG_FUNCTION_INFO_V1(segstore_on_drop_extension);
PG_FUNCTION_INFO_V1(segstore_on_sql_drop);
PG_FUNCTION_INFO_V1(segstore_on_ddl_command_end);
PG_FUNCTION_INFO_V1(segstore_convert_from_0_1);
PG_FUNCTION_INFO_V1(segstore_compact);
PG_FUNCTION_INFO_V1(segstore_trigger_compaction);
PG_FUNCTION_INFO_V1(segstore_compaction_state);
PG_FUNCTION_INFO_V1(segstore_compaction_plans);
PG_FUNCTION_INFO_V1(segstore_plan_orphaned);
PG_FUNCTION_INFO_V1(segstore_wait_for_compaction);
PG_FUNCTION_INFO_V1(segstore_cancel_compaction);
PG_FUNCTION_INFO_V1(segstore_compaction_progress);
PG_FUNCTION_INFO_V1(segstore_worker_status);
PG_FUNCTION_INFO_V1(segstore_create_index);
PG_FUNCTION_INFO_V1(segstore_drop_index);
PG_FUNCTION_INFO_V1(segstore_search);
PG_FUNCTION_INFO_V1(segstore_search_batch);
PG_FUNCTION_INFO_V1(segstore_build_index);
PG_FUNCTION_INFO_V1(segstore_load);
PG_FUNCTION_INFO_V1(segstore_release);

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

/* An interval argument in whole seconds (months of 30 days), from 0 to INT_MAX. */
static int
SecondsArg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	Interval   *iv = PG_GETARG_INTERVAL_P(argno);
	double		secs = (double) iv->time / USECS_PER_SEC +
		((double) iv->month * DAYS_PER_MONTH + iv->day) * SECS_PER_DAY;

	if (secs < 0 || secs > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and %d seconds", what, INT_MAX)));
	return (int) secs;
}

/* alter_collection(name, auto_compaction, description, owner, retention) */
Datum
segstore_alter_collection(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	int			auto_compaction = PG_ARGISNULL(1) ? -1 : PG_GETARG_BOOL(1);
	char	   *description = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	/* 0.1's SQL declares no owner or retention argument */
	char	   *owner = PG_NARGS() < 4 || PG_ARGISNULL(3) ? NULL :
		pstrdup(NameStr(*PG_GETARG_NAME(3)));
	int			retention_s = PG_NARGS() < 5 || PG_ARGISNULL(4) ? -1 :
		SecondsArg(fcinfo, 4, "retention");
	SsCatalogSession session;

	SsCatalogOpen(&session, false);
	SsCollectionAlter(name, auto_compaction, description, owner, retention_s);
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* The elements of a text[] argument that are not null. */
static List *
TextArrayArg(FunctionCallInfo fcinfo, int argno)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	List	   *result = NIL;

	deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
		if (!nulls[i])
			result = lappend(result, TextDatumGetCString(elems[i]));
	return result;
}

/* grant(collection, privileges, role, with_grant_option) */
Datum
segstore_grant(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	List	   *privileges = TextArrayArg(fcinfo, 1);
	char	   *role = pstrdup(NameStr(*PG_GETARG_NAME(2)));
	SsCatalogSession session;

	SsCatalogOpen(&session, false);
	SsCollectionGrant(name, privileges, role, true, PG_GETARG_BOOL(3), false);
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* revoke(collection, privileges, role, grant_option_only, cascade) */
Datum
segstore_revoke(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	List	   *privileges = TextArrayArg(fcinfo, 1);
	char	   *role = pstrdup(NameStr(*PG_GETARG_NAME(2)));
	SsCatalogSession session;

	SsCatalogOpen(&session, false);
	SsCollectionGrant(name, privileges, role, false, PG_GETARG_BOOL(3), PG_GETARG_BOOL(4));
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
	coll = SsCollectionOpen(name, upsert ? SS_PRIV_INSERT | SS_PRIV_UPSERT : SS_PRIV_INSERT, false);
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

/* insert_from(collection, query, upsert) */
Datum
segstore_insert_from(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	char	   *query = TextArg(fcinfo, 1, "query");

	PG_RETURN_INT64(SsWriteInsertQuery(name, query, !PG_ARGISNULL(2) && PG_GETARG_BOOL(2)));
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
	coll = SsCollectionOpen(name, SS_PRIV_DELETE | SS_PRIV_READ, false);
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
	coll = SsCollectionOpen(name, SS_PRIV_DELETE, false);
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
	coll = SsCollectionOpenForFlush(name);
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
	n = SsReadNumEntities(SsCollectionOpen(name, SS_PRIV_READ, false));
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
	SsReadQuery(SsCollectionOpen(name, SS_PRIV_READ, false), expr, output, limit,
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
	SsInspectSegments(SsCollectionOpen(name, SS_PRIV_READ, false),
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
	SsInspectBinlogs(SsCollectionOpen(name, SS_PRIV_READ, false),
					 rsinfo->setResult, rsinfo->setDesc);
	SsCatalogClose(&session);
	return (Datum) 0;
}

/* verify(collection): one row per problem with the collection's files */
Datum
segstore_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;

	InitMaterializedSRF(fcinfo, 0);
	SsCatalogOpen(&session, true);
	SsVerifyCollection(SsCollectionOpen(name, SS_OWNER, false),
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
	tuple = SsInspectStats(SsCollectionOpen(name, SS_PRIV_READ, false), desc);
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
	/* a standby's transactions are read-only too: say why it cannot write */
	SsFileWalCheckWritable();
	PreventCommandIfReadOnly("segstore.gc()");
	SsCatalogOpen(&session, false);
	SsGcRun(true, &files, &bytes);
	SsCatalogClose(&session);
	values[0] = Int32GetDatum(files);
	values[1] = Int64GetDatum(bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* Refuse a call that does not come from an event trigger. */
static void
CheckEventTrigger(FunctionCallInfo fcinfo)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function must be called as an event trigger")));
}

/*
 * Event trigger: DROP EXTENSION segstore stops the database's workers and
 * removes its files at commit.  A role that may not drop the extension is
 * refused first, as the drop itself would refuse it, so that it cannot
 * stop running compactions.
 */
Datum
segstore_on_drop_extension(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	DropStmt   *stmt;
	ListCell   *lc;

	CheckEventTrigger(fcinfo);
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!IsA(trigdata->parsetree, DropStmt))
		PG_RETURN_VOID();
	stmt = (DropStmt *) trigdata->parsetree;
	if (stmt->removeType != OBJECT_EXTENSION)
		PG_RETURN_VOID();
	foreach(lc, stmt->objects)
	{
		if (strcmp(strVal(lfirst(lc)), "segstore") != 0)
			continue;

		if (!pg_extension_ownercheck(get_extension_oid("segstore", false), GetUserId()))
			aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_EXTENSION, "segstore");
		SsLauncherStopForDropExtension();
		SsFilesRemoveAtCommit(SsFilesDatabaseDir(MyDatabaseId));
	}
	PG_RETURN_VOID();
}

/* Event trigger on sql_drop: a collection's view dropped takes the collection with it. */
Datum
segstore_on_sql_drop(PG_FUNCTION_ARGS)
{
	SsCatalogSession session;

	CheckEventTrigger(fcinfo);
	SsCatalogOpen(&session, false);
	SsCollectionDropForViews();
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* Event trigger on ddl_command_end: a collection follows changes to its view, or refuses them. */
Datum
segstore_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	SsCatalogSession session;

	CheckEventTrigger(fcinfo);
	SsCatalogOpen(&session, false);
	SsCollectionViewsAltered();
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* convert_from_0_1(): while updating from 0.1, move every collection to 0.2's objects */
Datum
segstore_convert_from_0_1(PG_FUNCTION_ARGS)
{
	SsCatalogSession session;

	if (!creating_extension)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segstore.convert_from_0_1() runs only inside ALTER EXTENSION segstore UPDATE")));
	SsCatalogOpen(&session, false);
	SsUpgradeFrom01();
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* compact(collection, full): queue a compaction; returns its id at once */
Datum
segstore_compact(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;
	SsCollection *coll;
	int64		id;

	SsCatalogOpen(&session, false);
	coll = SsCollectionOpen(name, SS_PRIV_MAINTAIN, false);
	id = SsCompactionPlan(coll, PG_GETARG_BOOL(1) ? SS_TRIGGER_FULL : SS_TRIGGER_MANUAL, NULL);
	SsCompactionLaunchAtCommit(id);
	SsCatalogClose(&session);
	PG_RETURN_INT64(id);
}

/* trigger_compaction(collection): apply the automatic rules; NULL if none fires */
Datum
segstore_trigger_compaction(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;
	SsCollection *coll;
	int64		id;

	SsCatalogOpen(&session, false);
	coll = SsCollectionOpen(name, SS_PRIV_MAINTAIN, false);
	id = SsCompactionPlan(coll, SS_TRIGGER_AUTO, NULL);
	if (id != 0)
		SsCompactionLaunchAtCommit(id);
	SsCatalogClose(&session);
	if (id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}

/* compaction_state(id) */
Datum
segstore_compaction_state(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	SsCatalogSession session;
	SsCompactionState st;
	TupleDesc	desc;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	SsCatalogOpen(&session, true);
	(void) SsCollectionOpenCompaction(id, SS_PRIV_READ);
	SsCatalogCompactionState(id, &st);
	SsCatalogClose(&session);
	values[0] = Int64GetDatum(st.compaction_id);
	values[1] = CStringGetTextDatum(st.state);
	values[2] = Int32GetDatum(st.executing);
	values[3] = Int32GetDatum(st.completed);
	values[4] = Int32GetDatum(st.failed);
	values[5] = Int32GetDatum(st.timeout);
	values[6] = Int32GetDatum(st.total);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* compaction_plans(id) */
Datum
segstore_compaction_plans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		id = PG_GETARG_INT64(0);
	SsCatalogSession session;

	InitMaterializedSRF(fcinfo, 0);
	SsCatalogOpen(&session, true);
	(void) SsCollectionOpenCompaction(id, SS_PRIV_READ);
	SsCatalogCompactionPlans(id, rsinfo->setResult, rsinfo->setDesc);
	SsCatalogClose(&session);
	return (Datum) 0;
}

/* plan_orphaned(plan_id, worker_pid): for the compactions view */
Datum
segstore_plan_orphaned(PG_FUNCTION_ARGS)
{
	SsCatalogSession session;
	bool		orphaned;

	SsCatalogOpen(&session, true);
	orphaned = SsCatalogPlanOrphaned(PG_GETARG_INT64(0), PG_GETARG_INT32(1));
	SsCatalogClose(&session);
	PG_RETURN_BOOL(orphaned);
}

/* wait_for_compaction(id, timeout): block until it ends; returns its state */
Datum
segstore_wait_for_compaction(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(SsCompactionWait(PG_GETARG_INT64(0),
													  PG_GETARG_INTERVAL_P(1))));
}

/* cancel_compaction(id): queued plans are cancelled, running ones stopped */
Datum
segstore_cancel_compaction(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	SsCatalogSession session;
	List	   *pids;

	SsCatalogOpen(&session, false);
	(void) SsCollectionOpenCompaction(id, SS_PRIV_MAINTAIN);
	pids = SsCatalogCancelCompaction(id);

	/* A running plan stops at its next interrupt check and rolls back. */
	SsCompactionCancelAtCommit(pids);
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* compaction_progress(): every running plan, from shared memory */
Datum
segstore_compaction_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SsProgressList(rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}

/* worker_status(): each database's maintenance worker, from shared memory */
Datum
segstore_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SsWorkerStatusList(rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}

/* One key a params object may have. */
typedef struct OptionParam
{
	const char *name;
	bool		is_text;
	bool		found;
	int64		ival;
	char	   *sval;
} OptionParam;

/*
 * Read a jsonb params object (what: its name in messages) into params:
 * integers or strings under known keys; anything else is an error.
 */
static void
ParseParams(Jsonb *jb, OptionParam *params, int nparams, const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (JB_ROOT_IS_SCALAR(jb) || !JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", what)));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		OptionParam	   *p = NULL;
		int			i;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (i = 0; i < nparams; i++)
			if (strcmp(params[i].name, key) == 0)
				p = &params[i];
		if (p == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%s\" in %s", key, what)));
		(void) JsonbIteratorNext(&it, &v, true);
		p->found = true;
		if (p->is_text)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s \"%s\" must be a string", what, key)));
			p->sval = pnstrdup(v.val.string.val, v.val.string.len);
		}
		else
		{
			char	   *text;
			char	   *end;

			if (v.type != jbvNumeric)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s \"%s\" must be an integer", what, key)));
			text = DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v.val.numeric)));
			errno = 0;
			p->ival = strtoi64(text, &end, 10);
			if (errno != 0 || *end != '\0' || p->ival < PG_INT32_MIN || p->ival > PG_INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s \"%s\" must be an integer, not %s", what, key, text)));
		}
	}
}

/* create_index(collection, field, index_type, metric_type, params) */
Datum
segstore_create_index(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	char	   *field = TextArg(fcinfo, 1, "field");
	SsIndexType type = SsIndexTypeFromName(TextArg(fcinfo, 2, "index_type"));
	SsMetric	metric = SsMetricFromName(TextArg(fcinfo, 3, "metric_type"));
	OptionParam		params[1] = {{"nlist", false, false, 128, NULL}};
	SsCatalogSession session;

	if (!PG_ARGISNULL(4))
		ParseParams(PG_GETARG_JSONB_P(4), params, 1, "index parameters");
	SsCatalogOpen(&session, false);
	SsIndexCreate(SsCollectionOpen(name, SS_OWNER, false), field, type, metric,
				  (int) params[0].ival);
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/*
 * build_index(collection): build the index files its segments lack now,
 * failed ones included, as the maintenance worker does; a segment that
 * cannot be built is a warning, not an error.
 */
Datum
segstore_build_index(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;
	int			n;

	SsCatalogOpen(&session, false);
	n = SsIndexBuildMissing(SsCollectionOpen(name, SS_PRIV_MAINTAIN, false), true, WARNING);
	SsCatalogClose(&session);
	PG_RETURN_INT32(n);
}

/* drop_index(collection, field, if_exists) */
Datum
segstore_drop_index(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	char	   *field = TextArg(fcinfo, 1, "field");
	SsCatalogSession session;

	SsCatalogOpen(&session, false);
	SsIndexDrop(SsCollectionOpen(name, SS_OWNER, true), field, PG_GETARG_BOOL(2));
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/*
 * Query vectors from a float4 array of ndim dimensions (1: one query,
 * 2: one per row), checked for nulls and non-finite components.
 */
static float *
QueryVectors(ArrayType *arr, int ndim, int *nqueries, int *dim)
{
	float	   *v;
	int64		total;
	int64		i;

	if (ARR_NDIM(arr) != ndim)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg(ndim == 1 ? "query must be a one-dimensional array" :
						"queries must be a two-dimensional array, one query per row")));
	if (ARR_HASNULL(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query vectors must not have null components")));
	*nqueries = ndim == 1 ? 1 : ARR_DIMS(arr)[0];
	*dim = ARR_DIMS(arr)[ndim - 1];
	total = (int64) *nqueries * *dim;
	v = (float *) ARR_DATA_PTR(arr);
	for (i = 0; i < total; i++)
		if (isnan(v[i]) || isinf(v[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("query vector %d has a non-finite component", (int) (i / *dim) + 1),
					 errdetail("NaN and infinity are not allowed in vectors.")));
	return v;
}

/* Shared body of search() and search_batch(). */
static Datum
Search(FunctionCallInfo fcinfo, bool batch)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = TextArg(fcinfo, 0, "collection name");
	OptionParam		params[2] = {{"nprobe", false, false, 0, NULL},
	{"metric_type", true, false, 0, NULL}};
	SsSearchRequest req;
	SsCatalogSession session;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s and k must not be null", batch ? "queries" : "query")));
	memset(&req, 0, sizeof(req));
	req.queries = QueryVectors(PG_GETARG_ARRAYTYPE_P(1), batch ? 2 : 1, &req.nqueries,
							   &req.dim);
	req.k = PG_GETARG_INT32(2);
	if (req.k < 1 || req.k > SS_MAX_TOPK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d, not %d", SS_MAX_TOPK, req.k)));
	if (!PG_ARGISNULL(3))
		ParseParams(PG_GETARG_JSONB_P(3), params, 2, "search parameters");
	if (params[0].found && (params[0].ival < 1 || params[0].ival > SS_MAX_NLIST))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nprobe must be between 1 and %d, not " INT64_FORMAT,
						SS_MAX_NLIST, params[0].ival)));
	req.nprobe = (int) params[0].ival;
	req.has_metric = params[1].found;
	if (req.has_metric)
		req.metric = SsMetricFromName(params[1].sval);
	req.filter = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	req.has_as_of = !PG_ARGISNULL(5);
	if (req.has_as_of)
		req.as_of = PG_GETARG_TIMESTAMPTZ(5);
	req.with_query_no = batch;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SsCatalogOpen(&session, true);
	SsSearch(name, &req, rsinfo->setResult, rsinfo->setDesc);
	SsCatalogClose(&session);
	return (Datum) 0;
}

/* search(collection, query, k, params, filter, as_of) */
Datum
segstore_search(PG_FUNCTION_ARGS)
{
	return Search(fcinfo, false);
}

/* search_batch(collection, queries, k, params, filter, as_of) */
Datum
segstore_search_batch(PG_FUNCTION_ARGS)
{
	return Search(fcinfo, true);
}

/* load(collection): map its segments' files and read them ahead */
Datum
segstore_load(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;

	SsCatalogOpen(&session, true);
	SsSearchCacheLoad(name);
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}

/* release(collection): drop this backend's mappings of its files */
Datum
segstore_release(PG_FUNCTION_ARGS)
{
	char	   *name = TextArg(fcinfo, 0, "collection name");
	SsCatalogSession session;

	SsCatalogOpen(&session, true);
	SsSearchCacheRelease(name);
	SsCatalogClose(&session);
	PG_RETURN_VOID();
}
