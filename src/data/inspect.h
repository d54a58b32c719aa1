/*-------------------------------------------------------------------------
 *
 * inspect.h
 *	  segments(), binlogs() and collection_stats(): what a collection is
 *	  made of.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_INSPECT_H
#define SEGSTORE_DATA_INSPECT_H

#include "utils/tuplestore.h"

#include "metadata/catalog.h"

extern void SsInspectSegments(SsCollection *coll, Tuplestorestate *store, TupleDesc desc);
extern void SsInspectBinlogs(SsCollection *coll, Tuplestorestate *store, TupleDesc desc);
extern HeapTuple SsInspectStats(SsCollection *coll, TupleDesc desc);
extern int64 SsInspectDirectoryBytes(const char *dir, int *nfiles);

#endif							/* SEGSTORE_DATA_INSPECT_H */
