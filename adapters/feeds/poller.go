package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"entraide/core"
)

// Source is a feed of job offers or a calendar of events to import.
type Source struct {
	URL  string
	Kind core.ItemKind // core.KindOffer for a feed, core.KindEvent for a calendar
	// Community names the community its items belong to; empty for the
	// default one.
	Community string
}

// ParseSources reads a list of addresses separated by commas, spaces or new
// lines, all of kind kind, and checks each is an http or https address. An
// address may be preceded by a community's name and "=", such as
// "justice=https://example.gouv.fr/offres.rss": its items belong to that
// community (created when first polled), not to the default one.
func ParseSources(list string, kind core.ItemKind) ([]Source, error) {
	var out []Source
	for _, raw := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		community, addr, named := strings.Cut(raw, "=")
		if !named || strings.Contains(community, ":") {
			community, addr = "", raw
		} else if !core.ValidCommunityName(community) {
			return nil, fmt.Errorf("%q: community name %q: want lowercase letters, digits or dashes before the =", raw, community)
		}
		u, err := url.Parse(addr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http or https address", addr)
		}
		out = append(out, Source{URL: addr, Kind: kind, Community: community})
	}
	return out, nil
}

// Poller imports sources on a schedule into a network. What it imported is
// kept in the database before its position is: a crash between the two
// makes it import the same entries again, which changes nothing.
type Poller struct {
	Net     *core.Network
	Fetcher *Fetcher
	Sources []Source
	// Interval is the time between two polls of a source.
	Interval time.Duration
	// Horizon is how far ahead of now recurring events are expanded.
	Horizon time.Duration
	Log     *slog.Logger
}

// Defaults of a Poller.
const (
	DefaultInterval = time.Hour
	DefaultHorizon  = 180 * 24 * time.Hour
)

// Report says what one poll of a source did.
type Report struct {
	Source      Source
	NotModified bool
	Created     int
	Updated     int
	Unchanged   int
	Problems    []EntryError
}

// position is what a poller keeps of a source between polls.
type position struct {
	Validators Validators `json:"validators"`
	Polled     time.Time  `json:"polled"`
}

func checkpointKey(s Source) string { return "feeds/" + string(s.Kind) + "/" + s.URL }

func (p *Poller) interval() time.Duration {
	if p.Interval > 0 {
		return p.Interval
	}
	return DefaultInterval
}

func (p *Poller) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

func (p *Poller) position(ctx context.Context, s Source) (position, error) {
	var pos position
	raw, err := p.Net.Store().Checkpoint(ctx, checkpointKey(s))
	if err != nil || raw == "" {
		return pos, err
	}
	if err := json.Unmarshal([]byte(raw), &pos); err != nil {
		// A position we cannot read only costs a full fetch.
		return position{}, nil
	}
	return pos, nil
}

// Poll fetches one source and imports its entries. Entries that cannot be
// read are in the report's problems; the others are imported.
func (p *Poller) Poll(ctx context.Context, s Source) (Report, error) {
	rep := Report{Source: s}
	pos, err := p.position(ctx, s)
	if err != nil {
		return rep, fmt.Errorf("feeds: %s: %w", s.URL, err)
	}
	fetcher := p.Fetcher
	if fetcher == nil {
		fetcher = &Fetcher{}
	}
	body, next, notModified, err := fetcher.Fetch(ctx, s.URL, pos.Validators)
	if err != nil {
		return rep, err
	}
	now := p.Net.Clock().Now()
	rep.NotModified = notModified
	if !notModified {
		if err := p.importBody(ctx, s, body, now, &rep); err != nil {
			return rep, err
		}
	}
	raw, _ := json.Marshal(position{Validators: next, Polled: now})
	if err := p.Net.Store().SetCheckpoint(ctx, checkpointKey(s), string(raw)); err != nil {
		return rep, fmt.Errorf("feeds: %s: %w", s.URL, err)
	}
	return rep, nil
}

func (p *Poller) importBody(ctx context.Context, s Source, body []byte, now time.Time, rep *Report) error {
	var community core.CommunityID
	if s.Community != "" {
		c, err := p.Net.EnsureCommunity(ctx, s.Community)
		if err != nil {
			return fmt.Errorf("feeds: %s: %w", s.URL, err)
		}
		community = c.ID
	}
	count := func(created bool, before, after time.Time) {
		switch {
		case created:
			rep.Created++
		case !after.Equal(before):
			rep.Updated++
		default:
			rep.Unchanged++
		}
	}
	switch s.Kind {
	case core.KindOffer:
		offers, problems, err := ParseOffers(body, s.URL, now)
		if err != nil {
			return err
		}
		rep.Problems = problems
		for _, o := range offers {
			before := time.Time{}
			if old, err := p.Net.Store().OfferBySource(ctx, o.Source, o.SourceID); err == nil {
				before = old.Updated
			}
			stored, created, err := p.Net.ImportOffer(ctx, community, o)
			if errors.Is(err, core.ErrInvalid) {
				rep.Problems = append(rep.Problems, EntryError{ID: o.SourceID, Title: o.Title, Err: err})
				continue
			}
			if err != nil {
				return err
			}
			count(created, before, stored.Updated)
		}
	case core.KindEvent:
		horizon := p.Horizon
		if horizon <= 0 {
			horizon = DefaultHorizon
		}
		// Events of the last month stay in the calendar; older ones are
		// not imported.
		events, problems, err := ParseEvents(body, s.URL, now.AddDate(0, -1, 0), now.Add(horizon), now)
		if err != nil {
			return err
		}
		rep.Problems = problems
		for _, e := range events {
			before := time.Time{}
			if old, err := p.Net.Store().EventBySource(ctx, e.Source, e.SourceID); err == nil {
				before = old.Updated
			}
			stored, created, err := p.Net.ImportEvent(ctx, community, e)
			if errors.Is(err, core.ErrInvalid) {
				rep.Problems = append(rep.Problems, EntryError{ID: e.SourceID, Title: e.Title, Err: err})
				continue
			}
			if err != nil {
				return err
			}
			count(created, before, stored.Updated)
		}
	default:
		return fmt.Errorf("feeds: %s: unknown kind %q", s.URL, s.Kind)
	}
	return nil
}

// Run polls every source when due until ctx ends. A source that fails is
// logged and tried again at the next interval; Run itself fails only when
// ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	if len(p.Sources) == 0 {
		<-ctx.Done()
		return nil
	}
	for {
		wait := p.interval()
		for _, s := range p.Sources {
			pos, err := p.position(ctx, s)
			if err != nil {
				p.log().Warn("feed position unreadable", "source", s.URL, "err", err)
				continue
			}
			due := pos.Polled.Add(p.interval())
			now := p.Net.Clock().Now()
			if now.Before(due) {
				wait = min(wait, due.Sub(now))
				continue
			}
			rep, err := p.Poll(ctx, s)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				p.log().Warn("feed poll failed", "source", s.URL, "err", err)
				continue
			}
			for _, pb := range rep.Problems {
				p.log().Warn("feed entry skipped", "source", s.URL, "entry", pb.ID, "title", pb.Title, "err", pb.Err)
			}
			p.log().Info("feed polled", "source", s.URL, "kind", s.Kind, "not_modified", rep.NotModified,
				"created", rep.Created, "updated", rep.Updated, "unchanged", rep.Unchanged, "problems", len(rep.Problems))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(max(wait, time.Second)):
		}
	}
}
