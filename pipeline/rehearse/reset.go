package rehearse

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/postgres"
)

// resetter keeps a template of the copy (CREATE DATABASE … TEMPLATE) and puts the copy back
// from it after the rehearsal, so the next variant of the migrations starts from the same
// data. The template is kept for later runs: taking it costs a full copy of the database
// files once; putting the copy back costs the same each time.
type resetter struct {
	adminDSN string // the same server, database postgres
	db, tpl  string
	log      *slog.Logger
	info     ResetInfo
}

// templateName is the template's name for database db: db with a suffix, or, where that
// would pass PostgreSQL's 63 bytes (and be cut back to db itself), a cut of db with a hash of
// the whole name.
func templateName(db string) string {
	const suffix = "_understudy_template"
	if len(db)+len(suffix) <= 63 {
		return db + suffix
	}
	sum := sha256.Sum256([]byte(db))
	return fmt.Sprintf("%s_%x_understudy_tpl", db[:min(len(db), 30)], sum[:4])
}

// templateComment marks a template as understudy's, of db: a database of that name without
// it is somebody else's, and --reset neither trusts nor drops it.
func templateComment(db string) string { return "understudy rehearse --reset template of " + db }

func prepareReset(ctx context.Context, dsn string, log *slog.Logger) (*resetter, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, failure.Errorf(failure.ExitUsage, "", "target DSN: cannot parse it")
	}
	if cfg.Database == "" || len(cfg.Database) > 63 {
		return nil, failure.Errorf(failure.ExitUsage, "", "--reset: the target DSN must name its database (at most 63 bytes, as PostgreSQL keeps them)")
	}
	r := &resetter{db: cfg.Database, tpl: templateName(cfg.Database), log: log}
	if r.tpl == r.db {
		return nil, failure.Errorf(failure.ExitUnsafe, "", "--reset: no template name distinct from the database %s", r.db)
	}
	r.info.Template = r.tpl
	if r.adminDSN, err = withDatabase(dsn, "postgres"); err != nil {
		return nil, err
	}
	admin, err := postgres.Connect(ctx, r.adminDSN, "target (database postgres, for --reset)")
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.Background())
	var exists bool
	var comment *string
	if err := admin.QueryRow(ctx, `SELECT count(*) > 0, max(shobj_description(oid, 'pg_database'))
FROM pg_database WHERE datname = $1`, r.tpl).Scan(&exists, &comment); err != nil {
		return nil, err
	}
	if exists && (comment == nil || *comment != templateComment(r.db)) {
		// Not understudy's template of this database: never copy the target from it, and
		// never drop the target on its word.
		return nil, failure.Errorf(failure.ExitUnsafe, "rename or drop that database yourself, or rehearse on a database of another name",
			"--reset: a database %s exists, and it is not understudy's template of %s (its comment does not say so)", r.tpl, r.db)
	}
	if exists {
		// the copy starts from the template: an earlier variant may have changed it
		start := time.Now()
		if err := r.recreate(ctx, admin, r.db, r.tpl); err != nil {
			return nil, err
		}
		r.info.RestoreSeconds += time.Since(start).Seconds()
		return r, nil
	}
	start := time.Now()
	if err := copyDatabase(ctx, admin, r.tpl, r.db); err != nil {
		return nil, failure.WithCode(failure.ExitFailed, "--reset needs no other session on the copy while it takes the template", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS '%s'", quoteIdent(r.tpl), strings.ReplaceAll(templateComment(r.db), "'", "''"))); err != nil {
		return nil, err
	}
	r.info.TemplateCreated = true
	r.info.TemplateSeconds = time.Since(start).Seconds()
	log.Info("reset template taken", "template", r.tpl, "seconds", r.info.TemplateSeconds)
	return r, nil
}

// restore puts the copy back from the template.
func (r *resetter) restore(ctx context.Context) error {
	admin, err := postgres.Connect(ctx, r.adminDSN, "target (database postgres, for --reset)")
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	start := time.Now()
	if err := r.recreate(ctx, admin, r.db, r.tpl); err != nil {
		return err
	}
	r.info.RestoreSeconds += time.Since(start).Seconds()
	r.log.Info("copy reset from its template", "template", r.tpl, "seconds", time.Since(start).Seconds())
	return nil
}

// recreate drops db and creates it again from tpl.
func (r *resetter) recreate(ctx context.Context, admin *pgx.Conn, db, tpl string) error {
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)+" WITH (FORCE)"); err != nil {
		return failure.WithCode(failure.ExitFailed, "", fmt.Errorf("--reset: drop %s: %w", db, err))
	}
	if err := copyDatabase(ctx, admin, db, tpl); err != nil {
		return failure.WithCode(failure.ExitFailed, "the template "+tpl+" is intact: CREATE DATABASE "+db+" TEMPLATE "+tpl+" puts the copy back", err)
	}
	return nil
}

// copyDatabase creates db from tpl, file by file (STRATEGY FILE_COPY from PostgreSQL 15:
// it does not write the whole database into the WAL, which WAL_LOG would).
func copyDatabase(ctx context.Context, admin *pgx.Conn, db, tpl string) error {
	var ver int
	if err := admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&ver); err != nil {
		return err
	}
	sql := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", quoteIdent(db), quoteIdent(tpl))
	if ver >= 150000 {
		sql += " STRATEGY FILE_COPY"
	}
	if _, err := admin.Exec(ctx, sql); err != nil {
		return fmt.Errorf("--reset: create %s from %s: %w", db, tpl, err)
	}
	return nil
}

func withDatabase(dsn, db string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", failure.Errorf(failure.ExitUsage, "", "target DSN: cannot parse it")
		}
		u.Path = "/" + db
		return u.String(), nil
	}
	return dsn + " dbname=" + db, nil
}
