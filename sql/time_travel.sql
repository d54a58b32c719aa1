-- Time travel over deletes of rows that were still growing: within a
-- retention window such a delete first seals the growing rows, so that it
-- is recorded with its time and search(..., as_of) before it still sees
-- the row.  Without retention the growing row is deleted outright.
CREATE EXTENSION segstore;
SET segstore.retention_duration = '1h';
SELECT segstore.create_collection('tt', 'id int8 PRIMARY KEY, v float4[2]') > 0 AS created;
SELECT segstore.insert('tt', ARRAY[1, 2, 3]::int8[], ARRAY[[1, 1], [2, 2], [3, 3]]::float4[]);
SELECT growing_rows, flushed_segments FROM segstore.collection_stats('tt');
SELECT clock_timestamp() AS before_delete \gset
SELECT segstore.delete('tt', 'id == 2');
SELECT growing_rows, flushed_segments, pending_deletes FROM segstore.collection_stats('tt');
SELECT array_agg(id ORDER BY id) AS as_of_before_delete
FROM segstore.search('tt', '{0,0}', 10, as_of => :'before_delete');
SELECT array_agg(id ORDER BY id) AS now FROM segstore.search('tt', '{0,0}', 10);
-- upsert replaces a growing row the same way: the old version stays visible as of before
SELECT segstore.insert('tt', ARRAY[4]::int8[], ARRAY[[4, 4]]::float4[]);
SELECT clock_timestamp() AS before_upsert \gset
SELECT segstore.upsert('tt', ARRAY[4]::int8[], ARRAY[[40, 40]]::float4[]);
SELECT id, distance FROM segstore.search('tt', '{4,4}', 1, as_of => :'before_upsert');
SELECT id, distance FROM segstore.search('tt', '{4,4}', 1, filter => 'id == 4');
SELECT segstore.num_entities('tt');

-- no retention: a growing row's delete seals nothing
SELECT segstore.alter_collection('tt', retention => '0');
SELECT segstore.insert('tt', ARRAY[5]::int8[], ARRAY[[5, 5]]::float4[]);
SELECT flushed_segments AS flushed_before FROM segstore.collection_stats('tt') \gset
SELECT segstore.delete('tt', 'id == 5');
SELECT flushed_segments = :flushed_before AS nothing_sealed, growing_rows
FROM segstore.collection_stats('tt');

-- The window is the collection's, set from segstore.retention_duration
-- when it is created: compaction and search read the same one, whatever a
-- session's setting.
CREATE FUNCTION as_of_try(c text, t timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	detail text;
BEGIN
	SELECT count(*) INTO n FROM segstore.search(c, '{0,0}', 10, as_of => t);
	RETURN n || ' rows';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN regexp_replace(regexp_replace(SQLSTATE || ': ' || SQLERRM || ' (' || detail || ')',
										 '\d{4}-\d\d-\d\d [0-9:.+-]+', '<time>', 'g'),
						  'segment \d+', 'segment <id>', 'g');
END $$;
SET segstore.retention_duration = '2h';
SELECT segstore.create_collection('tt2', 'id int8 PRIMARY KEY, v float4[2]') > 0 AS created;
RESET segstore.retention_duration;
SELECT name, retention, history_from IS NULL AS all_history
FROM segstore.collections WHERE name IN ('tt', 'tt2') ORDER BY 1;
SELECT segstore.alter_collection('tt2', retention => '-1 s');
SELECT segstore.alter_collection('tt2', retention => '100 years');
-- narrowing it: a growing row is deleted outright, and widening it again
-- does not bring that back
SELECT segstore.insert('tt2', ARRAY[1, 2]::int8[], ARRAY[[1, 1], [2, 2]]::float4[]);
SELECT segstore.alter_collection('tt2', retention => '0');
SELECT clock_timestamp() AS before_outright \gset
SELECT segstore.delete('tt2', ARRAY[2]::int8[]);
SELECT growing_rows, flushed_segments FROM segstore.collection_stats('tt2');
SELECT segstore.alter_collection('tt2', retention => '1h');
SELECT history_from > :'before_outright' AS history_moved FROM segstore.collections WHERE name = 'tt2';
SELECT as_of_try('tt2', :'before_outright');
SELECT as_of_try('tt2', clock_timestamp());
SELECT as_of_try('tt2', clock_timestamp() + interval '1 h');

-- A plan queued under the narrower window purges deletes made after the
-- widening: the segments it writes say how far back they can be searched.
SELECT segstore.create_collection('tt3', 'id int8 PRIMARY KEY, v float4[2]') > 0 AS created;
SELECT segstore.insert('tt3', ARRAY[1, 2, 3, 4]::int8[], ARRAY[[1, 1], [2, 2], [3, 3], [4, 4]]::float4[]);
SELECT segstore.flush('tt3');
BEGIN;
SELECT segstore.delete('tt3', ARRAY[1]::int8[]);
SELECT segstore.flush('tt3');
SELECT segstore.compact('tt3') AS cid \gset
SELECT segstore.alter_collection('tt3', retention => '1h');
SELECT clock_timestamp() AS after_widen \gset
SELECT pg_sleep(0.01);
SELECT segstore.delete('tt3', ARRAY[2]::int8[]);
SELECT segstore.flush('tt3');
COMMIT;
SELECT segstore.wait_for_compaction(:cid);
SELECT plan_type, deleted_purged FROM segstore.compaction_plans(:cid);
SELECT s.purged_until AS purged_until FROM segstore.segment s
JOIN segstore.collection c USING (collection_id)
WHERE c.name = 'tt3' AND s.state = 'flushed' \gset
SELECT :'purged_until'::timestamptz > :'after_widen'::timestamptz AS purged_after_widening;
SELECT as_of_try('tt3', :'after_widen');
SELECT as_of_try('tt3', :'purged_until');
SELECT array_agg(id ORDER BY id) FROM segstore.search('tt3', '{0,0}', 10, as_of => :'purged_until');
DROP EXTENSION segstore;
