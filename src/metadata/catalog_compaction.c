/*-------------------------------------------------------------------------
 *
 * catalog_compaction.c
 *	  The catalog of compactions and their plans.  Like catalog.c, every
 *	  function runs inside a catalog session.
 *
 * A compaction's state is derived from its plans' states, so it cannot
 * disagree with them: Executing while any plan is pending or executing,
 * Failed when any failed, timed out or was cancelled, else Completed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"

#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/procarray.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "metadata/catalog_compaction.h"
#include "metadata/catalog_int.h"
#include "status/status.h"

/*
 * Advisory lock key space of the compaction workers' slots ("segs");
 * planning locks use 1936025456 ("segp").
 */

/* Name of a trigger as stored. */
static const char *
TriggerName(SsTrigger trigger)
{
	switch (trigger)
	{
		case SS_TRIGGER_MANUAL:
			return "manual";
		case SS_TRIGGER_FULL:
			return "full";
		case SS_TRIGGER_AUTO:
			return "auto";
	}
	return "manual";
}

/* Register a compaction; returns its id. */
int64
SsCatalogInsertCompaction(int64 collection_id, SsTrigger trigger, const char *reason)
{
	Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = "    ";
	int64		id = SsCatalogNextId("compaction_id_seq");

	values[0] = Int64GetDatum(id);
	values[1] = Int64GetDatum(collection_id);
	values[2] = CStringGetTextDatum(TriggerName(trigger));
	values[3] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
	nulls[3] = reason ? ' ' : 'n';
	if (SPI_execute_with_args("INSERT INTO segstore.compaction (compaction_id, collection_id, "
							  "trigger, reason) VALUES ($1, $2, $3, $4)",
							  4, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not register compaction");
	return id;
}

/* Queue a plan with the settings that shape it. */
void
SsCatalogInsertPlan(int64 compaction_id, int64 collection_id, SsTrigger trigger,
					const char *plan_type, const int64 *sources, int nsources,
					const SsPlanSettings *settings)
{
	Oid			types[10] = {INT8OID, INT8OID, INT8OID, INT4OID, TEXTOID, INT8ARRAYOID,
	INT8OID, INT8OID, INT4OID, INT4OID};
	Datum		values[10];

	values[0] = Int64GetDatum(SsCatalogNextId("plan_id_seq"));
	values[1] = Int64GetDatum(compaction_id);
	values[2] = Int64GetDatum(collection_id);
	values[3] = Int32GetDatum(trigger == SS_TRIGGER_AUTO ? 1 : 0);
	values[4] = CStringGetTextDatum(plan_type);
	values[5] = SsCatalogInt8Array(sources, nsources);
	values[6] = Int64GetDatum(settings->max_segment_size);
	values[7] = Int64GetDatum(settings->memory_limit);
	values[8] = Int32GetDatum(settings->retention_s);
	values[9] = Int32GetDatum(settings->timeout_s);
	SsCatalogExec("INSERT INTO segstore.compaction_plan (plan_id, compaction_id, collection_id, "
				  "priority, plan_type, sources, max_segment_size, memory_limit, retention_s, "
				  "timeout_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
				  10, types, values, 1);
}

/* Segments that queued or running plans of a collection will rewrite. */
List *
SsCatalogBusySegments(int64 collection_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(collection_id)};

	SsCatalogQuery("SELECT DISTINCT pg_catalog.unnest(sources) FROM segstore.compaction_plan "
				   "WHERE collection_id = $1 AND state IN ('pending', 'executing')",
				   1, types, values);
	return SsCatalogColInt8List(1);
}

/* Collection of a compaction; an unknown id is an error. */
int64
SsCatalogCompactionCollection(int64 compaction_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(compaction_id)};

	SsCatalogQuery("SELECT collection_id FROM segstore.compaction WHERE compaction_id = $1",
				   1, types, values);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("compaction " INT64_FORMAT " does not exist", compaction_id)));
	return SsCatalogColInt8(0, 1);
}

/*
 * Is a plan's worker gone?  A plan left executing by a worker that died,
 * or by a server crash, will never finish.  A standby cannot tell: the
 * worker runs on the primary, so it answers as the primary's catalog says.
 */
