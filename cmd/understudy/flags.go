package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/job"
	"github.com/understudy-dev/understudy/transforms"
)

// Every command goes one way: newCommand makes its flag set, the flag groups it picks add
// their flags (AddFlags), parse reads the command line and then the config file, and each
// group turns flags, config and environment into its job option group (pipeline/job
// options.go), a flag winning over the config and the config over the environment.
//
//	dsnFlag       --source or --target                          a DSN
//	rulesFlags    --key-file [--random] [--scale]               job.Rules
//	sourceFlags   --source, rules, --allow-unmasked, --pg-dump,
//	              --no-owner, --no-privileges, --chunk-mib      job.SourceOptions
//	targetFlags   --target, --replace                           job.TargetOptions
//	runningFlags  --jobs, --report, --log-format,
//	              --progress-interval                           job.Running

// command is one subcommand on its way in.
type command struct {
	name           string
	fs             *flag.FlagSet
	stdout, stderr io.Writer
	takesConfig    bool
	configPath     string
	cfg            *config.Config // after parse: the config, empty without --config
}

// newCommand starts command name; usage is what follows "understudy " in its -h.
func newCommand(name, usage string, stdout, stderr io.Writer) *command {
	c := &command{name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	c.fs.SetOutput(stderr)
	c.fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: understudy %s\n\nFlags:\n", usage)
		c.fs.PrintDefaults()
	}
	return c
}

// withConfig gives the command --config; usage says what the command takes from the file.
// Call it before adding the groups: their flags then say the config is read.
func (c *command) withConfig(usage string) *command {
	c.takesConfig = true
	c.fs.StringVar(&c.configPath, "config", "", usage)
	return c
}

// add adds the flags of each group.
func (c *command) add(groups ...interface{ AddFlags(*command) }) {
	for _, g := range groups {
		g.AddFlags(c)
	}
}

// describe replaces the description of flag name, for a command where it means more than
// its group says.
func (c *command) describe(name, usage string) {
	c.fs.Lookup(name).Usage = usage
}

// given reports whether flag name was on the command line.
func (c *command) given(name string) bool {
	seen := false
	c.fs.Visit(func(f *flag.Flag) { seen = seen || f.Name == name })
	return seen
}

// parse reads the command line, refusing stray arguments, then the config file.
func (c *command) parse(args []string) error {
	if err := parseFlags(c.fs, c.name, args); err != nil {
		return err
	}
	cfg, err := loadConfig(c.configPath)
	c.cfg = cfg
	return err
}

// parseFlags parses args for command name, refusing stray arguments.
func parseFlags(fs *flag.FlagSet, name string, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return failure.WithCode(failure.ExitUsage, "see 'understudy "+name+" -h'", err)
	}
	if fs.NArg() > 0 {
		return failure.Errorf(failure.ExitUsage, "see 'understudy "+name+" -h'", "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return &config.Config{}, nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, failure.WithCode(failure.ExitUsage, "", err)
	}
	return cfg, nil
}

// dsnFlag is --source or --target: the flag, else source: or target: in the config, else
// UNDERSTUDY_SOURCE or UNDERSTUDY_TARGET.
type dsnFlag struct {
	role  string // "source" or "target"
	value string
}

func (f *dsnFlag) env() string { return "UNDERSTUDY_" + strings.ToUpper(f.role) }

// where says where else the DSN may come from.
func (f *dsnFlag) where(c *command) string {
	if c.takesConfig {
		return fmt.Sprintf("%s: in the config, or %s", f.role, f.env())
	}
	return f.env()
}

func (f *dsnFlag) AddFlags(c *command) {
	c.fs.StringVar(&f.value, f.role, "", fmt.Sprintf("%s DSN (or %s)", f.role, f.where(c)))
}

// dsn is the DSN, or a usage error when none is given anywhere.
func (f *dsnFlag) dsn(c *command) (config.DSN, error) {
	var fromConfig config.DSN
	if f.role == "source" {
		fromConfig = c.cfg.Source
	} else {
		fromConfig = c.cfg.Target
	}
	v := firstNonEmpty(f.value, fromConfig.Value(), os.Getenv(f.env()))
	if v == "" {
		return "", failure.Errorf(failure.ExitUsage, fmt.Sprintf("give --%s (or %s)", f.role, f.where(c)), "missing %s DSN", f.role)
	}
	return config.DSN(v), nil
}

// rulesFlags are the key, and the flags that choose it or the scale, of job.Rules; the rules
// themselves are the config's.
type rulesFlags struct {
	random, scale bool // whether the command has --random, --scale
	keyFile       string
	randomKey     bool
	factor        int
}

func (f *rulesFlags) AddFlags(c *command) {
	c.fs.StringVar(&f.keyFile, "key-file", "", "file holding the anonymization key (else key: in the config, or UNDERSTUDY_KEY)")
	if f.random {
		c.fs.BoolVar(&f.randomKey, "random", false, "no key: draw a throwaway one, so fake values differ in every run (keys and joins still hold)")
	}
	if f.scale {
		c.fs.IntVar(&f.factor, "scale", 0, "write every table but scale.shared ones N times, with new keys per copy (overrides scale.factor)")
	}
}

func (f *rulesFlags) rules(c *command) (job.Rules, error) {
	key, err := loadKey(f.keyFile, c.cfg, f.randomKey)
	return job.Rules{Config: c.cfg, Key: key, Scale: f.factor}, err
}

// sourceFlags are job.SourceOptions: the source side of a copy (sync, snapshot).
type sourceFlags struct {
	dsnFlag
	rulesFlags
	allowUnmasked, noOwner, noPrivileges bool
	pgDump                               string
	chunkMiB                             int64
	// shareUnlessChunk: without --chunk-mib, only the tables bigger than their share of the
	// copy are cut (sync); otherwise every table bigger than a chunk is (snapshot).
	shareUnlessChunk bool
}

