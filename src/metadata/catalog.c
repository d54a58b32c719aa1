/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Reading and writing segstore's catalog tables through SPI.
 *
 * The catalog tables live in the extension's schema and belong to its
 * owner; ordinary roles have no privileges on them.  A catalog session runs
 * as that owner the way PostgreSQL's own maintenance commands run as a
 * table's owner: with search_path pinned to pg_catalog, so that callers'
 * settings cannot redirect the queries below, and as a security-restricted
 * operation, so that nothing reached from here can change the session's
 * role or leave objects behind.  Every relation a session's statements
 * name belongs to the extension's owner (the catalog, the growing tables
 * in schema segstore_internal), so no other role's code can be reached.
 * Statements run read-only in the caller's snapshot when the session is
 * read-only, which gives readers one consistent view of segments, binlogs
 * and pending deletes.
 *
 * A writer's session switches to the latest snapshot once it holds its
 * locks (SsCatalogUseLatest): what it checks ("is this key live?") and
 * changes must be the committed state as it is now, which its locks keep
 * from changing under it, not the state its transaction's snapshot saw.
 *
 * Sessions nest (an event trigger fired by a statement of a session opens
 * its own); each restores what the enclosing one had when it closes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "format/filewal.h"
#include "metadata/catalog.h"
#include "metadata/catalog_int.h"
#include "metadata/locks.h"
#include "metadata/schema.h"

static bool ss_read_only = false;
static bool ss_latest = false;
static Snapshot ss_snapshot = NULL;
static Oid	ss_caller = InvalidOid;

