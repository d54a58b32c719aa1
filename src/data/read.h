/*-------------------------------------------------------------------------
 *
 * read.h
 *	  Reading a collection's live entities: counts, expression matches,
 *	  query().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_READ_H
#define SEGSTORE_DATA_READ_H

#include "utils/tuplestore.h"

#include "expr/expr.h"
#include "metadata/catalog.h"

extern int64 SsReadNumEntities(SsCollection *coll);
extern int64 *SsReadMatchingKeys(SsCollection *coll, SsExpr *expr, int *nkeys);
extern void SsReadQuery(SsCollection *coll, const char *expr, List *output_fields,
						int64 limit, Tuplestorestate *store, TupleDesc desc);

#endif							/* SEGSTORE_DATA_READ_H */
