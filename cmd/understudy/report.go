package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/understudy-dev/understudy/pipeline"
	"github.com/understudy-dev/understudy/pipeline/config"
	// Aliased: main already has a func report (print an error, return its exit code).
	"github.com/understudy-dev/understudy/pipeline/failure"
	rep "github.com/understudy-dev/understudy/pipeline/report"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommand("report", "report --source DSN --target DSN [--config FILE] [--show-values] [--html FILE] [--json FILE] [--scale N] [--shared schema.table,...] [--bounded schema.table.column,...] [--check] [--sample-above N] [--sample-rows N]", stdout, stderr).
		withConfig("the config the target was made with: columns under its rules are personal, judged by their shape")
	source, target := dsnFlag{role: "source"}, dsnFlag{role: "target"}
	c.add(&source, &target)
	fs := c.fs
	showValues := fs.Bool("show-values", false, "print the values of personal columns (by default masked or left out)")
	htmlPath := fs.String("html", "", "also write a self-contained HTML page with plots to this file")
	jsonPath := fs.String("json", "", "also write the stats and findings as JSON to this file")
	scale := fs.Int("scale", 1, "the target was scaled up by N: expect N × the rows of every table but --shared ones")
	shared := fs.String("shared", "", "comma-separated schema.table list of tables copied once under --scale")
	bounded := fs.String("bounded", "", "comma-separated schema.table.column list of columns whose values come from a small fixed set (last four digits), so their distinct ratio falls as a table grows: not checked")
	check := fs.Bool("check", false, "exit 1 when a check fails")
	sampleAbove := fs.Int64("sample-above", rep.DefaultSampleAbove, "tables with more rows get distinct counts and quantiles from a sample (-1: never)")
	sampleRows := fs.Int64("sample-rows", rep.DefaultSampleRows, "rows in that sample")
	if err := c.parse(args); err != nil {
		return err
	}
	var cfg *config.Config // nil without --config: report.Run then judges by the PII detector alone
	if c.configPath != "" {
		cfg = c.cfg
	}
	src, err := source.dsn(c)
	if err != nil {
		return err
	}
	dst, err := target.dsn(c)
	if err != nil {
		return err
	}
	if *scale < 1 {
		return failure.Errorf(failure.ExitUsage, "", "--scale: %d is not a positive factor", *scale)
	}
	if *sampleAbove < -1 {
		return failure.Errorf(failure.ExitUsage, "", "--sample-above: %d is not a row count (-1: never sample)", *sampleAbove)
	}
	opts := rep.CompareOptions{Scale: *scale}
	for _, s := range strings.Split(*shared, ",") {
		if s = strings.TrimSpace(s); s != "" {
			opts.Shared = append(opts.Shared, s)
		}
	}
	for _, s := range strings.Split(*bounded, ",") {
		if s = strings.TrimSpace(s); s != "" {
			opts.Bounded = append(opts.Bounded, s)
		}
	}
	if err := opts.Validate(); err != nil {
		return failure.WithCode(failure.ExitUsage, "", err)
	}
	if cfg == nil {
		fmt.Fprintln(stderr, "understudy: report without --config: only the PII detector decides which columns are personal; columns rewritten by rules it does not flag are compared by their values")
	}
	r, err := rep.Run(ctx, rep.RunOptions{Source: src, Target: dst, Config: cfg, ShowValues: *showValues,
		Compare: opts, Collect: rep.Options{SampleAbove: *sampleAbove, SampleRows: *sampleRows}})
	if err != nil {
		return err
	}
	if err := rep.WriteText(stdout, r); err != nil {
		return err
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer, *rep.Report) error
	}{{*htmlPath, rep.WriteHTML}, {*jsonPath, rep.WriteJSON}} {
		if out.path == "" {
			continue
		}
		var buf bytes.Buffer
		if err := out.write(&buf, r); err != nil {
			return err
		}
		if err := pipeline.WritePrivateFile(out.path, buf.Bytes()); err != nil {
			return failure.Errorf(failure.ExitFailed, "", "write report: %v", err)
		}
	}
	if n := r.Failed(); *check && n > 0 {
		return failure.Errorf(failure.ExitFailed, "the target's data is not shaped like the source's: see FAILED above",
			"report: %d of %d checks failed", n, len(r.Findings))
	}
	return nil
}