/* Owner of the extension's catalog tables. */
Oid
SsCatalogExtensionOwner(void)
{
	Oid			nsp = get_namespace_oid("segstore", false);
	Oid			relid = get_relname_relid("collection", nsp);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		elog(ERROR, "segstore catalog table segstore.collection is missing");
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Connect SPI as the extension owner with a safe search_path.  A session
 * that may write fails first on a standby (25006, like any write there)
 * and without the preloaded WAL resource manager, before anything is
 * written.
 */
void
SsCatalogOpen(SsCatalogSession *session, bool read_only)
{
	Oid			owner;

	if (!read_only)
		SsFileWalCheckWritable();
	owner = SsCatalogExtensionOwner();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&session->save_userid, &session->save_sec_context);
	session->save_caller = ss_caller;
	session->save_read_only = ss_read_only;
	session->save_latest = ss_latest;
	session->save_snapshot = ss_snapshot;
	session->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	SetUserIdAndSecContext(owner, session->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ss_read_only = read_only;
	ss_latest = false;
	ss_snapshot = NULL;
	ss_caller = session->save_userid;
}

/* Undo SsCatalogOpen; on error, transaction abort does the same. */
void
SsCatalogClose(SsCatalogSession *session)
{
	AtEOXact_GUC(true, session->save_nestlevel);
	SetUserIdAndSecContext(session->save_userid, session->save_sec_context);
	ss_caller = session->save_caller;
	ss_read_only = session->save_read_only;
	ss_latest = session->save_latest;
	ss_snapshot = session->save_snapshot;
	SPI_finish();
}

/*
 * From now on in this session, run statements in the latest snapshot
 * instead of the transaction's (see the file header).
 */
void
SsCatalogUseLatest(void)
{
	ss_latest = true;
}

/*
 * Run this session's statements in snapshot (NULL: as before it was set)
 * until it is set again; returns the one set before.  A writer looks at
 * what its own transaction's snapshot saw this way.
 */
Snapshot
SsCatalogSetSnapshot(Snapshot snapshot)
{
	Snapshot	prev = ss_snapshot;

	ss_snapshot = snapshot;
	return prev;
}

/* The role that called segstore, whose privileges decide what it may do. */
Oid
SsCatalogCaller(void)
{
	return ss_caller;
}

/* Is the current catalog session read-only? */
bool
SsCatalogReadOnly(void)
{
	return ss_read_only;
}

/*
 * Saved plans of the catalog statements that take parameters, by their
 * text.  Every write parses and plans a dozen of them; planning
 * SsCatalogSegments' alone took 40% of a 10-row insert.  The plan cache
 * replans after any change to the tables they read, as for a prepared
 * statement.  Statements without parameters (DDL, statements with values
 * in their text) are not kept: each text may be run once only.
 */
typedef struct SavedStatement
{
	uint64		hash;			/* hash key: of the text */
	char	   *sql;
	SPIPlanPtr	plan;
} SavedStatement;

#define SS_MAX_SAVED_STATEMENTS 256

static HTAB *saved_statements = NULL;

/*
 * The saved plan of a parameterised statement, prepared on first use; NULL
 * (run it unsaved) once SS_MAX_SAVED_STATEMENTS texts are kept, or for a
 * text whose 64-bit hash another text has.
 */
SPIPlanPtr
SsCatalogStatementPlan(const char *sql, int nargs, Oid *types)
{
	uint64		hash = hash_bytes_extended((const unsigned char *) sql, (int) strlen(sql), 0);
	SavedStatement *st;
	SPIPlanPtr	plan;
	bool		found;

	if (saved_statements == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(SavedStatement);
		ctl.hcxt = TopMemoryContext;
		saved_statements = hash_create("segstore catalog statements", 64, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	st = hash_search(saved_statements, &hash, HASH_FIND, &found);
	if (found)
		return strcmp(st->sql, sql) == 0 ? st->plan : NULL;
	if (hash_get_num_entries(saved_statements) >= SS_MAX_SAVED_STATEMENTS)
		return NULL;

	plan = SPI_prepare(sql, nargs, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not save plan of \"%s\"", sql);
	st = hash_search(saved_statements, &hash, HASH_ENTER, NULL);
	st->sql = MemoryContextStrdup(TopMemoryContext, sql);
	st->plan = plan;
	return plan;
}

/*
 * A query run while no snapshot is active (a compaction plan merges with
 * none, so as to hold back no horizon) takes one of its own for its
 * length, as a statement does: SPI refuses to run without one outside a
 * portal.  Returns whether it pushed one, for EndQuerySnapshot.
 */
static bool
BeginQuerySnapshot(void)
{
	if (ActiveSnapshotSet())
		return false;
	PushActiveSnapshot(GetTransactionSnapshot());
	return true;
}

/* Let go of BeginQuerySnapshot's snapshot, and of the catalog snapshot. */
static void
EndQuerySnapshot(bool pushed)
{
	if (!pushed)
		return;
	PopActiveSnapshot();
	InvalidateCatalogSnapshot();
}

/* Run one statement; raise an error if it fails. */
static int
Run(const char *sql, int nargs, Oid *types, Datum *values)
{
	SPIPlanPtr	plan = nargs > 0 ? SsCatalogStatementPlan(sql, nargs, types) : NULL;
	bool		pushed = BeginQuerySnapshot();
	int			ret;

	if (ss_latest || ss_snapshot != NULL)
	{
		if (plan == NULL && (plan = SPI_prepare(sql, nargs, types)) == NULL)
			elog(ERROR, "segstore catalog query failed: %s: %s",
				 SPI_result_code_string(SPI_result), sql);
		ret = SPI_execute_snapshot(plan, values, NULL,
								   ss_snapshot != NULL ? ss_snapshot : GetLatestSnapshot(),
								   InvalidSnapshot, ss_read_only, true, 0);
	}
	else if (plan != NULL)
		ret = SPI_execute_plan(plan, values, NULL, ss_read_only, 0);
	else
		ret = SPI_execute_with_args(sql, nargs, types, values, NULL,
									ss_read_only, 0);
	EndQuerySnapshot(pushed);
	if (ret < 0)
		elog(ERROR, "segstore catalog query failed: %s: %s",
			 SPI_result_code_string(ret), sql);
	return ret;
}

/* Run a statement, checking it touched the expected number of rows (-1: any). */
void
SsCatalogExec(const char *sql, int nargs, Oid *types, Datum *values, int expected)
{
	Run(sql, nargs, types, values);
	if (expected >= 0 && SPI_processed != (uint64) expected)
		elog(ERROR, "segstore catalog statement touched " UINT64_FORMAT " rows, expected %d: %s",
			 SPI_processed, expected, sql);
}

/* int8[] datum of n values, for statement parameters. */
Datum
SsCatalogInt8Array(const int64 *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = Int64GetDatum(values[i]);
	return PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/*
 * Run a read-only query in the latest snapshot instead of the statement's,
 * for a row that a process which has since exited may have changed after
 * the statement's snapshot was taken.
 */
int
SsCatalogQueryLatest(const char *sql, int nargs, Oid *types, Datum *values)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);
	int			ret;

	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(), InvalidSnapshot,
							   true, false, 0);
	SPI_freeplan(plan);
	if (ret < 0)
		elog(ERROR, "segstore catalog query failed: %s: %s",
			 SPI_result_code_string(ret), sql);
	return ret;
}

/*
 * Run a query without parameters of one of segstore's own tables (a
 * growing table) in the snapshot this session's catalog statements run
 * in, so that what it reads agrees with them; returns the SPI result code.
 */
int
SsCatalogSelect(const char *sql)
{
	return Run(sql, 0, NULL, NULL);
}

/* Run a statement for another catalog module; returns the SPI result code. */
int
SsCatalogQuery(const char *sql, int nargs, Oid *types, Datum *values)
{
	return Run(sql, nargs, types, values);
}

/*
 * The saved plan of a statement run often (on every search), prepared on
 * first use into *slot; the plan cache replans it when the tables change.
 */
SPIPlanPtr
SsCatalogSavedPlan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

		if (plan == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "could not save plan of \"%s\"", sql);
		*slot = plan;
	}
	return *slot;
}

/* Column col (1-based) of row i of the last result, as Datum. */
Datum
SsCatalogCol(uint64 i, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col, isnull);
}

