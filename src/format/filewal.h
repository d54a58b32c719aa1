/*-------------------------------------------------------------------------
 *
 * filewal.h
 *	  segstore's WAL resource manager: the bytes of every file segstore
 *	  writes, its installation under its final name and its removal go
 *	  through PostgreSQL's WAL, so that crash recovery, streaming standbys,
 *	  archive recovery and base backups all have the files.  The design is
 *	  at the top of filewal.c.
 *
 * This layer knows nothing of catalogs: it logs and replays operations on
 * paths relative to the data directory, below segstore/.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FORMAT_FILEWAL_H
#define SEGSTORE_FORMAT_FILEWAL_H

#include "access/xlogdefs.h"
#include "port/pg_crc32c.h"

#include "segstore.h"
#include "status/status.h"

/*
 * segstore's resource manager id, from the extension range 128-255 (see
 * the README, "Replication, backup and restore", for why this one).
 */
#define SS_RMGR_ID 211

/*
 * What the log knows of a file being written: where its records start and
 * the checksums of its bytes, which redo verifies before installing it.
 * The first head_len bytes (the file's header, which writers rewrite at the
 * end) are checksummed apart from the rest, which is written in order
 * (SsFileWalWrite) or, for a body written out of order, checksummed from
 * reading it back (SsFileWalWriteAt, SsFileWalSetBody).
 */
typedef struct SsFileWal
{
	XLogRecPtr	first_lsn;		/* start of the file's first record */
	uint64		head_len;
	bool		head_set;		/* head_crc covers a whole header write */
	pg_crc32c	head_crc;
	uint64		body_len;		/* bytes after the header logged so far */
	pg_crc32c	body_crc;		/* running, not finalised */
	bool		unordered;		/* the body is written out of order
								 * (SsFileWalWriteAt) */
	bool		body_set;		/* SsFileWalSetBody gave body_len and
								 * body_crc of an unordered body */
} SsFileWal;

/* Register the resource manager; from _PG_init while preloading. */
extern void SsFileWalInit(void);

/* Is the resource manager registered, so that segstore may write? */
extern bool SsFileWalAvailable(void);

/* Fail unless segstore may write files here and now. */
extern void SsFileWalCheckWritable(void);

/* Start logging a file whose header is head_len bytes long. */
extern void SsFileWalBegin(SsFileWal *wf, uint64 head_len);

/*
 * Log len bytes written at offset of the temporary file tmp_path: within
 * the header, or right after the bytes logged so far.
 */
extern void SsFileWalWrite(SsFileWal *wf, const char *tmp_path, uint64 offset,
						   const char *buf, Size len);

/*
 * A file whose body is written out of order (an index file fills its
 * inverted lists as rows come): log len bytes written at offset, anywhere
 * after the header, in any order; once the body is complete the writer
 * reads it back and gives its length and finished CRC32C with
 * SsFileWalSetBody, before installing.  A file's body is written either
 * this way or with SsFileWalWrite, not both.
 */
extern void SsFileWalWriteAt(SsFileWal *wf, const char *tmp_path, uint64 offset,
							 const char *buf, Size len);
extern void SsFileWalSetBody(SsFileWal *wf, uint64 body_len, pg_crc32c body_crc);

/*
 * Installing a file: Prepare (before the rename) makes sure that every
 * record of the file follows the redo pointer of any checkpoint that could
 * complete before the rename is durable, logging the file again if one
 * started since its first record, and holds off checkpoints; Finish (after
 * the rename and the directory's fsync) logs the installation and lets
 * checkpoints go on; Cancel lets them go on after a failure.
 */
extern void SsFileWalPrepareInstall(SsFileWal *wf, const char *tmp_path);
extern void SsFileWalFinishInstall(SsFileWal *wf, const char *tmp_path,
								   const char *path);
extern void SsFileWalCancel(void);

/*
 * Removing a file or a directory tree: Prepare holds off checkpoints and
 * logs the removal, with the newest transaction whose snapshots may still
 * need the file (a standby resolves the conflict with such snapshots before
 * replaying it; InvalidTransactionId for files no snapshot can reference),
 * and the database whose backends are concerned; the caller removes, then
 * calls SsFileWalCancel.
 */
extern void SsFileWalLogRemove(const char *path, Oid dboid, TransactionId horizon);
extern void SsFileWalLogStamp(const SsStampSlot *slot);

#endif							/* SEGSTORE_FORMAT_FILEWAL_H */
