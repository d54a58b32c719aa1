/*-------------------------------------------------------------------------
 *
 * growing.h
 *	  The growing segment: a collection's heap table of unsealed rows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_GROWING_H
#define SEGSTORE_DATA_GROWING_H

#include "nodes/bitmapset.h"

#include "format/batch.h"
#include "metadata/catalog.h"

/* Where growing tables live, and how they are named: growing_<collection id>. */
#define SS_GROWING_SCHEMA "segstore_internal"
#define SS_GROWING_PREFIX "growing_"

extern Oid	SsGrowingCreate(int64 collection_id, const SsField *fields, int nfields);
extern Oid	SsGrowingCreateLegacy(const char *name, const SsField *fields, int nfields, Oid owner);
extern void SsGrowingDrop(SsCollection *coll);
extern void SsGrowingDropRelation(Oid relid);
extern void SsGrowingInsertDatums(SsCollection *coll, Datum *rows, int64 nrows);
extern SsBatch *SsGrowingRead(SsCollection *coll, bool all_fields);
extern SsBatch *SsGrowingReadRange(SsCollection *coll, bool all_fields, bool after_set,
								   int64 after, int64 max_rows);
extern SsBatch *SsGrowingScan(SsCollection *coll, const Bitmapset *fields);
extern SsBatch *SsGrowingTake(SsCollection *coll);
extern bool SsGrowingKeyRange(SsCollection *coll, int64 *min, int64 *max);
extern void SsGrowingInsert(SsCollection *coll, SsBatch *batch);
extern int64 *SsGrowingDelete(SsCollection *coll, const int64 *keys, int nkeys, Snapshot snapshot,
							   int *ndeleted, int64 **seen, int *nseen);
extern int64 *SsGrowingFind(SsCollection *coll, const int64 *keys, int nkeys, Snapshot snapshot,
							 int *nfound);
extern int64 SsGrowingCount(SsCollection *coll);
extern int64 SsGrowingRelationSize(SsCollection *coll);

#endif							/* SEGSTORE_DATA_GROWING_H */
