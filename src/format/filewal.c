/*-------------------------------------------------------------------------
 *
 * filewal.c
 *	  segstore's custom WAL resource manager: every byte of every file
 *	  segstore writes, its installation and its removal are WAL-logged, so
 *	  that crash recovery, streaming standbys, archive recovery (PITR) and
 *	  base backups have exactly the files that their catalog rows
 *	  reference.
 *
 * RECORDS (paths are relative to the data directory, below segstore/)
 *
 *	 WRITE	  offset, length, the temporary file's path, then up to
 *			  SS_WAL_CHUNK (128 KiB) bytes of it: far under the WAL record
 *			  size limit and under the default wal_buffers, so one record
 *			  never waits for the WAL buffers to drain twice.
 *	 INSTALL  the temporary and the final path, the file's size, the
 *			  length of its header and two CRC32Cs: of the header and of
 *			  the rest (writers rewrite their header last, so the body's
 *			  CRC can be kept as the bytes go out and nothing is read back;
 *			  an index file, whose inverted lists fill in whatever order
 *			  rows come, logs its body with SsFileWalWriteAt and reads it
 *			  back once for the CRC, SsFileWalSetBody).
 *	 REMOVE	  a path (a file or a directory tree), the database whose
 *			  backends may read it, and a transaction id horizon.
 *	 STAMP	  a transaction's registration as a writer of a collection, or
 *			  a reading of the primary's clock (status/stamps.c), so that
 *			  a hot standby can tell whether a search as of a time is
 *			  final (data/stamp.c).  Not about files, but it is segstore's
 *			  only resource manager.
 *
 * WRITE-THEN-LOG, AND WHERE A CHECKPOINT MAY FALL
 *
 * A writer writes a chunk into its temporary file, then logs it, at
 * the chunk's offset: redo puts each chunk where it was written, so the
 * order of a file's WRITE records does not matter, only that they all
 * precede its INSTALL.  A crash
 * before the log leaves a temporary file that nothing references, which
 * garbage collection removes (logged) once its writer is gone; it is never
 * installed, since installation is logged only after every byte.  The
 * danger is a checkpoint, or a base backup's start (which is a checkpoint),
 * whose redo pointer falls among a file's records: redo from there replays
 * only the later chunks, and the temporary file that the backup copied, or
 * that the crash left, may not hold the earlier ones (a backup copies a
 * file being written at whatever state the copy found, or misses it if the
 * rename ran while the directory was read).  So installation goes:
 *
 *	 1. PrepareInstall sets DELAY_CHKPT_START, then reads the redo pointer.
 *		If a checkpoint began after the file's first record, the whole
 *		temporary file (fsynced, complete) is logged again, with the flag
 *		off meanwhile, and the check repeats.  Else every checkpoint that
 *		has not yet seen the flag will wait for it (a checkpoint sets its
 *		redo pointer before it looks for delaying backends).
 *	 2. The caller renames the file and fsyncs the directory.
 *	 3. FinishInstall logs INSTALL and clears the flag.
 *
 * Either all of a file's records follow the redo pointer, or the checkpoint
 * that chose it cannot complete before the file is installed and durable:
 * a backup then copies the installed file (its copy starts after its
 * checkpoint), and crash recovery finds it on disk.  The flag is held only
 * across a rename and two fsyncs, not while a file is written, so a long
 * compaction never holds up a checkpoint.  Removal holds it across logging
 * and unlinking the same way (log-then-remove): a checkpoint cannot
 * complete between the two, so a removal is never lost to a crash.
 *
 * REDO
 *
 *	 WRITE	 creates missing directories (a later drop may have removed
 *			 them) and writes the bytes; no fsync, see INSTALL.
 *	 INSTALL verifies both CRCs.  If the final file exists and verifies,
 *			 it was installed before (redo run twice, or a backup copied
 *			 it) and any temporary file that replay recreated goes.  Else
 *			 the temporary file is cut to its size, verified, fsynced and
 *			 renamed, and the directory fsynced: the file is durable before
 *			 the record is replayed, so a standby's restartpoint after it
 *			 can never lose it.  (PostgreSQL 15 has no sync request hook
 *			 for extensions' files, so redo syncs at once, as the primary
 *			 does; a file's chunks before INSTALL need no fsync of their
 *			 own because of the checkpoint rule above.)  A file that
 *			 verifies in neither place is remembered: replay run twice
 *			 recreates the chunks of a file whose later removal it already
 *			 did, and that removal comes again further on and forgets it.
 *			 Whatever is still remembered when recovery ends (rm_cleanup)
 *			 is a file the WAL could not restore: recovery stops with
 *			 PANIC, as PostgreSQL does for references to invalid pages.
 *	 REMOVE	 is logged after the removing transaction's commit (from the
 *			 commit callback), so it replays after that commit.  On a hot
 *			 standby it first resolves conflicts with the snapshots that
 *			 may still need the file, as vacuum's records do
 *			 (ResolveRecoveryConflictWithSnapshot with the horizon:
 *			 max_standby_streaming_delay, then cancellation;
 *			 hot_standby_feedback keeps the primary from removing such
 *			 files at all).  A backend that has the file mapped keeps
 *			 reading it: unlink does not take an open file away.
 *
 * Without preloading there is no resource manager: writes fail at once
 * (SsFileWalCheckWritable), and a standby or a recovery that meets
 * segstore records stops with PostgreSQL's own hint to preload segstore.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xloginsert.h"
#include "access/xlogreader.h"
#include "access/xlogutils.h"
#include "catalog/pg_tablespace_d.h"
#include "common/file_perm.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "storage/standby.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "format/fault.h"
#include "format/filewal.h"
#include "status/status.h"

#define SS_RMGR_NAME "segstore"

#define XLOG_SS_WRITE	0x10
#define XLOG_SS_INSTALL 0x20
#define XLOG_SS_REMOVE	0x30
#define XLOG_SS_STAMP	0x40

/* Bytes of a file in one WRITE record. */
#define SS_WAL_CHUNK ((Size) 128 * 1024)

