package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"entraide/bots"
	"entraide/core"
)

// The callback ids of the app manifest's shortcuts and of the modals this
// adapter opens, and the ids of the modals' inputs.
const (
	CallbackAskShortcut     = "entraide_ask"
	CallbackMessageShortcut = "entraide_ask_message"

	viewAsk       = "entraide.ask"
	viewForm      = "entraide.form"
	blockText     = "entraide.text"
	actionText    = "text"
	blockChannel  = "entraide.channel"
	actionChannel = "channel"
	// blockFieldPrefix and the field's position make the block id of an
	// input of a form of several inputs.
	blockFieldPrefix = "entraide.field."

	maxModalTitle       = 24
	maxModalSubmit      = 24
	maxModalLabel       = 2000
	maxModalPlaceholder = 150
	maxModalMetadata    = 3000
	// maxInputLength is the most a plain_text_input accepts; longer
	// answers can still be typed as commands.
	maxInputLength = 3000
)

// interaction holds the fields this adapter reads from Slack's
// interactivity payloads: block_actions, view_submission, shortcut and
// message_action.
type interaction struct {
	Type       string `json:"type"`
	TriggerID  string `json:"trigger_id"`
	CallbackID string `json:"callback_id"`
	User       struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
		// TeamID is the user's own team, which differs from Team in a
		// channel shared between workspaces.
		TeamID string `json:"team_id"`
	} `json:"user"`
	// Team is the workspace the interaction happened in.
	Team struct {
		ID string `json:"id"`
	} `json:"team"`
	Channel struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"channel"`
	Message struct {
		Text     string `json:"text"`
		TS       string `json:"ts"`
		ThreadTS string `json:"thread_ts"`
	} `json:"message"`
	Actions []struct {
		ActionID string `json:"action_id"`
		BlockID  string `json:"block_id"`
		Value    string `json:"value"`
	} `json:"actions"`
	View struct {
		ID              string `json:"id"`
		TeamID          string `json:"team_id"`
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
		State           struct {
			Values map[string]map[string]struct {
				Value                *string `json:"value"`
				SelectedConversation string  `json:"selected_conversation"`
			} `json:"values"`
		} `json:"state"`
	} `json:"view"`
}

// input returns the value of an input of a submitted view.
func (in *interaction) input(block, action string) string {
	v := in.View.State.Values[block][action]
	if v.Value != nil {
		return strings.TrimSpace(*v.Value)
	}
	return v.SelectedConversation
}

// sender returns who interacted, and their name.
func (in *interaction) sender() (core.Identity, string) {
	return core.Identity{Platform: Platform, User: in.User.ID}, orDefault(in.User.Username, in.User.Name)
}

// tenant returns the team of the person who interacted: their own team
// when the payload gives it, else the workspace of the interaction.
func (in *interaction) tenant() string { return tenant(in.User.TeamID, in.Team.ID, in.View.TeamID) }

// formMeta is what a form modal remembers of the button that opened it:
// the command a one-text form completes, or the ref of a form of several
// inputs.
type formMeta struct {
	Command string `json:"c,omitempty"`
	Form    string `json:"f,omitempty"`
}

// handleInteraction handles a button press, a modal submission or a
// shortcut.
func (a *Adapter) handleInteraction(ctx context.Context, payload []byte) error {
	var in interaction
	if err := json.Unmarshal(payload, &in); err != nil {
		return fmt.Errorf("slack: interaction: %w: %v", errMalformed, err)
	}
	if in.User.ID == "" {
		return fmt.Errorf("slack: interaction %q: %w: no user", in.Type, errMalformed)
	}
	who, name := in.sender()
	switch in.Type {
	case "block_actions":
		if len(in.Actions) == 0 || in.TriggerID == "" {
			return fmt.Errorf("slack: block_actions: %w: no action or trigger_id", errMalformed)
		}
		act := in.Actions[0]
		if fb, ok := parseFormBlockID(act.BlockID); ok {
			switch {
			case fb.Malformed:
				return fmt.Errorf("slack: form button: %w: block_id %q", errMalformed, act.BlockID)
			case fb.Ref != "":
				return a.openFormRef(ctx, in.TriggerID, fb.Ref)
			}
			return a.openForm(ctx, in.TriggerID, act.Value, fb.Title, fb.Label)
		}
		if act.Value == "" || !strings.HasPrefix(act.BlockID, blockCommands) {
			return nil // not one of our buttons
		}
		return a.deliver(ctx, bots.Event{
			ID: "action:" + in.TriggerID, DM: true, Room: directRoom(in.Channel.ID),
			Sender: who, SenderName: name, Text: a.cfg.Prefix + act.Value, Tenant: in.tenant(),
		})
	case "view_submission":
		if in.View.ID == "" {
			return fmt.Errorf("slack: view_submission: %w: no view id", errMalformed)
		}
		ev := bots.Event{ID: "view:" + in.View.ID, DM: true, Sender: who, SenderName: name, Tenant: in.tenant()}
		switch in.View.CallbackID {
		case viewForm:
			command, err := formCommand(in.View.PrivateMetadata, in.input)
			if err != nil {
				return fmt.Errorf("slack: view_submission %s: %w", in.View.ID, err)
			}
			ev.Text = a.cfg.Prefix + command
		case viewAsk:
			question := in.input(blockText, actionText)
			ev.Text = a.cfg.Prefix + "ask " + question
			if channel := in.input(blockChannel, actionChannel); question != "" && isShared(channel, "") {
				if err := a.askIn(ctx, &ev, channel, question); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		return a.deliver(ctx, ev)
	case "shortcut":
		if in.CallbackID != CallbackAskShortcut {
			return nil
		}
		return a.openAsk(ctx, in.TriggerID)
	case "message_action":
		if in.CallbackID != CallbackMessageShortcut {
			return nil
		}
		if in.TriggerID == "" || in.Message.TS == "" {
			return fmt.Errorf("slack: message_action: %w: no trigger_id or message", errMalformed)
		}
		ev := bots.Event{
			ID: "shortcut:" + in.TriggerID, Sender: who, SenderName: name, Tenant: in.tenant(),
			Text: a.cfg.Prefix + "ask " + strings.TrimSpace(unescapeText(in.Message.Text)),
		}
		if isShared(in.Channel.ID, in.Channel.Name) {
			ev.Room, ev.Thread = in.Channel.ID, orDefault(in.Message.ThreadTS, in.Message.TS)
		} else {
			ev.DM = true
		}
		return a.deliver(ctx, ev)
	}
	return nil
}

// directRoom returns channel when it is a direct message, else "" (the
// reply then goes to the person's direct message with the bot).
func directRoom(channel string) string {
	if isDirect(channel) {
		return channel
	}
	return ""
}

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// openForm opens the modal of a form button: one text input whose
// submission runs command followed by the text.
func (a *Adapter) openForm(ctx context.Context, triggerID, command, title, label string) error {
	if command == "" {
		return fmt.Errorf("slack: form button: %w: no command", errMalformed)
	}
	meta, err := json.Marshal(formMeta{Command: command})
	if err != nil || len(meta) > maxModalMetadata {
		return fmt.Errorf("slack: form button: %w: command of %d bytes", errMalformed, len(command))
	}
	title = truncateRunes(orDefault(title, "entraide"), maxModalTitle)
	input := slack.NewPlainTextInputBlockElement(nil, actionText)
	input.Multiline = true
	input.MaxLength = min(core.MaxAnswerLen, maxInputLength)
	input.FocusOnLoad = true
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      viewForm,
		Title:           plainText(title),
		Submit:          plainText(title),
		PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(blockText, plainText(truncateRunes(orDefault(label, title), maxModalLabel)), nil, input),
		}},
	}
	if _, err := a.api.OpenViewContext(ctx, triggerID, view); err != nil {
		return apiError("views.open", err)
	}
	return nil
}

// formCommand returns the command, without prefix, that a submitted form
// modal stands for, from its private_metadata and its inputs: the one-text
// form's command and text, or the answers of a form of several inputs made
// into its command (bots.Form.CommandText). Metadata this adapter did not
// write, a form it does not know and a form submitted empty are refused.
func formCommand(metadata string, input func(block, action string) string) (string, error) {
	var meta formMeta
	if err := json.Unmarshal([]byte(metadata), &meta); err != nil || meta.Command == "" && meta.Form == "" {
		return "", fmt.Errorf("%w: private_metadata %q", errMalformed, metadata)
	}
	if meta.Form == "" {
		return meta.Command + " " + input(blockText, actionText), nil
	}
	form, ok := bots.LookupForm(meta.Form)
	if !ok {
		return "", fmt.Errorf("%w: unknown form %q", errMalformed, meta.Form)
	}
	values := make([]string, min(len(form.Fields), bots.MaxFormFields))
	for i := range values {
		values[i] = input(fieldBlockID(i), actionText)
	}
	if !slices.ContainsFunc(values, func(v string) bool { return v != "" }) {
		return "", fmt.Errorf("%w: form %q submitted empty", errMalformed, meta.Form)
	}
	return form.CommandText(values), nil
}

// fieldBlockID is the block id of the input of field i of a form.
func fieldBlockID(i int) string { return blockFieldPrefix + strconv.Itoa(i) }

// openFormRef opens the modal of a form of several inputs, found again by
// its ref; a ref that names no form is refused.
func (a *Adapter) openFormRef(ctx context.Context, triggerID, ref string) error {
	form, ok := bots.LookupForm(ref)
	if !ok {
		return fmt.Errorf("slack: form button: %w: unknown form %q", errMalformed, ref)
	}
	view, err := formView(form)
	if err != nil {
		return err
	}
	if _, err := a.api.OpenViewContext(ctx, triggerID, view); err != nil {
		return apiError("views.open", err)
	}
	return nil
}

// formView renders a form of several inputs as a modal: one plain text
// input per field (five at most), under Slack's limits; the modal keeps the
// form's ref in its private_metadata.
func formView(form bots.Form) (slack.ModalViewRequest, error) {
	meta, err := json.Marshal(formMeta{Form: form.Ref})
	if err != nil || len(meta) > maxModalMetadata {
		return slack.ModalViewRequest{}, fmt.Errorf("slack: form %q: %w: ref of %d bytes", form.Ref, errMalformed, len(form.Ref))
	}
	title := truncateRunes(orDefault(form.Title, "entraide"), maxModalTitle)
	var set []slack.Block
	for i, field := range form.Fields[:min(len(form.Fields), bots.MaxFormFields)] {
		input := slack.NewPlainTextInputBlockElement(nil, actionText)
		if strings.TrimSpace(field.Placeholder) != "" {
			input.Placeholder = plainText(truncateRunes(field.Placeholder, maxModalPlaceholder))
		}
		input.Multiline = field.Multiline
		input.MaxLength = maxInputLength
		if field.MaxLen > 0 {
			input.MaxLength = min(field.MaxLen, maxInputLength)
		}
		input.FocusOnLoad = i == 0
		label := truncateRunes(orDefault(field.Label, orDefault(field.Name, title)), maxModalLabel)
		set = append(set, slack.NewInputBlock(fieldBlockID(i), plainText(label), nil, input).WithOptional(!field.Required))
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      viewForm,
		Title:           plainText(title),
		Submit:          plainText(truncateRunes(orDefault(form.Submit, title), maxModalSubmit)),
		PrivateMetadata: string(meta),
		Blocks:          slack.Blocks{BlockSet: set},
	}, nil
}

// openAsk opens the modal of the global shortcut: a question, and the
// channel where to ask it (a direct message when none is chosen). Its
// words are French and English, as the bot's catalog has no sentence for
// it yet.
func (a *Adapter) openAsk(ctx context.Context, triggerID string) error {
	if triggerID == "" {
		return fmt.Errorf("slack: shortcut: %w: no trigger_id", errMalformed)
	}
	question := slack.NewPlainTextInputBlockElement(nil, actionText)
	question.Multiline = true
	question.MaxLength = min(core.MaxQuestionLen, maxInputLength)
	question.FocusOnLoad = true
	channel := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, nil, actionChannel)
	channel.DefaultToCurrentConversation = true
	channel.Filter = &slack.SelectBlockElementFilter{Include: []string{"public", "private"}, ExcludeBotUsers: true}
	view := slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: viewAsk,
		Title:      plainText("Question"),
		Submit:     plainText("OK"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(blockText, plainText("Votre question · Your question"), nil, question),
			slack.NewInputBlock(blockChannel, plainText("Canal · Channel"),
				plainText("Facultatif : sans canal, la réponse arrive en message privé. · Optional: without a channel, the answer comes by direct message."), channel).WithOptional(true),
		}},
	}
	if _, err := a.api.OpenViewContext(ctx, triggerID, view); err != nil {
		return apiError("views.open", err)
	}
	return nil
}