/* Non-null int8 column. */
int64
SsCatalogColInt8(uint64 i, int col)
{
	bool		isnull;
	Datum		d = SsCatalogCol(i, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* The int8 column col of every row of the last result, as a list of int64 *. */
List *
SsCatalogColInt8List(int col)
{
	List	   *result = NIL;
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		int64	   *id = palloc(sizeof(int64));

		*id = SsCatalogColInt8(i, col);
		result = lappend(result, id);
	}
	return result;
}

/* Text column as a C string, or NULL. */
char *
SsCatalogColText(uint64 i, int col)
{
	bool		isnull;
	Datum		d = SsCatalogCol(i, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Is the installed SQL segstore 0.1's, which had no views for collections
 * (no column segstore.collection.viewid)?  Until ALTER EXTENSION segstore
 * UPDATE, the library serves such an installation as 0.1 did: a
 * collection's growing table is segstore_data.<name>, and its owner and
 * ACL are the collection's.
 */
bool
SsCatalogLegacy(void)
{
	Oid			relid = get_relname_relid("collection", get_namespace_oid("segstore", false));

	return get_attnum(relid, "viewid") == InvalidAttrNumber;
}

/* The columns of a collection's row that SsCollection holds, in ReadCollection's order. */
static const char *
CollectionColumns(void)
{
	return SsCatalogLegacy() ?
		"collection_id, name, relid, dim, growing_segment_id, auto_compaction, "
		"0::pg_catalog.oid, 0, NULL::pg_catalog.timestamptz" :
		"collection_id, name, relid, dim, growing_segment_id, auto_compaction, viewid, "
		"retention_s, history_from";
}

/*
 * Run a statement returning at most one collection row (CollectionColumns())
 * and read it with its fields; NULL if it returned none.
 */
static SsCollection *
ReadCollection(const char *sql, Oid type, Datum value)
{
	Oid			types[1] = {type};
	Datum		values[1] = {value};
	SsCollection *coll;
	bool		isnull;
	uint64		i;

	Run(sql, 1, types, values);
	if (SPI_processed == 0)
		return NULL;

	coll = palloc0(sizeof(SsCollection));
	coll->id = SsCatalogColInt8(0, 1);
	coll->name = SsCatalogColText(0, 2);
	coll->relid = DatumGetObjectId(SsCatalogCol(0, 3, &isnull));
	coll->dim = DatumGetInt32(SsCatalogCol(0, 4, &isnull));
	coll->growing_segment_id = SsCatalogColInt8(0, 5);
	coll->auto_compaction = DatumGetBool(SsCatalogCol(0, 6, &isnull));
	coll->viewid = DatumGetObjectId(SsCatalogCol(0, 7, &isnull));
	coll->retention_s = DatumGetInt32(SsCatalogCol(0, 8, &isnull));
	coll->history_from = DatumGetTimestampTz(SsCatalogCol(0, 9, &isnull));
	if (isnull)
		TIMESTAMP_NOBEGIN(coll->history_from);

	types[0] = INT8OID;
	values[0] = Int64GetDatum(coll->id);
	Run("SELECT name, type, typmod, is_primary FROM segstore.field "
		"WHERE collection_id = $1 ORDER BY fieldno", 1, types, values);
	coll->nfields = (int) SPI_processed;
	coll->fields = palloc0(sizeof(SsField) * coll->nfields);
	for (i = 0; i < SPI_processed; i++)
	{
		SsField    *f = &coll->fields[i];

		strlcpy(f->name, SsCatalogColText(i, 1), NAMEDATALEN);
		f->type = SsFieldTypeFromName(SsCatalogColText(i, 2));
		f->typmod = DatumGetInt32(SsCatalogCol(i, 3, &isnull));
		f->is_primary = DatumGetBool(SsCatalogCol(i, 4, &isnull));
		if (f->is_primary)
			coll->pk = i;
		if (f->type == SS_TYPE_VECTOR)
			coll->vec = i;
	}
	return coll;
}

/*
 * Look up a collection by name with its fields.  With lock, the name is
 * resolved once and the collection of that id is locked
 * (SsCatalogGetCollectionById): a collection dropped and created again
 * under the same name meanwhile is not the one locked, and counts as
 * missing.
 */
SsCollection *
SsCatalogGetCollection(const char *name, bool missing_ok, bool lock)
{
	SsCollection *coll;

	coll = ReadCollection(psprintf("SELECT %s FROM segstore.collection WHERE name = $1",
								   CollectionColumns()),
						  TEXTOID, CStringGetTextDatum(name));
	if (coll != NULL && lock)
		coll = SsCatalogGetCollectionById(coll->id, true, true);
	if (coll == NULL && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("collection \"%s\" does not exist", name)));
	return coll;
}

/*
 * Look up a collection by id with its fields.  With lock, take its state
 * lock (see locks.c) and update its row, whose new version tells the
 * search caches of every backend that its flushed state changed; the
 * collection lock is taken first, in RowExclusiveLock unless held
 * stronger, so that a drop waits.  The row returned is the one as it now
 * is, read in the latest snapshot: the state lock keeps every other
 * writer of the row out until this transaction ends.
 */
SsCollection *
SsCatalogGetCollectionById(int64 collection_id, bool missing_ok, bool lock)
{
	SsCollection *coll;

	if (lock)
	{
		bool		latest = ss_latest;

		SsLockCollection(collection_id, RowExclusiveLock);
		(void) SsLockState(collection_id, true);
		ss_latest = true;
		coll = ReadCollection(psprintf("UPDATE segstore.collection SET last_write_at = pg_catalog.now() "
									   "WHERE collection_id = $1 RETURNING %s", CollectionColumns()),
							  INT8OID, Int64GetDatum(collection_id));
		ss_latest = latest;
	}
	else
		coll = ReadCollection(psprintf("SELECT %s FROM segstore.collection WHERE collection_id = $1",
									   CollectionColumns()),
							  INT8OID, Int64GetDatum(collection_id));
	if (coll == NULL && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("collection " INT64_FORMAT " does not exist", collection_id)));
	return coll;
}

/*
 * Take the collection lock in mode and read the collection as it now is
 * (NULL if it was dropped meanwhile): what a writer of the growing table
 * needs, which leaves the catalog row alone so that such writers do not
 * wait for each other.  The session uses the latest snapshot from here on.
 */
SsCollection *
SsCatalogLockCollection(int64 collection_id, LOCKMODE mode)
{
	SsLockCollection(collection_id, mode);
	ss_latest = true;
	return ReadCollection(psprintf("SELECT %s FROM segstore.collection WHERE collection_id = $1",
								   CollectionColumns()),
						  INT8OID, Int64GetDatum(collection_id));
}

/* The collection whose view is viewid, or NULL. */
SsCollection *
SsCatalogCollectionByView(Oid viewid)
{
	return ReadCollection(psprintf("SELECT %s FROM segstore.collection WHERE viewid = $1",
								   CollectionColumns()),
						  OIDOID, ObjectIdGetDatum(viewid));
}

/* Ids of every collection, in id order. */
List *
SsCatalogCollectionIds(void)
{
	Run("SELECT collection_id FROM segstore.collection ORDER BY 1", 0, NULL, NULL);
	return SsCatalogColInt8List(1);
}

/* Growing tables of every collection. */
List *
SsCatalogGrowingRelids(void)
{
	List	   *result = NIL;
	uint64		i;

	Run("SELECT relid FROM segstore.collection ORDER BY collection_id", 0, NULL, NULL);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		result = lappend_oid(result, DatumGetObjectId(SsCatalogCol(i, 1, &isnull)));
	}
	return result;
}