#define SS_ROOT_PREFIX "segstore/"

/* Fixed part of a WRITE record; the path and the bytes follow. */
typedef struct SsXlWrite
{
	uint64		offset;
	uint32		len;
	uint16		pathlen;		/* without the terminating zero */
} SsXlWrite;

/* Fixed part of an INSTALL record; the two paths follow. */
typedef struct SsXlInstall
{
	uint64		size;
	uint64		head_len;
	pg_crc32c	head_crc;
	pg_crc32c	body_crc;
	uint16		tmplen;
	uint16		pathlen;
} SsXlInstall;

/* Fixed part of a REMOVE record; the path follows. */
typedef struct SsXlRemove
{
	TransactionId horizon;
	Oid			dboid;
	uint16		pathlen;
} SsXlRemove;

/* A file that redo could not install (yet), by its final path. */
typedef struct InvalidFile
{
	char		path[MAXPGPATH];
	char		tmp_path[MAXPGPATH];
} InvalidFile;

static bool rmgr_registered = false;
static HTAB *invalid_files = NULL;

static void SsRmgrRedo(XLogReaderState *record);
static void SsRmgrDesc(StringInfo buf, XLogReaderState *record);
static const char *SsRmgrIdentify(uint8 info);
static void SsRmgrStartup(void);
static void SsRmgrCleanup(void);

static RmgrData ss_rmgr = {
	.rm_name = SS_RMGR_NAME,
	.rm_redo = SsRmgrRedo,
	.rm_desc = SsRmgrDesc,
	.rm_identify = SsRmgrIdentify,
	.rm_startup = SsRmgrStartup,
	.rm_cleanup = SsRmgrCleanup,
};

/* Register the resource manager; only a preloaded library can. */
void
SsFileWalInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	RegisterCustomRmgr(SS_RMGR_ID, &ss_rmgr);
	rmgr_registered = true;
}

/* Is the resource manager registered in this process? */
bool
SsFileWalAvailable(void)
{
	return rmgr_registered;
}

/* Log a writer's registration or a clock reading (status/stamps.c). */
void
SsFileWalLogStamp(const SsStampSlot *slot)
{
	XLogBeginInsert();
	XLogRegisterData((char *) slot, sizeof(SsStampSlot));
	(void) XLogInsert(SS_RMGR_ID, XLOG_SS_STAMP);
}

