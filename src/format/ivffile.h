/*-------------------------------------------------------------------------
 *
 * ivffile.h
 *	  The segment index file format: one sealed segment's vectors,
 *	  uncompressed and grouped into inverted lists, with its primary keys
 *	  and row timestamps, laid out to be searched straight from a memory
 *	  mapping.  The layout is documented at the top of ivffile.c.
 *
 * This layer knows nothing of catalogs or SQL: it writes and maps files at
 * the paths it is given.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FORMAT_IVFFILE_H
#define SEGSTORE_FORMAT_IVFFILE_H

#include "segstore.h"
#include "vector/distance.h"

/* Index types; the values are stored in files. */
typedef enum SsIndexType
{
	SS_INDEX_FLAT = 1,			/* one list: an uncompressed vector cache */
	SS_INDEX_IVF_FLAT = 2
} SsIndexType;

/* Largest nlist of an IVF_FLAT index. */
#define SS_MAX_NLIST 65536

/*
 * Sections of a file.  A reader points them into its mapping; a writer
 * holds only the small ones (list offsets, centroids) for its caller to
 * fill, and leaves the others NULL: they go to the file as they come.
 * Vectors and rows are in list order: list l holds entries
 * [list_offsets[l], list_offsets[l + 1]).  Keys and timestamps are in
 * primary key order, indexed by row number.
 */
typedef struct SsIvfData
{
	SsIndexType type;
	SsMetric	metric;
	int			dim;
	int			nlist;
	int64		nrows;
	int64		index_id;		/* the index definition it was built for */
	uint64	   *list_offsets;	/* nlist + 1 */
	float	   *centroids;		/* nlist x dim */
	float	   *vectors;		/* nrows x dim; unit length for COSINE */
	int32	   *rows;			/* nrows: an entry's row number */
	int64	   *keys;			/* nrows, ascending */
	int64	   *timestamps;		/* nrows */
} SsIvfData;

/*
 * A file being written (ivffile.c), with write(), never through a mapping,
 * in memory bounded by nlist, dim and a buffer budget, not by the rows.
 * The calls go: Begin; the caller fills data->centroids and
 * data->list_offsets; BeginLists; AddRows and AddKeys for every row, in
 * row order (the two streams may interleave by chunk); Finish.
 */
typedef struct SsIvfWriter SsIvfWriter;

/*
 * Create tmp_path for a file of the shape given in *shape (type, metric,
 * dim, nlist, nrows, index_id); copies the shape to *data and points its
 * list_offsets and centroids at zeroed memory of the writer, for the
 * caller to fill, the other sections at NULL.  buffer_bytes bounds the
 * write buffers of the inverted lists (each list gets at least one row's
 * worth).  Like a binlog writer, one abandoned by an ERROR removes its
 * temporary file when its memory context goes.
 */
extern SsIvfWriter *SsIvfWriterBegin(const char *path, const char *tmp_path,
									 uint64 file_id, uint64 writer_xid,
									 const SsIvfData *shape, SsIvfData *data,
									 int64 buffer_bytes);

/*
 * The list offsets and centroids are final: check the offsets, write both
 * sections and set up the lists' write buffers.
 */
extern void SsIvfWriterBeginLists(SsIvfWriter *w);

/*
 * Rows [first, first + count), the next ones in row order: row first + i
 * goes to the end of list lists[i] with vector vectors[i * dim ...] (unit
 * length for COSINE).  A list's buffer is written out when full.
 */
extern void SsIvfWriterAddRows(SsIvfWriter *w, const int32 *lists, int64 first,
							   int64 count, const float *vectors);

/* Keys and timestamps of rows [first, first + count), the next ones. */
extern void SsIvfWriterAddKeys(SsIvfWriter *w, int64 first, int64 count,
							   const int64 *keys, const int64 *timestamps);

/*
 * Write out the lists' buffers, check that every section is complete, read
 * the file back for its checksum, write the header, fsync, rename to path
 * and fsync the directory; returns the file's size and frees the writer.
 */
extern int64 SsIvfWriterFinish(SsIvfWriter *w);

/* Abandon a file being written: its temporary file goes. */
extern void SsIvfWriterAbort(SsIvfWriter *w);

/* A file mapped for reading. */
typedef struct SsIvfFile
{
	char	   *path;
	char	   *base;
	Size		size;
	int64		max_list;		/* entries of the longest list */
	SsIvfData	data;
} SsIvfFile;

/*
 * Map a file read-only and check all of it (header, checksum of every
 * byte, list offsets, row numbers, key order): damage is reported as
 * ERRCODE_INDEX_CORRUPTED naming the file, since the file can be rebuilt
 * from the segment's insert binlog.  The struct is allocated in cxt; the
 * mapping lasts until SsIvfUnmap, across transactions.
 */
extern SsIvfFile *SsIvfMap(const char *path, MemoryContext cxt);

/* Unmap a file; with drop_cache, also ask the kernel to drop its pages. */
extern void SsIvfUnmap(SsIvfFile *file, bool drop_cache);

/* Ask the kernel to read a mapped file ahead of use. */
extern void SsIvfWillNeed(SsIvfFile *file);

/*
 * Read only the header (garbage collection, inspection).  Returns false if
 * the file is too short or its header is not a valid index file header,
 * or, with missing given, if the file does not exist (setting *missing).
 */
extern bool SsIvfPeekHeader(const char *path, uint64 *writer_xid, SsIndexType *type,
							bool *missing);

/*
 * Read the centroids of an IVF_FLAT file of the same index, metric, dim
 * and nlist as *shape; false if the file cannot lend them.
 */
extern bool SsIvfReadCentroids(const char *path, const SsIvfData *shape, float *out);

/* Names of index types and metrics, as SQL spells them, and back. */
extern const char *SsIndexTypeName(SsIndexType type);
extern const char *SsMetricName(SsMetric metric);
extern SsIndexType SsIndexTypeFromName(const char *name);
extern SsMetric SsMetricFromName(const char *name);

#endif							/* SEGSTORE_FORMAT_IVFFILE_H */
