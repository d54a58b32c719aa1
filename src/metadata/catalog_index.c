/*-------------------------------------------------------------------------
 *
 * catalog_index.c
 *	  The catalog of index definitions (segstore.index).  Index files are
 *	  binlog rows of kind 'index', so garbage collection, segment drops and
 *	  binlogs() handle them like the others.  A segment whose file could
 *	  not be built has a row in segstore.index_failure with the error and
 *	  the number of attempts; the next attempt is due one minute after the
 *	  first failure, then twice as long after each (at most 1024 minutes).
 *	  An installation still at 0.1 has no such table: it keeps no record.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "metadata/catalog_index.h"
#include "metadata/catalog_int.h"

/* A collection's index definition; false if it has none. */
bool
SsCatalogGetIndex(int64 collection_id, SsIndexDef *def)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(collection_id)};
	bool		isnull;

	SsCatalogQuery("SELECT index_id, field, index_type, metric_type, nlist "
				   "FROM segstore.index WHERE collection_id = $1", 1, types, values);
	if (SPI_processed == 0)
		return false;
	memset(def, 0, sizeof(*def));
	def->index_id = SsCatalogColInt8(0, 1);
	strlcpy(def->field, SsCatalogColText(0, 2), NAMEDATALEN);
	def->type = SsIndexTypeFromName(SsCatalogColText(0, 3));
	def->metric = SsMetricFromName(SsCatalogColText(0, 4));
	def->nlist = DatumGetInt32(SsCatalogCol(0, 5, &isnull));
	return true;
}

/* Register a collection's index definition. */
void
SsCatalogInsertIndex(int64 collection_id, const SsIndexDef *def)
{
	Oid			types[6] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, INT4OID};
	Datum		values[6];

	values[0] = Int64GetDatum(collection_id);
	values[1] = Int64GetDatum(def->index_id);
	values[2] = CStringGetTextDatum(def->field);
	values[3] = CStringGetTextDatum(SsIndexTypeName(def->type));
	values[4] = CStringGetTextDatum(SsMetricName(def->metric));
	values[5] = Int32GetDatum(def->nlist);
	SsCatalogExec("INSERT INTO segstore.index (collection_id, index_id, field, index_type, "
				  "metric_type, nlist) VALUES ($1, $2, $3, $4, $5, $6)",
				  6, types, values, 1);
}

/*
 * Remove a collection's index definition and its files' rows; returns the
 * paths of those files.
 */
List *
SsCatalogDeleteIndex(int64 collection_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(collection_id)};
	List	   *paths = NIL;
	uint64		i;

	SsCatalogExec("DELETE FROM segstore.index WHERE collection_id = $1", 1, types, values, 1);
	SsCatalogExec("DELETE FROM segstore.binlog WHERE collection_id = $1 AND kind = 'index' "
				  "RETURNING path", 1, types, values, -1);
	for (i = 0; i < SPI_processed; i++)
		paths = lappend(paths, SsCatalogColText(i, 1));
	return paths;
}

/* The failed index builds of a collection's segments, in segment order. */
List *
SsCatalogIndexFailures(int64 collection_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(collection_id)};
	List	   *result = NIL;
	uint64		i;

	if (SsCatalogLegacy())
		return NIL;
	SsCatalogQuery("SELECT segment_id, error, attempts, "
				   "  failed_at + interval '1 minute' * pg_catalog.power(2, LEAST(attempts - 1, 10)) "
				   "  <= pg_catalog.now() "
				   "FROM segstore.index_failure WHERE collection_id = $1 ORDER BY segment_id",
				   1, types, values);
	for (i = 0; i < SPI_processed; i++)
	{
		SsIndexFailure *f = palloc(sizeof(SsIndexFailure));
		bool		isnull;

		f->segment_id = SsCatalogColInt8(i, 1);
		f->error = SsCatalogColText(i, 2);
		f->attempts = DatumGetInt32(SsCatalogCol(i, 3, &isnull));
		f->retry_due = DatumGetBool(SsCatalogCol(i, 4, &isnull));
		result = lappend(result, f);
	}
	return result;
}

/* The failure of a segment among those SsCatalogIndexFailures returned, or NULL. */
SsIndexFailure *
SsCatalogFindIndexFailure(List *failures, int64 segment_id)
{
	ListCell   *lc;

	foreach(lc, failures)
		if (((SsIndexFailure *) lfirst(lc))->segment_id == segment_id)
			return lfirst(lc);
	return NULL;
}

/* Record that a segment's index file could not be built, and why. */
void
SsCatalogRecordIndexFailure(int64 collection_id, int64 segment_id, const char *error)
{
	Oid			types[3] = {INT8OID, INT8OID, TEXTOID};
	Datum		values[3];

	if (SsCatalogLegacy())
		return;
	values[0] = Int64GetDatum(collection_id);
	values[1] = Int64GetDatum(segment_id);
	values[2] = CStringGetTextDatum(error);
	SsCatalogExec("INSERT INTO segstore.index_failure AS f "
				  "  (collection_id, segment_id, failed_at, attempts, error) "
				  "VALUES ($1, $2, pg_catalog.now(), 1, $3) "
				  "ON CONFLICT (segment_id) DO UPDATE SET failed_at = pg_catalog.now(), "
				  "  attempts = f.attempts + 1, error = EXCLUDED.error",
				  3, types, values, 1);
}

/* Forget the failed builds of a segment (0: of every segment of the collection). */
void
SsCatalogClearIndexFailures(int64 collection_id, int64 segment_id)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(collection_id), Int64GetDatum(segment_id)};

	if (SsCatalogLegacy())
		return;
	SsCatalogExec("DELETE FROM segstore.index_failure WHERE collection_id = $1 "
				  "AND ($2 = 0 OR segment_id = $2)", 2, types, values, -1);
}
