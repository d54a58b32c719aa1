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
 * Build the index files of a collection's flushed segments that lack one.
 * For callers with a catalog session open for writing (flush, the
 * background worker): the files are built without any lock, then
 * registered under the collection's state lock, which it takes.
 */
extern int	SsIndexBuildMissing(SsCollection *coll);

/* Compaction: build a target's file for index def before the swap ... */
extern SsIndexBuilt *SsIndexPrepare(SsCollection *coll, const SsIndexDef *def,
									int64 segment_id, const char *insert_path,
									int64 nrows, int64 memory_budget);

/* ... and, under the state lock, register them, building any still missing. */
extern void SsIndexAttach(SsCollection *coll, List *built);

/* index_state of a segment for segments(): its file's type, or "none". */
extern const char *SsIndexFileState(const char *path);

/* Settings (index.c) */
extern int	ss_min_index_rows;
extern void SsIndexInit(void);

#endif							/* SEGSTORE_DATA_INDEX_H */
