package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Animating a community: roles, the digest animators prepare and publish,
// and the figures they need.

// Role is what a person may do in a community beyond asking and answering.
type Role string

// The roles given explicitly. Members and experts need no role: whoever
// writes is a member, whoever joins the directory an expert.
const (
	// RoleAnimator prepares and publishes digests and sees the figures.
	RoleAnimator Role = "animator"
	// RoleAdmin is an animator who also gives and takes roles.
	RoleAdmin Role = "admin"
)

// Valid reports whether r is a role that can be given.
func (r Role) Valid() bool { return r == RoleAnimator || r == RoleAdmin }

// isAdmin reports whether who is an administrator of every community by
// configuration.
func (n *Network) isAdmin(who Identity) bool {
	for _, a := range n.cfg.Admins {
		if a == who {
			return true
		}
	}
	return false
}

// RolesOf returns who's roles in a community: RoleAdmin for configured
// administrators, then those given in the store.
func (n *Network) RolesOf(ctx context.Context, who Identity, community CommunityID) ([]Role, error) {
	var roles []Role
	if n.isAdmin(who) {
		roles = append(roles, RoleAdmin)
	}
	p, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return roles, nil
	}
	if err != nil {
		return nil, fmt.Errorf("core: roles: %w", err)
	}
	stored, err := n.store.RolesOf(ctx, community, p.ID)
	if err != nil {
		return nil, fmt.Errorf("core: roles: %w", err)
	}
	for _, r := range stored {
		if !containsRole(roles, r) {
			roles = append(roles, r)
		}
	}
	return roles, nil
}

