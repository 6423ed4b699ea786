package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/understudy-dev/understudy/pipeline/failure"
	"github.com/understudy-dev/understudy/pipeline/job"
	"github.com/understudy-dev/understudy/pipeline/snapshot"
	"github.com/understudy-dev/understudy/pipeline/store"
	"github.com/understudy-dev/understudy/pipeline/store/location"
)

func openStore(ctx context.Context, flagName, loc string) (store.Store, error) {
	if loc == "" {
		return nil, failure.Errorf(failure.ExitUsage, "e.g. "+flagName+" ./snap or "+flagName+" s3://bucket/prefix", "missing %s", flagName)
	}
	s, err := location.Open(ctx, loc)
	if err != nil {
		return nil, failure.WithCode(failure.ExitUsage, "", fmt.Errorf("%s: %w", flagName, err))
	}
	return s, nil
}

func runSnapshot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("snapshot", "snapshot --source DSN --to DIR|s3://bucket/prefix [--config FILE] [--jobs N] [flags]", stdout, stderr).withConfig("config file (YAML)")
	var (
		sf          = newSourceFlags(false)
		rf          runningFlags
		o           = job.SnapshotOptions{Tool: version}
		to          = c.fs.String("to", "", "where to write: a directory, file:///abs/path, or s3://bucket/prefix")
		signKeyFile = c.fs.String("sign-key-file", "", "file holding the key that signs the manifest (else UNDERSTUDY_SIGN_KEY; none: unsigned)")
	)
	c.add(sf, &rf)
	c.fs.BoolVar(&o.Resume, "resume", false, "finish an unfinished snapshot at --to, keeping the chunks it completed")
	c.fs.BoolVar(&o.Replace, "replace", false, "overwrite a finished snapshot at --to")
	if err := c.parse(args); err != nil {
		return err
	}
	var err error
	if o.Running, err = rf.running(c); err != nil {
		return err
	}
	if o.SourceOptions, err = sf.options(c); err != nil {
		return err
	}
	if o.SignKey, err = loadSignKey(*signKeyFile); err != nil {
		return err
	}
	if o.To, err = openStore(ctx, "--to", *to); err != nil {
		return err
	}
	_, err = job.Snapshot(ctx, o)
	return err
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("restore", "restore --from DIR|s3://bucket/prefix --target DSN [--jobs N] [--tables a,b] [flags]", stdout, stderr).
		withConfig("config file: its scale section (shared tables, jitter) applies; its rules ran when the snapshot was taken")
	var (
		tf      = newTargetFlags()
		rules   = rulesFlags{scale: true}
		rf      runningFlags
		from    = c.fs.String("from", "", "the snapshot: a directory, file:///abs/path, or s3://bucket/prefix")
		tables  = c.fs.String("tables", "", "restore only these tables' rows (comma-separated schema.table; the schema is created whole)")
		signKey = c.fs.String("sign-key-file", "", "file holding the sign key: refuse a snapshot not signed with it (else UNDERSTUDY_SIGN_KEY)")
	)
	c.add(tf, &rules, &rf)
	c.describe("key-file", "file holding the key that keys scaled uuid keys, jitter and the copies' fresh values (else key: in the config, or UNDERSTUDY_KEY)")
	if err := c.parse(args); err != nil {
		return err
	}
	var (
		o   job.RestoreOptions
		err error
	)
	if o.TargetOptions, err = tf.options(c); err != nil {
		return err
	}
	if o.Running, err = rf.running(c); err != nil {
		return err
	}
	if o.From, err = openStore(ctx, "--from", *from); err != nil {
		return err
	}
	for _, t := range strings.Split(*tables, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.Tables = append(o.Tables, t)
		}
	}
	if o.Rules, err = rules.rules(c); err != nil { // no key: scaling then uses a published one
		return err
	}
	if o.SignKey, err = loadSignKey(*signKey); err != nil {
		return err
	}
	return job.Restore(ctx, o)
}

// loadSignKey reads the sign key from file, else UNDERSTUDY_SIGN_KEY; nil when neither is set.
// The key is never taken from the command line, where process listings show it.
func loadSignKey(file string) (*snapshot.SignKey, error) {
	secret := os.Getenv("UNDERSTUDY_SIGN_KEY")
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, failure.Errorf(failure.ExitUsage, "", "--sign-key-file: %v", err)
		}
		secret = strings.TrimRight(string(data), "\r\n")
	}
	if secret == "" {
		return nil, nil
	}
	k, err := snapshot.NewSignKey([]byte(secret))
	if err != nil {
		return nil, failure.Errorf(failure.ExitUsage, "", "sign key: %v", err)
	}
	return k, nil
}

// runSnapshots is 'snapshots list LOCATION' and 'snapshots show LOCATION'.
func runSnapshots(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "list" && args[0] != "show" {
		return failure.Errorf(failure.ExitUsage, "understudy snapshots list s3://bucket/ | understudy snapshots show s3://bucket/prefix",
			"snapshots takes list or show, and a location")
	}
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
