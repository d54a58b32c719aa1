/*-------------------------------------------------------------------------
 *
 * input.h
 *	  Turning insert()'s array arguments, or insert_from()'s rows, into a
 *	  validated batch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_INPUT_H
#define SEGSTORE_DATA_INPUT_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"

#include "format/batch.h"
#include "metadata/catalog.h"

extern SsBatch *SsInputBatch(SsCollection *coll, FunctionCallInfo fcinfo, int firstarg);
extern SsBatch *SsInputBatchFromRows(SsCollection *coll, TupleDesc desc, HeapTuple *rows,
									 int64 nrows);

#endif							/* SEGSTORE_DATA_INPUT_H */
