/*-------------------------------------------------------------------------
 *
 * files.c
 *	  Paths of segstore's files, creation of their directories, and removal
 *	  of dropped files and directories once the drop has committed durably.
 *
 * Layout, relative to the data directory:
 *	  segstore/<database oid>/<collection id>/<segment id>_<file id>.<kind>
 * where kind is insert, delta, stats or index.  A file being written is
 * named
 *	  <final name>.<writer stamp>.tmp
 * where the stamp, also in the file's header, is its writer's full xid or,
 * for a background worker, its virtual transaction id (SsFilesWriterXid),
 * so that garbage collection can tell when its writer is gone.
 *
 * Every byte written, every installation and every removal is WAL-logged
 * (filewal.c), so standbys, archive recovery and base backups have the
 * same files.  Removals are logged and done after the removing
 * transaction's commit, never before (a crash would leave catalog rows
 * without their files); a crash between commit and removal leaves
 * unreferenced files, which garbage collection removes.  Nothing in one
 * database removes a file of another: removal of a path outside the
 * current database's directory is refused, except the whole directory of
 * a database being dropped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "common/file_perm.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/message.h"
#include "storage/fd.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/memutils.h"

#include "format/fault.h"
#include "format/filewal.h"
#include "format/files.h"

/* A file or directory to remove when the transaction that dropped it commits. */
typedef struct PendingRemoval
{
	char	   *path;
	int			nestlevel;
	Oid			dboid;			/* the database whose files these are */
	bool		xact_horizon;	/* standby snapshots up to the removing
								 * transaction conflict, else up to horizon */
	TransactionId horizon;
} PendingRemoval;

static List *pending_removals = NIL;
static bool callbacks_registered = false;

/* Directory of a database's files. */
char *
SsFilesDatabaseDir(Oid dboid)
{
	return psprintf(SS_FILES_ROOT "/%u", dboid);
}

/* Directory of a collection's files. */
char *
SsFilesCollectionDir(Oid dboid, int64 collection_id)
{
	return psprintf(SS_FILES_ROOT "/%u/" INT64_FORMAT, dboid, collection_id);
}

/* Path of one binlog file of the current database. */
char *
SsFilesPath(int64 collection_id, int64 segment_id, int64 file_id, const char *kind)
{
	return psprintf(SS_FILES_ROOT "/%u/" INT64_FORMAT "/" INT64_FORMAT "_" INT64_FORMAT ".%s",
					MyDatabaseId, collection_id, segment_id, file_id, kind);
}

/*
 * Writers of this process stamp files with their transaction's virtual id
 * (SsFilesStampVirtualIds), so that they need no xid to write.
 */
static bool stamp_virtual = false;

/*
 * A virtual stamp has its top bit set; a full xid never does, its epoch
 * being far below 2^31.  Below it: the backend id, then the local id.
 */
#define SS_WRITER_VIRTUAL	(UINT64CONST(1) << 63)

/*
 * Stamp this process's files with virtual transaction ids: for a process
 * whose transactions are never prepared (a background worker), the vxid
 * lives exactly as long as its transaction, and writing then assigns no
 * xid, which would hold back every horizon of the cluster for as long as
 * the writer runs.
 */
void
SsFilesStampVirtualIds(void)
{
	stamp_virtual = true;
}

/*
 * The current transaction's stamp for the files it writes.  An xid is
 * made durable in the WAL first: one that never reached the WAL before a
 * crash is handed out again after it, and garbage collection would then
 * take the dead writer's files for a running transaction's and keep them.
 * A virtual id reused after a restart can only make garbage collection
 * keep a dead writer's file until the reusing transaction ends.
 */
uint64
SsFilesWriterXid(void)
{
	static FullTransactionId durable = {0};
	FullTransactionId fxid;

	SsFileWalCheckWritable();
	if (stamp_virtual)
		return SS_WRITER_VIRTUAL | ((uint64) (uint32) MyProc->backendId << 32) |
			MyProc->lxid;
	fxid = GetTopFullTransactionId();

	if (!FullTransactionIdEquals(fxid, durable))
	{
		XLogFlush(LogLogicalMessage("segstore", "", 0, false));
		durable = fxid;
	}
	return U64FromFullTransactionId(fxid);
}