static bool
WorkerGone(int pid)
{
	if (RecoveryInProgress())
		return false;
	return pid <= 0 || BackendPidGetProc(pid) == NULL;
}

/*
 * Was a plan, which the statement's snapshot shows executing by worker
 * pid, left so by a worker that is gone?  A worker commits a plan's end
 * and then exits, often before a reader whose snapshot predates that
 * commit looks at its process; so once the process is known to be gone,
 * the latest snapshot, which then includes any commit of it, decides.
 * Checked in the other order, a plan that has just completed would be
 * taken for an orphan.
 */
bool
SsCatalogPlanOrphaned(int64 plan_id, int pid)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(plan_id), Int32GetDatum(pid)};

	if (!WorkerGone(pid))
		return false;
	SsCatalogQueryLatest("SELECT 1 FROM segstore.compaction_plan WHERE plan_id = $1 "
						 "AND state = 'executing' AND COALESCE(worker_pid, 0) = $2",
						 2, types, values);
	return SPI_processed > 0;
}

/* A compaction's state, counted over its plans. */
void
SsCatalogCompactionState(int64 compaction_id, SsCompactionState *state)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(compaction_id)};
	uint64		i;
	uint64		n;
	char	  **states;
	int64	   *plan_ids;
	int		   *pids;

	memset(state, 0, sizeof(*state));
	state->compaction_id = compaction_id;
	SsCatalogQuery("SELECT state, plan_id, COALESCE(worker_pid, 0) FROM segstore.compaction_plan "
				   "WHERE compaction_id = $1", 1, types, values);
	/* kept: an orphan check runs a statement of its own */
	n = SPI_processed;
	states = palloc(sizeof(char *) * Max(n, 1));
	plan_ids = palloc(sizeof(int64) * Max(n, 1));
	pids = palloc(sizeof(int) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		states[i] = SsCatalogColText(i, 1);
		plan_ids[i] = SsCatalogColInt8(i, 2);
		pids[i] = DatumGetInt32(SsCatalogCol(i, 3, &isnull));
	}
	for (i = 0; i < n; i++)
	{
		char	   *s = states[i];

		state->total++;
		if (strcmp(s, "pending") == 0)
			state->executing++;
		else if (strcmp(s, "executing") == 0)
		{
			/* one that ended since the snapshot is still executing in it */
			if (SsCatalogPlanOrphaned(plan_ids[i], pids[i]))
				state->failed++;
			else
				state->executing++;
		}
		else if (strcmp(s, "completed") == 0)
			state->completed++;
		else if (strcmp(s, "timeout") == 0)
			state->timeout++;
		else
			state->failed++;
	}
	state->state = state->executing > 0 ? "Executing" :
		(state->failed + state->timeout > 0) ? "Failed" : "Completed";
}

/* Rows of compaction_plans(). */
void
SsCatalogCompactionPlans(int64 compaction_id, Tuplestorestate *store, TupleDesc desc)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(compaction_id)};
	uint64		i;

	SsCatalogQuery("SELECT plan_id, plan_type, sources, targets, state, rows_in, rows_out, "
				   "deleted_purged, deletes_kept, bytes_in, bytes_out, peak_memory, "
				   "started_at, finished_at, error FROM segstore.compaction_plan "
				   "WHERE compaction_id = $1 ORDER BY plan_id", 1, types, values);
	for (i = 0; i < SPI_processed; i++)
	{
		Datum		row[15];
		bool		nulls[15];
		int			c;

		for (c = 0; c < 15; c++)
			row[c] = SsCatalogCol(i, c + 1, &nulls[c]);
		tuplestore_putvalues(store, desc, row, nulls);
	}
}

/*
 * Cancel a compaction: queued plans are cancelled at once; the pids of
 * workers running its plans are returned, to be signalled.
 */