/* Name of a collection by id, or NULL if it does not exist. */
char *
SsCatalogCollectionName(int64 collection_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(collection_id)};

	Run("SELECT name FROM segstore.collection WHERE collection_id = $1", 1, types, values);
	return SPI_processed > 0 ? SsCatalogColText(0, 1) : NULL;
}

/*
 * Does a collection exist?  With latest, under a fresh snapshot, so that a
 * collection created by a transaction that committed after ours started
 * counts: garbage collection must not remove its directory.
 */
bool
SsCatalogCollectionExists(int64 collection_id, bool latest)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(collection_id)};

	SsCatalogSavedPlan(&plan, "SELECT 1 FROM segstore.collection WHERE collection_id = $1",
					   1, types);
	if (SPI_execute_snapshot(plan, values, NULL,
							 latest ? GetLatestSnapshot() : InvalidSnapshot,
							 InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up collection " INT64_FORMAT, collection_id);
	return SPI_processed > 0;
}

/* Register a new collection and its fields. */
void
SsCatalogInsertCollection(SsCollection *coll, const char *description)
{
	Oid			types[8] = {INT8OID, TEXTOID, OIDOID, TEXTOID, INT4OID, INT8OID, OIDOID, INT4OID};
	Datum		values[8];
	char		nulls[8] = "        ";
	int			i;
	int			ret;

	values[0] = Int64GetDatum(coll->id);
	values[1] = CStringGetTextDatum(coll->name);
	values[2] = ObjectIdGetDatum(coll->relid);
	values[3] = description ? CStringGetTextDatum(description) : (Datum) 0;
	nulls[3] = description ? ' ' : 'n';
	values[4] = Int32GetDatum(coll->dim);
	values[5] = Int64GetDatum(coll->growing_segment_id);
	values[6] = ObjectIdGetDatum(coll->viewid);
	values[7] = Int32GetDatum(coll->retention_s);
	if (SsCatalogLegacy())
		ret = SPI_execute_with_args("INSERT INTO segstore.collection (collection_id, name, relid, "
									"description, dim, growing_segment_id) "
									"VALUES ($1, $2, $3, $4, $5, $6)",
									6, types, values, nulls, false, 0);
	else
		ret = SPI_execute_with_args("INSERT INTO segstore.collection (collection_id, name, relid, "
									"description, dim, growing_segment_id, viewid, retention_s) "
									"VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
									8, types, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not register collection \"%s\"", coll->name);

	for (i = 0; i < coll->nfields; i++)
	{
		Oid			ftypes[6] = {INT8OID, INT4OID, TEXTOID, TEXTOID, INT4OID, BOOLOID};
		Datum		fvalues[6];
		SsField    *f = &coll->fields[i];

		fvalues[0] = Int64GetDatum(coll->id);
		fvalues[1] = Int32GetDatum(i);
		fvalues[2] = CStringGetTextDatum(f->name);
		fvalues[3] = CStringGetTextDatum(SsFieldTypeName(f->type));
		fvalues[4] = Int32GetDatum(f->typmod);
		fvalues[5] = BoolGetDatum(f->is_primary);
		SsCatalogExec("INSERT INTO segstore.field VALUES ($1, $2, $3, $4, $5, $6)",
					  6, ftypes, fvalues, 1);
	}
}

/* Remove a collection's rows; the foreign keys cascade to the rest. */
void
SsCatalogDeleteCollection(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};

	SsCatalogExec("DELETE FROM segstore.collection WHERE collection_id = $1",
				  1, types, values, 1);
}

/*
 * Change a collection's settings; auto_compaction or retention_s < 0
 * leaves it alone.  A larger retention window cannot bring back what the
 * smaller one let go: history_from says how far back as_of may now go.
 */