/* Fail unless this process may write segstore files. */
void
SsFileWalCheckWritable(void)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot write segstore data during recovery"),
				 errdetail("A standby answers reads and searches; writes go to the primary.")));
	if (!rmgr_registered)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segstore must be loaded via shared_preload_libraries to write"),
				 errdetail("segstore WAL-logs its files through its own WAL resource manager, which only a preloaded library can register."),
				 errhint("Add segstore to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* Start logging a file. */
void
SsFileWalBegin(SsFileWal *wf, uint64 head_len)
{
	memset(wf, 0, sizeof(*wf));
	wf->first_lsn = InvalidXLogRecPtr;
	wf->head_len = head_len;
	INIT_CRC32C(wf->body_crc);
}

/* Log up to SS_WAL_CHUNK bytes at offset of tmp_path. */
static XLogRecPtr
LogChunk(const char *tmp_path, uint64 offset, const char *buf, Size len)
{
	SsXlWrite	xl;

	Assert(len <= SS_WAL_CHUNK);
	xl.offset = offset;
	xl.len = (uint32) len;
	xl.pathlen = (uint16) strlen(tmp_path);
	XLogBeginInsert();
	XLogRegisterData((char *) &xl, sizeof(xl));
	XLogRegisterData((char *) tmp_path, xl.pathlen + 1);
	if (len > 0)
		XLogRegisterData((char *) buf, (int) len);
	(void) XLogInsert(SS_RMGR_ID, XLOG_SS_WRITE);
	return ProcLastRecPtr;
}

/* Log len bytes at offset of tmp_path in records of SS_WAL_CHUNK bytes. */
static void
LogBytes(SsFileWal *wf, const char *tmp_path, uint64 offset, const char *buf,
		 Size len)
{
	uint64		pos = offset;
	const char *p = buf;
	Size		left = len;

	while (left > 0)
	{
		Size		n = Min(left, SS_WAL_CHUNK);
		XLogRecPtr	lsn;

		CHECK_FOR_INTERRUPTS();
		lsn = LogChunk(tmp_path, pos, p, n);
		if (XLogRecPtrIsInvalid(wf->first_lsn))
			wf->first_lsn = lsn;
		pos += n;
		p += n;
		left -= n;
	}
}

/* Fail unless tmp_path may be logged. */
static void
CheckLoggable(const char *tmp_path)
{
	if (!rmgr_registered)
		SsFileWalCheckWritable();
	if (strlen(tmp_path) >= MAXPGPATH)
		elog(ERROR, "segstore file path \"%s\" is too long", tmp_path);
}

/* Log bytes written at offset, in chunks, keeping the checksums. */
void
SsFileWalWrite(SsFileWal *wf, const char *tmp_path, uint64 offset,
			   const char *buf, Size len)
{
	CheckLoggable(tmp_path);
	if (offset < wf->head_len)
	{
		if (offset + len > wf->head_len)
			elog(ERROR, "write of %zu bytes at " UINT64_FORMAT " of segstore file \"%s\" crosses its " UINT64_FORMAT "-byte header",
				 len, offset, tmp_path, wf->head_len);
		if (offset == 0 && len == wf->head_len)
		{
			INIT_CRC32C(wf->head_crc);
			COMP_CRC32C(wf->head_crc, buf, len);
			FIN_CRC32C(wf->head_crc);
			wf->head_set = true;
		}
	}
	else
	{
		if (wf->unordered)
			elog(ERROR, "write at " UINT64_FORMAT " of segstore file \"%s\" mixes ordered and unordered writes",
				 offset, tmp_path);
		if (offset != wf->head_len + wf->body_len)
			elog(ERROR, "write at " UINT64_FORMAT " of segstore file \"%s\" is not at its end, " UINT64_FORMAT,
				 offset, tmp_path, wf->head_len + wf->body_len);
		COMP_CRC32C(wf->body_crc, buf, len);
		wf->body_len += len;
	}
	LogBytes(wf, tmp_path, offset, buf, len);
}

/* Log bytes written anywhere after the header; the checksum comes later. */
void
SsFileWalWriteAt(SsFileWal *wf, const char *tmp_path, uint64 offset,
				 const char *buf, Size len)
{
	CheckLoggable(tmp_path);
	if (offset < wf->head_len)
		elog(ERROR, "unordered write at " UINT64_FORMAT " of segstore file \"%s\" falls in its " UINT64_FORMAT "-byte header",
			 offset, tmp_path, wf->head_len);
	if (!wf->unordered && wf->body_len > 0)
		elog(ERROR, "write at " UINT64_FORMAT " of segstore file \"%s\" mixes ordered and unordered writes",
			 offset, tmp_path);
	wf->unordered = true;
	wf->body_set = false;
	LogBytes(wf, tmp_path, offset, buf, len);
}

/*
 * The body of a file written out of order, as read back once complete:
 * its length and its finished CRC32C.  The log keeps the CRC running (not
 * finished), as SsFileWalWrite does; finishing is an XOR with all ones, so
 * applying it again undoes it.
 */
void
SsFileWalSetBody(SsFileWal *wf, uint64 body_len, pg_crc32c body_crc)
{
	wf->body_len = body_len;
	wf->body_crc = body_crc;
	FIN_CRC32C(wf->body_crc);
	wf->body_set = true;
}

/* Log the whole of a complete temporary file again, from its first byte. */
static void
Relog(SsFileWal *wf, const char *tmp_path)
{
	uint64		size = wf->head_len + wf->body_len;
	char	   *buf = palloc(SS_WAL_CHUNK);
	uint64		pos = 0;
	int			fd;

	fd = OpenTransientFile(tmp_path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open segstore file \"%s\": %m", tmp_path)));
	wf->first_lsn = InvalidXLogRecPtr;
	while (pos < size)
	{
		Size		n = (Size) Min((uint64) SS_WAL_CHUNK, size - pos);
		ssize_t		got;
		XLogRecPtr	lsn;

		CHECK_FOR_INTERRUPTS();
		pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_READ);
		got = pg_pread(fd, buf, n, (off_t) pos);
		pgstat_report_wait_end();
		if (got != (ssize_t) n)
		{
			if (got >= 0)
				errno = EIO;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read segstore file \"%s\": %m", tmp_path)));
		}
		lsn = LogChunk(tmp_path, pos, buf, n);
		if (XLogRecPtrIsInvalid(wf->first_lsn))
			wf->first_lsn = lsn;
		pos += n;
	}
	CloseTransientFile(fd);
	pfree(buf);
}