List *
SsCatalogCancelCompaction(int64 compaction_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(compaction_id)};
	List	   *pids = NIL;
	uint64		i;

	SsCatalogExec("UPDATE segstore.compaction SET cancel_requested = true "
				  "WHERE compaction_id = $1", 1, types, values, 1);
	SsCatalogExec("UPDATE segstore.compaction_plan SET state = 'cancelled', "
				  "finished_at = pg_catalog.now(), error = 'cancelled by user' "
				  "WHERE compaction_id = $1 AND state = 'pending'", 1, types, values, -1);
	SsCatalogQuery("SELECT worker_pid FROM segstore.compaction_plan "
				   "WHERE compaction_id = $1 AND state = 'executing'", 1, types, values);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SsCatalogCol(i, 1, &isnull);

		if (!isnull)
			pids = lappend_int(pids, DatumGetInt32(d));
	}
	return pids;
}

/* Did the current transaction queue this compaction (so it cannot run yet)? */
bool
SsCatalogCompactionQueuedHere(int64 compaction_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(compaction_id)};
	bool		isnull;

	SsCatalogQuery("SELECT xmin FROM segstore.compaction WHERE compaction_id = $1",
				   1, types, values);
	return SPI_processed > 0 &&
		TransactionIdIsCurrentTransactionId(DatumGetTransactionId(SsCatalogCol(0, 1, &isnull)));
}

/*
 * Does this transaction hold the state lock of the collection a compaction
 * belongs to?  Writers that take it update the collection's row
 * (SsCatalogGetCollectionById), so the row version this transaction sees
 * was then written by it.
 */
bool
SsCatalogCompactionCollectionLockedHere(int64 compaction_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(compaction_id)};
	bool		isnull;

	SsCatalogQuery("SELECT c.xmin FROM segstore.collection c JOIN segstore.compaction k "
				   "ON k.collection_id = c.collection_id WHERE k.compaction_id = $1",
				   1, types, values);
	return SPI_processed > 0 &&
		TransactionIdIsCurrentTransactionId(DatumGetTransactionId(SsCatalogCol(0, 1, &isnull)));
}

/* Are plans waiting in this database? */
bool
SsCatalogPlansPending(void)
{
	SsCatalogQuery("SELECT 1 FROM segstore.compaction_plan WHERE state = 'pending' LIMIT 1",
				   0, NULL, NULL);
	return SPI_processed > 0;
}

/*
 * Take the next queued plan for this worker, manual ones first; 0 if none.
 * SKIP LOCKED lets several workers claim plans at once without waiting.
 */
int64
SsCatalogClaimPlan(void)
{
	SsCatalogQuery("UPDATE segstore.compaction_plan SET state = 'executing', "
				   "started_at = pg_catalog.clock_timestamp(), worker_pid = pg_catalog.pg_backend_pid() "
				   "WHERE plan_id = (SELECT plan_id FROM segstore.compaction_plan "
				   "  WHERE state = 'pending' ORDER BY priority, plan_id "
				   "  LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING plan_id", 0, NULL, NULL);
	return SPI_processed > 0 ? SsCatalogColInt8(0, 1) : 0;
}

/* A plan's definition and settings. */
SsPlan *
SsCatalogGetPlan(int64 plan_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(plan_id)};
	SsPlan	   *plan = palloc0(sizeof(SsPlan));
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	bool		isnull;
	int			i;

	SsCatalogQuery("SELECT compaction_id, collection_id, plan_type, sources, max_segment_size, "
				   "memory_limit, retention_s, timeout_s FROM segstore.compaction_plan "
				   "WHERE plan_id = $1", 1, types, values);
	if (SPI_processed != 1)
		elog(ERROR, "compaction plan " INT64_FORMAT " does not exist", plan_id);
	plan->plan_id = plan_id;
	plan->compaction_id = SsCatalogColInt8(0, 1);
	plan->collection_id = SsCatalogColInt8(0, 2);
	plan->plan_type = SsCatalogColText(0, 3);
	arr = DatumGetArrayTypeP(SsCatalogCol(0, 4, &isnull));
	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &plan->nsources);
	plan->sources = palloc(sizeof(int64) * Max(plan->nsources, 1));
	for (i = 0; i < plan->nsources; i++)
		plan->sources[i] = DatumGetInt64(elems[i]);
	plan->max_segment_size = SsCatalogColInt8(0, 5);
	plan->memory_limit = SsCatalogColInt8(0, 6);
	plan->retention_s = DatumGetInt32(SsCatalogCol(0, 7, &isnull));
	plan->timeout_s = DatumGetInt32(SsCatalogCol(0, 8, &isnull));
	return plan;
}

