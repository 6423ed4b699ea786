// Package pgsource reads a PostgreSQL database as one consistent snapshot: a coordinator
// connection exports the snapshot (pg_export_snapshot) and holds it for the whole run; every
// worker connection and pg_dump import it, exactly as pg_dump -j does, so the copy is
// point-in-time consistent however parallel it is. Rows leave as binary COPY streams. Every
// connection reads with row_security off (postgres.Connect), so a table whose policies would
// hide rows fails the read instead of yielding fewer.
//
// It does not decode rows or know what happens to them.
package pgsource

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/postgres"
	"github.com/understudy-dev/understudy/pipeline/subset"
	"github.com/understudy-dev/understudy/schemas"
)

// Source is an open, snapshotted source database.
type Source struct {
	dsn      string
	coord    *pgx.Conn
	snapshot string
	catalog  *schemas.Catalog
	// ServerVersionNum is server_version_num, e.g. 150018.
	ServerVersionNum int
	Identity         postgres.DBIdentity
}

var _ pipeline.Source = (*Source)(nil)

// Open connects, starts the snapshot transaction, exports its snapshot and reads the catalog
// in it.
func Open(ctx context.Context, dsn string) (*Source, error) {
	conn, err := postgres.Connect(ctx, dsn, "source")
	if err != nil {
		return nil, err
	}
	s := &Source{dsn: dsn, coord: conn}
	if err := s.begin(ctx); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return s, nil
}

func (s *Source) begin(ctx context.Context) error {
	c := s.coord
	// The coordinator sits idle in its transaction while workers copy: postgres.Connect has
	// turned off every server timeout that could end it.
	if _, err := c.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"); err != nil {
		return fmt.Errorf("source: begin snapshot transaction: %w", err)
	}
	if err := c.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&s.snapshot); err != nil {
		return fmt.Errorf("source: export snapshot: %w", err)
	}
	if err := c.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&s.ServerVersionNum); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	id, err := postgres.Identify(ctx, c)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	s.Identity = id
	cat, err := schemas.LoadCatalog(ctx, c)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	s.catalog = cat
	return nil
}

// Querier reads inside the snapshot transaction (catalog queries, samples). Not for use
// while workers run.
func (s *Source) Querier() schemas.Querier { return s.coord }

// PgConn is the coordinator's low-level connection (COPY, ExecParams) in the snapshot.
func (s *Source) PgConn() *pgconn.PgConn { return s.coord.PgConn() }

// Snapshot is the exported snapshot's name, for pg_dump --snapshot.
func (s *Source) Snapshot() string { return s.snapshot }

// Catalog is the catalog as of the snapshot.
func (s *Source) Catalog() *schemas.Catalog { return s.catalog }

// DSN returns the source DSN.
func (s *Source) DSN() string { return s.dsn }

// Lock takes ACCESS SHARE locks on the tables to copy, as pg_dump does, so that no one can
// drop or rewrite them until the copy ends (ordinary reads and writes go on).
func (s *Source) Lock(ctx context.Context, tables []*pipeline.TablePlan) error {
	const batch = 200
	for i := 0; i < len(tables); i += batch {
		var names []string
		for _, t := range tables[i:min(i+batch, len(tables))] {
			names = append(names, t.Name.Quoted())
		}
		if _, err := s.coord.Exec(ctx, "LOCK TABLE "+strings.Join(names, ", ")+" IN ACCESS SHARE MODE"); err != nil {
			return fmt.Errorf("source: lock tables: %w", err)
		}
	}
	return nil
}

// Literal returns the binary wire form of text as a value of the column's type, as the
// server's input function parses it (domains' checks included).
func (s *Source) Literal(ctx context.Context, col schemas.Column, text string) ([]byte, error) {
	c := s.coord.PgConn()
	// A failed cast aborts the transaction: fence it in a savepoint.
	if err := c.Exec(ctx, "SAVEPOINT understudy_literal").Close(); err != nil {
		return nil, err
	}
	res := c.ExecParams(ctx, "SELECT $1", [][]byte{[]byte(text)}, []uint32{col.TypeOID}, []int16{0}, []int16{1}).Read()
	if res.Err != nil {
		if err := c.Exec(ctx, "ROLLBACK TO SAVEPOINT understudy_literal").Close(); err != nil {
			return nil, err
		}
		return nil, res.Err
	}
	if err := c.Exec(ctx, "RELEASE SAVEPOINT understudy_literal").Close(); err != nil {
		return nil, err
	}
	if len(res.Rows) != 1 || res.Rows[0][0] == nil {
		return nil, fmt.Errorf("the value is NULL")
	}
	return append([]byte(nil), res.Rows[0][0]...), nil
}