/* Hold off checkpoints (their start), or let them go on. */
static void
DelayCheckpoints(bool on)
{
	if (on)
	{
		MyProc->delayChkptFlags |= DELAY_CHKPT_START;
		/* the flag must be visible before we read the redo pointer */
		pg_memory_barrier();
	}
	else
		MyProc->delayChkptFlags &= ~DELAY_CHKPT_START;
}

/* Before a rename: all of the file's records follow any redo pointer. */
void
SsFileWalPrepareInstall(SsFileWal *wf, const char *tmp_path)
{
	if (!wf->head_set)
		elog(ERROR, "segstore file \"%s\" was installed without a header", tmp_path);
	if (wf->unordered && !wf->body_set)
		elog(ERROR, "segstore file \"%s\" was installed without the checksum of its body", tmp_path);
	for (;;)
	{
		if (!XLogRecPtrIsInvalid(wf->first_lsn) && GetRedoRecPtr() <= wf->first_lsn)
		{
			DelayCheckpoints(true);
			if (GetRedoRecPtr() <= wf->first_lsn)
				return;
			DelayCheckpoints(false);
		}
		Relog(wf, tmp_path);
	}
}

/* After the rename and the directory's fsync: log the installation. */
void
SsFileWalFinishInstall(SsFileWal *wf, const char *tmp_path, const char *path)
{
	SsXlInstall xl;
	pg_crc32c	body_crc = wf->body_crc;

	FIN_CRC32C(body_crc);
	xl.size = wf->head_len + wf->body_len;
	xl.head_len = wf->head_len;
	xl.head_crc = wf->head_crc;
	xl.body_crc = body_crc;
	xl.tmplen = (uint16) strlen(tmp_path);
	xl.pathlen = (uint16) strlen(path);
	XLogBeginInsert();
	XLogRegisterData((char *) &xl, sizeof(xl));
	XLogRegisterData((char *) tmp_path, xl.tmplen + 1);
	XLogRegisterData((char *) path, xl.pathlen + 1);
	(void) XLogInsert(SS_RMGR_ID, XLOG_SS_INSTALL);
	DelayCheckpoints(false);
}

/* Let checkpoints go on (after a failure, or after a removal). */
void
SsFileWalCancel(void)
{
	DelayCheckpoints(false);
}

