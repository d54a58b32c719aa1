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
RESET segstore.retention_duration;
SELECT segstore.insert('tt', ARRAY[5]::int8[], ARRAY[[5, 5]]::float4[]);
SELECT flushed_segments AS flushed_before FROM segstore.collection_stats('tt') \gset
SELECT segstore.delete('tt', 'id == 5');
SELECT flushed_segments = :flushed_before AS nothing_sealed, growing_rows
FROM segstore.collection_stats('tt');
DROP EXTENSION segstore;
