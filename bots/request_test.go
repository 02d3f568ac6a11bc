package bots_test

import (
	"context"
	"slices"
	"testing"

	"entraide/adapters/sqlstore/sqlstoretest"
	"entraide/bots"
	"entraide/core"
)

// TestExpertRequestNamesTheRoom: the request to an expert names the room
// of a question as a Room span (which platforms link natively), and a
// question asked in a direct message as words.
func TestExpertRequestNamesTheRoom(t *testing.T) {
	ctx := context.Background()
	store := sqlstoretest.SQLite(t)
	net, err := core.NewNetwork(store, nil, core.NewManualClock(t0), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	bot, err := bots.New(net, bots.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Handle(ctx, event(1, "bob", "#general", "!expert marchés publics")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ev   bots.Event
		want bots.Span
	}{
		{event(2, "alice", "#general", "!ask Comment passer un marché public ?"), bots.Span{Kind: bots.Room, Text: "#general", Where: core.Room{Platform: "test", ID: "#general"}}},
		{event(3, "carol", "", "!ask Un marché public sans publicité ?"), bots.Span{Kind: bots.Plain, Text: "message privé"}},
	} {
		out, err := bot.Handle(ctx, tc.ev)
		if err != nil {
			t.Fatal(err)
		}
		var request *bots.Outgoing
		for i, o := range out {
			if o.To.User == "bob" {
				request = &out[i]
			}
		}
		if request == nil || !slices.Contains(request.Message.Spans, tc.want) {
			t.Fatalf("%s: request %+v, want a span %+v", tc.ev.Text, request, tc.want)
		}
	}
}
