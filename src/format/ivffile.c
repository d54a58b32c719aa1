/*-------------------------------------------------------------------------
 *
 * ivffile.c
 *	  Writing and mapping segment index files.
 *
 * An index file holds one sealed segment's vectors uncompressed, grouped
 * into inverted lists (IVF_FLAT) or in one list (FLAT), so that a search
 * reads them straight from a shared, read-only memory mapping: every
 * backend shares the page cache and no query decompresses anything.  The
 * file is written once, into a temporary file, made durable and renamed
 * into place, and never changed again, so a mapping can be kept across
 * queries and transactions.
 *
 * WRITING never goes through a mapping: a page fault on a full disk would
 * raise SIGBUS and take the server down, and the pages a process dirties
 * through a mapping count in its resident set, so a compaction's memory
 * would grow with the file.  The writer holds the small sections (list
 * offsets, centroids) in memory for its caller to fill, and buffers each
 * inverted list's vectors and row numbers in a slice of a bounded budget
 * split over the lists by their lengths; a full slice is written with
 * pwrite at the list's place in the file, keys and timestamps as they come
 * by chunks of rows.  Every pwrite is WAL-logged as it happens, at its
 * offset (filewal.c, SsFileWalWriteAt), so the log of a file is spread
 * over its build rather than one burst at the end.  Since the body is
 * written out of order, its CRC32C comes from one sequential read of the
 * finished temporary file (from the page cache, where the writes just
 * went); the header, which holds it, is written and logged last, then the
 * file is installed (SsFilesInstall).  A full disk or an I/O error fails
 * the pwrite (53100, 58030) and the abandoned temporary file is removed
 * with the writer's memory context.
 *
 * A file is checked whole (a CRC32C over every byte) when a backend maps
 * it.  Damage is reported as ERRCODE_INDEX_CORRUPTED, where binlogs report
 * ERRCODE_DATA_CORRUPTED: nothing is lost with an index file, which can be
 * rebuilt from the segment's insert binlog.
 *
 * FILE LAYOUT (format version 1)
 *
 * Integers and floats are little-endian, in their in-memory
 * representation (binlog.c refuses big-endian hosts).  Every section
 * starts at a multiple of 64 bytes, so that vectors are cache-line aligned
 * for the distance kernels; the gaps are zero.
 *
 *	 header (64 bytes):
 *	   0  4  magic "SSIX"
 *	   4  2  format version (1)
 *	   6  2  index type: 1 FLAT, 2 IVF_FLAT
 *	   8  8  writer transaction id (a FullTransactionId value)
 *	  16  8  file id
 *	  24  8  index id (the index definition the file was built for)
 *	  32  8  number of rows, 1 to 2^31 - 1
 *	  40  4  dim, 1 to 32768
 *	  44  4  nlist, 1 to 65536 and at most the rows; 1 for FLAT
 *	  48  4  metric: 1 L2, 2 IP, 3 COSINE
 *	  52  4  CRC32C of every byte from offset 64 to the end of the file
 *	  56  4  zero
 *	  60  4  CRC32C of bytes 0-59
 *	 list offsets: nlist + 1 uint64; list l holds entries [off[l], off[l+1]),
 *				   off[0] = 0, off[nlist] = rows, never decreasing
 *	 centroids:	   nlist x dim float4 (FLAT: zeros), finite
 *	 vectors:	   rows x dim float4 in list order, finite; unit length for
 *				   COSINE
 *	 rows:		   rows x int32 in list order: the entry's row number, its
 *				   position in primary key order; each row exactly once
 *	 keys:		   rows x int64 primary keys by row number, ascending
 *	 timestamps:   rows x int64 row timestamps (TimestampTz) by row number
 *	 zero padding to a multiple of 64 bytes: the end of the file
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "format/binlog.h"
#include "format/fault.h"
#include "format/files.h"
#include "format/ivffile.h"

#define IVF_MAGIC		"SSIX"
#define IVF_VERSION		1
#define IVF_HEADER_SIZE 64
#define IVF_ALIGN		64
#define IVF_MAX_ROWS	((int64) PG_INT32_MAX)
#define IVF_READ_CHUNK	((Size) 1024 * 1024)

/*
 * Report a damaged index file.  It can be rebuilt from its segment's insert
 * binlog, so it is reported as PostgreSQL reports a damaged index.  detail
 * is errdetail(...) when it says in words what is wrong, or
 * errdetail_internal(...) when it gives offsets, sizes and positions.
 */