/* Hold off checkpoints and log a removal; the caller removes. */
void
SsFileWalLogRemove(const char *path, Oid dboid, TransactionId horizon)
{
	SsXlRemove	xl;

	xl.horizon = horizon;
	xl.dboid = dboid;
	xl.pathlen = (uint16) strlen(path);
	DelayCheckpoints(true);
	XLogBeginInsert();
	XLogRegisterData((char *) &xl, sizeof(xl));
	XLogRegisterData((char *) path, xl.pathlen + 1);
	(void) XLogInsert(SS_RMGR_ID, XLOG_SS_REMOVE);
}

/* ---- redo ---- */

/*
 * A path from a record, checked: zero-terminated where the record says,
 * below segstore/, without "..".
 */
static const char *
RecordPath(const char *p, uint16 len, const char *end)
{
	if (p + len + 1 > end || p[len] != '\0' || strlen(p) != len ||
		len >= MAXPGPATH || strncmp(p, SS_ROOT_PREFIX, strlen(SS_ROOT_PREFIX)) != 0 ||
		strstr(p, "..") != NULL)
		elog(PANIC, "segstore WAL record has an invalid path");
	return p;
}

/*
 * Create the directories above path that do not exist (a later drop may
 * have removed them), each made durable in its parent.
 */
static void
EnsureParents(const char *path)
{
	char		dir[MAXPGPATH];
	char	   *p;

	strlcpy(dir, path, sizeof(dir));
	for (p = strchr(dir, '/'); p != NULL; p = strchr(p + 1, '/'))
	{
		*p = '\0';
		if (MakePGDirectory(dir) == 0)
		{
			char		parent[MAXPGPATH];

			fsync_fname(dir, true);
			strlcpy(parent, dir, sizeof(parent));
			get_parent_directory(parent);
			fsync_fname(parent[0] != '\0' ? parent : ".", true);
		}
		else if (errno != EEXIST)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create directory \"%s\": %m", dir)));
		*p = '/';
	}
}

/* Replay a WRITE: put the bytes at their offset of the temporary file. */
static void
RedoWrite(const char *data, Size datalen)
{
	SsXlWrite	xl;
	const char *end = data + datalen;
	const char *path;
	const char *bytes;
	int			fd;

	memcpy(&xl, data, sizeof(xl));
	path = RecordPath(data + sizeof(xl), xl.pathlen, end);
	bytes = path + xl.pathlen + 1;
	if (bytes + xl.len > end)
		elog(PANIC, "segstore WAL record for \"%s\" is too short", path);

	EnsureParents(path);
	fd = OpenTransientFile(path, O_CREAT | O_WRONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open segstore file \"%s\": %m", path)));
	for (Size done = 0; done < xl.len;)
	{
		ssize_t		n;

		errno = 0;
		n = SsFaultInject(SS_FAULT_WRITE, path) ? -1 :
			pg_pwrite(fd, bytes + done, xl.len - done, (off_t) (xl.offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			/* A write that makes no progress means the disk is full. */
			if (errno == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write to segstore file \"%s\": %m", path)));
		}
		done += n;
	}
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close segstore file \"%s\": %m", path)));
}

/*
 * Does the file at path hold exactly the bytes an INSTALL record describes?
 * A missing or short file does not.
 */
static bool
FileMatches(const char *path, const SsXlInstall *xl)
{
	char	   *buf;
	struct stat st;
	pg_crc32c	crc;
	uint64		pos;
	bool		ok;
	int			fd;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open segstore file \"%s\": %m", path)));
	}
	if (fstat(fd, &st) != 0 || (uint64) st.st_size < xl->size)
	{
		CloseTransientFile(fd);
		return false;
	}
	buf = palloc(SS_WAL_CHUNK);
	ok = true;
	INIT_CRC32C(crc);
	for (pos = 0; pos < xl->size && ok;)
	{
		uint64		limit = pos < xl->head_len ? xl->head_len : xl->size;
		Size		n = (Size) Min((uint64) SS_WAL_CHUNK, limit - pos);

		if (pg_pread(fd, buf, n, (off_t) pos) != (ssize_t) n)
			ok = false;
		else
			COMP_CRC32C(crc, buf, n);
		pos += n;
		if (pos == xl->head_len)
		{
			FIN_CRC32C(crc);
			ok = ok && crc == xl->head_crc;
			INIT_CRC32C(crc);
		}
	}
	FIN_CRC32C(crc);
	ok = ok && (xl->size == xl->head_len || crc == xl->body_crc);
	CloseTransientFile(fd);
	pfree(buf);
	return ok;
}

