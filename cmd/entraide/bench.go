package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"entraide/core/match/replay"
	"entraide/core/match/scale"
)

const benchUsage = `Usage: entraide bench <subcommand> [flags]

Subcommands:
  match   replay Stack Exchange event streams and report routing quality
  scale   build a synthetic corpus and report index build time, latency, heap
  load    drive the real adapters through their fakes under load and check
          that nothing is lost or duplicated

Run "entraide bench <subcommand> --help" for the flags of a subcommand.
`

// runBench runs the "bench" subcommand; args are the arguments after "bench".
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("bench: missing subcommand: use \"match\" or \"scale\"")
	}
	switch args[0] {
	case "match":
		return runBenchMatch(ctx, args[1:], stdout, stderr)
	case "scale":
		return runBenchScale(ctx, args[1:], stdout, stderr)
	case "load":
		return runBenchLoad(ctx, args[1:], os.Getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, benchUsage)
		return nil
	default:
		fmt.Fprint(stderr, benchUsage)
		return fmt.Errorf("bench: unknown subcommand %q: use \"match\" or \"scale\"", args[0])
	}
}

func runBenchMatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.String("events", "", "directory holding <site>/events.jsonl streams (required)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	budget := fs.Int("budget", 0, "also replay with at most N asks per expert per day (top 3 asked per question)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: entraide bench match --events DIR [--json] [--budget N]

Replays every DIR/<site>/events.jsonl in time order (one engine per site) and
reports MRR, recall@5 and precision@1 of the entraide router and of the
reference baselines (most_active, bm25, random), plus dedupe recall@5/MRR.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("bench match: %w", err)
	}
	if *events == "" {
		fs.Usage()
		return errors.New("bench match: --events DIR is required (e.g. --events ../shared/data/cqa)")
	}
	if *budget < 0 {
		return errors.New("bench match: --budget must be a positive number of asks per day")
	}
	rep, err := replay.Run(ctx, *events, replay.Options{Budget: *budget})
	if err != nil {
		return fmt.Errorf("bench match: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("bench match: write json: %w", err)
		}
		return nil
	}
	return writeMatchTables(stdout, rep)
}

func fmtF(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.3f", *p)
}

func writeMatchTables(w io.Writer, rep *replay.Report) error {
	rows := append([]string{"POOLED"}, rep.Sites...)
	var sb strings.Builder
	section := func(title string, fill func(tw *tabwriter.Writer)) {
		fmt.Fprintf(&sb, "%s\n", title)
		tw := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
		fill(tw)
		tw.Flush()
		sb.WriteString("\n")
	}
	section("Routing (candidates = earlier answerers minus the asker)", func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "site\tmethod\tn\tMRR\tR@5\tP@1")
		for _, site := range rows {
			for _, m := range replay.Methods() {
				mr, ok := rep.Methods[m]
				if !ok {
					continue
				}
				v := mr.Pooled
				if site != "POOLED" {
					v = mr.Sites[site]
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", site, m, v.N, fmtF(v.MRR), fmtF(v.R5), fmtF(v.P1))
			}
		}
	})
	section("Dedupe (gold = duplicate-link targets among earlier questions)", func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "site\tmethod\tn\tR@5\tMRR")
		for _, site := range rows {
			for _, m := range replay.DedupeMethods() {
				dr, ok := rep.Dedupe[m]
				if !ok {
					continue
				}
				v := dr.Pooled
				if site != "POOLED" {
					v = dr.Sites[site]
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", site, m, v.N, fmtF(v.R5), fmtF(v.MRR))
			}
		}
	})
	if b := rep.Budget; b != nil {
		title := fmt.Sprintf("Budget: top 3 asked per question, at most %d asks per expert per day (%d asks, max %d per expert-day)",
			b.NPerDay, b.Asked, b.AskedMaxPerDay)
		section(title, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "site\tmethod\tn\tMRR\tR@5\tP@1")
			sites := make([]string, 0, len(b.Entraide.Sites))
			for s := range b.Entraide.Sites {
				sites = append(sites, s)
			}
			sort.Strings(sites)
			for _, site := range append([]string{"POOLED"}, sites...) {
				v := b.Entraide.Pooled
				if site != "POOLED" {
					v = b.Entraide.Sites[site]
				}
				fmt.Fprintf(tw, "%s\tentraide\t%d\t%s\t%s\t%s\n", site, v.N, fmtF(v.MRR), fmtF(v.R5), fmtF(v.P1))
			}
		})
	}
	if _, err := io.WriteString(w, sb.String()); err != nil {
		return fmt.Errorf("bench match: write table: %w", err)
	}
	return nil
}

func runBenchScale(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	experts := fs.Int("experts", 100000, "number of synthetic experts")
	questions := fs.Int("questions", 1000000, "number of synthetic archived questions")
	queries := fs.Int("queries", 2000, "number of timed Rank and Similar queries")
	seed := fs.Int64("seed", 1, "random seed of the synthetic corpus")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: entraide bench scale [--experts N] [--questions M] [--json]

Builds a deterministic synthetic corpus of French-like questions answered by
N experts, indexes M questions, then times Rank and Similar and reports the
Go heap in use after a garbage collection.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("bench scale: %w", err)
	}
	if *experts <= 0 || *questions <= 0 || *queries <= 0 {
		return errors.New("bench scale: --experts, --questions and --queries must be positive")
	}
	rep, err := scale.Run(ctx, scale.Options{Experts: *experts, Questions: *questions, Queries: *queries, Seed: *seed})
	if err != nil {
		return fmt.Errorf("bench scale: %w", err)
	}
	if *asJSON {
		b, err := json.Marshal(rep)
		if err != nil {
			return fmt.Errorf("bench scale: encode json: %w", err)
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "experts        %d\n", rep.Experts)
	fmt.Fprintf(&sb, "questions      %d\n", rep.Questions)
	fmt.Fprintf(&sb, "build          %.2f s\n", rep.BuildS)
	fmt.Fprintf(&sb, "route   p50    %.3f ms   p99 %.3f ms\n", rep.RouteP50, rep.RouteP99)
	fmt.Fprintf(&sb, "similar p50    %.3f ms   p99 %.3f ms\n", rep.SimilarP50, rep.SimilarP99)
	fmt.Fprintf(&sb, "heap live      %.1f MB (HeapAlloc after GC; in-use spans %.1f MB)\n", rep.HeapMB, rep.HeapSpans)
	_, err = io.WriteString(stdout, sb.String())
	return err
}
