package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/job"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/pipeline/store/location"
)

// runningFlags are the flags of every command that moves rows.
type runningFlags struct {
	jobs       *int
	reportPath *string
	logFormat  *string
	interval   *time.Duration
}

func addRunningFlags(fs *flag.FlagSet) runningFlags {
	return runningFlags{
		jobs:       fs.Int("jobs", 0, "parallel workers (default: jobs: in the config, else the number of CPUs, at least 2)"),
		reportPath: fs.String("report", "", "write a JSON run report to this file"),
		logFormat:  fs.String("log-format", "text", "log format: text or json"),
		interval:   fs.Duration("progress-interval", 10*time.Second, "without a terminal, log progress this often (0: never)"),
	}
}

// running fills the shared options; cfgJobs is jobs: from the config (0 if none).
func (f runningFlags) running(stdout, stderr io.Writer, cfgJobs int) (job.Running, error) {
	log, err := newLogger(*f.logFormat, stderr)
	if err != nil {
		return job.Running{}, err
	}
	r := job.Running{Jobs: firstPositive(*f.jobs, cfgJobs, max(runtime.NumCPU(), 2)), Log: log,
		ProgressInterval: *f.interval, SummaryTo: stdout, ReportPath: *f.reportPath}
	if fl, ok := stderr.(*os.File); ok && isTerminal(fl) {
		r.ProgressTo = fl
	}
	return r, nil
}

func newLogger(format string, stderr io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, nil)), nil
	}
	return nil, pipeline.Errorf(pipeline.ExitUsage, "", "--log-format must be text or json, not %q", format)
}

// parseFlags parses args for command name, refusing stray arguments.
func parseFlags(fs *flag.FlagSet, name string, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return pipeline.WithCode(pipeline.ExitUsage, "see 'understudy "+name+" -h'", err)
	}
	if fs.NArg() > 0 {
		return pipeline.Errorf(pipeline.ExitUsage, "see 'understudy "+name+" -h'", "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return &config.Config{}, nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, pipeline.WithCode(pipeline.ExitUsage, "", err)
	}
	return cfg, nil
}

func openStore(ctx context.Context, flagName, loc string) (store.Store, error) {
	if loc == "" {
		return nil, pipeline.Errorf(pipeline.ExitUsage, "e.g. "+flagName+" ./snap or "+flagName+" s3://bucket/prefix", "missing %s", flagName)
	}
	s, err := location.Open(ctx, loc)
	if err != nil {
		return nil, pipeline.WithCode(pipeline.ExitUsage, "", fmt.Errorf("%s: %w", flagName, err))
	}
	return s, nil
}

func runSnapshot(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		source       = fs.String("source", "", "source DSN (or source: in the config, or UNDERSTUDY_SOURCE)")
		to           = fs.String("to", "", "where to write: a directory, file:///abs/path, or s3://bucket/prefix")
		configPath   = fs.String("config", "", "config file (YAML)")
		allowUnmask  = fs.Bool("allow-unmasked", false, "write columns that look like personal data even though no rule covers them")
		keyFile      = fs.String("key-file", "", "file holding the anonymization key (else key: in the config, or UNDERSTUDY_KEY)")
		random       = fs.Bool("random", false, "no key: draw a throwaway one, so fake values differ in every run")
		resume       = fs.Bool("resume", false, "finish an unfinished snapshot at --to, keeping the chunks it completed")
		replace      = fs.Bool("replace", false, "overwrite a finished snapshot at --to")
		noOwner      = fs.Bool("no-owner", false, "leave ownership out of the schema")
		noPrivileges = fs.Bool("no-privileges", false, "leave GRANTs out of the schema")
		pgDump       = fs.String("pg-dump", "", "path of pg_dump (default: the newest found)")
		chunk        = fs.Int64("chunk-mib", pipeline.DefaultChunkBytes>>20, "cut tables into chunks of this many MiB of heap")
		scale        = fs.Int("scale", 0, "write every table but scale.shared ones N times, with new keys per copy (overrides scale.factor)")
		signKeyFile  = fs.String("sign-key-file", "", "file holding the key that signs the manifest (else UNDERSTUDY_SIGN_KEY; none: unsigned)")
		rf           = addRunningFlags(fs)
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: understudy snapshot --source DSN --to DIR|s3://bucket/prefix [--config FILE] [--jobs N] [flags]\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, "snapshot", args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	src := firstNonEmpty(*source, cfg.Source.Value(), os.Getenv("UNDERSTUDY_SOURCE"))
	if src == "" {
		return pipeline.Errorf(pipeline.ExitUsage, "give --source (or source: in the config, or UNDERSTUDY_SOURCE)", "missing source DSN")
	}
	key, err := loadKey(*keyFile, cfg, *random)
	if err != nil {
		return err
	}
	signKey, err := loadSignKey(*signKeyFile)
	if err != nil {
		return err
	}
	r, err := rf.running(stdout, stderr, cfg.Jobs)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dst, err := openStore(ctx, "--to", *to)
	if err != nil {
		return err
	}
	_, err = job.Snapshot(ctx, job.SnapshotOptions{Running: r, Source: config.DSN(src), To: dst, Config: cfg, AllowUnmasked: *allowUnmask,
		Resume: *resume, Replace: *replace, NoOwner: *noOwner, NoPrivileges: *noPrivileges, PgDump: *pgDump, Key: key,
		ChunkBytes: *chunk << 20, Tool: version, Scale: *scale, SignKey: signKey})
	return err
}