void
SsCatalogAlterCollection(int64 id, int auto_compaction, const char *description,
						 int retention_s)
{
	Oid			types[2] = {INT8OID, BOOLOID};
	Datum		values[2] = {Int64GetDatum(id), BoolGetDatum(auto_compaction > 0)};

	if (auto_compaction >= 0)
		SsCatalogExec("UPDATE segstore.collection SET auto_compaction = $2 "
					  "WHERE collection_id = $1", 2, types, values, 1);
	if (description)
	{
		types[1] = TEXTOID;
		values[1] = CStringGetTextDatum(description);
		SsCatalogExec("UPDATE segstore.collection SET description = $2 "
					  "WHERE collection_id = $1", 2, types, values, 1);
	}
	if (retention_s >= 0)
	{
		Oid			rtypes[3] = {INT8OID, INT4OID, TIMESTAMPTZOID};
		Datum		rvalues[3];

		rvalues[0] = Int64GetDatum(id);
		rvalues[1] = Int32GetDatum(retention_s);
		rvalues[2] = TimestampTzGetDatum(GetCurrentTimestamp());
		SsCatalogExec("UPDATE segstore.collection SET retention_s = $2, "
					  "history_from = CASE WHEN $2 > retention_s THEN "
					  "  GREATEST(history_from, $3 - pg_catalog.make_interval(secs => retention_s)) "
					  "  ELSE history_from END "
					  "WHERE collection_id = $1", 3, rtypes, rvalues, 1);
	}
}

/* Rename a collection, after its view was renamed. */
void
SsCatalogRenameCollection(int64 id, const char *name)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(id), CStringGetTextDatum(name)};

	SsCatalogExec("UPDATE segstore.collection SET name = $2 WHERE collection_id = $1",
				  2, types, values, 1);
}

/* Record a collection's growing table and view (updating from 0.1). */
void
SsCatalogSetCollectionRelations(int64 id, Oid relid, Oid viewid)
{
	Oid			types[3] = {INT8OID, OIDOID, OIDOID};
	Datum		values[3] = {Int64GetDatum(id), ObjectIdGetDatum(relid), ObjectIdGetDatum(viewid)};

	SsCatalogExec("UPDATE segstore.collection SET relid = $2, viewid = $3 "
				  "WHERE collection_id = $1", 3, types, values, 1);
}

/* Oids of the relations a command collects (column 1 of "sql"). */
static List *
RelationOids(const char *sql)
{
	List	   *result = NIL;
	uint64		i;

	Run(sql, 0, NULL, NULL);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		result = lappend_oid(result, DatumGetObjectId(SsCatalogCol(i, 1, &isnull)));
	}
	return result;
}

/* In a sql_drop event trigger: the views the command dropped. */
List *
SsCatalogDroppedViews(void)
{
	return RelationOids("SELECT objid FROM pg_catalog.pg_event_trigger_dropped_objects() "
						"WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
						"AND objsubid = 0 AND object_type = 'view'");
}

/* In a ddl_command_end event trigger: the relations the command changed. */
List *
SsCatalogAlteredRelations(void)
{
	return RelationOids("SELECT DISTINCT objid FROM pg_catalog.pg_event_trigger_ddl_commands() "
						"WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass");
}

/* Set the growing segment's id, the id its rows get when next sealed. */
void
SsCatalogSetGrowing(SsCollection *coll, int64 segment_id)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];

	values[0] = Int64GetDatum(coll->id);
	values[1] = Int64GetDatum(segment_id);
	SsCatalogExec("UPDATE segstore.collection SET growing_segment_id = $2 "
				  "WHERE collection_id = $1", 2, types, values, 1);
	coll->growing_segment_id = segment_id;
}

/*
 * Ids of one sequence taken ahead of time (SsCatalogReserveIds): nextval
 * assigns its transaction an xid whenever it logs the sequence, which a
 * transaction that must not hold one for long takes from here instead.
 */
typedef struct IdReserve
{
	char		sequence[NAMEDATALEN];
	int64	   *ids;
	int			n;
	int			next;
} IdReserve;

#define SS_ID_RESERVES 2

static IdReserve id_reserves[SS_ID_RESERVES];

/* Next value of one of the extension's id sequences. */
int64
SsCatalogNextId(const char *sequence)
{
	char	   *sql;
	bool		pushed;
	int			ret;
	int			r;

	for (r = 0; r < SS_ID_RESERVES; r++)
		if (id_reserves[r].next < id_reserves[r].n &&
			strcmp(id_reserves[r].sequence, sequence) == 0)
			return id_reserves[r].ids[id_reserves[r].next++];
	sql = psprintf("SELECT pg_catalog.nextval('segstore.%s')", sequence);
	pushed = BeginQuerySnapshot();
	ret = SPI_execute(sql, false, 1);
	EndQuerySnapshot(pushed);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not get next value of segstore.%s", sequence);
	return SsCatalogColInt8(0, 1);
}

/*
 * Take n ids of a sequence now, for SsCatalogNextId to hand out later in
 * this process, until SsCatalogReleaseIds; once they run out it calls
 * nextval again.  Ids left over are never used: sequences have gaps.
 */
void
SsCatalogReserveIds(const char *sequence, int n)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(n)};
	IdReserve  *r = NULL;
	uint64		i;
	int			k;

	for (k = 0; k < SS_ID_RESERVES && r == NULL; k++)
		if (id_reserves[k].n == 0 || strcmp(id_reserves[k].sequence, sequence) == 0)
			r = &id_reserves[k];
	if (r == NULL)
		elog(ERROR, "too many id reserves");
	Run(psprintf("SELECT pg_catalog.nextval('segstore.%s') FROM pg_catalog.generate_series(1, $1)",
				 sequence), 1, types, values);
	if (r->ids != NULL)
		pfree(r->ids);
	strlcpy(r->sequence, sequence, NAMEDATALEN);
	r->ids = MemoryContextAlloc(TopMemoryContext, sizeof(int64) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
		r->ids[i] = SsCatalogColInt8(i, 1);
	r->n = (int) SPI_processed;
	r->next = 0;
}

