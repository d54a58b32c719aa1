/*-------------------------------------------------------------------------
 *
 * files.h
 *	  Where segstore's files live and how directories are created and
 *	  removed.  Knows nothing of the catalog.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FORMAT_FILES_H
#define SEGSTORE_FORMAT_FILES_H

#include "format/filewal.h"
#include "segstore.h"

#define SS_FILES_ROOT "segstore"

extern char *SsFilesDatabaseDir(Oid dboid);
extern char *SsFilesCollectionDir(Oid dboid, int64 collection_id);
extern char *SsFilesPath(int64 collection_id, int64 segment_id, int64 file_id,
						 const char *kind);
extern void SsFilesStampVirtualIds(void);
extern uint64 SsFilesWriterXid(void);
extern bool SsFilesWriterRunning(uint64 writer_xid);
extern char *SsFilesTempPath(const char *path, uint64 writer_xid);
extern bool SsFilesParseTempXid(const char *name, uint64 *writer_xid);
extern void SsFilesEnsureDir(int64 collection_id);
extern bool SsFilesDatabaseHasFiles(Oid dboid);
extern int64 SsFilesSize(const char *path);
extern void SsFilesRemoveAtCommit(const char *path);
extern void SsFilesRemoveAtCommitHorizon(const char *path, TransactionId horizon);
extern void SsFilesRemoveDatabaseAtCommit(Oid dboid);
extern bool SsFilesRemoveNow(const char *path, Oid dboid);
extern void SsFilesWrite(int fd, const char *tmp_path, uint64 offset, const char *buf,
						 Size len, SsFileWal *wf, bool unordered);
extern void SsFilesInstall(int *fd, bool *tmp_exists, const char *tmp_path,
						   const char *path, SsFileWal *wf);

#endif							/* SEGSTORE_FORMAT_FILES_H */
