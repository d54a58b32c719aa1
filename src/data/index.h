/*-------------------------------------------------------------------------
 *
 * index.h
 *	  Vector indexes of collections: their definitions, and the index file
 *	  each sealed segment gets (IVF_FLAT at or above segstore.min_index_rows
 *	  rows, FLAT below).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_INDEX_H
#define SEGSTORE_DATA_INDEX_H

#include "metadata/catalog_index.h"

/* An index file written for a segment, not yet registered. */
typedef struct SsIndexBuilt
{
	int64		index_id;
	int64		segment_id;
	int64		file_id;
	char	   *path;
	int64		rows;
	int64		size_bytes;
	int64		peak_memory;	/* the build's own, at its fullest */
} SsIndexBuilt;

extern bool SsIndexGetDef(SsCollection *coll, SsIndexDef *def);
extern void SsIndexCreate(SsCollection *coll, const char *field, SsIndexType type,
						  SsMetric metric, int nlist);
extern void SsIndexDrop(SsCollection *coll, const char *field, bool if_exists);

/*
 * A writer that made segments, under the state lock: the missing files
 * that need no k-means; failures are recorded, not raised.
 */
extern void SsIndexBuildCheap(SsCollection *coll);

/*
 * The maintenance worker and build_index(): build the files of flushed
 * segments that lack one, without any lock, then register them under the
 * collection's state lock, which it takes.  A segment that fails is
 * recorded and skipped until its back-off passes (retry_all: tried now),
 * its error reported at elevel.
 */
extern int	SsIndexBuildMissing(SsCollection *coll, bool retry_all, int elevel);

/* Compaction: build a target's file for index def before the swap ... */
extern SsIndexBuilt *SsIndexPrepare(SsCollection *coll, const SsIndexDef *def,
									int64 segment_id, const char *insert_path,
									int64 nrows, int64 memory_budget);

/* ... and, under the state lock, register those that still fit. */
extern int	SsIndexAttach(SsCollection *coll, List *built);

/* index_state of a segment for segments(): its file's type, or "none". */
extern const char *SsIndexFileState(const char *path);

/* Settings (index.c) */
extern int	ss_min_index_rows;
extern void SsIndexInit(void);

#endif							/* SEGSTORE_DATA_INDEX_H */
