package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/job"
	"github.com/understudy-dev/understudy/pipeline/rehearse"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
)

func runRehearse(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("rehearse", "rehearse --target DSN --migrations DIR | --command 'tool …' [flags]", stdout, stderr).
		withConfig("config: its budget section, and the rules for --source/--from")
	var (
		target = dsnFlag{role: "target"}
		rules  = rulesFlags{scale: true}
	)
	c.add(&target, &rules)
	c.describe("target", "the copy to rehearse on (or target: in the config, or UNDERSTUDY_TARGET)")
	c.describe("scale", "with --from or --source: write every table but scale.shared ones N times")
	c.describe("key-file", "anonymization key for --source (else key: in the config, or UNDERSTUDY_KEY)")
	fs := c.fs
	var (
		migrations = fs.String("migrations", "", "directory of .sql migrations, run in lexical order")
		command    = fs.String("command", "", "shell command that runs your migration tool; it reaches the copy through a local proxy via DATABASE_URL and PG* variables")
		from       = fs.String("from", "", "restore this snapshot into the (empty) target first")
		source     = fs.String("source", "", "sync this source into the (empty) target first (with --config)")
		traffic    = fs.String("traffic", "auto", "traffic while migrations run: auto (synthetic, on the touched tables), off, or a YAML file of your own statements (docs/rehearse.md)")
		clients    = fs.Int("traffic-clients", 4, "traffic connections")
		maxWait    = fs.Duration("max-lock-wait", 0, "budget: the longest a traffic query may wait for a lock (e.g. 2s)")
		maxStmt    = fs.Duration("max-statement", 0, "budget: one statement's time")
		maxMig     = fs.Duration("max-migration", 0, "budget: one migration's time")
		noRewrite  = fs.String("no-rewrite-over", "", "budget: no rewrite of a table or index bigger than this (e.g. 1GiB)")
		reportPath = fs.String("report", "", "write the JSON report to this file")
		mdPath     = fs.String("markdown", "", "write a Markdown report (for a pull-request comment) to this file")
		reset      = fs.Bool("reset", false, "take a template of the copy first (kept for later runs) and put the copy back from it afterwards")
		logFormat  = fs.String("log-format", "text", "log format: text or json")
	)
	if err := c.parse(args); err != nil {
		return err
	}
	log, err := newLogger(*logFormat, stderr)
	if err != nil {
		return err
	}
	dst, err := target.dsn(c)
	if err != nil {
		return err
	}
	o := rehearse.Options{Target: dst, Migrations: *migrations, Command: *command, Traffic: *traffic, TrafficClients: *clients,
		Budget: rehearse.Budget{MaxLockWait: *maxWait, MaxStatement: *maxStmt, MaxMigration: *maxMig}, Reset: *reset, Log: log,
		Stdout: stdout, Stderr: stderr, HideEnv: c.cfg.Env}
	if *noRewrite != "" {
		if o.Budget.NoRewriteOver, err = config.ParseBytes(*noRewrite); err != nil {
			return failure.Errorf(failure.ExitUsage, "", "--no-rewrite-over: %v", err)
		}
	}
	configBudget(&o.Budget, c.cfg, fs)
	if err := o.Validate(); err != nil {
		return err
	}
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		o.ProgressTo = f
	}
	if *from != "" || *source != "" {
		r, err := rules.rules(c)
		if err != nil {
			return err
		}
		if err := buildCopy(ctx, *from, *source, r, dst, log, &o); err != nil {
			return err
		}
	}
	rep, err := rehearse.Run(ctx, o)
	if rep != nil {
		rep.WriteSummary(stdout)
		if *reportPath != "" {
			if werr := rep.WriteJSON(*reportPath); werr != nil && err == nil {
				err = failure.Errorf(failure.ExitFailed, "", "--report: %v", werr)
			}
		}
		if *mdPath != "" {
			if werr := rep.WriteMarkdown(*mdPath); werr != nil && err == nil {
				err = failure.Errorf(failure.ExitFailed, "", "--markdown: %v", werr)
			}
		}
	}
	return err
}