#define IVF_CORRUPT(path, detail) \
	ereport(ERROR, \
			(errcode(ERRCODE_INDEX_CORRUPTED), \
			 errmsg("segstore file \"%s\" is corrupt", (path)), \
			 detail))

/* Byte offsets of the sections of a file of a given shape. */
typedef struct Layout
{
	uint64		list_offsets;
	uint64		centroids;
	uint64		vectors;
	uint64		rows;
	uint64		keys;
	uint64		timestamps;
	uint64		size;
} Layout;

/*
 * An inverted list being written: its next entries wait in a slice of the
 * writer's buffers, [start, start + cap), until the slice is full.
 */
typedef struct WriterList
{
	uint64		next;			/* file entry of the first buffered row */
	uint64		end;			/* file entry after the list's last */
	int64		start;			/* first buffer slot of the list */
	int64		cap;			/* buffer slots of the list */
	int64		fill;			/* rows buffered */
} WriterList;

struct SsIvfWriter
{
	MemoryContext cxt;			/* everything of the writer */
	MemoryContextCallback cleanup;	/* removes an abandoned file */
	char	   *path;
	char	   *tmp_path;
	int			fd;				/* -1 once closed */
	bool		tmp_exists;
	Layout		layout;
	uint64		file_id;
	uint64		writer_xid;
	SsIvfData	shape;
	SsIvfData  *data;			/* the caller's: list offsets, centroids */
	int64		buffer_bytes;
	WriterList *lists;			/* nlist, once BeginLists ran */
	float	   *vbuf;			/* the lists' buffered vectors */
	int32	   *rbuf;			/* and their row numbers */
	int64		rows_next;		/* next row for AddRows */
	int64		keys_next;		/* next row for AddKeys */
	SsFileWal	wal;			/* the log of the bytes written */
};

static pg_crc32c BodyCrc(int fd, const char *path, Size size);

/* Round up to the section alignment. */
static inline uint64
AlignUp(uint64 v)
{
	return (v + IVF_ALIGN - 1) & ~((uint64) IVF_ALIGN - 1);
}

/* Where each section of a file of this shape lies. */
static void
ComputeLayout(const SsIvfData *shape, Layout *l)
{
	uint64		n = (uint64) shape->nrows;
	uint64		dim = (uint64) shape->dim;

	l->list_offsets = IVF_HEADER_SIZE;
	l->centroids = AlignUp(l->list_offsets + ((uint64) shape->nlist + 1) * sizeof(uint64));
	l->vectors = AlignUp(l->centroids + (uint64) shape->nlist * dim * sizeof(float));
	l->rows = AlignUp(l->vectors + n * dim * sizeof(float));
	l->keys = AlignUp(l->rows + n * sizeof(int32));
	l->timestamps = AlignUp(l->keys + n * sizeof(int64));
	l->size = AlignUp(l->timestamps + n * sizeof(int64));
}

/* Point the sections of *data into a mapping. */
static void
PointSections(char *base, const Layout *l, SsIvfData *data)
{
	data->list_offsets = (uint64 *) (base + l->list_offsets);
	data->centroids = (float *) (base + l->centroids);
	data->vectors = (float *) (base + l->vectors);
	data->rows = (int32 *) (base + l->rows);
	data->keys = (int64 *) (base + l->keys);
	data->timestamps = (int64 *) (base + l->timestamps);
}