/* Forget the files remembered as not installable at or below path. */
static void
ForgetInvalid(const char *path)
{
	HASH_SEQ_STATUS seq;
	InvalidFile *f;
	size_t		len = strlen(path);

	if (invalid_files == NULL)
		return;
	hash_seq_init(&seq, invalid_files);
	while ((f = hash_seq_search(&seq)) != NULL)
	{
		if (strncmp(f->path, path, len) == 0 &&
			(f->path[len] == '\0' || f->path[len] == '/'))
		{
			(void) unlink(f->tmp_path);
			(void) hash_search(invalid_files, f->path, HASH_REMOVE, NULL);
		}
	}
}

/* Replay an INSTALL: verify, make durable, rename. */
static void
RedoInstall(const char *data, Size datalen)
{
	SsXlInstall xl;
	const char *end = data + datalen;
	const char *tmp_path;
	const char *path;
	int			fd;

	memcpy(&xl, data, sizeof(xl));
	tmp_path = RecordPath(data + sizeof(xl), xl.tmplen, end);
	path = RecordPath(tmp_path + xl.tmplen + 1, xl.pathlen, end);

	if (FileMatches(path, &xl))
	{
		/* installed already: replay ran twice, or a backup copied it */
		if (unlink(tmp_path) != 0 && errno != ENOENT)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not remove segstore file \"%s\": %m", tmp_path)));
		return;
	}

	fd = OpenTransientFile(tmp_path, O_WRONLY | PG_BINARY);
	if (fd >= 0 && ftruncate(fd, (off_t) xl.size) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not truncate segstore file \"%s\": %m", tmp_path)));
	if (fd < 0 || !FileMatches(tmp_path, &xl))
	{
		InvalidFile *f;
		bool		found;

		if (fd >= 0)
			CloseTransientFile(fd);
		if (invalid_files == NULL)
			SsRmgrStartup();
		f = hash_search(invalid_files, path, HASH_ENTER, &found);
		strlcpy(f->tmp_path, tmp_path, MAXPGPATH);
		ereport(DEBUG1,
				(errmsg("segstore file \"%s\" cannot be installed yet: its logged bytes are incomplete",
						path)));
		return;
	}
	if (pg_fsync(fd) != 0)
		ereport(data_sync_elevel(ERROR),
				(errcode_for_file_access(),
				 errmsg("could not fsync segstore file \"%s\": %m", tmp_path)));
	CloseTransientFile(fd);
	if (durable_rename(tmp_path, path, ERROR) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename segstore file \"%s\" to \"%s\": %m",
						tmp_path, path)));
	if (invalid_files != NULL)
		(void) hash_search(invalid_files, path, HASH_REMOVE, NULL);
}

/* Replay a REMOVE, after resolving conflicts with standby snapshots. */
static void
RedoRemove(const char *data, Size datalen)
{
	SsXlRemove	xl;
	const char *path;
	char		parent[MAXPGPATH];

	memcpy(&xl, data, sizeof(xl));
	path = RecordPath(data + sizeof(xl), xl.pathlen, data + datalen);

	if (InHotStandby && TransactionIdIsValid(xl.horizon))
	{
		RelFileNode node;

		node.spcNode = DEFAULTTABLESPACE_OID;
		node.dbNode = xl.dboid;
		node.relNode = InvalidOid;
		ResolveRecoveryConflictWithSnapshot(xl.horizon, node);
	}

	if (unlink(path) != 0 && errno != ENOENT)
	{
		if (errno != EISDIR)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not remove segstore file \"%s\": %m", path)));
		else if (!rmtree(path, true))
			ereport(WARNING,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("could not remove segstore directory \"%s\"", path)));
	}
	ForgetInvalid(path);
	strlcpy(parent, path, sizeof(parent));
	get_parent_directory(parent);
	if (access(parent, F_OK) == 0)
		fsync_fname(parent, true);
}

