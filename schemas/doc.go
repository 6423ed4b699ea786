// Package schemas reads what a PostgreSQL database holds: the catalog (tables, columns,
// types, keys, foreign keys, sequences, materialized views) and the DDL, which it takes
// from pg_dump --schema-only split into the pre-data and post-data sections.
//
// It is not a DDL generator: pg_dump is the authority on PostgreSQL DDL and this package
// only runs it and cuts its output into statements. It knows nothing of the copy pipeline.
package schemas
