-- The maintenance worker's views: segstore.worker_status and
-- segstore.compaction_progress, who may read them, the per-collection
-- switch as the collections view shows it, and the worker's settings.
-- The test server preloads segstore with segstore.compaction_interval = 1d,
-- so the worker starts but does not run while the tests do.
CREATE EXTENSION segstore;

-- The launcher starts this database's worker once CREATE EXTENSION commits.
CREATE FUNCTION wait_for_worker() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..3000 LOOP
		PERFORM 1 FROM segstore.worker_status
		WHERE datname = current_database() AND state = 'running';
		IF FOUND THEN
			RETURN 'running';
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
	RETURN 'not started';
END $$;
SELECT wait_for_worker();
SELECT datname = current_database() AS this_database, pid > 0 AS has_pid, state,
	   started_at <= now() AS started, runs, last_run_at, last_decision, last_error,
	   next_run_at > now() + interval '23 hours' AS next_run_in_a_day
FROM segstore.worker_status WHERE datname = current_database();
SELECT count(*) AS workers FROM pg_stat_activity
WHERE backend_type = 'segstore worker' AND datname = current_database();

-- No plan runs: the progress view is empty.
SELECT * FROM segstore.compaction_progress;

-- worker_status is for monitoring roles; compaction_progress shows a role
-- only the collections it may read.
CREATE ROLE regress_monitor IN ROLE pg_read_all_stats;
CREATE ROLE regress_nobody;
SET ROLE regress_nobody;
SELECT count(*) FROM segstore.worker_status;
SELECT count(*) FROM segstore.compaction_progress;
SET ROLE regress_monitor;
SELECT count(*) > 0 AS sees_workers FROM segstore.worker_status;
RESET ROLE;

-- The per-collection switch, in the collections view.
SELECT segstore.create_collection('w', 'id int8 PRIMARY KEY, v float4[2]') > 0 AS created;
SELECT name, auto_compaction FROM segstore.collections;
SELECT segstore.alter_collection('w', auto_compaction => false);
SELECT name, auto_compaction FROM segstore.collections;
SELECT segstore.alter_collection('w', auto_compaction => true);
SELECT name, auto_compaction FROM segstore.collections;

-- The worker's settings are server-wide: set in postgresql.conf or with
-- ALTER SYSTEM, applied on reload.
SHOW segstore.seal_idle_time;
SHOW segstore.pending_delete_threshold;
SHOW segstore.history_retention;
SHOW segstore.log_min_duration;
SET segstore.compaction_interval = '5s';
SET segstore.seal_idle_time = '1min';
ALTER SYSTEM SET segstore.compaction_interval = 0;
ALTER SYSTEM SET segstore.log_min_duration = -2;

DROP ROLE regress_monitor;
DROP ROLE regress_nobody;
DROP EXTENSION segstore;
