package core

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LinkCodeLifetime is how long a code that links two accounts works.
const LinkCodeLifetime = 15 * time.Minute

// linkAlphabet has no letters and digits that read alike (0/O, 1/I/L).
const linkAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// LinkedIdentity is one of a person's accounts.
type LinkedIdentity struct {
	Identity Identity
	// Preferred is true for the account that direct messages go to.
	Preferred bool
}

// PeopleMerger is a Learner that also hears that two people became one:
// everything the index knows of from now belongs to into.
type PeopleMerger interface {
	PeopleMerged(from, into PersonID)
}

// normalizeLinkCode uppercases a code and drops the dashes and spaces
// people type or copy with it; "" when what is left cannot be a code.
func normalizeLinkCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case strings.ContainsRune(linkAlphabet, r):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != 8 {
		return ""
	}
	return b.String()
}

// StartLink returns a one-time code that links who's account to another
// one of theirs, on another platform or workspace, when typed there with
// the link command before it expires. Only a hash of it is kept.
func (n *Network) StartLink(ctx context.Context, who Identity, displayName string) (string, time.Time, error) {
	now := n.clock.Now()
	p, err := n.store.EnsurePerson(ctx, who, displayName, now)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("core: link: %w", err)
	}
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("core: link: %w", err)
	}
	code := make([]byte, 0, 9)
	for i, c := range raw {
		if i == 4 {
			code = append(code, '-')
		}
		code = append(code, linkAlphabet[int(c)%len(linkAlphabet)])
	}
	expires := now.Add(LinkCodeLifetime)
	if err := n.store.CreateLinkCode(ctx, hashToken("link:"+normalizeLinkCode(string(code))), p.ID, expires); err != nil {
		return "", time.Time{}, fmt.Errorf("core: link: %w", err)
	}
	return string(code), expires, nil
}

// Link spends a code made by StartLink: who's account joins the person who
// asked for the code, with everything who had (questions, answers, expert
// entry, roles, subscriptions), so that their profile, budget and history
// are one. A wrong, used or expired code fails with ErrNotFound; a code
// made by who's own person fails with ErrConflict.
func (n *Network) Link(ctx context.Context, who Identity, displayName, code string) (Person, error) {
	norm := normalizeLinkCode(code)
	if norm == "" {
		return Person{}, fmt.Errorf("core: link: %w: malformed code", ErrNotFound)
	}
	now := n.clock.Now()
	into, err := n.store.UseLinkCode(ctx, hashToken("link:"+norm), now)
	if err != nil {
		return Person{}, fmt.Errorf("core: link: %w", err)
	}
	from, err := n.store.EnsurePerson(ctx, who, displayName, now)
	if err != nil {
		return Person{}, fmt.Errorf("core: link: %w", err)
	}
	if from.ID == into {
		return from, fmt.Errorf("core: link: %w: %s is already linked", ErrConflict, who)
	}
	if err := n.store.MergePeople(ctx, into, from.ID, now); err != nil {
		return Person{}, fmt.Errorf("core: link: %w", err)
	}
	n.tell(func(l Learner) {
		if m, ok := l.(PeopleMerger); ok {
			m.PeopleMerged(from.ID, into)
		}
	})
	p, err := n.store.Person(ctx, into)
	if err != nil {
		return Person{}, fmt.Errorf("core: link: %w", err)
	}
	return p, nil
}

// Accounts returns who's person and all their linked accounts, the
// preferred one first.
func (n *Network) Accounts(ctx context.Context, who Identity) (Person, []LinkedIdentity, error) {
	p, err := n.store.PersonByIdentity(ctx, who)
	if errors.Is(err, ErrNotFound) {
		return Person{Identity: who}, []LinkedIdentity{{Identity: who, Preferred: true}}, nil
	}
	if err != nil {
		return Person{}, nil, fmt.Errorf("core: accounts: %w", err)
	}
	ids, err := n.store.Identities(ctx, p.ID)
	if err != nil {
		return Person{}, nil, fmt.Errorf("core: accounts: %w", err)
	}
	return p, ids, nil
}

// Prefer makes who the account that direct messages to its person go to.
func (n *Network) Prefer(ctx context.Context, who Identity, displayName string) error {
	p, err := n.store.EnsurePerson(ctx, who, displayName, n.clock.Now())
	if err != nil {
		return fmt.Errorf("core: prefer: %w", err)
	}
	if err := n.store.SetPreferredIdentity(ctx, p.ID, who); err != nil {
		return fmt.Errorf("core: prefer: %w", err)
	}
	return nil
}

// Unlink detaches account from who's person: it becomes a person of its
// own, with no history. who may detach any of their accounts but the last;
// ErrNotFound when account is not theirs, ErrConflict for the last one.
func (n *Network) Unlink(ctx context.Context, who, account Identity) error {
	p, err := n.store.PersonByIdentity(ctx, who)
	if err != nil {
		return fmt.Errorf("core: unlink: %w", err)
	}
	ids, err := n.store.Identities(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("core: unlink: %w", err)
	}
	found := false
	for _, li := range ids {
		found = found || li.Identity == account
	}
	if !found {
		return fmt.Errorf("core: unlink: %w: %s is not an account of %s", ErrNotFound, account, who)
	}
	if len(ids) == 1 {
		return fmt.Errorf("core: unlink: %w: %s is the only account", ErrConflict, account)
	}
	if err := n.store.SplitIdentity(ctx, p.ID, account, n.clock.Now()); err != nil {
		return fmt.Errorf("core: unlink: %w", err)
	}
	return nil
}
