/*-------------------------------------------------------------------------
 *
 * segment.h
 *	  Sealed segments: writing a batch as binlog files and registering
 *	  them, reading their columns and their deleted keys back.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_SEGMENT_H
#define SEGSTORE_DATA_SEGMENT_H

#include "nodes/bitmapset.h"

#include "format/batch.h"
#include "format/binlog.h"
#include "format/bloom.h"
#include "metadata/catalog.h"

typedef struct SsSegmentWriter SsSegmentWriter;

extern SsSegmentWriter *SsSegmentWriterBegin(SsCollection *coll, int64 segment_id);
extern void SsSegmentWriterAppend(SsSegmentWriter *w, const SsBatch *batch, int64 first,
								  int64 count);
extern void SsSegmentWriterSetKeys(SsSegmentWriter *w, const int64 *keys, int64 n,
								   TimestampTz ts_min, TimestampTz ts_max);
extern void SsSegmentWriterAppendColumn(SsSegmentWriter *w, int col, const SsColumn *column,
										int64 first, int64 count);
extern void SsSegmentWriterCopyBlock(SsSegmentWriter *w, int col, SsBinlogReader *source,
									 int block);
extern int64 SsSegmentWriterSegmentId(SsSegmentWriter *w);
extern const char *SsSegmentWriterPath(SsSegmentWriter *w);
extern int64 SsSegmentWriterRows(SsSegmentWriter *w);
extern int64 SsSegmentWriterRawBytes(SsSegmentWriter *w);
extern const int64 *SsSegmentWriterKeys(SsSegmentWriter *w, int64 *n);
extern void SsSegmentWriterClose(SsSegmentWriter *w);
extern void SsSegmentWriterRegister(SsSegmentWriter *w, const int64 *compacted_from, int nfrom);
extern void SsSegmentWriterFinish(SsSegmentWriter *w, const int64 *compacted_from, int nfrom);
extern void SsSegmentWriterAbort(SsSegmentWriter *w);
extern int	SsSegmentWriteBatch(SsCollection *coll, int64 first_segment_id, SsBatch *batch);
extern void SsSegmentDeletes(SsSegment *seg, int64 **keys, TimestampTz **ts, int *n);
extern SsBinlogReader *SsSegmentOpenInsert(SsCollection *coll, const char *path,
										   int64 segment_id, int64 nrows);
extern void SsSegmentCheckKeys(const char *path, int64 pk_min, int64 pk_max,
							   const int64 *keys, int64 first, int64 n, int64 prev);
extern SsBinlogReader *SsSegmentOpenStats(const char *path, int64 segment_id);
extern SsBatch *SsSegmentRead(SsCollection *coll, SsSegment *seg, bool all_fields);
extern SsBatch *SsSegmentReadRange(SsCollection *coll, SsSegment *seg, SsBinlogReader *reader,
								   const bool *wanted, int64 first, int64 count);
extern void SsSegmentReadDelta(const char *path, int64 **keys, TimestampTz **ts, int *n);
extern int64 *SsSegmentDeletedKeys(SsSegment *seg, int *n);
extern SsBloom *SsSegmentBloom(SsSegment *seg);
extern void SsSegmentWriteDelta(SsCollection *coll, int64 segment_id, const int64 *pks,
								const TimestampTz *ts, int n);
extern int64 *SsSegmentLiveKeys(SsCollection *coll, SsSegment *seg, const int64 *keys,
								int nkeys, int *nfound);

/* Settings (segment.c) */
extern int	ss_max_segment_size_mb;
extern int	ss_compression_level;
extern void SsSegmentInit(void);

#endif							/* SEGSTORE_DATA_SEGMENT_H */
