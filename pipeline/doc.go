// Package pipeline moves rows from a source to a sink: it plans the work (which tables, which
// columns get which transformer, how each table is cut into chunks), runs it on parallel
// workers, and reports progress.
//
// A unit of work is one chunk of one table. A worker streams the unit's rows out of the
// source as binary COPY bytes; a table with no transformer goes to the sink as those bytes
// unchanged (the passthrough path), a table with transformers is decoded into Arrow record
// batches, transformed column by column, and encoded back. When a table's last chunk has
// landed, the sink may hand back follow-up tasks (index builds) that workers run while other
// tables still copy.
//
// The pipeline knows no particular database or file format: sources and sinks live in their
// own packages (pgsource, pgsink) and meet here through small interfaces.
package pipeline
