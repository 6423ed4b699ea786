package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/schemas"
)

// Connect opens a connection for role ("source" or "target") with the session settings
// every run relies on (sessionParams). Failures become UserErrors that name the server
// (never the password) and carry a hint.
func Connect(ctx context.Context, dsn, role string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, failure.Errorf(failure.ExitUsage, "use postgres://user:password@host:port/dbname or key=value form",
			"%s DSN %s: cannot parse it", role, config.Redact(dsn))
	}
	server := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	var known serverInfo
	if v, ok := servers.Load(server); ok {
		known = v.(serverInfo)
	}
	params := sessionParams(role)
	// Settings only newer servers have go into the startup packet only where an earlier
	// connection showed the server has them; otherwise they are SET once connected.
	params = append(params, newerParams(known.major)...)
	sent := params
	if known.setOnly {
		sent = params[:1]
	}
	conn, err := connectWith(ctx, cfg, sent)
	var pgErr *pgconn.PgError
	if err != nil && !known.setOnly && errors.As(err, &pgErr) && rejectsParameter(pgErr.Code) {
		// A server that refuses a parameter (older than an earlier connection showed, or a
		// pooler such as PgBouncer, which accepts only a few): from now on start with
		// application_name alone, and SET the rest.
		known.setOnly, sent = true, params[:1]
		if c, perr := pgx.ParseConfig(dsn); perr == nil {
			cfg = c
			conn, err = connectWith(ctx, cfg, sent)
		}
	}
	if err != nil {
		return nil, connectError(cfg, role, err)
	}
	known.major = majorVersion(conn.PgConn().ParameterStatus("server_version"))
	servers.Store(server, known)
	var set []string
	for _, p := range append(sessionParams(role), newerParams(known.major)...) {
		if !slices.Contains(sent, p) {
			set = append(set, "SET "+p[0]+" = '"+p[1]+"'")
		}
	}
	if len(set) > 0 {
		if _, err := conn.Exec(ctx, strings.Join(set, "; ")); err != nil {
			conn.Close(ctx)
			return nil, failure.Errorf(failure.ExitConnect, "", "%s: set the session up: %v", describe(cfg, role), err)
		}
	}
	return conn, nil
}

// sessionParams are the settings every connection has, whatever the server's configuration,
// the database's or the role's own settings (ALTER DATABASE/ROLE ... SET) say: what a client
// asks for in its startup packet ranks above those. application_name comes first.
//
//   - Values are printed and read the same way on every server, as pg_dump sets them, so that
//     rows moved as text COPY (and values compared as text) are lossless between servers
//     configured differently: client_encoding, DateStyle, IntervalStyle, extra_float_digits
//     (shortest exact floats), lc_monetary (money's text form), xmloption (xml fragments
//     load as they were stored).
//   - Timeouts meant for interactive sessions are off: a run that takes hours must not fail
//     at its end (newerParams adds those of newer servers).
//   - On the source, row_security is off, as pg_dump sets it: a table whose policies would
//     hide rows from the role fails the read instead of yielding fewer rows.
func sessionParams(role string) [][2]string {
	p := [][2]string{
		{"application_name", "understudy"},
		{"client_encoding", "UTF8"},
		{"datestyle", "ISO"},
		{"intervalstyle", "postgres"},
		{"extra_float_digits", "3"},
		{"lc_monetary", "C"},
		{"xmloption", "content"},
		{"statement_timeout", "0"},
		{"lock_timeout", "0"},
		{"idle_in_transaction_session_timeout", "0"},
	}
	if role == "source" {
		p = append(p, [2]string{"row_security", "off"})
	}
	return p
}

// newerParams are the session settings that exist only from some server version on (an
// unknown parameter in the startup packet is a FATAL error): those the server of that major
// version has.
func newerParams(major int) [][2]string {
	var p [][2]string
	if major >= 14 {
		p = append(p, [2]string{"idle_session_timeout", "0"})
	}
	if major >= 17 {
		p = append(p, [2]string{"transaction_timeout", "0"})
	}
	return p
}

// servers holds, by host:port, what earlier connections learnt of the server there.
var servers sync.Map

type serverInfo struct {
	major   int  // major version (server_version)
	setOnly bool // refuses session parameters in the startup packet: SET them
}

// connectWith connects with params in the startup packet, in place of any spelling of the
// same parameters the DSN had.
func connectWith(ctx context.Context, cfg *pgx.ConnConfig, params [][2]string) (*pgx.Conn, error) {
	for _, p := range params {
		for k := range cfg.RuntimeParams {
			if strings.EqualFold(k, p[0]) {
				delete(cfg.RuntimeParams, k)
			}
		}
		cfg.RuntimeParams[p[0]] = p[1]
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// rejectsParameter reports whether a startup error says the server refused a parameter:
// unknown (42704), a value it does not accept (22023), or a pooler's "unsupported startup
// parameter" (08P01).
func rejectsParameter(code string) bool {
	return code == "42704" || code == "22023" || code == "08P01"
}

// majorVersion reads the major version off server_version ("15.18 (Debian ...)", "9.6.24",
// "18beta1"); 0 if it cannot.
func majorVersion(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func describe(cfg *pgx.ConnConfig, role string) string {
	return fmt.Sprintf("%s %s:%d/%s as %s", role, cfg.Host, cfg.Port, cfg.Database, cfg.User)
}

// connectError turns a failed connection into a failure.UserError that names the server,
// never the password.
func connectError(cfg *pgx.ConnConfig, role string, err error) error {
	where := describe(cfg, role)
	msg := err.Error()
	if cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "***")
	}
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000"):
		return failure.Errorf(failure.ExitConnect, "check the user name and password in the DSN (or PGPASSWORD / ~/.pgpass)",
			"%s: authentication failed", where)
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		return failure.Errorf(failure.ExitConnect, "create the database first (createdb) or fix the name in the DSN",
			"%s: database does not exist", where)
	case errors.As(err, &netErr), strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"):
		return failure.Errorf(failure.ExitConnect, "is the server running and reachable from here? check host and port",
			"%s: cannot connect: %s", where, lastPart(msg))
	}
	return failure.Errorf(failure.ExitConnect, "", "%s: %s", where, lastPart(msg))
}

// PgDumpDSN returns dsn with client_encoding=UTF8 added, for pg_dump. pg_dump writes the
// schema in its session's client_encoding, which a database's or role's own setting would
// otherwise choose (failing on any name or comment that encoding cannot hold), and the
// script it writes sets that encoding on the target connections that then load rows.
func PgDumpDSN(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn // pg_dump says what is wrong with it
		}
		q := u.Query()
		q.Set("client_encoding", "UTF8")
		u.RawQuery = q.Encode()
		return u.String()
	}
	// In the keyword/value form the last setting of a keyword wins.
	return dsn + " client_encoding=UTF8"
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
