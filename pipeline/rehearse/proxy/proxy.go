// Package proxy is a PostgreSQL wire-protocol proxy on 127.0.0.1 that sees every statement
// a client runs (simple and extended protocol) and tells its Hooks when each starts and
// ends, so a migration tool can be rehearsed without changing it.
//
// Authentication: the proxy terminates the client's connection itself, on loopback,
// without TLS, asking for a one-time password (cleartext: it never leaves the machine and
// is good for this proxy only). Upstream it connects as the target DSN says (its user,
// password, TLS), so the tool never sees the real credentials. It is not a pooler and not
// a general-purpose proxy: one upstream connection per client connection, for one database.
package proxy

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Hooks is told about each statement. Begin is called before the statement is sent to the
// server and may block (to measure before it); End after its result (CommandComplete or
// ErrorResponse) and before the client sees it; Idle when the connection is idle outside a
// transaction again (ReadyForQuery 'I'). Calls for one connection are never concurrent;
// calls for different connections may be.
type Hooks interface {
	Begin(c *Conn, sql string)
	End(c *Conn, sql string, tag pgconn.CommandTag, err *pgconn.PgError, seconds float64)
	Idle(c *Conn)
	// Split cuts a simple-protocol query string into its statements.
	Split(sql string) []string
}

// Conn is one client connection and its upstream backend.
type Conn struct {
	PID uint32 // the upstream backend's process id
}

// Proxy listens on 127.0.0.1.
type Proxy struct {
	ln       net.Listener
	upstream string
	hooks    Hooks
	password string
	database string
	user     string

	mu    sync.Mutex
	keys  map[uint32]upstreamKey // our pid → the upstream backend's key (for cancel requests)
	conns sync.WaitGroup
	errs  []error
}

// Listen starts a proxy to the database upstreamDSN names.
func Listen(upstreamDSN string, hooks Hooks) (*Proxy, error) {
	cfg, err := pgconn.ParseConfig(upstreamDSN)
	if err != nil {
		return nil, fmt.Errorf("proxy: target DSN: cannot parse it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: listen on 127.0.0.1: %w", err)
	}
	var pw [16]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, upstream: upstreamDSN, hooks: hooks, password: hex.EncodeToString(pw[:]), database: cfg.Database,
		user: cfg.User, keys: map[uint32]upstreamKey{}}
	go p.accept()
	return p, nil
}

// Port is the port the proxy listens on.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Env is what a client needs to connect through the proxy: DATABASE_URL and the PG*
// variables libpq reads.
func (p *Proxy) Env() []string {
	url := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", p.user, p.password, p.Port(), p.database)
	return []string{"DATABASE_URL=" + url, "PGHOST=127.0.0.1", fmt.Sprintf("PGPORT=%d", p.Port()), "PGUSER=" + p.user,
		"PGPASSWORD=" + p.password, "PGDATABASE=" + p.database, "PGSSLMODE=disable"}
}

// Close stops listening and waits for the connections to end.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.conns.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		go func() {
			defer p.conns.Done()
			defer c.Close()
			_ = p.serve(c)
		}()
	}
}

