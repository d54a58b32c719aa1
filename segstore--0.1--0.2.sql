/* segstore--0.1--0.2.sql: updates an installed 0.1 to 0.2 */

\echo Use "ALTER EXTENSION segstore UPDATE TO '0.2'" to load this file. \quit

-- 0.2 has no SQL change yet; each change to segstore.sql lands here too.