// buildCopy restores a snapshot (--from) or syncs a source (--source) into the target with
// the existing jobs, and records how the copy was made for the report.
func buildCopy(ctx context.Context, from, source string, rules job.Rules, dst config.DSN, log *slog.Logger, o *rehearse.Options) error {
	if from != "" && source != "" {
		return failure.Errorf(failure.ExitUsage, "give one of them", "--from and --source exclude each other")
	}
	cfg, scale := rules.Config, rules.Scale
	r := job.Running{Jobs: firstPositive(cfg.Jobs, max(runtime.NumCPU(), 2)), Log: log, ProgressInterval: 10 * time.Second, SummaryTo: io.Discard}
	if from != "" {
		s, err := openStore(ctx, "--from", from)
		if err != nil {
			return err
		}
		if err := job.Restore(ctx, job.RestoreOptions{Running: r, From: s, TargetOptions: job.TargetOptions{Target: dst}, Rules: rules}); err != nil {
			return err
		}
		factor := scale // the restore's own scaling: --scale, else the config's
		if factor <= 0 {
			factor = 1
			if cfg.Scale != nil {
				factor = cfg.Scale.Factor
			}
		}
		o.Copy = "restored from snapshot " + s.String()
		m, err := snapshot.ReadManifest(ctx, s)
		switch {
		case err != nil:
			return err
		case m.Shape == nil: // written before snapshots recorded it
			o.Copy += " (whether it is a subset or scaled is not recorded in it)"
		default:
			if m.Shape.Subset {
				o.Copy += ", subset"
			}
			o.CopySubset = &m.Shape.Subset
			o.CopyScale = m.Shape.Scale * factor
		}
		if factor > 1 {
			o.Copy += fmt.Sprintf(", scaled ×%d", factor)
			if m.Shape != nil && m.Shape.Scale > 1 {
				o.Copy += fmt.Sprintf(" (of a snapshot scaled ×%d: ×%d in all)", m.Shape.Scale, o.CopyScale)
			}
		} else if m.Shape != nil && m.Shape.Scale > 1 {
			o.Copy += fmt.Sprintf(", scaled ×%d", m.Shape.Scale)
		}
		return nil
	}
	if _, err := job.Sync(ctx, job.SyncOptions{Running: r, TargetOptions: job.TargetOptions{Target: dst},
		SourceOptions: job.SourceOptions{Source: config.DSN(source), Rules: rules, ChunkShare: true}}); err != nil {
		return err
	}
	subset := false
	for _, t := range cfg.Tables {
		subset = subset || t.Seed()
	}
	o.Copy, o.CopySubset, o.CopyScale = "synced from the source", &subset, 1
	if subset {
		o.Copy += ", subset"
	}
	if scale > 1 {
		o.CopyScale = scale
	} else if cfg.Scale != nil && cfg.Scale.Factor > 1 && scale <= 0 {
		o.CopyScale = cfg.Scale.Factor
	}
	if o.CopyScale > 1 {
		o.Copy += fmt.Sprintf(", scaled ×%d", o.CopyScale)
	}
	return nil
}

// configBudget fills the limits the config's budget section sets and no flag on the command
// line does: a flag wins over the file.
func configBudget(b *rehearse.Budget, cfg *config.Config, fs *flag.FlagSet) {
	cb := cfg.Budget
	if cb == nil {
		return
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	b.Origin = map[string]string{}
	take := func(name string, nonzero bool, apply func()) {
		if set[name] || !nonzero {
			return
		}
		apply()
		b.Origin[name] = fmt.Sprintf("%s:%d", cfg.File, cb.Lines[strings.ReplaceAll(name, "-", "_")])
	}
	take("max-lock-wait", cb.MaxLockWait > 0, func() { b.MaxLockWait = cb.MaxLockWait })
	take("max-statement", cb.MaxStatement > 0, func() { b.MaxStatement = cb.MaxStatement })
	take("max-migration", cb.MaxMigration > 0, func() { b.MaxMigration = cb.MaxMigration })
	take("no-rewrite-over", cb.NoRewriteOver > 0, func() { b.NoRewriteOver = cb.NoRewriteOver })
}