// serve runs one client connection to its end.
func (p *Proxy) serve(client net.Conn) error {
	be := pgproto3.NewBackend(client, client)
	var startup *pgproto3.StartupMessage
	for startup == nil {
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			if _, err := client.Write([]byte{'N'}); err != nil {
				return err
			}
		case *pgproto3.CancelRequest:
			p.cancel(m)
			return nil
		case *pgproto3.StartupMessage:
			startup = m
		}
	}
	fail := func(code, msg string) error {
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: code, Message: msg})
		return be.Flush()
	}
	if db := startup.Parameters["database"]; db != "" && db != p.database {
		return fail("3D000", fmt.Sprintf("the rehearsal proxy serves database %q only, not %q", p.database, db))
	}
	be.Send(&pgproto3.AuthenticationCleartextPassword{})
	if err := be.Flush(); err != nil {
		return err
	}
	if err := be.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
		return err
	}
	msg, err := be.Receive()
	if err != nil {
		return err
	}
	if pw, ok := msg.(*pgproto3.PasswordMessage); !ok || pw.Password != p.password {
		return fail("28P01", "password authentication failed (the rehearsal proxy takes the password in DATABASE_URL / PGPASSWORD)")
	}

	cfg, err := pgconn.ParseConfig(p.upstream)
	if err != nil {
		return err
	}
	for k, v := range startup.Parameters {
		switch k {
		case "user", "database", "replication", "password":
		default:
			cfg.RuntimeParams[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	up, err := pgconn.ConnectConfig(ctx, cfg)
	cancel()
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return fail(pgErr.Code, pgErr.Message)
		}
		return fail("08006", "the rehearsal proxy cannot reach the target")
	}
	hj, err := up.Hijack()
	if err != nil {
		return err
	}
	server := hj.Conn
	defer server.Close()
	fe := hj.Frontend

	var key [8]byte
	_, _ = rand.Read(key[:])
	ourPID, ourSecret := binary.BigEndian.Uint32(key[:4])|1, binary.BigEndian.Uint32(key[4:])
	p.mu.Lock()
	p.keys[ourPID] = upstreamKey{pid: hj.PID, secret: hj.SecretKey, ours: binary.BigEndian.AppendUint32(nil, ourSecret)}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.keys, ourPID)
		p.mu.Unlock()
	}()
	be.Send(&pgproto3.AuthenticationOk{})
	for k, v := range hj.ParameterStatuses {
		be.Send(&pgproto3.ParameterStatus{Name: k, Value: v})
	}
	be.Send(&pgproto3.BackendKeyData{ProcessID: ourPID, SecretKey: binary.BigEndian.AppendUint32(nil, ourSecret)})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	if err := be.Flush(); err != nil {
		return err
	}

	st := &state{conn: &Conn{PID: hj.PID}, hooks: p.hooks, prepared: map[string]string{}, portals: map[string]string{}}
	done := make(chan error, 2)
	go func() { done <- st.clientToServer(be, fe) }()
	go func() { done <- st.serverToClient(fe, be) }()
	err = <-done
	if st.busy() {
		// the client went away mid-statement: a backend whose socket closes notices only
		// when it next writes, so a long statement (and its locks) would run on
		p.cancelUpstream(upstreamKey{pid: hj.PID, secret: hj.SecretKey})
	}
	client.Close()
	server.Close()
	<-done
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// cancel forwards a client's cancel request to the upstream backend it means.
func (p *Proxy) cancel(m *pgproto3.CancelRequest) {
	p.mu.Lock()
	k, ok := p.keys[m.ProcessID]
	p.mu.Unlock()
	// As the server does: a cancel request names the backend and proves it was told of it by
	// its secret, so nobody else on the machine can cancel the migration by guessing a pid.
	if ok && subtle.ConstantTimeCompare(k.ours, m.SecretKey) == 1 {
		p.cancelUpstream(k)
	}
}

// cancelUpstream sends a cancel request for the upstream backend k.
func (p *Proxy) cancelUpstream(k upstreamKey) {
	cfg, err := pgconn.ParseConfig(p.upstream)
	if err != nil {
		return
	}
	network, address := pgconn.NetworkAddress(cfg.Host, cfg.Port) // a TCP host, or a Unix socket directory
	c, err := net.DialTimeout(network, address, 10*time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	req := &pgproto3.CancelRequest{ProcessID: k.pid, SecretKey: k.secret}
	buf, err := req.Encode(nil)
	if err == nil {
		_, _ = c.Write(buf)
	}
}

type upstreamKey struct {
	pid    uint32
	secret []byte
	ours   []byte // the secret the client was given with our pid: a cancel must bring it
}

// inflight is a statement sent and not yet answered.
type inflight struct {
	sql   string
	start time.Time
	parts int // results still to come: a query string's statements answer one each
	tag   pgconn.CommandTag
}

// state follows one connection's statements.
type state struct {
	conn     *Conn
	hooks    Hooks
	mu       sync.Mutex
	pending  []*inflight
	prepared map[string]string // statement name → SQL
	portals  map[string]string // portal name → SQL
	lastSQL  string            // of the last Parse, for an error before any Execute
	// flushAsked: the client sent Flush since its last Sync and waits for what is pending
	flushAsked bool
}

// busy reports whether a statement was sent and not answered.
func (s *state) busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) > 0
}

