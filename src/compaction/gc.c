/*-------------------------------------------------------------------------
 *
 * gc.c
 *	  Garbage collection of segstore files.
 *
 * Segments a compaction swapped out are dropped once no running snapshot
 * can still see them flushed and the retention window has passed: their
 * binlog rows go, and their files when the dropping transaction commits.
 *
 * A file is garbage when no committed catalog row references it and the
 * transaction that wrote it has ended: it was aborted, or the server
 * crashed between writing it and committing.  The order of the checks
 * matters: first we note which writers are still running, then read the
 * references under a snapshot taken after that, so a writer that commits
 * in between is seen as committed and its file kept.
 *
 * Every removal is WAL-logged (format/files.c), so that standbys lose the
 * same files.
 *
 * Also removed: directories of collections that no longer exist and
 * directories of databases that were dropped while segstore was not
 * loaded in the dropping session.
 *
 * One garbage collection runs at a time in a database (two at once would
 * race to remove the same files and count them twice).  gc() waits for
 * the one running; the background workers, which collect again soon,
 * skip instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"

#include "compaction/compaction.h"
#include "compaction/gc.h"
#include "format/binlog.h"
#include "format/files.h"
#include "format/ivffile.h"
#include "metadata/catalog.h"
#include "metadata/locks.h"

/* A file that may be garbage, found in a collection directory. */
typedef struct Candidate
{
	char	   *path;
	char	   *dir;
} Candidate;