func newSourceFlags(shareUnlessChunk bool) *sourceFlags {
	return &sourceFlags{dsnFlag: dsnFlag{role: "source"}, rulesFlags: rulesFlags{random: true, scale: true}, shareUnlessChunk: shareUnlessChunk}
}

func (f *sourceFlags) AddFlags(c *command) {
	f.dsnFlag.AddFlags(c)
	f.rulesFlags.AddFlags(c)
	c.fs.BoolVar(&f.allowUnmasked, "allow-unmasked", false, "copy columns that look like personal data even though no rule covers them")
	c.fs.BoolVar(&f.noOwner, "no-owner", false, "leave ownership out of the schema (for a target without the source's roles)")
	c.fs.BoolVar(&f.noPrivileges, "no-privileges", false, "leave GRANTs out of the schema")
	c.fs.StringVar(&f.pgDump, "pg-dump", "", "path of pg_dump (default: the newest found)")
	chunk := "cut tables into chunks of this many MiB of heap"
	if f.shareUnlessChunk {
		chunk += "; when not given, only the tables bigger than their share of the copy"
	}
	c.fs.Int64Var(&f.chunkMiB, "chunk-mib", pipeline.DefaultChunkBytes>>20, chunk)
}

func (f *sourceFlags) options(c *command) (job.SourceOptions, error) {
	dsn, err := f.dsn(c)
	if err != nil {
		return job.SourceOptions{}, err
	}
	rules, err := f.rules(c)
	if err != nil {
		return job.SourceOptions{}, err
	}
	return job.SourceOptions{Source: dsn, Rules: rules, AllowUnmasked: f.allowUnmasked, PgDump: f.pgDump,
		NoOwner: f.noOwner, NoPrivileges: f.noPrivileges, ChunkBytes: f.chunkMiB << 20,
		ChunkShare: f.shareUnlessChunk && !c.given("chunk-mib")}, nil
}

// targetFlags are job.TargetOptions: a target database.
type targetFlags struct {
	dsnFlag
	replace bool
}

func newTargetFlags() *targetFlags { return &targetFlags{dsnFlag: dsnFlag{role: "target"}} }

func (f *targetFlags) AddFlags(c *command) {
	f.dsnFlag.AddFlags(c)
	c.fs.BoolVar(&f.replace, "replace", false, "drop what understudy manages in the target (the schemas it loads) and load again")
}

func (f *targetFlags) options(c *command) (job.TargetOptions, error) {
	dsn, err := f.dsn(c)
	return job.TargetOptions{Target: dsn, Replace: f.replace}, err
}

// runningFlags are job.Running: the flags of every command that moves rows.
type runningFlags struct {
	jobs       int
	reportPath string
	logFormat  string
	interval   time.Duration
}

func (f *runningFlags) AddFlags(c *command) {
	c.fs.IntVar(&f.jobs, "jobs", 0, "parallel workers (default: jobs: in the config, else the number of CPUs, at least 2)")
	c.fs.StringVar(&f.reportPath, "report", "", "write a JSON run report to this file")
	c.fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	c.fs.DurationVar(&f.interval, "progress-interval", 10*time.Second, "without a terminal, log progress this often (0: never)")
}

// running fills the shared options: progress live on a terminal, the summary to stdout.
func (f *runningFlags) running(c *command) (job.Running, error) {
	log, err := newLogger(f.logFormat, c.stderr)
	if err != nil {
		return job.Running{}, err
	}
	r := job.Running{Jobs: firstPositive(f.jobs, c.cfg.Jobs, max(runtime.NumCPU(), 2)), Log: log,
		ProgressInterval: f.interval, SummaryTo: c.stdout, ReportPath: f.reportPath}
	if fl, ok := c.stderr.(*os.File); ok && isTerminal(fl) {
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
	return nil, failure.Errorf(failure.ExitUsage, "", "--log-format must be text or json, not %q", format)
}

// loadKey finds the key: --key-file, else key: in the config, else UNDERSTUDY_KEY; with
// random, there must be none, and a throwaway one is drawn. A refused key's error says
// where it came from, never what it is.
func loadKey(keyFile string, cfg *config.Config, random bool) (*transforms.Key, error) {
	secret, from := "", ""
	switch {
	case keyFile != "":
		data, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, failure.Errorf(failure.ExitUsage, "", "--key-file: %v", err)
		}
		secret, from = strings.TrimRight(string(data), "\r\n"), "--key-file "+keyFile
		if secret == "" {
			return nil, failure.Errorf(failure.ExitUsage, transforms.KeyHint, "%s: the file is empty", from)
		}
	case cfg.Key.Value() != "":
		secret, from = cfg.Key.Value(), fmt.Sprintf("%s:%d: key", cfg.File, cfg.KeyLine)
		if cfg.KeyFrom != "" {
			from += " (" + cfg.KeyFrom + ")"
		}
	default:
		secret, from = os.Getenv("UNDERSTUDY_KEY"), "UNDERSTUDY_KEY"
	}
	switch {
	case random && secret != "":
		return nil, failure.Errorf(failure.ExitUsage, "drop --random to use the key, or unset it for a random run", "--random and a key exclude each other")
	case random:
		return transforms.NewRandomKey(), nil
	case secret == "":
		return nil, nil
	}
	k, err := transforms.NewKey(secret)
	if err != nil {
		return nil, failure.Errorf(failure.ExitUsage, transforms.KeyHint, "%s: %v", from, err)
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