/* Is the shape one this format can hold? */
static bool
ShapeValid(const SsIvfData *s)
{
	if (s->type != SS_INDEX_FLAT && s->type != SS_INDEX_IVF_FLAT)
		return false;
	if (s->metric != SS_METRIC_L2 && s->metric != SS_METRIC_IP &&
		s->metric != SS_METRIC_COSINE)
		return false;
	if (s->dim < 1 || s->dim > SS_MAX_DIM || s->nrows < 1 || s->nrows > IVF_MAX_ROWS)
		return false;
	if (s->nlist < 1 || s->nlist > SS_MAX_NLIST || s->nlist > s->nrows)
		return false;
	return s->type == SS_INDEX_IVF_FLAT || s->nlist == 1;
}

/* Encode the header of a file of this shape. */
static void
HeaderEncode(char *buf, uint64 writer_xid, uint64 file_id, const SsIvfData *s,
			 pg_crc32c body_crc)
{
	uint16		version = IVF_VERSION;
	uint16		type = (uint16) s->type;
	uint64		index_id = (uint64) s->index_id;
	uint64		nrows = (uint64) s->nrows;
	uint32		dim = (uint32) s->dim;
	uint32		nlist = (uint32) s->nlist;
	uint32		metric = (uint32) s->metric;
	pg_crc32c	crc;

	memset(buf, 0, IVF_HEADER_SIZE);
	memcpy(buf, IVF_MAGIC, 4);
	memcpy(buf + 4, &version, 2);
	memcpy(buf + 6, &type, 2);
	memcpy(buf + 8, &writer_xid, 8);
	memcpy(buf + 16, &file_id, 8);
	memcpy(buf + 24, &index_id, 8);
	memcpy(buf + 32, &nrows, 8);
	memcpy(buf + 40, &dim, 4);
	memcpy(buf + 44, &nlist, 4);
	memcpy(buf + 48, &metric, 4);
	memcpy(buf + 52, &body_crc, 4);
	crc = SsCrc32c(buf, 60);
	memcpy(buf + 60, &crc, 4);
}

/*
 * Decode and check a header; false if it is not a valid one.  The body CRC
 * goes to *body_crc.
 */
static bool
HeaderDecode(const char *buf, uint64 *writer_xid, SsIvfData *s, pg_crc32c *body_crc)
{
	uint16		version;
	uint16		type;
	uint64		index_id;
	uint64		nrows;
	uint32		dim;
	uint32		nlist;
	uint32		metric;
	uint32		reserved;
	pg_crc32c	crc;

	if (memcmp(buf, IVF_MAGIC, 4) != 0)
		return false;
	memcpy(&version, buf + 4, 2);
	memcpy(&crc, buf + 60, 4);
	if (version != IVF_VERSION || crc != SsCrc32c(buf, 60))
		return false;
	memcpy(&type, buf + 6, 2);
	memcpy(writer_xid, buf + 8, 8);
	memcpy(&index_id, buf + 24, 8);
	memcpy(&nrows, buf + 32, 8);
	memcpy(&dim, buf + 40, 4);
	memcpy(&nlist, buf + 44, 4);
	memcpy(&metric, buf + 48, 4);
	memcpy(body_crc, buf + 52, 4);
	memcpy(&reserved, buf + 56, 4);
	if (reserved != 0 || nrows > (uint64) IVF_MAX_ROWS || dim > SS_MAX_DIM || nlist > SS_MAX_NLIST)
		return false;
	memset(s, 0, sizeof(*s));
	s->type = (SsIndexType) type;
	s->metric = (SsMetric) metric;
	s->dim = (int) dim;
	s->nlist = (int) nlist;
	s->nrows = (int64) nrows;
	s->index_id = (int64) index_id;
	return ShapeValid(s);
}

/* Reset callback: a writer left unfinished removes its file. */
static void
WriterCleanup(void *arg)
{
	SsIvfWriter *w = (SsIvfWriter *) arg;

	if (w->tmp_exists)
		unlink(w->tmp_path);
}

/*
 * Write len bytes at offset of the temporary file, logged as they go; the
 * body is written out of order, so its checksum comes from reading it back
 * at the end.
 */
static void
WriterWriteAt(SsIvfWriter *w, uint64 offset, const char *buf, Size len)
{
	SsFilesWrite(w->fd, w->tmp_path, offset, buf, len, &w->wal, true);
}

