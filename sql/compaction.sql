-- Seed tutorial steps 4-6 at small size: list segments, compact, poll the
-- state until Completed, list segments again; plus full compaction,
-- retention, cancel and errors.
CREATE EXTENSION segstore;
\set VERBOSITY default
SET segstore.insert_direct_threshold = 100;
SELECT segstore.create_collection('compaction_test',
	'id int8 PRIMARY KEY, vector float4[4], text varchar(50)') > 0 AS created;
-- four batches of 500: four sealed segments
SELECT sum(segstore.insert('compaction_test', ids, vecs, texts)) AS inserted FROM (
	SELECT array_agg(i::int8 ORDER BY i) AS ids,
		   array_agg(ARRAY[i, -i, i % 7, 1]::float4[] ORDER BY i) AS vecs,
		   array_agg('document ' || i ORDER BY i) AS texts
	FROM generate_series(0, 1999) i GROUP BY i / 500) b;
SELECT segstore.flush('compaction_test');
SELECT segstore.delete('compaction_test', 'id < 1000');
SELECT segstore.flush('compaction_test');

-- 4. segments before
SELECT segment_id, state, num_rows, deleted_rows, live_rows FROM segstore.segments('compaction_test');
CREATE TEMP TABLE before AS
SELECT array_agg(q ORDER BY (q->>'id')::int8) AS rows FROM segstore.query('compaction_test', NULL) q;

-- 5. compact, poll the state, wait
SELECT segstore.compact('compaction_test') AS cid \gset
SELECT state, total_plan_no FROM segstore.compaction_state(:cid);
SELECT segstore.wait_for_compaction(:cid);
SELECT * FROM segstore.compaction_state(:cid);
SELECT plan_type, sources, targets, state, rows_in, rows_out, deleted_purged, deletes_kept,
	   bytes_out < bytes_in AS smaller, peak_memory > 0 AS measured, error
FROM segstore.compaction_plans(:cid);

-- 6. segments after: fewer, purged, disk reclaimed once garbage is collected.
-- A transaction that started before the swap (an autoanalyze, a compaction
-- worker that found no plan) may still hold the sources for a moment.
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 s';
BEGIN
	LOOP
		PERFORM segstore.gc();
		EXIT WHEN NOT EXISTS (SELECT FROM segstore.segments('compaction_test') WHERE state = 'compacted')
			OR clock_timestamp() > deadline;
		PERFORM pg_sleep(0.1);
	END LOOP;
END $$;
SELECT segment_id, state, num_rows, deleted_rows, live_rows, compacted_from FROM segstore.segments('compaction_test');
SELECT rows, live_rows, deleted_rows, flushed_segments, compacted_segments, dropped_segments,
	   binlog_files, disk_bytes = (SELECT sum(size_bytes) FROM segstore.binlogs('compaction_test')) AS disk_is_files
FROM segstore.collection_stats('compaction_test');
SELECT collection, trigger, state, plans, rows_before, rows_after, bytes_reclaimed > 0 AS reclaimed
FROM segstore.compactions WHERE compaction_id = :cid;
-- and the answers are the same
SELECT (SELECT array_agg(q ORDER BY (q->>'id')::int8) FROM segstore.query('compaction_test', NULL) q) = rows AS same_rows
FROM before;

-- nothing left to do: a compaction with no plans is Completed at once
SELECT segstore.compact('compaction_test') AS cid \gset
SELECT * FROM segstore.compaction_state(:cid);
SELECT state, plans FROM segstore.compactions WHERE compaction_id = :cid;

-- full compaction: many segments into as few as fit under max_segment_size
SELECT sum(segstore.insert('compaction_test', ids, vecs, texts)) AS inserted FROM (
	SELECT array_agg(i::int8 ORDER BY i) AS ids,
		   array_agg(ARRAY[i, -i, i % 7, 1]::float4[] ORDER BY i) AS vecs,
		   array_agg('document ' || i ORDER BY i) AS texts
	FROM generate_series(2000, 3999) i GROUP BY i / 250) b;
SELECT segstore.delete('compaction_test', ARRAY[2000, 2001, 3999]::int8[]);
SELECT count(*) AS flushed_segments FROM segstore.segments('compaction_test') WHERE state = 'flushed';
SELECT segstore.compact('compaction_test', "full" => true) AS cid \gset
SELECT segstore.wait_for_compaction(:cid);
SELECT plan_type, array_length(sources, 1) AS nsources, array_length(targets, 1) AS ntargets,
	   rows_in, rows_out, deleted_purged FROM segstore.compaction_plans(:cid);
SELECT count(*) AS flushed_segments, sum(num_rows) AS rows
FROM segstore.segments('compaction_test') WHERE state = 'flushed';
SELECT segstore.num_entities('compaction_test');
SELECT * FROM segstore.query('compaction_test', 'id in [999, 1000, 2001, 2002, 3998, 3999]', ARRAY['text']);

-- retention: deletes younger than the window are kept, and still hidden
SELECT segstore.alter_collection('compaction_test', retention => '1h');
SELECT segstore.delete('compaction_test', 'id >= 1000 and id < 1010');
SELECT segstore.flush('compaction_test');
SELECT segstore.compact('compaction_test') AS cid \gset
SELECT segstore.wait_for_compaction(:cid);
SELECT plan_type, rows_in, rows_out, deleted_purged, deletes_kept FROM segstore.compaction_plans(:cid);
SELECT sum(num_rows) AS rows, sum(deleted_rows) AS deleted_kept
FROM segstore.segments('compaction_test') WHERE state = 'flushed';
SELECT segstore.num_entities('compaction_test');
SELECT count(*) FROM segstore.query('compaction_test', 'id >= 1000 and id < 1010');
-- the swapped-out sources wait for the window too
SELECT count(*) FROM segstore.gc();
SELECT count(*) AS waiting FROM segstore.segments('compaction_test') WHERE state = 'compacted';
SELECT segstore.alter_collection('compaction_test', retention => '0');

-- cancelling before the queuing transaction commits: nothing runs
BEGIN;
SELECT segstore.delete('compaction_test', ARRAY[1500]::int8[]);
SELECT segstore.compact('compaction_test') AS cid \gset
SELECT segstore.wait_for_compaction(:cid);
ROLLBACK;
BEGIN;
SELECT segstore.delete('compaction_test', ARRAY[1500]::int8[]);
SELECT segstore.compact('compaction_test') AS cid \gset
SELECT segstore.cancel_compaction(:cid);
COMMIT;
SELECT * FROM segstore.compaction_state(:cid);
SELECT state, error FROM segstore.compaction_plans(:cid);
SELECT state, errors FROM segstore.compactions WHERE compaction_id = :cid;

-- errors
SELECT * FROM segstore.compaction_state(999999);
SELECT * FROM segstore.compaction_plans(999999);
SELECT segstore.wait_for_compaction(999999);
SELECT segstore.cancel_compaction(999999);
SELECT segstore.compact('nope');
SELECT segstore.trigger_compaction('nope');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT segstore.wait_for_compaction(1);
ROLLBACK;
SET segstore.delete_ratio_threshold = 1.5;
SET segstore.merge_min_segments = 0;
SET segstore.small_segment_proportion = -1;
SET segstore.compaction_memory_limit = '1MB';
SET segstore.compaction_timeout = -1;
SET segstore.retention_duration = -1;
SET segstore.max_compaction_workers = 4;

DROP EXTENSION segstore;
