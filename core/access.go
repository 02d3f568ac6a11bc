package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// AccessRule says who may use entraide in a community. A community without
// rules is open to every account; with rules, an account must match one.
// The forms:
//
//	<platform>:<tenant>  accounts of a platform seen in that tenant: a Slack
//	                     workspace id ("slack:T0123ABCD"), a Discord server
//	                     id ("discord:81384788765712384"), a Matrix
//	                     homeserver ("matrix:agent.tchap.gouv.fr"); a
//	                     leading "*." also admits subdomains
//	                     ("matrix:*.tchap.gouv.fr")
//	<platform>:*         every account of a platform ("console:*")
//	mail:<domain>        accounts whose e-mail domain (Tchap ids carry it)
//	                     is domain or one of its subdomains ("mail:gouv.fr")
//	user:<platform>:<id> one account ("user:slack:U024BE7LH")
//
// Adapters give the tenants of an account with each event (Event.Tenant in
// bots: space-separated names, "mail:<domain>" for an e-mail domain).
type AccessRule string

// ParseAccessRule checks and normalises a rule (lowercase platform and
// domains; ids keep their case).
func ParseAccessRule(s string) (AccessRule, error) {
	r, err := parseAccessRule(s)
	// Lower-casing may lengthen a rule (İ is two bytes, i̇ three): the
	// limit holds for what is kept too.
	if err == nil && len(r) > 200 {
		return "", fmt.Errorf("%w: access rule %q: at most 200 characters", ErrInvalid, s)
	}
	return r, err
}

func parseAccessRule(s string) (AccessRule, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (AccessRule, error) {
		return "", fmt.Errorf("%w: access rule %q: %s; want platform:tenant, platform:*, mail:domain or user:platform:id", ErrInvalid, s, why)
	}
	if len(s) > 200 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return bad("no spaces, at most 200 characters")
	}
	kind, rest, ok := strings.Cut(s, ":")
	kind = strings.ToLower(kind)
	if !ok || kind == "" || rest == "" {
		return bad("missing part")
	}
	switch kind {
	case "user":
		platform, user, ok := strings.Cut(rest, ":")
		if !ok || platform == "" || user == "" {
			return bad("a user rule names a platform and an id")
		}
		return AccessRule("user:" + strings.ToLower(platform) + ":" + user), nil
	case "mail":
		d := strings.ToLower(strings.TrimPrefix(rest, "*."))
		if !isDomain(d) {
			return bad("not a domain")
		}
		return AccessRule("mail:" + d), nil
	}
	if strings.HasPrefix(rest, "*.") {
		d := strings.ToLower(rest[2:])
		if !isDomain(d) {
			return bad("not a domain after *.")
		}
		return AccessRule(kind + ":*." + d), nil
	}
	if isDomain(strings.ToLower(rest)) && strings.Contains(rest, ".") {
		rest = strings.ToLower(rest)
	}
	return AccessRule(kind + ":" + rest), nil
}

func isDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Admits reports whether the rule admits an account with the given
// tenants (see AccessRule).
func (r AccessRule) Admits(who Identity, tenants []string) bool {
	kind, rest, _ := strings.Cut(string(r), ":")
	switch kind {
	case "user":
		return rest == string(who.Platform)+":"+who.User
	case "mail":
		for _, t := range tenants {
			if d, ok := strings.CutPrefix(t, "mail:"); ok && domainWithin(strings.ToLower(d), rest) {
				return true
			}
		}
		return false
	}
	if kind != string(who.Platform) {
		return false
	}
	if rest == "*" {
		return true
	}
	for _, t := range tenants {
		if strings.HasPrefix(t, "mail:") {
			continue
		}
		if d, ok := strings.CutPrefix(rest, "*."); ok {
			if domainWithin(strings.ToLower(t), d) {
				return true
			}
		} else if t == rest || strings.EqualFold(t, rest) && strings.Contains(rest, ".") {
			return true
		}
	}
	return false
}

// domainWithin reports whether d is domain or one of its subdomains.
func domainWithin(d, domain string) bool {
	return d == domain || strings.HasSuffix(d, "."+domain)
}

// Tenants splits an event's tenant field into names.
func Tenants(s string) []string { return strings.Fields(s) }

// accessCache keeps the access rules for a few seconds: every event is
// checked, and rules change rarely. Changes made by this process clear it;
// other replicas see them within accessCacheTTL.
type accessCache struct {
	mu      sync.Mutex
	rules   map[CommunityID][]AccessRule
	expires time.Time
}

const accessCacheTTL = 5 * time.Second