/* Forget the ids SsCatalogReserveIds took that were not used. */
void
SsCatalogReleaseIds(void)
{
	int			k;

	for (k = 0; k < SS_ID_RESERVES; k++)
	{
		if (id_reserves[k].ids != NULL)
			pfree(id_reserves[k].ids);
		memset(&id_reserves[k], 0, sizeof(IdReserve));
	}
}

/* Segments of a collection with their binlog summaries, in id order. */
List *
SsCatalogSegments(int64 collection_id, bool flushed_only)
{
	Oid			types[2] = {INT8OID, BOOLOID};
	Datum		values[2] = {Int64GetDatum(collection_id), BoolGetDatum(flushed_only)};
	List	   *result = NIL;
	uint64		i;

	Run(psprintf("SELECT s.segment_id, s.state, s.num_rows, s.pk_min, s.pk_max, s.created_at, "
		"  (SELECT b.path FROM segstore.binlog b WHERE b.segment_id = s.segment_id AND b.kind = 'insert'), "
		"  (SELECT b.path FROM segstore.binlog b WHERE b.segment_id = s.segment_id AND b.kind = 'stats'), "
		"  (SELECT pg_catalog.count(*) FROM segstore.binlog b WHERE b.segment_id = s.segment_id AND b.kind = 'delta'), "
		"  (SELECT COALESCE(pg_catalog.sum(b.rows), 0)::int8 FROM segstore.binlog b WHERE b.segment_id = s.segment_id AND b.kind = 'delta'), "
		"  (SELECT pg_catalog.count(*) FROM segstore.pending_delete p WHERE p.segment_id = s.segment_id), "
		"  (SELECT COALESCE(pg_catalog.sum(b.size_bytes), 0)::int8 FROM segstore.binlog b WHERE b.segment_id = s.segment_id), "
		"  s.compacted_from, "
		"  (SELECT b.raw_bytes FROM segstore.binlog b WHERE b.segment_id = s.segment_id AND b.kind = 'insert'), "
		"  (SELECT COALESCE(pg_catalog.sum(b.size_bytes), 0)::int8 FROM segstore.binlog b WHERE b.segment_id = s.segment_id AND b.kind = 'delta'), "
		"  %s "
		"FROM segstore.segment s WHERE s.collection_id = $1 "
		"AND (NOT $2 OR s.state = 'flushed') ORDER BY s.segment_id",
				 SsCatalogLegacy() ? "NULL::pg_catalog.timestamptz" : "s.purged_until"),
		2, types, values);
	for (i = 0; i < SPI_processed; i++)
	{
		SsSegment  *seg = palloc0(sizeof(SsSegment));
		bool		isnull;
		Datum		d;

		seg->segment_id = SsCatalogColInt8(i, 1);
		seg->state = SsCatalogColText(i, 2);
		seg->num_rows = SsCatalogColInt8(i, 3);
		seg->pk_min = SsCatalogColInt8(i, 4);
		seg->pk_max = SsCatalogColInt8(i, 5);
		seg->created_at = DatumGetTimestampTz(SsCatalogCol(i, 6, &isnull));
		seg->insert_path = SsCatalogColText(i, 7);
		seg->stats_path = SsCatalogColText(i, 8);
		seg->delta_binlogs = (int) SsCatalogColInt8(i, 9);
		seg->delta_rows = SsCatalogColInt8(i, 10);
		seg->pending_rows = SsCatalogColInt8(i, 11);
		seg->size_bytes = SsCatalogColInt8(i, 12);
		d = SsCatalogCol(i, 13, &isnull);
		seg->compacted_from = isnull ? (Datum) 0 :
			PointerGetDatum(DatumGetArrayTypePCopy(d));
		seg->insert_raw_bytes = SsCatalogColInt8(i, 14);
		seg->delta_bytes = SsCatalogColInt8(i, 15);
		seg->purged_until = DatumGetTimestampTz(SsCatalogCol(i, 16, &isnull));
		if (isnull)
			TIMESTAMP_NOBEGIN(seg->purged_until);
		result = lappend(result, seg);
	}
	return result;
}

/*
 * Flushed segments of a collection whose key range meets [lo, hi], in id
 * order, with only what a key lookup needs: id, rows, key range and the
 * insert and stats binlogs.  Writers look keys up on every statement, and
 * a collection fed in small batches has many small segments.
 */
List *
SsCatalogSegmentsOverlapping(int64 collection_id, int64 lo, int64 hi)
{
	Oid			types[3] = {INT8OID, INT8OID, INT8OID};
	Datum		values[3] = {Int64GetDatum(collection_id), Int64GetDatum(lo), Int64GetDatum(hi)};
	List	   *result = NIL;
	uint64		i;

	Run("SELECT s.segment_id, s.num_rows, s.pk_min, s.pk_max, i.path, t.path "
		"FROM segstore.segment s "
		"LEFT JOIN segstore.binlog i ON i.segment_id = s.segment_id AND i.kind = 'insert' "
		"LEFT JOIN segstore.binlog t ON t.segment_id = s.segment_id AND t.kind = 'stats' "
		"WHERE s.collection_id = $1 AND s.state = 'flushed' AND s.pk_max >= $2 AND s.pk_min <= $3 "
		"ORDER BY s.segment_id",
		3, types, values);
	for (i = 0; i < SPI_processed; i++)
	{
		SsSegment  *seg = palloc0(sizeof(SsSegment));

		seg->segment_id = SsCatalogColInt8(i, 1);
		seg->state = "flushed";
		seg->num_rows = SsCatalogColInt8(i, 2);
		seg->pk_min = SsCatalogColInt8(i, 3);
		seg->pk_max = SsCatalogColInt8(i, 4);
		seg->insert_path = SsCatalogColText(i, 5);
		seg->stats_path = SsCatalogColText(i, 6);
		result = lappend(result, seg);
	}
	return result;
}