/* Write out the rows buffered for list l at the list's place. */
static void
WriterFlushList(SsIvfWriter *w, int l)
{
	WriterList *wl = &w->lists[l];
	uint64		vbytes = (uint64) w->shape.dim * sizeof(float);

	if (wl->fill == 0)
		return;
	WriterWriteAt(w, w->layout.vectors + wl->next * vbytes,
				  (const char *) (w->vbuf + wl->start * w->shape.dim),
				  (Size) (wl->fill * vbytes));
	WriterWriteAt(w, w->layout.rows + wl->next * sizeof(int32),
				  (const char *) (w->rbuf + wl->start),
				  (Size) wl->fill * sizeof(int32));
	wl->next += wl->fill;
	wl->fill = 0;
}

/* Create a file of the given shape; the small sections are in memory. */
SsIvfWriter *
SsIvfWriterBegin(const char *path, const char *tmp_path, uint64 file_id,
				 uint64 writer_xid, const SsIvfData *shape, SsIvfData *data,
				 int64 buffer_bytes)
{
	MemoryContext cxt;
	SsIvfWriter *w;

	if (!ShapeValid(shape))
		elog(ERROR, "invalid segstore index file shape: type %d, metric %d, dim %d, nlist %d, rows " INT64_FORMAT,
			 (int) shape->type, (int) shape->metric, shape->dim, shape->nlist, shape->nrows);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore index writer",
								ALLOCSET_DEFAULT_SIZES);
	w = MemoryContextAllocZero(cxt, sizeof(SsIvfWriter));
	w->cxt = cxt;
	w->path = MemoryContextStrdup(cxt, path);
	w->tmp_path = MemoryContextStrdup(cxt, tmp_path);
	ComputeLayout(shape, &w->layout);
	w->file_id = file_id;
	w->writer_xid = writer_xid;
	w->shape = *shape;
	w->buffer_bytes = Max(buffer_bytes, 0);
	SsFileWalBegin(&w->wal, IVF_HEADER_SIZE);

	w->fd = OpenTransientFile(tmp_path, O_CREAT | O_EXCL | O_RDWR | PG_BINARY);
	if (w->fd < 0)
	{
		int			save_errno = errno;

		MemoryContextDelete(cxt);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create segstore file \"%s\": %m", tmp_path)));
	}
	w->tmp_exists = true;
	w->cleanup.func = WriterCleanup;
	w->cleanup.arg = w;
	MemoryContextRegisterResetCallback(cxt, &w->cleanup);

	*data = *shape;
	data->list_offsets = MemoryContextAllocZero(cxt, sizeof(uint64) * (shape->nlist + 1));
	data->centroids = MemoryContextAllocExtended(cxt,
												 sizeof(float) * shape->nlist * shape->dim,
												 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	data->vectors = NULL;
	data->rows = NULL;
	data->keys = NULL;
	data->timestamps = NULL;
	w->data = data;
	return w;
}

/*
 * Check the list offsets, write them and the centroids, and split the
 * buffer budget over the lists in proportion to their lengths, so that
 * they fill at about the same pace: rows come in row order, which spreads
 * them over the lists.  Each list that has rows gets at least one slot, so
 * the buffers hold at most buffer_bytes plus one row per list (no more
 * than the centroids take), and never more than the file's rows.
 */