func containsRole(roles []Role, r Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// CanAnimate reports whether who is an animator or an administrator of the
// community.
func (n *Network) CanAnimate(ctx context.Context, who Identity, community CommunityID) (bool, error) {
	roles, err := n.RolesOf(ctx, who, community)
	return containsRole(roles, RoleAnimator) || containsRole(roles, RoleAdmin), err
}

// CommunityOf returns the community of a room (the default one for the
// zero Room, a direct conversation).
func (n *Network) CommunityOf(ctx context.Context, room Room) (CommunityID, error) {
	return n.store.EnsureRoom(ctx, room, n.clock.Now())
}

// Grant gives role to target in community. Only an administrator may; it
// fails with ErrForbidden otherwise.
func (n *Network) Grant(ctx context.Context, by Identity, community CommunityID, target Identity, role Role, grant bool) (Person, error) {
	if !role.Valid() {
		return Person{}, fmt.Errorf("%w: role %q", ErrInvalid, role)
	}
	if err := target.Validate(); err != nil {
		return Person{}, err
	}
	roles, err := n.RolesOf(ctx, by, community)
	if err != nil {
		return Person{}, err
	}
	if !containsRole(roles, RoleAdmin) {
		return Person{}, fmt.Errorf("core: grant: %w: %s is not an administrator", ErrForbidden, by)
	}
	now := n.clock.Now()
	p, err := n.store.EnsurePerson(ctx, target, "", now)
	if err != nil {
		return Person{}, fmt.Errorf("core: grant: %w", err)
	}
	if grant {
		err = n.store.SetRole(ctx, community, p.ID, role, now)
	} else {
		err = n.store.DeleteRole(ctx, community, p.ID, role)
	}
	if err != nil {
		return Person{}, fmt.Errorf("core: grant: %w", err)
	}
	return p, nil
}

// Animators returns who animates a community: the people given the animator
// or admin role there, and the configured administrators.
func (n *Network) Animators(ctx context.Context, community CommunityID) ([]Person, error) {
	seen := map[PersonID]bool{}
	var out []Person
	for _, role := range []Role{RoleAnimator, RoleAdmin} {
		ids, err := n.store.RoleHolders(ctx, community, role)
		if err != nil {
			return nil, fmt.Errorf("core: animators: %w", err)
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			p, err := n.store.Person(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("core: animators: %w", err)
			}
			seen[id] = true
			out = append(out, p)
		}
	}
	for _, who := range n.cfg.Admins {
		// A configured administrator may never have written yet: they are
		// known from now on, so that drafts reach them.
		p, err := n.store.EnsurePerson(ctx, who, "", n.clock.Now())
		if err != nil {
			return nil, fmt.Errorf("core: animators: %w", err)
		}
		if !seen[p.ID] {
			seen[p.ID] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out, nil
}

// Schedule says when something recurs: at a time of day, on some days of
// the week, in the network's time zone. It is written "mon 09:00",
// "lun,jeu 8h30", "daily 18:00" or "quotidien 7h".
type Schedule struct {
	Days         [7]bool // by time.Weekday
	Hour, Minute int
}

var scheduleDays = map[string][]time.Weekday{
	"mon": {time.Monday}, "lun": {time.Monday}, "lundi": {time.Monday}, "monday": {time.Monday},
	"tue": {time.Tuesday}, "mar": {time.Tuesday}, "mardi": {time.Tuesday}, "tuesday": {time.Tuesday},
	"wed": {time.Wednesday}, "mer": {time.Wednesday}, "mercredi": {time.Wednesday}, "wednesday": {time.Wednesday},
	"thu": {time.Thursday}, "jeu": {time.Thursday}, "jeudi": {time.Thursday}, "thursday": {time.Thursday},
	"fri": {time.Friday}, "ven": {time.Friday}, "vendredi": {time.Friday}, "friday": {time.Friday},
	"sat": {time.Saturday}, "sam": {time.Saturday}, "samedi": {time.Saturday}, "saturday": {time.Saturday},
	"sun": {time.Sunday}, "dim": {time.Sunday}, "dimanche": {time.Sunday}, "sunday": {time.Sunday},
	"daily": allDays, "quotidien": allDays, "everyday": allDays, "tous": allDays,
	"weekdays": workDays, "ouvres": workDays, "semaine": workDays,
}

var (
	allDays  = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	workDays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
)

// ParseSchedule reads a schedule such as "mon 09:00".
func ParseSchedule(s string) (Schedule, error) {
	var sc Schedule
	fields := strings.Fields(strings.ReplaceAll(Fold(strings.ReplaceAll(strings.ReplaceAll(s, ":", "h"), ",", " ")), " h ", "h"))
	if len(fields) < 2 {
		return sc, fmt.Errorf("%w: schedule %q: want days then a time, such as \"mon 09:00\"", ErrInvalid, s)
	}
	clock := fields[len(fields)-1]
	h, m, ok := strings.Cut(clock, "h")
	hour, err1 := strconv.Atoi(h)
	minute, err2 := 0, error(nil)
	if ok && m != "" {
		minute, err2 = strconv.Atoi(m)
	}
	if err1 != nil || err2 != nil || hour < 0 || hour > 23 || minute < 0 || minute > 59 || (!ok && len(h) > 2) {
		return sc, fmt.Errorf("%w: schedule %q: time %q: want 09:00 or 9h", ErrInvalid, s, clock)
	}
	sc.Hour, sc.Minute = hour, minute
	for _, d := range fields[:len(fields)-1] {
		days, known := scheduleDays[d]
		if !known {
			return sc, fmt.Errorf("%w: schedule %q: day %q: want mon, tue... or daily", ErrInvalid, s, d)
		}
		for _, day := range days {
			sc.Days[day] = true
		}
	}
	return sc, nil
}

// String writes the schedule back, such as "mon 09:00".
func (s Schedule) String() string {
	names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	var days []string
	for d, on := range s.Days {
		if on {
			days = append(days, names[d])
		}
	}
	if len(days) == 7 {
		days = []string{"daily"}
	}
	return fmt.Sprintf("%s %02d:%02d", strings.Join(days, ","), s.Hour, s.Minute)
}

// Next returns the first time of the schedule strictly after after, in loc.
func (s Schedule) Next(after time.Time, loc *time.Location) time.Time {
	t := after.In(loc)
	for i := 0; i < 8; i++ {
		day := time.Date(t.Year(), t.Month(), t.Day()+i, s.Hour, s.Minute, 0, 0, loc)
		if s.Days[day.Weekday()] && day.After(after) {
			return day
		}
	}
	return time.Time{} // no day set: never
}

// DigestConfig says when communities' digests are prepared and published.
type DigestConfig struct {
	// Publish is when digests are published: "mon 09:00" by default.
	Publish Schedule
	// DraftAhead is how long before publication the draft goes to the
	// animators.
	DraftAhead time.Duration
	// MaxItems bounds each section of a digest.
	MaxItems int
}

// DefaultDigestConfig returns the settings used when none are given.
func DefaultDigestConfig() DigestConfig {
	s, _ := ParseSchedule("mon 09:00")
	return DigestConfig{Publish: s, DraftAhead: 24 * time.Hour, MaxItems: 5}
}

// Validate reports settings out of range.
func (c DigestConfig) Validate() error {
	if c.Publish.Next(time.Unix(0, 0), time.UTC).IsZero() {
		return fmt.Errorf("%w: digest schedule names no day", ErrInvalid)
	}
	if c.DraftAhead < 0 || c.DraftAhead > 7*24*time.Hour {
		return fmt.Errorf("%w: digest draft ahead %s: want 0 to 7 days", ErrInvalid, c.DraftAhead)
	}
	if c.MaxItems < 1 || c.MaxItems > 20 {
		return fmt.Errorf("%w: digest items %d: want 1 to 20 per section", ErrInvalid, c.MaxItems)
	}
	return nil
}

// DigestID identifies a community digest in the store.
type DigestID int64

// DigestSection says which part of a digest an item belongs to.
type DigestSection string

// The sections of a digest, in the order they are shown.
const (
	SectionResolved DigestSection = "resolved" // questions resolved in the period, worth reading
	SectionWaiting  DigestSection = "waiting"  // questions still waiting for an expert
	SectionExperts  DigestSection = "experts"  // people who joined the expert directory
	SectionOffers   DigestSection = "offers"   // job offers posted in the period
	SectionEvents   DigestSection = "events"   // events in the coming two weeks
)

// DigestSections lists the sections in the order they are shown.
var DigestSections = []DigestSection{SectionResolved, SectionWaiting, SectionExperts, SectionOffers, SectionEvents}

// DigestItem is one line of a digest.
type DigestItem struct {
	Section DigestSection `json:"section"`
	// Ref is the id of the question, person, offer or event.
	Ref    int64  `json:"ref"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	// Removed items stay in the draft, struck out, until publication.
	Removed bool `json:"removed,omitempty"`
}

// DigestState is where a digest stands.
type DigestState string

// The states of a digest.
const (
	DigestDraft     DigestState = "draft"
	DigestPublished DigestState = "published"
)

// CommunityDigest is what a community's animators publish for a period.
type CommunityDigest struct {
	ID          DigestID
	Community   CommunityID
	PeriodStart time.Time
	PeriodEnd   time.Time // the planned publication
	// Intro is the animators' word at the top of the digest.
	Intro       string
	Items       []DigestItem
	State       DigestState
	PublishedAt time.Time
	// Editor is the last animator who changed the draft; 0 for none.
	Editor  PersonID
	Updated time.Time
}

// Kept returns the items not removed.
func (d CommunityDigest) Kept() []DigestItem {
	var out []DigestItem
	for _, it := range d.Items {
		if !it.Removed {
			out = append(out, it)
		}
	}
	return out
}

// MaxIntroLen bounds the animators' word, in bytes.
const MaxIntroLen = 2000

// The jobs of community digests.
const (
	// JobDraftDigest drafts the digest of every community and sends the
	// drafts to the animators.
	JobDraftDigest = "draft-digest"
	// JobPublishDigest publishes one digest, unless it already was.
	JobPublishDigest = "publish-digest"
)

type draftJob struct {
	Publish time.Time `json:"publish"`
}

// DraftDigestJob returns the job that drafts the digests to publish at
// publish.
func (n *Network) DraftDigestJob(publish time.Time) Job {
	payload, _ := json.Marshal(draftJob{Publish: publish.UTC()})
	return Job{Kind: JobDraftDigest, Key: "draft-digest/" + publish.UTC().Format(time.RFC3339),
		RunAt: publish.Add(-n.cfg.Digest.DraftAhead), Payload: string(payload)}
}

type publishJob struct {
	Digest DigestID `json:"digest"`
}

// PublishDigestJob returns the job that publishes digest id at at; now
// tells apart an early publication asked by an animator.
func PublishDigestJob(id DigestID, at time.Time, now bool) Job {
	payload, _ := json.Marshal(publishJob{Digest: id})
	key := fmt.Sprintf("publish-digest/%d", id)
	if now {
		key += "/now/" + strconv.FormatInt(at.UnixNano(), 10)
	}
	return Job{Kind: JobPublishDigest, Key: key, RunAt: at, Payload: string(payload)}
}

// NextPublish returns the first publication time of digests after after.
func (n *Network) NextPublish(after time.Time) time.Time {
	return n.cfg.Digest.Publish.Next(after, n.Location())
}

// ScheduleCommunityDigests schedules the drafting of the next digests; it
// is idempotent, so every process may call it at start.
func (n *Network) ScheduleCommunityDigests(ctx context.Context) error {
	next := n.NextPublish(n.clock.Now().Add(n.cfg.Digest.DraftAhead))
	if next.IsZero() {
		return nil
	}
	if err := n.store.ScheduleJob(ctx, n.DraftDigestJob(next)); err != nil {
		return fmt.Errorf("core: schedule digests: %w", err)
	}
	return nil
}

// Drafted is what a JobDraftDigest job did: for each community, its draft
// and the animators to send it to.
type Drafted struct {
	Digest    CommunityDigest
	Animators []Person
}

// DraftDigests runs a JobDraftDigest job: it drafts the digest of every
// community for the period ending at the job's publication time, schedules
// their publication and the next drafting. A digest already drafted for
// the period is kept as it is (the job ran again after a crash).
func (n *Network) DraftDigests(ctx context.Context, j Job) ([]Drafted, error) {
	var p draftJob
	if j.Kind != JobDraftDigest {
		return nil, fmt.Errorf("%w: job %s is not a digest draft", ErrInvalid, j.Key)
	}
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil || p.Publish.IsZero() {
		return nil, fmt.Errorf("%w: digest draft job %s: payload %q", ErrInvalid, j.Key, j.Payload)
	}
	now := n.clock.Now()
	next := n.cfg.Digest.Publish.Next(p.Publish, n.Location())
	if !next.IsZero() {
		if err := n.store.ScheduleJob(ctx, n.DraftDigestJob(next)); err != nil {
			return nil, fmt.Errorf("core: draft digests: %w", err)
		}
	}
	communities, err := n.store.Communities(ctx)
	if err != nil {
		return nil, fmt.Errorf("core: draft digests: %w", err)
	}
	var out []Drafted
	for _, c := range communities {
		d, err := n.draft(ctx, c.ID, p.Publish, now)
		if errors.Is(err, ErrConflict) {
			continue // drafted before a crash: its messages are in the outbox
		}
		if err != nil {
			return nil, err
		}
		if err := n.store.ScheduleJob(ctx, PublishDigestJob(d.ID, d.PeriodEnd, false)); err != nil {
			return nil, fmt.Errorf("core: draft digests: %w", err)
		}
		animators, err := n.Animators(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, Drafted{Digest: d, Animators: animators})
	}
	return out, nil
}

// draft builds and stores the digest of community for the period ending
// at publish.
func (n *Network) draft(ctx context.Context, community CommunityID, publish, now time.Time) (CommunityDigest, error) {
	start := publish.AddDate(0, 0, -7)
	if prev, err := n.store.LatestDigest(ctx, community); err == nil && prev.PeriodEnd.Before(publish) && prev.PeriodEnd.After(start.AddDate(0, 0, -31)) {
		start = prev.PeriodEnd
	}
	max := n.cfg.Digest.MaxItems
	var items []DigestItem
	act, err := n.store.Activity(ctx, community, start.AddDate(-1, 0, 0), publish)
	if err != nil {
		return CommunityDigest{}, fmt.Errorf("core: draft digest: %w", err)
	}
	answers := map[QuestionID][]Answer{}
	for _, a := range act.Answers {
		answers[a.Question] = append(answers[a.Question], a)
	}
	var resolved, waiting []DigestItem
	for i := len(act.Questions) - 1; i >= 0; i-- { // newest first
		q := act.Questions[i]
		switch {
		case q.State == StateResolved && !q.UpdatedAt.Before(start) && len(resolved) < max:
			detail := ""
			if as := answers[q.ID]; len(as) > 0 {
				detail = excerptOf(as[0].Text, 300)
			}
			resolved = append(resolved, DigestItem{Section: SectionResolved, Ref: int64(q.ID), Title: excerptOf(q.Text, 200), Detail: detail})
		case (q.State == StateOpen || q.State == StateRouted) && len(answers[q.ID]) == 0 && len(waiting) < max:
			waiting = append(waiting, DigestItem{Section: SectionWaiting, Ref: int64(q.ID), Title: excerptOf(q.Text, 200),
				Detail: q.CreatedAt.UTC().Format(time.RFC3339)})
		}
	}
	items = append(items, resolved...)
	items = append(items, waiting...)
	experts, err := n.store.Experts(ctx)
	if err != nil {
		return CommunityDigest{}, fmt.Errorf("core: draft digest: %w", err)
	}
	added := 0
	for _, e := range experts {
		if added == max || e.UpdatedAt.Before(start) || !e.UpdatedAt.Before(publish) {
			continue
		}
		p, err := n.store.Person(ctx, e.Person)
		if err != nil {
			return CommunityDigest{}, fmt.Errorf("core: draft digest: %w", err)
		}
		items = append(items, DigestItem{Section: SectionExperts, Ref: int64(p.ID), Title: p.Name(), Detail: strings.Join(e.Topics, ", ")})
		added++
	}
	offers, err := n.store.OffersPostedSince(ctx, start, publish)
	if err != nil {
		return CommunityDigest{}, fmt.Errorf("core: draft digest: %w", err)
	}
	added = 0
	for _, o := range offers {
		if o.Community == community && added < max {
			items = append(items, DigestItem{Section: SectionOffers, Ref: int64(o.ID), Title: o.Title, Detail: joinNonEmpty(", ", o.Employer, o.Location)})
			added++
		}
	}
	events, err := n.store.EventsBetween(ctx, community, publish, publish.AddDate(0, 0, 14), max)
	if err != nil {
		return CommunityDigest{}, fmt.Errorf("core: draft digest: %w", err)
	}
	for _, e := range events {
		items = append(items, DigestItem{Section: SectionEvents, Ref: int64(e.ID), Title: e.Title, Detail: e.Start.UTC().Format(time.RFC3339)})
	}
	d := CommunityDigest{Community: community, PeriodStart: start, PeriodEnd: publish, Items: items, State: DigestDraft, Updated: now}
	return n.store.CreateDigest(ctx, d)
}

func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// Digest returns one digest, for who, who must animate its community.
func (n *Network) Digest(ctx context.Context, who Identity, id DigestID) (CommunityDigest, error) {
	d, err := n.store.Digest(ctx, id)
	if err != nil {
		return CommunityDigest{}, fmt.Errorf("core: digest: %w", err)
	}
	if ok, err := n.CanAnimate(ctx, who, d.Community); err != nil || !ok {
		return CommunityDigest{}, forbidden(err, who)
	}
	return d, nil
}

// LatestDigest returns the latest digest of a community, for who, who must
// animate it.
func (n *Network) LatestDigest(ctx context.Context, who Identity, community CommunityID) (CommunityDigest, error) {
	if ok, err := n.CanAnimate(ctx, who, community); err != nil || !ok {
		return CommunityDigest{}, forbidden(err, who)
	}
	d, err := n.store.LatestDigest(ctx, community)
	if err != nil {
		return CommunityDigest{}, fmt.Errorf("core: digest: %w", err)
	}
	return d, nil
}

func forbidden(err error, who Identity) error {
	if err != nil {
		return fmt.Errorf("core: digest: %w", err)
	}
	return fmt.Errorf("core: digest: %w: %s does not animate this community", ErrForbidden, who)
}

// DigestEdit is a change an animator makes to a draft.
type DigestEdit struct {
	// Intro replaces the animators' word when not nil.
	Intro *string
	// Remove and Restore are positions in Items, from 1.
	Remove, Restore []int
}

// EditDigest changes a draft. It fails with ErrForbidden for who does not
// animate the community, ErrConflict once the digest is published, and
// ErrInvalid for a position out of range or too long an intro.
func (n *Network) EditDigest(ctx context.Context, who Identity, id DigestID, edit DigestEdit) (CommunityDigest, error) {
	var d CommunityDigest
	err := n.store.InTx(ctx, func(tx Store) error {
		// Everything in the transaction goes through tx: SQLite has one
		// connection, which the transaction holds.
		bound := *n
		bound.store = tx
		var err error
		if d, err = tx.Digest(ctx, id); err != nil {
			return err
		}
		if ok, err := bound.CanAnimate(ctx, who, d.Community); err != nil || !ok {
			return forbidden(err, who)
		}
		if d.State != DigestDraft {
			return fmt.Errorf("%w: digest %d is already published", ErrConflict, id)
		}
		if edit.Intro != nil {
			intro, err := cleanText("intro", *edit.Intro, MaxIntroLen)
			if err != nil {
				return err
			}
			d.Intro = intro
		}
		for _, set := range []struct {
			positions []int
			removed   bool
		}{{edit.Remove, true}, {edit.Restore, false}} {
			for _, i := range set.positions {
				if i < 1 || i > len(d.Items) {
					return fmt.Errorf("%w: digest %d has no item %d (1 to %d)", ErrInvalid, id, i, len(d.Items))
				}
				d.Items[i-1].Removed = set.removed
			}
		}
		person, err := tx.PersonByIdentity(ctx, who)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		d.Editor, d.Updated = person.ID, n.clock.Now()
		return tx.UpdateDigest(ctx, d)
	})
	if err != nil {
		return CommunityDigest{}, fmt.Errorf("core: edit digest: %w", err)
	}
	return d, nil
}

// PublishDigestNow asks for a draft to be published at once rather than
// at its planned time. Publication itself is a job, so it happens exactly
// once however many times it is asked.
func (n *Network) PublishDigestNow(ctx context.Context, who Identity, id DigestID) (CommunityDigest, error) {
	d, err := n.Digest(ctx, who, id)
	if err != nil {
		return CommunityDigest{}, err
	}
	if d.State != DigestDraft {
		return CommunityDigest{}, fmt.Errorf("core: publish digest: %w: digest %d is already published", ErrConflict, id)
	}
	if err := n.store.ScheduleJob(ctx, PublishDigestJob(id, n.clock.Now(), true)); err != nil {
		return CommunityDigest{}, fmt.Errorf("core: publish digest: %w", err)
	}
	return d, nil
}

// Publication is what a JobPublishDigest job does: the digest, now
// published, and the rooms to post it in. Digest.ID is 0 when there is
// nothing to do (it was published already).
type Publication struct {
	Digest CommunityDigest
	Rooms  []Room
}

// PublishDigest runs a JobPublishDigest job: it marks the digest published,
// once, and returns the rooms of its community that announce digests.
func (n *Network) PublishDigest(ctx context.Context, j Job) (Publication, error) {
	var p publishJob
	if j.Kind != JobPublishDigest {
		return Publication{}, fmt.Errorf("%w: job %s is not a digest publication", ErrInvalid, j.Key)
	}
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil || p.Digest <= 0 {
		return Publication{}, fmt.Errorf("%w: digest publication job %s: payload %q", ErrInvalid, j.Key, j.Payload)
	}
	now := n.clock.Now()
	err := n.store.SetDigestPublished(ctx, p.Digest, now)
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return Publication{}, nil
	}
	if err != nil {
		return Publication{}, fmt.Errorf("core: publish digest: %w", err)
	}
	d, err := n.store.Digest(ctx, p.Digest)
	if err != nil {
		return Publication{}, fmt.Errorf("core: publish digest: %w", err)
	}
	rooms, err := n.store.AnnounceRooms(ctx, d.Community, KindDigest)
	if err != nil {
		return Publication{}, fmt.Errorf("core: publish digest: %w", err)
	}
	return Publication{Digest: d, Rooms: rooms}, nil
}

// KindDigest is the kind of announcement of community digests: rooms that
// announce it receive the published digests.
const KindDigest ItemKind = "digest"

// Login tokens: an animator asks the bot for a link to the web page; the
// link carries a one-time token, valid LoginTokenLifetime.

// LoginTokenLifetime is how long a login link works.
const LoginTokenLifetime = 15 * time.Minute

// hashToken is how tokens are kept: a leaked table gives no working link.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewLoginToken returns a one-time token for who, who must animate the
// community, and when it expires.
func (n *Network) NewLoginToken(ctx context.Context, who Identity, displayName string, community CommunityID) (string, time.Time, error) {
	if ok, err := n.CanAnimate(ctx, who, community); err != nil || !ok {
		return "", time.Time{}, forbidden(err, who)
	}
	now := n.clock.Now()
	p, err := n.store.EnsurePerson(ctx, who, displayName, now)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("core: login: %w", err)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("core: login: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	expires := now.Add(LoginTokenLifetime)
	if err := n.store.CreateLoginToken(ctx, hashToken(token), p.ID, community, expires); err != nil {
		return "", time.Time{}, fmt.Errorf("core: login: %w", err)
	}
	return token, expires, nil
}

// UseLoginToken spends a token: it returns the person and community it was
// made for, once; a used, expired or unknown token fails with ErrNotFound.
func (n *Network) UseLoginToken(ctx context.Context, token string) (Person, CommunityID, error) {
	if len(token) < 16 || len(token) > 100 {
		return Person{}, 0, fmt.Errorf("core: login: %w: malformed token", ErrNotFound)
	}
	id, community, err := n.store.UseLoginToken(ctx, hashToken(token), n.clock.Now())
	if err != nil {
		return Person{}, 0, fmt.Errorf("core: login: %w", err)
	}
	p, err := n.store.Person(ctx, id)
	if err != nil {
		return Person{}, 0, fmt.Errorf("core: login: %w", err)
	}
	// The role may have been taken away since the link was sent.
	if ok, err := n.CanAnimate(ctx, p.Identity, community); err != nil || !ok {
		return Person{}, 0, forbidden(err, p.Identity)
	}
	return p, community, nil
}

// DraftNow drafts the digest of a community for its next publication at
// once, rather than waiting for the scheduled drafting, for who, who must
// animate it. When the digest of that period exists already, it is
// returned with an error wrapping ErrConflict.
func (n *Network) DraftNow(ctx context.Context, who Identity, community CommunityID) (CommunityDigest, error) {
	if ok, err := n.CanAnimate(ctx, who, community); err != nil || !ok {
		return CommunityDigest{}, forbidden(err, who)
	}
	now := n.clock.Now()
	publish := n.NextPublish(now)
	var d CommunityDigest
	err := n.store.InTx(ctx, func(tx Store) error {
		bound := *n
		bound.store = tx
		var err error
		if d, err = bound.draft(ctx, community, publish, now); err != nil {
			return err
		}
		return tx.ScheduleJob(ctx, PublishDigestJob(d.ID, d.PeriodEnd, false))
	})
	if errors.Is(err, ErrConflict) {
		latest, lerr := n.store.LatestDigest(ctx, community)
		if lerr != nil {
			return CommunityDigest{}, fmt.Errorf("core: draft digest: %w", lerr)
		}
		return latest, fmt.Errorf("core: draft digest: %w", err)
	}
	if err != nil {
		return CommunityDigest{}, fmt.Errorf("core: draft digest: %w", err)
	}
	return d, nil
}