/*
 * Is the writer of a file, by its stamp, still running?  A transaction's
 * xid leaves the running set, and its vxid lock is released, only after
 * its commit is visible; a snapshot taken after this answers false sees
 * the writer's catalog rows.
 */
bool
SsFilesWriterRunning(uint64 writer_xid)
{
	if (writer_xid & SS_WRITER_VIRTUAL)
	{
		VirtualTransactionId vxid;

		vxid.backendId = (BackendId) ((writer_xid >> 32) & 0x7FFFFFFF);
		vxid.localTransactionId = (LocalTransactionId) writer_xid;
		return vxid.backendId > 0 && LocalTransactionIdIsValid(vxid.localTransactionId) &&
			!VirtualXactLock(vxid, false);
	}
	else
	{
		TransactionId xid = XidFromFullTransactionId(FullTransactionIdFromU64(writer_xid));

		return TransactionIdIsValid(xid) && TransactionIdIsInProgress(xid);
	}
}

/* Temporary name under which a file is written before its rename. */
char *
SsFilesTempPath(const char *path, uint64 writer_xid)
{
	return psprintf("%s." UINT64_FORMAT ".tmp", path, writer_xid);
}

/* If name is a temporary file's name, extract its writer's xid. */
bool
SsFilesParseTempXid(const char *name, uint64 *writer_xid)
{
	size_t		len = strlen(name);
	const char *p;
	char	   *end;

	if (len < 5 || strcmp(name + len - 4, ".tmp") != 0)
		return false;
	p = name + len - 5;
	while (p > name && *p != '.')
		p--;
	if (*p != '.')
		return false;
	*writer_xid = strtou64(p + 1, &end, 10);
	return end == name + len - 4 && end > p + 1;
}

/* Create dir if it does not exist, making the creation durable. */
static void
EnsureOneDir(const char *dir, const char *parent)
{
	if (MakePGDirectory(dir) == 0)
	{
		fsync_fname(dir, true);
		fsync_fname(parent, true);
	}
	else if (errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", dir)));
}

/* Make sure the current database's directory for a collection exists. */
void
SsFilesEnsureDir(int64 collection_id)
{
	char	   *db = SsFilesDatabaseDir(MyDatabaseId);

	EnsureOneDir(SS_FILES_ROOT, ".");
	EnsureOneDir(db, SS_FILES_ROOT);
	EnsureOneDir(SsFilesCollectionDir(MyDatabaseId, collection_id), db);
}

/* Does a database's segstore directory hold anything? */
bool
SsFilesDatabaseHasFiles(Oid dboid)
{
	char	   *dir = SsFilesDatabaseDir(dboid);
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	bool		any = false;

	if (d == NULL && errno == ENOENT)
		return false;
	while (!any && (de = ReadDir(d, dir)) != NULL)
		any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	FreeDir(d);
	pfree(dir);
	return any;
}

/* Size of a file as it is on disk, or -1 if it is missing. */
int64
SsFilesSize(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (int64) st.st_size;
}

/*
 * Remove files or directory trees now, WAL-logged first (when the resource
 * manager is there: a session that loaded segstore without preloading may
 * still drop it), each with the horizon of the snapshots that a standby
 * must not let see it vanish.  The records are flushed before anything is
 * removed: a removal done but lost from the WAL would leave the file on
 * every standby for good.  Problems are warnings: the caller has committed
 * already, or garbage collection will try again.
 */
static void
RemoveLogged(List *removals)
{
	bool		wal = SsFileWalAvailable();
	ListCell   *lc;

	if (wal)
	{
		foreach(lc, removals)
		{
			PendingRemoval *r = lfirst(lc);

			SsFileWalLogRemove(r->path, r->dboid, r->xact_horizon ?
							   GetTopTransactionIdIfAny() : r->horizon);
		}
		XLogFlush(XactLastRecEnd);
	}
	foreach(lc, removals)
	{
		PendingRemoval *r = lfirst(lc);
		char	   *parent;

		/*
		 * No stat first: a file removed meanwhile is simply gone, and so may
		 * be its parent, which then needs no fsync.
		 */
		if (unlink(r->path) != 0)
		{
			if (errno == ENOENT)
				continue;
			if (errno != EISDIR)
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("could not remove segstore file \"%s\": %m", r->path),
						 errhint("segstore.gc() will retry.")));
			else if (!rmtree(r->path, true))
			{
				/*
				 * rmtree has already warned, with %m, about each entry it
				 * could not remove; errno no longer tells which.
				 */
				ereport(WARNING,
						(errcode(ERRCODE_IO_ERROR),
						 errmsg("could not remove segstore directory \"%s\"", r->path),
						 errhint("segstore.gc() will retry.")));
			}
		}
		parent = pstrdup(r->path);
		get_parent_directory(parent);
		(void) fsync_fname_ext(parent[0] != '\0' ? parent : ".", true, true, WARNING);
		pfree(parent);
	}
	if (wal)
		SsFileWalCancel();
}