func runRestore(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		from    = fs.String("from", "", "the snapshot: a directory, file:///abs/path, or s3://bucket/prefix")
		target  = fs.String("target", "", "target DSN (or UNDERSTUDY_TARGET)")
		replace = fs.Bool("replace", false, "drop what understudy manages in the target (the snapshot's schemas) and load again")
		tables  = fs.String("tables", "", "restore only these tables' rows (comma-separated schema.table; the schema is created whole)")
		scale   = fs.Int("scale", 0, "write every table but scale.shared ones N times, with new keys per copy (overrides scale.factor)")
		cfgPath = fs.String("config", "", "config file: its scale section (shared tables, jitter) applies; its rules ran when the snapshot was taken")
		keyFile = fs.String("key-file", "", "file holding the key that keys scaled uuid keys, jitter and the copies' fresh values (else key: in the config, or UNDERSTUDY_KEY)")
		signKey = fs.String("sign-key-file", "", "file holding the sign key: refuse a snapshot not signed with it (else UNDERSTUDY_SIGN_KEY)")
		rf      = addRunningFlags(fs)
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: understudy restore --from DIR|s3://bucket/prefix --target DSN [--jobs N] [--tables a,b] [flags]\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, "restore", args); err != nil {
		return err
	}
	dst := firstNonEmpty(*target, os.Getenv("UNDERSTUDY_TARGET"))
	if dst == "" {
		return pipeline.Errorf(pipeline.ExitUsage, "give --target (or UNDERSTUDY_TARGET)", "missing target DSN")
	}
	r, err := rf.running(stdout, stderr, 0)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := openStore(ctx, "--from", *from)
	if err != nil {
		return err
	}
	var only []string
	for _, t := range strings.Split(*tables, ",") {
		if t = strings.TrimSpace(t); t != "" {
			only = append(only, t)
		}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	key, err := loadKey(*keyFile, cfg, false) // nil without one: scaling then uses a published key
	if err != nil {
		return err
	}
	sk, err := loadSignKey(*signKey)
	if err != nil {
		return err
	}
	return job.Restore(ctx, job.RestoreOptions{Running: r, From: s, Target: config.DSN(dst), Replace: *replace, Tables: only,
		Scale: *scale, Config: cfg, Key: key, SignKey: sk})
}

