-- ar_collect upgrade 0.1.0 -> 0.2.0, assembled from src/upgrade/0.1.0--0.2.0/*.sql
-- in name order.  Every schema change of 0.2.0 has its piece here and its
-- final form in src/sql/; test/t/upgrade.sh checks that an upgraded 0.1.0
-- database has exactly the catalog of a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION ar_collect UPDATE TO '0.2.0'" to load this file. \quit