void
SsIvfWriterBeginLists(SsIvfWriter *w)
{
	const SsIvfData *d = w->data;
	uint64		nrows = (uint64) w->shape.nrows;
	uint64		entry = (uint64) w->shape.dim * sizeof(float) + sizeof(int32);
	uint64		budget = Min(Max((uint64) w->buffer_bytes / entry, 1), nrows);
	int64		slots = 0;
	int			l;

	if (w->lists != NULL)
		elog(ERROR, "segstore index file \"%s\" has its lists begun twice", w->tmp_path);
	if (d->list_offsets[0] != 0 || d->list_offsets[w->shape.nlist] != nrows)
		elog(ERROR, "segstore index file \"%s\": the inverted lists do not cover the rows",
			 w->tmp_path);
	w->lists = MemoryContextAllocZero(w->cxt, sizeof(WriterList) * w->shape.nlist);
	for (l = 0; l < w->shape.nlist; l++)
	{
		WriterList *wl = &w->lists[l];
		uint64		len;

		if (d->list_offsets[l + 1] < d->list_offsets[l])
			elog(ERROR, "segstore index file \"%s\": inverted list %d has a negative length",
				 w->tmp_path, l);
		len = d->list_offsets[l + 1] - d->list_offsets[l];
		wl->next = d->list_offsets[l];
		wl->end = d->list_offsets[l + 1];
		wl->start = slots;
		wl->cap = len == 0 ? 0 : (int64) Min(len, Max(budget * len / nrows, 1));
		slots += wl->cap;
	}
	w->vbuf = MemoryContextAllocHuge(w->cxt, sizeof(float) * slots * w->shape.dim);
	w->rbuf = MemoryContextAllocHuge(w->cxt, sizeof(int32) * slots);

	WriterWriteAt(w, w->layout.list_offsets, (const char *) d->list_offsets,
				  sizeof(uint64) * (w->shape.nlist + 1));
	WriterWriteAt(w, w->layout.centroids, (const char *) d->centroids,
				  sizeof(float) * w->shape.nlist * w->shape.dim);
}

/* Append the next rows to their lists. */
void
SsIvfWriterAddRows(SsIvfWriter *w, const int32 *lists, int64 first, int64 count,
				   const float *vectors)
{
	int			dim = w->shape.dim;

	if (w->lists == NULL || first != w->rows_next || count < 0 ||
		count > w->shape.nrows - first)
		elog(ERROR, "segstore index file \"%s\": rows " INT64_FORMAT " to " INT64_FORMAT " added out of order",
			 w->tmp_path, first, first + count);
	for (int64 i = 0; i < count; i++)
	{
		int32		l = lists[i];
		WriterList *wl;

		if (l < 0 || l >= w->shape.nlist ||
			w->lists[l].next + w->lists[l].fill >= w->lists[l].end)
			elog(ERROR, "segstore index file \"%s\": row " INT64_FORMAT " overflows inverted list %d",
				 w->tmp_path, first + i, l);
		wl = &w->lists[l];
		memcpy(w->vbuf + (wl->start + wl->fill) * dim, vectors + i * dim,
			   sizeof(float) * dim);
		w->rbuf[wl->start + wl->fill] = (int32) (first + i);
		if (++wl->fill == wl->cap)
			WriterFlushList(w, l);
	}
	w->rows_next += count;
}

/* Write the keys and timestamps of the next rows. */
void
SsIvfWriterAddKeys(SsIvfWriter *w, int64 first, int64 count, const int64 *keys,
				   const int64 *timestamps)
{
	if (first != w->keys_next || count < 0 || count > w->shape.nrows - first)
		elog(ERROR, "segstore index file \"%s\": keys " INT64_FORMAT " to " INT64_FORMAT " added out of order",
			 w->tmp_path, first, first + count);
	WriterWriteAt(w, w->layout.keys + (uint64) first * sizeof(int64),
				  (const char *) keys, sizeof(int64) * count);
	WriterWriteAt(w, w->layout.timestamps + (uint64) first * sizeof(int64),
				  (const char *) timestamps, sizeof(int64) * count);
	w->keys_next += count;
}

/*
 * Complete the file, checksum it, write the header, make it durable and
 * rename it.  The gaps between sections were never written: they read as
 * zeros, on the primary as after redo, and the padding at the end is
 * written so that the file has its size.
 */
