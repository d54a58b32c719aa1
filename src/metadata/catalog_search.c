/*-------------------------------------------------------------------------
 *
 * catalog_search.c
 *	  The catalog reads of a search.  Like catalog.c, every function runs
 *	  inside a catalog session.
 *
 * A search whose cache is current costs one indexed catalog lookup: the
 * version (xmin and ctid) of the collection's catalog row, which whatever
 * changes its flushed segments, their deletes or its index updates.  Only
 * when the version changed does the search read the rest (segments,
 * binlogs, pending deletes).  The statements run often, so their plans are
 * saved; they run read-only in the caller's snapshot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "metadata/catalog_int.h"
#include "metadata/catalog_search.h"

static SPIPlanPtr version_plan = NULL;
static SPIPlanPtr legacy_version_plan = NULL;	/* for 0.1's catalog */
static SPIPlanPtr pending_plan = NULL;

/* Look up a collection's id, growing table, view and row version; unknown is an error. */
void
SsCatalogCollectionVersion(const char *name, SsCollectionVersion *out)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		isnull;
	SPIPlanPtr	plan;

	if (SsCatalogLegacy())
		plan = SsCatalogSavedPlan(&legacy_version_plan,
								  "SELECT collection_id, relid, xmin::text || '/' || ctid::text, 0::oid "
								  "FROM segstore.collection WHERE name = $1", 1, types);
	else
		plan = SsCatalogSavedPlan(&version_plan,
								  "SELECT collection_id, relid, xmin::text || '/' || ctid::text, viewid "
								  "FROM segstore.collection WHERE name = $1", 1, types);
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up collection \"%s\"", name);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("collection \"%s\" does not exist", name)));
	out->id = SsCatalogColInt8(0, 1);
	out->relid = DatumGetObjectId(SsCatalogCol(0, 2, &isnull));
	out->version = SsCatalogColText(0, 3);
	out->viewid = DatumGetObjectId(SsCatalogCol(0, 4, &isnull));
}

/*
 * Read a collection's pending deletes into cxt.  Searches cache them with
 * the rest: deletes are recorded, and flush clears them, under the
 * collection's state lock, which changes the row version.
 */
void
SsCatalogPendingDeletes(int64 collection_id, SsPendingDeletes *out, MemoryContext cxt)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(collection_id)};
	uint64		i;

	SsCatalogSavedPlan(&pending_plan,
					   "SELECT segment_id, pk, ts FROM segstore.pending_delete "
					   "WHERE collection_id = $1 ORDER BY segment_id", 1, types);
	if (SPI_execute_plan(pending_plan, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pending deletes");
	out->n = (int) SPI_processed;
	out->segment_ids = MemoryContextAlloc(cxt, sizeof(int64) * Max(out->n, 1));
	out->keys = MemoryContextAlloc(cxt, sizeof(int64) * Max(out->n, 1));
	out->ts = MemoryContextAlloc(cxt, sizeof(TimestampTz) * Max(out->n, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		out->segment_ids[i] = SsCatalogColInt8(i, 1);
		out->keys[i] = SsCatalogColInt8(i, 2);
		out->ts[i] = DatumGetTimestampTz(SsCatalogCol(i, 3, &isnull));
	}
}
