// Command understudy copies a production PostgreSQL database into staging, anonymizing it on
// the way. This file is only flags and configuration in, one library call, errors out; the
// work is in package pipeline/job.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/job"
	"github.com/understudy-dev/understudy/transforms"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `understudy — a staging database that behaves like production, without its secrets.

Usage:
  understudy sync --source DSN --target DSN [--config FILE] [--jobs N] [flags]
  understudy snapshot --source DSN --to DIR|s3://bucket/prefix [--config FILE] [--resume]   write an anonymized snapshot
  understudy restore --from DIR|s3://bucket/prefix --target DSN [--tables a,b]   load a snapshot into an empty database
  understudy snapshots list LOCATION | show LOCATION   the finished snapshots under a location; one snapshot's manifest
  understudy init --source DSN [--output FILE]   write a starter config for a database
  understudy plan --source DSN --config FILE [--samples N] [--strict]   show what rules would do (read-only)
  understudy verify --source DSN --target DSN --config FILE   check a finished target: rows, constraints, no survivors
  understudy rehearse --target DSN --migrations DIR | --command 'tool …' [--traffic auto|off] [--max-lock-wait D] [--report FILE]   rehearse migrations on a copy
  understudy report --source DSN --target DSN [--html FILE] [--json FILE] [--scale N] [--shared a,b] [--check]   data distributions side by side
  understudy transformers [--markdown]   list the built-in transformers
  understudy version

Run 'understudy sync -h' for the sync flags. Exit codes: 0 done, 1 failed part-way (target
marked incomplete), 2 bad flags or config, 3 cannot connect, 4 refused as unsafe (target not
empty, unfinished earlier run, target is the source), 5 pg_dump missing or too old,
6 a rehearsal broke a budget, 130 interrupted.
`

// memoryLimit is the Go heap's soft limit unless GOMEMLIMIT says otherwise. What understudy
// holds is bounded (workers × batches and buffers); the limit keeps the garbage it makes on
// the way (Parquet and zstd buffers per page) from growing the process past that bound
// before the collector runs.
const memoryLimit = 160 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(int(run(os.Args[1:], os.Stdout, os.Stderr)))
}

func run(args []string, stdout, stderr io.Writer) pipeline.ExitCode {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return pipeline.ExitUsage
	}
	switch args[0] {
	case "sync":
		return report(stderr, runSync(args[1:], stdout, stderr))
	case "verify":
		return report(stderr, runVerify(args[1:], stdout, stderr))
	case "report":
		return report(stderr, runReport(args[1:], stdout, stderr))
	case "snapshot":
		return report(stderr, runSnapshot(args[1:], stdout, stderr))
	case "restore":
		return report(stderr, runRestore(args[1:], stdout, stderr))
	case "snapshots":
		return report(stderr, runSnapshots(args[1:], stdout, stderr))
	case "plan":
		return report(stderr, runPlan(args[1:], stdout, stderr))
	case "rehearse":
		return report(stderr, runRehearse(args[1:], stdout, stderr))
	case "init":
		return report(stderr, runInit(args[1:], stdout, stderr))
	case "transformers":
		reg := transforms.Default()
		if len(args) > 1 && args[1] == "--markdown" {
			fmt.Fprint(stdout, reg.Reference())
			return pipeline.ExitOK
		}
		w := 0
		for _, n := range reg.Names() {
			w = max(w, len(n))
		}
		for _, n := range reg.Names() {
			e, _ := reg.Lookup(n)
			fmt.Fprintf(stdout, "%-*s  %s\n%*s  e.g. %s\n", w, e.Name, e.Summary, w, "", e.Example)
		}
		return pipeline.ExitOK
	case "version", "--version":
		fmt.Fprintf(stdout, "understudy %s (%s)\n", version, runtime.Version())
		return pipeline.ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return pipeline.ExitOK
	}
	fmt.Fprintf(stderr, "understudy: unknown command %q\n\n%s", args[0], usage)
	return pipeline.ExitUsage
}

// report prints err once, with its hint, and returns its exit code.
func report(stderr io.Writer, err error) pipeline.ExitCode {
	if err == nil {
		return pipeline.ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return pipeline.ExitOK
	}
	code := pipeline.ExitFailed
	var ue *pipeline.UserError
	var ce *config.Error
	switch {
	case errors.As(err, &ue):
		code = ue.Code
	case errors.As(err, &ce):
		code = pipeline.ExitUsage
	case errors.Is(err, context.Canceled):
		code = pipeline.ExitInterrupted
	}
	fmt.Fprintf(stderr, "understudy: %v\n", err)
	if ue != nil && ue.Hint != "" {
		fmt.Fprintf(stderr, "hint: %s\n", ue.Hint)
	}
	return code
}

