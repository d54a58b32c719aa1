/*-------------------------------------------------------------------------
 *
 * input.h
 *	  Turning insert()'s array arguments into a validated batch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_INPUT_H
#define SEGSTORE_INPUT_H

#include "fmgr.h"

#include "batch.h"
#include "catalog.h"

extern SsBatch *SsInputBatch(SsCollection *coll, FunctionCallInfo fcinfo, int firstarg);

#endif