int64
SsIvfWriterFinish(SsIvfWriter *w)
{
	static const char zeros[IVF_ALIGN];
	uint64		end = w->layout.timestamps + (uint64) w->shape.nrows * sizeof(int64);
	int64		size = (int64) w->layout.size;
	char		hbuf[IVF_HEADER_SIZE];
	pg_crc32c	body_crc;

	if (w->lists == NULL || w->rows_next != w->shape.nrows ||
		w->keys_next != w->shape.nrows)
		elog(ERROR, "segstore index file \"%s\" is finished with " INT64_FORMAT " rows and " INT64_FORMAT " keys of " INT64_FORMAT,
			 w->tmp_path, w->rows_next, w->keys_next, w->shape.nrows);
	for (int l = 0; l < w->shape.nlist; l++)
	{
		WriterFlushList(w, l);
		if (w->lists[l].next != w->lists[l].end)
			elog(ERROR, "segstore index file \"%s\": inverted list %d is incomplete",
				 w->tmp_path, l);
	}
	if (end < w->layout.size)
		WriterWriteAt(w, end, zeros, (Size) (w->layout.size - end));

	/* The pages just written are in the page cache: reading is cheap. */
	body_crc = BodyCrc(w->fd, w->tmp_path, (Size) w->layout.size);
	SsFileWalSetBody(&w->wal, w->layout.size - IVF_HEADER_SIZE, body_crc);

	HeaderEncode(hbuf, w->writer_xid, w->file_id, &w->shape, body_crc);
	SsFilesWrite(w->fd, w->tmp_path, 0, hbuf, sizeof(hbuf), &w->wal, false);

	SsFilesInstall(&w->fd, &w->tmp_exists, w->tmp_path, w->path, &w->wal);
	MemoryContextDelete(w->cxt);
	return size;
}

/* Abandon a file being written. */
void
SsIvfWriterAbort(SsIvfWriter *w)
{
	if (w->fd >= 0)
		CloseTransientFile(w->fd);
	w->fd = -1;
	MemoryContextDelete(w->cxt);	/* the callback unlinks */
}

/* Report the first of n floats that is not finite, as damage. */
static void
CheckFinite(SsIvfFile *f, const float *values, int64 n, const char *what)
{
	for (int64 i = 0; i < n; i++)
		if (!isfinite(values[i]))
			IVF_CORRUPT(f->path,
						errdetail_internal("A component of %s " INT64_FORMAT " is not finite.",
										   what, i / f->data.dim));
}


/*
 * CRC32C of a file's bytes after its header, read with read() rather than
 * through a mapping: a read error is then an error of the statement, where
 * a page fault on a mapping that cannot be read raises SIGBUS.  The pages
 * read stay in the page cache, where the mapping finds them.
 */
static pg_crc32c
BodyCrc(int fd, const char *path, Size size)
{
	char	   *buf = palloc(IVF_READ_CHUNK);
	pg_crc32c	crc;
	Size		pos = IVF_HEADER_SIZE;

	INIT_CRC32C(crc);
	while (pos < size)
	{
		ssize_t		n;

		CHECK_FOR_INTERRUPTS();
		pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_READ);
		n = SsFaultInject(SS_FAULT_READ, path) ? -1 :
			pg_pread(fd, buf, Min(size - pos, IVF_READ_CHUNK), (off_t) pos);
		pgstat_report_wait_end();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read segstore file \"%s\": %m", path)));
		if (n == 0)
			IVF_CORRUPT(path,
						errdetail_internal("Unexpected end of file at byte %zu.", pos));
		COMP_CRC32C(crc, buf, n);
		pos += n;
	}
	FIN_CRC32C(crc);
	pfree(buf);
	return crc;
}