// AccessRules returns the rules of every community: those of the
// configuration (Config.Access) and those added in chat.
func (n *Network) AccessRules(ctx context.Context) (map[CommunityID][]AccessRule, error) {
	now := n.clock.Now()
	c := n.access
	c.mu.Lock()
	if c.rules != nil && now.Before(c.expires) {
		rules := c.rules
		c.mu.Unlock()
		return rules, nil
	}
	c.mu.Unlock()
	rules := map[CommunityID][]AccessRule{}
	if len(n.cfg.Access) > 0 {
		comms, err := n.store.Communities(ctx)
		if err != nil {
			return nil, fmt.Errorf("core: access rules: %w", err)
		}
		for _, cm := range comms {
			rules[cm.ID] = append(rules[cm.ID], n.cfg.Access[cm.Name]...)
		}
	}
	stored, err := n.store.AccessRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("core: access rules: %w", err)
	}
	for id, rs := range stored {
		rules[id] = append(rules[id], rs...)
	}
	for id, rs := range rules {
		if len(rs) == 0 {
			delete(rules, id)
		}
	}
	c.mu.Lock()
	c.rules, c.expires = rules, now.Add(accessCacheTTL)
	c.mu.Unlock()
	return rules, nil
}

func (n *Network) forgetAccessRules() {
	n.access.mu.Lock()
	n.access.rules = nil
	n.access.mu.Unlock()
}

// Admit reports whether who may use entraide where they wrote: in room
// (the zero Room for a direct message), with the tenants their platform
// gave (space-separated; empty when the platform gave none, as in a
// Discord DM, and then the tenants last seen for who count). In a room,
// the rules of the room's community decide; in a direct message, who is
// admitted when some community admits them. Configured administrators are
// always admitted.
func (n *Network) Admit(ctx context.Context, who Identity, tenant string, room Room) (bool, error) {
	if n.isAdmin(who) {
		return true, nil
	}
	rules, err := n.AccessRules(ctx)
	if err != nil || len(rules) == 0 {
		return err == nil, err
	}
	seen, err := n.store.IdentityTenant(ctx, who)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("core: admit: %w", err)
	}
	if tenant = strings.Join(Tenants(tenant), " "); tenant != "" && tenant != seen {
		if err := n.store.SetIdentityTenant(ctx, who, tenant, n.clock.Now()); err != nil {
			return false, fmt.Errorf("core: admit: %w", err)
		}
	} else if tenant == "" {
		tenant = seen
	}
	tenants := Tenants(tenant)
	admits := func(rs []AccessRule) bool {
		if len(rs) == 0 {
			return true
		}
		for _, r := range rs {
			if r.Admits(who, tenants) {
				return true
			}
		}
		return false
	}
	if room.ID != "" {
		community, err := n.store.EnsureRoom(ctx, room, n.clock.Now())
		if err != nil {
			return false, fmt.Errorf("core: admit: %w", err)
		}
		return admits(rules[community]), nil
	}
	comms, err := n.store.Communities(ctx)
	if err != nil {
		return false, fmt.Errorf("core: admit: %w", err)
	}
	for _, c := range comms {
		if admits(rules[c.ID]) {
			return true, nil
		}
	}
	return false, nil
}

// CommunityInfo is what a community's animators see of it.
type CommunityInfo struct {
	Community Community
	Rooms     []Room
	// Rules are the community's access rules, Configured those that come
	// from the configuration and cannot be removed in chat.
	Rules, Configured []AccessRule
}

// Community returns a community by name, with its rooms and rules.
func (n *Network) Community(ctx context.Context, name string) (CommunityInfo, error) {
	c, err := n.store.CommunityByName(ctx, name)
	if err != nil {
		return CommunityInfo{}, fmt.Errorf("core: community: %w", err)
	}
	return n.communityInfo(ctx, c)
}

// CommunityOfRoom returns the community of a room with its rooms and rules.
func (n *Network) CommunityOfRoom(ctx context.Context, room Room) (CommunityInfo, error) {
	id, err := n.store.EnsureRoom(ctx, room, n.clock.Now())
	if err != nil {
		return CommunityInfo{}, fmt.Errorf("core: community: %w", err)
	}
	comms, err := n.store.Communities(ctx)
	if err != nil {
		return CommunityInfo{}, fmt.Errorf("core: community: %w", err)
	}
	for _, c := range comms {
		if c.ID == id {
			return n.communityInfo(ctx, c)
		}
	}
	return CommunityInfo{}, fmt.Errorf("core: community %d: %w", id, ErrNotFound)
}

func (n *Network) communityInfo(ctx context.Context, c Community) (CommunityInfo, error) {
	info := CommunityInfo{Community: c, Configured: n.cfg.Access[c.Name]}
	var err error
	if info.Rooms, err = n.store.CommunityRooms(ctx, c.ID); err != nil {
		return CommunityInfo{}, fmt.Errorf("core: community: %w", err)
	}
	stored, err := n.store.AccessRules(ctx)
	if err != nil {
		return CommunityInfo{}, fmt.Errorf("core: community: %w", err)
	}
	info.Rules = append(append([]AccessRule(nil), info.Configured...), stored[c.ID]...)
	return info, nil
}

