/*-------------------------------------------------------------------------
 *
 * input.h
 *	  Turning insert()'s array arguments into a validated batch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_INPUT_H
#define SEGSTORE_DATA_INPUT_H

#include "fmgr.h"

#include "format/batch.h"
#include "metadata/catalog.h"

extern SsBatch *SsInputBatch(SsCollection *coll, FunctionCallInfo fcinfo, int firstarg);

#endif							/* SEGSTORE_DATA_INPUT_H */