/* Remove the pending files and directories once the commit is on disk. */
static void
FilesXactCallback(XactEvent event, void *arg)
{

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (pending_removals != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that dropped segstore data")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (pending_removals == NIL)
				break;

			/*
			 * With synchronous_commit off the commit record may not be on
			 * disk yet; a crash would then bring back catalog rows whose
			 * files are gone.
			 */
			XLogFlush(XactLastCommitEnd);
			RemoveLogged(pending_removals);
			list_free_deep(pending_removals);
			pending_removals = NIL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			list_free_deep(pending_removals);
			pending_removals = NIL;
			break;
		default:
			break;
	}
}

/* Forget removals of an aborted subtransaction; hand others to the parent. */
static void
FilesSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	List	   *keep = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (pending_removals == NIL ||
		(event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	foreach(lc, pending_removals)
	{
		PendingRemoval *r = lfirst(lc);

		if (r->nestlevel >= level && event == SUBXACT_EVENT_ABORT_SUB)
		{
			pfree(r->path);
			pfree(r);
			continue;
		}
		if (r->nestlevel >= level)
			r->nestlevel = level - 1;
		keep = lappend(keep, r);
	}
	list_free(pending_removals);
	pending_removals = keep;
	MemoryContextSwitchTo(old);
}

/* Queue a removal for the commit of the current transaction. */
static void
QueueRemoval(const char *path, Oid dboid, bool xact_horizon, TransactionId horizon)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	PendingRemoval *r = palloc(sizeof(PendingRemoval));

	r->path = pstrdup(path);
	r->nestlevel = GetCurrentTransactionNestLevel();
	r->dboid = dboid;
	r->xact_horizon = xact_horizon;
	r->horizon = horizon;
	pending_removals = lappend(pending_removals, r);
	MemoryContextSwitchTo(old);

	if (!callbacks_registered)
	{
		RegisterXactCallback(FilesXactCallback, NULL);
		RegisterSubXactCallback(FilesSubXactCallback, NULL);
		callbacks_registered = true;
	}
}

/*
 * Is path the current database's directory or below it?  Paths come from
 * the catalog, which a copied database (CREATE DATABASE ... TEMPLATE made
 * while segstore was not loaded) shares with its template.
 */
static bool
InOwnDatabase(const char *path)
{
	char	   *own = SsFilesDatabaseDir(MyDatabaseId);
	size_t		len = strlen(own);
	bool		ok = strncmp(path, own, len) == 0 &&
		(path[len] == '\0' || path[len] == '/') && strstr(path, "..") == NULL;

	pfree(own);
	return ok;
}

/*
 * May the current database remove path?  Not a file of another database:
 * it is left alone, with a warning.
 */
static bool
CheckOwnDatabase(const char *path)
{
	if (InOwnDatabase(path))
		return true;
	ereport(WARNING,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("segstore file \"%s\" does not belong to the current database, not removing it", path),
			 errdetail("segstore never removes or changes a file of another database.")));
	return false;
}

/*
 * Remove a file or a directory with its contents, below the current
 * database's directory, when the current transaction commits.  Standby
 * snapshots older than the removing transaction are resolved first.
 */
void
SsFilesRemoveAtCommit(const char *path)
{
	if (CheckOwnDatabase(path))
		QueueRemoval(path, MyDatabaseId, true, InvalidTransactionId);
}

