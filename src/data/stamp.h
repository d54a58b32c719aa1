/*-------------------------------------------------------------------------
 *
 * stamp.h
 *	  The times writes are stamped with, and the check that a search as of
 *	  a time gives an answer no later commit can change.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_STAMP_H
#define SEGSTORE_DATA_STAMP_H

#include "datatype/timestamp.h"

extern TimestampTz SsStampForWrite(int64 collection_id);
extern void SsStampLogClock(void);
extern void SsStampCheckAsOf(const char *collection, int64 collection_id, TimestampTz as_of);

#endif							/* SEGSTORE_DATA_STAMP_H */
