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
extern List *SsLauncherWorkerPids(const char *type);
extern void SsWorkerStatusList(Tuplestorestate *store, TupleDesc desc);
extern void SsWorkerSetUpSession(void);

/* worker.c */
extern PGDLLEXPORT void SsWorkerMain(Datum arg);

/* compact_worker.c */
extern void SsCompactionLaunchAtCommit(int64 compaction_id);
extern void SsCompactionCancelAtCommit(List *pids);
extern bool SsCompactionLaunchWorker(void);
extern PGDLLEXPORT void SsCompactionWorkerMain(Datum arg);

/* Settings (compact_worker.c) */
extern int	ss_max_compaction_workers;
extern int	ss_log_min_duration_ms;
extern void SsCompactionWorkerInit(void);

/* Settings (worker.c) */
extern int	ss_compaction_interval_s;
extern int	ss_seal_idle_time_s;
extern int	ss_pending_delete_threshold;
extern int	ss_history_retention_s;
extern void SsWorkerInit(void);
/* compact_wait.c */
extern const char *SsCompactionWait(int64 compaction_id, Interval *timeout);

#endif							/* SEGSTORE_WORKERS_WORKERS_H */