/*
 * The same for a file that snapshots newer than horizon no longer need
 * (garbage collection of compacted segments): a standby resolves conflicts
 * only with snapshots at or before it.
 */
void
SsFilesRemoveAtCommitHorizon(const char *path, TransactionId horizon)
{
	if (CheckOwnDatabase(path))
		QueueRemoval(path, MyDatabaseId, false, horizon);
}

/* Remove a database's whole directory when its DROP DATABASE commits. */
void
SsFilesRemoveDatabaseAtCommit(Oid dboid)
{
	QueueRemoval(SsFilesDatabaseDir(dboid), dboid, true, InvalidTransactionId);
}

/*
 * Remove, at once and WAL-logged, a file or directory that no snapshot can
 * reference (garbage whose writer is gone, a dropped database's leftovers).
 * Returns false, having warned, if it could not be removed.
 */
bool
SsFilesRemoveNow(const char *path, Oid dboid)
{
	PendingRemoval r;

	if (dboid == MyDatabaseId && !CheckOwnDatabase(path))
		return false;
	SsFileWalCheckWritable();
	r.path = (char *) path;
	r.nestlevel = 0;
	r.dboid = dboid;
	r.xact_horizon = false;
	r.horizon = InvalidTransactionId;
	RemoveLogged(list_make1(&r));
	return access(path, F_OK) != 0 && errno == ENOENT;
}

/*
 * Write len bytes at offset of a temporary file being written with pwrite,
 * and log them as they go (filewal.c): in order (SsFileWalWrite: the
 * header, or the body appended) or, with unordered, anywhere past the
 * header (SsFileWalWriteAt).  A write that makes no progress means the
 * disk is full (53100); the I/O fault hook fails writes for tests.
 */
void
SsFilesWrite(int fd, const char *tmp_path, uint64 offset, const char *buf, Size len,
			 SsFileWal *wf, bool unordered)
{
	while (len > 0)
	{
		ssize_t		n;

		errno = 0;
		pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_WRITE);
		n = SsFaultInject(SS_FAULT_WRITE, tmp_path) ? -1 :
			pg_pwrite(fd, buf, Min(len, (Size) 1 << 30), (off_t) offset);
		pgstat_report_wait_end();
		if (n <= 0)
		{
			if (n < 0 && errno == EINTR)
				continue;
			/* A write that makes no progress means the disk is full. */
			if (errno == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write to segstore file \"%s\": %m",
							tmp_path)));
		}
		if (unordered)
			SsFileWalWriteAt(wf, tmp_path, offset, buf, (Size) n);
		else
			SsFileWalWrite(wf, tmp_path, offset, buf, (Size) n);
		buf += n;
		len -= n;
		offset += n;
	}
}

/*
 * Put a finished file in place durably: fsync and close *fd (set to -1),
 * rename tmp_path to path (clearing *tmp_exists) and fsync the directory,
 * so that the rename itself survives a crash; then log the installation,
 * with wf, the log of the file's bytes (filewal.c says why checkpoints wait
 * for the rename).
 */
void
SsFilesInstall(int *fd, bool *tmp_exists, const char *tmp_path, const char *path,
			   SsFileWal *wf)
{
	char	   *dir;
	int			rc;

	pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_SYNC);
	rc = pg_fsync(*fd);
	pgstat_report_wait_end();
	if (rc != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not fsync segstore file \"%s\": %m", tmp_path)));
	rc = CloseTransientFile(*fd);
	*fd = -1;
	if (rc != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close segstore file \"%s\": %m", tmp_path)));

	SsFileWalPrepareInstall(wf, tmp_path);
	PG_TRY();
	{
		if (rename(tmp_path, path) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not rename segstore file \"%s\" to \"%s\": %m",
							tmp_path, path)));
		*tmp_exists = false;

		dir = pstrdup(path);
		get_parent_directory(dir);
		fsync_fname_ext(dir[0] != '\0' ? dir : ".", true, false, ERROR);
		pfree(dir);
	}
	PG_CATCH();
	{
		SsFileWalCancel();
		PG_RE_THROW();
	}
	PG_END_TRY();
	SsFileWalFinishInstall(wf, tmp_path, path);
}
