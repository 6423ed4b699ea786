// Package report measures how a database's data is shaped and compares two databases by
// that shape: a source and the target understudy made of it (copied, scaled up ×N, or
// anonymized). Collect reads one database into Stats (row counts; per column null fraction,
// distinct ratio, quantiles and top values; per foreign key the fan-out of children per
// parent); Compare turns two Stats into Findings under documented tolerances; WriteText,
// WriteJSON and WriteHTML render them. Personal columns (FindPersonal: under a rule of the
// config, or flagged by the PII detector) are measured by their shape and judged by it alone;
// their values stay out of the stats, or masked, unless the caller asks for them.
//
// It is for "does staging look like production?", not for "is every row right": row-level
// checks (constraints valid, no value survived anonymization) are job.Verify's. It reads
// aggregates (and the PII detector's sample of at most 200 rows a table), never copies a row,
// and never writes to either database.
package report
