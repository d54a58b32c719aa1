-- Everything is transactional: an aborted insert, delete or flush leaves no
-- trace, and gc() removes the files it wrote.
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 100;
SELECT segstore.create_collection('t', 'id int8 PRIMARY KEY, v float4[2], s text') > 0;
SELECT segstore.insert('t', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[]), array_agg(i::text))
FROM generate_series(1, 300) i;
SELECT segstore.insert('t', ARRAY[1001, 1002]::int8[], ARRAY[[1,1],[2,2]]::float4[][], ARRAY['a', 'b']);

CREATE TEMP TABLE before AS
SELECT (SELECT array_agg(q ORDER BY (q->>'id')::int8) FROM segstore.query('t', NULL) q) AS rows,
	   (SELECT array_agg(segment_id || ':' || state || ':' || num_rows || ':' || deleted_rows ORDER BY segment_id)
		FROM segstore.segments('t')) AS segments,
	   (SELECT count(*) FROM segstore.binlogs('t')) AS binlogs;

-- insert (direct and growing), delete (sealed and growing), flush: then abort
BEGIN;
SELECT segstore.insert('t', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[]), array_agg(i::text))
FROM generate_series(5001, 5200) i;
SELECT segstore.insert('t', ARRAY[2001]::int8[], ARRAY[[1,1]]::float4[][], ARRAY['x']);
SELECT segstore.delete('t', 'id < 50 or id == 1001');
SELECT segstore.flush('t');
SELECT segstore.num_entities('t');
ROLLBACK;

SELECT segstore.num_entities('t');
SELECT (SELECT array_agg(q ORDER BY (q->>'id')::int8) FROM segstore.query('t', NULL) q) = rows AS same_rows,
	   (SELECT array_agg(segment_id || ':' || state || ':' || num_rows || ':' || deleted_rows ORDER BY segment_id)
		FROM segstore.segments('t')) = segments AS same_segments,
	   (SELECT count(*) FROM segstore.binlogs('t')) = binlogs AS same_binlogs
FROM before;
-- the aborted transaction's files are garbage: 2 segments of 2 files, 1 delta
SELECT removed_files, removed_bytes > 0 AS freed FROM segstore.gc();
SELECT removed_files FROM segstore.gc();

-- savepoints: the rolled-back part goes, the rest stays
BEGIN;
SELECT segstore.delete('t', ARRAY[1, 2]::int8[]);
SAVEPOINT s;
SELECT segstore.delete('t', ARRAY[3, 1001]::int8[]);
SELECT segstore.insert('t', ARRAY[3001]::int8[], ARRAY[[1,1]]::float4[][], ARRAY['y']);
ROLLBACK TO SAVEPOINT s;
SELECT segstore.insert('t', ARRAY[3002]::int8[], ARRAY[[1,1]]::float4[][], ARRAY['z']);
COMMIT;
SELECT segstore.num_entities('t');
SELECT * FROM segstore.query('t', 'id in [1, 2, 3, 1001, 3001, 3002]', ARRAY['s']);

-- a failed statement inside a transaction leaves the rest working
BEGIN;
SELECT segstore.insert('t', ARRAY[4001]::int8[], ARRAY[[1,1]]::float4[][], ARRAY['w']);
SAVEPOINT s;
SELECT segstore.insert('t', ARRAY[4001]::int8[], ARRAY[[1,1]]::float4[][], ARRAY['dup']);
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM segstore.query('t', 'id == 4001', ARRAY['s']);

-- in REPEATABLE READ, a second writer of the same collection fails cleanly
-- rather than working from a stale snapshot (tested with two sessions in
-- the isolation suite); a single one works as usual
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT segstore.delete('t', ARRAY[4001]::int8[]);
SELECT segstore.flush('t');
COMMIT;
SELECT segstore.num_entities('t');


-- a delete of insert_direct_threshold keys or more of one segment writes
-- its delta binlog in its transaction, with no pending deletes; fewer keys
-- of each segment are pending deletes until a flush; an abort leaves the
-- file to gc()
SELECT segstore.insert('t', array_agg(i::int8), array_agg(ARRAY[i, i]::float4[]), array_agg(i::text))
FROM generate_series(10001, 10400) i;
CREATE TEMP VIEW deletes AS
SELECT (SELECT pending_deletes FROM segstore.collection_stats('t')) AS pending,
	   (SELECT count(*) FROM segstore.binlogs('t') WHERE kind = 'delta') AS delta_files,
	   (SELECT coalesce(sum(rows), 0) FROM segstore.binlogs('t') WHERE kind = 'delta') AS delta_keys,
	   segstore.num_entities('t') AS entities;
SELECT * FROM deletes;
BEGIN;
SELECT segstore.delete('t', 'id >= 10001 and id <= 10150');
SELECT * FROM deletes;
SELECT count(*) FROM segstore.query('t', 'id >= 10001 and id <= 10150');
ROLLBACK;
SELECT * FROM deletes;
SELECT removed_files FROM segstore.gc();
SELECT segstore.delete('t', 'id >= 10001 and id <= 10150');
-- 80 keys of this segment and 10 of the first: pending
SELECT segstore.delete('t', 'id >= 10151 and id <= 10230 or id >= 250 and id < 260');
SELECT * FROM deletes;
SELECT segstore.flush('t');
SELECT * FROM deletes;
SELECT count(*) FROM segstore.query('t', 'id >= 10001 and id <= 10230');

DROP VIEW deletes;
DROP EXTENSION segstore;