/* Replay one segstore record. */
static void
SsRmgrRedo(XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
	const char *data = XLogRecGetData(record);
	Size		len = XLogRecGetDataLen(record);

	switch (info)
	{
		case XLOG_SS_WRITE:
			if (len < sizeof(SsXlWrite))
				elog(PANIC, "segstore WRITE record is too short");
			RedoWrite(data, len);
			break;
		case XLOG_SS_INSTALL:
			if (len < sizeof(SsXlInstall))
				elog(PANIC, "segstore INSTALL record is too short");
			RedoInstall(data, len);
			break;
		case XLOG_SS_REMOVE:
			if (len < sizeof(SsXlRemove))
				elog(PANIC, "segstore REMOVE record is too short");
			RedoRemove(data, len);
			break;
		case XLOG_SS_STAMP:
			{
				SsStampSlot slot;

				if (len < sizeof(slot))
					elog(PANIC, "segstore STAMP record is too short");
				memcpy(&slot, data, sizeof(slot));
				SsStampsReplay(&slot);
			}
			break;
		default:
			elog(PANIC, "segstore redo: unknown record type %u", info);
	}
}

/* Describe a record (pg_waldump, error context). */
static void
SsRmgrDesc(StringInfo buf, XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
	const char *data = XLogRecGetData(record);
	Size		len = XLogRecGetDataLen(record);

	if (info == XLOG_SS_WRITE && len >= sizeof(SsXlWrite))
	{
		SsXlWrite	xl;

		memcpy(&xl, data, sizeof(xl));
		appendStringInfo(buf, "%.*s offset " UINT64_FORMAT " length %u",
						 (int) Min(xl.pathlen, len - sizeof(xl)),
						 data + sizeof(xl), xl.offset, xl.len);
	}
	else if (info == XLOG_SS_INSTALL && len >= sizeof(SsXlInstall))
	{
		SsXlInstall xl;

		memcpy(&xl, data, sizeof(xl));
		if (len >= sizeof(xl) + xl.tmplen + 1 + xl.pathlen)
			appendStringInfo(buf, "%s as %s, " UINT64_FORMAT " bytes",
							 data + sizeof(xl), data + sizeof(xl) + xl.tmplen + 1,
							 xl.size);
	}
	else if (info == XLOG_SS_REMOVE && len >= sizeof(SsXlRemove))
	{
		SsXlRemove	xl;

		memcpy(&xl, data, sizeof(xl));
		appendStringInfo(buf, "%.*s, horizon %u, database %u",
						 (int) Min(xl.pathlen, len - sizeof(xl)),
						 data + sizeof(xl), xl.horizon, xl.dboid);
	}
	else if (info == XLOG_SS_STAMP && len >= sizeof(SsStampSlot))
	{
		SsStampSlot slot;

		memcpy(&slot, data, sizeof(slot));
		if (slot.collection_id == 0)
			appendStringInfo(buf, "clock %s", timestamptz_to_str(slot.stamp));
		else
			appendStringInfo(buf, "database %u, collection " INT64_FORMAT ", transaction " UINT64_FORMAT " at %s",
							 slot.dboid, slot.collection_id,
							 U64FromFullTransactionId(slot.fxid),
							 timestamptz_to_str(slot.stamp));
	}
}

/* Name of a record type. */
static const char *
SsRmgrIdentify(uint8 info)
{
	switch (info & ~XLR_INFO_MASK)
	{
		case XLOG_SS_WRITE:
			return "WRITE";
		case XLOG_SS_INSTALL:
			return "INSTALL";
		case XLOG_SS_REMOVE:
			return "REMOVE";
		case XLOG_SS_STAMP:
			return "STAMP";
	}
	return NULL;
}

/* Start of recovery: an empty table of files not yet installable. */
static void
SsRmgrStartup(void)
{
	HASHCTL		ctl;

	if (invalid_files != NULL)
		return;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = MAXPGPATH;
	ctl.entrysize = sizeof(InvalidFile);
	invalid_files = hash_create("segstore files not installable", 16, &ctl,
								HASH_ELEM | HASH_STRINGS);
}

/* End of recovery: every logged file was installed or removed again. */
static void
SsRmgrCleanup(void)
{
	HASH_SEQ_STATUS seq;
	InvalidFile *f;
	bool		any = false;

	if (invalid_files == NULL)
		return;
	hash_seq_init(&seq, invalid_files);
	while ((f = hash_seq_search(&seq)) != NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("segstore file \"%s\" could not be restored from the WAL", f->path)));
		any = true;
	}
	if (any)
		ereport(PANIC,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("WAL holds segstore files that could not be restored")));
	hash_destroy(invalid_files);
	invalid_files = NULL;
}
