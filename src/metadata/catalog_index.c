/*-------------------------------------------------------------------------
 *
 * catalog_index.c
 *	  The catalog of index definitions (segstore.index).  Index files are
 *	  binlog rows of kind 'index', so garbage collection, segment drops and
 *	  binlogs() handle them like the others.
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
