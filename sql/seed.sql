-- Seed tutorial steps 1-4 at small size: create, insert, flush, delete half,
-- flush, list segments.
CREATE EXTENSION segstore;

-- 1. create the collection
SELECT segstore.create_collection('compaction_test',
	'id int8 PRIMARY KEY, vector float4[8], text varchar(500)',
	'Compaction test') > 0 AS created;
SELECT segstore.has_collection('compaction_test'), segstore.has_collection('nope');
SELECT name, owner, dim, fields, description, growing_table
FROM segstore.collections;

-- 2. insert 2,000 entities in one batch (straight into a sealed segment)
-- and 500 in small batches (into the growing segment), then flush
SET segstore.insert_direct_threshold = 1000;
SELECT segstore.insert('compaction_test',
	array_agg(i::int8 ORDER BY i),
	array_agg(ARRAY[i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7]::float4[] ORDER BY i),
	array_agg('document ' || i ORDER BY i))
FROM generate_series(0, 1999) i;
SELECT segstore.insert('compaction_test',
	array_agg(i::int8 ORDER BY i),
	array_agg(ARRAY[i, 0, 0, 0, 0, 0, 0, 1]::float4[] ORDER BY i),
	array_agg('document ' || i ORDER BY i))
FROM generate_series(2000, 2499) i;
SELECT segment_id > 0 AS has_id, state, num_rows, live_rows FROM segstore.segments('compaction_test');
SELECT segstore.num_entities('compaction_test');
SELECT segstore.flush('compaction_test');
SELECT segstore.num_entities('compaction_test');

-- 3. delete 50% with an expression, flush
-- (fewer than insert_direct_threshold keys of a segment: pending deletes
-- until the flush)
RESET segstore.insert_direct_threshold;
SELECT segstore.delete('compaction_test', 'id < 1250');
SELECT segstore.num_entities('compaction_test');
SELECT rows, live_rows, deleted_rows, pending_deletes FROM segstore.collection_stats('compaction_test');
SELECT segstore.flush('compaction_test');

-- 4. list the segments
SELECT state, num_rows, deleted_rows, live_rows, insert_binlogs, delta_binlogs,
	   size_bytes > 0 AS on_disk, index_state
FROM segstore.segments('compaction_test') ORDER BY segment_id;
SELECT count(*) AS segments, sum(num_rows) AS rows, sum(live_rows) AS live
FROM segstore.segments('compaction_test');
SELECT kind, rows, size_bytes > 0 AS on_disk, raw_bytes > 0 AS has_data,
	   path ~ '^segstore/[0-9]+/[0-9]+/[0-9]+_[0-9]+\.(insert|delta|stats)$' AS path_ok
FROM segstore.binlogs('compaction_test') ORDER BY segment_id, kind;
SELECT rows, live_rows, deleted_rows, pending_deletes, growing_rows, growing_segments,
	   flushed_segments, compacted_segments, dropped_segments, binlog_files,
	   disk_bytes = (SELECT sum(size_bytes) FROM segstore.binlogs('compaction_test')) AS disk_matches
FROM segstore.collection_stats('compaction_test');

-- the data reads back exactly
SELECT * FROM segstore.query('compaction_test', 'id in [0, 1249, 1250, 1999, 2000, 2499, 2500]');
SELECT * FROM segstore.query('compaction_test', 'id >= 1250', ARRAY['text'], 3);
SELECT * FROM segstore.query('compaction_test', 'text like "document 249%"', ARRAY['id']);

-- upsert replaces live entities wherever they are
SELECT segstore.upsert('compaction_test', ARRAY[1250, 2499, 9000]::int8[],
	ARRAY[[9,9,9,9,9,9,9,9],[8,8,8,8,8,8,8,8],[7,7,7,7,7,7,7,7]]::float4[][],
	ARRAY['new 1250', 'new 2499', 'new 9000']);
SELECT * FROM segstore.query('compaction_test', 'id in [1250, 2499, 9000]', ARRAY['text']);
SELECT segstore.num_entities('compaction_test');

-- delete by ids counts only live entities
SELECT segstore.delete('compaction_test', ARRAY[1, 2, 1251, 1252, 9000, 9000, 123456]::int8[]);
SELECT segstore.num_entities('compaction_test');

SELECT segstore.drop_collection('compaction_test');
SELECT segstore.has_collection('compaction_test');
SELECT segstore.drop_collection('compaction_test', if_exists => true);

DROP EXTENSION segstore;
