package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/schemas"
)

// Connect opens a connection for role ("source" or "target"). Failures become UserErrors
// that name the server (never the password) and carry a hint.
func Connect(ctx context.Context, dsn, role string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, Errorf(ExitUsage, "use postgres://user:password@host:port/dbname or key=value form",
			"%s DSN %s: cannot parse it", role, config.Redact(dsn))
	}
	cfg.RuntimeParams["application_name"] = "understudy"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn, nil
	}
	where := fmt.Sprintf("%s %s:%d/%s as %s", role, cfg.Host, cfg.Port, cfg.Database, cfg.User)
	msg := err.Error()
	if cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "***")
	}
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000"):
		return nil, Errorf(ExitConnect, "check the user name and password in the DSN (or PGPASSWORD / ~/.pgpass)",
			"%s: authentication failed", where)
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		return nil, Errorf(ExitConnect, "create the database first (createdb) or fix the name in the DSN",
			"%s: database does not exist", where)
	case errors.As(err, &netErr), strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"):
		return nil, Errorf(ExitConnect, "is the server running and reachable from here? check host and port",
			"%s: cannot connect: %s", where, lastPart(msg))
	}
	return nil, Errorf(ExitConnect, "", "%s: %s", where, lastPart(msg))
}

// lastPart drops pgconn's long "failed to connect to ..." prefix chain.
func lastPart(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		return msg[i+2:]
	}
	return msg
}

// DBIdentity says which database a connection reached: the cluster's system identifier
// (unique per initdb) and the database name.
type DBIdentity struct {
	SystemID string
	Database string
	Server   string // address:port as the server sees itself, when the system id is hidden
}

// Same reports whether two identities name the same database.
func (a DBIdentity) Same(b DBIdentity) bool {
	if a.Database != b.Database {
		return false
	}
	if a.SystemID != "" && b.SystemID != "" {
		return a.SystemID == b.SystemID
	}
	return a.Server == b.Server
}

// Identify reads q's database identity.
func Identify(ctx context.Context, q schemas.Querier) (DBIdentity, error) {
	var id DBIdentity
	// pg_control_system() may be closed to ordinary roles; then the server address stands in.
	err := q.QueryRow(ctx, `SELECT current_database(),
  COALESCE(inet_server_addr()::text, 'local') || ':' || current_setting('port'),
  CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE')
       THEN (SELECT system_identifier::text FROM pg_control_system()) ELSE '' END`).Scan(&id.Database, &id.Server, &id.SystemID)
	return id, err
}

// QuotedColumns lists columns as a quoted, comma-separated SQL list.
func QuotedColumns(cols []schemas.Column) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(schemas.QuoteIdent(c.Name))
	}
	return b.String()
}

// SequenceValue is a sequence's state, read from the source and set on the target.
type SequenceValue struct {
	Name      schemas.Name
	LastValue int64
	IsCalled  bool
}

// CopyFormat is the COPY option for the unit's table: binary, or text for the few types
// that cannot round-trip through binary.
func CopyFormat(t *TablePlan) string {
	if t.TextFormat {
		return "(FORMAT text)"
	}
	return "(FORMAT binary)"
}
