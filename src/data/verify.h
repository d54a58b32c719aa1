/*-------------------------------------------------------------------------
 *
 * verify.h
 *	  segstore.verify(): read every file of a collection and check it
 *	  against its checksums and against the catalog, reporting every
 *	  problem found rather than stopping at the first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_VERIFY_H
#define SEGSTORE_DATA_VERIFY_H

#include "funcapi.h"
#include "utils/tuplestore.h"

#include "metadata/catalog.h"

/*
 * One row per problem into store (segment_id, file_kind, path, problem,
 * detail); none when the collection is sound.  For callers with a catalog
 * session open, the collection opened with ownership.
 */
extern void SsVerifyCollection(SsCollection *coll, Tuplestorestate *store, TupleDesc desc);

#endif							/* SEGSTORE_DATA_VERIFY_H */