// Sequences reads every sequence's last_value and is_called. Like pg_dump, it reads them
// as they are now: sequences are not transactional.
func (s *Source) Sequences(ctx context.Context) ([]pipeline.SequenceValue, error) {
	var out []pipeline.SequenceValue
	for _, n := range s.catalog.Sequences {
		v := pipeline.SequenceValue{Name: n}
		if err := s.coord.QueryRow(ctx, "SELECT last_value, is_called FROM "+n.Quoted()).Scan(&v.LastValue, &v.IsCalled); err != nil {
			return nil, fmt.Errorf("source: read sequence %s: %w", n, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// SnapshotLostError says the coordinator connection, which holds the exported snapshot, is
// gone: no worker can join the snapshot again, and what was read can no longer be finished
// at one point in time.
type SnapshotLostError struct{ Err error }

func (e *SnapshotLostError) Error() string {
	return fmt.Sprintf("source: lost the connection that holds the exported snapshot, so the snapshot is gone: %v", e.Err)
}
func (e *SnapshotLostError) Unwrap() error { return e.Err }

// Watch checks the coordinator connection every interval until the function it returns is
// called (as often as one likes), and calls lost once if the connection is gone (terminated, reset, the server
// restarted). Between Watch and its stop nothing else may use the coordinator (Querier,
// Sequences): workers copying is the time to watch. Stop waits for a check under way, which
// is never cancelled (a cancelled query could close the connection it checks).
func (s *Source) Watch(interval time.Duration, lost func(error)) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := s.coord.PgConn().Ping(ctx)
			cancel()
			if err != nil {
				lost(&SnapshotLostError{Err: err})
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}

// Check returns a SnapshotLostError if the coordinator connection is gone, or nil.
func (s *Source) Check(ctx context.Context) error {
	if err := s.coord.PgConn().Ping(ctx); err != nil {
		return &SnapshotLostError{Err: err}
	}
	return nil
}

// Lost returns a SnapshotLostError if the coordinator connection is known to be closed, or
// nil; unlike Check it does not talk to the server.
func (s *Source) Lost() error {
	if s.coord.PgConn().IsClosed() {
		return &SnapshotLostError{Err: fmt.Errorf("connection closed")}
	}
	return nil
}

// Close ends the snapshot transaction.
func (s *Source) Close(ctx context.Context) error {
	return s.coord.Close(ctx)
}

// NewReader opens a worker connection inside the snapshot.
func (s *Source) NewReader(ctx context.Context) (pipeline.Reader, error) {
	conn, err := postgres.Connect(ctx, s.dsn, "source")
	if err != nil {
		return nil, err
	}
	_, err = conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
	if err == nil {
		_, err = conn.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+s.snapshot+"'")
	}
	if err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("source: import snapshot %s: %w", s.snapshot, err)
	}
	return &reader{conn: conn}, nil
}

type reader struct {
	conn *pgx.Conn
}

func (r *reader) CopyOut(ctx context.Context, u pipeline.Unit, w io.Writer) (int64, error) {
	tag, err := r.conn.PgConn().CopyTo(ctx, w, CopyOutSQL(u))
	if err != nil {
		return 0, fmt.Errorf("read from source: %w", err)
	}
	return tag.RowsAffected(), nil
}

func (r *reader) Close() error {
	return r.conn.Close(context.Background())
}

// CopyOutSQL is the COPY statement that reads one unit.
func CopyOutSQL(u pipeline.Unit) string {
	cols, cast := selectList(u.Table)
	if u.Restricted {
		cond := "false"
		if len(u.TIDs) > 0 {
			cond = subset.TIDCondition(u.TIDs)
		}
		return "COPY (SELECT " + cols + " FROM ONLY " + u.Table.Name.Quoted() + " WHERE " + cond + ") TO STDOUT " + pipeline.CopyFormat(u.Table)
	}
	if u.Of == 1 && !cast {
		// COPY of a table name reads that table only, never its inheritance children.
		return "COPY " + u.Table.Name.Quoted() + " (" + cols + ") TO STDOUT " + pipeline.CopyFormat(u.Table)
	}
	q := "COPY (SELECT " + cols + " FROM ONLY " + u.Table.Name.Quoted()
	if u.Of > 1 {
		q += fmt.Sprintf(" WHERE ctid >= '(%d,0)'::tid", u.FromPage)
		if u.ToPage >= 0 {
			q += fmt.Sprintf(" AND ctid < '(%d,0)'::tid", u.ToPage)
		}
	}
	return q + ") TO STDOUT " + pipeline.CopyFormat(u.Table)
}

// selectList lists the unit's columns. xml goes out as its stored text: xml's output
// functions drop an encoding declaration (<?xml ... encoding="UTF-8"?>), its input function
// keeps it, so the text cast is the only lossless way across.
func selectList(t *pipeline.TablePlan) (string, bool) {
	var b strings.Builder
	cast := false
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(schemas.QuoteIdent(c.Name))
		switch {
		case !t.TextFormat:
		case c.BaseOID == pgtype.XMLOID:
			b.WriteString("::text")
			cast = true
		case c.BaseOID == pgtype.XMLArrayOID:
			b.WriteString("::text[]")
			cast = true
		}
	}
	return b.String(), cast
}
