package core

import (
	"fmt"
	"strings"
	"time"
)

// Platform names a messaging platform, such as "matrix", "slack", "discord"
// or "console". Only adapters give meaning to a platform; core compares them.
type Platform string

// Identity is one account on one platform: the platform and the user id the
// platform gives (a Matrix user id, a Slack member id, a console name).
type Identity struct {
	Platform Platform
	User     string
}

// String returns the identity as "platform:user".
func (i Identity) String() string { return string(i.Platform) + ":" + i.User }

// Validate reports whether the identity names a platform and a user.
func (i Identity) Validate() error {
	if strings.TrimSpace(string(i.Platform)) == "" || strings.TrimSpace(i.User) == "" {
		return fmt.Errorf("%w: identity %q needs a platform and a user", ErrInvalid, i.String())
	}
	return nil
}

// PersonID identifies a person in the store.
type PersonID int64

// Person is someone entraide knows: an agent who asked, answered or declared
// expertise. A person has one identity for now; linking several identities is
// a later feature.
type Person struct {
	ID          PersonID
	Identity    Identity
	DisplayName string
	// Lang is the person's preferred language ("fr", "en", "es"), empty when
	// unknown.
	Lang      string
	CreatedAt time.Time
}

// Name returns the display name, or the platform user id when there is none.
func (p Person) Name() string {
	if strings.TrimSpace(p.DisplayName) != "" {
		return p.DisplayName
	}
	return p.Identity.User
}