/* Record how a plan ended. */
void
SsCatalogFinishPlan(int64 plan_id, const char *state, const SsPlanResult *result,
					const char *error)
{
	Oid			types[11] = {INT8OID, TEXTOID, INT8ARRAYOID, INT8OID, INT8OID, INT8OID,
	INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID};
	Datum		values[11];
	char		nulls[11];
	int			i;

	memset(nulls, result ? ' ' : 'n', sizeof(nulls));
	nulls[0] = nulls[1] = ' ';
	values[0] = Int64GetDatum(plan_id);
	values[1] = CStringGetTextDatum(state);
	if (result)
	{
		values[2] = SsCatalogInt8Array(result->targets, result->ntargets);
		values[3] = Int64GetDatum(result->rows_in);
		values[4] = Int64GetDatum(result->rows_out);
		values[5] = Int64GetDatum(result->deleted_purged);
		values[6] = Int64GetDatum(result->deletes_kept);
		values[7] = Int64GetDatum(result->bytes_in);
		values[8] = Int64GetDatum(result->bytes_out);
		values[9] = Int64GetDatum(result->peak_memory);
	}
	else
		for (i = 2; i < 11; i++)
			values[i] = (Datum) 0;
	values[10] = error ? CStringGetTextDatum(error) : (Datum) 0;
	nulls[10] = error ? ' ' : 'n';
	/* A plan whose collection was dropped meanwhile has gone with it. */
	if (SPI_execute_with_args("UPDATE segstore.compaction_plan SET state = $2, "
							  "targets = COALESCE($3, targets), rows_in = $4, rows_out = $5, "
							  "deleted_purged = $6, deletes_kept = $7, bytes_in = $8, "
							  "bytes_out = $9, peak_memory = $10, error = $11, "
							  "finished_at = pg_catalog.clock_timestamp() WHERE plan_id = $1",
							  11, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the end of compaction plan " INT64_FORMAT, plan_id);
}

/* Did the user cancel the compaction a plan belongs to? */
bool
SsCatalogCompactionCancelRequested(int64 plan_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(plan_id)};
	bool		isnull;

	SsCatalogQuery("SELECT c.cancel_requested FROM segstore.compaction c "
				   "JOIN segstore.compaction_plan p USING (compaction_id) WHERE p.plan_id = $1",
				   1, types, values);
	return SPI_processed > 0 && DatumGetBool(SsCatalogCol(0, 1, &isnull));
}

/* A plan seen executing, and by which worker. */
typedef struct SsOrphan
{
	int64		plan_id;
	int			pid;
} SsOrphan;

/* Plans left executing by a worker that is gone have failed. */
void
SsCatalogFailOrphanedPlans(void)
{
	uint64		i;
	List	   *orphans = NIL;
	ListCell   *lc;

	SsCatalogQuery("SELECT plan_id, COALESCE(worker_pid, 0) FROM segstore.compaction_plan "
				   "WHERE state = 'executing'", 0, NULL, NULL);
	for (i = 0; i < SPI_processed; i++)
	{
		SsOrphan   *o = palloc(sizeof(SsOrphan));
		bool		isnull;

		o->plan_id = SsCatalogColInt8(i, 1);
		o->pid = DatumGetInt32(SsCatalogCol(i, 2, &isnull));
		orphans = lappend(orphans, o);
	}
	foreach(lc, orphans)
	{
		SsOrphan   *o = lfirst(lc);
		Oid			types[2] = {INT8OID, INT4OID};
		Datum		values[2] = {Int64GetDatum(o->plan_id), Int32GetDatum(o->pid)};

		if (!SsCatalogPlanOrphaned(o->plan_id, o->pid))
			continue;
		/* the row is checked again under its lock: never overwrite an end */
		SsCatalogExec("UPDATE segstore.compaction_plan SET state = 'failed', "
					  "error = 'the worker running the plan exited before it finished', "
					  "finished_at = pg_catalog.clock_timestamp() "
					  "WHERE plan_id = $1 AND state = 'executing' AND COALESCE(worker_pid, 0) = $2",
					  2, types, values, -1);
	}
}

/*
 * Swap segments out: state compacted, stamped with this transaction and
 * with when the retention window lets their files go.
 */
void
SsCatalogMarkCompacted(const int64 *segments, int n, int retention_s)
{
	Oid			types[3] = {INT8ARRAYOID, XID8OID, INT4OID};
	Datum		values[3];

	values[0] = SsCatalogInt8Array(segments, n);
	values[1] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	values[2] = Int32GetDatum(retention_s);
	SsCatalogExec("UPDATE segstore.segment SET state = 'compacted', compacted_xid = $2, "
				  "compacted_at = pg_catalog.now(), "
				  "droppable_at = pg_catalog.now() + pg_catalog.make_interval(secs => $3) "
				  "WHERE segment_id = ANY ($1) AND state = 'flushed'", 3, types, values, n);
	SsCatalogExec("DELETE FROM segstore.pending_delete WHERE segment_id = ANY ($1)",
				  1, types, values, -1);
}

/*
 * Record on a compaction's targets the latest delete it purged from their
 * sources or that their sources had purged before (0.1's catalog has no
 * place for it, nor for time travel's bounds).
 */
void
SsCatalogSetPurgedUntil(const int64 *segments, int n, TimestampTz purged_until)
{
	Oid			types[2] = {INT8ARRAYOID, TIMESTAMPTZOID};
	Datum		values[2];

	if (SsCatalogLegacy())
		return;

	values[0] = SsCatalogInt8Array(segments, n);
	values[1] = TimestampTzGetDatum(purged_until);
	SsCatalogExec("UPDATE segstore.segment SET purged_until = $2 WHERE segment_id = ANY ($1)",
				  2, types, values, n);
}

/*
 * A compaction that left no segment to record what it purged: as_of before
 * purged_until is refused for the whole collection.
 */
void
SsCatalogRaiseHistoryFrom(int64 collection_id, TimestampTz purged_until)
{
	Oid			types[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		values[2];

	if (SsCatalogLegacy())
		return;

	values[0] = Int64GetDatum(collection_id);
	values[1] = TimestampTzGetDatum(purged_until);
	SsCatalogExec("UPDATE segstore.collection SET history_from = GREATEST(history_from, $2) "
				  "WHERE collection_id = $1", 2, types, values, 1);
}

/*
 * The oldest transaction a snapshot of this database may still need to see
 * in progress, as a full id: the horizon below which vacuum prunes this
 * database's tables (sessions of other databases and logical slots'
 * catalog horizons do not count; standbys' feedback and physical slots do).
 */
static FullTransactionId
ReclaimHorizon(void)
{
	Oid			relid = get_relname_relid("segment", get_namespace_oid("segstore", false));
	Relation	rel = table_open(relid, AccessShareLock);
	TransactionId horizon = GetOldestNonRemovableTransactionId(rel);

	table_close(rel, AccessShareLock);
	return SsRecentFullXid(horizon);
}

/*
 * Compacted segments whose files may go (SsDroppableSegment): the swap is
 * older than every snapshot of this database, so none still sees them
 * flushed, and the retention window has passed.
 */
List *
SsCatalogDroppableSegments(void)
{
	FullTransactionId horizon = ReclaimHorizon();
	List	   *result = NIL;
	uint64		i;

	SsCatalogQuery("SELECT segment_id, compacted_xid FROM segstore.segment "
				   "WHERE state = 'compacted' AND droppable_at <= pg_catalog.now()",
				   0, NULL, NULL);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		FullTransactionId fxid = DatumGetFullTransactionId(SsCatalogCol(i, 2, &isnull));

		if (!isnull && FullTransactionIdPrecedes(fxid, horizon))
		{
			SsDroppableSegment *seg = palloc(sizeof(SsDroppableSegment));

			seg->segment_id = SsCatalogColInt8(i, 1);
			seg->compacted_xid = XidFromFullTransactionId(fxid);
			result = lappend(result, seg);
		}
	}
	return result;
}

/*
 * Mark a compacted segment dropped and forget its files; false if another
 * garbage collection got there first.
 */
bool
SsCatalogDropSegment(int64 segment_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(segment_id)};

	SsCatalogQuery("UPDATE segstore.segment SET state = 'dropped' "
				   "WHERE segment_id = $1 AND state = 'compacted'", 1, types, values);
	if (SPI_processed == 0)
		return false;
	SsCatalogExec("DELETE FROM segstore.binlog WHERE segment_id = $1", 1, types, values, -1);
	return true;
}

