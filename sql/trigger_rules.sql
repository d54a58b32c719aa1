-- The automatic trigger rules at their thresholds: just below, no plan;
-- at the threshold, a plan.
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 10;
SELECT segstore.create_collection('r', 'id int8 PRIMARY KEY, v float4[2]') > 0 AS created;
CREATE FUNCTION fill(lo int, hi int) RETURNS bigint LANGUAGE sql AS
$$ SELECT segstore.insert('r', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[]))
   FROM generate_series(lo, hi - 1) i $$;

-- delete ratio 0.2: a segment of 100 rows with 19 deletes, then 20
SELECT fill(0, 100);
SELECT segstore.delete('r', 'id < 19');
SELECT segstore.trigger_compaction('r') IS NULL AS no_plan_at_19;
SELECT segstore.delete('r', 'id == 19');
SELECT segstore.trigger_compaction('r') AS cid \gset
SELECT :cid IS NOT NULL AS plan_at_20;
SELECT segstore.wait_for_compaction(:cid);
SELECT trigger, reason, plans FROM segstore.compactions WHERE compaction_id = :cid;
SELECT plan_type, rows_in, rows_out FROM segstore.compaction_plans(:cid);

-- the switches: master and per collection
SELECT segstore.delete('r', 'id < 40');
SET segstore.enable_compaction = off;
SELECT segstore.trigger_compaction('r') IS NULL AS off_globally;
RESET segstore.enable_compaction;
SELECT segstore.alter_collection('r', auto_compaction => false);
SELECT segstore.trigger_compaction('r') IS NULL AS off_for_collection;
SELECT segstore.alter_collection('r', auto_compaction => true);
SELECT segstore.trigger_compaction('r') AS cid \gset
SELECT segstore.wait_for_compaction(:cid);

-- merge: more than merge_min_segments small segments
SET segstore.merge_min_segments = 3;
SELECT count(*) AS small_segments FROM segstore.segments('r') WHERE state = 'flushed';
SELECT fill(1000, 1010), fill(1010, 1020);
SELECT count(*) AS small_segments FROM segstore.segments('r') WHERE state = 'flushed';
SELECT segstore.trigger_compaction('r') IS NULL AS no_plan_at_3;
SELECT fill(1020, 1030);
SELECT segstore.trigger_compaction('r') AS cid \gset
SELECT :cid IS NOT NULL AS plan_at_4;
SELECT segstore.wait_for_compaction(:cid);
SELECT reason FROM segstore.compactions WHERE compaction_id = :cid;
SELECT plan_type, array_length(sources, 1) AS sources, rows_out FROM segstore.compaction_plans(:cid);
SELECT count(*) AS flushed_segments FROM segstore.segments('r') WHERE state = 'flushed';

-- delta size: a segment whose delta binlogs reach segstore.delta_size_threshold
SET segstore.delete_ratio_threshold = 1;
SELECT fill(5000, 15000);
SELECT segstore.delete('r', (SELECT array_agg(5000 + (i * 7919) % 10000) FROM generate_series(0, 1999) i));
SELECT segstore.flush('r');
SELECT sum(size_bytes) AS delta_bytes FROM segstore.binlogs('r') WHERE kind = 'delta' \gset
SELECT set_config('segstore.delta_size_threshold', (:delta_bytes / 1024 + 1) || 'kB', false) IS NOT NULL;
SELECT segstore.trigger_compaction('r') IS NULL AS no_plan_below;
SELECT set_config('segstore.delta_size_threshold', greatest(:delta_bytes / 1024, 1) || 'kB', false) IS NOT NULL;
SELECT segstore.trigger_compaction('r') IS NOT NULL AS plan_at;
SELECT segstore.num_entities('r');

DROP EXTENSION segstore;
