/*-------------------------------------------------------------------------
 *
 * workers.h
 *	  segstore's background processes: the launcher (launcher.c) and the
 *	  per-database maintenance worker (worker.c), which run only with
 *	  shared_preload_libraries, and the dynamic compaction workers that run
 *	  plans (compact_worker.c), which need no preloading; and a client's
 *	  wait for a compaction to end (compact_wait.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_WORKERS_WORKERS_H
#define SEGSTORE_WORKERS_WORKERS_H

#include "funcapi.h"
#include "nodes/pg_list.h"
#include "postmaster/bgworker.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

/* bgw_type (pg_stat_activity's backend_type) of compaction workers */
#define SS_COMPACTION_WORKER_TYPE "segstore compaction worker"

/* launcher.c */
extern void SsBackgroundWorkerInit(BackgroundWorker *worker, const char *function,
								   const char *type, int restart_time);
extern void SsLauncherRegister(void);
extern PGDLLEXPORT void SsLauncherMain(Datum arg);
extern void SsLauncherRescanAtCommit(void);
extern void SsLauncherStopWorkers(Oid dboid, bool block);
extern void SsLauncherStopForDropExtension(void);
extern bool SsLauncherWorkerRunning(const char *type);
extern void SsWorkerStatusList(Tuplestorestate *store, TupleDesc desc);

/* worker.c */
extern PGDLLEXPORT void SsWorkerMain(Datum arg);

/* compact_worker.c */
extern void SsCompactionLaunchAtCommit(void);
extern void SsCompactionCancelAtCommit(List *pids);
extern bool SsCompactionLaunchWorker(void);
extern PGDLLEXPORT void SsCompactionWorkerMain(Datum arg);

/* compact_wait.c */
extern const char *SsCompactionWait(int64 compaction_id, Interval *timeout);

#endif							/* SEGSTORE_WORKERS_WORKERS_H */
