/*-------------------------------------------------------------------------
 *
 * batch.h
 *	  A batch of rows of one collection held as columns: what an insert
 *	  brings, what the growing table holds, what a segment file stores.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FORMAT_BATCH_H
#define SEGSTORE_FORMAT_BATCH_H

#include "segstore.h"

/*
 * cols has one column per field, in field order, then the row timestamps
 * (SS_COL_INT8, TimestampTz).  A column not read has values == NULL.
 */
typedef struct SsBatch
{
	int64		nrows;
	int			ncols;
	SsColumn   *cols;
} SsBatch;

extern SsColType SsFieldColType(const SsField *field);
extern int	SsColWidth(const SsColumn *col);
extern SsBatch *SsBatchCreate(const SsField *fields, int nfields, int64 nrows);
extern void SsColumnAllocate(SsColumn *col, int64 nrows, Size var_bytes);
extern void SsBatchSortByKey(SsBatch *batch, int keycol);
extern int64 SsBatchRowBytes(const SsBatch *batch, int64 row);
extern void SsBatchValue(const SsBatch *batch, int col, int64 row, SsValue *value);
extern int64 SsBatchKey(const SsBatch *batch, int keycol, int64 row);
extern int64 *SsBatchKeys(const SsBatch *batch, int keycol);
extern int64 SsSortedFind(const int64 *keys, int64 n, int64 key);
extern bool SsSortedContains(const int64 *keys, int n, int64 key);
extern void SsSortKeys(int64 *keys, int *n, bool dedup);

#endif							/* SEGSTORE_FORMAT_BATCH_H */