// ValidCommunityName reports whether name can name a community: 1 to 40
// lowercase letters, digits and dashes.
func ValidCommunityName(name string) bool {
	if name == "" || len(name) > 40 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// CreateCommunity creates a community; only a configured administrator
// may. Creating one that exists returns it with ErrConflict.
func (n *Network) CreateCommunity(ctx context.Context, by Identity, name string) (Community, error) {
	if !n.isAdmin(by) {
		return Community{}, fmt.Errorf("core: create community: %w: %s is not an administrator", ErrForbidden, by)
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if !ValidCommunityName(name) {
		return Community{}, fmt.Errorf("%w: community name %q: want 1 to 40 lowercase letters, digits or dashes", ErrInvalid, name)
	}
	if c, err := n.store.CommunityByName(ctx, name); err == nil {
		return c, fmt.Errorf("core: create community: %w: %q exists", ErrConflict, name)
	}
	c, err := n.store.EnsureCommunity(ctx, name, n.clock.Now())
	if err != nil {
		return Community{}, fmt.Errorf("core: create community: %w", err)
	}
	n.forgetAccessRules()
	return c, nil
}

// EnsureCommunity returns the community named name, creating it: the
// configuration names communities (feeds, access rules) before anyone
// creates them in chat.
func (n *Network) EnsureCommunity(ctx context.Context, name string) (Community, error) {
	if !ValidCommunityName(name) {
		return Community{}, fmt.Errorf("%w: community name %q: want 1 to 40 lowercase letters, digits or dashes", ErrInvalid, name)
	}
	c, err := n.store.EnsureCommunity(ctx, name, n.clock.Now())
	if err != nil {
		return Community{}, fmt.Errorf("core: community %q: %w", name, err)
	}
	return c, nil
}

// EnsureCommunities creates the communities the configuration names (in
// Config.Access), so that their rules apply from the start.
func (n *Network) EnsureCommunities(ctx context.Context) error {
	names := make([]string, 0, len(n.cfg.Access))
	for name := range n.cfg.Access {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := n.store.EnsureCommunity(ctx, name, n.clock.Now()); err != nil {
			return fmt.Errorf("core: community %q: %w", name, err)
		}
	}
	n.forgetAccessRules()
	return nil
}

// MoveRoom attaches room to the community named name: the rooms of one
// community may be on several platforms, and its questions, digests and
// access rules are shared. who must be an administrator of both the room's
// community and the target.
func (n *Network) MoveRoom(ctx context.Context, who Identity, room Room, name string) (Community, error) {
	target, err := n.store.CommunityByName(ctx, strings.ToLower(strings.TrimSpace(name)))
	if err != nil {
		return Community{}, fmt.Errorf("core: move room: %w", err)
	}
	from, err := n.store.EnsureRoom(ctx, room, n.clock.Now())
	if err != nil {
		return Community{}, fmt.Errorf("core: move room: %w", err)
	}
	for _, c := range []CommunityID{from, target.ID} {
		roles, err := n.RolesOf(ctx, who, c)
		if err != nil {
			return Community{}, err
		}
		if !containsRole(roles, RoleAdmin) {
			return Community{}, fmt.Errorf("core: move room: %w: %s is not an administrator", ErrForbidden, who)
		}
	}
	if err := n.store.SetRoomCommunity(ctx, room, target.ID, n.clock.Now()); err != nil {
		return Community{}, fmt.Errorf("core: move room: %w", err)
	}
	return target, nil
}

// SetAccess adds (or, when add is false, removes) an access rule of a
// community; who must be an administrator of it. Rules of the
// configuration cannot be removed in chat (ErrConflict).
func (n *Network) SetAccess(ctx context.Context, who Identity, community CommunityID, rule string, add bool) (AccessRule, error) {
	r, err := ParseAccessRule(rule)
	if err != nil {
		return "", err
	}
	roles, err := n.RolesOf(ctx, who, community)
	if err != nil {
		return "", err
	}
	if !containsRole(roles, RoleAdmin) {
		return "", fmt.Errorf("core: access: %w: %s is not an administrator", ErrForbidden, who)
	}
	defer n.forgetAccessRules()
	if !add {
		comms, err := n.store.Communities(ctx)
		if err != nil {
			return "", fmt.Errorf("core: access: %w", err)
		}
		for _, c := range comms {
			if c.ID != community {
				continue
			}
			for _, cr := range n.cfg.Access[c.Name] {
				if cr == r {
					return r, fmt.Errorf("core: access: %w: %s comes from the configuration", ErrConflict, r)
				}
			}
		}
		return r, n.store.DeleteAccessRule(ctx, community, r)
	}
	p, err := n.store.EnsurePerson(ctx, who, "", n.clock.Now())
	if err != nil {
		return "", fmt.Errorf("core: access: %w", err)
	}
	return r, n.store.AddAccessRule(ctx, community, r, p.ID, n.clock.Now())
}