/* Check everything after the header of a mapped file, whose CRC is crc. */
static void
CheckBody(SsIvfFile *f, pg_crc32c crc, pg_crc32c body_crc)
{
	SsIvfData  *d = &f->data;
	uint8	   *seen;
	int64		i;

	if (crc != body_crc)
		IVF_CORRUPT(f->path, errdetail("Checksum mismatch."));
	if (d->list_offsets[0] != 0 || d->list_offsets[d->nlist] != (uint64) d->nrows)
		IVF_CORRUPT(f->path,
					errdetail("The inverted lists do not cover the rows."));
	f->max_list = 0;
	for (i = 0; i < d->nlist; i++)
	{
		if (d->list_offsets[i + 1] < d->list_offsets[i])
			IVF_CORRUPT(f->path,
						errdetail_internal("Inverted list %d has a negative length.",
										   (int) i));
		f->max_list = Max(f->max_list, (int64) (d->list_offsets[i + 1] - d->list_offsets[i]));
	}
	/* Each row once: a row listed twice would be found twice, another never. */
	seen = MemoryContextAllocHuge(CurrentMemoryContext, (d->nrows + 7) / 8);
	memset(seen, 0, (d->nrows + 7) / 8);
	for (i = 0; i < d->nrows; i++)
	{
		int32		row = d->rows[i];

		if (row < 0 || row >= d->nrows)
			IVF_CORRUPT(f->path,
						errdetail_internal("Entry " INT64_FORMAT " has row number %d out of range.",
										   i, row));
		if (seen[row / 8] & (1 << (row % 8)))
			IVF_CORRUPT(f->path,
						errdetail_internal("Row %d is listed twice, at entry " INT64_FORMAT ".",
										   row, i));
		seen[row / 8] |= 1 << (row % 8);
		if (i > 0 && d->keys[i] <= d->keys[i - 1])
			IVF_CORRUPT(f->path,
						errdetail_internal("Primary keys are not ascending at row " INT64_FORMAT ".",
										   i));
	}
	pfree(seen);
	/* Distances over a NaN or an infinity would order results arbitrarily. */
	CheckFinite(f, d->centroids, (int64) d->nlist * d->dim, "centroid");
	CheckFinite(f, d->vectors, d->nrows * d->dim, "vector");
}

/* Map a file and check all of it. */
SsIvfFile *
SsIvfMap(const char *path, MemoryContext cxt)
{
	SsIvfFile  *f;
	struct stat st;
	uint64		writer_xid;
	pg_crc32c	body_crc;
	pg_crc32c	crc;
	Layout		layout;
	void	   *base;
	int			fd;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open segstore file \"%s\": %m", path)));
	if (fstat(fd, &st) != 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat segstore file \"%s\": %m", path)));
	}
	if (st.st_size < IVF_HEADER_SIZE)
	{
		CloseTransientFile(fd);
		IVF_CORRUPT(path,
					errdetail_internal("The file is %lld bytes long, too short for an index file.",
									   (long long) st.st_size));
	}
	PG_TRY();
	{
		crc = BodyCrc(fd, path, (Size) st.st_size);
	}
	PG_CATCH();
	{
		CloseTransientFile(fd);
		PG_RE_THROW();
	}
	PG_END_TRY();
	base = mmap(NULL, (Size) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	CloseTransientFile(fd);
	if (base == MAP_FAILED)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not map segstore file \"%s\": %m", path)));

	f = MemoryContextAllocZero(cxt, sizeof(SsIvfFile));
	f->path = MemoryContextStrdup(cxt, path);
	f->base = base;
	f->size = (Size) st.st_size;
	PG_TRY();
	{
		if (!HeaderDecode(f->base, &writer_xid, &f->data, &body_crc))
			IVF_CORRUPT(path,
						errdetail("The header is not a valid index file header."));
		ComputeLayout(&f->data, &layout);
		if (layout.size != (uint64) f->size)
			IVF_CORRUPT(path,
						errdetail_internal("The file is %zu bytes long, its header implies " UINT64_FORMAT ".",
										   f->size, layout.size));
		PointSections(f->base, &layout, &f->data);
		CheckBody(f, crc, body_crc);
	}
	PG_CATCH();
	{
		munmap(f->base, f->size);
		pfree(f->path);
		pfree(f);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return f;
}

