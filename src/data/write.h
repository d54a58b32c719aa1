/*-------------------------------------------------------------------------
 *
 * write.h
 *	  Changing a collection's data: insert, upsert, insert_from, delete,
 *	  flush.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_WRITE_H
#define SEGSTORE_DATA_WRITE_H

#include "format/batch.h"
#include "metadata/catalog.h"

extern int64 SsWriteInsert(SsCollection *coll, SsBatch *batch, bool upsert);
extern int64 SsWriteInsertQuery(const char *name, const char *query, bool upsert);
extern int64 SsWriteDeleteKeys(SsCollection *coll, int64 *keys, int nkeys);
extern int64 SsWriteDeleteExpr(SsCollection *coll, const char *expr);
extern void SsWriteSeal(SsCollection *coll);
extern void SsWriteFlushDeletes(SsCollection *coll);
extern void SsWriteFlush(SsCollection *coll);
extern int64 SsWriteGrowingLimit(void);

/* Settings (write.c) */
extern int	ss_insert_direct_threshold;
extern double ss_seal_proportion;
extern int	ss_growing_max_size_kb;
extern void SsWriteInit(void);

#endif							/* SEGSTORE_DATA_WRITE_H */
