/*-------------------------------------------------------------------------
 *
 * search_int.h
 *	  What search.c and search_cache.c share: the cached state of a
 *	  collection and its segments, and the functions that load it.
 *
 * Private to src/search/.  It includes no header of the folder, so that
 * both files can include it without an include cycle.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_SEARCH_SEARCH_INT_H
#define SEGSTORE_SEARCH_SEARCH_INT_H

#include "format/ivffile.h"
#include "metadata/catalog_index.h"
#include "metadata/catalog_search.h"

/* A flushed segment as searches see it; lives in its own memory context. */
typedef struct SsCachedSegment
{
	MemoryContext cxt;
	int64		segment_id;
	int64		num_rows;
	int64		pk_min;
	int64		pk_max;
	TimestampTz purged_until;	/* as_of before it cannot be answered */
	char	   *insert_path;
	int64		index_file_id;	/* 0: no index file */
	char	   *index_path;
	uint64		delta_sig;		/* identifies its set of delta binlogs */
	List	   *delta_paths;

	/* loaded on first use */
	SsIvfFile  *file;			/* the mapped index file */
	SsIvfData  *data;			/* what is searched: file->data or decoded */
	SsIvfData	decoded;		/* no index file: the insert binlog decoded */
	uint64		centroid_key;	/* equal for segments whose IVF centroids are
								 * identical (0: FLAT or not loaded) */
	MemoryContext decoded_cxt;
	bool		deletes_loaded;
	int			ndel;			/* delta binlog deletes, as row numbers */
	int32	   *del_rows;
	TimestampTz *del_ts;
	uint8	   *dead;			/* bitmap of those rows, or NULL if none */
	uint8	   *dead_all;		/* with pending deletes too, for dead_version */
	char	   *dead_version;	/* collection version dead_all is of */
	char	   *filter_text;	/* filter whose result filter_pass holds */
	uint8	   *filter_pass;	/* bitmap of rows it passes */
} SsCachedSegment;

/* A collection's cached state. */
typedef struct SsCachedCollection
{
	int64		collection_id;	/* hash key */
	MemoryContext cxt;			/* holds everything but the segments */
	char	   *version;
	SsCollection *coll;
	bool		has_index;
	SsIndexDef	def;
	SsPendingDeletes pending;
	int			nsegs;
	SsCachedSegment **segs;
} SsCachedCollection;

/* Is bit i of a row bitmap set? */
static inline bool
BitTest(const uint8 *bits, int64 i)
{
	return (bits[i >> 3] >> (i & 7)) & 1;
}

/* Set bit i of a row bitmap. */
static inline void
BitSet(uint8 *bits, int64 i)
{
	bits[i >> 3] |= (uint8) (1 << (i & 7));
}

extern SsCachedCollection *SsSearchCacheOpen(const char *name);
extern void SsSearchCacheLoadData(SsCachedCollection *ce, SsCachedSegment *seg,
								  SsMetric metric);
extern void SsSearchCacheLoadDeletes(SsCachedSegment *seg);
extern void SsSearchCacheMarkDeleted(SsCachedCollection *ce, SsCachedSegment *seg,
									 bool has_as_of, TimestampTz as_of, uint8 *bits);
extern const uint8 *SsSearchCacheDeleted(SsCachedCollection *ce, SsCachedSegment *seg);

#endif							/* SEGSTORE_SEARCH_SEARCH_INT_H */