func runSync(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		source       = fs.String("source", "", "source DSN (or source: in the config, or UNDERSTUDY_SOURCE)")
		target       = fs.String("target", "", "target DSN (or target: in the config, or UNDERSTUDY_TARGET)")
		configPath   = fs.String("config", "", "config file (YAML)")
		jobs         = fs.Int("jobs", 0, "parallel workers (default: jobs: in the config, else the number of CPUs, at least 2)")
		replace      = fs.Bool("replace", false, "drop what understudy manages in the target (the source's schemas) and load again")
		allowUnmask  = fs.Bool("allow-unmasked", false, "copy columns that look like personal data even though no rule covers them")
		keyFile      = fs.String("key-file", "", "file holding the anonymization key (else key: in the config, or UNDERSTUDY_KEY)")
		random       = fs.Bool("random", false, "no key: draw a throwaway one, so fake values differ in every run (keys and joins still hold)")
		reportPath   = fs.String("report", "", "write a JSON run report to this file")
		logFormat    = fs.String("log-format", "text", "log format: text or json")
		noOwner      = fs.Bool("no-owner", false, "do not set object owners (for a target without the source's roles)")
		noPrivileges = fs.Bool("no-privileges", false, "do not copy GRANTs")
		pgDump       = fs.String("pg-dump", "", "path of pg_dump (default: the newest found)")
		interval     = fs.Duration("progress-interval", 10*time.Second, "without a terminal, log progress this often (0: never)")
		chunk        = fs.Int64("chunk-mib", pipeline.DefaultChunkBytes>>20, "cut tables into chunks of this many MiB of heap; when not given, only the tables bigger than their share of the copy")
		scale        = fs.Int("scale", 0, "write every table but scale.shared ones N times, with new keys per copy (overrides scale.factor)")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: understudy sync --source DSN --target DSN [--config FILE] [--jobs N] [flags]\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, "sync", args); err != nil {
		return err
	}
	log, err := newLogger(*logFormat, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	src := firstNonEmpty(*source, cfg.Source.Value(), os.Getenv("UNDERSTUDY_SOURCE"))
	dst := firstNonEmpty(*target, cfg.Target.Value(), os.Getenv("UNDERSTUDY_TARGET"))
	if src == "" || dst == "" {
		return pipeline.Errorf(pipeline.ExitUsage, "give --source and --target (or source:/target: in the config, or UNDERSTUDY_SOURCE/UNDERSTUDY_TARGET)",
			"missing %s DSN", map[bool]string{true: "source", false: "target"}[src == ""])
	}
	key, err := loadKey(*keyFile, cfg, *random)
	if err != nil {
		return err
	}
	n := firstPositive(*jobs, cfg.Jobs, max(runtime.NumCPU(), 2))
	chunkGiven := false
	fs.Visit(func(f *flag.Flag) { chunkGiven = chunkGiven || f.Name == "chunk-mib" })

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := job.SyncOptions{
		Source: config.DSN(src), Target: config.DSN(dst), Config: cfg, Jobs: n, Replace: *replace, AllowUnmasked: *allowUnmask,
		NoOwner: *noOwner, NoPrivileges: *noPrivileges, PgDump: *pgDump, Key: key,
		ChunkBytes: *chunk << 20, ChunkShare: !chunkGiven, Log: log, ProgressInterval: *interval, SummaryTo: stdout,
		ReportPath: *reportPath, Scale: *scale,
	}
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		opts.ProgressTo = f
	}
	_, err = job.Sync(ctx, opts)
	return err
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	source := fs.String("source", "", "source DSN (or source: in the config, or UNDERSTUDY_SOURCE)")
	target := fs.String("target", "", "target DSN (or target: in the config, or UNDERSTUDY_TARGET)")
	configPath := fs.String("config", "", "the config the target was made with")
	keyFile := fs.String("key-file", "", "file holding the anonymization key (else key: in the config, or UNDERSTUDY_KEY)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return pipeline.WithCode(pipeline.ExitUsage, "see 'understudy verify -h'", err)
	}
	cfg := &config.Config{}
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			return pipeline.WithCode(pipeline.ExitUsage, "", err)
		}
	}
	src := firstNonEmpty(*source, cfg.Source.Value(), os.Getenv("UNDERSTUDY_SOURCE"))
	dst := firstNonEmpty(*target, cfg.Target.Value(), os.Getenv("UNDERSTUDY_TARGET"))
	if src == "" || dst == "" {
		return pipeline.Errorf(pipeline.ExitUsage, "give --source and --target", "missing %s DSN", map[bool]string{true: "source", false: "target"}[src == ""])
	}
	key, err := loadKey(*keyFile, cfg, false)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = job.Verify(ctx, job.VerifyOptions{Source: config.DSN(src), Target: config.DSN(dst), Config: cfg, Key: key, Out: stdout})
	return err
}