/* Register a sealed segment, with the segments it was compacted from. */
void
SsCatalogInsertSegment(int64 collection_id, int64 segment_id, int64 num_rows,
					   int64 pk_min, int64 pk_max, TimestampTz ts_min, TimestampTz ts_max,
					   const int64 *compacted_from, int nfrom)
{
	Oid			types[8] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
	TIMESTAMPTZOID, TIMESTAMPTZOID, INT8ARRAYOID};
	Datum		values[8];
	char		nulls[8] = "        ";
	values[0] = Int64GetDatum(segment_id);
	values[1] = Int64GetDatum(collection_id);
	values[2] = Int64GetDatum(num_rows);
	values[3] = Int64GetDatum(pk_min);
	values[4] = Int64GetDatum(pk_max);
	values[5] = TimestampTzGetDatum(ts_min);
	values[6] = TimestampTzGetDatum(ts_max);
	values[7] = SsCatalogInt8Array(compacted_from, nfrom);
	nulls[7] = nfrom > 0 ? ' ' : 'n';
	if (SPI_execute_with_args("INSERT INTO segstore.segment (segment_id, collection_id, state, "
							  "num_rows, pk_min, pk_max, ts_min, ts_max, compacted_from) "
							  "VALUES ($1, $2, 'flushed', $3, $4, $5, $6, $7, $8)",
							  8, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not register segment " INT64_FORMAT, segment_id);
}

/* Register a binlog file written for a segment. */
void
SsCatalogInsertBinlog(const SsBinlogRow *row, int64 collection_id)
{
	Oid			types[10] = {INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID, INT8OID,
	INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[10];
	char		nulls[10] = "          ";
	int			ret;

	values[0] = Int64GetDatum(row->file_id);
	values[1] = Int64GetDatum(collection_id);
	values[2] = Int64GetDatum(row->segment_id);
	values[3] = CStringGetTextDatum(row->kind);
	values[4] = CStringGetTextDatum(row->path);
	values[5] = Int64GetDatum(row->rows);
	values[6] = Int64GetDatum(row->size_bytes);
	values[7] = Int64GetDatum(row->raw_bytes);
	values[8] = TimestampTzGetDatum(row->ts_min);
	values[9] = TimestampTzGetDatum(row->ts_max);
	if (row->ts_null)
		nulls[8] = nulls[9] = 'n';
	ret = SPI_execute_with_args("INSERT INTO segstore.binlog (file_id, collection_id, segment_id, "
								"kind, path, rows, size_bytes, raw_bytes, ts_min, ts_max) "
								"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
								10, types, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not register binlog \"%s\"", row->path);
}

/*
 * Binlog rows of a collection (collection_id > 0) or of one segment
 * (segment_id > 0), optionally of one kind, ordered by segment and file.
 */
List *
SsCatalogBinlogs(int64 collection_id, int64 segment_id, const char *kind)
{
	Oid			types[3] = {INT8OID, INT8OID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = "   ";
	List	   *result = NIL;
	uint64		i;
	bool		pushed;
	int			ret;

	values[0] = Int64GetDatum(collection_id);
	values[1] = Int64GetDatum(segment_id);
	values[2] = kind ? CStringGetTextDatum(kind) : (Datum) 0;
	nulls[2] = kind ? ' ' : 'n';
	pushed = BeginQuerySnapshot();
	ret = SPI_execute_with_args("SELECT segment_id, file_id, kind, path, rows, size_bytes, "
								"raw_bytes, ts_min, ts_max, created_at FROM segstore.binlog "
								"WHERE ($1 <= 0 OR collection_id = $1) AND ($2 <= 0 OR segment_id = $2) "
								"AND ($3::text IS NULL OR kind = $3) "
								"ORDER BY segment_id, file_id",
								3, types, values, nulls, ss_read_only, 0);
	EndQuerySnapshot(pushed);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read segstore.binlog");
	for (i = 0; i < SPI_processed; i++)
	{
		SsBinlogRow *row = palloc0(sizeof(SsBinlogRow));
		bool		isnull;

		row->segment_id = SsCatalogColInt8(i, 1);
		row->file_id = SsCatalogColInt8(i, 2);
		row->kind = SsCatalogColText(i, 3);
		row->path = SsCatalogColText(i, 4);
		row->rows = SsCatalogColInt8(i, 5);
		row->size_bytes = SsCatalogColInt8(i, 6);
		row->raw_bytes = SsCatalogColInt8(i, 7);
		row->ts_min = DatumGetTimestampTz(SsCatalogCol(i, 8, &isnull));
		row->ts_null = isnull;
		row->ts_max = DatumGetTimestampTz(SsCatalogCol(i, 9, &isnull));
		row->created_at = DatumGetTimestampTz(SsCatalogCol(i, 10, &isnull));
		result = lappend(result, row);
	}
	return result;
}

/*
 * Paths of every binlog the catalog references.  With latest, read under a
 * fresh snapshot, so that a transaction that committed after ours started
 * is seen: garbage collection must never remove a file it registered.
 */
List *
SsCatalogAllPaths(bool latest)
{
	SPIPlanPtr	plan;
	List	   *result = NIL;
	uint64		i;
	int			ret;

	plan = SPI_prepare("SELECT path FROM segstore.binlog", 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare binlog path query");
	ret = SPI_execute_snapshot(plan, NULL, NULL,
							   latest ? GetLatestSnapshot() : InvalidSnapshot,
							   InvalidSnapshot, true, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read binlog paths");
	for (i = 0; i < SPI_processed; i++)
		result = lappend(result, SsCatalogColText(i, 1));
	return result;
}

/* Pending deletes of one segment with their times, sorted by key. */
void
SsCatalogPendingForSegment(int64 segment_id, int64 **pks, TimestampTz **ts, int *n)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(segment_id)};
	uint64		i;

	Run("SELECT pk, ts FROM segstore.pending_delete WHERE segment_id = $1 ORDER BY pk",
		1, types, values);
	*n = (int) SPI_processed;
	*pks = palloc(sizeof(int64) * Max(*n, 1));
	*ts = palloc(sizeof(TimestampTz) * Max(*n, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		(*pks)[i] = SsCatalogColInt8(i, 1);
		(*ts)[i] = DatumGetTimestampTz(SsCatalogCol(i, 2, &isnull));
	}
}

/* Record deletes of keys that live in a sealed segment, with their times. */
void
SsCatalogInsertPendingDeletes(int64 collection_id, int64 segment_id,
							  const int64 *pks, const TimestampTz *ts, int n)
{
	Oid			types[4] = {INT8OID, INT8OID, INT8ARRAYOID, TIMESTAMPTZARRAYOID};
	Datum		values[4];
	Datum	   *times;
	int			i;

	if (n == 0)
		return;
	times = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		times[i] = TimestampTzGetDatum(ts[i]);
	values[0] = Int64GetDatum(collection_id);
	values[1] = Int64GetDatum(segment_id);
	values[2] = SsCatalogInt8Array(pks, n);
	values[3] = PointerGetDatum(construct_array(times, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	SsCatalogExec("INSERT INTO segstore.pending_delete (collection_id, segment_id, pk, ts) "
				  "SELECT $1, $2, k, t FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(k, t)",
				  4, types, values, n);
}

/* Segments of a collection that have pending deletes. */
List *
SsCatalogPendingSegments(int64 collection_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(collection_id)};

	Run("SELECT DISTINCT segment_id FROM segstore.pending_delete "
		"WHERE collection_id = $1 ORDER BY 1", 1, types, values);
	return SsCatalogColInt8List(1);
}

/* Forget a collection's pending deletes once flush has written them out. */
void
SsCatalogClearPendingDeletes(int64 collection_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(collection_id)};

	SsCatalogExec("DELETE FROM segstore.pending_delete WHERE collection_id = $1",
				  1, types, values, -1);
}

/*
 * Every collection with what the maintenance worker looks at in the
 * catalog: whether its flushed state changed within idle_s seconds, and
 * its pending deletes.
 */
List *
SsCatalogCollectionActivity(int idle_s)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(idle_s)};
	List	   *result = NIL;
	uint64		i;

	Run("SELECT c.name, c.last_write_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1), "
		"(SELECT pg_catalog.count(*) FROM segstore.pending_delete d "
		"  WHERE d.collection_id = c.collection_id), c.collection_id "
		"FROM segstore.collection c ORDER BY c.name", 1, types, values);
	for (i = 0; i < SPI_processed; i++)
	{
		SsCollectionActivity *a = palloc(sizeof(SsCollectionActivity));
		bool		isnull;

		a->name = SsCatalogColText(i, 1);
		a->idle = DatumGetBool(SsCatalogCol(i, 2, &isnull));
		a->pending_deletes = SsCatalogColInt8(i, 3);
		a->id = SsCatalogColInt8(i, 4);
		result = lappend(result, a);
	}
	return result;
}

/*
 * Background workers start each transaction here: DROP EXTENSION locks the
 * catalog beginning with segstore.collection, so a worker that locks that
 * table first waits for the drop instead of holding a table the drop
 * needs (a deadlock).
 */
void
SsCatalogLockForWorker(void)
{
	Run("LOCK TABLE segstore.collection IN ACCESS SHARE MODE", 0, NULL, NULL);
}

/*
 * Lock every catalog table for DROP EXTENSION, before the drop takes its
 * own locks.  segstore.collection comes first: it is the table every
 * worker transaction locks first (SsCatalogLockForWorker), so a worker
 * that starts from now on waits there until the drop has committed,
 * instead of holding a table the drop needs while it waits for one the
 * drop holds (a deadlock).  The others follow, each after the tables it
 * references, all in the mode the drop takes anyway.
 */
void
SsCatalogLockAllForDrop(void)
{
	if (Run("LOCK TABLE segstore.collection, segstore.field, segstore.index, "
			"segstore.segment, segstore.binlog, segstore.pending_delete, "
			"segstore.compaction, segstore.compaction_plan IN ACCESS EXCLUSIVE MODE",
			0, NULL, NULL) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock segstore's catalog");
}