// loadSignKey reads the sign key from file, else UNDERSTUDY_SIGN_KEY; nil when neither is set.
// The key is never taken from the command line, where process listings show it.
func loadSignKey(file string) (*snapshot.SignKey, error) {
	secret := os.Getenv("UNDERSTUDY_SIGN_KEY")
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, pipeline.Errorf(pipeline.ExitUsage, "", "--sign-key-file: %v", err)
		}
		secret = strings.TrimRight(string(data), "\r\n")
	}
	if secret == "" {
		return nil, nil
	}
	k, err := snapshot.NewSignKey([]byte(secret))
	if err != nil {
		return nil, pipeline.Errorf(pipeline.ExitUsage, "", "sign key: %v", err)
	}
	return k, nil
}

// runSnapshots is 'snapshots list LOCATION' and 'snapshots show LOCATION'.
func runSnapshots(args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "list" && args[0] != "show" {
		return pipeline.Errorf(pipeline.ExitUsage, "understudy snapshots list s3://bucket/ | understudy snapshots show s3://bucket/prefix",
			"snapshots takes list or show, and a location")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := openStore(ctx, "location", args[1])
	if err != nil {
		return err
	}
	if args[0] == "show" {
		signKey, err := loadSignKey("")
		if err != nil {
			return err
		}
		m, sig, err := job.ShowSnapshot(ctx, s, signKey)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "snapshot   %s\ncreated    %s by understudy %s\nsource     %s (PostgreSQL %s), snapshot %s\n",
			s, m.Created.Format(time.RFC3339), m.Tool, m.Source.Database, m.Source.ServerVersion, m.Source.Snapshot)
		if m.KeyFingerprint != "" {
			fmt.Fprintf(stdout, "key        fingerprint %s\n", m.KeyFingerprint)
		}
		switch {
		case sig == nil:
			fmt.Fprintln(stdout, "signature  none")
		case signKey != nil:
			fmt.Fprintf(stdout, "signature  %s, sign key fingerprint %s, verified with UNDERSTUDY_SIGN_KEY\n", sig.Algorithm, sig.KeyFingerprint)
		default:
			fmt.Fprintf(stdout, "signature  %s, sign key fingerprint %s (not checked: set UNDERSTUDY_SIGN_KEY to check it)\n", sig.Algorithm, sig.KeyFingerprint)
		}
		for _, t := range m.Resumed {
			fmt.Fprintf(stdout, "resumed    parts from the run of %s\n", t.Format(time.RFC3339))
		}
		fmt.Fprintf(stdout, "contents   %d tables, %d rows, %.1f MiB, %d sequences\n\n", len(m.Tables), m.Rows, float64(m.Bytes)/(1<<20), len(m.Sequences))
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TABLE\tROWS\tSIZE\tPARTS\tRULES")
		for _, t := range m.Tables {
			var rules []string
			for c, r := range t.Rules {
				rules = append(rules, c+"="+r)
			}
			sort.Strings(rules)
			fmt.Fprintf(tw, "%s\t%d\t%.1f MiB\t%d\t%s\n", t.Name, t.Rows, float64(t.Bytes)/(1<<20), len(t.Parts), strings.Join(rules, " "))
		}
		return tw.Flush()
	}
	base := strings.TrimSuffix(args[1], "/")
	entries, err := job.ListSnapshots(ctx, s, func(prefix string) (store.Store, error) {
		if prefix == "" {
			return s, nil
		}
		return location.Open(ctx, base+"/"+prefix)
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SNAPSHOT\tCREATED\tTABLES\tROWS\tSIZE\tRULES\tKEY\tSIGNED")
	for _, e := range entries {
		m := e.Manifest
		rules := map[string]bool{}
		for _, t := range m.Tables {
			for _, r := range t.Rules {
				rules[r] = true
			}
		}
		names := make([]string, 0, len(rules))
		for r := range rules {
			names = append(names, r)
		}
		sort.Strings(names)
		loc := base
		if e.Prefix != "" {
			loc += "/" + e.Prefix
		}
		signed := "unsigned"
		if e.Signature != nil {
			signed = e.Signature.KeyFingerprint
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f MiB\t%s\t%s\t%s\n", loc, m.Created.Format(time.RFC3339), len(m.Tables), m.Rows,
			float64(m.Bytes)/(1<<20), strings.Join(names, ","), m.KeyFingerprint, signed)
	}
	return tw.Flush()
}
