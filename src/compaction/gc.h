/*-------------------------------------------------------------------------
 *
 * gc.h
 *	  Garbage collection of files no committed catalog row references.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_COMPACTION_GC_H
#define SEGSTORE_COMPACTION_GC_H

#include "segstore.h"

extern void SsGcRun(bool wait, int *removed_files, int64 *removed_bytes);

#endif							/* SEGSTORE_COMPACTION_GC_H */
