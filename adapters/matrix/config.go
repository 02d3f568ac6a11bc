package matrix

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"maunium.net/go/mautrix/id"
)

// Encryption says whether the adapter reads and writes end-to-end encrypted
// rooms.
type Encryption string

// The encryption modes.
const (
	// EncryptionRequired refuses to start without working end-to-end
	// encryption (a build without the goolm tag, or no pickle key).
	EncryptionRequired Encryption = "required"
	// EncryptionOptional uses end-to-end encryption when the build has it and
	// a pickle key is set, and otherwise runs without it (encrypted rooms then
	// get a notice that the bot cannot read them).
	EncryptionOptional Encryption = "optional"
	// EncryptionOff never loads the encryption keys.
	EncryptionOff Encryption = "off"
)

// The environment variables ConfigFromEnv reads.
const (
	EnvHomeserver     = "ENTRAIDE_MATRIX_HOMESERVER"
	EnvUser           = "ENTRAIDE_MATRIX_USER"
	EnvPassword       = "ENTRAIDE_MATRIX_PASSWORD"
	EnvToken          = "ENTRAIDE_MATRIX_TOKEN"
	EnvDeviceID       = "ENTRAIDE_MATRIX_DEVICE_ID"
	EnvPickleKey      = "ENTRAIDE_MATRIX_PICKLE_KEY"
	EnvEncryption     = "ENTRAIDE_MATRIX_ENCRYPTION"
	EnvAllowedServers = "ENTRAIDE_MATRIX_ALLOWED_SERVERS"
)

// DefaultDeviceID is the device the bot logs in as when none is configured.
// Keeping the same device across restarts keeps the same encryption keys.
const DefaultDeviceID = "ENTRAIDE"

// Config is how the adapter reaches its homeserver.
type Config struct {
	// Homeserver is the base URL of the client API, such as
	// https://matrix.agent.tchap.gouv.fr.
	Homeserver string
	// User is the bot's Matrix user id, such as @entraide:example.org. It is
	// required with Password and optional with Token (the homeserver then
	// says who the token belongs to).
	User string
	// Password logs the bot in with DeviceID; Token is an access token
	// obtained elsewhere. Exactly one is set.
	Password string
	Token    string
	// DeviceID is the bot's stable device; empty means DefaultDeviceID with
	// a password, and the token's device with a token.
	DeviceID string
	// PickleKey encrypts the bot's encryption keys in the database. Losing
	// it means a new device that cannot read the keys of old messages.
	PickleKey string
	// Encryption is EncryptionOptional when empty.
	Encryption Encryption
	// AllowedServers lists the server names whose users may invite the bot
	// into rooms; a name also allows its subdomains. Empty allows everyone.
	AllowedServers []string
	// Prefix starts the bot's commands ("!" when empty); a message that
	// mentions the bot, or a direct message, may leave it out.
	Prefix string
	// TimelineLimit is the number of recent messages per room a /sync
	// returns before the adapter fetches the rest with /messages (50 when
	// zero). Tests lower it to exercise gap filling.
	TimelineLimit int
}

