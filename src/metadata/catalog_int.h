/*-------------------------------------------------------------------------
 *
 * catalog_int.h
 *	  What the catalog modules of src/metadata/ share to run their
 *	  statements and read the results.
 *
 * Private to src/metadata/: all catalog SQL lives in this layer, so no
 * other layer is given a way to run a statement against the catalog.  It
 * includes no header of the layer, so that every catalog module can
 * include it without an include cycle.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_METADATA_CATALOG_INT_H
#define SEGSTORE_METADATA_CATALOG_INT_H

#include "executor/spi.h"
#include "nodes/pg_list.h"

extern void SsCatalogExec(const char *sql, int nargs, Oid *types, Datum *values, int expected);
extern int	SsCatalogQuery(const char *sql, int nargs, Oid *types, Datum *values);
extern int	SsCatalogQueryLatest(const char *sql, int nargs, Oid *types, Datum *values);
extern SPIPlanPtr SsCatalogSavedPlan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types);
extern Datum SsCatalogCol(uint64 i, int col, bool *isnull);
extern int64 SsCatalogColInt8(uint64 i, int col);
extern List *SsCatalogColInt8List(int col);
extern char *SsCatalogColText(uint64 i, int col);

#endif							/* SEGSTORE_METADATA_CATALOG_INT_H */
