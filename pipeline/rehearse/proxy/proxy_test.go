package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
)

// recorder is the proxy's Hooks for these tests: it keeps what it was told.
type recorder struct {
	mu    sync.Mutex
	began []string
	ended []ended
	pids  map[uint32]bool
}

type ended struct {
	sql, sqlstate string
	seconds       float64
}

func (r *recorder) Begin(c *Conn, sql string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.began = append(r.began, sql)
	if r.pids == nil {
		r.pids = map[uint32]bool{}
	}
	r.pids[c.PID] = true
}

func (r *recorder) End(c *Conn, sql string, tag pgconn.CommandTag, err *pgconn.PgError, seconds float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := ended{sql: sql, seconds: seconds}
	if err != nil {
		e.sqlstate = err.Code
	}
	r.ended = append(r.ended, e)
}

func (r *recorder) Idle(*Conn)                {}
func (r *recorder) Split(sql string) []string { return []string{sql} }

func (r *recorder) pid() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range r.pids {
		return p
	}
	return 0
}

func listen(t *testing.T) (*Proxy, *recorder, string) {
	t.Helper()
	dsn := pgtest.NewDB(t)
	rec := &recorder{}
	p, err := Listen(dsn, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, rec, dsn
}

func proxyURL(p *Proxy) string {
	for _, e := range p.Env() {
		if u, ok := strings.CutPrefix(e, "DATABASE_URL="); ok {
			return u
		}
	}
	return ""
}

func pgErrCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// A server error reaches the client with its SQLSTATE, in both protocols, the hooks hear of
// it, and the connection goes on.
func TestServerErrorPassesThrough(t *testing.T) {
	p, rec, _ := listen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, proxyURL(p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "SELECT 1/0"); pgErrCode(err) != "22012" {
		t.Errorf("simple protocol: want SQLSTATE 22012, got %v", err)
	}
	if _, err := c.Exec(ctx, "SELECT $1::int / 0", 7); pgErrCode(err) != "22012" {
		t.Errorf("extended protocol: want SQLSTATE 22012, got %v", err)
	}
	if _, err := c.Exec(ctx, "SELEC 1"); pgErrCode(err) != "42601" {
		t.Errorf("a statement that fails at Parse: want SQLSTATE 42601, got %v", err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT $1::int + 1", 41).Scan(&n); err != nil || n != 42 {
		t.Errorf("the connection must go on after errors: %d, %v", n, err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var states []string
	for _, e := range rec.ended {
		if e.sqlstate != "" {
			states = append(states, e.sqlstate+" "+e.sql)
		}
	}
	if len(states) != 3 || !strings.HasPrefix(states[0], "22012 SELECT 1/0") || !strings.HasPrefix(states[2], "42601 SELEC 1") {
		t.Errorf("hooks: want the three errors with their statements, got %q", states)
	}
}

// A wrong one-time password, or another database, is refused before anything is opened
// upstream.
func TestWrongPasswordRefused(t *testing.T) {
	p, rec, _ := listen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	good := proxyURL(p)
	pw := good[strings.Index(good, ":")+3:]
	pw = pw[strings.Index(pw, ":")+1 : strings.Index(pw, "@")]
	_, err := pgx.Connect(ctx, strings.Replace(good, ":"+pw+"@", ":"+pw[:len(pw)-1]+"x@", 1))
	if pgErrCode(err) != "28P01" {
		t.Errorf("wrong password: want SQLSTATE 28P01, got %v", err)
	}
	if _, err := pgx.Connect(ctx, strings.Replace(good, ":"+pw+"@", "@", 1)); err == nil {
		t.Errorf("no password: want a refusal")
	}
	if _, err := pgx.Connect(ctx, good[:strings.LastIndex(good, "/")]+"/postgres?sslmode=disable"); pgErrCode(err) != "3D000" {
		t.Errorf("another database: want SQLSTATE 3D000, got %v", err)
	}
	if rec.pid() != 0 {
		t.Errorf("a refused client reached the server")
	}
	c, err := pgx.Connect(ctx, good)
	if err != nil {
		t.Fatalf("the right password: %v", err)
	}
	c.Close(ctx)
}

// A client that goes away mid-query does not leave its statement running on the server
// (a migration tool killed during CREATE INDEX must not keep the lock), whether the proxy
// reaches the server over TCP or a Unix socket.
func TestClientGoneMidQuery(t *testing.T) {
	p, rec, dsn := listen(t)
	clientGoneMidQuery(t, p, rec, dsn)
}

func TestClientGoneMidQueryUnixSocket(t *testing.T) {
	dsn := pgtest.NewDB(t)
	admin := pgtest.Connect(t, dsn)
	var dirs string
	if err := admin.QueryRow(t.Context(), "SELECT split_part(current_setting('unix_socket_directories'), ',', 1)").Scan(&dirs); err != nil || dirs == "" {
		t.Fatalf("the test server has no Unix socket directory (%v)", err)
	}
	admin.Close(t.Context())
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	unix := fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s", strings.TrimSpace(dirs), cfg.Port, cfg.User, cfg.Password, cfg.Database)
	rec := &recorder{}
	p, err := Listen(unix, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	clientGoneMidQuery(t, p, rec, dsn)
}

func clientGoneMidQuery(t *testing.T, p *Proxy, rec *recorder, dsn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, proxyURL(p))
	if err != nil {
		t.Fatal(err)
	}
	go c.Exec(context.Background(), "SELECT pg_sleep(60)").ReadAll()
	admin := pgtest.Connect(t, dsn)
	defer admin.Close(ctx)
	active := func(pid uint32) bool {
		var state string
		err := admin.QueryRow(ctx, "SELECT state FROM pg_stat_activity WHERE pid = $1", pid).Scan(&state)
		return err == nil && state == "active"
	}
	deadline := time.Now().Add(10 * time.Second)
	for rec.pid() == 0 || !active(rec.pid()) {
		if time.Now().After(deadline) {
			t.Fatal("the query never started upstream")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Conn().Close() // gone, without a Terminate
	deadline = time.Now().Add(5 * time.Second)
	for active(rec.pid()) {
		if time.Now().After(deadline) {
			t.Fatal("pg_sleep(60) still runs upstream 5 s after its client went away")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A client that asks the server to flush (a pipeline's flush request, no Sync) gets its
// results without waiting for a Sync.
func TestFlushRequestAnswered(t *testing.T) {
	p, _, _ := listen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, proxyURL(p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	pl := c.StartPipeline(ctx)
	pl.SendQueryParams("SELECT 42", nil, nil, nil, nil)
	pl.SendFlushRequest()
	if err := pl.Flush(); err != nil {
		t.Fatal(err)
	}
	res, err := pl.GetResults()
	if err != nil {
		t.Fatalf("no result before Sync: %v", err)
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		t.Fatalf("result %T", res)
	}
	got := rr.Read()
	if got.Err != nil || len(got.Rows) != 1 || string(got.Rows[0][0]) != "42" {
		t.Errorf("want 42, got %+v", got)
	}
	pl.SendPipelineSync()
	pl.Flush()
	pl.Close()
}

// A cancel request reaches the server only with the secret the proxy gave that client: one
// that merely names the right backend is ignored, as PostgreSQL ignores it, so nobody else
// on the machine can cancel a migration by guessing a pid.
func TestCancelNeedsTheClientsSecret(t *testing.T) {
	p, _, _ := listen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, proxyURL(p))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	sleep := func() <-chan error {
		done := make(chan error, 1)
		go func() { _, err := conn.Exec(ctx, "SELECT pg_sleep(1.5)"); done <- err }()
		time.Sleep(300 * time.Millisecond)
		return done
	}
	done := sleep()
	forged, _ := (&pgproto3.CancelRequest{ProcessID: conn.PgConn().PID(), SecretKey: []byte{1, 2, 3, 4}}).Encode(nil)
	raw, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.Port()))
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(forged)
	raw.Close()
	if err := <-done; err != nil {
		t.Fatalf("a cancel request with a forged secret cancelled the query: %v", err)
	}

	done = sleep()
	if err := conn.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; pgErrCode(err) != "57014" {
		t.Fatalf("the client's own cancel request: %v, want query_canceled (57014)", err)
	}
}