// Validate reports settings the adapter cannot work with, naming the
// environment variable to fix.
func (c Config) Validate() error {
	if c.Homeserver == "" {
		return fmt.Errorf("matrix: %s is empty: set it to the homeserver's client URL, such as https://matrix.example.org", EnvHomeserver)
	}
	u, err := url.Parse(c.Homeserver)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("matrix: %s=%q: want an http:// or https:// URL, such as https://matrix.example.org", EnvHomeserver, c.Homeserver)
	}
	switch {
	case c.Password != "" && c.Token != "":
		return fmt.Errorf("matrix: both %s and %s are set: keep one", EnvPassword, EnvToken)
	case c.Password == "" && c.Token == "":
		return fmt.Errorf("matrix: set %s (with %s) or %s to log the bot in", EnvPassword, EnvUser, EnvToken)
	case c.Password != "" && c.User == "":
		return fmt.Errorf("matrix: %s is empty: password login needs the bot's user id, such as @entraide:example.org", EnvUser)
	}
	if c.User != "" {
		if _, _, err := id.UserID(c.User).ParseAndValidateRelaxed(); err != nil {
			return fmt.Errorf("matrix: %s=%q: want a full user id, such as @entraide:example.org", EnvUser, c.User)
		}
	}
	if strings.ContainsAny(c.DeviceID, " /\t\n") {
		return fmt.Errorf("matrix: %s=%q: want a word without spaces or slashes, such as ENTRAIDE", EnvDeviceID, c.DeviceID)
	}
	switch c.Encryption {
	case "", EncryptionOptional, EncryptionOff:
	case EncryptionRequired:
		if c.PickleKey == "" {
			return fmt.Errorf("matrix: %s=required needs %s: set it to a long random secret (openssl rand -hex 32) and keep it safe", EnvEncryption, EnvPickleKey)
		}
	default:
		return fmt.Errorf("matrix: %s=%q: want required, optional or off", EnvEncryption, c.Encryption)
	}
	if c.PickleKey != "" && len(c.PickleKey) < 16 {
		return fmt.Errorf("matrix: %s is too short: want at least 16 characters (openssl rand -hex 32)", EnvPickleKey)
	}
	for _, s := range c.AllowedServers {
		if !validServerName(s) {
			return fmt.Errorf("matrix: %s: %q is not a server name: want names such as tchap.gouv.fr,example.org", EnvAllowedServers, s)
		}
	}
	if c.TimelineLimit < 0 {
		return errors.New("matrix: timeline limit must not be negative")
	}
	return nil
}

// encryption returns the mode, EncryptionOptional when unset.
func (c Config) encryption() Encryption {
	if c.Encryption == "" {
		return EncryptionOptional
	}
	return c.Encryption
}

// ConfigFromEnv reads the ENTRAIDE_MATRIX_* variables through getenv.
// enabled is false when ENTRAIDE_MATRIX_HOMESERVER is unset: the Matrix
// adapter is then not used and cfg is empty. When enabled, cfg is valid or
// err says which variable is wrong.
func ConfigFromEnv(getenv func(string) string) (cfg Config, enabled bool, err error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg = Config{
		Homeserver: get(EnvHomeserver),
		User:       get(EnvUser),
		Password:   getenv(EnvPassword),
		Token:      get(EnvToken),
		DeviceID:   get(EnvDeviceID),
		PickleKey:  getenv(EnvPickleKey),
		Encryption: Encryption(strings.ToLower(get(EnvEncryption))),
	}
	if cfg.Homeserver == "" {
		return Config{}, false, nil
	}
	for s := range strings.SplitSeq(get(EnvAllowedServers), ",") {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			cfg.AllowedServers = append(cfg.AllowedServers, s)
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, true, err
	}
	return cfg, true, nil
}

// validServerName accepts a DNS name or IP literal with an optional port.
func validServerName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
			return false
		}
	}
	return !strings.HasPrefix(s, ".") && !strings.HasSuffix(s, ".")
}

// InviteAllowed reports whether an invite sent by inviter may be accepted:
// always when allowed is empty, otherwise when the inviter's server is one
// of allowed or a subdomain of one.
func InviteAllowed(allowed []string, inviter id.UserID) bool {
	if len(allowed) == 0 {
		return true
	}
	_, server, err := inviter.ParseAndValidateRelaxed()
	if err != nil {
		return false
	}
	server = strings.ToLower(server)
	if h, _, found := strings.Cut(server, ":"); found && !strings.HasPrefix(server, "[") {
		server = h
	}
	for _, a := range allowed {
		a = strings.ToLower(a)
		if server == a || strings.HasSuffix(server, "."+a) {
			return true
		}
	}
	return false
}