/* Unmap a file, optionally dropping its pages from the page cache. */
void
SsIvfUnmap(SsIvfFile *file, bool drop_cache)
{
	(void) munmap(file->base, file->size);
	if (drop_cache)
	{
		int			fd = open(file->path, O_RDONLY);

		/* Pages other backends still map stay; the rest can go. */
		if (fd >= 0)
		{
			(void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			close(fd);
		}
	}
	pfree(file->path);
	pfree(file);
}

/* Ask the kernel to read a mapped file ahead. */
void
SsIvfWillNeed(SsIvfFile *file)
{
	(void) madvise(file->base, file->size, MADV_WILLNEED);
}

/* Read and check only the header. */
bool
SsIvfPeekHeader(const char *path, uint64 *writer_xid, SsIndexType *type,
				bool *missing)
{
	char		buf[IVF_HEADER_SIZE];
	SsIvfData	shape;
	pg_crc32c	body_crc;
	int			fd;
	int			n;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0 && errno == ENOENT && missing != NULL)
	{
		*missing = true;
		return false;
	}
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open segstore file \"%s\": %m", path)));
	n = SsFaultInject(SS_FAULT_READ, path) ? -1 :
		(int) read(fd, buf, IVF_HEADER_SIZE);
	if (n < 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read segstore file \"%s\": %m", path)));
	}
	CloseTransientFile(fd);
	if (n < IVF_HEADER_SIZE || !HeaderDecode(buf, writer_xid, &shape, &body_crc))
		return false;
	*type = shape.type;
	return true;
}

/*
 * Read the centroids of an IVF_FLAT file built for the index id, metric,
 * dim and nlist of *shape into out (nlist x dim).  Returns false when the
 * file is missing, unreadable, of another shape, or holds centroids that
 * are not finite: the caller then trains its own.  Only the header's
 * checksum is checked, not the body's: centroids only decide which list a
 * row of the new file goes into, and that file is checked whole when
 * mapped.
 */
bool
SsIvfReadCentroids(const char *path, const SsIvfData *shape, float *out)
{
	char		buf[IVF_HEADER_SIZE];
	SsIvfData	donor;
	Layout		layout;
	pg_crc32c	body_crc;
	uint64		xid;
	Size		bytes = sizeof(float) * (Size) shape->nlist * shape->dim;
	bool		ok;
	int			fd;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	ok = pg_pread(fd, buf, IVF_HEADER_SIZE, 0) == IVF_HEADER_SIZE &&
		HeaderDecode(buf, &xid, &donor, &body_crc) &&
		donor.type == SS_INDEX_IVF_FLAT && donor.index_id == shape->index_id &&
		donor.metric == shape->metric && donor.dim == shape->dim &&
		donor.nlist == shape->nlist;
	if (ok)
	{
		ComputeLayout(&donor, &layout);
		ok = pg_pread(fd, out, bytes, (off_t) layout.centroids) == (ssize_t) bytes;
	}
	CloseTransientFile(fd);
	for (Size i = 0; ok && i < (Size) shape->nlist * shape->dim; i++)
		ok = isfinite(out[i]);
	return ok;
}

/* SQL name of an index type. */
const char *
SsIndexTypeName(SsIndexType type)
{
	return type == SS_INDEX_IVF_FLAT ? "IVF_FLAT" : "FLAT";
}

/* SQL name of a metric. */
const char *
SsMetricName(SsMetric metric)
{
	switch (metric)
	{
		case SS_METRIC_L2:
			return "L2";
		case SS_METRIC_IP:
			return "IP";
		case SS_METRIC_COSINE:
			return "COSINE";
	}
	return "?";
}

/* Index type by its SQL name. */
SsIndexType
SsIndexTypeFromName(const char *name)
{
	if (pg_strcasecmp(name, "IVF_FLAT") == 0)
		return SS_INDEX_IVF_FLAT;
	if (pg_strcasecmp(name, "FLAT") == 0)
		return SS_INDEX_FLAT;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown index type \"%s\"", name),
			 errhint("Index types are IVF_FLAT and FLAT.")));
	return SS_INDEX_FLAT;		/* keep compiler quiet */
}

/* Metric by its SQL name. */
SsMetric
SsMetricFromName(const char *name)
{
	if (pg_strcasecmp(name, "L2") == 0)
		return SS_METRIC_L2;
	if (pg_strcasecmp(name, "IP") == 0)
		return SS_METRIC_IP;
	if (pg_strcasecmp(name, "COSINE") == 0)
		return SS_METRIC_COSINE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown metric type \"%s\"", name),
			 errhint("Metric types are L2, IP and COSINE.")));
	return SS_METRIC_L2;		/* keep compiler quiet */
}
