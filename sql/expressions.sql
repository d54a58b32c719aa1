-- The Milvus expression language in query() and delete().
CREATE EXTENSION segstore;
\set VERBOSITY default
SELECT segstore.create_collection('expr',
	'id int8 PRIMARY KEY, vector float4[2], n int4, x float8, flag bool, tag varchar(10), note text, meta jsonb') > 0;
SELECT segstore.insert('expr', ARRAY[1,2,3,4,5,6]::int8[],
	ARRAY[[0,0],[1,1],[2,2],[3,3],[4,4],[5,5]]::float4[][],
	ARRAY[10, 20, 30, 40, 50, 60],
	ARRAY[0.5, 1.5, 2.5, 3.5, 4.5, 5.5]::float8[],
	ARRAY[true, false, true, false, true, false],
	ARRAY['apple', 'banana', 'apricot', 'cherry', 'a_b', 'a%b'],
	ARRAY['one', 'two', 'three', 'four', 'five', 'six'],
	ARRAY['{"a": 1}', '{"b": [1, 2]}', '{}', 'null', '"s"', '{"c": {"d": true}}']::jsonb[]);
SELECT segstore.flush('expr');
-- half of the rows stay in the growing segment
SELECT segstore.insert('expr', ARRAY[7,8]::int8[], ARRAY[[6,6],[7,7]]::float4[][],
	ARRAY[70, 80], ARRAY[6.5, 7.5]::float8[], ARRAY[true, false],
	ARRAY['date', 'elder'], ARRAY['seven', 'eight'], ARRAY['1', '[1]']::jsonb[]);

CREATE FUNCTION ids(e text) RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg((q->>'id'), ',' ORDER BY (q->>'id')::int), '-')
   FROM segstore.query('expr', e, ARRAY['id']) q $$;

SELECT e, ids(e) FROM (VALUES
	('id == 3'), ('id != 3'), ('id < 3'), ('id <= 3'), ('id > 6'), ('id >= 7'),
	('3 < id'), ('2 < id <= 5'), ('1 <= id < 3'), ('id in [1, 3, 8]'), ('id not in [1, 3, 8]'),
	('id in []'), ('n > 25 and n < 55'), ('n == 10 or n == 80'), ('not (n > 20)'),
	('!(n > 20)'), ('n > 20 && flag'), ('n > 70 || !flag'), ('flag'), ('not flag'),
	('flag == true'), ('flag != true'), ('x > 2'), ('x < 2.5'), ('x <= 2.5'), ('n < 2.5e1'),
	('tag == "apple"'), ('tag == ''apple'''), ('tag like "ap%"'), ('tag like "%e%"'),
	('tag like "a_b"'), ('tag like "a\\_b"'), ('tag like "a\\%b"'), ('tag > "b"'),
	('tag in ["date", "cherry"]'), ('note like "%e"'), ('id < 3 AND NOT flag'),
	('n < 10000000000'), ('n > -10000000000'), ('true'), ('n == 30 or (id == 1 and flag)')
) v(e);

-- output fields, every type, vector and jsonb included
SELECT * FROM segstore.query('expr', 'id in [1, 2, 7]');
SELECT * FROM segstore.query('expr', 'id == 6', ARRAY['meta', 'x']);
SELECT * FROM segstore.query('expr', 'id == 6', ARRAY['*']);
SELECT count(*) FROM segstore.query('expr', NULL);
SELECT count(*) FROM segstore.query('expr', 'id > 0', NULL, 2);
SELECT count(*) FROM segstore.query('expr', 'id > 0', NULL, 0);

-- delete by expression across growing and sealed rows
SELECT segstore.delete('expr', 'tag like "a%" and id != 5');
SELECT ids('id > 0');
SELECT segstore.delete('expr', 'id in [5, 8, 100]');
SELECT ids('id > 0');
SELECT segstore.delete('expr', 'id in [5, 8, 100]');

-- errors, with where
SELECT segstore.query('expr', 'id <');
SELECT segstore.query('expr', 'id << 3');
SELECT segstore.query('expr', '');
SELECT segstore.query('expr', 'ID < 3');
SELECT segstore.query('expr', 'nosuch == 1');
SELECT segstore.query('expr', 'tag == 3');
SELECT segstore.query('expr', 'n like "a%"');
SELECT segstore.query('expr', 'vector == 1');
SELECT segstore.query('expr', 'meta == 1');
SELECT segstore.query('expr', 'flag < true');
SELECT segstore.query('expr', 'tag == "unterminated');
SELECT segstore.query('expr', 'id in [1, "a"]');
SELECT segstore.query('expr', 'id == 99999999999999999999');
SELECT segstore.query('expr', '(id == 1');
SELECT segstore.query('expr', 'id == 1 and');
SELECT segstore.query('expr', 'id > 0', ARRAY['nosuch']);
SELECT segstore.query('expr', 'id > 0', NULL, -1);
SELECT segstore.delete('expr', 'id <');

DROP EXTENSION segstore;
