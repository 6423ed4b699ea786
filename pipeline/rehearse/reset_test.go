package rehearse

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/fixtures/pgtest"
	"github.com/understudy-dev/understudy/pipeline/failure"
)

// A template name never collapses onto the database's own name, however long that is.
func TestTemplateNameIsNeverTheDatabase(t *testing.T) {
	for _, db := range []string{"stage", strings.Repeat("d", 43), strings.Repeat("d", 44), strings.Repeat("x", 63)} {
		tpl := templateName(db)
		if tpl == db || len(tpl) > 63 {
			t.Errorf("templateName(%d bytes) = %q (%d bytes)", len(db), tpl, len(tpl))
		}
	}
	if templateName(strings.Repeat("x", 63)) == templateName(strings.Repeat("x", 62)+"y") {
		t.Error("two long names share a template")
	}
}

// --reset trusts and drops nothing on the word of a database that merely has the template's
// name: without understudy's comment naming the copy, it is refused and both stay.
func TestResetRefusesADatabaseThatIsNotItsTemplate(t *testing.T) {
	dsn := pgtest.NewDB(t)
	db := dsn[strings.LastIndex(dsn, "/")+1:]
	db = db[:strings.IndexByte(db+"?", '?')]
	pgtest.Exec(t, pgtest.Connect(t, dsn), "CREATE TABLE precious (x int); INSERT INTO precious VALUES (42)")
	admin := pgtest.Connect(t, pgtest.DSN(t))
	tpl := templateName(db)
	pgtest.Exec(t, admin, "CREATE DATABASE "+tpl)
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+tpl+" WITH (FORCE)") })

	_, err := prepareReset(context.Background(), dsn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var ue *failure.UserError
	if !errors.As(err, &ue) || ue.Code != failure.ExitUnsafe || !strings.Contains(err.Error(), "not understudy's template") {
		t.Fatalf("err = %v, want exit %d refusing the foreign database", err, failure.ExitUnsafe)
	}
	var n int
	pgtest.Scan(t, pgtest.Connect(t, dsn).QueryRow(context.Background(), "SELECT x FROM precious"), &n)
	if n != 42 {
		t.Errorf("the copy lost its rows: %d", n)
	}
}