/* Names in a directory, without . and .. (NIL if it does not exist). */
static List *
ListDir(const char *dir)
{
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	List	   *names = NIL;

	if (d == NULL && errno == ENOENT)
		return NIL;
	while ((de = ReadDir(d, dir)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			names = lappend(names, pstrdup(de->d_name));
	FreeDir(d);
	return names;
}

/* Remove a file (WAL-logged), counting it; a file already gone is fine. */
static void
RemoveFile(const char *path, int *removed_files, int64 *removed_bytes)
{
	int64		size = SsFilesSize(path);

	if (size < 0)
		return;
	if (SsFilesRemoveNow(path, MyDatabaseId))
	{
		(*removed_files)++;
		*removed_bytes += size;
	}
}

/* Remove directories of databases that no longer exist. */
static void
RemoveDroppedDatabases(int *removed_files, int64 *removed_bytes)
{
	ListCell   *lc;

	foreach(lc, ListDir(SS_FILES_ROOT))
	{
		char	   *name = lfirst(lc);
		char	   *end;
		Oid			dboid = (Oid) strtoul(name, &end, 10);
		char	   *dir;
		int			nfiles = 0;
		int64		nbytes = 0;
		ListCell   *lc2;

		if (*end != '\0' || !OidIsValid(dboid) ||
			SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(dboid)))
			continue;
		dir = SsFilesDatabaseDir(dboid);
		foreach(lc2, ListDir(dir))
		{
			char	   *sub = psprintf("%s/%s", dir, (char *) lfirst(lc2));
			ListCell   *lc3;

			foreach(lc3, ListDir(sub))
			{
				nfiles++;
				nbytes += Max(SsFilesSize(psprintf("%s/%s", sub, (char *) lfirst(lc3))), 0);
			}
		}
		if (SsFilesRemoveNow(dir, dboid))
		{
			*removed_files += nfiles;
			*removed_bytes += nbytes;
		}
	}
}

/*
 * Remove garbage files of the current database, and directories of
 * dropped collections and databases.  Without wait, does nothing if
 * another collection runs in the database.
 */
void
SsGcRun(bool wait, int *removed_files, int64 *removed_bytes)
{
	char	   *dbdir = SsFilesDatabaseDir(MyDatabaseId);
	List	   *candidates = NIL;
	List	   *dirs = NIL;
	List	   *referenced;
	HTAB	   *refs;
	HASHCTL		ctl;
	ListCell   *lc;

	List	   *dropping = NIL;
	List	   *droppable;

	*removed_files = 0;
	*removed_bytes = 0;
	if (!SsLockGc(wait))
		return;
	SsCatalogFailOrphanedPlans();

	/*
	 * 0. Segments compacted away that no snapshot of this database can read
	 * any more: their files go when this transaction commits.  On a
	 * standby, a snapshot needs them if it may not see the swap, as a heap
	 * row pruned by vacuum is needed by a snapshot that may not see its
	 * delete: they conflict up to the swap's transaction.
	 */
	droppable = SsCatalogDroppableSegments();
	foreach(lc, droppable)
	{
		SsDroppableSegment *seg = lfirst(lc);
		List	   *binlogs = SsCatalogBinlogs(0, seg->segment_id, NULL);
		ListCell   *lb;

		if (!SsCatalogDropSegment(seg->segment_id))
			continue;
		foreach(lb, binlogs)
		{
			SsBinlogRow *row = lfirst(lb);

			SsFilesRemoveAtCommitHorizon(row->path, seg->compacted_xid);
			dropping = lappend(dropping, row->path);
			(*removed_files)++;
			*removed_bytes += Max(SsFilesSize(row->path), 0);
		}
	}

	/* 1. Files whose writer has ended; temporary files are garbage then. */
	foreach(lc, ListDir(dbdir))
	{
		char	   *dir = psprintf("%s/%s", dbdir, (char *) lfirst(lc));
		ListCell   *lf;

		dirs = lappend(dirs, dir);
		foreach(lf, ListDir(dir))
		{
			char	   *name = lfirst(lf);
			char	   *path = psprintf("%s/%s", dir, name);
			uint64		xid;
			uint16		kind;
			SsIndexType index_type;
			bool		missing = false;
			bool		has_writer;

			CHECK_FOR_INTERRUPTS();
			if (SsFilesParseTempXid(name, &xid))
			{
				if (!SsFilesWriterRunning(xid))
					RemoveFile(path, removed_files, removed_bytes);
				continue;
			}

			/*
			 * A file that a dropped collection's commit removed meanwhile is
			 * no concern of ours; one whose writer runs is not garbage yet.
			 */
			has_writer = SsBinlogPeekHeader(path, &kind, &xid, &missing) ||
				(!missing && SsIvfPeekHeader(path, &xid, &index_type, &missing));
			if (missing || (has_writer && SsFilesWriterRunning(xid)))
				continue;
			candidates = lappend(candidates, path);
		}
	}

	/*
	 * 2. References as of now, which includes every writer that ended.  The
	 * files of step 0 count as referenced: they go only if this commits.
	 */
	referenced = list_concat(SsCatalogAllPaths(true), dropping);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = MAXPGPATH;
	ctl.entrysize = MAXPGPATH;
	refs = hash_create("segstore gc references", Max(list_length(referenced), 16),
					   &ctl, HASH_ELEM | HASH_STRINGS);
	foreach(lc, referenced)
	{
		char		key[MAXPGPATH];

		strlcpy(key, lfirst(lc), MAXPGPATH);
		(void) hash_search(refs, key, HASH_ENTER, NULL);
	}

	/* 3. Unreferenced files go. */
	foreach(lc, candidates)
	{
		char		key[MAXPGPATH];

		strlcpy(key, lfirst(lc), MAXPGPATH);
		if (hash_search(refs, key, HASH_FIND, NULL) == NULL)
			RemoveFile(key, removed_files, removed_bytes);
	}
	hash_destroy(refs);

	/* 4. Empty directories of collections that no longer exist. */
	foreach(lc, dirs)
	{
		char	   *dir = lfirst(lc);

		if (ListDir(dir) == NIL &&
			!SsCatalogCollectionExists(strtoi64(strrchr(dir, '/') + 1, NULL, 10), true))
			(void) SsFilesRemoveNow(dir, MyDatabaseId);
	}
	if (*removed_files > 0)
		fsync_fname(dbdir, true);

	RemoveDroppedDatabases(removed_files, removed_bytes);
}
