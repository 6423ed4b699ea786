// Package postgres connects to PostgreSQL the way every command needs: Connect opens a
// session with the settings a run relies on (timeouts off, text forms pinned, row security
// off on the source) and turns a failure into a failure.UserError that names the server,
// never the password; CheckSource checks, before a row is read, that the source role may read
// all a command needs; Identify says which database a connection reached. pgsource, pgsink,
// job (verify among them) and report use it.
//
// It moves no rows: the PostgreSQL ends of a run are pgsource and pgsink. It knows nothing of
// the engine (package pipeline).
package postgres
