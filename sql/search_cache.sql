-- The per-backend search cache never serves another collection's
-- segments.
CREATE EXTENSION segstore;
SET segstore.insert_direct_threshold = 10;

------------------------------------------------------------------------
-- 1. DROP EXTENSION and CREATE EXTENSION again in one session: the new
--    collection gets the old one's id, and its segments and files the old
--    ones' ids and paths, but different data.
------------------------------------------------------------------------
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.insert('c', ARRAY[1, 2, 3]::int8[], ARRAY[[0, 0], [1, 1], [2, 2]]::float4[][]);
SELECT segstore.flush('c');
SELECT * FROM segstore.search('c', '{0,0}', 3);
DROP EXTENSION segstore;
CREATE EXTENSION segstore;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.insert('c', ARRAY[1, 2, 3]::int8[], ARRAY[[9, 9], [1, 1], [0, 0]]::float4[][]);
SELECT segstore.flush('c');
SELECT * FROM segstore.search('c', '{0,0}', 3);
-- the same with an index: same index id, same file ids
SELECT segstore.create_index('c', 'v', 'FLAT');
SELECT * FROM segstore.search('c', '{0,0}', 3);
DROP EXTENSION segstore;
CREATE EXTENSION segstore;
SELECT segstore.create_collection('c', 'id int8 PRIMARY KEY, v float4[2]');
SELECT segstore.insert('c', ARRAY[1, 2, 3]::int8[], ARRAY[[5, 5], [1, 1], [0, 0]]::float4[][]);
SELECT segstore.flush('c');
SELECT segstore.create_index('c', 'v', 'FLAT');
SELECT * FROM segstore.search('c', '{0,0}', 3);
DROP EXTENSION segstore;