func (s *state) clientToServer(be *pgproto3.Backend, fe *pgproto3.Frontend) error {
	for {
		msg, err := be.Receive()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			// one entry for the whole string: the server sends its statements' results
			// together when the string ends (or its buffer fills), so they cannot be timed
			// one by one
			parts := max(1, len(s.hooks.Split(m.String)))
			s.hooks.Begin(s.conn, m.String)
			s.mu.Lock()
			s.pending = append(s.pending, &inflight{sql: m.String, start: time.Now(), parts: parts})
			s.mu.Unlock()
		case *pgproto3.Parse:
			s.mu.Lock()
			s.prepared[m.Name] = m.Query
			s.lastSQL = m.Query
			s.mu.Unlock()
		case *pgproto3.Bind:
			s.mu.Lock()
			s.portals[m.DestinationPortal] = s.prepared[m.PreparedStatement]
			// A statement prepared in an earlier round trip can fail at Bind (planning with
			// the parameters folds 7 / 0): its error may come back before the Execute that
			// follows is seen here, and must still be told under its SQL.
			s.lastSQL = s.prepared[m.PreparedStatement]
			s.mu.Unlock()
		case *pgproto3.Close:
			s.mu.Lock()
			if m.ObjectType == 'S' {
				delete(s.prepared, m.Name)
			} else {
				delete(s.portals, m.Name)
			}
			s.mu.Unlock()
		case *pgproto3.Execute:
			s.mu.Lock()
			sql := s.portals[m.Portal]
			first := len(s.pending) == 0
			s.mu.Unlock()
			if first {
				s.hooks.Begin(s.conn, sql)
			}
			s.mu.Lock()
			s.pending = append(s.pending, &inflight{sql: sql, start: time.Now(), parts: 1})
			s.mu.Unlock()
			// the server sends results when its buffer fills or at Sync; a Flush after each
			// Execute makes it send each statement's result when it ends, so a pipelined
			// statement is timed by itself (the client sees no reply to a Flush)
			fe.Send(msg)
			msg = &pgproto3.Flush{}
		case *pgproto3.Flush:
			s.mu.Lock()
			s.flushAsked = true
			s.mu.Unlock()
		case *pgproto3.Terminate:
			fe.Send(m)
			_ = fe.Flush()
			return io.EOF
		}
		fe.Send(msg)
		if err := fe.Flush(); err != nil {
			return err
		}
	}
}

func (s *state) serverToClient(fe *pgproto3.Frontend, be *pgproto3.Backend) error {
	n := 0
	for {
		msg, err := fe.Receive()
		if err != nil {
			return err
		}
		s.mu.Lock()
		flush := s.flushAsked
		s.mu.Unlock()
		switch m := msg.(type) {
		case *pgproto3.CommandComplete:
			s.end(pgconn.NewCommandTag(string(m.CommandTag)), nil)
		case *pgproto3.EmptyQueryResponse, *pgproto3.PortalSuspended:
			s.end(pgconn.CommandTag{}, nil)
		case *pgproto3.ErrorResponse:
			s.end(pgconn.CommandTag{}, pgconn.ErrorResponseToPgError(m))
			flush = true
		case *pgproto3.ReadyForQuery:
			s.mu.Lock()
			s.pending = s.pending[:0]
			s.lastSQL = ""
			s.flushAsked = false
			s.mu.Unlock()
			if m.TxStatus == 'I' {
				s.hooks.Idle(s.conn)
			}
			flush = true
		case *pgproto3.CopyInResponse, *pgproto3.CopyBothResponse, *pgproto3.NoticeResponse:
			flush = true
		case *pgproto3.DataRow, *pgproto3.CopyData:
			flush = false // rows go on in batches; what ends them flushes
		}
		be.Send(msg)
		n++
		if flush || n%64 == 0 {
			if err := be.Flush(); err != nil {
				return err
			}
		}
	}
}

// addTag adds the rows of the next statement of a query string to the string's tag when both
// are the same command (an import's INSERTs); else the last tag stands.
func addTag(prev, next pgconn.CommandTag) pgconn.CommandTag {
	verb := func(t pgconn.CommandTag) string { return strings.TrimRight(t.String(), " 0123456789") }
	if prev.String() == "" || verb(prev) != verb(next) {
		return next
	}
	return pgconn.NewCommandTag(fmt.Sprintf("%s %d", strings.TrimSuffix(next.String(), fmt.Sprint(next.RowsAffected())), prev.RowsAffected()+next.RowsAffected()))
}

// end closes the oldest statement in flight; the next one starts now.
func (s *state) end(tag pgconn.CommandTag, pgErr *pgconn.PgError) {
	now := time.Now()
	s.mu.Lock()
	var cur *inflight
	if len(s.pending) > 0 {
		cur = s.pending[0]
		cur.parts--
		cur.tag = addTag(cur.tag, tag)
		if cur.parts > 0 && pgErr == nil {
			s.mu.Unlock()
			return // more results of this query string to come
		}
		s.pending = s.pending[1:]
		if len(s.pending) > 0 && s.pending[0].start.Before(now) {
			s.pending[0].start = now
		}
	} else if pgErr != nil && s.lastSQL != "" {
		cur = &inflight{sql: s.lastSQL, start: now} // failed at Parse or Bind
	}
	s.mu.Unlock()
	if cur != nil {
		s.hooks.End(s.conn, cur.sql, cur.tag, pgErr, now.Sub(cur.start).Seconds())
	}
}
