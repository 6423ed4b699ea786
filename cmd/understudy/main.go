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
	"syscall"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
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
  understudy plan --source DSN --config FILE [--samples N] [--strict] [--show-values]   show what rules would do (read-only)
  understudy verify --source DSN --target DSN --config FILE [--scale N]   check a finished target: rows (as subset and scale asked), constraints, no survivors
  understudy rehearse --target DSN --migrations DIR | --command 'tool …' [--traffic auto|off|FILE] [--max-lock-wait D] [--report FILE]   rehearse migrations on a copy
  understudy report --source DSN --target DSN [--config FILE] [--html FILE] [--json FILE] [--scale N] [--shared a,b] [--check] [--show-values]   data distributions side by side
  understudy transformers [--markdown]   list the built-in transformers
  understudy version

Run 'understudy sync -h' for the sync flags. Exit codes: 0 done, 1 failed part-way (target
marked incomplete), 2 bad flags or config, 3 cannot connect or missing privilege, 4 refused
as unsafe (target not empty, unfinished earlier run, target is the source), 5 pg_dump missing
or too old, 6 a rehearsal broke a budget, 130 interrupted.
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
	// The one signal context: an interrupt cancels the command, which then leaves what it
	// wrote marked unfinished and exits 130.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(int(code))
}

// run is execute without signals, as the tests call the commands.
func run(args []string, stdout, stderr io.Writer) failure.ExitCode {
	return execute(context.Background(), args, stdout, stderr)
}

func execute(ctx context.Context, args []string, stdout, stderr io.Writer) failure.ExitCode {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return failure.ExitUsage
	}
	switch args[0] {
	case "sync":
		return report(stderr, runSync(ctx, args[1:], stdout, stderr))
	case "verify":
		return report(stderr, runVerify(ctx, args[1:], stdout, stderr))
	case "report":
		return report(stderr, runReport(ctx, args[1:], stdout, stderr))
	case "snapshot":
		return report(stderr, runSnapshot(ctx, args[1:], stdout, stderr))
	case "restore":
		return report(stderr, runRestore(ctx, args[1:], stdout, stderr))
	case "snapshots":
		return report(stderr, runSnapshots(ctx, args[1:], stdout, stderr))
	case "plan":
		return report(stderr, runPlan(ctx, args[1:], stdout, stderr))
	case "rehearse":
		return report(stderr, runRehearse(ctx, args[1:], stdout, stderr))
	case "init":
		return report(stderr, runInit(ctx, args[1:], stdout, stderr))
	case "transformers":
		reg := transforms.Default()
		if len(args) > 1 && args[1] == "--markdown" {
			fmt.Fprint(stdout, reg.Reference())
			return failure.ExitOK
		}
		w := 0
		for _, n := range reg.Names() {
			w = max(w, len(n))
		}
		for _, n := range reg.Names() {
			e, _ := reg.Lookup(n)
			fmt.Fprintf(stdout, "%-*s  %s\n%*s  e.g. %s\n", w, e.Name, e.Summary, w, "", e.Example)
		}
		return failure.ExitOK
	case "version", "--version":
		fmt.Fprintf(stdout, "understudy %s (%s)\n", version, runtime.Version())
		return failure.ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return failure.ExitOK
	}
	fmt.Fprintf(stderr, "understudy: unknown command %q\n\n%s", args[0], usage)
	return failure.ExitUsage
}

// report prints err once, with its hint, and returns its exit code.
func report(stderr io.Writer, err error) failure.ExitCode {
	if err == nil {
		return failure.ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return failure.ExitOK
	}
	code := failure.ExitFailed
	var ue *failure.UserError
	var ce *config.Error
	switch {
	case errors.As(err, &ue):
		code = ue.Code
	case errors.As(err, &ce):
		code = failure.ExitUsage
	case errors.Is(err, context.Canceled):
		code = failure.ExitInterrupted
	}
	fmt.Fprintf(stderr, "understudy: %v\n", err)
	if ue != nil && ue.Hint != "" {
		fmt.Fprintf(stderr, "hint: %s\n", ue.Hint)
	}
	return code
}

func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("sync", "sync --source DSN --target DSN [--config FILE] [--jobs N] [flags]", stdout, stderr).withConfig("config file (YAML)")
	var (
		sf = newSourceFlags(true)
		tf = newTargetFlags()
		rf runningFlags
	)
	c.add(sf, tf, &rf)
	if err := c.parse(args); err != nil {
		return err
	}
	var (
		o   job.SyncOptions
		err error
	)
	if o.Running, err = rf.running(c); err != nil {
		return err
	}
	if o.SourceOptions, err = sf.options(c); err != nil {
		return err
	}
	if o.TargetOptions, err = tf.options(c); err != nil {
		return err
	}
	_, err = job.Sync(ctx, o)
	return err
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("verify", "verify --source DSN --target DSN --config FILE [--scale N]", stdout, stderr).withConfig("the config the target was made with")
	var (
		source = dsnFlag{role: "source"}
		target = dsnFlag{role: "target"}
		rules  = rulesFlags{scale: true}
	)
	c.add(&source, &target, &rules)
	c.describe("scale", "the target was synced with --scale N: expect N × the rows of every table but scale.shared ones (overrides scale.factor)")
	if err := c.parse(args); err != nil {
		return err
	}
	o := job.VerifyOptions{Out: stdout}
	var err error
	if o.Source, err = source.dsn(c); err != nil {
		return err
	}
	if o.Target, err = target.dsn(c); err != nil {
		return err
	}
	if o.Rules, err = rules.rules(c); err != nil {
		return err
	}
	_, err = job.Verify(ctx, o)
	return err
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("plan", "plan --source DSN --config FILE [--samples N] [--strict] [--show-values]", stdout, stderr).withConfig("config file (YAML)")
	var (
		source = dsnFlag{role: "source"}
		rules  = rulesFlags{random: true}
		o      = job.PlanOptions{Out: stdout}
	)
	c.add(&source, &rules)
	c.fs.IntVar(&o.Samples, "samples", 3, "rows to show before → after per table with rules")
	c.fs.BoolVar(&o.Strict, "strict", false, "exit non-zero (4) on any warning")
	c.fs.BoolVar(&o.ShowValues, "show-values", false, "print the samples' production values even without a terminal (by default masked unless standard output is one)")
	if err := c.parse(args); err != nil {
		return err
	}
	var err error
	if o.Source, err = source.dsn(c); err != nil {
		return err
	}
	if o.Rules, err = rules.rules(c); err != nil {
		return err
	}
	// Production values go to a person at a terminal, not into a CI log.
	if f, ok := stdout.(*os.File); ok && isTerminal(f) {
		o.ShowValues = true
	}
	_, err = job.Plan(ctx, o)
	return err
}

func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("init", "init --source DSN [--output FILE]", stdout, stderr)
	source := dsnFlag{role: "source"}
	c.add(&source)
	output := c.fs.String("output", "", "write the config to this file (default: standard output); an existing file is not overwritten")
	if err := c.parse(args); err != nil {
		return err
	}
	src, err := source.dsn(c)
	if err != nil {
		return err
	}
	out := stdout
	if *output != "" {
		f, err := os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return failure.Errorf(failure.ExitUsage, "choose another --output or remove the file", "--output: %v", err)
		}
		defer f.Close()
		out = f
	}
	err = job.Init(ctx, job.InitOptions{Source: src, Out: out})
	if err != nil && *output != "" {
		os.Remove(*output) // never leave a half-written config behind
	}
	return err
}