/*
 * Mark a compaction finished once none of its plans is queued or running,
 * and describe it.  Of several workers finishing its last plans, exactly
 * one gets true: the row lock on the compaction decides.
 */
bool
SsCatalogCloseCompaction(int64 compaction_id, SsCompactionSummary *summary)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(compaction_id)};
	bool		isnull;

	SsCatalogQuery("UPDATE segstore.compaction c SET finished_at = pg_catalog.clock_timestamp() "
				   "WHERE c.compaction_id = $1 AND c.finished_at IS NULL AND NOT EXISTS "
				   "(SELECT 1 FROM segstore.compaction_plan p WHERE p.compaction_id = c.compaction_id "
				   "  AND p.state IN ('pending', 'executing')) RETURNING 1",
				   1, types, values);
	if (SPI_processed == 0)
		return false;
	SsCatalogQuery("SELECT col.name, c.trigger, pg_catalog.count(p.plan_id)::int4, "
				   "pg_catalog.count(p.plan_id) FILTER (WHERE p.state <> 'completed')::int4, "
				   "COALESCE(pg_catalog.sum(p.rows_in), 0)::int8, COALESCE(pg_catalog.sum(p.rows_out), 0)::int8, "
				   "COALESCE(pg_catalog.sum(p.bytes_in), 0)::int8, COALESCE(pg_catalog.sum(p.bytes_out), 0)::int8, "
				   "(EXTRACT(epoch FROM pg_catalog.max(p.finished_at) - "
				   "  COALESCE(pg_catalog.min(p.started_at), c.created_at)) * 1000)::int8 "
				   "FROM segstore.compaction c JOIN segstore.collection col USING (collection_id) "
				   "LEFT JOIN segstore.compaction_plan p USING (compaction_id) "
				   "WHERE c.compaction_id = $1 GROUP BY col.name, c.trigger, c.created_at",
				   1, types, values);
	if (SPI_processed == 0)
		return false;
	summary->compaction_id = compaction_id;
	summary->collection = SsCatalogColText(0, 1);
	summary->trigger = SsCatalogColText(0, 2);
	summary->plans = DatumGetInt32(SsCatalogCol(0, 3, &isnull));
	summary->failed = DatumGetInt32(SsCatalogCol(0, 4, &isnull));
	summary->rows_in = SsCatalogColInt8(0, 5);
	summary->rows_out = SsCatalogColInt8(0, 6);
	summary->bytes_in = SsCatalogColInt8(0, 7);
	summary->bytes_out = SsCatalogColInt8(0, 8);
	summary->duration_ms = DatumGetInt64(SsCatalogCol(0, 9, &isnull));
	if (isnull)
		summary->duration_ms = 0;
	return true;
}

/*
 * Forget compactions older than retention_s whose plans have all ended;
 * returns how many.
 */
int64
SsCatalogPruneHistory(int retention_s)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(retention_s)};

	SsCatalogQuery("DELETE FROM segstore.compaction c "
				   "WHERE c.created_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1) "
				   "AND NOT EXISTS (SELECT 1 FROM segstore.compaction_plan p "
				   "  WHERE p.compaction_id = c.compaction_id AND p.state IN ('pending', 'executing'))",
				   1, types, values);
	return (int64) SPI_processed;
}

/*
 * Are compacted segments left, whose files a snapshot or the retention
 * window still holds?
 */
bool
SsCatalogCompactedSegmentsExist(void)
{
	SsCatalogQuery("SELECT 1 FROM segstore.segment WHERE state = 'compacted' LIMIT 1",
				   0, NULL, NULL);
	return SPI_processed > 0;
}

