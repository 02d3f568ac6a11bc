package discord

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The environment variables read by ConfigFromEnv.
const (
	EnvToken          = "ENTRAIDE_DISCORD_TOKEN"
	EnvAppID          = "ENTRAIDE_DISCORD_APP_ID"
	EnvGuildIDs       = "ENTRAIDE_DISCORD_GUILD_IDS"
	EnvAPIURL         = "ENTRAIDE_DISCORD_API_URL"
	EnvMessageContent = "ENTRAIDE_DISCORD_MESSAGE_CONTENT"
)

// DefaultAPIURL is the base URL of Discord's REST API.
const DefaultAPIURL = "https://discord.com/api/v10"

// Config tunes the Discord adapter.
type Config struct {
	// Token is the bot token (Developer Portal, Bot, Reset Token), without
	// the "Bot " prefix. It is never logged.
	Token string
	// AppID is the application id (Developer Portal, General Information).
	AppID string
	// GuildIDs, when set, registers the application commands in these
	// servers only (instant); otherwise they are registered globally.
	GuildIDs []string
	// APIURL is the base URL of the REST API (DefaultAPIURL when empty). The
	// gateway address comes from its /gateway/bot route.
	APIURL string
	// MessageContent reads plain channel messages too, which needs the
	// privileged MESSAGE_CONTENT intent. Off by default: slash commands,
	// mentions of the bot and direct messages work without it.
	MessageContent bool
	// Prefix starts the bot's commands, as bots.Config.Prefix ("!" when
	// empty): slash commands, mentions and buttons become text with it.
	Prefix string
}

// withDefaults fills the empty settings that have a default.
func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	if c.Prefix == "" {
		c.Prefix = "!"
	}
	return c
}

// Validate reports settings the adapter cannot work with. Each error names
// the environment variable to fix and what it expects; none shows the token.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Token == "" || strings.ContainsFunc(c.Token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		errs = append(errs, fmt.Errorf("discord: %s: want the bot token, one word without the \"Bot \" prefix (Developer Portal, your application, Bot, Reset Token)", EnvToken))
	}
	if !snowflake(c.AppID) {
		errs = append(errs, fmt.Errorf("discord: %s %q: want the application id, a number (Developer Portal, your application, General Information)", EnvAppID, c.AppID))
	}
	for _, g := range c.GuildIDs {
		if !snowflake(g) {
			errs = append(errs, fmt.Errorf("discord: %s: %q is not a server id: want numbers separated by commas (right click on the server, Copy Server ID), or nothing to register commands globally", EnvGuildIDs, g))
		}
	}
	u, err := url.Parse(c.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("discord: %s %q: want an http(s) URL such as %s", EnvAPIURL, c.APIURL, DefaultAPIURL))
	}
	if strings.ContainsFunc(c.Prefix, unicode.IsSpace) || len(c.Prefix) > 4 {
		errs = append(errs, fmt.Errorf("discord: command prefix %q: want 1 to 4 characters without spaces, such as !", c.Prefix))
	}
	return errors.Join(errs...)
}

// snowflake reports whether s looks like a Discord id.
func snowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// discordEpoch is the first millisecond of 2015 (Unix time), from which
// Discord ids count.
const discordEpoch = 1420070400000

// SnowflakeTime returns when the Discord id s was made (a message id: when
// the message was written); the zero time for anything that is not an id.
func SnowflakeTime(s string) time.Time {
	if !snowflake(s) {
		return time.Time{}
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return time.UnixMilli(int64(n>>22) + discordEpoch).UTC()
}

// ConfigFromEnv reads the ENTRAIDE_DISCORD_* variables through getenv.
// Discord is enabled when ENTRAIDE_DISCORD_TOKEN is set; the configuration
// is then validated. Other Discord variables without a token are an error,
// so a half-done setup does not silently run without Discord. The prefix
// is left empty ("!"): the caller copies the bots prefix into it.
func ConfigFromEnv(getenv func(string) string) (cfg Config, enabled bool, err error) {
	token := strings.TrimSpace(getenv(EnvToken))
	if token == "" {
		for _, name := range []string{EnvAppID, EnvGuildIDs, EnvAPIURL, EnvMessageContent} {
			if strings.TrimSpace(getenv(name)) != "" {
				return Config{}, false, fmt.Errorf("discord: %s is set but %s is empty: set the bot token to enable Discord, or unset %s", name, EnvToken, name)
			}
		}
		return Config{}, false, nil
	}
	cfg = Config{
		Token:  strings.TrimPrefix(token, "Bot "),
		AppID:  strings.TrimSpace(getenv(EnvAppID)),
		APIURL: strings.TrimSpace(getenv(EnvAPIURL)),
	}
	for _, g := range strings.Split(getenv(EnvGuildIDs), ",") {
		if g = strings.TrimSpace(g); g != "" {
			cfg.GuildIDs = append(cfg.GuildIDs, g)
		}
	}
	var errs []error
	if v := strings.TrimSpace(getenv(EnvMessageContent)); v != "" {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			errs = append(errs, fmt.Errorf("discord: %s %q: want true or false (true also needs the Message Content intent enabled in the Developer Portal)", EnvMessageContent, v))
		}
		cfg.MessageContent = b
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	return cfg, true, errors.Join(errs...)
}

// intents returns the gateway intents the configuration needs: guilds (for
// threads), guild messages (mentions of the bot) and direct messages, plus
// the privileged message content intent in MessageContent mode.
func (c Config) intents() int {
	const (
		guilds         = 1 << 0
		guildMessages  = 1 << 9
		directMessages = 1 << 12
		messageContent = 1 << 15
	)
	n := guilds | guildMessages | directMessages
	if c.MessageContent {
		n |= messageContent
	}
	return n
}
