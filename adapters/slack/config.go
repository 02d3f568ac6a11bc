package slack

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// The environment variables read by ConfigFromEnv.
const (
	EnvBotToken      = "ENTRAIDE_SLACK_BOT_TOKEN"
	EnvAppToken      = "ENTRAIDE_SLACK_APP_TOKEN"
	EnvSigningSecret = "ENTRAIDE_SLACK_SIGNING_SECRET"
	EnvAPIURL        = "ENTRAIDE_SLACK_API_URL"
	EnvListen        = "ENTRAIDE_SLACK_LISTEN"
)

// DefaultAPIURL is the base URL of Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Config tunes the Slack adapter. Exactly one transport is configured:
// Socket Mode (AppToken) or the Events API over HTTP (SigningSecret and
// Listen).
type Config struct {
	// BotToken is the bot user OAuth token (xoxb-...), used for the Web API.
	BotToken string
	// AppToken is the app-level token (xapp-...) with the
	// connections:write scope; setting it selects Socket Mode.
	AppToken string
	// SigningSecret is the app's signing secret; setting it selects the
	// Events API over HTTP, whose requests it authenticates.
	SigningSecret string
	// APIURL is the base URL of the Web API, ending with a slash
	// (DefaultAPIURL when empty): GovSlack and tests use another one.
	APIURL string
	// Listen is the address the HTTP transport serves on, such as ":8080".
	Listen string
	// Prefix starts the bot's commands, as bots.Config.Prefix ("!" when
	// empty): slash commands, mentions and buttons become text with it.
	Prefix string
}

// SocketMode reports whether the configuration selects Socket Mode.
func (c Config) SocketMode() bool { return c.AppToken != "" }

// withDefaults fills the empty settings that have a default.
func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if c.Prefix == "" {
		c.Prefix = "!"
	}
	return c
}

// Validate reports settings the adapter cannot work with. Each error names
// the environment variable to fix and what it expects.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if !tokenLike(c.BotToken, "xoxb-") {
		errs = append(errs, fmt.Errorf("slack: %s: want the bot user OAuth token, starting with xoxb- (Slack app settings, OAuth & Permissions)", EnvBotToken))
	}
	switch {
	case c.AppToken != "" && c.SigningSecret != "":
		errs = append(errs, fmt.Errorf("slack: %s and %s are both set: set only %s for Socket Mode, or only %s (and %s) for the Events API over HTTP", EnvAppToken, EnvSigningSecret, EnvAppToken, EnvSigningSecret, EnvListen))
	case c.AppToken == "" && c.SigningSecret == "":
		errs = append(errs, fmt.Errorf("slack: no transport: set %s (an xapp- app-level token) for Socket Mode, or %s and %s for the Events API over HTTP", EnvAppToken, EnvSigningSecret, EnvListen))
	case c.AppToken != "":
		if !tokenLike(c.AppToken, "xapp-") {
			errs = append(errs, fmt.Errorf("slack: %s: want an app-level token with the connections:write scope, starting with xapp- (Slack app settings, Basic Information)", EnvAppToken))
		}
		if c.Listen != "" {
			errs = append(errs, fmt.Errorf("slack: %s is set but Socket Mode needs no listening address: unset it, or use %s instead of %s", EnvListen, EnvSigningSecret, EnvAppToken))
		}
	default:
		if !tokenLike(c.SigningSecret, "") {
			errs = append(errs, fmt.Errorf("slack: %s: want the app's signing secret, one word (Slack app settings, Basic Information)", EnvSigningSecret))
		}
		if c.Listen == "" || !strings.Contains(c.Listen, ":") {
			errs = append(errs, fmt.Errorf("slack: %s %q: want the address the Events API server listens on, such as :8080", EnvListen, c.Listen))
		}
	}
	u, err := url.Parse(c.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("slack: %s %q: want an http(s) URL such as %s", EnvAPIURL, c.APIURL, DefaultAPIURL))
	}
	if strings.ContainsFunc(c.Prefix, unicode.IsSpace) || len(c.Prefix) > 4 {
		errs = append(errs, fmt.Errorf("slack: command prefix %q: want 1 to 4 characters without spaces, such as !", c.Prefix))
	}
	return errors.Join(errs...)
}

// tokenLike reports whether s is one word starting with prefix.
func tokenLike(s, prefix string) bool {
	return len(s) > len(prefix) && strings.HasPrefix(s, prefix) && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	})
}

// ConfigFromEnv reads the ENTRAIDE_SLACK_* variables through getenv. Slack
// is enabled when ENTRAIDE_SLACK_BOT_TOKEN is set; the configuration is then
// validated. Other Slack variables without a bot token are an error, so a
// half-done setup does not silently run without Slack. The prefix is left
// empty ("!"): the caller copies the bots prefix into it.
func ConfigFromEnv(getenv func(string) string) (cfg Config, enabled bool, err error) {
	cfg = Config{
		BotToken:      strings.TrimSpace(getenv(EnvBotToken)),
		AppToken:      strings.TrimSpace(getenv(EnvAppToken)),
		SigningSecret: strings.TrimSpace(getenv(EnvSigningSecret)),
		APIURL:        strings.TrimSpace(getenv(EnvAPIURL)),
		Listen:        strings.TrimSpace(getenv(EnvListen)),
	}
	if cfg.BotToken == "" {
		for _, name := range []string{EnvAppToken, EnvSigningSecret, EnvAPIURL, EnvListen} {
			if strings.TrimSpace(getenv(name)) != "" {
				return Config{}, false, fmt.Errorf("slack: %s is set but %s is empty: set the bot token (xoxb-...) to enable Slack, or unset %s", name, EnvBotToken, name)
			}
		}
		return Config{}, false, nil
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, true, err
	}
	return cfg, true, nil
}