func runPlan(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	source := fs.String("source", "", "source DSN (or source: in the config, or UNDERSTUDY_SOURCE)")
	configPath := fs.String("config", "", "config file (YAML)")
	keyFile := fs.String("key-file", "", "file holding the anonymization key (else key: in the config, or UNDERSTUDY_KEY)")
	random := fs.Bool("random", false, "no key: show samples under a throwaway one")
	samples := fs.Int("samples", 3, "rows to show before → after per table with rules")
	strict := fs.Bool("strict", false, "exit non-zero (4) on any warning")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return pipeline.WithCode(pipeline.ExitUsage, "see 'understudy plan -h'", err)
	}
	cfg := &config.Config{}
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			return pipeline.WithCode(pipeline.ExitUsage, "", err)
		}
	}
	src := firstNonEmpty(*source, cfg.Source.Value(), os.Getenv("UNDERSTUDY_SOURCE"))
	if src == "" {
		return pipeline.Errorf(pipeline.ExitUsage, "give --source (or source: in the config, or UNDERSTUDY_SOURCE)", "missing source DSN")
	}
	key, err := loadKey(*keyFile, cfg, *random)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = job.Plan(ctx, job.PlanOptions{Source: config.DSN(src), Config: cfg, Key: key, Samples: *samples, Strict: *strict, Out: stdout})
	return err
}

func runInit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	source := fs.String("source", "", "source DSN (or UNDERSTUDY_SOURCE)")
	output := fs.String("output", "", "write the config to this file (default: standard output); an existing file is not overwritten")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return pipeline.WithCode(pipeline.ExitUsage, "see 'understudy init -h'", err)
	}
	src := firstNonEmpty(*source, os.Getenv("UNDERSTUDY_SOURCE"))
	if src == "" {
		return pipeline.Errorf(pipeline.ExitUsage, "give --source (or UNDERSTUDY_SOURCE)", "missing source DSN")
	}
	out := stdout
	if *output != "" {
		f, err := os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return pipeline.Errorf(pipeline.ExitUsage, "choose another --output or remove the file", "--output: %v", err)
		}
		defer f.Close()
		out = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := job.Init(ctx, job.InitOptions{Source: config.DSN(src), Out: out})
	if err != nil && *output != "" {
		os.Remove(*output) // never leave a half-written config behind
	}
	return err
}

// loadKey finds the key: --key-file, else key: in the config, else UNDERSTUDY_KEY; with
// random, there must be none, and a throwaway one is drawn.
func loadKey(keyFile string, cfg *config.Config, random bool) (*transforms.Key, error) {
	secret := ""
	switch {
	case keyFile != "":
		data, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, pipeline.Errorf(pipeline.ExitUsage, "", "--key-file: %v", err)
		}
		secret = strings.TrimRight(string(data), "\r\n")
	case cfg.Key.Value() != "":
		secret = cfg.Key.Value()
	default:
		secret = os.Getenv("UNDERSTUDY_KEY")
	}
	switch {
	case random && secret != "":
		return nil, pipeline.Errorf(pipeline.ExitUsage, "drop --random to use the key, or unset it for a random run", "--random and a key exclude each other")
	case random:
		return transforms.NewRandomKey(), nil
	case secret == "":
		return nil, nil
	}
	k, err := transforms.NewKey(secret)
	if err != nil {
		return nil, pipeline.Errorf(pipeline.ExitUsage, "", "key: %v", err)
	}
	return k, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstPositive(vals ...int) int {
	for _, v := range vals {
		if v > 0 {
			return v
		}
	}
	return 1
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
